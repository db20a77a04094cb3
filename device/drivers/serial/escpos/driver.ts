// The kiosk's ticket printer (ESC/POS over TCP 9100, a serial port or /dev/usb/lp0): prints the kiosk's print
// jobs, reads the printer's real-time status (DLE EOT) and publishes it as the kiosk's status, so the box
// refuses paper tickets while the printer cannot print.
import { randomBytes } from 'node:crypto';
import {
  PrintJob,
  isValid,
  ticketStatusUrl,
  topics,
  type DeviceStatus,
  type PrinterState,
} from '../../../../protocol/index.js';
import type { PeripheralConfig } from '../../../config/schema.js';
import type { Driver, DriverHost } from '../../host.js';
import type { EscposDriverConfig } from '../config.js';
import { openLink, type ReconnectingLink, type StreamOpener } from '../link.js';
import { EPSON_VIETNAMESE_PAGES, encodeTicket, type EscposOptions } from './encode.js';
import {
  DLE_EOT,
  conditionOf,
  isStatusByte,
  type PrinterCondition,
  type RawPrinterStatus,
} from './status.js';
import { ticketContent } from './ticket.js';

interface QueuedJob {
  job: PrintJob;
  receivedAt: number;
  attempts: number;
}

/** Consecutive unanswered status reads after which the connection is dropped and opened again. */
const SILENT_READS_BEFORE_RECONNECT = 3;

export class EscposPrinter implements Driver {
  private readonly log;
  private readonly options: EscposOptions;
  private readonly pollMs: number;
  private readonly timeoutMs: number;
  private readonly windowMs: number;
  private readonly readsStatus: boolean;
  private condition: PrinterCondition = conditionOf(null);
  private readonly queue: QueuedJob[] = [];
  private readonly seen = new Set<string>();
  private printing = false;
  private dropped = 0;
  private printed = 0;
  private silentReads = 0;
  private lastReported = '';
  private chain: Promise<unknown> = Promise.resolve();
  private waiter: ((b: number | null) => void) | null = null;
  private poll: NodeJS.Timeout | null = null;
  private unsubscribe: () => void = () => undefined;
  private closed = false;
  private presence: boolean | null = null;
  /** Request ids of acknowledgements: fresh per box start (3.4). */
  private readonly bootTag = randomBytes(4).toString('hex');
  private acks = 0;

  constructor(
    private readonly host: DriverHost,
    private readonly self: PeripheralConfig,
    private readonly cfg: EscposDriverConfig,
    private readonly link: ReconnectingLink,
  ) {
    this.log = host.log.child({ driver: 'escpos', peripheral: self.id, link: link.label });
    this.options = {
      dots: cfg.dots ?? (cfg.paper === '58mm' ? 384 : 576),
      text: cfg.text ?? 'raster',
      codepages: cfg.codepages ?? EPSON_VIETNAMESE_PAGES,
      cut: cfg.cut ?? 'partial',
    };
    this.pollMs = cfg.statusPollMs ?? 2000;
    this.timeoutMs = cfg.statusTimeoutMs ?? 1000;
    this.windowMs = cfg.retryWindowMs ?? 60_000;
    // A USB printer-class device rarely passes status replies back: polling it would show it offline.
    this.readsStatus = cfg.status ?? !('file' in cfg.link);
  }

  async start(): Promise<this> {
    this.link.on('data', (chunk) => this.onData(chunk));
    this.link.on('up', () => void this.refresh());
    this.link.on('down', (why) => {
      this.waiter?.(null);
      void this.setCondition({
        ...conditionOf(null),
        detail: `Mất kết nối máy in / printer link down: ${why}`,
      });
    });
    this.unsubscribe = this.host.subscribe(topics.print(this.self.id), (_t, payload) =>
      this.onPrintJob(payload),
    );
    this.poll = setInterval(() => void this.refresh(), this.pollMs);
    await this.report(true);
    if (this.link.isUp) void this.refresh();
    return this;
  }

  /** Jobs waiting for the printer (including one being printed). */
  get pending(): number {
    return this.queue.length;
  }

  private onPrintJob(payload: Buffer): void {
    let job: unknown;
    try {
      job = JSON.parse(payload.toString('utf8'));
    } catch {
      job = null;
    }
    if (!isValid(PrintJob, job)) {
      this.log.error(
        { payload: payload.toString('utf8').slice(0, 200) },
        'print job ignored: not a valid PrintJob',
      );
      return;
    }
    if (this.seen.has(job.jobId)) return; // QoS 1 may deliver twice: print once per jobId
    this.seen.add(job.jobId);
    if (this.seen.size > 1000) this.seen.delete(this.seen.values().next().value as string);
    this.queue.push({ job, receivedAt: this.host.clock(), attempts: 0 });
    void this.report();
    void this.kick();
  }

  private onData(chunk: Buffer): void {
    for (const b of chunk) {
      if (this.waiter && isStatusByte(b)) {
        const w = this.waiter;
        this.waiter = null;
        w(b);
      }
    }
  }

  /** Runs `fn` after whatever is on the wire now: a status read never lands inside a ticket's bytes. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn, fn);
    this.chain = next.catch(() => undefined);
    return next;
  }

  private query(n: 1 | 2 | 4): Promise<number | null> {
    return new Promise((resolve) => {
      if (!this.link.isUp) return resolve(null);
      // When the deadline passes, let I/O already waiting (the reply, late only because the box was busy)
      // be read first: setImmediate runs after the event loop's poll phase.
      const timer = setTimeout(
        () =>
          setImmediate(() => {
            if (this.waiter !== done) return;
            this.waiter = null;
            resolve(null);
          }),
        this.timeoutMs,
      );
      const done = (b: number | null) => {
        clearTimeout(timer);
        resolve(b);
      };
      this.waiter = done;
      this.link.write(DLE_EOT(n)).catch(() => done(null));
    });
  }

  private readStatus(): Promise<PrinterCondition> {
    return this.serial(async () => {
      if (!this.link.isUp) return { ...conditionOf(null), detail: 'Mất kết nối máy in / printer link down' };
      if (!this.readsStatus) return conditionOf({ printer: 0x12, offlineCause: 0x12, paper: 0x12 });
      const printer = await this.query(1);
      const offlineCause = printer === null ? null : await this.query(2);
      const paper = offlineCause === null ? null : await this.query(4);
      const raw: RawPrinterStatus | null =
        printer === null || offlineCause === null || paper === null ? null : { printer, offlineCause, paper };
      if (raw === null) {
        if (++this.silentReads >= SILENT_READS_BEFORE_RECONNECT && this.link.isUp) {
          this.silentReads = 0;
          this.link.drop('the printer stopped answering status requests');
        }
      } else this.silentReads = 0;
      return conditionOf(raw);
    });
  }

  private async refresh(): Promise<void> {
    if (this.closed) return;
    this.expire();
    const c = await this.readStatus();
    if (this.closed) return;
    await this.setCondition(c);
    void this.kick();
  }

  private async setCondition(c: PrinterCondition): Promise<void> {
    const before = this.condition;
    this.condition = c;
    if (before.state !== c.state) {
      const level = c.canPrint ? 'info' : 'warn';
      this.log[level]({ from: before.state, to: c.state, detail: c.detail }, `printer ${c.state}`);
    }
    await this.report();
  }

  /** Drops jobs the printer could not print within the retry window: a ticket that late would mislead. */
  private expire(): void {
    const now = this.host.clock();
    while (this.queue.length > 0 && !this.printing) {
      const q = this.queue[0] as QueuedJob;
      if (now - q.receivedAt <= this.windowMs) break;
      this.queue.shift();
      this.dropped++;
      this.log.error(
        {
          jobId: q.job.jobId,
          ticket: q.job.ticket.number,
          attempts: q.attempts,
          state: this.condition.state,
          windowMs: this.windowMs,
        },
        `ticket ${q.job.ticket.number} NOT printed: the printer was not back within ${Math.round(this.windowMs / 1000)} s; ` +
          'the number stays issued (the citizen can follow it on the kiosk screen or be called by number)',
      );
    }
  }

  private async kick(): Promise<void> {
    if (this.printing || this.closed) return;
    this.expire();
    const q = this.queue[0];
    if (!q || !this.link.isUp || !this.condition.canPrint) return;
    this.printing = true;
    let done = false;
    try {
      let bytes: Uint8Array;
      try {
        const url = this.host.config.office.publicUrl;
        const content = ticketContent(
          q.job,
          this.host.config.office.timezone,
          url
            ? ticketStatusUrl(
                url,
                this.host.config.office.id,
                q.job.ticket.ticketId,
                this.host.ticketKey?.(q.job.ticket.ticketId),
              )
            : null,
        );
        bytes = encodeTicket(content, this.options);
      } catch (err) {
        this.queue.shift();
        this.dropped++;
        this.log.error(
          { err, jobId: q.job.jobId },
          `ticket ${q.job.ticket.number} NOT printed: it could not be encoded`,
        );
        return;
      }
      q.attempts++;
      await this.serial(() => this.link.write(bytes));
      // The status read is queued behind the ticket's bytes: an answer that says the printer can still
      // print means it took the whole ticket.
      const after = await this.readStatus();
      await this.setCondition(after);
      if (after.canPrint) {
        this.queue.shift();
        this.printed++;
        done = true;
        this.log.info(
          { jobId: q.job.jobId, ticket: q.job.ticket.number, attempts: q.attempts },
          'ticket printed',
        );
        void this.acknowledge(q.job);
      } else {
        this.log.error(
          { jobId: q.job.jobId, ticket: q.job.ticket.number, state: after.state },
          `printer stopped during ticket ${q.job.ticket.number} (${after.state}); it will be printed again ` +
            `if the printer is back within ${Math.round(this.windowMs / 1000)} s`,
        );
      }
    } catch (err) {
      this.log.error(
        { err: (err as Error).message, jobId: q.job.jobId, ticket: q.job.ticket.number },
        `ticket ${q.job.ticket.number} could not be sent to the printer; it will be retried when the printer is back`,
      );
    } finally {
      this.printing = false;
    }
    await this.report();
    if (done) void this.kick();
  }

  /**
   * Tells the box the job is printed (`tickets/printed`), as an MQTT kiosk does: the box stops sending it, and
   * does not send it again after a restart. Without it the box re-sends the job (same jobId, printed once).
   */
  private async acknowledge(job: PrintJob): Promise<void> {
    try {
      const reply = await this.host.request(this.self, topics.ticketPrinted(), {
        id: `${this.self.id}-${this.bootTag}-p${++this.acks}`,
        jobId: job.jobId,
      });
      if (reply.status !== 'ok')
        this.log.warn({ jobId: job.jobId, error: reply.error?.code }, 'print acknowledgement refused');
    } catch (err) {
      this.log.warn({ err, jobId: job.jobId }, 'print acknowledgement failed');
    }
  }

  private async report(force = false): Promise<void> {
    if (this.closed) return;
    const c = this.condition;
    const printer = {
      state: c.state as PrinterState,
      canPrint: c.canPrint,
      pendingJobs: this.queue.length,
      droppedJobs: this.dropped,
    };
    const key = JSON.stringify(printer);
    if (!force && key === this.lastReported) return;
    this.lastReported = key;
    const status: DeviceStatus = {
      ts: new Date(this.host.clock()).toISOString(),
      ok: c.canPrint,
      detail: c.detail,
      printer,
    };
    try {
      await this.host.reportStatus(this.self.id, status);
      // A kiosk with a secret is an MQTT-native device that announces itself; only a printer-only kiosk
      // gets its presence from the box.
      const online = c.state !== 'offline';
      if (this.self.secretHash === undefined && online !== this.presence) {
        this.presence = online;
        await this.host.reportPresence(this.self.id, online);
      }
    } catch (err) {
      this.log.warn({ err }, 'could not publish the printer status');
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.poll) clearInterval(this.poll);
    this.unsubscribe();
    this.waiter?.(null);
    if (this.queue.length > 0)
      this.log.error(
        { tickets: this.queue.map((q) => q.job.ticket.number) },
        'box stopping with tickets not printed',
      );
    await this.link.close();
  }
}

export async function startEscposDriver(
  host: DriverHost,
  peripheral: PeripheralConfig,
  opener?: StreamOpener,
): Promise<Driver> {
  const cfg = peripheral.driver as EscposDriverConfig;
  const link = openLink(
    cfg.link,
    host.log.child({ driver: 'escpos', peripheral: peripheral.id }),
    cfg.reconnect,
    opener,
  );
  return new EscposPrinter(host, peripheral, cfg, link).start();
}
