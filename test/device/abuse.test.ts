// Abuse of the box's broker and HTTP auth with real sockets: slow consumers, oversized and early packets,
// connection and subscription floods, foreign origins, raced and repeated guessing. In every case the
// offender is refused or cut, and the box keeps serving everyone else.
import { connect as tcpConnect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqttPacket, { type Packet } from 'mqtt-packet';
import WebSocket from 'ws';
import mqtt from 'mqtt';
import {
  MAX_LOGIN_FAILURES_PER_DEVICE,
  MAX_PACKET_BYTES,
  MAX_PACKET_BYTES_BEFORE_LOGIN,
  MAX_PENDING_LOGINS_PER_ADDRESS,
  MAX_QUEUED_BYTES_PER_CLIENT,
  MAX_QUEUED_MESSAGES_OFFLINE,
  MAX_SUBSCRIPTIONS_PER_CLIENT,
  MAX_TOPIC_BYTES,
  MAX_ADMIN_LOGIN_FAILURES,
  MAX_DEVICE_SECRET_FAILURES,
} from '../../protocol/limits.js';
import { PeripheralDirectory } from '../../device/broker/directory.js';
import { verifySecret } from '../../protocol/secrets.js';
import {
  connectPacket,
  peripheralsFor,
  request,
  secretOf,
  startTestBox,
  type TestBox,
} from '../support/office.js';
import { startWebBox, type WebBox } from '../web/support.js';

let office: TestBox;
let port: number;

beforeAll(async () => {
  office = await startTestBox();
  port = office.box.mqttPort;
});
afterAll(async () => {
  await office?.close();
});

/** A raw MQTT connection: packets as parsed, and whether the box has closed it. */
class Raw {
  readonly packets: Packet[] = [];
  closed = false;
  private readonly parser = mqttPacket.parser();
  private readonly waiters: (() => void)[] = [];

  constructor(readonly socket: Socket) {
    this.parser.on('packet', (p) => {
      this.packets.push(p);
      this.wake();
    });
    socket.on('data', (d) => this.parser.parse(d));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  static open(): Promise<Raw> {
    return new Promise((resolve, reject) => {
      const s = tcpConnect(port, '127.0.0.1', () => resolve(new Raw(s)));
      s.once('error', reject);
    });
  }

  /** Opens, logs in as a device and waits for the CONNACK. */
  static async login(id: string, extra: Record<string, unknown> = {}): Promise<Raw> {
    const raw = await Raw.open();
    raw.send(connectPacket(id, secretOf(id.split('.')[0] as string), extra));
    const ack = await raw.next('connack');
    expect(ack).toMatchObject({ returnCode: 0 });
    return raw;
  }

  send(p: Record<string, unknown>): void {
    this.socket.write(mqttPacket.generate(p as unknown as Packet));
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Waits until `ok()` holds (re-checked on every packet and on close), or fails after `ms`. */
  async until(ok: () => boolean, what: string, ms = 10_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!ok()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
  }

  async next(cmd: string): Promise<Packet | undefined> {
    await this.until(() => this.closed || this.packets.some((p) => p.cmd === cmd), cmd);
    const i = this.packets.findIndex((p) => p.cmd === cmd);
    return i >= 0 ? this.packets.splice(i, 1)[0] : undefined;
  }

  waitClosed(ms = 10_000): Promise<void> {
    return this.until(() => this.closed, 'the box to close the connection', ms);
  }

  end(): void {
    this.socket.destroy();
  }
}

/** The box still answers a device: the check after every abuse. */
async function boxServes(): Promise<void> {
  const kiosk = await office.connect('kiosk-1');
  const reply = await request(kiosk, 'lobby/v1/tickets/request', { service: 'van-thu', delivery: 'screen' });
  expect(reply.status).toBe('ok');
  await kiosk.endAsync(true);
}

/** Collects the broker's warning lines (its pino logger is replaced for the test's duration). */
function brokerWarnings(): { lines: string[]; restore(): void } {
  const broker = office.box.broker as unknown as { log: { warn: (o: unknown, m: string) => void } };
  const warn = broker.log.warn;
  const lines: string[] = [];
  broker.log.warn = function (this: unknown, o: unknown, m: string) {
    lines.push(m);
    warn.call(this, o, m);
  };
  return { lines, restore: () => void (broker.log.warn = warn) };
}

describe('slow consumers', () => {
  it('a subscriber that stops reading is cut with a log line; other devices are served meanwhile', async () => {
    const warnings = brokerWarnings();
    try {
      const slow = await Raw.login('display-tv.slow');
      // QoS 0, so no acknowledgement is owed: this is the unread-bytes limit (the next test is the other).
      slow.send({
        cmd: 'subscribe',
        messageId: 1,
        subscriptions: [{ topic: 'lobby/v1/status/#', qos: 0 }],
      });
      await slow.next('suback');
      slow.socket.pause(); // never reads again (so it cannot see the box close it either: ask the box)
      const cut = () => !office.box.broker.connectedIds().includes('display-tv.slow');

      // Another device keeps publishing on the busy topic: 4 KiB statuses, up to 64x the byte limit
      // (loopback's kernel buffers take a few MiB before the box's own queue grows).
      const kiosk = await office.connect('kiosk-1');
      const status = JSON.stringify({ ts: new Date().toISOString(), ok: true, pad: 'x'.repeat(4000) });
      const rounds = Math.ceil((64 * MAX_QUEUED_BYTES_PER_CLIENT) / status.length / 50);
      for (let i = 0; i < rounds && !cut(); i++) {
        await Promise.all(
          Array.from({ length: 50 }, () => kiosk.publishAsync('lobby/v1/status/kiosk-1', status, { qos: 1 })),
        );
        // Meanwhile a keypad is answered at once: one stalled socket must not stall delivery to everyone.
        if (i % 10 === 0) {
          const keypad = await office.connect('keypad-1');
          expect((await request(keypad, 'lobby/v1/counters/1/cmd/pause', {}, 5000)).status).toBeDefined();
          await keypad.endAsync(true);
        }
      }
      expect(cut()).toBe(true);
      expect(warnings.lines).toContain('slow consumer disconnected');
      slow.end();
      await kiosk.endAsync(true);
      await boxServes();
    } finally {
      warnings.restore();
    }
  });

  it('a subscriber that reads but never acknowledges is cut past the unacknowledged limit', async () => {
    const lazy = await Raw.login('display-tv.lazy');
    lazy.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'lobby/v1/status/#', qos: 1 }] });
    await lazy.next('suback');
    const kiosk = await office.connect('kiosk-1');
    const status = JSON.stringify({ ts: new Date().toISOString(), ok: true });
    for (let i = 0; i < 30 && !lazy.closed; i++)
      await Promise.all(
        Array.from({ length: 50 }, () => kiosk.publishAsync('lobby/v1/status/kiosk-1', status, { qos: 1 })),
      );
    await lazy.waitClosed();
    expect(lazy.packets.filter((p) => p.cmd === 'publish').length).toBeGreaterThan(900);
    await kiosk.endAsync(true);
    await boxServes();
  });

  /** A persistent session (clean-session off) of the lobby TV, subscribed to events at QoS 1, then gone. */
  async function awaySession(clientId: string): Promise<void> {
    const tv = await office.connect(clientId, { clean: false });
    await tv.subscribeAsync('lobby/v1/events/ticket/#', { qos: 1 });
    await tv.endAsync(true);
    while (office.box.broker.connectedIds().includes(clientId)) await new Promise((r) => setTimeout(r, 10));
  }
  const publishEvents = (n: number, tag: string) =>
    Promise.all(
      Array.from({ length: n }, (_, i) =>
        office.box.broker.publish(`lobby/v1/events/ticket/${tag}`, { i, pad: 'x'.repeat(200) }),
      ),
    );
  /** Reconnects the session and counts what the box had kept for it. */
  async function comeBack(clientId: string): Promise<{ sessionPresent: boolean; queued: number }> {
    let queued = 0;
    const tv = mqtt.connect(office.mqttUrl, {
      clientId,
      username: 'display-tv',
      password: secretOf('display-tv'),
      clean: false,
      reconnectPeriod: 0,
    });
    tv.on('message', () => queued++);
    const connack = await new Promise<{ sessionPresent: boolean }>((resolve, reject) => {
      tv.once('connect', (p) => resolve(p as { sessionPresent: boolean }));
      tv.once('error', reject);
    });
    // The kept messages follow the CONNACK, as fast as the box writes them: all are in once none has come
    // for a while.
    for (let seen = -1; seen !== queued;) {
      seen = queued;
      await new Promise((r) => setTimeout(r, 300));
    }
    await tv.endAsync(true);
    return { sessionPresent: connack.sessionPresent, queued };
  }

  it('an offline persistent session keeps what it missed, up to the limit', async () => {
    await awaySession('display-tv.away1');
    await publishEvents(50, 'a');
    expect(await comeBack('display-tv.away1')).toEqual({ sessionPresent: true, queued: 50 });
  });

  it(`past ${MAX_QUEUED_MESSAGES_OFFLINE} messages queued for an offline device its session ends (sessionPresent false on return); memory stays bounded however many sessions it opens`, async () => {
    await awaySession('display-tv.away2');
    await awaySession('display-tv.away3');
    await publishEvents(MAX_QUEUED_MESSAGES_OFFLINE + 200, 'b');
    const back2 = await comeBack('display-tv.away2');
    const back3 = await comeBack('display-tv.away3');
    expect(back2.sessionPresent).toBe(false);
    expect(back3.sessionPresent).toBe(false);
    // Both sessions of the device together were never given more than the limit.
    expect(back2.queued + back3.queued).toBeLessThanOrEqual(MAX_QUEUED_MESSAGES_OFFLINE);
    // A fresh session of the device works as ever.
    await awaySession('display-tv.away4');
    await publishEvents(10, 'c');
    expect(await comeBack('display-tv.away4')).toEqual({ sessionPresent: true, queued: 10 });
    await boxServes();
  });
});

describe('packets and connections before login', () => {
  it('a CONNECT announcing 256 MB is cut as soon as its header arrives, before any body is buffered', async () => {
    const before = process.memoryUsage().rss;
    const raws = await Promise.all(Array.from({ length: 4 }, () => Raw.open()));
    for (const raw of raws) {
      // Fixed header: CONNECT, remaining length 256 MiB (varint), then the start of a body.
      raw.socket.write(Buffer.from([0x10, 0xff, 0xff, 0xff, 0x7f]));
      raw.socket.write(Buffer.alloc(64 * 1024, 0x41));
    }
    await Promise.all(raws.map((r) => r.waitClosed(5000)));
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * 1024 * 1024);
    await boxServes();
  });

  it('a CONNECT just over the pre-login limit is cut; one inside it is answered', async () => {
    const big = await Raw.open();
    big.send(connectPacket('kiosk-1', 'x'.repeat(MAX_PACKET_BYTES_BEFORE_LOGIN)));
    await big.waitClosed(5000);
    expect(big.packets).toEqual([]);
    const ok = await Raw.open();
    ok.send(connectPacket('kiosk-1', 'x'.repeat(100)));
    expect(await ok.next('connack')).toMatchObject({ returnCode: 4 });
    ok.end();
  });

  it('over WebSocket too: an oversized CONNECT spread over small frames is cut', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${office.box.httpPort}/mqtt`, 'mqtt');
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const closed = new Promise((resolve) => ws.once('close', resolve));
    ws.send(Buffer.from([0x10, 0xff, 0xff, 0xff, 0x7f]));
    for (let i = 0; i < 8; i++) ws.send(Buffer.alloc(16 * 1024, 0x41));
    await closed;
    await boxServes();
  });

  it('a PUBLISH before CONNECT closes the connection', async () => {
    const raw = await Raw.open();
    raw.send({ cmd: 'publish', topic: 'lobby/v1/state/office', payload: '{}', qos: 0, retain: true });
    await raw.waitClosed(5000);
    expect(raw.packets).toEqual([]);
  });

  it('a connection that never sends CONNECT is closed after the connect timeout', async () => {
    const raw = await Raw.open();
    await raw.waitClosed(15_000);
  }, 20_000);

  it(`at most ${MAX_PENDING_LOGINS_PER_ADDRESS} connections per address wait for login`, async () => {
    const kiosk = await office.connect('kiosk-1');
    const idle = await Promise.all(Array.from({ length: MAX_PENDING_LOGINS_PER_ADDRESS }, () => Raw.open()));
    const extra = await Raw.open();
    await extra.waitClosed(5000);
    // A device already logged in from the same address is not affected.
    expect(
      (await request(kiosk, 'lobby/v1/tickets/request', { service: 'van-thu', delivery: 'screen' })).status,
    ).toBe('ok');
    await kiosk.endAsync(true);
    for (const r of idle) r.end();
    await Promise.all(idle.map((r) => r.waitClosed()));
    // Once they are gone, new connections are taken again.
    const again = await Raw.login('kiosk-1.again');
    again.end();
  });

  it('refuses MQTT 3.1 (protocol level 3) with CONNACK 1, as it refuses MQTT 5', async () => {
    const raw = await Raw.open();
    raw.send(connectPacket('kiosk-1', secretOf('kiosk-1'), { protocolId: 'MQIsdp', protocolVersion: 3 }));
    expect(await raw.next('connack')).toMatchObject({ returnCode: 1 });
    await raw.waitClosed(5000);
  });
});

describe('after login', () => {
  it('a packet over the limit cuts the connection; a payload between the payload and packet limits is refused by reply', async () => {
    const raw = await Raw.login('kiosk-1.big');
    raw.send({
      cmd: 'publish',
      topic: 'lobby/v1/tickets/request',
      payload: 'x'.repeat(MAX_PACKET_BYTES),
      qos: 1,
      messageId: 7,
    });
    await raw.waitClosed(5000);
    await boxServes();
  });

  it(`subscriptions past ${MAX_SUBSCRIPTIONS_PER_CLIENT} are refused in the SUBACK; the connection stays`, async () => {
    const raw = await Raw.login('display-tv.subs');
    const filters = Array.from({ length: MAX_SUBSCRIPTIONS_PER_CLIENT + 20 }, (_, i) => ({
      topic: `lobby/v1/status/device-${i}`,
      qos: 1 as const,
    }));
    raw.send({ cmd: 'subscribe', messageId: 3, subscriptions: filters });
    const ack = (await raw.next('suback')) as { granted: number[] };
    expect(ack.granted.filter((g) => g === 1)).toHaveLength(MAX_SUBSCRIPTIONS_PER_CLIENT);
    expect(ack.granted.slice(MAX_SUBSCRIPTIONS_PER_CLIENT).every((g) => g === 128)).toBe(true);
    // After unsubscribing, there is room again.
    raw.send({ cmd: 'unsubscribe', messageId: 4, unsubscriptions: ['lobby/v1/status/device-0'] });
    await raw.next('unsuback');
    raw.send({ cmd: 'subscribe', messageId: 5, subscriptions: [{ topic: 'lobby/v1/status/x', qos: 1 }] });
    expect(await raw.next('suback')).toMatchObject({ granted: [1] });
    expect(raw.closed).toBe(false);
    raw.end();
  });

  it('a topic or filter over the length limit is refused', async () => {
    const raw = await Raw.login('display-tv.long');
    const long = `lobby/v1/status/${'a'.repeat(MAX_TOPIC_BYTES)}`;
    raw.send({ cmd: 'subscribe', messageId: 3, subscriptions: [{ topic: long, qos: 1 }] });
    expect(await raw.next('suback')).toMatchObject({ granted: [128] });
    raw.send({ cmd: 'publish', topic: long, payload: '{}', qos: 1, messageId: 9 });
    await raw.waitClosed(5000);
  });

  it('invalid UTF-8 inside a JSON string is refused with bad_utf8, and nothing is issued', async () => {
    const kiosk = await office.connect('kiosk-1');
    await kiosk.subscribeAsync('lobby/v1/devices/kiosk-1/reply', { qos: 1 });
    const before = office.box.store.headSeq;
    const reply = new Promise<Record<string, unknown>>((resolve) =>
      kiosk.once('message', (_t, p: Buffer) => resolve(JSON.parse(p.toString()) as Record<string, unknown>)),
    );
    const body = Buffer.concat([
      Buffer.from('{"id":"utf8-1","service":"van-thu","delivery":"screen","x":"'),
      Buffer.from([0xc3, 0x28]),
      Buffer.from('"}'),
    ]);
    kiosk.publish('lobby/v1/tickets/request', body, { qos: 1 });
    expect(await reply).toMatchObject({ status: 'error', error: { code: 'bad_utf8' } });
    expect(office.box.store.headSeq).toBe(before);
    await kiosk.endAsync(true);
  });

  it('a forbidden publish is acknowledged (PUBACK) and answered before the connection is closed', async () => {
    const raw = await Raw.login('kiosk-1.spoof');
    raw.send({
      cmd: 'subscribe',
      messageId: 1,
      subscriptions: [{ topic: 'lobby/v1/devices/kiosk-1/reply', qos: 1 }],
    });
    await raw.next('suback');
    raw.send({
      cmd: 'publish',
      topic: 'lobby/v1/state/office',
      payload: JSON.stringify({ id: 'spoof-1' }),
      qos: 1,
      messageId: 42,
    });
    await raw.waitClosed(5000);
    expect(raw.packets.find((p) => p.cmd === 'puback')).toMatchObject({ messageId: 42 });
    const reply = raw.packets.find((p) => p.cmd === 'publish') as { payload: Buffer } | undefined;
    expect(JSON.parse(String(reply?.payload))).toMatchObject({ id: 'spoof-1', error: { code: 'forbidden' } });
  });
});

describe('WebSocket origin', () => {
  const upgrade = (headers: Record<string, string>) =>
    new Promise<number | 'open'>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${office.box.httpPort}/mqtt`, 'mqtt', { headers });
      ws.once('open', () => {
        ws.terminate();
        resolve('open');
      });
      ws.once('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? -1);
        ws.terminate();
      });
      ws.once('error', () => undefined);
    });

  it("refuses a page from another origin; takes the box's own pages and non-browser clients", async () => {
    expect(await upgrade({ origin: 'http://evil.example' })).toBe(403);
    expect(await upgrade({ origin: 'null' })).toBe(403);
    expect(await upgrade({ origin: `http://127.0.0.1:${office.box.httpPort}` })).toBe('open');
    expect(await upgrade({})).toBe('open');
  });

  it('takes origins listed in broker.allowedOrigins', async () => {
    const cfg = {
      ...office.config,
      broker: { ...office.config.broker, allowedOrigins: ['https://lobby.example.vn'] },
    };
    const other = await startTestBox({ config: cfg });
    try {
      const ws = (origin: string) =>
        new Promise<string | number>((resolve) => {
          const c = new WebSocket(`ws://127.0.0.1:${other.box.httpPort}/mqtt`, 'mqtt', {
            headers: { origin },
          });
          c.once('open', () => (c.terminate(), resolve('open')));
          c.once('unexpected-response', (_q, res) => (resolve(res.statusCode ?? -1), c.terminate()));
          c.once('error', () => undefined);
        });
      expect(await ws('https://lobby.example.vn')).toBe('open');
      expect(await ws('https://other.example.vn')).toBe(403);
    } finally {
      await other.close();
    }
  });
});

describe('guessing device secrets over MQTT', () => {
  const connack = async (id: string, password: string) => {
    const raw = await Raw.open();
    raw.send(connectPacket(id, password));
    const ack = (await raw.next('connack')) as { returnCode: number } | undefined;
    raw.end();
    return ack?.returnCode;
  };

  it('a device id is locked out after repeated failures, yet the device itself still gets in', async () => {
    // The real device has logged in once since the box started: its secret is known good.
    (await Raw.login('scanner-1')).end();
    const codes: (number | undefined)[] = [];
    for (let i = 0; i <= MAX_LOGIN_FAILURES_PER_DEVICE; i++)
      codes.push(await connack('scanner-1', `guess-${i}`));
    expect(codes.slice(0, MAX_LOGIN_FAILURES_PER_DEVICE).every((c) => c === 4)).toBe(true);
    expect(codes[MAX_LOGIN_FAILURES_PER_DEVICE]).toBe(5); // refused without checking
    expect(await connack('scanner-1', secretOf('scanner-1'))).toBe(0);
  });

  it('an unknown device id costs one hash, as a known id with a wrong secret does', async () => {
    let hashes = 0;
    const counting = (secret: string, stored: string) => {
      hashes++;
      return verifySecret(secret, stored);
    };
    const dir = new PeripheralDirectory(await peripheralsFor([{ id: 'kiosk-1', role: 'kiosk' }]), counting);
    expect(await dir.verify('kiosk-1', 'wrong')).toBeNull();
    const known = hashes;
    expect(await dir.verify('ghost', 'wrong')).toBeNull();
    expect(hashes - known).toBe(known);
    expect(known).toBe(1);
    // And in time: medians of 15 each (after a warm-up), within a generous ratio (they were ~7x apart).
    const median = async (id: string) => {
      const t: number[] = [];
      for (let i = 0; i < 15; i++) {
        const t0 = process.hrtime.bigint();
        await dir.verify(id, `wrong-${i}`);
        t.push(Number(process.hrtime.bigint() - t0));
      }
      return t.sort((a, b) => a - b)[7] as number;
    };
    await median('kiosk-1'); // warm up
    const [k, u] = [await median('kiosk-1'), await median('ghost')];
    expect(u / k).toBeGreaterThan(1 / 4);
    expect(u / k).toBeLessThan(4);
  });
});

describe('guessing over HTTP, raced', () => {
  let web: WebBox;
  beforeAll(async () => {
    web = await startWebBox();
  });
  afterAll(async () => {
    await web?.close();
  });

  it(`300 concurrent wrong admin passwords: ${MAX_ADMIN_LOGIN_FAILURES} are checked, the rest get 429 with Retry-After`, async () => {
    const results = await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        fetch(`${web.base}/api/admin/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ password: `wrong-password-${i}` }),
        }).then(async (r) => ({ status: r.status, retryAfter: r.headers.get('retry-after') })),
      ),
    );
    expect(results.filter((r) => r.status === 401)).toHaveLength(MAX_ADMIN_LOGIN_FAILURES);
    const limited = results.filter((r) => r.status === 429);
    expect(limited).toHaveLength(300 - MAX_ADMIN_LOGIN_FAILURES);
    expect(limited.every((r) => Number(r.retryAfter) > 0)).toBe(true);
  });

  it('300 concurrent wrong device secrets on the screens API: at most the limit are hashed', async () => {
    const basic = (secret: string) => 'Basic ' + Buffer.from(`clerk-panel-1:${secret}`).toString('base64');
    const statuses = await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        fetch(`${web.base}/api/screens/counter`, { headers: { authorization: basic(`nope-${i}`) } }).then(
          (r) => r.status,
        ),
      ),
    );
    expect(statuses.filter((s) => s === 401)).toHaveLength(MAX_DEVICE_SECRET_FAILURES);
    expect(statuses.filter((s) => s === 429)).toHaveLength(300 - MAX_DEVICE_SECRET_FAILURES);
  });
});
