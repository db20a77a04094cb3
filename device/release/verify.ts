// Checks a release bundle before anything of it is unpacked: the signed manifest (Ed25519, the release
// public key only), then the platform, then the tarball's size and SHA-256 against what the manifest says.
// Used by release:check and the installer's tests today, by over-the-air updates next. The same checks, in
// the same order, are done by the bundle's install.sh with openssl and sha256sum on a Pi without Node.
import { createHash, type KeyObject } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  BundleRefused,
  checkPlatform,
  checkTarballHash,
  checkTarballSize,
  verifyManifest,
  type ReleaseManifest,
} from '../../protocol/release-bundle.js';

// The manifest's schema and the checks themselves are shared with the cloud (which checks uploads the same way).
export {
  BundleRefused,
  keyIdOf,
  publicKeyFrom,
  type RefusalReason,
  type ReleaseManifest,
} from '../../protocol/release-bundle.js';

/** The paths of a bundle's parts, from its manifest's path (`<name>.manifest.json`). */
export function bundleFiles(manifestPath: string): { manifest: string; signature: string } {
  return { manifest: manifestPath, signature: manifestPath.replace(/\.json$/, '.sig') };
}

export function platformOfThisMachine(): string {
  return `${process.platform}-${process.arch}`;
}

export interface VerifiedBundle {
  manifest: ReleaseManifest;
  /** The tarball's path, checked: the manifest's file, next to the manifest. */
  tarball: string;
}

async function readOrRefuse(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new BundleRefused('unreadable', `cannot read the ${what} ${path}: ${(err as Error).message}`);
  }
}

function sha256OfFile(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

/**
 * Checks a manifest's bytes against its signature file's contents and the release key, then the platform.
 * Over-the-air updates call it before downloading the tarball the manifest names.
 */
export function verifyManifestFile(
  bytes: Buffer,
  signatureFile: Buffer,
  publicKey: KeyObject,
  platform: string = platformOfThisMachine(),
): ReleaseManifest {
  const manifest = verifyManifest(bytes, signatureFile.toString('utf8').trim(), publicKey);
  checkPlatform(manifest, platform);
  return manifest;
}

/**
 * Verifies a bundle, reading only its manifest, signature and tarball (nothing is unpacked or written).
 * Throws BundleRefused with the first check that failed; resolves with the manifest when all passed.
 */
export async function verifyBundle(
  manifestPath: string,
  publicKey: KeyObject,
  platform: string = platformOfThisMachine(),
): Promise<VerifiedBundle> {
  const files = bundleFiles(manifestPath);
  const manifest = verifyManifestFile(
    await readOrRefuse(files.manifest, 'manifest'),
    await readOrRefuse(files.signature, 'signature'),
    publicKey,
    platform,
  );
  const tarball = join(dirname(manifestPath), manifest.file);
  let size: number;
  try {
    size = (await stat(tarball)).size;
  } catch {
    throw new BundleRefused('unreadable', `the tarball ${tarball} named by the manifest is missing`);
  }
  checkTarballSize(manifest, size);
  checkTarballHash(manifest, await sha256OfFile(tarball));
  return { manifest, tarball };
}
