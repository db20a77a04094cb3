// Serial keypads and barcode scanners on a raw TCP byte stream (as ser2net or a serial-to-Ethernet converter
// would expose them): the box's driver connects, the simulated device types lines and reads the answers.
import { EventEmitter } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { listenTcp } from '../listen.js';

export interface LineDeviceSimOptions {
  port?: number;
  host?: string;
  /** Line ending the device sends: CR LF (default), CR or LF. */
  eol?: '\r\n' | '\r' | '\n';
}

export class LineDeviceSim extends EventEmitter {
  /** Lines the box sent back (keypads get `OK …` / `ERR …`). */
  readonly received: string[] = [];
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private listenPort = 0;
  private pending = '';

  constructor(protected readonly opts: LineDeviceSimOptions = {}) {
    super();
  }

  get port(): number {
    return this.listenPort;
  }

  get link(): { tcp: string } {
    return { tcp: `${this.opts.host ?? '127.0.0.1'}:${this.listenPort}` };
  }

  get connected(): boolean {
    return this.sockets.size > 0;
  }

  async start(): Promise<this> {
    const server = createServer((s) => {
      this.sockets.add(s);
      this.emit('connection');
      s.on('close', () => this.sockets.delete(s));
      s.on('error', () => undefined);
      s.on('data', (chunk: Buffer) => {
        this.pending += chunk.toString('latin1');
        let i: number;
        while ((i = this.pending.indexOf('\n')) >= 0) {
          const line = this.pending.slice(0, i).replace(/\r$/, '');
          this.pending = this.pending.slice(i + 1);
          this.received.push(line);
          this.emit('line', line);
        }
      });
    });
    this.server = server;
    this.listenPort = await listenTcp(server, this.opts.port, this.opts.host);
    return this;
  }

  /** Resolves once the box's driver is connected. */
  async connection(timeoutMs = 10_000): Promise<void> {
    if (this.connected) return;
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no driver connected within ${timeoutMs} ms`)), timeoutMs);
      this.once('connection', () => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** Sends one line with the device's line ending. */
  sendLine(text: string): void {
    this.sendRaw(Buffer.from(text + (this.opts.eol ?? '\r\n'), 'latin1'));
  }

  /** Sends raw bytes: noise, half lines, binary garbage. */
  sendRaw(bytes: Uint8Array): void {
    for (const s of this.sockets) s.write(bytes);
  }

  /** Resolves with the next line the box sends. */
  nextLine(timeoutMs = 10_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.off('line', on);
        reject(new Error(`no line from the box within ${timeoutMs} ms`));
      }, timeoutMs);
      const on = (line: string) => {
        clearTimeout(t);
        resolve(line);
      };
      this.once('line', on);
    });
  }

  /** Drops the connection (cable pulled); the driver reconnects. */
  unplug(): void {
    for (const s of this.sockets) s.destroy();
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

/** A counter keypad with a small display: `press('NEXT')` resolves with what the box answered. */
export class KeypadSim extends LineDeviceSim {
  async press(command: string, timeoutMs?: number): Promise<string> {
    const answer = this.nextLine(timeoutMs);
    this.sendLine(command);
    return answer;
  }
}

/** A barcode scanner: `scan(code)` sends the code as one line; `noise(bytes)` sends garbage. */
export class ScannerSim extends LineDeviceSim {
  scan(code: string): void {
    this.sendLine(code);
  }

  noise(bytes: Uint8Array): void {
    this.sendRaw(bytes);
  }
}

export async function startKeypadSim(opts: LineDeviceSimOptions = {}): Promise<KeypadSim> {
  return new KeypadSim(opts).start();
}

export async function startScannerSim(opts: LineDeviceSimOptions = {}): Promise<ScannerSim> {
  return new ScannerSim(opts).start();
}
