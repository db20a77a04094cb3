// A virtual RS-485 bus with LED boards on it, speaking the frame of protocol/LED-SERIAL.md. The bus is
// reached as raw TCP (like an RS-485-to-Ethernet converter) or through any byte pipe (`LedBoards.receive`,
// e.g. a @serialport/binding-mock port). Boards ACK frames, keep what they display, and can be made to
// fail: dead, busy, garbled replies, garbled requests, noise on the line.
import { EventEmitter } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import {
  LedCommand,
  LedFrameDecoder,
  LedNakReason,
  decodeShowPayload,
  encodeBoardInfo,
  encodeLedFrame,
  type LedFrame,
  type LedShow,
} from '../../protocol/index.js';
import { listenTcp } from '../listen.js';

export interface LedBoardSpec {
  address: number;
  columns: number;
  lines: number;
  glyphs?: 'vi' | 'ascii';
}

export interface SimBoard extends Required<LedBoardSpec> {
  /** What it displays now (null: nothing received since power-on). */
  display: LedShow | null;
  /** Every SHOW it accepted, in order. */
  history: LedShow[];
  /** Does not answer at all (unplugged, broken). */
  dead: boolean;
  /** Answer the next n frames with NAK busy. */
  busyFor: number;
  /** Garble the next n replies (one byte flipped: the CRC fails at the box). */
  garbleReplies: number;
}

export interface LedBusSimOptions {
  boards: LedBoardSpec[];
  port?: number;
  host?: string;
}

/** The boards and the bus wiring, without a transport: bytes in, reply bytes out. */
export class LedBoards extends EventEmitter {
  readonly boards = new Map<number, SimBoard>();
  /** Every well-formed frame seen on the bus, as raw bytes, in order. */
  readonly wire: Buffer[] = [];
  /** Bytes on the bus that were not a valid frame (bad CRC, noise). */
  garbageBytes = 0;
  /** Garble the next n requests on their way to the boards (the boards see a bad CRC and stay silent). */
  garbleRequests = 0;
  private readonly decoder = new LedFrameDecoder();

  constructor(specs: LedBoardSpec[]) {
    super();
    for (const s of specs)
      this.boards.set(s.address, {
        ...s,
        glyphs: s.glyphs ?? 'ascii',
        display: null,
        history: [],
        dead: false,
        busyFor: 0,
        garbleReplies: 0,
      });
  }

  board(address: number): SimBoard {
    const b = this.boards.get(address);
    if (!b) throw new Error(`no board at address ${address}`);
    return b;
  }

  /** Bytes from the box; returns the boards' replies (possibly none). */
  receive(chunk: Uint8Array): Buffer[] {
    const data = Buffer.from(chunk);
    if (this.garbleRequests > 0 && data.length > 6) {
      this.garbleRequests--;
      data[data.length - 3] = (data[data.length - 3] as number) ^ 0xff;
    }
    const replies: Buffer[] = [];
    for (const ev of this.decoder.push(data)) {
      if (ev.kind === 'garbage') {
        this.garbageBytes += ev.bytes;
        continue;
      }
      this.wire.push(encodeLedFrame(ev.frame));
      const reply = this.answer(ev.frame);
      if (reply) replies.push(reply);
    }
    return replies;
  }

  private answer(f: LedFrame): Buffer | null {
    if (f.command === LedCommand.ack || f.command === LedCommand.nak) return null;
    const b = this.boards.get(f.address);
    if (!b || b.dead) return null;
    const reply = (command: number, payload: Uint8Array) => {
      const out = encodeLedFrame({ address: b.address, seq: f.seq, command, payload });
      if (b.garbleReplies > 0) {
        b.garbleReplies--;
        out[out.length - 3] = (out[out.length - 3] as number) ^ 0x5a;
      }
      return out;
    };
    const nak = (reason: number) => reply(LedCommand.nak, Uint8Array.of(reason));
    if (b.busyFor > 0) {
      b.busyFor--;
      return nak(LedNakReason.busy);
    }
    if (f.command === LedCommand.ping)
      return reply(LedCommand.ack, encodeBoardInfo({ columns: b.columns, lines: b.lines, glyphs: b.glyphs }));
    if (f.command !== LedCommand.show) return nak(LedNakReason.unknownCommand);
    const show = decodeShowPayload(f.payload);
    if (!show) return nak(LedNakReason.badPayload);
    if (show.lines.length > b.lines || show.lines.some((l) => [...l].length > b.columns))
      return nak(LedNakReason.textTooLong);
    if (b.glyphs === 'ascii' && show.lines.some((l) => /[^ -~]/.test(l))) return nak(LedNakReason.badPayload);
    b.display = show;
    b.history.push(show);
    this.emit('show', b.address, show);
    return reply(LedCommand.ack, new Uint8Array(0));
  }
}

/** The bus on raw TCP, one connection at a time like a serial-to-Ethernet converter. */
export class LedBusSim extends LedBoards {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private listenPort = 0;

  constructor(private readonly opts: LedBusSimOptions) {
    super(opts.boards);
  }

  get port(): number {
    return this.listenPort;
  }

  get link(): { tcp: string } {
    return { tcp: `${this.opts.host ?? '127.0.0.1'}:${this.listenPort}` };
  }

  async start(): Promise<this> {
    const server = createServer((s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      s.on('error', () => undefined);
      s.on('data', (chunk: Buffer) => {
        for (const r of this.receive(chunk)) s.write(r);
      });
    });
    this.server = server;
    this.listenPort = await listenTcp(server, this.opts.port, this.opts.host);
    return this;
  }

  /** Line noise towards the box (a motor starting next to the cable). */
  noise(bytes: Uint8Array): void {
    for (const s of this.sockets) s.write(bytes);
  }

  /** Resolves when the board at `address` shows something matching `match`. */
  waitFor(address: number, match: (s: LedShow) => boolean, timeoutMs = 10_000): Promise<LedShow> {
    const now = this.board(address).display;
    if (now && match(now)) return Promise.resolve(now);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('show', on);
        reject(new Error(`board ${address} did not show the expected text within ${timeoutMs} ms`));
      }, timeoutMs);
      const on = (a: number, s: LedShow) => {
        if (a !== address || !match(s)) return;
        clearTimeout(timer);
        this.off('show', on);
        resolve(s);
      };
      this.on('show', on);
    });
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

export async function startLedBusSim(opts: LedBusSimOptions): Promise<LedBusSim> {
  return new LedBusSim(opts).start();
}
