// The raw floors our figures are compared with, measured in the same run: a plain aedes broker (no auth
// hooks, no engine) and a plain better-sqlite3 file with the box's durability settings (WAL, FULL).
import Database from 'better-sqlite3';
import { rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { tempDir } from './office-helpers.js';
import { now } from './stats.js';

export interface RawBroker {
  /** One QoS 1 publish from one client to another client's subscription: ms until it arrives. */
  roundTrip(): Promise<number>;
  close(): Promise<void>;
}

export async function startRawBroker(): Promise<RawBroker> {
  const { Aedes } = await import('aedes');
  const broker = await Aedes.createBroker();
  const server = createServer((socket) => broker.handle(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const opts = { reconnectPeriod: 0, connectTimeout: 5000 };
  const pub = await mqtt.connectAsync(url, { ...opts, clientId: 'raw-pub' });
  const sub = await mqtt.connectAsync(url, { ...opts, clientId: 'raw-sub' });
  const topic = 'bench/rt';
  await sub.subscribeAsync(topic, { qos: 1 });
  let arrived: ((at: number) => void) | null = null;
  sub.on('message', () => {
    const done = arrived;
    arrived = null;
    done?.(now());
  });
  let n = 0;
  return {
    roundTrip() {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('raw round trip timed out')), 5000);
        const t0 = now();
        arrived = (at) => {
          clearTimeout(timer);
          resolve(at - t0);
        };
        // The same size as a keypad's `next` request.
        pub.publish(topic, JSON.stringify({ id: `k${++n}` }), { qos: 1 });
      });
    },
    async close() {
      await Promise.all([pub.endAsync(true), sub.endAsync(true)]);
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A row the size of a stored `ticket.issued` event (~250 bytes of JSON). */
const SAMPLE_DATA = JSON.stringify({
  ticketId: '2025-06-02/A123',
  number: 'A123',
  service: 'van-thu',
  seq: 123,
  priority: null,
  ahead: 17,
  estimatedWaitMin: 42,
  source: 'kiosk-1',
  padding: 'x'.repeat(64),
});

export interface RawSqlite {
  /** One row in its own transaction (one fsync of the WAL): ms. */
  commitOnce(): number;
  close(): void;
}

export function openRawSqlite(): RawSqlite {
  const dir = tempDir('lobby-bench-raw-');
  const db = new Database(join(dir, 'raw.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec(
    'CREATE TABLE events (seq INTEGER PRIMARY KEY, type TEXT NOT NULL, at INTEGER NOT NULL, day TEXT NOT NULL, data TEXT NOT NULL, source TEXT)',
  );
  const insert = db.prepare(
    'INSERT INTO events (seq, type, at, day, data, source) VALUES (?, ?, ?, ?, ?, ?)',
  );
  let seq = 0;
  const commit = db.transaction(() => {
    seq += 1;
    insert.run(seq, 'ticket.issued', Date.now(), '2025-06-02', SAMPLE_DATA, 'kiosk-1');
  });
  return {
    commitOnce() {
      const t0 = now();
      commit();
      return now() - t0;
    },
    close() {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Raw inserts for `count` rows, one per transaction: total ms. */
export function rawInsertBlock(raw: RawSqlite, count: number): number {
  const t0 = now();
  for (let i = 0; i < count; i++) raw.commitOnce();
  return now() - t0;
}
