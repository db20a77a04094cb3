// The box's half of the fleet channel: a long poll for everything the cloud has for it (its target config,
// its commands, its software), then the report of what it did with the config.
// The box opens every connection (government networks allow outbound HTTPS and little else). One request at
// a time; on any failure it waits (exponential, full jitter, like the uplink) and tries again, so a province
// of boxes coming back after an outage does not knock on the cloud in step.
import got, { type Got } from 'got';
import type { Logger } from 'pino';
import { BoxPoll, type BoxReported, type BoxTarget } from '../../protocol/fleet.js';
import type { BoxCommand } from '../../protocol/fleet-commands.js';
import type { SoftwareTarget } from '../../protocol/fleet-updates.js';
import { boxToken, isValid } from '../../protocol/index.js';
import { backoffDelay } from '../uplink/uplink.js';
import { writeFleetState, type FleetState } from './files.js';

/** How long the cloud may hold a poll (FLEET_LONG_POLL_MAX_SECONDS: proxies cut idle HTTP at 60 s). */
export const LONG_POLL_SECONDS = 50;

export interface PollerOptions {
  /** The cloud's base URL now (a new config may move it). */
  cloudUrl: () => string;
  boxId: string;
  secret: string;
  dataDir: string;
  /** Where the box got to (files.ts), from the last run. */
  state: FleetState;
  /** Applies or rejects a target; resolves with the report once the outcome is durable. */
  process: (target: BoxTarget) => Promise<BoxReported>;
  log: Logger;
  retry: { baseMs: number; capMs: number };
  /** The long poll's `wait` (seconds). */
  waitSeconds?: number;
  /** The wait after a 401 (a revoked or replaced credential: asking again soon changes nothing). */
  unauthorizedMs?: number;
  /** The box's commands (commands.ts): the seq it holds, and the new ones, written durably by `accept`. */
  commands?: { readonly received: number; accept(commands: BoxCommand[]): void };
  /** The software target the box holds (its rolloutId, '' none) and what to do with the cloud's (OTA). */
  softwareHeld?: () => string;
  onSoftware?: (target: SoftwareTarget | null) => void | Promise<void>;
}

class Unauthorized extends Error {}

export class FleetPoller {
  private running = false;
  private loop: Promise<void> = Promise.resolve();
  private abort = new AbortController();
  private wake: (() => void) | null = null;
  private failures = 0;
  private readonly http: Got;
  private readonly state: FleetState;

  constructor(private readonly o: PollerOptions) {
    this.state = { ...o.state };
    this.http = got.extend({
      headers: { authorization: `Bearer ${boxToken(o.boxId, o.secret)}` },
      retry: { limit: 0 },
      throwHttpErrors: false,
    });
  }

  /** The last target version processed (applied or rejected). */
  get processed(): number {
    return this.state.processed;
  }

  /** Requests that failed in a row (0 while the cloud answers). */
  get consecutiveFailures(): number {
    return this.failures;
  }

  /** The report the cloud has not acknowledged yet. */
  get pendingReport(): BoxReported | null {
    return this.state.report;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.abort.abort();
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        if (this.state.report) await this.sendReport(this.state.report);
        else await this.pollOnce();
        this.failures = 0;
      } catch (err) {
        if (!this.running) break;
        this.failures++;
        const unauthorized = err instanceof Unauthorized;
        const level = unauthorized || this.failures === 1 || this.failures % 20 === 0 ? 'warn' : 'debug';
        this.o.log[level](
          { err: (err as Error).message, failures: this.failures },
          unauthorized
            ? 'fleet: the cloud refused this box credential (401); is the box still enrolled? Waiting long'
            : 'fleet: cloud unreachable or failing; will retry',
        );
        await this.sleep(
          unauthorized
            ? (this.o.unauthorizedMs ?? 5 * 60_000)
            : backoffDelay(this.failures, this.o.retry.baseMs, this.o.retry.capMs),
        );
      }
    }
  }

  private url(path: string): string {
    return `${this.o.cloudUrl().replace(/\/+$/, '')}/${path}`;
  }

  /**
   * One long poll (`GET /api/v1/box/poll`): the commands are taken first (durably: the next poll acknowledges
   * them), then the target config is processed, then the software target is handed on.
   */
  private async pollOnce(): Promise<void> {
    const wait = this.o.waitSeconds ?? LONG_POLL_SECONDS;
    const res = await this.http.get(this.url('api/v1/box/poll'), {
      searchParams: {
        version: this.state.processed,
        commands: this.o.commands?.received ?? 0,
        software: this.o.softwareHeld?.() ?? '',
        wait,
      },
      timeout: { request: (wait + 10) * 1000 },
      signal: this.abort.signal,
    });
    if (res.statusCode === 204) return;
    if (res.statusCode === 401) throw new Unauthorized(`401 ${res.body.slice(0, 200)}`);
    if (res.statusCode !== 200) throw new Error(`poll: ${res.statusCode} ${res.body.slice(0, 200)}`);
    let answer: unknown;
    try {
      answer = JSON.parse(res.body);
    } catch {
      throw new Error(`poll: not JSON: ${res.body.slice(0, 200)}`);
    }
    if (!isValid(BoxPoll, answer)) throw new Error(`poll: not a BoxPoll: ${res.body.slice(0, 200)}`);
    if (!this.running) return;
    if (answer.commands.length > 0) this.o.commands?.accept(answer.commands);
    if (answer.target && answer.target.version > this.state.processed)
      await this.processTarget(answer.target);
    await this.o.onSoftware?.(answer.software);
  }

  private async processTarget(target: BoxTarget): Promise<void> {
    if (!this.running) return;
    const report = await this.o.process(target);
    this.state.processed = target.version;
    this.state.report = report;
    writeFleetState(this.o.dataDir, this.state);
  }

  private async sendReport(report: BoxReported): Promise<void> {
    const res = await this.http.post(this.url('api/v1/box/reported'), {
      json: report,
      timeout: { request: 30_000 },
      signal: this.abort.signal,
    });
    if (res.statusCode === 401) throw new Unauthorized(`401 ${res.body.slice(0, 200)}`);
    if (res.statusCode === 400 || res.statusCode === 409) {
      // The cloud will never take this report (a version it does not hold, e.g. its database restored
      // from an older backup): sending it again forever would stop the box polling. Dropped, said loudly.
      this.o.log.error(
        { version: report.version, status: res.statusCode, answer: res.body.slice(0, 200) },
        'fleet: the cloud refused this report for good; dropped, polling again',
      );
    } else if (res.statusCode !== 200) throw new Error(`report: ${res.statusCode} ${res.body.slice(0, 200)}`);
    else this.o.log.info({ version: report.version, state: report.state }, 'fleet: report acknowledged');
    if (this.state.report !== report) return;
    this.state.report = null;
    writeFleetState(this.o.dataDir, this.state);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wake = () => {
        this.wake = null;
        done();
      };
    });
  }
}
