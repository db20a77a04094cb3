// `npm run release`: a versioned, signed bundle per platform in release-out/ (see release/README.md).
// Per platform: production dependencies installed for that platform into a staging folder (never into the
// shared node_modules), native addons compiled for it (cross-compiled for arm64), the Node.js runtime from
// the npm registry, the compiled box, its voice clips and the systemd units; then packed and signed.
import { Command, Option } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
  openSync,
  readSync,
  closeSync,
} from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleName, loadReleaseKey, packBundle } from './bundle.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const NODE_GYP = join(
  dirname(process.execPath),
  '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js',
);

interface Target {
  platform: string;
  /** npm's --cpu and node-gyp's --arch. */
  arch: 'x64' | 'arm64';
  /** ELF e_machine of its binaries: every .node in the bundle is checked against it. */
  elfMachine: number;
  /** Compiler environment for node-gyp (empty: this machine's own compilers). */
  cc: Record<string, string>;
  strip: string;
}

const TARGETS: Record<string, Target> = {
  'linux-x64': { platform: 'linux-x64', arch: 'x64', elfMachine: 0x3e, cc: {}, strip: 'strip' },
  'linux-arm64': {
    platform: 'linux-arm64',
    arch: 'arm64',
    elfMachine: 0xb7,
    cc: {
      CC: 'aarch64-linux-gnu-gcc',
      CXX: 'aarch64-linux-gnu-g++',
      LINK: 'aarch64-linux-gnu-g++',
      AR: 'aarch64-linux-gnu-ar',
    },
    strip: 'aarch64-linux-gnu-strip',
  },
};

/** Addons without prebuilt binaries for Linux: compiled here with node-gyp for the target. */
const COMPILED_ADDONS = ['better-sqlite3', 'epoll'];

function sh(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}): void {
  try {
    execFileSync(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: Buffer; stdout?: Buffer };
    const out = `${e.stdout?.toString() ?? ''}${e.stderr?.toString() ?? ''}`
      .split('\n')
      .slice(-30)
      .join('\n');
    throw new Error(`${cmd} ${args.join(' ')} failed in ${cwd}:\n${out}`);
  }
}

function duBytes(path: string): number {
  const s = statSync(path);
  if (!s.isDirectory()) return s.size;
  return readdirSync(path).reduce((sum, name) => sum + duBytes(join(path, name)), 0);
}

function filesEndingWith(dir: string, suffix: string, found: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) filesEndingWith(p, suffix, found);
    else if (entry.name.endsWith(suffix)) found.push(p);
  }
  return found;
}

function elfMachineOf(file: string): number {
  const buf = Buffer.alloc(20);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, buf, 0, 20, 0);
  } finally {
    closeSync(fd);
  }
  if (buf.readUInt32BE(0) !== 0x7f454c46) return -1;
  return buf.readUInt16LE(18);
}

/** The official Node.js binary for the target from the npm registry (node-linux-<arch>), cached. */
function nodeRuntime(t: Target, cacheDir: string): string {
  const version = process.versions.node;
  const dir = join(cacheDir, `node-${version}-${t.platform}`);
  if (existsSync(join(dir, 'package', 'bin', 'node'))) return join(dir, 'package');
  mkdirSync(dir, { recursive: true });
  sh('npm', ['pack', `node-linux-${t.arch}@${version}`, '--pack-destination', dir, '--silent'], dir);
  sh('tar', ['-xzf', `node-linux-${t.arch}-${version}.tgz`], dir);
  rmSync(join(dir, `node-linux-${t.arch}-${version}.tgz`));
  return join(dir, 'package');
}

/** Compiles an addon in the staging tree for the target, or copies the .node files cached from a previous build. */
function compileAddon(t: Target, stage: string, name: string, nodeDir: string, cacheDir: string): void {
  const pkgDir = join(stage, 'node_modules', name);
  if (!existsSync(pkgDir)) return; // an optional dependency that is not installed
  const version = (JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { version: string })
    .version;
  const cached = join(cacheDir, 'addons', `${name}-${version}-${t.platform}-node${process.versions.node}`);
  if (!existsSync(cached)) {
    sh(
      process.execPath,
      [NODE_GYP, 'rebuild', '--release', `--arch=${t.arch}`, `--nodedir=${nodeDir}`, '-j', '2'],
      pkgDir,
      t.cc,
    );
    mkdirSync(cached, { recursive: true });
    for (const f of filesEndingWith(join(pkgDir, 'build', 'Release'), '.node'))
      cpSync(f, join(cached, relative(join(pkgDir, 'build', 'Release'), f)));
  }
  rmSync(join(pkgDir, 'build'), { recursive: true, force: true });
  cpSync(cached, join(pkgDir, 'build', 'Release'), { recursive: true });
  // Symbols are for debuggers, not for boxes: about half of better-sqlite3's 4 MB.
  for (const f of filesEndingWith(join(pkgDir, 'build', 'Release'), '.node'))
    sh(t.strip, ['--strip-unneeded', f], pkgDir);
  // The C sources are not needed at run time (better-sqlite3's deps/ alone is 9 MB of SQLite source).
  for (const dir of ['deps', 'src']) rmSync(join(pkgDir, dir), { recursive: true, force: true });
}

/** Files no box reads at run time: type declarations, source maps, docs, and the fonts tickets do not use. */
function slimDependencies(nodeModules: string): void {
  const unused = (name: string) =>
    name.endsWith('.d.ts') ||
    name.endsWith('.d.mts') ||
    name.endsWith('.d.cts') ||
    name.endsWith('.map') ||
    /\.(md|markdown)$/i.test(name);
  for (const f of filesEndingWith(nodeModules, '')) if (unused(f)) rmSync(f);
  // device/drivers/serial/escpos/ticket.ts registers DejaVuSans.ttf and DejaVuSans-Bold.ttf only.
  const fonts = join(nodeModules, 'dejavu-fonts-ttf');
  if (existsSync(fonts)) {
    for (const f of readdirSync(join(fonts, 'ttf')))
      if (f !== 'DejaVuSans.ttf' && f !== 'DejaVuSans-Bold.ttf') rmSync(join(fonts, 'ttf', f));
    rmSync(join(fonts, 'status.txt'), { force: true });
  }
}

/** Where install.sh puts the launcher (outside every version: updates never change it). */
export const LAUNCHER_PATH = '/usr/local/lib/motcua-lobby/lobby-launch';

/**
 * The unit from deploy/, for a bundle: systemd runs the launcher (deploy/lobby-launch.sh), which runs
 * `current`'s bin/lobby (the bundled node) and rolls back a new version that fails its trial; the node flags
 * go through NODE_OPTIONS; the service user may write the versions' folder (over-the-air updates).
 */
export function bundledUnit(): string {
  const unit = readFileSync(join(ROOT, 'deploy', 'motcua-lobby.service'), 'utf8');
  const exec =
    /^ExecStart=\/usr\/bin\/node (--max-semi-space-size=1 --v8-pool-size=1) \/opt\/motcua-lobby\/dist\/cli\/lobby\.js (.*)$/m;
  const flags = exec.exec(unit)?.[1];
  const rewritten = unit
    .replace('WorkingDirectory=/opt/motcua-lobby\n', 'WorkingDirectory=/opt/motcua-lobby/current\n')
    .replace(exec, `Environment="NODE_OPTIONS=${flags}"\nExecStart=${LAUNCHER_PATH} $2`)
    .replace(
      'ReadWritePaths=/var/lib/motcua-lobby /etc/motcua-lobby\n',
      'ReadWritePaths=/var/lib/motcua-lobby /etc/motcua-lobby /opt/motcua-lobby\n',
    );
  if (
    !flags ||
    !rewritten.includes(`ExecStart=${LAUNCHER_PATH} device `) ||
    !rewritten.includes(' /opt/motcua-lobby\n')
  )
    throw new Error('deploy/motcua-lobby.service changed shape: update bundledUnit() in release/build.ts');
  return rewritten;
}

export interface BuiltBundle {
  platform: string;
  manifestPath: string;
  tarball: string;
  bytes: number;
  unpackedBytes: number;
  seconds: number;
}

function buildOne(
  t: Target,
  opts: { out: string; version: string; keyFile?: string },
  tick: (step: string) => void,
): BuiltBundle {
  const started = Date.now();
  const cacheDir = join(opts.out, '.cache');
  const stage = join(opts.out, '.stage', t.platform);
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(stage, { recursive: true });

  tick('dependencies');
  for (const f of ['package.json', 'package-lock.json']) cpSync(join(ROOT, f), join(stage, f));
  sh(
    'npm',
    [
      'ci',
      '--omit=dev',
      '--ignore-scripts',
      '--os=linux',
      `--cpu=${t.arch}`,
      '--libc=glibc',
      '--no-audit',
      '--no-fund',
      '--loglevel=error',
    ],
    stage,
  );

  tick('runtime');
  const nodePkg = nodeRuntime(t, cacheDir);
  mkdirSync(join(stage, 'node', 'bin'), { recursive: true });
  cpSync(join(nodePkg, 'bin', 'node'), join(stage, 'node', 'bin', 'node'));
  cpSync(join(nodePkg, 'LICENSE'), join(stage, 'node', 'LICENSE'));

  tick('native addons');
  for (const name of COMPILED_ADDONS) compileAddon(t, stage, name, nodePkg, cacheDir);
  // serialport ships prebuilt binaries for every platform: keep this one's.
  const prebuilds = join(stage, 'node_modules', '@serialport', 'bindings-cpp', 'prebuilds');
  if (existsSync(prebuilds))
    for (const p of readdirSync(prebuilds))
      if (p !== t.platform) rmSync(join(prebuilds, p), { recursive: true });
  const wrong = filesEndingWith(join(stage, 'node_modules'), '.node').filter(
    (f) => elfMachineOf(f) !== t.elfMachine,
  );
  if (wrong.length)
    throw new Error(
      `binaries not built for ${t.platform}: ${wrong.map((f) => relative(stage, f)).join(', ')}`,
    );

  slimDependencies(join(stage, 'node_modules'));

  tick('box');
  cpSync(join(ROOT, 'dist'), join(stage, 'dist'), {
    recursive: true,
    filter: (src) =>
      !/^(test|release)(\/|$)/.test(relative(join(ROOT, 'dist'), src)) && !src.endsWith('.map'),
  });
  cpSync(join(ROOT, 'assets'), join(stage, 'assets'), { recursive: true });
  mkdirSync(join(stage, 'config'));
  cpSync(join(ROOT, 'config', 'office.example.yaml'), join(stage, 'config', 'office.example.yaml'));
  mkdirSync(join(stage, 'deploy'));
  writeFileSync(join(stage, 'deploy', 'motcua-lobby.service'), bundledUnit());
  cpSync(join(ROOT, 'deploy', 'lobby-launch.sh'), join(stage, 'deploy', 'lobby-launch.sh'));
  mkdirSync(join(stage, 'bin'));
  writeFileSync(
    join(stage, 'bin', 'lobby'),
    '#!/bin/sh\n# The bundled Node.js runs the bundled box: nothing of the system is used.\n' +
      'here="$(dirname "$(readlink -f "$0")")"\nexec "$here/../node/bin/node" "$here/../dist/cli/lobby.js" "$@"\n',
  );
  chmodSync(join(stage, 'bin', 'lobby'), 0o755);
  rmSync(join(stage, 'package-lock.json'));
  rmSync(join(stage, 'node_modules', '.package-lock.json'), { force: true });
  writeFileSync(
    join(stage, 'release.json'),
    `${JSON.stringify({ name: 'motcua-lobby', version: opts.version, platform: t.platform, node: process.versions.node }, null, 2)}\n`,
  );

  tick('pack and sign');
  const key = loadReleaseKey(opts.keyFile, opts.out);
  const unpackedBytes = duBytes(stage);
  const packed = packBundle({
    stageDir: stage,
    outDir: opts.out,
    version: opts.version,
    platform: t.platform,
    node: process.versions.node,
    key,
  });
  rmSync(stage, { recursive: true, force: true });
  return {
    platform: t.platform,
    manifestPath: packed.manifestPath,
    tarball: packed.tarball,
    bytes: packed.manifest.size,
    unpackedBytes,
    seconds: (Date.now() - started) / 1000,
  };
}

const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;

async function main(): Promise<void> {
  const program = new Command('release')
    .description('build signed release bundles of the office box into release-out/')
    .addOption(
      new Option('--platform <platforms...>', 'platforms to build')
        .choices(Object.keys(TARGETS))
        .default(Object.keys(TARGETS)),
    )
    .option(
      '--key <file>',
      'the release private key (Ed25519, PKCS#8 PEM); default: a development key in the output folder',
    )
    .option('--out <dir>', 'output folder', join(ROOT, 'release-out'))
    .option('--version <version>', 'the version to stamp (default: package.json)')
    .option('--no-progress', 'no progress bar (CI logs)')
    .parse();
  const o = program.opts<{
    platform: string[];
    key?: string;
    out: string;
    version?: string;
    progress: boolean;
  }>();
  const out = resolve(o.out);
  const version =
    o.version ??
    (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  if (!existsSync(join(ROOT, 'dist', 'cli', 'lobby.js')))
    throw new Error('dist/ is not built: run `npm run build` first');
  const key = loadReleaseKey(o.key, out);
  if (key.dev)
    console.warn(
      `\n!!! NO RELEASE KEY GIVEN: signing with the DEVELOPMENT key ${join(out, 'dev-release-key.pem')}.\n` +
        '!!! Boxes that trust this key accept anything signed by whoever has that file. For real releases:\n' +
        '!!!   npm run release -- --key /path/to/release-key.pem\n',
    );
  const steps = ['dependencies', 'runtime', 'native addons', 'box', 'pack and sign'];
  const bar = o.progress
    ? new SingleBar(
        { format: ' {bar} {value}/{total} {platform}: {step}', hideCursor: true },
        Presets.shades_classic,
      )
    : null;
  bar?.start(o.platform.length * steps.length, 0, { platform: '', step: '' });
  const built: BuiltBundle[] = [];
  for (const p of o.platform) {
    const t = TARGETS[p]!;
    let first = true;
    built.push(
      buildOne(t, { out, version, keyFile: o.key }, (step) => {
        if (!first) bar?.increment(1, { platform: p, step });
        else bar?.update({ platform: p, step });
        first = false;
        if (!bar) console.log(`${p}: ${step}`);
      }),
    );
    bar?.increment(1, { platform: p, step: 'done' });
  }
  bar?.stop();
  for (const b of built)
    console.log(
      `${bundleName(version, b.platform)}: ${mb(b.bytes)} (unpacked ${mb(b.unpackedBytes)}), built in ${b.seconds.toFixed(0)} s\n  ${relative(process.cwd(), b.manifestPath)}`,
    );
  console.log(
    `install on a box: copy ${relative(process.cwd(), out)}/{install.sh,<bundle>.*} to it, then sudo ./install.sh`,
  );
}

main().catch((err: unknown) => {
  console.error(`release failed: ${(err as Error).message}`);
  process.exit(1);
});
