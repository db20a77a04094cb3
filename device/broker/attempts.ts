// Guessing limits: attempts per key (a device id, an address) in a sliding window, reserved BEFORE the
// secret is hashed. Checking the limit first and counting the failure after the hash let every concurrent
// attempt through (300 parallel wrong passwords were all hashed); a reservation cannot be raced.

export type Reservation = { ok: true; succeeded(): void } | { ok: false; retryAfterMs: number };

/** Keys kept at most; past this, idle keys are pruned (an address flood cannot grow the map for ever). */
const MAX_KEYS = 10_000;

export class AttemptLimiter {
  private readonly attempts = new Map<string, number[]>();

  constructor(
    private readonly clock: () => number,
    private readonly max: number,
    private readonly windowMs: number,
  ) {}

  /**
   * Counts an attempt for `key` now, or refuses when `max` attempts are already counted in the window.
   * An attempt that turns out right is taken back with `succeeded()`; a wrong one stays counted.
   */
  reserve(key: string): Reservation {
    const list = this.recent(key);
    const now = this.clock();
    if (list.length >= this.max)
      return { ok: false, retryAfterMs: Math.max(1, (list[0] as number) + this.windowMs - now) };
    if (this.attempts.size >= MAX_KEYS) this.prune();
    list.push(now);
    this.attempts.set(key, list);
    return {
      ok: true,
      succeeded: () => {
        const at = list.indexOf(now);
        if (at >= 0) list.splice(at, 1);
      },
    };
  }

  private recent(key: string): number[] {
    const since = this.clock() - this.windowMs;
    const list = this.attempts.get(key);
    if (!list) return [];
    while (list.length > 0 && (list[0] as number) <= since) list.shift();
    if (list.length === 0) this.attempts.delete(key);
    return list;
  }

  private prune(): void {
    for (const key of [...this.attempts.keys()]) this.recent(key);
  }
}

/** Both reservations, or neither (the one taken is released when the other is refused). */
export function reserveAll(limiters: [AttemptLimiter, string][]): Reservation {
  const taken: { succeeded(): void }[] = [];
  for (const [limiter, key] of limiters) {
    const r = limiter.reserve(key);
    if (!r.ok) {
      for (const t of taken) t.succeeded();
      return r;
    }
    taken.push(r);
  }
  return { ok: true, succeeded: () => taken.forEach((t) => t.succeeded()) };
}
