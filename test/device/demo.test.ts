// `lobby demo` as a child process on free ports: its simulated hardware prints tickets as PNG files and
// shows LED frames while the simulated day runs; a demo folder from before the hardware gains it; a
// restart continues where it stopped.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import mqtt from 'mqtt';
import { loadConfigFile } from '../../device/config/load.js';
import { createPeripheral } from '../../provisioning/peripherals.js';
import { topics } from '../../protocol/index.js';
import { cloudApi, loginAdmin } from '../support/cloud-process.js';

const ROOT = join(import.meta.dirname, '../..');
const CLI = join(ROOT, 'dist/cli/lobby.js');

interface Demo {
  child: ChildProcess;
  /** Resolves with the first stdout line (seen so far or to come) that matches. */
  line(re: RegExp): Promise<RegExpExecArray>;
  output(): string;
  stop(): Promise<number | null>;
}

const running: Demo[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((d) => d.stop()));
});

function startDemo(dataDir: string): Demo {
  const child = spawn(
    process.execPath,
    [
      CLI,
      'demo',
      '-d',
      dataDir,
      '--mqtt-port',
      '0',
      '--http-port',
      '0',
      '--hardware-port',
      '0',
      '--day-speed',
      '300',
    ],
    { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: 'info' } },
  );
  let out = '';
  const waiters: { re: RegExp; resolve: (m: RegExpExecArray) => void }[] = [];
  const check = () => {
    for (const w of [...waiters]) {
      const m = w.re.exec(out);
      if (m) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  };
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
    check();
  });
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const demo: Demo = {
    child,
    output: () => out,
    line(re) {
      return new Promise((resolve, reject) => {
        waiters.push({ re, resolve });
        check();
        void exited.then((code) => reject(new Error(`the demo exited (${code}) before ${re}:\n${out}`)));
      });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
  running.push(demo);
  return demo;
}

const TICKET = /\[printer kiosk-1\] ticket (\d+) printed: (\S+\.png)\n/;
const LED = /\[led (led-\d+)\] (Quay \d[^\n]*)\n/;

async function seesTicketAndLed(demo: Demo, dataDir: string): Promise<number> {
  const [, n, png] = await demo.line(TICKET);
  const file = png!.startsWith('/') ? png! : join(process.cwd(), png!);
  expect(file.startsWith(join(dataDir, 'hardware', 'printer-kiosk-1'))).toBe(true);
  expect(readFileSync(file).subarray(1, 4).toString()).toBe('PNG');
  const [, board, text] = await demo.line(LED);
  expect(readFileSync(join(dataDir, 'hardware', 'led.log'), 'utf8')).toContain(`${board} (led-bus`);
  expect(text).toMatch(/^Quay \d/);
  return Number(n);
}

describe('lobby demo with its simulated hardware', () => {
  it(
    'prints tickets as PNG and shows LED frames while the simulated day runs; a restart goes on',
    { timeout: 120_000 },
    async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'lobby-demo-'));
      const first = startDemo(dataDir);
      await first.line(/Simulated hardware \(addresses in/);
      const n = await seesTicketAndLed(first, dataDir);
      expect(first.output()).toMatch(/Loudspeakers \(announcer-1\).*calls\.log in \S+audio\//);
      // The office's UPS from the console: a power cut, then mains back; the box's /healthz follows it.
      const [, health] = await first.line(/Health, metrics\s+(http:\/\/\S+\/healthz)/);
      const power = async () =>
        ((await (await fetch(health!)).json()) as { power?: { state: string } }).power?.state;
      await expect.poll(power, { timeout: 15_000 }).toBe('mains');
      first.child.stdin?.write('power battery\n');
      await first.line(/UPS: mains lost, on battery/);
      await expect.poll(power, { timeout: 15_000 }).toBe('battery');
      first.child.stdin?.write('power mains\n');
      await expect.poll(power, { timeout: 15_000 }).toBe('mains');
      expect(await first.stop()).toBe(0);

      const config = loadConfigFile(join(dataDir, 'office.yaml'));
      expect(config.hardware?.gpio).toMatchObject({ backend: 'sim' });
      expect(config.peripherals.find((p) => p.id === 'kiosk-1')?.driver?.kind).toBe('escpos');

      const again = startDemo(dataDir);
      const [, next] = await again.line(TICKET);
      expect(Number(next)).toBeGreaterThan(n); // the folder's tickets are kept, numbering goes on
    },
  );

  it('a demo folder from before the hardware gains it and works', { timeout: 120_000 }, async () => {
    // What `lobby demo` wrote before: the demo office, one MQTT peripheral of each kind per counter.
    const dataDir = mkdtempSync(join(tmpdir(), 'lobby-demo-old-'));
    mkdirSync(dataDir, { recursive: true });
    const doc = parseDocument(readFileSync(join(ROOT, 'config/demo-office.yaml'), 'utf8'));
    const specs = [
      { id: 'kiosk-1', role: 'kiosk' as const },
      { id: 'display-tv', role: 'display' as const },
      { id: 'announcer-1', role: 'announcer' as const },
      { id: 'led-entrance', role: 'ledboard' as const },
      ...[1, 2, 3, 4, 5, 6, 7, 8].flatMap((n) => [
        { id: `keypad-${n}`, role: 'keypad' as const, counter: n },
        { id: `led-${n}`, role: 'ledboard' as const, counter: n },
        { id: `rating-${n}`, role: 'rating' as const, counter: n },
      ]),
    ];
    const peripherals = [];
    const credentials = [];
    for (const s of specs) {
      const { peripheral, secret } = await createPeripheral(s);
      peripherals.push(peripheral);
      credentials.push({ ...s, secret });
    }
    doc.setIn(['peripherals'], peripherals);
    writeFileSync(join(dataDir, 'office.yaml'), doc.toString());
    writeFileSync(join(dataDir, 'demo-credentials.json'), JSON.stringify(credentials));

    const demo = startDemo(dataDir);
    await seesTicketAndLed(demo, dataDir);
    const config = loadConfigFile(join(dataDir, 'office.yaml'));
    const led1 = config.peripherals.find((p) => p.id === 'led-1');
    expect(led1?.driver).toMatchObject({ kind: 'led-rs485', bus: 'led-bus', address: 1 });
    expect(led1?.secretHash).toMatch(/^scrypt\$/); // its credential still works
    expect(config.peripherals.map((p) => p.id)).toEqual(
      expect.arrayContaining(['keypad-gpio-1', 'rating-gpio-1', 'tv-lobby', 'kiosk-screen']),
    );
  });
});

/** The service names the lobby's screens show now (the retained office state), as the lobby TV reads them. */
async function servicesOnScreens(mqttUrl: string, dataDir: string, want: string): Promise<string[]> {
  const creds = JSON.parse(readFileSync(join(dataDir, 'demo-credentials.json'), 'utf8')) as {
    id: string;
    secret: string;
  }[];
  const tv = creds.find((c) => c.id === 'display-tv')!;
  const client = await mqtt.connectAsync(mqttUrl, {
    clientId: `${tv.id}.test`,
    username: tv.id,
    password: tv.secret,
    reconnectPeriod: 0,
  });
  try {
    return await new Promise<string[]>((resolve) => {
      client.on('message', (_t, payload) => {
        const names = (JSON.parse(payload.toString()) as { services: { name: string }[] }).services.map(
          (s) => s.name,
        );
        if (names.includes(want)) resolve(names);
      });
      void client.subscribeAsync(topics.officeState(), { qos: 1 });
    });
  } finally {
    await client.endAsync();
  }
}

describe('lobby demo managed by its cloud', () => {
  it(
    'a service renamed in the cloud reaches the lobby screens within seconds, and stays renamed after a restart',
    { timeout: 120_000 },
    async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'lobby-demo-fleet-'));
      const first = startDemo(dataDir);
      const [, cloudUrl] = await first.line(/Admin console\s+(http:\/\/\S+)\/console\//);
      const [, password] = await first.line(/Login\s+demo \/ (\S+)/);
      const [, mqttUrl] = await first.line(/MQTT \(devices\)\s+(mqtt:\/\/\S+)/);
      const cloud = { url: cloudUrl! };
      const token = await loginAdmin(cloud, 'demo', password!);
      const api = cloudApi(cloud, () => token);
      const officeId = loadConfigFile(join(dataDir, 'office.yaml')).office.id;
      const view = await api<{
        managed: boolean;
        revision: number;
        overrides: { services: { id: string; name: string }[] };
      }>('GET', `/api/v1/fleet/offices/${officeId}/config`);
      expect(view.status).toBe(200);
      expect(view.body.managed).toBe(true); // the demo office is the cloud's from its first run
      const services = view.body.overrides.services.map((s) =>
        s.id === 'ho-tich' ? { ...s, name: 'Hộ tịch – Khai sinh' } : s,
      );
      const saved = await api('PUT', `/api/v1/fleet/offices/${officeId}/config`, {
        overrides: { ...view.body.overrides, services },
        revision: view.body.revision,
      });
      expect(saved.status).toBe(200);
      expect(await servicesOnScreens(mqttUrl!, dataDir, 'Hộ tịch – Khai sinh')).toContain('Văn thư');
      await first.line(/Simulated hardware \(addresses in/); // started whole: a stop now is a clean one
      expect(await first.stop()).toBe(0);

      const again = startDemo(dataDir);
      const [, mqttAgain] = await again.line(/MQTT \(devices\)\s+(mqtt:\/\/\S+)/);
      expect(await servicesOnScreens(mqttAgain!, dataDir, 'Hộ tịch – Khai sinh')).toContain('Văn thư');
      await again.line(TICKET); // the simulators moved to new ports: the box drives them where they are now
      expect(await again.stop()).toBe(0);

      // A stop while the demo is still starting (its addresses printed, the simulated hardware not yet
      // running) is a clean one too: the signal handlers are in place from the start.
      const third = startDemo(dataDir);
      await third.line(/MQTT \(devices\)/);
      expect(await third.stop()).toBe(0);
    },
  );
});
