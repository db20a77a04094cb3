// A release bundle is checked before anything of it is unpacked: the signed manifest, the platform, the
// tarball's size and hash. Each bad bundle is refused with a reason an admin can act on, nothing unpacked.
import { generateKeyPairSync } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { loadReleaseKey, packBundle } from '../../release/bundle.js';
import { bundleFiles, publicKeyFrom, verifyBundle, BundleRefused } from '../../device/release/verify.js';
import { unpackVerified } from '../../device/release/unpack.js';

const work = mkdtempSync(join(tmpdir(), 'lobby-release-verify-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const outDir = join(work, 'out');
const key = loadReleaseKey(undefined, join(work, 'keys'));
const publicKey = publicKeyFrom(key.publicPem);
let manifestPath = '';
let tarball = '';

function stageBox(dir: string): void {
  mkdirSync(join(dir, 'dist', 'cli'), { recursive: true });
  writeFileSync(join(dir, 'dist', 'cli', 'lobby.js'), 'console.log("box");\n'.repeat(200));
  writeFileSync(join(dir, 'release.json'), '{"version":"1.2.3"}\n');
}

beforeEach(() => {
  rmSync(outDir, { recursive: true, force: true });
  const stage = join(work, 'stage');
  rmSync(stage, { recursive: true, force: true });
  stageBox(stage);
  ({ manifestPath, tarball } = packBundle({
    stageDir: stage,
    outDir,
    version: '1.2.3',
    platform: 'linux-arm64',
    node: '20.20.2',
    key,
  }));
});

/** Refused with this reason, and the destination left absent (nothing unpacked). */
async function expectRefused(
  reason: string,
  message: RegExp,
  opts: { key?: typeof publicKey; platform?: string } = {},
) {
  const dest = join(work, `dest-${reason}`);
  const err = await unpackVerified(
    manifestPath,
    opts.key ?? publicKey,
    dest,
    opts.platform ?? 'linux-arm64',
  ).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(BundleRefused);
  expect((err as BundleRefused).reason).toBe(reason);
  expect((err as Error).message).toMatch(message);
  expect(existsSync(dest)).toBe(false);
  expect(readdirSync(work).filter((n) => n.startsWith('.partial'))).toEqual([]);
}

function editManifest(edit: (m: Record<string, unknown>) => void): void {
  const m = JSON.parse(readFileSync(manifestPath, 'utf8')) as Record<string, unknown>;
  edit(m);
  writeFileSync(manifestPath, `${JSON.stringify(m, null, 2)}\n`);
}

describe('release bundle verification', () => {
  it('accepts a good bundle and unpacks it', async () => {
    const verified = await verifyBundle(manifestPath, publicKey, 'linux-arm64');
    expect(verified.manifest).toMatchObject({ version: '1.2.3', platform: 'linux-arm64', node: '20.20.2' });
    const dest = join(work, 'good');
    await unpackVerified(manifestPath, publicKey, dest, 'linux-arm64');
    expect(readFileSync(join(dest, 'release.json'), 'utf8')).toContain('1.2.3');
  });

  it('refuses a tarball with one flipped byte', async () => {
    const bytes = readFileSync(tarball);
    bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
    writeFileSync(tarball, bytes);
    await expectRefused('hash', /SHA-256 is [0-9a-f]{64}, the manifest says/);
  });

  it('refuses a manifest whose field was changed after signing', async () => {
    editManifest((m) => (m.version = '9.9.9'));
    await expectRefused('signature', /signature does not match the release key/);
  });

  it('refuses a manifest moved to another platform after signing', async () => {
    editManifest((m) => (m.platform = 'linux-x64'));
    await expectRefused('signature', /signature does not match/, { platform: 'linux-x64' });
  });

  it('refuses a bundle signed by another key', async () => {
    const other = generateKeyPairSync('ed25519').publicKey;
    await expectRefused('signature', /signed by another key/, { key: other });
  });

  it('refuses a truncated tarball, saying so', async () => {
    truncateSync(tarball, 100);
    await expectRefused('size', /has 100 bytes, the manifest says \d+ \(truncated/);
  });

  it('refuses a bundle for another platform', async () => {
    await expectRefused('platform', /the bundle is for linux-arm64, this box is linux-x64/, {
      platform: 'linux-x64',
    });
  });

  it('refuses a missing or garbled signature and a missing tarball', async () => {
    writeFileSync(bundleFiles(manifestPath).signature, 'not base64 at all!\n');
    await expectRefused('signature', /signature does not match/);
    rmSync(bundleFiles(manifestPath).signature);
    await expectRefused('unreadable', /cannot read the signature/);
  });

  it('refuses when the tarball named by the manifest is missing', async () => {
    rmSync(tarball);
    await expectRefused('unreadable', /tarball .* is missing/);
  });
});
