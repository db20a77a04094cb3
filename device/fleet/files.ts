// What the fleet keeps in the data directory, each file written whole or not at all (a power cut leaves the
// old file or the new one, never half): the config the cloud sent and the box runs (managed-config.json),
// and how far the box got with the cloud's targets (fleet-state.json: the last version processed and the
// report the cloud has not acknowledged yet).
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { Type, type Static } from '@sinclair/typebox';
import { BoxReported } from '../../protocol/fleet.js';
import type { Carryover } from '../engine/index.js';

export const MANAGED_CONFIG_FILE = 'managed-config.json';
export const FLEET_STATE_FILE = 'fleet-state.json';

export const managedConfigPath = (dataDir: string) => join(dataDir, MANAGED_CONFIG_FILE);
export const fleetStatePath = (dataDir: string) => join(dataDir, FLEET_STATE_FILE);

/** The desired config in effect, as the cloud sent it (validated again at each start). */
export interface ManagedConfig {
  version: number;
  hash: string;
  /** The DesiredConfig as received: the machine-local sections come from the config file. */
  config: unknown;
  savedAt: string;
  appliedAt: string;
  /** What the change left for the rest of its office day (removed services and counters). */
  carryover: Carryover;
}

const ManagedConfigFile = Type.Object({
  version: Type.Integer({ minimum: 1 }),
  hash: Type.String(),
  config: Type.Unknown(),
  savedAt: Type.String(),
  appliedAt: Type.String(),
  carryover: Type.Object({
    day: Type.Union([Type.String(), Type.Null()]),
    services: Type.Array(Type.Object({ service: Type.Unknown(), servedBy: Type.Array(Type.Integer()) })),
    counters: Type.Array(Type.Unknown()),
  }),
});

const FleetStateFile = Type.Object({
  processed: Type.Integer({ minimum: 0 }),
  report: Type.Union([BoxReported, Type.Null()]),
});
export type FleetState = Static<typeof FleetStateFile>;

/** Write to a temporary file, fsync it, rename it over the file, fsync the directory. */
export function writeDurably(file: string, text: string): void {
  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  const dir = openSync(dirname(file), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

export class DamagedFile extends Error {
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(`${file} is damaged: ${reason}`);
    this.name = 'DamagedFile';
  }
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as unknown;
  } catch (e) {
    throw new DamagedFile(file, (e as Error).message);
  }
}

/** The managed config, null when the cloud never sent one; throws DamagedFile when it cannot be read. */
export function readManagedConfig(dataDir: string): ManagedConfig | null {
  const file = managedConfigPath(dataDir);
  if (!existsSync(file)) return null;
  const data = readJson(file);
  if (!Value.Check(ManagedConfigFile, data)) {
    const first = Value.Errors(ManagedConfigFile, data).First();
    throw new DamagedFile(file, `${first?.path ?? ''} ${first?.message ?? 'not a managed config'}`.trim());
  }
  return data as ManagedConfig;
}

export function writeManagedConfig(dataDir: string, m: ManagedConfig): void {
  writeDurably(managedConfigPath(dataDir), JSON.stringify(m, null, 2) + '\n');
}

/** How far the box got; a missing or damaged file starts again from version 0 (the cloud resends). */
export function readFleetState(dataDir: string): FleetState {
  const file = fleetStatePath(dataDir);
  if (!existsSync(file)) return { processed: 0, report: null };
  try {
    const data = readJson(file);
    if (Value.Check(FleetStateFile, data)) return data;
  } catch {
    // damaged: start over, the cloud sends its latest target again
  }
  return { processed: 0, report: null };
}

export function writeFleetState(dataDir: string, s: FleetState): void {
  writeDurably(fleetStatePath(dataDir), JSON.stringify(s) + '\n');
}
