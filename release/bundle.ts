// Packing and signing a staged release folder: the tarball, its manifest (the exact bytes are signed with
// Ed25519) and the signature, plus the installer beside them with the release public key written into it.
import {
  createHash,
  createPrivateKey,
  generateKeyPairSync,
  sign,
  type KeyObject,
  createPublicKey,
} from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleFiles, keyIdOf, type ReleaseManifest } from '../device/release/verify.js';

export interface ReleaseKey {
  privateKey: KeyObject;
  publicPem: string;
  /** True when no key file was given and a development key was used (never for boxes in the field). */
  dev: boolean;
}

/** The environment variable holding the passphrase of an encrypted release key (release/keygen.ts). */
export const PASSPHRASE_ENV = 'LOBBY_RELEASE_KEY_PASSPHRASE';

/**
 * The release key from a PEM file (PKCS#8 Ed25519; an encrypted one is unlocked with the passphrase in
 * LOBBY_RELEASE_KEY_PASSPHRASE), or a development key kept in `outDir`.
 */
export function loadReleaseKey(
  keyFile: string | undefined,
  outDir: string,
  passphrase = process.env[PASSPHRASE_ENV],
): ReleaseKey {
  let pem: string;
  let dev = false;
  if (keyFile) {
    pem = readFileSync(keyFile, 'utf8');
  } else {
    dev = true;
    const devFile = join(outDir, 'dev-release-key.pem');
    if (!existsSync(devFile)) {
      mkdirSync(outDir, { recursive: true });
      const { privateKey } = generateKeyPairSync('ed25519');
      writeFileSync(devFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    }
    pem = readFileSync(devFile, 'utf8');
  }
  if (pem.includes('ENCRYPTED PRIVATE KEY') && !passphrase)
    throw new Error(`${keyFile} is encrypted: set ${PASSPHRASE_ENV} to its passphrase`);
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(passphrase ? { key: pem, passphrase } : pem);
  } catch (err) {
    throw new Error(
      `${keyFile ?? 'the development key'} cannot be read as a private key` +
        (pem.includes('ENCRYPTED') ? ` (wrong passphrase in ${PASSPHRASE_ENV}?)` : '') +
        `: ${(err as Error).message}`,
    );
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`${keyFile} is not an Ed25519 private key`);
  const publicPem = createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString();
  return { privateKey, publicPem, dev };
}

export interface PackOptions {
  stageDir: string;
  outDir: string;
  version: string;
  platform: string;
  node: string;
  key: ReleaseKey;
  now?: Date;
}

export function bundleName(version: string, platform: string): string {
  return `motcua-lobby-${version}-${platform}`;
}

/** Tars the staged folder (owner root, sorted names: the same input gives the same tar), writes and signs the manifest. */
export function packBundle(opts: PackOptions): {
  manifestPath: string;
  tarball: string;
  manifest: ReleaseManifest;
} {
  mkdirSync(opts.outDir, { recursive: true });
  const name = bundleName(opts.version, opts.platform);
  const tarball = join(opts.outDir, `${name}.tar.gz`);
  execFileSync('tar', [
    '--sort=name',
    '--owner=0',
    '--group=0',
    '--numeric-owner',
    '-czf',
    tarball,
    '-C',
    opts.stageDir,
    '.',
  ]);
  const bytes = readFileSync(tarball);
  const manifest: ReleaseManifest = {
    format: 1,
    name: 'motcua-lobby',
    version: opts.version,
    platform: opts.platform,
    file: `${name}.tar.gz`,
    size: statSync(tarball).size,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    node: opts.node,
    createdAt: (opts.now ?? new Date()).toISOString(),
    keyId: keyIdOf(opts.key.privateKey),
  };
  const manifestPath = join(opts.outDir, `${name}.manifest.json`);
  const manifestBytes = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
  writeFileSync(manifestPath, manifestBytes);
  writeFileSync(
    bundleFiles(manifestPath).signature,
    `${sign(null, manifestBytes, opts.key.privateKey).toString('base64')}\n`,
  );
  writeInstaller(opts.outDir, opts.key.publicPem);
  return { manifestPath, tarball, manifest };
}

/** The installer's source (release/install.sh), found from this file in source and in dist/. */
export function installerSource(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    const file = join(dir, 'release', 'install.sh');
    if (existsSync(file)) return readFileSync(file, 'utf8');
    dir = dirname(dir);
  }
  throw new Error('release/install.sh not found');
}

/** install.sh and the public key next to the bundles: the key is written into the script (its trust anchor). */
export function writeInstaller(outDir: string, publicPem: string): string {
  const script = installerSource().replace('@RELEASE_KEY_PEM@', publicPem.trim());
  const file = join(outDir, 'install.sh');
  writeFileSync(file, script);
  chmodSync(file, 0o755);
  writeFileSync(join(outDir, 'release-key.pub.pem'), publicPem);
  return file;
}
