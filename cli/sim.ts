// `lobby sim`: the simulators. Each simulator registers its own subcommand: add yours to SIMULATORS
// (or pass it to simCommand), with a function that takes the `sim` command and adds a subcommand to it.
import { networkInterfaces } from 'node:os';
import { loadConfigFile } from '../device/config/load.js';
import type { BoxConfig } from '../device/config/schema.js';
import { Argument, Command, InvalidArgumentError, Option } from 'commander';
import cliProgress from 'cli-progress';
import { pino } from 'pino';
import { ROLES, type Role } from '../protocol/index.js';
import {
  DEVICE_ROLES,
  checkBox,
  checkDevice,
  formatResult,
  summary,
  type CheckResult,
  type DeviceRole,
  type Operator,
} from '../hardware-sim/conform/index.js';
import {
  describeReceived,
  loadCredentials,
  simDeviceFor,
  type AnySimDevice,
} from '../hardware-sim/mqtt/index.js';
import {
  ScaledClock,
  applyRates,
  connectOffice,
  dayProfile,
  formatReport,
  layoutFromDevices,
  loadDayProfile,
  localMidnight,
  runDay,
  type DayProgress,
  type DayResult,
} from '../hardware-sim/office-day/index.js';
import { defaultSimOffice, runLocalDay, startKitBox } from './sim-box.js';
import { registerOffice } from './sim-office.js';

/** Adds one simulator's subcommand to `lobby sim`. */
export type SimRegistration = (sim: Command) => void;

const intArg = (what: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError(`${what} must be a whole number`);
  return n;
};
const positive = (what: string) => (value: string) => {
  const n = Number(value);
  if (!(n > 0)) throw new InvalidArgumentError(`${what} must be a positive number`);
  return n;
};
const portArg = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError('must be a port number (0-65535)');
  return n;
};
const collect = (value: string, previous: string[] = []) => [...previous, value];

// ---- lobby sim day -------------------------------------------------------------------------------

interface DayOpts {
  seed?: number;
  rate: string[];
  profile?: string;
  config?: string;
  date?: string;
  speed?: number;
  dataDir?: string;
  host?: string;
  port?: number;
  credentials?: string;
  clerk: string[];
  json?: boolean;
  progress: boolean;
  verbose?: boolean;
}

/** The commune's real hours, for a box that is open around the clock (the demo). */
const COMMUNE_SESSIONS = [
  { open: '07:30', close: '11:30', cutoff: '11:00' },
  { open: '13:30', close: '17:00', cutoff: '16:30' },
];

function progressBar(enabled: boolean): { update: (p: DayProgress) => void; stop: () => void } {
  if (!enabled || !process.stderr.isTTY) return { update: () => undefined, stop: () => undefined };
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: ' {bar} {clock} | issued {issued} | served {served} | waiting {waiting}',
      hideCursor: true,
      clearOnComplete: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  const clock = (t: number) => new Date(t + 7 * 3_600_000).toISOString().slice(11, 16); // office time (UTC+7) for the eye only
  return {
    update(p) {
      const total = Math.max(1, Math.round((p.dayEnd - p.dayStart) / 60_000));
      const value = Math.min(total, Math.max(0, Math.round((p.now - p.dayStart) / 60_000)));
      const payload = { clock: clock(p.now), issued: p.issued, served: p.finished, waiting: p.waiting };
      if (!started) {
        bar.start(total, value, payload);
        started = true;
      } else bar.update(value, payload);
    },
    stop: () => started && bar.stop(),
  };
}

/** Bad input from the command line is the user's to fix: exit code 2, with the message as it is. */
function asArgumentError<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw e instanceof InvalidArgumentError ? e : new InvalidArgumentError((e as Error).message);
  }
}

async function runDayCommand(o: DayOpts): Promise<void> {
  let profile = asArgumentError(() => (o.profile ? loadDayProfile(o.profile) : dayProfile()));
  if (o.seed !== undefined) profile.seed = o.seed;
  if (o.date !== undefined) {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(o.date))
      throw new InvalidArgumentError(`--date "${o.date}": use YYYY-MM-DD`);
    profile.date = o.date;
  }
  const bar = progressBar(o.progress && !o.json);
  let result: DayResult;
  try {
    if (o.host !== undefined || o.credentials !== undefined) {
      if (o.host === undefined || o.port === undefined || o.credentials === undefined)
        throw new InvalidArgumentError('a running box needs --host, --port and --credentials together');
      result = await dayOnRunningBox(o, profile, bar.update);
    } else {
      let office: BoxConfig = o.config ? loadConfigFile(o.config) : defaultSimOffice();
      if (o.config && office.office.sessions.some((s) => s.open === '00:00' && s.close >= '23:00'))
        office = { ...office, office: { ...office.office, sessions: COMMUNE_SESSIONS } };
      const services = office.services.map((s) => s.id);
      profile = asArgumentError(() => applyRates(profile, o.rate, services));
      result = await runLocalDay({
        office,
        profile,
        speed: o.speed,
        dataDir: o.dataDir,
        log: o.verbose ? pino({ level: 'info' }) : undefined,
        onProgress: bar.update,
      });
    }
  } finally {
    bar.stop();
  }
  const disagree = result.rows.some((r) => r.agree === false);
  if (o.json) {
    console.log(
      JSON.stringify(
        {
          seed: profile.seed,
          date: profile.date,
          kpis: result.kpis,
          box: result.box,
          comparison: result.rows,
          wallMs: result.wallMs,
        },
        null,
        2,
      ),
    );
  } else {
    const serviceNames = Object.fromEntries(result.layout.services.map((s) => [s.id, s.name]));
    console.log(
      formatReport(result.kpis, {
        seed: profile.seed,
        date: profile.date,
        serviceNames,
        box: result.box,
        rows: result.rows,
        wallMs: result.wallMs,
      }),
    );
  }
  if (disagree) process.exitCode = 1;
}

async function dayOnRunningBox(
  o: DayOpts,
  base: ReturnType<typeof dayProfile>,
  onProgress: (p: DayProgress) => void,
): Promise<DayResult> {
  const creds = asArgumentError(() => loadCredentials(o.credentials as string));
  const url = `mqtt://${o.host}:${o.port}`;
  const office = await connectOffice(url, creds);
  try {
    const clerks = new Map<number, string>();
    for (const c of o.clerk) {
      const m = /^(\d+)=(.+)$/.exec(c);
      if (!m) throw new InvalidArgumentError(`--clerk "${c}": use <counter>=<clerk id>, e.g. 1=cc01`);
      clerks.set(Number(m[1]), m[2] as string);
    }
    const layout = await layoutFromDevices(office.devices, clerks);
    const services = layout.services.map((s) => s.id);
    const profile = asArgumentError(() => applyRates(base, o.rate, services));
    const aroundTheClock = layout.sessions.some((s) => s.open === '00:00' && s.close >= '23:00');
    const sessions = aroundTheClock ? COMMUNE_SESSIONS : layout.sessions;
    const midnight = localMidnight(profile.date, layout.timezone);
    const [h, m] = (sessions[0]?.open ?? '07:30').split(':').map(Number) as [number, number];
    // The simulated day starts a few minutes before the first session, now; the box keeps its own clock.
    const clock = new ScaledClock(midnight + (h * 60 + m - 6) * 60_000, o.speed ?? 60);
    return await runDay({ office, profile, clock, midnight, clerks, sessions, onProgress });
  } finally {
    await office.close();
  }
}

const registerDay: SimRegistration = (sim) => {
  sim
    .command('day')
    .description(
      'simulate an office day: citizens, clerks, no-shows, transfers, dossiers, ratings; ends with the KPIs and a check against the box',
    )
    .option('--seed <n>', 'random seed: the same seed gives the same day (default 1)', intArg('--seed'))
    .option(
      '--rate <factor>',
      'scale arrivals: 1.5 for all, or ho-tich=2 for one service (repeatable)',
      collect,
      [],
    )
    .option(
      '--profile <file>',
      'day profile (YAML/JSON): arrivals, service times, shares; see hardware-sim/README.md',
    )
    .option(
      '-c, --config <file>',
      'office config (services, counters, clerks, hours) for the in-process box; default: the demo commune office with real hours',
    )
    .option('--date <YYYY-MM-DD>', 'office day to simulate (default 2026-11-23, a Monday)')
    .option(
      '--speed <x>',
      'run in real time sped up x times instead of on a virtual clock (default with --host: 60)',
      positive('--speed'),
    )
    .option('--virtual', 'on a virtual clock, as fast as the box answers (the default without --host)')
    .option(
      '-d, --data-dir <dir>',
      "keep the in-process box's event log here (default: a temporary directory)",
    )
    .option('--host <host>', 'drive a running box instead (with --port and --credentials)')
    .option('--port <port>', "the running box's MQTT port", portArg)
    .option(
      '--credentials <file>',
      'device credentials, as demo-credentials.json: [{"id","role","counter"?,"secret"}]',
    )
    .option('--clerk <n=id>', 'with --host: sign clerk <id> in at counter <n> (repeatable)', collect, [])
    .option('--json', 'print the KPIs and the comparison as JSON')
    .option('--no-progress', 'no progress bar')
    .option('--verbose', "show the in-process box's log")
    .action(async (opts: DayOpts & { virtual?: boolean }) => {
      if (opts.virtual && opts.speed !== undefined)
        throw new InvalidArgumentError('--virtual and --speed exclude each other');
      await runDayCommand(opts);
    });
};

// ---- lobby sim devices ---------------------------------------------------------------------------

const registerDevices: SimRegistration = (sim) => {
  sim
    .command('devices')
    .description(
      'run the MQTT-native simulated devices against a running box and print what each receives (Ctrl+C to stop)',
    )
    .requiredOption('--host <host>', "the box's address")
    .requiredOption('--port <port>', "the box's MQTT port", portArg)
    .requiredOption('--credentials <file>', 'device credentials, as demo-credentials.json')
    .option('--only <ids>', 'only these device ids (comma-separated)')
    .option('--tag <tag>', 'client id tag, so a real device with the same id can stay connected', 'sim')
    .action(async (o: { host: string; port: number; credentials: string; only?: string; tag: string }) => {
      const only = o.only?.split(',').map((s) => s.trim());
      const creds = asArgumentError(() => loadCredentials(o.credentials)).filter(
        (c) => !only || only.includes(c.id),
      );
      if (creds.length === 0)
        throw new InvalidArgumentError(`no device in ${o.credentials} matches --only ${o.only}`);
      const url = `mqtt://${o.host}:${o.port}`;
      const devices: AnySimDevice[] = [];
      for (const c of creds) {
        const d = simDeviceFor(c, url, { tag: o.tag });
        d.on('message', (m: { topic: string; body: unknown }) => {
          const line = describeReceived(d, m.topic, m.body);
          if (line) console.log(`[${d.id}] ${line}`);
        });
        await d.connect();
        devices.push(d);
        console.log(
          `[${d.id}] online as ${c.role}${c.counter ? ` at counter ${c.counter}` : ''} (client id ${d.clientId}, session ${d.presenceSession})`,
        );
      }
      console.log(`${devices.length} simulated devices on ${url}. Ctrl+C to stop.`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await Promise.all(devices.map((d) => d.close()));
    });
};

// ---- lobby sim conform ---------------------------------------------------------------------------

function lanAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((a) => a && a.family === 'IPv4' && !a.internal)
    .map((a) => (a as { address: string }).address);
}

const registerConform: SimRegistration = (sim) => {
  sim
    .command('conform')
    .description(
      'conformance kit: "box" checks a running box as a device of --role would; keypad|kiosk|rating|scanner checks a device under test against a box the kit runs (hardware-sim/conform/README.md)',
    )
    .addArgument(
      new Argument('<what>', 'box, or the role of the device under test').choices(['box', ...DEVICE_ROLES]),
    )
    .option('--id <id>', 'device id (box: the credentials to act with; device: the id the device uses)')
    .option('--secret <secret>', 'its secret')
    .option('--counter <n>', 'the counter it is bound to', intArg('--counter'))
    .addOption(new Option('--role <role>', 'box: the role of --id').choices([...ROLES]))
    .option('--host <host>', 'box: its address; device: the address to listen on (default 0.0.0.0)')
    .option(
      '--port <port>',
      'box: its MQTT port; device: the port the device connects to (default 18831)',
      portArg,
    )
    .option('--allow-changes', 'box: also issue a ticket / call a number (changes the office)')
    .option('--watch-id <id>', "box: a display's id, to watch presence and Wills")
    .option('--watch-secret <secret>', "box: that display's secret")
    .option(
      '--step-timeout <s>',
      'device: seconds the operator has for each step (default 60)',
      positive('--step-timeout'),
    )
    .option('--skip <steps>', 'device: optional steps to leave out, e.g. sign_in (comma-separated)')
    .option('--timeout <ms>', 'box: how long to wait for each answer (default 3000)', positive('--timeout'))
    .action(async (what: string, o: ConformOpts) => {
      const results = what === 'box' ? await conformBox(o) : await conformDevice(what as DeviceRole, o);
      console.log(`\n${summary(results)}`);
      if (results.some((r) => r.status === 'fail')) process.exitCode = 1;
    });
};

interface ConformOpts {
  id?: string;
  secret?: string;
  counter?: number;
  role?: Role;
  host?: string;
  port?: number;
  allowChanges?: boolean;
  watchId?: string;
  watchSecret?: string;
  stepTimeout?: number;
  skip?: string;
  timeout?: number;
}

const print = (r: CheckResult) => console.log(formatResult(r));

async function conformBox(o: ConformOpts): Promise<CheckResult[]> {
  const missing = (['host', 'port', 'id', 'secret', 'role'] as const).filter((k) => o[k] === undefined);
  if (missing.length)
    throw new InvalidArgumentError(`conform box needs ${missing.map((k) => `--${k}`).join(', ')}`);
  if ((o.watchId === undefined) !== (o.watchSecret === undefined))
    throw new InvalidArgumentError('give --watch-id and --watch-secret together');
  console.log(`Checking the box at mqtt://${o.host}:${o.port} as ${o.id} (${o.role})\n`);
  return checkBox({
    url: `mqtt://${o.host}:${o.port}`,
    id: o.id as string,
    secret: o.secret as string,
    role: o.role as Role,
    counter: o.counter,
    allowChanges: o.allowChanges,
    watch: o.watchId ? { id: o.watchId, secret: o.watchSecret as string } : undefined,
    timeoutMs: o.timeout,
    onResult: print,
  });
}

async function conformDevice(role: DeviceRole, o: ConformOpts): Promise<CheckResult[]> {
  const missing = (['id', 'secret'] as const).filter((k) => o[k] === undefined);
  if (missing.length)
    throw new InvalidArgumentError(`conform ${role} needs ${missing.map((k) => `--${k}`).join(', ')}`);
  if (role !== 'kiosk' && o.counter === undefined)
    throw new InvalidArgumentError(`a ${role} is bound to a counter: give --counter`);
  const { kit, close } = await startKitBox({
    role,
    id: o.id as string,
    secret: o.secret as string,
    counter: o.counter,
  });
  const stepTimeoutMs = (o.stepTimeout ?? 60) * 1000;
  const operator: Operator = (step, ctx) => {
    console.log(
      `\nBước ${ctx.index}/${ctx.total} · Step ${ctx.index}/${ctx.total}${step.optional ? ' (optional)' : ''}`,
    );
    console.log(`  ${step.text.vi}`);
    console.log(`  ${step.text.en}`);
    console.log(`  (waiting up to ${Math.round(ctx.timeoutMs / 1000)} s)`);
  };
  try {
    return await checkDevice({
      role,
      id: o.id as string,
      counter: o.counter,
      box: kit,
      operator,
      listenPort: o.port ?? 18831,
      listenHost: o.host ?? '0.0.0.0',
      stepTimeoutMs,
      skip: (o.skip?.split(',').map((s) => s.trim()) ?? []) as never[],
      onResult: print,
      onListening: (port) => {
        const hosts = o.host && o.host !== '0.0.0.0' ? [o.host] : [...lanAddresses(), '127.0.0.1'];
        console.log(
          `Conformance kit for a ${role} "${o.id}"${o.counter ? ` at counter ${o.counter}` : ''}: a test box is running.`,
        );
        console.log(`Point the device at ${hosts.map((h) => `mqtt://${h}:${port}`).join(' or ')}`);
        console.log(
          `(username "${o.id}", client id "${o.id}" or "${o.id}.<tag>", password: the secret you gave).`,
        );
      },
    });
  } finally {
    await close();
  }
}

/** The simulators `lobby sim` offers. Add yours here. */
export const SIMULATORS: SimRegistration[] = [registerDay, registerDevices, registerConform, registerOffice];

export function simCommand(extra: SimRegistration[] = []): Command {
  const sim = new Command('sim').description(
    "simulators: an office day, simulated devices, the vendor conformance kit, an office's hardware",
  );
  for (const register of [...SIMULATORS, ...extra]) register(sim);
  return sim;
}
