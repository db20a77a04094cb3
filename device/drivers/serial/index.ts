// The byte-stream drivers, by kind.
import type { DriverFactory } from '../host.js';

export const SERIAL_DRIVERS: Record<string, DriverFactory> = {};
