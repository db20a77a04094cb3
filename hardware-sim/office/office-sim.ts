// A whole office's simulated hardware, started from a plan: a network printer per kiosk (each ticket
// written as PNG and text), the RS-485 buses with their LED boards (every frame in led.log), serial
// keypads and scanners, the GPIO header (buttons to press, the amplifier relay and lamps to watch) and the
// loudspeakers (a WAV file per call). What happens is reported as `activity`, one record per thing a
// person in the lobby would notice; the console (console.ts) and `lobby demo` print it.
import { EventEmitter } from 'node:events';
import { appendFileSync, mkdirSync, readdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LedShow } from '../../protocol/index.js';
import { AudioSink, type PlayedCall } from '../audio/sink.js';
import { GpioSimulator, isActive, type LineState } from '../gpio/simulator.js';
import { LedBusSim } from '../led/led-bus-sim.js';
import { PrinterSim, type PaperLevel } from '../printer/printer-sim.js';
import { KeypadSim, ScannerSim, type LineDeviceSim } from '../serial/line-device-sim.js';
import {
  parseHostPort,
  type GpioLinePlan,
  type LedBoardPlan,
  type LineDevicePlan,
  type OfficeHardwarePlan,
} from './plan.js';

/** Something a person in the lobby would notice. */
export type OfficeEvent =
  | { kind: 'ticket'; printer: string; number: number; png: string; text: string }
  | { kind: 'ticket-interrupted'; printer: string; reason: string }
  | { kind: 'led'; board: string; bus: string; address: number; show: LedShow }
  | { kind: 'relay'; peripheral: string; pin: number; on: boolean }
  | { kind: 'lamp'; peripheral: string; pin: number; on: boolean }
  | { kind: 'feedback'; peripheral: string; pin: number; flashes: number }
  | { kind: 'call'; announcers: string[]; call: PlayedCall; file: string }
  | { kind: 'serial'; device: string; line: string };

export type OfficeActivity = OfficeEvent & { at: Date };

export interface OfficeHardwareOptions {
  plan: OfficeHardwarePlan;
  /** Where tickets, led.log and the audio go. */
  outDir: string;
  /** Acknowledge each call only after its duration, like a speaker (default true). */
  realtimeAudio?: boolean;
  /** Keep only the newest n ticket and WAV files (default: all). */
  keepFiles?: number;
}

/** A file set written in order: numbered on from what the folder holds, the oldest removed past `keep`. */
class Rotation {
  private readonly files: string[][] = [];
  constructor(private readonly keep: number | undefined) {}
  add(group: string[]): void {
    this.files.push(group);
    while (this.keep !== undefined && this.files.length > this.keep)
      for (const f of this.files.shift() ?? []) rmQuietly(f);
  }
}

function rmQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // already gone
  }
}

/** The files in `dir` whose names match, oldest first. */
function existing(dir: string, re: RegExp): string[] {
  let names: string[] = [];
  try {
    names = readdirSync(dir).filter((n) => re.test(n));
  } catch {
    return [];
  }
  return names
    .map((n) => ({ n, t: statSync(join(dir, n)).mtimeMs }))
    .sort((a, b) => a.t - b.t || a.n.localeCompare(b.n))
    .map((x) => join(dir, x.n));
}

export class OfficeHardwareSim extends EventEmitter<{ activity: [OfficeActivity] }> {
  readonly printers = new Map<string, PrinterSim>();
  readonly buses = new Map<string, LedBusSim>();
  readonly keypads = new Map<string, KeypadSim>();
  readonly scanners = new Map<string, ScannerSim>();
  gpio: GpioSimulator | null = null;
  readonly sinks: AudioSink[] = [];
  /** Where each simulator listens, by the plan's keys (`printer:kiosk-1`, `bus:led-bus`, `gpio`, `audio:0`). */
  readonly addresses = new Map<string, string>();
  readonly ledLog: string;
  private readonly closers: (() => Promise<void>)[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly holding = new Set<number>();

  private constructor(private readonly o: OfficeHardwareOptions) {
    super();
    this.ledLog = join(o.outDir, 'led.log');
  }

  /** Starts every simulator of the plan; if one cannot listen, the others are closed and the error names it. */
  static async start(o: OfficeHardwareOptions): Promise<OfficeHardwareSim> {
    const sim = new OfficeHardwareSim(o);
    mkdirSync(o.outDir, { recursive: true });
    // The files are the record: the simulators' own in-memory histories are cut short now and then, so a
    // demo left running for days does not grow.
    const trim = setInterval(() => sim.trimHistories(), 30_000);
    trim.unref();
    sim.closers.push(async () => clearInterval(trim));
    try {
      for (const p of o.plan.printers)
        await sim.step(`the printer of ${p.id}`, p.listen, () => sim.startPrinter(p));
      for (const b of o.plan.ledBuses)
        await sim.step(`the LED bus ${b.id}`, b.listen, () => sim.startBus(b.id, b.listen, b.boards));
      for (const d of o.plan.lineDevices)
        await sim.step(`the serial ${d.kind} ${d.id}`, d.listen, () => sim.startLineDevice(d));
      const gpio = o.plan.gpio;
      if (gpio)
        await sim.step('the GPIO simulator', gpio.listen, () => sim.startGpio(gpio.listen, gpio.lines));
      for (const [i, a] of o.plan.audio.entries())
        await sim.step('the loudspeakers', a.listen, () => sim.startAudio(i, a.listen, a.announcers));
    } catch (e) {
      await sim.close();
      throw e;
    }
    return sim;
  }

  private async step(what: string, listen: string, start: () => Promise<void>): Promise<void> {
    try {
      await start();
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      const why = err.code === 'EADDRINUSE' ? 'the address is in use' : err.message;
      throw Object.assign(new Error(`cannot start ${what} on ${listen}: ${why}`), { code: err.code });
    }
  }

  private report(e: OfficeEvent): void {
    this.emit('activity', { ...e, at: new Date() });
  }

  private tcp(listen: string): { host: string; port: number } {
    const hp = parseHostPort(listen);
    if (!hp) throw new Error(`"${listen}" is not host:port`);
    return hp;
  }

  // ---- printers ------------------------------------------------------------------------------------

  private async startPrinter(p: OfficeHardwareOptions['plan']['printers'][number]): Promise<void> {
    const printer = await new PrinterSim({
      ...this.tcp(p.listen),
      dots: p.dots,
      codepages: p.codepages,
    }).start();
    this.printers.set(p.id, printer);
    this.closers.push(() => printer.close());
    this.addresses.set(`printer:${p.id}`, printer.link.tcp);
    const dir = join(this.o.outDir, `printer-${p.id}`);
    mkdirSync(dir, { recursive: true });
    const before = existing(dir, /^ticket-\d+\.png$/);
    const rotation = new Rotation(this.o.keepFiles);
    for (const f of before) rotation.add([f, f.replace(/\.png$/, '.txt')]);
    // Numbering goes on from the tickets already in the folder: a restarted demo keeps its earlier ones.
    let n = Math.max(0, ...before.map((f) => Number(/ticket-(\d+)\.png$/.exec(f)?.[1] ?? 0)));
    printer.on('ticket', (t: { png: Buffer; text: string }) => {
      n += 1;
      const base = join(dir, `ticket-${String(n).padStart(4, '0')}`);
      writeFileSync(`${base}.png`, t.png);
      writeFileSync(`${base}.txt`, t.text + '\n');
      rotation.add([`${base}.png`, `${base}.txt`]);
      printer.tickets.splice(0); // 60 kB of raster each
      this.report({ kind: 'ticket', printer: p.id, number: n, png: `${base}.png`, text: `${base}.txt` });
    });
    printer.on('interrupted', (reason: string) =>
      this.report({ kind: 'ticket-interrupted', printer: p.id, reason }),
    );
  }

  /** Paper level of a kiosk's printer (`near_end`, `out`, `ok`). */
  setPaper(printer: string, level: PaperLevel): void {
    this.printer(printer).setPaper(level);
  }

  setCoverOpen(printer: string, open: boolean): void {
    this.printer(printer).setCoverOpen(open);
  }

  private printer(id: string): PrinterSim {
    const p = this.printers.get(id);
    if (!p)
      throw new Error(
        `no simulated printer "${id}" (printers: ${[...this.printers.keys()].join(', ') || 'none'})`,
      );
    return p;
  }

  // ---- LED boards ----------------------------------------------------------------------------------

  private async startBus(id: string, listen: string, boards: LedBoardPlan[]): Promise<void> {
    const bus = await new LedBusSim({ ...this.tcp(listen), boards }).start();
    this.buses.set(id, bus);
    this.closers.push(() => bus.close());
    this.addresses.set(`bus:${id}`, bus.link.tcp);
    const byAddress = new Map(boards.map((b) => [b.address, b.id]));
    bus.on('show', (address: number, show: LedShow) => {
      const board = byAddress.get(address) ?? `#${address}`;
      appendFileSync(
        this.ledLog,
        `${new Date().toISOString()} ${board} (${id} #${address}) ${describeShow(show)}\n`,
      );
      this.report({ kind: 'led', board, bus: id, address, show });
    });
  }

  /** What each board shows now, by board id. */
  ledBoards(): { board: string; bus: string; address: number; show: LedShow | null }[] {
    const out = [];
    for (const [busId, bus] of this.buses)
      for (const b of bus.boards.values()) {
        const plan = this.o.plan.ledBuses
          .find((x) => x.id === busId)
          ?.boards.find((x) => x.address === b.address);
        out.push({ board: plan?.id ?? `#${b.address}`, bus: busId, address: b.address, show: b.display });
      }
    return out;
  }

  // ---- serial keypads and scanners -----------------------------------------------------------------

  private async startLineDevice(d: LineDevicePlan): Promise<void> {
    const dev: LineDeviceSim =
      d.kind === 'keypad'
        ? await new KeypadSim(this.tcp(d.listen)).start()
        : await new ScannerSim(this.tcp(d.listen)).start();
    if (dev instanceof KeypadSim) this.keypads.set(d.id, dev);
    else this.scanners.set(d.id, dev as ScannerSim);
    this.closers.push(() => dev.close());
    this.addresses.set(`${d.kind}:${d.id}`, dev.link.tcp);
    dev.on('line', (line: string) => this.report({ kind: 'serial', device: d.id, line }));
  }

  /** Types a line on a serial keypad (`NEXT`, `CALL A012`); the box's answer comes as `serial` activity. */
  keypadLine(id: string, line: string): void {
    const k = this.keypads.get(id);
    if (!k)
      throw new Error(
        `no simulated serial keypad "${id}" (keypads: ${[...this.keypads.keys()].join(', ') || 'none'})`,
      );
    if (!k.connected) throw new Error(`${id}: the box has not connected to this keypad (yet)`);
    k.sendLine(line);
  }

  scan(id: string, code: string): void {
    const s = this.scanners.get(id);
    if (!s)
      throw new Error(
        `no simulated scanner "${id}" (scanners: ${[...this.scanners.keys()].join(', ') || 'none'})`,
      );
    if (!s.connected) throw new Error(`${id}: the box has not connected to this scanner (yet)`);
    s.scan(code);
  }

  // ---- GPIO ----------------------------------------------------------------------------------------

  private async startGpio(listen: string, lines: GpioLinePlan[]): Promise<void> {
    const gpio = await GpioSimulator.start(listen);
    this.gpio = gpio;
    this.closers.push(() => gpio.close());
    this.addresses.set('gpio', gpio.address);
    const byPin = new Map(lines.map((l) => [l.pin, l]));
    const known = new Map<number, boolean>();
    const flashes = new Map<number, { count: number; timer: NodeJS.Timeout | null }>();
    gpio.on('line', (l: LineState) => {
      const plan = byPin.get(l.pin);
      if (!plan || l.mode !== 'out' || plan.use === 'button') return;
      const on = isActive(l);
      const before = known.get(l.pin);
      known.set(l.pin, on);
      // The box declaring its outputs (off) is not news; a change is.
      if (before === undefined || before === on) return;
      if (plan.use === 'feedback') {
        if (!on) return;
        // Flashes come in groups (1 = done, 3 = refused): report the group once it is over.
        const f = flashes.get(l.pin) ?? { count: 0, timer: null };
        flashes.set(l.pin, f);
        f.count += 1;
        if (f.timer) this.clearTimer(f.timer);
        f.timer = this.setTimer(() => {
          this.report({ kind: 'feedback', peripheral: plan.peripheral, pin: l.pin, flashes: f.count });
          f.count = 0;
          f.timer = null;
        }, 600);
        return;
      }
      if (plan.use === 'relay' || plan.use === 'lamp')
        this.report({ kind: plan.use, peripheral: plan.peripheral, pin: l.pin, on });
    });
  }

  /** What is wired to each GPIO line. */
  gpioLines(): GpioLinePlan[] {
    return this.o.plan.gpio?.lines ?? [];
  }

  /** The GPIO lines wired to buttons. */
  buttons(): GpioLinePlan[] {
    return this.gpioLines().filter((l) => l.use === 'button');
  }

  /**
   * Presses a button on a GPIO peripheral by its action (`next`), its long-press action (`recall`: held
   * past longPressMs), its score (`4`) or its pin, and lets go. Resolves once released, with what was done.
   */
  async press(peripheral: string, button: string, holdMs?: number): Promise<string> {
    const gpio = this.gpio;
    if (!gpio) throw new Error('this office has no simulated GPIO');
    const lines = this.buttons().filter((l) => l.peripheral === peripheral);
    if (lines.length === 0) {
      const ids = [...new Set(this.buttons().map((l) => l.peripheral))];
      throw new Error(`no GPIO buttons for "${peripheral}" (${ids.join(', ') || 'none'})`);
    }
    const short = lines.find((l) => l.button === button || String(l.pin) === button);
    const long = short ? undefined : lines.find((l) => l.longPress === button);
    const line = short ?? long;
    if (!line) {
      const names = lines.flatMap((l) => [l.button, l.longPress].filter(Boolean));
      throw new Error(`${peripheral} has no "${button}" button (${names.join(', ')})`);
    }
    // A short press is held a few debounce periods; a long one past the long-press time.
    const hold =
      holdMs ?? (long ? (line.longPressMs ?? 1000) + 200 : Math.max(150, (line.debounceMs ?? 30) * 4));
    if (this.holding.has(line.pin)) throw new Error(`GPIO ${line.pin} is already being pressed`);
    this.holding.add(line.pin);
    try {
      gpio.button(line.pin, true);
      await new Promise<void>((r) => this.setTimer(r, hold));
      gpio.button(line.pin, false);
    } finally {
      this.holding.delete(line.pin);
    }
    const held = line.longPress !== undefined && hold >= (line.longPressMs ?? 1000);
    return `${peripheral}: ${held ? `held ${line.button} for ${hold} ms (${line.longPress})` : `pressed ${line.button}`} on GPIO ${line.pin}`;
  }

  // ---- loudspeakers --------------------------------------------------------------------------------

  private async startAudio(i: number, listen: string, announcers: string[]): Promise<void> {
    const dir = join(this.o.outDir, this.o.plan.audio.length > 1 ? `audio-${i + 1}` : 'audio');
    const rotation = new Rotation(this.o.keepFiles);
    for (const f of existing(dir, /\.wav$/)) rotation.add([f]);
    const sink = await AudioSink.start({ dir, listen, realtime: this.o.realtimeAudio ?? true });
    this.sinks.push(sink);
    this.closers.push(() => sink.close());
    this.addresses.set(`audio:${i}`, sink.address);
    sink.on('played', (call) => {
      const file = join(dir, call.file);
      rotation.add([file]);
      this.report({ kind: 'call', announcers, call, file });
    });
  }

  // ---- lifecycle -----------------------------------------------------------------------------------

  private trimHistories(): void {
    const keep = <T>(list: T[], n: number) => {
      if (list.length > n) list.splice(0, list.length - n);
    };
    for (const p of this.printers.values()) keep(p.interrupted, 20);
    for (const bus of this.buses.values()) {
      keep(bus.wire, 200);
      for (const b of bus.boards.values()) keep(b.history, 20);
    }
    for (const d of [...this.keypads.values(), ...this.scanners.values()]) keep(d.received, 100);
    for (const sink of this.sinks) keep(sink.played, 100);
  }

  private setTimer(f: () => void, ms: number): NodeJS.Timeout {
    const t = setTimeout(() => {
      this.timers.delete(t);
      f();
    }, ms);
    this.timers.add(t);
    return t;
  }

  private clearTimer(t: NodeJS.Timeout): void {
    clearTimeout(t);
    this.timers.delete(t);
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const c of this.closers.splice(0).reverse()) await c().catch(() => undefined);
  }
}

/** `Quay 3 | C012`, with `[blink]`, `[blank]` and the brightness when it is not full. */
export function describeShow(show: LedShow): string {
  const flags = [
    show.blink ? '[blink]' : '',
    show.blank ? '[blank]' : '',
    show.brightness < 100 ? `[${show.brightness}%]` : '',
  ].filter(Boolean);
  return [show.lines.join(' | ') || '(empty)', ...flags].join(' ');
}
