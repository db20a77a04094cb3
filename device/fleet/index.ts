// The configuration twin on the box (issue 11): which config the box starts on, and the loop that takes the
// cloud's targets, applies them live or rejects them, and reports. Loaded only when the config has a cloud.
import type { Logger } from 'pino';
import { configHash, desiredPart, type BoxReported, type BoxTarget } from '../../protocol/fleet.js';
import type { SoftwareTarget } from '../../protocol/fleet-updates.js';
import type { BoxConfig } from '../config/schema.js';
import type { Carryover } from '../engine/index.js';
import { credentialPath, readCredential } from '../uplink/credential.js';
import {
  DamagedFile,
  MANAGED_CONFIG_FILE,
  readFleetState,
  readManagedConfig,
  writeManagedConfig,
  type FleetState,
  type ManagedConfig,
} from './files.js';
import { BoxCommands, type CommandRunners } from './commands.js';
import { FleetPoller } from './poller.js';
import { resolveDesired } from './resolve.js';

export { managedConfigPath, readManagedConfig, type ManagedConfig } from './files.js';
export { resolveDesired, machineLocalOf } from './resolve.js';
export { FleetPoller, LONG_POLL_SECONDS } from './poller.js';
export { BoxCommands, CommandRefused, FLEET_COMMANDS_FILE } from './commands.js';
export { boxCommandRunners, NoticeBoard, type BoxParts } from './box-commands.js';
export { ScreenPairings } from './screen-pairings.js';

export interface StartingPoint {
  /** The config to run: the managed one (with the file's machine-local sections), or the file's. */
  config: BoxConfig;
  managed: ManagedConfig | null;
  state: FleetState;
}

const appliedReport = (m: ManagedConfig): BoxReported => ({
  version: m.version,
  state: 'applied',
  hash: m.hash,
  at: m.appliedAt,
});

/**
 * The config a box starts on. With a `cloud` section in its file and a managed config in its data directory,
 * the managed one: the office sections of the file are not used. A managed config that cannot be read or no
 * longer validates is said in the log, and the box starts from its file and asks the cloud again (version 0).
 * A managed config newer than the last version recorded as processed (killed between the two writes) is
 * the one in effect: it is recorded, and reported.
 */
export function startingPoint(file: BoxConfig, dataDir: string, log: Logger): StartingPoint {
  const fromFile = (): StartingPoint => ({
    config: file,
    managed: null,
    state: { processed: 0, report: null },
  });
  if (!file.cloud) {
    try {
      if (readManagedConfig(dataDir))
        log.warn(
          { file: MANAGED_CONFIG_FILE },
          'fleet: the config file has no cloud section: the box runs its file, not the config the cloud sent',
        );
    } catch {
      // damaged and unused
    }
    return fromFile();
  }
  let managed: ManagedConfig | null;
  try {
    managed = readManagedConfig(dataDir);
  } catch (err) {
    if (!(err instanceof DamagedFile)) throw err;
    log.error({ err: err.message }, 'fleet: the managed config is damaged; starting from the config file');
    return fromFile();
  }
  if (!managed) return { ...fromFile(), state: readFleetState(dataDir) };
  const resolved = resolveDesired(managed.config, file, managed.hash);
  if (!resolved.ok) {
    log.error(
      { errors: resolved.errors, version: managed.version },
      'fleet: the managed config no longer validates with this config file; starting from the config file',
    );
    return fromFile();
  }
  let state = readFleetState(dataDir);
  if (state.processed < managed.version)
    state = { processed: managed.version, report: appliedReport(managed) };
  log.info(
    { version: managed.version, hash: managed.hash, cloud: resolved.config.cloud?.url },
    'fleet: running the config the cloud sent',
  );
  return { config: resolved.config, managed, state };
}

export interface FleetOptions {
  start: StartingPoint;
  dataDir: string;
  log: Logger;
  /** The config running now. */
  config: () => BoxConfig;
  /** The config file as it is now: its machine-local sections go with every desired config. */
  localConfig: () => BoxConfig;
  /** What switching to `next` would leave for the rest of the day (to persist it first). */
  carryoverFor: (next: BoxConfig) => Carryover;
  /** Switches the running box to `next`, live. */
  applyLive: (next: BoxConfig, carryover: Carryover) => Promise<void>;
  retry?: { baseMs: number; capMs: number };
  waitSeconds?: number;
  /** What the box does with its cloud's commands (box-commands.ts); without it, commands are not taken. */
  commands?: {
    runners: CommandRunners;
    restart: (() => void) | null;
    restarted: () => unknown;
  };
  /** The over-the-air update agent (device/update/, wired at merge): what it holds, and the cloud's target. */
  softwareHeld?: () => string;
  onSoftware?: (target: SoftwareTarget | null) => void | Promise<void>;
}

export interface Fleet {
  poller: FleetPoller;
  /** The cloud's commands on this box. */
  commands: BoxCommands | null;
  /** The managed config in effect, null until the cloud sent one. */
  readonly managed: ManagedConfig | null;
  stop(): Promise<void>;
}

/** Starts the long poll when the box is enrolled (a credential file); null otherwise (said in the log). */
export function startFleet(o: FleetOptions): Fleet | null {
  const cfg = o.config();
  if (!cfg.cloud) return null;
  const file = credentialPath(cfg, o.dataDir);
  let credential;
  try {
    credential = readCredential(file);
  } catch (err) {
    o.log.error({ err: (err as Error).message, file }, 'fleet off: the credential file is unreadable');
    return null;
  }
  if (!credential) {
    o.log.warn({ file }, 'fleet off: this box is not enrolled (no credential): it runs its config file');
    return null;
  }
  let managed = o.start.managed;
  const processTarget = async (target: BoxTarget): Promise<BoxReported> => {
    const at = () => new Date().toISOString();
    if (managed && managed.hash === target.hash) {
      // The same config under a new version (say, the cloud's history was restored): nothing to change.
      managed = { ...managed, version: target.version, savedAt: target.savedAt };
      writeManagedConfig(o.dataDir, managed);
      return { version: target.version, state: 'applied', hash: target.hash, at: at() };
    }
    const resolved = resolveDesired(target.config, o.localConfig(), target.hash);
    if (!resolved.ok) {
      o.log.warn(
        { version: target.version, errors: resolved.errors },
        'fleet: config rejected; the box keeps its last good config',
      );
      return {
        version: target.version,
        state: 'rejected',
        hash: managed?.hash ?? configHash(desiredPart(o.config())),
        errors: resolved.errors,
        at: at(),
      };
    }
    // Durable first: killed after this line, the box restarts on the new config and reports it.
    const carryover = o.carryoverFor(resolved.config);
    const next: ManagedConfig = {
      version: target.version,
      hash: target.hash,
      config: target.config,
      savedAt: target.savedAt,
      appliedAt: at(),
      carryover,
    };
    writeManagedConfig(o.dataDir, next);
    managed = next;
    await o.applyLive(resolved.config, carryover);
    o.log.info({ version: target.version, hash: target.hash }, 'fleet: config applied');
    return appliedReport(next);
  };
  const cloudUrl = () => o.config().cloud?.url ?? credential.cloudUrl;
  const retry = o.retry ?? { baseMs: cfg.cloud.retryBaseMs, capMs: cfg.cloud.retryCapSeconds * 1000 };
  const commands = o.commands
    ? new BoxCommands({
        dataDir: o.dataDir,
        cloudUrl,
        boxId: credential.boxId,
        secret: credential.secret,
        ...o.commands,
        log: o.log,
        retry,
      })
    : null;
  const poller = new FleetPoller({
    cloudUrl,
    boxId: credential.boxId,
    secret: credential.secret,
    dataDir: o.dataDir,
    state: o.start.state,
    process: processTarget,
    log: o.log,
    retry,
    ...(o.waitSeconds !== undefined ? { waitSeconds: o.waitSeconds } : {}),
    ...(commands ? { commands } : {}),
    ...(o.softwareHeld ? { softwareHeld: o.softwareHeld } : {}),
    ...(o.onSoftware ? { onSoftware: o.onSoftware } : {}),
  });
  commands?.start();
  poller.start();
  o.log.info({ cloud: cloudUrl(), processed: poller.processed }, 'fleet: polling for the target config');
  return {
    poller,
    commands,
    get managed() {
      return managed;
    },
    stop: async () => {
      await poller.stop();
      await commands?.stop();
    },
  };
}

/**
 * For the CLI (no running box needed): the cloud that manages this box, or null. Managed = a `cloud` section
 * in the config file and a config the cloud sent in the data directory (what the box would start on).
 */
export function managedByAtRest(file: BoxConfig, dataDir: string): string | null {
  if (!file.cloud) return null;
  let managed: ManagedConfig | null;
  try {
    managed = readManagedConfig(dataDir);
  } catch {
    return null; // damaged: the box starts from its file
  }
  const url = (managed?.config as { cloud?: { url?: unknown } } | undefined)?.cloud?.url;
  return managed ? (typeof url === 'string' ? url : file.cloud.url) : null;
}
