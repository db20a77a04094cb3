// The audio simulator: the lobby's loudspeakers for a box whose voice driver has `player: { kind: sim }`.
// Each call arrives over a TCP or Unix socket as one WAV; it is written to a folder as a file and a line of
// calls.log (JSONL), then acknowledged, after the call's own duration when `realtime` (a separate
// `lobby sim` that should sound like a lobby), at once otherwise (tests).
import { EventEmitter } from 'node:events';
import { appendFileSync, mkdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { join } from 'node:path';

export interface PlayedCall {
  /** Order of arrival, from 1. */
  seq: number;
  file: string;
  callId: string;
  number: string;
  counter: number;
  recall: boolean;
  text: string;
  bytes: number;
  /** Computed from the WAV header: what a listener would hear. */
  durationMs: number;
  /** When it started and ended "playing" (ISO). */
  startedAt: string;
  endedAt: string;
}

export interface AudioSinkOptions {
  dir: string;
  /** `host:port`, a port (0: any free one on 127.0.0.1) or a Unix socket path. */
  listen?: string | number;
  /** Take as long as the audio to acknowledge, like a speaker. Default false. */
  realtime?: boolean;
}

interface Header {
  bytes: number;
  callId?: string;
  number?: string;
  counter?: number;
  recall?: boolean;
  text?: string;
}

const MAX_BYTES = 20 * 1024 * 1024;

/** Duration of a PCM WAV from its header, or 0 when it is not one. */
export function wavDurationMs(wav: Buffer): number {
  if (wav.length < 44 || wav.toString('ascii', 0, 4) !== 'RIFF') return 0;
  let off = 12;
  let byteRate = 0;
  while (off + 8 <= wav.length) {
    const id = wav.toString('ascii', off, off + 4);
    const size = wav.readUInt32LE(off + 4);
    if (id === 'fmt ') byteRate = wav.readUInt32LE(off + 16);
    if (id === 'data')
      return byteRate ? Math.round((Math.min(size, wav.length - off - 8) * 1000) / byteRate) : 0;
    off += 8 + size + (size % 2);
  }
  return 0;
}

export class AudioSink extends EventEmitter<{ played: [PlayedCall] }> {
  private seq = 0;
  readonly played: PlayedCall[] = [];

  private constructor(
    private readonly server: Server,
    readonly address: string,
    readonly dir: string,
    private readonly realtime: boolean,
  ) {
    super();
  }

  static async start(opts: AudioSinkOptions): Promise<AudioSink> {
    mkdirSync(opts.dir, { recursive: true });
    const listen = opts.listen ?? 0;
    const m = typeof listen === 'string' ? /^([^/]*):(\d{1,5})$/.exec(listen) : null;
    if (typeof listen === 'string' && !m) {
      try {
        unlinkSync(listen);
      } catch {
        // no stale socket
      }
    }
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      if (typeof listen === 'number') server.listen(listen, '127.0.0.1', resolve);
      else if (m) server.listen(Number(m[2]), m[1] || '127.0.0.1', resolve);
      else server.listen(listen, resolve);
    });
    const a = server.address();
    const address = typeof a === 'string' ? a : `${(a as AddressInfo).address}:${(a as AddressInfo).port}`;
    const sink = new AudioSink(server, address, opts.dir, opts.realtime ?? false);
    server.on('connection', (s) => sink.accept(s));
    return sink;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    let buf = Buffer.alloc(0);
    let header: Header | undefined;
    let started = false;
    const fail = (msg: string) => {
      socket.end(`ERR ${msg}\n`);
    };
    socket.on('error', () => undefined);
    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      if (!header) {
        const nl = buf.indexOf(0x0a);
        if (nl < 0) return buf.length > 4096 ? fail('header line too long') : undefined;
        try {
          header = JSON.parse(buf.subarray(0, nl).toString('utf8')) as Header;
        } catch {
          return fail('header is not JSON');
        }
        if (!Number.isInteger(header.bytes) || header.bytes <= 0 || header.bytes > MAX_BYTES)
          return fail('header.bytes must be the WAV size');
        buf = buf.subarray(nl + 1);
      }
      if (buf.length < header.bytes || started) return;
      started = true;
      void this.play(header, buf.subarray(0, header.bytes)).then((file) => socket.end(`DONE ${file}\n`));
    });
  }

  private async play(h: Header, wav: Buffer): Promise<string> {
    const seq = ++this.seq;
    const callId = String(h.callId ?? seq).replace(/[^A-Za-z0-9_-]/g, '_');
    const file = `${String(seq).padStart(4, '0')}-${h.number ?? 'call'}-${callId}.wav`.replace(
      /[^A-Za-z0-9_.-]/g,
      '_',
    );
    writeFileSync(join(this.dir, file), wav);
    const durationMs = wavDurationMs(wav);
    const startedAt = new Date();
    if (this.realtime) await new Promise((r) => setTimeout(r, durationMs));
    const call: PlayedCall = {
      seq,
      file,
      callId: String(h.callId ?? ''),
      number: String(h.number ?? ''),
      counter: Number(h.counter ?? 0),
      recall: h.recall === true,
      text: String(h.text ?? ''),
      bytes: wav.length,
      durationMs,
      startedAt: startedAt.toISOString(),
      endedAt: new Date().toISOString(),
    };
    appendFileSync(join(this.dir, 'calls.log'), JSON.stringify(call) + '\n');
    this.played.push(call);
    this.emit('played', call);
    return file;
  }
}
