// Unpacks a bundle only after verifyBundle passed, into a fresh folder that appears under its final name
// in one rename (a half-unpacked version is never found under its name).
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { KeyObject } from 'node:crypto';
import { verifyBundle, type VerifiedBundle } from './verify.js';

const run = promisify(execFile);

/** Verifies, then unpacks into `dest` (which must not exist yet). Refusals leave nothing behind. */
export async function unpackVerified(
  manifestPath: string,
  publicKey: KeyObject,
  dest: string,
  platform?: string,
): Promise<VerifiedBundle> {
  if (existsSync(dest)) throw new Error(`${dest} already exists: refusing to unpack over it`);
  const verified = await verifyBundle(manifestPath, publicKey, platform);
  const partial = join(dirname(dest), `.partial-${process.pid}-${Date.now()}`);
  mkdirSync(partial, { recursive: true, mode: 0o755 });
  try {
    await run('tar', ['-xzf', verified.tarball, '-C', partial, '--no-same-owner']);
    renameSync(partial, dest);
  } catch (err) {
    rmSync(partial, { recursive: true, force: true });
    throw err;
  }
  return verified;
}
