// The peripheral directory: who may log in, checked against the config as it is when the check ends; stored
// hashes old and damaged; what a reload of the peripherals does to the devices connected.
import { randomBytes, scryptSync } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import { describe, expect, it } from 'vitest';
import { PeripheralDirectory } from '../../device/broker/directory.js';
import { generateSecret, hashSecret, verifySecret } from '../../protocol/secrets.js';
import type { PeripheralConfig } from '../../device/config/schema.js';
import { topics } from '../../protocol/index.js';
import {
  connectDevice,
  officeConfig,
  peripheralsFor,
  request,
  secretOf,
  startTestBox,
} from '../support/office.js';

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

describe('stored secret hashes', () => {
  it('a hash made with other scrypt settings still lets its device in (config files outlive the defaults)', async () => {
    const salt = randomBytes(16);
    // N=2048: not the box's own setting (1024) nor scrypt's default (16384).
    const key = scryptSync('older-secret', salt, 32, { N: 2048, r: 8, p: 1 });
    const stored = ['scrypt', 2048, 8, 1, salt.toString('base64url'), key.toString('base64url')].join('$');
    const dir = new PeripheralDirectory([{ id: 'kiosk-1', role: 'kiosk', secretHash: stored }]);
    expect(await dir.verify('kiosk-1', 'older-secret')).toEqual({
      id: 'kiosk-1',
      role: 'kiosk',
      counter: undefined,
    });
    expect(await dir.verify('kiosk-1', 'older-secreT')).toBeNull();
  });

  it('a damaged hash in the config refuses every secret, and the box keeps serving the others', async () => {
    const good = await hashSecret('s');
    const [, , , , salt, key] = good.split('$') as string[];
    const damaged: Record<string, string> = {
      'kiosk-a': 'scrypt$1024$8$1$c2FsdA', // a part missing
      'kiosk-b': `scrypt$x$8$1$${salt}$${key}`, // N not a number
      'kiosk-c': `scrypt$1000$8$1$${salt}$${key}`, // N not a power of two: scrypt itself refuses
      'kiosk-d': `scrypt$1024$8$0$${salt}$${key}`, // p = 0
      'kiosk-e': `scrypt$1024$8$1$${salt}$${(key as string).slice(0, 20)}`, // the key cut short
      'kiosk-f': `scrypt$1024$8$1.5$${salt}$${key}`, // p not an integer
    };
    const peripherals: PeripheralConfig[] = [
      ...Object.entries(damaged).map(([id, secretHash]) => ({ id, role: 'kiosk' as const, secretHash })),
      ...(await peripheralsFor([{ id: 'keypad-1', role: 'keypad', counter: 1 }])),
    ];
    const tb = await startTestBox({ config: officeConfig(peripherals) });
    try {
      for (const id of Object.keys(damaged)) {
        // Neither the secret the hash was made from nor the damaged text itself gets in.
        for (const secret of ['s', damaged[id] as string])
          await expect(connectDevice(tb.mqttUrl, id, secret), id).rejects.toMatchObject({ code: 4 });
      }
      const keypad = await tb.connect('keypad-1');
      expect(keypad.connected).toBe(true);
    } finally {
      await tb.close();
    }
  });
});

describe('reloading the peripherals (the config file re-read, e.g. after pairing a screen)', () => {
  async function box() {
    const tb = await startTestBox();
    /** What the box does on a reload: swap the list in, disconnect those whose access changed. */
    const reload = (change: (p: PeripheralConfig) => PeripheralConfig, extra: PeripheralConfig[] = []) => {
      const changed = tb.box.directory.replace([
        ...tb.box.directory.all().map((p) => change({ ...p })),
        ...extra,
      ]);
      for (const id of changed) tb.box.broker.disconnect(id);
      return changed;
    };
    return { tb, reload };
  }
  const closed = (c: MqttClient) => new Promise<void>((resolve) => c.once('close', () => resolve()));

  it('devices whose access is unchanged stay connected when another screen is added', async () => {
    const { tb, reload } = await box();
    try {
      const clients = await Promise.all(['kiosk-1', 'keypad-1', 'display-tv'].map((id) => tb.connect(id)));
      const hash = (tb.box.directory.get('kiosk-1') as PeripheralConfig).secretHash as string;
      expect(reload((p) => p, [{ id: 'display-2', role: 'display', secretHash: hash }])).toEqual([]);
      // Still connected and still served.
      expect(clients.every((c) => c.connected)).toBe(true);
      expect(
        (await request(clients[1] as MqttClient, topics.counterCommand(1, 'sign_in'), { clerk: 'cc01' }))
          .status,
      ).toBe('ok');
    } finally {
      await tb.close();
    }
  });

  it('a keypad moved to another counter is disconnected and then acts for its new counter only', async () => {
    const { tb, reload } = await box();
    try {
      const keypad = await tb.connect('keypad-1');
      const gone = closed(keypad);
      expect(reload((p) => (p.id === 'keypad-1' ? { ...p, counter: 3 } : p))).toEqual(['keypad-1']);
      await gone;
      const again = await tb.connect('keypad-1.again');
      expect((await request(again, topics.counterCommand(1, 'sign_in'), { clerk: 'cc01' })).error?.code).toBe(
        'forbidden',
      );
      expect((await request(again, topics.counterCommand(3, 'sign_in'), { clerk: 'cc01' })).status).toBe(
        'ok',
      );
    } finally {
      await tb.close();
    }
  });

  it('a device given another role is disconnected and then has the rights of the new role', async () => {
    const { tb, reload } = await box();
    try {
      const scanner = await tb.connect('scanner-1');
      const gone = closed(scanner);
      expect(reload((p) => (p.id === 'scanner-1' ? { ...p, role: 'keypad' } : p))).toEqual(['scanner-1']);
      await gone;
      const again = await tb.connect('scanner-1.again');
      expect((await request(again, topics.counterCommand(1, 'sign_in'), { clerk: 'cc01' })).status).toBe(
        'ok',
      );
    } finally {
      await tb.close();
    }
  });

  it('a device given a new secret is disconnected and its old secret refused', async () => {
    const { tb, reload } = await box();
    try {
      const kiosk = await tb.connect('kiosk-1');
      const gone = closed(kiosk);
      const fresh = await hashSecret('new-secret');
      expect(reload((p) => (p.id === 'kiosk-1' ? { ...p, secretHash: fresh } : p))).toEqual(['kiosk-1']);
      await gone;
      await expect(connectDevice(tb.mqttUrl, 'kiosk-1', secretOf('kiosk-1'))).rejects.toMatchObject({
        code: 4,
      });
      const back = await connectDevice(tb.mqttUrl, 'kiosk-1', 'new-secret');
      await back.endAsync(true);
    } finally {
      await tb.close();
    }
  });
});

describe('the cost of logging in', () => {
  it('a device reconnecting with its verified secret costs no second hash; a wrong or changed one does', async () => {
    let hashes = 0;
    const counting = (secret: string, stored: string) => {
      hashes++;
      return verifySecret(secret, stored);
    };
    const { secret, p } = await kiosk();
    const dir = new PeripheralDirectory([p], counting);
    const base = hashes;
    expect(await dir.verify('kiosk-1', secret)).not.toBeNull();
    expect(await dir.verify('kiosk-1', secret)).not.toBeNull();
    expect(hashes - base).toBe(1);
    expect(await dir.verify('kiosk-1', 'wrong')).toBeNull();
    expect(hashes - base).toBe(2);
    // A reload that leaves its access as it was (a name given) keeps it verified; a new hash does not.
    dir.replace([{ ...p, name: 'Kiosk' }]);
    expect(await dir.verify('kiosk-1', secret)).not.toBeNull();
    expect(hashes - base).toBe(2);
    dir.replace([{ ...p, secretHash: await hashSecret(secret) }]);
    expect(await dir.verify('kiosk-1', secret)).not.toBeNull();
    expect(hashes - base).toBe(3);
  });
});
