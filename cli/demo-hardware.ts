// The demo office's hardware (`lobby demo`): the kiosk's ticket printer, the LED boards on an RS-485 bus,
// the voice announcer with its amplifier relay, and a GPIO keypad and rating box at counter 1, all driven
// by the box and all simulated in this process (hardware-sim/office). A simulated office day runs against
// the box at a pace a person can watch, so tickets are printed (PNG), boards light up and calls are said
// (WAV) without anyone touching anything. Counter 1 is left to the person trying the demo.
import { join, resolve } from 'node:path';
import { pino, type Logger } from 'pino';
import type { Role } from '../protocol/index.js';
import { addPeripheralToFile, loadConfigFile, setInConfigFile } from '../device/config/load.js';
import type { BoxConfig, PeripheralConfig } from '../device/config/schema.js';
import type { Box } from '../device/daemon.js';
import {
  OfficeHardwareSim,
  activityPrinter,
  attachConsole,
  hardwareCommands,
  parseHostPort,
  shortPath,
  type ConsoleCommands,
  type OfficeHardwarePlan,
} from '../hardware-sim/office/index.js';
import { NutServerSim } from '../hardware-sim/ups/nut-server.js';
import { SimKiosk, type DeviceCredential } from '../hardware-sim/mqtt/index.js';
import {
  ScaledClock,
  connectOffice,
  dayProfile,
  localMidnight,
  runDay,
  type ConnectedOffice,
} from '../hardware-sim/office-day/index.js';
import { clerksByCounter } from './sim-box.js';
import {
  addressChanges,
  describeOfficeHardware,
  officeHardwareFromConfig,
  ticketCommand,
} from './sim-office.js';

/** First port of the demo's simulators on a first run: printer, LED bus, GPIO, loudspeakers. */
export const DEMO_HARDWARE_PORT = 18840;
/** Simulated minutes per real minute of the demo's office day: a citizen every few seconds. */
export const DEMO_DAY_SPEED = 30;
/** The counter left to people: its clerk panel, rating tablet, GPIO keypad and GPIO rating box. */
const HUMAN_COUNTER = 1;
/** The demo's day runs through without a lunch break: nobody wants to watch an empty lobby. */
const DAY_SESSIONS = [{ open: '07:30', close: '17:00', cutoff: '16:30' }];
/** Tickets and WAV files kept in demo-data/hardware (the demo can run for hours). */
const KEEP_FILES = 300;

interface DrivenSpec {
  id: string;
  role: Role;
  counter?: number;
  driver: NonNullable<PeripheralConfig['driver']>;
}

/** The demo's driven hardware; `base` is the first of the simulators' four ports. */
function demoHardware(config: BoxConfig, base: number) {
  const host = (i: number) => `127.0.0.1:${base + i}`;
  const bus = { id: 'led-bus', link: { tcp: host(1) } };
  const gpio = { backend: 'sim' as const, address: host(2) };
  const specs: DrivenSpec[] = [
    { id: 'kiosk-1', role: 'kiosk', driver: { kind: 'escpos', link: { tcp: host(0) }, paper: '80mm' } },
    {
      id: 'led-entrance',
      role: 'ledboard',
      driver: { kind: 'led-rs485', bus: bus.id, address: 100, columns: 24, lines: 3, glyphs: 'vi' },
    },
    ...config.counters.map((c): DrivenSpec => ({
      id: `led-${c.number}`,
      role: 'ledboard',
      counter: c.number,
      driver: { kind: 'led-rs485', bus: bus.id, address: c.number, columns: 16, lines: 2 },
    })),
    {
      id: 'announcer-1',
      role: 'announcer',
      driver: {
        kind: 'voice',
        player: { kind: 'sim', address: host(3) },
        amplifier: { pin: 18, warmUpMs: 800, idleOffMs: 20_000 },
      } as DrivenSpec['driver'],
    },
    {
      id: `keypad-gpio-${HUMAN_COUNTER}`,
      role: 'keypad',
      counter: HUMAN_COUNTER,
      driver: {
        kind: 'gpio-keypad',
        buttons: [
          { pin: 17, action: 'next', longPress: 'recall' },
          { pin: 27, action: 'no_show' },
          { pin: 22, action: 'finish' },
          { pin: 23, action: 'pause_resume' },
        ],
        feedback: { pin: 24 },
      } as DrivenSpec['driver'],
    },
    {
      id: `rating-gpio-${HUMAN_COUNTER}`,
      role: 'rating',
      counter: HUMAN_COUNTER,
      driver: {
        kind: 'gpio-rating',
        buttons: [
          { pin: 5, score: 1 },
          { pin: 6, score: 2 },
          { pin: 13, score: 3 },
          { pin: 19, score: 4 },
        ],
        sessionLamp: { pin: 26 },
        feedback: { pin: 12 },
      } as DrivenSpec['driver'],
    },
  ];
  return { bus, gpio, specs };
}

/**
 * Gives the demo config its hardware where it has none: the RS-485 bus, the simulated GPIO header, and a
 * driver on each demo peripheral (new ones are added). What is already there is left alone, so a demo
 * folder from an earlier version gains the hardware and an edited one keeps the edits.
 */
export async function addDemoHardware(configFile: string, base = DEMO_HARDWARE_PORT): Promise<void> {
  let config = loadConfigFile(configFile);
  const { bus, gpio, specs } = demoHardware(config, base);
  const buses = config.hardware?.serial?.buses ?? [];
  if (!buses.some((b) => b.id === bus.id))
    setInConfigFile(configFile, ['hardware', 'serial', 'buses'], [...buses, bus]);
  if (!config.hardware?.gpio) setInConfigFile(configFile, ['hardware', 'gpio'], gpio);
  config = loadConfigFile(configFile);
  for (const s of specs) {
    const index = config.peripherals.findIndex((p) => p.id === s.id);
    const existing = config.peripherals[index];
    if (!existing) {
      const p: PeripheralConfig = { id: s.id, role: s.role, driver: s.driver };
      if (s.counter !== undefined) p.counter = s.counter;
      addPeripheralToFile(configFile, p);
    } else if (!existing.driver && existing.role === s.role)
      setInConfigFile(configFile, ['peripherals', index, 'driver'], s.driver);
  }
}

export interface DemoHardware {
  readonly sim: OfficeHardwareSim;
  readonly outDir: string;
  /** Prints what runs where and how to play counter 1, then the lobby's activity; starts the day. */
  run(box: Box, credentials: DeviceCredential[], daySpeed: number): Promise<void>;
  /** Stops the simulated day and the console (before the box closes). */
  stopDay(): Promise<void>;
  /** Closes the simulators (after the box). */
  close(): Promise<void>;
}

/**
 * Adds the demo hardware to the config if missing and starts its simulators where the config says, or
 * from `hardwarePort` on (0: any free ports); the addresses they got are written back into the config,
 * so the box (started next, from the file) connects to them.
 */
export async function startDemoHardware(o: {
  dataDir: string;
  configFile: string;
  hardwarePort?: number;
}): Promise<DemoHardware> {
  await addDemoHardware(o.configFile);
  const config = loadConfigFile(o.configFile);
  const { plan, paths } = officeHardwareFromConfig(config);
  if (o.hardwarePort !== undefined) relocate(plan, o.hardwarePort);
  const outDir = join(o.dataDir, 'hardware');
  const sim = await OfficeHardwareSim.start({
    plan,
    outDir,
    realtimeAudio: false,
    keepFiles: KEEP_FILES,
  }).catch((e: NodeJS.ErrnoException) => {
    throw new Error(
      e.code === 'EADDRINUSE'
        ? `${e.message}; pick other ports with --hardware-port <first> (0 = any free ports)`
        : e.message,
    );
  });
  // Write where each simulator really listens (a free port, a moved base) for the box to read.
  for (const { path, value } of addressChanges(config, paths, sim.addresses))
    setInConfigFile(o.configFile, path, value);
  // The office's UPS: a simulated upsd on a free port, read by the box every 2 s (console: `power …`).
  const ups = await NutServerSim.start({ ups: 'office' });
  setInConfigFile(o.configFile, ['ups'], {
    host: '127.0.0.1',
    port: ups.port,
    name: 'office',
    pollSeconds: 2,
  });

  let office: ConnectedOffice | null = null;
  let kiosk: SimKiosk | null = null;
  let detach: () => void = () => undefined;
  let stopping = false;
  return {
    sim,
    outDir,
    async run(box, credentials, daySpeed) {
      const url = `mqtt://127.0.0.1:${box.mqttPort}`;
      await printerReady(box, 'kiosk-1');
      if (daySpeed > 0) {
        const creds = credentials.filter(
          (c) => c.role !== 'display' && c.role !== 'clerk-panel' && c.counter !== HUMAN_COUNTER,
        );
        // Its own client-id tag: `lobby sim devices` / `lobby sim day` (tag sim) can still join.
        office = await connectOffice(url, creds, { tag: 'demo' });
      }
      // The console's citizen uses the day's kiosk: one device, one connection, one presence.
      const kioskCred = credentials.find((c) => c.id === 'kiosk-1');
      if (office) kiosk = office.devices.kiosk;
      else if (kioskCred)
        kiosk = await new SimKiosk({
          url,
          id: kioskCred.id,
          secret: kioskCred.secret,
          tag: 'console',
        }).connect();
      const commands = { ...hardwareCommands(sim), ...powerCommand(ups) };
      if (kiosk) Object.assign(commands, ticketCommand(kiosk));
      console.log(describeDemoHardware(sim, plan, config, outDir, o.configFile, daySpeed));
      sim.on(
        'activity',
        activityPrinter((line) => console.log(line)),
      );
      detach = attachConsole(commands, process.stdin, (t) => console.log(t));
      if (office) void runDemoDays(office, config, daySpeed, () => stopping);
    },
    async stopDay() {
      stopping = true;
      detach();
      if (office) await office.close();
      else await kiosk?.close();
    },
    close: async () => {
      await sim.close();
      await ups.close();
    },
  };
}

/** `power mains|battery|low`: the simulated UPS loses mains, runs low, or mains comes back. */
function powerCommand(ups: NutServerSim): ConsoleCommands {
  return {
    power: {
      usage: 'power mains|battery|low',
      help: "the office's UPS: mains back, a power cut (on battery), or its battery low (the box stops taking requests)",
      run([state]) {
        if (state === 'mains') ups.mains();
        else if (state === 'battery') ups.onBattery(80, 1500);
        else if (state === 'low') ups.lowBattery(8, 90);
        else return 'usage: power mains|battery|low';
        return `UPS: ${state === 'mains' ? 'on mains' : state === 'battery' ? 'mains lost, on battery' : 'battery low'} (the box sees it within 2 s)`;
      },
    },
  };
}

/**
 * The demo box's log: everything in demo-data/box.log, warnings and errors on the terminal too, so the
 * terminal shows the lobby (tickets, boards, calls) rather than a stream of JSON.
 */
export function demoBoxLog(dataDir: string): Logger {
  const level = process.env.LOG_LEVEL ?? 'info';
  return pino(
    { level },
    pino.multistream([
      {
        level: level as pino.Level,
        stream: pino.destination({ dest: join(dataDir, 'box.log'), mkdir: true }),
      },
      { level: 'warn', stream: process.stdout },
    ]),
  );
}

/** The box, closed after the simulated day and before the simulators (the drivers see no outage). */
export function withDemoHardware(box: Box, hardware: DemoHardware): Box {
  return {
    ...box,
    async close() {
      await hardware.stopDay();
      await box.close();
      await hardware.close();
    },
  };
}

/** Moves every TCP simulator to 127.0.0.1 from `first` on (0: each on a free port). */
function relocate(plan: OfficeHardwarePlan, first: number): void {
  let i = 0;
  const next = (listen: string) => {
    if (!parseHostPort(listen)) return listen; // a Unix socket stays where it is
    const port = first === 0 ? 0 : first + i;
    i += 1;
    return `127.0.0.1:${port}`;
  };
  for (const p of plan.printers) p.listen = next(p.listen);
  for (const b of plan.ledBuses) b.listen = next(b.listen);
  for (const d of plan.lineDevices) d.listen = next(d.listen);
  if (plan.gpio) plan.gpio.listen = next(plan.gpio.listen);
  for (const a of plan.audio) a.listen = next(a.listen);
}

/** The box refuses paper tickets until it has heard from the printer: start the day once it has. */
async function printerReady(box: Box, kiosk: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (box.broker.statusOf(kiosk)?.printer?.canPrint) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

function describeDemoHardware(
  sim: OfficeHardwareSim,
  plan: OfficeHardwarePlan,
  config: BoxConfig,
  outDir: string,
  configFile: string,
  daySpeed: number,
): string {
  const n = HUMAN_COUNTER;
  const service = config.counters.find((c) => c.number === n)?.services[0] ?? config.services[0]?.id;
  const day =
    daySpeed > 0
      ? `A simulated office day runs at ${daySpeed}× real time: citizens take tickets at kiosk-1 (printed as PNG),
clerks call them at the other counters (LED boards, voice calls as WAV). Counter ${n} is yours.`
      : `No simulated day (--day-speed 0): the hardware waits for you.`;
  return `Simulated hardware (addresses in ${shortPath(resolve(configFile))}, output in ${shortPath(resolve(outDir))}/):
${describeOfficeHardware(sim, plan, outDir)}
${day}
Play counter ${n} from this terminal (type help for more):
  ticket ${service}${' '.repeat(Math.max(1, 26 - String(service).length))}a citizen takes a ticket at kiosk-1; its printer prints it
  press keypad-gpio-${n} next          the clerk calls it: LED board led-${n}, entrance board, voice call
  press keypad-gpio-${n} finish        then finishes; press rating-gpio-${n} 4 to rate (or use the tablet)
`;
}

/** Office days one after another (seed 1, 2, …) until the demo stops. */
async function runDemoDays(
  office: ConnectedOffice,
  config: BoxConfig,
  speed: number,
  stopped: () => boolean,
): Promise<void> {
  const clerks = clerksByCounter(config);
  clerks.delete(HUMAN_COUNTER);
  // Nobody else calls counter 1's services: citizens for them would wait all day.
  const played = new Set(office.devices.keypads.keys());
  const served = new Set(config.counters.filter((c) => played.has(c.number)).flatMap((c) => c.services));
  const [h, m] = DAY_SESSIONS[0]!.open.split(':').map(Number) as [number, number];
  for (let seed = 1; !stopped(); seed++) {
    const profile = dayProfile({ seed });
    for (const s of config.services) if (!served.has(s.id)) profile.arrivalsPerDay[s.id] = 0;
    const midnight = localMidnight(profile.date, config.office.timezone);
    // A minute before opening: the clerks sign in, the first citizens come within seconds.
    const clock = new ScaledClock(midnight + (h * 60 + m - 1) * 60_000, speed);
    console.log(
      `Simulated office day ${seed} starts (${DAY_SESSIONS[0]!.open}–${DAY_SESSIONS[0]!.close} at ${speed}×).`,
    );
    try {
      const { kpis } = await runDay({ office, profile, clock, midnight, clerks, sessions: DAY_SESSIONS });
      const wait = kpis.waitMin.p50 === null ? '–' : `${kpis.waitMin.p50.toFixed(0)} min`;
      const sat =
        kpis.ratings.satisfactionIndex === null ? '–' : `${kpis.ratings.satisfactionIndex.toFixed(0)}%`;
      console.log(
        `Simulated office day ${seed} is over: ${kpis.issued} tickets, ${kpis.served} served, median wait ${wait}, satisfaction ${sat}.`,
      );
      office.devices.kiosk.printed.splice(0); // the demo may run for days
    } catch (e) {
      if (stopped()) return;
      console.error(`Simulated office day ${seed} stopped: ${(e as Error).message}; the next one starts.`);
      await new Promise((r) => setTimeout(r, 5000));
    }
  }
}
