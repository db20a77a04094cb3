// The order of voice calls and the amplifier relay's timing, on fake timers; and one call's audio.
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Announcement } from '../../protocol/index.js';
import { Amplifier, CallQueue } from '../../device/drivers/voice/announcer.js';
import { ClipSpeech, defaultClipsDir, renderCall } from '../../device/drivers/voice/speech.js';
import { DEFAULT_READING } from '../../device/drivers/voice/numbers.js';
import { RATE, decodeWav } from '../../device/drivers/voice/wav.js';

const log = pino({ level: 'silent' });
const call = (callId: string, number: string, recall = false, repeat = 2): Announcement => ({
  callId,
  ticketId: `2026-11-22/${number}`,
  number,
  counter: 1,
  recall,
  repeat,
  text: { vi: `Mời số ${number} đến quầy số 1`, en: '' },
});

const WARM_UP = 1500;
const IDLE_OFF = 10_000;
const CALL_MS = 2000;

function setup() {
  const t0 = Date.now();
  const timeline: string[] = [];
  const at = () => Date.now() - t0;
  let playing = 0;
  let overlap = false;
  const relay = { write: (on: boolean) => timeline.push(`${at()} relay ${on ? 'on' : 'off'}`) };
  const amplifier = new Amplifier(relay, WARM_UP, IDLE_OFF);
  const queue = new CallQueue({
    amplifier,
    log,
    play: async (a) => {
      if (++playing > 1) overlap = true;
      timeline.push(`${at()} start ${a.number}${a.recall ? ' recall' : ''}`);
      await new Promise((r) => setTimeout(r, CALL_MS));
      timeline.push(`${at()} end ${a.number}${a.recall ? ' recall' : ''}`);
      playing--;
    },
  });
  return { timeline, queue, amplifier, overlapped: () => overlap };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('the call queue and the amplifier', () => {
  it('warms the amplifier up before the first call, plays one call at a time with recalls first, and switches off after the idle time', async () => {
    const { timeline, queue, overlapped } = setup();
    queue.enqueue(call('1', 'A001'));
    queue.enqueue(call('2', 'A002'));
    queue.enqueue(call('3', 'B001'));
    queue.enqueue(call('4', 'A001', true)); // a recall arrives while calls wait: it goes first
    queue.enqueue(call('2', 'A002')); // QoS 1 delivered it twice: said once
    await vi.advanceTimersByTimeAsync(60_000);
    expect(timeline).toEqual([
      '0 relay on',
      '1500 start A001', // after the warm-up
      '3500 end A001',
      '3500 start A001 recall',
      '5500 end A001 recall',
      '5500 start A002',
      '7500 end A002',
      '7500 start B001',
      '9500 end B001',
      '19500 relay off', // idle for IDLE_OFF after the last call
    ]);
    expect(overlapped()).toBe(false);
  });

  it('a call during the idle time plays at once and keeps the amplifier on; after it is off, the next warms up again', async () => {
    const { timeline, queue } = setup();
    queue.enqueue(call('1', 'A001'));
    await vi.advanceTimersByTimeAsync(3500 + 5000); // played, then 5 s idle
    queue.enqueue(call('2', 'A002'));
    await vi.advanceTimersByTimeAsync(2000 + IDLE_OFF + 1000);
    queue.enqueue(call('3', 'A003'));
    await vi.advanceTimersByTimeAsync(60_000);
    expect(timeline).toEqual([
      '0 relay on',
      '1500 start A001',
      '3500 end A001',
      '8500 start A002', // no warm-up: the amplifier is still on
      '10500 end A002',
      '20500 relay off', // idle counted from the last call, not the first
      '21500 relay on',
      '23000 start A003',
      '25000 end A003',
      '35000 relay off',
    ]);
  });

  it('a call that fails to play is reported and the next one still plays', async () => {
    const results: string[] = [];
    const amplifier = new Amplifier(undefined, 0, 0);
    const queue = new CallQueue({
      amplifier,
      log,
      play: async (a) => {
        if (a.number === 'A001') throw new Error('aplay: audio open error');
      },
      onResult: (a, err) => results.push(`${a.number} ${err ? err.message : 'ok'}`),
    });
    queue.enqueue(call('1', 'A001'));
    queue.enqueue(call('2', 'A002'));
    await queue.drained();
    expect(results).toEqual(['A001 aplay: audio open error', 'A002 ok']);
  });

  it('stop drops waiting calls and switches the amplifier off', async () => {
    const { timeline, queue } = setup();
    queue.enqueue(call('1', 'A001'));
    queue.enqueue(call('2', 'A002'));
    await vi.advanceTimersByTimeAsync(2000);
    const stopped = queue.stop();
    await vi.advanceTimersByTimeAsync(5000);
    await stopped;
    expect(timeline).toEqual(['0 relay on', '1500 start A001', '3500 end A001', '3500 relay off']);
  });
});

describe("a call's audio", () => {
  it('is the chime then the sentence `repeat` times, 16 kHz mono', async () => {
    vi.useRealTimers();
    const clips = ClipSpeech.load(defaultClipsDir());
    const chime = clips.clip('chime');
    const opts = { style: DEFAULT_READING, repeatPauseMs: 700 };
    const once = await renderCall({ number: 'A012', counter: 3, repeat: 1 }, clips, chime, opts);
    const twice = await renderCall({ number: 'A012', counter: 3, repeat: 2 }, clips, chime, opts);
    expect(once.words).toEqual(['mời số', 'A', 'mười', 'hai', 'đến quầy số', 'ba']);
    const one = decodeWav(once.wav);
    const two = decodeWav(twice.wav);
    expect(one.rate).toBe(RATE);
    const sentence = (await clips.sentence(once.words)).length;
    const pause = (700 * RATE) / 1000;
    expect(one.samples.length).toBe(chime.length + (300 * RATE) / 1000 + sentence + pause);
    expect(two.samples.length - one.samples.length).toBe(sentence + pause);
    // The sentence is as long as its clips with short gaps: more than a second, less than four.
    expect(sentence / RATE).toBeGreaterThan(1);
    expect(sentence / RATE).toBeLessThan(4);
  });
});
