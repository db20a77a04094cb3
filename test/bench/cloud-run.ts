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

/** The report rows of one database: the province with a year, and (PostgreSQL) the country with a month. */
async function reportRows(db: BenchDatabase): Promise<ReportBenchResult[]> {
  const repeats = Number(process.env.BENCH_REPORT_REPEATS ?? 20);
  console.log(`  ${db.name}: a year of rollups for 300 offices, then reports over HTTP…`);
  const out = [await benchReports(db, { repeats, scale: 'province' })];
  if (db.name === 'postgres') {
    console.log(`  ${db.name}: a month of rollups for 4,000 offices, then reports over HTTP…`);
    out.push(await benchReports(db, { repeats, scale: 'country' }));
  }
  return out;
}

const reportTable = (reports: ReportBenchResult[]): string =>
  table(
    [
      'report over HTTP',
      'p50',
      'p95',
      'answer',
      'baseline: day-grain scan (same run)',
      'ratio',
      'target (p95)',
    ],
    reports.flatMap((rep) =>
      rep.latencies.map((l) => [
        `${l.database}, ${l.label}`,
        ms(l.p50Ms),
        ms(l.p95Ms),
        `${(l.bytes / 1024).toFixed(0)} kB`,
        ms(l.dayGrainMs),
        `${(l.p95Ms / l.dayGrainMs).toFixed(2)}x`,
        `< ${l.targetMs} ms${l.database === 'postgres' ? (l.p95Ms < l.targetMs ? ' (met)' : ' (NOT met)') : ''}`,
      ]),
    ),
  );

/** `node dist/test/bench/run.js reports`: the report rows alone. */
export async function runReportBenches(): Promise<ReportBenchResult[]> {
  const pgOk = await postgresReachable();
  if (!pgOk) console.log('  PostgreSQL not reachable: its rows are SKIPPED');
  const dbs = benchDatabases(pgOk);
  const reports: ReportBenchResult[] = [];
  try {
    for (const db of dbs) reports.push(...(await reportRows(db)));
  } finally {
    for (const db of dbs)
      for (const suffix of ['_r', '_n'])
        if (db.schema)
          await cleanupBenchDatabase({ ...db, schema: `${db.schema}${suffix}` }).catch(() => undefined);
  }
  console.log('\n' + reportTable(reports));
  for (const r of reports)
    console.log(
      `  ${r.database} (${r.scale}): rollups ${r.rows.rollups.toLocaleString('en')} rows, hours ${r.rows.hours.toLocaleString('en')}, dossiers ${r.rows.dossiers.toLocaleString('en')}; loaded in ${r.loadSeconds.toFixed(0)} s`,
    );
  return reports;
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
      reports.push(...(await reportRows(db)));
    }
  } finally {
    for (const db of dbs) await cleanupBenchDatabase(db).catch(() => undefined);
    for (const db of dbs)
      for (const suffix of ['_r', '_n'])
        if (db.schema)
          await cleanupBenchDatabase({ ...db, schema: `${db.schema}${suffix}` }).catch(() => undefined);
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
        ],
      ),
  );
  console.log('\n' + reportTable(reports));
  for (const r of reports)
    console.log(
      `  ${r.database}: rollups ${r.rows.rollups.toLocaleString('en')} rows, hours ${r.rows.hours.toLocaleString('en')}, dossiers ${r.rows.dossiers.toLocaleString('en')}; loaded in ${r.loadSeconds.toFixed(0)} s`,
    );
  return { postgres: pgOk ? 'reachable' : 'skipped', ingest, drain, reports };
}
