// Fleet commands end to end, with real processes: `lobby cloud` and `lobby device` as child processes, an admin
// queueing commands in the cloud's API and following their states, the box's screens on its broker. A box
// offline while commands are queued gets every unexpired one when it comes back and never an expired one; a
// notice reaches the TV state and goes away at its end time; a counter is opened and closed through the
// engine; a pairing code from the cloud pairs a screen of a managed box; diagnostics carry the box's log lines;
// `restart` succeeds once the box is back; a box killed mid-command reports it failed and never runs it again.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import type { MqttClient } from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { createAdmin, createBoxClaim, createOffice, createUnit } from '../../cloud/admin/provisioning.js';
import { openDatabase, type CloudDatabase } from '../../cloud/db/database.js';
import { loadConfigFile } from '../../device/config/load.js';
import { enrollBox } from '../../device/uplink/credential.js';
import { INTERRUPTED_REASON } from '../../protocol/fleet-commands.js';
import { desiredPart } from '../../protocol/fleet.js';
import type { CounterStateMsg, OfficeStateMsg, PrintJob } from '../../protocol/index.js';
import { DATABASES, MASTER_KEY, type TestDatabase } from '../cloud/helpers.js';
import {
  KILL_MID_COMMAND,
  killAllBoxes,
  killed,
  startDevice,
  type BoxProcess,
} from '../support/box-process.js';
import {
  cloudApi,
  killAllClouds,
  loginAdmin,
  startCloudProcess,
  until,
  type CloudProcess,
} from '../support/cloud-process.js';
import {
  connectDevice,
  nextMessage,
  officeConfig,
  peripheralsFor,
  request,
  secretOf,
} from '../support/office.js';

afterAll(() => {
  killAllBoxes();
  killAllClouds();
});

const OFFICE = 'xa-thu-nghiem';

interface Command {
  id: string;
  kind: string;
  state: string;
  reason: string | null;
  result?: Record<string, unknown>;
  code?: string;
}

for (const kind of DATABASES) {
  describe.skipIf(!kind.available)(`fleet commands end to end, real processes (${kind.title})`, () => {
    let db: TestDatabase;
    let seed: CloudDatabase;
    let cloud: CloudProcess;
    let box: BoxProcess | undefined;
    let token: string;
    let configFile: string;
    let dataDir: string;
    let screen: MqttClient | undefined;

    afterAll(async () => {
      screen?.end(true);
      if (box) await killed(box.child);
      if (cloud) await killed(cloud.child);
      await seed?.close();
      await db?.cleanup();
    });

    const api = <T = Command>(method: string, path: string, body?: unknown) =>
      cloudApi(cloud, () => token)<T>(method, path, body);
    const queue = async (body: Record<string, unknown>) => {
      const r = await api('POST', `/api/v1/fleet/offices/${OFFICE}/commands`, body);
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      return r.body;
    };
    const read = async (id: string) =>
      (await api('GET', `/api/v1/fleet/offices/${OFFICE}/commands/${id}`)).body;
    const finished = (id: string, timeoutMs = 30_000) =>
      until(
        `command ${id} finished`,
        async () => {
          const c = await read(id);
          return c.state !== 'pending' && c.state !== 'delivered' && c;
        },
        timeoutMs,
      );
    const startBox = async (opts: Parameters<typeof startDevice>[2] = {}) => {
      box = await startDevice(configFile, dataDir, opts);
      return box;
    };
    /** A screen of the office (the kiosk) reading the retained state the TV and LED boards get. */
    const watcher = async () => {
      screen?.end(true);
      screen = await connectDevice(`mqtt://127.0.0.1:${box?.port}`, 'kiosk-1', secretOf('kiosk-1'));
      return screen;
    };
    /** Counter 1's retained state, as its keypad sees it. */
    const counterState = async (status: string) => {
      const keypad = await connectDevice(`mqtt://127.0.0.1:${box?.port}`, 'keypad-1', secretOf('keypad-1'));
      try {
        return await nextMessage(
          keypad,
          'lobby/v1/state/counters/1',
          (_t, b) => (b as CounterStateMsg).status === status,
        );
      } finally {
        keypad.end(true);
      }
    };
    const officeState = (match: (s: OfficeStateMsg) => boolean, timeoutMs = 15_000) =>
      watcher().then((c) =>
        nextMessage(c, 'lobby/v1/state/office', (_t, b) => match(b as OfficeStateMsg), timeoutMs),
      );

    it('a box offline while commands are queued gets every unexpired one when it comes back, never an expired one', async () => {
      db = kind.create();
      seed = await openDatabase({ url: db.url, ...(db.schema ? { schema: db.schema } : {}) });
      const now = Date.now();
      await createUnit(seed.db, { id: 'p', name: 'Tỉnh Thử Nghiệm', kind: 'province', parentId: null }, now);
      await createOffice(seed.db, { id: OFFICE, name: 'Bộ phận một cửa xã Thử Nghiệm', unitId: 'p' }, now);
      const admin = await createAdmin(seed.db, { username: 'tinh-admin', unitId: 'p', role: 'admin' }, now);
      const claim = await createBoxClaim(seed.db, OFFICE, now);
      cloud = await startCloudProcess({ db, key: MASTER_KEY });
      token = await loginAdmin(cloud, 'tinh-admin', admin.password);

      const dir = mkdtempSync(join(tmpdir(), 'lobby-commands-e2e-'));
      dataDir = join(dir, 'data');
      configFile = join(dir, 'office.json');
      const cfg = officeConfig(
        await peripheralsFor([
          { id: 'kiosk-1', role: 'kiosk' },
          { id: 'tv-1', role: 'display' },
          { id: 'led-1', role: 'ledboard' },
          { id: 'keypad-1', role: 'keypad', counter: 1 },
          { id: 'speaker-1', role: 'announcer' },
        ]),
        { cloud: { url: 'http://placeholder.invalid', retryBaseMs: 20, retryCapSeconds: 1 } },
      );
      writeFileSync(configFile, JSON.stringify(cfg, null, 2));
      const cred = await enrollBox({ configFile, dataDir, cloudUrl: cloud.url, claimCode: claim.claimCode });

      // The office is managed by the cloud (its config saved there): the managed path for pairing too.
      const { id: _id, ...office } = desiredPart(loadConfigFile(configFile)).office;
      const overrides = {
        ...desiredPart(loadConfigFile(configFile)),
        office,
        cloud: { retryBaseMs: 20, retryCapSeconds: 1 },
      };
      expect((await api('PUT', `/api/v1/fleet/offices/${OFFICE}/config`, { overrides })).status).toBe(200);

      // Queued while the box is off: three for it, one that expires before it is back.
      const open = await queue({ kind: 'counter', params: { counter: 1, action: 'open' } });
      const expired = await queue({ kind: 'test-call', params: { counter: 1 }, expiresInSeconds: 60 });
      const notice = await queue({
        kind: 'notice',
        params: {
          text: { vi: 'Chiều nay nghỉ họp', en: 'Closed this afternoon' },
          until: new Date(Date.now() + 600_000).toISOString(),
        },
      });
      const diagnostics = await queue({ kind: 'diagnostics', params: { logLines: 100 } });
      // Its minute passes while the box is still off (the cloud's clock, moved on in its database).
      await seed.db
        .updateTable('fleet_commands')
        .set({ expires_at: Date.now() - 1000 })
        .where('id', '=', expired.id)
        .execute();
      expect((await read(expired.id)).state).toBe('expired');

      await startBox();
      expect(cred.boxId).toBeTruthy();
      for (const c of [open, notice, diagnostics]) expect((await finished(c.id)).state).toBe('succeeded');
      expect((await read(expired.id)).state).toBe('expired');
      expect(box?.output()).not.toContain(expired.id);

      expect((await read(open.id)).result).toMatchObject({ counter: 1, status: 'open', changed: true });
      const counter = await counterState('open');
      expect(counter).toBeTruthy();
      await officeState((s) => s.notice?.text.vi === 'Chiều nay nghỉ họp');

      const d = (await read(diagnostics.id)).result as {
        logs: string[];
        versions: { config: { source: string } };
        peripherals: { id: string }[];
        disk: { freeBytes: number };
        health: { status: string };
      };
      expect(d.logs.some((l) => l.includes('box started'))).toBe(true);
      expect(d.versions.config.source).toBe('cloud');
      expect(d.peripherals.map((p) => p.id).sort()).toEqual([
        'keypad-1',
        'kiosk-1',
        'led-1',
        'speaker-1',
        'tv-1',
      ]);
      expect(d.disk.freeBytes).toBeGreaterThan(0);
      expect(d.health.status).toBeTruthy();
    });

    it('a notice reaches the TV state and the LED boards, and goes away by itself at its end time', async () => {
      const until = new Date(Date.now() + 8000).toISOString();
      const c = await queue({ kind: 'notice', params: { text: { vi: 'Mất điện 10 phút' }, until } });
      const shown = officeState((s) => s.notice?.text.vi === 'Mất điện 10 phút');
      expect((await finished(c.id)).state).toBe('succeeded');
      await shown;
      // The LED board (reading its own topic) shows it on its last line.
      const board = await connectDevice(`mqtt://127.0.0.1:${box?.port}`, 'led-1', secretOf('led-1'));
      const led = await nextMessage(board, 'lobby/v1/devices/led-1/led', (_t, b) =>
        (b as { lines: string[] }).lines.includes('Mất điện 10 phút'),
      ).finally(() => board.end(true));
      expect(led).toBeTruthy();
      // At its end time the box takes it down itself.
      await officeState((s) => !s.notice, 20_000);
    });

    it('a counter is closed through the engine; closing it again succeeds unchanged', async () => {
      const c = await queue({ kind: 'counter', params: { counter: 1, action: 'close' } });
      expect(await finished(c.id)).toMatchObject({
        state: 'succeeded',
        result: { counter: 1, status: 'closed', changed: true },
      });
      await counterState('closed');
      const again = await queue({ kind: 'counter', params: { counter: 1, action: 'close' } });
      expect((await finished(again.id)).result).toMatchObject({ status: 'closed', changed: false });
      const unknown = await queue({ kind: 'counter', params: { counter: 9, action: 'open' } });
      expect(await finished(unknown.id)).toMatchObject({
        state: 'failed',
        reason: expect.stringContaining('unknown_counter'),
      });
    });

    it('reprint: a ticket of today prints again on its kiosk; test-call: every announcer calls, no ticket touched', async () => {
      const kiosk = await connectDevice(`mqtt://127.0.0.1:${box?.port}`, 'kiosk-1', secretOf('kiosk-1'));
      const speaker = await connectDevice(
        `mqtt://127.0.0.1:${box?.port}`,
        'speaker-1',
        secretOf('speaker-1'),
      );
      try {
        const first = nextMessage(kiosk, 'lobby/v1/devices/kiosk-1/print');
        const issued = await request(kiosk, 'lobby/v1/tickets/request', { service: 'van-thu' });
        expect(issued.status).toBe('ok');
        const job = (await first).body as PrintJob;
        const again = nextMessage(kiosk, 'lobby/v1/devices/kiosk-1/print', (_t, b) =>
          (b as PrintJob).jobId.includes('#reprint'),
        );
        const c = await queue({ kind: 'reprint', params: { number: job.ticket.number } });
        expect(await finished(c.id)).toMatchObject({
          state: 'succeeded',
          result: { number: job.ticket.number, kiosk: 'kiosk-1' },
        });
        const reprinted = (await again).body as PrintJob;
        expect(reprinted.ticket).toMatchObject({ ticketId: job.ticket.ticketId, number: job.ticket.number });
        const unknown = await queue({ kind: 'reprint', params: { number: 'Z999' } });
        expect(await finished(unknown.id)).toMatchObject({
          state: 'failed',
          reason: expect.stringContaining('unknown_ticket'),
        });

        const call = nextMessage(speaker, 'lobby/v1/devices/speaker-1/announce');
        const t = await queue({ kind: 'test-call', params: { counter: 2 } });
        expect(await finished(t.id)).toMatchObject({
          state: 'succeeded',
          result: { counter: 2, announcers: ['speaker-1'] },
        });
        expect((await call).body).toMatchObject({ counter: 2, text: { vi: 'Thử loa: quầy số 2' } });
        await counterState('closed'); // counter 1 untouched by the test call
      } finally {
        kiosk.end(true);
        speaker.end(true);
      }
    });

    it('a pairing code from the cloud pairs a screen of the managed box, without its admin password', async () => {
      const c = await queue({ kind: 'pair-screen', params: { device: 'tv-1' } });
      const r = (await finished(c.id)).result as { code: string; pairUrl: string; expiresAt: string };
      expect(r.code).toMatch(/^[A-Z2-9]{4}-[A-Z2-9]{4}$/);
      expect(r.pairUrl).toContain(`/pair?code=${r.code}`);
      const res = await fetch(`http://127.0.0.1:${box?.httpPort}/api/pair`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ code: r.code }),
      });
      expect(res.status).toBe(200);
      const paired = (await res.json()) as { deviceId: string; secret: string; screen: string };
      expect(paired).toMatchObject({ deviceId: 'tv-1', screen: '/tv' });
      const tv = await connectDevice(`mqtt://127.0.0.1:${box?.port}`, 'tv-1', paired.secret);
      tv.end(true);
      // The code is spent; a kiosk is refused pairing as something else.
      const again = await fetch(`http://127.0.0.1:${box?.httpPort}/api/pair`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ code: r.code }),
      });
      expect(again.status).toBe(400);
      const led = await queue({ kind: 'pair-screen', params: { device: 'led-1' } });
      expect((await finished(led.id)).state).toBe('failed');
    });

    it('restart: the daemon exits for its supervisor, and the command succeeds once it is back', async () => {
      // A notice up until later today stays up across the restart.
      const notice = await queue({
        kind: 'notice',
        params: { text: { vi: 'Còn sau khởi động' }, until: new Date(Date.now() + 600_000).toISOString() },
      });
      expect((await finished(notice.id)).state).toBe('succeeded');
      const c = await queue({ kind: 'restart' });
      const exit = await box?.exited;
      expect(exit?.code).toBe(75);
      const before = Date.now();
      await startBox();
      const done = await finished(c.id);
      expect(done.state).toBe('succeeded');
      expect(Date.parse((done.result as { startedAt: string }).startedAt)).toBeGreaterThanOrEqual(
        before - 1000,
      );
      await officeState((s) => s.notice?.text.vi === 'Còn sau khởi động');
    });

    it('a box killed in the middle of a command reports it failed (interrupted) and never runs it twice', async () => {
      if (box) await killed(box.child);
      await startBox({ preload: [KILL_MID_COMMAND], env: { LOBBY_KILL_MID_COMMAND: 'notice' } });
      const c = await queue({
        kind: 'notice',
        params: { text: { vi: 'Không được hiện' }, until: new Date(Date.now() + 600_000).toISOString() },
      });
      const exit = await box?.exited;
      expect(exit?.signal).toBe('SIGKILL');
      await startBox();
      const done = await finished(c.id);
      expect(done).toMatchObject({ state: 'failed', reason: INTERRUPTED_REASON });
      // Never run: no notice on the TV, and the box did not start it again.
      const state = await officeState(() => true);
      expect((state.body as OfficeStateMsg).notice?.text.vi).not.toBe('Không được hiện');
      expect(box?.output()).not.toMatch(
        new RegExp(`running a command[^\\n]*${c.id}|${c.id}[^\\n]*running a command`),
      );
    });

    it('the cloud shows every command of the office with its state', async () => {
      const list = await api<{ commands: Command[] }>('GET', `/api/v1/fleet/offices/${OFFICE}/commands`);
      const states = list.body.commands.map((c) => c.state);
      expect(states).toContain('expired');
      expect(states).toContain('failed');
      expect(states.filter((s) => s === 'pending' || s === 'delivered')).toEqual([]);
      const rows = await seed.db
        .selectFrom('audit_log')
        .select(sql<number>`count(*)`.as('n'))
        .where('action', '=', 'fleet.command.queued')
        .executeTakeFirstOrThrow();
      expect(Number(rows.n)).toBe(list.body.commands.length);
    });
  });
}
