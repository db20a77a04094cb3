// The ranges a report's period is summed from: months, weeks (w1 days 1–7 … w4 22–28) and days, a month minus
// what lies outside the period when that reads fewer rows. Every day of the period counted once, none outside.
import { describe, expect, it } from 'vitest';
import { periodRanges, type PeriodRange } from '../../cloud/reports/reports.js';

const DAY = 86_400_000;
const iso = (t: number) => new Date(t).toISOString().slice(0, 10);

/** The days a period of a grain holds (a month's, a week's or the day itself). */
function daysOf(grain: PeriodRange['grain'], p: string): string[] {
  if (grain === 'd') return [p];
  const [y, m] = p.split('-').map(Number) as [number, number];
  if (grain === 'm') {
    const n = new Date(Date.UTC(y, m, 0)).getUTCDate();
    return Array.from({ length: n }, (_, i) => `${p}-${String(i + 1).padStart(2, '0')}`);
  }
  const w = Number(p.slice(9));
  return Array.from({ length: 7 }, (_, i) => `${p.slice(0, 7)}-${String(7 * w - 6 + i).padStart(2, '0')}`);
}

/** Every period of a grain from first to last (weeks run w1..w4, then the next month's w1). */
function periods(grain: PeriodRange['grain'], first: string, last: string): string[] {
  const out = [first];
  while (out[out.length - 1] !== last) {
    const p = out[out.length - 1] as string;
    if (grain === 'd') out.push(iso(Date.parse(p) + DAY));
    else if (grain === 'm') out.push(iso(Date.parse(`${p}-01`) + 32 * DAY).slice(0, 7));
    else {
      const w = Number(p.slice(9));
      out.push(
        w < 4
          ? `${p.slice(0, 7)}-w${w + 1}`
          : `${iso(Date.parse(`${p.slice(0, 7)}-01`) + 32 * DAY).slice(0, 7)}-w1`,
      );
    }
    if (out.length > 500) throw new Error(`no end from ${first} to ${last}`);
  }
  return out;
}

/** Each day's net count over the ranges. */
function coverage(ranges: PeriodRange[]): Map<string, number> {
  const days = new Map<string, number>();
  for (const r of ranges)
    for (const p of periods(r.grain, r.first, r.last))
      for (const d of daysOf(r.grain, p)) days.set(d, (days.get(d) ?? 0) + r.sign);
  for (const [d, n] of days) if (n === 0) days.delete(d);
  return days;
}

const rows = (ranges: PeriodRange[]) =>
  ranges.reduce((n, r) => n + periods(r.grain, r.first, r.last).length, 0);

describe('report periods', () => {
  it('Feb 10 – Nov 20: Feb–Nov by month, minus Feb 1–9 and Nov 21–30 as weeks and days', () => {
    const ranges = periodRanges('2025-02-10', '2025-11-20');
    expect(ranges).toEqual([
      { grain: 'm', first: '2025-02', last: '2025-11', sign: 1 },
      { grain: 'w', first: '2025-02-w1', last: '2025-02-w1', sign: -1 },
      { grain: 'd', first: '2025-02-08', last: '2025-02-09', sign: -1 },
      { grain: 'd', first: '2025-11-21', last: '2025-11-21', sign: -1 },
      { grain: 'w', first: '2025-11-w4', last: '2025-11-w4', sign: -1 },
      { grain: 'd', first: '2025-11-29', last: '2025-11-30', sign: -1 },
    ]);
    expect(rows(ranges)).toBe(17);
  });

  it('the first half of a month is two weeks; from the 15th to the end, the month minus two weeks', () => {
    expect(periodRanges('2026-02-01', '2026-02-14')).toEqual([
      { grain: 'w', first: '2026-02-w1', last: '2026-02-w2', sign: 1 },
    ]);
    // Mar 15–31: the month minus its first two weeks (3 rows), not w3, w4 and Mar 29–31 (5).
    expect(periodRanges('2025-03-15', '2025-03-31')).toEqual([
      { grain: 'm', first: '2025-03', last: '2025-03', sign: 1 },
      { grain: 'w', first: '2025-03-w1', last: '2025-03-w2', sign: -1 },
    ]);
  });

  it('a few edge days are added, not taken from their month', () => {
    expect(periodRanges('2026-01-30', '2026-03-01')).toEqual([
      { grain: 'd', first: '2026-01-30', last: '2026-01-31', sign: 1 },
      { grain: 'm', first: '2026-02', last: '2026-02', sign: 1 },
      { grain: 'd', first: '2026-03-01', last: '2026-03-01', sign: 1 },
    ]);
    expect(periodRanges('2025-06-11', '2025-06-11')).toEqual([
      { grain: 'd', first: '2025-06-11', last: '2025-06-11', sign: 1 },
    ]);
    expect(periodRanges('2025-01-01', '2025-12-31')).toEqual([
      { grain: 'm', first: '2025-01', last: '2025-12', sign: 1 },
    ]);
  });

  it('joins ranges that follow each other across a month: days, and February’s last week to March’s first', () => {
    // Jan 30 – Feb 3: one range of days, not Jan 30–31 and Feb 1–3.
    expect(periodRanges('2026-01-30', '2026-02-03')).toEqual([
      { grain: 'd', first: '2026-01-30', last: '2026-02-03', sign: 1 },
    ]);
    // Feb 22 – Mar 7, 2026: February's w4 ends on its last day, so it and March's w1 are one range of weeks.
    expect(periodRanges('2026-02-22', '2026-03-07')).toEqual([
      { grain: 'w', first: '2026-02-w4', last: '2026-03-w1', sign: 1 },
    ]);
    // The two ranges of weeks stay apart when a day lies between them (2028 is a leap year).
    expect(periodRanges('2028-02-22', '2028-03-07')).toEqual([
      { grain: 'w', first: '2028-02-w4', last: '2028-03-w1', sign: 1 },
      { grain: 'd', first: '2028-02-29', last: '2028-02-29', sign: 1 },
    ]);
  });

  it('reads the weeks when they read as few rows as the month minus the rest', () => {
    // March 1–28: w1–w4 (4 rows) or March minus 29–31 (1 + 3): the same, so the weeks.
    expect(periodRanges('2025-03-01', '2025-03-28')).toEqual([
      { grain: 'w', first: '2025-03-w1', last: '2025-03-w4', sign: 1 },
    ]);
  });

  it('covers every day of any period exactly once, never more rows than months and days alone', () => {
    const start = Date.parse('2023-12-01');
    for (let i = 0; i < 400; i++) {
      const a = start + ((i * 7919) % 700) * 86_400_000;
      const b = a + ((i * 104_729) % 366) * 86_400_000;
      const [from, to] = [a, b].map((t) => new Date(t).toISOString().slice(0, 10)) as [string, string];
      const ranges = periodRanges(from, to);
      const want = new Map<string, number>();
      for (let t = a; t <= b; t += 86_400_000) want.set(new Date(t).toISOString().slice(0, 10), 1);
      expect(coverage(ranges), `${from}..${to}`).toEqual(want);
      expect(rows(ranges)).toBeLessThanOrEqual(want.size);
    }
  });
});
