// Unpacks a bundle only after verifyBundle passed, into a fresh folder that appears under its final name
// in one rename (a half-unpacked version is never found under its name).
import { execFile } from 'node:child_process';
import {
  closeSync,
  copyFileSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { KeyObject } from 'node:crypto';
import { bundleFiles, verifyBundle, type VerifiedBundle } from './verify.js';

const run = promisify(execFile);

/** A folder being unpacked is named `.partial-…` until it is complete; one left by a power cut is garbage. */
export const PARTIAL_PREFIX = '.partial-';

export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Flushes the unpacked files to disk before the folder gets its name (a power cut must not leave it empty). */
async function syncTree(dir: string): Promise<void> {
  await run('sync', ['-f', dir]).catch(() => run('sync', []));
}

/** Verifies, then unpacks into `dest` (which must not exist yet). Refusals leave nothing behind. */
export async function unpackVerified(
  manifestPath: string,
  publicKey: KeyObject,
  dest: string,
  platform?: string,
  opts: { keepManifest?: boolean } = {},
): Promise<VerifiedBundle> {
  if (existsSync(dest)) throw new Error(`${dest} already exists: refusing to unpack over it`);
  const verified = await verifyBundle(manifestPath, publicKey, platform);
  const partial = join(dirname(dest), `${PARTIAL_PREFIX}${process.pid}-${Date.now()}`);
  mkdirSync(partial, { recursive: true, mode: 0o755 });
  try {
    await run('tar', ['-xzf', verified.tarball, '-C', partial, '--no-same-owner']);
    if (opts.keepManifest) {
      // As install.sh does: the version folder says which bundle it came from (an update compares it).
      const files = bundleFiles(manifestPath);
      copyFileSync(files.manifest, join(partial, 'manifest.json'));
      copyFileSync(files.signature, join(partial, 'manifest.sig'));
    }
    await syncTree(partial);
    renameSync(partial, dest);
    fsyncDir(dirname(dest));
  } catch (err) {
    rmSync(partial, { recursive: true, force: true });
    throw err;
  }
  return verified;
}
