// A test office: the demo layout, open around the clock, with one peripheral of each kind and known secrets.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Reply, Role } from '../../protocol/index.js';
import { validateConfig } from '../../device/config/load.js';
import type { BoxConfig, PeripheralConfig } from '../../device/config/schema.js';
import { hashSecret } from '../../protocol/secrets.js';
import { startBox, type Box, type BoxOptions } from '../../device/daemon.js';

export const SERVICES = [
  { id: 'van-thu', name: 'Văn thư', numbering: { prefix: 'A', width: 3 } },
  { id: 'chung-thuc', name: 'Chứng thực', numbering: { prefix: 'B', width: 3 }, dailyQuota: 200 },
  { id: 'ho-tich', name: 'Hộ tịch', numbering: { prefix: 'C', width: 3 } },
  { id: 'dat-dai', name: 'Đất đai', numbering: { from: 4001, to: 4999 } },
];

export function officeConfig(
  peripherals: PeripheralConfig[] = [],
  overrides: Record<string, unknown> = {},
): BoxConfig {
  return validateConfig({
    office: {
      id: 'xa-thu-nghiem',
      name: 'Bộ phận một cửa xã Thử Nghiệm',
      sessions: [{ open: '00:00', close: '23:59' }],
      workdays: [1, 2, 3, 4, 5, 6, 7],
    },
    services: SERVICES,
    counters: [
      { number: 1, services: ['van-thu'] },
      { number: 2, services: ['chung-thuc', 'ho-tich'] },
      { number: 3, services: ['ho-tich', 'chung-thuc'] },
      { number: 4, services: ['dat-dai'] },
    ],
    clerks: [
      { id: 'cc01', name: 'Nguyễn Thị Lan' },
      { id: 'cc02', name: 'Trần Văn Minh' },
    ],
    broker: { host: '127.0.0.1', port: 0 },
    http: { host: '127.0.0.1', port: 0 },
    peripherals,
    ...overrides,
  });
}

export interface DeviceSpec {
  id: string;
  role: Role;
  counter?: number;
}

export const DEVICES: DeviceSpec[] = [
  { id: 'kiosk-1', role: 'kiosk' },
  { id: 'keypad-1', role: 'keypad', counter: 1 },
  { id: 'keypad-2', role: 'keypad', counter: 2 },
  { id: 'rating-1', role: 'rating', counter: 1 },
  { id: 'scanner-1', role: 'scanner', counter: 1 },
  { id: 'clerk-panel-2', role: 'clerk-panel', counter: 2 },
  { id: 'display-tv', role: 'display' },
  { id: 'led-1', role: 'ledboard', counter: 1 },
  { id: 'led-entrance', role: 'ledboard' },
  { id: 'announcer-1', role: 'announcer' },
];

/** Secret of every test device: `secret-<id>` (hashed once per process; scrypt is slow on purpose). */
export const secretOf = (id: string) => `secret-${id}`;
const hashed = new Map<string, Promise<string>>();
export async function peripheralsFor(specs: DeviceSpec[]): Promise<PeripheralConfig[]> {
  return Promise.all(
    specs.map(async (s) => {
      let h = hashed.get(s.id);
      if (!h) hashed.set(s.id, (h = hashSecret(secretOf(s.id))));
      const p: PeripheralConfig = { id: s.id, role: s.role, secretHash: await h };
      if (s.counter !== undefined) p.counter = s.counter;
      return p;
    }),
  );
}

export interface TestBox {
  box: Box;
  config: BoxConfig;
  dataDir: string;
  mqttUrl: string;
  connect(id: string, opts?: IClientOptions): Promise<MqttClient>;
  close(): Promise<void>;
}

export const quietLog = () => pino({ level: process.env.TEST_LOG ?? 'silent' });

export async function startTestBox(
  opts: { devices?: DeviceSpec[]; dataDir?: string; config?: BoxConfig } & Partial<BoxOptions> = {},
): Promise<TestBox> {
  const config = opts.config ?? officeConfig(await peripheralsFor(opts.devices ?? DEVICES));
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'lobby-test-'));
  const box = await startBox({ log: quietLog(), ...opts, config, dataDir });
  const mqttUrl = `mqtt://127.0.0.1:${box.mqttPort}`;
  const clients: MqttClient[] = [];
  return {
    box,
    config,
    dataDir,
    mqttUrl,
    async connect(id, o = {}) {
      const deviceId = id.split('.')[0] as string;
      const c = await connectDevice(mqttUrl, id, secretOf(deviceId), o);
      clients.push(c);
      return c;
    },
    async close() {
      await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
      await box.close();
    },
  };
}

/** Connects as a device (client id = device id); rejects on a refused CONNACK instead of retrying. */
export function connectDevice(
  url: string,
  clientId: string,
  password: string,
  opts: IClientOptions = {},
): Promise<MqttClient> {
  const username = clientId.split('.')[0] as string;
  return new Promise((resolve, reject) => {
    const c = mqtt.connect(url, {
      clientId,
      username,
      password,
      reconnectPeriod: 0,
      connectTimeout: 5000,
      ...opts,
    });
    const fail = (err: Error) => {
      c.end(true);
      reject(err);
    };
    c.once('connect', () => {
      c.off('error', fail);
      resolve(c);
    });
    c.once('error', fail);
  });
}

let counter = 0;
/** Publishes a request and resolves with the box's reply to it (matched by id). */
export async function request(
  client: MqttClient,
  topic: string,
  body: Record<string, unknown> = {},
  timeoutMs = 5000,
): Promise<Reply> {
  const id = (body.id as string | undefined) ?? `r${++counter}`;
  const deviceId = (client.options.clientId ?? '').split('.')[0] as string;
  const replyTopic = `lobby/v1/devices/${deviceId}/reply`;
  await client.subscribeAsync(replyTopic, { qos: 1 });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('message', onMessage);
      reject(new Error(`no reply to ${topic} ${id} within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (t: string, payload: Buffer) => {
      if (t !== replyTopic) return;
      const reply = JSON.parse(payload.toString()) as Reply;
      if (reply.id !== id) return;
      clearTimeout(timer);
      client.off('message', onMessage);
      resolve(reply);
    };
    client.on('message', onMessage);
    client.publish(topic, JSON.stringify({ ...body, id }), { qos: 1 });
  });
}

/** Resolves with the next message on a topic (filter), e.g. a retained state. */
export async function nextMessage(
  client: MqttClient,
  filter: string,
  match: (topic: string, body: unknown) => boolean = () => true,
  timeoutMs = 5000,
): Promise<{ topic: string; body: unknown }> {
  const pattern = new RegExp(
    '^' + filter.replace(/[.]/g, '\\.').replace(/\+/g, '[^/]+').replace(/#$/, '.*') + '$',
  );
  const wait = new Promise<{ topic: string; body: unknown }>((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('message', on);
      reject(new Error(`no message on ${filter} within ${timeoutMs} ms`));
    }, timeoutMs);
    const on = (topic: string, payload: Buffer) => {
      if (!pattern.test(topic)) return;
      let body: unknown;
      try {
        body = JSON.parse(payload.toString());
      } catch {
        body = payload.toString();
      }
      if (!match(topic, body)) return;
      clearTimeout(timer);
      client.off('message', on);
      resolve({ topic, body });
    };
    client.on('message', on);
  });
  await client.subscribeAsync(filter, { qos: 1 });
  return wait;
}

/** A CONNECT packet as a device sends it (client id, device id as username, secret), for raw-socket tests. */
export function connectPacket(id: string, password: string, extra: Record<string, unknown> = {}) {
  return {
    cmd: 'connect' as const,
    protocolId: 'MQTT' as const,
    protocolVersion: 4 as const,
    clientId: id,
    clean: true,
    keepalive: 0,
    username: id.split('.')[0],
    password: Buffer.from(password),
    ...extra,
  };
}
