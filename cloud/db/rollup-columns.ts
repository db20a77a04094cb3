// The fixed histogram buckets of the rollups. Percentiles over any set of offices and days come from summed
// buckets, so the bounds never change once data is written (a new bound would need a new migration).

/** Upper bounds (minutes, inclusive) of the wait-time buckets; one more bucket holds everything above. */
export const WAIT_BOUNDS_MIN = [
  1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 15, 18, 20, 25, 30, 35, 40, 45, 50, 60, 75, 90, 105, 120, 150, 180, 240,
] as const;

export const WAIT_COLUMNS: string[] = [...WAIT_BOUNDS_MIN, Infinity].map((_, i) => `w${i}`);

/** Rating scores 1..10 (a box's scale has 2 to 10 levels), as the box sent them. */
export const RATING_COLUMNS: string[] = Array.from({ length: 10 }, (_, i) => `r${i + 1}`);

/** Ratings per level of the five-level scale (1 Rất không hài lòng … 5 Rất hài lòng), whatever the box's scale. */
export const LEVEL_COLUMNS: string[] = Array.from({ length: 5 }, (_, i) => `level_${i + 1}`);

/** The bucket a wait falls in: the first bound it does not exceed. */
export function waitBucket(waitMs: number): number {
  const min = waitMs / 60_000;
  for (let i = 0; i < WAIT_BOUNDS_MIN.length; i++) if (min <= (WAIT_BOUNDS_MIN[i] as number)) return i;
  return WAIT_BOUNDS_MIN.length;
}

/** The metrics of `rollups` as migration 0001 created them (frozen: later ones are added by their migration). */
export const ROLLUP_METRICS_0001: readonly string[] = [
  'issued',
  'called',
  'served',
  'no_show',
  'wait_count',
  'wait_sum_ms',
  ...WAIT_COLUMNS,
  'service_count',
  'service_sum_ms',
  'ratings',
  'rating_satisfied',
  'rating_norm_sum',
  ...RATING_COLUMNS,
];

/**
 * Metrics added by migration 0009 (report definitions, issue 13). `no_show` itself changed meaning there: it
 * counts citizens whose ticket ended as a no-show (+1 when marked, −1 when called again); `no_show_marks`
 * counts the marks. `transferred_in` is at the service a ticket was transferred to (counter 0, no clerk);
 * `received_at_counter` counts calls at a counter except a no-show's call back; `service_from_call` the
 * services timed from the call (serve not pressed); `level_1..5` the ratings on the five-level scale.
 */
export const ROLLUP_METRICS_0009: readonly string[] = [
  'no_show_marks',
  'transferred_in',
  'received_at_counter',
  'service_from_call',
  ...LEVEL_COLUMNS,
];

/**
 * The grains of every rollup table and their periods: `d` a day (`2026-02-10`), `w` a week inside a month
 * (`2026-02-w2`: days 8–14; w1 1–7, w2 8–14, w3 15–21, w4 22–28; days 29–31 belong to no week), `m` a month
 * (`2026-02`). A report reads a period as months, weeks and days, the fewest rows that sum to it.
 */
export function grainsOf(day: string): ['d' | 'w' | 'm', string][] {
  const week = weekOf(day);
  return week
    ? [
        ['d', day],
        ['w', week],
        ['m', day.slice(0, 7)],
      ]
    : [
        ['d', day],
        ['m', day.slice(0, 7)],
      ];
}

/** The week (grain `w`) a day belongs to, or null for days 29–31. */
export function weekOf(day: string): string | null {
  const dd = Number(day.slice(8, 10));
  return dd <= 28 ? `${day.slice(0, 7)}-w${Math.ceil(dd / 7)}` : null;
}

/** Additive metrics of `rollups` (per grain, period, office, service, counter, clerk). */
export const ROLLUP_METRICS: string[] = [...ROLLUP_METRICS_0001, ...ROLLUP_METRICS_0009];
export const ROLLUP_KEYS = ['grain', 'period', 'office_id', 'service', 'counter', 'clerk_id'];

/** Additive metrics of `rollup_hours` (per grain, period, office, local hour of issue). */
export const HOUR_METRICS: string[] = ['issued', 'wait_count', 'wait_sum_ms', ...WAIT_COLUMNS];
export const HOUR_KEYS = ['grain', 'period', 'office_id', 'hour'];

/** Additive metrics of `rollup_dossiers` (per grain, period of receipt, office, service). */
export const DOSSIER_METRICS: string[] = ['received', 'returned', 'on_time', 'late'];
export const DOSSIER_KEYS = ['grain', 'period', 'office_id', 'service'];
