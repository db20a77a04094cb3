// A push button on a GPIO line: debounce and long press. Pure timing logic over setTimeout, so tests drive
// it with fake timers; the same code runs for every backend (onoff's own debounce is not used).

export interface ButtonOptions {
  /** A level counts once the line has held it this long. 0: on the next timer turn. */
  debounceMs: number;
  /** With a long-press action: held this long, `onLongPress` fires (at that moment) instead of `onPress`. */
  longPressMs?: number;
  onPress: () => void;
  onLongPress?: () => void;
}

/**
 * Without a long-press action a button fires as soon as the press is stable: a clerk feels the response
 * at once. With one, the short action waits for the release (it cannot be known before), and the long one
 * fires when the hold reaches `longPressMs`, so the clerk hears or sees that it took.
 */
export class DebouncedButton {
  private rawActive = false;
  private stable = false;
  private settleTimer: NodeJS.Timeout | undefined;
  private holdTimer: NodeJS.Timeout | undefined;
  private longFired = false;

  constructor(private readonly opts: ButtonOptions) {}

  /** Feeds a level from the line (true = pressed). Bounces are welcome. */
  level(active: boolean): void {
    this.rawActive = active;
    clearTimeout(this.settleTimer);
    this.settleTimer = setTimeout(() => this.settle(), this.opts.debounceMs);
  }

  private settle(): void {
    this.settleTimer = undefined;
    if (this.rawActive === this.stable) return; // a bounce that came back: nothing happened
    this.stable = this.rawActive;
    const long = this.opts.onLongPress && this.opts.longPressMs !== undefined;
    if (this.stable) {
      if (!long) return this.opts.onPress();
      this.longFired = false;
      this.holdTimer = setTimeout(() => {
        this.holdTimer = undefined;
        this.longFired = true;
        this.opts.onLongPress?.();
      }, this.opts.longPressMs);
    } else if (long) {
      clearTimeout(this.holdTimer);
      this.holdTimer = undefined;
      if (!this.longFired) this.opts.onPress();
    }
  }

  /** Forgets any press in progress (the line went away). */
  reset(): void {
    clearTimeout(this.settleTimer);
    clearTimeout(this.holdTimer);
    this.settleTimer = this.holdTimer = undefined;
    this.rawActive = this.stable = this.longFired = false;
  }
}

/** Flashes (or beeps) an output line: `count` pulses of `flashMs` on and `flashMs` off. */
export class Flasher {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly write: (active: boolean) => void,
    private readonly flashMs: number,
  ) {}

  flash(count: number): void {
    clearTimeout(this.timer);
    let step = 0;
    const tick = () => {
      if (step >= count * 2) {
        this.timer = undefined;
        return this.write(false);
      }
      this.write(step % 2 === 0);
      step++;
      this.timer = setTimeout(tick, this.flashMs);
    };
    tick();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
