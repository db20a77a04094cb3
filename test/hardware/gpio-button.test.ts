// Push buttons on GPIO lines: debounce, long press and the feedback flasher, on fake timers.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DebouncedButton, Flasher } from '../../device/drivers/gpio/button.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

function button(opts: { debounceMs?: number; longPressMs?: number; long?: boolean } = {}) {
  const fired: string[] = [];
  const b = new DebouncedButton({
    debounceMs: opts.debounceMs ?? 30,
    longPressMs: opts.long ? (opts.longPressMs ?? 1000) : undefined,
    onPress: () => fired.push('short'),
    onLongPress: opts.long ? () => fired.push('long') : undefined,
  });
  return { b, fired };
}

describe('a debounced button', () => {
  it('a bouncing press counts once, when the contact has settled', () => {
    const { b, fired } = button();
    // Contact bounce: five edges within 8 ms, then held.
    for (const level of [true, false, true, false, true]) {
      b.level(level);
      vi.advanceTimersByTime(2);
    }
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(30);
    expect(fired).toEqual(['short']);
    // The release bounces too, and is not a press.
    for (const level of [false, true, false]) {
      b.level(level);
      vi.advanceTimersByTime(2);
    }
    vi.advanceTimersByTime(100);
    expect(fired).toEqual(['short']);
  });

  it('a glitch shorter than the debounce time is no press', () => {
    const { b, fired } = button({ debounceMs: 30 });
    b.level(true);
    vi.advanceTimersByTime(10);
    b.level(false);
    vi.advanceTimersByTime(100);
    expect(fired).toEqual([]);
  });

  it('two separate presses are two presses', () => {
    const { b, fired } = button();
    for (let i = 0; i < 2; i++) {
      b.level(true);
      vi.advanceTimersByTime(80);
      b.level(false);
      vi.advanceTimersByTime(80);
    }
    expect(fired).toEqual(['short', 'short']);
  });

  it('with a long-press action, a short press fires on release and a long one when the hold is long enough', () => {
    const { b, fired } = button({ long: true, longPressMs: 1000 });
    b.level(true);
    vi.advanceTimersByTime(300);
    expect(fired).toEqual([]); // cannot tell yet
    b.level(false);
    vi.advanceTimersByTime(30);
    expect(fired).toEqual(['short']);

    b.level(true);
    vi.advanceTimersByTime(30 + 999);
    expect(fired).toEqual(['short']);
    vi.advanceTimersByTime(1);
    expect(fired).toEqual(['short', 'long']); // while still held: the clerk gets feedback at once
    vi.advanceTimersByTime(5000);
    b.level(false);
    vi.advanceTimersByTime(100);
    expect(fired).toEqual(['short', 'long']); // the release after a long press does nothing more
  });

  it('bounces during a long hold do not restart it or add a short press', () => {
    const { b, fired } = button({ long: true, longPressMs: 1000 });
    b.level(true);
    vi.advanceTimersByTime(500);
    b.level(false); // a 3 ms bounce in the middle of the hold
    vi.advanceTimersByTime(3);
    b.level(true);
    vi.advanceTimersByTime(600);
    expect(fired).toEqual(['long']);
  });

  it('reset forgets a press in progress (the line went away)', () => {
    const { b, fired } = button({ long: true });
    b.level(true);
    vi.advanceTimersByTime(100);
    b.reset();
    vi.advanceTimersByTime(5000);
    expect(fired).toEqual([]);
  });
});

describe('the feedback flasher', () => {
  it('flashes n times and ends dark', () => {
    const levels: [number, boolean][] = [];
    const f = new Flasher((on) => levels.push([Date.now(), on]), 100);
    const t0 = Date.now();
    f.flash(3);
    vi.advanceTimersByTime(1000);
    expect(levels.map(([t, on]) => [t - t0, on])).toEqual([
      [0, true],
      [100, false],
      [200, true],
      [300, false],
      [400, true],
      [500, false],
      [600, false],
    ]);
  });
});
