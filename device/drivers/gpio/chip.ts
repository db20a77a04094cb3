// The GPIO lines the drivers see, whatever drives them: onoff on a Raspberry Pi, or the simulator over a
// socket. Levels are logical (true = active: a button pressed, a relay closed); each backend applies the
// line's active-low wiring. One chip per box, shared by every GPIO driver, so a line is claimed once.
import type { GpioHardware } from './config.js';
import type { DriverHost } from '../host.js';

export interface InputLine {
  /** The last level seen (true = active). */
  read(): boolean;
  release(): void;
}

export interface OutputLine {
  write(active: boolean): void;
  release(): void;
}

export interface LineOptions {
  activeLow: boolean;
  /** Who claims the line, for error messages: `keypad-hw-1 (next button)`. */
  owner: string;
}

export interface GpioChip {
  /** Claims an input line; `onChange` gets every level change (raw: drivers debounce). */
  input(pin: number, opts: LineOptions, onChange: (active: boolean) => void): Promise<InputLine>;
  /** Claims an output line, inactive at first. */
  output(pin: number, opts: LineOptions): Promise<OutputLine>;
  /** Whether the lines can be used now (the simulator may be away); called at once with the current state. */
  onAvailability(listener: (up: boolean) => void): () => void;
  close(): Promise<void>;
}

/** Keeps track of who holds which line, so a line claimed twice is a clear error, not a silent fight. */
export class LineRegistry {
  private readonly owners = new Map<number, string>();

  claim(pin: number, owner: string): void {
    const held = this.owners.get(pin);
    if (held !== undefined) throw new Error(`GPIO ${pin} is already used by ${held}; ${owner} cannot use it`);
    this.owners.set(pin, owner);
  }

  free(pin: number): void {
    this.owners.delete(pin);
  }
}

interface Shared {
  chip: Promise<GpioChip>;
  users: number;
}
const chips = new WeakMap<DriverHost, Shared>();

/** Opens the chosen backend (lazily: onoff is imported only on a box configured for it). */
export async function openChip(hw: GpioHardware, host: DriverHost): Promise<GpioChip> {
  if (hw.backend === 'onoff') {
    const { openOnoffChip } = await import('./onoff-chip.js');
    return openOnoffChip(hw, host.log.child({ gpio: 'onoff' }));
  }
  const { SimChip } = await import('./sim-chip.js');
  return SimChip.connect(hw.address, host.log.child({ gpio: 'sim' }));
}

/**
 * The box's GPIO chip, opened on first use and closed when the last driver lets go. Keyed by the host,
 * so two boxes in one process (tests) each have their own.
 */
export async function acquireChip(host: DriverHost): Promise<{ chip: GpioChip; release(): Promise<void> }> {
  const hw = host.config.hardware?.gpio;
  if (!hw)
    throw new Error(
      'hardware.gpio is not configured: set it to { backend: onoff } on a Raspberry Pi, or { backend: sim, address: … }',
    );
  let shared = chips.get(host);
  if (!shared) {
    shared = { chip: openChip(hw, host), users: 0 };
    chips.set(host, shared);
    shared.chip.catch(() => chips.delete(host));
  }
  shared.users++;
  const s = shared;
  let chip: GpioChip;
  try {
    chip = await s.chip;
  } catch (err) {
    s.users--;
    throw err;
  }
  let released = false;
  return {
    chip,
    async release() {
      if (released) return;
      released = true;
      if (--s.users === 0) {
        chips.delete(host);
        await chip.close();
      }
    },
  };
}

/**
 * Runs a driver on the box's shared chip: the chip is released when the driver closes, or at once when
 * it fails to start.
 */
export async function onSharedChip(
  host: DriverHost,
  run: (chip: GpioChip) => Promise<{ close(): Promise<void> }>,
): Promise<{ close(): Promise<void> }> {
  const { chip, release } = await acquireChip(host);
  try {
    const driver = await run(chip);
    return {
      async close() {
        await driver.close();
        await release();
      },
    };
  } catch (err) {
    await release();
    throw err;
  }
}
