// The embedded MQTT broker: aedes on TCP (devices) and WebSocket (browser apps). Its three hooks are the only
// places that decide who may connect, publish and subscribe.
import { createServer, type Server } from 'node:net';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
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
import {
  CONNECT_TIMEOUT_MS,
  LOGIN_FAILURE_WINDOW_MS,
  MAX_CONNECTIONS,
  MAX_LOGIN_FAILURES_PER_ADDRESS,
  MAX_LOGIN_FAILURES_PER_DEVICE,
  MAX_PACKET_BYTES,
  MAX_PACKET_BYTES_BEFORE_LOGIN,
  MAX_PENDING_LOGINS,
  MAX_PENDING_LOGINS_PER_ADDRESS,
  MAX_QUEUED_BYTES_PER_CLIENT,
  MAX_SUBSCRIPTIONS_PER_CLIENT,
  MAX_TOPIC_BYTES,
  MAX_QUEUED_MESSAGES_OFFLINE,
  MAX_UNACKED_MESSAGES_PER_CLIENT,
} from '../../protocol/limits.js';
import { mayRequest, maySubscribe, type Identity } from './acl.js';
import { AttemptLimiter, reserveAll } from './attempts.js';
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
  /**
   * Browser origins, besides the box's own, whose pages may open the WebSocket broker (e.g. a TLS proxy's
   * `https://lobby.example.gov.vn`). A client sending no Origin header (not a browser) may always connect.
   */
  allowedOrigins?: string[];
  clock?: () => number;
}

/** What the broker tracks about one connection, from accept to close. */
interface Connection {
  address: string;
  /** Not yet logged in: counts against the pending-login limits. */
  pending: boolean;
  loggedIn: boolean;
  unacked: number;
  subscriptions: Set<string>;
}

/** aedes internals the guards reach into (aedes 1.x; covered by test/device/abuse.test.ts). */
interface ClientInternals {
  conn: Duplex;
  _parser: {
    _parseLength(): boolean;
    _emitError(err: Error): void;
    packet: { cmd: string; length: number };
  };
  waitForDrain(cb: (err: Error | null, client?: Client) => void): void;
  deliverQoS(packet: PublishPacket, cb: () => void): void;
  deliver0(packet: PublishPacket, cb: () => void): void;
  /** aedes' per-client de-duplication of messages by broker counter (see guard()). */
  duplicates: Record<string, number>;
}

/** Messages a connection remembers having been sent, to send each once whatever subscriptions overlap. */
const DEDUPE_WINDOW = 1024;

/** Bytes of the fixed header for a remaining length (1 type byte, 1–4 length bytes). */
const headerBytes = (length: number) =>
  2 + (length >= 128 ? 1 : 0) + (length >= 16_384 ? 1 : 0) + (length >= 2_097_152 ? 1 : 0);

/** The part of aedes' persistence that queues messages for offline persistent sessions. */
interface OfflineQueues {
  outgoingEnqueueCombi(subs: { clientId: string }[], packet: unknown): Promise<void>;
  cleanSubscriptions(client: { id: string }): Promise<void>;
}

interface PresenceEntry {
  session: number;
  online: boolean;
  client: Client | null;
}

const RC_UNACCEPTABLE_PROTOCOL = 1;
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
  private readonly connections = new Map<Client, Connection>();
  private pendingTotal = 0;
  private readonly pendingByAddress = new Map<string, number>();
  private readonly deviceFailures: AttemptLimiter;
  private readonly addressFailures: AttemptLimiter;
  /** QoS 1 messages kept for each persistent session while it is offline, by client id (guardOfflineQueues). */
  private readonly offlineQueued = new Map<string, number>();
  /** Offline sessions ended for holding too much, by client id: logged once, until the client is back. */
  private readonly endedSessions = new Set<string>();

  private constructor(
    aedes: Aedes,
    private readonly opts: BrokerOptions,
  ) {
    this.aedes = aedes;
    this.log = opts.log.child({ part: 'broker' });
    const clock = opts.clock ?? Date.now;
    this.deviceFailures = new AttemptLimiter(clock, MAX_LOGIN_FAILURES_PER_DEVICE, LOGIN_FAILURE_WINDOW_MS);
    this.addressFailures = new AttemptLimiter(clock, MAX_LOGIN_FAILURES_PER_ADDRESS, LOGIN_FAILURE_WINDOW_MS);
    aedes.preConnect = (client, packet, done) => {
      // The protocol is MQTT 3.1.1 (level 4). aedes also takes 3.1 (level 3): refuse it as MQTT 5 is refused.
      if (packet.protocolVersion !== 4) {
        this.log.warn(
          { address: this.connections.get(client)?.address, level: packet.protocolVersion },
          'connection refused: MQTT 3.1.1 only',
        );
        // generate + write, not writeToStream: that corks until the next tick, and aedes closes before it.
        (client as unknown as ClientInternals).conn.write(
          mqttPacket.generate({
            cmd: 'connack',
            returnCode: RC_UNACCEPTABLE_PROTOCOL,
            sessionPresent: false,
          }),
        );
        return done(new Error('unacceptable protocol version'), false);
      }
      done(null, true);
    };
    aedes.authenticate = (client, username, password, done) =>
      void this.authenticate(client, username, password, done);
    aedes.authorizePublish = (client, packet, done) => this.authorizePublish(client, packet, done);
    aedes.authorizeSubscribe = (client, sub, done) => {
      const who = this.who.get(client);
      const conn = this.connections.get(client);
      if (!who || !conn || !maySubscribe(who, sub.topic)) {
        this.log.warn({ client: client.id, filter: sub.topic }, 'subscription denied');
        return done(null, null); // SUBACK 0x80: refused, the connection stays up
      }
      if (Buffer.byteLength(sub.topic) > MAX_TOPIC_BYTES) {
        this.log.warn(
          { client: client.id, bytes: Buffer.byteLength(sub.topic) },
          'subscription refused: filter too long',
        );
        return done(null, null);
      }
      if (!conn.subscriptions.has(sub.topic) && conn.subscriptions.size >= MAX_SUBSCRIPTIONS_PER_CLIENT) {
        this.log.warn(
          { client: client.id, filter: sub.topic, max: MAX_SUBSCRIPTIONS_PER_CLIENT },
          'subscription refused: too many subscriptions',
        );
        return done(null, null);
      }
      conn.subscriptions.add(sub.topic);
      done(null, sub);
    };
    aedes.on('unsubscribe', (filters, client) => {
      const conn = client && this.connections.get(client);
      if (conn) for (const f of filters) conn.subscriptions.delete(f);
    });
    aedes.on('ack', (_packet, client) => {
      const conn = client && this.connections.get(client);
      if (conn && conn.unacked > 0) conn.unacked--;
    });
    aedes.on('clientDisconnect', (client) => {
      this.live.delete(client);
      this.onDisconnect(client);
    });
    // A session that connects again has what was kept for it streamed to it: count afresh.
    aedes.on('client', (client) => {
      this.offlineQueued.delete(client.id);
      this.endedSessions.delete(client.id);
    });
    this.guardOfflineQueues();
    aedes.on('clientError', (client, err) =>
      this.log.info({ client: client?.id, err: err.message }, 'client error'),
    );
    aedes.on('connectionError', (client, err) =>
      this.log.info({ client: client?.id, err: err.message }, 'connection error'),
    );
  }

  /**
   * Bounds what the box keeps for a device that is away with a persistent session (clean-session off): aedes
   * queues every matching QoS 1 message for it in memory, without limit. Past MAX_QUEUED_MESSAGES_OFFLINE for
   * one device (all its client ids together, so opening many sessions gains nothing), its offline sessions
   * end: their subscriptions go, nothing more is kept, a warning is logged, and on its return the device gets
   * sessionPresent false (protocol/README.md §1.4), resubscribes and reads the retained state. Never a silent
   * gap in a session that claims to be whole.
   */
  private guardOfflineQueues(): void {
    const persistence = (this.aedes as unknown as { persistence: OfflineQueues }).persistence;
    const enqueue = persistence.outgoingEnqueueCombi.bind(persistence);
    persistence.outgoingEnqueueCombi = (subs, packet) => {
      const kept = subs.filter((sub) => this.keepForOffline(sub.clientId, persistence));
      return kept.length > 0 ? enqueue(kept, packet) : Promise.resolve();
    };
  }

  private isConnected(clientId: string): boolean {
    return (this.aedes as unknown as { clients: Record<string, unknown> }).clients[clientId] !== undefined;
  }

  private keepForOffline(clientId: string, persistence: OfflineQueues): boolean {
    if (this.isConnected(clientId)) return true; // connected: delivered now, under the live limits
    const device = deviceIdOfClientId(clientId) ?? clientId;
    const sameDevice = (id: string) => (deviceIdOfClientId(id) ?? id) === device;
    let held = 0;
    for (const [id, n] of this.offlineQueued) if (sameDevice(id)) held += n;
    if (held < MAX_QUEUED_MESSAGES_OFFLINE && !this.endedSessions.has(clientId)) {
      this.offlineQueued.set(clientId, (this.offlineQueued.get(clientId) ?? 0) + 1);
      return true;
    }
    for (const id of new Set([...this.offlineQueued.keys(), clientId])) {
      if (!sameDevice(id) || this.isConnected(id) || this.endedSessions.has(id)) continue;
      this.endedSessions.add(id);
      this.log.warn(
        { client: id, device, held, max: MAX_QUEUED_MESSAGES_OFFLINE },
        'persistent session ended: too many messages kept while the device was away',
      );
      persistence
        .cleanSubscriptions({ id })
        .catch((err: unknown) => this.log.error({ err, client: id }, 'ending a session failed'));
    }
    return false;
  }

  static async create(opts: BrokerOptions): Promise<LobbyBroker> {
    const { Aedes } = await import('aedes');
    const aedes = await Aedes.createBroker({
      heartbeatInterval: 60_000,
      connectTimeout: CONNECT_TIMEOUT_MS,
      // Never reached: a connection's writes never wait for drain (see guard()), its backlog is capped instead.
      drainTimeout: 0,
      maxTopicLevels: 12,
    });
    return new LobbyBroker(aedes, opts);
  }

  listenTcp(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      // noDelay: a reply and its PUBACK are two small writes; Nagle would hold the second for ~40 ms.
      const server = createServer({ noDelay: true }, (socket) =>
        this.accept(socket, undefined, socket.remoteAddress ?? 'unknown'),
      );
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
    this.wss = new WebSocketServer({
      server,
      path: '/mqtt',
      maxPayload: MAX_PACKET_BYTES,
      verifyClient: (
        { req }: { req: IncomingMessage },
        cb: (ok: boolean, code?: number, message?: string) => void,
      ) => (this.originAllowed(req) ? cb(true) : cb(false, 403, 'Origin not allowed')),
    });
    // The HTTP server reports its own listen errors (a busy port); ws re-emits them here.
    this.wss.on('error', (err) => this.log.debug({ err: err.message }, 'websocket server error'));
    this.wss.on('connection', (ws, req: IncomingMessage) => {
      const stream = createWebSocketStream(ws);
      stream.on('error', () => ws.terminate());
      stream.on('close', () => ws.terminate());
      this.accept(stream, req, req.socket.remoteAddress ?? 'unknown');
    });
  }

  /**
   * Whether a WebSocket upgrade may proceed: no Origin (a device, not a browser), the box's own origin (the
   * screens it serves), or one the config allows. Any other page on the office network is refused (403),
   * so it cannot use a visitor's browser against the broker.
   */
  private originAllowed(req: IncomingMessage): boolean {
    const origin = req.headers.origin;
    if (origin === undefined) return true;
    let host: string;
    try {
      host = new URL(origin).host;
    } catch {
      host = '';
    }
    if (host !== '' && host === req.headers.host) return true;
    if ((this.opts.allowedOrigins ?? []).includes(origin)) return true;
    this.log.warn({ origin, address: req.socket.remoteAddress }, 'websocket refused: origin not allowed');
    return false;
  }

  /**
   * Every connection, TCP or WebSocket, enters here: the connection limits, then aedes with its guards.
   */
  private accept(conn: Duplex, req: IncomingMessage | undefined, address: string): void {
    const pendingHere = this.pendingByAddress.get(address) ?? 0;
    const refusal =
      this.connections.size >= MAX_CONNECTIONS
        ? `more than ${MAX_CONNECTIONS} connections`
        : this.pendingTotal >= MAX_PENDING_LOGINS
          ? `more than ${MAX_PENDING_LOGINS} connections not logged in`
          : pendingHere >= MAX_PENDING_LOGINS_PER_ADDRESS
            ? `more than ${MAX_PENDING_LOGINS_PER_ADDRESS} connections not logged in from this address`
            : null;
    if (refusal) {
      this.log.warn({ address, reason: refusal }, 'connection refused: limit');
      conn.destroy();
      return;
    }
    const state: Connection = {
      address,
      pending: true,
      loggedIn: false,
      unacked: 0,
      subscriptions: new Set(),
    };
    this.pendingTotal++;
    this.pendingByAddress.set(address, pendingHere + 1);
    const client = this.aedes.handle(conn, req);
    this.connections.set(client, state);
    conn.once('close', () => {
      this.endPending(state);
      this.connections.delete(client);
    });
    this.guard(client, state);
  }

  private endPending(state: Connection): void {
    if (!state.pending) return;
    state.pending = false;
    this.pendingTotal--;
    const n = (this.pendingByAddress.get(state.address) ?? 1) - 1;
    if (n > 0) this.pendingByAddress.set(state.address, n);
    else this.pendingByAddress.delete(state.address);
  }

  /**
   * The per-connection guards aedes lacks. (1) Packet size: the parser is stopped as soon as a fixed header
   * announces more than the limit (small before login), before the body is buffered. (2) Slow consumers:
   * aedes makes a write to a full socket wait for 'drain', and that wait holds one of the broker's shared
   * delivery slots (mqemitter, 100 of them): one device that stops reading stalls delivery to every client,
   * and when aedes' drain timeout finally cuts it, the backlog unwinds in one synchronous chain (the
   * reported stack overflow in Client.nextBatch). Here a write never waits; the connection's unread bytes
   * and unacknowledged messages are capped instead, and a connection past either is cut with a log line.
   */
  private guard(client: Client, state: Connection): void {
    const c = client as unknown as ClientInternals;
    const parser = c._parser;
    const parseLength = parser._parseLength;
    const log = this.log;
    parser._parseLength = function (this: ClientInternals['_parser']) {
      if (!parseLength.call(this)) return false;
      const max = state.loggedIn ? MAX_PACKET_BYTES : MAX_PACKET_BYTES_BEFORE_LOGIN;
      const size = this.packet.length + headerBytes(this.packet.length);
      if (size <= max) return true;
      log.warn(
        { client: client.id ?? undefined, address: state.address, cmd: this.packet.cmd, bytes: size, max },
        state.loggedIn ? 'packet too large; disconnecting' : 'packet too large before login; disconnecting',
      );
      this._emitError(new Error(`packet of ${size} bytes over the limit of ${max}`));
      return false;
    };

    c.waitForDrain = (cb) => {
      const queued = c.conn.writableLength;
      if (queued > MAX_QUEUED_BYTES_PER_CLIENT) {
        this.cutSlowConsumer(client, state, `${queued} bytes unread`);
        return void setImmediate(cb, new Error('slow consumer'), client);
      }
      setImmediate(cb, null, client);
    };

    // aedes drops a message whose broker counter is not above the last one this client got: it de-duplicates
    // the copies that overlapping subscriptions match, but assumes messages arrive in the order they were
    // created. They do not: a retained publish is stored before it is sent, so an event published just after
    // it overtakes it, and the state was dropped for every client that follows both (the clerk panel kept a
    // stale "disk full"). Here a message is a duplicate only if this client already got that very message.
    c.duplicates = new Proxy({}, { get: () => 0, set: () => true });
    const seen = new Set<string>();
    const firstTime = (packet: PublishPacket): boolean => {
      const p = packet as PublishPacket & { brokerId?: string; brokerCounter?: number };
      if (!p.brokerId) return true;
      const key = `${p.brokerId}:${p.brokerCounter}`;
      if (seen.has(key)) return false;
      seen.add(key);
      // Copies of one message are matched together; a short memory is enough (a Set keeps insertion order).
      if (seen.size > DEDUPE_WINDOW) seen.delete(seen.values().next().value as string);
      return true;
    };
    const deliver0 = c.deliver0;
    c.deliver0 = (packet, cb) => (firstTime(packet) ? deliver0(packet, cb) : void setImmediate(cb));

    const deliverQoS = c.deliverQoS;
    c.deliverQoS = (packet, cb) => {
      if (packet.qos === 0) return deliverQoS(packet, cb); // on to deliver0, which de-duplicates
      if (!firstTime(packet)) return void setImmediate(cb);
      if (++state.unacked > MAX_UNACKED_MESSAGES_PER_CLIENT) {
        this.cutSlowConsumer(client, state, `${state.unacked - 1} messages unacknowledged`);
        return void setImmediate(cb);
      }
      deliverQoS(packet, cb);
    };
  }

  private cutSlowConsumer(client: Client, state: Connection, reason: string): void {
    const conn = (client as unknown as ClientInternals).conn;
    if (conn.destroyed) return;
    this.log.warn(
      {
        client: client.id,
        address: state.address,
        reason,
        maxBytes: MAX_QUEUED_BYTES_PER_CLIENT,
        maxUnacked: MAX_UNACKED_MESSAGES_PER_CLIENT,
      },
      'slow consumer disconnected',
    );
    conn.destroy();
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
    const deliver = (packet: { topic: string; payload: Buffer | string }) => {
      try {
        handler(packet.topic, Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload));
      } catch (err) {
        this.log.error({ err, filter }, 'internal subscriber failed');
      }
    };
    // The subscription is live before the retained messages are read: a message published in between comes
    // first, and the retained one read before it is older. Topics already had live skip their retained one.
    const live = new Set<string>();
    const fn = (packet: { topic: string; payload: Buffer | string }, cb: () => void) => {
      live.add(packet.topic);
      deliver(packet);
      cb();
    };
    this.aedes.subscribe(filter, fn as never, () => {
      // What an MQTT subscriber gets on SUBSCRIBE: the retained messages that match (a driver started after
      // the box published its LED text must still show it).
      const { persistence } = this.aedes as unknown as {
        persistence: { createRetainedStream(pattern: string): NodeJS.ReadableStream };
      };
      const retained = persistence.createRetainedStream(filter);
      retained.on('data', (packet: { topic: string; payload: Buffer | string }) => {
        if (!live.has(packet.topic)) deliver(packet);
      });
      retained.on('error', (err: Error) => this.log.error({ err, filter }, 'retained replay failed'));
    });
    return () => this.aedes.unsubscribe(filter, fn as never, () => undefined);
  }

  /** Publishes (retained) and records a device's status on its behalf: for hardware the box drives. */
  async publishStatus(id: string, status: DeviceStatus): Promise<void> {
    this.statuses.set(id, status);
    await this.publish(topics.status(id), status, { retain: true });
  }

  /**
   * The presence of a peripheral the box drives itself (an LED board on a serial bus, a GPIO keypad): it
   * has no connection, so its driver's report is what `presenceOf` answers (the admin page, the cloud).
   */
  async publishDrivenPresence(
    id: string,
    presence: { online: boolean; session: number; ts: string; driven: true },
  ): Promise<void> {
    this.presence.set(id, { session: presence.session, online: presence.online, client: null });
    await this.publish(topics.presence(id), presence, { retain: true });
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
    const state = this.connections.get(client);
    const address = state?.address ?? 'unknown';
    if (!username || !password) {
      this.log.warn({ client: client.id, address }, 'anonymous connection refused');
      return done(authError('credentials required', RC_NOT_AUTHORIZED), false);
    }
    // The client id must be the device's own, so one device cannot take over another's session.
    if (deviceIdOfClientId(client.id) !== username) {
      this.log.warn({ client: client.id, username, address }, 'client id does not belong to the device');
      return done(
        authError('client id must be the device id (or <device id>.<tag>)', RC_NOT_AUTHORIZED),
        false,
      );
    }
    const secret = password.toString();
    // A secret this box has already verified costs no hash, so the device itself still gets in while
    // someone guessing has its id locked out.
    let identity = this.opts.directory.knownGood(username, secret);
    if (!identity) {
      const attempt = reserveAll([
        [this.deviceFailures, username],
        [this.addressFailures, address],
      ]);
      if (!attempt.ok) {
        this.log.warn(
          { client: client.id, address, retryAfterMs: attempt.retryAfterMs },
          'login refused: too many failed logins',
        );
        return done(authError('too many failed logins; try later', RC_NOT_AUTHORIZED), false);
      }
      identity = await this.opts.directory.verify(username, secret);
      if (!identity) {
        this.log.warn({ client: client.id, address }, 'bad credentials');
        return done(authError('bad device id or secret', RC_BAD_CREDENTIALS), false);
      }
      attempt.succeeded();
    }
    this.who.set(client, identity);
    this.live.add(client);
    if (state) {
      state.loggedIn = true;
      this.endPending(state);
    }
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
    if (Buffer.byteLength(topic) > MAX_TOPIC_BYTES) {
      this.log.warn({ client: who.id, bytes: Buffer.byteLength(topic) }, 'topic too long; disconnecting');
      return this.refuseAndClose(client, packet, done, new Error('topic too long'));
    }

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
          this.refuseAndClose(client, packet, done, new Error('stale presence')),
        );
      }
      if (refusal) {
        this.log.warn({ client: who.id, topic, reason: refusal.detail }, 'presence refused');
        return void this.reply(who, this.errorReply(topic, null, refusal)).then(() =>
          this.refuseAndClose(client, packet, done, new Error(refusal.code)),
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
          this.refuseAndClose(client, packet, done, new Error('bad status')),
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
    ).then(() => this.refuseAndClose(client, packet, done, new Error(`publish to ${topic} denied`)));
  }

  /**
   * Ends a connection for a publish it may not make, after acknowledging that publish: without the PUBACK
   * a device with a persistent outgoing queue would resend the same refused message on every reconnect.
   * The error reply went out first (on the device's reply topic); the message itself is not forwarded.
   */
  private refuseAndClose(
    client: Client,
    packet: PublishPacket,
    done: (error?: Error | null) => void,
    err: Error,
  ): void {
    const conn = (client as unknown as ClientInternals).conn;
    const ack = packet.qos === 1 ? 'puback' : packet.qos === 2 ? 'pubrec' : null;
    // generate + write, not writeToStream: that corks until the next tick, and aedes closes before it.
    if (ack && packet.messageId !== undefined && !conn.destroyed)
      conn.write(mqttPacket.generate({ cmd: ack, messageId: packet.messageId }));
    done(err);
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
