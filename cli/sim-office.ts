// `lobby sim office`: the simulated hardware of a whole office, started from the box's own config. Each
// simulator listens on the address the config's drivers connect to (a `{tcp: host:port}` link on this
// machine, the `sim` GPIO backend's address, a `sim` voice player's address), so a box run with the same
// config finds them: `lobby device -c office.yaml` in one terminal, `lobby sim office -c office.yaml` in
// another. hardware-sim/ imports only protocol/, so reading the box config lives here.
import { networkInterfaces } from 'node:os';
import { resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { loadConfigFile } from '../device/config/load.js';
import type { BoxConfig } from '../device/config/schema.js';
import type {
  EscposDriverConfig,
  LedRs485DriverConfig,
  LinkConfig,
} from '../device/drivers/serial/config.js';
import type { GpioKeypadDriver, GpioRatingDriver, VoiceDriver } from '../device/drivers/gpio/config.js';
import {
  OfficeHardwareSim,
  activityPrinter,
  attachConsole,
  hardwareCommands,
  isEmptyPlan,
  parseHostPort,
  shortPath,
  type ConsoleCommands,
  type GpioLinePlan,
  type OfficeHardwarePlan,
} from '../hardware-sim/office/index.js';
import {
  describeReceived,
  loadCredentials,
  simDeviceFor,
  SimKiosk,
  type AnySimDevice,
} from '../hardware-sim/mqtt/index.js';
import { PRIORITY_REASONS, type PriorityReason } from '../protocol/index.js';
import type { SimRegistration } from './sim.js';

type ConfigPath = (string | number)[];

export interface OfficeHardwareFromConfig {
  plan: OfficeHardwarePlan;
  /** Hardware the config drives that no simulator stands in for (a serial port, the Pi's own GPIO). */
  notSimulated: string[];
  /** Where in the config each planned address is written, by the plan's keys. */
  paths: Map<string, ConfigPath[]>;
}

/** Is `host` this machine (so a simulator can listen there)? */
export function isLocalHost(host: string): boolean {
  if (['localhost', '0.0.0.0', '::', '::1'].includes(host) || host.startsWith('127.')) return true;
  return Object.values(networkInterfaces())
    .flat()
    .some((a) => a?.address === host);
}

const DOTS = { '58mm': 384, '80mm': 576 } as const;

/** The simulators a box config needs, and where each listens. */
export function officeHardwareFromConfig(config: BoxConfig): OfficeHardwareFromConfig {
  const plan: OfficeHardwarePlan = { printers: [], ledBuses: [], lineDevices: [], gpio: null, audio: [] };
  const notSimulated: string[] = [];
  const paths = new Map<string, ConfigPath[]>();
  const at = (key: string, path: ConfigPath) => paths.set(key, [...(paths.get(key) ?? []), path]);

  /** A TCP link on this machine, or why it is not simulated. */
  const tcpHere = (link: LinkConfig, what: string): string | null => {
    if (!('tcp' in link)) {
      notSimulated.push(`${what}: ${'path' in link ? link.path : link.file} (real hardware)`);
      return null;
    }
    const hp = parseHostPort(link.tcp);
    if (!hp || !isLocalHost(hp.host)) {
      notSimulated.push(`${what}: ${link.tcp} is not on this machine (a real device?)`);
      return null;
    }
    return link.tcp;
  };

  const buses = config.hardware?.serial?.buses ?? [];
  buses.forEach((b, i) => {
    const listen = tcpHere(b.link, `LED bus ${b.id}`);
    if (!listen) return;
    plan.ledBuses.push({ id: b.id, listen, boards: [] });
    at(`bus:${b.id}`, ['hardware', 'serial', 'buses', i, 'link', 'tcp']);
  });

  const gpioLines: GpioLinePlan[] = [];
  const audio = new Map<string, { announcers: string[]; paths: ConfigPath[] }>();
  config.peripherals.forEach((p, i) => {
    const d = p.driver;
    if (!d) return;
    const linkPath: ConfigPath = ['peripherals', i, 'driver', 'link', 'tcp'];
    switch (d.kind) {
      case 'escpos': {
        const e = d as EscposDriverConfig;
        const listen = tcpHere(e.link, `printer of ${p.id}`);
        if (!listen) return;
        const codepages = e.codepages
          ? Object.fromEntries(Object.entries(e.codepages).map(([name, n]) => [n, name]))
          : undefined;
        plan.printers.push({ id: p.id, listen, dots: e.dots ?? DOTS[e.paper ?? '80mm'], codepages });
        at(`printer:${p.id}`, linkPath);
        return;
      }
      case 'led-rs485': {
        const l = d as LedRs485DriverConfig;
        const bus = plan.ledBuses.find((b) => b.id === l.bus);
        if (bus)
          bus.boards.push({
            id: p.id,
            address: l.address,
            columns: l.columns,
            lines: l.lines,
            glyphs: l.glyphs ?? 'ascii',
          });
        return;
      }
      case 'serial-keypad':
      case 'serial-scanner':
      case 'serial-lookup-scanner': {
        const kind = d.kind === 'serial-keypad' ? 'keypad' : 'scanner';
        const listen = tcpHere(d.link, `serial ${kind} ${p.id}`);
        if (!listen) return;
        plan.lineDevices.push({ id: p.id, kind, listen, counter: p.counter });
        at(`${kind}:${p.id}`, linkPath);
        return;
      }
      case 'gpio-keypad': {
        const k = d as GpioKeypadDriver;
        for (const b of k.buttons)
          gpioLines.push({
            pin: b.pin,
            peripheral: p.id,
            use: 'button',
            button: b.action,
            longPress: b.longPress,
            longPressMs: k.longPressMs ?? 1000,
            debounceMs: k.debounceMs ?? 30,
          });
        if (k.feedback) gpioLines.push({ pin: k.feedback.pin, peripheral: p.id, use: 'feedback' });
        return;
      }
      case 'gpio-rating': {
        const r = d as GpioRatingDriver;
        for (const b of r.buttons)
          gpioLines.push({
            pin: b.pin,
            peripheral: p.id,
            use: 'button',
            button: String(b.score),
            debounceMs: r.debounceMs ?? 30,
          });
        if (r.sessionLamp) gpioLines.push({ pin: r.sessionLamp.pin, peripheral: p.id, use: 'lamp' });
        if (r.feedback) gpioLines.push({ pin: r.feedback.pin, peripheral: p.id, use: 'feedback' });
        return;
      }
      case 'voice': {
        const v = d as VoiceDriver;
        if (v.amplifier) gpioLines.push({ pin: v.amplifier.pin, peripheral: p.id, use: 'relay' });
        const player = v.player ?? { kind: 'aplay' };
        if (player.kind !== 'sim') {
          notSimulated.push(`voice of ${p.id}: plays through aplay (the sound card)`);
          return;
        }
        const hp = parseHostPort(player.address);
        if (hp && !isLocalHost(hp.host)) {
          notSimulated.push(`voice of ${p.id}: ${player.address} is not on this machine`);
          return;
        }
        const a = audio.get(player.address) ?? { announcers: [], paths: [] };
        a.announcers.push(p.id);
        a.paths.push(['peripherals', i, 'driver', 'player', 'address']);
        audio.set(player.address, a);
        return;
      }
    }
  });
  for (const [listen, a] of audio) {
    at(`audio:${plan.audio.length}`, a.paths[0] as ConfigPath);
    for (const extra of a.paths.slice(1)) at(`audio:${plan.audio.length}`, extra);
    plan.audio.push({ listen, announcers: a.announcers });
  }

  const gpio = config.hardware?.gpio;
  if (gpio?.backend === 'sim') {
    const hp = parseHostPort(gpio.address);
    if (hp && !isLocalHost(hp.host)) notSimulated.push(`GPIO: ${gpio.address} is not on this machine`);
    else {
      plan.gpio = { listen: gpio.address, lines: gpioLines };
      at('gpio', ['hardware', 'gpio', 'address']);
    }
  } else if (gpio && gpioLines.length > 0) notSimulated.push(`GPIO: ${gpio.backend} (the board's own lines)`);
  return { plan, notSimulated, paths };
}

/**
 * Where the config must change for the box to find the simulators where they really listen (a free
 * port, a moved one): each config path whose value differs from the simulator's address.
 */
export function addressChanges(
  config: BoxConfig,
  paths: Map<string, ConfigPath[]>,
  addresses: Map<string, string>,
): { path: ConfigPath; value: string }[] {
  const changes: { path: ConfigPath; value: string }[] = [];
  for (const [key, value] of addresses)
    for (const path of paths.get(key) ?? []) {
      let v: unknown = config;
      for (const k of path) v = (v as Record<string | number, unknown> | undefined)?.[k];
      if (v !== value) changes.push({ path, value });
    }
  return changes;
}

/** What each simulator is, where it listens and where its output goes, one line each. */
export function describeOfficeHardware(
  sim: OfficeHardwareSim,
  plan: OfficeHardwarePlan,
  outDir: string,
): string {
  const rows: string[] = [];
  const out = (p: string) => shortPath(resolve(outDir, p));
  for (const p of plan.printers)
    rows.push(
      `  Ticket printer of ${p.id.padEnd(14)} tcp ${sim.addresses.get(`printer:${p.id}`)} → PNG + text per ticket in ${out(`printer-${p.id}`)}/`,
    );
  for (const b of plan.ledBuses)
    rows.push(
      `  LED bus ${b.id.padEnd(24)} tcp ${sim.addresses.get(`bus:${b.id}`)} → ${b.boards.length} board${b.boards.length === 1 ? '' : 's'} (${b.boards.map((x) => `${x.id} #${x.address}`).join(', ')}); every frame in ${out('led.log')}`,
    );
  for (const d of plan.lineDevices)
    rows.push(
      `  Serial ${d.kind} ${d.id.padEnd(18 - d.kind.length)} tcp ${sim.addresses.get(`${d.kind}:${d.id}`)}`,
    );
  if (plan.gpio) {
    const who = [...new Set(plan.gpio.lines.map((l) => l.peripheral))];
    rows.push(
      `  GPIO header${' '.repeat(22)} ${sim.addresses.get('gpio')} → ${who.join(', ') || 'no lines yet'}`,
    );
  }
  plan.audio.forEach((a, i) =>
    rows.push(
      `  Loudspeakers (${a.announcers.join(', ')})`.padEnd(35) +
        ` ${sim.addresses.get(`audio:${i}`)} → a WAV per call and calls.log in ${out(plan.audio.length > 1 ? `audio-${i + 1}` : 'audio')}/`,
    ),
  );
  return rows.join('\n');
}

/** `ticket <service>`: a citizen at an MQTT kiosk, whose ticket the box prints on the kiosk's printer. */
export function ticketCommand(kiosk: SimKiosk): ConsoleCommands {
  return {
    ticket: {
      usage: 'ticket <service> [priority]',
      get help() {
        return `take a ticket at ${kiosk.id} (${[...kiosk.services.keys()].join(', ') || 'a service id'}); priority: ${PRIORITY_REASONS.join(', ')}`;
      },
      run: async ([service, priority]) => {
        if (!service) throw new Error('usage: ticket <service> [priority]');
        if (priority !== undefined && !(PRIORITY_REASONS as readonly string[]).includes(priority))
          throw new Error(`priority: one of ${PRIORITY_REASONS.join(', ')}`);
        const reply = await kiosk.requestTicket(service, { priority: (priority as PriorityReason) ?? null });
        if (reply.status !== 'ok')
          return `${kiosk.id}: refused: ${reply.error?.code} ${reply.error?.message?.en ?? ''}`;
        const t = reply.data?.ticket as { number?: string; serviceName?: string; ahead?: number } | undefined;
        return `${kiosk.id}: ticket ${t?.number} (${t?.serviceName}), ${t?.ahead ?? 0} ahead`;
      },
    },
  };
}

interface OfficeOpts {
  config: string;
  out: string;
  keep?: number;
  realtimeAudio: boolean;
  console: boolean;
  credentials?: string;
  host?: string;
  port?: number;
  only?: string;
}

export const registerOffice: SimRegistration = (sim: Command) => {
  sim
    .command('office')
    .alias('hardware')
    .description(
      "the simulated hardware of a whole office, from the box's config: a printer per kiosk, the LED bus, serial keypads and scanners, GPIO buttons and the amplifier relay, the loudspeakers; each listens where the config's drivers connect (Ctrl+C to stop)",
    )
    .requiredOption('-c, --config <file>', 'the box config (the same file the box runs with)')
    .option('-o, --out <dir>', 'where tickets (PNG), led.log and the WAV files go', './sim-office')
    .option('--keep <n>', 'keep only the newest n tickets and WAV files', (v: string) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive whole number');
      return n;
    })
    .option('--no-realtime-audio', 'acknowledge each call at once instead of after its duration')
    .option('--no-console', 'do not read commands from stdin')
    .option('--credentials <file>', 'also run the MQTT-native simulated devices of this credentials file')
    .option('--host <host>', "with --credentials: the box's address", '127.0.0.1')
    .option(
      '--port <port>',
      "with --credentials: the box's MQTT port (default: broker.port of the config)",
      (v: string) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 1 || n > 65535)
          throw new InvalidArgumentError('must be a port number');
        return n;
      },
    )
    .option('--only <ids>', 'with --credentials: only these device ids (comma-separated)')
    .action(async (o: OfficeOpts) => {
      await runSimOffice(o);
    });
};

async function runSimOffice(o: OfficeOpts): Promise<void> {
  const config = loadConfigFile(o.config);
  const { plan, notSimulated } = officeHardwareFromConfig(config);
  if (isEmptyPlan(plan))
    throw new InvalidArgumentError(
      `nothing to simulate in ${o.config}: no driver connects to this machine ({tcp: 127.0.0.1:…} links, hardware.gpio {backend: sim}, voice player {kind: sim}); see hardware-sim/README.md`,
    );
  const sim = await OfficeHardwareSim.start({
    plan,
    outDir: o.out,
    realtimeAudio: o.realtimeAudio,
    keepFiles: o.keep,
  });
  sim.on(
    'activity',
    activityPrinter((line) => console.log(line)),
  );
  console.log(`Simulated hardware of ${config.office.name} (from ${o.config}):`);
  console.log(describeOfficeHardware(sim, plan, o.out));
  if (notSimulated.length) console.log(`Not simulated:\n${notSimulated.map((s) => `  ${s}`).join('\n')}`);

  const devices: AnySimDevice[] = [];
  const commands = hardwareCommands(sim);
  try {
    if (o.credentials) {
      const only = o.only?.split(',').map((s) => s.trim());
      const url = `mqtt://${o.host ?? '127.0.0.1'}:${o.port ?? config.broker.port}`;
      for (const c of loadCredentials(o.credentials).filter((c) => !only || only.includes(c.id))) {
        const d = simDeviceFor(c, url, { tag: 'sim' });
        d.on('message', (m: { topic: string; body: unknown }) => {
          const line = describeReceived(d, m.topic, m.body);
          if (line) console.log(`[${d.id}] ${line}`);
        });
        await d.connect();
        devices.push(d);
        if (d instanceof SimKiosk && !commands.ticket) Object.assign(commands, ticketCommand(d));
      }
      console.log(`MQTT devices on ${url}: ${devices.map((d) => d.id).join(', ') || 'none'}`);
    }
  } catch (e) {
    await Promise.all(devices.map((d) => d.close()));
    await sim.close();
    throw e;
  }
  let detach = () => undefined as void;
  if (o.console) {
    console.log('Type help for the commands (press a button, type on a keypad, scan, run out of paper).');
    detach = attachConsole(commands, process.stdin, (t) => console.log(t));
  }
  await new Promise<void>((done) => {
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
  detach();
  await Promise.all(devices.map((d) => d.close()));
  await sim.close();
}
