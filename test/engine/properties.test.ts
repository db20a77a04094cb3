// Property tests: random keypad and kiosk sessions, checked against the invariants of the queue.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BoxConfig, CounterConfig } from '../../device/config/schema.js';
import {
  decide,
  evolve,
  replay,
  deserializeState,
  linesOf,
  pickNext,
  serializeState,
  type Command,
  type QueueState,
  type Ticket,
} from '../../device/engine/index.js';
import { PRIORITY_REASONS, type DomainEvent, type PriorityReason } from '../../protocol/index.js';
import { allHoursConfig, at, communeConfig, MINUTE, MONDAY } from './fixtures.js';

const HOUR = 60 * MINUTE;
const COUNTERS = [1, 2, 3, 4, 5, 6, 7, 8, 9]; // 9 does not exist
const CLERKS = ['lan.nt', 'hung.tv', 'mai.lt', 'tuan.pm', 'ghost'];

/** A command in the abstract: numbers and codes are resolved against the state when it is applied. */
type Op =
  | { kind: 'tick' }
  | { kind: 'issue'; service: number; priority: PriorityReason | null }
  | { kind: 'next' | 'recall' | 'no_show' | 'serve' | 'pause' | 'resume' | 'sign_out'; counter: number }
  | { kind: 'call'; counter: number; pick: number }
  | { kind: 'transfer'; counter: number; toService: number | null; toCounter: number | null }
  | { kind: 'finish'; counter: number; dossiers: 'none' | 'valid' | 'invalid' }
  | { kind: 'sign_in'; counter: number; clerk: number }
  | { kind: 'rate'; counter: number; score: number }
  | { kind: 'link'; counter: number; valid: boolean };

// Mostly the busy counters (two hộ tịch counters, the alternate one, the service-order one), any counter now and then.
const counter = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(2, 3, 5, 7) }, fc.constantFrom(...COUNTERS));
const atCounter = (kind: 'next' | 'recall' | 'no_show' | 'serve' | 'pause' | 'resume' | 'sign_out') =>
  fc.record({ kind: fc.constant(kind), counter });

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.record({
      kind: fc.constant('issue' as const),
      service: fc.nat({ max: 6 }), // 6 = an unknown service
      priority: fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, fc.constantFrom(...PRIORITY_REASONS)),
    }),
  },
  { weight: 8, arbitrary: atCounter('next') },
  { weight: 2, arbitrary: atCounter('recall') },
  { weight: 1, arbitrary: atCounter('no_show') },
  { weight: 2, arbitrary: atCounter('serve') },
  { weight: 1, arbitrary: atCounter('pause') },
  { weight: 1, arbitrary: atCounter('resume') },
  { weight: 1, arbitrary: atCounter('sign_out') },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('call' as const), counter, pick: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('transfer' as const),
      counter,
      toService: fc.option(fc.nat({ max: 6 })),
      toCounter: fc.option(counter),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('finish' as const),
      counter,
      dossiers: fc.constantFrom('none' as const, 'valid' as const, 'invalid' as const),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('sign_in' as const),
      counter,
      clerk: fc.nat({ max: CLERKS.length - 1 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('rate' as const),
      counter,
      score: fc.integer({ min: 1, max: 5 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('link' as const), counter, valid: fc.boolean() }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'tick' as const }) },
);

/** Mostly seconds to minutes; sometimes hours; now and then most of a day, so midnight is crossed. */
const step = fc.oneof(
  { weight: 24, arbitrary: fc.integer({ min: 0, max: 5 * MINUTE }) },
  { weight: 2, arbitrary: fc.integer({ min: 5 * MINUTE, max: 3 * HOUR }) },
  { weight: 1, arbitrary: fc.integer({ min: 6 * HOUR, max: 20 * HOUR }) },
);

const session = fc.array(fc.record({ op, advance: step }), { minLength: 5, maxLength: 80, size: 'max' });

let serial = 0;
function materialize(cfg: BoxConfig, o: Op, state: QueueState): Command {
  const serviceId = (i: number) => cfg.services[i]?.id ?? 'ho-chieu';
  const code = () => `000.00.04.H12-261123-${String(++serial % 10_000).padStart(4, '0')}`;
  switch (o.kind) {
    case 'tick':
      return { type: 'tick' };
    case 'issue':
      return { type: 'issue', service: serviceId(o.service), priority: o.priority, source: 'kiosk-1' };
    case 'call': {
      const numbers = [...state.byNumber.keys()];
      return {
        type: 'call',
        counter: o.counter,
        number: numbers[o.pick % Math.max(1, numbers.length)] ?? 'A999',
      };
    }
    case 'transfer':
      return {
        type: 'transfer',
        counter: o.counter,
        toService: o.toService === null ? undefined : serviceId(o.toService),
        toCounter: o.toCounter ?? undefined,
      };
    case 'finish':
      return {
        type: 'finish',
        counter: o.counter,
        dossiers:
          o.dossiers === 'none' ? [] : o.dossiers === 'valid' ? [code()] : ['000.00.04.H12-261323-0001'],
      };
    case 'sign_in':
      return { type: 'sign_in', counter: o.counter, clerk: CLERKS[o.clerk] ?? 'ghost' };
    case 'rate':
      return { type: 'rate', counter: o.counter, score: o.score, reasons: [] };
    case 'link':
      return { type: 'link_dossier', counter: o.counter, code: o.valid ? code() : 'HS-bad' };
    case 'pause':
      return { type: 'pause', counter: o.counter, reason: null };
    default:
      return { type: o.kind, counter: o.counter };
  }
}

/** Who `next` should call, restated from the policies' definitions (an oracle independent of views.ts). */
function expectedNext(c: CounterConfig, state: QueueState): Ticket | undefined {
  const eligible = [...state.tickets.values()]
    .filter((t) => t.status === 'waiting')
    .filter((t) => (t.targetCounter === null ? c.services.includes(t.service) : t.targetCounter === c.number))
    .sort((a, b) => a.place - b.place);
  const prioFirst = (ts: Ticket[]) => ts.find((t) => t.priority !== null) ?? ts[0];
  switch (c.policy) {
    case 'priority-first':
      return prioFirst(eligible);
    case 'service-order':
      for (const s of c.services) {
        const pick = prioFirst(eligible.filter((t) => t.service === s));
        if (pick) return pick;
      }
      return prioFirst(eligible);
    case 'alternate': {
      const prio = eligible.find((t) => t.priority !== null);
      const normal = eligible.find((t) => t.priority === null);
      return state.counters[c.number]?.lastCallWasPriority ? (normal ?? prio) : (prio ?? normal);
    }
  }
}

/** The waiting lines as plain data, to compare. */
function linesAsJson(state: Pick<QueueState, 'lines'>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(state.lines).map(([k, line]) => [k, line.toJS()]));
}

/** (b) Each called or served citizen stands at exactly one counter, the one their ticket names. */
function checkCounters(state: QueueState): void {
  const holders = new Map<string, number>();
  for (const c of Object.values(state.counters)) {
    if (c.current === null) continue;
    expect(holders.has(c.current), `${c.current} current at ${holders.get(c.current)} and ${c.number}`).toBe(
      false,
    );
    holders.set(c.current, c.number);
    const t = state.tickets.get(c.current);
    expect(t, `counter ${c.number} holds a ticket that does not exist`).toBeDefined();
    expect(['called', 'serving']).toContain(t?.status);
    expect(t?.counter).toBe(c.number);
  }
  for (const t of [...state.tickets.values()]) {
    if (t.status === 'called' || t.status === 'serving')
      expect(holders.get(t.id), `${t.number} is at no counter`).toBe(t.counter);
    if (t.status === 'waiting') expect(t.counter).toBeNull();
  }
  // The waiting counts kept by evolve match a count from scratch (they feed "people ahead").
  const counted: Record<string, { all: number; priority: number }> = {};
  for (const t of state.tickets.values()) {
    if (t.status !== 'waiting') continue;
    const c = (counted[t.service] ??= { all: 0, priority: 0 });
    c.all++;
    if (t.priority !== null) c.priority++;
  }
  for (const [service, c] of Object.entries(state.waiting))
    expect(c, `waiting count of ${service}`).toEqual(counted[service] ?? { all: 0, priority: 0 });
  for (const service of Object.keys(counted)) expect(state.waiting[service]).toBeDefined();
  // …and so do the waiting lines (they feed `next`): each waiting ticket in its line, in order of place.
  expect(linesAsJson(state)).toEqual(linesAsJson({ lines: linesOf(state.tickets.values()) }));
}

interface Stats {
  accepted: number;
  refused: number;
  issued: number;
  called: number;
  days: number;
  /** `next` calls where both priority and normal citizens were waiting for that counter. */
  contested: number;
}

function simulate(cfg: BoxConfig, start: number, steps: { op: Op; advance: number }[], stats: Stats): void {
  let state: QueueState = replay([]);
  let now = start;
  const log: { event: DomainEvent; at: number }[] = [];
  const issued = new Set<string>(); // day|number
  const lastSeq = new Map<string, number>(); // day|service -> seq
  for (const { op: o, advance } of steps) {
    now += advance;
    const command = materialize(cfg, o, state);
    const before = state;
    const snapshot = serializeState(state);
    const d = decide(cfg, state, command, now);
    // (e) a refused command changes nothing; no command mutates the state it is decided against
    expect(serializeState(before), `${command.type} mutated its input state`).toBe(snapshot);
    if (!d.ok) {
      stats.refused++;
      continue;
    }
    stats.accepted++;
    let s = state;
    for (const e of d.events) {
      if (e.type === 'ticket.issued') {
        // (a) numbers are unique per service per day (and across services, since byNumber is one map),
        // and each service counts 1, 2, 3… from the start of the office day
        const key = `${s.day}|${e.data.number}`;
        expect(issued.has(key), `${key} issued twice`).toBe(false);
        issued.add(key);
        const seqKey = `${s.day}|${e.data.service}`;
        expect(e.data.seq).toBe((lastSeq.get(seqKey) ?? 0) + 1);
        lastSeq.set(seqKey, e.data.seq);
        expect(e.data.ticketId).toBe(`${s.day}/${e.data.number}`);
        stats.issued++;
      }
      if (e.type === 'ticket.called' && command.type === 'next') {
        // (c) `next` calls the ticket its policy names; under priority-first a normal ticket is only called
        // when no priority ticket this counter could call is waiting
        const c = cfg.counters.find((x) => x.number === e.data.counter);
        if (!c) throw new Error(`next at unknown counter ${e.data.counter}`);
        const called = s.tickets.get(e.data.ticketId);
        expect(called?.status).toBe('waiting');
        if (c.policy === 'priority-first' && called?.priority === null) {
          const skipped = [...s.tickets.values()].filter(
            (t) =>
              t.status === 'waiting' &&
              t.priority !== null &&
              (t.targetCounter === null ? c.services.includes(t.service) : t.targetCounter === c.number),
          );
          expect(skipped.map((t) => t.number)).toEqual([]);
        }
        expect(e.data.ticketId).toBe(expectedNext(c, s)?.id);
        stats.called++;
        const waiting = [...s.tickets.values()].filter(
          (t) =>
            t.status === 'waiting' &&
            (t.targetCounter === null ? c.services.includes(t.service) : t.targetCounter === c.number),
        );
        if (waiting.some((t) => t.priority === null) && waiting.some((t) => t.priority !== null))
          stats.contested++;
      }
      if (e.type === 'day.started') stats.days++;
      s = evolve(s, e, now);
      log.push({ event: e, at: now });
    }
    state = s;
    checkCounters(state); // (b)
    // (c) at every step, each counter's next citizen (read from the heads of its lines) is the oracle's
    for (const c of cfg.counters)
      expect(pickNext(c, state)?.number, `next at counter ${c.number}`).toBe(expectedNext(c, state)?.number);
  }
  // (d) the event log alone rebuilds the state
  const replayed = replay(log);
  expect(serializeState(replayed)).toBe(serializeState(state));
  expect(replayed.waiting).toEqual(state.waiting);
  expect(linesAsJson(replayed)).toEqual(linesAsJson(state));
  // …and so does a day snapshot (what the box starts from)
  const restored = deserializeState(serializeState(state));
  expect(serializeState(restored)).toBe(serializeState(state));
  expect(restored.waiting).toEqual(state.waiting);
  expect(linesAsJson(restored)).toEqual(linesAsJson(state));
}

const OFFICES: [string, BoxConfig, number][] = [
  ['an office issuing around the clock', allHoursConfig(), at(`${MONDAY} 07:30`)],
  ['the commune office with its real hours', communeConfig(), at(`${MONDAY} 07:30`)],
];

describe.each(OFFICES)('random sessions at %s', (_name, cfg, start) => {
  it('keep numbers unique, counters consistent, priority respected, the log replayable, refusals inert', () => {
    const stats: Stats = { accepted: 0, refused: 0, issued: 0, called: 0, days: 0, contested: 0 };
    fc.assert(
      fc.property(session, (steps) => simulate(cfg, start, steps, stats)),
      { numRuns: 250 },
    );
    // The generator really exercises the engine: tickets issued and called, days turned, commands refused.
    expect(stats.issued).toBeGreaterThan(400);
    expect(stats.called).toBeGreaterThan(120);
    expect(stats.contested).toBeGreaterThan(5);
    expect(stats.days).toBeGreaterThan(150);
    expect(stats.refused).toBeGreaterThan(1500);
  });
});

describe('crossing midnight in UTC+7', () => {
  it('numbering restarts exactly when the office date changes, whatever the UTC date says', () => {
    const cfg = allHoursConfig();
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 4 * HOUR }), { minLength: 1, maxLength: 30 }),
        (gaps) => {
          let state = replay([]);
          let now = at(`${MONDAY} 20:00`);
          let expected = 0;
          let day = '';
          for (const gap of gaps) {
            now += gap;
            const localDay = new Date(now + 7 * HOUR).toISOString().slice(0, 10);
            if (localDay !== day) expected = 0;
            day = localDay;
            const d = decide(
              cfg,
              state,
              { type: 'issue', service: 'ho-tich', priority: null, source: null },
              now,
            );
            const hhmm = new Date(now + 7 * HOUR).toISOString().slice(11, 16);
            if (hhmm >= '23:59') {
              expect(d.ok).toBe(false); // the session closes at 23:59
              continue;
            }
            if (!d.ok) throw new Error(d.rejection.code);
            for (const e of d.events) state = evolve(state, e, now);
            expected++;
            expect(state.day).toBe(localDay);
            expect(state.lastSeq['ho-tich']).toBe(expected);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
