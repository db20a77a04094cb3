// The fleet channel between a box and its cloud: the box's configuration twin. The box opens every connection
// (government networks allow outbound HTTPS and little else): it long-polls the cloud for its target and
// reports what it did with it. See protocol/README.md §Fleet. No I/O.
import { createHash } from 'node:crypto';
import { Type, type Static } from '@sinclair/typebox';
import { configure } from 'safe-stable-stringify';
import { BoxConfigSchema, type BoxConfig } from './config/schema.js';
import { BoxCommand, COMMANDS_PER_POLL } from './fleet-commands.js';
import { SoftwareTarget } from './fleet-updates.js';

/**
 * The config sections that belong to the box's machine, not to the office: where it listens, its local
 * admin password, its UPS and its SMS gateway (whose credential is this box's). The cloud never sends them; a managed box keeps its own from its config file.
 */
export const MACHINE_LOCAL_KEYS = ['broker', 'http', 'admin', 'ups', 'sms'] as const;
export type MachineLocalKey = (typeof MACHINE_LOCAL_KEYS)[number];

/** What the cloud sets for an office: the whole box config but the machine-local sections. */
export type DesiredConfig = Omit<BoxConfig, MachineLocalKey>;
export const DesiredConfig = Type.Omit(BoxConfigSchema, [...MACHINE_LOCAL_KEYS]);

const canonical = configure({ deterministic: true, bigint: false, circularValue: Error });

/** The configuration's fingerprint: sha256 of its canonical JSON (keys sorted), hex. Same on box and cloud. */
export function configHash(config: unknown): string {
  return createHash('sha256')
    .update(canonical(config) ?? 'null')
    .digest('hex');
}

/** Splits a full box config into what the cloud manages and what stays on the machine. */
export function desiredPart(config: BoxConfig): DesiredConfig {
  const out: Record<string, unknown> = { ...config };
  for (const k of MACHINE_LOCAL_KEYS) delete out[k];
  return out as DesiredConfig;
}

/**
 * `GET /api/v1/box/target?version=<n>&wait=<seconds>` (box credential). `version`: the last desired version
 * the box processed (applied or rejected), 0 when none. Answered 200 with this when the cloud holds a newer
 * desired version; otherwise held for up to `wait` seconds (at most FLEET_LONG_POLL_MAX_SECONDS) until one
 * is saved, then 204 No Content. A box the cloud manages no config for gets 204 too, and keeps polling.
 */
export const BoxTarget = Type.Object({
  version: Type.Integer({ minimum: 1, description: 'The desired version, per box, counting from 1' }),
  hash: Type.String({ description: 'configHash(config)' }),
  config: Type.Unknown({
    description:
      'The desired config (DesiredConfig): the box validates it with protocol/config like its own file, ' +
      'adds its machine-local sections, and applies it or rejects it with the field errors',
  }),
  savedAt: Type.String({ description: 'ISO 8601, when an admin saved it' }),
});
export type BoxTarget = Static<typeof BoxTarget>;

export const FLEET_REPORT_MAX_ERRORS = 100;

/**
 * `POST /api/v1/box/reported` (box credential): what the box did with a desired version. Idempotent: the box
 * sends it again (after a restart, a lost answer) until it gets 200.
 */
export const BoxReported = Type.Object(
  {
    version: Type.Integer({ minimum: 1 }),
    state: Type.Union([Type.Literal('applied'), Type.Literal('rejected')]),
    hash: Type.String({ description: 'configHash of the desired part now in effect on the box' }),
    errors: Type.Optional(
      Type.Array(
        Type.Object({ path: Type.String({ maxLength: 200 }), message: Type.String({ maxLength: 500 }) }),
        { maxItems: FLEET_REPORT_MAX_ERRORS, description: 'rejected: the field errors (protocol/config)' },
      ),
    ),
    at: Type.String({ description: 'ISO 8601, the box clock, when it applied or rejected the version' }),
  },
  { additionalProperties: false },
);
export type BoxReported = Static<typeof BoxReported>;

/** What the console shows for a box's twin. */
export const TWIN_STATUSES = ['unmanaged', 'pending', 'in_sync', 'rejected'] as const;
export type TwinStatus = (typeof TWIN_STATUSES)[number];

/**
 * `GET /api/v1/box/poll?version=<n>&commands=<seq>&software=<rolloutId or ''>&wait=<seconds>` (box
 * credential): everything the cloud has for a box in one long poll (`/api/v1/box/target` stays for older
 * boxes). `version`: the last desired config version processed; `commands`: the highest command seq the box
 * holds durably (the cloud marks those `delivered`); `software`: the rolloutId of the software target the box
 * holds ('' none). Answered 200 at once when any part is new for the box — a newer config version, a pending
 * unexpired command with a higher seq, a software target other than the one held (or none while the box holds
 * one) —, otherwise held up to `wait` seconds until one is, then 204. Parts not new are sent anyway (null /
 * [] when there is nothing): the box handles each one it gets.
 */
export const BoxPoll = Type.Object({
  target: Type.Union([BoxTarget, Type.Null()]),
  commands: Type.Array(BoxCommand, { maxItems: COMMANDS_PER_POLL }),
  software: Type.Union([SoftwareTarget, Type.Null()]),
});
export type BoxPoll = Static<typeof BoxPoll>;
