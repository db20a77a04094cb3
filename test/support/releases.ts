// Small signed release bundles for the update tests: the real layout (bin/lobby, release.json), but the box
// inside is this repository's compiled dist/ (a "good" version) or an entry that exits 1 before any of our
// JavaScript runs (a "crashing" one). Packed and signed with release/bundle.ts's packBundle and a test key;
// published on the FakeFleetCloud as a SoftwareTarget would name them.
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { loadReleaseKey, packBundle, type ReleaseKey } from '../../release/bundle.js';
import type { SoftwareTarget } from '../../protocol/fleet-updates.js';
import { platformOfThisMachine } from '../../device/release/verify.js';
import { CLI } from './box-process.js';
import type { FakeFleetCloud } from './fake-fleet-cloud.js';

/**
 * good: this repository's box; crash: exits 1 before any JavaScript (a missing native addon); hang: starts
 * and never serves; refuse-log: exits 3 at once, as a box that refuses its event log.
 */
export type VersionKind = 'good' | 'crash' | 'hang' | 'refuse-log';

export const PLATFORM = platformOfThisMachine();

export function testReleaseKey(dir = mkdtempSync(join(tmpdir(), 'lobby-release-key-'))): {
  key: ReleaseKey;
  publicKeyFile: string;
} {
  const key = loadReleaseKey(undefined, dir);
  const publicKeyFile = join(dir, 'release-key.pub.pem');
  writeFileSync(publicKeyFile, key.publicPem);
  return { key, publicKeyFile };
}

/** What a version folder holds for the tests; `padding` bytes of zeros make the unpacked size larger. */
export function stageVersion(dir: string, version: string, kind: VersionKind, padding = 0, random = 0): void {
  mkdirSync(join(dir, 'bin'), { recursive: true });
  const entries: Record<VersionKind, string> = {
    good: `# version ${version}: this repository's box\nexec "${process.execPath}" "${CLI}" "$@"\n`,
    crash:
      `echo "lobby ${version}: Error: Cannot find module './build/Release/better_sqlite3.node'" >&2\n` +
      `echo "lobby ${version}: exiting before the box starts"\nexit 1\n`,
    hang: `echo "lobby ${version}: waiting for something that never comes"\nexec sleep 600\n`,
    'refuse-log': `echo "lobby ${version}: the event log is newer than this version understands" >&2\nexit 3\n`,
  };
  const entry = `#!/bin/sh\n${entries[kind]}`;
  writeFileSync(join(dir, 'bin', 'lobby'), entry);
  chmodSync(join(dir, 'bin', 'lobby'), 0o755);
  writeFileSync(join(dir, 'release.json'), JSON.stringify({ name: 'motcua-lobby', version }));
  if (padding) writeFileSync(join(dir, 'padding.bin'), Buffer.alloc(padding));
  if (random) writeFileSync(join(dir, 'random.bin'), randomBytes(random));
}

/** `<root>/<version>` installed as install.sh would, and `current` pointing at it. */
export function installVersion(root: string, version: string, kind: VersionKind = 'good'): void {
  stageVersion(join(root, version), version, kind);
  symlinkSync(version, join(root, 'current'));
}

export interface PublishedRelease {
  target: SoftwareTarget;
  tarball: Buffer;
}

let n = 0;

/** Packs and signs a bundle of `version` and serves it on the cloud; the target a rollout would send. */
export function publishRelease(
  cloud: FakeFleetCloud,
  key: ReleaseKey,
  version: string,
  opts: {
    kind?: VersionKind;
    platform?: string;
    /** Zeros (unpack to this many bytes, pack to almost none) and random bytes (pack to as many). */
    padding?: number;
    random?: number;
    force?: boolean;
    allowDowngrade?: boolean;
    rolloutId?: string;
  } = {},
): PublishedRelease {
  const work = mkdtempSync(join(tmpdir(), 'lobby-release-'));
  const stage = join(work, 'stage');
  stageVersion(stage, version, opts.kind ?? 'good', opts.padding ?? 0, opts.random ?? 0);
  const platform = opts.platform ?? PLATFORM;
  const packed = packBundle({
    stageDir: stage,
    outDir: join(work, 'out'),
    version,
    platform,
    node: '20',
    key,
  });
  const id = opts.rolloutId ?? `rollout-${++n}`;
  const base = `/rel/${id}/${packed.manifest.file.replace(/\.tar\.gz$/, '')}`;
  const tarball = readFileSync(packed.tarball);
  cloud.files.set(`${base}.manifest.json`, readFileSync(packed.manifestPath));
  cloud.files.set(`${base}.manifest.sig`, readFileSync(packed.manifestPath.replace(/\.json$/, '.sig')));
  cloud.files.set(`${base}.tar.gz`, tarball);
  return {
    tarball,
    target: {
      rolloutId: id,
      version,
      platform,
      manifestUrl: `${base}.manifest.json`,
      signatureUrl: `${base}.manifest.sig`,
      bundleUrl: `${base}.tar.gz`,
      size: packed.manifest.size,
      sha256: packed.manifest.sha256,
      notes: `version ${version}`,
      force: opts.force ?? true,
      allowDowngrade: opts.allowDowngrade ?? false,
    },
  };
}
