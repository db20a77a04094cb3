// The embedded MQTT broker: aedes on TCP (devices) and WebSocket (browser apps). Its three hooks are the only
// places that decide who may connect, publish and subscribe.
import { createServer, type Server } from 'node:net';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import { WebSocketServer, createWebSocketStream } from 'ws';
import type { Aedes, AuthenticateError, Client, PublishPacket } from 'aedes';
import mqttPacket from 'mqtt-packet';
import type { Logger } from 'pino';
import {
  BOX_ID,
  deviceIdOfClientId,
  DeviceStatus,
  Presence,
  errorBody,
  isRequestSpace,
  parsePayload,
  parsePresenceTopic,
  parseRequestTopic,
  parseStatusTopic,
  peekRequestId,
  topics,
  type ErrorBody,
  type Reply,
  type RequestTopic,
} from '../../protocol/index.js';
import { mayRequest, maySubscribe, type Identity } from './acl.js';
import type { PeripheralDirectory } from './directory.js';

// mqtt-packet (aedes' writer) pre-builds a 2-byte Buffer for every possible packet id the first time it writes:
// 65,536 small Buffers, about 6 MB of heap that a box answering a few requests a minute never needs. Without
// the cache it allocates two bytes per packet id written. Must be set before the first packet is written.
mqttPacket.writeToStream.cacheNumbers = false;

/** Answers a request that passed the ACL. Must not throw; errors become replies. */
export type RequestDesk = (
  who: Identity,
  req: RequestTopic,
  topic: string,
  payload: Buffer,
) => Promise<Reply>;

export interface BrokerOptions {
  directory: PeripheralDirectory;
  desk: RequestDesk;
  log: Logger;
  onPresence?: (id: string, online: boolean) => void;
}

interface PresenceEntry {
  session: number;
  online: boolean;
  client: Client | null;
}

const RC_BAD_CREDENTIALS = 4;
const RC_NOT_AUTHORIZED = 5;

function authError(message: string, returnCode: number): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError;
}

export class LobbyBroker {
  readonly aedes: Aedes;
  private readonly who = new WeakMap<Client, Identity>();
  /** Live connections (ours, not aedes' internal map, which loses a client on a same-id takeover). */
  private readonly live = new Set<Client>();
  private readonly presence = new Map<string, PresenceEntry>();
  /** The last status of each device, from the device itself or from the box's driver for it. */
  private readonly statuses = new Map<string, DeviceStatus>();
  private tcp: Server | null = null;
  private wss: WebSocketServer | null = null;
  private readonly log: Logger;

  private constructor(
    aedes: Aedes,
    private readonly opts: BrokerOptions,
  ) {
    this.aedes = aedes;
    this.log = opts.log.child({ part: 'broker' });
    aedes.authenticate = (client, username, password, done) =>
      void this.authenticate(client, username, password, done);
    aedes.authorizePublish = (client, packet, done) => this.authorizePublish(client, packet, done);
    aedes.authorizeSubscribe = (client, sub, done) => {
      const who = this.who.get(client);
      if (who && maySubscribe(who, sub.topic)) return done(null, sub);
      this.log.warn({ client: client.id, filter: sub.topic }, 'subscription denied');
      done(null, null); // SUBACK 0x80: refused, the connection stays up
    };
    aedes.on('clientDisconnect', (client) => {
      this.live.delete(client);
      this.onDisconnect(client);
    });
    aedes.on('clientError', (client, err) =>
      this.log.info({ client: client?.id, err: err.message }, 'client error'),
    );
    aedes.on('connectionError', (client, err) =>
      this.log.info({ client: client?.id, err: err.message }, 'connection error'),
    );
  }

  static async create(opts: BrokerOptions): Promise<LobbyBroker> {
    const { Aedes } = await import('aedes');
    const aedes = await Aedes.createBroker({
      heartbeatInterval: 60_000,
      drainTimeout: 30_000,
      maxTopicLevels: 12,
    });
    return new LobbyBroker(aedes, opts);
  }

  listenTcp(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      // noDelay: a reply and its PUBACK are two small writes; Nagle would hold the second for ~40 ms.
      const server = createServer({ noDelay: true }, (socket) => this.aedes.handle(socket));
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        this.tcp = server;
        const addr = server.address();
        resolve(typeof addr === 'object' && addr ? addr.port : port);
      });
    });
  }

  /** MQTT over WebSocket at `/mqtt` on the box's HTTP server, for the browser apps. */
  attachWebSocket(server: HttpServer): void {
    this.wss = new WebSocketServer({ server, path: '/mqtt', maxPayload: 64 * 1024 });
    // The HTTP server reports its own listen errors (a busy port); ws re-emits them here.
    this.wss.on('error', (err) => this.log.debug({ err: err.message }, 'websocket server error'));
    this.wss.on('connection', (ws, req: IncomingMessage) => {
      const stream = createWebSocketStream(ws);
      stream.on('error', () => ws.terminate());
      this.aedes.handle(stream, req);
    });
  }

  /** Publishes as the box (bypasses authorizePublish). */
  publish(topic: string, payload: unknown, opts: { retain?: boolean; qos?: 0 | 1 } = {}): Promise<void> {
    const packet = {
      cmd: 'publish',
      topic,
      payload: Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload)),
      qos: opts.qos ?? 1,
      retain: opts.retain ?? false,
      dup: false,
    } as PublishPacket;
    return new Promise((resolve, reject) =>
      this.aedes.publish(packet, (err) => (err ? reject(err) : resolve())),
    );
  }

  /**
   * Answers a request as if `who` had published it over MQTT: the same ACL, parsing and ledger path. For
   * hardware the box drives itself (GPIO keypads, serial scanners, RS-485 rating boxes).
   */
  async submitAs(who: Identity, topic: string, payload: Buffer): Promise<Reply> {
    const id = peekRequestId(payload);
    const req = parseRequestTopic(topic);
    if (!req) return this.errorReply(topic, id, errorBody('unknown_topic', {}, topic));
    const verdict = mayRequest(who, req);
    if (!verdict.allowed) {
      this.log.warn({ client: who.id, topic, reason: verdict.reason }, 'request denied');
      return this.errorReply(topic, id, errorBody('forbidden', {}, verdict.reason));
    }
    return this.opts.desk(who, req, topic, payload);
  }

  /**
   * An in-process subscription (box-side drivers: the printer, the LED bus, the announcer). Returns the
   * unsubscribe function. Retained messages are delivered too.
   */
  subscribeInternal(filter: string, handler: (topic: string, payload: Buffer) => void): () => void {
    const fn = (packet: { topic: string; payload: Buffer | string }, cb: () => void) => {
      try {
        handler(packet.topic, Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload));
      } catch (err) {
        this.log.error({ err, filter }, 'internal subscriber failed');
      }
      cb();
    };
    this.aedes.subscribe(filter, fn as never, () => {
      // What an MQTT subscriber gets on SUBSCRIBE: the retained messages that match (a driver started after
      // the box published its LED text must still show it).
      const { persistence } = this.aedes as unknown as {
        persistence: { createRetainedStream(pattern: string): NodeJS.ReadableStream };
      };
      const retained = persistence.createRetainedStream(filter);
      retained.on('data', (packet: { topic: string; payload: Buffer | string }) =>
        fn(packet, () => undefined),
      );
      retained.on('error', (err: Error) => this.log.error({ err, filter }, 'retained replay failed'));
    });
    return () => this.aedes.unsubscribe(filter, fn as never, () => undefined);
  }

  /** Publishes (retained) and records a device's status on its behalf: for hardware the box drives. */
  async publishStatus(id: string, status: DeviceStatus): Promise<void> {
    this.statuses.set(id, status);
    await this.publish(topics.status(id), status, { retain: true });
  }

  statusOf(id: string): DeviceStatus | undefined {
    return this.statuses.get(id);
  }

  /** Drops the connections of a device whose credentials were revoked or changed. */
  disconnect(id: string): void {
    for (const client of [...this.live]) if (this.who.get(client)?.id === id) client.close();
  }

  /** Client ids of live connections. */
  connectedIds(): string[] {
    for (const c of this.live) if (c.closed) this.live.delete(c); // authenticated, then failed before connecting
    return [...this.live].map((c) => c.id);
  }

  presenceOf(id: string): { online: boolean; session: number } | undefined {
    const p = this.presence.get(id);
    return p ? { online: p.online, session: p.session } : undefined;
  }

  private async authenticate(
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
    done: (error: AuthenticateError | null, success: boolean | null) => void,
  ): Promise<void> {
    if (!username || !password) {
      this.log.warn({ client: client.id }, 'anonymous connection refused');
      return done(authError('credentials required', RC_NOT_AUTHORIZED), false);
    }
    // The client id must be the device's own, so one device cannot take over another's session.
    if (deviceIdOfClientId(client.id) !== username) {
      this.log.warn({ client: client.id, username }, 'client id does not belong to the device');
      return done(
        authError('client id must be the device id (or <device id>.<tag>)', RC_NOT_AUTHORIZED),
        false,
      );
    }
    const identity = await this.opts.directory.verify(username, password.toString());
    if (!identity) {
      this.log.warn({ client: client.id }, 'bad credentials');
      return done(authError('bad device id or secret', RC_BAD_CREDENTIALS), false);
    }
    this.who.set(client, identity);
    this.live.add(client);
    this.log.info({ client: client.id, role: identity.role, counter: identity.counter }, 'device connected');
    done(null, true);
  }

  private authorizePublish(
    client: Client | null,
    packet: PublishPacket,
    done: (error?: Error | null) => void,
  ): void {
    const who = client ? this.who.get(client) : undefined;
    if (!client || !who) return done(new Error('unknown client'));
    const topic = packet.topic;

    if (isRequestSpace(topic)) {
      // Requests are answered on the device's reply topic and never stored or forwarded.
      packet.retain = false;
      const req = parseRequestTopic(topic);
      if (!req) {
        const reply = this.errorReply(
          topic,
          peekRequestId(packet.payload),
          errorBody('unknown_topic', {}, topic),
        );
        return void this.reply(who, reply).then(() => done(null));
      }
      const verdict = mayRequest(who, req);
      if (!verdict.allowed) {
        this.log.warn({ client: who.id, topic, reason: verdict.reason }, 'request denied');
        const reply = this.errorReply(
          topic,
          peekRequestId(packet.payload),
          errorBody('forbidden', {}, verdict.reason),
        );
        return void this.reply(who, reply).then(() => done(null));
      }
      // The PUBACK waits for this: a QoS 1 request is acknowledged only once its events are durable.
      return void this.opts
        .desk(who, req, topic, packet.payload as Buffer)
        .then((reply) => this.reply(who, reply))
        .then(
          () => done(null),
          (err: unknown) => {
            this.log.error({ err, client: who.id, topic }, 'request failed');
            done(null);
          },
        );
    }

    const presenceId = parsePresenceTopic(topic);
    if (presenceId !== null) {
      const refusal = this.checkPresence(client, who, presenceId, packet);
      if (refusal === 'stale') {
        // A Will from a replaced connection is dropped quietly; a live device sending a wrong session is told.
        if (packet === (client as unknown as { will?: unknown }).will) return done(new Error('stale will'));
        const body = errorBody('schema_invalid', {
          detail: 'offline presence must carry the current session',
        });
        return void this.reply(who, this.errorReply(topic, null, body)).then(() =>
          done(new Error('stale presence')),
        );
      }
      if (refusal) {
        this.log.warn({ client: who.id, topic, reason: refusal.detail }, 'presence refused');
        return void this.reply(who, this.errorReply(topic, null, refusal)).then(() =>
          done(new Error(refusal.code)),
        );
      }
      return done(null);
    }

    const statusId = parseStatusTopic(topic);
    if (statusId !== null && statusId === who.id) {
      const parsed = parsePayload(DeviceStatus, packet.payload as Buffer);
      if (!parsed.ok) {
        this.log.warn({ client: who.id, topic, detail: parsed.error.detail }, 'status refused');
        return void this.reply(who, this.errorReply(topic, null, parsed.error)).then(() =>
          done(new Error('bad status')),
        );
      }
      this.statuses.set(who.id, parsed.value);
      packet.retain = true;
      return done(null);
    }

    // State, events, other devices' topics, $SYS, anything else: the box alone publishes there.
    this.log.warn({ client: who.id, topic }, 'publish denied; disconnecting');
    void this.reply(
      who,
      this.errorReply(
        topic,
        peekRequestId(packet.payload),
        errorBody('forbidden', {}, `only the box publishes on ${topic}`),
      ),
    ).then(() => done(new Error(`publish to ${topic} denied`)));
  }

  /** Presence rules: only your own, well-formed, and a late Will cannot mark a live device offline. */
  private checkPresence(
    client: Client,
    who: Identity,
    id: string,
    packet: PublishPacket,
  ): ErrorBody | 'stale' | null {
    if (id !== who.id || id === BOX_ID)
      return errorBody('forbidden', {}, `a device may only publish its own presence`);
    const parsed = parsePayload(Presence, packet.payload as Buffer);
    if (!parsed.ok) return parsed.error;
    const p = parsed.value;
    const entry = this.presence.get(id);
    if (p.online) {
      this.presence.set(id, { session: p.session, online: true, client });
      this.opts.onPresence?.(id, true);
      return null;
    }
    // Offline (a Will, or a device signing off): only from the connection and session now current.
    if (!entry || entry.client !== client || entry.session !== p.session) {
      this.log.info(
        { client: id, session: p.session, current: entry?.session },
        'stale offline presence dropped',
      );
      return 'stale';
    }
    entry.online = false;
    this.opts.onPresence?.(id, false);
    return null;
  }

  private onDisconnect(client: Client): void {
    const id = this.who.get(client)?.id ?? client.id;
    const entry = this.presence.get(id);
    // A device without a Will still goes offline when its current connection ends.
    if (entry && entry.client === client && entry.online) {
      entry.online = false;
      this.opts.onPresence?.(id, false);
      void this.publish(
        topics.presence(id),
        { online: false, session: entry.session, ts: new Date().toISOString(), reason: 'connection-lost' },
        { retain: true },
      ).catch(() => undefined);
    }
    if (entry?.client === client) entry.client = null;
    this.log.info({ client: client.id }, 'device disconnected');
  }

  private errorReply(topic: string, id: string | null, error: ErrorBody): Reply {
    return { id, topic, status: 'error', error };
  }

  private reply(who: Identity, reply: Reply): Promise<void> {
    return this.publish(topics.reply(who.id), reply, { qos: 1 }).catch((err: unknown) =>
      this.log.error({ err, client: who.id }, 'reply not delivered'),
    );
  }

  async close(): Promise<void> {
    // ws calls back from close() only once every client is gone: end the browser connections first.
    for (const c of this.wss?.clients ?? []) c.terminate();
    await new Promise<void>((resolve) => (this.wss ? this.wss.close(() => resolve()) : resolve()));
    await new Promise<void>((resolve) => this.aedes.close(() => resolve()));
    await new Promise<void>((resolve) => (this.tcp ? this.tcp.close(() => resolve()) : resolve()));
  }
}
