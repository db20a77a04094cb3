// Fleet health as one part of a cloud replica: built by the route plugin (routes.ts), it records heartbeats,
// sweeps for silent boxes, evaluates alert rules and owns the webhook delivery queue. Other cloud code reaches
// it with fleetHealthOf(ctx): the heartbeat route, and the configuration twin through raiseAlert.
import { sql } from 'kysely';
import type { Heartbeat } from '../../protocol/index.js';
import type { CloudContext } from '../http/context.js';
import {
  BOX_HEARTBEAT_INTERVAL_MS,
  BOX_OFFLINE_AFTER_HEARTBEATS,
  HEALTH_BACKLOG_EVENTS,
  HEALTH_DISK_LOW_MB,
  HEALTH_SWEEP_INTERVAL_MS,
  WEBHOOK_MAX_ATTEMPTS,
  WEBHOOK_RETRY_DELAY_MS,
  WEBHOOK_TIMEOUT_MS,
} from '../limits.js';
import {
  clearAlert,
  evaluateBox,
  evaluateBoxes,
  raiseAlert,
  type AlertKind,
  type AlertSink,
} from './alerts.js';
import { InProcessDeliveryQueue, PgBossDeliveryQueue, type DeliveryQueue } from './delivery-queue.js';
import { recordHeartbeat, sweepOfflineBoxes, type BoxRef } from './incidents.js';

/** Settings of fleet health (CloudSettings.fleetHealth); every one has a default from cloud/limits.ts. */
export interface FleetHealthSettings {
  /** The boxes' heartbeat interval; a box is offline after BOX_OFFLINE_AFTER_HEARTBEATS of them. */
  heartbeatIntervalMs: number;
  sweepIntervalMs: number;
  backlogEvents: number;
  diskLowMb: number;
  /** Webhooks to http://localhost, 127.0.0.1 or [::1] (tests, development). Off in production. */
  webhookAllowHttpLocalhost: boolean;
  webhookTimeoutMs: number;
  webhookMaxAttempts: number;
  /** The first retry's delay; doubled at each retry (pg-boss rounds it to whole seconds). */
  webhookRetryDelayMs: number;
  /** PostgreSQL: pg-boss's schema (default `<current schema>_jobs`). */
  jobsSchema?: string;
}

export const FLEET_HEALTH_DEFAULTS: FleetHealthSettings = {
  heartbeatIntervalMs: BOX_HEARTBEAT_INTERVAL_MS,
  sweepIntervalMs: HEALTH_SWEEP_INTERVAL_MS,
  backlogEvents: HEALTH_BACKLOG_EVENTS,
  diskLowMb: HEALTH_DISK_LOW_MB,
  webhookAllowHttpLocalhost: false,
  webhookTimeoutMs: WEBHOOK_TIMEOUT_MS,
  webhookMaxAttempts: WEBHOOK_MAX_ATTEMPTS,
  webhookRetryDelayMs: WEBHOOK_RETRY_DELAY_MS,
};

const registry = new WeakMap<CloudContext, FleetHealth>();

/** The fleet health part of a cloud context (undefined when its routes are not mounted). */
export const fleetHealthOf = (ctx: CloudContext): FleetHealth | undefined => registry.get(ctx);

export class FleetHealth {
  readonly settings: FleetHealthSettings;
  private queue: DeliveryQueue | null = null;
  private timer: NodeJS.Timeout | null = null;
  private sweeping: Promise<void> | null = null;
  private readonly sink: AlertSink = { delivery: (id) => this.queue?.enqueue(id) ?? Promise.resolve() };

  constructor(private readonly ctx: CloudContext) {
    this.settings = { ...FLEET_HEALTH_DEFAULTS, ...ctx.settings.fleetHealth };
    registry.set(ctx, this);
  }

  /** A box is offline once its last heartbeat is older than this. */
  get offlineAfterMs(): number {
    return this.settings.heartbeatIntervalMs * BOX_OFFLINE_AFTER_HEARTBEATS;
  }

  async start(): Promise<void> {
    const { store, log, settings } = this.ctx;
    const s = this.settings;
    const delivery = {
      masterKey: settings.masterKey,
      timeoutMs: s.webhookTimeoutMs,
      maxAttempts: s.webhookMaxAttempts,
      retryDelayMs: s.webhookRetryDelayMs,
      allowHttpLocalhost: s.webhookAllowHttpLocalhost,
    };
    if (store.dialect === 'postgres') {
      const schema =
        s.jobsSchema ??
        `${(await sql<{ s: string }>`select current_schema() as s`.execute(store.db)).rows[0]?.s ?? 'public'}_jobs`;
      this.queue = new PgBossDeliveryQueue(store.db, schema, delivery, log);
    } else this.queue = new InProcessDeliveryQueue(store.db, delivery, log);
    await this.queue.start();
    this.timer = setInterval(
      () => void this.sweep().catch((err: Error) => log.warn({ err: err.message }, 'health sweep failed')),
      s.sweepIntervalMs,
    );
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.sweeping?.catch(() => undefined);
    await this.queue?.stop();
    this.queue = null;
  }

  /** After the heartbeat is stored: incidents open and close, alert rules are evaluated for the box. */
  async heartbeat(box: BoxRef, hb: Heartbeat): Promise<void> {
    const now = this.ctx.clock();
    await recordHeartbeat(this.ctx.store.db, box, hb, now, {
      backlogEvents: this.settings.backlogEvents,
      diskLowMb: this.settings.diskLowMb,
    });
    await evaluateBox(this.ctx.store.db, this.sink, box.id, now);
  }

  /** Opens box_offline incidents for silent boxes and evaluates the rules of every box with an open incident. */
  sweep(): Promise<void> {
    this.sweeping ??= (async () => {
      const now = this.ctx.clock();
      const db = this.ctx.store.db;
      const boxes = await sweepOfflineBoxes(db, now, this.offlineAfterMs);
      await evaluateBoxes(db, this.sink, boxes, now);
      // Deliveries whose job was never queued (a replica stopped between the row and the send): pg-boss
      // ignores a second job with the same id, the in-process loop finds them by itself.
      const stale = await db
        .selectFrom('alert_deliveries')
        .select('id')
        .where('state', '=', 'pending')
        .where('attempts', '=', 0)
        .where('next_attempt_at', '<', Date.now() - 60_000)
        .limit(100)
        .execute();
      for (const d of stale) await this.queue?.enqueue(d.id);
    })().finally(() => {
      this.sweeping = null;
    });
    return this.sweeping;
  }

  /** For the configuration twin: a box rejected its config (or another external fault of `kind`). */
  raiseAlert(kind: AlertKind, boxId: string, detail: string | null): Promise<number> {
    return raiseAlert(this.ctx.store.db, this.sink, kind, boxId, detail, this.ctx.clock());
  }

  /** For the twin: the fault is over (the box applied a config). */
  clearAlert(kind: AlertKind, boxId: string): Promise<void> {
    return clearAlert(this.ctx.store.db, this.sink, kind, boxId, this.ctx.clock());
  }
}
