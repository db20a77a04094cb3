// Reports for a unit subtree and a period, from the rollups only (never the raw events). Whole months come
// from the month grain and the days at either end from the day grain, so a year is ~12 rows per key, not 365.
// Percentiles come from summed fixed-bucket histograms: a wait percentile is the upper bound of the bucket
// that holds it (`…AtMostMin`: the true value lies within the bucket width below it — 1 minute up to 10 min,
// then 2–5, then 15–60). What every figure counts: cloud/README.md, "Report definitions".
import { sql, type RawBuilder } from 'kysely';
import type { Db } from '../db/database.js';
import { REPORT_CROSS_UNIT_LINKS_MAX } from '../limits.js';
import { SATISFIED_FROM_LEVEL } from '../../protocol/index.js';
import { LEVEL_COLUMNS, ROLLUP_METRICS, WAIT_BOUNDS_MIN, WAIT_COLUMNS } from '../db/rollup-columns.js';

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
  byOffice: (Figures & { office: string; name: string })[];
  /** `name`: the service's name in the offices' configs (the fleet's); the id where no config names it. */
  byService: (Figures & { service: string; name: string })[];
  byCounter: (Figures & { office: string; officeName: string; counter: number })[];
  byClerk: (Figures & { office: string; officeName: string; clerk: string; name: string })[];
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

/** Grain/period conditions covering [from, to]: whole months by month, the rest by day. */
export function periodCondition(from: string, to: string): RawBuilder<unknown> {
  const parts: RawBuilder<unknown>[] = [];
  const monthStart = (m: string) => `${m}-01`;
  const monthEnd = (m: string) => {
    const [y, mo] = m.split('-').map(Number) as [number, number];
    return `${m}-${String(new Date(Date.UTC(y, mo, 0)).getUTCDate()).padStart(2, '0')}`;
  };
  const nextMonth = (m: string) => {
    const [y, mo] = m.split('-').map(Number) as [number, number];
    return mo === 12 ? `${y + 1}-01` : `${y}-${String(mo + 1).padStart(2, '0')}`;
  };
  let firstWhole: string | null = null;
  let lastWhole: string | null = null;
  for (let m = from.slice(0, 7); m <= to.slice(0, 7); m = nextMonth(m)) {
    if (from <= monthStart(m) && monthEnd(m) <= to) {
      firstWhole ??= m;
      lastWhole = m;
    }
  }
  if (firstWhole && lastWhole) {
    parts.push(sql`(grain = 'm' AND period BETWEEN ${firstWhole} AND ${lastWhole})`);
    if (from < monthStart(firstWhole))
      parts.push(sql`(grain = 'd' AND period >= ${from} AND period < ${monthStart(firstWhole)})`);
    if (monthEnd(lastWhole) < to)
      parts.push(sql`(grain = 'd' AND period > ${monthEnd(lastWhole)} AND period <= ${to})`);
  } else parts.push(sql`(grain = 'd' AND period BETWEEN ${from} AND ${to})`);
  return sql`(${sql.join(parts, sql` OR `)})`;
}

const sumsOf = (cols: string[]) => sql.join(cols.map((c) => sql`SUM(r.${sql.ref(c)}) AS ${sql.ref(c)}`));
const num = (row: Record<string, unknown>, cols: string[]): Sums =>
  Object.fromEntries(cols.map((c) => [c, Number(row[c] ?? 0)]));

function add(into: Sums, from: Sums): void {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
}

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

/** The service names the offices' configs give (fleet_offices.effective); differing names joined by " / ". */
async function serviceNames(db: Db, officeIds: string[]): Promise<Map<string, string>> {
  const names = new Map<string, Set<string>>();
  if (officeIds.length === 0) return new Map();
  const rows = await db
    .selectFrom('fleet_offices')
    .select('effective')
    .where('office_id', 'in', officeIds)
    .execute();
  for (const r of rows) {
    let cfg: { services?: { id?: unknown; name?: unknown }[] };
    try {
      cfg = JSON.parse(r.effective) as typeof cfg;
    } catch {
      continue;
    }
    for (const sv of cfg.services ?? [])
      if (typeof sv.id === 'string' && typeof sv.name === 'string') {
        let set = names.get(sv.id);
        if (!set) names.set(sv.id, (set = new Set()));
        set.add(sv.name);
      }
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

export async function buildReport(db: Db, q: ReportQuery, unitId: string): Promise<Report> {
  const scope = sql`r.office_id IN (SELECT o.id FROM offices o JOIN units u ON u.id = o.unit_id WHERE u.path LIKE ${`${q.unitPath}%`})`;
  const when = periodCondition(q.from, q.to);
  const main = await sql<Record<string, unknown>>`
    SELECT r.office_id, r.service, r.counter, r.clerk_id, ${sumsOf(ROLLUP_METRICS)}
    FROM rollups r WHERE ${when} AND ${scope}
    GROUP BY r.office_id, r.service, r.counter, r.clerk_id`.execute(db);
  const hours = await sql<Record<string, unknown>>`
    SELECT r.hour, SUM(r.issued) AS issued, SUM(r.wait_count) AS wait_count, SUM(r.wait_sum_ms) AS wait_sum_ms, ${sumsOf(WAIT_COLUMNS)}
    FROM rollup_hours r WHERE ${when} AND ${scope} GROUP BY r.hour ORDER BY r.hour`.execute(db);
  const dossiers = await sql<Record<string, unknown>>`
    SELECT r.office_id, r.service, SUM(r.received) AS received, SUM(r.returned) AS returned, SUM(r.on_time) AS on_time, SUM(r.late) AS late
    FROM rollup_dossiers r WHERE ${when} AND ${scope} GROUP BY r.office_id, r.service`.execute(db);

  const inSubtree = (col: RawBuilder<unknown>) =>
    sql`${col} IN (SELECT o.id FROM offices o JOIN units u ON u.id = o.unit_id WHERE u.path LIKE ${`${q.unitPath}%`})`;
  const cross = await sql<{
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
    LIMIT ${REPORT_CROSS_UNIT_LINKS_MAX + 1}`.execute(db);

  const group = () => new Map<string, Sums>();
  const total: Sums = {};
  const byOffice = group();
  const byService = group();
  const byCounter = group();
  const byClerk = group();
  const put = (m: Map<string, Sums>, k: string, s: Sums) => {
    let x = m.get(k);
    if (!x) m.set(k, (x = {}));
    add(x, s);
  };
  for (const row of main.rows) {
    const s = num(row, ROLLUP_METRICS);
    const office = String(row.office_id);
    add(total, s);
    put(byOffice, office, s);
    put(byService, String(row.service), s);
    if (Number(row.counter) > 0) put(byCounter, `${office}\u0000${Number(row.counter)}`, s);
    if (row.clerk_id) put(byClerk, `${office}\u0000${String(row.clerk_id)}`, s);
  }
  const dTotal: Sums = {};
  const dOffice = group();
  const dService = group();
  for (const row of dossiers.rows) {
    const s = num(row, ['received', 'returned', 'on_time', 'late']);
    add(dTotal, s);
    put(dOffice, String(row.office_id), s);
    put(dService, String(row.service), s);
  }

  const offices = await db
    .selectFrom('offices')
    .innerJoin('units', 'units.id', 'offices.unit_id')
    .select(['offices.id', 'offices.name', 'offices.timezone'])
    .where('units.path', 'like', `${q.unitPath}%`)
    .execute();
  const officeName = new Map(offices.map((o) => [o.id, o.name]));
  const unitRow = await db.selectFrom('units').select('name').where('id', '=', unitId).executeTakeFirst();
  const serviceName = await serviceNames(
    db,
    offices.map((o) => o.id),
  );
  // A cross-unit link's office may lie outside the subtree: its time zone is looked up apart.
  const linkOffices = [...new Set(cross.rows.map((l) => l.office_id))];
  const timezones = new Map(offices.map((o) => [o.id, o.timezone]));
  const missing = linkOffices.filter((o) => !timezones.has(o));
  if (missing.length)
    for (const o of await db
      .selectFrom('offices')
      .select(['id', 'timezone'])
      .where('id', 'in', missing)
      .execute())
      timezones.set(o.id, o.timezone);
  const clerkRows = byClerk.size
    ? await db
        .selectFrom('clerks')
        .select(['office_id', 'clerk_id', 'name'])
        .where('office_id', 'in', [
          ...new Set([...byClerk.keys()].map((k) => k.split('\u0000')[0] as string)),
        ])
        .execute()
    : [];
  const clerkName = new Map(clerkRows.map((c) => [`${c.office_id}\u0000${c.clerk_id}`, c.name]));
  const t = q.waitTargetMin;
  const services = new Set([...byService.keys(), ...dService.keys()]);
  const officeIds = new Set([...byOffice.keys(), ...dOffice.keys()]);
  const crossRows = cross.rows.slice(0, REPORT_CROSS_UNIT_LINKS_MAX);

  return {
    unit: unitId,
    unitName: unitRow?.name ?? unitId,
    from: q.from,
    to: q.to,
    waitTargetMin: t,
    waitTargetExact: (WAIT_BOUNDS_MIN as readonly number[]).includes(t),
    waitBucketsMin: [...WAIT_BOUNDS_MIN],
    totals: figures(total, dTotal, t, 'office'),
    byOffice: [...officeIds].sort().map((office) => ({
      office,
      name: officeName.get(office) ?? office,
      ...figures(byOffice.get(office) ?? {}, dOffice.get(office), t, 'office'),
    })),
    byService: [...services]
      .sort()
      .map((service) => ({
        service,
        name: serviceName.get(service) ?? service,
        ...figures(byService.get(service) ?? {}, dService.get(service), t, 'service'),
      })),
    byCounter: [...byCounter.entries()]
      .map(([k, s]) => {
        const [office, counter] = k.split('\u0000') as [string, string];
        return {
          office,
          officeName: officeName.get(office) ?? office,
          counter: Number(counter),
          ...figures(s, undefined, t, 'counter'),
        };
      })
      .sort((a, b) => (a.office < b.office ? -1 : a.office > b.office ? 1 : a.counter - b.counter)),
    byClerk: [...byClerk.entries()]
      .map(([k, s]) => {
        const [office, clerk] = k.split('\u0000') as [string, string];
        return {
          office,
          officeName: officeName.get(office) ?? office,
          clerk,
          name: clerkName.get(k) ?? clerk,
          ...figures(s, undefined, t, 'counter'),
        };
      })
      .sort((a, b) => (a.office < b.office ? -1 : a.office > b.office ? 1 : a.clerk < b.clerk ? -1 : 1)),
    crossUnitLinks: crossRows.map((l) => ({
      code: l.code,
      office: l.office_id,
      ticketId: l.ticket_id,
      linkedAt: new Date(Number(l.linked_at)).toISOString(),
      linkedAtLocal: localMinute(Number(l.linked_at), timezones.get(l.office_id) ?? OFFICE_TIMEZONE),
      dossierOffice: l.dossier_office,
    })),
    crossUnitLinksTruncated: cross.rows.length > REPORT_CROSS_UNIT_LINKS_MAX,
    byHour: hours.rows.map((row) => {
      const s = num(row, ['issued', 'wait_count', 'wait_sum_ms', ...WAIT_COLUMNS]);
      const waits = WAIT_COLUMNS.map((c) => s[c] ?? 0);
      return {
        hour: Number(row.hour),
        issued: s.issued ?? 0,
        waitCount: s.wait_count ?? 0,
        waitMeanMin: ratio(s.wait_sum_ms ?? 0, s.wait_count ?? 0, 1 / 60_000),
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

/** Flat rows for CSV: one per group of the chosen breakdown. */
export function reportRows(
  r: Report,
  by: 'office' | 'service' | 'counter' | 'clerk' | 'hour',
): Record<string, string | number | null>[] {
  const flat = (f: Figures) => ({
    issued: f.issued,
    received: f.received,
    served: f.served,
    no_show_citizens: f.noShow,
    no_show_marks: f.noShowMarks,
    wait_p50_at_most_min: f.wait.p50AtMostMin,
    wait_p90_at_most_min: f.wait.p90AtMostMin,
    wait_mean_min: round(f.wait.meanMin),
    [`within_${r.waitTargetMin}_min_pct`]: round(f.wait.withinTargetPct),
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
  });
  switch (by) {
    case 'office':
      return r.byOffice.map((x) => ({ office: x.office, name: x.name, ...flat(x) }));
    case 'service':
      return r.byService.map((x) => ({ service: x.service, name: x.name, ...flat(x) }));
    case 'counter':
      return r.byCounter.map((x) => ({
        office: x.office,
        office_name: x.officeName,
        counter: x.counter,
        ...flat(x),
      }));
    case 'clerk':
      return r.byClerk.map((x) => ({
        office: x.office,
        office_name: x.officeName,
        clerk: x.clerk,
        name: x.name,
        ...flat(x),
      }));
    case 'hour':
      return r.byHour.map((x) => ({
        hour: x.hour,
        issued: x.issued,
        waits: x.waitCount,
        wait_mean_min: round(x.waitMeanMin),
        wait_p50_at_most_min: x.waitP50AtMostMin,
        wait_p90_at_most_min: x.waitP90AtMostMin,
      }));
  }
}

const round = (v: number | null): number | null => (v === null ? null : Math.round(v * 100) / 100);
