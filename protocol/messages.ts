// One schema per message. The box validates with these, the simulators build with them, the cloud
// ingests with them. TypeBox gives both the JSON Schema and the TypeScript type from one definition.
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { CounterAction } from './topics.js';

export const PRIORITY_REASONS = ['elderly', 'disability', 'pregnant', 'child'] as const;
export type PriorityReason = (typeof PRIORITY_REASONS)[number];

const RequestId = Type.String({
  minLength: 1,
  maxLength: 64,
  description: "Sender's correlation id, echoed in the reply",
});
const ServiceId = Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,31}$', description: 'Service (lĩnh vực) id' });
const TicketNumber = Type.String({
  pattern: '^[A-Z]{0,3}[0-9]{1,6}$',
  description: 'Ticket number as printed, e.g. A012',
});
const CounterNo = Type.Integer({ minimum: 1, maximum: 9999 });
const DossierCode = Type.String({ minLength: 1, maxLength: 64 });
const Priority = Type.Union(
  PRIORITY_REASONS.map((p) => Type.Literal(p)),
  { description: 'Why the ticket has priority; absent or null for a normal ticket' },
);
const Iso = Type.String({ description: 'ISO 8601 time, UTC' });
const Bilingual = Type.Object({ vi: Type.String(), en: Type.String() });

// ---- requests (device -> box) ---------------------------------------------------------------------

export const TicketRequest = Type.Object(
  {
    id: RequestId,
    service: ServiceId,
    priority: Type.Optional(Type.Union([Priority, Type.Null()])),
    delivery: Type.Optional(
      Type.Union([Type.Literal('print'), Type.Literal('screen')], {
        description:
          'print (default): the ticket is printed, and refused with printer_unavailable while the ' +
          "kiosk's printer cannot print; screen: shown on the kiosk only (its QR code), nothing printed",
      }),
    ),
  },
  { additionalProperties: false },
);
export type TicketRequest = Static<typeof TicketRequest>;

const Bare = Type.Object({ id: RequestId }, { additionalProperties: false });

export const CounterCommandSchemas = {
  next: Bare,
  recall: Bare,
  no_show: Bare,
  serve: Bare,
  resume: Bare,
  sign_out: Bare,
  call: Type.Object({ id: RequestId, number: TicketNumber }, { additionalProperties: false }),
  transfer: Type.Object(
    {
      id: RequestId,
      toService: Type.Optional(ServiceId),
      toCounter: Type.Optional(CounterNo),
    },
    { additionalProperties: false },
  ),
  finish: Type.Object(
    { id: RequestId, dossiers: Type.Optional(Type.Array(DossierCode, { maxItems: 20 })) },
    { additionalProperties: false },
  ),
  pause: Type.Object(
    { id: RequestId, reason: Type.Optional(Type.String({ maxLength: 200 })) },
    { additionalProperties: false },
  ),
  sign_in: Type.Object(
    {
      id: RequestId,
      clerk: Type.String({ minLength: 1, maxLength: 64, description: 'Clerk id from the box config' }),
    },
    { additionalProperties: false },
  ),
} satisfies Record<CounterAction, TSchema>;
export type CounterCommandPayload<A extends CounterAction> = Static<(typeof CounterCommandSchemas)[A]>;

export const RatingSubmit = Type.Object(
  {
    id: RequestId,
    score: Type.Integer({
      minimum: 1,
      maximum: 10,
      description: '1 = least satisfied; the scale is in the rating session',
    }),
    reasons: Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { maxItems: 10 })),
    ticketId: Type.Optional(Type.String({ maxLength: 64 })),
  },
  { additionalProperties: false },
);
export type RatingSubmit = Static<typeof RatingSubmit>;

export const DossierScan = Type.Object({ id: RequestId, code: DossierCode }, { additionalProperties: false });
export type DossierScan = Static<typeof DossierScan>;

/** Kiosk → box on `tickets/printed`: the print job `jobId` came out of the printer. */
export const PrintDone = Type.Object(
  { id: RequestId, jobId: Type.String({ minLength: 1, maxLength: 64 }) },
  { additionalProperties: false },
);
export type PrintDone = Static<typeof PrintDone>;

// ---- replies (box -> device) ----------------------------------------------------------------------

export const ErrorBody = Type.Object({
  code: Type.String(),
  message: Bilingual,
  detail: Type.Optional(Type.String()),
});
export type ErrorBody = Static<typeof ErrorBody>;

export const Reply = Type.Object({
  id: Type.Union([RequestId, Type.Null()], {
    description: 'The request id; null when the request could not be read',
  }),
  topic: Type.String({ description: 'The topic the request was published on' }),
  status: Type.Union([Type.Literal('ok'), Type.Literal('error')]),
  data: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  error: Type.Optional(ErrorBody),
});
export type Reply = Static<typeof Reply>;

// ---- presence -------------------------------------------------------------------------------------

export const Presence = Type.Object(
  {
    online: Type.Boolean(),
    session: Type.Integer({
      minimum: 0,
      description: 'Connection counter (like Sparkplug bdSeq): the same in a birth and in its Will',
    }),
    ts: Type.Optional(Iso),
    version: Type.Optional(Type.String({ maxLength: 64 })),
  },
  { additionalProperties: true },
);
export type Presence = Static<typeof Presence>;

// ---- device status (device or box -> everyone allowed) --------------------------------------------

export const PRINTER_STATES = [
  'ready',
  'paper_near_end',
  'paper_out',
  'cover_open',
  'offline',
  'error',
] as const;
export type PrinterState = (typeof PRINTER_STATES)[number];

export const DeviceStatus = Type.Object(
  {
    ts: Iso,
    ok: Type.Boolean({ description: 'The device can do its job now' }),
    detail: Type.Optional(Type.String({ maxLength: 200, description: 'Why not, for an admin' })),
    printer: Type.Optional(
      Type.Object(
        {
          state: Type.Union(PRINTER_STATES.map((p) => Type.Literal(p))),
          canPrint: Type.Boolean({ description: 'ready or paper_near_end' }),
        },
        { additionalProperties: true },
      ),
    ),
  },
  { additionalProperties: true },
);
export type DeviceStatus = Static<typeof DeviceStatus>;

// ---- outputs to peripherals (box -> device) -------------------------------------------------------

export const LedText = Type.Object({
  lines: Type.Array(Type.String(), { minItems: 1, maxItems: 4 }),
  blink: Type.Boolean({ description: 'Blink the second line briefly: a new call' }),
  brightness: Type.Integer({ minimum: 0, maximum: 100 }),
  blank: Type.Boolean({ description: 'Nothing to show: the board may switch off' }),
});
export type LedText = Static<typeof LedText>;

export const TicketView = Type.Object({
  ticketId: Type.String(),
  number: Type.String(),
  service: Type.String(),
  serviceName: Type.String(),
  priority: Type.Union([Priority, Type.Null()]),
  ahead: Type.Integer({ minimum: 0 }),
  estimatedWaitMin: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]),
  issuedAt: Iso,
});
export type TicketView = Static<typeof TicketView>;

export const PrintJob = Type.Object({
  jobId: Type.String({
    description:
      "The ticket's id (`<day>/<number>`): the same on every send of the job, before and after a box " +
      'restart. Print once per jobId, then acknowledge it on tickets/printed',
  }),
  officeName: Type.String(),
  ticket: TicketView,
});
export type PrintJob = Static<typeof PrintJob>;

export const Announcement = Type.Object({
  callId: Type.String({ description: 'Unique per call: `${seq}` of the event behind it' }),
  ticketId: Type.String(),
  number: Type.String(),
  counter: CounterNo,
  recall: Type.Boolean(),
  repeat: Type.Integer({ minimum: 1, maximum: 5 }),
  text: Bilingual,
});
export type Announcement = Static<typeof Announcement>;

export const RatingSession = Type.Object({
  open: Type.Boolean(),
  counter: CounterNo,
  ticketId: Type.Union([Type.String(), Type.Null()]),
  number: Type.Union([Type.String(), Type.Null()]),
  service: Type.Optional(
    Type.Union([Type.String(), Type.Null()], {
      description: "The ticket's service name, so the citizen sees whose visit is rated (null when closed)",
    }),
  ),
  clerk: Type.Union([Type.Object({ id: Type.String(), name: Type.String() }), Type.Null()]),
  scale: Type.Array(Type.Object({ score: Type.Integer(), label: Bilingual })),
});
export type RatingSession = Static<typeof RatingSession>;

// ---- retained office state (box -> displays) ------------------------------------------------------

export const CounterStateMsg = Type.Object({
  counter: CounterNo,
  name: Type.String(),
  status: Type.Union([Type.Literal('closed'), Type.Literal('open'), Type.Literal('paused')]),
  clerk: Type.Union([Type.Object({ id: Type.String(), name: Type.String() }), Type.Null()]),
  services: Type.Array(Type.String()),
  current: Type.Union([
    Type.Object({
      ticketId: Type.String(),
      number: Type.String(),
      service: Type.String(),
      state: Type.Union([Type.Literal('called'), Type.Literal('serving')]),
      calledAt: Iso,
      recalls: Type.Integer({ minimum: 0 }),
    }),
    Type.Null(),
  ]),
  updatedAt: Iso,
});
export type CounterStateMsg = Static<typeof CounterStateMsg>;

export const ServiceStateMsg = Type.Object({
  service: Type.String(),
  name: Type.String(),
  waiting: Type.Integer({ minimum: 0 }),
  issuedToday: Type.Integer({ minimum: 0 }),
  quota: Type.Union([Type.Integer(), Type.Null()]),
  lastIssued: Type.Union([Type.String(), Type.Null()]),
  lastCalled: Type.Union([Type.String(), Type.Null()]),
  openCounters: Type.Integer({ minimum: 0 }),
  estimatedWaitMin: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]),
  accepting: Type.Boolean({ description: 'Whether the kiosk may issue a ticket for it now' }),
  refusal: Type.Union([Type.String(), Type.Null()], { description: 'Error code when not accepting' }),
  updatedAt: Iso,
});
export type ServiceStateMsg = Static<typeof ServiceStateMsg>;

/** A notice an admin put on the lobby's screens (a fleet command), shown until `until`. */
export const OfficeNotice = Type.Object({
  text: Type.Object({ vi: Type.String(), en: Type.Optional(Type.String()) }),
  until: Iso,
});
export type OfficeNotice = Static<typeof OfficeNotice>;

export const OfficeStateMsg = Type.Object({
  id: Type.String(),
  name: Type.String(),
  timezone: Type.String(),
  day: Type.Union([Type.String(), Type.Null()]),
  sessions: Type.Array(Type.Object({ open: Type.String(), close: Type.String(), cutoff: Type.String() })),
  services: Type.Array(Type.Object({ id: Type.String(), name: Type.String() })),
  counters: Type.Array(Type.Object({ number: CounterNo, name: Type.String() })),
  notice: Type.Optional(
    Type.Union([OfficeNotice, Type.Null()], {
      description: 'A notice for the lobby TV until its end time (absent or null: none)',
    }),
  ),
  updatedAt: Iso,
});
export type OfficeStateMsg = Static<typeof OfficeStateMsg>;

/** Whether the box's event log can take writes: `full` disk, or `failed` (restarting to recover). */
export const STORAGE_STATES = ['ok', 'full', 'failed'] as const;
export type StorageState = (typeof STORAGE_STATES)[number];

/**
 * The box's power through its UPS (Network UPS Tools): on `mains`, on `battery` (mains lost, the office
 * works on), `low_battery` (the box stops taking requests and waits for mains), `unknown` (no UPS answer).
 */
export const POWER_STATES = ['mains', 'battery', 'low_battery', 'unknown'] as const;
export type PowerState = (typeof POWER_STATES)[number];

/**
 * `lobby/v1/state/box`, retained: whether the box can take requests now, and why not, for the screens to
 * say so (Vietnamese first) instead of letting a citizen press and fail.
 */
export const BoxStateMsg = Type.Object({
  storage: Type.Union(STORAGE_STATES.map((s) => Type.Literal(s))),
  acceptingRequests: Type.Boolean(),
  since: Type.Union([Iso, Type.Null()], { description: 'When the storage state last changed' }),
  message: Type.Union([Type.Object({ vi: Type.String(), en: Type.String() }), Type.Null()]),
  power: Type.Optional(
    Type.Union(
      POWER_STATES.map((s) => Type.Literal(s)),
      { description: "The box's power through its UPS; absent when the box watches no UPS" },
    ),
  ),
  updatedAt: Iso,
});
export type BoxStateMsg = Static<typeof BoxStateMsg>;

export type { Static, TSchema };
