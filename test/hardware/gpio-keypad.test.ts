// A push-button keypad the box drives through the GPIO simulator (backend `sim`, over its socket), against
// a real box: presses become counter commands, refusals flash the feedback LED, and the simulator may go
// away and come back.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { topics } from '../../protocol/index.js';
import type { PeripheralConfig } from '../../device/config/schema.js';
import { GpioSimulator } from '../../hardware-sim/gpio/simulator.js';
import { GpioPanel } from '../../hardware-sim/gpio/panel.js';
import {
  DEVICES,
  nextMessage,
  officeConfig,
  peripheralsFor,
  request,
  startTestBox,
  type TestBox,
} from '../support/office.js';

const NEXT = 17;
const NO_SHOW = 27;
const PAUSE = 22;
const LED = 24;

let tb: TestBox | undefined;
let sim: GpioSimulator | undefined;
let panel: GpioPanel | undefined;
afterEach(async () => {
  await panel?.close();
  await tb?.close();
  await sim?.close();
  tb = sim = panel = undefined;
});

const keypad = (): PeripheralConfig => ({
  id: 'keypad-hw-1',
  role: 'keypad',
  counter: 1,
  driver: {
    kind: 'gpio-keypad',
    buttons: [
      { pin: NEXT, action: 'next', longPress: 'recall' },
      { pin: NO_SHOW, action: 'no_show' },
      { pin: PAUSE, action: 'pause_resume' },
    ],
    debounceMs: 5,
    longPressMs: 1000,
    feedback: { pin: LED },
  } as PeripheralConfig['driver'],
});

async function office(address: string) {
  const config = officeConfig([...(await peripheralsFor(DEVICES)), keypad()], {
    hardware: { gpio: { backend: 'sim', address } },
  });
  tb = await startTestBox({ config });
  const tv = await tb.connect('display-tv');
  const kiosk = await tb.connect('kiosk-1');
  return { tv, kiosk };
}

/** The counter's state once `test` holds for it. */
function counterState(tv: MqttClient, test: (s: CounterState) => boolean) {
  return nextMessage(tv, topics.counterState(1), (_t, b) => test(b as CounterState)).then(
    (m) => m.body as CounterState,
  );
}
interface CounterState {
  status: string;
  current: { number: string; state: string; recalls: number } | null;
}

/** Counts the feedback LED switching on; `reached(n)` waits for the n-th flash to end. */
function flashes(p: GpioPanel) {
  let n = 0;
  p.on('line', (l) => {
    if (l.pin === LED && l.mode === 'out' && l.level === 1) n++;
  });
  return {
    async reached(count: number) {
      await expect.poll(() => n).toBe(count);
      await p.waitFor(LED, (l) => l.level === 0);
    },
  };
}

describe('a GPIO keypad driven by the box', () => {
  it('its buttons call, recall, mark absent and pause, as an MQTT keypad would', async () => {
    sim = await GpioSimulator.start(0);
    const { tv, kiosk } = await office(sim.address);
    panel = await GpioPanel.connect(sim.address);
    // The box declared its lines: the buttons as inputs (pressed = low), the LED as an output, off.
    await panel.waitFor(NEXT, (l) => l.mode === 'in' && l.activeLow && l.level === 1);
    await panel.waitFor(LED, (l) => l.mode === 'out' && l.level === 0);
    const presence = await nextMessage(
      tv,
      topics.presence('keypad-hw-1'),
      (_t, b) => (b as { online: boolean }).online,
    );
    expect(presence.body).toMatchObject({ online: true, driven: true });

    for (let i = 0; i < 2; i++)
      expect((await request(kiosk, topics.ticketRequest(), { service: 'van-thu' })).status).toBe('ok');
    const led = flashes(panel);

    // A short press of NEXT calls A001.
    const called = counterState(tv, (s) => s.current?.number === 'A001');
    await panel.press(NEXT, 30);
    expect(await called).toMatchObject({ status: 'open', current: { number: 'A001', state: 'called' } });
    await led.reached(1); // one flash: done

    // Held long, NEXT recalls A001 (while still held), and the release does not also call the next.
    const recalled = counterState(tv, (s) => s.current?.recalls === 1);
    panel.button(NEXT, true);
    expect(await recalled).toMatchObject({ current: { number: 'A001', recalls: 1 } });
    panel.button(NEXT, false);
    await led.reached(2);

    // NO_SHOW frees the counter.
    const absent = counterState(tv, (s) => s.current === null);
    await panel.press(NO_SHOW, 30);
    await absent;
    await led.reached(3);

    // PAUSE toggles: paused, then open again.
    const paused = counterState(tv, (s) => s.status === 'paused');
    await panel.press(PAUSE, 30);
    await paused;
    await led.reached(4);
    // NEXT while paused is refused: nothing called, three flashes.
    await panel.press(NEXT, 30);
    await led.reached(4 + 3);
    const resumed = counterState(tv, (s) => s.status === 'open');
    await panel.press(PAUSE, 30);
    await resumed;

    // The next press calls A002: the refused one skipped nobody.
    const second = counterState(tv, (s) => s.current?.number === 'A002');
    await panel.press(NEXT, 30);
    await second;
  });

  it('an empty queue is refused and flashed, and changes nothing', async () => {
    sim = await GpioSimulator.start(0);
    const { tv } = await office(sim.address);
    panel = await GpioPanel.connect(sim.address);
    await panel.waitFor(NEXT, (l) => l.mode === 'in');
    const led = flashes(panel);
    await panel.press(NEXT, 30);
    await led.reached(3);
    const state = await counterState(tv, () => true);
    expect(state).toMatchObject({ status: 'closed', current: null });
  });

  it('on a Unix socket, the box waits for the simulator, and finds it again after it restarts', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'gpio-sim-')), 'gpio.sock');
    // The box starts first: the simulator is not there yet, the keypad shows offline.
    const { tv, kiosk } = await office(path);
    const offline = await nextMessage(tv, topics.presence('keypad-hw-1'));
    expect(offline.body).toMatchObject({ online: false });

    sim = await GpioSimulator.start(path);
    panel = await GpioPanel.connect(path);
    await panel.waitFor(NEXT, (l) => l.mode === 'in');
    await nextMessage(tv, topics.presence('keypad-hw-1'), (_t, b) => (b as { online: boolean }).online);
    expect((await request(kiosk, topics.ticketRequest(), { service: 'van-thu' })).status).toBe('ok');
    expect((await request(kiosk, topics.ticketRequest(), { service: 'van-thu' })).status).toBe('ok');
    const first = counterState(tv, (s) => s.current?.number === 'A001');
    await panel.press(NEXT, 30);
    await first;

    // The simulator stops: the keypad goes offline; a new one on the same socket gets the lines again.
    const gone = nextMessage(
      tv,
      topics.presence('keypad-hw-1'),
      (_t, b) => !(b as { online: boolean }).online,
    );
    await panel.close();
    await sim.close();
    panel = undefined;
    await gone;
    sim = await GpioSimulator.start(path);
    panel = await GpioPanel.connect(path);
    await panel.waitFor(NEXT, (l) => l.mode === 'in', 10_000);
    const second = counterState(tv, (s) => s.current?.number === 'A002');
    await panel.press(NEXT, 30);
    await second;
  });

  it('a config with a line used twice, or no hardware.gpio, is refused naming the field', async () => {
    const base = await peripheralsFor(DEVICES);
    const k = keypad();
    const rating: PeripheralConfig = {
      id: 'rating-hw-1',
      role: 'rating',
      counter: 1,
      driver: { kind: 'gpio-rating', buttons: [{ score: 1, pin: NEXT }] } as PeripheralConfig['driver'],
    };
    expect(() =>
      officeConfig([...base, k, rating], { hardware: { gpio: { backend: 'sim', address: 'x:1' } } }),
    ).toThrow(
      /peripherals\[11\]\.driver: GPIO 17 \(score 1 button\) is already used by keypad-hw-1 \(next button\)/,
    );
    expect(() => officeConfig([...base, k])).toThrow(
      /hardware\.gpio: peripherals\[10\]\.driver uses GPIO lines/,
    );
    const wrongRole = { ...k, role: 'scanner' as const };
    expect(() =>
      officeConfig([...base, wrongRole], { hardware: { gpio: { backend: 'sim', address: 'x:1' } } }),
    ).toThrow(/a gpio-keypad driver acts as a keypad, but keypad-hw-1 is a scanner/);
  });
});
