// When the box may switch to a new version: outside the office's opening hours (its sessions on its
// workdays) unless an admin forced the update, and never while a citizen is at a counter (a ticket called or
// being served): balena's update lock, asked of the queue state. Pure: (config, state, now) in, a reason out.
import type { BoxConfig } from '../config/schema.js';
import { hoursText, officeTime, type QueueState } from '../engine/index.js';

export interface SwitchRefusal {
  code: 'hours' | 'serving';
  reason: string;
}

/** The counters where a citizen is being called or served now. */
export function busyCounters(state: QueueState): number[] {
  const busy: number[] = [];
  for (const c of Object.values(state.counters)) {
    const t = c.current ? state.tickets.get(c.current) : undefined;
    if (t && (t.status === 'called' || t.status === 'serving')) busy.push(c.number);
  }
  return busy.sort((a, b) => a - b);
}

/** True while the office is open: a workday, inside one of its sessions (office local time). */
export function officeOpen(cfg: BoxConfig, now: number): boolean {
  const t = officeTime(now, cfg.office.timezone);
  if (!cfg.office.workdays.includes(t.weekday)) return false;
  return cfg.office.sessions.some((s) => s.open <= t.hhmm && t.hhmm < s.close);
}

/** Why the box must not switch now, or null when it may. */
export function switchRefusal(
  cfg: BoxConfig,
  state: QueueState,
  now: number,
  force: boolean,
): SwitchRefusal | null {
  const busy = busyCounters(state);
  if (busy.length)
    return {
      code: 'serving',
      reason: `a citizen is being served at counter ${busy.join(', ')}: waiting until they are done`,
    };
  if (!force && officeOpen(cfg, now))
    return {
      code: 'hours',
      reason: `the office is open (${hoursText(cfg)}): waiting for the update window after hours`,
    };
  return null;
}
