// The box's uplink against a real cloud (both in-process, real HTTP): events drain in order; offline the box
// keeps working and its backlog grows, with the alarm up past its bound; when the cloud comes back the
// backlog drains; heartbeats carry backlog, versions and each peripheral's presence and status.
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBoxClaim, createOffice } from '../../cloud/admin/provisioning.js';
import type { CloudService } from '../../cloud/service.js';
import { loadConfigFile } from '../../device/config/load.js';
import { enrollBox } from '../../device/uplink/index.js';
import { NutServerSim } from '../../hardware-sim/ups/nut-server.js';
import type { Heartbeat } from '../../protocol/index.js';
import { officeConfig, peripheralsFor, request, startTestBox, type TestBox } from '../support/office.js';
import { DATABASES, seedTree, startTestCloud, type TestDatabase } from './helpers.js';

async function until(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 15_000,
): Promise<void> {
  const t0 = Date.now();
  while (!(await check())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

for (const kind of DATABASES) {
  describe.skipIf(!kind.available)(`uplink (${kind.title})`, () => {
    let db: TestDatabase;
    let cloud: CloudService;
    let port: number;
    let tb: TestBox;
    let dataDir: string;
    let configFile: string;
    let ups: NutServerSim;
    /** The last heartbeat the cloud holds for the office's box. */
    const lastHeartbeat = async () => {
      const r = await cloud.store.db
        .selectFrom('boxes')
        .select('heartbeat')
        .where('office_id', '=', 'xa-thu-nghiem')
        .executeTakeFirst();
      return r?.heartbeat ? (JSON.parse(r.heartbeat) as Heartbeat) : null;
    };

    const acked = async () => {
      const r = await cloud.store.db
        .selectFrom('boxes')
        .select('acked_seq')
        .where('office_id', '=', 'xa-thu-nghiem')
        .executeTakeFirst();
      return Number(r?.acked_seq ?? -1);
    };
    const issue = (n: number) =>
      Promise.all(
        Array.from({ length: n }, (_, i) =>
          tb.box.ledger.submit(
            { type: 'issue', service: i % 2 ? 'van-thu' : 'ho-tich', priority: null, source: 'kiosk-1' },
            { source: 'kiosk-1' },
          ),
        ),
      );

    beforeAll(async () => {
      db = kind.create();
      ups = await NutServerSim.start({ ups: 'office' });
      cloud = await startTestCloud(db);
      // The cloud comes back on the port it picked (the box's config names it); read it back from its URL.
      port = Number(new URL(cloud.url).port);
      await seedTree(cloud);
      await createOffice(
        cloud.store.db,
        { id: 'xa-thu-nghiem', name: 'Xã Thử Nghiệm', unitId: 'hc' },
        Date.now(),
      );
      const dir = mkdtempSync(join(tmpdir(), 'lobby-uplink-'));
      dataDir = join(dir, 'data');
      configFile = join(dir, 'office.json');
      const cfg = officeConfig(
        await peripheralsFor([
          { id: 'kiosk-1', role: 'kiosk' },
          { id: 'keypad-1', role: 'keypad', counter: 1 },
        ]),
        {
          cloud: {
            url: 'http://placeholder.invalid',
            batchSize: 25,
            retryBaseMs: 20,
            retryCapSeconds: 1,
            backlogAlarmEvents: 30,
          },
          // The UPS, read every second; heartbeats stay at their 60 s default.
          ups: { host: '127.0.0.1', port: ups.port, name: 'office', pollSeconds: 1 },
        },
      );
      writeFileSync(configFile, JSON.stringify(cfg, null, 2));
      const claim = await createBoxClaim(cloud.store.db, 'xa-thu-nghiem', Date.now());
      const credential = await enrollBox({
        configFile,
        dataDir,
        cloudUrl: cloud.url,
        claimCode: claim.claimCode,
      });
      expect(statSync(join(dataDir, 'cloud-credential.json')).mode & 0o777).toBe(0o600);
      expect(credential.officeId).toBe('xa-thu-nghiem');
      const config = loadConfigFile(configFile);
      expect(config.cloud?.url).toBe(cloud.url);
      expect(config.office.publicUrl).toBe(cloud.url); // the ticket QR codes now point at the cloud
      tb = await startTestBox({ config, dataDir });
    });
    afterAll(async () => {
      await tb?.close();
      await ups?.close();
      await cloud?.close();
      await db?.cleanup();
    });

    it('drains events in order as they are committed', async () => {
      await issue(60);
      const head = tb.box.store.headSeq;
      await until('the cloud to acknowledge everything', async () => (await acked()) === head);
      await until('the box to take the ack', () => tb.box.store.outboxBacklog().events === 0);
      const seqs = await cloud.store.db
        .selectFrom('events')
        .select('seq')
        .where('office_id', '=', 'xa-thu-nghiem')
        .orderBy('seq')
        .execute();
      expect(seqs.map((r) => Number(r.seq))).toEqual(Array.from({ length: head }, (_, i) => i + 1));
      expect(tb.box.store.outboxBacklog().events).toBe(0);
    });

    it('a power cut reaches the cloud at once, not at the next heartbeat a minute later', async () => {
      await until(
        'the first heartbeat, on mains',
        async () => (await lastHeartbeat())?.power?.state === 'mains',
      );
      ups.onBattery(66, 1300);
      await until(
        'the cloud told the box runs on battery',
        async () => (await lastHeartbeat())?.power?.state === 'battery',
        10_000,
      );
      expect((await lastHeartbeat())?.power).toMatchObject({
        chargePct: 66,
        status: 'OB DISCHRG',
        acceptingRequests: true,
      });
      ups.mains();
      await until(
        'the cloud told mains is back',
        async () => (await lastHeartbeat())?.power?.state === 'mains',
        10_000,
      );
    });

    it('heartbeats carry backlog, versions and peripherals (presence and status)', async () => {
      const kiosk = await tb.connect('kiosk-1');
      await kiosk.publishAsync(
        'lobby/v1/presence/kiosk-1',
        JSON.stringify({ online: true, session: 3, version: 'k 1.0' }),
        { qos: 1, retain: true },
      );
      await kiosk.publishAsync(
        'lobby/v1/status/kiosk-1',
        JSON.stringify({
          ts: new Date().toISOString(),
          ok: false,
          detail: 'hết giấy',
          printer: { state: 'paper_out', canPrint: false },
        }),
        { qos: 1, retain: true },
      );
      await until('the broker to record the status', () => tb.box.broker.statusOf('kiosk-1') !== undefined);
      await tb.box.uplink!.heartbeat();
      const row = await cloud.store.db
        .selectFrom('boxes')
        .select('heartbeat')
        .where('office_id', '=', 'xa-thu-nghiem')
        .executeTakeFirstOrThrow();
      const hb = JSON.parse(row.heartbeat as string) as Heartbeat;
      expect(hb.officeId).toBe('xa-thu-nghiem');
      expect(hb.version).toMatch(/^\d+\.\d+\.\d+/);
      expect(hb.node).toBe(process.version);
      expect(hb.backlog).toMatchObject({ events: 0, alarm: false });
      expect(hb.backlog.freeDiskBytes).toBeGreaterThan(0);
      expect(hb.peripherals).toContainEqual({
        id: 'kiosk-1',
        role: 'kiosk',
        online: true,
        status: expect.objectContaining({ ok: false, printer: { state: 'paper_out', canPrint: false } }),
      });
      const keypad = hb.peripherals.find((p) => p.id === 'keypad-1');
      expect(keypad).toMatchObject({ role: 'keypad', counter: 1, status: null });
      expect(keypad?.online).not.toBe(true); // never connected
      expect(hb.storage).toMatchObject({ state: 'ok', reason: null });
    });

    it('a box that cannot write its log says so in the heartbeat the fleet view shows', async () => {
      const stored = async () => {
        await tb.box.uplink!.heartbeat();
        const row = await cloud.store.db
          .selectFrom('boxes')
          .select('heartbeat')
          .where('office_id', '=', 'xa-thu-nghiem')
          .executeTakeFirstOrThrow();
        return (JSON.parse(row.heartbeat as string) as Heartbeat).storage;
      };
      const kiosk = await tb.connect('kiosk-1');
      const store = tb.box.store;
      const append = store.append.bind(store);
      const probeWrite = store.probeWrite.bind(store);
      // The disk is full for every write: the ledger's commits and the probe that looks for space again.
      store.append = store.probeWrite = () => {
        throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
      };
      const ticket = { service: 'van-thu', delivery: 'screen' }; // its printer is out of paper (above)
      const refused = await request(kiosk, 'lobby/v1/tickets/request', ticket);
      expect(refused.error?.code).toBe('storage_full');
      expect(await stored()).toMatchObject({ state: 'full', reason: expect.stringMatching(/disk is full/) });
      store.append = append;
      store.probeWrite = probeWrite;
      expect((await request(kiosk, 'lobby/v1/tickets/request', ticket)).status).toBe('ok');
      expect(await stored()).toMatchObject({ state: 'ok' });
      kiosk.end(true);
    });

    it('offline: the office keeps working, the backlog grows past the alarm, then drains in order', async () => {
      await cloud.close();
      const keypad = await tb.connect('keypad-1');
      const before = tb.box.store.headSeq;
      await issue(40);
      const called = await request(keypad, 'lobby/v1/counters/1/cmd/next');
      expect(called.status).toBe('ok'); // the office works with the cloud gone
      const head = tb.box.store.headSeq;
      expect(head).toBeGreaterThan(before + 40);
      await until('failed attempts', () => tb.box.uplink!.state.consecutiveFailures >= 2);
      const hb = tb.box.uplink!.heartbeatBody();
      expect(hb.backlog.events).toBe(head - before);
      expect(hb.backlog.alarm).toBe(true); // 41+ events waiting, the bound is 30
      expect(hb.backlog.oldestAt).not.toBeNull();
      const metrics = await (await fetch(`http://127.0.0.1:${tb.box.httpPort}/metrics`)).text();
      expect(metrics).toMatch(/^lobby_uplink_backlog_alarm 1$/m);
      expect(metrics).toMatch(new RegExp(`^lobby_uplink_backlog_events ${head - before}$`, 'm'));

      cloud = await startTestCloud(db, { port });
      expect(cloud.url).toContain(String(port));
      await until('the backlog to drain', async () => (await acked()) === head);
      const seqs = await cloud.store.db
        .selectFrom('events')
        .select('seq')
        .where('office_id', '=', 'xa-thu-nghiem')
        .orderBy('seq')
        .execute();
      expect(seqs.map((r) => Number(r.seq))).toEqual(Array.from({ length: head }, (_, i) => i + 1));
      await until('the box to take the last ack', () => tb.box.store.outboxBacklog().events === 0);
      expect(tb.box.uplink!.heartbeatBody().backlog).toMatchObject({ events: 0, alarm: false });
    });
  });
}
