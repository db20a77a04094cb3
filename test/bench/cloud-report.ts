// Cloud benchmark 3: report latency for a province of 300 offices (30 districts × 10 communes) with a year of
// rollups, written straight into the rollup tables by SQL (as a year of ingest would leave them). Beside it,
// in the same run: the same grouped sums read from the day grain only (what a report without month
// rollups would scan).
import { sql } from 'kysely';
import { openDatabase, type CloudDatabase } from '../../cloud/db/database.js';
import { ROLLUP_METRICS } from '../../cloud/db/rollup-columns.js';
import { buildReport } from '../../cloud/reports/reports.js';
import type { BenchDatabase } from './cloud-ingest.js';
import { now, summarize } from './stats.js';

export interface ReportLatency {
  database: string;
  label: string;
  offices: number;
  days: number;
  oursMs: number;
  dayGrainMs: number;
}

export interface ReportBenchResult {
  database: string;
  rows: { rollups: number; hours: number; dossiers: number };
  loadSeconds: number;
  latencies: ReportLatency[];
}

async function seed(store: CloudDatabase): Promise<void> {
  const db = store.db;
  const t = Date.now();
  const units = [
    { id: 'p', parent_id: null as string | null, name: 'Tỉnh', kind: 'province', path: '/p/', created_at: t },
  ];
  const offices = [];
  for (let d = 0; d < 30; d++) {
    const did = `d${String(d).padStart(2, '0')}`;
    units.push({
      id: did,
      parent_id: 'p',
      name: `Huyện ${d}`,
      kind: 'district',
      path: `/p/${did}/`,
      created_at: t,
    });
    for (let c = 0; c < 10; c++) {
      const n = d * 10 + c;
      const cid = `c${String(n).padStart(3, '0')}`;
      units.push({
        id: cid,
        parent_id: did,
        name: `Xã ${n}`,
        kind: 'commune',
        path: `/p/${did}/${cid}/`,
        created_at: t,
      });
      offices.push({
        id: `o${String(n).padStart(3, '0')}`,
        unit_id: cid,
        name: `Một cửa ${n}`,
        timezone: 'Asia/Ho_Chi_Minh',
        created_at: t,
      });
    }
  }
  await db.insertInto('units').values(units).execute();
  await db.insertInto('offices').values(offices).execute();

  const pg = store.dialect === 'postgres';
  // n(i): 0..364 (days); s(j): 0..5 (services); h(k): 7..16 (hours).
  const series = (name: string, from: number, to: number) =>
    sql.raw(`${name}(i) AS (SELECT ${from} UNION ALL SELECT i + 1 FROM ${name} WHERE i < ${to})`);
  const day = pg
    ? sql.raw(`to_char(date '2025-01-01' + n.i, 'YYYY-MM-DD')`)
    : sql.raw(`date('2025-01-01', '+' || n.i || ' days')`);
  const oi = sql.raw('CAST(substr(o.id, 2) AS integer)');
  // Issue rows (no counter) and served rows (counter and clerk) per office, day and service.
  await sql`WITH RECURSIVE ${series('n', 0, 364)}, ${series('s', 0, 5)}
    INSERT INTO rollups (grain, period, office_id, service, counter, clerk_id, issued, called, served, no_show, wait_count, wait_sum_ms, w2, w5, w11, service_count, service_sum_ms, ratings, rating_satisfied, rating_norm_sum, r3, r4)
    SELECT 'd', ${day}, o.id, 'svc' || s.i, 0, '', 5 + ((${oi} * 31 + n.i * 17 + s.i * 7) % 20), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
    FROM offices o, n, s`.execute(store.db);
  await sql`WITH RECURSIVE ${series('n', 0, 364)}, ${series('s', 0, 5)}
    INSERT INTO rollups (grain, period, office_id, service, counter, clerk_id, issued, called, served, no_show, wait_count, wait_sum_ms, w2, w5, w11, service_count, service_sum_ms, ratings, rating_satisfied, rating_norm_sum, r3, r4, no_show_marks, received_at_counter, level_4, level_5)
    SELECT 'd', ${day}, o.id, 'svc' || s.i, 1 + s.i % 4, 'cc0' || (1 + s.i % 4), 0, 10, 9, 1, 10, 4200000, 5, 3, 2, 9, 3600000, 6, 5, 45000, 2, 4, 1, 10, 2, 4
    FROM offices o, n, s`.execute(store.db);
  await sql`WITH RECURSIVE ${series('n', 0, 364)}, ${series('h', 7, 16)}
    INSERT INTO rollup_hours (grain, period, office_id, hour, issued, wait_count, wait_sum_ms, w2, w5, w11)
    SELECT 'd', ${day}, o.id, h.i, 8, 8, 3000000, 4, 3, 1 FROM offices o, n, h`.execute(store.db);
  await sql`WITH RECURSIVE ${series('n', 0, 364)}, ${series('s', 0, 5)}
    INSERT INTO rollup_dossiers (grain, period, office_id, service, received, returned, on_time, late)
    SELECT 'd', ${day}, o.id, 'svc' || s.i, 6, 5, CASE WHEN (${oi} + n.i) % 7 = 0 THEN 4 ELSE 5 END,
      CASE WHEN (${oi} + n.i) % 7 = 0 THEN 1 ELSE 0 END FROM offices o, n, s`.execute(store.db);
  // Month grain: what ingest maintains beside the day grain.
  const sums = (cols: string[]) => sql.join(cols.map((c) => sql`SUM(${sql.ref(c)})`));
  const refs = (cols: string[]) => sql.join(cols.map((c) => sql.ref(c)));
  await sql`INSERT INTO rollups (grain, period, office_id, service, counter, clerk_id, ${refs(ROLLUP_METRICS)})
    SELECT 'm', substr(period, 1, 7), office_id, service, counter, clerk_id, ${sums(ROLLUP_METRICS)} FROM rollups WHERE grain = 'd'
    GROUP BY substr(period, 1, 7), office_id, service, counter, clerk_id`.execute(store.db);
  const hourCols = ['issued', 'wait_count', 'wait_sum_ms', 'w2', 'w5', 'w11'];
  await sql`INSERT INTO rollup_hours (grain, period, office_id, hour, ${refs(hourCols)})
    SELECT 'm', substr(period, 1, 7), office_id, hour, ${sums(hourCols)} FROM rollup_hours WHERE grain = 'd' GROUP BY substr(period, 1, 7), office_id, hour`.execute(
    store.db,
  );
  const dCols = ['received', 'returned', 'on_time', 'late'];
  await sql`INSERT INTO rollup_dossiers (grain, period, office_id, service, ${refs(dCols)})
    SELECT 'm', substr(period, 1, 7), office_id, service, ${sums(dCols)} FROM rollup_dossiers WHERE grain = 'd' GROUP BY substr(period, 1, 7), office_id, service`.execute(
    store.db,
  );
  await sql`ANALYZE`.execute(store.db);
}

async function count(store: CloudDatabase, table: string): Promise<number> {
  const r = await sql<{ n: number }>`SELECT COUNT(*) AS n FROM ${sql.table(table)}`.execute(store.db);
  return Number(r.rows[0]?.n);
}

/** The report's main query on the day grain only: the scan that month rollups avoid. */
async function dayGrainOnly(store: CloudDatabase, path: string, from: string, to: string): Promise<void> {
  const sums = sql.join(ROLLUP_METRICS.map((c) => sql`SUM(r.${sql.ref(c)})`));
  await sql`SELECT r.office_id, r.service, r.counter, r.clerk_id, ${sums} FROM rollups r
    WHERE r.grain = 'd' AND r.period BETWEEN ${from} AND ${to}
      AND r.office_id IN (SELECT o.id FROM offices o JOIN units u ON u.id = o.unit_id WHERE u.path LIKE ${`${path}%`})
    GROUP BY r.office_id, r.service, r.counter, r.clerk_id`.execute(store.db);
}

export async function benchReports(db: BenchDatabase, o: { repeats: number }): Promise<ReportBenchResult> {
  // A database of its own (a file beside the ingest one, or a second schema).
  const url = db.name === 'sqlite' ? db.url.replace(/\.db$/, '-reports.db') : db.url;
  const store = await openDatabase({ url, ...(db.schema ? { schema: `${db.schema}_r` } : {}) });
  try {
    const t0 = now();
    await seed(store);
    const loadSeconds = (now() - t0) / 1000;
    const cases = [
      {
        label: 'province, whole year',
        unit: 'p',
        path: '/p/',
        offices: 300,
        from: '2025-01-01',
        to: '2025-12-31',
      },
      {
        label: 'province, Feb 10 – Nov 20 (months + edge days)',
        unit: 'p',
        path: '/p/',
        offices: 300,
        from: '2025-02-10',
        to: '2025-11-20',
      },
      {
        label: 'province, one month',
        unit: 'p',
        path: '/p/',
        offices: 300,
        from: '2025-06-01',
        to: '2025-06-30',
      },
      {
        label: 'province, one day',
        unit: 'p',
        path: '/p/',
        offices: 300,
        from: '2025-06-11',
        to: '2025-06-11',
      },
      {
        label: 'district, whole year',
        unit: 'd07',
        path: '/p/d07/',
        offices: 10,
        from: '2025-01-01',
        to: '2025-12-31',
      },
      {
        label: 'commune, whole year',
        unit: 'c071',
        path: '/p/d07/c071/',
        offices: 1,
        from: '2025-01-01',
        to: '2025-12-31',
      },
    ];
    const latencies: ReportLatency[] = [];
    for (const c of cases) {
      const ours: number[] = [];
      const base: number[] = [];
      for (let i = 0; i < o.repeats; i++) {
        let t = now();
        const r = await buildReport(
          store.db,
          { unitPath: c.path, from: c.from, to: c.to, waitTargetMin: 15 },
          c.unit,
        );
        ours.push(now() - t);
        if (r.byOffice.length !== c.offices)
          throw new Error(`report has ${r.byOffice.length} offices, expected ${c.offices}`);
        t = now();
        await dayGrainOnly(store, c.path, c.from, c.to);
        base.push(now() - t);
      }
      const days = (Date.parse(c.to) - Date.parse(c.from)) / 86_400_000 + 1;
      latencies.push({
        database: db.name,
        label: c.label,
        offices: c.offices,
        days,
        oursMs: summarize(ours).p50,
        dayGrainMs: summarize(base).p50,
      });
    }
    return {
      database: db.name,
      rows: {
        rollups: await count(store, 'rollups'),
        hours: await count(store, 'rollup_hours'),
        dossiers: await count(store, 'rollup_dossiers'),
      },
      loadSeconds,
      latencies,
    };
  } finally {
    await store.close();
  }
}
