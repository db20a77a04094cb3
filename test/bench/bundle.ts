// The release bundles on this machine (issue 12), from what `npm run release` left in release-out/:
//   - size per platform, beside the Node.js binary it carries (the part no slimming can remove);
//   - install time (install.sh --root --no-systemd: verify, unpack, sync, units, switch, prune), beside a
//     plain `tar -xzf` of the same tarball, alternating;
//   - for this machine's platform: from the start of the install to a running box (the installed
//     `lobby device` logs 'box started' and a kiosk gets a ticket), beside the same box started from the
//     development tree (`node dist/cli/lobby.js device`, no install), alternating.
// Nothing is built here: without a bundle the section says so and is skipped.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deviceArgs, findManifest, startBox, writeCheckOffice } from '../../release/check.js';
import { connectDevice, request } from '../support/office.js';
import { now } from './stats.js';

export interface BundleResult {
  platform: string;
  version: string;
  bundleBytes: number;
  nodeBinaryBytes: number;
  unpackedBytes: number;
  /** Medians over the runs. */
  installSeconds: number;
  tarSeconds: number;
  /** This machine's platform only: install start → a kiosk's first ticket from the installed box. */
  toTicketSeconds?: number;
  /** The same office's box started from the development tree → its first ticket. */
  devToTicketSeconds?: number;
  runs: number;
}

const ROOT = join(import.meta.dirname, '../../..');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

function timedSync(fn: () => void): number {
  const t0 = now();
  fn();
  return (now() - t0) / 1000;
}

/** Starts `lobby device` (cmd + args) and gets a ticket from it as the kiosk; seconds from `t0`. */
async function firstTicket(cmd: string, args: string[], cwd: string, t0: number): Promise<number> {
  const box = await startBox(cmd, args, cwd);
  try {
    const kiosk = await connectDevice(`mqtt://127.0.0.1:${box.port}`, 'kiosk-1', 'secret-kiosk-1');
    const reply = await request(kiosk, 'lobby/v1/tickets/request', { service: 'van-thu' }, 30_000);
    const seconds = (now() - t0) / 1000;
    await kiosk.endAsync();
    if (reply.status !== 'ok') throw new Error(`the box refused the ticket: ${JSON.stringify(reply)}`);
    return seconds;
  } finally {
    const exited = new Promise((r) => box.child.once('exit', r));
    box.child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000).unref())]);
    box.child.kill('SIGKILL');
  }
}

/** The platforms with a bundle in `out` (newest manifest per platform). */
export function bundlesIn(out: string): string[] {
  if (!existsSync(out)) return [];
  const platforms = readdirSync(out)
    .map((n) => /^motcua-lobby-.+-(linux-[a-z0-9]+)\.manifest\.json$/.exec(n)?.[1])
    .filter((p): p is string => Boolean(p));
  return [...new Set(platforms)].sort();
}

export async function benchBundles(out: string, runs = 3): Promise<BundleResult[]> {
  const results: BundleResult[] = [];
  const here = `${process.platform}-${process.arch}`;
  for (const platform of bundlesIn(out)) {
    const manifestPath = findManifest(out, platform);
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as {
      version: string;
      file: string;
      size: number;
    };
    const tarball = join(out, manifest.file);
    const work = mkdtempSync(join(tmpdir(), `lobby-bench-bundle-${platform}-`));
    try {
      const install: number[] = [];
      const tar: number[] = [];
      const toTicket: number[] = [];
      const devToTicket: number[] = [];
      let nodeBinaryBytes = 0;
      let unpackedBytes = 0;
      /** A fresh office per box start (the box marks its config with the event log it belongs to). */
      const office = async (name: string) => {
        const file = join(work, `${name}.yaml`);
        await writeCheckOffice(file);
        return file;
      };
      for (let i = 0; i < runs; i++) {
        const plain = join(work, `tar-${i}`);
        execFileSync('mkdir', ['-p', plain]);
        tar.push(timedSync(() => execFileSync('tar', ['-xzf', tarball, '-C', plain])));
        nodeBinaryBytes = statSync(join(plain, 'node', 'bin', 'node')).size;
        unpackedBytes = Number(execFileSync('du', ['-sb', plain]).toString().split('\t')[0]);
        rmSync(plain, { recursive: true, force: true });

        const root = join(work, `root-${i}`);
        const [installedOffice, devOffice] = [await office(`installed-${i}`), await office(`dev-${i}`)];
        const t0 = now();
        const r = spawnSync(
          'bash',
          [join(out, 'install.sh'), '--root', root, '--no-systemd', '--platform', platform, manifestPath],
          { encoding: 'utf8' },
        );
        if (r.status !== 0) throw new Error(`install.sh failed (${r.status}): ${r.stdout}\n${r.stderr}`);
        install.push((now() - t0) / 1000);
        if (platform === here) {
          const current = join(root, 'opt', 'motcua-lobby', 'current');
          toTicket.push(
            await firstTicket(
              join(current, 'node', 'bin', 'node'),
              deviceArgs(join(current, 'dist', 'cli', 'lobby.js'), installedOffice, join(work, `data-${i}`)),
              current,
              t0,
            ),
          );
          const d0 = now();
          devToTicket.push(
            await firstTicket(
              process.execPath,
              deviceArgs(join(ROOT, 'dist', 'cli', 'lobby.js'), devOffice, join(work, `dev-data-${i}`)),
              ROOT,
              d0,
            ),
          );
        }
        rmSync(root, { recursive: true, force: true });
      }
      results.push({
        platform,
        version: manifest.version,
        bundleBytes: manifest.size,
        nodeBinaryBytes,
        unpackedBytes,
        installSeconds: median(install),
        tarSeconds: median(tar),
        ...(toTicket.length
          ? { toTicketSeconds: median(toTicket), devToTicketSeconds: median(devToTicket) }
          : {}),
        runs,
      });
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
  return results;
}
