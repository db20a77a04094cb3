// What a simulated office's hardware is: which simulators to start, where each listens, and what is
// behind it (the boards on a bus, the buttons and relays on the GPIO lines). Plain data, so the CLI can
// build it from a box config (cli/sim-office.ts) while this folder imports nothing of device/.

/** A network ESC/POS printer for one kiosk. */
export interface PrinterPlan {
  /** The kiosk peripheral whose driver prints here. */
  id: string;
  /** `host:port`. */
  listen: string;
  /** Print head width: 576 (80 mm) or 384 (58 mm). */
  dots: number;
  /** ESC t number -> code page, for printers in codepage mode (the driver's `codepages`, inverted). */
  codepages?: Record<number, string>;
}

export interface LedBoardPlan {
  /** The ledboard peripheral. */
  id: string;
  address: number;
  columns: number;
  lines: number;
  glyphs: 'vi' | 'ascii';
}

/** An RS-485 bus (behind a TCP converter) and the boards on it. */
export interface LedBusPlan {
  /** The bus id of `hardware.serial.buses`. */
  id: string;
  listen: string;
  boards: LedBoardPlan[];
}

/** A serial keypad or barcode scanner on a TCP byte stream. */
export interface LineDevicePlan {
  id: string;
  kind: 'keypad' | 'scanner';
  listen: string;
  counter?: number;
}

/** One GPIO line and what is wired to it. */
export interface GpioLinePlan {
  pin: number;
  peripheral: string;
  use: 'button' | 'relay' | 'lamp' | 'feedback';
  /** A button's action (`next`) or score (`4`). */
  button?: string;
  /** The action a long press does, and how long that is. */
  longPress?: string;
  longPressMs?: number;
  /** How long a level must be stable to count (a press is held a few times longer). */
  debounceMs?: number;
}

export interface GpioPlan {
  /** `host:port` or a Unix socket path. */
  listen: string;
  lines: GpioLinePlan[];
}

/** The lobby's loudspeakers: one sink per distinct player address. */
export interface AudioPlan {
  listen: string;
  announcers: string[];
}

export interface OfficeHardwarePlan {
  printers: PrinterPlan[];
  ledBuses: LedBusPlan[];
  lineDevices: LineDevicePlan[];
  gpio: GpioPlan | null;
  audio: AudioPlan[];
}

/** Every address the plan listens on, by a stable key (`printer:kiosk-1`, `bus:led-bus`, `gpio`, …). */
export function planAddresses(plan: OfficeHardwarePlan): Map<string, string> {
  const m = new Map<string, string>();
  for (const p of plan.printers) m.set(`printer:${p.id}`, p.listen);
  for (const b of plan.ledBuses) m.set(`bus:${b.id}`, b.listen);
  for (const d of plan.lineDevices) m.set(`${d.kind}:${d.id}`, d.listen);
  if (plan.gpio) m.set('gpio', plan.gpio.listen);
  plan.audio.forEach((a, i) => m.set(`audio:${i}`, a.listen));
  return m;
}

export const isEmptyPlan = (plan: OfficeHardwarePlan): boolean => planAddresses(plan).size === 0;

/** `host:port` → host and port; null for anything else (a Unix socket path). */
export function parseHostPort(address: string): { host: string; port: number } | null {
  const m = /^(\[[^\]]+\]|[^/:]*):(\d{1,5})$/.exec(address);
  if (!m) return null;
  const host = (m[1] as string).replace(/^\[|\]$/g, '') || '127.0.0.1';
  return { host, port: Number(m[2]) };
}
