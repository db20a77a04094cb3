// Checks a release bundle before anything of it is unpacked: the signed manifest (Ed25519, the release
// public key only), then the platform, then the tarball's size and SHA-256 against what the manifest says.
// Used by release:check and the installer's tests today, by over-the-air updates next. The same checks, in
// the same order, are done by the bundle's install.sh with openssl and sha256sum on a Pi without Node.
import { createHash, createPublicKey, verify as verifySignature, type KeyObject } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** What the release script signs: the manifest file's exact bytes (JSON), its signature beside it. */
export interface ReleaseManifest {
  format: 1;
  name: 'motcua-lobby';
  version: string;
  /** `${process.platform}-${process.arch}` of the boxes it is for, e.g. linux-arm64. */
  platform: string;
  /** The tarball's file name, next to the manifest (a bare name, never a path). */
  file: string;
  size: number;
  sha256: string;
  /** The bundled Node.js runtime's version. */
  node: string;
  createdAt: string;
  /** First 16 hex digits of the SHA-256 of the signing key's public key (SPKI DER): which key signed. */
  keyId: string;
}

export type RefusalReason = 'unreadable' | 'signature' | 'manifest' | 'platform' | 'size' | 'hash';

/** A bundle the box will not install, with a reason a person can act on. */
export class BundleRefused extends Error {
  constructor(
    readonly reason: RefusalReason,
    message: string,
  ) {
    super(message);
    this.name = 'BundleRefused';
  }
}

/** The paths of a bundle's parts, from its manifest's path (`<name>.manifest.json`). */
export function bundleFiles(manifestPath: string): { manifest: string; signature: string } {
  return { manifest: manifestPath, signature: manifestPath.replace(/\.json$/, '.sig') };
}

export function platformOfThisMachine(): string {
  return `${process.platform}-${process.arch}`;
}

export function publicKeyFrom(pem: string | Buffer): KeyObject {
  const key = createPublicKey(pem);
  if (key.asymmetricKeyType !== 'ed25519') throw new Error('the release key is not an Ed25519 key');
  return key;
}

export function keyIdOf(key: KeyObject): string {
  const der =
    key.type === 'private'
      ? createPublicKey(key).export({ type: 'spki', format: 'der' })
      : key.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('hex').slice(0, 16);
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

function parseManifest(bytes: Buffer): ReleaseManifest {
  let m: Partial<ReleaseManifest>;
  try {
    m = JSON.parse(bytes.toString('utf8')) as Partial<ReleaseManifest>;
  } catch {
    throw new BundleRefused('manifest', 'the manifest is signed but is not JSON');
  }
  const ok =
    m.format === 1 &&
    m.name === 'motcua-lobby' &&
    typeof m.version === 'string' &&
    typeof m.platform === 'string' &&
    typeof m.file === 'string' &&
    m.file === basename(m.file) &&
    !m.file.startsWith('.') &&
    Number.isSafeInteger(m.size) &&
    typeof m.sha256 === 'string' &&
    /^[0-9a-f]{64}$/.test(m.sha256);
  if (!ok) throw new BundleRefused('manifest', 'the manifest is signed but lacks a field this box needs');
  return m as ReleaseManifest;
}

/**
 * Checks a manifest's bytes against its signature file's text and the release key, then the platform.
 * Over-the-air updates call it before downloading the tarball the manifest names.
 */
export function verifyManifest(
  bytes: Buffer,
  signatureFile: Buffer,
  publicKey: KeyObject,
  platform: string = platformOfThisMachine(),
): ReleaseManifest {
  const signature = Buffer.from(signatureFile.toString('utf8').trim(), 'base64');
  if (signature.length !== 64 || !verifySignature(null, bytes, publicKey, signature))
    throw new BundleRefused(
      'signature',
      `the manifest's signature does not match the release key ${keyIdOf(publicKey)}: ` +
        'the bundle was changed after signing or was signed by another key',
    );
  const manifest = parseManifest(bytes);
  if (manifest.platform !== platform)
    throw new BundleRefused('platform', `the bundle is for ${manifest.platform}, this box is ${platform}`);
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
  const manifest = verifyManifest(
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
  if (size !== manifest.size)
    throw new BundleRefused(
      'size',
      `the tarball has ${size} bytes, the manifest says ${manifest.size}` +
        (size < manifest.size ? ' (truncated: an interrupted copy or download?)' : ''),
    );
  const sha256 = await sha256OfFile(tarball);
  if (sha256 !== manifest.sha256)
    throw new BundleRefused(
      'hash',
      `the tarball's SHA-256 is ${sha256}, the manifest says ${manifest.sha256}`,
    );
  return { manifest, tarball };
}
