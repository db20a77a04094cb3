// The local admin page's password and sessions. The password is stored only as an scrypt hash in the box
// config; sessions are random tokens kept (as digests) in memory, so a box restart signs everyone out.
import { createHash, randomBytes, scrypt } from 'node:crypto';
import { verifySecret } from '../../protocol/secrets.js';

/** A person's password, unlike a device's random secret, can be guessed: 16 MiB scrypt per check. */
const PASSWORD_PARAMS = { N: 16384, r: 8, p: 1 } as const;
export const MIN_ADMIN_PASSWORD_LENGTH = 10;

export function adminPasswordProblem(password: string): string | null {
  if (password.length < MIN_ADMIN_PASSWORD_LENGTH)
    return `the admin password needs at least ${MIN_ADMIN_PASSWORD_LENGTH} characters`;
  return null;
}

/** `scrypt$N$r$p$salt$hash`, the format device secrets use, so `verifySecret` checks it. */
export async function hashAdminPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await new Promise<Buffer>((resolve, reject) =>
    scrypt(password, salt, 32, { ...PASSWORD_PARAMS, maxmem: 64 * 1024 * 1024 }, (err, k) =>
      err ? reject(err) : resolve(k),
    ),
  );
  const { N, r, p } = PASSWORD_PARAMS;
  return ['scrypt', N, r, p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

export const verifyAdminPassword = (password: string, hash: string) => verifySecret(password, hash);

const digest = (token: string) => createHash('sha256').update(token).digest('base64url');

export class AdminSessions {
  private readonly sessions = new Map<string, { createdAt: number; lastUsed: number }>();

  constructor(
    private readonly clock: () => number,
    private readonly maxAgeMs = 8 * 3_600_000,
    private readonly idleMs = 3_600_000,
  ) {}

  create(): string {
    const token = randomBytes(32).toString('base64url');
    const now = this.clock();
    this.sessions.set(digest(token), { createdAt: now, lastUsed: now });
    return token;
  }

  /** True for a live session; using it keeps it alive. */
  check(token: string | undefined): boolean {
    if (!token) return false;
    const key = digest(token);
    const s = this.sessions.get(key);
    const now = this.clock();
    if (!s || now - s.createdAt > this.maxAgeMs || now - s.lastUsed > this.idleMs) {
      this.sessions.delete(key);
      return false;
    }
    s.lastUsed = now;
    return true;
  }

  drop(token: string | undefined): void {
    if (token) this.sessions.delete(digest(token));
  }

  /** A new password ends every session. */
  clear(): void {
    this.sessions.clear();
  }
}
