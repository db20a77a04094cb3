// The `sim` GPIO backend: the lines live in the GPIO simulator (hardware-sim/gpio), reached over a TCP or
// Unix socket with a line protocol (see README.md here). The simulator may start after the box, stop and
// come back: the chip reconnects and declares its lines again, and drivers see it as unavailable meanwhile.
import { connect, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { LineRegistry, type GpioChip, type InputLine, type LineOptions, type OutputLine } from './chip.js';

interface InputState {
  pin: number;
  activeLow: boolean;
  active: boolean;
  onChange: (active: boolean) => void;
}
interface OutputState {
  pin: number;
  activeLow: boolean;
  active: boolean;
}

/** `host:port` is TCP; anything else is a Unix socket path. */
export function socketAddress(address: string): { host: string; port: number } | { path: string } {
  const m = /^([^/]*):(\d{1,5})$/.exec(address);
  return m ? { host: m[1] || '127.0.0.1', port: Number(m[2]) } : { path: address };
}

const raw = (active: boolean, activeLow: boolean) => (active !== activeLow ? 1 : 0);

export class SimChip implements GpioChip {
  private readonly registry = new LineRegistry();
  private readonly inputs = new Map<number, InputState>();
  private readonly outputs = new Map<number, OutputState>();
  private readonly listeners = new Set<(up: boolean) => void>();
  private socket: Socket | undefined;
  private up = false;
  private closed = false;
  private retryMs = 250;
  private retryTimer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly address: string,
    private readonly log: Logger,
  ) {}

  /** Connects (one attempt is awaited; later ones run in the background until close). */
  static async connect(address: string, log: Logger): Promise<SimChip> {
    const chip = new SimChip(address, log);
    await chip.attempt();
    return chip;
  }

  private attempt(): Promise<void> {
    return new Promise((resolve) => {
      const socket = connect(socketAddress(this.address));
      socket.setNoDelay(true);
      let buffered = '';
      socket.once('connect', () => {
        this.socket = socket;
        this.retryMs = 250;
        this.send(`HELLO chip box`);
        for (const i of this.inputs.values()) this.send(`INPUT ${i.pin} ${i.activeLow ? 1 : 0}`);
        for (const o of this.outputs.values()) {
          this.send(`OUTPUT ${o.pin} ${o.activeLow ? 1 : 0}`);
          this.send(`WRITE ${o.pin} ${raw(o.active, o.activeLow)}`);
        }
        this.setUp(true);
        this.log.info({ address: this.address }, 'connected to the GPIO simulator');
        resolve();
      });
      socket.on('data', (chunk) => {
        buffered += chunk.toString('utf8');
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          this.received(buffered.slice(0, nl).trim());
          buffered = buffered.slice(nl + 1);
        }
      });
      socket.on('error', (err) => {
        if (this.up)
          this.log.warn({ err: err.message, address: this.address }, 'GPIO simulator connection error');
      });
      socket.on('close', () => {
        if (this.socket === socket) this.socket = undefined;
        if (this.up && !this.closed)
          this.log.warn({ address: this.address }, 'GPIO simulator gone; reconnecting');
        this.setUp(false);
        resolve();
        if (!this.closed) {
          this.retryTimer = setTimeout(() => void this.attempt(), this.retryMs);
          this.retryTimer.unref();
          this.retryMs = Math.min(this.retryMs * 2, 5000);
        }
      });
    });
  }

  private received(line: string): void {
    const [verb, a, b] = line.split(' ');
    if (verb === 'LEVEL') {
      const input = this.inputs.get(Number(a));
      if (!input) return;
      const active = (b === '1') !== input.activeLow;
      if (active === input.active) return;
      input.active = active;
      input.onChange(active);
    } else if (verb === 'ERR') {
      this.log.error({ message: line.slice(4) }, 'GPIO simulator refused a line');
    }
  }

  private send(line: string): void {
    this.socket?.write(line + '\n');
  }

  private setUp(up: boolean): void {
    if (this.up === up) return;
    this.up = up;
    for (const l of this.listeners) l(up);
  }

  async input(pin: number, opts: LineOptions, onChange: (active: boolean) => void): Promise<InputLine> {
    this.registry.claim(pin, opts.owner);
    const state: InputState = { pin, activeLow: opts.activeLow, active: false, onChange };
    this.inputs.set(pin, state);
    this.send(`INPUT ${pin} ${opts.activeLow ? 1 : 0}`);
    return {
      read: () => state.active,
      release: () => {
        if (this.inputs.get(pin) !== state) return;
        this.inputs.delete(pin);
        this.registry.free(pin);
        this.send(`FREE ${pin}`);
      },
    };
  }

  async output(pin: number, opts: LineOptions): Promise<OutputLine> {
    this.registry.claim(pin, opts.owner);
    const state: OutputState = { pin, activeLow: opts.activeLow, active: false };
    this.outputs.set(pin, state);
    this.send(`OUTPUT ${pin} ${opts.activeLow ? 1 : 0}`);
    return {
      write: (active) => {
        state.active = active;
        if (this.outputs.get(pin) === state) this.send(`WRITE ${pin} ${raw(active, opts.activeLow)}`);
      },
      release: () => {
        if (this.outputs.get(pin) !== state) return;
        this.outputs.delete(pin);
        this.registry.free(pin);
        this.send(`FREE ${pin}`);
      },
    };
  }

  onAvailability(listener: (up: boolean) => void): () => void {
    this.listeners.add(listener);
    listener(this.up);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    const s = this.socket;
    if (!s) return;
    await new Promise<void>((resolve) => {
      s.once('close', () => resolve());
      s.end();
    });
  }
}
