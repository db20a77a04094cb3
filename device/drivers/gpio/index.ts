// The GPIO and voice drivers, by kind.
import type { DriverFactory } from '../host.js';
import { startVoice } from '../voice/driver.js';
import { startGpioKeypad } from './keypad.js';
import { startGpioRating } from './rating.js';

export const GPIO_DRIVERS: Record<string, DriverFactory> = {
  'gpio-keypad': startGpioKeypad,
  'gpio-rating': startGpioRating,
  voice: startVoice,
};
