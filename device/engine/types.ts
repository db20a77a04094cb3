// The queue engine's state and commands. State is a projection of the event log.
import type { DomainEvent, ErrorCode, PriorityReason } from '../../protocol/index.js';

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
   * Today's tickets by id. Maps, not plain objects: each event yields a new state, and copying a Map of a
   * thousand tickets costs tens of microseconds where spreading an object of them cost up to a millisecond.
   */
  tickets: ReadonlyMap<string, Ticket>;
  byNumber: ReadonlyMap<string, string>;
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
