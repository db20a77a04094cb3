// What a release bundle's signed manifest says and the checks made on it, shared by the box (device/release/,
// before it unpacks an update) and the cloud (cloud/releases/, before it keeps an upload): one manifest schema,
// one signature check, one size and hash comparison, the same refusal reasons. Computation only, no I/O: the
// callers read files or streams and hand over bytes, sizes and digests.
import { createHash, createPublicKey, verify as verifySignature, type KeyObject } from 'node:crypto';

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

/** A bundle that is not installed (box) or not kept (cloud), with a reason a person can act on. */
export class BundleRefused extends Error {
  constructor(
    readonly reason: RefusalReason,
    message: string,
  ) {
    super(message);
    this.name = 'BundleRefused';
  }
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
    /^[^/\\]+$/.test(m.file) &&
    !m.file.startsWith('.') &&
    Number.isSafeInteger(m.size) &&
    typeof m.sha256 === 'string' &&
    /^[0-9a-f]{64}$/.test(m.sha256);
  if (!ok) throw new BundleRefused('manifest', 'the manifest is signed but lacks a field this box needs');
  return m as ReleaseManifest;
}

/**
 * The signed manifest: its signature (the `.sig` file's text, base64) against the release public key first,
 * then its fields. Throws BundleRefused('signature' | 'manifest').
 */
export function verifyManifest(bytes: Buffer, signatureText: string, publicKey: KeyObject): ReleaseManifest {
  const signature = Buffer.from(signatureText.trim(), 'base64');
  if (signature.length !== 64 || !verifySignature(null, bytes, publicKey, signature))
    throw new BundleRefused(
      'signature',
      `the manifest's signature does not match the release key ${keyIdOf(publicKey)}: ` +
        'the bundle was changed after signing or was signed by another key',
    );
  return parseManifest(bytes);
}

/** The manifest is for this platform. Throws BundleRefused('platform'). */
export function checkPlatform(manifest: ReleaseManifest, platform: string, whose = 'this box is'): void {
  if (manifest.platform !== platform)
    throw new BundleRefused('platform', `the bundle is for ${manifest.platform}, ${whose} ${platform}`);
}

/** The tarball's byte count, before its hash is worth computing. Throws BundleRefused('size'). */
export function checkTarballSize(manifest: ReleaseManifest, size: number): void {
  if (size !== manifest.size)
    throw new BundleRefused(
      'size',
      `the tarball has ${size} bytes, the manifest says ${manifest.size}` +
        (size < manifest.size ? ' (truncated: an interrupted copy or download?)' : ''),
    );
}

/** The tarball's SHA-256 (hex). Throws BundleRefused('hash'). */
export function checkTarballHash(manifest: ReleaseManifest, sha256: string): void {
  if (sha256 !== manifest.sha256)
    throw new BundleRefused(
      'hash',
      `the tarball's SHA-256 is ${sha256}, the manifest says ${manifest.sha256}`,
    );
}
