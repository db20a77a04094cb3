// Guessing device secrets over MQTT, with the box's clock in the test's hand: how many wrong logins a device id
// and an address get (protocol/limits.ts), when the lock-out lifts, and that the real device's own logins and
// the attempts refused unchecked are never held against it. Real clients, real CONNACKs.
import net from 'node:net';
import mqtt from 'mqtt';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { hashAdminPassword } from '../../device/web/admin-auth.js';
import {
  HTTP_GUESS_WINDOW_MS,
  LOGIN_FAILURE_WINDOW_MS,
  MAX_ADMIN_LOGIN_FAILURES,
  MAX_LOGIN_FAILURES_PER_ADDRESS,
  MAX_LOGIN_FAILURES_PER_DEVICE,
} from '../../protocol/limits.js';
import {
  DEVICES,
  officeConfig,
  peripheralsFor,
  secretOf,
  startTestBox,
  type TestBox,
} from '../support/office.js';

let now = Date.now();
let office: TestBox;
beforeAll(async () => {
  const devices = [
    ...DEVICES,
    ...['a', 'b', 'c', 'd'].map((x) => ({ id: `kiosk-${x}`, role: 'kiosk' as const })),
  ];
  const admin = { passwordHash: await hashAdminPassword('mat-khau-dung') };
  office = await startTestBox({
    config: officeConfig(await peripheralsFor(devices), { admin }),
    clock: () => now,
  });
});
afterAll(async () => {
  await office?.close();
});
// Every test starts with the guesses of the one before long forgotten.
beforeEach(() => {
  now += 2 * LOGIN_FAILURE_WINDOW_MS;
});

/**
 * The CONNACK return code for a login (0: in; 4: wrong secret; 5: refused unchecked, locked out). `from`: the
 * source address (on Linux all of 127.0.0.0/8 is loopback, so 127.0.0.2 is a second machine to the box).
 */
function login(id: string, secret: string, from = '127.0.0.1'): Promise<number> {
  return new Promise((resolve) => {
    const { hostname, port } = new URL(office.mqttUrl);
    const c = new mqtt.MqttClient(
      () => net.createConnection({ host: hostname, port: Number(port), localAddress: from }),
      { clientId: id, username: id, password: secret, reconnectPeriod: 0, connectTimeout: 5000 },
    );
    c.on('connect', () => {
      c.end(true);
      resolve(0);
    });
    c.on('error', (err: Error & { code?: number }) => {
      c.end(true);
      resolve(err.code ?? -1);
    });
  });
}

async function guesses(id: string, n: number, from?: string): Promise<number[]> {
  const codes: number[] = [];
  for (let i = 0; i < n; i++) codes.push(await login(id, `guess-${i}`, from));
  return codes;
}

const times = (n: number, code: number) => Array.from({ length: n }, () => code);

describe('credentials', () => {
  it('a device id without a secret is refused (CONNACK 5), and not counted as a guess', async () => {
    const code = await new Promise<number>((resolve) => {
      const c = mqtt.connect(office.mqttUrl, {
        clientId: 'kiosk-a',
        username: 'kiosk-a',
        reconnectPeriod: 0,
      });
      c.on('connect', () => (c.end(true), resolve(0)));
      c.on('error', (err: Error & { code?: number }) => (c.end(true), resolve(err.code ?? -1)));
    });
    expect(code).toBe(5);
    expect(await guesses('kiosk-a', MAX_LOGIN_FAILURES_PER_DEVICE)).toEqual(
      times(MAX_LOGIN_FAILURES_PER_DEVICE, 4),
    );
  });
});

describe('wrong secrets for one device id', () => {
  it(`${MAX_LOGIN_FAILURES_PER_DEVICE} are checked, then the id is locked out until the window has passed`, async () => {
    const max = MAX_LOGIN_FAILURES_PER_DEVICE;
    expect(await guesses('kiosk-a', max + 1)).toEqual([...times(max, 4), 5]);
    // Locked: even the right secret is refused unchecked (this device never logged in since the start).
    expect(await login('kiosk-a', secretOf('kiosk-a'))).toBe(5);
    now += LOGIN_FAILURE_WINDOW_MS - 1;
    expect(await login('kiosk-a', secretOf('kiosk-a'))).toBe(5);
    now += 1;
    expect(await login('kiosk-a', secretOf('kiosk-a'))).toBe(0);
  });

  it('the window slides: the oldest failures expire first', async () => {
    const half = MAX_LOGIN_FAILURES_PER_DEVICE / 2;
    expect(await guesses('kiosk-b', half)).toEqual(times(half, 4));
    now += LOGIN_FAILURE_WINDOW_MS / 2;
    expect(await guesses('kiosk-b', half + 1)).toEqual([...times(half, 4), 5]);
    // The first half has expired, the second has not: room for exactly `half` more.
    now += LOGIN_FAILURE_WINDOW_MS / 2;
    expect(await guesses('kiosk-b', half + 1)).toEqual([...times(half, 4), 5]);
  });

  it('a right secret in between is not counted as a failure', async () => {
    const max = MAX_LOGIN_FAILURES_PER_DEVICE;
    expect(await guesses('kiosk-c', max - 1)).toEqual(times(max - 1, 4));
    expect(await login('kiosk-c', secretOf('kiosk-c'))).toBe(0);
    expect(await guesses('kiosk-c', 2)).toEqual([4, 5]);
    // Known good since it got in: the device itself is let in while its id is locked out.
    expect(await login('kiosk-c', secretOf('kiosk-c'))).toBe(0);
  });
});

describe('wrong secrets from one address', () => {
  // Spread over ids so no id reaches its own limit.
  const SPREAD = ['kiosk-1', 'keypad-1', 'keypad-2', 'rating-1', 'scanner-1'];
  /** As many wrong secrets from 127.0.0.1 as an address may try, over SPREAD; each is checked. */
  const exhaustAddress = async () => {
    const max = MAX_LOGIN_FAILURES_PER_ADDRESS;
    const codes: number[] = [];
    for (let i = 0; i < max; i++) codes.push(await login(SPREAD[i % SPREAD.length] as string, `guess-${i}`));
    expect(codes).toEqual(times(max, 4));
  };

  it(`${MAX_LOGIN_FAILURES_PER_ADDRESS} are checked over all ids; a refusal by the address limit does not count against the id`, async () => {
    await exhaustAddress();
    now += LOGIN_FAILURE_WINDOW_MS / 2;
    // The address is locked out, for an id it never tried too.
    expect(await guesses('kiosk-d', MAX_LOGIN_FAILURES_PER_DEVICE)).toEqual(
      times(MAX_LOGIN_FAILURES_PER_DEVICE, 5),
    );
    // Once the address's failures expire, kiosk-d has all its own tries: the refusals above were not its.
    now += LOGIN_FAILURE_WINDOW_MS / 2;
    expect(await guesses('kiosk-d', MAX_LOGIN_FAILURES_PER_DEVICE + 1)).toEqual([
      ...times(MAX_LOGIN_FAILURES_PER_DEVICE, 4),
      5,
    ]);
  });

  it('another address is not locked out by this one, while an id keeps its own count from any address', async () => {
    await exhaustAddress();
    expect(await login('kiosk-d', 'sai')).toBe(5);
    // The kiosk at 127.0.0.2 has its guesses checked and gets in with its secret.
    expect(await login('kiosk-d', 'sai', '127.0.0.2')).toBe(4);
    expect(await login('kiosk-d', secretOf('kiosk-d'), '127.0.0.2')).toBe(0);
    // kiosk-1 failed its share from 127.0.0.1: from 127.0.0.2 it has only the rest of its own limit.
    const left = MAX_LOGIN_FAILURES_PER_DEVICE - MAX_LOGIN_FAILURES_PER_ADDRESS / SPREAD.length;
    expect(await guesses('kiosk-1', left + 1, '127.0.0.2')).toEqual([...times(left, 4), 5]);
  });
});

describe("wrong admin passwords (the box's HTTP API)", () => {
  const login = async (password: string) => {
    const res = await fetch(`http://127.0.0.1:${office.box.httpPort}/api/admin/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ password }),
    });
    return { status: res.status, retryAfter: res.headers.get('retry-after') };
  };

  it(`after ${MAX_ADMIN_LOGIN_FAILURES} the answer is 429 with Retry-After: the seconds until the oldest failure expires`, async () => {
    const start = now;
    expect((await login('sai-0')).status).toBe(401);
    now += 60_000;
    for (let i = 1; i < MAX_ADMIN_LOGIN_FAILURES; i++) expect((await login(`sai-${i}`)).status).toBe(401);
    expect(await login('sai')).toEqual({
      status: 429,
      retryAfter: String((HTTP_GUESS_WINDOW_MS - 60_000) / 1000),
    });
    now += 100_500;
    expect(await login('sai')).toEqual({
      status: 429,
      retryAfter: String(Math.ceil((start + HTTP_GUESS_WINDOW_MS - now) / 1000)),
    });
    // The right password too, until the oldest failure expires: then one more try is checked.
    expect((await login('mat-khau-dung')).status).toBe(429);
    now = start + HTTP_GUESS_WINDOW_MS;
    expect((await login('mat-khau-dung')).status).toBe(200);
  });
});
