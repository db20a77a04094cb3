// The voice announcer the box drives, against a real box: calls from a keypad are said through the audio
// simulator (one WAV per call, in order, with a log), the amplifier relay on the GPIO simulator switches on
// before and off after; with espeak-ng configured the sentence is synthesized; ALSA (aplay) is used as is.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { topics } from '../../protocol/index.js';
import type { PeripheralConfig } from '../../device/config/schema.js';
import { decodeWav } from '../../device/drivers/voice/wav.js';
import { AudioSink, type PlayedCall } from '../../hardware-sim/audio/sink.js';
import { GpioSimulator } from '../../hardware-sim/gpio/simulator.js';
import {
  DEVICES,
  nextMessage,
  officeConfig,
  peripheralsFor,
  request,
  startTestBox,
  type TestBox,
} from '../support/office.js';

const RELAY = 18;
let tb: TestBox | undefined;
let sim: GpioSimulator | undefined;
let sink: AudioSink | undefined;
afterEach(async () => {
  await tb?.close();
  await sim?.close();
  await sink?.close();
  tb = sim = sink = undefined;
});

const announcer = (driver: Record<string, unknown>): PeripheralConfig => ({
  id: 'voice-1',
  role: 'announcer',
  driver: { kind: 'voice', ...driver } as PeripheralConfig['driver'],
});

async function office(driver: Record<string, unknown>, gpio?: string) {
  const config = officeConfig(
    [...(await peripheralsFor(DEVICES)), announcer(driver)],
    gpio ? { hardware: { gpio: { backend: 'sim', address: gpio } } } : {},
  );
  tb = await startTestBox({ config });
  const kiosk = await tb.connect('kiosk-1');
  const keypad = await tb.connect('keypad-1');
  const tv = await tb.connect('display-tv');
  return { kiosk, keypad, tv };
}

const played = (n: number) =>
  new Promise<PlayedCall[]>((resolve) => {
    const check = () => {
      if (sink!.played.length >= n) {
        sink!.off('played', check);
        resolve(sink!.played.slice(0, n));
      }
    };
    sink!.on('played', check);
    check();
  });

describe('voice calls driven by the box', () => {
  it('says each call and recall in Vietnamese through the speakers, with the amplifier on only around them', async () => {
    sim = await GpioSimulator.start(0);
    sink = await AudioSink.start({ dir: mkdtempSync(join(tmpdir(), 'lobby-audio-')) });
    const { kiosk, keypad } = await office(
      {
        player: { kind: 'sim', address: sink.address },
        amplifier: { pin: RELAY, warmUpMs: 0, idleOffMs: 0 },
      },
      sim.address,
    );
    const order: string[] = [];
    sim.on('line', (l) => {
      if (l.pin === RELAY && l.mode === 'out') order.push(l.level ? 'relay on' : 'relay off');
    });
    sink.on('played', (c) => order.push(`played ${c.number}${c.recall ? ' recall' : ''}`));

    for (let i = 0; i < 12; i++) await request(kiosk, topics.ticketRequest(), { service: 'van-thu' });
    await request(keypad, topics.counterCommand(1, 'next'), {}); // A001
    await request(keypad, topics.counterCommand(1, 'recall'), {});
    const calls = await played(2);
    expect(calls.map((c) => [c.number, c.recall, c.text])).toEqual([
      ['A001', false, 'Mời số A001 đến quầy số 1'],
      ['A001', true, 'Mời số A001 đến quầy số 1'],
    ]);
    // One WAV per call, as the box would play it: 16 kHz mono, the chime and the sentence twice (repeat 2).
    const wav = decodeWav(readFileSync(join(sink.dir, calls[0]!.file)));
    expect(wav.rate).toBe(16_000);
    expect(calls[0]!.durationMs).toBeGreaterThan(3000);
    const log = readFileSync(join(sink.dir, 'calls.log'), 'utf8').trim().split('\n');
    expect(log.map((l) => (JSON.parse(l) as PlayedCall).file)).toEqual(calls.map((c) => c.file));

    // The relay was switched on before the first call and off once nothing was left to say.
    await expect.poll(() => order.at(-1)).toBe('relay off');
    expect(order[0]).toBe('relay on');
    expect(order.indexOf('relay on')).toBeLessThan(order.indexOf('played A001'));
    expect(order.filter((o) => o.startsWith('played'))).toEqual(['played A001', 'played A001 recall']);

    // Ticket A012, read as a number: the call's file is named after it.
    for (let i = 0; i < 10; i++) await request(keypad, topics.counterCommand(1, 'next'), {});
    const twelve = (await played(12)).at(-1)!;
    expect(twelve).toMatchObject({ number: 'A011' });
    await request(keypad, topics.counterCommand(1, 'next'), {});
    expect((await played(13)).at(-1)).toMatchObject({ number: 'A012', text: 'Mời số A012 đến quầy số 1' });
  });

  it('with espeak-ng configured, synthesizes the whole sentence', async (ctx) => {
    if (spawnSync('espeak-ng', ['--version']).status !== 0)
      return ctx.skip('espeak-ng is not installed here');
    sink = await AudioSink.start({ dir: mkdtempSync(join(tmpdir(), 'lobby-audio-')) });
    const { kiosk, keypad, tv } = await office({
      player: { kind: 'sim', address: sink.address },
      engine: { kind: 'espeak-ng' },
    });
    const status = await nextMessage(tv, topics.status('voice-1'));
    expect(status.body).toMatchObject({ ok: true, detail: 'speech: espeak-ng' });
    await request(kiosk, topics.ticketRequest(), { service: 'van-thu' });
    await request(keypad, topics.counterCommand(1, 'next'), {});
    const [c] = await played(1);
    expect(c).toMatchObject({ number: 'A001', recall: false });
    expect(decodeWav(readFileSync(join(sink.dir, c!.file))).rate).toBe(16_000);
  });

  it('plays through ALSA with aplay, and a missing sound card shows on the status without stopping the box', async (ctx) => {
    if (spawnSync('aplay', ['--version']).status !== 0)
      return ctx.skip('aplay (alsa-utils) is not installed here');
    // ALSA's null device accepts the audio: the call counts as played.
    const first = await office({ player: { kind: 'aplay', device: 'null' } });
    await request(first.kiosk, topics.ticketRequest(), { service: 'van-thu' });
    await request(first.keypad, topics.counterCommand(1, 'next'), {});
    const ok = await nextMessage(
      first.tv,
      topics.status('voice-1'),
      (_t, b) => (b as { played: number }).played === 1,
    );
    expect(ok.body).toMatchObject({ ok: true, played: 1, failed: 0 });
    await tb!.close();

    const second = await office({ player: { kind: 'aplay', device: 'hw:9,9' } });
    for (let i = 0; i < 2; i++) await request(second.kiosk, topics.ticketRequest(), { service: 'van-thu' });
    await request(second.keypad, topics.counterCommand(1, 'next'), {});
    const broken = await nextMessage(
      second.tv,
      topics.status('voice-1'),
      (_t, b) => !(b as { ok: boolean }).ok,
    );
    expect(broken.body).toMatchObject({
      ok: false,
      failed: 1,
      detail: expect.stringMatching(/voice call not played: aplay exited with 1: .*audio open error/),
    });
    // The box goes on: the next citizen is called.
    expect(await request(second.keypad, topics.counterCommand(1, 'next'), {})).toMatchObject({
      status: 'ok',
    });
  });
});
