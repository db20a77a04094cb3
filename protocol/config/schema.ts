// The box config file: the office, its services, counters, clerks and peripherals.
import { Type, type Static } from '@sinclair/typebox';
import { DEVICE_ID_PATTERN, ROLES } from '../index.js';
import { DriverConfig, HardwareConfig } from './drivers.js';
import { FOUR_BUTTON_LEVELS, SATISFACTION_LEVELS } from '../satisfaction.js';

const Time = Type.String({
  pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$',
  description: 'HH:MM, office local time',
});
const Id = Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,31}$' });

export const CALL_POLICIES = ['priority-first', 'service-order', 'alternate'] as const;
export type CallPolicy = (typeof CALL_POLICIES)[number];

const Numbering = Type.Union([
  Type.Object(
    {
      prefix: Type.String({ pattern: '^[A-Z]{0,3}$', description: 'Letters before the number, e.g. A' }),
      width: Type.Integer({ minimum: 1, maximum: 6, description: 'Digits, zero-padded: A001 has width 3' }),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      from: Type.Integer({ minimum: 0, maximum: 999999 }),
      to: Type.Integer({ minimum: 0, maximum: 999999 }),
    },
    { additionalProperties: false },
  ),
]);
export type Numbering = Static<typeof Numbering>;

const Label = Type.Object({ vi: Type.String({ minLength: 1 }), en: Type.String({ minLength: 1 }) });

/** The five levels of public-service satisfaction surveys, 1 Rất không hài lòng … 5 Rất hài lòng. */
export const DEFAULT_RATING_SCALE = SATISFACTION_LEVELS.map((l) => ({
  score: l.level,
  label: { vi: l.label.vi, en: l.label.en },
}));

/**
 * The scale of the older 4-button boxes (the default before issue 13), for an office whose devices all have
 * four buttons: Không hài lòng, Bình thường, Hài lòng, Rất hài lòng. Reports map it onto the five levels.
 */
export const FOUR_BUTTON_RATING_SCALE = FOUR_BUTTON_LEVELS.map((level, i) => {
  const l = SATISFACTION_LEVELS[level - 1] as (typeof SATISFACTION_LEVELS)[number];
  return { score: i + 1, label: { vi: l.label.vi, en: l.label.en } };
});

export const PeripheralConfig = Type.Object(
  {
    id: Type.String({ pattern: DEVICE_ID_PATTERN }),
    role: Type.Union(ROLES.map((r) => Type.Literal(r))),
    counter: Type.Optional(Type.Integer({ minimum: 1, maximum: 9999 })),
    name: Type.Optional(Type.String({ maxLength: 100 })),
    secretHash: Type.Optional(
      Type.String({
        pattern: '^scrypt\\$',
        description:
          'Written by `lobby device add-peripheral`; required unless the box drives the device (`driver`)',
      }),
    ),
    driver: Type.Optional(DriverConfig),
  },
  { additionalProperties: false },
);
export type PeripheralConfig = Static<typeof PeripheralConfig>;

/** A peripheral as an admin sees it (the box's admin page, the cloud console): never its secret's hash. */
export function peripheralSummary(p: PeripheralConfig) {
  return {
    id: p.id,
    role: p.role,
    counter: p.counter ?? null,
    name: p.name ?? null,
    driven: p.driver !== undefined,
  };
}

/** The uplink to the cloud (device/uplink/). Absent: the box runs alone and keeps every event. */
export const CloudUplinkConfig = Type.Object(
  {
    url: Type.String({
      pattern: '^https?://[^\\s]+[^/\\s]$',
      description: 'Base URL of the cloud, without a trailing slash',
    }),
    credentialFile: Type.Optional(
      Type.String({
        description:
          'The box credential written by `lobby provision box` (mode 0600); default <data-dir>/cloud-credential.json',
      }),
    ),
    batchSize: Type.Integer({ minimum: 1, maximum: 1000, default: 500 }),
    retryBaseMs: Type.Integer({
      minimum: 10,
      maximum: 60_000,
      default: 1000,
      description: 'First retry delay; it doubles per failure, with full jitter, up to retryCapSeconds',
    }),
    retryCapSeconds: Type.Integer({ minimum: 1, maximum: 3600, default: 60 }),
    heartbeatSeconds: Type.Integer({ minimum: 5, maximum: 3600, default: 60 }),
    backlogAlarmEvents: Type.Integer({
      minimum: 1,
      default: 2_000_000,
      description: 'Raise the backlog alarm when this many events wait for the cloud (~1 GB)',
    }),
    minFreeDiskMb: Type.Integer({
      minimum: 0,
      default: 512,
      description: 'Raise the backlog alarm when the data disk has less free space than this',
    }),
  },
  { additionalProperties: false },
);
export type CloudUplinkConfig = Static<typeof CloudUplinkConfig>;

/**
 * The office's UPS, read through Network UPS Tools (upsd). Machine-local: it names the box's own hardware
 * and a command the box may run, so the cloud never sets it.
 */
export const UpsConfig = Type.Object(
  {
    host: Type.String({ default: '127.0.0.1', maxLength: 253, description: "upsd's address" }),
    port: Type.Integer({ minimum: 1, maximum: 65535, default: 3493 }),
    name: Type.String({
      pattern: '^[A-Za-z0-9._-]{1,64}$',
      default: 'ups',
      description: "The UPS's name in NUT's ups.conf (`upsc <name>@<host>`)",
    }),
    pollSeconds: Type.Integer({ minimum: 1, maximum: 60, default: 5 }),
    shutdownCommand: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 200 }), {
        minItems: 1,
        maxItems: 10,
        description:
          'Run once the box has stopped cleanly on low battery, e.g. ["sudo", "/sbin/poweroff"]. Absent: ' +
          "the operating system's upsmon powers the box off",
      }),
    ),
  },
  { additionalProperties: false },
);
export type UpsConfig = Static<typeof UpsConfig>;

/**
 * Messages to a citizen's phone when the turn is near and when called (issue 14): the office's own HTTP SMS
 * gateway (no vendor is built in). Machine-local: its credential belongs to this box, never to the cloud.
 */
export const SmsConfig = Type.Object(
  {
    gatewayUrl: Type.String({
      pattern: '^https?://',
      maxLength: 2000,
      description: 'The gateway: each message is POSTed here as JSON, `{"<to>": number, "<text>": text}`',
    }),
    authorizationFile: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 500,
        description:
          "A file holding the gateway's Authorization header value (e.g. `Bearer …`), owner-only; read at each send",
      }),
    ),
    fields: Type.Object(
      {
        to: Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]{0,39}$', default: 'to' }),
        text: Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]{0,39}$', default: 'text' }),
      },
      { default: {}, additionalProperties: false, description: "The JSON body's field names" },
    ),
    nearAhead: Type.Integer({
      minimum: 1,
      maximum: 20,
      default: 3,
      description: 'The "near" message goes when this many or fewer wait before the ticket',
    }),
    templates: Type.Object(
      {
        near: Type.String({
          minLength: 1,
          maxLength: 300,
          default: 'So {number} sap den luot: con {ahead} nguoi truoc ban. {office}',
        }),
        called: Type.String({
          minLength: 1,
          maxLength: 300,
          default: 'Moi so {number} den quay {counter}. {office}',
        }),
      },
      {
        default: {},
        additionalProperties: false,
        description:
          '{number}, {ahead}, {counter}, {service}, {office} are filled in; without diacritics a message fits one SMS',
      },
    ),
  },
  { additionalProperties: false },
);
export type SmsConfig = Static<typeof SmsConfig>;

export const BoxConfigSchema = Type.Object(
  {
    office: Type.Object(
      {
        id: Id,
        name: Type.String({ minLength: 1, maxLength: 200 }),
        timezone: Type.String({ default: 'Asia/Ho_Chi_Minh' }),
        sessions: Type.Array(
          Type.Object(
            {
              open: Time,
              close: Time,
              cutoff: Type.Optional(Time),
            },
            { additionalProperties: false },
          ),
          {
            minItems: 1,
            maxItems: 4,
            description: 'Working sessions (morning, afternoon); cutoff = last ticket',
          },
        ),
        workdays: Type.Array(Type.Integer({ minimum: 1, maximum: 7 }), {
          default: [1, 2, 3, 4, 5],
          description: 'ISO weekdays the office issues tickets: 1 = Monday … 7 = Sunday',
        }),
        recallsBeforeNoShow: Type.Integer({ minimum: 0, maximum: 10, default: 2 }),
        defaultServiceMinutes: Type.Number({ exclusiveMinimum: 0, maximum: 240, default: 5 }),
        announceRepeat: Type.Integer({ minimum: 1, maximum: 5, default: 2 }),
        publicUrl: Type.Optional(
          Type.String({
            pattern: '^https?://[^\\s]+[^/\\s]$',
            description:
              "Base URL of the ticket status pages (the cloud's), without a trailing slash: the QR code on " +
              'a ticket links to <publicUrl>/t/<office id>/<office day>/<number>',
          }),
        ),
      },
      { additionalProperties: false },
    ),
    services: Type.Array(
      Type.Object(
        {
          id: Id,
          name: Type.String({ minLength: 1, maxLength: 120 }),
          numbering: Numbering,
          dailyQuota: Type.Optional(Type.Union([Type.Integer({ minimum: 1 }), Type.Null()])),
        },
        { additionalProperties: false },
      ),
      { minItems: 1 },
    ),
    counters: Type.Array(
      Type.Object(
        {
          number: Type.Integer({ minimum: 1, maximum: 9999 }),
          name: Type.Optional(Type.String({ maxLength: 120 })),
          services: Type.Array(Type.String(), {
            minItems: 1,
            description: 'Services served, in order of preference',
          }),
          policy: Type.Union(
            CALL_POLICIES.map((p) => Type.Literal(p)),
            { default: 'priority-first' },
          ),
        },
        { additionalProperties: false },
      ),
      { minItems: 1 },
    ),
    clerks: Type.Array(
      Type.Object(
        {
          id: Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$' }),
          name: Type.String({ minLength: 1 }),
          photo: Type.Optional(
            Type.String({
              pattern: '\\.(jpe?g|png|webp)$',
              description:
                "A photo for the rating tablet: a JPEG, PNG or WebP file, relative to the config file's folder",
            }),
          ),
        },
        { additionalProperties: false },
      ),
      { default: [] },
    ),
    rating: Type.Object(
      {
        scale: Type.Array(Type.Object({ score: Type.Integer({ minimum: 1 }), label: Label }), {
          minItems: 2,
          maxItems: 10,
          default: DEFAULT_RATING_SCALE,
        }),
      },
      { default: {}, additionalProperties: false },
    ),
    broker: Type.Object(
      {
        host: Type.String({ default: '0.0.0.0' }),
        port: Type.Integer({ minimum: 0, maximum: 65535, default: 1883 }),
        allowedOrigins: Type.Optional(
          Type.Array(Type.String({ pattern: '^https?://[^/]+$', maxLength: 200 }), {
            maxItems: 20,
            description:
              "Browser origins besides the box's own whose pages may use MQTT over WebSocket, e.g. a TLS " +
              "proxy's https://lobby.example.gov.vn. Clients that send no Origin (devices) are not affected.",
          }),
        ),
      },
      { default: {}, additionalProperties: false },
    ),
    http: Type.Object(
      {
        host: Type.String({
          default: '0.0.0.0',
          description: 'healthz, metrics and MQTT over WebSocket at /mqtt',
        }),
        port: Type.Integer({ minimum: 0, maximum: 65535, default: 8080 }),
      },
      { default: {}, additionalProperties: false },
    ),
    dossierCodePattern: Type.Optional(
      Type.String({
        description: "An office's own dossier-code regular expression, besides the national format",
      }),
    ),
    admin: Type.Optional(
      Type.Object(
        {
          passwordHash: Type.Optional(
            Type.String({
              pattern: '^scrypt\\$',
              description: 'The local admin page password, hashed: `lobby device set-admin-password`',
            }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    screens: Type.Object(
      {
        notice: Type.Optional(
          Type.String({ maxLength: 500, description: 'A notice scrolling along the foot of the lobby TV' }),
        ),
        chime: Type.Boolean({ default: true, description: 'The lobby TV chimes on each call' }),
        kioskIdleSeconds: Type.Integer({
          minimum: 5,
          maximum: 600,
          default: 20,
          description: 'The kiosk returns to its start screen after this many seconds untouched',
        }),
        lowRatingReasons: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), {
          maxItems: 10,
          default: ['Chờ lâu', 'Thái độ chưa tốt', 'Hướng dẫn chưa rõ', 'Thủ tục phức tạp'],
          description: 'Reasons offered after a rating in the lower half of the scale (empty: ask none)',
        }),
      },
      { default: {}, additionalProperties: false },
    ),
    peripherals: Type.Array(PeripheralConfig, { default: [] }),
    hardware: Type.Optional(HardwareConfig),
    ups: Type.Optional(UpsConfig),
    sms: Type.Optional(SmsConfig),
    cloud: Type.Optional(CloudUplinkConfig),
  },
  { additionalProperties: false },
);

export type BoxConfig = Static<typeof BoxConfigSchema>;
export type ServiceConfig = BoxConfig['services'][number];
export type CounterConfig = BoxConfig['counters'][number];
