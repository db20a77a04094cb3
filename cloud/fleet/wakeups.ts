// Waking the long polls of boxes whose desired config changed, on whichever replica holds them.
// PostgreSQL: the saving transaction calls pg_notify (delivered to every listener when it commits), and each
// replica keeps one dedicated LISTEN connection (a pg.Client outside the pool). After that connection fails it
// reconnects with backoff and then wakes every waiting poll, which re-checks the database: notifications sent
// while it was away are lost. SQLite (one node): an in-process emitter, told after the commit.
// A woken poll reads the database itself; a notification only says "look again".
import type pg from 'pg';
import type { Logger } from 'pino';
import { sql } from 'kysely';
import type { CloudDatabase, Db } from '../db/database.js';

/** pg_notify's payload must stay under 8,000 bytes: box ids are sent in chunks below that. */
const PAYLOAD_MAX_BYTES = 7_000;
const RECONNECT_FIRST_MS = 100;
const RECONNECT_MAX_MS = 5_000;

export type WakeReason = 'changed' | 'recheck' | 'closing';

export class TargetWakeups {
  private readonly waiters = new Map<string, Set<(reason: WakeReason) => void>>();
  private listener: pg.Client | null = null;
  private closed = false;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private reconnectDelay = RECONNECT_FIRST_MS;
  /** Times the LISTEN connection was (re)established; for /healthz-like checks and tests. */
  listens = 0;
  readonly channel: string;

  constructor(
    private readonly store: CloudDatabase,
    private readonly log: Logger,
  ) {
    // One channel per schema: deployments (and test runs) sharing a PostgreSQL database stay apart.
    this.channel = `lobby_fleet_${store.schema ?? 'public'}`;
  }

  /** PostgreSQL: the LISTEN connection is up (SQLite: always). */
  get listening(): boolean {
    return this.store.dialect !== 'postgres' || this.listener !== null;
  }

  /** Polls waiting on this replica. */
  get waiting(): number {
    let n = 0;
    for (const s of this.waiters.values()) n += s.size;
    return n;
  }

  async start(): Promise<void> {
    if (this.store.dialect === 'postgres') await this.listen();
  }

  /**
   * Waits until the box's desired config may have changed, `ms` pass, or `signal` aborts (the client went
   * away). Register before reading the database, so a save between the read and the wait is not missed.
   */
  waiter(boxId: string): {
    wait(ms: number, signal: AbortSignal): Promise<WakeReason | 'timeout'>;
    done(): void;
  } {
    let wake: (reason: WakeReason) => void = () => undefined;
    let pending: WakeReason | null = null;
    const fn = (reason: WakeReason) => {
      pending = reason;
      wake(reason);
    };
    let set = this.waiters.get(boxId);
    if (!set) this.waiters.set(boxId, (set = new Set()));
    set.add(fn);
    const done = () => {
      const s = this.waiters.get(boxId);
      s?.delete(fn);
      if (s?.size === 0) this.waiters.delete(boxId);
    };
    return {
      done,
      wait: (ms, signal) =>
        new Promise((resolve) => {
          if (pending) {
            const p = pending;
            pending = null;
            return resolve(p);
          }
          if (this.closed) return resolve('closing');
          const timer = setTimeout(() => finish('timeout'), ms);
          const onAbort = () => finish('timeout');
          const finish = (r: WakeReason | 'timeout') => {
            clearTimeout(timer);
            signal.removeEventListener('abort', onAbort);
            wake = () => undefined;
            pending = null;
            resolve(r);
          };
          if (signal.aborted) return finish('timeout');
          signal.addEventListener('abort', onAbort);
          wake = (reason) => finish(reason);
        }),
    };
  }

  /** Inside the saving transaction: on PostgreSQL, the notifications go out when it commits. */
  async inTransaction(tx: Db, boxIds: string[]): Promise<void> {
    if (this.store.dialect !== 'postgres' || boxIds.length === 0) return;
    for (const chunk of chunks(boxIds)) await sql`SELECT pg_notify(${this.channel}, ${chunk})`.execute(tx);
  }

  /** After the saving transaction committed: on SQLite, the waiting polls of this process are woken. */
  afterCommit(boxIds: string[]): void {
    if (this.store.dialect === 'postgres') return;
    for (const id of boxIds) this.wake(id, 'changed');
  }

  /** Ends every wait (the replica is shutting down: polls are answered at once, the box polls again). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.wakeAll('closing');
    const l = this.listener;
    this.listener = null;
    await l?.end().catch(() => undefined);
  }

  private wake(boxId: string, reason: WakeReason): void {
    for (const fn of this.waiters.get(boxId) ?? []) fn(reason);
  }

  private wakeAll(reason: WakeReason): void {
    for (const set of this.waiters.values()) for (const fn of set) fn(reason);
  }

  private async listen(): Promise<void> {
    const client = this.store.newClient?.();
    if (!client) throw new Error('fleet: the database gives no dedicated connection for LISTEN');
    let failed = false;
    const fail = (err?: Error) => {
      if (failed) return;
      failed = true;
      if (this.listener === client) this.listener = null;
      client.end().catch(() => undefined);
      if (this.closed) return;
      this.log.warn(
        { err: err?.message, retryInMs: this.reconnectDelay },
        'fleet: LISTEN connection lost; reconnecting',
      );
      this.scheduleReconnect();
    };
    client.on('error', fail);
    client.on('end', () => fail());
    client.on('notification', (n) => {
      if (n.channel !== this.channel || !n.payload) return;
      for (const id of n.payload.split(',')) this.wake(id, 'changed');
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${quoteIdent(this.channel)}`);
    } catch (err) {
      fail(err as Error);
      return;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.listener = client;
    this.listens++;
    this.reconnectDelay = RECONNECT_FIRST_MS;
    // Anything saved while no connection listened was not heard: every waiting poll looks again.
    if (this.waiting > 0) {
      this.log.info(
        { waiting: this.waiting },
        'fleet: LISTEN connection back; waking every poll to re-check',
      );
      this.wakeAll('recheck');
    }
  }

  private scheduleReconnect(): void {
    if (this.reconnectTimer || this.closed) return;
    const delay = this.reconnectDelay;
    this.reconnectDelay = Math.min(this.reconnectDelay * 2, RECONNECT_MAX_MS);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      void this.listen();
    }, delay);
  }
}

function chunks(ids: string[]): string[] {
  const out: string[] = [];
  let cur = '';
  for (const id of ids) {
    if (cur && Buffer.byteLength(cur) + id.length + 1 > PAYLOAD_MAX_BYTES) {
      out.push(cur);
      cur = '';
    }
    cur = cur ? `${cur},${id}` : id;
  }
  if (cur) out.push(cur);
  return out;
}

const quoteIdent = (s: string) => `"${s.replace(/"/g, '""')}"`;
