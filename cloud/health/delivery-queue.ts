// Schedules webhook attempts. PostgreSQL: pg-boss (its own schema), one job per delivery whose id is the
// delivery's id, so a second send is a no-op and pg-boss's SKIP LOCKED fetch hands a job to one replica only;
// retries and exponential backoff are pg-boss's. SQLite (one node): a loop in this process over the same
// alert_deliveries table, with the same backoff (webhooks.ts backoffMs).
import { CompiledQuery } from 'kysely';
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
    const db = this.db;
    // pg-boss runs its SQL over the cloud's own pool (its statements name their schema).
    const boss = new PgBoss({
      db: { executeSql: (text, values) => db.executeQuery(CompiledQuery.raw(text, values ?? [])) as never },
      schema: this.schema,
      schedule: false,
    });
    boss.on('error', (err) => this.log.warn({ err: err.message }, 'alert delivery queue error'));
    await boss.start();
    const retry = {
      retryLimit: this.s.maxAttempts - 1,
      retryDelay: Math.max(1, Math.round(this.s.retryDelayMs / 1000)),
      retryBackoff: true,
      expireInSeconds: Math.ceil(this.s.timeoutMs / 1000) + 60,
    };
    if (!(await boss.getQueue(QUEUE))) {
      // Two replicas starting together may both try: the loser's error is harmless.
      await boss.createQueue(QUEUE, { name: QUEUE, ...retry }).catch(async (err: Error) => {
        if (!(await boss.getQueue(QUEUE))) throw err;
      });
    }
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
