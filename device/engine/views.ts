// Read models derived from state and config: who is waiting, who is next, how long the wait is. Pure.
import type { BoxConfig, CounterConfig } from '../config/schema.js';
import { candidatesAt, leaveLine } from './lines.js';
import type { QueueState, Ticket } from './types.js';

/** A waiting ticket this counter may call: its own transfers, or untargeted tickets of its services. */
export function eligibleAt(counter: CounterConfig, t: Ticket): boolean {
  if (t.status !== 'waiting') return false;
  if (t.targetCounter !== null) return t.targetCounter === counter.number;
  return counter.services.includes(t.service);
}

const oldest = (ts: Ticket[]): Ticket | undefined =>
  ts.reduce<Ticket | undefined>((m, t) => (!m || t.place < m.place ? t : m), undefined);
const priorityFirst = (ts: Ticket[]): Ticket | undefined =>
  oldest(ts.filter((t) => t.priority !== null)) ?? oldest(ts);

/** The ticket `callNext` would call at this counter under its policy, or undefined when nobody waits. */
export function pickNext(counter: CounterConfig, state: QueueState): Ticket | undefined {
  // Not everyone waiting: the heads of the counter's lines, among whom each policy's pick always is.
  const eligible = candidatesAt(counter, state).filter((t) => eligibleAt(counter, t));
  if (eligible.length === 0) return undefined;
  switch (counter.policy) {
    case 'priority-first':
      return priorityFirst(eligible);
    case 'service-order': {
      for (const service of counter.services) {
        const pick = priorityFirst(eligible.filter((t) => t.service === service));
        if (pick) return pick;
      }
      return priorityFirst(eligible); // transfers addressed to this counter for a service it does not list
    }
    case 'alternate': {
      const lastWasPriority = state.counters[counter.number]?.lastCallWasPriority ?? false;
      const prio = oldest(eligible.filter((t) => t.priority !== null));
      const normal = oldest(eligible.filter((t) => t.priority === null));
      return lastWasPriority ? (normal ?? prio) : (prio ?? normal);
    }
  }
}

/**
 * The tickets waiting for a counter in the order its `next` would call them if nobody else came (the clerk
 * panel's queue): `pickNext` again and again on a copy of the lines without the ones already picked.
 */
export function callOrder(counter: CounterConfig, state: QueueState, limit = 50): Ticket[] {
  const out: Ticket[] = [];
  let s = state;
  while (out.length < limit) {
    const t = pickNext(counter, s);
    if (!t) break;
    out.push(t);
    const here = s.counters[counter.number];
    s = {
      ...s,
      lines: leaveLine(s.lines, t),
      counters: here
        ? { ...s.counters, [counter.number]: { ...here, lastCallWasPriority: t.priority !== null } }
        : s.counters,
    };
  }
  return out;
}

/** Average recent service time for a service, in minutes; the configured default until there is data. */
export function averageServiceMinutes(cfg: BoxConfig, state: QueueState, service: string): number {
  const times = state.serviceTimes[service] ?? [];
  if (times.length === 0) return cfg.office.defaultServiceMinutes;
  return times.reduce((a, b) => a + b, 0) / times.length / 60_000;
}

/** Counters open now (not paused, not closed) that serve the service. */
export function openCountersFor(cfg: BoxConfig, state: QueueState, service: string): number {
  return cfg.counters.filter(
    (c) => c.services.includes(service) && state.counters[c.number]?.status === 'open',
  ).length;
}

/**
 * Estimated wait in minutes for someone with `ahead` people before them: the people ahead shared among the
 * open counters, times the recent service time. Null when no counter serving it is open: nobody can say.
 */
export function estimateWaitMin(
  cfg: BoxConfig,
  state: QueueState,
  service: string,
  ahead: number,
): number | null {
  const open = openCountersFor(cfg, state, service);
  if (open === 0) return null;
  return Math.round((ahead * averageServiceMinutes(cfg, state, service)) / open);
}

/** People who would be called before a new ticket of this service (and priority). */
export function aheadOf(state: QueueState, service: string, priority: boolean): number {
  const c = state.waiting[service]; // kept by evolve: this runs for every service on every commit
  return c ? (priority ? c.priority : c.all) : 0;
}
