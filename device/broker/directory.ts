// The peripherals the box knows, from the config file: who they are and how to check their secret.
import { createHash } from 'node:crypto';
import type { PeripheralConfig } from '../config/schema.js';
import type { Identity } from './acl.js';
import { generateSecret, hashSecret, verifySecret } from '../../protocol/secrets.js';

export type SecretVerifier = (secret: string, stored: string) => Promise<boolean>;

/** Whether a peripheral's access is the same in both: its secret, role and counter. */
function sameAccess(a: PeripheralConfig | undefined, b: PeripheralConfig): boolean {
  return !!a && a.secretHash === b.secretHash && a.role === b.role && a.counter === b.counter;
}

const digestOf = (secret: string) => createHash('sha256').update(secret).digest('base64url');

export class PeripheralDirectory {
  private byId = new Map<string, PeripheralConfig>();
  /** Secrets already verified (by digest), so reconnects do not pay for scrypt again. */
  private verified = new Map<string, string>();
  /**
   * A hash of a random secret that nothing matches: an unknown device id is checked against it, so it costs
   * the same scrypt as a known one and the answer time does not tell which ids exist.
   */
  private readonly dummyHash: Promise<string> = hashSecret(generateSecret());

  constructor(
    peripherals: PeripheralConfig[],
    private readonly verifySecretHash: SecretVerifier = verifySecret,
  ) {
    this.replace(peripherals);
  }

  /** Swaps in a new list; returns the ids whose access was removed or changed (to be disconnected). */
  replace(peripherals: PeripheralConfig[]): string[] {
    const next = new Map(peripherals.map((p) => [p.id, p]));
    const changed: string[] = [];
    for (const [id, old] of this.byId) {
      if (!sameAccess(next.get(id), old)) changed.push(id);
    }
    this.byId = next;
    for (const id of changed) this.verified.delete(id);
    return changed;
  }

  get(id: string): PeripheralConfig | undefined {
    return this.byId.get(id);
  }

  all(): PeripheralConfig[] {
    return [...this.byId.values()];
  }

  /**
   * The identity for a device id and a secret already verified since the box started, without hashing;
   * null otherwise. Lets a device's own reconnects through while its id is locked out by someone guessing.
   */
  knownGood(id: string, secret: string): Identity | null {
    const p = this.byId.get(id);
    if (!p?.secretHash || this.verified.get(id) !== digestOf(secret)) return null;
    return { id: p.id, role: p.role, counter: p.counter };
  }

  /** The identity for a device id and secret, or null. Always one hash, known id or not. */
  async verify(id: string, secret: string): Promise<Identity | null> {
    const p = this.byId.get(id);
    if (!p?.secretHash) {
      // Unknown, or hardware the box drives (it never logs in): the same cost as a wrong secret.
      await this.verifySecretHash(secret, await this.dummyHash);
      return null;
    }
    const digest = digestOf(secret);
    if (this.verified.get(id) !== digest) {
      if (!(await this.verifySecretHash(secret, p.secretHash))) return null;
      // Revoked or changed while we were hashing? A reload of the file (pairing another screen writes it)
      // makes new objects for every peripheral, so compare the access, not the object.
      if (!sameAccess(this.byId.get(id), p)) return null;
      this.verified.set(id, digest);
    }
    return { id: p.id, role: p.role, counter: p.counter };
  }
}
