// Benchmark 4 (issue 3): a keypad presses "next"; how long until the counter's LED board on the RS-485 bus
// has the new number, and until the voice call starts at the loudspeakers? The box drives both itself (the
// `led-rs485` and `voice` drivers) against the simulators (virtual bus over TCP, audio sink over TCP, GPIO
// simulator for the amplifier relay). Each call also gives the core's figure (the lobby display has both
// `ticket.called` and the counter's state: `call-probe.ts`, as `call-latency.ts` measures it), and after it
// the raw floors (plain aedes round trip, one raw FULL commit), so all of them are interleaved call by call.
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeShowPayload, type LedShow } from '../../protocol/index.js';
import type { PeripheralConfig } from '../../device/config/schema.js';
import { DEFAULT_READING } from '../../device/drivers/voice/numbers.js';
import { ClipSpeech, defaultClipsDir, renderCall } from '../../device/drivers/voice/speech.js';
import { AudioSink } from '../../hardware-sim/audio/sink.js';
import { GpioSimulator, isActive } from '../../hardware-sim/gpio/simulator.js';
import { startLedBusSim } from '../../hardware-sim/led/led-bus-sim.js';
import { officeConfig, peripheralsFor, startTestBox } from '../support/office.js';
import { openRawSqlite, startRawBroker } from './baselines.js';
import { CALL_COUNTERS, CALL_DEVICES, startCallProbe } from './call-probe.js';
import { issueUpFront, noonClock, spreadServices, tempDir } from './office-helpers.js';
import { now, summarize, type Summary } from './stats.js';

/** As shipped (the schema's defaults), written out so the report can say what the run used. */
const AMPLIFIER = { pin: 18, warmUpMs: 1500, idleOffMs: 60_000 };
const BUS = { id: 'rs485-1', replyTimeoutMs: 300, retries: 2, pollMs: 10_000 };
/** A counter board: the counter's name over the number, Vietnamese glyphs. */
const BOARD = { columns: 16, lines: 2, glyphs: 'vi' as const };
/** The spec's default line (protocol/LED-SERIAL.md §1); the simulated bus over TCP has no line rate. */
const BAUD = 9600;
const BITS_PER_BYTE = 10; // 8N1: start + 8 data + stop
const ACK_BYTES = 8; // STX ADDR SEQ CMD LEN(2) CRC(2), empty payload
const REPEAT_PAUSE_MS = 700; // the voice driver's default

export interface HardwareCallResult {
  calls: number;
  ticketsIssued: number;
  /** Keypad publish → the counter's board accepted (and ACKed) the first SHOW frame carrying the number. */
  led: Summary;
  /** … → the first such frame with the blink flag (the "new call" frame, sent after the retained text). */
  ledBlink: Summary;
  /** Keypad publish → the first bytes of the call arrive at the audio sink (the announcement starts). */
  audio: Summary;
  /** … → the sink has the whole WAV (it then writes the file and answers DONE). */
  audioReceived: Summary;
  /** The same calls: keypad publish → the display has the event and the counter's state. */
  core: Summary;
  rawRoundTrip: Summary;
  rawCommit: Summary;
  /** Per call, LED (audio) time minus the core's time for the same call: how far behind the display. */
  ledAfterCore: Summary;
  audioAfterCore: Summary;
  /** The voice driver's rendering (clips joined into one WAV), timed alone in the bench after each call. */
  renderAlone: Summary;
  ratios: {
    ledP50VsCore: number;
    ledP99VsCore: number;
    audioP50VsCore: number;
    audioP99VsCore: number;
    ledP50VsRtPlusCommit: number;
    audioP50VsRtPlusCommit: number;
  };
  /** The first call of the run found the amplifier off: it paid the relay's warm-up (not measured). */
  coldFirstCall: { coreMs: number; ledMs: number; audioMs: number };
  /** Relay switch-ons during the measured calls (0: the warm-up did not enter any measured figure). */
  relaySwitchOnsMeasured: number;
  settings: {
    amplifier: typeof AMPLIFIER;
    bus: typeof BUS;
    board: typeof BOARD;
    speech: 'clips';
    announceRepeat: number;
    sinkRealtime: false;
  };
  /** One call's WAV (the last measured): bytes and length as heard. */
  wav: { bytes: number; durationMs: number };
  /** The number's SHOW frame and its ACK, and their time on a real bus at `baud` (not in `led`). */
  ledWire: { frameBytes: number; ackBytes: number; baud: number; ms: number };
  keypadErrors: Record<string, number>;
  mismatches: number;
}

/** First arrival per key (`<counter>/<number>`), and waiting for one that may already have come. */
class Arrivals {
  private readonly at = new Map<string, number>();
  private readonly waiting = new Map<string, (at: number) => void>();

  constructor(private readonly what: string) {}

  mark(key: string, at: number): void {
    if (this.at.has(key)) return;
    this.at.set(key, at);
    this.waiting.get(key)?.(at);
  }

  wait(key: string, timeoutMs = 5000): Promise<number> {
    const seen = this.at.get(key);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(key);
        reject(new Error(`${this.what} for ${key}: nothing within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(key, (at) => {
        clearTimeout(timer);
        this.waiting.delete(key);
        resolve(at);
      });
    });
  }
}

/**
 * `calls` calls measured after `warmup`, one at a time, round-robin over counters 1, 3 and 4; every ticket
 * is issued up front (all of them wait at once). The next call starts once the sink has the whole WAV of
 * this one, so calls never queue behind each other's audio.
 */
export async function benchHardwareCall(opts: {
  calls: number;
  warmup: number;
}): Promise<HardwareCallResult> {
  const bus = await startLedBusSim({ boards: CALL_COUNTERS.map((c) => ({ address: c, ...BOARD })) });
  const gpio = await GpioSimulator.start(0);
  // Not realtime: the sink answers DONE at once instead of after the call's 7 s, so a run of hundreds of
  // calls takes seconds. When the sound starts does not depend on it.
  const sink = await AudioSink.start({ dir: mkdtempSync(join(tmpdir(), 'lobby-bench-audio-')) });
  const leds: PeripheralConfig[] = CALL_COUNTERS.map((c) => ({
    id: `led-c${c}`,
    role: 'ledboard',
    counter: c,
    driver: { kind: 'led-rs485', bus: BUS.id, address: c, ...BOARD },
  }));
  const voice: PeripheralConfig = {
    id: 'voice-1',
    role: 'announcer',
    driver: {
      kind: 'voice',
      player: { kind: 'sim', address: sink.address },
      amplifier: AMPLIFIER,
    } as PeripheralConfig['driver'],
  };
  const { id: busId, ...busTiming } = BUS;
  const config = officeConfig([...(await peripheralsFor(CALL_DEVICES)), ...leds, voice], {
    hardware: {
      serial: { buses: [{ id: busId, link: bus.link, ...busTiming }] },
      gpio: { backend: 'sim', address: gpio.address },
    },
  });
  const tb = await startTestBox({ config, clock: noonClock(), dataDir: tempDir('lobby-bench-box-') });
  const raw = openRawSqlite();
  const rawBroker = await startRawBroker();
  try {
    // The counter's board: every SHOW it accepts (the simulator emits `show` as it writes the ACK).
    const ledShown = new Arrivals('LED frame');
    const ledBlinked = new Arrivals('LED blink frame');
    let lastShow: LedShow | undefined;
    bus.on('show', (address: number, show: LedShow) => {
      const at = now();
      const number = show.lines.at(-1);
      if (number === undefined || show.blank) return;
      ledShown.mark(`${address}/${number}`, at);
      if (show.blink) ledBlinked.mark(`${address}/${number}`, at);
      lastShow = show;
    });

    // The loudspeakers: the sink keeps its server to itself, so the bench listens beside it on each
    // connection (bench only) for the first bytes of a call and its header line.
    const audioStarted = new Arrivals('audio start');
    const audioReceived = new Arrivals('audio received');
    (sink as unknown as { server: Server }).server.on('connection', (socket: Socket) => {
      let first: number | undefined;
      let head = '';
      socket.on('data', (chunk: Buffer) => {
        first ??= now();
        if (head.includes('\n')) return;
        head += chunk.toString('latin1');
        const nl = head.indexOf('\n');
        if (nl < 0) return;
        const h = JSON.parse(Buffer.from(head.slice(0, nl), 'latin1').toString('utf8')) as {
          number: string;
          counter: number;
        };
        audioStarted.mark(`${h.counter}/${h.number}`, first);
      });
    });
    let lastWav = { bytes: 0, durationMs: 0 };
    sink.on('played', (c) => {
      audioReceived.mark(`${c.counter}/${c.number}`, now());
      lastWav = { bytes: c.bytes, durationMs: c.durationMs };
    });

    let relayOns = 0;
    gpio.on('line', (l) => {
      if (l.pin === AMPLIFIER.pin && l.mode === 'out' && isActive(l)) relayOns += 1;
    });

    // Rendering timed alone: the driver's own code path, with the shipped clips.
    const clips = ClipSpeech.load(defaultClipsDir('vi'));
    const chime = clips.clip('chime');
    const repeat = config.office.announceRepeat;

    const total = opts.calls + opts.warmup;
    const perCounter = Math.ceil(total / CALL_COUNTERS.length);
    const issue = spreadServices((perCounter + 5) * CALL_COUNTERS.length); // spares in each queue
    const { issued } = await issueUpFront(tb, issue);
    const probe = await startCallProbe(tb);

    const s = {
      led: [] as number[],
      ledBlink: [] as number[],
      audio: [] as number[],
      audioReceived: [] as number[],
      core: [] as number[],
      rt: [] as number[],
      commit: [] as number[],
      ledAfterCore: [] as number[],
      audioAfterCore: [] as number[],
      render: [] as number[],
    };
    let cold = { coreMs: NaN, ledMs: NaN, audioMs: NaN };
    let relayOnsBeforeMeasured = 0;
    for (let i = 0; i < total; i++) {
      if (i === opts.warmup) relayOnsBeforeMeasured = relayOns;
      const call = await probe.call(i);
      const key = `${call.counter}/${call.number}`;
      const [led, blink, audio, received] = await Promise.all([
        ledShown.wait(key),
        ledBlinked.wait(key),
        audioStarted.wait(key),
        audioReceived.wait(key),
      ]);
      const r0 = now();
      await renderCall({ number: call.number, counter: call.counter, repeat }, clips, chime, {
        style: DEFAULT_READING,
        repeatPauseMs: REPEAT_PAUSE_MS,
      });
      const render = now() - r0;
      const roundTrip = await rawBroker.roundTrip();
      const commit = raw.commitOnce();
      if (i === 0) cold = { coreMs: call.ms, ledMs: led - call.t0, audioMs: audio - call.t0 };
      if (i < opts.warmup) continue;
      s.core.push(call.ms);
      s.led.push(led - call.t0);
      s.ledBlink.push(blink - call.t0);
      s.audio.push(audio - call.t0);
      s.audioReceived.push(received - call.t0);
      s.ledAfterCore.push(led - call.t0 - call.ms);
      s.audioAfterCore.push(audio - call.t0 - call.ms);
      s.render.push(render);
      s.rt.push(roundTrip);
      s.commit.push(commit);
    }

    const core = summarize(s.core);
    const led = summarize(s.led);
    const audio = summarize(s.audio);
    const rt = summarize(s.rt);
    const commit = summarize(s.commit);
    const frameBytes = lastShow ? 8 + encodeShowPayload(lastShow).length : NaN;
    return {
      calls: s.core.length,
      ticketsIssued: issued.ok,
      led,
      ledBlink: summarize(s.ledBlink),
      audio,
      audioReceived: summarize(s.audioReceived),
      core,
      rawRoundTrip: rt,
      rawCommit: commit,
      ledAfterCore: summarize(s.ledAfterCore),
      audioAfterCore: summarize(s.audioAfterCore),
      renderAlone: summarize(s.render),
      ratios: {
        ledP50VsCore: led.p50 / core.p50,
        ledP99VsCore: led.p99 / core.p99,
        audioP50VsCore: audio.p50 / core.p50,
        audioP99VsCore: audio.p99 / core.p99,
        ledP50VsRtPlusCommit: led.p50 / (rt.p50 + commit.p50),
        audioP50VsRtPlusCommit: audio.p50 / (rt.p50 + commit.p50),
      },
      coldFirstCall: cold,
      relaySwitchOnsMeasured: relayOns - relayOnsBeforeMeasured,
      settings: {
        amplifier: AMPLIFIER,
        bus: BUS,
        board: BOARD,
        speech: 'clips',
        announceRepeat: repeat,
        sinkRealtime: false,
      },
      wav: lastWav,
      ledWire: {
        frameBytes,
        ackBytes: ACK_BYTES,
        baud: BAUD,
        ms: ((frameBytes + ACK_BYTES) * BITS_PER_BYTE * 1000) / BAUD,
      },
      keypadErrors: probe.keypadErrors,
      mismatches: probe.mismatches,
    };
  } finally {
    await rawBroker.close();
    raw.close();
    await tb.close();
    await sink.close();
    await gpio.close();
    await bus.close();
    rmSync(tb.dataDir, { recursive: true, force: true });
    rmSync(sink.dir, { recursive: true, force: true });
  }
}
