// Creating peripheral credentials: a random secret, shown once; only its hash goes into the box config.
import { COUNTER_BOUND_ROLES, DEVICE_ID_RE, ROLES, type Role } from '../protocol/index.js';
import type { PeripheralConfig } from '../device/config/schema.js';
import { generateSecret, hashSecret } from '../device/broker/secrets.js';

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
