// Turning the words of a call into audio: by joining recorded word clips (the default, shipped in
// assets/voice/vi), or with an offline speech engine (espeak-ng) for the whole sentence.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { callWords, type ReadingStyle } from './numbers.js';
import { RATE, concat, decodeWav, encodeWav, resample, silence } from './wav.js';

export interface Speech {
  readonly kind: 'clips' | 'espeak-ng';
  /** The audio of a sentence given as words (tokens of clips.tsv). */
  sentence(words: string[]): Promise<Int16Array>;
}

/** The shipped clips: assets/voice/vi, found upwards from this file (source tree or dist/). */
export function defaultClipsDir(lang = 'vi'): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const candidate = join(dir, 'assets', 'voice', lang);
    if (existsSync(join(candidate, 'clips.tsv'))) return candidate;
    dir = dirname(dir);
  }
  throw new Error(`the voice clips (assets/voice/${lang}/clips.tsv) are not installed with this build`);
}

const PHRASES = new Set(['mời số', 'đến quầy số']);

/** Word clips joined with short gaps (longer around the phrases, as a person pauses there). */
export class ClipSpeech implements Speech {
  readonly kind = 'clips' as const;

  private constructor(
    private readonly clips: Map<string, Int16Array>,
    /** The words as text, for an engine or a log (letters by their names). */
    readonly spoken: Map<string, string>,
  ) {}

  /** Loads every clip of a folder's clips.tsv; a missing or broken file is an error naming it. */
  static load(dir: string): ClipSpeech {
    const tsvFile = join(dir, 'clips.tsv');
    let tsv: string;
    try {
      tsv = readFileSync(tsvFile, 'utf8');
    } catch (err) {
      throw new Error(`voice clips: cannot read ${tsvFile} (${(err as Error).message})`);
    }
    const clips = new Map<string, Int16Array>();
    const spoken = new Map<string, string>();
    for (const line of tsv.split('\n')) {
      if (!line.trim() || line.startsWith('#')) continue;
      const [token, file, text] = line.split('\t');
      if (!token || !file) throw new Error(`voice clips: bad line in ${tsvFile}: "${line}"`);
      const path = join(dir, file);
      let buf: Buffer;
      try {
        buf = readFileSync(path);
      } catch (err) {
        throw new Error(`voice clips: cannot read ${path} (${(err as Error).message})`);
      }
      clips.set(token, resample(decodeWav(buf, path)));
      spoken.set(token, token === 'chime' ? '' : (text ?? token));
    }
    return new ClipSpeech(clips, spoken);
  }

  clip(token: string): Int16Array {
    const c = this.clips.get(token);
    if (!c) throw new Error(`voice clips: no clip for "${token}"`);
    return c;
  }

  has(token: string): boolean {
    return this.clips.has(token);
  }

  async sentence(words: string[]): Promise<Int16Array> {
    const parts: Int16Array[] = [];
    words.forEach((w, i) => {
      if (i > 0) parts.push(silence(PHRASES.has(w) || PHRASES.has(words[i - 1] ?? '') ? 150 : 40));
      parts.push(this.clip(w));
    });
    return concat(parts);
  }
}

export interface EspeakOptions {
  command: string;
  voice: string;
  wordsPerMinute: number;
}

/** The whole sentence from espeak-ng, offline; letters are given by their names so they are said as such. */
export class EspeakSpeech implements Speech {
  readonly kind = 'espeak-ng' as const;

  constructor(
    private readonly opts: EspeakOptions,
    private readonly spoken: Map<string, string>,
  ) {}

  text(words: string[]): string {
    return words
      .map((w) => (w === 'đến quầy số' ? ', ' : '') + (this.spoken.get(w) ?? w))
      .join(' ')
      .replace(/ ,/g, ',');
  }

  sentence(words: string[]): Promise<Int16Array> {
    const { command, voice, wordsPerMinute } = this.opts;
    return new Promise((resolve, reject) => {
      const child = spawn(
        command,
        ['-v', voice, '-s', String(wordsPerMinute), '--stdout', this.text(words)],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
          timeout: 15_000,
        },
      );
      const out: Buffer[] = [];
      let err = '';
      child.stdout.on('data', (c: Buffer) => out.push(c));
      child.stderr.on('data', (c: Buffer) => (err += c.toString()));
      child.on('error', (e) => reject(new Error(`${command}: ${e.message}`)));
      child.on('close', (code) => {
        if (code !== 0)
          return reject(new Error(`${command} exited with ${code}: ${err.trim().slice(0, 200)}`));
        try {
          resolve(resample(decodeWav(Buffer.concat(out), command)));
        } catch (e) {
          reject(e as Error);
        }
      });
    });
  }
}

/** Checks that an engine runs here (`espeak-ng --version`). */
export function engineWorks(command: string): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(command, ['--version'], { stdio: 'ignore', timeout: 5000 });
    child.on('error', () => resolve(false));
    child.on('close', (code) => resolve(code === 0));
  });
}

export interface CallAudio {
  wav: Buffer;
  /** What is said, for logs: "Mời số A012 đến quầy số 3". */
  words: string[];
  durationMs: number;
}

/**
 * One call as one WAV: the chime, then the sentence `repeat` times with a pause between (and after, so
 * the amplifier does not cut the last syllable).
 */
export async function renderCall(
  call: { number: string; counter: number; repeat: number },
  speech: Speech,
  chime: Int16Array,
  opts: { style: ReadingStyle; repeatPauseMs: number },
): Promise<CallAudio> {
  const words = callWords(call, opts.style);
  const sentence = await speech.sentence(words);
  const parts: Int16Array[] = [chime, silence(300)];
  for (let i = 0; i < call.repeat; i++) parts.push(sentence, silence(opts.repeatPauseMs));
  const samples = concat(parts);
  return { wav: encodeWav(samples), words, durationMs: Math.round((samples.length * 1000) / RATE) };
}
