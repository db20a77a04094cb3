// A four-button rating box the box drives on GPIO (simulator backend), against a real box: it rates the
// ticket of the open rating session exactly once, and counts (never sends) presses outside a session. The
// office has the default five-level scale; the box's buttons are the older four (Không hài lòng … Rất hài
// lòng), so button n sends level n + 1.
import type { MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { topics } from '../../protocol/index.js';
import type { PeripheralConfig } from '../../device/config/schema.js';
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

const SCORE_PIN = { 1: 5, 2: 6, 3: 13, 4: 19 } as const;
const LAMP = 26;
const THANKS = 12;

let tb: TestBox | undefined;
let sim: GpioSimulator | undefined;
afterEach(async () => {
  await tb?.close();
  await sim?.close();
  tb = sim = undefined;
});

const ratingBox = (): PeripheralConfig => ({
  id: 'rating-hw-1',
  role: 'rating',
  counter: 1,
  driver: {
    kind: 'gpio-rating',
    buttons: Object.entries(SCORE_PIN).map(([score, pin]) => ({ pin, score: Number(score) })),
    debounceMs: 5,
    sessionLamp: { pin: LAMP },
    feedback: { pin: THANKS },
  } as PeripheralConfig['driver'],
});

async function press(score: keyof typeof SCORE_PIN) {
  sim!.button(SCORE_PIN[score], true);
  await new Promise((r) => setTimeout(r, 30));
  sim!.button(SCORE_PIN[score], false);
}

function lamp(on: boolean) {
  return new Promise<void>((resolve) => {
    const check = () => {
      const l = sim!.line(LAMP);
      if (l?.mode === 'out' && l.level === (on ? 1 : 0)) {
        sim!.off('line', check);
        resolve();
      }
    };
    sim!.on('line', check);
    check();
  });
}

/** The rating box's status once it has counted `ignored` ignored presses. */
function status(tv: MqttClient, ignored: number) {
  return nextMessage(
    tv,
    topics.status('rating-hw-1'),
    (_t, b) => (b as { ignoredPresses?: number }).ignoredPresses === ignored,
  ).then((m) => m.body);
}

describe('a GPIO rating box driven by the box', () => {
  it('rates each served ticket once, for its clerk, and ignores presses outside a session', async () => {
    sim = await GpioSimulator.start(0);
    const config = officeConfig([...(await peripheralsFor(DEVICES)), ratingBox()], {
      hardware: { gpio: { backend: 'sim', address: sim.address } },
    });
    tb = await startTestBox({ config });
    const tv = await tb.connect('display-tv');
    const kiosk = await tb.connect('kiosk-1');
    const keypad = await tb.connect('keypad-1');
    const ratings = () =>
      [...tb!.box.store.eventsAfter(0)]
        .filter((e) => e.event.type === 'rating.submitted')
        .map(
          (e) =>
            e.event.data as { number: string; score: number; scaleMax: number; clerk: { id: string } | null },
        );
    await lamp(false);
    let thanks = 0;
    sim.on('line', (l) => {
      if (l.pin === THANKS && l.level === 1) thanks++;
    });

    // Nobody served yet: the press is counted, not sent.
    await press(4);
    expect(await status(tv, 1)).toMatchObject({ ok: true, ignoredPresses: 1, ratings: 0 });

    for (let i = 0; i < 2; i++) await request(kiosk, topics.ticketRequest(), { service: 'van-thu' });
    await request(keypad, topics.counterCommand(1, 'sign_in'), { clerk: 'cc01' });
    await request(keypad, topics.counterCommand(1, 'next'), {});
    // A001 is only called (the citizen is walking over): still nothing to rate.
    await press(3);
    await status(tv, 2);

    // Served and finished: the session opens and the lamp lights.
    await request(keypad, topics.counterCommand(1, 'finish'), {});
    await lamp(true);
    // The citizen presses 4, then 1 straight after: only the first counts.
    await press(4);
    await press(1);
    await status(tv, 3);
    await lamp(false);
    // Its top button is Rất hài lòng, level 5 of 5 (not 4 of 5, Hài lòng).
    expect(ratings()).toEqual([
      expect.objectContaining({
        number: 'A001',
        score: 5,
        scaleMax: 5,
        clerk: expect.objectContaining({ id: 'cc01' }),
      }),
    ]);
    await expect.poll(() => thanks).toBe(1); // the thank-you light flashed once

    // The next citizen is called: A001 is rated, A002 not served yet, so presses are ignored.
    await request(keypad, topics.counterCommand(1, 'next'), {});
    await press(2);
    await status(tv, 4);
    await request(keypad, topics.counterCommand(1, 'serve'), {});
    await lamp(true);
    await press(2);
    await lamp(false);
    await expect.poll(() => ratings().length).toBe(2);
    // Its second button is Bình thường, level 3.
    expect(ratings()[1]).toMatchObject({ number: 'A002', score: 3, clerk: { id: 'cc01' } });
    const last = await nextMessage(
      tv,
      topics.status('rating-hw-1'),
      (_t, b) => (b as { ratings?: number }).ratings === 2,
    );
    expect(last.body).toMatchObject({ ratings: 2, ignoredPresses: 4 });
    // The light's line and the status travel apart (GPIO socket, MQTT): wait for the flash, not the status.
    await expect.poll(() => thanks).toBe(2);
  });
});
