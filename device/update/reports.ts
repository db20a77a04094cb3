// Sends the update agent's step reports to the cloud (`POST /api/v1/box/software`, box credential), oldest
// first, each resent until the cloud answers 200: the same full-jitter backoff as the uplink and the fleet
// poll, so boxes coming back together do not knock in step. The queue itself is the agent's (state.json):
// a report survives a restart, including the restart into the new version that switching is.
import got, { type Got } from 'got';
import type { Logger } from 'pino';
import type { SoftwareReport } from '../../protocol/fleet-updates.js';
import { boxToken } from '../../protocol/index.js';
import { backoffDelay } from '../uplink/uplink.js';

/** Posts one report; resolves with the HTTP status (a thrown error is a network failure). */
export type ReportPost = (report: SoftwareReport, signal: AbortSignal) => Promise<number>;

/** The real poster: the box's credential, the cloud's URL now (a new config may move it). */
export function cloudReportPost(o: { cloudUrl: () => string; boxId: string; secret: string }): ReportPost {
  const http: Got = got.extend({
    headers: { authorization: `Bearer ${boxToken(o.boxId, o.secret)}` },
    retry: { limit: 0 },
    throwHttpErrors: false,
    timeout: { request: 30_000 },
  });
  return async (report, signal) =>
    (await http.post(`${o.cloudUrl().replace(/\/+$/, '')}/api/v1/box/software`, { json: report, signal }))
      .statusCode;
}

export interface ReportSenderOptions {
  /** The oldest report not acknowledged yet, or null. */
  next: () => SoftwareReport | null;
  /** The cloud took it (200) or will never take it (400, 409): drop it from the queue, durably. */
  done: (report: SoftwareReport) => void;
  post: ReportPost;
  log: Logger;
  retry: { baseMs: number; capMs: number };
}

export class ReportSender {
  private running = false;
  private loop: Promise<void> = Promise.resolve();
  private readonly abort = new AbortController();
  private wakeUp: (() => void) | null = null;
  private failures = 0;

  constructor(private readonly o: ReportSenderOptions) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** A report was queued: send it now instead of at the next wake. */
  wake(): void {
    this.wakeUp?.();
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.abort.abort();
    this.wakeUp?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (this.running) {
      const report = this.o.next();
      if (!report) {
        await this.sleep(60_000);
        continue;
      }
      let status: number;
      try {
        status = await this.o.post(report, this.abort.signal);
      } catch (err) {
        status = 0;
        if (!this.running) break;
        this.o.log.debug({ err: (err as Error).message }, 'update: report not sent');
      }
      if (status === 200 || status === 400 || status === 409) {
        if (status !== 200)
          this.o.log.error(
            { status, state: report.state, version: report.version },
            'update: the cloud refused this report for good; dropped',
          );
        this.failures = 0;
        this.o.done(report);
        continue;
      }
      this.failures++;
      if (this.failures === 1 || this.failures % 20 === 0)
        this.o.log.warn(
          { status, failures: this.failures },
          'update: cloud unreachable or failing; will resend',
        );
      await this.sleep(backoffDelay(this.failures, this.o.retry.baseMs, this.o.retry.capMs));
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      let t: NodeJS.Timeout | undefined = undefined;
      const done = () => {
        clearTimeout(t);
        this.wakeUp = null;
        resolve();
      };
      t = setTimeout(done, ms);
      this.wakeUp = done;
    });
  }
}
