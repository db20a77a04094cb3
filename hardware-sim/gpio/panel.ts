// A panel on the GPIO simulator from another process (`lobby sim`, a test): presses buttons and watches
// the lines, over the simulator's socket.
import { EventEmitter } from 'node:events';
import { connect, type Socket } from 'node:net';
import type { LineMode, LineState } from './simulator.js';

export interface GpioPanelEvents {
  line: [LineState];
  error: [Error];
}

export class GpioPanel extends EventEmitter<GpioPanelEvents> {
  private readonly lines = new Map<number, LineState>();

  private constructor(private readonly socket: Socket) {
    super();
  }

  static connect(address: string): Promise<GpioPanel> {
    const m = /^([^/]*):(\d{1,5})$/.exec(address);
    const socket = connect(m ? { host: m[1] || '127.0.0.1', port: Number(m[2]) } : { path: address });
    socket.setNoDelay(true);
    const panel = new GpioPanel(socket);
    return new Promise((resolve, reject) => {
      let buffered = '';
      socket.once('error', reject);
      socket.on('data', (chunk) => {
        buffered += chunk.toString('utf8');
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl).trim();
          buffered = buffered.slice(nl + 1);
          if (line === 'HELLO gpio-sim 1') {
            socket.off('error', reject);
            socket.on('error', (e) => panel.emit('error', e));
            resolve(panel);
          } else panel.received(line);
        }
      });
      socket.write('HELLO panel\n');
    });
  }

  private received(line: string): void {
    const [verb, pin, mode, activeLow, level] = line.split(' ');
    if (verb === 'LINE') {
      const l: LineState = {
        pin: Number(pin),
        mode: mode as LineMode,
        activeLow: activeLow === '1',
        level: level === '1' ? 1 : 0,
      };
      this.lines.set(l.pin, l);
      this.emit('line', l);
    } else if (verb === 'ERR') this.emit('error', new Error(line.slice(4)));
  }

  /** The lines as last reported. */
  state(): LineState[] {
    return [...this.lines.values()].sort((a, b) => a.pin - b.pin);
  }

  line(pin: number): LineState | undefined {
    return this.lines.get(pin);
  }

  button(pin: number, pressed: boolean): void {
    this.socket.write(`BUTTON ${pin} ${pressed ? 'down' : 'up'}\n`);
  }

  /** Presses and releases a button after `holdMs` (a human press is some tens of ms; a long one a second). */
  async press(pin: number, holdMs = 80): Promise<void> {
    this.button(pin, true);
    await new Promise((r) => setTimeout(r, holdMs));
    this.button(pin, false);
  }

  /** Resolves once a line satisfies `test` (at once if it already does). */
  waitFor(pin: number, test: (l: LineState) => boolean, timeoutMs = 5000): Promise<LineState> {
    const now = this.lines.get(pin);
    if (now && test(now)) return Promise.resolve(now);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('line', on);
        reject(new Error(`GPIO ${pin} did not reach the expected state within ${timeoutMs} ms`));
      }, timeoutMs);
      const on = (l: LineState) => {
        if (l.pin !== pin || !test(l)) return;
        clearTimeout(timer);
        this.off('line', on);
        resolve(l);
      };
      this.on('line', on);
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.end();
    });
  }
}
