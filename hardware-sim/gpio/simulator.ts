// The GPIO simulator: the lines of a Raspberry Pi header behind a TCP or Unix socket. The box's `sim`
// GPIO backend connects as the `chip` (it claims inputs and drives outputs, as onoff does on a Pi); a
// `lobby sim` process or a test connects as a `panel` (it presses buttons and watches outputs such as
// the amplifier relay). The line protocol is in README.md. Usable in-process too: `sim.button(17, true)`.
import { EventEmitter } from 'node:events';
import { unlinkSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';

export type LineMode = 'in' | 'out' | 'free';

export interface LineState {
  pin: number;
  mode: LineMode;
  /** The wiring the box declared: active-low lines read 0 when pressed (or drive 0 to switch on). */
  activeLow: boolean;
  /** The electrical level, 0 or 1. */
  level: 0 | 1;
}

/** Logical view of a line: pressed (input) or on (output). */
export const isActive = (l: LineState) => (l.level === 1) !== l.activeLow;

interface Client {
  socket: Socket;
  role: 'chip' | 'panel' | 'unknown';
  /** Inputs this chip claimed: it is told their level changes. */
  claimed: Set<number>;
}

/** `host:port` is TCP; anything else is a Unix socket path. */
function listenTarget(address: string | number): number | string | { host: string; port: number } {
  if (typeof address === 'number') return address;
  const m = /^([^/]*):(\d{1,5})$/.exec(address);
  return m ? { host: m[1] || '127.0.0.1', port: Number(m[2]) } : address;
}

export interface GpioSimulatorEvents {
  /** A line changed mode or level (from either side). */
  line: [LineState];
}

export class GpioSimulator extends EventEmitter<GpioSimulatorEvents> {
  private readonly lines = new Map<number, LineState>();
  private readonly clients = new Set<Client>();

  private constructor(
    private readonly server: Server,
    /** Where chips and panels connect: `127.0.0.1:<port>` or the socket path. */
    readonly address: string,
  ) {
    super();
  }

  /** Listens on `host:port`, a port number (0: any free port, on 127.0.0.1) or a Unix socket path. */
  static async start(listen: string | number = 0): Promise<GpioSimulator> {
    const target = listenTarget(listen);
    if (typeof target === 'string') {
      try {
        unlinkSync(target); // a stale socket file from a previous run
      } catch {
        // none
      }
    }
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      if (typeof target === 'number') server.listen(target, '127.0.0.1', resolve);
      else if (typeof target === 'string') server.listen(target, resolve);
      else server.listen(target.port, target.host, resolve);
    });
    const a = server.address();
    const address = typeof a === 'string' ? a : `${(a as AddressInfo).address}:${(a as AddressInfo).port}`;
    const sim = new GpioSimulator(server, address);
    server.on('connection', (s) => sim.accept(s));
    return sim;
  }

  /** Every line the box has declared or a panel has touched. */
  state(): LineState[] {
    return [...this.lines.values()].sort((a, b) => a.pin - b.pin).map((l) => ({ ...l }));
  }

  line(pin: number): LineState | undefined {
    const l = this.lines.get(pin);
    return l && { ...l };
  }

  /** Presses (true) or lets go of (false) the button on a line, honouring its declared wiring. */
  button(pin: number, pressed: boolean): void {
    const l = this.ensure(pin);
    if (l.mode === 'out') throw new Error(`GPIO ${pin} is an output of the box; a button cannot drive it`);
    this.setLevel(l, pressed !== l.activeLow ? 1 : 0);
  }

  /** Sets the electrical level of an input line. */
  setLevel(lineOrPin: LineState | number, level: 0 | 1): void {
    const l = typeof lineOrPin === 'number' ? this.ensure(lineOrPin) : lineOrPin;
    if (l.level === level) return;
    l.level = level;
    this.changed(l);
  }

  async close(): Promise<void> {
    for (const c of this.clients) c.socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private ensure(pin: number): LineState {
    let l = this.lines.get(pin);
    if (!l) {
      // An undeclared line floats high through the Pi's pull-up, like an idle active-low button.
      l = { pin, mode: 'free', activeLow: true, level: 1 };
      this.lines.set(pin, l);
    }
    return l;
  }

  private changed(l: LineState): void {
    for (const c of this.clients) {
      if (c.role === 'chip' && c.claimed.has(l.pin)) this.send(c, `LEVEL ${l.pin} ${l.level}`);
      if (c.role === 'panel') this.send(c, describe(l));
    }
    this.emit('line', { ...l });
  }

  private send(c: Client, line: string): void {
    if (!c.socket.destroyed) c.socket.write(line + '\n');
  }

  private accept(socket: Socket): void {
    socket.setNoDelay(true);
    const c: Client = { socket, role: 'unknown', claimed: new Set() };
    this.clients.add(c);
    let buffered = '';
    socket.on('data', (chunk) => {
      buffered += chunk.toString('utf8');
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        if (line) this.command(c, line);
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.clients.delete(c);
      // The box went away: its lines are nobody's (levels stay, as a real line keeps its last value).
      for (const pin of c.claimed) {
        const l = this.lines.get(pin);
        if (l && l.mode !== 'free') {
          l.mode = 'free';
          this.changed(l);
        }
      }
    });
  }

  private command(c: Client, line: string): void {
    const [verb = '', ...args] = line.split(/\s+/);
    const pin = Number(args[0]);
    const bit = (s: string | undefined) => s === '1';
    const validPin = Number.isInteger(pin) && pin >= 0 && pin <= 1023;
    const err = (msg: string) => this.send(c, `ERR ${msg}`);
    switch (verb) {
      case 'HELLO': {
        c.role = args[0] === 'chip' ? 'chip' : 'panel';
        this.send(c, 'HELLO gpio-sim 1');
        if (c.role === 'panel') for (const l of this.state()) this.send(c, describe(l));
        return;
      }
      case 'INPUT':
      case 'OUTPUT': {
        if (c.role !== 'chip') return err(`${verb} is for the box (HELLO chip)`);
        if (!validPin) return err(`bad line number in "${line}"`);
        const l = this.ensure(pin);
        l.mode = verb === 'INPUT' ? 'in' : 'out';
        l.activeLow = bit(args[1]);
        c.claimed.add(pin);
        // Declared lines start inactive: a released button (its pull resistor), a relay off.
        l.level = l.activeLow ? 1 : 0;
        this.changed(l);
        if (l.mode === 'in') this.send(c, `LEVEL ${pin} ${l.level}`);
        return;
      }
      case 'WRITE': {
        const l = this.lines.get(pin);
        if (c.role !== 'chip' || !l || l.mode !== 'out')
          return err(`GPIO ${args[0]} is not an output of this box`);
        return this.setLevel(l, bit(args[1]) ? 1 : 0);
      }
      case 'FREE': {
        const l = this.lines.get(pin);
        c.claimed.delete(pin);
        if (l && l.mode !== 'free') {
          l.mode = 'free';
          this.changed(l);
        }
        return;
      }
      case 'BUTTON': {
        if (!validPin || (args[1] !== 'down' && args[1] !== 'up'))
          return err(`usage: BUTTON <pin> down|up, not "${line}"`);
        try {
          this.button(pin, args[1] === 'down');
        } catch (e) {
          err((e as Error).message);
        }
        return;
      }
      case 'SET': {
        if (!validPin || (args[1] !== '0' && args[1] !== '1'))
          return err(`usage: SET <pin> 0|1, not "${line}"`);
        const l = this.ensure(pin);
        if (l.mode === 'out') return err(`GPIO ${pin} is an output of the box`);
        return this.setLevel(l, bit(args[1]) ? 1 : 0);
      }
      case 'LIST':
        for (const l of this.state()) this.send(c, describe(l));
        return this.send(c, 'END');
      default:
        return err(`unknown command "${verb}"`);
    }
  }
}

/** `LINE <pin> <in|out|free> <activeLow 0|1> <level 0|1>`: what panels are told. */
function describe(l: LineState): string {
  return `LINE ${l.pin} ${l.mode} ${l.activeLow ? 1 : 0} ${l.level}`;
}
