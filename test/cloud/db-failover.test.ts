// The cloud survives its PostgreSQL connections dying (a restart or failover of the server): its pooled
// connections are killed with pg_terminate_backend while a box uplinks, then the database is cut off entirely
// (through a TCP proxy: the shared server itself is never restarted). The process keeps running, /healthz
// says 503 degraded with the reason while the database is unreachable, recovers by itself when it is back,
// and every event the box resent is applied exactly once. PostgreSQL only (SQLite has no connection to lose).
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type CloudDatabase } from '../../cloud/db/database.js';
import type { CloudService } from '../../cloud/service.js';
import { simulateOfficeDay } from '../bench/cloud-events.js';
import { killBackends, tagUrl, tcpProxy, type TcpProxy } from '../support/db-outage.js';
import { drainWithRetries } from '../support/retrying-box.js';
import { DATABASES, enrolledBox, seedTree, startTestCloud, PG_URL, type TestDatabase } from './helpers.js';

const postgres = DATABASES.find((d) => d.name === 'postgres')!;

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const t0 = Date.now();
  while (!(await check())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe.skipIf(!postgres.available)(`database connections lost (${postgres.title})`, () => {
  const app = `lobby_failover_${randomBytes(4).toString('hex')}`;
  let db: TestDatabase;
  let proxy: TcpProxy;
  let cloud: CloudService;
  /** The test's own connections (straight to the server, never killed) to check what the cloud stored. */
  let check: CloudDatabase;
  const events = simulateOfficeDay({
    seed: 13,
    day: '2026-03-03',
    tickets: 200,
    services: ['van-thu', 'ho-tich'],
    counters: [
      { number: 1, services: ['van-thu'], clerk: { id: 'cc01', name: 'Lan' } },
      { number: 2, services: ['ho-tich'], clerk: { id: 'cc02', name: 'Hoa' } },
    ],
    firstSeq: 1,
  });
  const issued = events.filter((e) => e.type === 'ticket.issued').length;

  beforeAll(async () => {
    const pgUrl = new URL(PG_URL);
    proxy = await tcpProxy({ host: pgUrl.hostname, port: Number(pgUrl.port || 5432) });
    db = { ...postgres.create() };
    db.url = tagUrl(PG_URL, app, proxy.port);
    cloud = await startTestCloud(db);
    await seedTree(cloud);
    check = await openDatabase({ url: PG_URL, schema: db.schema! });
  });
  afterAll(async () => {
    await cloud?.close();
    await check?.close();
    await proxy?.close();
    await db?.cleanup();
  });

  const health = async () => {
    const res = await fetch(`${cloud.url}/healthz`);
    return { status: res.status, body: (await res.json()) as { status: string; reason?: string } };
  };

  it('keeps running through killed connections and an outage, says so in /healthz, applies every event once', async () => {
    const { token, boxId } = await enrolledBox(cloud, 'o-hkb');
    const acked = async () =>
      Number(
        (
          await sql<{
            n: number;
          }>`SELECT acked_seq AS n FROM boxes WHERE id = ${boxId}`.execute(check.db)
        ).rows[0]?.n ?? 0,
      );
    let done = false;
    const box = drainWithRetries(cloud.url, token, events, { batch: 5 }).finally(() => (done = true));
    const killRound = async () => {
      const before = await acked().catch(() => 0);
      const n = await killBackends(PG_URL, app);
      await until('the box to make progress after the kill', async () => done || (await acked()) > before);
      return n;
    };

    // The server ends the pool's connections (as a restart does) while batches are applied.
    let kills = 0;
    for (let round = 0; round < 2; round++) kills += await killRound();
    expect(kills).toBeGreaterThan(0);

    // Now the database is unreachable, the box still sending: the process stays up and says why it is not healthy.
    proxy.cut();
    await until('/healthz to report the outage', async () => (await health()).status === 503);
    const h = await health();
    expect(h.body.status).toBe('degraded');
    expect(h.body.reason).toMatch(/database unreachable/);
    const refused = await fetch(`${cloud.url}/api/v1/uplink/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ events: events.slice(0, 1) }),
    });
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { code: string }).code).toBe('database_unavailable');
    expect(refused.headers.get('retry-after')).toBe('5');

    // Back: it recovers by itself, no restart; the box's resent batches go through, and more kills meanwhile.
    proxy.restore();
    await until('/healthz to recover', async () => (await health()).status === 200);
    expect((await health()).body.status).toBe('ok');
    for (let round = 0; round < 2 && !done; round++) kills += await killRound();

    const stats = await box;
    expect(await acked()).toBe(events.length);
    const stored = await sql<{
      n: number;
    }>`SELECT COUNT(*) AS n FROM events WHERE box_id = ${boxId}`.execute(check.db);
    expect(Number(stored.rows[0]?.n)).toBe(events.length);
    const r = await sql<{
      n: number;
    }>`SELECT COALESCE(SUM(issued), 0) AS n FROM rollups WHERE grain = 'd' AND office_id = 'o-hkb'`.execute(
      check.db,
    );
    expect(Number(r.rows[0]?.n)).toBe(issued);
    expect(stats.byAnswer['503']).toBeGreaterThan(0); // the box met the outage and resent
    expect(stats.batches).toBeGreaterThan(events.length / 5);
  });
});
