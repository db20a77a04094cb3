// The box side of `lobby sim`: a real box started in this process for the simulators, with their
// peripherals provisioned. hardware-sim/ imports only protocol/, so this glue lives with the CLI.
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino, type Logger } from 'pino';
import { parse } from 'yaml';
import type { Role } from '../protocol/index.js';
import { validateConfig } from '../device/config/load.js';
import type { BoxConfig, PeripheralConfig } from '../device/config/schema.js';
import { startBox, type Box } from '../device/daemon.js';
import { createPeripheral } from '../provisioning/peripherals.js';
import { generateSecret, hashSecret } from '../protocol/secrets.js';
import type { DeviceCredential } from '../hardware-sim/mqtt/index.js';
import type { DeviceRole, KitBox } from '../hardware-sim/conform/index.js';
import {
  ScaledClock,
  VirtualClock,
  connectOffice,
  firstCallWaits,
  localMidnight,
  runDay,
  type BoxRecord,
  type DayProfile,
  type DayProgress,
  type DayResult,
} from '../hardware-sim/office-day/index.js';

const here = dirname(fileURLToPath(import.meta.url));

/** config/demo-office.yaml next to the package (one level up from cli/, two from dist/cli). */
export function demoOfficeFile(): string {
  for (const up of ['..', '../..']) {
    const p = resolve(here, up, 'config', 'demo-office.yaml');
    if (existsSync(p)) return p;
  }
  throw new Error('config/demo-office.yaml not found next to the lobby package');
}

/**
 * The office the day simulates by default: the demo commune office's layout (8 counters, 8 services,
 * 8 clerks) with a commune's real hours, Monday to Friday: 07:30–11:30 (last ticket 11:00) and
 * 13:30–17:00 (last ticket 16:30).
 */
export function defaultSimOffice(): BoxConfig {
  const raw = parse(readFileSync(demoOfficeFile(), 'utf8')) as { office: Record<string, unknown> };
  raw.office.sessions = [
    { open: '07:30', close: '11:30', cutoff: '11:00' },
    { open: '13:30', close: '17:00', cutoff: '16:30' },
  ];
  raw.office.workdays = [1, 2, 3, 4, 5];
  return validateConfig(raw, 'demo office (simulated hours)');
}

/** The simulated devices of an office: a kiosk, a display, an announcer, an entrance board, and a
 * keypad, rating box, scanner and LED board per counter. */
export function simPeripheralSpecs(config: BoxConfig): { id: string; role: Role; counter?: number }[] {
  const list: { id: string; role: Role; counter?: number }[] = [
    { id: 'kiosk-1', role: 'kiosk' },
    { id: 'display-tv', role: 'display' },
    { id: 'announcer-1', role: 'announcer' },
    { id: 'led-entrance', role: 'ledboard' },
  ];
  for (const c of config.counters) {
    const n = c.number;
    list.push({ id: `keypad-${n}`, role: 'keypad', counter: n });
    list.push({ id: `rating-${n}`, role: 'rating', counter: n });
    list.push({ id: `scanner-${n}`, role: 'scanner', counter: n });
    list.push({ id: `led-${n}`, role: 'ledboard', counter: n });
  }
  return list;
}

/** Counter n's clerk: the n-th clerk of the config, in counter order. */
export function clerksByCounter(config: BoxConfig): Map<number, string> {
  const m = new Map<number, string>();
  config.counters.forEach((c, i) => {
    const clerk = config.clerks[i];
    if (clerk) m.set(c.number, clerk.id);
  });
  return m;
}

export interface SimBox {
  box: Box;
  config: BoxConfig;
  url: string;
  credentials: DeviceCredential[];
  /** The box's own record of the day, from its event log. */
  record(): BoxRecord;
  close(): Promise<void>;
}

export interface SimBoxOptions {
  /** The office: services, counters, clerks, hours (its peripherals and drivers are replaced). */
  office: BoxConfig;
  clock?: () => number;
  /** Where the event log goes; default a temporary directory, removed on close. */
  dataDir?: string;
  /** Extra peripherals with known secrets (the conformance kit's device under test). */
  extra?: DeviceCredential[];
  /** Provision the simulated devices (default true). */
  simDevices?: boolean;
  log?: Logger;
  host?: string;
  mqttPort?: number;
}

/** Starts a real box in this process, on loopback ports, with the simulated devices provisioned. */
export async function startSimBox(o: SimBoxOptions): Promise<SimBox> {
  const specs = o.simDevices === false ? [] : simPeripheralSpecs(o.office);
  const credentials: DeviceCredential[] = [];
  const peripherals: PeripheralConfig[] = [];
  for (const spec of specs) {
    const { peripheral, secret } = await createPeripheral(spec);
    peripherals.push(peripheral);
    credentials.push({ ...spec, secret });
  }
  for (const e of o.extra ?? []) {
    const p: PeripheralConfig = { id: e.id, role: e.role, secretHash: await hashSecret(e.secret) };
    if (e.counter !== undefined) p.counter = e.counter;
    peripherals.push(p);
    credentials.push(e);
  }
  const config = validateConfig({
    ...o.office,
    hardware: undefined,
    broker: { host: o.host ?? '127.0.0.1', port: o.mqttPort ?? 0 },
    http: { host: '127.0.0.1', port: 0 },
    peripherals,
  });
  const tempDir = o.dataDir ? null : mkdtempSync(join(tmpdir(), 'lobby-sim-'));
  const dataDir = o.dataDir ?? (tempDir as string);
  const box = await startBox({
    config,
    dataDir,
    log: o.log ?? pino({ level: 'silent' }),
    clock: o.clock,
    tickMs: 3_600_000, // the day's clock may be virtual: no housekeeping ticks in between
  });
  return {
    box,
    config,
    url: `mqtt://${o.host === '0.0.0.0' ? '127.0.0.1' : (o.host ?? '127.0.0.1')}:${box.mqttPort}`,
    credentials,
    record() {
      const day = box.ledger.state.day;
      const events: Record<string, number> = {};
      const all = [...box.store.eventsAfter(0)].filter((e) => e.day === day);
      for (const e of all) events[e.event.type] = (events[e.event.type] ?? 0) + 1;
      return {
        source: o.dataDir ? `the box's event log, ${join(dataDir, 'events.db')}` : "the box's event log",
        events,
        waitsMs: firstCallWaits(
          all.map((e) => ({ type: e.event.type, data: e.event.data as Record<string, unknown> })),
        ),
      };
    },
    async close() {
      await box.close();
      if (tempDir) rmSync(tempDir, { recursive: true, force: true });
    },
  };
}

/**
 * A whole office day against a box in this process. By default on a virtual clock that the box shares:
 * the day runs as fast as the box answers and every timestamp in its log is simulated time. With
 * `speed`, simulated time runs that many times faster than the wall clock (to watch it happen).
 */
export async function runLocalDay(o: {
  office: BoxConfig;
  profile: DayProfile;
  speed?: number;
  dataDir?: string;
  log?: Logger;
  onProgress?: (p: DayProgress) => void;
}): Promise<DayResult> {
  const midnight = localMidnight(o.profile.date, o.office.office.timezone);
  // Start a few minutes before the first session opens: the box starts its office day then.
  const first = Math.min(
    ...o.office.office.sessions.map((s) => {
      const [h, m] = s.open.split(':').map(Number) as [number, number];
      return (h * 60 + m) * 60_000;
    }),
  );
  const start = midnight + first - 6 * 60_000;
  const clock = o.speed ? new ScaledClock(start, o.speed) : new VirtualClock(start);
  const sim = await startSimBox({
    office: o.office,
    clock: () => clock.now(),
    dataDir: o.dataDir,
    log: o.log,
  });
  try {
    const office = await connectOffice(sim.url, sim.credentials);
    try {
      return await runDay({
        office,
        profile: o.profile,
        clock,
        midnight,
        clerks: clerksByCounter(sim.config),
        onProgress: o.onProgress,
        boxRecord: () => sim.record(),
      });
    } finally {
      await office.close();
    }
  } finally {
    await sim.close();
  }
}

/**
 * The box the conformance kit runs to check a device: a small office open around the clock (services
 * "van-thu" and "ho-tich" at every counter up to the device's), the device under test provisioned with
 * the id and secret the vendor gave it, and the kit's own helpers (a kiosk, and a keypad at the
 * device's counter when the device is a rating box or a scanner).
 */
export async function startKitBox(o: {
  role: DeviceRole;
  id: string;
  secret: string;
  counter?: number;
  log?: Logger;
}): Promise<{ kit: KitBox; close(): Promise<void> }> {
  const counter = o.counter ?? 1;
  const helperIds = ['kit-kiosk', 'kit-keypad'];
  if (helperIds.includes(o.id))
    throw new Error(`"${o.id}" is the kit's own device id; give the device another id`);
  const office = validateConfig({
    office: {
      id: 'kiem-tra',
      name: 'Bộ phận một cửa – kiểm tra thiết bị',
      sessions: [{ open: '00:00', close: '23:59' }],
      workdays: [1, 2, 3, 4, 5, 6, 7],
    },
    services: [
      { id: 'van-thu', name: 'Văn thư', numbering: { prefix: 'A', width: 3 } },
      { id: 'ho-tich', name: 'Hộ tịch', numbering: { prefix: 'C', width: 3 } },
    ],
    counters: Array.from({ length: counter }, (_, i) => ({
      number: i + 1,
      name: `Quầy ${i + 1}`,
      services: ['van-thu', 'ho-tich'],
    })),
    clerks: [
      { id: 'cc01', name: 'Nguyễn Thị Lan' },
      { id: 'cc02', name: 'Trần Văn Minh' },
    ],
  });
  const kiosk: DeviceCredential = { id: 'kit-kiosk', role: 'kiosk', secret: generateSecret() };
  const keypad: DeviceCredential | undefined =
    o.role === 'rating' || o.role === 'scanner'
      ? { id: 'kit-keypad', role: 'keypad', counter, secret: generateSecret() }
      : undefined;
  const dut: DeviceCredential = { id: o.id, role: o.role, secret: o.secret };
  if (o.role !== 'kiosk') dut.counter = counter;
  const sim = await startSimBox({
    office,
    simDevices: false,
    extra: [dut, kiosk, ...(keypad ? [keypad] : [])],
    log: o.log,
  });
  return {
    kit: {
      host: '127.0.0.1',
      port: sim.box.mqttPort,
      kiosk,
      keypad,
      service: { id: 'van-thu', name: 'Văn thư' },
      clerk: { id: 'cc01', name: 'Nguyễn Thị Lan' },
    },
    close: () => sim.close(),
  };
}
