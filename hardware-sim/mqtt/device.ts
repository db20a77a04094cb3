// A simulated MQTT-native peripheral: one long-lived connection with a Will, its presence birth on every
// (re)connect with a fresh session number (protocol/README.md 4.1), requests with unique ids answered on
// its reply topic, and retries that reuse the id (3.4). The role classes add what each device does.
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import { topics, type Reply } from '../../protocol/index.js';

export interface SimDeviceOptions {
  /** The box's broker, e.g. `mqtt://127.0.0.1:1883`. */
  url: string;
  /** Device id (the MQTT username). */
  id: string;
  secret: string;
  /** A second connection of the same device uses `<id>.<tag>` as its client id. */
  tag?: string;
  /** Presence session number of the first connection; each new connection takes the next (default 1). */
  session?: number;
  /** Firmware version sent in the birth. */
  version?: string;
  /** MQTT keep-alive in seconds (the Will fires after 1.5 × this without traffic). Default 20. */
  keepalive?: number;
  /** How long to wait for a reply before sending the request again with the same id. Default 5000 ms. */
  replyTimeoutMs?: number;
  /** Sends of one request before giving up (1 = no retry). Default 3. */
  attempts?: number;
  /** Reconnect after a lost connection (ms between attempts; 0 = never). Default 1000. */
  reconnectPeriod?: number;
}

export interface Received {
  topic: string;
  body: unknown;
  retain: boolean;
}

/**
 * Every simulated device emits `message` (Received), `connected` ({session}) and `disconnected`; each
 * role adds its own (documented on the class).
 */

/** A refused CONNACK, with the MQTT return code (4 = bad id or secret, 5 = not authorised). */
export class ConnectRefused extends Error {
  constructor(
    readonly returnCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** A request that got no reply after every attempt. */
export class NoReply extends Error {}

interface Pending {
  resolve: (r: Reply) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export abstract class SimDevice extends EventEmitter {
  readonly id: string;
  readonly clientId: string;
  protected client: MqttClient | null = null;
  private sessionNo: number;
  private readonly bootSession: number;
  private readonly bootTag = randomBytes(4).toString('hex');
  private seq = 0;
  private readonly pending = new Map<string, Pending>();
  /** Everything received, in order (the newest 5,000). */
  readonly received: Received[] = [];
  /** Topics this connection has had a live (not retained) message on. */
  private readonly liveTopics = new Set<string>();

  constructor(protected readonly opts: SimDeviceOptions) {
    super();
    this.id = opts.id;
    this.clientId = opts.tag ? `${opts.id}.${opts.tag}` : opts.id;
    this.sessionNo = opts.session ?? 1;
    this.bootSession = this.sessionNo;
  }

  /** The presence session number of the current (or last) connection. */
  get presenceSession(): number {
    return this.sessionNo;
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  /** The MQTT filters this device listens on (its own topics, at least its reply topic). */
  protected abstract subscriptions(): string[];

  /** Called for each message, after JSON parsing. */
  protected onMessage(_m: Received): void {}

  private will(): NonNullable<IClientOptions['will']> {
    return {
      topic: topics.presence(this.id),
      payload: Buffer.from(JSON.stringify({ online: false, session: this.sessionNo })),
      qos: 1,
      retain: true,
    };
  }

  /** Connects, subscribes and publishes the birth. Rejects on a refused CONNACK (no retry then). */
  connect(extra: IClientOptions = {}): Promise<this> {
    return new Promise((resolve, reject) => {
      const c = mqtt.connect(this.opts.url, {
        clientId: this.clientId,
        username: this.id,
        password: this.opts.secret,
        protocolVersion: 4,
        keepalive: this.opts.keepalive ?? 20,
        reconnectPeriod: this.opts.reconnectPeriod ?? 1000,
        connectTimeout: 5000,
        will: this.will(),
        ...extra,
      });
      this.client = c;
      let first = true;
      c.on('connect', () => {
        this.liveTopics.clear();
        void this.onConnected(c).then(
          () => {
            this.emit('connected', { session: this.sessionNo });
            if (first) {
              first = false;
              c.off('error', fail);
              resolve(this);
            }
          },
          (err: unknown) => {
            if (first) fail(err as Error);
          },
        );
      });
      c.on('close', () => {
        // The next connection is a new presence session: its Will and birth carry the next number.
        if (this.client === c) {
          this.sessionNo += 1;
          c.options.will = this.will();
        }
        this.emit('disconnected');
      });
      c.on('message', (topic, payload, packet) => this.dispatch(topic, payload, packet));
      const fail = (err: Error) => {
        c.end(true);
        const code = (err as { code?: number }).code;
        reject(typeof code === 'number' ? new ConnectRefused(code, `${this.clientId}: ${err.message}`) : err);
      };
      c.once('error', fail);
    });
  }

  private async onConnected(c: MqttClient): Promise<void> {
    // A reply's PUBACK and the next request are two small writes: without this, Nagle holds the second
    // until the box's delayed ACK (~40 ms).
    (c.stream as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
    const filters = this.subscriptions();
    if (filters.length > 0) {
      // mqtt.js reports a refused filter (SUBACK 0x80) as an error.
      await c.subscribeAsync(filters, { qos: 1 }).catch((err: Error) => {
        throw new Error(`${this.clientId}: subscription refused (${err.message}): ${filters.join(', ')}`);
      });
    }
    const birth: Record<string, unknown> = { online: true, session: this.sessionNo };
    if (this.opts.version) birth.version = this.opts.version;
    await c.publishAsync(topics.presence(this.id), JSON.stringify(birth), { qos: 1, retain: true });
  }

  private dispatch(topic: string, payload: Buffer, packet: IPublishPacket): void {
    // A retained message after a live one on its topic, on one connection, is older (protocol/README §1.4).
    if (!packet.retain) this.liveTopics.add(topic);
    else if (this.liveTopics.has(topic)) return;
    let body: unknown;
    try {
      body = JSON.parse(payload.toString());
    } catch {
      body = payload.toString();
    }
    const m: Received = { topic, body, retain: packet.retain };
    this.received.push(m);
    if (this.received.length > 5000) this.received.splice(0, 1000);
    if (topic === topics.reply(this.id)) {
      const reply = body as Reply;
      const p = reply && typeof reply === 'object' && reply.id ? this.pending.get(reply.id) : undefined;
      if (p) {
        clearTimeout(p.timer);
        this.pending.delete(reply.id as string);
        p.resolve(reply);
      }
    }
    this.onMessage(m);
    this.emit('message', m);
  }

  /**
   * A fresh request id: `<id>-b<first session><random>-<sequence>`. The random part makes it unique across
   * runs of the simulator too: a run that starts again at session 1 and sequence 1 against the same box
   * would otherwise be answered with the last run's tickets, or refused as `request_id_reused`.
   */
  nextRequestId(): string {
    this.seq += 1;
    return `${this.id}-b${this.bootSession}${this.bootTag}-${String(this.seq).padStart(6, '0')}`;
  }

  /**
   * Publishes a request (QoS 1) and resolves with the box's reply, matched by id. Without a reply in time,
   * the same request (same id, same bytes) is sent again, as protocol/README.md 3.4 asks.
   */
  request(topic: string, fields: Record<string, unknown> = {}, id = this.nextRequestId()): Promise<Reply> {
    const c = this.requireClient();
    const payload = JSON.stringify({ id, ...fields });
    const attempts = this.opts.attempts ?? 3;
    const timeoutMs = this.opts.replyTimeoutMs ?? 5000;
    return new Promise((resolve, reject) => {
      let sent = 0;
      const send = () => {
        sent += 1;
        c.publish(topic, payload, { qos: 1 });
        const timer = setTimeout(() => {
          if (sent < attempts) return send();
          this.pending.delete(id);
          reject(new NoReply(`${this.clientId}: no reply to ${topic} (${id}) after ${sent} sends`));
        }, timeoutMs);
        this.pending.set(id, { resolve, reject, timer });
      };
      send();
    });
  }

  /** Publishes anything (for conformance checks that send wrong payloads on purpose). */
  async publishRaw(topic: string, payload: string | Buffer, opts: { qos?: 0 | 1; retain?: boolean } = {}) {
    await this.requireClient().publishAsync(topic, payload, { qos: opts.qos ?? 1, retain: opts.retain });
  }

  /** Resolves with the next received message that matches (or one already received, if `past`). */
  waitFor(
    match: (m: Received) => boolean,
    timeoutMs = 5000,
    opts: { past?: boolean } = {},
  ): Promise<Received> {
    if (opts.past) {
      for (let i = this.received.length - 1; i >= 0; i--) {
        const m = this.received[i] as Received;
        if (match(m)) return Promise.resolve(m);
      }
    }
    return new Promise((resolve, reject) => {
      const on = (m: Received) => {
        if (!match(m)) return;
        clearTimeout(timer);
        this.off('message', on);
        resolve(m);
      };
      const timer = setTimeout(() => {
        this.off('message', on);
        reject(new Error(`${this.clientId}: no matching message within ${timeoutMs} ms`));
      }, timeoutMs);
      this.on('message', on);
    });
  }

  /** Signs off (offline presence with this session) and disconnects cleanly. */
  async close(reason = 'shutdown'): Promise<void> {
    const c = this.client;
    if (!c) return;
    this.client = null;
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
    // A connection that died unnoticed would hold each step until keep-alive: give each two seconds.
    const within = (p: Promise<unknown>) =>
      Promise.race([p.catch(() => undefined), new Promise((r) => setTimeout(r, 2000).unref())]);
    if (c.connected) {
      await within(
        c.publishAsync(
          topics.presence(this.id),
          JSON.stringify({ online: false, session: this.sessionNo, reason }),
          { qos: 1, retain: true },
        ),
      );
    }
    // mqtt.js waits for unacknowledged publishes before a clean end; force it when that takes too long.
    if (c.connected) await within(c.endAsync());
    c.end(true);
  }

  /** Drops the connection without DISCONNECT, like a pulled cable: the box publishes the Will. */
  crash(): void {
    const c = this.client;
    if (!c) return;
    this.client = null;
    c.options.reconnectPeriod = 0;
    c.stream.destroy();
    c.end(true);
  }

  protected requireClient(): MqttClient {
    if (!this.client) throw new Error(`${this.clientId} is not connected`);
    return this.client;
  }
}

/** The `data.ticket` of a reply, if any. */
export function ticketOfReply(reply: Reply): { ticketId: string; number: string; service: string } | null {
  const t = reply.data?.ticket as { ticketId: string; number: string; service: string } | undefined;
  return t ?? null;
}

/** The event types a reply reports (`data.events`), empty for an error. */
export function eventsOfReply(reply: Reply): string[] {
  return (reply.data?.events as string[] | undefined) ?? [];
}
