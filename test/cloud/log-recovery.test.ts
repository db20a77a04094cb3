// A box that lost its event log, with a real cloud: the box refuses to start (its markers, or the cloud having
// its events, say it ran before), `lobby device recover-log` rebuilds the current day from the cloud's copy
// (GET /api/v1/uplink/events), and numbering continues: the next ticket is not a number already issued, and
// the cloud takes the new events. The route gives a box only its own events, in capped pages.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBoxClaim, createOffice } from '../../cloud/admin/provisioning.js';
import { BOX_EVENTS_PAGE_MAX } from '../../cloud/limits.js';
import type { CloudService } from '../../cloud/service.js';
import { loadConfigFile } from '../../device/config/load.js';
import type { BoxConfig } from '../../device/config/schema.js';
import { LogRefusal } from '../../device/store/log-identity.js';
import { enrollBox, type BoxCredential } from '../../device/uplink/index.js';
import { boxToken, type UplinkEventsPage } from '../../protocol/index.js';
import { officeConfig, peripheralsFor, startTestBox, type TestBox } from '../support/office.js';
import { runCli } from '../support/box-process.js';
import { DATABASES, ackedSeq, enrolledBox, seedTree, startTestCloud, type TestDatabase } from './helpers.js';

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 15_000) {
  const t0 = Date.now();
  while (!(await check())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

for (const kind of DATABASES) {
  describe.skipIf(!kind.available)(`recovering a lost box log from the cloud (${kind.title})`, () => {
    let db: TestDatabase;
    let cloud: CloudService;
    let dataDir: string;
    let configFile: string;
    let config: BoxConfig;
    let credential: BoxCredential;
    let tb: TestBox | undefined;

    const acked = () => ackedSeq(cloud, credential.boxId);
    const issue = async (box: TestBox, n: number): Promise<string[]> => {
      const numbers: string[] = [];
      for (let i = 0; i < n; i++) {
        const o = await box.box.ledger.submit(
          { type: 'issue', service: 'van-thu', priority: null, source: 'kiosk-1' },
          { source: 'kiosk-1' },
        );
        if (!o.ok || o.duplicate) throw new Error('not issued');
        const e = o.events.find((x) => x.event.type === 'ticket.issued');
        numbers.push((e?.event.data as { number: string }).number);
      }
      return numbers;
    };
    const page = (token: string, query: string) =>
      cloud.app.inject({
        method: 'GET',
        url: `/api/v1/uplink/events?${query}`,
        headers: { authorization: `Bearer ${token}` },
      });

    beforeAll(async () => {
      db = kind.create();
      cloud = await startTestCloud(db);
      await seedTree(cloud);
      await createOffice(
        cloud.store.db,
        { id: 'xa-phuc-hoi', name: 'Xã Phục Hồi', unitId: 'hc' },
        Date.now(),
      );
      const dir = mkdtempSync(join(tmpdir(), 'lobby-recover-'));
      dataDir = join(dir, 'data');
      configFile = join(dir, 'office.json');
      const cfg = officeConfig(await peripheralsFor([{ id: 'kiosk-1', role: 'kiosk' }]), {
        cloud: { url: 'http://placeholder.invalid', batchSize: 25, retryBaseMs: 20, retryCapSeconds: 1 },
      });
      cfg.office.id = 'xa-phuc-hoi';
      writeFileSync(configFile, JSON.stringify(cfg, null, 2));
      const claim = await createBoxClaim(cloud.store.db, 'xa-phuc-hoi', Date.now());
      credential = await enrollBox({ configFile, dataDir, cloudUrl: cloud.url, claimCode: claim.claimCode });
      config = loadConfigFile(configFile);
    });
    afterAll(async () => {
      await tb?.close();
      await cloud?.close();
      await db?.cleanup();
    });

    it('refuses to start without its log, recovers the day from the cloud, and numbering continues', async () => {
      tb = await startTestBox({ config, dataDir, configFile });
      const issued = await issue(tb, 30);
      const head = tb.box.store.headSeq;
      await until('the cloud to acknowledge everything', async () => (await acked()) === head);
      await tb.close();
      tb = undefined;

      const db = join(dataDir, 'events.db');
      for (const s of ['', '-wal', '-shm']) rmSync(db + s, { force: true });
      // The markers (data dir and beside the config) say the box ran before.
      const missing = await startTestBox({ config, dataDir, configFile }).catch((e: unknown) => e);
      expect(missing).toBeInstanceOf(LogRefusal);
      expect((missing as LogRefusal).reason).toBe('missing');
      // Without any marker the cloud still knows: it has this box's events up to `head`.
      rmSync(join(dataDir, 'eventlog.json'));
      rmSync(`${configFile}.eventlog.json`);
      const behind = await startTestBox({ config, dataDir, configFile }).catch((e: unknown) => e);
      expect(behind).toBeInstanceOf(LogRefusal);
      expect((behind as LogRefusal).reason).toBe('cloud_ahead');
      expect((behind as LogRefusal).message).toContain(`the cloud has this box's events up to seq ${head}`);
      expect((behind as LogRefusal).message).toContain('lobby device recover-log');

      const r = await runCli(['device', 'recover-log', '--config', configFile, '--data-dir', dataDir]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`..${head}, office day`);
      expect(r.stdout).toContain('Nothing lost');
      expect(existsSync(db)).toBe(true);

      tb = await startTestBox({ config, dataDir, configFile });
      expect(tb.box.store.headSeq).toBe(head);
      const [next] = await issue(tb, 1);
      expect(issued).not.toContain(next);
      const last = Math.max(...issued.map((n) => Number(n.replace(/\D/g, ''))));
      expect(Number((next as string).replace(/\D/g, ''))).toBe(last + 1);
      // The new events carry the next sequence numbers, which the cloud applies.
      await until('the cloud to take the new events', async () => (await acked()) === tb!.box.store.headSeq);
      expect(tb.box.store.headSeq).toBeGreaterThan(head);
    });

    it('says which events never reached the cloud, and replaces a log holding them only with --force', async () => {
      if (!tb) throw new Error('the first test leaves the box running');
      const box = tb;
      await until('the cloud to take everything', async () => (await acked()) === box.box.store.headSeq);
      const ackedSeq = box.box.store.headSeq;
      await box.box.uplink?.stop(); // the network goes: these two stay on the box only
      await issue(box, 2);
      const head = box.box.store.headSeq;
      await box.close();
      tb = undefined;

      const args = ['device', 'recover-log', '--config', configFile, '--data-dir', dataDir];
      const refusedRun = await runCli(args);
      expect(refusedRun.code).toBe(1);
      expect(refusedRun.stderr).toContain(
        `the local log reaches seq ${head}, the cloud only ${ackedSeq}: recovering would lose ${head - ackedSeq} events`,
      );
      const forced = await runCli([...args, '--force']);
      expect(forced.code).toBe(0);
      expect(forced.stdout).toContain(
        `LOST: this box had reached seq ${head}; events ${ackedSeq + 1}..${head} never reached the cloud`,
      );
      tb = await startTestBox({ config, dataDir, configFile });
      expect(tb.box.store.headSeq).toBe(ackedSeq);
    });

    it('gives a box only its own events, in pages capped by the limit', async () => {
      const token = boxToken(credential.boxId, credential.secret);
      const first = page(token, 'after=0&limit=10');
      const res = await first;
      expect(res.statusCode).toBe(200);
      const p = res.json<UplinkEventsPage>();
      expect(p.events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect(p.nextAfter).toBe(10);
      expect(p.dayStartSeq).toBe(1);
      const tail = (await page(token, `after=${p.ackedSeq - 2}&limit=10`)).json<UplinkEventsPage>();
      expect(tail.events).toHaveLength(2);
      expect(tail.nextAfter).toBeNull();

      const tooMany = await page(token, `after=0&limit=${BOX_EVENTS_PAGE_MAX + 1}`);
      expect(tooMany.statusCode).toBe(400);
      expect(tooMany.json<{ code: string; message: string }>()).toMatchObject({
        code: 'invalid_request',
        message: expect.stringContaining('1000'),
      });
      const other = await enrolledBox(cloud, 'o-hc');
      const theirs = (await page(other.token, 'after=0&limit=10')).json<UplinkEventsPage>();
      expect(theirs).toMatchObject({ ackedSeq: 0, events: [], dayStartSeq: null, nextAfter: null });
      expect((await page('nope.nope', 'after=0')).statusCode).toBe(401);
    });
  });
}
