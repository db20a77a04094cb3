// install.sh, run as an admin would on a Pi but into a folder (--root): what it leaves on disk, that it can
// be run again, that an upgrade switches `current` and keeps the previous version, that a bad bundle is
// refused before anything is created, and that a failed step says where it stopped and what it left.
import { spawnSync } from 'node:child_process';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { loadReleaseKey, packBundle, type ReleaseKey } from '../../release/bundle.js';

const work = mkdtempSync(join(tmpdir(), 'lobby-release-install-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const key = loadReleaseKey(undefined, join(work, 'keys'));
let root = '';
let n = 0;

/** A small bundle with the layout of a real one (the real one is checked by `npm run release:check`). */
function bundle(
  version: string,
  opts: { platform?: string; key?: ReleaseKey; out?: string; build?: string } = {},
) {
  const stage = join(work, `stage-${++n}`);
  for (const d of ['dist/cli', 'node/bin', 'bin', 'deploy', 'config'])
    mkdirSync(join(stage, d), { recursive: true });
  writeFileSync(join(stage, 'dist/cli/lobby.js'), `console.log('box ${version} ${opts.build ?? ''}');\n`);
  writeFileSync(join(stage, 'node/bin/node'), '#!/bin/sh\n', { mode: 0o755 });
  writeFileSync(join(stage, 'bin/lobby'), '#!/bin/sh\n', { mode: 0o755 });
  writeFileSync(
    join(stage, 'deploy/motcua-lobby.service'),
    `[Service]\nExecStart=/opt/motcua-lobby/current/node/bin/node ${version}\n`,
  );
  writeFileSync(join(stage, 'config/office.example.yaml'), 'office: {}\n');
  copyFileSync(
    new URL('../../deploy/lobby-launch.sh', import.meta.url),
    join(stage, 'deploy/lobby-launch.sh'),
  );
  writeFileSync(join(stage, 'release.json'), JSON.stringify({ version }));
  const out = opts.out ?? join(work, `out-${n}`);
  return packBundle({
    stageDir: stage,
    outDir: out,
    version,
    platform: opts.platform ?? 'linux-x64',
    node: '20.20.2',
    key: opts.key ?? key,
  });
}

function install(manifestPath: string, ...extra: string[]) {
  const script = join(manifestPath, '..', 'install.sh');
  const r = spawnSync('bash', [script, '--root', root, '--platform', 'linux-x64', ...extra, manifestPath], {
    encoding: 'utf8',
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const opt = (...p: string[]) => join(root, 'opt/motcua-lobby', ...p);
const current = () => readlinkSync(opt('current'));

beforeEach(() => {
  root = join(work, `root-${++n}`);
  mkdirSync(root);
});

describe('install.sh', () => {
  it('installs a bundle: version folder, current symlink, private data dir, units, key, lobby command', () => {
    const b = bundle('1.0.0');
    const r = install(b.manifestPath);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('verified motcua-lobby-1.0.0-linux-x64.tar.gz');
    expect(r.out).toContain('done: version 1.0.0 installed');
    expect(current()).toBe('1.0.0');
    expect(readFileSync(opt('current/dist/cli/lobby.js'), 'utf8')).toContain('box 1.0.0');
    expect(statSync(join(root, 'var/lib/motcua-lobby')).mode & 0o777).toBe(0o700);
    expect(readFileSync(join(root, 'etc/systemd/system/motcua-lobby.service'), 'utf8')).toContain(
      'ExecStart=/opt/motcua-lobby/current/node/bin/node',
    );
    expect(readFileSync(join(root, 'etc/motcua-lobby/release-key.pub.pem'), 'utf8').trim()).toBe(
      key.publicPem.trim(),
    );
    expect(readlinkSync(join(root, 'usr/local/bin/lobby'))).toBe('/opt/motcua-lobby/current/bin/lobby');
    // The launcher systemd runs, outside every version (over-the-air updates never change it).
    expect(statSync(join(root, 'usr/local/lib/motcua-lobby/lobby-launch')).mode & 0o777).toBe(0o755);
    expect(readdirSync(opt()).sort()).toEqual(['1.0.0', 'current']); // no partial or temporary leftovers
  });

  it('can be run again: nothing changes, and it says so', () => {
    const b = bundle('1.0.0');
    expect(install(b.manifestPath).code).toBe(0);
    const again = install(b.manifestPath);
    expect(again.code).toBe(0);
    expect(again.out).toContain('already unpacked from this bundle: kept');
    expect(again.out).toContain('current already points at 1.0.0');
    expect(readdirSync(opt()).sort()).toEqual(['1.0.0', 'current']);
  });

  it('upgrades: current switches to the new version, previous keeps the old one', () => {
    expect(install(bundle('1.0.0').manifestPath).code).toBe(0);
    const r = install(bundle('1.1.0').manifestPath);
    expect(r.code).toBe(0);
    expect(r.out).toContain('current -> 1.1.0 (was 1.0.0)');
    expect(current()).toBe('1.1.0');
    expect(readlinkSync(opt('previous'))).toBe('1.0.0');
    expect(readFileSync(join(root, 'etc/systemd/system/motcua-lobby.service'), 'utf8')).toContain(
      'node 1.1.0',
    );
  });

  it('keeps current and previous (and a newer version an update unpacked), removes the older ones', () => {
    for (const v of ['1.0.0', '1.1.0']) expect(install(bundle(v).manifestPath).code).toBe(0);
    const third = install(bundle('1.2.0').manifestPath);
    expect(third.out).toContain('removed version 1.0.0'); // current 1.2.0, previous 1.1.0
    expect(readdirSync(opt()).sort()).toEqual(['1.1.0', '1.2.0', 'current', 'previous']);
    // The update agent unpacked 2.0.0 and waits for its window; a version it could not prune is older.
    mkdirSync(opt('2.0.0'));
    mkdirSync(opt('0.9.0'));
    const r = install(bundle('1.10.0').manifestPath);
    expect(r.code).toBe(0);
    expect(r.out).toContain('removed version 1.1.0');
    expect(r.out).toContain('removed version 0.9.0');
    expect(current()).toBe('1.10.0');
    expect(readlinkSync(opt('previous'))).toBe('1.2.0');
    expect(readdirSync(opt()).sort()).toEqual(['1.10.0', '1.2.0', '2.0.0', 'current', 'previous']);
  });

  it('refuses the same version from another bundle unless told to replace it', () => {
    expect(install(bundle('1.0.0').manifestPath).code).toBe(0);
    const rebuilt = bundle('1.0.0', { build: 'rebuilt with a fix' });
    const r = install(rebuilt.manifestPath);
    expect(r.code).toBe(1);
    expect(r.err).toContain('holds version 1.0.0 from another bundle');
    expect(install(rebuilt.manifestPath, '--replace').code).toBe(0);
    expect(readFileSync(opt('1.0.0/manifest.json'), 'utf8')).toBe(readFileSync(rebuilt.manifestPath, 'utf8'));
  });

  const refusals: [string, () => string, RegExp][] = [
    [
      'a flipped byte',
      () => {
        const b = bundle('1.0.0');
        const bytes = readFileSync(b.tarball);
        bytes[bytes.length >> 1]! ^= 0x80;
        writeFileSync(b.tarball, bytes);
        return b.manifestPath;
      },
      /SHA-256 is [0-9a-f]{64}, the manifest says/,
    ],
    [
      'a changed manifest',
      () => {
        const b = bundle('1.0.0');
        writeFileSync(b.manifestPath, readFileSync(b.manifestPath, 'utf8').replace('"1.0.0"', '"1.0.1"'));
        return b.manifestPath;
      },
      /signature does not match the release key/,
    ],
    [
      'another key',
      () => {
        const other = bundle('1.0.0', { key: loadReleaseKey(undefined, join(work, `other-${n}`)) });
        const mine = bundle('0.0.1'); // its install.sh trusts our key
        for (const f of [other.manifestPath, other.tarball, other.manifestPath.replace(/json$/, 'sig')])
          writeFileSync(join(mine.manifestPath, '..', f.split('/').pop()!), readFileSync(f));
        return join(mine.manifestPath, '..', other.manifestPath.split('/').pop()!);
      },
      /signed by another key/,
    ],
    [
      'a truncated tarball',
      () => {
        const b = bundle('1.0.0');
        writeFileSync(b.tarball, readFileSync(b.tarball).subarray(0, 200));
        return b.manifestPath;
      },
      /has 200 bytes, the manifest says \d+ \(truncated/,
    ],
    [
      'another platform',
      () => bundle('1.0.0', { platform: 'linux-arm64' }).manifestPath,
      /is for linux-arm64, this box is linux-x64/,
    ],
  ];
  for (const [what, make, message] of refusals) {
    it(`refuses ${what} before creating anything`, () => {
      const r = install(make());
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/REFUSED at step 'verify'/);
      expect(r.err).toMatch(message);
      expect(r.err).toContain('nothing was unpacked or changed');
      expect(readdirSync(root)).toEqual([]);
    });
  }

  it('a failed step says where it stopped and what it left; the running version stays; a rerun completes', () => {
    expect(install(bundle('1.0.0').manifestPath).code).toBe(0);
    const next = bundle('1.1.0');
    rmSync(join(root, 'etc/systemd/system'), { recursive: true });
    writeFileSync(join(root, 'etc/systemd/system'), 'not a folder'); // the units step cannot write there
    const r = install(next.manifestPath);
    expect(r.code).not.toBe(0);
    expect(r.err).toContain("FAILED at step 'units'");
    expect(r.err).toContain('current -> 1.0.0 (unchanged');
    expect(r.err).toContain('1.1.0 is unpacked and complete');
    expect(r.err).toContain('run the same command again');
    expect(current()).toBe('1.0.0');
    rmSync(join(root, 'etc/systemd/system'));
    const rerun = install(next.manifestPath);
    expect(rerun.code).toBe(0);
    expect(rerun.out).toContain('already unpacked from this bundle: kept');
    expect(current()).toBe('1.1.0');
  });

  it('a signed bundle whose tarball does not unpack fails at unpack: partial files removed, current unchanged', () => {
    expect(install(bundle('1.0.0').manifestPath).code).toBe(0);
    const b = bundle('1.1.0');
    const garbage = Buffer.from('this is not a gzip stream '.repeat(40));
    writeFileSync(b.tarball, garbage);
    const manifest = {
      ...b.manifest,
      size: garbage.length,
      sha256: createHash('sha256').update(garbage).digest('hex'),
    };
    const bytes = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
    writeFileSync(b.manifestPath, bytes);
    writeFileSync(
      b.manifestPath.replace(/json$/, 'sig'),
      sign(null, bytes, key.privateKey).toString('base64'),
    );
    const r = install(b.manifestPath);
    expect(r.code).not.toBe(0);
    expect(r.err).toContain("FAILED at step 'unpack'");
    expect(r.err).toContain('current -> 1.0.0 (unchanged');
    expect(r.err).toContain('1.1.0 is not there (partial files removed)');
    expect(readdirSync(opt()).sort()).toEqual(['1.0.0', 'current']);
  });

  it('with the wrong --pubkey, refuses even a good bundle', () => {
    const b = bundle('1.0.0');
    const pem = join(work, `wrong-${n}.pem`);
    writeFileSync(pem, generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }));
    const r = install(b.manifestPath, '--pubkey', pem);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/signature does not match/);
    expect(readdirSync(root)).toEqual([]);
  });
});
