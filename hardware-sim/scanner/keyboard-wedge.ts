// A receipt scanner in USB keyboard mode (HID "keyboard wedge"), as most barcode and QR scanners ship: it
// types what it reads into whatever has the focus, one keystroke per character at its own pace, then its
// suffix key (Enter unless configured otherwise). The lookup station reads it exactly so; in a browser test
// the keystrokes go through playwright's keyboard, as a real scanner's go through the OS.

/** Where the keystrokes go: playwright's `page.keyboard` is one. */
export interface Keyboard {
  press(key: string): Promise<void>;
}

export interface WedgeOptions {
  /** Time between two keystrokes (a real scanner types a character in 2–15 ms). Default 8 ms. */
  interKeyMs?: number;
  /** The key after the code: Enter (the default, CR), Tab, or none. */
  suffix?: 'Enter' | 'Tab' | null;
  /** Characters some scanners are set to type before the code (an AIM identifier such as `]C1`). */
  prefix?: string;
}

export class KeyboardWedgeScanner {
  /** Every code scanned, in order. */
  readonly scans: string[] = [];

  constructor(
    private readonly keyboard: Keyboard,
    private readonly opts: WedgeOptions = {},
  ) {}

  /** Types a code as the scanner reads it from a barcode or QR code. */
  async scan(code: string): Promise<void> {
    this.scans.push(code);
    const gap = this.opts.interKeyMs ?? 8;
    for (const ch of `${this.opts.prefix ?? ''}${code}`) {
      await this.keyboard.press(ch);
      if (gap > 0) await new Promise((r) => setTimeout(r, gap));
    }
    const suffix = this.opts.suffix === undefined ? 'Enter' : this.opts.suffix;
    if (suffix) await this.keyboard.press(suffix);
  }
}
