// 16-bit PCM mono WAV: read (clips, espeak-ng output), resample, join, write. Just enough for voice calls.

export const RATE = 16_000;

export interface Pcm {
  rate: number;
  samples: Int16Array;
}

/** Reads a PCM WAV (16-bit, mono or stereo: stereo is mixed down). espeak-ng's streamed size fields are tolerated. */
export function decodeWav(buf: Buffer, what = 'WAV'): Pcm {
  if (buf.length < 12 || buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE')
    throw new Error(`${what}: not a WAV file`);
  let off = 12;
  let rate = 0;
  let channels = 0;
  let bits = 0;
  let format = 0;
  while (off + 8 <= buf.length) {
    const id = buf.toString('ascii', off, off + 4);
    let size = buf.readUInt32LE(off + 4);
    const body = off + 8;
    if (id === 'fmt ') {
      format = buf.readUInt16LE(body);
      channels = buf.readUInt16LE(body + 2);
      rate = buf.readUInt32LE(body + 4);
      bits = buf.readUInt16LE(body + 14);
    } else if (id === 'data') {
      if (format !== 1 || bits !== 16 || channels < 1)
        throw new Error(`${what}: only 16-bit PCM is supported (format ${format}, ${bits} bits)`);
      // A streamed WAV (espeak-ng --stdout) may give 0 or 0xFFFFFFFF here: take what is there.
      if (size === 0 || body + size > buf.length) size = buf.length - body;
      const frames = Math.floor(size / (2 * channels));
      const samples = new Int16Array(frames);
      for (let i = 0; i < frames; i++) {
        let sum = 0;
        for (let c = 0; c < channels; c++) sum += buf.readInt16LE(body + (i * channels + c) * 2);
        samples[i] = Math.round(sum / channels);
      }
      return { rate, samples };
    }
    off = body + size + (size % 2);
  }
  throw new Error(`${what}: no audio data`);
}

/** Linear-interpolation resampling: plenty for speech going to a PA speaker. */
export function resample(pcm: Pcm, rate = RATE): Int16Array {
  if (pcm.rate === rate) return pcm.samples;
  const n = Math.floor((pcm.samples.length * rate) / pcm.rate);
  const out = new Int16Array(n);
  const step = pcm.rate / rate;
  for (let i = 0; i < n; i++) {
    const x = i * step;
    const i0 = Math.floor(x);
    const a = pcm.samples[i0] ?? 0;
    const b = pcm.samples[i0 + 1] ?? a;
    out[i] = Math.round(a + (b - a) * (x - i0));
  }
  return out;
}

export const silence = (ms: number, rate = RATE) => new Int16Array(Math.round((ms * rate) / 1000));

export function concat(parts: Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function encodeWav(samples: Int16Array, rate = RATE): Buffer {
  const data = samples.length * 2;
  const buf = Buffer.alloc(44 + data);
  buf.write('RIFF', 0, 'ascii');
  buf.writeUInt32LE(36 + data, 4);
  buf.write('WAVE', 8, 'ascii');
  buf.write('fmt ', 12, 'ascii');
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(1, 20); // PCM
  buf.writeUInt16LE(1, 22); // mono
  buf.writeUInt32LE(rate, 24);
  buf.writeUInt32LE(rate * 2, 28);
  buf.writeUInt16LE(2, 32);
  buf.writeUInt16LE(16, 34);
  buf.write('data', 36, 'ascii');
  buf.writeUInt32LE(data, 40);
  Buffer.from(samples.buffer, samples.byteOffset, data).copy(buf, 44);
  return buf;
}

export const durationMs = (samples: Int16Array, rate = RATE) => Math.round((samples.length * 1000) / rate);
