// Peripherals' secret hashes are the box's business: it checks each device's login against them. Admins'
// views of a config (an office's overrides, inherited and effective config, its versions, a unit's template)
// show HIDDEN_SECRET_HASH instead, to viewers and admins alike; a save that sends the placeholder back keeps
// the hash stored for that peripheral. New secrets come only from the peripherals API (shown once).
import { HttpError } from '../http/context.js';

/** What an admin's view shows in place of each `secretHash`. */
export const HIDDEN_SECRET_HASH = 'hidden';

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** A copy of `value` with every `secretHash` string replaced by the placeholder. */
export function hideSecretHashes<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v: unknown) => hideSecretHashes(v)) as T;
  if (!isObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value))
    out[k] = k === 'secretHash' && typeof v === 'string' ? HIDDEN_SECRET_HASH : hideSecretHashes(v);
  return out as T;
}

/** The stored hashes by peripheral id, from the documents the save replaces (effective config, overrides). */
function storedHashes(docs: unknown[]): Map<string, string> {
  const found = new Map<string, string>();
  for (const doc of docs) {
    const list = isObject(doc) ? doc.peripherals : undefined;
    if (!Array.isArray(list)) continue;
    for (const p of list)
      if (isObject(p) && typeof p.id === 'string' && typeof p.secretHash === 'string')
        if (p.secretHash !== HIDDEN_SECRET_HASH && !found.has(p.id)) found.set(p.id, p.secretHash);
  }
  return found;
}

/**
 * `incoming` with each placeholder put back to the hash stored for that peripheral. A placeholder for a
 * peripheral the office does not have is refused (422): its secret must be issued by the peripherals API.
 */
export function keepSecretHashes<T>(incoming: T, replaced: unknown[], where: string): T {
  if (!isObject(incoming) || !Array.isArray(incoming.peripherals)) return incoming;
  const stored = storedHashes(replaced);
  const errors: { path: string; message: string }[] = [];
  const peripherals = incoming.peripherals.map((p: unknown, i) => {
    if (!isObject(p) || p.secretHash !== HIDDEN_SECRET_HASH) return p;
    const hash = typeof p.id === 'string' ? stored.get(p.id) : undefined;
    if (hash) return { ...p, secretHash: hash };
    errors.push({
      path: `peripherals[${i}].secretHash`,
      message:
        `"${HIDDEN_SECRET_HASH}" keeps a stored secret, but ${where} has no peripheral "${String(p.id)}" ` +
        'with one: add it with POST /api/v1/fleet/offices/<office>/peripherals, which issues its secret',
    });
    return p;
  });
  if (errors.length)
    throw new HttpError(422, 'config_invalid', `${where}: a hidden secret hash has nothing to keep`, {
      errors,
    });
  return { ...incoming, peripherals } as T;
}
