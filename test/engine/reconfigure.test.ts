// The engine under a config that changes mid-day (a cloud-managed box, device/fleet/): pure decide() with
// the carryover a change leaves (services and counters removed today). No clock, no I/O.
import { describe, expect, it } from 'vitest';
import {
  carryoverAfter,
  decide,
  emptyState,
  NO_CARRYOVER,
  type Carryover,
  type Command,
  type QueueState,
} from '../../device/engine/index.js';
import type { BoxConfig } from '../../device/config/schema.js';
import { allHoursConfig, at, MONDAY, TUESDAY } from './fixtures.js';

/** Decides and keeps the state, like the ledger; returns the decision. */
function run(cfg: BoxConfig, s: { state: QueueState }, c: Command, now: number, carry: Carryover) {
  const d = decide(cfg, s.state, c, now, carry);
  if (d.ok) s.state = d.state;
  return d;
}
const issued = (d: ReturnType<typeof decide>) =>
  d.ok
    ? (d.events.find((e) => e.type === 'ticket.issued')?.data as { number: string }).number
    : d.rejection.code;
const called = (d: ReturnType<typeof decide>) =>
  d.ok
    ? (d.events.find((e) => e.type === 'ticket.called')?.data as { number: string } | undefined)?.number
    : d.rejection.code;

const before = allHoursConfig();
/** ho-tich (A) removed; it was served by counters 2, 3 and 7. Counter 8 removed too. */
const after: BoxConfig = {
  ...before,
  services: before.services.filter((s) => s.id !== 'ho-tich'),
  counters: before.counters
    .filter((c) => c.number !== 8)
    .map((c) => ({ ...c, services: c.services.filter((x) => x !== 'ho-tich') }))
    .map((c) => (c.services.length === 0 ? { ...c, services: ['khac'] } : c)),
};

describe('a config changed mid-day', () => {
  it('keeps calling a removed service’s waiting tickets at the counters that served it, that day only', () => {
    const s = { state: emptyState() };
    const t = at(`${MONDAY} 09:00`);
    run(before, s, { type: 'issue', service: 'ho-tich', priority: null, source: 'k' }, t, NO_CARRYOVER);
    run(before, s, { type: 'issue', service: 'ho-tich', priority: null, source: 'k' }, t, NO_CARRYOVER);
    const carry = carryoverAfter(before, after, s.state);
    expect(carry.services.map((x) => [x.service.id, x.servedBy])).toEqual([['ho-tich', [2, 3, 7]]]);
    expect(carry.counters.map((c) => c.number)).toEqual([8]);

    const issue = run(after, s, { type: 'issue', service: 'ho-tich', priority: null, source: 'k' }, t, carry);
    expect(issued(issue)).toBe('unknown_service');
    expect(called(run(after, s, { type: 'next', counter: 1 }, t, carry))).toBe('queue_empty');
    expect(called(run(after, s, { type: 'next', counter: 2 }, t, carry))).toBe('A001');
    // Handed on to another counter in its own (removed) service: still allowed.
    expect(run(after, s, { type: 'transfer', counter: 2, toCounter: 3 }, t, carry).ok).toBe(true);
    expect(called(run(after, s, { type: 'next', counter: 3 }, t, carry))).toBe('A001');
    // The next day the carryover is over: what is left of the service is gone with the day.
    const tuesday = at(`${TUESDAY} 09:00`);
    expect(called(run(after, s, { type: 'next', counter: 7 }, tuesday, carry))).toBe('queue_empty');
  });

  it('lets a removed counter finish its ticket but call nobody new', () => {
    const s = { state: emptyState() };
    const t = at(`${MONDAY} 09:00`);
    run(before, s, { type: 'issue', service: 'tu-van', priority: null, source: 'k' }, t, NO_CARRYOVER);
    run(before, s, { type: 'issue', service: 'tu-van', priority: null, source: 'k' }, t, NO_CARRYOVER);
    expect(called(run(before, s, { type: 'next', counter: 8 }, t, NO_CARRYOVER))).toBe('E001');
    const carry = carryoverAfter(before, after, s.state);
    expect(called(run(after, s, { type: 'next', counter: 8 }, t, carry))).toBe('unknown_counter');
    expect(run(after, s, { type: 'finish', counter: 8, dossiers: [] }, t, carry).ok).toBe(true);
    // Without the carryover (another day, or a box that lost it) the counter is simply unknown.
    expect(run(after, s, { type: 'sign_out', counter: 8 }, t, NO_CARRYOVER)).toMatchObject({
      ok: false,
      rejection: { code: 'unknown_counter' },
    });
  });

  it('never issues a number twice when numbering changes to collide with numbers already issued', () => {
    const s = { state: emptyState() };
    const t = at(`${MONDAY} 09:00`);
    const issue = (cfg: BoxConfig, service: string) =>
      issued(run(cfg, s, { type: 'issue', service, priority: null, source: 'k' }, t, NO_CARRYOVER));
    expect([issue(before, 'thue'), issue(before, 'thue'), issue(before, 'thue')]).toEqual([
      '501',
      '502',
      '503',
    ]);
    // The range moves down over the numbers issued: the sequence goes on past them.
    const moved = {
      ...before,
      services: before.services.map((x) =>
        x.id === 'thue' ? { ...x, numbering: { from: 500, to: 504 } } : x,
      ),
    };
    expect(issue(moved, 'thue')).toBe('504'); // seq 4 → 503 is taken → 504
    expect(issue(moved, 'thue')).toBe('numbers_exhausted');
  });
});
