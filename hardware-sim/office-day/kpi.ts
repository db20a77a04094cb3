// The day's KPIs, from what the simulator observed (its own timings and the replies it got), and how
// they compare with the box's own record of the day.
import { EVENT_TYPES, SATISFIED_FROM_LEVEL, satisfactionLevel } from '../../protocol/index.js';
import type { DayObservation } from './day.js';

const MINUTE = 60_000;

export interface Spread {
  n: number;
  p50: number | null;
  p90: number | null;
  mean: number | null;
}

export interface DayKpis {
  citizens: number;
  issued: number;
  issuedPerService: Record<string, number>;
  refused: Record<string, number>;
  served: number;
  /** Tickets whose last state is no-show. */
  noShows: number;
  /** No-shows who came back and were called by number. */
  cameBack: number;
  /** Still waiting at the end of the day. */
  unserved: number;
  transfers: number;
  /** Minutes from the ticket to its first call. */
  waitMin: Spread;
  /** Minutes from the citizen reaching the desk to finish (the clerk's own time with them). */
  serviceMin: Spread;
  ratings: {
    count: number;
    /** Count per score, index 0 = score 1. */
    distribution: number[];
    /** Count per level of the five-level scale (index 0 Rất không hài lòng … 4 Rất hài lòng). */
    levels: number[];
    mean: number | null;
    /**
     * Chỉ số hài lòng, as the cloud's reports define it: the share (%) of ratings at Hài lòng or Rất hài lòng
     * on the five-level scale (a 4-button box's top two, a 5-level tablet's top two).
     */
    satisfactionIndex: number | null;
  };
  /** Unexpected error replies. */
  errors: Record<string, number>;
  /** Simulated minutes from the first session's opening to the last action. */
  dayMinutes: number;
}

/** Linear interpolation between closest ranks. */
export function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const i = (sorted.length - 1) * p;
  const lo = Math.floor(i);
  const hi = Math.ceil(i);
  return (sorted[lo] as number) + ((sorted[hi] as number) - (sorted[lo] as number)) * (i - lo);
}

export function spread(values: number[]): Spread {
  const s = [...values].sort((a, b) => a - b);
  return {
    n: s.length,
    p50: percentile(s, 0.5),
    p90: percentile(s, 0.9),
    mean: s.length ? s.reduce((a, b) => a + b, 0) / s.length : null,
  };
}

export function dayKpis(o: DayObservation): DayKpis {
  const t = o.tickets.filter((x) => !x.foreign);
  const issuedPerService: Record<string, number> = {};
  for (const x of t) issuedPerService[x.issuedService] = (issuedPerService[x.issuedService] ?? 0) + 1;
  const distribution = Array.from({ length: o.scaleMax }, () => 0);
  const scores = t.map((x) => x.rating).filter((r): r is number => r !== null);
  for (const s of scores) distribution[s - 1] = (distribution[s - 1] ?? 0) + 1;
  const levels = [0, 0, 0, 0, 0];
  for (const s of scores) {
    const i = satisfactionLevel(s, o.scaleMax) - 1;
    levels[i] = (levels[i] ?? 0) + 1;
  }
  const satisfied = levels.slice(SATISFIED_FROM_LEVEL - 1).reduce((a, b) => a + b, 0);
  return {
    citizens: o.citizens,
    issued: t.length,
    issuedPerService,
    refused: o.refused,
    served: t.filter((x) => x.state === 'finished').length,
    noShows: t.filter((x) => x.state === 'no_show').length,
    cameBack: t.filter((x) => x.returned && x.state === 'finished').length,
    unserved: t.filter((x) => x.state === 'waiting').length,
    transfers: t.reduce((a, x) => a + x.transfers, 0),
    waitMin: spread(
      t
        .filter((x) => x.firstCalledAt !== null)
        .map((x) => ((x.firstCalledAt as number) - x.issuedAt) / MINUTE),
    ),
    serviceMin: spread(
      t
        .filter((x) => x.finishedAt !== null && x.serviceStartAt !== null)
        .map((x) => ((x.finishedAt as number) - (x.serviceStartAt as number)) / MINUTE),
    ),
    ratings: {
      count: scores.length,
      distribution,
      levels,
      mean: scores.length ? scores.reduce((a, b) => a + b, 0) / scores.length : null,
      satisfactionIndex: scores.length ? (100 * satisfied) / scores.length : null,
    },
    errors: o.errors,
    dayMinutes: (o.dayEnd - o.dayStart) / MINUTE,
  };
}

/** What the box itself recorded: event counts from its log (or as a display saw them). */
export interface BoxRecord {
  /** Where the figures come from, e.g. "event log" or "display-tv (events and retained state)". */
  source: string;
  events: Record<string, number>;
  /** Event types this source cannot see (a display never sees rating.* and dossier.*). */
  hidden?: string[];
  /** Sum of `issuedToday` and `waiting` over the retained service states, when known. */
  retained?: { issuedToday: number; waiting: number };
  /** The box's `waitedMs` of each first call, when known. */
  waitsMs?: number[];
}

export interface AgreementRow {
  what: string;
  sim: number;
  box: number | null;
  agree: boolean | null;
}

/** Every event type the simulator and the box both can count, side by side. */
export function compareWithBox(o: DayObservation, k: DayKpis, box: BoxRecord): AgreementRow[] {
  const rows: AgreementRow[] = [];
  const hidden = new Set(box.hidden ?? []);
  for (const type of EVENT_TYPES) {
    if (type === 'day.started') continue; // the box's own, at the first tick of the day
    const sim = o.events[type] ?? 0;
    const b = hidden.has(type) ? null : (box.events[type] ?? 0);
    if (sim === 0 && (b === null || b === 0)) continue;
    rows.push({ what: type, sim, box: b, agree: b === null ? null : b === sim });
  }
  if (box.retained) {
    rows.push({
      what: 'issued today (retained state)',
      sim: k.issued,
      box: box.retained.issuedToday,
      agree: box.retained.issuedToday === k.issued,
    });
    rows.push({
      what: 'waiting now (retained state)',
      sim: k.unserved,
      box: box.retained.waiting,
      agree: box.retained.waiting === k.unserved,
    });
  }
  return rows;
}

const fmt = (x: number | null, digits = 1) => (x === null ? '–' : x.toFixed(digits));

/** The end-of-day report, for operators (English, with the Vietnamese terms). */
export function formatReport(
  k: DayKpis,
  opts: {
    seed: number;
    date: string;
    serviceNames?: Record<string, string>;
    box?: BoxRecord;
    rows?: AgreementRow[];
    wallMs?: number;
  },
): string {
  const lines: string[] = [];
  const name = (s: string) => (opts.serviceNames?.[s] ? `${opts.serviceNames[s]} (${s})` : s);
  lines.push(
    `Office day ${opts.date}, seed ${opts.seed}${opts.wallMs !== undefined ? `, run in ${(opts.wallMs / 1000).toFixed(1)} s` : ''}`,
  );
  lines.push(`  citizens arrived (công dân)        ${k.citizens}`);
  lines.push(`  tickets issued (số đã cấp)         ${k.issued}`);
  for (const [s, n] of Object.entries(k.issuedPerService).sort((a, b) => b[1] - a[1]))
    lines.push(`    ${name(s).padEnd(44)} ${n}`);
  const refused = Object.entries(k.refused);
  if (refused.length)
    lines.push(`  refused                            ${refused.map(([c, n]) => `${c} ${n}`).join(', ')}`);
  lines.push(`  served (đã phục vụ)                ${k.served}`);
  lines.push(
    `  no-shows (vắng mặt)                ${k.noShows}  (${k.cameBack} more came back and were served)`,
  );
  lines.push(`  transfers (chuyển quầy)            ${k.transfers}`);
  lines.push(`  still waiting at close             ${k.unserved}`);
  lines.push(
    `  wait, min (thời gian chờ)          p50 ${fmt(k.waitMin.p50)}  p90 ${fmt(k.waitMin.p90)}  mean ${fmt(k.waitMin.mean)}  (n=${k.waitMin.n})`,
  );
  lines.push(
    `  service, min (thời gian phục vụ)   p50 ${fmt(k.serviceMin.p50)}  p90 ${fmt(k.serviceMin.p90)}  mean ${fmt(k.serviceMin.mean)}  (n=${k.serviceMin.n})`,
  );
  const dist = k.ratings.distribution.map((n, i) => `${i + 1}:${n}`).join(' ');
  lines.push(
    `  ratings (đánh giá)                 ${k.ratings.count}  [${dist}]  mean ${fmt(k.ratings.mean, 2)}`,
  );
  lines.push(
    `  satisfaction index (chỉ số hài lòng) ${fmt(k.ratings.satisfactionIndex)}%  (share of ratings at Hài lòng or Rất hài lòng)`,
  );
  const errors = Object.entries(k.errors);
  if (errors.length)
    lines.push(`  unexpected replies                 ${errors.map(([c, n]) => `${c} ×${n}`).join(', ')}`);
  if (opts.box && opts.rows) {
    const bad = opts.rows.filter((r) => r.agree === false);
    lines.push('');
    lines.push(
      `Box record (${opts.box.source}) vs simulator: ${bad.length === 0 ? 'they agree' : `${bad.length} DISAGREE`}`,
    );
    for (const r of opts.rows)
      lines.push(
        `  ${r.what.padEnd(30)} sim ${String(r.sim).padStart(5)}  box ${r.box === null ? '  n/a' : String(r.box).padStart(5)}  ${r.agree === null ? '(not visible)' : r.agree ? 'ok' : 'MISMATCH'}`,
      );
    if (opts.box.waitsMs?.length) {
      const w = spread(opts.box.waitsMs.map((ms) => ms / MINUTE));
      lines.push(
        `  box's own wait, min              p50 ${fmt(w.p50)}  p90 ${fmt(w.p90)}  (n=${w.n}, from ticket.called waitedMs)`,
      );
    }
  }
  return lines.join('\n');
}
