// The `onoff` GPIO backend: real lines on a Raspberry Pi through sysfs. Imported only on a box whose
// config says `hardware.gpio.backend: onoff`; onoff (and its native epoll addon) is an optional dependency.
import { readFileSync, readdirSync } from 'node:fs';
import type { Logger } from 'pino';
import { LineRegistry, type GpioChip, type InputLine, type LineOptions, type OutputLine } from './chip.js';
import type { GpioHardware } from './config.js';

// The part of onoff's API used here, declared locally so the project type-checks where the optional
// dependency did not install (its native build failed, or it was pruned on a box without GPIO).
interface OnoffGpio {
  readSync(): 0 | 1;
  writeSync(value: 0 | 1): void;
  watch(callback: (err: Error | null | undefined, value: 0 | 1) => void): void;
  unwatchAll(): void;
  unexport(): void;
}
interface OnoffModule {
  Gpio: {
    new (
      gpio: number,
      direction: 'in' | 'out' | 'high' | 'low',
      edge: 'none' | 'both',
      options: { activeLow: boolean },
    ): OnoffGpio;
    accessible: boolean;
  };
}

async function loadOnoff(): Promise<OnoffModule> {
  const name = 'onoff'; // a variable, so TypeScript does not need the package to be installed
  try {
    return (await import(name)) as OnoffModule;
  } catch (err) {
    throw new Error(
      `hardware.gpio.backend is onoff, but the onoff package could not be loaded (${(err as Error).message}). ` +
        'Install it on the box (npm install onoff; it builds a native addon, so make and g++ are needed).',
    );
  }
}

/**
 * The sysfs number of the first header line. Kernels before 6.6 start at 0; later ones at 512 (Pi 1–4) or
 * 571 (Pi 5). The header's chip is the pinctrl one (label `pinctrl-bcm2711`, `pinctrl-rp1`, …).
 */
export function sysfsBase(setting: 'auto' | number, root = '/sys/class/gpio'): number {
  if (setting !== 'auto') return setting;
  let entries: string[];
  try {
    entries = readdirSync(root).filter((e) => e.startsWith('gpiochip'));
  } catch {
    return 0;
  }
  const chips = entries.map((e) => {
    const read = (f: string) => {
      try {
        return readFileSync(`${root}/${e}/${f}`, 'utf8').trim();
      } catch {
        return '';
      }
    };
    return { label: read('label'), base: Number(read('base')) };
  });
  const pinctrl = chips.find((c) => c.label.startsWith('pinctrl-') && Number.isFinite(c.base));
  return pinctrl?.base ?? 0;
}

export async function openOnoffChip(
  hw: Extract<GpioHardware, { backend: 'onoff' }>,
  log: Logger,
): Promise<GpioChip> {
  const { Gpio } = await loadOnoff();
  if (!Gpio.accessible)
    throw new Error(
      'hardware.gpio.backend is onoff, but GPIO is not accessible here (/sys/class/gpio): not a Raspberry Pi, ' +
        'or the user is not in the gpio group',
    );
  const base = sysfsBase(hw.sysfsBase ?? 'auto');
  log.info({ sysfsBase: base }, 'GPIO through onoff');
  const registry = new LineRegistry();
  const open = new Set<{ unexport(): void }>();
  return {
    async input(pin: number, opts: LineOptions, onChange: (active: boolean) => void): Promise<InputLine> {
      registry.claim(pin, opts.owner);
      const gpio = new Gpio(base + pin, 'in', 'both', { activeLow: opts.activeLow });
      open.add(gpio);
      let last = gpio.readSync() === 1;
      gpio.watch((err, value) => {
        if (err) return log.error({ err, pin }, 'GPIO watch failed');
        const active = value === 1;
        if (active === last) return;
        last = active;
        onChange(active);
      });
      return {
        read: () => last,
        release: () => {
          gpio.unwatchAll();
          gpio.unexport();
          open.delete(gpio);
          registry.free(pin);
        },
      };
    },
    async output(pin: number, opts: LineOptions): Promise<OutputLine> {
      registry.claim(pin, opts.owner);
      // 'low'/'high' set the direction and the electrical level at once, so a relay never clicks on at start.
      const gpio = new Gpio(base + pin, opts.activeLow ? 'high' : 'low', 'none', {
        activeLow: opts.activeLow,
      });
      open.add(gpio);
      return {
        write: (active) => gpio.writeSync(active ? 1 : 0),
        release: () => {
          gpio.writeSync(0);
          gpio.unexport();
          open.delete(gpio);
          registry.free(pin);
        },
      };
    },
    onAvailability(listener) {
      listener(true);
      return () => undefined;
    },
    async close() {
      for (const g of open) g.unexport();
      open.clear();
    },
  };
}
