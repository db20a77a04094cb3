// Where a call's audio goes: ALSA through `aplay` on the box, or the audio simulator (hardware-sim/audio)
// over a socket. Either way `play` resolves when the call has been played, so calls never overlap.
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import type { VoiceDriver } from '../gpio/config.js';

export interface PlayedCall {
  callId: string;
  number: string;
  counter: number;
  recall: boolean;
  /** The sentence said, in Vietnamese. */
  text: string;
}

export interface Player {
  play(wav: Buffer, call: PlayedCall): Promise<void>;
}

/** `aplay -q [-D device] -t wav -`: the WAV on stdin; resolves when aplay exits after playing. */
export class AplayPlayer implements Player {
  constructor(
    private readonly command = 'aplay',
    private readonly device?: string,
  ) {}

  play(wav: Buffer): Promise<void> {
    const args = ['-q', ...(this.device ? ['-D', this.device] : []), '-t', 'wav', '-'];
    return new Promise((resolve, reject) => {
      const child = spawn(this.command, args, { stdio: ['pipe', 'ignore', 'pipe'] });
      let err = '';
      child.stderr.on('data', (c: Buffer) => (err += c.toString()));
      child.on('error', (e) => reject(new Error(`${this.command}: ${e.message}`)));
      child.on('close', (code) =>
        code === 0
          ? resolve()
          : reject(new Error(`${this.command} exited with ${code}: ${err.trim().split('\n').pop() ?? ''}`)),
      );
      child.stdin.on('error', () => undefined); // aplay failing early closes its stdin; 'close' reports why
      child.stdin.end(wav);
    });
  }
}

/**
 * The audio simulator's socket protocol: one connection per call; the player sends a JSON header line
 * (`{"bytes":N,"callId":…,"text":…}`) and N bytes of WAV; the simulator answers `DONE <file>` once it has
 * "played" it (or `ERR <text>`).
 */
export class SimAudioPlayer implements Player {
  constructor(private readonly address: string) {}

  play(wav: Buffer, call: PlayedCall): Promise<void> {
    const m = /^([^/]*):(\d{1,5})$/.exec(this.address);
    return new Promise((resolve, reject) => {
      const socket = connect(m ? { host: m[1] || '127.0.0.1', port: Number(m[2]) } : { path: this.address });
      let answer = '';
      let settled = false;
      const done = (err?: Error) => {
        if (settled) return;
        settled = true;
        socket.destroy();
        if (err) reject(err);
        else resolve();
      };
      socket.on('connect', () => {
        socket.write(JSON.stringify({ bytes: wav.length, ...call }) + '\n');
        socket.write(wav);
      });
      socket.on('data', (c) => {
        answer += c.toString('utf8');
        const nl = answer.indexOf('\n');
        if (nl < 0) return;
        const line = answer.slice(0, nl);
        done(line.startsWith('DONE') ? undefined : new Error(`audio simulator: ${line}`));
      });
      socket.on('error', (e) => done(new Error(`audio simulator at ${this.address}: ${e.message}`)));
      socket.on('close', () => done(new Error(`audio simulator at ${this.address} closed before playing`)));
    });
  }
}

export function createPlayer(cfg: VoiceDriver['player']): Player {
  return cfg.kind === 'sim'
    ? new SimAudioPlayer(cfg.address)
    : new AplayPlayer(cfg.command ?? 'aplay', cfg.device);
}
