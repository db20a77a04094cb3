// Who may ask the box for what, role by role, over real MQTT connections: every request a device of each role
// could send, for its own counter and for a foreign one. A counter-bound device (keypad, rating box, scanner,
// clerk panel) is served for its own counter only; every other request is refused with `forbidden`, the
// connection is kept, and the event log is left as it was (protocol/README.md §2).
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COUNTER_ACTIONS, topics, type Role } from '../../protocol/index.js';
import { DEVICES as OFFICE_DEVICES, request, startTestBox, type TestBox } from '../support/office.js';

/** The office's devices and a dossier lookup station (issue 15). */
const DEVICES = [...OFFICE_DEVICES, { id: 'lookup-1', role: 'lookup' as const }];

let office: TestBox;
beforeAll(async () => {
  office = await startTestBox({ devices: DEVICES });
  // A ticket waiting at counter 1 and one at counter 2, so the calls a device may make can succeed.
  const kiosk = await office.connect('kiosk-1.setup');
  for (const service of ['van-thu', 'chung-thuc'])
    expect((await request(kiosk, topics.ticketRequest(), { service })).status).toBe('ok');
});
afterAll(async () => {
  await office?.close();
});

/** A valid payload (without its id) for each request, so only the ACL can refuse it. */
const COMMAND_BODY: Record<(typeof COUNTER_ACTIONS)[number], Record<string, unknown>> = {
  next: {},
  recall: {},
  no_show: {},
  call: { number: 'A001' },
  serve: {},
  transfer: { toService: 'ho-tich' },
  finish: {},
  pause: { reason: 'họp' },
  resume: {},
  sign_in: { clerk: 'cc01' },
  sign_out: {},
};

interface Ask {
  /** What the request is, for the failure message and for the table of rights. */
  kind: 'counter-command' | 'rating' | 'scan' | 'ticket-request' | 'print-done' | 'dossier-lookup';
  topic: string;
  body: Record<string, unknown>;
  counter?: number;
}

function asksFor(counter: number): Ask[] {
  return [
    ...COUNTER_ACTIONS.map((action): Ask => ({
      kind: 'counter-command',
      topic: topics.counterCommand(counter, action),
      body: COMMAND_BODY[action],
      counter,
    })),
    { kind: 'rating', topic: topics.rating(counter), body: { score: 3 }, counter },
    { kind: 'scan', topic: topics.scan(counter), body: { code: '000.00.04.H12-261122-0001' }, counter },
  ];
}
const UNBOUND: Ask[] = [
  { kind: 'ticket-request', topic: topics.ticketRequest(), body: { service: 'ho-tich' } },
  { kind: 'print-done', topic: topics.ticketPrinted(), body: { jobId: 'no-such-job' } },
  { kind: 'dossier-lookup', topic: topics.dossierLookup(), body: { code: '000.00.04.H12-261122-0001' } },
];

/** The rights protocol/README.md §2 gives each role. */
const MAY: Record<Role, Ask['kind'][]> = {
  kiosk: ['ticket-request', 'print-done'],
  keypad: ['counter-command'],
  'clerk-panel': ['counter-command', 'scan'],
  rating: ['rating'],
  scanner: ['scan'],
  display: [],
  ledboard: [],
  announcer: [],
  lookup: ['dossier-lookup'],
};

describe('every role against every request, its own counter and a foreign one', () => {
  for (const device of DEVICES) {
    const own = device.counter;
    const foreign = own === 1 ? 2 : 1;
    const label = own === undefined ? device.role : `${device.role} at counter ${own}`;
    it(`${device.id} (${label})`, async () => {
      const client: MqttClient = await office.connect(`${device.id}.acl`);
      const asks = [...UNBOUND, ...asksFor(own ?? 1), ...(own === undefined ? [] : asksFor(foreign))];
      const wrong: string[] = [];
      let served = 0;
      for (const ask of asks) {
        const allowed =
          MAY[device.role].includes(ask.kind) && (ask.counter === undefined || ask.counter === own);
        const before = office.box.store.headSeq;
        const reply = await request(client, ask.topic, ask.body);
        const code = reply.status === 'error' ? reply.error?.code : 'ok';
        if (allowed) {
          if (code === 'forbidden') wrong.push(`${ask.topic}: refused (${reply.error?.detail ?? ''})`);
          else served++;
          continue;
        }
        if (code !== 'forbidden') wrong.push(`${ask.topic}: answered ${code}, expected forbidden`);
        // The refusal says why: the device is bound to another counter, or its role sends no such request.
        else if (MAY[device.role].includes(ask.kind))
          expect(reply.error?.detail, ask.topic).toContain(
            `bound to counter ${own}, not counter ${ask.counter}`,
          );
        else
          expect(reply.error?.detail, ask.topic).toBe(`a ${device.role} may not send ${ask.kind} requests`);
        if (office.box.store.headSeq !== before) wrong.push(`${ask.topic}: the event log grew`);
      }
      expect(wrong).toEqual([]);
      // Its own requests went through to the office (each answered ok or with the office's own refusal).
      const ownKinds = asks.filter(
        (a) => MAY[device.role].includes(a.kind) && (a.counter === undefined || a.counter === own),
      );
      expect(served).toBe(ownKinds.length);
      expect(client.connected).toBe(true);
    });
  }
});

/** The QoS granted per filter; 128 = refused (mqtt.js reports that as an error carrying the SUBACK). */
async function granted(client: MqttClient, filters: string[]): Promise<number[]> {
  try {
    return (await client.subscribeAsync(filters, { qos: 1 })).map((g) => g.qos);
  } catch (err) {
    return (err as { packet: { granted: number[] } }).packet.granted;
  }
}

describe('every role against every kind of subscription (protocol/README.md §2)', () => {
  const lobby = ['clerk-panel', 'display'];
  const withServices = ['kiosk', 'keypad', 'rating', 'scanner', ...lobby];
  const ownCounter = ['keypad', 'rating', 'scanner', ...lobby];
  for (const device of DEVICES) {
    const own = device.counter ?? 1;
    const foreign = own === 1 ? 2 : 1;
    const table: [string, boolean][] = [
      [`lobby/v1/devices/${device.id}/#`, true],
      [`lobby/v1/devices/${device.id}/reply`, true],
      ['lobby/v1/devices/zz-other/reply', false],
      ['lobby/v1/devices/+/reply', false],
      ['lobby/v1/state/office', true],
      ['lobby/v1/state/box', true],
      [`lobby/v1/status/${device.id}`, true],
      ['lobby/v1/status/zz-other', device.role === 'display'],
      ['lobby/v1/state/services/+', withServices.includes(device.role)],
      ['lobby/v1/state/services/van-thu', withServices.includes(device.role)],
      ['lobby/v1/state/services/+/x', lobby.includes(device.role)],
      ['lobby/v1/state/services/#', lobby.includes(device.role)],
      [
        `lobby/v1/state/counters/${own}`,
        ownCounter.includes(device.role) && (device.counter !== undefined || lobby.includes(device.role)),
      ],
      [`lobby/v1/state/counters/${foreign}`, lobby.includes(device.role)],
      ['lobby/v1/state/counters/+', lobby.includes(device.role)],
      ['lobby/v1/state/#', lobby.includes(device.role)],
      ['lobby/v1/state', false],
      ['lobby/v1/state/office/x', lobby.includes(device.role)],
      ['lobby/v1/events/ticket/#', lobby.includes(device.role)],
      ['lobby/v1/events/ticket/called', lobby.includes(device.role)],
      ['lobby/v1/events/counter/#', lobby.includes(device.role)],
      ['lobby/v1/events/day/#', lobby.includes(device.role)],
      ['lobby/v1/events/rating/#', false],
      ['lobby/v1/events/dossier/#', false],
      ['lobby/v1/events/+/called', false],
      ['lobby/v1/events/#', false],
      ['lobby/v1/presence/#', device.role === 'display'],
      ['lobby/v1/presence/box', device.role === 'display'],
      ['lobby/v1/status/#', device.role === 'display'],
      ['lobby/v1/#', false],
      ['#', false],
      ['$SYS/#', false],
      ['$share/g/lobby/v1/state/office', false],
    ];
    it(`${device.id} (${device.role}${device.counter ? ` at counter ${device.counter}` : ''})`, async () => {
      const client = await office.connect(`${device.id}.subs`);
      const codes = await granted(
        client,
        table.map(([f]) => f),
      );
      const wrong = table
        .map(([filter, allowed], i) => ({ filter, allowed, code: codes[i] }))
        .filter((r) => (r.code === 128) === r.allowed)
        .map((r) => `${r.filter}: ${r.code === 128 ? 'refused' : 'granted'}`);
      expect(wrong).toEqual([]);
      expect(client.connected).toBe(true);
    });
  }
});
