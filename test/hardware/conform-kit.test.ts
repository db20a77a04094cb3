// The conformance kit catches each rule a vendor's device can break, by the check named for it: a device
// written by hand (mqtt.js, as a vendor would) that follows protocol v1 but for one mistake. A check dropped
// from the kit, or made to pass always, fails here.
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { describe, expect, it } from 'vitest';
import {
  CheckFailed,
  CheckSkipped,
  Checklist,
  expectThat,
  formatResult,
  summary,
  type CheckResult,
  type DeviceRole,
  type Step,
} from '../../hardware-sim/conform/index.js';
import { KIT_SECRET, runKitOn } from './kit-run.js';
import { topics, type RatingSession } from '../../protocol/index.js';

/** One mistake a vendor's device can make; everything else it does right. */
interface Mistakes {
  secret?: string;
  clientId?: string;
  protocolVersion?: 3 | 4;
  will?: 'none' | 'wrong-topic' | 'qos0' | 'not-retained' | 'online' | 'not-json';
  birth?: 'qos0' | 'not-retained' | 'other-session' | 'offline';
  subscribeQos?: 0 | 1;
  request?: 'qos0' | 'retained' | 'no-id' | 'same-id-always' | 'long-id';
  ignore?: Step['action'];
  retry?: 'same-session' | 'new-id' | 'other-bytes' | 'not-json' | 'no-reconnect' | 'no-resend';
  noPrinted?: boolean;
  noTicketId?: boolean;
  clerk?: string;
}

/**
 * A hand-written device of `role` that makes the given mistakes, played step by step by the kit. Each
 * connection it opens is added to `clients` (the run closes them).
 */
function vendor(role: DeviceRole, id: string, m: Mistakes, clients: MqttClient[]) {
  let device: MqttClient | null = null;
  let session = 1;
  let n = 0;
  let url = '';
  let last: { topic: string; payload: string } | null = null;
  let retrying = false;
  let ratingTicket: string | null = null;
  const rated = new Set<string>();

  const open = async (s: number): Promise<MqttClient> => {
    const willBody =
      m.will === 'not-json' ? 'offline' : JSON.stringify({ online: m.will === 'online', session: s });
    const will: IClientOptions['will'] =
      m.will === 'none'
        ? undefined
        : {
            topic: m.will === 'wrong-topic' ? `lobby/v1/presence/${id}/will` : topics.presence(id),
            payload: Buffer.from(willBody),
            qos: m.will === 'qos0' ? 0 : 1,
            retain: m.will !== 'not-retained',
          };
    const c = await mqtt.connectAsync(url, {
      clientId: m.clientId ?? id,
      username: id,
      password: m.secret ?? KIT_SECRET,
      protocolVersion: m.protocolVersion ?? 4,
      reconnectPeriod: 0,
      connectTimeout: 3000,
      will,
    });
    device = c;
    clients.push(c);
    c.on('message', (topic, payload) => {
      const body = JSON.parse(payload.toString()) as Record<string, unknown>;
      if (topic === topics.print(id) && !m.noPrinted)
        c.publish(topics.ticketPrinted(), JSON.stringify({ id: `${id}-p${++n}`, jobId: body.jobId }), {
          qos: 1,
        });
      if (topic === topics.ratingSession(id)) {
        const rs = body as unknown as RatingSession;
        ratingTicket = rs.open ? rs.ticketId : null;
      }
    });
    await c.subscribeAsync(`lobby/v1/devices/${id}/#`, { qos: m.subscribeQos ?? 1 });
    const birth = { online: m.birth !== 'offline', session: m.birth === 'other-session' ? s + 5 : s };
    await c.publishAsync(topics.presence(id), JSON.stringify(birth), {
      qos: m.birth === 'qos0' ? 0 : 1,
      retain: m.birth !== 'not-retained',
    });
    c.once('close', () => {
      if (!retrying || m.retry === 'no-reconnect') return;
      retrying = false;
      void (async () => {
        session = m.retry === 'same-session' ? session : session + 1;
        const again = await open(session);
        if (!last || m.retry === 'no-resend') return;
        const payload =
          m.retry === 'new-id'
            ? last.payload.replace(/"id":"[^"]+"/, `"id":"${id}-again"`)
            : m.retry === 'other-bytes'
              ? last.payload.replace('{', '{ ')
              : m.retry === 'not-json'
                ? 'next please'
                : last.payload;
        again.publish(last.topic, payload, { qos: 1 });
      })().catch(() => undefined);
    });
    return c;
  };

  const requestFor = async (
    action: Step['action'],
  ): Promise<{ topic: string; body: Record<string, unknown> }> => {
    switch (action) {
      case 'sign_in':
        return { topic: topics.counterCommand(1, 'sign_in'), body: { clerk: m.clerk ?? 'cc01' } };
      case 'next':
      case 'recall':
      case 'finish':
        return { topic: topics.counterCommand(1, action), body: {} };
      case 'ticket':
        return { topic: topics.ticketRequest(), body: { service: 'van-thu' } };
      case 'scan':
        return { topic: topics.scan(1), body: { code: `000.00.04.H12-261122-000${n + 1}` } };
      case 'rate': {
        // The kit's keypad has just finished a citizen at the counter: wait for that session to open.
        const until = Date.now() + 3000;
        while ((ratingTicket === null || rated.has(ratingTicket)) && Date.now() < until)
          await new Promise((r) => setTimeout(r, 20));
        const ticketId = ratingTicket ?? '';
        rated.add(ticketId);
        return { topic: topics.rating(1), body: m.noTicketId ? { score: 4 } : { score: 4, ticketId } };
      }
      default:
        throw new Error(`no request for ${action}`);
    }
  };

  return async (step: Step, at: string): Promise<void> => {
    url = at;
    if (step.action === 'connect') {
      await open(session).catch(() => undefined); // a refused CONNECT: the kit says why
      return;
    }
    const action = step.action === 'retry' ? (step.repeat as Step['action']) : step.action;
    if (!device || action === m.ignore) return;
    const { topic, body } = await requestFor(action);
    const reqId =
      m.request === 'same-id-always'
        ? `${id}-press`
        : m.request === 'long-id'
          ? 'x'.repeat(65)
          : `${id}-${++n}`;
    const payload = JSON.stringify(m.request === 'no-id' ? body : { id: reqId, ...body });
    last = { topic, payload };
    retrying = step.action === 'retry';
    device.publish(topic, payload, { qos: m.request === 'qos0' ? 0 : 1, retain: m.request === 'retained' });
  };
}

async function runKit(role: DeviceRole, m: Mistakes): Promise<CheckResult[]> {
  const id = `${role}-7`;
  const clients: MqttClient[] = [];
  return runKitOn({
    role,
    id,
    play: vendor(role, id, m, clients),
    stepTimeoutMs: 2000,
    cleanup: async () =>
      void (await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)))),
  });
}

/** The named check failed (or was skipped) saying `detail`. */
function caught(
  results: CheckResult[],
  name: string,
  detail: RegExp,
  status: 'fail' | 'skip' = 'fail',
): void {
  const r = results.find((x) => x.name === name && x.status === status);
  expect(
    r,
    `"${name}" should be ${status}; the kit said:\n${results.map(formatResult).join('\n')}`,
  ).toBeDefined();
  expect(r?.detail).toMatch(detail);
}

describe.concurrent('the kit passes a correct hand-written device of each role', () => {
  for (const role of ['keypad', 'kiosk', 'rating', 'scanner'] as const)
    it(role, async () => {
      const results = await runKit(role, {});
      expect(results.filter((r) => r.status === 'fail').map(formatResult)).toEqual([]);
      expect(results.find((r) => r.name.startsWith('retry: the same request'))?.status).toBe('pass');
    });
});

// Concurrent (vitest runs 5 at a time): each run has its own kit box on its own ports; most of a run is the
// kit waiting out a step the broken device never does.
describe.concurrent('the kit catches each mistake by the check named for it', () => {
  const cases: [string, DeviceRole, Mistakes, string, RegExp][] = [
    [
      'a wrong secret',
      'keypad',
      { secret: 'guess' },
      'connect: the box accepts the credentials (CONNACK 0)',
      /CONNACK 4: wrong device id or secret/,
    ],
    [
      'MQTT 3.1',
      'keypad',
      { protocolVersion: 3 },
      'connect: CONNECT with the device id (MQTT 3.1.1)',
      /protocol level 3/,
    ],
    [
      'a client id not its own',
      'keypad',
      { clientId: 'keypad-8' },
      'connect: CONNECT with the device id (MQTT 3.1.1)',
      /client id "keypad-8" is not "keypad-7"/,
    ],
    [
      'a Will on the wrong topic',
      'keypad',
      { will: 'wrong-topic' },
      'connect: a Will on its presence topic, QoS 1, retained, {online:false, session}',
      /Will topic "lobby\/v1\/presence\/keypad-7\/will"/,
    ],
    [
      'a Will at QoS 0',
      'keypad',
      { will: 'qos0' },
      'connect: a Will on its presence topic, QoS 1, retained, {online:false, session}',
      /Will QoS 0, retain true/,
    ],
    [
      'a Will not retained',
      'keypad',
      { will: 'not-retained' },
      'connect: a Will on its presence topic, QoS 1, retained, {online:false, session}',
      /Will QoS 1, retain false/,
    ],
    [
      'a Will saying online',
      'keypad',
      { will: 'online' },
      'connect: a Will on its presence topic, QoS 1, retained, {online:false, session}',
      /must say "online": false/,
    ],
    [
      'a Will that is not JSON',
      'keypad',
      { will: 'not-json' },
      'connect: a Will on its presence topic, QoS 1, retained, {online:false, session}',
      /not JSON/,
    ],
    [
      'a birth at QoS 0',
      'keypad',
      { birth: 'qos0' },
      "connect: the birth on the same connection, with the Will's session",
      /birth QoS 0/,
    ],
    [
      'a birth not retained',
      'keypad',
      { birth: 'not-retained' },
      "connect: the birth on the same connection, with the Will's session",
      /retain false/,
    ],
    [
      'a birth with another session',
      'keypad',
      { birth: 'other-session' },
      "connect: the birth on the same connection, with the Will's session",
      /birth session 6, Will session 1/,
    ],
    [
      'a birth saying offline',
      'keypad',
      { birth: 'offline' },
      "connect: the birth on the same connection, with the Will's session",
      /must say "online": true/,
    ],
    ['a request at QoS 0', 'keypad', { request: 'qos0' }, 'next: QoS 1, not retained', /QoS 0/],
    ['a retained request', 'keypad', { request: 'retained' }, 'next: QoS 1, not retained', /retain flag/],
    [
      'an id over 64 characters',
      'keypad',
      { request: 'long-id' },
      'next: a correlation id, unique for this device',
      /1–64 characters/,
    ],
    [
      'one id for every request',
      'keypad',
      { request: 'same-id-always' },
      'recall: a correlation id, unique for this device',
      /already used for another request/,
    ],
    ['a step left out', 'keypad', { ignore: 'recall' }, 'recall: the request', /no request from the device/],
    [
      'a request the office refuses',
      'keypad',
      { clerk: 'nobody' },
      "sign_in: the box's reply reaches the device and is acknowledged",
      /the box refused it: unknown_clerk/,
    ],
    [
      'the reply subscribed at QoS 0 (never acknowledged)',
      'keypad',
      { subscribeQos: 0 },
      "next: the box's reply reaches the device and is acknowledged",
      /PUBACK for the reply/,
    ],
    [
      'the same session after a reconnect',
      'keypad',
      { retry: 'same-session' },
      'retry: the device reconnects with a new session number in its Will and birth',
      /session 1 after 1/,
    ],
    [
      'a new id on the retry',
      'keypad',
      { retry: 'new-id' },
      'retry: the same request is sent again with the same id and payload',
      /a retry must reuse the id/,
    ],
    [
      'other bytes on the retry',
      'keypad',
      { retry: 'other-bytes' },
      'retry: the same request is sent again with the same id and payload',
      /other bytes/,
    ],
    [
      'a retry that is not JSON',
      'keypad',
      { retry: 'not-json' },
      'retry: the same request is sent again with the same id and payload',
      /sent again with id "undefined".*a retry must reuse the id/,
    ],
    [
      'a reconnect that never sends the request again',
      'keypad',
      { retry: 'no-resend' },
      'retry: the same request is sent again with the same id and payload',
      /no the request sent again within/,
    ],
    [
      'no reconnect after the cut',
      'keypad',
      { retry: 'no-reconnect' },
      'retry: the device reconnects with a new session number in its Will and birth',
      /no reconnect/,
    ],
    [
      'a kiosk that never reports the job printed',
      'kiosk',
      { noPrinted: true },
      'ticket: the kiosk reports the job printed on tickets/printed',
      /on lobby\/v1\/tickets\/printed once the ticket is printed/,
    ],
    [
      'a kiosk that never acknowledges its print job',
      'kiosk',
      { subscribeQos: 0 },
      'ticket: the print job reaches the kiosk and is acknowledged',
      /PUBACK for the print job/,
    ],
    [
      'a rating without the session ticket',
      'rating',
      { noTicketId: true },
      'rate: the rating names the ticket of the session',
      /no "ticketId"/,
    ],
  ];
  for (const [what, role, mistakes, check, detail] of cases)
    it(`${what}: "${check}"`, async () => {
      caught(await runKit(role, mistakes), check, detail);
    });

  it('one id reused for the next request, with the same bytes: still another request', async () => {
    // NEXT then RECALL, both `{"id":"keypad-7-press"}`: the box would answer the RECALL from its log as the
    // NEXT (duplicate), and the clerk's recall would silently do nothing.
    const results = await runKit('keypad', { request: 'same-id-always', ignore: 'sign_in' });
    caught(results, 'recall: a correlation id, unique for this device', /already used for another request/);
  });

  it('a reply subscription at QoS 0 fails the subscription check, which asks for QoS 1', async () => {
    const results = await runKit('keypad', { subscribeQos: 0 });
    caught(
      results,
      'connect: subscribes to its own topics (reply, and print or rating-session) with QoS 1',
      /QoS 0/,
    );
  });

  it('a device that never sends a valid request: the retry check is skipped, saying why', async () => {
    const results = await runKit('scanner', { request: 'no-id' });
    caught(results, 'scan: the payload matches the scan schema', /id: Expected required property/);
    caught(
      results,
      'retry: the same request again after a lost connection',
      /no earlier valid request/,
      'skip',
    );
  });

  it('an optional step the device leaves out is skipped, not failed', async () => {
    const results = await runKit('keypad', { ignore: 'sign_in' });
    caught(results, 'sign_in: the request', /the device sent nothing/, 'skip');
    expect(results.filter((r) => r.status === 'fail').map(formatResult)).toEqual([]);
  });
});

describe('the report a vendor reads', () => {
  it('each check is one line: PASS, FAIL or SKIP, the name, and what was seen or why', async () => {
    const heard: CheckResult[] = [];
    const list = new Checklist((r) => heard.push(r));
    expect(await list.check('a pass with what was seen', () => 'session 3')).toBe(true);
    expect(await list.check('a pass saying nothing', () => undefined)).toBe(true);
    expect(
      await list.check('a failed expectation', () => {
        expectThat(1 + 1 === 3, 'two is not three');
      }),
    ).toBe(false);
    expect(
      await list.check('a skipped check', async () => {
        await Promise.resolve();
        throw new CheckSkipped('needs a display');
      }),
    ).toBe(false);
    expect(
      await list.check('a check that threw something else', () => {
        throw 'a bare string';
      }),
    ).toBe(false);
    list.skip('a check left out', 'not for this role');
    expect(heard).toEqual(list.results);
    expect(list.results.map(formatResult)).toEqual([
      'PASS  a pass with what was seen  — session 3',
      'PASS  a pass saying nothing',
      'FAIL  a failed expectation  — two is not three',
      'SKIP  a skipped check  — needs a display',
      'FAIL  a check that threw something else  — a bare string',
      'SKIP  a check left out  — not for this role',
    ]);
    expect(summary(list.results)).toBe('2 passed, 2 failed, 2 skipped');
    expect(list.passed).toBe(false);
  });

  it('skips alone do not fail a run', async () => {
    const list = new Checklist();
    await list.check('a pass', () => undefined);
    list.skip('left out', 'why');
    expect(list.passed).toBe(true);
    expect(summary(list.results)).toBe('1 passed, 0 failed, 1 skipped');
    expect(() => expectThat('', 'empty is false')).toThrow(CheckFailed);
    expect(() => expectThat('x', 'never thrown')).not.toThrow();
  });
});
