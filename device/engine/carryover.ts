// What a live config change leaves behind for the rest of the office day (see Carryover). Pure.
import type { BoxConfig } from '../config/schema.js';
import type { Carryover, QueueState } from './types.js';

export const NO_CARRYOVER: Carryover = { day: null, services: [], counters: [] };

/**
 * The carryover after changing the config from `prev` to `next` on the state's day: every service and counter
 * removed today (by this change or an earlier one) and not back in `next`. A removed service is served by
 * the counters that served it in `prev`, and by those that served it before an earlier removal.
 */
export function carryoverAfter(
  prev: BoxConfig,
  next: BoxConfig,
  state: QueueState,
  before: Carryover = NO_CARRYOVER,
): Carryover {
  const earlier = before.day === state.day ? before : NO_CARRYOVER;
  const kept = new Set(next.services.map((s) => s.id));
  const services = new Map<string, Carryover['services'][number]>();
  for (const e of earlier.services) if (!kept.has(e.service.id)) services.set(e.service.id, e);
  for (const s of prev.services) {
    if (kept.has(s.id)) continue;
    const servedBy = prev.counters.filter((c) => c.services.includes(s.id)).map((c) => c.number);
    const old = services.get(s.id)?.servedBy ?? [];
    services.set(s.id, { service: s, servedBy: [...new Set([...old, ...servedBy])] });
  }
  const numbers = new Set(next.counters.map((c) => c.number));
  const counters = new Map<number, Carryover['counters'][number]>();
  for (const c of [...earlier.counters, ...prev.counters])
    if (!numbers.has(c.number)) counters.set(c.number, c);
  return { day: state.day, services: [...services.values()], counters: [...counters.values()] };
}
