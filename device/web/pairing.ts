// One-time pairing codes: the admin page shows one for a screen; the screen trades it once for a fresh secret.
import { randomInt } from 'node:crypto';

/** No 0/O, 1/I: a code is read off one screen and typed on another. 32 letters, 8 of them: 40 bits. */
const ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
const LENGTH = 8;
export const PAIRING_TTL_MS = 10 * 60_000;

export interface PairingCode {
  code: string;
  deviceId: string;
  expiresAt: number;
}

/** How people write a code: any case, with or without the dash or spaces. */
export function normalizeCode(input: string): string {
  return input.toUpperCase().replace(/[^A-Z0-9]/g, '');
}

export function formatCode(code: string): string {
  return `${code.slice(0, 4)}-${code.slice(4)}`;
}

/** Pending codes live in memory only: they are short-lived, and a box restart simply voids them. */
export class PairingCodes {
  private readonly byCode = new Map<string, PairingCode>();

  constructor(private readonly clock: () => number) {}

  /** A new code for a device; any earlier code for it stops working. */
  create(deviceId: string, ttlMs = PAIRING_TTL_MS): PairingCode {
    this.cancel(deviceId);
    let code = '';
    do {
      code = Array.from({ length: LENGTH }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');
    } while (this.byCode.has(code));
    const entry = { code, deviceId, expiresAt: this.clock() + ttlMs };
    this.byCode.set(code, entry);
    return entry;
  }

  /** The device a code pairs, once: the code is spent by this call. Null when unknown or expired. */
  redeem(input: string): string | null {
    this.prune();
    const code = normalizeCode(input);
    const entry = this.byCode.get(code);
    if (!entry) return null;
    this.byCode.delete(code);
    return entry.deviceId;
  }

  pendingFor(deviceId: string): PairingCode | undefined {
    this.prune();
    return [...this.byCode.values()].find((c) => c.deviceId === deviceId);
  }

  cancel(deviceId: string): void {
    for (const [code, c] of this.byCode) if (c.deviceId === deviceId) this.byCode.delete(code);
  }

  private prune(): void {
    const now = this.clock();
    for (const [code, c] of this.byCode) if (c.expiresAt <= now) this.byCode.delete(code);
  }
}
