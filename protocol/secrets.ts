// Peripherals' secrets: random, shown once, stored only as an scrypt hash. A contract: whoever issues a secret
// (the box's CLI and admin page, the cloud's console API) writes this hash, and the box checks logins against it.
import { createHmac, randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

// Device secrets are 192-bit random values, so guessing is hopeless whatever the cost; scrypt still keeps a
// leaked config from revealing them. N=1024 (1 MiB per check) rather than the 16 MiB of password settings:
// the box checks once per device login, and glibc keeps freed scrypt buffers, which for 30 devices at
// 16 MiB added ~70 MB to the box. verifySecret reads the parameters from each stored hash, so hashes made
// with other settings keep working.
const PARAMS = { N: 1024, r: 8, p: 1 } as const;
const KEY_LEN = 32;

function derive(secret: string, salt: Buffer, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(secret, salt, KEY_LEN, { ...opts, maxmem: 64 * 1024 * 1024 }, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
}

/** A new device secret: 24 random bytes, base64url (32 characters). */
export function generateSecret(): string {
  return randomBytes(24).toString('base64url');
}

/** `scrypt$N$r$p$salt$hash`, all base64url. */
export async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(secret, salt, PARAMS);
  return ['scrypt', PARAMS.N, PARAMS.r, PARAMS.p, salt.toString('base64url'), key.toString('base64url')].join(
    '$',
  );
}

export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (![N, r, p].every((x) => Number.isInteger(x) && x > 0)) return false;
  const expected = Buffer.from(parts[5] as string, 'base64url');
  try {
    const key = await derive(secret, Buffer.from(parts[4] as string, 'base64url'), { N, r, p });
    return key.length === expected.length && timingSafeEqual(key, expected);
  } catch {
    return false;
  }
}

/**
 * A ticket's key (issue 14): what the ticket's QR code carries besides its public address (after `#`, so it is
 * never sent in a request line), proving the phone holds the ticket. HMAC-SHA256 of `<office>/<ticket id>`
 * under the box's ticket-key secret, 96 bits. The box makes it for each ticket it prints or shows; the cloud,
 * which the box's heartbeat tells the secret, checks it before it takes a rating from a phone.
 */
export function ticketKey(secret: string, officeId: string, ticketId: string): string {
  return createHmac('sha256', secret).update(`${officeId}/${ticketId}`).digest('base64url').slice(0, 16);
}

/** A new ticket-key secret: 32 random bytes, base64url. */
export function generateTicketKeySecret(): string {
  return randomBytes(32).toString('base64url');
}
