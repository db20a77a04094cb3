// Peripherals' credentials, wherever they are issued (the box's CLI and admin page, the cloud's console API):
// what an admin typed is checked, a 192-bit random secret is generated and shown once, and only its scrypt hash
// goes into the config. Imports protocol/ only, so the cloud can issue them without the box's code.
import QRCode from 'qrcode';
import {
  COUNTER_BOUND_ROLES,
  DEVICE_ID_RE,
  peripheralCredentialUri,
  ROLES,
  type Role,
} from '../protocol/index.js';
import type { PeripheralConfig } from '../protocol/config/schema.js';
import { generateSecret, hashSecret } from '../protocol/secrets.js';

export interface NewPeripheral {
  id: string;
  role: string;
  counter?: number | undefined;
  name?: string | undefined;
}

/** Checks what a person typed; returns the problems in words they can act on. */
export function peripheralInputProblems(p: NewPeripheral): string[] {
  const problems: string[] = [];
  if (!DEVICE_ID_RE.test(p.id))
    problems.push(
      `id "${p.id}": use 1-23 lowercase letters, digits and dashes, starting with a letter or digit`,
    );
  if (!(ROLES as readonly string[]).includes(p.role))
    problems.push(`role "${p.role}": must be one of ${ROLES.join(', ')}`);
  else if (COUNTER_BOUND_ROLES.includes(p.role as Role) && p.counter === undefined)
    problems.push(`a ${p.role} needs --counter`);
  if (p.counter !== undefined && (!Number.isInteger(p.counter) || p.counter < 1))
    problems.push(`counter "${p.counter}": must be a positive whole number`);
  return problems;
}

/** A fresh secret and its hash: the secret for the person (once), the hash for the config. */
export async function newSecret(): Promise<{ secret: string; secretHash: string }> {
  const secret = generateSecret();
  return { secret, secretHash: await hashSecret(secret) };
}

export async function createPeripheral(
  p: NewPeripheral,
): Promise<{ peripheral: PeripheralConfig; secret: string }> {
  const problems = peripheralInputProblems(p);
  if (problems.length > 0) throw new Error(problems.join('\n'));
  const { secret, secretHash } = await newSecret();
  const peripheral: PeripheralConfig = { id: p.id, role: p.role as Role, secretHash };
  if (p.counter !== undefined) peripheral.counter = p.counter;
  if (p.name !== undefined) peripheral.name = p.name;
  return { peripheral, secret };
}

/**
 * What a technician is handed for a peripheral, once: the secret as text, and a QR code of the credential URI
 * (`peripheralCredentialUri`) as its text and as a PNG data URL for an `<img>`.
 */
export async function credentialHandout(
  officeId: string,
  p: Pick<PeripheralConfig, 'id' | 'role' | 'counter'>,
  secret: string,
): Promise<{ secret: string; qr: { text: string; dataUrl: string } }> {
  const text = peripheralCredentialUri({ id: p.id, secret, role: p.role, counter: p.counter, officeId });
  return { secret, qr: await qrCode(text) };
}

/** A QR code of `text` for a screen to show and a device to scan: the text and a PNG data URL for an `<img>`. */
export async function qrCode(text: string): Promise<{ text: string; dataUrl: string }> {
  const dataUrl = await QRCode.toDataURL(text, { errorCorrectionLevel: 'M', margin: 1, scale: 6 });
  return { text, dataUrl };
}
