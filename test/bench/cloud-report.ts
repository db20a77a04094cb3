// Cloud benchmark 3: report latency over HTTP (GET /api/v1/reports, an admin's session, p50 and p95), on
// rollups written straight into the tables by SQL (as ingest would leave them):
// - a province of 300 offices (30 districts × 10 communes), 1,200 counters and 1,200 clerks (each office its
//   own), a year of rollups;
// - the whole country (34 provinces, 3,321 communes, 4,000 offices) for one month, on PostgreSQL.
// Each office has a fleet config naming its services and named clerks, as a real one does. Beside each, in the
// same run: the same grouped sums read from the day grain only (what a report without month rollups scans).
import { sql } from 'kysely';
import { openDatabase, type CloudDatabase } from '../../cloud/db/database.js';
import { ROLLUP_METRICS } from '../../cloud/db/rollup-columns.js';
import { fillWeekGrain } from '../../cloud/db/migrations.js';
import { createAdmin } from '../../cloud/admin/provisioning.js';
import { startCloud } from '../../cloud/service.js';
import pino from 'pino';
import type { BenchDatabase } from './cloud-ingest.js';
import { now, summarize } from './stats.js';

export interface ReportLatency {
  database: string;
  label: string;
  offices: number;
  days: number;
  /** GET /api/v1/reports over HTTP, ms. */
  p50Ms: number;
  p95Ms: number;
  /** The answer's size, bytes. */
  bytes: number;
  /** The baseline: the grouped day-grain scan of the same period, ms (p50). */
  dayGrainMs: number;
  targetMs: number;
}

export interface ReportBenchResult {
  database: string;
  scale: 'province' | 'country';
  rows: { rollups: number; hours: number; dossiers: number };
  loadSeconds: number;
  latencies: ReportLatency[];
}

interface Tree {
  units: {
    id: string;
    parent_id: string | null;
    name: string;
    kind: string;
    path: string;
    created_at: number;
  }[];
  offices: { id: string; unit_id: string; name: string; timezone: string; created_at: number }[];
}

const SERVICE_NAMES = [
  'Hộ tịch',
  'Chứng thực',
  'Đất đai',
  'Lao động – Thương binh và Xã hội',
  'Tư pháp',
  'Xây dựng',
];

/** The province the issue measured: 30 districts × 10 communes, an office each. */
export function provinceTree(t: number): Tree {
  const units: Tree['units'] = [
    { id: 'p', parent_id: null, name: 'Tỉnh', kind: 'province', path: '/p/', created_at: t },
  ];
  const offices: Tree['offices'] = [];
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
        id: `o${String(n).padStart(4, '0')}`,
        unit_id: cid,
        name: `Một cửa ${n}`,
        timezone: 'Asia/Ho_Chi_Minh',
        created_at: t,
      });
    }
  }
  return { units, offices };
}

/** The country since July 2025: 34 provinces, 3,321 communes (two tiers), ~4,000 offices (some communes two). */
export function countryTree(t: number): Tree {
  const units: Tree['units'] = [
    { id: 'vn', parent_id: null, name: 'Việt Nam', kind: 'country', path: '/vn/', created_at: t },
  ];
  const offices: Tree['offices'] = [];
  const COMMUNES = 3321;
  const OFFICES = 4000;
  for (let p = 0; p < 34; p++) {
    const pid = `p${String(p).padStart(2, '0')}`;
    units.push({
      id: pid,
      parent_id: 'vn',
      name: `Tỉnh ${p}`,
      kind: 'province',
      path: `/vn/${pid}/`,
      created_at: t,
    });
  }
  for (let c = 0; c < COMMUNES; c++) {
    const pid = `p${String(c % 34).padStart(2, '0')}`;
    const cid = `c${String(c).padStart(4, '0')}`;
    units.push({
      id: cid,
      parent_id: pid,
      name: `Xã ${c}`,
      kind: 'commune',
      path: `/vn/${pid}/${cid}/`,
      created_at: t,
    });
  }
  for (let o = 0; o < OFFICES; o++) {
    const c = o % COMMUNES;
    offices.push({
      id: `o${String(o).padStart(4, '0')}`,
      unit_id: `c${String(c).padStart(4, '0')}`,
      name: `Một cửa ${o}`,
      timezone: 'Asia/Ho_Chi_Minh',
      created_at: t,
    });
  }
  return { units, offices };
}

async function insertChunked<T extends object>(
  store: CloudDatabase,
  table: string,
  rows: T[],
): Promise<void> {
  for (let i = 0; i < rows.length; i += 500)
    await store.db
      .insertInto(table as 'units')
      .values(rows.slice(i, i + 500) as never)
      .execute();
}

/** An office's fleet config as the cloud keeps it (what names its services), ~3 kB like a real one. */
function officeConfig(officeId: string): string {
  return JSON.stringify({
    office: {
      id: officeId,
      name: `Một cửa ${officeId}`,
      timezone: 'Asia/Ho_Chi_Minh',
      publicUrl: 'https://motcua.example.vn',
    },
    services: SERVICE_NAMES.map((name, i) => ({
      id: `svc${i}`,
      name,
      letter: String.fromCharCode(65 + i),
      dailyQuota: 300,
    })),
    counters: [1, 2, 3, 4].map((n) => ({
      number: n,
      name: `Quầy ${n}`,
      services: SERVICE_NAMES.map((_, i) => `svc${i}`),
    })),
    hours: { open: '07:30', close: '17:00', lunch: ['11:30', '13:00'] },
    ticket: { header: 'BỘ PHẬN MỘT CỬA', footer: 'Cảm ơn quý khách. Vui lòng chờ đến lượt.', qr: true },
    voice: { template: 'Mời công dân có số {number} đến quầy số {counter}', volume: 80 },
  });
}

export async function seedTree(store: CloudDatabase, tree: Tree, from: string, days: number): Promise<void> {
  const t = Date.now();
  await insertChunked(store, 'units', tree.units);
  await insertChunked(store, 'offices', tree.offices);
  await insertChunked(
    store,
    'fleet_offices',
    tree.offices.map((o) => ({
      office_id: o.id,
      overrides: '{}',
      revision: 1,
      effective: officeConfig(o.id),
      hash: `h-${o.id}`,
      updated_at: t,
      updated_by: 'bench',
    })),
  );
  await insertChunked(
    store,
    'clerks',
    tree.offices.flatMap((o) =>
      [1, 2, 3, 4].map((k) => ({
        office_id: o.id,
        clerk_id: `cc0${k}`,
        name: `Nguyễn Văn ${o.id.slice(1)}-${k}`,
      })),
    ),
  );

  const pg = store.dialect === 'postgres';
  // n(i): days; s(j): 0..5 (services); h(k): 7..16 (hours).
  const series = (name: string, first: number, last: number) =>
    sql.raw(`${name}(i) AS (SELECT ${first} UNION ALL SELECT i + 1 FROM ${name} WHERE i < ${last})`);
  const day = pg
    ? sql.raw(`to_char(date '${from}' + n.i, 'YYYY-MM-DD')`)
    : sql.raw(`date('${from}', '+' || n.i || ' days')`);
  const oi = sql.raw('CAST(substr(o.id, 2) AS integer)');
  const lastDay = days - 1;
  // Issue rows (no counter) and served rows (each service at one of the office's 4 counters, by its clerk) per
  // office, day and service.
  await sql`WITH RECURSIVE ${series('n', 0, lastDay)}, ${series('s', 0, 5)}
    INSERT INTO rollups (grain, period, office_id, service, counter, clerk_id, issued, called, served, no_show, wait_count, wait_sum_ms, w2, w5, w11, service_count, service_sum_ms, ratings, rating_satisfied, rating_norm_sum, r3, r4)
    SELECT 'd', ${day}, o.id, 'svc' || s.i, 0, '', 5 + ((${oi} * 31 + n.i * 17 + s.i * 7) % 20), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
    FROM offices o, n, s`.execute(store.db);
  await sql`WITH RECURSIVE ${series('n', 0, lastDay)}, ${series('s', 0, 5)}
    INSERT INTO rollups (grain, period, office_id, service, counter, clerk_id, issued, called, served, no_show, wait_count, wait_sum_ms, w2, w5, w11, service_count, service_sum_ms, ratings, rating_satisfied, rating_norm_sum, r3, r4, no_show_marks, received_at_counter, level_4, level_5)
    SELECT 'd', ${day}, o.id, 'svc' || s.i, 1 + s.i % 4, 'cc0' || (1 + s.i % 4), 0, 10, 9, 1, 10, 4200000, 5, 3, 2, 9, 3600000, 6, 5, 45000, 2, 4, 1, 10, 2 + (${oi} + n.i) % 3, 4
    FROM offices o, n, s`.execute(store.db);
  await sql`WITH RECURSIVE ${series('n', 0, lastDay)}, ${series('h', 7, 16)}
    INSERT INTO rollup_hours (grain, period, office_id, hour, issued, wait_count, wait_sum_ms, w2, w5, w11)
    SELECT 'd', ${day}, o.id, h.i, 8, 8, 3000000, 4, 3, 1 FROM offices o, n, h`.execute(store.db);
  await sql`WITH RECURSIVE ${series('n', 0, lastDay)}, ${series('s', 0, 5)}
    INSERT INTO rollup_dossiers (grain, period, office_id, service, received, returned, on_time, late)
    SELECT 'd', ${day}, o.id, 'svc' || s.i, 6, 5, CASE WHEN (${oi} + n.i) % 7 = 0 THEN 4 ELSE 5 END,
      CASE WHEN (${oi} + n.i) % 7 = 0 THEN 1 ELSE 0 END FROM offices o, n, s`.execute(store.db);
  // Week and month grains: what ingest maintains beside the day grain.
  await fillWeekGrain(store.db);
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

interface Case {
  label: string;
  unit: string;
  path: string;
  offices: number;
  from: string;
  to: string;
  targetMs: number;
}

const PROVINCE_CASES: Case[] = [
  {
    label: 'province, one month',
    unit: 'p',
    path: '/p/',
    offices: 300,
    from: '2025-06-01',
    to: '2025-06-30',
    targetMs: 200,
  },
  {
    label: 'province, whole year',
    unit: 'p',
    path: '/p/',
    offices: 300,
    from: '2025-01-01',
    to: '2025-12-31',
    targetMs: 500,
  },
  {
    label: 'province, Feb 10 – Nov 20 (months + edge days)',
    unit: 'p',
    path: '/p/',
    offices: 300,
    from: '2025-02-10',
    to: '2025-11-20',
    targetMs: 500,
  },
  {
    label: 'province, one day',
    unit: 'p',
    path: '/p/',
    offices: 300,
    from: '2025-06-11',
    to: '2025-06-11',
    targetMs: 200,
  },
  {
    label: 'district, whole year',
    unit: 'd07',
    path: '/p/d07/',
    offices: 10,
    from: '2025-01-01',
    to: '2025-12-31',
    targetMs: 200,
  },
  {
    label: 'commune, whole year',
    unit: 'c071',
    path: '/p/d07/c071/',
    offices: 1,
    from: '2025-01-01',
    to: '2025-12-31',
    targetMs: 200,
  },
];

const COUNTRY_CASES: Case[] = [
  {
    label: 'whole country (34 provinces, 4,000 offices), one month',
    unit: 'vn',
    path: '/vn/',
    offices: 4000,
    from: '2025-06-01',
    to: '2025-06-30',
    targetMs: 1000,
  },
  {
    label: 'one province of the country (~118 offices), one month',
    unit: 'p07',
    path: '/vn/p07/',
    offices: 118,
    from: '2025-06-01',
    to: '2025-06-30',
    targetMs: 200,
  },
];

/**
 * Report latency over HTTP. `scale`: the 300-office province with a year of rollups, or the whole country
 * with one month (PostgreSQL only: its target is PostgreSQL's).
 */
export async function benchReports(
  db: BenchDatabase,
  o: { repeats: number; scale?: 'province' | 'country' },
): Promise<ReportBenchResult> {
  const scale = o.scale ?? 'province';
  // A database of its own (a file beside the ingest one, or a second schema).
  const suffix = scale === 'province' ? '_r' : '_n';
  const url = db.name === 'sqlite' ? db.url.replace(/\.db$/, `-reports${suffix}.db`) : db.url;
  const store = await openDatabase({ url, ...(db.schema ? { schema: `${db.schema}${suffix}` } : {}) });
  const cloud = await startCloud({
    databaseUrl: url,
    store,
    port: 0,
    host: '127.0.0.1',
    log: pino({ level: 'silent' }),
  });
  try {
    const t0 = now();
    const tree = scale === 'province' ? provinceTree(Date.now()) : countryTree(Date.now());
    if (scale === 'province') await seedTree(store, tree, '2025-01-01', 365);
    else await seedTree(store, tree, '2025-06-01', 30);
    const loadSeconds = (now() - t0) / 1000;
    const root = tree.units[0]!.id;
    const admin = await createAdmin(
      store.db,
      { username: `bench-${scale}`, unitId: root, role: 'viewer' },
      Date.now(),
    );
    const login = await fetch(`${cloud.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: `bench-${scale}`, password: admin.password }),
    });
    if (login.status !== 200) throw new Error(`login: ${login.status} ${await login.text()}`);
    const { token } = (await login.json()) as { token: string };
    const cases = scale === 'province' ? PROVINCE_CASES : COUNTRY_CASES;
    const latencies: ReportLatency[] = [];
    for (const c of cases) {
      const ours: number[] = [];
      const base: number[] = [];
      let bytes = 0;
      const qs = new URLSearchParams({ unit: c.unit, from: c.from, to: c.to });
      for (let i = 0; i < o.repeats + 1; i++) {
        let t = now();
        const res = await fetch(`${cloud.url}/api/v1/reports?${qs}`, {
          headers: { authorization: `Bearer ${token}` },
        });
        const body = await res.text();
        const took = now() - t;
        if (res.status !== 200) throw new Error(`report ${c.label}: ${res.status} ${body.slice(0, 300)}`);
        const r = JSON.parse(body) as { totals: { received: number } };
        if (!(r.totals.received > 0)) throw new Error(`report ${c.label}: no tickets in the totals`);
        bytes = body.length;
        t = now();
        await dayGrainOnly(store, c.path, c.from, c.to);
        // The first round warms the caches (prepared plans, the service names): not counted.
        if (i > 0) {
          ours.push(took);
          base.push(now() - t);
        }
      }
      const days = (Date.parse(c.to) - Date.parse(c.from)) / 86_400_000 + 1;
      const s = summarize(ours);
      latencies.push({
        database: db.name,
        label: c.label,
        offices: c.offices,
        days,
        p50Ms: s.p50,
        p95Ms: s.p95,
        bytes,
        dayGrainMs: summarize(base).p50,
        targetMs: c.targetMs,
      });
    }
    return {
      database: db.name,
      scale,
      rows: {
        rollups: await count(store, 'rollups'),
        hours: await count(store, 'rollup_hours'),
        dossiers: await count(store, 'rollup_dossiers'),
      },
      loadSeconds,
      latencies,
    };
  } finally {
    await cloud.close();
    await store.close();
  }
}
