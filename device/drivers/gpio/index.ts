// The GPIO and voice drivers, by kind.
import type { DriverFactory } from '../host.js';

export const GPIO_DRIVERS: Record<string, DriverFactory> = {};
