// `lobby device` as a child process (dist/ must be built): start it, wait for it, kill it. Shared by the
// durability tests and the box soak (scripts/soak-box.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline';

/** The built CLI, from the source tree (vitest) or from dist/test/support (the soak script). */
export const CLI = join(
  import.meta.dirname,
  basename(join(import.meta.dirname, '../..')) === 'dist' ? '../../cli/lobby.js' : '../../dist/cli/lobby.js',
);
const children = new Set<ChildProcess>();

/** SIGKILLs every box this process started and has not seen exit (an afterAll, or the soak's exit). */
export function killAllBoxes(): void {
  for (const c of children) c.kill('SIGKILL');
}

export interface BoxProcess {
  child: ChildProcess;
  port: number;
  httpPort: number;
  /** Everything the box wrote to stdout (its JSON log), for assertions on what it said. */
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** The box kills itself right after committing its n-th paper ticket, before any effect (kill-after-commit.ts). */
const KILL_AFTER_COMMIT = CLI.replace(/cli\/lobby\.js$/, 'test/support/kill-after-commit.js');
/** The box kills itself in the middle of applying its cloud's config (kill-mid-apply.ts, LOBBY_KILL_MID_APPLY). */
export const KILL_MID_APPLY = CLI.replace(/cli\/lobby\.js$/, 'test/support/kill-mid-apply.js');
/** The box kills itself once a fleet command is marked running (kill-mid-command.ts, LOBBY_KILL_MID_COMMAND). */
export const KILL_MID_COMMAND = CLI.replace(/cli\/lobby\.js$/, 'test/support/kill-mid-command.js');

export interface StartOptions {
  env?: NodeJS.ProcessEnv;
  /** Modules to preload (`node --import`), e.g. test/support/kill-mid-apply.ts built into dist/. */
  preload?: string[];
  /** Kill the box (SIGKILL, by itself) right after its n-th paper ticket is committed; 0 or absent: never. */
  killAfterTicket?: number;
  /** Sees every log line the box writes. */
  onLog?: (log: Record<string, unknown>) => void;
  /** More `lobby device` arguments, e.g. ['--mqtt-port', '0', '--http-port', '0']. */
  args?: string[];
  /** How long to wait for 'box started' (a new box first waits to be claimed). */
  startTimeoutMs?: number;
}

/** Starts `lobby device` and resolves once it logs that it started (rejects if it exits first). */
export function startDevice(
  configFile: string,
  dataDir: string,
  opts: StartOptions = {},
): Promise<BoxProcess> {
  const preload = [
    ...(opts.killAfterTicket ? ['--import', KILL_AFTER_COMMIT] : []),
    ...(opts.preload ?? []).flatMap((m) => ['--import', m]),
  ];
  const child = spawn(
    process.execPath,
    [...preload, CLI, 'device', '--config', configFile, '--data-dir', dataDir, ...(opts.args ?? [])],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        LOG_LEVEL: 'info',
        LOBBY_KILL_AFTER_TICKET: String(opts.killAfterTicket ?? 0),
        ...opts.env,
      },
    },
  );
  children.add(child);
  let stderr = '';
  let stdout = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    }),
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`box did not start: ${stderr}`)),
      opts.startTimeoutMs ?? 20_000,
    );
    createInterface({ input: child.stdout! }).on('line', (line) => {
      stdout += `${line}\n`;
      try {
        const log = JSON.parse(line) as { msg?: string; mqttPort?: number; httpPort?: number };
        opts.onLog?.(log);
        if (log.msg === 'box started' && log.mqttPort) {
          clearTimeout(timer);
          resolve({ child, port: log.mqttPort, httpPort: log.httpPort ?? 0, output: () => stdout, exited });
        }
      } catch {
        // not a log line
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`box exited with ${code ?? signal}: ${stderr}\n${stdout.slice(-2000)}`));
    });
  });
}

/** SIGKILLs the box (if it still runs) and resolves once it is gone. */
export function killed(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/** Runs a `lobby` command to its end: its exit code and what it printed. */
export function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}
