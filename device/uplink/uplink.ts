// The uplink: drains the outbox to the cloud in order, one batch in flight at a time, and sends heartbeats.
// The cloud acknowledges a sequence number; only then do those rows leave the outbox (the event log keeps
// every event regardless). A crash on either side at any moment means a batch is sent again, and the cloud
// de-duplicates by (box, seq): every event is applied exactly once. Offline, the outbox simply grows; the
// office keeps working, and an alarm (log, metric, heartbeat field) goes up as the backlog nears its bound.
import { statfsSync } from 'node:fs';
import { version as nodeVersion } from 'node:process';
import got, { HTTPError, type Got } from 'got';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import {
  HeartbeatAck,
  UplinkAck,
  boxToken,
  isValid,
  type Heartbeat,
  type PeripheralHealth,
} from '../../protocol/index.js';
import type { CloudUplinkConfig } from '../config/schema.js';
import type { EventStore } from '../store/event-store.js';
import type { BoxCredential } from './credential.js';

export interface UplinkOptions {
  store: EventStore;
  config: CloudUplinkConfig;
  credential: BoxCredential;
  officeId: string;
  version: string;
  dataDir: string;
  log: Logger;
  /** The office day and each peripheral's presence and status, for the heartbeat. */
  health: () => {
    day: string | null;
    peripherals: PeripheralHealth[];
    storage?: Heartbeat['storage'];
    power?: Heartbeat['power'];
    ticketKeySecret?: string;
  };
  registry?: Registry;
  /** Retry timing (tests shorten it). */
  retry?: { baseMs?: number; capMs?: number; attempts?: number };
  /** How long an idle drain loop sleeps before looking at the outbox again (ms). */
  idleMs?: number;
}

export interface UplinkState {
  ackedSeq: number | null;
  lastError: string | null;
  consecutiveFailures: number;
  alarm: boolean;
}

/** Full jitter: a random delay up to the exponential bound, so a province of boxes does not retry in step. */
export function backoffDelay(attempt: number, baseMs: number, capMs: number): number {
  const bound = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(bound / 2 + (Math.random() * bound) / 2);
}

export class Uplink {
  readonly state: UplinkState = { ackedSeq: null, lastError: null, consecutiveFailures: 0, alarm: false };
  private readonly http: Got;
  private running = false;
  private wakeUp: (() => void) | null = null;
  private beating: Promise<void> | null = null;
  private beatAgain = false;
  private drainDone: Promise<void> = Promise.resolve();
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private readonly abort = new AbortController();
  private readonly baseMs: number;
  private readonly capMs: number;
  private readonly metrics;

  constructor(private readonly o: UplinkOptions) {
    this.baseMs = o.retry?.baseMs ?? 1000;
    this.capMs = o.retry?.capMs ?? 60_000;
    const base = o.credential.cloudUrl.replace(/\/+$/, '');
    this.http = got.extend({
      prefixUrl: base,
      headers: { authorization: `Bearer ${boxToken(o.credential.boxId, o.credential.secret)}` },
      timeout: { request: 30_000 },
      signal: this.abort.signal,
      // got retries no POST unless told to. Our POSTs are safe to repeat: the cloud de-duplicates by seq.
      retry: {
        limit: o.retry?.attempts ?? 3,
        methods: ['POST'],
        statusCodes: [408, 429, 500, 502, 503, 504, 521, 522, 524],
        calculateDelay: ({ attemptCount, computedValue }) =>
          computedValue === 0 ? 0 : backoffDelay(attemptCount, this.baseMs, this.capMs),
      },
    });
    const registers = o.registry ? [o.registry] : [];
    // A replacement uplink (the cloud section changed live, device/fleet/) takes over the registered metrics.
    const existing = (name: string) => o.registry?.getSingleMetric(name);
    const gauge = (name: string, help: string) =>
      (existing(name) as Gauge | undefined) ?? new Gauge({ name, help, registers });
    const counter = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) =>
      (existing(name) as Counter<L> | undefined) ?? new Counter<L>({ name, help, labelNames, registers });
    this.metrics = {
      backlog: gauge('lobby_uplink_backlog_events', 'Events not yet acknowledged by the cloud'),
      alarm: gauge('lobby_uplink_backlog_alarm', '1 when the backlog nears its bound'),
      acked: gauge('lobby_uplink_acked_seq', 'Last sequence number the cloud acknowledged'),
      sent: counter('lobby_uplink_events_sent_total', 'Events acknowledged by the cloud'),
      failures: counter('lobby_uplink_failures_total', 'Uplink requests that failed after retries', [
        'kind',
      ] as const),
    };
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.drainDone = this.drainLoop();
    const beat = () => {
      void this.heartbeat().catch(() => undefined);
    };
    beat();
    this.heartbeatTimer = setInterval(beat, this.o.config.heartbeatSeconds * 1000);
    this.heartbeatTimer.unref();
  }

  /** New events were committed: drain now instead of at the next idle tick. */
  notify(): void {
    this.wakeUp?.();
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.abort.abort();
    this.wakeUp?.();
    await this.drainDone;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wakeUp = () => {
        this.wakeUp = null;
        done();
      };
    });
  }

  private async drainLoop(): Promise<void> {
    while (this.running) {
      let progressed = false;
      try {
        progressed = await this.drainOnce();
        this.state.consecutiveFailures = 0;
        this.state.lastError = null;
      } catch (err) {
        if (!this.running) break;
        this.state.consecutiveFailures++;
        this.state.lastError = describe(err);
        this.metrics.failures.inc({ kind: 'events' });
        const level =
          this.state.consecutiveFailures === 1 || this.state.consecutiveFailures % 20 === 0
            ? 'warn'
            : 'debug';
        this.o.log[level](
          { err: this.state.lastError, failures: this.state.consecutiveFailures },
          'uplink: cloud unreachable or refused; will retry',
        );
        await this.sleep(backoffDelay(this.state.consecutiveFailures, this.baseMs, this.capMs));
        continue;
      }
      if (!progressed) await this.sleep(this.o.idleMs ?? 5000);
    }
  }

  /** Sends the oldest outbox batch; true when the cloud acknowledged something new. Throws when it failed. */
  async drainOnce(): Promise<boolean> {
    const rows = this.o.store.outboxBatch(this.o.config.batchSize);
    if (rows.length === 0) return false;
    const first = (rows[0] as { seq: number }).seq;
    // The outbox holds the stored envelope JSON: send it as is.
    const body = `{"events":[${rows.map((r) => r.envelope).join(',')}]}`;
    const ack = await this.http
      .post('api/v1/uplink/events', { body, headers: { 'content-type': 'application/json' } })
      .json<unknown>();
    if (!isValid(UplinkAck, ack))
      throw new Error(`cloud answered something that is not an ack: ${JSON.stringify(ack).slice(0, 200)}`);
    return this.acknowledged(ack.ackedSeq, first);
  }

  private acknowledged(ackedSeq: number, firstSent: number): boolean {
    const before = this.state.ackedSeq;
    this.state.ackedSeq = ackedSeq;
    this.metrics.acked.set(ackedSeq);
    if (ackedSeq < firstSent - 1) {
      // The cloud has less than it acknowledged before (restored from a backup): send the rest again.
      const n = this.o.store.requeueAfter(ackedSeq);
      this.o.log.warn(
        { ackedSeq, firstSent, requeued: n },
        'uplink: the cloud is behind what it acknowledged; resending from the log',
      );
      return n > 0;
    }
    if (ackedSeq > this.o.store.headSeq)
      this.o.log.error(
        { ackedSeq, head: this.o.store.headSeq },
        'uplink: the cloud acknowledged events this box does not have (was the box log replaced?)',
      );
    const removed = this.o.store.ackOutbox(ackedSeq);
    this.metrics.sent.inc(removed);
    if (removed === 0 && before === ackedSeq)
      throw new Error(`the cloud acknowledged nothing new (ackedSeq ${ackedSeq})`);
    return removed > 0;
  }

  backlog(): Heartbeat['backlog'] {
    const b = this.o.store.outboxBacklog();
    let freeDiskBytes: number | null = null;
    try {
      const s = statfsSync(this.o.dataDir);
      freeDiskBytes = s.bavail * s.bsize;
    } catch {
      freeDiskBytes = null;
    }
    const alarm =
      b.events >= this.o.config.backlogAlarmEvents ||
      (freeDiskBytes !== null && freeDiskBytes < this.o.config.minFreeDiskMb * 1024 * 1024);
    if (alarm !== this.state.alarm) {
      if (alarm)
        this.o.log.warn(
          {
            backlog: b.events,
            freeDiskBytes,
            limits: { events: this.o.config.backlogAlarmEvents, minFreeDiskMb: this.o.config.minFreeDiskMb },
          },
          'uplink backlog alarm: the cloud has not taken events for a long time and the disk bound nears',
        );
      else this.o.log.info({ backlog: b.events }, 'uplink backlog alarm cleared');
      this.state.alarm = alarm;
    }
    this.metrics.backlog.set(b.events);
    this.metrics.alarm.set(alarm ? 1 : 0);
    return {
      events: b.events,
      oldestAt: b.oldestAt === null ? null : new Date(b.oldestAt).toISOString(),
      freeDiskBytes,
      alarm,
    };
  }

  heartbeatBody(): Heartbeat {
    const h = this.o.health();
    return {
      at: new Date().toISOString(),
      version: this.o.version,
      node: nodeVersion,
      // Which bundle an over-the-air update brings this box (protocol/fleet-updates.ts).
      platform: `${process.platform}-${process.arch}`,
      officeId: this.o.officeId,
      day: h.day,
      lastSeq: this.o.store.headSeq,
      backlog: this.backlog(),
      peripherals: h.peripherals,
      ...(h.storage ? { storage: h.storage } : {}),
      ...(h.power ? { power: h.power } : {}),
      ...(h.ticketKeySecret ? { ticketKeySecret: h.ticketKeySecret } : {}),
    };
  }

  /**
   * Sends a heartbeat. One at a time, so the cloud gets them in the order they were built (it keeps the last
   * one to arrive): one asked for while another is in flight goes right after it, with the state of then.
   * Two at once (the first at start, one for a power change) once left the cloud with the older one.
   */
  heartbeat(): Promise<void> {
    if (this.beating) {
      this.beatAgain = true;
      return this.beating;
    }
    const run = async () => {
      try {
        do {
          this.beatAgain = false;
          await this.sendHeartbeat();
        } while (this.beatAgain);
      } finally {
        this.beating = null;
      }
    };
    this.beating = run();
    return this.beating;
  }

  private async sendHeartbeat(): Promise<void> {
    const body = this.heartbeatBody();
    try {
      const ack = await this.http
        .post('api/v1/uplink/heartbeat', { json: body, retry: { limit: 0 } })
        .json<unknown>();
      if (isValid(HeartbeatAck, ack)) this.metrics.acked.set(ack.ackedSeq);
    } catch (err) {
      if (!this.running) return;
      this.metrics.failures.inc({ kind: 'heartbeat' });
      this.o.log.debug({ err: describe(err) }, 'uplink: heartbeat failed');
      throw err;
    }
  }
}

function describe(err: unknown): string {
  if (err instanceof HTTPError) {
    const body = err.response.body;
    return `${err.response.statusCode} ${typeof body === 'string' ? body.slice(0, 300) : JSON.stringify(body).slice(0, 300)}`;
  }
  return err instanceof Error
    ? `${(err as NodeJS.ErrnoException).code ?? ''} ${err.message}`.trim()
    : String(err);
}
