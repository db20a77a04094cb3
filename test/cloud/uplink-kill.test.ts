// `lobby cloud` and `lobby device` as child processes. The box holds a backlog of ~3,000 events; while it
// drains, the cloud is SIGKILLed and restarted, then the box is SIGKILLed and restarted, and the office keeps
// issuing tickets while the cloud is down. At the end the cloud holds every box event exactly once, and its
// rollups count each issued ticket once. On SQLite and PostgreSQL.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { createBoxClaim, createOffice, createUnit } from '../../cloud/admin/provisioning.js';
import { openDatabase, type CloudDatabase } from '../../cloud/db/database.js';
import { loadConfigFile } from '../../device/config/load.js';
import { Ledger } from '../../device/ledger.js';
import { EventStore } from '../../device/store/event-store.js';
import { enrollBox } from '../../device/uplink/index.js';
import { connectDevice, officeConfig, peripheralsFor, request, secretOf } from '../support/office.js';
import { DATABASES, MASTER_KEY, type TestDatabase } from './helpers.js';

const CLI = join(import.meta.dirname, '../../dist/cli/lobby.js');
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
});

function startChild(
  args: string[],
  ready: (log: Record<string, unknown>) => boolean,
  env: Record<string, string> = {},
): Promise<{ child: ChildProcess; log: Record<string, unknown> }> {
  const child = spawn(process.execPath, [CLI, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
  });
  children.push(child);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${args[0]} did not start: ${stderr}`)), 30_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const log = JSON.parse(line) as Record<string, unknown>;
        if (ready(log)) {
          clearTimeout(timer);
          resolve({ child, log });
        }
      } catch {
        // not a log line
      }
    });
    child.once('exit', (code) => reject(new Error(`${args[0]} exited with ${code}: ${stderr}`)));
  });
}

function killed(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const t0 = Date.now();
  while (!(await check())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

for (const kind of DATABASES) {
  describe.skipIf(!kind.available)(`uplink under SIGKILL (${kind.title})`, () => {
    let db: TestDatabase;
    let check: CloudDatabase;
    afterAll(async () => {
      await check?.close();
      await db?.cleanup();
    });

    it('kill the cloud and then the box mid-drain: every event arrives exactly once', async () => {
      db = kind.create();
      check = await openDatabase({ url: db.url, ...(db.schema ? { schema: db.schema } : {}) });
      const now = Date.now();
      await createUnit(check.db, { id: 'p', name: 'Tỉnh', kind: 'province', parentId: null }, now);
      await createOffice(check.db, { id: 'xa-thu-nghiem', name: 'Xã Thử Nghiệm', unitId: 'p' }, now);
      const claim = await createBoxClaim(check.db, 'xa-thu-nghiem', now);

      // The cloud picks its port at its first start (--port 0) and says it in its 'cloud started' line; it
      // comes back on that port (the box's config names it).
      const cloudArgs = (port: number) => [
        'cloud',
        '--db',
        db.url,
        '--port',
        String(port),
        '--host',
        '127.0.0.1',
        ...(db.schema ? ['--db-schema', db.schema] : []),
      ];
      const cloudEnv = { LOBBY_CLOUD_KEY: MASTER_KEY.toString('base64url') };
      const cloudReady = (l: Record<string, unknown>) => l.msg === 'cloud started';
      let cloud = await startChild(cloudArgs(0), cloudReady, cloudEnv);
      const port = cloud.log.port as number;
      expect(port).toBeGreaterThan(0);

      // The box: enrolled, with a backlog of about 3,000 events written while it had no uplink.
      const dir = mkdtempSync(join(tmpdir(), 'lobby-kill-'));
      const dataDir = join(dir, 'data');
      const configFile = join(dir, 'office.json');
      const cfg = officeConfig(await peripheralsFor([{ id: 'kiosk-1', role: 'kiosk' }]), {
        cloud: { url: 'http://placeholder.invalid', batchSize: 40, retryBaseMs: 20, retryCapSeconds: 1 },
      });
      writeFileSync(configFile, JSON.stringify(cfg, null, 2));
      await enrollBox({
        configFile,
        dataDir,
        cloudUrl: `http://127.0.0.1:${port}`,
        claimCode: claim.claimCode,
      });
      {
        const store = new EventStore(join(dataDir, 'events.db'));
        const ledger = new Ledger(loadConfigFile(configFile), store, Date.now);
        await ledger.submit({ type: 'tick' }, { source: null });
        const services = ['van-thu', 'ho-tich', 'dat-dai'];
        for (let round = 0; round < 12; round++) {
          await Promise.all(
            Array.from({ length: 200 }, (_, i) =>
              ledger.submit(
                { type: 'issue', service: services[i % 3] as string, priority: null, source: 'kiosk-1' },
                { source: 'kiosk-1' },
              ),
            ),
          );
          for (const counter of [1, 3, 4])
            for (let i = 0; i < 15; i++) await ledger.submit({ type: 'next', counter }, { source: null });
        }
        expect(store.outboxBacklog().events).toBeGreaterThan(2800);
        store.close();
      }
      const acked = async () => {
        const r = await check.db
          .selectFrom('boxes')
          .select('acked_seq')
          .where('office_id', '=', 'xa-thu-nghiem')
          .executeTakeFirst();
        return Number(r?.acked_seq ?? 0);
      };

      const boxArgs = ['device', '--config', configFile, '--data-dir', dataDir];
      const boxReady = (l: Record<string, unknown>) => l.msg === 'box started';
      let box = await startChild(boxArgs, boxReady);
      await until('a third of the backlog', async () => (await acked()) > 1000);
      await killed(cloud.child);
      const ackedAtKill = await acked();
      expect(ackedAtKill).toBeLessThan(2800); // the kill came mid-drain

      // The office keeps working with the cloud gone.
      const kiosk = await connectDevice(
        `mqtt://127.0.0.1:${box.log.mqttPort as number}`,
        'kiosk-1',
        secretOf('kiosk-1'),
      );
      for (let i = 0; i < 10; i++)
        expect((await request(kiosk, 'lobby/v1/tickets/request', { service: 'ho-tich' })).status).toBe('ok');
      kiosk.end(true);
      expect(await acked()).toBe(ackedAtKill);

      cloud = await startChild(cloudArgs(port), cloudReady, cloudEnv);
      await until('two thirds of the backlog', async () => (await acked()) > 2000);
      await killed(box.child);
      const ackedAtBoxKill = await acked();
      // Read while the box is down: a running box holds its log exclusively (device/store/open.ts).
      const store = new EventStore(join(dataDir, 'events.db'));
      const boxEvents = [...store.eventsAfter(0)];
      store.close();
      box = await startChild(boxArgs, boxReady);
      const head = boxEvents.length;
      expect(ackedAtBoxKill).toBeLessThan(head); // this kill too came mid-drain
      await until('the whole backlog', async () => (await acked()) === head);
      await killed(box.child);
      await killed(cloud.child);

      const rows = await check.db
        .selectFrom('events')
        .select(['seq', 'type', 'data'])
        .orderBy('seq')
        .execute();
      expect(rows.map((r) => Number(r.seq))).toEqual(boxEvents.map((e) => e.seq)); // none lost, none twice
      rows.forEach((r, i) => {
        const e = boxEvents[i]!;
        expect(r.type).toBe(e.event.type);
        expect(JSON.parse(r.data)).toEqual(e.event.data);
      });
      const issued = boxEvents.filter((e) => e.event.type === 'ticket.issued').length;
      const called = boxEvents.filter((e) => e.event.type === 'ticket.called').length;
      const sums = await sql<{
        issued: number;
        called: number;
      }>`SELECT SUM(issued) AS issued, SUM(called) AS called FROM rollups WHERE grain = 'd'`.execute(
        check.db,
      );
      expect(Number(sums.rows[0]?.issued)).toBe(issued);
      expect(Number(sums.rows[0]?.called)).toBe(called);
      const monthly = await sql<{
        issued: number;
      }>`SELECT SUM(issued) AS issued FROM rollups WHERE grain = 'm'`.execute(check.db);
      expect(Number(monthly.rows[0]?.issued)).toBe(issued);
    }, 180_000);
  });
}
