// `npm run soak:cloud`: boxes uplink office days into a cloud on PostgreSQL while its database connections are
// killed again and again (pg_terminate_backend from a second connection, what a restart or failover does to
// them) and, every so often, the database is cut off entirely for a moment (through a TCP proxy: the shared
// server itself is never restarted). At the end every event must be applied exactly once: each box's ack is
// its last seq, the cloud holds each event once, and the rollups count each issued ticket once. Bounded run
// time; prints its figures; exits 1 when anything is lost, doubled or the process fell over.
//
// SOAK_SECONDS (60), SOAK_BOXES (4), SOAK_KILL_MS (400: between kills), SOAK_OUTAGE_EVERY_S (15; 0: none),
// SOAK_OUTAGE_MS (1500), SOAK_DATABASE_URL (postgres://postgres@127.0.0.1:5432/test).
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { sql } from 'kysely';
import pg from 'pg';
import { pino } from 'pino';
import { createBoxClaim, createOffice, createUnit } from '../../cloud/admin/provisioning.js';
import { dropPostgresSchema, openDatabase } from '../../cloud/db/database.js';
import { startCloud } from '../../cloud/service.js';
import { boxToken, type EnrollResponse, type EventEnvelope } from '../../protocol/index.js';
import { simulateOfficeDay } from '../bench/cloud-events.js';
import { killBackends, tagUrl, tcpProxy } from '../support/db-outage.js';
import { drainWithRetries } from '../support/retrying-box.js';

const env = (name: string, dflt: number) => Number(process.env[name] ?? dflt);
const SECONDS = env('SOAK_SECONDS', 60);
const BOXES = env('SOAK_BOXES', 4);
const KILL_MS = env('SOAK_KILL_MS', 400);
const OUTAGE_EVERY_S = env('SOAK_OUTAGE_EVERY_S', 15);
const OUTAGE_MS = env('SOAK_OUTAGE_MS', 1500);
const PG_URL = process.env.SOAK_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<number | null> {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    if (await check().catch(() => false)) return Date.now() - t0;
    await sleep(20);
  }
  return null;
}

async function main(): Promise<number> {
  const probe = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 });
  try {
    await probe.connect();
  } catch (err) {
    console.error(`soak:cloud needs PostgreSQL at ${PG_URL} (SOAK_DATABASE_URL): ${String(err)}`);
    return 2;
  } finally {
    await probe.end().catch(() => undefined);
  }

  const tag = randomBytes(4).toString('hex');
  const schema = `soak_${tag}`;
  const appName = `lobby_soak_${tag}`;
  const pgUrl = new URL(PG_URL);
  const proxy = await tcpProxy({ host: pgUrl.hostname, port: Number(pgUrl.port || 5432) });
  // The cloud's warnings are counted, not printed: lost connections and requests answered 503.
  const logged = { connectionLost: 0, unavailable: 0 };
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      const line = chunk.toString();
      if (line.includes('database connection lost')) logged.connectionLost++;
      if (line.includes('database unavailable')) logged.unavailable++;
      done();
    },
  });
  const cloud = await startCloud({
    databaseUrl: tagUrl(PG_URL, appName, proxy.port),
    databaseSchema: schema,
    port: 0,
    host: '127.0.0.1',
    log: pino({ level: 'warn' }, sink),
    settings: { masterKey: randomBytes(32) },
  });
  const db = cloud.store.db;
  const t0 = Date.now();
  const deadline = t0 + SECONDS * 1000;
  let ok = true;
  try {
    await createUnit(db, { id: 'soak', name: 'Soak', kind: 'province', parentId: null }, t0);
    const boxes: { office: string; boxId: string; token: string; sent: number; issued: number }[] = [];
    for (let i = 1; i <= BOXES; i++) {
      const office = `o-soak-${i}`;
      await createOffice(db, { id: office, name: `Soak ${i}`, unitId: 'soak' }, t0);
      const claim = await createBoxClaim(db, office, t0);
      const res = await fetch(`${cloud.url}/api/v1/enroll`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ claimCode: claim.claimCode, officeId: office }),
      });
      const e = (await res.json()) as EnrollResponse;
      boxes.push({ office, boxId: e.boxId, token: boxToken(e.boxId, e.secret), sent: 0, issued: 0 });
    }

    // Faults: kills all along, an outage every OUTAGE_EVERY_S; health timings per outage.
    const faults = {
      kills: 0,
      killRounds: 0,
      outages: 0,
      toDegradedMs: [] as number[],
      toOkMs: [] as number[],
    };
    const health = async () => (await fetch(`${cloud.url}/healthz`)).status;
    const faultLoop = (async () => {
      let nextOutage = OUTAGE_EVERY_S > 0 ? Date.now() + OUTAGE_EVERY_S * 1000 : Infinity;
      while (Date.now() < deadline) {
        await sleep(KILL_MS);
        faults.kills += await killBackends(PG_URL, appName).catch(() => 0);
        faults.killRounds++;
        if (Date.now() >= nextOutage && Date.now() + OUTAGE_MS < deadline) {
          faults.outages++;
          const cutAt = Date.now();
          proxy.cut();
          const degraded = await until(async () => (await health()) === 503, 10_000);
          if (degraded === null) {
            console.error('FAIL: /healthz did not report the outage');
            ok = false;
          } else faults.toDegradedMs.push(degraded);
          await sleep(Math.max(0, OUTAGE_MS - (Date.now() - cutAt)));
          proxy.restore();
          const back = await until(async () => (await health()) === 200, 15_000);
          if (back === null) {
            console.error('FAIL: /healthz did not recover after the outage');
            ok = false;
          } else faults.toOkMs.push(back);
          nextOutage = Date.now() + OUTAGE_EVERY_S * 1000;
        }
      }
    })();

    // Boxes: office day after office day until the time is up; the day in flight is always finished.
    const answers: Record<string, number> = {};
    let batches = 0;
    const boxLoops = boxes.map(async (b, i) => {
      for (let d = 0; Date.now() < deadline; d++) {
        const day = new Date(Date.UTC(2026, 0, 1 + d)).toISOString().slice(0, 10);
        const events: EventEnvelope[] = simulateOfficeDay({
          seed: 1000 * (i + 1) + d,
          day,
          tickets: 60,
          services: ['van-thu', 'ho-tich'],
          counters: [
            { number: 1, services: ['van-thu'], clerk: { id: `c${i}a`, name: 'Lan' } },
            { number: 2, services: ['ho-tich'], clerk: { id: `c${i}b`, name: 'Hoa' } },
          ],
          firstSeq: b.sent + 1,
        });
        const s = await drainWithRetries(cloud.url, b.token, events, { batch: 25, retryDelayMs: 50 });
        batches += s.batches;
        for (const [k, v] of Object.entries(s.byAnswer)) answers[k] = (answers[k] ?? 0) + v;
        b.sent += events.length;
        b.issued += events.filter((e) => e.type === 'ticket.issued').length;
      }
    });
    await Promise.all([faultLoop, ...boxLoops]);
    const elapsed = (Date.now() - t0) / 1000;

    // Exactly once, per box: read through the soak's own connections (straight to the server, never killed).
    const check = await openDatabase({ url: PG_URL, schema });
    let applied = 0;
    for (const b of boxes) {
      const row = await check.db
        .selectFrom('boxes')
        .select('acked_seq')
        .where('id', '=', b.boxId)
        .executeTakeFirstOrThrow();
      const stored = await sql<{
        n: number;
      }>`SELECT COUNT(*) AS n FROM events WHERE box_id = ${b.boxId}`.execute(check.db);
      const issued = await sql<{
        n: number;
      }>`SELECT COALESCE(SUM(issued), 0) AS n FROM rollups WHERE grain = 'd' AND office_id = ${b.office}`.execute(
        check.db,
      );
      const n = Number(stored.rows[0]?.n);
      applied += n;
      const good = Number(row.acked_seq) === b.sent && n === b.sent && Number(issued.rows[0]?.n) === b.issued;
      if (!good) {
        ok = false;
        console.error(
          `FAIL ${b.boxId}: sent ${b.sent}, acked ${row.acked_seq}, stored ${n}; issued ${b.issued}, in rollups ${issued.rows[0]?.n}`,
        );
      }
    }
    await check.close();
    // The last kill may be a moment old: health must be back within seconds, by itself.
    const finalHealth = (await until(async () => (await health()) === 200, 10_000)) === null ? 503 : 200;
    if (finalHealth !== 200) ok = false;

    const max = (xs: number[]) => (xs.length ? `${Math.max(...xs)} ms` : '-');
    const rows: [string, string][] = [
      ['run time', `${elapsed.toFixed(1)} s (SOAK_SECONDS=${SECONDS})`],
      ['boxes', String(BOXES)],
      ['events applied (each once)', `${applied} (${(applied / elapsed).toFixed(0)}/s)`],
      ['tickets issued, counted once in rollups', String(boxes.reduce((a, b) => a + b.issued, 0))],
      ['uplink batches sent (incl. retries)', String(batches)],
      [
        'batches refused or cut, then resent',
        Object.entries(answers)
          .map(([k, v]) => `${v} × ${k}`)
          .join(', ') || '0',
      ],
      ['backends terminated (rounds)', `${faults.kills} (${faults.killRounds} rounds, every ${KILL_MS} ms)`],
      ['connection errors logged by the cloud', String(logged.connectionLost)],
      ['requests answered 503 database_unavailable', String(logged.unavailable)],
      ['database outages', `${faults.outages} × ${OUTAGE_MS} ms`],
      ['/healthz 503 after a cut (max)', max(faults.toDegradedMs)],
      ['/healthz 200 after the database is back (max)', max(faults.toOkMs)],
      ['final /healthz', String(finalHealth)],
      ['result', ok ? 'PASS: every event applied exactly once, the process never fell over' : 'FAIL'],
    ];
    const w = Math.max(...rows.map(([k]) => k.length));
    console.log('\ncloud soak (PostgreSQL, connections killed while boxes uplink)');
    for (const [k, v] of rows) console.log(`  ${k.padEnd(w)}  ${v}`);
  } finally {
    await cloud.close();
    await proxy.close();
    await dropPostgresSchema(PG_URL, schema);
  }
  return ok ? 0 : 1;
}

process.exitCode = await main();
