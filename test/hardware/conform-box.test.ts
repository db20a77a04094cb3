// `lobby sim conform box`: the kit, acting as each role, passes against a real box.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkBox, formatResult } from '../../hardware-sim/conform/index.js';
import {
  DEVICES,
  request,
  secretOf,
  startTestBox,
  type DeviceSpec,
  type TestBox,
} from '../support/office.js';
import { expectDocumented } from './conform-names.js';

/**
 * A rating box and a scanner at counter 2 too: the kit must use the counter it is given for every topic (run at
 * counter 1 only, a kit that always said counter 1 passed).
 */
const AT_COUNTER_2: DeviceSpec[] = [
  { id: 'rating-2', role: 'rating', counter: 2 },
  { id: 'scanner-2', role: 'scanner', counter: 2 },
];
const CHECKED = [...DEVICES, ...AT_COUNTER_2];

let tb: TestBox;
beforeAll(async () => {
  tb = await startTestBox({ devices: CHECKED });
  // A ticket waiting for each of counter 2's keypad and clerk panel, so each calls and finishes one (the kiosk's
  // own check issues the one counter 1 calls).
  const kiosk = await tb.connect('kiosk-1.setup');
  for (let i = 0; i < 2; i++) await request(kiosk, 'lobby/v1/tickets/request', { service: 'ho-tich' });
  await kiosk.endAsync();
});
afterAll(async () => {
  await tb?.close();
});

const watch = { id: 'display-tv', secret: secretOf('display-tv') };

describe('conformance kit, checking a box', () => {
  for (const d of CHECKED) {
    it(`passes every check as ${d.id} (${d.role})`, async () => {
      const results = await checkBox({
        url: tb.mqttUrl,
        id: d.id,
        secret: secretOf(d.id),
        role: d.role,
        counter: d.counter,
        allowChanges: true,
        watch,
      });
      const failed = results.filter((r) => r.status === 'fail').map(formatResult);
      expect(failed).toEqual([]);
      expect(results.filter((r) => r.status === 'pass').length).toBeGreaterThan(8);
      expectDocumented(
        results.map((r) => r.name),
        'box',
        d.role,
      );
    });
  }

  it('says why when the box answers wrongly: a keypad checked as if it were a kiosk', async () => {
    const results = await checkBox({
      url: tb.mqttUrl,
      id: 'keypad-1',
      secret: secretOf('keypad-1'),
      role: 'kiosk',
    });
    const failed = results.filter((r) => r.status === 'fail');
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.map((r) => r.detail).join('\n')).toMatch(
      /expected error "unknown_service", got "forbidden"/,
    );
  });
});
