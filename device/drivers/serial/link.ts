// A byte stream to a device, chosen by config: a serial port, raw TCP, or a character device file. It
// reconnects with backoff when it drops, so a driver only sees `up`, `down` and `data`.
import { EventEmitter } from 'node:events';
import { open } from 'node:fs/promises';
import { connect } from 'node:net';
import { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { LinkConfig, ReconnectConfig } from './config.js';

/** What a driver writes to and reads from. */
export interface ByteLink {
  readonly isUp: boolean;
  /** Rejects with LinkDownError when the link is not up; resolves once the bytes are handed to the OS. */
  write(bytes: Uint8Array): Promise<void>;
  on(event: 'data', listener: (chunk: Buffer) => void): this;
  on(event: 'up', listener: () => void): this;
  on(event: 'down', listener: (reason: string) => void): this;
  off(event: string, listener: (...args: any[]) => void): this; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** Human-readable, for logs: `tcp 10.0.0.5:9100`. */
  readonly label: string;
  close(): Promise<void>;
}

export class LinkDownError extends Error {
  constructor(label: string) {
    super(`link ${label} is down`);
    this.name = 'LinkDownError';
  }
}

/** Opens the raw stream once; the link calls it again after a drop. */
export type StreamOpener = () => Promise<Duplex>;

export function describeLink(cfg: LinkConfig): string {
  if ('tcp' in cfg) return `tcp ${cfg.tcp}`;
  if ('file' in cfg) return `file ${cfg.file}`;
  return `serial ${cfg.path}@${cfg.baudRate}`;
}

export function openerFor(cfg: LinkConfig): StreamOpener {
  if ('tcp' in cfg) {
    const i = cfg.tcp.lastIndexOf(':');
    const host = cfg.tcp.slice(0, i);
    const port = Number(cfg.tcp.slice(i + 1));
    return () =>
      new Promise((resolve, reject) => {
        const s = connect({ host, port, noDelay: true });
        s.setKeepAlive(true, 5000);
        s.once('connect', () => {
          s.off('error', reject);
          resolve(s);
        });
        s.once('error', reject);
      });
  }
  if ('file' in cfg) return () => openDeviceFile(cfg.file);
  return async () => {
    // Loaded on first use: a box without serial hardware never loads the native binding.
    const { SerialPort } = await import('serialport');
    return openSerialPort(
      new SerialPort({
        path: cfg.path,
        baudRate: cfg.baudRate,
        dataBits: cfg.dataBits ?? 8,
        parity: cfg.parity ?? 'none',
        stopBits: cfg.stopBits ?? 1,
        autoOpen: false,
      }),
    );
  };
}

/** Opens a serialport instance (real or @serialport/binding-mock) as the link's stream. */
export function openSerialPort(
  port: Duplex & { open(cb: (err: Error | null) => void): void },
): Promise<Duplex> {
  return new Promise((resolve, reject) => port.open((err) => (err ? reject(err) : resolve(port))));
}

/** A character device (e.g. /dev/usb/lp0): writes go to it, whatever it answers is read back. */
async function openDeviceFile(path: string): Promise<Duplex> {
  const fh = await open(path, 'r+');
  const reader = fh.createReadStream({ autoClose: false });
  const stream = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      fh.write(chunk).then(
        () => cb(),
        (err: Error) => cb(err),
      );
    },
    destroy(err, cb) {
      reader.destroy();
      fh.close().then(
        () => cb(err),
        () => cb(err),
      );
    },
  });
  reader.on('data', (c) => stream.push(c));
  // End of file on a device means "nothing to say now", not "gone": a gone device fails its writes.
  reader.on('end', () => undefined);
  reader.on('error', (err) => stream.destroy(err));
  return stream;
}

/**
 * Keeps one stream open: on a drop it emits `down` and tries again after minMs, doubling up to maxMs.
 * Timers are plain setTimeout, so tests can drive them with fake timers.
 */
export class ReconnectingLink extends EventEmitter implements ByteLink {
  private stream: Duplex | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private attempt = 0;
  private readonly minMs: number;
  private readonly maxMs: number;

  constructor(
    private readonly opener: StreamOpener,
    readonly label: string,
    private readonly log: Logger,
    reconnect: ReconnectConfig = {},
  ) {
    super();
    this.minMs = reconnect.minMs ?? 500;
    this.maxMs = Math.max(this.minMs, reconnect.maxMs ?? 10_000);
  }

  get isUp(): boolean {
    return this.stream !== null;
  }

  /** Starts connecting; never throws: a missing device is logged and retried. */
  start(): this {
    void this.connect();
    return this;
  }

  private async connect(): Promise<void> {
    this.timer = null;
    if (this.closed) return;
    let s: Duplex;
    try {
      s = await this.opener();
    } catch (err) {
      const level = this.attempt === 0 ? 'warn' : 'debug';
      this.log[level]({ link: this.label, err: (err as Error).message }, 'link not available; retrying');
      this.retry();
      return;
    }
    if (this.closed) {
      s.destroy();
      return;
    }
    this.attempt = 0;
    this.stream = s;
    s.on('data', (chunk: Buffer) => this.emit('data', chunk));
    const lost = (why: string) => {
      if (this.stream !== s) return;
      this.stream = null;
      s.destroy();
      if (this.closed) return;
      this.log.warn({ link: this.label, reason: why }, 'link down; reconnecting');
      this.emit('down', why);
      this.retry();
    };
    s.on('error', (err: Error) => lost(err.message));
    s.on('close', () => lost('closed by the other end'));
    s.on('end', () => lost('closed by the other end'));
    this.log.info({ link: this.label }, 'link up');
    this.emit('up');
  }

  private retry(): void {
    if (this.closed || this.timer) return;
    const delay = Math.min(this.maxMs, this.minMs * 2 ** Math.min(this.attempt, 20));
    this.attempt++;
    this.timer = setTimeout(() => void this.connect(), delay);
  }

  write(bytes: Uint8Array): Promise<void> {
    const s = this.stream;
    if (!s) return Promise.reject(new LinkDownError(this.label));
    return new Promise((resolve, reject) => {
      s.write(bytes, (err) => (err ? reject(err) : resolve()));
    });
  }

  /** Drops the current stream as if the device had gone (e.g. it stopped answering); reconnects. */
  drop(reason: string): void {
    const s = this.stream;
    if (s) s.emit('error', new Error(reason));
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const s = this.stream;
    this.stream = null;
    if (s) {
      // Let written bytes (the end of a ticket) drain, but never hang on a peer that is gone.
      await new Promise<void>((r) => {
        const t = setTimeout(r, 500);
        s.end(() => {
          clearTimeout(t);
          r();
        });
      });
      s.destroy();
    }
    this.removeAllListeners();
  }
}

export function openLink(
  cfg: LinkConfig,
  log: Logger,
  reconnect?: ReconnectConfig,
  opener: StreamOpener = openerFor(cfg),
): ReconnectingLink {
  return new ReconnectingLink(opener, describeLink(cfg), log, reconnect).start();
}
