// Fleet commands (issue 11): what an admin asks one office's box to do, queued in the cloud with an expiry,
// delivered in the fleet poll's answer (`commands`, protocol/fleet.ts BoxPoll), run at most once by the box,
// and answered with a result. Azure IoT Hub's direct methods with a mailbox: the box opens every connection,
// so a command waits in the cloud until the box polls (a box offline for a week gets every unexpired one).
// See protocol/README.md §8.3. No I/O.
import { Type, type Static, type TSchema } from '@sinclair/typebox';

// ---- limits (SECURITY.md, Limits) -------------------------------------------------------------------

/** A command's `params`, as JSON: small by design (the largest is a notice's text). */
export const COMMAND_PARAMS_MAX_BYTES = 4 * 1024;
/** A command's result, as JSON: diagnostics with their log lines are the largest, about 100–200 KiB. */
export const COMMAND_RESULT_MAX_BYTES = 256 * 1024;
/** The body of `POST /api/v1/box/commands/:id/result`: the result and its envelope. */
export const COMMAND_RESULT_BODY_MAX_BYTES = COMMAND_RESULT_MAX_BYTES + 8 * 1024;
/** A failure's reason, for people. */
export const COMMAND_REASON_MAX_CHARS = 1000;
/** Commands one poll answer carries (oldest first); the rest come with the next poll, at once. */
export const COMMANDS_PER_POLL = 20;
/** Commands pending (queued or delivered, not finished or expired) per box; beyond: 409 `too_many_commands`. */
export const COMMANDS_PENDING_PER_BOX_MAX = 100;
/** A command's life in the cloud when the admin names none. */
export const COMMAND_EXPIRY_DEFAULT_SECONDS = 24 * 3600;
/** The longest: a box offline for a week (or three) still gets it. */
export const COMMAND_EXPIRY_MAX_SECONDS = 30 * 24 * 3600;
export const COMMAND_EXPIRY_MIN_SECONDS = 60;
/** Log lines a diagnostics result carries at most (the daemon keeps this many in memory). */
export const DIAGNOSTICS_LOG_LINES_MAX = 500;
export const DIAGNOSTICS_LOG_LINES_DEFAULT = 200;
/** One log line in a diagnostics result, cut to this many characters. */
export const DIAGNOSTICS_LOG_LINE_MAX_CHARS = 400;
/** How far ahead a notice may end: a notice is for today's and this week's news, not a permanent sign. */
export const NOTICE_MAX_SECONDS = 14 * 24 * 3600;

// ---- kinds and their parameters ---------------------------------------------------------------------

const Counter = Type.Integer({ minimum: 1, maximum: 999 });
const DeviceId = Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,22}$', description: 'a peripheral id' });
const Iso = Type.String({ minLength: 10, maxLength: 40, description: 'ISO 8601' });
const Strict = { additionalProperties: false } as const;

/** Each kind's parameters. */
export const CommandParams = {
  /** Restart the box daemon (exit for the supervisor to start it again); succeeded once it is back. */
  restart: Type.Object({}, Strict),
  /** Print a ticket of today again, by number, on a kiosk's printer (its own, else `kiosk`). */
  reprint: Type.Object(
    {
      number: Type.String({ minLength: 1, maxLength: 20, description: "today's ticket number, e.g. A012" }),
      kiosk: Type.Optional(DeviceId),
    },
    Strict,
  ),
  /** A test call at a counter on every announcer: the voice and the amplifier, no ticket touched. */
  'test-call': Type.Object({ counter: Counter }, Strict),
  /** A notice on the lobby TV and the LED boards until `until`; it goes away by itself then. */
  notice: Type.Object(
    {
      text: Type.Object(
        {
          vi: Type.String({ minLength: 1, maxLength: 300 }),
          en: Type.Optional(Type.String({ maxLength: 300 })),
        },
        Strict,
      ),
      until: Iso,
    },
    Strict,
  ),
  /** Open or close a counter, through the queue engine as a clerk would (its refusals fail the command). */
  counter: Type.Object(
    { counter: Counter, action: Type.Union([Type.Literal('open'), Type.Literal('close')]) },
    Strict,
  ),
  /** A one-time pairing code for a screen (TV, kiosk, rating tablet, clerk panel) of this office. */
  'pair-screen': Type.Object({ device: DeviceId }, Strict),
  /** Health, versions, disk, the last log lines and the peripherals' status. */
  diagnostics: Type.Object(
    {
      logLines: Type.Optional(Type.Integer({ minimum: 0, maximum: DIAGNOSTICS_LOG_LINES_MAX })),
    },
    Strict,
  ),
} satisfies Record<string, TSchema>;

export type CommandKind = keyof typeof CommandParams;
export const COMMAND_KINDS = Object.keys(CommandParams) as CommandKind[];
export type CommandParamsOf<K extends CommandKind> = Static<(typeof CommandParams)[K]>;

// ---- results ----------------------------------------------------------------------------------------

const PeripheralHealth = Type.Object({
  id: Type.String(),
  role: Type.String(),
  counter: Type.Union([Type.Integer(), Type.Null()]),
  online: Type.Union([Type.Boolean(), Type.Null()], { description: 'null: never seen since the start' }),
  status: Type.Union([Type.Unknown(), Type.Null()], { description: 'its last DeviceStatus (printer, LED)' }),
});

/** Each kind's result, when it succeeded. */
export const CommandResults = {
  restart: Type.Object({ startedAt: Iso, version: Type.String() }),
  reprint: Type.Object({ ticketId: Type.String(), number: Type.String(), kiosk: Type.String() }),
  'test-call': Type.Object({ counter: Counter, announcers: Type.Array(Type.String()) }),
  notice: Type.Object({ until: Iso, boards: Type.Array(Type.String()) }),
  counter: Type.Object({
    counter: Counter,
    status: Type.Union([Type.Literal('open'), Type.Literal('closed'), Type.Literal('paused')]),
    changed: Type.Boolean({ description: 'false: it was already so' }),
  }),
  'pair-screen': Type.Object({
    device: Type.String(),
    code: Type.String({ description: 'XXXX-XXXX, typed on the screen (or scanned from pairUrl)' }),
    expiresAt: Iso,
    pairUrl: Type.String({ description: "the box's pairing page with the code, for a QR code" }),
  }),
  diagnostics: Type.Object({
    at: Iso,
    health: Type.Unknown({ description: "the box's /healthz answer" }),
    versions: Type.Object({
      software: Type.String(),
      node: Type.String(),
      config: Type.Object({
        source: Type.String(),
        version: Type.Optional(Type.Integer()),
        hash: Type.Optional(Type.String()),
      }),
    }),
    disk: Type.Object({
      dataDir: Type.String(),
      freeBytes: Type.Union([Type.Integer(), Type.Null()]),
      totalBytes: Type.Union([Type.Integer(), Type.Null()]),
    }),
    uptimeSeconds: Type.Integer({ minimum: 0 }),
    peripherals: Type.Array(PeripheralHealth),
    logs: Type.Array(Type.String({ maxLength: DIAGNOSTICS_LOG_LINE_MAX_CHARS })),
  }),
} satisfies Record<CommandKind, TSchema>;

export type CommandResultOf<K extends CommandKind> = Static<(typeof CommandResults)[K]>;

// ---- states -----------------------------------------------------------------------------------------

/**
 * `pending` (queued, not yet received by the box) → `delivered` (the box holds it durably) → `succeeded` /
 * `failed` (with the reason) — or `expired` (past expiresAt before it finished), or `cancelled` (by an admin,
 * while pending). A box never gets a command past its expiry, and a result after it is refused.
 */
export const COMMAND_STATES = [
  'pending',
  'delivered',
  'succeeded',
  'failed',
  'expired',
  'cancelled',
] as const;
export type CommandState = (typeof COMMAND_STATES)[number];
export const FINAL_COMMAND_STATES: readonly CommandState[] = ['succeeded', 'failed', 'expired', 'cancelled'];

/** A command in the fleet poll's answer. `seq` counts per box from 1: the box acknowledges the highest held. */
export const BoxCommand = Type.Object({
  id: Type.String({ maxLength: 64 }),
  seq: Type.Integer({ minimum: 1 }),
  kind: Type.String({ description: 'a CommandKind; a box that does not know it reports it failed' }),
  params: Type.Unknown(),
  expiresAt: Iso,
  createdAt: Iso,
});
export type BoxCommand = Static<typeof BoxCommand>;

/**
 * `POST /api/v1/box/commands/:id/result` (box credential). Idempotent: the same outcome again is 200; another
 * outcome for a finished command is 409 `already_finished` (the box drops it). Refused with a reason: an
 * unknown or another box's command (404 `unknown_command`), an expired one (409 `command_expired`), a
 * cancelled one (409 `command_cancelled`), a result over COMMAND_RESULT_MAX_BYTES (413).
 */
export const CommandOutcome = Type.Union([
  Type.Object(
    { state: Type.Literal('succeeded'), result: Type.Unknown(), at: Iso },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      state: Type.Literal('failed'),
      reason: Type.String({ minLength: 1, maxLength: COMMAND_REASON_MAX_CHARS }),
      at: Iso,
    },
    { additionalProperties: false },
  ),
]);
export type CommandOutcome = Static<typeof CommandOutcome>;

/** The reason a box gives for a command it found half-run at its start (it never runs one twice). */
export const INTERRUPTED_REASON = 'interrupted by a restart: the box stopped while running it; not run again';
