// One RS-485 bus: half duplex, one frame on the wire at a time, each answered by the addressed board (ACK or
// NAK) or by silence. Frames are resent after a timeout, a garbled reply or a NAK busy.
import type { Logger } from 'pino';
import {
  LedCommand,
  LedFrameDecoder,
  LedNakReason,
  encodeLedFrame,
  type LedFrame,
} from '../../../../protocol/index.js';
import type { ByteLink } from '../link.js';

export type Transaction =
  | { ok: true; payload: Uint8Array; attempts: number }
  | { ok: false; reason: 'timeout' | 'nak' | 'link_down'; nak?: number; attempts: number };

export interface BusStats {
  frames: number;
  retries: number;
  timeouts: number;
  naks: number;
  /** Bytes dropped by the decoder: noise, bad CRCs. */
  garbage: number;
  badCrc: number;
}

export interface BusTiming {
  replyTimeoutMs: number;
  retries: number;
}

export class Rs485Bus {
  readonly stats: BusStats = { frames: 0, retries: 0, timeouts: 0, naks: 0, garbage: 0, badCrc: 0 };
  private readonly decoder = new LedFrameDecoder();
  private seq = 0;
  private chain: Promise<unknown> = Promise.resolve();
  private waiting: { address: number; seq: number; done: (f: LedFrame | null) => void } | null = null;

  constructor(
    readonly id: string,
    readonly link: ByteLink,
    private readonly timing: BusTiming,
    private readonly log: Logger,
  ) {
    link.on('data', (chunk) => this.onData(chunk));
    link.on('down', () => {
      this.decoder.reset();
      this.waiting?.done(null);
    });
  }

  private onData(chunk: Buffer): void {
    for (const ev of this.decoder.push(chunk)) {
      if (ev.kind === 'garbage') {
        this.stats.garbage += ev.bytes;
        if (ev.reason === 'bad_crc') this.stats.badCrc++;
        continue;
      }
      const f = ev.frame;
      const w = this.waiting;
      if (f.command !== LedCommand.ack && f.command !== LedCommand.nak) continue; // a request echoed on the bus
      if (!w || f.address !== w.address || f.seq !== w.seq) {
        this.log.debug({ bus: this.id, address: f.address, seq: f.seq }, 'late or stray reply ignored');
        continue;
      }
      w.done(f);
    }
  }

  /** Sends a command to a board and waits for its answer, resending up to `retries` times. */
  transact(
    address: number,
    command: number,
    payload: Uint8Array,
    retries = this.timing.retries,
  ): Promise<Transaction> {
    const run = async (): Promise<Transaction> => {
      let attempts = 0;
      let last: Transaction = { ok: false, reason: 'timeout', attempts };
      while (attempts <= retries) {
        if (attempts > 0) this.stats.retries++;
        attempts++;
        if (!this.link.isUp) return { ok: false, reason: 'link_down', attempts };
        const reply = await this.once(address, command, payload);
        if (reply === null) {
          this.stats.timeouts++;
          last = { ok: false, reason: this.link.isUp ? 'timeout' : 'link_down', attempts };
          continue;
        }
        if (reply.command === LedCommand.ack) return { ok: true, payload: reply.payload, attempts };
        this.stats.naks++;
        const nak = reply.payload[0] ?? 0;
        last = { ok: false, reason: 'nak', nak, attempts };
        if (nak !== LedNakReason.busy) return last; // the board will refuse this frame again
      }
      return last;
    };
    const next = this.chain.then(run, run);
    this.chain = next.catch(() => undefined);
    return next;
  }

  private once(address: number, command: number, payload: Uint8Array): Promise<LedFrame | null> {
    const seq = (this.seq = (this.seq + 1) & 0xff);
    return new Promise((resolve) => {
      const done = (f: LedFrame | null) => {
        if (this.waiting?.done !== done) return;
        this.waiting = null;
        clearTimeout(timer);
        resolve(f);
      };
      // At the deadline, read I/O already waiting first (a reply late only because the box was busy).
      const timer = setTimeout(() => setImmediate(() => done(null)), this.timing.replyTimeoutMs);
      this.waiting = { address, seq, done };
      this.stats.frames++;
      this.link.write(encodeLedFrame({ address, seq, command, payload })).catch(() => done(null));
    });
  }
}
