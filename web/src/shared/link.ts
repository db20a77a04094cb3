// A screen's MQTT link to the box over WebSocket: logs in as its paired device, publishes presence with a
// Will, resubscribes and reconnects by itself (mqtt.js), and says when its data may be out of date.
import mqtt, { type MqttClient } from 'mqtt';
import type { Reply } from '../../../protocol/messages.js';
import { topics } from '../../../protocol/topics.js';
import type { Credential } from './credential.js';

export type LinkState = 'connecting' | 'online' | 'offline' | 'unpaired';
type Handler = (topic: string, body: unknown) => void;

export interface ScreenLink {
  readonly cred: Credential;
  state: LinkState;
  /** Since when the screen has had no live link (null while online): its data may be that old. */
  staleSince: number | null;
  on(filter: string, handler: Handler): void;
  onState(fn: (state: LinkState) => void): void;
  /**
   * Publishes a request and resolves with the box's reply to it. Refuses at once while offline. A `body.id`
   * given (from `nextId()`) is kept: that is how a retry repeats its request.
   */
  request(topic: string, body: Record<string, unknown>): Promise<Reply>;
  /** A fresh request id, unique across reloads. */
  nextId(): string;
  close(): void;
}

export class OfflineError extends Error {
  constructor() {
    super('offline');
  }
}

/** MQTT wildcard match of a topic against a filter. */
export function matches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length || (f[i] !== '+' && f[i] !== t[i])) return false;
  }
  return f.length === t.length;
}

const random = (n: number) =>
  Array.from(crypto.getRandomValues(new Uint8Array(n)), (b) => (b % 36).toString(36)).join('');

export function openLink(cred: Credential): ScreenLink {
  const handlers: { filter: string; fn: Handler }[] = [];
  const stateListeners: ((s: LinkState) => void)[] = [];
  const own = `lobby/v1/devices/${cred.deviceId}/#`;
  const replyTopic = topics.reply(cred.deviceId);
  const pending = new Map<string, (r: Reply) => void>();
  // Request ids must be unique across reloads: a per-page-load tag, then a counter.
  const boot = random(6);
  let seq = 0;
  // The presence session goes up with every connection, kept across reloads (protocol 4.1).
  const sessionKey = `lobby.session.${cred.deviceId}`;
  const nextSession = () => {
    const n = Number(localStorage.getItem(sessionKey) ?? '0') + 1;
    localStorage.setItem(sessionKey, String(n));
    return n;
  };
  let session = nextSession();
  const will = () => ({
    topic: topics.presence(cred.deviceId),
    payload: new TextEncoder().encode(JSON.stringify({ online: false, session })) as unknown as Buffer,
    qos: 1 as const,
    retain: true,
  });

  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const client: MqttClient = mqtt.connect(`${proto}//${location.host}/mqtt`, {
    clientId: `${cred.deviceId}.w${random(8)}`,
    username: cred.deviceId,
    password: cred.secret,
    protocolVersion: 4,
    clean: true,
    keepalive: 10, // a dead box or network shows within ~15 s
    reconnectPeriod: 2000,
    connectTimeout: 8000,
    will: will(),
  });

  const link: ScreenLink = {
    cred,
    state: 'connecting',
    staleSince: Date.now(),
    on(filter, fn) {
      handlers.push({ filter, fn });
      if (client.connected) client.subscribe(filter, { qos: 1 });
    },
    onState(fn) {
      stateListeners.push(fn);
    },
    request(topic, body) {
      if (link.state !== 'online') return Promise.reject(new OfflineError());
      const id = typeof body.id === 'string' ? body.id : link.nextId();
      return new Promise<Reply>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new OfflineError());
        }, 10_000);
        pending.set(id, (r) => {
          clearTimeout(timer);
          resolve(r);
        });
        client.publish(topic, JSON.stringify({ ...body, id }), { qos: 1 });
      });
    },
    nextId() {
      return `${cred.deviceId}-${boot}-${++seq}`;
    },
    close() {
      client.end(true);
    },
  };

  const setState = (s: LinkState) => {
    if (link.state === 'unpaired') return; // final: only pairing again helps
    if (s === 'online') link.staleSince = null;
    else if (link.staleSince === null) link.staleSince = Date.now();
    if (s === link.state) return;
    link.state = s;
    for (const fn of stateListeners) fn(s);
  };

  // Topics whose live message this connection has had. aedes makes a subscription live first and then streams
  // the retained messages: a change published in between arrives live, then the retained message read before
  // it. Within one connection a retained message is never newer than a live one on its topic, so it is
  // dropped (comparing `updatedAt` would trust the box's clock, which may be set back).
  let liveTopics = new Set<string>();

  client.on('connect', () => {
    liveTopics = new Set();
    const filters = [own, ...new Set(handlers.map((h) => h.filter))];
    client.subscribe(filters, { qos: 1 }, (err) => {
      if (!err) setState('online');
    });
    client.publish(
      topics.presence(cred.deviceId),
      JSON.stringify({ online: true, session, ts: new Date().toISOString(), version: 'web' }),
      { qos: 1, retain: true },
    );
  });
  client.on('reconnect', () => {
    session = nextSession();
    client.options.will = will();
  });
  client.on('close', () => setState('offline'));
  client.on('offline', () => setState('offline'));
  client.on('error', (err: Error & { code?: number }) => {
    // CONNACK 4 (bad credentials) or 5 (not authorised): revoked, or paired again elsewhere.
    if (err.code === 4 || err.code === 5) {
      setState('unpaired');
      client.end(true);
    }
  });
  client.on('message', (topic, payload, packet) => {
    if (!packet.retain) liveTopics.add(topic);
    else if (liveTopics.has(topic)) return;
    let body: unknown;
    try {
      body = JSON.parse(new TextDecoder().decode(payload));
    } catch {
      return;
    }
    if (topic === replyTopic) {
      const r = body as Reply;
      const done = r.id !== null ? pending.get(r.id) : undefined;
      if (done && r.id !== null) {
        pending.delete(r.id);
        done(r);
      }
    }
    for (const h of handlers) if (matches(h.filter, topic)) h.fn(topic, body);
  });
  return link;
}
