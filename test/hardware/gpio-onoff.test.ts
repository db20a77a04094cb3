// The onoff backend where there is no GPIO (this machine, CI): a clear error, and the office goes on. And
// the sysfs numbering of newer kernels.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { topics } from '../../protocol/index.js';
import type { PeripheralConfig } from '../../device/config/schema.js';
import { openOnoffChip, sysfsBase } from '../../device/drivers/gpio/onoff-chip.js';
import {
  DEVICES,
  officeConfig,
  peripheralsFor,
  request,
  startTestBox,
  type TestBox,
} from '../support/office.js';

let tb: TestBox | undefined;
afterEach(async () => {
  await tb?.close();
  tb = undefined;
});

function fakeSysfs(chips: { name: string; label: string; base: number }[]): string {
  const root = mkdtempSync(join(tmpdir(), 'sysfs-gpio-'));
  for (const c of chips) {
    mkdirSync(join(root, c.name));
    writeFileSync(join(root, c.name, 'label'), c.label + '\n');
    writeFileSync(join(root, c.name, 'base'), `${c.base}\n`);
  }
  return root;
}

describe('the onoff GPIO backend', () => {
  it('finds the header chip base: 0 on old kernels, 512 from Linux 6.6, 571 on a Pi 5', () => {
    expect(sysfsBase('auto', fakeSysfs([{ name: 'gpiochip0', label: 'pinctrl-bcm2835', base: 0 }]))).toBe(0);
    expect(
      sysfsBase(
        'auto',
        fakeSysfs([
          { name: 'gpiochip512', label: 'pinctrl-bcm2711', base: 512 },
          { name: 'gpiochip570', label: 'raspberrypi-exp-gpio', base: 570 },
        ]),
      ),
    ).toBe(512);
    expect(
      sysfsBase(
        'auto',
        fakeSysfs([
          { name: 'gpiochip512', label: 'gpio-brcmstb@107d508500', base: 512 },
          { name: 'gpiochip571', label: 'pinctrl-rp1', base: 571 },
        ]),
      ),
    ).toBe(571);
    expect(sysfsBase('auto', join(tmpdir(), 'no-such-sysfs'))).toBe(0);
    expect(sysfsBase(100)).toBe(100);
  });

  it('off a Raspberry Pi it refuses with a clear message', async () => {
    await expect(openOnoffChip({ backend: 'onoff' }, pino({ level: 'silent' }))).rejects.toThrow(
      /GPIO is not accessible here|onoff package could not be loaded/,
    );
  });

  it('a box configured for onoff without GPIO still runs; the keypad is not driven', async () => {
    const keypad: PeripheralConfig = {
      id: 'keypad-hw-1',
      role: 'keypad',
      counter: 1,
      driver: { kind: 'gpio-keypad', buttons: [{ pin: 17, action: 'next' }] } as PeripheralConfig['driver'],
    };
    const config = officeConfig([...(await peripheralsFor(DEVICES)), keypad], {
      hardware: { gpio: { backend: 'onoff' } },
    });
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (l: string) => void lines.push(l) });
    tb = await startTestBox({ config, log });
    const failed = lines.map(
      (l) => JSON.parse(l) as { msg: string; peripheral?: string; err?: { message: string } },
    );
    expect(failed.find((l) => l.msg === 'driver failed to start')).toMatchObject({
      peripheral: 'keypad-hw-1',
      err: { message: expect.stringMatching(/hardware\.gpio\.backend is onoff, but/) },
    });
    const kiosk = await tb.connect('kiosk-1');
    expect(await request(kiosk, topics.ticketRequest(), { service: 'van-thu' })).toMatchObject({
      status: 'ok',
    });
  });
});
