// The keypad driver's own rules on an in-memory chip and fake timers: one request in flight at a time,
// and long-press mapping, without a box.
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Reply } from '../../protocol/index.js';
import type { PeripheralConfig } from '../../device/config/schema.js';
import type { DriverHost } from '../../device/drivers/host.js';
import type { GpioChip } from '../../device/drivers/gpio/chip.js';
import { runGpioKeypad } from '../../device/drivers/gpio/keypad.js';
import type { GpioKeypadDriver } from '../../device/drivers/gpio/config.js';

function memoryChip() {
  const inputs = new Map<number, (active: boolean) => void>();
  const chip: GpioChip = {
    async input(pin, _o, onChange) {
      inputs.set(pin, onChange);
      return { read: () => false, release: () => inputs.delete(pin) };
    },
    async output() {
      return { write: () => undefined, release: () => undefined };
    },
    onAvailability(l) {
      l(true);
      return () => undefined;
    },
    async close() {},
  };
  return { chip, set: (pin: number, active: boolean) => inputs.get(pin)?.(active) };
}

function fakeHost(answer: (topic: string) => Promise<Reply>) {
  const sent: string[] = [];
  const host = {
    log: pino({ level: 'silent' }),
    clock: () => Date.now(),
    request: async (_p: PeripheralConfig, topic: string) => {
      sent.push(topic.split('/').pop() as string);
      return answer(topic);
    },
    subscribe: () => () => undefined,
    reportStatus: async () => undefined,
    reportPresence: async () => undefined,
  } as unknown as DriverHost;
  return { host, sent };
}

const p: PeripheralConfig = { id: 'keypad-hw-1', role: 'keypad', counter: 1 };
const cfg: GpioKeypadDriver = {
  kind: 'gpio-keypad',
  buttons: [{ pin: 17, action: 'next', longPress: 'recall' }],
  activeLow: true,
  debounceMs: 20,
  longPressMs: 1000,
};
const ok = (topic: string): Reply => ({ id: 'x', topic, status: 'ok', data: { events: [] } });

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

async function press(set: (pin: number, a: boolean) => void, holdMs: number) {
  set(17, true);
  await vi.advanceTimersByTimeAsync(holdMs);
  set(17, false);
  await vi.advanceTimersByTimeAsync(50);
}

describe('the GPIO keypad driver', () => {
  it('drops a second press while the first is still being answered (no skipped citizen)', async () => {
    // The box takes 500 ms to answer (a slow disk): the clerk presses again meanwhile.
    const { host, sent } = fakeHost((t) => new Promise((r) => setTimeout(() => r(ok(t)), 500)));
    const { chip, set } = memoryChip();
    const driver = await runGpioKeypad(host, p, cfg, chip);
    await press(set, 100); // short press: next, on release
    await press(set, 100); // while the first is in flight: dropped
    await vi.advanceTimersByTimeAsync(1000);
    expect(sent).toEqual(['next']);
    await press(set, 100); // answered by now: a new press counts
    await vi.advanceTimersByTimeAsync(1000);
    expect(sent).toEqual(['next', 'next']);
    await driver.close();
  });

  it('a long press sends the long action only', async () => {
    const { host, sent } = fakeHost(async (t) => ok(t));
    const { chip, set } = memoryChip();
    const driver = await runGpioKeypad(host, p, cfg, chip);
    await press(set, 1500);
    expect(sent).toEqual(['recall']);
    await driver.close();
  });
});
