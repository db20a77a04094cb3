// Creating peripheral credentials: a random secret, shown once; only its hash goes into the box config.
import { COUNTER_BOUND_ROLES, DEVICE_ID_RE, ROLES, type Role } from '../protocol/index.js';
import type { PeripheralConfig } from '../device/config/schema.js';
import { generateSecret, hashSecret } from '../device/broker/secrets.js';
import {
  addPeripheralToFile,
  loadConfigFile,
  removePeripheralFromFile,
  setInConfigFile,
} from '../device/config/load.js';

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

export async function createPeripheral(
  p: NewPeripheral,
): Promise<{ peripheral: PeripheralConfig; secret: string }> {
  const problems = peripheralInputProblems(p);
  if (problems.length > 0) throw new Error(problems.join('\n'));
  const secret = generateSecret();
  const peripheral: PeripheralConfig = {
    id: p.id,
    role: p.role as Role,
    secretHash: await hashSecret(secret),
  };
  if (p.counter !== undefined) peripheral.counter = p.counter;
  if (p.name !== undefined) peripheral.name = p.name;
  return { peripheral, secret };
}

/**
 * Gives an existing peripheral a fresh secret (pairing a screen): only the hash is written to the config
 * file; the running box drops connections made with the old secret when it applies the file.
 */
export async function rekeyPeripheral(
  file: string,
  id: string,
): Promise<{ peripheral: PeripheralConfig; secret: string }> {
  const secret = generateSecret();
  const secretHash = await hashSecret(secret);
  // Read, find and write with no await in between, so a concurrent edit cannot shift the index.
  const cfg = loadConfigFile(file);
  const index = cfg.peripherals.findIndex((p) => p.id === id);
  const existing = cfg.peripherals[index];
  if (!existing) throw new Error(`no peripheral "${id}" in ${file}`);
  if (existing.driver) throw new Error(`"${id}" is driven by the box; it has no secret to pair`);
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
