// The cloud's benchmarks (`npm run bench`, or `node dist/test/bench/run.js cloud` for these alone): ingest
// rate with 1, 4 and 16 boxes at once beside a raw batched insert by as many writers
// (`node dist/test/bench/run.js ingest` for these alone), a 30,000-event backlog drain, report latency for a
// 300-office province with a year of rollups. On SQLite, and on PostgreSQL when it is reachable (said when it
// is not).
import pg from 'pg';
import {
  benchDatabases,
  benchDrain,
  benchIngestLoad,
  cleanupBenchDatabase,
  type BenchDatabase,
  type DrainResult,
  type IngestLoadResult,
} from './cloud-ingest.js';
import { benchReports, type ReportBenchResult } from './cloud-report.js';
import { ms, perSec, pct, table } from './stats.js';

export interface CloudBenchResults {
  postgres: string;
  ingest: IngestLoadResult[];
  drain: DrainResult[];
  reports: ReportBenchResult[];
}

export async function postgresReachable(
  url = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
): Promise<boolean> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** The ingest rows: BENCH_INGEST_BOXES (1,4,16) boxes at once, BENCH_INGEST_EVENTS (40,000) events a row. */
async function ingestRows(db: BenchDatabase): Promise<IngestLoadResult[]> {
  const out: IngestLoadResult[] = [];
  const total = Number(process.env.BENCH_INGEST_EVENTS ?? 40_000);
  for (const boxes of (process.env.BENCH_INGEST_BOXES ?? '1,4,16').split(',').map(Number)) {
    console.log(`  ${db.name}: ingest, ${boxes} box(es) at once…`);
    const eventsPerBox = Math.max(2_500, Math.ceil(total / boxes));
    out.push(await benchIngestLoad(db, { boxes, eventsPerBox, batchSize: 500 }));
  }
  return out;
}

const ingestTable = (ingest: IngestLoadResult[]): string =>
  table(
    ['cloud benchmark', 'ours', 'baseline (same run)', 'ratio', 'target'],
    ingest.map((r) => [
      `ingest, ${r.database}, ${r.boxes} box(es) at once, HTTP batches of ${r.batchSize}`,
      perSec(r.oursPerSec),
      `raw batched INSERT, ${r.boxes} writer(s) ${perSec(r.rawPerSec)}`,
      pct(r.ratio),
      r.database === 'postgres' ? `>= 50 %${r.boxes === 4 ? ', >= 20,000/s' : ''}` : '-',
    ]),
  );

/** `node dist/test/bench/run.js ingest`: the ingest rows alone. */
export async function runIngestBenches(): Promise<{ postgres: string; ingest: IngestLoadResult[] }> {
  const pgOk = await postgresReachable();
  if (!pgOk) console.log('  PostgreSQL not reachable: its rows are SKIPPED');
  const dbs = benchDatabases(pgOk);
  const ingest: IngestLoadResult[] = [];
  try {
    for (const db of dbs) ingest.push(...(await ingestRows(db)));
  } finally {
    for (const db of dbs) await cleanupBenchDatabase(db).catch(() => undefined);
  }
  console.log('\n' + ingestTable(ingest));
  return { postgres: pgOk ? 'reachable' : 'skipped', ingest };
}

export async function runCloudBenches(): Promise<CloudBenchResults> {
  const pgUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const pgOk = await postgresReachable(pgUrl);
  if (!pgOk) console.log(`  PostgreSQL not reachable at ${pgUrl}: its rows are SKIPPED`);
  const dbs = benchDatabases(pgOk);
  const ingest: IngestLoadResult[] = [];
  const drain: DrainResult[] = [];
  const reports: ReportBenchResult[] = [];
  try {
    for (const db of dbs) {
      ingest.push(...(await ingestRows(db)));
      console.log(`  ${db.name}: drain of 30,000 events…`);
      drain.push(await benchDrain(db, { events: 30_000, batchSize: 500 }));
      console.log(`  ${db.name}: a year of rollups for 300 offices, then reports…`);
      reports.push(await benchReports(db, { repeats: 3 }));
    }
  } finally {
    for (const db of dbs) await cleanupBenchDatabase(db).catch(() => undefined);
    for (const db of dbs)
      if (db.schema) await cleanupBenchDatabase({ ...db, schema: `${db.schema}_r` }).catch(() => undefined);
  }
  console.log('\n' + ingestTable(ingest));
  console.log(
    '\n' +
      table(
        ['cloud benchmark', 'ours', 'baseline (same run)', 'ratio', 'target'],
        [
          ...drain.map((r) => [
            `drain ${r.events.toLocaleString('en')} backlog, ${r.database}`,
            `${(r.drainMs / 1000).toFixed(1)} s (${perSec(r.eventsPerSec)})`,
            `raw batched INSERT ${(r.rawInsertMs / 1000).toFixed(1)} s`,
            pct(r.rawInsertMs / r.drainMs),
            '< 60 s',
          ]),
          ...reports.flatMap((rep) =>
            rep.latencies.map((l) => [
              `report, ${l.database}, ${l.label}`,
              ms(l.oursMs),
              `day-grain scan ${ms(l.dayGrainMs)}`,
              `${(l.dayGrainMs / l.oursMs).toFixed(1)}x faster`,
              '< 2 s',
            ]),
          ),
        ],
      ),
  );
  for (const r of reports)
    console.log(
      `  ${r.database}: rollups ${r.rows.rollups.toLocaleString('en')} rows, hours ${r.rows.hours.toLocaleString('en')}, dossiers ${r.rows.dossiers.toLocaleString('en')}; loaded in ${r.loadSeconds.toFixed(0)} s`,
    );
  return { postgres: pgOk ? 'reachable' : 'skipped', ingest, drain, reports };
}
