// The ranges a report's period is summed from: months by their rows, the rest by day, a month minus its days
// outside the period when that reads fewer rows. Every day of the period counted once, none outside it.
import { describe, expect, it } from 'vitest';
import { periodRanges, type PeriodRange } from '../../cloud/reports/reports.js';

/** Each day's net count over the ranges (a month row counts each of its days). */
function coverage(ranges: PeriodRange[]): Map<string, number> {
  const days = new Map<string, number>();
  for (const r of ranges) {
    const from = r.grain === 'm' ? `${r.first}-01` : r.first;
    const [y, m] = r.last.split('-').map(Number) as [number, number];
    const to = r.grain === 'm' ? new Date(Date.UTC(y, m, 0)).toISOString().slice(0, 10) : r.last;
    for (let t = Date.parse(from); t <= Date.parse(to); t += 86_400_000) {
      const d = new Date(t).toISOString().slice(0, 10);
      days.set(d, (days.get(d) ?? 0) + r.sign);
    }
  }
  for (const [d, n] of days) if (n === 0) days.delete(d);
  return days;
}

const rows = (ranges: PeriodRange[]) =>
  ranges.reduce(
    (n, r) => n + (r.grain === 'm' ? 1 : (Date.parse(r.last) - Date.parse(r.first)) / 86_400_000 + 1),
    0,
  );

describe('report periods', () => {
  it('Feb 10 – Nov 20: Feb–Nov by month, minus Feb 1–9 and Nov 21–30', () => {
    expect(periodRanges('2025-02-10', '2025-11-20')).toEqual([
      { grain: 'm', first: '2025-02', last: '2025-11', sign: 1 },
      { grain: 'd', first: '2025-02-01', last: '2025-02-09', sign: -1 },
      { grain: 'd', first: '2025-11-21', last: '2025-11-30', sign: -1 },
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

  it('covers every day of any period exactly once, never more rows than day by day', () => {
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
