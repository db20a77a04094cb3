// The cloud HTTP API: what a box sends (uplink batches, heartbeats, enrollment), what the province's
// one-stop software sends (dossiers), and what the public may read. One TypeBox schema per message: the
// cloud validates with it, the box builds its requests from the same types. No I/O.
import { Type, type Static } from '@sinclair/typebox';
import { EventEnvelope } from './events.js';
import { POWER_STATES } from './messages.js';

/** Every error the cloud returns: a stable machine code and a message for a human. */
export const ApiError = Type.Object(
  {
    code: Type.String({ description: 'Stable machine code, e.g. batch_invalid, forbidden' }),
    message: Type.String(),
    detail: Type.Optional(Type.Unknown()),
  },
  { description: 'Every error: a stable code and a message' },
);
export type ApiError = Static<typeof ApiError>;

// ---- box → cloud ---------------------------------------------------------------------------------

export const UPLINK_MAX_BATCH = 1000;

export const UplinkBatch = Type.Object(
  {
    events: Type.Array(EventEnvelope, {
      minItems: 1,
      maxItems: UPLINK_MAX_BATCH,
      description: 'Envelopes from the box outbox, in sequence order (the cloud sorts and de-duplicates)',
    }),
  },
  { additionalProperties: false },
);
export type UplinkBatch = Static<typeof UplinkBatch>;

export const UplinkAck = Type.Object({
  ackedSeq: Type.Integer({
    minimum: 0,
    description:
      'Every event of this box up to and including this sequence number is stored. The box may forget ' +
      'them and sends from ackedSeq + 1 next. Only the gap-free prefix is acknowledged.',
  }),
  applied: Type.Integer({ minimum: 0, description: 'Events of this batch applied now (not seen before)' }),
  duplicates: Type.Integer({ minimum: 0, description: 'Events of this batch already stored' }),
  deferred: Type.Integer({
    minimum: 0,
    description: 'Events after a gap: not stored; the box sends them again after the missing ones',
  }),
});
export type UplinkAck = Static<typeof UplinkAck>;

/**
 * `GET /api/v1/uplink/events?after=<seq>&limit=<n>`: the cloud's copy of this box's events, in sequence
 * order, for a box that lost its log (`lobby device recover-log`). Pages through `nextAfter`.
 */
export const UplinkEventsPage = Type.Object({
  ackedSeq: Type.Integer({
    minimum: 0,
    description:
      'The last sequence number the cloud acknowledged to this box (every event up to it is stored)',
  }),
  dayStartSeq: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()], {
    description:
      "The sequence number of this box's latest day.started event: a box recovering its current day " +
      'reads from there (after = dayStartSeq - 1). null when the cloud has none',
  }),
  events: Type.Array(EventEnvelope, { description: 'Events with seq > after, in order, at most limit' }),
  nextAfter: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], {
    description: 'Pass as `after` for the next page; null when this page reached ackedSeq',
  }),
});
export type UplinkEventsPage = Static<typeof UplinkEventsPage>;

export const PeripheralHealth = Type.Object({
  id: Type.String(),
  role: Type.String(),
  counter: Type.Optional(Type.Integer()),
  online: Type.Union([Type.Boolean(), Type.Null()], { description: 'null: never heard from' }),
  status: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()], {
    description: 'The last lobby/v1/status/<id> message (e.g. the printer out of paper), or null',
  }),
});
export type PeripheralHealth = Static<typeof PeripheralHealth>;

export const Heartbeat = Type.Object(
  {
    at: Type.String({ description: 'ISO 8601, the box clock' }),
    version: Type.String({ description: 'The box software version' }),
    node: Type.String({ description: 'The Node.js version' }),
    platform: Type.Optional(
      Type.String({
        maxLength: 40,
        description:
          '`${process.platform}-${process.arch}`, e.g. linux-arm64: which bundle an update brings it (absent: linux-arm64)',
      }),
    ),
    ticketKeySecret: Type.Optional(
      Type.String({
        minLength: 32,
        maxLength: 100,
        description:
          "The box's ticket-key secret (issue 14): the cloud checks a ticket's key with it before it takes a rating from a phone. Kept apart, never shown",
      }),
    ),
    officeId: Type.String(),
    day: Type.Union([Type.String(), Type.Null()]),
    lastSeq: Type.Integer({ minimum: 0, description: 'The newest event in the box log' }),
    backlog: Type.Object({
      events: Type.Integer({ minimum: 0, description: 'Events not yet acknowledged by the cloud' }),
      oldestAt: Type.Union([Type.String(), Type.Null()]),
      freeDiskBytes: Type.Union([Type.Integer(), Type.Null()]),
      alarm: Type.Boolean({ description: 'The backlog nears its bound (event count or free disk)' }),
    }),
    peripherals: Type.Array(PeripheralHealth),
    storage: Type.Optional(
      Type.Object({
        state: Type.Union([Type.Literal('ok'), Type.Literal('full'), Type.Literal('failed')], {
          description: 'ok; full: the disk is full, requests refused; failed: a write failed, restarting',
        }),
        // null first, for any validator that coerces types: a null tried against a string first becomes ''
        since: Type.Union([Type.Null(), Type.String()]),
        reason: Type.Union([Type.Null(), Type.String()]),
        freeDiskBytes: Type.Union([Type.Null(), Type.Integer()]),
      }),
    ),
    power: Type.Optional(
      Type.Object({
        state: Type.Union(
          POWER_STATES.map((s) => Type.Literal(s)),
          { description: 'mains; battery: mains lost; low_battery: requests refused until mains; unknown' },
        ),
        since: Type.Union([Type.Null(), Type.String()]),
        status: Type.Union([Type.Null(), Type.String({ maxLength: 100 })], {
          description: 'ups.status as Network UPS Tools gave it, e.g. "OB DISCHRG"',
        }),
        chargePct: Type.Union([Type.Null(), Type.Number()]),
        runtimeSeconds: Type.Union([Type.Null(), Type.Number()]),
        reason: Type.Union([Type.Null(), Type.String({ maxLength: 500 })]),
        acceptingRequests: Type.Optional(
          Type.Boolean({ description: 'False from a low battery until mains is back' }),
        ),
      }),
    ),
  },
  { additionalProperties: false },
);
export type Heartbeat = Static<typeof Heartbeat>;

export const HeartbeatAck = Type.Object({ ackedSeq: Type.Integer({ minimum: 0 }) });
export type HeartbeatAck = Static<typeof HeartbeatAck>;

export const EnrollRequest = Type.Object(
  {
    claimCode: Type.String({ minLength: 8, maxLength: 64 }),
    officeId: Type.Optional(
      Type.String({
        description:
          "The office id in the box config: must match the claim's office. Absent for a new box that has no " +
          'config yet (zero touch): the claim code names the office, and the box then fetches its config',
      }),
    ),
  },
  { additionalProperties: false },
);
export type EnrollRequest = Static<typeof EnrollRequest>;

export const EnrollResponse = Type.Object({
  boxId: Type.String(),
  officeId: Type.String(),
  secret: Type.String({ description: 'Shown once; the cloud keeps only its scrypt hash' }),
});
export type EnrollResponse = Static<typeof EnrollResponse>;

/**
 * What a claim QR code holds (the console shows it; a technician scans it into a new box's claim page with a
 * USB scanner, or types the code): `lobby-claim:<code>?cloud=<cloud base URL>`.
 */
export const claimUri = (cloudUrl: string, claimCode: string): string =>
  `lobby-claim:${claimCode}?cloud=${encodeURIComponent(cloudUrl)}`;

/** A claim as typed or scanned: a bare code, or a claim URI (then with its cloud). Null when neither. */
export function parseClaim(text: string): { code: string; cloud?: string } | null {
  const t = text.trim();
  const m = /^lobby-claim:([0-9A-Za-z-]{8,64})(?:\?cloud=([^\s&]+))?$/.exec(t);
  if (m) {
    const cloud = m[2] ? decodeURIComponent(m[2]) : undefined;
    return { code: (m[1] as string).toUpperCase(), ...(cloud ? { cloud } : {}) };
  }
  return /^[0-9A-Za-z]{4}(-?[0-9A-Za-z]{4}){1,15}$/.test(t) ? { code: t.toUpperCase() } : null;
}

/**
 * What a peripheral's credential QR code holds (the console shows it once, beside the secret as text; a
 * technician scans it into the device, or types the id and secret): `lobby-peripheral:<id>?secret=<secret>`
 * `&role=<role>[&counter=<n>]&office=<office id>`. The device logs in to its office box's MQTT broker with
 * client id and username `<id>`, password `<secret>` (README §1).
 */
export function peripheralCredentialUri(c: {
  id: string;
  secret: string;
  role: string;
  counter?: number | undefined;
  officeId: string;
}): string {
  const q = new URLSearchParams({ secret: c.secret, role: c.role });
  if (c.counter !== undefined) q.set('counter', String(c.counter));
  q.set('office', c.officeId);
  return `lobby-peripheral:${c.id}?${q.toString()}`;
}

/** A scanned peripheral credential, or null when the text is not one. */
export function parsePeripheralCredential(
  text: string,
): { id: string; secret: string; role: string; counter?: number; officeId: string } | null {
  const m = /^lobby-peripheral:([a-z0-9][a-z0-9-]{0,22})\?(\S+)$/.exec(text.trim());
  if (!m) return null;
  const q = new URLSearchParams(m[2]);
  const [secret, role, officeId] = [q.get('secret'), q.get('role'), q.get('office')];
  if (!secret || !role || !officeId) return null;
  const counter = q.get('counter');
  return {
    id: m[1] as string,
    secret,
    role,
    ...(counter !== null && /^[1-9][0-9]{0,3}$/.test(counter) ? { counter: Number(counter) } : {}),
    officeId,
  };
}

/** The box credential on the wire: `Authorization: Bearer <boxId>.<secret>`. */
export const boxToken = (boxId: string, secret: string): string => `${boxId}.${secret}`;

// ---- province one-stop software → cloud (HMAC-signed) ---------------------------------------------

export const DOSSIER_STATUSES = [
  'received',
  'processing',
  'additional_info',
  'ready',
  'returned',
  'cancelled',
] as const;
export type DossierStatus = (typeof DOSSIER_STATUSES)[number];

const IsoDate = Type.String({ format: 'date-time', description: 'ISO 8601 with a time zone' });

export const DossierUpsert = Type.Object(
  {
    procedure: Type.String({ minLength: 1, maxLength: 200, description: 'Procedure code (thủ tục)' }),
    procedureName: Type.Optional(Type.String({ maxLength: 500 })),
    service: Type.String({
      minLength: 1,
      maxLength: 64,
      description: 'Field (lĩnh vực) id, the same ids as the box services',
    }),
    officeId: Type.Optional(
      Type.String({ description: 'The receiving office, if the province knows it; else the lobby link' }),
    ),
    receivedAt: IsoDate,
    dueAt: IsoDate,
    returnedAt: Type.Optional(Type.Union([IsoDate, Type.Null()])),
    status: Type.Union(DOSSIER_STATUSES.map((s) => Type.Literal(s))),
  },
  { additionalProperties: false },
);
export type DossierUpsert = Static<typeof DossierUpsert>;

/** The headers of a signed request; the signature is HMAC-SHA256 over `${timestamp}.${method}.${path}.${body}`. */
export const HMAC_HEADERS = {
  key: 'x-lobby-key',
  timestamp: 'x-lobby-timestamp',
  signature: 'x-lobby-signature',
} as const;
export const HMAC_WINDOW_SECONDS = 300;

export function hmacPayload(timestamp: string, method: string, path: string, body: string): string {
  return `${timestamp}.${method.toUpperCase()}.${path}.${body}`;
}

// ---- public ----------------------------------------------------------------------------------------

export const DossierPublic = Type.Object({
  code: Type.String(),
  procedure: Type.String(),
  procedureName: Type.Union([Type.String(), Type.Null()]),
  service: Type.String(),
  status: Type.String(),
  receivedAt: Type.String(),
  dueAt: Type.String(),
  returnedAt: Type.Union([Type.String(), Type.Null()]),
  office: Type.Union([Type.Object({ id: Type.String(), name: Type.String() }), Type.Null()]),
  onTime: Type.Union([Type.Boolean(), Type.Null()], { description: 'null while not returned' }),
});
export type DossierPublic = Static<typeof DossierPublic>;

/** A dossier as a box's lookup station shows it (GET /api/v1/box/dossiers/:code): no personal data. */
export const DossierLookupAnswer = Type.Object({
  ...DossierPublic.properties,
  readyToCollect: Type.Boolean({ description: 'The result is ready at the office (status ready)' }),
  overdue: Type.Boolean({ description: 'Not returned and past its due time' }),
  asOf: Type.String({ description: "The cloud's time of the answer (a cached answer is this old)" }),
});
export type DossierLookupAnswer = Static<typeof DossierLookupAnswer>;

const BoardCounts = {
  received: Type.Integer({ minimum: 0 }),
  returned: Type.Integer({ minimum: 0 }),
};

/** The office's dossier handling for its status board (GET /api/v1/box/dossier-board). */
export const DossierBoard = Type.Object({
  officeId: Type.String(),
  day: Type.String({ description: "Today in the office's time zone (YYYY-MM-DD)" }),
  month: Type.String({ description: 'This month (YYYY-MM)' }),
  today: Type.Object(BoardCounts),
  thisMonth: Type.Object({
    ...BoardCounts,
    onTime: Type.Integer({ minimum: 0, description: 'Returned this month by their due time' }),
    late: Type.Integer({ minimum: 0 }),
  }),
  open: Type.Object({
    total: Type.Integer({ minimum: 0, description: 'Received, not returned nor cancelled' }),
    overdue: Type.Integer({ minimum: 0 }),
    ready: Type.Integer({ minimum: 0, description: 'Ready to collect' }),
  }),
  byService: Type.Array(
    Type.Object({
      service: Type.String(),
      received: Type.Integer({ minimum: 0, description: 'This month' }),
      returned: Type.Integer({ minimum: 0, description: 'This month' }),
      open: Type.Integer({ minimum: 0 }),
      overdue: Type.Integer({ minimum: 0 }),
    }),
  ),
  ready: Type.Array(Type.Object({ code: Type.String(), service: Type.String(), since: Type.String() }), {
    description: 'Dossiers ready to collect, by code (no names), oldest first',
  }),
  readyTruncated: Type.Boolean(),
  asOf: Type.String(),
});
export type DossierBoard = Static<typeof DossierBoard>;

const NowServing = Type.Object({ number: Type.String(), counter: Type.Integer() });

/** Whether a ticket may be rated from the phone now (offices without rating tablets), and why not. */
export const PhoneRatingState = Type.Object({
  open: Type.Boolean(),
  reason: Type.Union(
    [
      Type.Literal('not_served'),
      Type.Literal('already_rated'),
      Type.Literal('window_closed'),
      Type.Literal('tablet', { description: 'Its counter has a rating tablet: rated there' }),
      Type.Null(),
    ],
    { description: 'Why it may not be rated; null when open' },
  ),
  scaleMax: Type.Integer({ minimum: 2, maximum: 10 }),
  score: Type.Union([Type.Integer(), Type.Null()], { description: 'The rating given from the phone' }),
});
export type PhoneRatingState = Static<typeof PhoneRatingState>;

export const TicketPublic = Type.Object({
  officeId: Type.String(),
  officeName: Type.String(),
  ticketId: Type.String(),
  number: Type.String(),
  service: Type.String(),
  state: Type.String({ description: 'waiting, called, serving, finished, no_show' }),
  ahead: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], { description: 'People before you' }),
  estimatedWaitMin: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]),
  counter: Type.Union([Type.Integer(), Type.Null()]),
  issuedAt: Type.String(),
  asOf: Type.String({
    description: 'The newest office event the cloud has: the page lags the lobby by this',
  }),
  serviceName: Type.Optional(Type.String({ description: "The service's name in the office config" })),
  nowServing: Type.Optional(
    Type.Array(NowServing, { description: 'The numbers at the counters of its service now' }),
  ),
  near: Type.Optional(
    Type.Boolean({ description: 'Waiting with few enough before it that the citizen should come back' }),
  ),
  heardAt: Type.Optional(
    Type.Union([Type.String(), Type.Null()], {
      description: "The box's last heartbeat with nothing left to send: the figures are current as of it",
    }),
  ),
  pollSeconds: Type.Optional(Type.Integer({ minimum: 1, description: 'How often a page asks again' })),
  rating: Type.Optional(PhoneRatingState),
});
export type TicketPublic = Static<typeof TicketPublic>;

/** An office's live wait figures (the public wait page `/w/<office>`): no personal data. */
export const OfficeWaitPublic = Type.Object({
  officeId: Type.String(),
  officeName: Type.String(),
  day: Type.String({ description: "The office day, YYYY-MM-DD in the office's time zone" }),
  services: Type.Array(
    Type.Object({
      service: Type.String(),
      name: Type.String(),
      waiting: Type.Integer({ minimum: 0 }),
      estimatedWaitMin: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], {
        description: 'For a ticket taken now; null when nobody waits',
      }),
      nowServing: Type.Array(NowServing),
    }),
  ),
  asOf: Type.Union([Type.String(), Type.Null()], { description: 'The newest office event the cloud has' }),
  heardAt: Type.Union([Type.String(), Type.Null()]),
  pollSeconds: Type.Integer({ minimum: 1 }),
});
export type OfficeWaitPublic = Static<typeof OfficeWaitPublic>;
