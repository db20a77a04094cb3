// The event stream: what happened in the office, in order. Each event is committed on the box before any
// effect of it (a printed ticket, a call, a display update) is produced, and is uplinked to the cloud.
import { Type, type Static } from '@sinclair/typebox';
import { PRIORITY_REASONS } from './messages.js';

const Priority = Type.Union([...PRIORITY_REASONS.map((p) => Type.Literal(p)), Type.Null()]);
const Clerk = Type.Union([Type.Object({ id: Type.String(), name: Type.String() }), Type.Null()]);
const TicketRef = { ticketId: Type.String(), number: Type.String(), service: Type.String() };
const Ms = Type.Integer({ minimum: 0, description: 'Epoch milliseconds' });

export const EventData = {
  'day.started': Type.Object({ day: Type.String(), previousDay: Type.Union([Type.String(), Type.Null()]) }),
  'ticket.issued': Type.Object({
    ...TicketRef,
    seq: Type.Integer({ minimum: 1, description: 'Numeric part, per service per day' }),
    priority: Priority,
    ahead: Type.Integer({ minimum: 0 }),
    estimatedWaitMin: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]),
    source: Type.Union([Type.String(), Type.Null()], { description: 'The kiosk that asked' }),
    delivery: Type.Optional(
      Type.Literal('screen', { description: 'Shown on the kiosk screen only; absent: printed' }),
    ),
  }),
  'ticket.called': Type.Object({
    ...TicketRef,
    counter: Type.Integer(),
    clerk: Clerk,
    how: Type.Union([Type.Literal('next'), Type.Literal('number')]),
    waitedMs: Ms,
  }),
  'ticket.recalled': Type.Object({
    ...TicketRef,
    counter: Type.Integer(),
    recalls: Type.Integer({ minimum: 1 }),
  }),
  'ticket.serving': Type.Object({
    ...TicketRef,
    counter: Type.Integer(),
    since: Ms,
    implicit: Type.Boolean({ description: 'True when the clerk went on without pressing serve' }),
  }),
  'ticket.finished': Type.Object({
    ...TicketRef,
    counter: Type.Integer(),
    clerk: Clerk,
    serviceMs: Ms,
    dossiers: Type.Array(Type.String()),
    implicit: Type.Boolean({ description: 'True when finished by calling the next ticket' }),
  }),
  'ticket.no_show': Type.Object({
    ...TicketRef,
    counter: Type.Integer(),
    recalls: Type.Integer({ minimum: 0 }),
    reason: Type.Union([Type.Literal('clerk'), Type.Literal('recalls_exhausted')]),
  }),
  'ticket.transferred': Type.Object({
    ...TicketRef,
    fromCounter: Type.Integer(),
    toService: Type.String(),
    toCounter: Type.Union([Type.Integer(), Type.Null()]),
  }),
  'counter.opened': Type.Object({ counter: Type.Integer() }),
  'counter.signed_in': Type.Object({
    counter: Type.Integer(),
    clerk: Type.Object({ id: Type.String(), name: Type.String() }),
  }),
  'counter.signed_out': Type.Object({
    counter: Type.Integer(),
    clerk: Clerk,
    handover: Type.Optional(
      Type.Boolean({ description: 'Another clerk signs in at once: the counter stays as it was' }),
    ),
  }),
  'counter.paused': Type.Object({
    counter: Type.Integer(),
    reason: Type.Union([Type.String(), Type.Null()]),
  }),
  'counter.resumed': Type.Object({ counter: Type.Integer() }),
  'rating.submitted': Type.Object({
    ticketId: Type.String(),
    number: Type.String(),
    service: Type.String(),
    counter: Type.Integer(),
    clerk: Clerk,
    score: Type.Integer({ minimum: 1, description: 'At most scaleMax' }),
    scaleMax: Type.Integer({ minimum: 2, maximum: 10, description: 'The number of levels of the scale' }),
    reasons: Type.Array(Type.String()),
  }),
  'dossier.linked': Type.Object({ ...TicketRef, counter: Type.Integer(), code: Type.String() }),
} as const;

export type EventType = keyof typeof EventData;
export const EVENT_TYPES = Object.keys(EventData) as EventType[];
export type EventDataOf<T extends EventType> = Static<(typeof EventData)[T]>;

/** An event as the engine decides it (before it has a sequence number). */
export type DomainEvent = { [T in EventType]: { type: T; data: EventDataOf<T> } }[EventType];

/** An event as committed and published on `lobby/v1/events/<type>`. */
export const EventEnvelope = Type.Object({
  seq: Type.Integer({ minimum: 1, description: 'Position in the box event log; gap-free' }),
  type: Type.Union(EVENT_TYPES.map((t) => Type.Literal(t))),
  at: Type.String({ description: 'ISO 8601, UTC' }),
  day: Type.String({ description: 'Office day, YYYY-MM-DD in the office timezone' }),
  data: Type.Record(Type.String(), Type.Unknown()),
});
export type EventEnvelope = Static<typeof EventEnvelope>;
