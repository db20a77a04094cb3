// Releases as the cloud keeps them: a row per release (version, notes), a row per verified bundle (platform),
// the tarball on disk under the releases folder. An upload is checked like the box checks a download
// (protocol/release-bundle.ts): the signed manifest before a byte of the body is read, then the tarball's size
// and SHA-256 while it streams to a temporary file, which gets its name only once every check passed.
import { createHash, randomBytes, type KeyObject } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  BundleRefused,
  checkPlatform,
  checkTarballHash,
  checkTarballSize,
  keyIdOf,
  verifyManifest,
  type ReleaseManifest,
} from '../../protocol/release-bundle.js';
import type { Db } from '../db/database.js';
import { HttpError } from '../http/context.js';
import { RELEASE_BUNDLE_MAX_BYTES, RELEASES_LIST_MAX } from '../limits.js';

export interface BundleView {
  platform: string;
  file: string;
  size: number;
  sha256: string;
  keyId: string;
  uploadedBy: string;
  uploadedAt: string;
}

export interface ReleaseView {
  version: string;
  notes: string;
  createdBy: string;
  createdAt: string;
  bundles: BundleView[];
}

/** Where a verified tarball lives: `<releasesDir>/<version>/<platform>/<file>`. */
export const bundlePath = (dir: string, version: string, platform: string, file: string): string =>
  join(dir, version, platform, file);

export async function createRelease(
  db: Db,
  r: { version: string; notes: string; actor: string; now: number },
): Promise<ReleaseView> {
  const exists = await db
    .selectFrom('releases')
    .select('version')
    .where('version', '=', r.version)
    .executeTakeFirst();
  if (exists) throw new HttpError(409, 'release_exists', `release ${r.version} exists already`);
  await db
    .insertInto('releases')
    .values({ version: r.version, notes: r.notes, created_by: r.actor, created_at: r.now })
    .execute();
  return releaseView(db, r.version) as Promise<ReleaseView>;
}

export async function releaseView(db: Db, version: string): Promise<ReleaseView | null> {
  const [r] = await listReleases(db, version);
  return r ?? null;
}

/** Newest first (by creation), with their bundles; one release when `version` is given. */
export async function listReleases(db: Db, version?: string): Promise<ReleaseView[]> {
  let q = db.selectFrom('releases').selectAll().orderBy('created_at', 'desc').limit(RELEASES_LIST_MAX);
  if (version !== undefined) q = q.where('version', '=', version);
  const rows = await q.execute();
  if (rows.length === 0) return [];
  const bundles = await db
    .selectFrom('release_bundles')
    .select(['version', 'platform', 'file', 'size', 'sha256', 'key_id', 'uploaded_by', 'uploaded_at'])
    .where(
      'version',
      'in',
      rows.map((r) => r.version),
    )
    .orderBy('platform')
    .execute();
  return rows.map((r) => ({
    version: r.version,
    notes: r.notes,
    createdBy: r.created_by,
    createdAt: new Date(Number(r.created_at)).toISOString(),
    bundles: bundles
      .filter((b) => b.version === r.version)
      .map((b) => ({
        platform: b.platform,
        file: b.file,
        size: Number(b.size),
        sha256: b.sha256,
        keyId: b.key_id,
        uploadedBy: b.uploaded_by,
        uploadedAt: new Date(Number(b.uploaded_at)).toISOString(),
      })),
  }));
}

export interface IncomingBundle {
  releasesDir: string;
  version: string;
  platform: string;
  manifestBytes: Buffer;
  signature: string;
  publicKey: KeyObject;
  /** The request's Content-Length, when it sent one: a short one is refused before the body is read. */
  contentLength?: number;
}

/**
 * The checks that need no body: the signature, the manifest's fields, its version and platform against the
 * upload's, its size against the limit and the announced length. Throws BundleRefused, or HttpError 413.
 */
export function checkAnnounced(b: IncomingBundle): ReleaseManifest {
  const manifest = verifyManifest(b.manifestBytes, b.signature, b.publicKey);
  if (manifest.version !== b.version)
    throw new BundleRefused(
      'manifest',
      `the manifest is for version ${manifest.version}, the upload is for ${b.version}`,
    );
  checkPlatform(manifest, b.platform, 'the upload is for');
  if (manifest.size > RELEASE_BUNDLE_MAX_BYTES)
    throw new HttpError(
      413,
      'bundle_too_large',
      `the bundle has ${manifest.size} bytes; the cloud keeps bundles up to ${RELEASE_BUNDLE_MAX_BYTES}`,
    );
  if (b.contentLength !== undefined) checkTarballSize(manifest, b.contentLength);
  return manifest;
}

/**
 * Streams the tarball to disk while counting and hashing it, then checks size and SHA-256 against the signed
 * manifest. Only then does the file get its name; a refused or interrupted upload leaves nothing behind.
 * Never holds more than a stream chunk in memory.
 */
export async function receiveTarball(
  b: IncomingBundle,
  manifest: ReleaseManifest,
  body: Readable,
): Promise<string> {
  const dir = join(b.releasesDir, b.version, b.platform);
  const incoming = join(b.releasesDir, '.incoming');
  await mkdir(incoming, { recursive: true });
  const temp = join(incoming, `${b.version}-${b.platform}-${randomBytes(6).toString('hex')}`);
  const hash = createHash('sha256');
  let bytes = 0;
  const measure = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      // More than the manifest says: stop reading now (the size check below names it).
      if (bytes > manifest.size) return done(new BundleRefused('size', ''));
      hash.update(chunk);
      done(null, chunk);
    },
  });
  try {
    try {
      await pipeline(body, measure, createWriteStream(temp, { flags: 'wx' }));
    } catch (err) {
      if (!(err instanceof BundleRefused)) throw err;
    }
    checkTarballSize(manifest, bytes);
    checkTarballHash(manifest, hash.digest('hex'));
    const fh = await open(temp, 'r');
    await fh.sync().finally(() => fh.close());
    await mkdir(dir, { recursive: true });
    const dest = join(dir, manifest.file);
    await rename(temp, dest);
    return dest;
  } finally {
    await rm(temp, { force: true });
  }
}

/** Records a verified bundle (after its tarball is in place). Re-uploading the same bytes changes nothing. */
export async function saveBundle(
  db: Db,
  b: IncomingBundle,
  manifest: ReleaseManifest,
  actor: string,
  now: number,
): Promise<void> {
  await db
    .insertInto('release_bundles')
    .values({
      version: b.version,
      platform: b.platform,
      file: manifest.file,
      size: manifest.size,
      sha256: manifest.sha256,
      key_id: keyIdOf(b.publicKey),
      manifest: b.manifestBytes.toString('utf8'),
      signature: b.signature.trim(),
      uploaded_by: actor,
      uploaded_at: now,
    })
    .onConflict((oc) => oc.columns(['version', 'platform']).doNothing())
    .execute();
}

/** The bundle already kept for (version, platform), if any. */
export async function bundleOf(
  db: Db,
  version: string,
  platform: string,
): Promise<{ file: string; size: number; sha256: string; manifest: string; signature: string } | null> {
  const b = await db
    .selectFrom('release_bundles')
    .select(['file', 'size', 'sha256', 'manifest', 'signature'])
    .where('version', '=', version)
    .where('platform', '=', platform)
    .executeTakeFirst();
  return b ? { ...b, size: Number(b.size) } : null;
}
