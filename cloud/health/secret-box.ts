// Webhook signing secrets at rest: AES-256-GCM under a key derived (HKDF) from the cloud's master key, bound
// to the rule id (additional data), so a database dump alone does not reveal them and a ciphertext cannot be
// moved to another rule. The secret itself is shown once, when the cloud generates it.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const keyOf = (masterKey: Buffer): Buffer =>
  Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), 'motcua-lobby webhook secrets v1', 32));

export function sealSecret(masterKey: Buffer, ruleId: string, secret: string): string {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', keyOf(masterKey), iv);
  c.setAAD(Buffer.from(ruleId));
  const ct = Buffer.concat([c.update(secret, 'utf8'), c.final()]);
  return ['v1', iv, c.getAuthTag(), ct]
    .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
    .join('.');
}

export function openSecret(masterKey: Buffer, ruleId: string, sealed: string): string {
  const [v, iv, tag, ct] = sealed.split('.');
  if (v !== 'v1' || !iv || !tag || ct === undefined) throw new Error('webhook secret: unknown format');
  const d = createDecipheriv('aes-256-gcm', keyOf(masterKey), Buffer.from(iv, 'base64url'));
  d.setAAD(Buffer.from(ruleId));
  d.setAuthTag(Buffer.from(tag, 'base64url'));
  return Buffer.concat([d.update(Buffer.from(ct, 'base64url')), d.final()]).toString('utf8');
}
