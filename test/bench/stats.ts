// Small numeric helpers for the benchmarks: percentiles, rates, and fixed-width formatting.

export interface Summary {
  n: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  mean: number;
  max: number;
}

/** Nearest-rank percentile of already sorted values. */
function rank(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}

export function summarize(samples: number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const sum = sorted.reduce((a, b) => a + b, 0);
  return {
    n: sorted.length,
    p50: rank(sorted, 50),
    p90: rank(sorted, 90),
    p95: rank(sorted, 95),
    p99: rank(sorted, 99),
    mean: sorted.length ? sum / sorted.length : NaN,
    max: sorted.length ? (sorted[sorted.length - 1] as number) : NaN,
  };
}

/** Milliseconds since an arbitrary origin, sub-microsecond resolution. */
export const now = (): number => performance.now();

export const ms = (v: number): string =>
  !Number.isFinite(v) ? '-' : v < 1 ? `${(v * 1000).toFixed(0)} µs` : `${v.toFixed(2)} ms`;

export const perSec = (v: number): string => (!Number.isFinite(v) ? '-' : `${Math.round(v)}/s`);

export const mb = (kb: number): string => `${(kb / 1024).toFixed(1)} MB`;

export const ratio = (v: number): string => (!Number.isFinite(v) ? '-' : `${v.toFixed(2)}x`);

export const pct = (v: number): string => (!Number.isFinite(v) ? '-' : `${(v * 100).toFixed(0)}%`);

/** Rounds numbers for the JSON file (3 decimals is µs for ms values). */
export function rounded<T>(value: T): T {
  return JSON.parse(
    JSON.stringify(value, (_k, v: unknown) =>
      typeof v === 'number' && !Number.isInteger(v) ? Math.round(v * 1000) / 1000 : v,
    ),
  ) as T;
}

/** Prints rows as an aligned text table. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] as number)).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
