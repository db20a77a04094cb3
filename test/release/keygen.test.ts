// The release key as a release manager makes it: `npm run release:keygen` writes the key pair with the
// private key readable by its owner only, refuses to overwrite a key the field trusts, encrypts it when a
// passphrase is given, and a bundle signed with it verifies with its public key (and only with it).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BundleRefused, publicKeyFrom, verifyBundle } from '../../device/release/verify.js';
import { loadReleaseKey, packBundle, PASSPHRASE_ENV } from '../../release/bundle.js';
import { generateReleaseKey } from '../../release/keygen.js';

const KEYGEN = join(import.meta.dirname, '../../dist/release/keygen.js');
const work = mkdtempSync(join(tmpdir(), 'lobby-keygen-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function keygen(out: string, env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [KEYGEN, '--out', out], {
    encoding: 'utf8',
    env: { ...process.env, [PASSPHRASE_ENV]: '', ...env },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function signedBundle(keyFile: string, passphrase?: string) {
  const stage = mkdtempSync(join(work, 'stage-'));
  mkdirSync(join(stage, 'dist'));
  writeFileSync(join(stage, 'dist/box.js'), 'console.log(1);\n');
  return packBundle({
    stageDir: stage,
    outDir: mkdtempSync(join(work, 'out-')),
    version: '2.0.0',
    platform: 'linux-x64',
    node: '20.20.2',
    key: loadReleaseKey(keyFile, work, passphrase),
  });
}

describe('npm run release:keygen', () => {
  it('writes the key pair (private 0600), prints its id, and a bundle signed with it verifies', async () => {
    const out = join(work, 'keys');
    const r = keygen(out);
    expect(r.code).toBe(0);
    const id = /release key ([0-9a-f]{16})/.exec(r.out)?.[1];
    expect(id).toBeDefined();
    expect(r.out).toContain('NOT encrypted');
    expect(statSync(join(out, 'release-key.pem')).mode & 0o777).toBe(0o600);
    expect(statSync(out).mode & 0o777).toBe(0o700);
    const b = signedBundle(join(out, 'release-key.pem'));
    expect(JSON.parse(readFileSync(b.manifestPath, 'utf8'))).toMatchObject({ keyId: id });
    const pub = (f: string) => publicKeyFrom(readFileSync(f, 'utf8'));
    const verified = await verifyBundle(b.manifestPath, pub(join(out, 'release-key.pub.pem')), 'linux-x64');
    expect(verified.manifest.version).toBe('2.0.0');
    // Another key's public half refuses it.
    const other = generateReleaseKey(join(work, 'other'));
    await expect(verifyBundle(b.manifestPath, pub(other.publicFile), 'linux-x64')).rejects.toBeInstanceOf(
      BundleRefused,
    );
  });

  it('refuses to overwrite a key, and leaves it as it was', () => {
    const out = join(work, 'once');
    expect(keygen(out).code).toBe(0);
    const before = readFileSync(join(out, 'release-key.pem'), 'utf8');
    const again = keygen(out);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/release-key\.pem exists: a release key is made once/);
    expect(readFileSync(join(out, 'release-key.pem'), 'utf8')).toBe(before);
  });

  it('encrypts the key with the passphrase; the release build needs it and says so', () => {
    const out = join(work, 'locked');
    const pass = 'một cửa 4000 hộp';
    const r = keygen(out, { [PASSPHRASE_ENV]: pass });
    expect(r.code).toBe(0);
    expect(r.out).toContain(`encrypted: ${PASSPHRASE_ENV} unlocks it`);
    const keyFile = join(out, 'release-key.pem');
    expect(readFileSync(keyFile, 'utf8')).toContain('ENCRYPTED PRIVATE KEY');
    expect(() => loadReleaseKey(keyFile, work, '')).toThrow(`is encrypted: set ${PASSPHRASE_ENV}`);
    expect(() => loadReleaseKey(keyFile, work, 'wrong passphrase')).toThrow(/wrong passphrase/);
    expect(signedBundle(keyFile, pass).manifestPath).toMatch(/2\.0\.0-linux-x64\.manifest\.json$/);
    expect(keygen(join(work, 'short'), { [PASSPHRASE_ENV]: 'short' }).err).toMatch(/shorter than 12/);
  });
});
