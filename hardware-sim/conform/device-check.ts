// Direction (b): check a device under test (a vendor's keypad, kiosk, rating box or scanner). The kit
// runs a box, puts an MQTT proxy in front of it, tells the operator what to press, step by step, and
// checks every packet the device sends: client id, Will and birth, subscriptions, the request's topic,
// QoS, schema and correlation id, the acknowledgement of the box's reply, and after a cut connection a
// reconnect with a new session and the same request sent again with the same id.
import type {
  IConnackPacket,
  IConnectPacket,
  IPublishPacket,
  ISubackPacket,
  ISubscribePacket,
  Packet,
} from 'mqtt-packet';
import {
  CounterCommandSchemas,
  DossierScan,
  Presence,
  RatingSubmit,
  ROOT,
  TicketRequest,
  deviceIdOfClientId,
  schemaIssues,
  topics,
  type PrintJob,
  type Reply,
  type TSchema,
} from '../../protocol/index.js';
import { SimKeypad } from '../mqtt/keypad.js';
import { SimKiosk } from '../mqtt/kiosk.js';
import type { DeviceCredential } from '../mqtt/credentials.js';
import type { SimDevice } from '../mqtt/device.js';
import { CheckFailed, CheckSkipped, Checklist, expectThat, type CheckResult } from './checks.js';
import { MqttSniffer, type SniffedPacket } from './sniffer.js';

export const DEVICE_ROLES = ['keypad', 'kiosk', 'rating', 'scanner'] as const;
export type DeviceRole = (typeof DEVICE_ROLES)[number];

/** The box the kit runs for the check, and its own helper devices on it. */
export interface KitBox {
  /** Where the box's broker listens; the device connects to the kit's proxy instead. */
  host: string;
  port: number;
  /** The kit's kiosk (issues tickets for the device to call) and, for a rating box or a scanner, a
   * keypad at its counter (calls and finishes those tickets). */
  kiosk: DeviceCredential;
  keypad?: DeviceCredential;
  /** A service of the device's counter, and a clerk the device may sign in. */
  service: { id: string; name: string };
  clerk: { id: string; name: string };
}

/** One thing the operator must do. `action` names it for a program playing the device (tests). */
export interface Step {
  action: 'connect' | 'sign_in' | 'next' | 'recall' | 'finish' | 'ticket' | 'rate' | 'scan' | 'retry';
  /** What to do, Vietnamese first. */
  text: { vi: string; en: string };
  optional: boolean;
  /** For `retry`: the action to repeat. */
  repeat?: Step['action'];
}

export type Operator = (
  step: Step,
  context: { index: number; total: number; timeoutMs: number },
) => void | Promise<void>;

export interface DeviceCheckOptions {
  role: DeviceRole;
  id: string;
  counter?: number;
  box: KitBox;
  operator: Operator;
  /** Port the device connects to (the proxy); 0 picks a free one, reported through `onListening`. */
  listenPort: number;
  listenHost?: string;
  onListening?: (port: number) => void;
  /** How long the operator has for each step (ms). Default 60 s. */
  stepTimeoutMs?: number;
  /** Optional steps to leave out (e.g. `sign_in` for a keypad without clerk sign-in). */
  skip?: Step['action'][];
  onResult?: (r: CheckResult) => void;
}

/** MQTT filter matching (`+`, `#`). */
export function filterMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

function issuesOf(schema: TSchema, value: unknown): string {
  return schemaIssues(schema, value)
    .slice(0, 3)
    .map((i) => `${i.path}: ${i.message}`)
    .join('; ');
}

function json(p: IPublishPacket): unknown {
  try {
    return JSON.parse(Buffer.isBuffer(p.payload) ? p.payload.toString() : p.payload);
  } catch {
    return undefined;
  }
}

/** Watches the proxy for the device's packets. */
class DeviceTrace {
  private readonly waiters = new Set<(p: SniffedPacket) => void>();
  constructor(
    readonly sniffer: MqttSniffer,
    readonly id: string,
  ) {
    sniffer.on('packet', (p: SniffedPacket) => {
      for (const w of [...this.waiters]) w(p);
    });
  }

  mine(p: SniffedPacket): boolean {
    return p.clientId !== null && deviceIdOfClientId(p.clientId) === this.id;
  }

  /** The next packet (after `since`, an index into the sniffer's list) that matches. */
  wait(
    match: (p: SniffedPacket) => boolean,
    timeoutMs: number,
    what: string,
    since = 0,
  ): Promise<SniffedPacket> {
    const seen = this.sniffer.packets.slice(since).find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const w = (p: SniffedPacket) => {
        if (!match(p)) return;
        clearTimeout(timer);
        this.waiters.delete(w);
        resolve(p);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(w);
        reject(new CheckFailed(`no ${what} within ${Math.round(timeoutMs / 1000)} s`));
      }, timeoutMs);
      this.waiters.add(w);
    });
  }

  /**
   * The next publish the box sends down connection `conn` that `match`es, once the device has acknowledged
   * it with a PUBACK (QoS 1): what a device owes for every reply and output it receives.
   */
  async deliveredAndAcked(
    conn: SniffedPacket['conn'],
    match: (packet: IPublishPacket) => boolean,
    timeoutMs: number,
    what: string,
    ackHint: string,
    since: number,
  ): Promise<IPublishPacket> {
    const down = await this.wait(
      (x) => x.conn === conn && x.dir === 'down' && x.packet.cmd === 'publish' && match(x.packet),
      timeoutMs,
      what,
      since,
    );
    const packet = down.packet as IPublishPacket;
    await this.wait(
      (x) =>
        x.conn === conn &&
        x.dir === 'up' &&
        x.packet.cmd === 'puback' &&
        x.packet.messageId === packet.messageId,
      timeoutMs,
      ackHint,
      since,
    );
    return packet;
  }

  get mark(): number {
    return this.sniffer.packets.length;
  }
}

interface RequestSpec {
  topic: string;
  schema: TSchema;
}

function stepsFor(role: DeviceRole, o: DeviceCheckOptions): Step[] {
  const c = o.counter ?? 1;
  const url = `mqtt://<this computer>:${o.listenPort}`; // the port the proxy took
  const connect: Step = {
    action: 'connect',
    optional: false,
    text: {
      vi: `Kết nối thiết bị tới ${url}, mã thiết bị "${o.id}" và mật khẩu đã cấp.`,
      en: `Connect the device to ${url} as "${o.id}" with its secret.`,
    },
  };
  const retry = (repeat: Step['action'], vi: string, en: string): Step => ({
    action: 'retry',
    repeat,
    optional: false,
    text: {
      vi: `${vi} lần nữa. Bộ kiểm tra sẽ ngắt kết nối khi yêu cầu tới; thiết bị phải kết nối lại và gửi lại đúng yêu cầu đó (cùng id).`,
      en: `${en} once more. The kit cuts the connection as the request arrives; the device must reconnect and send the same request again (same id).`,
    },
  });
  switch (role) {
    case 'keypad':
      return [
        connect,
        {
          action: 'sign_in',
          optional: true,
          text: {
            vi: `Đăng nhập công chức "${o.box.clerk.id}" (${o.box.clerk.name}) tại quầy ${c} (bỏ qua nếu bàn phím không có đăng nhập).`,
            en: `Sign in clerk "${o.box.clerk.id}" at counter ${c} (skipped if the keypad has no sign-in).`,
          },
        },
        { action: 'next', optional: false, text: { vi: 'Nhấn GỌI SỐ TIẾP THEO (NEXT).', en: 'Press NEXT.' } },
        { action: 'recall', optional: false, text: { vi: 'Nhấn GỌI LẠI (RECALL).', en: 'Press RECALL.' } },
        { action: 'finish', optional: false, text: { vi: 'Nhấn KẾT THÚC (FINISH).', en: 'Press FINISH.' } },
        retry('next', 'Nhấn GỌI SỐ TIẾP THEO (NEXT)', 'Press NEXT'),
      ];
    case 'kiosk':
      return [
        connect,
        {
          action: 'ticket',
          optional: false,
          text: {
            vi: `Lấy một số thứ tự cho lĩnh vực "${o.box.service.name}".`,
            en: `Take a ticket for "${o.box.service.name}" (${o.box.service.id}).`,
          },
        },
        retry('ticket', 'Lấy số thứ tự', 'Take a ticket'),
      ];
    case 'rating':
      return [
        connect,
        {
          action: 'rate',
          optional: false,
          text: {
            vi: 'Màn hình đánh giá đang mở: chọn một mức đánh giá bất kỳ.',
            en: 'The rating screen is open: tap any score.',
          },
        },
        retry('rate', 'Chọn một mức đánh giá', 'Tap a score'),
      ];
    case 'scanner':
      return [
        connect,
        {
          action: 'scan',
          optional: false,
          text: {
            vi: `Quét một mã hồ sơ đúng định dạng quốc gia, ví dụ ${sampleDossier(1)}.`,
            en: `Scan a dossier code in the national format, e.g. ${sampleDossier(1)}.`,
          },
        },
        retry('scan', 'Quét mã hồ sơ', 'Scan a dossier code'),
      ];
  }
}

/** A dossier code in the national format, dated today. */
export function sampleDossier(n: number): string {
  const d = new Date(Date.now() + 7 * 3_600_000).toISOString(); // office local date (UTC+7)
  return `000.00.04.H12-${d.slice(2, 4)}${d.slice(5, 7)}${d.slice(8, 10)}-${String(n).padStart(4, '0')}`;
}

/** What the device must send for `action`, a step that is a request (every step but connect and retry). */
function requestSpec(action: Step['action'], counter: number): RequestSpec {
  switch (action) {
    case 'sign_in':
    case 'next':
    case 'recall':
    case 'finish':
      return { topic: topics.counterCommand(counter, action), schema: CounterCommandSchemas[action] };
    case 'ticket':
      return { topic: topics.ticketRequest(), schema: TicketRequest };
    case 'rate':
      return { topic: topics.rating(counter), schema: RatingSubmit };
    case 'scan':
      return { topic: topics.scan(counter), schema: DossierScan };
    case 'connect':
    case 'retry':
      throw new Error(`"${action}" is not a request`);
  }
}

/** Topics the device must subscribe to (some filter of its must cover each). */
function mustHear(role: DeviceRole, id: string): string[] {
  const own = [topics.reply(id)];
  if (role === 'kiosk') own.push(topics.print(id));
  if (role === 'rating') own.push(topics.ratingSession(id));
  return own;
}

export async function checkDevice(o: DeviceCheckOptions): Promise<CheckResult[]> {
  const list = new Checklist(o.onResult);
  const timeout = o.stepTimeoutMs ?? 60_000;
  const counter = o.counter ?? 1;
  const sniffer = new MqttSniffer({ host: o.box.host, port: o.box.port });
  const port = await sniffer.listen(o.listenPort, o.listenHost ?? '0.0.0.0');
  o.onListening?.(port);
  const trace = new DeviceTrace(sniffer, o.id);
  const helpers: SimDevice[] = [];
  const boxUrl = `mqtt://${o.box.host}:${o.box.port}`;
  const steps = stepsFor(o.role, { ...o, listenPort: port }).filter(
    (s) => !(s.optional && o.skip?.includes(s.action)),
  );

  // What the device did so far.
  let willSession: number | null = null;
  const requestIds = new Map<string, string>(); // id -> the request's topic and payload
  let sentValidId = false; // a request with a correlation id: what the retry step repeats

  try {
    const kiosk = new SimKiosk({ url: boxUrl, id: o.box.kiosk.id, secret: o.box.kiosk.secret, tag: 'kit' });
    await kiosk.connect();
    helpers.push(kiosk);
    let keypad: SimKeypad | null = null;
    if (o.box.keypad) {
      keypad = new SimKeypad({
        url: boxUrl,
        id: o.box.keypad.id,
        secret: o.box.keypad.secret,
        counter,
        tag: 'kit',
      });
      await keypad.connect();
      helpers.push(keypad);
    }

    for (const [index, step] of steps.entries()) {
      // Set the office up so the step can succeed: a citizen waiting for each NEXT (the retry of a NEXT is
      // a NEXT too), and for a rating box or scanner (the roles the kit's keypad serves) a citizen called at
      // its counter before its rate or scan and their retry (and finished, for a rating: that opens the
      // rating session).
      if (step.action === 'next' || step.repeat === 'next') await kiosk.requestTicket(o.box.service.id);
      if (keypad && step.action !== 'connect') {
        await kiosk.requestTicket(o.box.service.id);
        await keypad.next();
        if (o.role === 'rating') await keypad.finish();
      }
      const since = step.action === 'connect' ? 0 : trace.mark;
      const retried = step.action === 'retry' ? requestSpec(step.repeat ?? 'retry', counter) : null;
      if (retried)
        sniffer.cutAfter(
          (p) =>
            trace.mine(p) && p.dir === 'up' && p.packet.cmd === 'publish' && p.packet.topic === retried.topic,
        );
      await o.operator(step, { index: index + 1, total: steps.length, timeoutMs: timeout });

      if (step.action === 'connect') {
        await connectChecks(list, trace, o, since, timeout, (s) => (willSession = s));
        continue;
      }

      if (step.action === 'retry') {
        if (!retried || !sentValidId)
          list.skip('retry: the same request again after a lost connection', 'no earlier valid request');
        else await retryChecks(list, trace, o, retried.topic, since, willSession, timeout);
        continue;
      }

      const spec = requestSpec(step.action, counter);
      const label = `${step.action}: the request`;
      let published: SniffedPacket | null = null;
      try {
        published = await trace.wait(
          (p) =>
            trace.mine(p) &&
            p.dir === 'up' &&
            p.packet.cmd === 'publish' &&
            !isPresenceOrStatus(p.packet.topic),
          timeout,
          `request from the device (step: ${step.text.en})`,
          since,
        );
      } catch (e) {
        if (step.optional) {
          list.skip(label, `the device sent nothing: ${(e as Error).message}`);
          continue;
        }
        list.results.push({ name: label, status: 'fail', detail: (e as Error).message });
        o.onResult?.(list.results[list.results.length - 1] as CheckResult);
        continue;
      }
      const p = published.packet as IPublishPacket;
      const payload = Buffer.isBuffer(p.payload) ? p.payload.toString() : p.payload;
      const body = json(p);
      await list.check(`${step.action}: published on ${spec.topic}`, () => {
        expectThat(
          p.topic === spec.topic,
          `published on "${p.topic}", expected "${spec.topic}" (protocol/README.md 1.5)`,
        );
      });
      await list.check(`${step.action}: QoS 1, not retained`, () => {
        expectThat(p.qos === 1, `published with QoS ${p.qos}; requests must use QoS 1 (1.1)`);
        expectThat(!p.retain, 'published with the retain flag; requests are never retained (1.5)');
      });
      await list.check(`${step.action}: the payload matches the ${step.action} schema`, () => {
        expectThat(body !== undefined, `the payload is not JSON: ${payload.slice(0, 80)}`);
        const issues = issuesOf(spec.schema, body);
        expectThat(issues === '', `${issues} (protocol/messages.ts)`);
      });
      const id = (body as { id?: unknown } | undefined)?.id;
      await list.check(`${step.action}: a correlation id, unique for this device`, () => {
        expectThat(
          typeof id === 'string' && id.length >= 1 && id.length <= 64,
          'the payload has no "id" string of 1–64 characters (3.1)',
        );
        // The same id with the same bytes on another topic is another request too: the box would answer it
        // from its log as the first one (a RECALL answered as the earlier NEXT).
        const request = `${p.topic}\n${payload}`;
        const earlier = requestIds.get(id);
        expectThat(
          earlier === undefined || earlier === request,
          `id "${id}" was already used for another request (3.4)`,
        );
        requestIds.set(id, request);
        return `id ${id}`;
      });
      if (typeof id === 'string') sentValidId = true;
      await list.check(`${step.action}: the box's reply reaches the device and is acknowledged`, async () => {
        const reply = await trace.deliveredAndAcked(
          published.conn,
          (x) => x.topic === topics.reply(o.id) && (json(x) as Reply | undefined)?.id === id,
          Math.min(5000, timeout),
          'reply from the box',
          'PUBACK for the reply (the device must be subscribed to its reply topic with QoS 1)',
          since,
        );
        const r = json(reply) as Reply;
        if (r.status === 'error')
          throw new CheckFailed(
            `the box refused it: ${r.error?.code} — ${r.error?.message.vi} / ${r.error?.message.en}`,
          );
        return `events ${JSON.stringify(r.data?.events)}`;
      });
      if (o.role === 'kiosk') {
        let jobId = '';
        await list.check('ticket: the print job reaches the kiosk and is acknowledged', async () => {
          const job = await trace.deliveredAndAcked(
            published.conn,
            (x) => x.topic === topics.print(o.id),
            Math.min(5000, timeout),
            'print job',
            'PUBACK for the print job',
            since,
          );
          jobId = (json(job) as PrintJob).jobId;
        });
        if (jobId)
          await list.check('ticket: the kiosk reports the job printed on tickets/printed', async () => {
            await trace.wait(
              (x) =>
                trace.mine(x) &&
                x.dir === 'up' &&
                x.packet.cmd === 'publish' &&
                x.packet.topic === topics.ticketPrinted() &&
                (json(x.packet) as { jobId?: unknown } | undefined)?.jobId === jobId,
              Math.min(10_000, timeout),
              `{"id":…,"jobId":"${jobId}"} on ${topics.ticketPrinted()} once the ticket is printed (4.8); ` +
                'without it the box sends the job again until it expires',
              since,
            );
          });
      }
      if (o.role === 'rating')
        await list.check('rate: the rating names the ticket of the session', () => {
          const t = (body as { ticketId?: unknown } | undefined)?.ticketId;
          expectThat(
            typeof t === 'string',
            'no "ticketId": send the one from rating-session, so the rating lands on the citizen who saw it (4.4)',
          );
        });
    }
  } finally {
    await Promise.all(helpers.map((h) => h.close()));
    await sniffer.close();
  }
  return list.results;
}

/** Publishes that are not the step's request: presence, status, and a kiosk's print acknowledgements. */
function isPresenceOrStatus(topic: string): boolean {
  return (
    topic.startsWith(`${ROOT}/presence/`) ||
    topic.startsWith(`${ROOT}/status/`) ||
    topic === topics.ticketPrinted()
  );
}

async function connectChecks(
  list: Checklist,
  trace: DeviceTrace,
  o: DeviceCheckOptions,
  since: number,
  timeout: number,
  found: (session: number | null) => void,
): Promise<void> {
  let connect: SniffedPacket | null = null;
  await list.check('connect: CONNECT with the device id (MQTT 3.1.1)', async () => {
    connect = await trace.wait(
      (p) => p.dir === 'up' && p.packet.cmd === 'connect',
      timeout,
      'CONNECT',
      since,
    );
    const c = connect.packet as IConnectPacket;
    expectThat(
      c.protocolVersion === 4,
      `protocol level ${c.protocolVersion}; the box speaks MQTT 3.1.1 (level 4) only (1.1)`,
    );
    expectThat(c.username === o.id, `username "${c.username ?? ''}", expected the device id "${o.id}" (1.2)`);
    expectThat(
      deviceIdOfClientId(c.clientId) === o.id,
      `client id "${c.clientId}" is not "${o.id}" or "${o.id}.<tag>" (1.3)`,
    );
    return `client id ${c.clientId}, keep-alive ${c.keepalive} s`;
  });
  if (!connect) return;
  const cp = (connect as SniffedPacket).packet as IConnectPacket;
  const conn = (connect as SniffedPacket).conn;
  await list.check('connect: the box accepts the credentials (CONNACK 0)', async () => {
    const ack = await trace.wait(
      (p) => p.conn === conn && p.dir === 'down' && p.packet.cmd === 'connack',
      Math.min(5000, timeout),
      'CONNACK',
    );
    const rc = (ack.packet as IConnackPacket).returnCode;
    expectThat(
      rc === 0,
      rc === 4
        ? 'CONNACK 4: wrong device id or secret'
        : rc === 5
          ? 'CONNACK 5: not authorised (client id or missing credentials)'
          : `CONNACK ${rc}`,
    );
  });
  let session: number | null = null;
  await list.check('connect: a Will on its presence topic, QoS 1, retained, {online:false, session}', () => {
    const w = cp.will;
    expectThat(w, 'no Will: the lobby cannot tell when the device drops off (4.1)');
    expectThat(
      w.topic === topics.presence(o.id),
      `Will topic "${w.topic}", expected "${topics.presence(o.id)}"`,
    );
    expectThat(
      w.qos === 1 && w.retain === true,
      `Will QoS ${w.qos}, retain ${w.retain}: use QoS 1 and retain`,
    );
    let body: unknown;
    try {
      body = JSON.parse(w.payload.toString());
    } catch {
      throw new CheckFailed('the Will payload is not JSON');
    }
    const issues = issuesOf(Presence, body);
    expectThat(issues === '', `Will payload: ${issues}`);
    expectThat((body as Presence).online === false, 'the Will must say "online": false');
    session = (body as Presence).session;
    return `session ${session}`;
  });
  found(session);
  await list.check("connect: the birth on the same connection, with the Will's session", async () => {
    const b = await trace.wait(
      (p) =>
        p.conn === conn &&
        p.dir === 'up' &&
        p.packet.cmd === 'publish' &&
        p.packet.topic === topics.presence(o.id),
      Math.min(10_000, timeout),
      'birth on the presence topic',
      since,
    );
    const pp = b.packet as IPublishPacket;
    const body = json(pp);
    expectThat(pp.qos === 1 && pp.retain, `birth QoS ${pp.qos}, retain ${pp.retain}: use QoS 1 and retain`);
    const issues = issuesOf(Presence, body);
    expectThat(issues === '', `birth payload: ${issues}`);
    expectThat((body as Presence).online === true, 'the birth must say "online": true');
    expectThat(
      session === null || (body as Presence).session === session,
      `birth session ${(body as Presence).session}, Will session ${session}: they must be equal (4.1)`,
    );
  });
  await list.check(
    'connect: subscribes to its own topics (reply, and print or rating-session) with QoS 1',
    async () => {
      const need = mustHear(o.role, o.id);
      const covered = new Set<string>();
      const atQos0 = new Set<string>();
      const started = Date.now();
      const deadline = started + Math.min(10_000, timeout);
      while (covered.size < need.length && Date.now() < deadline) {
        const sub = await trace
          .wait(
            (p) =>
              p.conn === conn &&
              p.dir === 'up' &&
              p.packet.cmd === 'subscribe' &&
              !(p as { seen?: boolean }).seen,
            deadline - Date.now(),
            'SUBSCRIBE',
            since,
          )
          .catch(() => null); // no more: say below what is missing
        if (!sub) break;
        (sub as { seen?: boolean }).seen = true;
        const sp = sub.packet as ISubscribePacket;
        const ack = await trace.wait(
          (p) =>
            p.conn === conn &&
            p.dir === 'down' &&
            p.packet.cmd === 'suback' &&
            p.packet.messageId === sp.messageId,
          Math.min(5000, timeout),
          'SUBACK',
        );
        const granted = (ack.packet as ISubackPacket).granted as number[];
        sp.subscriptions.forEach((s, i) => {
          const qos = granted[i] ?? 128;
          if (qos === 128) return;
          for (const t of need) if (filterMatches(s.topic, t)) (qos >= 1 ? covered : atQos0).add(t);
        });
      }
      const missing = need.filter((t) => !covered.has(t));
      const low = missing.filter((t) => atQos0.has(t));
      expectThat(
        low.length === 0,
        `subscribed with QoS 0 for ${low.join(', ')}: the box's messages then come without acknowledgement; subscribe with QoS 1 (1.1)`,
      );
      expectThat(
        missing.length === 0,
        `no SUBSCRIBE granted covering ${missing.join(', ')} within ${Math.round((deadline - started) / 1000)} s`,
      );
    },
  );
}

async function retryChecks(
  list: Checklist,
  trace: DeviceTrace,
  o: DeviceCheckOptions,
  topic: string,
  since: number,
  oldSession: number | null,
  timeout: number,
): Promise<void> {
  let first: SniffedPacket | null = null;
  await list.check('retry: the request arrives (the kit cuts the connection right after it)', async () => {
    first = await trace.wait(
      (p) => trace.mine(p) && p.dir === 'up' && p.packet.cmd === 'publish' && p.packet.topic === topic,
      timeout,
      `request on ${topic}`,
      since,
    );
    return `id ${(json(first.packet as IPublishPacket) as { id?: string } | undefined)?.id}`;
  });
  if (!first) return;
  const cut = first as SniffedPacket;
  const firstBody = json(cut.packet as IPublishPacket) as { id?: string } | undefined;
  const firstPayload = (cut.packet as IPublishPacket).payload.toString();
  const after = trace.sniffer.packets.indexOf(cut) + 1;
  await list.check(
    'retry: the device reconnects with a new session number in its Will and birth',
    async () => {
      const reconnect = await trace.wait(
        (p) => p.dir === 'up' && p.packet.cmd === 'connect' && deviceIdOfClientId(p.packet.clientId) === o.id,
        timeout,
        'reconnect',
        after,
      );
      const w = (reconnect.packet as IConnectPacket).will;
      let s: number | null = null;
      try {
        s = w ? (JSON.parse(w.payload.toString()) as Presence).session : null;
      } catch {
        s = null;
      }
      expectThat(s !== null, 'no Will with a session on the new connection');
      expectThat(
        oldSession === null || s > oldSession,
        `session ${s} after ${oldSession}: increase it on every new connection (4.1)`,
      );
      const birth = await trace.wait(
        (p) =>
          p.conn === reconnect.conn &&
          p.dir === 'up' &&
          p.packet.cmd === 'publish' &&
          p.packet.topic === topics.presence(o.id),
        Math.min(10_000, timeout),
        'birth after the reconnect',
        after,
      );
      expectThat(
        (json(birth.packet as IPublishPacket) as Presence | undefined)?.session === s,
        'the birth after the reconnect does not carry the new session',
      );
      return `session ${s}`;
    },
  );
  await list.check('retry: the same request is sent again with the same id and payload', async () => {
    const again = await trace.wait(
      (p) =>
        trace.mine(p) &&
        p.conn !== cut.conn &&
        p.dir === 'up' &&
        p.packet.cmd === 'publish' &&
        p.packet.topic === topic,
      timeout,
      'the request sent again',
      after,
    );
    const body = json(again.packet as IPublishPacket) as { id?: string } | undefined;
    expectThat(
      body?.id === firstBody?.id,
      `sent again with id "${body?.id}", first with "${firstBody?.id}": a retry must reuse the id, or the box issues or calls twice (3.4)`,
    );
    expectThat(
      (again.packet as IPublishPacket).payload.toString() === firstPayload,
      'sent again with other bytes: a retry must repeat the request exactly (3.4)',
    );
    const reply = await trace.wait(
      (x) =>
        x.conn === again.conn &&
        x.dir === 'down' &&
        x.packet.cmd === 'publish' &&
        x.packet.topic === topics.reply(o.id) &&
        (json(x.packet) as Reply | undefined)?.id === body?.id,
      Math.min(5000, timeout),
      'reply to the retry',
      after,
    );
    const r = json(reply.packet as IPublishPacket) as Reply;
    return r.data?.duplicate ? 'answered from the log (duplicate: true)' : `answered ${r.status}`;
  });
}

export { CheckSkipped };
export type { Packet };
