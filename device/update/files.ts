// What the update agent keeps on disk, each file written whole or not at all (a power cut leaves the old
// file or the new one). The agent's own state is JSON; the files the launcher (deploy/lobby-launch.sh, a
// POSIX shell script) reads or writes are `key=value` lines so that `sed` can read them.
//
//   <root>/<V>/            a version, unpacked (named only once complete), `current` and `previous` symlinks
//   <update>/state.json    the target held, the step reached, the reports the cloud has not acknowledged
//   <update>/download/     the bundle being downloaded (manifest, signature, tarball; resumed after a cut)
//   <update>/trial         written before the switch: the version on trial, the one to go back to, limits
//   <update>/trial-starts  the launcher adds a line at each start of the version on trial
//   <update>/trial-timeout the launcher's watchdog: the version on trial did not commit in time
//   <update>/rolled-back   the launcher went back: which version, why (the agent reports it, then removes it)
//   <update>/logs/<V>.log  what the version on trial printed (the launcher tees it), for the report
import { existsSync, mkdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { SoftwareReport, SoftwareTarget, UPDATE_STATES } from '../../protocol/fleet-updates.js';
import { writeDurably } from '../fleet/files.js';
import { fsyncDir } from '../release/unpack.js';

export interface UpdatePaths {
  /** Where versions are unpacked: /opt/motcua-lobby. */
  root: string;
  /** The agent's folder in the data directory: /var/lib/motcua-lobby/update. */
  dir: string;
}

export const stateFile = (p: UpdatePaths) => join(p.dir, 'state.json');
export const trialFile = (p: UpdatePaths) => join(p.dir, 'trial');
export const trialStartsFile = (p: UpdatePaths) => join(p.dir, 'trial-starts');
export const trialTimeoutFile = (p: UpdatePaths) => join(p.dir, 'trial-timeout');
export const rolledBackFile = (p: UpdatePaths) => join(p.dir, 'rolled-back');
export const downloadDir = (p: UpdatePaths) => join(p.dir, 'download');
export const versionLog = (p: UpdatePaths, version: string) => join(p.dir, 'logs', `${version}.log`);
export const versionDir = (p: UpdatePaths, version: string) => join(p.root, version);

const AgentStateFile = Type.Object({
  /** The target the box holds (its rolloutId is `softwareHeld()`), null when the cloud has none for it. */
  target: Type.Union([SoftwareTarget, Type.Null()]),
  step: Type.Union([Type.Literal('idle'), ...UPDATE_STATES.map((s) => Type.Literal(s))]),
  /** The reports the cloud has not acknowledged yet, oldest first. */
  reports: Type.Array(SoftwareReport),
  /** How the last update ended (healthy, rolled_back, failed): kept after the cloud withdraws the target. */
  last: Type.Optional(
    Type.Object({
      version: Type.String(),
      rolloutId: Type.String(),
      state: Type.String(),
      at: Type.String(),
      reason: Type.Optional(Type.String()),
    }),
  ),
});
export type AgentState = Static<typeof AgentStateFile>;

export const EMPTY_STATE: AgentState = { target: null, step: 'idle', reports: [] };

export function readAgentState(p: UpdatePaths): AgentState {
  const file = stateFile(p);
  if (!existsSync(file)) return structuredClone(EMPTY_STATE);
  try {
    const value: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (Value.Check(AgentStateFile, value)) return value;
  } catch {
    // unreadable: start over (the cloud sends the target again when the box holds none)
  }
  return structuredClone(EMPTY_STATE);
}

export function writeAgentState(p: UpdatePaths, state: AgentState): void {
  mkdirSync(p.dir, { recursive: true, mode: 0o700 });
  writeDurably(stateFile(p), `${JSON.stringify(state)}\n`);
}

/** `key=value` lines (the launcher's format); values never hold a newline. */
export function readKeyValues(file: string): Record<string, string> | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

export function writeKeyValues(file: string, values: Record<string, string | number>): void {
  const text = Object.entries(values)
    .map(([k, v]) => `${k}=${String(v).replace(/\n/g, ' ')}\n`)
    .join('');
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeDurably(file, text);
}

/** The trial marker: the version being proved, the one to go back to, and the launcher's limits. */
export interface TrialMarker {
  version: string;
  previous: string;
  rolloutId: string;
  switchedAt: number;
  trialSeconds: number;
  graceSeconds: number;
  maxStarts: number;
}

export function readTrial(p: UpdatePaths): TrialMarker | null {
  const kv = readKeyValues(trialFile(p));
  if (!kv?.version || !kv.previous) return null;
  return {
    version: kv.version,
    previous: kv.previous,
    rolloutId: kv.rolloutId ?? '',
    switchedAt: Number(kv.switchedAt ?? 0),
    trialSeconds: Number(kv.trialSeconds ?? 0),
    graceSeconds: Number(kv.graceSeconds ?? 0),
    maxStarts: Number(kv.maxStarts ?? 0),
  };
}

/** What the launcher wrote when it went back to the previous version. */
export interface RollbackRecord {
  version: string;
  previous: string;
  /** `start` (failed starts), `health` (not committed in time), `refused-log` (exit 3 at start). */
  reason: string;
  starts: number;
  at: number;
}

export function readRollback(p: UpdatePaths): RollbackRecord | null {
  const kv = readKeyValues(rolledBackFile(p));
  if (!kv?.version) return null;
  return {
    version: kv.version,
    previous: kv.previous ?? '',
    reason: kv.reason ?? 'start',
    starts: Number(kv.starts ?? 0),
    at: Number(kv.at ?? 0),
  };
}

export function removeDurably(...files: string[]): void {
  for (const f of files) rmSync(f, { force: true });
  const dirs = new Set(files.map((f) => join(f, '..')));
  for (const d of dirs) if (existsSync(d)) fsyncDir(d);
}

/** The version a symlink of the root points at (`current`, `previous`), or null. */
export function linkTarget(p: UpdatePaths, name: 'current' | 'previous'): string | null {
  try {
    return readlinkSync(join(p.root, name));
  } catch {
    return null;
  }
}

/** Points `<root>/<name>` at `version` in one rename of a new symlink over the old (never missing). */
export function pointLink(p: UpdatePaths, name: 'current' | 'previous', version: string): void {
  const tmp = join(p.root, `.${name}-${process.pid}`);
  rmSync(tmp, { force: true });
  symlinkSync(version, tmp);
  renameSync(tmp, join(p.root, name));
  fsyncDir(p.root);
}

/** The last `lines` lines of a file (each cut to `width` characters), [] when there is none. */
export function tailLines(file: string, lines: number, width: number): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((l) => l.length > 0)
    .slice(-lines)
    .map((l) => (l.length > width ? `${l.slice(0, width - 1)}…` : l));
}
