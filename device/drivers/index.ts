// Starts a driver for every peripheral whose config has a `driver`, and stops them all on close.
import type { Logger } from 'pino';
import type { BoxConfig, PeripheralConfig } from '../config/schema.js';
import { GPIO_DRIVERS } from './gpio/index.js';
import type { Driver, DriverFactory, DriverHost } from './host.js';
import { SERIAL_DRIVERS } from './serial/index.js';

export type { Driver, DriverFactory, DriverHost } from './host.js';

export const DRIVERS: Record<string, DriverFactory> = { ...SERIAL_DRIVERS, ...GPIO_DRIVERS };

/** The peripherals the box drives itself. */
export function drivenPeripherals(cfg: BoxConfig): PeripheralConfig[] {
  return cfg.peripherals.filter((p) => p.driver !== undefined);
}

/**
 * Starts every configured driver. A driver that fails to start (a missing serial port) is logged and
 * retried by the driver itself where it can; it never stops the box: the office runs on its other parts.
 */
export async function startDrivers(host: DriverHost, log: Logger): Promise<Driver[]> {
  const running: Driver[] = [];
  for (const p of drivenPeripherals(host.config)) {
    const kind = p.driver?.kind ?? '';
    const factory = DRIVERS[kind];
    if (!factory) {
      log.error({ peripheral: p.id, kind }, 'no driver of this kind in this build; peripheral not driven');
      continue;
    }
    try {
      running.push(await factory(host, p));
      log.info({ peripheral: p.id, kind }, 'driver started');
    } catch (err) {
      log.error({ err, peripheral: p.id, kind }, 'driver failed to start');
    }
  }
  return running;
}
