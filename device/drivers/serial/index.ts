// The byte-stream drivers, by kind. Each is loaded on first use, so a box without a printer never loads
// the canvas renderer, and one without serial ports never loads serialport's native binding.
import type { DriverFactory } from '../host.js';

export const SERIAL_DRIVERS: Record<string, DriverFactory> = {
  escpos: async (host, p) => (await import('./escpos/driver.js')).startEscposDriver(host, p),
  'serial-keypad': async (host, p) => (await import('./line-devices.js')).startSerialKeypad(host, p),
  'serial-scanner': async (host, p) => (await import('./line-devices.js')).startSerialScanner(host, p),
  'serial-lookup-scanner': async (host, p) =>
    (await import('./line-devices.js')).startSerialLookupScanner(host, p),
  'led-rs485': async (host, p) => (await import('./led/driver.js')).startLedBoardDriver(host, p),
};
