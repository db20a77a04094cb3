// Config errors for the byte-stream drivers name the field and say what is wrong.
import { describe, expect, it } from 'vitest';
import type { PeripheralConfig } from '../../device/config/schema.js';
import { officeConfig } from '../support/office.js';

const bus = { id: 'rs485-1', link: { path: '/dev/ttyUSB0', baudRate: 9600 } };
const withDriver = (role: string, driver: unknown, counter?: number) =>
  ({ id: 'dev-1', role, ...(counter ? { counter } : {}), driver }) as PeripheralConfig;

describe('serial driver config', () => {
  it('points inside the driver instead of saying "Expected union value"', () => {
    expect(() => officeConfig([withDriver('kiosk', { kind: 'escpos', link: { tcp: 'printer' } })])).toThrow(
      /peripherals\[0\]\.driver\.link: /,
    );
    expect(() =>
      officeConfig([withDriver('kiosk', { kind: 'escpos', link: { tcp: 'p:9100' }, paper: '57mm' })]),
    ).toThrow(/peripherals\[0\]\.driver\.paper: /);
  });

  it('checks the role, the bus and that two boards do not share an address', () => {
    expect(() =>
      officeConfig([withDriver('keypad', { kind: 'escpos', link: { tcp: 'p:9100' } }, 1)]),
    ).toThrow(/peripherals\[0\]\.driver\.kind: a escpos driver acts as a kiosk, but dev-1 is a keypad/);
    const board = (id: string, address: number, busId = 'rs485-1') =>
      ({
        id,
        role: 'ledboard',
        driver: { kind: 'led-rs485', bus: busId, address, columns: 16, lines: 2 },
      }) as PeripheralConfig;
    expect(() =>
      officeConfig([board('led-a', 1, 'rs485-9')], { hardware: { serial: { buses: [bus] } } }),
    ).toThrow(/peripherals\[0\]\.driver\.bus: no bus "rs485-9" in hardware\.serial\.buses/);
    expect(() =>
      officeConfig([board('led-a', 1), board('led-b', 1)], { hardware: { serial: { buses: [bus] } } }),
    ).toThrow(/peripherals\[1\]\.driver\.address: address 1 on bus rs485-1 is already led-a's/);
    expect(
      officeConfig([board('led-a', 1), board('led-b', 2)], { hardware: { serial: { buses: [bus] } } })
        .peripherals,
    ).toHaveLength(2);
  });
});
