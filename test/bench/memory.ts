// Benchmark 3: resident memory of the box (`lobby device run`, a child process) with 30 peripherals
// connected and idle, beside a bare Node process that only keeps a timer.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MqttClient } from 'mqtt';
import { subscribeFilters } from '../../device/broker/acl.js';
import type { Role } from '../../protocol/index.js';
import { MAX_PENDING_LOGINS_PER_ADDRESS } from '../../protocol/limits.js';
import { connectDevice, officeConfig, peripheralsFor, secretOf, type DeviceSpec } from '../support/office.js';
import { tempDir } from './office-helpers.js';

export interface MemoryResult {
  /** Extra environment of the box process (as shipped: the systemd unit's `Environment=` lines). */
  env: Record<string, string>;
  /** Node flags the box ran with ([] = Node's defaults). */
  nodeFlags: string[];
  peripherals: number;
  overTcp: number;
  overWebSocket: number;
  idleSeconds: number;
  /** The box started, settled for a second, nobody connected yet. */
  boxRssBeforeClientsKb: number;
  boxRssKb: number;
  boxPeakRssKb: number;
  bareNodeRssKb: number;
  /** box / bare node. */
  ratio: number;
  subscriptionsRefused: number;
}

/** Browser apps reach the broker over WebSocket; hardware peripherals over TCP. */
const BROWSER_ROLES: Role[] = ['display', 'kiosk', 'rating', 'clerk-panel'];

/** 30 peripherals: a realistic large office of 4 counters. */
export function thirtyPeripherals(): DeviceSpec[] {
  const specs: DeviceSpec[] = [
    { id: 'kiosk-1', role: 'kiosk' },
    { id: 'kiosk-2', role: 'kiosk' },
    { id: 'kiosk-3', role: 'kiosk' },
    { id: 'display-tv', role: 'display' },
    { id: 'display-2', role: 'display' },
    { id: 'display-3', role: 'display' },
    { id: 'announcer-1', role: 'announcer' },
    { id: 'announcer-2', role: 'announcer' },
    { id: 'led-entrance', role: 'ledboard' },
    { id: 'led-entrance-2', role: 'ledboard' },
  ];
  for (const counter of [1, 2, 3, 4]) {
    specs.push(
      { id: `keypad-${counter}`, role: 'keypad', counter },
      { id: `led-${counter}`, role: 'ledboard', counter },
      { id: `rating-${counter}`, role: 'rating', counter },
      { id: `scanner-${counter}`, role: 'scanner', counter },
      { id: `clerk-panel-${counter}`, role: 'clerk-panel', counter },
    );
  }
  return specs;
}

function rssOf(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const force = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Starts the box and resolves with its ports, read from its `box started` log line. */
function startBoxProcess(
  configFile: string,
  dataDir: string,
  env: Record<string, string>,
  nodeFlags: string[],
): Promise<{ child: ChildProcess; mqttPort: number; httpPort: number }> {
  const cli = fileURLToPath(new URL('../../cli/lobby.js', import.meta.url));
  const child = spawn(
    process.execPath,
    [...nodeFlags, cli, 'device', 'run', '--config', configFile, '--data-dir', dataDir],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LOG_LEVEL: 'info', ...env },
    },
  );
  return new Promise((resolve, reject) => {
    let buffered = '';
    let stderr = '';
    const timer = setTimeout(() => fail(new Error('box did not start within 15 s')), 15_000);
    const fail = (err: Error) => {
      clearTimeout(timer);
      void stop(child).then(() => reject(new Error(`${err.message}\n${stderr}`)));
    };
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('exit', (code) => fail(new Error(`box exited with ${code}`)));
    // Keep draining the log so the child never blocks on a full pipe.
    child.stdout?.on('data', (d: Buffer) => {
      buffered += d.toString();
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        try {
          const entry = JSON.parse(line) as { msg?: string; mqttPort?: number; httpPort?: number };
          if (entry.msg === 'box started' && entry.mqttPort && entry.httpPort) {
            clearTimeout(timer);
            child.removeAllListeners('exit');
            resolve({ child, mqttPort: entry.mqttPort, httpPort: entry.httpPort });
          }
        } catch {
          // not a JSON log line
        }
      }
    });
  });
}

async function bareNodeRss(settleMs: number): Promise<number> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  try {
    await new Promise((r) => setTimeout(r, settleMs));
    return rssOf(child.pid as number).rss;
  } finally {
    await stop(child);
  }
}

/**
 * All 30 peripherals connect (in waves, see below), as after a box restart, publish their presence (with a Will) and
 * subscribe to everything their role may; then they stay idle for `idleMs`.
 */
/**
 * How the box ships: the Node flags of the systemd unit's ExecStart and the environment it sets (its
 * `Environment=` lines), read from the unit, so the bench measures what runs on the Pi.
 */
export function shippedRuntime(): { nodeFlags: string[]; env: Record<string, string> } {
  const unit = readFileSync(
    fileURLToPath(new URL('../../../deploy/motcua-lobby.service', import.meta.url)),
    'utf8',
  );
  const exec = /^ExecStart=(.*)$/m.exec(unit)?.[1] ?? '';
  const words = exec.split(/\s+/);
  const script = words.findIndex((w) => w.endsWith('lobby.js'));
  const env: Record<string, string> = {};
  for (const [, key, value] of unit.matchAll(/^Environment=([A-Z_][A-Z0-9_]*)=(\S*)$/gm))
    env[key as string] = value as string;
  return { nodeFlags: words.slice(1, script).filter((w) => w.startsWith('--')), env };
}

export async function benchMemory(opts: {
  idleMs: number;
  env?: Record<string, string>;
  nodeFlags?: string[];
}): Promise<MemoryResult> {
  const env = opts.env ?? {};
  const nodeFlags = opts.nodeFlags ?? [];
  const specs = thirtyPeripherals();
  const dir = tempDir('lobby-bench-mem-');
  const configFile = join(dir, 'box.json');
  writeFileSync(configFile, JSON.stringify(officeConfig(await peripheralsFor(specs)), null, 2));
  const { child, mqttPort, httpPort } = await startBoxProcess(configFile, join(dir, 'data'), env, nodeFlags);
  const clients: MqttClient[] = [];
  let refused = 0;
  let tcp = 0;
  let ws = 0;
  try {
    await new Promise((r) => setTimeout(r, 1000));
    const beforeClients = rssOf(child.pid as number).rss;
    const join1 = async (s: DeviceSpec) => {
      const browser = BROWSER_ROLES.includes(s.role);
      const url = browser ? `ws://127.0.0.1:${httpPort}/mqtt` : `mqtt://127.0.0.1:${mqttPort}`;
      if (browser) ws += 1;
      else tcp += 1;
      const presence = `lobby/v1/presence/${s.id}`;
      const c = await connectDevice(url, s.id, secretOf(s.id), {
        connectTimeout: 30_000, // 30 scrypt checks at once on 2 cores
        will: {
          topic: presence,
          payload: Buffer.from(JSON.stringify({ online: false, session: 1 })),
          qos: 1,
          retain: true,
        },
      });
      clients.push(c);
      await c.publishAsync(
        presence,
        JSON.stringify({ online: true, session: 1, ts: new Date().toISOString(), version: 'bench' }),
        { qos: 1, retain: true },
      );
      const granted = await c.subscribeAsync(
        subscribeFilters({ id: s.id, role: s.role, counter: s.counter }),
        { qos: 1 },
      );
      refused += granted.filter((g) => g.qos === 128).length;
    };
    // After a box restart each peripheral reconnects from its own address; here they share 127.0.0.1, which
    // the broker lets have MAX_PENDING_LOGINS_PER_ADDRESS logins in progress at once: join in waves of that.
    for (let i = 0; i < specs.length; i += MAX_PENDING_LOGINS_PER_ADDRESS)
      await Promise.all(specs.slice(i, i + MAX_PENDING_LOGINS_PER_ADDRESS).map(join1));
    const [bare] = await Promise.all([
      bareNodeRss(Math.min(opts.idleMs, 2000)),
      new Promise((r) => setTimeout(r, opts.idleMs)),
    ]);
    const box = rssOf(child.pid as number);
    return {
      env,
      nodeFlags,
      peripherals: specs.length,
      overTcp: tcp,
      overWebSocket: ws,
      idleSeconds: opts.idleMs / 1000,
      boxRssBeforeClientsKb: beforeClients,
      boxRssKb: box.rss,
      boxPeakRssKb: box.hwm,
      bareNodeRssKb: bare,
      ratio: box.rss / bare,
      subscriptionsRefused: refused,
    };
  } finally {
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
    await stop(child);
    rmSync(dir, { recursive: true, force: true });
  }
}
