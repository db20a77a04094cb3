// The box as systemd runs it after an install: deploy/lobby-launch.sh started again whenever it exits
// (Restart=always, a short RestartSec), in a process group of its own so that a power cut can be
// simulated by SIGKILLing everything at once (launcher, box, tee, watchdog). Dist must be built.
import { spawn, type ChildProcess } from 'node:child_process';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline';
import got from 'got';

/** deploy/lobby-launch.sh, from the source tree (vitest) or from dist/test/support (the bench). */
export const LAUNCHER = join(
  import.meta.dirname,
  basename(join(import.meta.dirname, '../..')) === 'dist' ? '../../..' : '../..',
  'deploy/lobby-launch.sh',
);

export interface SupervisedOptions {
  root: string;
  dataDir: string;
  configFile: string;
  keyFile: string;
  env?: NodeJS.ProcessEnv;
  restartMs?: number;
}

export interface Health {
  status: string;
  version: string;
  /** The update agent's view (device/update/README.md, "What /healthz says"). */
  update?: {
    running: string;
    step: string;
    target?: string;
    trial?: { previous: string };
    last?: { version: string; state: string };
  };
}

export class SupervisedBox {
  /** Launcher starts so far. */
  starts = 0;
  /** Every line the launcher and the box wrote (stdout and stderr). */
  readonly lines: string[] = [];
  private child: ChildProcess | null = null;
  private httpPort: number | null = null;
  /** The current box's MQTT port, once it started. */
  mqttPort: number | null = null;
  private running = false;
  private restartTimer: NodeJS.Timeout | null = null;

  constructor(private readonly o: SupervisedOptions) {}

  start(): this {
    this.running = true;
    this.spawnOnce();
    return this;
  }

  private spawnOnce(): void {
    this.starts++;
    this.httpPort = null;
    const child = spawn(
      'sh',
      [
        LAUNCHER,
        'device',
        '--config',
        this.o.configFile,
        '--data-dir',
        this.o.dataDir,
        '--mqtt-port',
        '0',
        '--http-port',
        '0',
      ],
      {
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          ...process.env,
          LOG_LEVEL: 'info',
          LOBBY_RELEASE_ROOT: this.o.root,
          LOBBY_DATA_DIR: this.o.dataDir,
          LOBBY_RELEASE_KEY: this.o.keyFile,
          ...this.o.env,
        },
      },
    );
    this.child = child;
    for (const stream of [child.stdout!, child.stderr!])
      createInterface({ input: stream }).on('line', (line) => {
        this.lines.push(line);
        if (line.includes('"box started"') && this.child === child) {
          try {
            const started = JSON.parse(line) as { httpPort: number; mqttPort: number };
            this.httpPort = started.httpPort;
            this.mqttPort = started.mqttPort;
          } catch {
            // a line the launcher's tee split: the next start says it again
          }
        }
      });
    child.once('exit', () => {
      if (this.child !== child) return;
      this.child = null;
      this.httpPort = null;
      if (this.running) this.restartTimer = setTimeout(() => this.spawnOnce(), this.o.restartMs ?? 100);
    });
  }

  /** Everything in the process group dies at once, and nothing restarts it (until start()). */
  async powerCut(): Promise<void> {
    await this.end('SIGKILL');
  }

  /** systemctl stop: SIGTERM to the group, waits for the launcher to exit. */
  async stop(): Promise<void> {
    await this.end('SIGTERM');
  }

  private async end(signal: NodeJS.Signals): Promise<void> {
    this.running = false;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const child = this.child;
    if (!child?.pid) return;
    const gone = new Promise((resolve) => child.once('exit', resolve));
    try {
      process.kill(-child.pid, signal);
    } catch {
      return;
    }
    const late = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL'); // as systemd after TimeoutStopSec
      } catch {
        // gone meanwhile
      }
    }, 20_000);
    await gone;
    clearTimeout(late);
    if (signal === 'SIGKILL') return;
    // The rest of the group (a watchdog's sleep) goes too.
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }

  /** The current box's /healthz once it answers ok (or null while it does not). */
  async health(): Promise<Health | null> {
    if (!this.httpPort) return null;
    try {
      const res = await got.get(`http://127.0.0.1:${this.httpPort}/healthz`, {
        responseType: 'json',
        retry: { limit: 0 },
        timeout: { request: 2000 },
        throwHttpErrors: false,
      });
      const body = res.body as Health;
      return res.statusCode === 200 && body.status === 'ok' ? body : null;
    } catch {
      return null;
    }
  }

  /** Waits until a box serves /healthz ok, on `version` when given. */
  async healthy(version?: string, timeoutMs = 60_000): Promise<Health> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const h = await this.health();
      if (h && (!version || h.version === version)) return h;
      if (Date.now() > until)
        throw new Error(
          `no healthy box${version ? ` on ${version}` : ''} in ${timeoutMs} ms (last: ${JSON.stringify(h)}); output:\n` +
            this.lines.slice(-40).join('\n'),
        );
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
