// Time for the office day. The generator is a discrete-event simulation: an agenda of timed actions run
// one at a time, in time order. Two clocks drive it:
// - VirtualClock: time jumps to the next action at once. An in-process box given the same clock (its
//   `clock` option) stamps every event with simulated time, so a whole day runs in seconds and the box's
//   own waits and service times match the simulated ones exactly.
// - ScaledClock: simulated time runs `speed` times faster than the wall clock, for driving a box that
//   keeps its own real clock (a demo box on the network): the box sees the day compressed.

export interface SimClock {
  /** Simulated time, epoch ms. */
  now(): number;
  /** Returns once simulated time has reached `t`. */
  sleepUntil(t: number): Promise<void>;
}

export class VirtualClock implements SimClock {
  constructor(private t: number) {}
  now(): number {
    return this.t;
  }
  async sleepUntil(t: number): Promise<void> {
    if (t > this.t) this.t = t;
  }
  /** The clock function to hand to the box (`startBox({clock})`). */
  readonly read = (): number => this.t;
}

export class ScaledClock implements SimClock {
  private readonly wall0 = Date.now();
  constructor(
    private readonly sim0: number,
    readonly speed: number,
  ) {
    if (!(speed > 0)) throw new Error('speed must be positive');
  }
  now(): number {
    return this.sim0 + (Date.now() - this.wall0) * this.speed;
  }
  sleepUntil(t: number): Promise<void> {
    const ms = (t - this.now()) / this.speed;
    return ms <= 0 ? Promise.resolve() : new Promise((r) => setTimeout(r, ms));
  }
}

interface Entry {
  at: number;
  order: number;
  run: () => Promise<void>;
}

/** Timed actions, run in time order (ties in the order they were scheduled: runs are reproducible). */
export class Agenda {
  private readonly entries: Entry[] = [];
  private order = 0;

  get size(): number {
    return this.entries.length;
  }

  schedule(at: number, run: () => Promise<void>): void {
    const e: Entry = { at, order: this.order++, run };
    // Binary search for the insertion point: after every entry due at or before `at`.
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.entries[mid] as Entry).at <= at) lo = mid + 1;
      else hi = mid;
    }
    this.entries.splice(lo, 0, e);
  }

  /** Runs every action until none is left; actions may schedule more. */
  async run(clock: SimClock, after?: () => void): Promise<void> {
    for (;;) {
      const e = this.entries.shift();
      if (!e) return;
      await clock.sleepUntil(e.at);
      await e.run();
      after?.();
    }
  }
}
