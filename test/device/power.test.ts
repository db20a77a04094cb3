// The box on its UPS (simulated upsd, real protocol): on battery the office works on and says so; on low
// battery it stops taking requests, tells the screens, saves its log and runs the shutdown command; back on
// mains it takes requests again, and no ticket is lost or numbered twice.
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NutServerSim } from '../../hardware-sim/ups/nut-server.js';
import { ERRORS, topics, type BoxStateMsg } from '../../protocol/index.js';
import {
  DEVICES,
  nextMessage,
  officeConfig,
  peripheralsFor,
  request,
  startTestBox,
  type TestBox,
} from '../support/office.js';

/** Waits until `check` holds (polling; a condition, never a fixed sleep). */
async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`not in time: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('the box on its UPS', () => {
  let ups: NutServerSim;
  let tb: TestBox;
  let kiosk: MqttClient;
  let tv: MqttClient;
  const dataDir = mkdtempSync(join(tmpdir(), 'lobby-power-'));
  const shutdownFile = join(dataDir, 'shutdown-asked');
  const healthz = async () => {
    const r = await fetch(`http://127.0.0.1:${tb.box.httpPort}/healthz`);
    return {
      code: r.status,
      ...((await r.json()) as {
        status: string;
        reason?: string;
        power?: { state: string; acceptingRequests: boolean; chargePct: number | null };
      }),
    };
  };
  /** The retained box state as a screen that subscribes now gets it. */
  const boxState = async () => {
    const next = nextMessage(tv, topics.boxState());
    await tv.unsubscribeAsync(topics.boxState());
    await tv.subscribeAsync(topics.boxState(), { qos: 1 });
    return (await next).body as BoxStateMsg;
  };
  const ticket = async () => request(kiosk, 'lobby/v1/tickets/request', { service: 'van-thu' });

  beforeAll(async () => {
    ups = await NutServerSim.start({ ups: 'office' });
    tb = await startTestBox({
      dataDir,
      config: {
        ...officeConfig(await peripheralsFor(DEVICES)),
        ups: {
          host: '127.0.0.1',
          port: ups.port,
          name: 'office',
          pollSeconds: 1,
          shutdownCommand: ['sh', '-c', 'echo asked > "$0"', shutdownFile],
        },
      },
    });
    kiosk = await tb.connect('kiosk-1');
    tv = await tb.connect('display-tv');
  });
  afterAll(async () => {
    await tb?.close();
    await ups?.close();
  });

  it('mains lost: the office works on, and /healthz, /metrics and the screens say it runs on battery', async () => {
    await until(async () => (await healthz()).power?.state === 'mains', 'on mains');
    expect((await ticket()).status).toBe('ok');
    ups.onBattery(75, 1500);
    await until(async () => (await healthz()).power?.state === 'battery', 'on battery');
    const h = await healthz();
    expect(h).toMatchObject({ code: 200, status: 'ok', power: { acceptingRequests: true, chargePct: 75 } });
    expect((await ticket()).status).toBe('ok');
    // Commits are in the write-ahead log until a checkpoint.
    expect(statSync(join(dataDir, 'events.db-wal')).size).toBeGreaterThan(0);
    expect(await boxState()).toMatchObject({ acceptingRequests: true, power: 'battery', message: null });
    const metrics = await (await fetch(`http://127.0.0.1:${tb.box.httpPort}/metrics`)).text();
    expect(metrics).toContain('lobby_power_state{state="battery"} 1');
    expect(metrics).toContain('lobby_ups_battery_charge_percent 75');
  });

  it('low battery: requests refused with the reason, the screens told, the log saved, the shutdown command run', async () => {
    ups.lowBattery(8, 100);
    await until(async () => (await healthz()).power?.acceptingRequests === false, 'requests stopped');
    const h = await healthz();
    expect(h).toMatchObject({ code: 503, status: 'degraded', reason: ERRORS.power_low.en });
    const refused = await ticket();
    expect(refused).toMatchObject({ status: 'error', error: { code: 'power_low' } });
    expect(await boxState()).toMatchObject({
      acceptingRequests: false,
      power: 'low_battery',
      message: { vi: ERRORS.power_low.vi },
    });
    await until(() => existsSync(shutdownFile), 'the shutdown command ran');
    expect(readFileSync(shutdownFile, 'utf8').trim()).toBe('asked');
    // The log was checkpointed: its write-ahead file is empty, every ticket is in the database file itself.
    const wal = join(dataDir, 'events.db-wal');
    expect(statSync(wal).size).toBe(0);
    expect(tb.box.ledger.state.tickets.size).toBe(2);
  });

  it('mains back: requests taken again, the numbers go on from where they were', async () => {
    ups.mains();
    await until(async () => (await healthz()).power?.acceptingRequests === true, 'requests taken again');
    const next = await ticket();
    expect(next.status).toBe('ok');
    expect((next.data as { ticket: { number: string } }).ticket.number).toBe('A003');
    expect(await boxState()).toMatchObject({ acceptingRequests: true, power: 'mains', message: null });
  });
});
