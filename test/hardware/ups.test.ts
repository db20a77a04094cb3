// The UPS through Network UPS Tools: the simulated upsd read by Debian's own `upsc` (so the simulator speaks
// the real protocol), the box's client and watch against it, and the limits on a server that misbehaves.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NutClient, NutError, nutWords } from '../../device/power/nut-client.js';
import { powerStateOf, UpsWatch } from '../../device/power/ups-watch.js';
import { NutServerSim } from '../../hardware-sim/ups/nut-server.js';
import { UPS_MAX_LINE_BYTES, UPS_MAX_REPLY_LINES } from '../../protocol/limits.js';

const run = promisify(execFile);
const UPSC = '/usr/bin/upsc';
const quiet = pino({ level: 'silent' });

let sim: NutServerSim;
beforeAll(async () => {
  sim = await NutServerSim.start({ ups: 'office' });
});
afterAll(async () => {
  await sim?.close();
});

const haveUpsc = existsSync(UPSC);
if (!haveUpsc)
  console.warn('SKIPPED: the upsc interop test needs /usr/bin/upsc (apt-get install nut-client)');

describe('the simulated upsd', () => {
  it.skipIf(!haveUpsc)('is read by NUT’s own upsc, as a real one would be', async () => {
    sim.onBattery(64, 900);
    const { stdout } = await run(UPSC, [`office@127.0.0.1:${sim.port}`]);
    expect(stdout).toContain('ups.status: OB DISCHRG');
    expect(stdout).toContain('battery.charge: 64');
    expect(stdout).toContain('battery.runtime: 900');
    const one = await run(UPSC, [`office@127.0.0.1:${sim.port}`, 'ups.status']);
    expect(one.stdout.trim()).toBe('OB DISCHRG');
    const wrong = await run(UPSC, [`nope@127.0.0.1:${sim.port}`]).catch((e: { stderr: string }) => e);
    expect((wrong as { stderr: string }).stderr).toMatch(/Unknown UPS/i);
    sim.mains();
  });
});

describe('the UPS watch', () => {
  it('reads each state from ups.status: mains, battery, low battery, forced shutdown', () => {
    expect(powerStateOf('OL')).toBe('mains');
    expect(powerStateOf('OL CHRG')).toBe('mains');
    expect(powerStateOf('OB DISCHRG')).toBe('battery');
    expect(powerStateOf('OB DISCHRG LB')).toBe('low_battery');
    expect(powerStateOf('FSD OB LB')).toBe('low_battery');
    expect(powerStateOf('OFF')).toBe('unknown');
    expect(nutWords('VAR office device.model "Back-UPS \\"1000\\" \\\\ x"')).toEqual([
      'VAR',
      'office',
      'device.model',
      'Back-UPS "1000" \\ x',
    ]);
  });

  it('follows the UPS from mains to battery to low battery and back, once per change, with charge and runtime', async () => {
    const registry = new Registry();
    const watch = new UpsWatch({
      ups: { host: '127.0.0.1', port: sim.port, name: 'office', pollSeconds: 5 },
      clock: Date.now,
      log: quiet,
      registry,
    });
    const changes: string[] = [];
    watch.onChange((v, prev) => changes.push(`${prev}→${v.state}`));
    try {
      sim.mains();
      expect((await watch.poll()).state).toBe('mains');
      sim.onBattery(70, 1000);
      const battery = await watch.poll();
      expect(battery).toMatchObject({
        state: 'battery',
        status: 'OB DISCHRG',
        chargePct: 70,
        runtimeSeconds: 1000,
      });
      sim.onBattery(60, 800);
      expect((await watch.poll()).since).toBe(battery.since); // the same state: no change, the same since
      sim.lowBattery(8, 90);
      expect((await watch.poll()).state).toBe('low_battery');
      const metrics = await registry.metrics();
      expect(metrics).toContain('lobby_power_state{state="low_battery"} 1');
      expect(metrics).toContain('lobby_ups_battery_charge_percent 8');
      sim.stale();
      expect(await watch.poll()).toMatchObject({
        state: 'unknown',
        reason: expect.stringMatching(/DATA-STALE/),
      });
      sim.mains();
      expect((await watch.poll()).state).toBe('mains');
      expect(changes).toEqual([
        'unknown→mains',
        'mains→battery',
        'battery→low_battery',
        'low_battery→unknown',
        'unknown→mains',
      ]);
    } finally {
      watch.stop();
    }
  });

  it('an upsd that is not there, or names no such UPS, makes the state unknown with the reason', async () => {
    const gone = await NutServerSim.start();
    const port = gone.port;
    await gone.close();
    const none = new UpsWatch({
      ups: { host: '127.0.0.1', port, name: 'ups', pollSeconds: 5 },
      clock: Date.now,
      log: quiet,
      registry: new Registry(),
    });
    expect(await none.poll()).toMatchObject({
      state: 'unknown',
      reason: expect.stringMatching(/ECONNREFUSED/),
    });
    none.stop();
    const other = new UpsWatch({
      ups: { host: '127.0.0.1', port: sim.port, name: 'other', pollSeconds: 5 },
      clock: Date.now,
      log: quiet,
      registry: new Registry(),
    });
    expect(await other.poll()).toMatchObject({
      state: 'unknown',
      reason: expect.stringMatching(/UNKNOWN-UPS/),
    });
    other.stop();
  });
});

describe('limits on a misbehaving upsd', () => {
  let server: Server;
  let port = 0;
  let reply: (line: string, write: (s: string) => void) => void = () => undefined;
  beforeAll(async () => {
    server = createServer((s) => {
      s.setEncoding('utf8');
      s.on('error', () => undefined);
      s.on('data', (line: string) => reply(line.trim(), (x) => s.write(x)));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as { port: number }).port;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
  });

  const ask = async () => {
    const client = new NutClient({ host: '127.0.0.1', port });
    try {
      return await client.listVars('ups').then(
        () => null,
        (e: unknown) => e,
      );
    } finally {
      client.close();
    }
  };

  it(`cuts a line over ${UPS_MAX_LINE_BYTES} bytes`, async () => {
    reply = (_l, write) => write(`BEGIN LIST VAR ups\nVAR ups x "${'a'.repeat(UPS_MAX_LINE_BYTES)}"\n`);
    expect(await ask()).toMatchObject({ code: 'TOO-LONG' });
    reply = (_l, write) => write('x'.repeat(UPS_MAX_LINE_BYTES + 10)); // no newline at all
    expect(await ask()).toMatchObject({ code: 'TOO-LONG' });
  });

  it(`cuts an answer over ${UPS_MAX_REPLY_LINES} lines`, async () => {
    reply = (_l, write) =>
      write(`BEGIN LIST VAR ups\n${'VAR ups x "1"\n'.repeat(UPS_MAX_REPLY_LINES + 5)}END LIST VAR ups\n`);
    expect(await ask()).toMatchObject({ code: 'TOO-LONG' });
  });

  it('gives up on a server that stays silent, and says so', async () => {
    reply = () => undefined;
    const err = await ask();
    expect(err).toBeInstanceOf(NutError);
    expect(err).toMatchObject({ code: 'TIMEOUT' });
  }, 15_000);

  it('a garbled answer is refused, and the next request starts on a fresh connection', async () => {
    reply = (_l, write) => write('HELLO\n');
    const client = new NutClient({ host: '127.0.0.1', port });
    try {
      await expect(client.listVars('ups')).rejects.toMatchObject({ code: 'PROTOCOL' });
      reply = (_l, write) => write('BEGIN LIST VAR ups\nVAR ups ups.status "OL"\nEND LIST VAR ups\n');
      expect((await client.listVars('ups')).get('ups.status')).toBe('OL');
    } finally {
      client.close();
    }
  });
});
