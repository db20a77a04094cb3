// Fleet health against a real cloud (SQLite and PostgreSQL): heartbeats open and close incidents, a sweep
// notices boxes that stopped sending, alert rules fire once and are delivered to a real HTTP receiver that
// checks the HMAC signature, failing receivers are retried with backoff and every attempt is recorded, two
// replicas on one PostgreSQL database deliver each alert once, and another commune's admin sees none of it.
// Time is the cloud's injectable clock: minutes pass without waiting for them.
import { createHmac } from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createOffice, createUnit } from '../../cloud/admin/provisioning.js';
import { fleetHealthOf } from '../../cloud/health/fleet-health.js';
import type { CloudService } from '../../cloud/service.js';
import type { Heartbeat, PeripheralHealth } from '../../protocol/index.js';
import { receiver } from './webhook-receiver.js';
import {
  adminToken,
  bearerRequest,
  DATABASES,
  enrolledBox,
  PG_URL,
  seedTree,
  startTestCloud,
  type TestDatabase,
} from './helpers.js';

const MIN = 60_000;

async function until(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 20_000,
): Promise<void> {
  const t0 = Date.now();
  while (!(await check())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const kiosk = (state: string, online: boolean | null = true): PeripheralHealth => ({
  id: 'kiosk-1',
  role: 'kiosk',
  online,
  status: {
    ts: '2026-12-01T01:00:00.000Z',
    ok: state === 'ready',
    printer: { state, canPrint: state === 'ready' },
    ...(state === 'ready' ? {} : { detail: 'Hết giấy / out of paper' }),
  },
});

function heartbeat(officeId: string, over: Partial<Heartbeat> = {}): Heartbeat {
  return {
    at: new Date().toISOString(),
    version: '1.4.0',
    node: process.version,
    officeId,
    day: '2026-12-01',
    lastSeq: 0,
    backlog: { events: 0, oldestAt: null, freeDiskBytes: 20 * 1024 ** 3, alarm: false },
    peripherals: [kiosk('ready')],
    ...over,
  };
}

const FLEET = {
  webhookAllowHttpLocalhost: true,
  webhookRetryDelayMs: 1000,
  webhookTimeoutMs: 1500,
  sweepIntervalMs: 3_600_000,
};

for (const kind of DATABASES) {
  describe.skipIf(!kind.available)(`fleet health (${kind.title})`, () => {
    let db: TestDatabase;
    let cloud: CloudService;
    let now = Date.parse('2026-12-01T08:00:00+07:00');
    const clock = () => now;
    let admin: string;
    let otherAdmin: string;
    let viewer: string;
    const cleanups: (() => Promise<unknown>)[] = [];

    const api = (
      token: string,
      method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
      url: string,
      payload?: unknown,
    ) => bearerRequest(cloud, token, method, url, payload);
    const beat = async (token: string, hb: Heartbeat) => {
      const res = await cloud.app.inject({
        method: 'POST',
        url: '/api/v1/uplink/heartbeat',
        headers: { authorization: `Bearer ${token}` },
        payload: hb,
      });
      expect(res.statusCode, res.body).toBe(200);
    };
    const sweep = () => fleetHealthOf(cloud.ctx)!.sweep();

    beforeAll(async () => {
      db = kind.create();
      cloud = await startTestCloud(db, { clock, settings: { fleetHealth: FLEET } });
      await seedTree(cloud);
      admin = await adminToken(cloud, 'qt-lc', 'lc');
      otherAdmin = await adminToken(cloud, 'qt-hc', 'hc');
      viewer = await adminToken(cloud, 'xem-lc', 'lc', 'viewer');
    });
    afterEach(async () => {
      for (const c of cleanups.splice(0)) await c();
    });
    afterAll(async () => {
      await cloud?.close();
      if (db?.schema) await dropJobs(db.schema);
      await db?.cleanup();
    });

    it('a printer out of paper, then refilled: one incident with its duration, and the office view says so', async () => {
      const box = await enrolledBox(cloud, 'o-hkb');
      await beat(box.token, heartbeat('o-hkb'));
      now += MIN;
      await beat(box.token, heartbeat('o-hkb', { peripherals: [kiosk('paper_out')] }));
      const view = await api(admin, 'GET', '/api/v1/health/offices/o-hkb');
      expect(view.status).toBe(200);
      const k = view.body.boxes.find((b: { id: string }) => b.id === box.boxId).peripherals[0];
      expect(k).toMatchObject({ id: 'kiosk-1', online: true, printer: 'paper_out', ok: false });
      expect(k.incidents).toEqual([expect.objectContaining({ kind: 'printer_paper_out' })]);
      for (let i = 0; i < 6; i++) {
        now += MIN;
        await beat(box.token, heartbeat('o-hkb', { peripherals: [kiosk('paper_out')] }));
      }
      now += MIN;
      await beat(box.token, heartbeat('o-hkb', { peripherals: [kiosk('ready')] }));
      const inc = await api(admin, 'GET', `/api/v1/health/incidents?box=${box.boxId}&kind=printer_paper_out`);
      expect(inc.body).toHaveLength(1);
      expect(inc.body[0]).toMatchObject({ device: 'kiosk-1', officeId: 'o-hkb', durationMs: 7 * MIN });
      expect(inc.body[0].endedAt).not.toBeNull();
    });

    it('an LED board not answering, a printer cover open, a full disk: each an incident on its device, closed when it recovers', async () => {
      const box = await enrolledBox(cloud, 'o-hhb');
      const led = (online: boolean): PeripheralHealth => ({
        id: 'led-2',
        role: 'ledboard',
        counter: 2,
        online,
        status: online
          ? { ts: '2026-12-01T01:00:00.000Z', ok: true }
          : {
              ts: '2026-12-01T01:00:00.000Z',
              ok: false,
              detail: 'Bảng LED không phản hồi / board not answering',
            },
      });
      const full = { state: 'full' as const, since: null, reason: 'ENOSPC', freeDiskBytes: 50 * 1024 ** 2 };
      await beat(box.token, heartbeat('o-hhb', { peripherals: [kiosk('ready'), led(true)] }));
      now += MIN;
      await beat(
        box.token,
        heartbeat('o-hhb', { peripherals: [kiosk('cover_open'), led(false)], storage: full }),
      );
      const view = (await api(viewer, 'GET', '/api/v1/health/offices/o-hhb')).body.boxes.find(
        (b: { id: string }) => b.id === box.boxId,
      );
      expect(view.storage).toMatchObject({ state: 'full', reason: 'ENOSPC' });
      expect(view.incidents.map((i: { kind: string }) => i.kind).sort()).toEqual([
        'disk_low',
        'storage_full',
      ]);
      const byId = Object.fromEntries(view.peripherals.map((p: { id: string }) => [p.id, p]));
      expect(byId['led-2']).toMatchObject({ online: false, since: new Date(now).toISOString(), ok: false });
      expect(byId['led-2'].incidents).toEqual([
        expect.objectContaining({
          kind: 'led_not_answering',
          detail: expect.stringContaining('không phản hồi'),
        }),
      ]);
      expect(byId['kiosk-1'].incidents).toEqual([expect.objectContaining({ kind: 'printer_cover_open' })]);
      now += 3 * MIN;
      await beat(box.token, heartbeat('o-hhb', { peripherals: [kiosk('ready'), led(true)] }));
      const all = (await api(viewer, 'GET', `/api/v1/health/incidents?box=${box.boxId}`)).body;
      expect(
        all
          .map((i: { kind: string; durationMs: number; endedAt: string | null }) => [
            i.kind,
            i.durationMs,
            i.endedAt !== null,
          ])
          .sort(),
      ).toEqual([
        ['disk_low', 3 * MIN, true],
        ['led_not_answering', 3 * MIN, true],
        ['printer_cover_open', 3 * MIN, true],
        ['storage_full', 3 * MIN, true],
      ]);
    });

    it('a power cut: the office view shows the UPS, one on_battery incident with a low_battery inside it, a low-battery alert delivered and resolved', async () => {
      const r = await receiver();
      cleanups.push(r.close);
      const created = await api(admin, 'POST', '/api/v1/alert-rules', {
        unitId: 'lc',
        kind: 'ups_low_battery',
        webhookUrl: r.url,
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      r.setSecret(created.body.webhookSecret as string);
      cleanups.push(() => api(admin, 'DELETE', `/api/v1/alert-rules/${created.body.id}`));
      const box = await enrolledBox(cloud, 'o-hhb');
      const power = (state: 'mains' | 'battery' | 'low_battery', chargePct: number) => ({
        power: {
          state,
          since: new Date(now).toISOString(),
          status: state === 'mains' ? 'OL' : state === 'battery' ? 'OB DISCHRG' : 'OB DISCHRG LB',
          chargePct,
          runtimeSeconds: chargePct * 20,
          reason: null,
          acceptingRequests: state !== 'low_battery',
        },
      });
      await beat(box.token, heartbeat('o-hhb', power('mains', 100)));
      now += MIN;
      await beat(box.token, heartbeat('o-hhb', power('battery', 70)));
      const view = async () =>
        (await api(viewer, 'GET', '/api/v1/health/offices/o-hhb')).body.boxes.find(
          (b: { id: string }) => b.id === box.boxId,
        );
      expect((await view()).power).toMatchObject({
        state: 'battery',
        chargePct: 70,
        acceptingRequests: true,
      });
      expect((await view()).incidents).toEqual([
        expect.objectContaining({ kind: 'on_battery', detail: 'battery 70%' }),
      ]);
      now += 10 * MIN;
      await beat(box.token, heartbeat('o-hhb', power('low_battery', 9)));
      expect((await view()).power).toMatchObject({ state: 'low_battery', acceptingRequests: false });
      const mine = () => r.got.filter((g) => JSON.parse(g.body).alert.boxId === box.boxId);
      await until('the low-battery alert delivered', () => mine().length >= 1);
      expect(JSON.parse(mine()[0]!.body)).toMatchObject({
        event: 'alert.opened',
        alert: { kind: 'ups_low_battery', boxId: box.boxId },
      });
      now += 2 * MIN;
      await beat(box.token, heartbeat('o-hhb', power('mains', 12)));
      await until('the resolution delivered', () => mine().length >= 2);
      expect(JSON.parse(mine()[1]!.body)).toMatchObject({ event: 'alert.resolved' });
      expect((await view()).incidents).toEqual([]);
      const all = (await api(viewer, 'GET', `/api/v1/health/incidents?box=${box.boxId}`)).body;
      expect(all.map((i: { kind: string; durationMs: number }) => [i.kind, i.durationMs]).sort()).toEqual([
        ['low_battery', 2 * MIN],
        ['on_battery', 12 * MIN],
      ]);
    });

    it('a box that stops sending: box_offline after 3 heartbeat intervals, from its last heartbeat; closed when it returns', async () => {
      const box = await enrolledBox(cloud, 'o-hhb');
      await beat(box.token, heartbeat('o-hhb'));
      const last = now;
      const units = async () => (await api(admin, 'GET', '/api/v1/health/units?unit=hhb')).body[0];
      expect(await units()).toMatchObject({ id: 'hhb', offices: 1, up: 1, down: 0 });
      now += 2 * MIN; // two lost heartbeats: not yet an incident
      await sweep();
      expect(
        (await api(admin, 'GET', `/api/v1/health/incidents?box=${box.boxId}&kind=box_offline`)).body,
      ).toEqual([]);
      now += 2 * MIN;
      await sweep();
      await sweep(); // idempotent: still one
      const open = await api(admin, 'GET', `/api/v1/health/incidents?box=${box.boxId}&kind=box_offline`);
      expect(open.body).toHaveLength(1);
      expect(open.body[0]).toMatchObject({ startedAt: new Date(last).toISOString(), endedAt: null });
      expect(await units()).toMatchObject({ up: 0, down: 1 });
      const view = await api(admin, 'GET', '/api/v1/health/offices/o-hhb');
      // The office has the other tests' boxes too: this one by its id.
      expect(view.body.boxes.find((b: { id: string }) => b.id === box.boxId)).toMatchObject({
        online: false,
        since: new Date(last).toISOString(),
        version: '1.4.0',
      });
      now += 20 * MIN;
      await beat(box.token, heartbeat('o-hhb'));
      const closed = await api(admin, 'GET', `/api/v1/health/incidents?box=${box.boxId}&kind=box_offline`);
      expect(closed.body[0]).toMatchObject({ endedAt: new Date(now).toISOString(), durationMs: 24 * MIN });
      expect(await units()).toMatchObject({ up: 1, down: 0 });
    });

    it('an alert rule "offline over 10 minutes" fires once, signed, and its resolution is delivered too', async () => {
      const r = await receiver();
      cleanups.push(r.close);
      const created = await api(admin, 'POST', '/api/v1/alert-rules', {
        unitId: 'lc',
        kind: 'box_offline',
        threshold: 10,
        webhookUrl: r.url,
      });
      expect(created.status).toBe(201);
      const secret = created.body.webhookSecret as string;
      expect(secret).toMatch(/^whsec_/);
      r.setSecret(secret);
      cleanups.push(() => api(admin, 'DELETE', `/api/v1/alert-rules/${created.body.id}`));
      // Shown once: never listed again, and not in the database in clear.
      const listed = await api(admin, 'GET', '/api/v1/alert-rules?unit=hkb');
      expect(JSON.stringify(listed.body)).not.toContain(secret);
      expect(listed.body.find((x: { id: string }) => x.id === created.body.id)).toMatchObject({
        inherited: true,
        hasSecret: true,
      });
      const stored = await cloud.store.db
        .selectFrom('alert_rules')
        .select('webhook_secret')
        .where('id', '=', created.body.id)
        .executeTakeFirstOrThrow();
      expect(stored.webhook_secret).not.toContain(secret.slice(6, 20));

      const box = await enrolledBox(cloud, 'o-hkb');
      await beat(box.token, heartbeat('o-hkb'));
      now += 5 * MIN;
      await sweep(); // offline (over 3 min) but not over 10 minutes
      expect(
        (await api(admin, 'GET', '/api/v1/alerts?state=open')).body.filter(
          (a: { boxId: string }) => a.boxId === box.boxId,
        ),
      ).toEqual([]);
      now += 6 * MIN;
      await sweep();
      await sweep();
      const alerts = (await api(admin, 'GET', '/api/v1/alerts?state=open')).body.filter(
        (a: { boxId: string }) => a.boxId === box.boxId,
      );
      expect(alerts).toHaveLength(1);
      expect(alerts[0]).toMatchObject({ kind: 'box_offline', officeId: 'o-hkb', state: 'open' });
      // The other tests' boxes in this district are silent by now: the rule covers them too. This box's alert:
      const mine = () => r.got.filter((g) => JSON.parse(g.body).alert.boxId === box.boxId);
      await until('the alert delivered', () => mine().length >= 1);
      expect(mine()[0]!.valid).toBe(true);
      const body = JSON.parse(mine()[0]!.body);
      expect(body).toMatchObject({
        event: 'alert.opened',
        alert: { id: alerts[0].id, kind: 'box_offline', boxId: box.boxId },
      });
      expect(mine()[0]!.headers['x-lobby-event']).toBe('alert.opened');

      now += MIN;
      await beat(box.token, heartbeat('o-hkb'));
      await until('the resolution delivered', () => mine().length >= 2);
      expect(JSON.parse(mine()[1]!.body)).toMatchObject({
        event: 'alert.resolved',
        alert: { id: alerts[0].id },
      });
      expect(r.got.every((g) => g.valid)).toBe(true);
      // The receiver has the request before the cloud has its answer: wait for the cloud to record it.
      const deliveriesOf = () => api(viewer, 'GET', `/api/v1/alerts/${alerts[0].id}/deliveries`);
      await until('both recorded delivered', async () =>
        (await deliveriesOf()).body.every((d: { state: string }) => d.state === 'delivered'),
      );
      const deliveries = await deliveriesOf();
      expect(deliveries.body.map((d: { event: string; state: string }) => [d.event, d.state])).toEqual([
        ['alert.opened', 'delivered'],
        ['alert.resolved', 'delivered'],
      ]);
      expect(deliveries.body[0].attempts).toEqual([expect.objectContaining({ status: 204, error: null })]);
      // A viewer sees the receiver's origin only (gateways carry tokens in their paths).
      expect(deliveries.body[0].url).toBe(`${new URL(r.url).origin}/…`);
      expect((await api(admin, 'GET', `/api/v1/alerts/${alerts[0].id}/deliveries`)).body[0].url).toBe(r.url);
      // Once each, for every box the rule covers.
      const ids = r.got.map((g) => {
        const b = JSON.parse(g.body);
        return `${b.event} ${b.alert.id}`;
      });
      expect(new Set(ids).size).toBe(ids.length);
      expect(mine()).toHaveLength(2);
    });

    it('a receiver that answers 500, then times out, is retried with backoff, each attempt recorded, then delivered', async () => {
      const r = await receiver((n) => (n === 0 ? 500 : n === 1 ? 'hang' : 'ok'));
      cleanups.push(r.close);
      const rule = await api(admin, 'POST', '/api/v1/alert-rules', {
        unitId: 'hhb',
        kind: 'backlog_above',
        threshold: 1000,
        webhookUrl: r.url,
      });
      r.setSecret(rule.body.webhookSecret);
      cleanups.push(() => api(admin, 'DELETE', `/api/v1/alert-rules/${rule.body.id}`));
      const box = await enrolledBox(cloud, 'o-hhb');
      await beat(
        box.token,
        heartbeat('o-hhb', {
          backlog: { events: 5000, oldestAt: null, freeDiskBytes: 20 * 1024 ** 3, alarm: false },
        }),
      );
      const alert = (await api(admin, 'GET', '/api/v1/alerts?state=open')).body.find(
        (a: { boxId: string }) => a.boxId === box.boxId,
      );
      expect(alert).toMatchObject({ kind: 'backlog_above' });
      const deliveries = () =>
        api(admin, 'GET', `/api/v1/alerts/${alert.id}/deliveries`).then((x) => x.body[0]);
      await until('delivered after retries', async () => (await deliveries())?.state === 'delivered', 30_000);
      const d = await deliveries();
      expect(d.attempts.map((a: { status: number | null }) => a.status)).toEqual([500, null, 204]);
      expect(d.attempts[1].error).toMatch(/no answer within 1500 ms/);
      expect(d.attempts[1].durationMs).toBeGreaterThanOrEqual(1400);
      const at = d.attempts.map((a: { at: string }) => Date.parse(a.at));
      // Backoff: at least the first delay (1 s) before the 2nd attempt, and longer before the 3rd.
      expect(at[1] - at[0]).toBeGreaterThanOrEqual(900);
      expect(at[2] - (at[1] + d.attempts[1].durationMs)).toBeGreaterThanOrEqual(1900);
      expect(r.got.filter((g) => g.valid)).toHaveLength(3);
    }, 40_000);

    it('a receiver holding the wrong secret rejects the signature; each attempt records the 401 and it is retried', async () => {
      const r = await receiver();
      cleanups.push(r.close);
      const rule = await api(admin, 'POST', '/api/v1/alert-rules', {
        unitId: 'hkb',
        kind: 'disk_below',
        threshold: 1024,
        webhookUrl: r.url,
      });
      r.setSecret('whsec_not-the-one-the-cloud-generated');
      cleanups.push(() => api(admin, 'DELETE', `/api/v1/alert-rules/${rule.body.id}`));
      const box = await enrolledBox(cloud, 'o-hkb');
      await beat(
        box.token,
        heartbeat('o-hkb', {
          backlog: { events: 0, oldestAt: null, freeDiskBytes: 100 * 1024 ** 2, alarm: true },
        }),
      );
      await until('a first attempt', () => r.got.length >= 1);
      expect(r.got[0]!.valid).toBe(false);
      // The same body verifies with the secret the cloud showed: the signature itself is right.
      const g = r.got[0]!;
      const good = createHmac('sha256', rule.body.webhookSecret)
        .update(`${g.headers['x-lobby-timestamp']}.${g.body}`)
        .digest('hex');
      expect(g.headers['x-lobby-signature']).toBe(good);
      const alert = (await api(admin, 'GET', '/api/v1/alerts?state=open')).body.find(
        (a: { boxId: string }) => a.boxId === box.boxId,
      );
      await until(
        'a second attempt recorded',
        async () =>
          (await api(admin, 'GET', `/api/v1/alerts/${alert.id}/deliveries`)).body[0].attempts.length >= 2,
      );
      const d = (await api(admin, 'GET', `/api/v1/alerts/${alert.id}/deliveries`)).body[0];
      expect(d.state).toBe('pending');
      expect(d.attempts.slice(0, 2).map((a: { status: number }) => a.status)).toEqual([401, 401]);
    }, 30_000);

    it('config rejected: the twin raises an alert through fleet health, delivered; heartbeats leave it open; cleared when applied', async () => {
      const r = await receiver();
      cleanups.push(r.close);
      const rule = await api(admin, 'POST', '/api/v1/alert-rules', {
        unitId: 'hkb',
        kind: 'config_rejected',
        webhookUrl: r.url,
      });
      expect(rule.status).toBe(201);
      expect(rule.body).toMatchObject({ threshold: null, thresholdUnit: null });
      r.setSecret(rule.body.webhookSecret);
      cleanups.push(() => api(admin, 'DELETE', `/api/v1/alert-rules/${rule.body.id}`));
      const box = await enrolledBox(cloud, 'o-hkb');
      const health = fleetHealthOf(cloud.ctx)!;
      expect(
        await health.raiseAlert('config_rejected', box.boxId, 'services[2].name: must not be empty'),
      ).toBe(1);
      expect(
        await health.raiseAlert('config_rejected', box.boxId, 'services[2].name: must not be empty'),
      ).toBe(1);
      await beat(box.token, heartbeat('o-hkb'));
      const open = (await api(admin, 'GET', '/api/v1/alerts?state=open')).body.filter(
        (a: { boxId: string }) => a.boxId === box.boxId,
      );
      expect(open).toEqual([
        expect.objectContaining({ kind: 'config_rejected', detail: 'services[2].name: must not be empty' }),
      ]);
      await until('delivered', () => r.got.length >= 1);
      expect(r.got[0]!.valid).toBe(true);
      await health.clearAlert('config_rejected', box.boxId);
      await until('the resolution delivered', () => r.got.length >= 2);
      expect(JSON.parse(r.got[1]!.body)).toMatchObject({
        event: 'alert.resolved',
        alert: { id: open[0].id, kind: 'config_rejected' },
      });
      expect(r.got).toHaveLength(2);
    });

    it("another commune's admin sees none of it; a viewer reads but cannot change rules", async () => {
      const inc = await api(otherAdmin, 'GET', '/api/v1/health/incidents');
      expect(inc.status).toBe(200);
      expect(inc.body).toEqual([]);
      expect((await api(otherAdmin, 'GET', '/api/v1/alerts')).body).toEqual([]);
      expect((await api(otherAdmin, 'GET', '/api/v1/health/ranking')).body.devices).toEqual([]);
      expect((await api(otherAdmin, 'GET', '/api/v1/health/offices/o-hkb')).status).toBe(403);
      expect((await api(otherAdmin, 'GET', '/api/v1/health/incidents?unit=lc')).status).toBe(403);
      expect(
        (await api(otherAdmin, 'GET', '/api/v1/health/units')).body.map((u: { id: string }) => u.id),
      ).toEqual(['hc']);
      expect(
        (await api(otherAdmin, 'POST', '/api/v1/alert-rules', { unitId: 'hkb', kind: 'printer_paper_out' }))
          .status,
      ).toBe(403);
      const anAlert = (await api(admin, 'GET', '/api/v1/alerts')).body[0];
      expect((await api(otherAdmin, 'GET', `/api/v1/alerts/${anAlert.id}/deliveries`)).status).toBe(403);
      expect((await api(viewer, 'GET', '/api/v1/health/incidents')).body.length).toBeGreaterThan(0);
      const refused = await api(viewer, 'POST', '/api/v1/alert-rules', {
        unitId: 'hkb',
        kind: 'printer_paper_out',
      });
      expect(refused.status).toBe(403);
      expect(refused.body.message).toMatch(/chỉ quản trị viên/);
      const audit = await cloud.store.db
        .selectFrom('audit_log')
        .select(['action', 'outcome'])
        .where('action', 'like', 'alert_rule.%')
        .execute();
      expect(audit.map((a) => a.action)).toContain('alert_rule.created');
      // Plain http to another host is refused (only localhost, and only with the setting).
      const bad = await api(admin, 'POST', '/api/v1/alert-rules', {
        unitId: 'hkb',
        kind: 'printer_paper_out',
        webhookUrl: 'http://chat.example.vn/hook',
      });
      expect(bad).toMatchObject({ status: 400, body: { code: 'webhook_url_invalid' } });
    });

    it('the ranking: which device fails most in a period, by downtime then incidents', async () => {
      // A district of its own, so the boxes of the other tests (silent by now) stay out of this ranking.
      const d = cloud.store.db;
      await createUnit(d, { id: 'tk', name: 'Quận Thanh Khê', kind: 'district', parentId: 'dn' }, Date.now());
      await createUnit(
        d,
        { id: 'tk-1', name: 'Phường Thạc Gián', kind: 'commune', parentId: 'tk' },
        Date.now(),
      );
      await createUnit(
        d,
        { id: 'tk-2', name: 'Phường Vĩnh Trung', kind: 'commune', parentId: 'tk' },
        Date.now(),
      );
      await createOffice(d, { id: 'o-tk1', name: 'Một cửa Thạc Gián', unitId: 'tk-1' }, Date.now());
      await createOffice(d, { id: 'o-tk2', name: 'Một cửa Vĩnh Trung', unitId: 'tk-2' }, Date.now());
      const province = await adminToken(cloud, 'qt-dn', 'dn', 'viewer');
      const from = new Date(now).toISOString();
      const a = await enrolledBox(cloud, 'o-tk1');
      const b = await enrolledBox(cloud, 'o-tk2');
      await beat(a.token, heartbeat('o-tk1'));
      await beat(b.token, heartbeat('o-tk2'));
      // a's kiosk: out of paper twice (12 + 5 min), a beating all along; b: silent after its second heartbeat.
      now += MIN;
      await beat(a.token, heartbeat('o-tk1', { peripherals: [kiosk('paper_out')] }));
      now += 2 * MIN;
      await beat(b.token, heartbeat('o-tk2'));
      const bLast = now;
      for (const [minutes, state] of [
        [2, 'paper_out'],
        [2, 'paper_out'],
        [2, 'paper_out'],
        [2, 'paper_out'],
        [2, 'ready'],
        [1, 'paper_out'],
        [2, 'paper_out'],
        [3, 'ready'],
        [2, 'ready'],
        [2, 'ready'],
        [2, 'ready'],
      ] as const) {
        now += minutes * MIN;
        await beat(a.token, heartbeat('o-tk1', { peripherals: [kiosk(state)] }));
        await sweep();
      }
      await beat(b.token, heartbeat('o-tk2'));
      const to = new Date(now + MIN).toISOString();
      const res = await api(
        province,
        'GET',
        `/api/v1/health/ranking?unit=tk&from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}&top=2`,
      );
      expect(res.status).toBe(200);
      expect(res.body.devices).toHaveLength(2);
      expect(res.body.devices[0]).toMatchObject({
        boxId: b.boxId,
        device: null,
        incidents: 1,
        downtimeMs: now - bLast,
      });
      expect(res.body.devices[1]).toMatchObject({
        boxId: a.boxId,
        device: 'kiosk-1',
        incidents: 2,
        downtimeMs: 17 * MIN,
        kinds: { printer_paper_out: 2 },
      });
    });
  });
}

async function dropJobs(schema: string): Promise<void> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    await c.query(`DROP SCHEMA IF EXISTS ${schema}_jobs CASCADE`);
  } finally {
    await c.end();
  }
}

describe('fleet health on SQLite: the in-process delivery queue', () => {
  it('a delivery pending when the cloud stops is attempted again by the next start, then delivered', async () => {
    const db = DATABASES[0]!.create();
    const r = await receiver((n) => (n === 0 ? 500 : 'ok'));
    const settings = { fleetHealth: { ...FLEET, webhookRetryDelayMs: 1000 } };
    let cloud = await startTestCloud(db, { settings });
    try {
      await seedTree(cloud);
      const admin = await adminToken(cloud, 'qt-lc', 'lc');
      const rule = await cloud.app.inject({
        method: 'POST',
        url: '/api/v1/alert-rules',
        headers: { authorization: `Bearer ${admin}` },
        payload: { unitId: 'lc', kind: 'backlog_above', threshold: 10, webhookUrl: r.url },
      });
      r.setSecret(rule.json<{ webhookSecret: string }>().webhookSecret);
      const box = await enrolledBox(cloud, 'o-hkb');
      const hb = heartbeat('o-hkb', {
        backlog: { events: 50, oldestAt: null, freeDiskBytes: null, alarm: false },
      });
      await cloud.app.inject({
        method: 'POST',
        url: '/api/v1/uplink/heartbeat',
        headers: { authorization: `Bearer ${box.token}` },
        payload: hb,
      });
      await until('the first attempt recorded', async () => {
        const a = await cloud.store.db.selectFrom('alert_delivery_attempts').select('status').execute();
        return a.length === 1;
      });
      await cloud.close();
      cloud = await startTestCloud(db, { settings });
      await until('delivered after the restart', async () => {
        const d = await cloud.store.db.selectFrom('alert_deliveries').select('state').executeTakeFirst();
        return d?.state === 'delivered';
      });
      const attempts = await cloud.store.db
        .selectFrom('alert_delivery_attempts')
        .select('status')
        .orderBy('id')
        .execute();
      expect(attempts.map((a) => a.status)).toEqual([500, 204]);
      expect(r.got.map((g) => g.valid)).toEqual([true, true]);
    } finally {
      await cloud.close();
      await r.close();
    }
  });
});
