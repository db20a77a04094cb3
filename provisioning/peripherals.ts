// Peripherals in the box's config file (the CLI and the box's admin page): created, re-keyed, revoked. The
// credentials themselves come from credentials.ts.
import type { PeripheralConfig } from '../device/config/schema.js';
import {
  addPeripheralToFile,
  loadConfigFile,
  removePeripheralFromFile,
  setInConfigFile,
} from '../device/config/load.js';
import { createPeripheral, newSecret, type NewPeripheral } from './credentials.js';

export { createPeripheral, peripheralInputProblems, type NewPeripheral } from './credentials.js';

/**
 * Gives an existing peripheral a fresh secret (pairing a screen): only the hash is written to the config
 * file; the running box drops connections made with the old secret when it applies the file.
 */
export async function rekeyPeripheral(
  file: string,
  id: string,
): Promise<{ peripheral: PeripheralConfig; secret: string }> {
  const { secret, secretHash } = await newSecret();
  // Read, find and write with no await in between, so a concurrent edit cannot shift the index.
  const cfg = loadConfigFile(file);
  const index = cfg.peripherals.findIndex((p) => p.id === id);
  const existing = cfg.peripherals[index];
  if (!existing) throw new Error(`no peripheral "${id}" in ${file}`);
  // A lookup station is a screen even when the box reads its receipt scanner (a serial line): it pairs.
  if (existing.driver && existing.role !== 'lookup')
    throw new Error(`"${id}" is driven by the box; it has no secret to pair`);
  setInConfigFile(file, ['peripherals', index, 'secretHash'], secretHash);
  return { peripheral: { ...existing, secretHash }, secret };
}

/** Creates a peripheral in the config file; returns its secret (shown once). */
export async function addPeripheral(
  file: string,
  p: NewPeripheral,
): Promise<{ peripheral: PeripheralConfig; secret: string }> {
  const created = await createPeripheral(p);
  addPeripheralToFile(file, created.peripheral);
  return created;
}

/** Revokes a peripheral: removed from the config file; a running box disconnects it. */
export function revokePeripheral(file: string, id: string): boolean {
  return removePeripheralFromFile(file, id);
}
