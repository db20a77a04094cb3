// Helpers for the byte-stream driver suites: a test office whose peripherals the box drives itself.
import type { PeripheralConfig } from '../../device/config/schema.js';
import type { BoxConfig } from '../../device/config/schema.js';
import { DEVICES, officeConfig, peripheralsFor } from '../support/office.js';

/** The test office's peripherals, with `driver`s added by id and extra driven peripherals appended. */
export async function drivenOffice(
  drivers: Record<string, PeripheralConfig['driver']>,
  extra: PeripheralConfig[] = [],
  overrides: Record<string, unknown> = {},
): Promise<BoxConfig> {
  const base = await peripheralsFor(DEVICES);
  const peripherals = base.map((p) => (drivers[p.id] ? { ...p, driver: drivers[p.id] } : p));
  return officeConfig([...peripherals, ...extra], overrides);
}

/** Polls until `check` returns a value (not undefined/false), or fails after `timeoutMs`. */
export async function eventually<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
  timeoutMs = 10_000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A settable clock for the box: tests move it to expire retry windows without waiting. */
export function manualClock(startIso: string): { now: () => number; advance(ms: number): void } {
  let t = Date.parse(startIso);
  return { now: () => t, advance: (ms) => void (t += ms) };
}
