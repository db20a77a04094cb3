// The box's HTTP side of the screens, without a browser: pages and bundles, one-time pairing, the admin
// API's password, sessions and audit, the screens' own API, and the guessing limits.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { connectDevice, request, secretOf } from '../support/office.js';
import { adminCookie, startWebBox, type WebBox } from './support.js';

// A 1×1 PNG: enough to prove the photo is served.
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
);
const basic = (id: string, secret = secretOf(id)) =>
  'Basic ' + Buffer.from(`${id}:${secret}`).toString('base64');

describe('the box serves and pairs the screens', () => {
  const boxes: WebBox[] = [];
  let box: WebBox;
  afterAll(async () => {
    for (const b of boxes) await b.close().catch(() => undefined);
  });

  it('serves each page with a strict content policy, and its bundle gzipped and immutable', async () => {
    box = await startWebBox({
      edit: (cfg, dir) => {
        writeFileSync(join(dir, 'lan.png'), PNG);
        (cfg.clerks as { photo?: string }[])[0]!.photo = 'lan.png';
      },
    });
    boxes.push(box);
    for (const page of ['/tv', '/kiosk', '/rating', '/clerk', '/admin', '/pair']) {
      const r = await fetch(`${box.base}${page}`);
      expect(r.status).toBe(200);
      expect(r.headers.get('content-security-policy')).toContain("default-src 'self'");
      expect(await r.text()).toMatch(/<script type="module" src="\/assets\/[a-z]+-[A-Z0-9]+\.js">/);
    }
    const html = await (await fetch(`${box.base}/tv`)).text();
    const js = /src="\/assets\/([^"]+)"/.exec(html)?.[1] as string;
    const r = await fetch(`${box.base}/assets/${js}`, { headers: { 'accept-encoding': 'gzip' } });
    expect(r.headers.get('cache-control')).toContain('immutable');
    expect(r.headers.get('content-encoding')).toBe('gzip');
    expect(r.headers.get('content-type')).toContain('javascript');
    expect((await r.text()).length).toBeGreaterThan(100); // fetch un-gzips
    expect((await fetch(`${box.base}/assets/nope.js`)).status).toBe(404);
    expect((await fetch(`${box.base}/`, { redirect: 'manual' })).headers.get('location')).toBe('/pair');
  });

  it('a pairing code gives a fresh secret once; the old secret stops working; only the hash is stored', async () => {
    const old = await connectDevice(box.mqttUrl, 'kiosk-1.old', secretOf('kiosk-1'));
    const closed = new Promise<void>((resolve) => old.once('close', () => resolve()));
    const { code } = box.box.web.pairing.create('kiosk-1');
    const pair = (c: string) =>
      fetch(`${box.base}/api/pair`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ code: c }),
      });
    const r = await pair(`${code.slice(0, 4).toLowerCase()}-${code.slice(4)}`);
    expect(r.status).toBe(200);
    const body = (await r.json()) as { deviceId: string; role: string; secret: string; screen: string };
    expect(body).toMatchObject({ deviceId: 'kiosk-1', role: 'kiosk', screen: '/kiosk' });
    await closed; // the connection made with the old secret is dropped
    const fresh = await connectDevice(box.mqttUrl, 'kiosk-1.new', body.secret);
    expect((await request(fresh, 'lobby/v1/tickets/request', { service: 'van-thu' })).status).toBe('ok');
    await fresh.endAsync();
    await expect(connectDevice(box.mqttUrl, 'kiosk-1.old2', secretOf('kiosk-1'))).rejects.toThrow();
    const file = readFileSync(box.configFile, 'utf8');
    expect(file).not.toContain(body.secret);
    expect(file).toMatch(/"id": "kiosk-1"[^}]*"secretHash": "scrypt\$/);

    const again = await pair(code);
    expect(again.status).toBe(400);
    expect(await again.json()).toMatchObject({ error: { code: 'pairing_code_invalid' } });
  });

  it('admin API: a session is needed, other origins are refused, peripherals are created and revoked in the file', async () => {
    expect((await fetch(`${box.base}/api/admin/peripherals`)).status).toBe(401);
    const wrong = await fetch(`${box.base}/api/admin/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ password: 'wrong password' }),
    });
    expect(wrong.status).toBe(401);
    const cookie = await adminCookie(box);
    expect(cookie).toMatch(/^lobby_admin=/);
    const list = (await (
      await fetch(`${box.base}/api/admin/peripherals`, { headers: { cookie } })
    ).json()) as {
      peripherals: { id: string; role: string; connections: number; lastSeen: string | null }[];
    };
    expect(list.peripherals.map((p) => p.id)).toContain('display-tv');
    expect(JSON.stringify(list)).not.toContain('scrypt$');

    const json = { cookie, 'content-type': 'application/json' };
    const foreign = await fetch(`${box.base}/api/admin/peripherals`, {
      method: 'POST',
      headers: { ...json, origin: 'http://evil.example' },
      body: JSON.stringify({ id: 'tv-9', role: 'display' }),
    });
    expect(foreign.status).toBe(403);

    const created = await fetch(`${box.base}/api/admin/peripherals`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ id: 'tv-3', role: 'display', name: 'TV tầng 2' }),
    });
    expect(created.status).toBe(200);
    const c = (await created.json()) as { secret: string; pairing: { code: string } };
    expect(c.pairing.code).toMatch(/^[A-Z2-9]{4}-[A-Z2-9]{4}$/);
    expect(readFileSync(box.configFile, 'utf8')).toContain('"tv-3"');
    const tv3 = await connectDevice(box.mqttUrl, 'tv-3', c.secret);
    const bad = await fetch(`${box.base}/api/admin/peripherals`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ id: 'Bad Id', role: 'display' }),
    });
    expect(bad.status).toBe(400);
    const keypadCode = await fetch(`${box.base}/api/admin/peripherals/keypad-1/pairing-code`, {
      method: 'POST',
      headers: { cookie },
    });
    expect(await keypadCode.json()).toMatchObject({ error: { code: 'not_a_screen' } });

    const gone = new Promise<void>((resolve) => tv3.once('close', () => resolve()));
    const del = await fetch(`${box.base}/api/admin/peripherals/tv-3`, {
      method: 'DELETE',
      headers: { cookie },
    });
    expect(del.status).toBe(200);
    await gone;
    expect(readFileSync(box.configFile, 'utf8')).not.toContain('"tv-3"');
    expect(
      (await fetch(`${box.base}/api/admin/peripherals/tv-3`, { method: 'DELETE', headers: { cookie } }))
        .status,
    ).toBe(404);
    await fetch(`${box.base}/api/admin/logout`, { method: 'POST', headers: { cookie } });
    expect((await fetch(`${box.base}/api/admin/peripherals`, { headers: { cookie } })).status).toBe(401);
  });

  it("screens' API: the clerk photo and the counter's queue need the device's own credentials", async () => {
    const photo = `${box.base}/api/screens/clerk-photo/cc01`;
    expect((await fetch(photo)).status).toBe(401);
    const r = await fetch(photo, { headers: { authorization: basic('rating-1') } });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await r.arrayBuffer()).equals(PNG)).toBe(true);
    expect(
      (
        await fetch(`${box.base}/api/screens/clerk-photo/cc02`, {
          headers: { authorization: basic('rating-1') },
        })
      ).status,
    ).toBe(404);

    // Without a screen's credential: the office settings, no clerks' names; a wrong credential is refused.
    const open = (await (await fetch(`${box.base}/api/screens/settings`)).json()) as Record<string, unknown>;
    expect(open).toMatchObject({ officeId: 'xa-thu-nghiem', chime: true, kioskIdleSeconds: 20, clerks: [] });
    expect(JSON.stringify(open)).not.toContain('Nguyễn');
    expect(
      (
        await fetch(`${box.base}/api/screens/settings`, {
          headers: { authorization: basic('rating-1', 'nope') },
        })
      ).status,
    ).toBe(401);
    const settings = (await (
      await fetch(`${box.base}/api/screens/settings`, { headers: { authorization: basic('rating-1') } })
    ).json()) as Record<string, unknown>;
    expect(settings).toMatchObject({ officeId: 'xa-thu-nghiem', chime: true, kioskIdleSeconds: 20 });
    expect(settings.clerks).toEqual([
      { id: 'cc01', name: 'Nguyễn Thị Lan', photo: true },
      { id: 'cc02', name: 'Trần Văn Minh', photo: false },
    ]);

    const counter = `${box.base}/api/screens/counter`;
    expect((await fetch(counter, { headers: { authorization: basic('display-tv') } })).status).toBe(403);
    expect(
      (await fetch(counter, { headers: { authorization: basic('clerk-panel-1', 'nope') } })).status,
    ).toBe(401);
    const keypad = await box.connect('keypad-1');
    expect((await request(keypad, 'lobby/v1/counters/1/cmd/next')).status).toBe('ok'); // the A001 paired above
    expect((await request(keypad, 'lobby/v1/counters/1/cmd/finish')).status).toBe('ok');
    const kiosk = await box.connect('kiosk-2');
    await request(kiosk, 'lobby/v1/tickets/request', { service: 'van-thu', priority: 'elderly' });
    const info = (await (
      await fetch(counter, { headers: { authorization: basic('clerk-panel-1') } })
    ).json()) as {
      waiting: { number: string; priority: string | null }[];
      today: { called: number; finished: number };
    };
    expect(info.waiting).toEqual([expect.objectContaining({ number: 'A002', priority: 'elderly' })]);
    expect(info.today).toMatchObject({ called: 1, finished: 1, noShow: 0 });
  });

  it('guessing is limited: wrong pairing codes and wrong admin passwords from one address', async () => {
    const limited = await startWebBox();
    boxes.push(limited);
    for (let i = 0; i < 20; i++)
      await fetch(`${limited.base}/api/pair`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ code: `WRONG${i}` }),
      });
    const { code } = limited.box.web.pairing.create('tv-2');
    const blocked = await fetch(`${limited.base}/api/pair`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code }),
    });
    expect(blocked.status).toBe(429);

    const login = (password: string) =>
      fetch(`${limited.base}/api/admin/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ password }),
      });
    for (let i = 0; i < 5; i++) expect((await login(`guess-${i}`)).status).toBe(401);
    expect((await login('mat-khau-quan-tri-2026')).status).toBe(429);
  });

  it('lobby device set-admin-password stores only a hash, and the running box takes it at once', async () => {
    const unset = await startWebBox({ adminPassword: null });
    boxes.push(unset);
    const cli = join(import.meta.dirname, '../../dist/cli/lobby.js');
    const run = (password: string) =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        const child = spawn(process.execPath, [cli, 'device', 'set-admin-password', '-c', unset.configFile]);
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr.on('data', (d: Buffer) => (out += d.toString()));
        child.on('close', (code) => resolve({ code, out }));
        child.stdin.end(`${password}\n`);
      });
    const short = await run('ngan');
    expect(short.code).toBe(2);
    expect(short.out).toContain('at least 10 characters');
    const ok = await run('mat-khau-moi-cua-xa');
    expect(ok.code).toBe(0);
    const file = readFileSync(unset.configFile, 'utf8');
    expect(file).toMatch(/"passwordHash": "scrypt\$16384\$/);
    expect(file).not.toContain('mat-khau-moi-cua-xa');
    await expect
      .poll(async () => (await fetch(`${unset.base}/api/admin/session`).then((r) => r.json())) as object, {
        timeout: 10_000,
      })
      .toMatchObject({ passwordSet: true });
    expect(await adminCookie(unset, 'mat-khau-moi-cua-xa')).toMatch(/^lobby_admin=/);
  });

  it('without an admin password the admin API says how to set one', async () => {
    const unset = await startWebBox({ adminPassword: null });
    boxes.push(unset);
    const r = await fetch(`${unset.base}/api/admin/peripherals`);
    expect(r.status).toBe(503);
    expect(await r.json()).toMatchObject({
      error: {
        code: 'admin_password_unset',
        command: `lobby device set-admin-password --config ${unset.configFile}`,
      },
    });
    expect(await (await fetch(`${unset.base}/api/admin/session`)).json()).toMatchObject({
      passwordSet: false,
    });
  });
});
