// Presence with real sockets: a device that reconnects before the box noticed its old connection died must
// stay online when the old connection's Will finally fires (protocol/README.md §4.1). What the lobby TV sees
// on `presence/<id>` and what the admin page and the cloud heartbeat read (presenceOf) must agree.
import type { IClientOptions, MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics, type Presence } from '../../protocol/index.js';
import { connectDevice, nextMessage, secretOf, startTestBox, type TestBox } from '../support/office.js';

let office: TestBox;
beforeAll(async () => {
  office = await startTestBox();
});
afterAll(async () => {
  await office?.close();
});

const ID = 'keypad-1';

async function waitFor(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A connection of the keypad with a Will for `session`, and its birth sent. */
async function connectWithBirth(clientId: string, session: number): Promise<MqttClient> {
  const will: IClientOptions['will'] = {
    topic: topics.presence(ID),
    payload: Buffer.from(JSON.stringify({ online: false, session })),
    qos: 1,
    retain: true,
  };
  const c = await connectDevice(office.mqttUrl, clientId, secretOf(ID), { will });
  await c.publishAsync(topics.presence(ID), JSON.stringify({ online: true, session }), {
    qos: 1,
    retain: true,
  });
  return c;
}

/** Everything the lobby TV receives on the keypad's presence and status topics. */
async function watch(tag: string): Promise<{ seen: { topic: string; body: Presence }[] }> {
  const tv = await office.connect(`display-tv.${tag}`);
  const seen: { topic: string; body: Presence }[] = [];
  tv.on('message', (topic, payload) =>
    seen.push({ topic, body: JSON.parse(payload.toString()) as Presence }),
  );
  await tv.subscribeAsync([topics.presence(ID), topics.status(ID)], { qos: 1 });
  return { seen };
}

const cases = [
  { name: 'a second connection (<id>.<tag>) with a new session', a: ID, b: `${ID}.b`, sa: 30, sb: 31 },
  { name: 'a second connection that reuses the session number', a: ID, b: `${ID}.c`, sa: 40, sb: 40 },
  { name: 'a new connection with the same client id (takeover)', a: ID, b: ID, sa: 50, sb: 51 },
];

describe('a stale Will cannot mark a live device offline', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const tv = await watch(`w${c.sa}`);
      const a = await connectWithBirth(c.a, c.sa);
      const b = await connectWithBirth(c.b, c.sb);
      // The live connection hears its replies: a dropped stale Will must not be answered there as an error.
      const replies: string[] = [];
      b.on('message', (t, p) => t === topics.reply(ID) && replies.push(p.toString()));
      await b.subscribeAsync(topics.reply(ID), { qos: 1 });
      await waitFor(
        () => tv.seen.some((m) => m.body.online && m.body.session === c.sb && m === tv.seen.at(-1)),
        'the TV sees the second birth',
      );
      const from = tv.seen.length;

      // Connection A dies without a DISCONNECT (power cut, cable pulled): the box fires its Will.
      (a as unknown as { stream: { destroy(): void } }).stream.destroy();
      await waitFor(
        () => !office.box.broker.connectedIds().includes(c.a) || c.a === c.b,
        'the box notices connection A is gone',
      );
      // A message from B after A's end: anything the box published for A's end arrives before it.
      await b.publishAsync(topics.status(ID), JSON.stringify({ ts: new Date().toISOString(), ok: true }), {
        qos: 1,
      });
      await waitFor(() => tv.seen.slice(from).some((m) => m.topic === topics.status(ID)), 'the barrier');

      expect(replies).toEqual([]);
      const presenceAfter = tv.seen.slice(from).filter((m) => m.topic === topics.presence(ID));
      expect(presenceAfter.filter((m) => !m.body.online)).toEqual([]);
      expect(office.box.broker.presenceOf(ID)).toEqual({ online: true, session: c.sb });
      // A screen opened now reads the retained presence: online, B's session.
      const late = await office.connect(`display-tv.l${c.sa}`);
      expect((await nextMessage(late, topics.presence(ID))).body).toMatchObject({
        online: true,
        session: c.sb,
      });

      // B is the device's connection: when it dies, its Will marks the device offline.
      const offline = nextMessage(late, topics.presence(ID), (_t, body) => !(body as Presence).online);
      (b as unknown as { stream: { destroy(): void } }).stream.destroy();
      expect((await offline).body).toMatchObject({ online: false, session: c.sb });
      expect(office.box.broker.presenceOf(ID)).toEqual({ online: false, session: c.sb });
    });
  }
});

describe('what a device says about itself on its presence topic', () => {
  it('a malformed presence is refused with schema_invalid and the connection closed; presence unchanged', async () => {
    const id = 'scanner-1';
    const monitor = await office.connect(`${id}.monitor`);
    const scanner = await connectDevice(office.mqttUrl, id, secretOf(id));
    await scanner.publishAsync(topics.presence(id), JSON.stringify({ online: true, session: 4 }), {
      qos: 1,
      retain: true,
    });
    const reply = nextMessage(
      monitor,
      topics.reply(id),
      (_t, b) => (b as { topic: string }).topic === topics.presence(id),
    );
    const closed = new Promise<void>((resolve) => scanner.once('close', () => resolve()));
    scanner.publish(topics.presence(id), JSON.stringify({ online: 'yes', session: 5 }), {
      qos: 1,
      retain: true,
    });
    expect((await reply).body).toMatchObject({ status: 'error', error: { code: 'schema_invalid' } });
    await closed;
    // Its connection is gone, so it is offline — in session 4; the bad message never became its presence.
    await waitFor(() => office.box.broker.presenceOf(id)?.online === false, 'offline after the cut');
    expect(office.box.broker.presenceOf(id)).toEqual({ online: false, session: 4 });
    const tv = await office.connect('display-tv.malformed');
    expect((await nextMessage(tv, topics.presence(id))).body).toMatchObject({ online: false, session: 4 });
  });

  it("another device's presence is refused (forbidden) and changes nothing, even saying online", async () => {
    const monitor = await office.connect('keypad-2.monitor');
    const spoofer = await connectDevice(office.mqttUrl, 'keypad-2', secretOf('keypad-2'));
    const before = office.box.broker.presenceOf('kiosk-1');
    const reply = nextMessage(monitor, topics.reply('keypad-2'));
    const closed = new Promise<void>((resolve) => spoofer.once('close', () => resolve()));
    spoofer.publish(topics.presence('kiosk-1'), JSON.stringify({ online: true, session: 99 }), {
      qos: 1,
      retain: true,
    });
    expect((await reply).body).toMatchObject({
      status: 'error',
      error: { code: 'forbidden', detail: 'a device may only publish its own presence' },
    });
    await closed;
    expect(office.box.broker.presenceOf('kiosk-1')).toEqual(before);
  });

  it('a device without a Will is marked offline by the box, saying the connection was lost', async () => {
    const id = 'rating-1';
    // A second connection of the device (`<id>.<tag>`): its presence is still the device's.
    const rating = await connectDevice(office.mqttUrl, `${id}.screen`, secretOf(id));
    await rating.publishAsync(topics.presence(id), JSON.stringify({ online: true, session: 8 }), {
      qos: 1,
      retain: true,
    });
    const tv2 = await office.connect('display-tv.nowill2');
    const offline = nextMessage(tv2, topics.presence(id), (_t, b) => !(b as Presence).online);
    (rating as unknown as { stream: { destroy(): void } }).stream.destroy();
    const body = (await offline).body as Presence & { reason?: string };
    expect(body).toMatchObject({ online: false, session: 8, reason: 'connection-lost' });
    expect(Date.parse(body.ts ?? '')).toBeGreaterThan(Date.now() - 60_000);
  });

  it('when its Will fires, the box adds no second offline message of its own', async () => {
    const seen: Presence[] = [];
    const tv = await office.connect('display-tv.once');
    tv.on('message', (t, p) => {
      if (t === topics.presence(ID)) seen.push(JSON.parse(p.toString()) as Presence);
    });
    await tv.subscribeAsync([topics.presence(ID), topics.status(ID)], { qos: 1 });
    const device = await connectWithBirth(ID, 70);
    await waitFor(() => seen.some((m) => m.online && m.session === 70), 'the birth');
    (device as unknown as { stream: { destroy(): void } }).stream.destroy();
    await waitFor(() => seen.some((m) => !m.online && m.session === 70), 'the Will');
    // A barrier: a message published after the box handled the end of the connection.
    const other = await connectDevice(office.mqttUrl, `${ID}.z`, secretOf(ID));
    const barrier = new Promise<void>((resolve) =>
      tv.on('message', (t) => t === topics.status(ID) && resolve()),
    );
    await other.publishAsync(topics.status(ID), JSON.stringify({ ts: new Date().toISOString(), ok: true }), {
      qos: 1,
    });
    await barrier;
    expect(seen.filter((m) => !m.online && m.session === 70)).toEqual([{ online: false, session: 70 }]);
    await other.endAsync(true);
  });
});
