// `npm run release:check -- linux-arm64 [linux-x64]`: proves a built bundle runs. For each platform: verify
// it with the public key (device/release/verify.ts), unpack it into a temp folder, load every native addon
// with the bundled Node, start its `lobby device` (arm64 under qemu-user-static) on ephemeral ports with a
// small office config, and have a kiosk on this machine (a real MQTT client) get a ticket from it.
// Prints and saves the sizes and times (release-out/check-<platform>.json). Not part of `npm test`.
import { Command } from 'commander';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { publicKeyFrom } from '../device/release/verify.js';
import { unpackVerified } from '../device/release/unpack.js';
import { hashSecret } from '../protocol/secrets.js';
import { connectDevice, request } from '../test/support/office.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const QEMU = 'qemu-aarch64-static';
const ARM64_SYSROOT = '/usr/aarch64-linux-gnu';

/** How to run the bundled node of a platform on this (x64) machine. */
export function runner(platform: string, nodeBin: string): { cmd: string; pre: string[] } {
  if (platform === `${process.platform}-${process.arch}`) return { cmd: nodeBin, pre: [] };
  if (platform === 'linux-arm64') {
    if (!existsSync(join(ARM64_SYSROOT, 'lib', 'ld-linux-aarch64.so.1')))
      throw new Error(
        `no arm64 sysroot at ${ARM64_SYSROOT}: apt-get install -y qemu-user-static libc6-arm64-cross libstdc++6-arm64-cross`,
      );
    return { cmd: QEMU, pre: ['-L', ARM64_SYSROOT, nodeBin] };
  }
  throw new Error(`cannot run ${platform} bundles on this machine`);
}

/** Loads every native addon with the bundled node: a missing or wrong-architecture binary fails here. */
const NATIVE_SMOKE = `
const { createRequire } = require('node:module');
const r = createRequire(process.cwd() + '/dist/cli/lobby.js');
const db = new (r('better-sqlite3'))(':memory:');
db.pragma('journal_mode = WAL');
const sqlite = db.prepare('select sqlite_version() v').get().v;
const { createCanvas, GlobalFonts } = r('@napi-rs/canvas');
GlobalFonts.registerFromPath(r.resolve('dejavu-fonts-ttf/ttf/DejaVuSans.ttf'), 'DejaVu Sans');
const c = createCanvas(576, 60); const g = c.getContext('2d'); g.font = '32px "DejaVu Sans"'; g.fillText('Số thứ tự A001', 10, 40);
const png = c.toBuffer('image/png').length;
const serial = typeof r('@serialport/bindings-cpp').autoDetect().list;
let epoll = 'not installed'; try { epoll = typeof r('epoll').Epoll; } catch (e) { if (e.code !== 'MODULE_NOT_FOUND') throw e; }
console.log(JSON.stringify({ arch: process.arch, node: process.version, sqlite, png, serial, epoll }));
`;

interface CheckResult {
  platform: string;
  version: string;
  bundleBytes: number;
  unpackedBytes: number;
  verifySeconds: number;
  unpackSeconds: number;
  nativeAddons: unknown;
  startSeconds: number;
  firstTicketSeconds: number;
  ticket: string;
  emulated: boolean;
}

export function findManifest(out: string, platform: string): string {
  const names = readdirSync(out).filter((n) => n.endsWith(`-${platform}.manifest.json`));
  if (!names.length) throw new Error(`no bundle for ${platform} in ${out}: run npm run release first`);
  return names.map((n) => join(out, n)).sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0]!;
}

export function startBox(
  cmd: string,
  args: string[],
  cwd: string,
): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(cmd, args, {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      LOG_LEVEL: 'info',
      NODE_ENV: 'production',
      UV_THREADPOOL_SIZE: '2',
      MALLOC_ARENA_MAX: '2',
    },
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the box did not start within 300 s: ${stderr.slice(-2000)}`));
    }, 300_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const log = JSON.parse(line) as { msg?: string; mqttPort?: number };
        if (log.msg === 'box started' && log.mqttPort) {
          clearTimeout(timer);
          resolve({ child, port: log.mqttPort });
        }
      } catch {
        // not a log line
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the box exited (${code ?? signal}) before it started: ${stderr.slice(-2000)}`));
    });
  });
}

/** A one-counter office on ephemeral ports with one kiosk (`kiosk-1` / `secret-kiosk-1`). */
export async function writeCheckOffice(file: string): Promise<void> {
  writeFileSync(
    file,
    stringify({
      office: {
        id: 'xa-kiem-tra',
        name: 'Bộ phận một cửa xã Kiểm Tra',
        sessions: [{ open: '00:00', close: '23:59' }],
        workdays: [1, 2, 3, 4, 5, 6, 7],
      },
      services: [{ id: 'van-thu', name: 'Văn thư', numbering: { prefix: 'A', width: 3 } }],
      counters: [{ number: 1, services: ['van-thu'] }],
      clerks: [{ id: 'cc01', name: 'Nguyễn Thị Lan' }],
      broker: { host: '127.0.0.1', port: 0 },
      http: { host: '127.0.0.1', port: 0 },
      peripherals: [{ id: 'kiosk-1', role: 'kiosk', secretHash: await hashSecret('secret-kiosk-1') }],
    }),
  );
}

/** The bundled (or any) `lobby device` with the flags the systemd unit gives it. */
export const deviceArgs = (lobbyJs: string, config: string, dataDir: string) => [
  '--max-semi-space-size=1',
  '--v8-pool-size=1',
  lobbyJs,
  'device',
  '--config',
  config,
  '--data-dir',
  dataDir,
];

async function checkOne(
  manifestPath: string,
  platform: string,
  pubkeyFile: string,
  keep: boolean,
): Promise<CheckResult> {
  const work = mkdtempSync(join(tmpdir(), `lobby-release-check-${platform}-`));
  try {
    const key = publicKeyFrom(readFileSync(pubkeyFile));
    const dir = join(work, 'opt');
    let t = performance.now();
    // unpackVerified verifies first; the verification alone is timed again below for the split.
    const { manifest } = await unpackVerified(manifestPath, key, dir, platform);
    const unpackAndVerify = (performance.now() - t) / 1000;
    t = performance.now();
    const { verifyBundle } = await import('../device/release/verify.js');
    await verifyBundle(manifestPath, key, platform);
    const verifySeconds = (performance.now() - t) / 1000;
    const unpackedBytes = Number(execFileSync('du', ['-sb', dir]).toString().split('\t')[0]);

    const nodeBin = join(dir, 'node', 'bin', 'node');
    const run = runner(platform, nodeBin);
    const native = JSON.parse(
      execFileSync(run.cmd, [...run.pre, '-e', NATIVE_SMOKE], { cwd: dir, timeout: 300_000 }).toString(),
    ) as { arch: string };
    const expectedArch = platform.split('-')[1];
    if (native.arch !== expectedArch)
      throw new Error(`the bundled node says it is ${native.arch}, not ${expectedArch}`);

    const config = join(work, 'office.yaml');
    await writeCheckOffice(config);
    const started = performance.now();
    const box = await startBox(
      run.cmd,
      [...run.pre, ...deviceArgs(join(dir, 'dist', 'cli', 'lobby.js'), config, join(work, 'data'))],
      dir,
    );
    const startSeconds = (performance.now() - started) / 1000;
    try {
      const kiosk = await connectDevice(`mqtt://127.0.0.1:${box.port}`, 'kiosk-1', 'secret-kiosk-1', {
        connectTimeout: 60_000,
      });
      const reply = await request(kiosk, 'lobby/v1/tickets/request', { service: 'van-thu' }, 120_000);
      const firstTicketSeconds = (performance.now() - started) / 1000;
      await kiosk.endAsync();
      if (reply.status !== 'ok') throw new Error(`the box refused the ticket: ${JSON.stringify(reply)}`);
      const ticket = JSON.stringify((reply as { data?: unknown }).data ?? reply);
      return {
        platform,
        version: manifest.version,
        bundleBytes: manifest.size,
        unpackedBytes,
        verifySeconds,
        unpackSeconds: unpackAndVerify - verifySeconds,
        nativeAddons: native,
        startSeconds,
        firstTicketSeconds,
        ticket,
        emulated: run.cmd === QEMU,
      };
    } finally {
      const exited = new Promise((r) => box.child.once('exit', r));
      box.child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000).unref())]);
      box.child.kill('SIGKILL');
    }
  } finally {
    if (keep) console.log(`kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const program = new Command('release:check')
    .description('unpack a built bundle, start its box (arm64 under qemu) and get a ticket from it')
    .argument('[platforms...]', 'platforms to check', ['linux-arm64', 'linux-x64'])
    .option('--out <dir>', 'where the bundles are', join(ROOT, 'release-out'))
    .option('--pubkey <file>', 'the release public key (default: release-key.pub.pem beside the bundles)')
    .option('--keep', 'keep the temp folder')
    .parse();
  const o = program.opts<{ out: string; pubkey?: string; keep?: boolean }>();
  const out = resolve(o.out);
  let failed = false;
  for (const platform of program.processedArgs[0] as string[]) {
    try {
      const r = await checkOne(
        findManifest(out, platform),
        platform,
        o.pubkey ?? join(out, 'release-key.pub.pem'),
        !!o.keep,
      );
      writeFileSync(join(out, `check-${platform}.json`), `${JSON.stringify(r, null, 2)}\n`);
      console.log(
        `${platform} ${r.version}: OK${r.emulated ? ' (under qemu-user-static)' : ''}\n` +
          `  bundle ${(r.bundleBytes / 1e6).toFixed(1)} MB, unpacked ${(r.unpackedBytes / 1e6).toFixed(1)} MB\n` +
          `  verify ${r.verifySeconds.toFixed(2)} s, unpack ${r.unpackSeconds.toFixed(2)} s\n` +
          `  native addons: ${JSON.stringify(r.nativeAddons)}\n` +
          `  box started in ${r.startSeconds.toFixed(1)} s, first ticket after ${r.firstTicketSeconds.toFixed(1)} s: ${r.ticket}`,
      );
    } catch (err) {
      failed = true;
      console.error(`${platform}: FAILED: ${(err as Error).message}`);
    }
  }
  process.exit(failed ? 1 : 0);
}

// Run as a script (npm run release:check); imported by the bundle benchmark for its helpers.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) void main();
