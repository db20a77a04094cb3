// Property-based fuzzing of a real box (fast-check), sized for `npm test`: (1) payloads on every request topic
// from every role: the box always answers with ok or a known error code, and only a valid request changes
// the event log; (2) malformed MQTT at the TCP level: garbage, truncated packets, wrong lengths, reserved
// flags, packets before CONNECT, a second CONNECT: the box stays up and a device already connected is served.
import { connect as tcpConnect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import mqttPacket from 'mqtt-packet';
import type { MqttClient } from 'mqtt';
import type { TSchema } from '@sinclair/typebox';
import {
  COUNTER_ACTIONS,
  CounterCommandSchemas,
  DossierLookupRequest,
  DossierScan,
  ERRORS,
  PrintDone,
  isValid,
  RatingSubmit,
  TicketRequest,
  parseRequestTopic,
  type Reply,
} from '../../protocol/index.js';
import { DEVICES, connectPacket, request, secretOf, startTestBox, type TestBox } from '../support/office.js';

let office: TestBox;
const clients = new Map<string, MqttClient>();

beforeAll(async () => {
  office = await startTestBox();
  for (const d of DEVICES) {
    const c = await office.connect(d.id);
    await c.subscribeAsync(`lobby/v1/devices/${d.id}/reply`, { qos: 1 });
    clients.set(d.id, c);
  }
});
afterAll(async () => {
  await office?.close();
});

const TOPICS = [
  'lobby/v1/tickets/request',
  'lobby/v1/tickets/printed',
  'lobby/v1/dossiers/lookup',
  ...[1, 2, 9].flatMap((n) => [
    ...COUNTER_ACTIONS.map((a) => `lobby/v1/counters/${n}/cmd/${a}`),
    `lobby/v1/counters/${n}/rating`,
    `lobby/v1/counters/${n}/scan`,
  ]),
];

function schemaOf(topic: string): TSchema {
  const req = parseRequestTopic(topic);
  if (!req) throw new Error(`not a request topic: ${topic}`);
  switch (req.kind) {
    case 'ticket-request':
      return TicketRequest;
    case 'print-done':
      return PrintDone;
    case 'counter-command':
      return CounterCommandSchemas[req.action];
    case 'rating':
      return RatingSubmit;
    case 'scan':
      return DossierScan;
    case 'dossier-lookup':
      return DossierLookupRequest;
  }
}

const FIELDS = [
  'service',
  'priority',
  'delivery',
  'number',
  'clerk',
  'toService',
  'toCounter',
  'dossiers',
  'reason',
  'score',
  'reasons',
  'ticketId',
  'jobId',
  'code',
  '__proto__',
  'constructor',
];
/** Values near the valid ones, and anything at all. */
const value = fc.oneof(
  fc.constantFrom(
    'van-thu',
    'ho-tich',
    'A001',
    'B999',
    'cc01',
    'screen',
    'print',
    'elderly',
    1,
    2,
    5,
    11,
    null,
  ),
  fc.constantFrom('000.00.04.H12-210415-0001', '', 'x'.repeat(300), '\u0000', 'Nguyễn', -1, 1e308, true),
  fc.jsonValue({ maxDepth: 3 }),
);
const requestLike = fc
  .record({
    id: fc.oneof(fc.string({ minLength: 1, maxLength: 70 }), fc.integer(), fc.constant(undefined)),
    fields: fc.dictionary(fc.constantFrom(...FIELDS), value, { maxKeys: 4 }),
  })
  .map(({ id, fields }) => Buffer.from(JSON.stringify(id === undefined ? fields : { ...fields, id })));
const invalidUtf8 = fc
  .tuple(
    fc.string({ maxLength: 10 }),
    fc.constantFrom([0xff], [0xc3, 0x28], [0xe2, 0x82], [0xed, 0xa0, 0x80]),
  )
  .map(([s, bad]) =>
    Buffer.concat([
      Buffer.from(`{"id":"u8","service":"van-thu","x":"${s.replace(/["\\]/g, '')}`),
      Buffer.from(bad),
      Buffer.from('"}'),
    ]),
  );
const payload = fc.oneof(
  { weight: 6, arbitrary: requestLike },
  { weight: 2, arbitrary: fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v) ?? 'null')) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)) },
  { weight: 1, arbitrary: invalidUtf8 },
);

/** Publishes and resolves with the next reply on the device's reply topic (one request at a time). */
function ask(client: MqttClient, deviceId: string, topic: string, body: Buffer): Promise<Reply> {
  const replyTopic = `lobby/v1/devices/${deviceId}/reply`;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no reply to ${topic} ${body.toString('hex')}`)), 5000);
    const on = (t: string, p: Buffer) => {
      if (t !== replyTopic) return;
      client.off('message', on);
      clearTimeout(timer);
      resolve(JSON.parse(p.toString()) as Reply);
    };
    client.on('message', on);
    client.publish(topic, body, { qos: 1 });
  });
}

function validJson(body: Buffer): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch {
    return undefined;
  }
}

describe('payload fuzzing, every request topic and every role', () => {
  it('always a reply with ok or a known error code; only valid requests change the log', async () => {
    const known = new Set(Object.keys(ERRORS));
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...DEVICES.map((d) => d.id)),
        fc.constantFrom(...TOPICS),
        payload,
        async (id, topic, body) => {
          const before = office.box.store.headSeq;
          const reply = await ask(clients.get(id) as MqttClient, id, topic, body);
          const changed = office.box.store.headSeq !== before;
          expect(['ok', 'error']).toContain(reply.status);
          if (reply.status === 'error') {
            expect(known.has(reply.error?.code ?? '')).toBe(true);
            expect(changed).toBe(false);
          } else {
            expect(isValid(schemaOf(topic), validJson(body))).toBe(true);
          }
        },
      ),
      { numRuns: 300 },
    );
    // The box is still up and answers a plain request.
    const kiosk = clients.get('kiosk-1') as MqttClient;
    expect(
      (await request(kiosk, 'lobby/v1/tickets/request', { service: 'van-thu', delivery: 'screen' })).status,
    ).toBe('ok');
  }, 60_000);
});

describe('malformed MQTT at the TCP level', () => {
  const connect = (id: string) =>
    mqttPacket.generate(connectPacket(id, secretOf(id.split('.')[0] as string)));
  const publish = mqttPacket.generate({
    cmd: 'publish',
    topic: 'lobby/v1/tickets/request',
    payload: '{"id":"f1","service":"van-thu","delivery":"screen"}',
    qos: 1,
    messageId: 1,
    retain: false,
    dup: false,
  });
  const subscribe = mqttPacket.generate({
    cmd: 'subscribe',
    messageId: 2,
    subscriptions: [{ topic: 'lobby/v1/state/#', qos: 1 }],
  });

  /** Byte sequences a broken or hostile peer might send, with or without a valid CONNECT first. */
  const garbage = fc.oneof(
    fc.uint8Array({ minLength: 1, maxLength: 200 }).map((a) => Buffer.from(a)),
    // A real packet, truncated.
    fc
      .tuple(fc.constantFrom(publish, subscribe, connect('kiosk-1')), fc.nat())
      .map(([p, n]) => p.subarray(0, n % p.length)),
    // A real packet with its remaining length changed.
    fc.tuple(fc.constantFrom(publish, subscribe), fc.integer({ min: 0, max: 127 })).map(([p, n]) => {
      const b = Buffer.from(p);
      b[1] = n;
      return b;
    }),
    // Reserved flags or reserved packet types in the first byte.
    fc.tuple(fc.constantFrom(publish, subscribe), fc.integer({ min: 0, max: 255 })).map(([p, first]) => {
      const b = Buffer.from(p);
      b[0] = first;
      return b;
    }),
    // A second CONNECT.
    fc.constant(connect('keypad-1.fuzz')),
    // A varint remaining length longer than 4 bytes.
    fc.constant(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x7f])),
  );

  it('the box stays up and a connected device is served, whatever the bytes', async () => {
    const kiosk = clients.get('kiosk-1') as MqttClient;
    await fc.assert(
      fc.asyncProperty(fc.boolean(), garbage, async (loginFirst, bytes) => {
        await new Promise<void>((resolve) => {
          const s = tcpConnect(office.box.mqttPort, '127.0.0.1', () => {
            if (loginFirst) s.write(connect('scanner-1.fuzz'));
            s.write(bytes);
            // Give the box the bytes, then hang up (or be hung up on).
            setTimeout(() => s.destroy(), 20);
          });
          s.on('error', () => undefined);
          s.on('close', () => resolve());
        });
      }),
      { numRuns: 150 },
    );
    const reply = await request(kiosk, 'lobby/v1/tickets/request', {
      service: 'van-thu',
      delivery: 'screen',
    });
    expect(reply.status).toBe('ok');
  }, 60_000);
});
