// Reports for a unit subtree and a period, from the rollups only (never the raw events). Whole months come
// from the month grain and the days at either end from the day grain, so a year is ~12 rows per key, not 365.
// Percentiles come from summed fixed-bucket histograms: a wait percentile is the upper bound of the bucket
// that holds it (`…AtMostMin`: the true value lies within the bucket width below it — 1 minute up to 10 min,
// then 2–5, then 15–60). What every figure counts: cloud/README.md, "Report definitions".
import { sql, type RawBuilder } from 'kysely';
import { dialectOf, type Db } from '../db/database.js';
import { REPORT_CROSS_UNIT_LINKS_MAX } from '../limits.js';
import { SATISFIED_FROM_LEVEL } from '../../protocol/index.js';
import { LEVEL_COLUMNS, ROLLUP_METRICS, WAIT_BOUNDS_MIN, WAIT_COLUMNS } from '../db/rollup-columns.js';

/**
 * The rollup metrics a report reads: every one but those of the old definitions (`ratings`,
 * `rating_satisfied`, `rating_norm_sum`, `r1..r10`: still written, no longer reported; README "Report
 * definitions"). Fewer sums, a faster report.
 */
const REPORT_METRICS = ROLLUP_METRICS.filter(
  (m) => !['ratings', 'rating_satisfied', 'rating_norm_sum'].includes(m) && !/^r\d+$/.test(m),
);

export interface ReportQuery {
  /** The subtree: every office whose unit path starts with this. */
  unitPath: string;
  from: string;
  to: string;
  waitTargetMin: number;
}

/**
 * The figures of one group. The definitions a province signs are in cloud/README.md ("Report definitions");
 * each field's comment is the short form.
 */
export interface Figures {
  /** Tickets issued for the service (phiếu cấp); null by counter and clerk, where no ticket is issued. */
  issued: number | null;
  /**
   * Tickets received (phiếu tiếp nhận): by service, issued for it plus transferred to it from another service;
   * by counter and clerk, the tickets called there (a no-show called back is not received again); in totals
   * and by office, the tickets issued (a transfer stays inside the office).
   */
  received: number;
  /** Calls, call-backs of no-shows included. */
  called: number;
  /** Tickets finished (đã phục vụ). */
  served: number;
  /** Citizens whose ticket ended as a no-show (vắng mặt): a no-show who came back and was served is not one. */
  noShow: number;
  /** Times a ticket was marked no-show (lượt gọi vắng), a citizen marked twice counted twice. */
  noShowMarks: number;
  wait: {
    count: number;
    meanMin: number | null;
    /**
     * The median and 90th percentile wait are at most these (minutes): the upper bound of the histogram bucket
     * holding them (buckets: waitBucketsMin); 1440 = above 240.
     */
    p50AtMostMin: number | null;
    p90AtMostMin: number | null;
    withinTargetPct: number | null;
  };
  /**
   * Mean service time (minutes): from "serve" pressed to finish, or from the call when serve was not pressed
   * (then it includes the citizen's walk to the counter).
   */
  serviceMeanMin: number | null;
  /** The share (%) of those service times that ran from the call because serve was not pressed. */
  serviceFromCallPct: number | null;
  satisfaction: {
    ratings: number;
    /** Ratings per level of the five-level scale: index 0 Rất không hài lòng … 4 Rất hài lòng. */
    levels: number[];
    /** Chỉ số hài lòng (satisfaction index): the share (%) of ratings at Hài lòng or Rất hài lòng. */
    indexPct: number | null;
    /** Mean level on 0–100 (Rất không hài lòng 0, Không hài lòng 25, … Rất hài lòng 100). */
    meanScore: number | null;
  };
  dossiers: { received: number; returned: number; onTime: number; late: number; onTimeRate: number | null };
}

export type OfficeRow = Figures & { office: string; name: string; unit: string; unitName: string };
export type UnitRow = Figures & { unit: string; name: string; kind: string; offices: number };
export type ServiceRow = Figures & { service: string; name: string };
export type CounterRow = Figures & { office: string; officeName: string; counter: number };
export type ClerkRow = Figures & { office: string; officeName: string; clerk: string; name: string };

/** The breakdowns a report pages through (GET /api/v1/reports/rows?by=…). */
export const BREAKDOWNS = ['unit', 'office', 'service', 'counter', 'clerk'] as const;
export type Breakdown = (typeof BREAKDOWNS)[number];
export interface BreakdownRow {
  unit: UnitRow;
  office: OfficeRow;
  service: ServiceRow;
  counter: CounterRow;
  clerk: ClerkRow;
}

/** What rows can be ordered by: the name, or a figure (nulls last either way; ties by name). */
export const SORT_KEYS = [
  'name',
  'received',
  'served',
  'noShow',
  'waitMean',
  'waitP90',
  'withinTarget',
  'serviceMean',
  'ratings',
  'indexPct',
  'meanScore',
  'onTimeRate',
] as const;
export type SortKey = (typeof SORT_KEYS)[number];

export interface Order {
  sort: SortKey;
  order: 'asc' | 'desc';
}

/** One page of one breakdown. */
export interface ReportPage<B extends Breakdown = Breakdown> extends Order {
  unit: string;
  from: string;
  to: string;
  by: B;
  total: number;
  offset: number;
  limit: number;
  rows: BreakdownRow[B][];
}

export interface Report {
  unit: string;
  /** The unit's name (tên đơn vị). */
  unitName: string;
  from: string;
  to: string;
  waitTargetMin: number;
  /** False when the target is not a bucket bound: the share is then of waits up to the bound below it. */
  waitTargetExact: boolean;
  waitBucketsMin: number[];
  totals: Figures;
  /**
   * The unit's direct child units (a province's communes), each with the figures of its whole subtree, in the
   * order asked for (`sort`, `order`): the ranking a province head reads first. Drill-down is the same report
   * for one of them.
   */
  byUnit: UnitRow[];
  /** `name`: the service's name in the offices' configs (the fleet's); the id where no config names it. */
  byService: ServiceRow[];
  /**
   * The subtree's offices: the first page only (`limit`, in the order asked for); `offices.total` says how many
   * there are, and GET /api/v1/reports/rows?by=office pages through them.
   */
  byOffice: OfficeRow[];
  offices: { total: number; limit: number };
  /**
   * Lobby links across units in the period: a link from an office of this subtree to a dossier of another
   * unit, or from another unit's office to a dossier of this subtree. Such a link never moves the dossier.
   */
  crossUnitLinks: {
    code: string;
    office: string;
    ticketId: string;
    linkedAt: string;
    /** The same instant in the linking office's time zone, `YYYY-MM-DD HH:MM`. */
    linkedAtLocal: string;
    dossierOffice: string | null;
  }[];
  /** True when there were more than REPORT_CROSS_UNIT_LINKS_MAX (the list holds the oldest). */
  crossUnitLinksTruncated: boolean;
  byHour: {
    hour: number;
    issued: number;
    waitCount: number;
    waitMeanMin: number | null;
    waitP50AtMostMin: number | null;
    waitP90AtMostMin: number | null;
  }[];
}

type Sums = Record<string, number>;

/** One range of a rollup table's primary key (grain, period), added or taken away. */
export interface PeriodRange {
  grain: 'm' | 'w' | 'd';
  first: string;
  last: string;
  sign: 1 | -1;
}

const DAY_MS = 86_400_000;
const dayOf = (t: number) => new Date(t).toISOString().slice(0, 10);
const pad2 = (n: number) => String(n).padStart(2, '0');

/** The period after `p` in its grain: the next day, week (w4 → the next month's w1) or month. */
function nextPeriod(grain: PeriodRange['grain'], p: string): string {
  if (grain === 'd') return dayOf(Date.parse(`${p}T00:00:00Z`) + DAY_MS);
  const month = (m: string) => dayOf(Date.parse(`${m}-01T00:00:00Z`) + 32 * DAY_MS).slice(0, 7);
  if (grain === 'm') return month(p);
  const w = Number(p.slice(9));
  return w < 4 ? `${p.slice(0, 7)}-w${w + 1}` : `${month(p.slice(0, 7))}-w1`;
}

/** Days x..y (1-based) of month `ym` as its whole weeks (w1 1–7 … w4 22–28) and the days around them. */
function cover(ym: string, x: number, y: number, sign: 1 | -1): PeriodRange[] {
  if (x > y) return [];
  const day = (n: number) => `${ym}-${pad2(n)}`;
  const w1 = Math.ceil((x + 6) / 7);
  const w2 = Math.min(4, Math.floor(y / 7));
  if (w1 > w2) return [{ grain: 'd', first: day(x), last: day(y), sign }];
  return [
    ...(x < 7 * w1 - 6 ? [{ grain: 'd' as const, first: day(x), last: day(7 * w1 - 7), sign }] : []),
    { grain: 'w', first: `${ym}-w${w1}`, last: `${ym}-w${w2}`, sign },
    ...(7 * w2 < y ? [{ grain: 'd' as const, first: day(7 * w2 + 1), last: day(y), sign }] : []),
  ];
}

/** Rows a key reads for ranges of weeks and days within one month (what `cover` gives). */
function rowsRead(ranges: PeriodRange[]): number {
  let n = 0;
  for (const r of ranges)
    n +=
      r.grain === 'w'
        ? Number(r.last.slice(9)) - Number(r.first.slice(9)) + 1
        : (Date.parse(r.last) - Date.parse(r.first)) / DAY_MS + 1;
  return n;
}

/**
 * The ranges whose sums are [from, to], reading the fewest rows. Per month: its days in the period as whole
 * weeks and days, or the month's row minus the weeks and days outside the period (a month's row is the sum of
 * its weeks and days: ingest writes every grain in one transaction). So Feb 10 – Nov 20 is Feb–Nov by month,
 * minus Feb w1, Feb 8–9, Nov 21, Nov w4 and Nov 29–30: 17 rows a key instead of 47 (months and days).
 */
export function periodRanges(from: string, to: string): PeriodRange[] {
  const out: PeriodRange[] = [];
  const push = (r: PeriodRange) => {
    // A range right after the last of its grain and sign extends it.
    const prev = out.findLast((x) => x.grain === r.grain && x.sign === r.sign);
    if (prev && nextPeriod(r.grain, prev.last) === r.first) prev.last = r.last;
    else out.push({ ...r });
  };
  const t1 = Date.parse(`${to}T00:00:00Z`);
  for (let m = Date.parse(`${from.slice(0, 7)}-01T00:00:00Z`); m <= t1; ) {
    const d = new Date(m);
    const ym = dayOf(m).slice(0, 7);
    const n = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
    const a = ym === from.slice(0, 7) ? Number(from.slice(8, 10)) : 1;
    const b = ym === to.slice(0, 7) ? Number(to.slice(8, 10)) : n;
    const add = cover(ym, a, b, 1);
    const minus = [...cover(ym, 1, a - 1, -1), ...cover(ym, b + 1, n, -1)];
    if (1 + rowsRead(minus) < rowsRead(add)) {
      push({ grain: 'm', first: ym, last: ym, sign: 1 });
      for (const r of minus) push(r);
    } else for (const r of add) push(r);
    m = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
  }
  return out;
}

/**
 * A rollup table's rows in some ranges, as a subquery: one branch per range, joined by UNION ALL. Written as
 * one WHERE with the ranges OR-ed, PostgreSQL scanned the whole table for a period of months and edge days
 * (0.5 s for a province); each branch is an index range scan.
 */
export function periodRows(table: string, ranges: PeriodRange[]): RawBuilder<unknown> {
  const branches = ranges.map(
    (r) =>
      sql`SELECT * FROM ${sql.table(table)} WHERE grain = ${r.grain} AND period BETWEEN ${r.first} AND ${r.last}`,
  );
  return sql`(${sql.join(branches, sql` UNION ALL `)})`;
}

const sumsOf = (cols: readonly string[]) => sql.join(cols.map((c) => sql`SUM(r.${sql.ref(c)}) AS ${sql.ref(c)}`));

/** Drops the groups whose every sum is zero: a group seen only in days taken away sums to nothing. */
const nonZero = (rows: Record<string, unknown>[], cols: readonly string[]) =>
  rows.filter((r) => cols.some((c) => Number(r[c] ?? 0) !== 0));

/**
 * A grouped query over the period: run over the ranges added and, apart and at once, over those taken away
 * (no multiplication by a sign in 46 sums of every row); rows merged by their `keys`, added − taken away, the
 * groups that sum to nothing left out.
 */
async function periodQuery(
  s: Scope,
  keys: readonly string[],
  cols: readonly string[],
  run: (rows: (table: string) => RawBuilder<unknown>) => Promise<Record<string, unknown>[]>,
): Promise<Record<string, unknown>[]> {
  const plus = s.ranges.filter((r) => r.sign > 0);
  const minus = s.ranges.filter((r) => r.sign < 0);
  const [added, taken] = await Promise.all([
    plus.length ? run((t) => periodRows(t, plus)) : Promise.resolve([]),
    minus.length ? run((t) => periodRows(t, minus)) : Promise.resolve([]),
  ]);
  if (taken.length === 0) return nonZero(added, cols);
  // A group's key parts as text (the drivers return a number or a string), as a JSON array: no two groups share one.
  const keyOf = (row: Record<string, unknown>) => JSON.stringify(keys.map((k) => String(row[k] ?? '')));
  const merged = new Map<string, Record<string, unknown>>();
  for (const row of added) merged.set(keyOf(row), { ...row });
  for (const row of taken) {
    const k = keyOf(row);
    let x = merged.get(k);
    if (!x) merged.set(k, (x = { ...row, ...Object.fromEntries(cols.map((c) => [c, 0])) }));
    for (const c of cols) x[c] = Number(x[c] ?? 0) - Number(row[c] ?? 0);
  }
  return nonZero([...merged.values()], cols);
}

const num = (row: Record<string, unknown>, cols: string[]): Sums =>
  Object.fromEntries(cols.map((c) => [c, Number(row[c] ?? 0)]));

const bucketUpper = (i: number): number => WAIT_BOUNDS_MIN[i] ?? 1440;

/** Nearest-rank percentile from bucket counts: the upper bound of the bucket that holds it. */
export function histogramPercentile(counts: number[], p: number): number | null {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil((p / 100) * total));
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    seen += counts[i] as number;
    if (seen >= rank) return bucketUpper(i);
  }
  return bucketUpper(counts.length - 1);
}

/** Share (%) of waits within the target: exact when the target is a bucket bound. */
export function withinTarget(counts: number[], targetMin: number): number | null {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  let within = 0;
  for (let i = 0; i < WAIT_BOUNDS_MIN.length; i++)
    if ((WAIT_BOUNDS_MIN[i] as number) <= targetMin) within += counts[i] as number;
  return (within * 100) / total;
}

const ratio = (a: number, b: number, scale = 1): number | null => (b > 0 ? (a * scale) / b : null);

/** What a group is, for what "received" means in it: the office (or all), a service, a counter or clerk. */
type GroupKind = 'office' | 'service' | 'counter';

function figures(s: Sums, d: Sums | undefined, targetMin: number, kind: GroupKind): Figures {
  const waits = WAIT_COLUMNS.map((c) => s[c] ?? 0);
  const levels = LEVEL_COLUMNS.map((c) => s[c] ?? 0);
  const rated = levels.reduce((a, b) => a + b, 0);
  const satisfied = levels.slice(SATISFIED_FROM_LEVEL - 1).reduce((a, b) => a + b, 0);
  const levelSum = levels.reduce((a, n, i) => a + n * i * 25, 0);
  const dd = {
    received: d?.received ?? 0,
    returned: d?.returned ?? 0,
    onTime: d?.on_time ?? 0,
    late: d?.late ?? 0,
  };
  const issued = s.issued ?? 0;
  return {
    issued: kind === 'counter' ? null : issued,
    received:
      kind === 'counter'
        ? (s.received_at_counter ?? 0)
        : kind === 'service'
          ? issued + (s.transferred_in ?? 0)
          : issued,
    called: s.called ?? 0,
    served: s.served ?? 0,
    noShow: s.no_show ?? 0,
    noShowMarks: s.no_show_marks ?? 0,
    wait: {
      count: s.wait_count ?? 0,
      meanMin: ratio(s.wait_sum_ms ?? 0, s.wait_count ?? 0, 1 / 60_000),
      p50AtMostMin: histogramPercentile(waits, 50),
      p90AtMostMin: histogramPercentile(waits, 90),
      withinTargetPct: withinTarget(waits, targetMin),
    },
    serviceMeanMin: ratio(s.service_sum_ms ?? 0, s.service_count ?? 0, 1 / 60_000),
    serviceFromCallPct: ratio(s.service_from_call ?? 0, s.service_count ?? 0, 100),
    satisfaction: {
      ratings: rated,
      levels,
      indexPct: ratio(satisfied, rated, 100),
      meanScore: ratio(levelSum, rated),
    },
    dossiers: { ...dd, onTimeRate: ratio(dd.onTime, dd.returned, 100) },
  };
}

/**
 * Service names by office config: parsed once per config (keyed by its hash), so a country's 4,000 configs are
 * not parsed again for every report. Bounded by the number of offices.
 */
const configNames = new Map<string, { hash: string; names: [string, string][] }>();

function namesOfConfig(effective: string): [string, string][] {
  let cfg: { services?: { id?: unknown; name?: unknown }[] };
  try {
    cfg = JSON.parse(effective) as typeof cfg;
  } catch {
    return [];
  }
  const out: [string, string][] = [];
  for (const sv of cfg.services ?? [])
    if (typeof sv.id === 'string' && typeof sv.name === 'string') out.push([sv.id, sv.name]);
  return out;
}

/** The service names the offices' configs give (fleet_offices.effective); differing names joined by " / ". */
async function serviceNames(db: Db, scope: RawBuilder<unknown>): Promise<Map<string, string>> {
  const names = new Map<string, Set<string>>();
  const rows = await sql<{ office_id: string; hash: string }>`
    SELECT f.office_id, f.hash FROM fleet_offices f WHERE ${scope}`.execute(db);
  const stale = rows.rows.filter((r) => configNames.get(r.office_id)?.hash !== r.hash).map((r) => r.office_id);
  for (let i = 0; i < stale.length; i += 500)
    for (const r of await db
      .selectFrom('fleet_offices')
      .select(['office_id', 'hash', 'effective'])
      .where('office_id', 'in', stale.slice(i, i + 500))
      .execute())
      configNames.set(r.office_id, { hash: r.hash, names: namesOfConfig(r.effective) });
  for (const r of rows.rows)
    for (const [id, name] of configNames.get(r.office_id)?.names ?? []) {
      let set = names.get(id);
      if (!set) names.set(id, (set = new Set()));
      set.add(name);
    }
  return new Map([...names].map(([id, set]) => [id, [...set].sort().join(' / ')]));
}

/** The offices' default time zone (DOMAIN.md). */
const OFFICE_TIMEZONE = 'Asia/Ho_Chi_Minh';
const minuteFormats = new Map<string, Intl.DateTimeFormat>();
/** `YYYY-MM-DD HH:MM` of an instant in a time zone. */
export function localMinute(at: number, timezone: string): string {
  let f = minuteFormats.get(timezone);
  if (!f) {
    f = new Intl.DateTimeFormat('sv-SE', {
      timeZone: timezone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    minuteFormats.set(timezone, f);
  }
  return f.format(new Date(at));
}

/** The subtree's offices, with their unit (what office rows name and what child unit each falls under). */
interface ScopeOffice {
  id: string;
  name: string;
  timezone: string;
  unit: string;
  unitName: string;
  path: string;
}

/** What every breakdown reads: the offices in scope and the period condition. */
interface Scope {
  q: ReportQuery;
  offices: ScopeOffice[];
  /** The ranges the period is read as (`periodRanges`). */
  ranges: PeriodRange[];
  /** `r.office_id IN (the subtree's offices)`, for a table aliased r. */
  inScope: RawBuilder<unknown>;
  /** The subquery of the subtree's office ids. */
  sub: RawBuilder<unknown>;
}

async function scopeOf(db: Db, q: ReportQuery): Promise<Scope> {
  const offices = await db
    .selectFrom('offices')
    .innerJoin('units', 'units.id', 'offices.unit_id')
    .select([
      'offices.id',
      'offices.name',
      'offices.timezone',
      'units.id as unit',
      'units.name as unitName',
      'units.path',
    ])
    .where('units.path', 'like', `${q.unitPath}%`)
    .execute();
  const ranges = periodRanges(q.from, q.to);
  const sub = sql`SELECT o.id FROM offices o JOIN units u ON u.id = o.unit_id WHERE u.path LIKE ${`${q.unitPath}%`}`;
  return {
    q,
    offices,
    sub,
    inScope: sql`r.office_id IN (${sub})`,
    ranges,
  };
}

const DOSSIER_METRICS = ['received', 'returned', 'on_time', 'late'];
const HOUR_SUMS = ['issued', 'wait_count', 'wait_sum_ms', ...WAIT_COLUMNS];

/** Rollup sums of the rows `where` keeps, grouped by the given key columns (the database adds up the months and days). */
async function grouped(db: Db, s: Scope, keys: string[], where: RawBuilder<unknown>) {
  const cols = sql.join(keys.map((k) => sql`r.${sql.ref(k)}`));
  return periodQuery(s, keys, REPORT_METRICS, async (rows) => {
    const r = await sql<Record<string, unknown>>`
      SELECT ${cols}, ${sumsOf(REPORT_METRICS)} FROM ${rows('rollups')} r
      WHERE ${s.inScope} AND ${where} GROUP BY ${cols}`.execute(db);
    return r.rows;
  });
}

/**
 * Sums while folding rows: one number per column, in a typed array (a record per row and Object.entries per
 * addition were most of a province report's time).
 */
type Vec = Float64Array;
function vecOf(row: Record<string, unknown>, cols: readonly string[]): Vec {
  const v = new Float64Array(cols.length);
  for (let i = 0; i < cols.length; i++) v[i] = Number(row[cols[i] as string] ?? 0);
  return v;
}
function addVec(into: Vec, from: Vec): void {
  for (let i = 0; i < from.length; i++) into[i] = (into[i] as number) + (from[i] as number);
}
const put = (m: Map<string, Vec>, k: string, v: Vec) => {
  let x = m.get(k);
  if (!x) m.set(k, (x = new Float64Array(v.length)));
  addVec(x, v);
};
/** A folded vector as the named sums `figures` reads (none: all zero). */
function recordOf(v: Vec | undefined, cols: readonly string[]): Sums {
  const s: Sums = {};
  if (v) for (let i = 0; i < cols.length; i++) s[cols[i] as string] = v[i] as number;
  return s;
}
const tickets = (v: Vec | undefined) => recordOf(v, REPORT_METRICS);
const dossierSums = (v: Vec | undefined) => recordOf(v, DOSSIER_METRICS);

/** Sums by office and by service, tickets and dossiers apart: what totals, units, offices and services need. */
interface OfficeServiceSums {
  total: Vec;
  dTotal: Vec;
  byOffice: Map<string, Vec>;
  dOffice: Map<string, Vec>;
  byService: Map<string, Vec>;
  dService: Map<string, Vec>;
}

/**
 * A table's sums by office and, apart, by service: one scan with GROUPING SETS on PostgreSQL (office × service
 * was 24,000 rows of 46 sums for the country, and parsing them was most of its report), two grouped selects
 * on SQLite. `by_service` tells the two kinds of row apart.
 */
async function byOfficeAndService(db: Db, s: Scope, table: string, cols: readonly string[]) {
  const pg = dialectOf(db) === 'postgres';
  return periodQuery(s, ['office_id', 'service', 'by_service'], cols, async (rows) => {
    const from = sql`FROM ${rows(table)} r WHERE ${s.inScope}`;
    const r = pg
      ? await sql<Record<string, unknown>>`
          SELECT r.office_id, r.service, GROUPING(r.office_id) AS by_service, ${sumsOf(cols)} ${from}
          GROUP BY GROUPING SETS ((r.office_id), (r.service))`.execute(db)
      : await sql<Record<string, unknown>>`
          SELECT r.office_id, NULL AS service, 0 AS by_service, ${sumsOf(cols)} ${from} GROUP BY r.office_id
          UNION ALL
          SELECT NULL, r.service, 1, ${sumsOf(cols)} ${from} GROUP BY r.service`.execute(db);
    return r.rows;
  });
}

async function officeServiceSums(db: Db, s: Scope): Promise<OfficeServiceSums> {
  const [main, dossiers] = await Promise.all([
    byOfficeAndService(db, s, 'rollups', REPORT_METRICS),
    byOfficeAndService(db, s, 'rollup_dossiers', DOSSIER_METRICS),
  ]);
  const out: OfficeServiceSums = {
    total: new Float64Array(REPORT_METRICS.length),
    dTotal: new Float64Array(DOSSIER_METRICS.length),
    byOffice: new Map(),
    dOffice: new Map(),
    byService: new Map(),
    dService: new Map(),
  };
  const fold = (rows: Record<string, unknown>[], cols: readonly string[], total: Vec, office: Map<string, Vec>, service: Map<string, Vec>) => {
    for (const row of rows) {
      const v = vecOf(row, cols);
      if (Number(row.by_service) === 1) put(service, String(row.service), v);
      else {
        addVec(total, v);
        put(office, String(row.office_id), v);
      }
    }
  };
  fold(main, REPORT_METRICS, out.total, out.byOffice, out.byService);
  fold(dossiers, DOSSIER_METRICS, out.dTotal, out.dOffice, out.dService);
  return out;
}

const collator = new Intl.Collator('vi', { numeric: true });

/** A figure to order rows by; null sorts last. */
function sortValue(f: Figures, key: SortKey): number | null {
  switch (key) {
    case 'name':
      return null;
    case 'received':
      return f.received;
    case 'served':
      return f.served;
    case 'noShow':
      return f.noShow;
    case 'waitMean':
      return f.wait.meanMin;
    case 'waitP90':
      return f.wait.p90AtMostMin;
    case 'withinTarget':
      return f.wait.withinTargetPct;
    case 'serviceMean':
      return f.serviceMeanMin;
    case 'ratings':
      return f.satisfaction.ratings;
    case 'indexPct':
      return f.satisfaction.indexPct;
    case 'meanScore':
      return f.satisfaction.meanScore;
    case 'onTimeRate':
      return f.dossiers.onTimeRate;
  }
}

/** Orders rows by a figure (nulls last), then by their label (Vietnamese collation). */
function ordered<T extends Figures>(rows: T[], o: Order, label: (r: T) => string): T[] {
  const dir = o.order === 'desc' ? -1 : 1;
  return rows
    .map((r) => ({ r, v: sortValue(r, o.sort), l: label(r) }))
    .sort((a, b) => {
      if (a.v !== b.v) {
        if (a.v === null) return 1;
        if (b.v === null) return -1;
        return (a.v - b.v) * dir;
      }
      return collator.compare(a.l, b.l) * (o.sort === 'name' ? dir : 1);
    })
    .map((x) => x.r);
}

/** The child units of the report's unit, each with its subtree's figures. */
async function unitRows(db: Db, s: Scope, unitId: string, sums: OfficeServiceSums): Promise<UnitRow[]> {
  const children = await db
    .selectFrom('units')
    .select(['id', 'name', 'kind', 'path'])
    .where('parent_id', '=', unitId)
    .execute();
  const byPath = new Map(children.map((c) => [c.path, c]));
  const ticketSums = new Map<string, Vec>();
  const dossiers = new Map<string, Vec>();
  const offices = new Map<string, number>();
  const depth = s.q.unitPath.length;
  for (const o of s.offices) {
    // The child's path is the report's own plus one more segment.
    const end = o.path.indexOf('/', depth);
    const child = end < 0 ? undefined : byPath.get(o.path.slice(0, end + 1));
    if (!child) continue;
    offices.set(child.id, (offices.get(child.id) ?? 0) + 1);
    const t = sums.byOffice.get(o.id);
    const d = sums.dOffice.get(o.id);
    if (t) put(ticketSums, child.id, t);
    if (d) put(dossiers, child.id, d);
  }
  return children.map((c) => ({
    unit: c.id,
    name: c.name,
    kind: c.kind,
    offices: offices.get(c.id) ?? 0,
    ...figures(tickets(ticketSums.get(c.id)), dossierSums(dossiers.get(c.id)), s.q.waitTargetMin, 'office'),
  }));
}

function officeRows(s: Scope, sums: OfficeServiceSums): OfficeRow[] {
  return s.offices.map((o) => ({
    office: o.id,
    name: o.name,
    unit: o.unit,
    unitName: o.unitName,
    ...figures(tickets(sums.byOffice.get(o.id)), dossierSums(sums.dOffice.get(o.id)), s.q.waitTargetMin, 'office'),
  }));
}

async function serviceRows(db: Db, s: Scope, sums: OfficeServiceSums): Promise<ServiceRow[]> {
  const names = await serviceNames(db, sql`f.office_id IN (${s.sub})`);
  const services = new Set([...sums.byService.keys(), ...sums.dService.keys()]);
  return [...services].map((service) => ({
    service,
    name: names.get(service) ?? service,
    ...figures(
      tickets(sums.byService.get(service)),
      dossierSums(sums.dService.get(service)),
      s.q.waitTargetMin,
      'service',
    ),
  }));
}

async function counterRows(db: Db, s: Scope): Promise<CounterRow[]> {
  const name = new Map(s.offices.map((o) => [o.id, o.name]));
  return (await grouped(db, s, ['office_id', 'counter'], sql`r.counter > 0`)).map((row) => ({
    office: String(row.office_id),
    officeName: name.get(String(row.office_id)) ?? String(row.office_id),
    counter: Number(row.counter),
    ...figures(num(row, REPORT_METRICS), undefined, s.q.waitTargetMin, 'counter'),
  }));
}

async function clerkRows(db: Db, s: Scope): Promise<ClerkRow[]> {
  const name = new Map(s.offices.map((o) => [o.id, o.name]));
  const [rows, clerks] = await Promise.all([
    grouped(db, s, ['office_id', 'clerk_id'], sql`r.clerk_id <> ''`),
    sql<{ office_id: string; clerk_id: string; name: string }>`
      SELECT r.office_id, r.clerk_id, r.name FROM clerks r WHERE ${s.inScope}`.execute(db),
  ]);
  const clerkName = new Map(clerks.rows.map((c) => [`${c.office_id}\u0000${c.clerk_id}`, c.name]));
  return rows.map((row) => {
    const office = String(row.office_id);
    const clerk = String(row.clerk_id);
    return {
      office,
      officeName: name.get(office) ?? office,
      clerk,
      name: clerkName.get(`${office}\u0000${clerk}`) ?? clerk,
      ...figures(num(row, REPORT_METRICS), undefined, s.q.waitTargetMin, 'counter'),
    };
  });
}

/** Every row of one breakdown, in the order asked for. */
export async function breakdownRows<B extends Breakdown>(
  db: Db,
  q: ReportQuery,
  unitId: string,
  by: B,
  o: Order,
): Promise<BreakdownRow[B][]> {
  const s = await scopeOf(db, q);
  let rows: Figures[];
  let label: (r: never) => string;
  if (by === 'counter') {
    rows = await counterRows(db, s);
    label = (r: CounterRow) => `${r.officeName}\u0000${String(r.counter).padStart(6, '0')}`;
  } else if (by === 'clerk') {
    rows = await clerkRows(db, s);
    label = (r: ClerkRow) => `${r.officeName}\u0000${r.name}\u0000${r.clerk}`;
  } else {
    const sums = await officeServiceSums(db, s);
    if (by === 'unit') {
      rows = await unitRows(db, s, unitId, sums);
      label = (r: UnitRow) => `${r.name}\u0000${r.unit}`;
    } else if (by === 'office') {
      rows = officeRows(s, sums);
      label = (r: OfficeRow) => `${r.name}\u0000${r.office}`;
    } else {
      rows = await serviceRows(db, s, sums);
      label = (r: ServiceRow) => `${r.name}\u0000${r.service}`;
    }
  }
  return ordered(rows, o, label as (r: Figures) => string) as BreakdownRow[B][];
}

/** One page of one breakdown (GET /api/v1/reports/rows). */
export async function reportPage<B extends Breakdown>(
  db: Db,
  q: ReportQuery,
  unitId: string,
  by: B,
  page: Order & { offset: number; limit: number },
): Promise<ReportPage<B>> {
  const rows = await breakdownRows(db, q, unitId, by, page);
  return {
    unit: unitId,
    from: q.from,
    to: q.to,
    by,
    sort: page.sort,
    order: page.order,
    total: rows.length,
    offset: page.offset,
    limit: page.limit,
    rows: rows.slice(page.offset, page.offset + page.limit),
  };
}

/**
 * The report of a unit and period: totals, the child units ranked, services, hours, the first page of offices
 * and the cross-unit links. Counters and clerks are pages of their own (reportPage): a province has thousands.
 */
export async function buildReport(
  db: Db,
  q: ReportQuery,
  unitId: string,
  o: Order & { officeLimit: number },
): Promise<Report> {
  const s = await scopeOf(db, q);
  const inSubtree = (col: RawBuilder<unknown>) => sql`${col} IN (${s.sub})`;
  const [sums, hours, cross, unitRow] = await Promise.all([
    officeServiceSums(db, s),
    periodQuery(s, ['hour'], HOUR_SUMS, async (rows) => {
      const r = await sql<Record<string, unknown>>`
        SELECT r.hour, ${sumsOf(HOUR_SUMS)}
        FROM ${rows('rollup_hours')} r WHERE ${s.inScope} GROUP BY r.hour`.execute(db);
      return r.rows;
    }),
    sql<{
      code: string;
      office_id: string;
      ticket_id: string;
      linked_at: number;
      dossier_office: string | null;
    }>`
      SELECT l.code, l.office_id, l.ticket_id, l.linked_at, d.office_id AS dossier_office
      FROM dossier_links l JOIN dossiers d ON d.code = l.code
      WHERE l.cross_unit = 1 AND l.day >= ${q.from} AND l.day <= ${q.to}
        AND (${inSubtree(sql`l.office_id`)} OR ${inSubtree(sql`d.office_id`)})
      ORDER BY l.linked_at, l.code, l.office_id, l.ticket_id
      LIMIT ${REPORT_CROSS_UNIT_LINKS_MAX + 1}`.execute(db),
    db.selectFrom('units').select('name').where('id', '=', unitId).executeTakeFirst(),
  ]);
  const [units, services] = await Promise.all([unitRows(db, s, unitId, sums), serviceRows(db, s, sums)]);

  // A cross-unit link's office may lie outside the subtree: its time zone is looked up apart.
  const timezones = new Map(s.offices.map((x) => [x.id, x.timezone]));
  const missing = [...new Set(cross.rows.map((l) => l.office_id))].filter((x) => !timezones.has(x));
  if (missing.length)
    for (const x of await db
      .selectFrom('offices')
      .select(['id', 'timezone'])
      .where('id', 'in', missing)
      .execute())
      timezones.set(x.id, x.timezone);
  const t = q.waitTargetMin;
  const crossRows = cross.rows.slice(0, REPORT_CROSS_UNIT_LINKS_MAX);
  const offices = ordered(officeRows(s, sums), o, (r) => `${r.name}\u0000${r.office}`);

  return {
    unit: unitId,
    unitName: unitRow?.name ?? unitId,
    from: q.from,
    to: q.to,
    waitTargetMin: t,
    waitTargetExact: (WAIT_BOUNDS_MIN as readonly number[]).includes(t),
    waitBucketsMin: [...WAIT_BOUNDS_MIN],
    totals: figures(tickets(sums.total), dossierSums(sums.dTotal), t, 'office'),
    byUnit: ordered(units, o, (r) => `${r.name}\u0000${r.unit}`),
    byService: ordered(services, { sort: 'name', order: 'asc' }, (r) => `${r.name}\u0000${r.service}`),
    byOffice: offices.slice(0, o.officeLimit),
    offices: { total: offices.length, limit: o.officeLimit },
    crossUnitLinks: crossRows.map((l) => ({
      code: l.code,
      office: l.office_id,
      ticketId: l.ticket_id,
      linkedAt: new Date(Number(l.linked_at)).toISOString(),
      linkedAtLocal: localMinute(Number(l.linked_at), timezones.get(l.office_id) ?? OFFICE_TIMEZONE),
      dossierOffice: l.dossier_office,
    })),
    crossUnitLinksTruncated: cross.rows.length > REPORT_CROSS_UNIT_LINKS_MAX,
    byHour: [...hours].sort((a, b) => Number(a.hour) - Number(b.hour)).map((row) => {
      const v = num(row, HOUR_SUMS);
      const waits = WAIT_COLUMNS.map((c) => v[c] ?? 0);
      return {
        hour: Number(row.hour),
        issued: v.issued ?? 0,
        waitCount: v.wait_count ?? 0,
        waitMeanMin: ratio(v.wait_sum_ms ?? 0, v.wait_count ?? 0, 1 / 60_000),
        waitP50AtMostMin: histogramPercentile(waits, 50),
        waitP90AtMostMin: histogramPercentile(waits, 90),
      };
    }),
  };
}

/** The CSV columns of the five levels (1 Rất không hài lòng … 5 Rất hài lòng). */
export const LEVEL_CSV_COLUMNS = [
  'level_1_very_dissatisfied',
  'level_2_dissatisfied',
  'level_3_neutral',
  'level_4_satisfied',
  'level_5_very_satisfied',
];

/** Flat CSV rows of figures (shared by every breakdown). */
function flat(f: Figures, waitTargetMin: number): Record<string, string | number | null> {
  return {
    issued: f.issued,
    received: f.received,
    served: f.served,
    no_show_citizens: f.noShow,
    no_show_marks: f.noShowMarks,
    wait_p50_at_most_min: f.wait.p50AtMostMin,
    wait_p90_at_most_min: f.wait.p90AtMostMin,
    wait_mean_min: round(f.wait.meanMin),
    [`within_${waitTargetMin}_min_pct`]: round(f.wait.withinTargetPct),
    service_mean_min: round(f.serviceMeanMin),
    service_from_call_pct: round(f.serviceFromCallPct),
    ratings: f.satisfaction.ratings,
    ...Object.fromEntries(f.satisfaction.levels.map((n, i) => [LEVEL_CSV_COLUMNS[i] as string, n])),
    satisfaction_index_pct: round(f.satisfaction.indexPct),
    mean_score_0_100: round(f.satisfaction.meanScore),
    dossiers_received: f.dossiers.received,
    dossiers_returned: f.dossiers.returned,
    dossiers_on_time: f.dossiers.onTime,
    on_time_rate_pct: round(f.dossiers.onTimeRate),
  };
}

/** Flat rows for CSV: one per row of a breakdown. */
export function breakdownCsvRows<B extends Breakdown>(
  by: B,
  rows: BreakdownRow[B][],
  waitTargetMin: number,
): Record<string, string | number | null>[] {
  return rows.map((row) => {
    const f = flat(row, waitTargetMin);
    switch (by) {
      case 'unit': {
        const x = row as UnitRow;
        return { unit: x.unit, name: x.name, kind: x.kind, offices: x.offices, ...f };
      }
      case 'office': {
        const x = row as OfficeRow;
        return { office: x.office, name: x.name, unit: x.unit, unit_name: x.unitName, ...f };
      }
      case 'service': {
        const x = row as ServiceRow;
        return { service: x.service, name: x.name, ...f };
      }
      case 'counter': {
        const x = row as CounterRow;
        return { office: x.office, office_name: x.officeName, counter: x.counter, ...f };
      }
      default: {
        const x = row as ClerkRow;
        return { office: x.office, office_name: x.officeName, clerk: x.clerk, name: x.name, ...f };
      }
    }
  });
}

/** Flat CSV rows of the report's hours. */
export function hourCsvRows(r: Report): Record<string, string | number | null>[] {
  return r.byHour.map((x) => ({
    hour: x.hour,
    issued: x.issued,
    waits: x.waitCount,
    wait_mean_min: round(x.waitMeanMin),
    wait_p50_at_most_min: x.waitP50AtMostMin,
    wait_p90_at_most_min: x.waitP90AtMostMin,
  }));
}

const round = (v: number | null): number | null => (v === null ? null : Math.round(v * 100) / 100);
