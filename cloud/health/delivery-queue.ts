// Schedules webhook attempts. PostgreSQL: pg-boss (its own schema), one job per delivery whose id is the
// delivery's id, so a second send is a no-op and pg-boss's SKIP LOCKED fetch hands a job to one replica only;
// retries and exponential backoff are pg-boss's. SQLite (one node): a loop in this process over the same
// alert_deliveries table, with the same backoff (webhooks.ts backoffMs).
import { CompiledQuery, sql } from 'kysely';
import PgBoss from 'pg-boss';
import type { Logger } from 'pino';
import type { Db } from '../db/database.js';
import { attemptDelivery, type DeliverySettings } from './webhooks.js';

export interface DeliveryQueue {
  start(): Promise<void>;
  /** A pending delivery to attempt now (its row is committed). Safe to call twice for one delivery. */
  enqueue(deliveryId: string): Promise<void>;
  stop(): Promise<void>;
}

const QUEUE = 'alert-webhook';

export class PgBossDeliveryQueue implements DeliveryQueue {
  private boss: PgBoss | null = null;

  constructor(
    private readonly db: Db,
    private readonly schema: string,
    private readonly s: DeliverySettings,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    // pg-boss runs its SQL over the cloud's own pool (its statements name their schema), except while it
    // starts: then over one connection holding a lock (below).
    let run: (q: CompiledQuery) => Promise<unknown> = (q) => this.db.executeQuery(q);
    const boss = new PgBoss({
      db: { executeSql: (text, values) => run(CompiledQuery.raw(text, values ?? [])) as never },
      schema: this.schema,
      schedule: false,
    });
    boss.on('error', (err) => this.log.warn({ err: err.message }, 'alert delivery queue error'));
    const retry = {
      retryLimit: this.s.maxAttempts - 1,
      retryDelay: Math.max(1, Math.round(this.s.retryDelayMs / 1000)),
      retryBackoff: true,
      expireInSeconds: Math.ceil(this.s.timeoutMs / 1000) + 60,
    };
    // Replicas starting together on a new database would each install pg-boss's schema and create the queue:
    // its install script fails on the second (leaving that connection in an aborted transaction) and two
    // create_queue calls deadlock on the partition's DDL. One replica at a time, under a session lock on one
    // connection; the next finds everything in place.
    const lock = `${this.schema}.delivery-queue-start`;
    await this.db.connection().execute(async (conn) => {
      await sql`select pg_advisory_lock(hashtext(${lock}))`.execute(conn);
      run = (q) => conn.executeQuery(q);
      try {
        await boss.start();
        if (!(await boss.getQueue(QUEUE))) await boss.createQueue(QUEUE, { name: QUEUE, ...retry });
      } catch (err) {
        // A failed install script leaves its transaction open: not on a connection going back to the pool.
        await sql`rollback`.execute(conn).catch(() => undefined);
        throw err;
      } finally {
        run = (q) => this.db.executeQuery(q);
        await sql`select pg_advisory_unlock(hashtext(${lock}))`.execute(conn);
      }
    });
    await boss.work<{ deliveryId: string }>(
      QUEUE,
      { pollingIntervalSeconds: 0.5, batchSize: 1 },
      async ([job]) => {
        if (!job) return;
        const outcome = await attemptDelivery(this.db, this.s, job.data.deliveryId);
        // pg-boss retries a job whose handler throws, after its backoff, up to retryLimit times.
        if (outcome === 'retry') throw new Error('webhook delivery failed; retrying with backoff');
      },
    );
    this.boss = boss;
  }

  async enqueue(deliveryId: string): Promise<void> {
    if (!this.boss) throw new Error('alert delivery queue not started');
    await this.boss.send(QUEUE, { deliveryId }, { id: deliveryId });
  }

  async stop(): Promise<void> {
    await this.boss?.stop({ graceful: true, close: false, wait: true, timeout: 10_000 });
    this.boss = null;
  }
}

/** SQLite: attempts due deliveries in this process, one at a time (one node owns the database file). */
export class InProcessDeliveryQueue implements DeliveryQueue {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;

  constructor(
    private readonly db: Db,
    private readonly s: DeliverySettings,
    private readonly log: Logger,
    private readonly pollMs = 250,
  ) {}

  async start(): Promise<void> {
    this.timer = setInterval(() => this.kick(), this.pollMs);
    this.timer.unref();
  }

  async enqueue(): Promise<void> {
    this.kick();
  }

  private kick(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain()
      .catch((err: Error) => this.log.warn({ err: err.message }, 'alert delivery loop failed'))
      .finally(() => {
        this.running = null;
        if (this.again && this.timer) {
          this.again = false;
          this.kick();
        }
      });
  }

  private async drain(): Promise<void> {
    const due = await this.db
      .selectFrom('alert_deliveries')
      .select('id')
      .where('state', '=', 'pending')
      .where('next_attempt_at', '<=', Date.now())
      .orderBy('next_attempt_at')
      .limit(20)
      .execute();
    for (const d of due) await attemptDelivery(this.db, this.s, d.id);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }
}
