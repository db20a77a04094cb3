// Starts a driver for every peripheral whose config has a `driver`, and stops them all on close.
import equal from 'fast-deep-equal';
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
    const d = await startDriver(host, p, log);
    if (d) running.push(d);
  }
  return running;
}

async function startDriver(host: DriverHost, p: PeripheralConfig, log: Logger): Promise<Driver | null> {
  const kind = p.driver?.kind ?? '';
  const factory = DRIVERS[kind];
  if (!factory) {
    log.error({ peripheral: p.id, kind }, 'no driver of this kind in this build; peripheral not driven');
    return null;
  }
  try {
    const d = await factory(host, p);
    log.info({ peripheral: p.id, kind }, 'driver started');
    return d;
  } catch (err) {
    log.error({ err, peripheral: p.id, kind }, 'driver failed to start');
    return null;
  }
}

/**
 * The running drivers, by peripheral, for a box whose config changes live (device/fleet/): a new config
 * restarts the drivers whose peripheral changed (and all of them when the shared `hardware` section did),
 * starts the new ones, stops the removed ones, and leaves the others running.
 */
export class DriverSet {
  private readonly running = new Map<string, { peripheral: PeripheralConfig; driver: Driver | null }>();

  private constructor(
    private readonly host: DriverHost,
    private readonly log: Logger,
  ) {}

  static async start(host: DriverHost, log: Logger): Promise<DriverSet> {
    const set = new DriverSet(host, log);
    for (const p of drivenPeripherals(host.config))
      set.running.set(p.id, { peripheral: p, driver: await startDriver(host, p, log) });
    return set;
  }

  /** Brings the drivers in line with `next` (the host's config is already `next`); the ids restarted. */
  async reconcile(prev: BoxConfig, next: BoxConfig): Promise<{ stopped: string[]; started: string[] }> {
    const hardwareChanged = !equal(prev.hardware, next.hardware);
    const wanted = new Map(drivenPeripherals(next).map((p) => [p.id, p]));
    const stopped: string[] = [];
    for (const [id, r] of this.running) {
      const p = wanted.get(id);
      if (p && !hardwareChanged && equal(p, r.peripheral)) continue;
      await r.driver?.close().catch((err: unknown) => this.log.warn({ err, id }, 'driver close failed'));
      this.running.delete(id);
      stopped.push(id);
    }
    const started: string[] = [];
    for (const [id, p] of wanted) {
      if (this.running.has(id)) continue;
      this.running.set(id, { peripheral: p, driver: await startDriver(this.host, p, this.log) });
      started.push(id);
    }
    return { stopped, started };
  }

  async close(): Promise<void> {
    for (const [id, r] of this.running)
      await r.driver?.close().catch((err: unknown) => this.log.warn({ err, id }, 'driver close failed'));
    this.running.clear();
  }
}
