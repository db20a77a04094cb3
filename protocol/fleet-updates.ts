// Over-the-air updates of the box software, on the fleet channel (issue 12). The contract between the cloud's
// rollouts (cloud/releases/) and the box's update agent (device/update/). The box opens every connection: it
// learns its software target in the fleet poll's answer (`software`), downloads the bundle from the cloud with
// its own credential (HTTP Range to resume), and reports each step. See protocol/README.md §Updates. No I/O.
import { Type, type Static } from '@sinclair/typebox';

/** A release version: semver without build metadata (`1.4.0`, `1.5.0-rc.1`). */
export const RELEASE_VERSION_PATTERN =
  '^(0|[1-9]\\d*)\\.(0|[1-9]\\d*)\\.(0|[1-9]\\d*)(-[0-9A-Za-z.-]{1,40})?$';

/**
 * The software a box should run, in the fleet poll's answer while the box is in a started wave of a rollout
 * and does not report this version as running (healthy) already. Null when there is nothing to do.
 */
export const SoftwareTarget = Type.Object(
  {
    rolloutId: Type.String({ maxLength: 64 }),
    version: Type.String({ pattern: RELEASE_VERSION_PATTERN }),
    platform: Type.String({ description: "`linux-arm64` or `linux-x64`: the box's own platform" }),
    /** Paths on the cloud (box credential, `Range` supported): the manifest, its signature, the tarball. */
    manifestUrl: Type.String({ maxLength: 500 }),
    signatureUrl: Type.String({ maxLength: 500 }),
    bundleUrl: Type.String({ maxLength: 500 }),
    /** The tarball's size and SHA-256 as the signed manifest states them (the box checks the manifest itself). */
    size: Type.Integer({ minimum: 1 }),
    sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
    notes: Type.String({ maxLength: 4000 }),
    /** Switch now, outside the update window (an admin's choice); never while a citizen is being served. */
    force: Type.Boolean(),
    /** A version older than the running one is refused unless this is true. */
    allowDowngrade: Type.Boolean(),
  },
  { additionalProperties: false },
);
export type SoftwareTarget = Static<typeof SoftwareTarget>;

/** Each step of one box's update, as the console shows it per wave. */
export const UPDATE_STATES = [
  'pending', // cloud only: in a wave not started, or not yet polled
  'downloading',
  'installed', // verified and unpacked next to the running version; waiting for the window
  'switching',
  'healthy', // the new version proved itself and was committed
  'rolled_back', // the new version failed its proof; the box went back by itself
  'failed', // refused before switching (signature, platform, size, disk, downgrade…); the old version serves
] as const;
export type UpdateState = (typeof UPDATE_STATES)[number];

export const UPDATE_REPORT_MAX_LOG_LINES = 200;

/**
 * `POST /api/v1/box/software` (box credential): one step of an update. Idempotent per (rolloutId, state): the
 * box resends until 200. `running` is the version serving now.
 */
export const SoftwareReport = Type.Object(
  {
    rolloutId: Type.String({ maxLength: 64 }),
    version: Type.String({ pattern: RELEASE_VERSION_PATTERN, description: 'the target version' }),
    running: Type.String({ pattern: RELEASE_VERSION_PATTERN }),
    state: Type.Union(UPDATE_STATES.filter((s) => s !== 'pending').map((s) => Type.Literal(s))),
    reason: Type.Optional(
      Type.String({ maxLength: 1000, description: 'failed / rolled_back: why, for people' }),
    ),
    code: Type.Optional(
      Type.String({
        maxLength: 40,
        description: 'failed / rolled_back: signature, platform, size, hash, downgrade, disk, start, health…',
      }),
    ),
    logTail: Type.Optional(
      Type.Array(Type.String({ maxLength: 2000 }), {
        maxItems: UPDATE_REPORT_MAX_LOG_LINES,
        description: "rolled_back: the new version's last log lines",
      }),
    ),
    progress: Type.Optional(
      Type.Object({ bytes: Type.Integer({ minimum: 0 }), total: Type.Integer({ minimum: 0 }) }),
    ),
    at: Type.String({ description: 'ISO 8601, box clock' }),
  },
  { additionalProperties: false },
);
export type SoftwareReport = Static<typeof SoftwareReport>;
