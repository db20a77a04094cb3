// The projection: folds committed events into state. Pure, total, and never refuses: the event log is the
// truth, so an event that refers to something unexpected (a counter removed from the config) still applies.
import type { DomainEvent, EventDataOf } from '../../protocol/index.js';
import { Map as PersistentMap } from 'immutable';
import { joinLine, leaveLine, lineOf, linesOf } from './lines.js';
import type { CounterRuntime, QueueState, Ticket, WaitingCount } from './types.js';

const RECENT_SERVICE_TIMES = 20;

export function emptyState(): QueueState {
  return {
    day: null,
    lastSeq: {},
    lastCalled: {},
    issuedToday: 0,
    tickets: PersistentMap(),
    byNumber: PersistentMap(),
    waiting: {},
    lines: {},
    counters: {},
    serviceTimes: {},
  };
}

/** A counter closed with nobody at it: one never used yet, and every counter when a day starts. */
function closedCounter(n: number): CounterRuntime {
  return {
    number: n,
    status: 'closed',
    clerk: null,
    current: null,
    lastFinished: null,
    lastCallWasPriority: false,
  };
}

/** A counter's runtime state. */
export function counterOf(state: QueueState, n: number): CounterRuntime {
  return state.counters[n] ?? closedCounter(n);
}

function withCounter(state: QueueState, n: number, patch: Partial<CounterRuntime>): QueueState {
  return { ...state, counters: { ...state.counters, [n]: { ...counterOf(state, n), ...patch } } };
}

/** `waiting` with `t` counted (+1) or uncounted (-1); unchanged when `t` is not waiting. */
function countWaiting(
  waiting: Record<string, WaitingCount>,
  t: Ticket,
  delta: 1 | -1,
): Record<string, WaitingCount> {
  if (t.status !== 'waiting') return waiting;
  const c = waiting[t.service] ?? { all: 0, priority: 0 };
  const next = { ...waiting };
  const all = c.all + delta;
  if (all === 0)
    delete next[t.service]; // a service nobody waits for has no entry
  else next[t.service] = { all, priority: c.priority + (t.priority !== null ? delta : 0) };
  return next;
}

function withTicket(state: QueueState, id: string, patch: Partial<Ticket>): QueueState {
  const t = state.tickets.get(id);
  if (!t) return state;
  const next = { ...t, ...patch };
  const was = t.status === 'waiting';
  const is = next.status === 'waiting';
  // A ticket changes line when it starts or stops waiting, or when a transfer moves it to another line.
  const moved = was && is && lineOf(t) !== lineOf(next);
  let lines = state.lines;
  if (was && (!is || moved)) lines = leaveLine(lines, t);
  if (is && (!was || moved)) lines = joinLine(lines, next);
  return {
    ...state,
    tickets: state.tickets.set(id, next),
    waiting: countWaiting(countWaiting(state.waiting, t, -1), next, 1),
    lines,
  };
}

/** Counts the waiting tickets from scratch (a snapshot written before the counts were kept). */
function recountWaiting(tickets: Iterable<Ticket>): Record<string, WaitingCount> {
  let waiting: Record<string, WaitingCount> = {};
  for (const t of tickets) waiting = countWaiting(waiting, t, 1);
  return waiting;
}

function releaseCounter(state: QueueState, counter: number, ticketId: string): QueueState {
  const c = counterOf(state, counter);
  return c.current === ticketId ? withCounter(state, counter, { current: null }) : state;
}

type Reducer<T extends DomainEvent['type']> = (s: QueueState, d: EventDataOf<T>, at: number) => QueueState;

const reducers: { [T in DomainEvent['type']]: Reducer<T> } = {
  'day.started': (s, d) => {
    // Nothing carries over: tickets are gone and every counter is closed until a clerk opens it again, so
    // yesterday's open counters do not shorten this morning's wait estimates.
    // Only the recent service times are kept: they are how long a service takes, not who is waiting.
    const counters: Record<number, CounterRuntime> = {};
    for (const c of Object.values(s.counters)) counters[c.number] = closedCounter(c.number);
    return { ...emptyState(), day: d.day, counters, serviceTimes: s.serviceTimes };
  },
  'ticket.issued': (s, d, at) => {
    const place = s.issuedToday + 1;
    const ticket: Ticket = {
      id: d.ticketId,
      number: d.number,
      seq: d.seq,
      service: d.service,
      priority: d.priority,
      issuedAt: at,
      place,
      status: 'waiting',
      counter: null,
      targetCounter: null,
      calledAt: null,
      servingSince: null,
      recalls: 0,
      rated: false,
      dossiers: [],
      clerk: null,
    };
    return {
      ...s,
      lastSeq: { ...s.lastSeq, [d.service]: d.seq },
      issuedToday: place,
      tickets: s.tickets.set(d.ticketId, ticket),
      byNumber: s.byNumber.set(d.number, d.ticketId),
      waiting: countWaiting(s.waiting, ticket, 1),
      lines: joinLine(s.lines, ticket),
    };
  },
  'ticket.called': (s, d, at) => {
    const prev = s.tickets.get(d.ticketId);
    const next = withTicket(s, d.ticketId, {
      status: 'called',
      counter: d.counter,
      targetCounter: null,
      calledAt: at,
      servingSince: null,
      recalls: 0,
      clerk: d.clerk,
    });
    const called = { ...next, lastCalled: { ...next.lastCalled, [d.service]: d.number } };
    // A call ends the previous citizen's chance to rate (issue 14, #11): the one who walks up must not rate
    // the visit before theirs.
    return withCounter(called, d.counter, {
      current: d.ticketId,
      lastFinished: null,
      lastCallWasPriority: prev?.priority != null,
    });
  },
  'ticket.recalled': (s, d) => withTicket(s, d.ticketId, { recalls: d.recalls }),
  'ticket.serving': (s, d) => withTicket(s, d.ticketId, { status: 'serving', servingSince: d.since }),
  'ticket.finished': (s, d) => {
    const t = s.tickets.get(d.ticketId);
    let next = withTicket(s, d.ticketId, {
      status: 'finished',
      dossiers: t ? unique([...t.dossiers, ...d.dossiers]) : d.dossiers,
      clerk: d.clerk ?? t?.clerk ?? null,
    });
    next = releaseCounter(next, d.counter, d.ticketId);
    next = withCounter(next, d.counter, { lastFinished: d.ticketId });
    const times = [...(next.serviceTimes[d.service] ?? []), d.serviceMs].slice(-RECENT_SERVICE_TIMES);
    return { ...next, serviceTimes: { ...next.serviceTimes, [d.service]: times } };
  },
  'ticket.no_show': (s, d) =>
    releaseCounter(
      withTicket(s, d.ticketId, { status: 'no_show', recalls: d.recalls }),
      d.counter,
      d.ticketId,
    ),
  'ticket.transferred': (s, d) =>
    releaseCounter(
      withTicket(s, d.ticketId, {
        status: 'waiting',
        service: d.toService,
        targetCounter: d.toCounter,
        counter: null,
        calledAt: null,
        servingSince: null,
        recalls: 0,
      }),
      d.fromCounter,
      d.ticketId,
    ),
  'counter.opened': (s, d) => withCounter(s, d.counter, { status: 'open' }),
  'counter.signed_in': (s, d) =>
    withCounter(s, d.counter, {
      clerk: d.clerk,
      status: counterOf(s, d.counter).status === 'paused' ? 'paused' : 'open',
    }),
  'counter.signed_out': (s, d) =>
    withCounter(s, d.counter, d.handover ? { clerk: null } : { clerk: null, status: 'closed' }),
  'counter.paused': (s, d) => withCounter(s, d.counter, { status: 'paused' }),
  'counter.resumed': (s, d) => withCounter(s, d.counter, { status: 'open' }),
  'rating.submitted': (s, d) => withTicket(s, d.ticketId, { rated: true }),
  'dossier.linked': (s, d) => {
    const t = s.tickets.get(d.ticketId);
    return t ? withTicket(s, d.ticketId, { dossiers: unique([...t.dossiers, d.code]) }) : s;
  },
};

function unique(xs: string[]): string[] {
  return [...new Set(xs)];
}

/** Applies one committed event. `at` is the event's commit time (epoch ms). */
export function evolve(state: QueueState, event: DomainEvent, at: number): QueueState {
  const reducer = reducers[event.type] as Reducer<typeof event.type>;
  return reducer(state, event.data as never, at);
}

export function replay(
  events: Iterable<{ event: DomainEvent; at: number }>,
  from: QueueState = emptyState(),
): QueueState {
  let s = from;
  for (const { event, at } of events) s = evolve(s, event, at);
  return s;
}

/**
 * A state as JSON (for day snapshots): maps become arrays of entries; the waiting counts and lines are
 * derived, so they are left out and rebuilt on reading.
 */
export function serializeState(state: QueueState): string {
  const { waiting: _counts, lines: _lines, ...rest } = state;
  return JSON.stringify({
    ...rest,
    tickets: [...state.tickets.entries()],
    byNumber: [...state.byNumber.entries()],
  });
}

/** The inverse of serializeState; also reads snapshots written when tickets were plain objects. */
export function deserializeState(json: string): QueueState {
  const raw = JSON.parse(json) as Omit<QueueState, 'tickets' | 'byNumber'> & {
    tickets: unknown;
    byNumber: unknown;
  };
  const entries = <V>(x: unknown): [string, V][] =>
    Array.isArray(x) ? (x as [string, V][]) : Object.entries((x ?? {}) as Record<string, V>);
  const tickets = PersistentMap(entries<Ticket>(raw.tickets));
  return {
    ...emptyState(),
    ...raw,
    tickets,
    byNumber: PersistentMap(entries<string>(raw.byNumber)),
    waiting: recountWaiting(tickets.values()),
    lines: linesOf(tickets.values()),
  };
}
