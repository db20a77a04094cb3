// The peripheral directory: who may log in, checked against the config as it is when the check ends.
import { describe, expect, it } from 'vitest';
import { PeripheralDirectory } from '../../device/broker/directory.js';
import { generateSecret, hashSecret } from '../../device/broker/secrets.js';
import type { PeripheralConfig } from '../../device/config/schema.js';

async function kiosk(): Promise<{ secret: string; p: PeripheralConfig }> {
  const secret = generateSecret();
  return { secret, p: { id: 'kiosk-1', role: 'kiosk', secretHash: await hashSecret(secret) } };
}

describe('logging in while the config file is reloaded', () => {
  it('a device whose access did not change is let in (pairing another screen reloads the config)', async () => {
    const { secret, p } = await kiosk();
    const dir = new PeripheralDirectory([p]);
    const login = dir.verify('kiosk-1', secret);
    // The reload builds new objects for every peripheral, unchanged ones included.
    dir.replace([{ ...p }, { id: 'display-tv', role: 'display', secretHash: p.secretHash as string }]);
    expect(await login).toEqual({ id: 'kiosk-1', role: 'kiosk', counter: undefined });
  });

  it('a device revoked or given a new secret while its secret was being checked is refused', async () => {
    const { secret, p } = await kiosk();
    const other = await kiosk();
    const dir = new PeripheralDirectory([p]);
    const revoked = dir.verify('kiosk-1', secret);
    dir.replace([]);
    expect(await revoked).toBeNull();

    dir.replace([p]);
    const repaired = dir.verify('kiosk-1', secret);
    dir.replace([other.p]);
    expect(await repaired).toBeNull();
  });
});
