// The queue engine's state and commands. State is a projection of the event log.
import type { List as PersistentList, Map as PersistentMap } from 'immutable';
import type { DomainEvent, ErrorCode, PriorityReason } from '../../protocol/index.js';
import type { CounterConfig, ServiceConfig } from '../config/schema.js';

export type TicketStatus = 'waiting' | 'called' | 'serving' | 'finished' | 'no_show';

export interface Clerk {
  id: string;
  name: string;
}

export interface Ticket {
  id: string;
  number: string;
  seq: number;
  service: string;
  priority: PriorityReason | null;
  issuedAt: number;
  /** Place in line: the order of issue today. Kept across transfers, so a transferred citizen keeps their place. */
  place: number;
  status: TicketStatus;
  counter: number | null;
  /** Set by a transfer to a specific counter: only that counter may call it. */
  targetCounter: number | null;
  calledAt: number | null;
  servingSince: number | null;
  recalls: number;
  rated: boolean;
  dossiers: string[];
  /** The clerk who called (and then finished) it: ratings are credited to them. */
  clerk: Clerk | null;
}

export interface WaitingCount {
  all: number;
  priority: number;
}

/** A waiting ticket's place in a line: the place orders the line, the id finds the ticket. */
export interface LinePlace {
  readonly place: number;
  readonly id: string;
}

/** One line of waiting tickets, the lowest place (the longest waiting) first. */
export type WaitingLine = PersistentList<LinePlace>;

export type CounterStatus = 'closed' | 'open' | 'paused';

export interface CounterRuntime {
  number: number;
  status: CounterStatus;
  clerk: Clerk | null;
  current: string | null;
  /** The ticket finished last here, still open for its rating. */
  lastFinished: string | null;
  lastCallWasPriority: boolean;
}

export interface QueueState {
  day: string | null;
  /** Last numeric part issued, per service, today. */
  lastSeq: Record<string, number>;
  /** Last number called, per service (the service it was called for), today. */
  lastCalled: Record<string, string>;
  issuedToday: number;
  /**
   * Today's tickets by id, in a persistent map (immutable.js): each event yields a new state, and a
   * persistent map updates one ticket in O(log n) where copying a native Map of the day's tickets costs
   * O(n) per event (see test/bench).
   * Reading is as with a native Map: get, has, size, values(), iteration in insertion order.
   */
  tickets: PersistentMap<string, Ticket>;
  byNumber: PersistentMap<string, string>;
  /**
   * Waiting tickets per service (all, and those with priority), kept by evolve as tickets change: the
   * people-ahead count and every service's waiting figure are read on each commit without a scan.
   */
  waiting: Record<string, WaitingCount>;
  /**
   * Every waiting ticket, in lines kept by evolve (see `lineOf`): a service's priority tickets, its other
   * tickets, and the tickets transferred to one counter, each line in order of place. `next` reads the
   * heads of the counter's lines instead of looking through everybody waiting.
   */
  lines: Record<string, WaitingLine>;
  counters: Record<number, CounterRuntime>;
  /** Recent service durations (ms) per service, newest last; feeds the wait estimate. */
  serviceTimes: Record<string, number[]>;
}

type C<T extends string, P = object> = { type: T } & P;
type AtCounter<T extends string, P = object> = C<T, { counter: number } & P>;

export type Command =
  | C<'tick'>
  | C<
      'issue',
      {
        service: string;
        priority: PriorityReason | null;
        source: string | null;
        delivery?: 'print' | 'screen';
      }
    >
  | AtCounter<'next'>
  | AtCounter<'recall'>
  | AtCounter<'no_show'>
  | AtCounter<'call', { number: string }>
  | AtCounter<'serve'>
  | AtCounter<'transfer', { toService?: string | undefined; toCounter?: number | undefined }>
  | AtCounter<'finish', { dossiers: string[] }>
  | AtCounter<'pause', { reason: string | null }>
  | AtCounter<'resume'>
  /** Opens a closed counter with nobody signed in (an admin's fleet command); an open one stays as it is. */
  | AtCounter<'open'>
  | AtCounter<'sign_in', { clerk: string }>
  | AtCounter<'sign_out'>
  | AtCounter<'rate', { score: number; reasons: string[]; ticketId?: string | undefined }>
  | AtCounter<'link_dossier', { code: string }>;

export interface Rejection {
  code: ErrorCode;
  params: Record<string, string | number>;
}

/** On acceptance, the events and the state they lead to (the caller need not evolve them again). */
export type Decision =
  { ok: true; events: DomainEvent[]; state: QueueState } | { ok: false; rejection: Rejection };

/**
 * What a live config change (the fleet) leaves behind for the rest of its office day: the services and
 * counters it removed. Their tickets are never lost: a removed service's waiting tickets are still called by
 * the counters that served it, and a removed counter keeps the ticket it called until the clerk finishes it.
 * Data, not state: the engine reads it like the config; it is ignored once `day` is over.
 */
export interface Carryover {
  day: string | null;
  services: { service: ServiceConfig; servedBy: number[] }[];
  counters: CounterConfig[];
}
