// Print jobs, delivered at least once: a paper ticket's job is derived from its committed `ticket.issued` event
// and stays pending until the printer side acknowledges it (`tickets/printed`, from the kiosk or the box's own
// printer driver). Pending jobs are sent again periodically, and at once after a restart (they are read back
// from the log) or when the kiosk retries the request; each send carries the same jobId (the ticket's id), so
// the receiver prints each job once. A job nobody acknowledged expires PRINT_JOB_EXPIRY_MS after its ticket
// was issued: a ticket printed that late would mislead.
import type { Logger } from 'pino';
import { PRINT_JOB_EXPIRY_MS, PRINT_JOB_RESEND_MS, topics, type PrintJob } from '../../protocol/index.js';
import type { PeripheralDirectory } from '../broker/directory.js';
import { configGetter, type BoxConfig, type ConfigSource } from '../config/schema.js';
import type { StoredEvent } from '../store/event-store.js';
import type { Publisher } from './office-publisher.js';
import { printJobOf } from './views.js';

/** What the spool needs of the event store: the log's tail and the acknowledgements. */
export interface PrintLog {
  recentEvents(type: string, since: number): Iterable<StoredEvent>;
  recordPrinted(jobs: { jobId: string; device: string }[], at: number): string[];
  wasPrinted(jobId: string): boolean;
}

interface PendingJob {
  kiosk: string;
  job: PrintJob;
  issuedAt: number;
  sends: number;
  lastSent: number;
}

export interface PrintSpoolOptions {
  expiryMs?: number;
  resendMs?: number;
}

export class PrintSpool {
  private readonly pending = new Map<string, PendingJob>();
  private readonly expiryMs: number;
  private readonly resendMs: number;
  private timer: NodeJS.Timeout | null = null;
  /** Acknowledgements of this event-loop turn, written together: one fsync however many kiosks report. */
  private acks: { jobId: string; device: string; known: boolean; done: (err?: unknown) => void }[] = [];

  private readonly cfg: () => BoxConfig;

  constructor(
    config: ConfigSource,
    private readonly directory: PeripheralDirectory,
    private readonly out: Publisher,
    private readonly store: PrintLog,
    private readonly clock: () => number,
    private readonly log: Logger,
    opts: PrintSpoolOptions = {},
  ) {
    this.cfg = configGetter(config);
    this.expiryMs = opts.expiryMs ?? PRINT_JOB_EXPIRY_MS;
    this.resendMs = opts.resendMs ?? PRINT_JOB_RESEND_MS;
  }

  /** Jobs sent and not yet acknowledged. */
  get size(): number {
    return this.pending.size;
  }

  /**
   * After a restart: the paper tickets of the last expiry window that no printer acknowledged (the box may
   * have stopped between their commit and their print job) are pending again, and sent at once.
   */
  async restore(): Promise<number> {
    const since = this.clock() - this.expiryMs;
    const found: StoredEvent[] = [];
    for (const e of this.store.recentEvents('ticket.issued', since)) found.push(e);
    found.reverse(); // oldest first: the queue's order
    for (const e of found) this.track(e, true);
    if (this.pending.size > 0)
      this.log.warn(
        { jobs: [...this.pending.keys()] },
        'print jobs not acknowledged before the restart are sent again',
      );
    await this.sendAll();
    return this.pending.size;
  }

  /** New paper tickets from one commit: pending, and sent. */
  async committed(events: StoredEvent[]): Promise<void> {
    const sends: Promise<void>[] = [];
    for (const e of events) {
      const p = this.track(e, false);
      if (p) sends.push(this.send(p));
    }
    await Promise.all(sends);
  }

  /**
   * The kiosk retried a ticket request that was answered from the log (`duplicate: true`): it may never have
   * had the print job (the box stopped before sending it). Sent again if still pending.
   */
  async retried(kiosk: string, ticketId: string): Promise<void> {
    const p = this.pending.get(ticketId);
    if (p && p.kiosk === kiosk && !this.expired(p)) await this.send(p);
  }

  /**
   * A ticket printed again (an admin's fleet command): under its own job id, so the kiosk does not take it for
   * the first print it already made; sent until acknowledged, like any job.
   */
  async reprint(kiosk: string, job: PrintJob): Promise<void> {
    const p: PendingJob = { kiosk, job, issuedAt: this.clock(), sends: 0, lastSent: 0 };
    this.pending.set(job.jobId, p);
    await this.send(p);
  }

  /**
   * The printer side reports `jobId` printed: no longer sent, and recorded durably (a restart does not send
   * it again) before the promise resolves. Idempotent; a job of another kiosk is ignored, one already
   * expired is recorded and logged.
   */
  printed(kiosk: string, jobId: string): Promise<void> {
    const p = this.pending.get(jobId);
    if (p && p.kiosk !== kiosk) {
      this.log.warn({ kiosk, jobId, owner: p.kiosk }, 'print acknowledgement for another kiosk ignored');
      return Promise.resolve();
    }
    this.pending.delete(jobId);
    return new Promise((resolve, reject) => {
      const done = (err?: unknown) => (err === undefined ? resolve() : reject(err));
      this.acks.push({ jobId, device: kiosk, known: p !== undefined, done });
      if (this.acks.length === 1) setImmediate(() => this.recordAcks());
    });
  }

  private recordAcks(): void {
    const batch = this.acks;
    this.acks = [];
    try {
      const fresh = new Set(this.store.recordPrinted(batch, this.clock()));
      for (const a of batch) {
        if (!a.known && fresh.has(a.jobId))
          this.log.info({ kiosk: a.device, jobId: a.jobId }, 'print acknowledged after the job expired');
        a.done();
      }
    } catch (err) {
      for (const a of batch) a.done(err);
    }
  }

  /** Starts the periodic resend (and expiry). */
  start(): this {
    this.timer = setInterval(() => void this.sweep(), this.resendMs);
    this.timer.unref();
    return this;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Sends again every pending job not sent in the last half period, and drops the expired ones. */
  async sweep(): Promise<void> {
    for (const [jobId, p] of this.pending) {
      if (!this.expired(p)) continue;
      this.pending.delete(jobId);
      // warn, not error: a kiosk whose firmware predates the acknowledgement ends every job this way.
      this.log.warn(
        { kiosk: p.kiosk, jobId, ticket: p.job.ticket.number, sends: p.sends, expiryMs: this.expiryMs },
        `print job for ticket ${p.job.ticket.number} expired without an acknowledgement from the kiosk ` +
          '(the number stays issued; the citizen can follow it on the kiosk screen or be called by number)',
      );
    }
    const before = this.clock() - this.resendMs / 2;
    await Promise.all(
      [...this.pending.values()].filter((p) => p.lastSent <= before).map((p) => this.send(p)),
    );
  }

  private track(e: StoredEvent, restoring: boolean): PendingJob | null {
    if (e.event.type !== 'ticket.issued' || !e.source || e.event.data.delivery === 'screen') return null;
    const kiosk = this.directory.get(e.source);
    if (kiosk?.role !== 'kiosk') return null;
    const job = printJobOf(this.cfg(), e.at, e.event.data);
    if (restoring && (this.pending.has(job.jobId) || this.store.wasPrinted(job.jobId))) return null;
    const p: PendingJob = { kiosk: kiosk.id, job, issuedAt: e.at, sends: 0, lastSent: 0 };
    this.pending.set(job.jobId, p);
    return p;
  }

  private expired(p: PendingJob): boolean {
    return this.clock() - p.issuedAt > this.expiryMs;
  }

  private async sendAll(): Promise<void> {
    await Promise.all([...this.pending.values()].map((p) => this.send(p)));
  }

  private async send(p: PendingJob): Promise<void> {
    p.sends += 1;
    p.lastSent = this.clock();
    try {
      await this.out.publish(topics.print(p.kiosk), p.job, { qos: 1 });
    } catch (err) {
      this.log.error(
        { err, kiosk: p.kiosk, jobId: p.job.jobId },
        'print job not published; sent again later',
      );
    }
  }
}
