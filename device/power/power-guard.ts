// What the box does about its power: on low battery it stops taking requests (refused `power_low`, the
// screens told through the retained box state), lets the commits already queued finish, saves its event log
// (WAL checkpoint) and may run a shutdown command; back on mains it takes requests again. On battery alone
// the office works on: a UPS usually lasts long past a short cut.
import { execFile } from 'node:child_process';
import type { Logger } from 'pino';
import { ERRORS, type BoxStateMsg, type ErrorCode } from '../../protocol/index.js';
import type { EventStore } from '../store/event-store.js';
import type { PowerView, UpsWatch } from './ups-watch.js';

/** How long the shutdown command may run before the box gives up waiting for it. */
const SHUTDOWN_COMMAND_TIMEOUT_MS = 60_000;

export interface PowerHealth extends PowerView {
  /** False once the battery was low, until mains is back. */
  acceptingRequests: boolean;
}

export class PowerGuard {
  private down = false;
  private downSince: number | null = null;
  private saving: Promise<void> = Promise.resolve();

  constructor(
    private readonly o: {
      watch: UpsWatch;
      store: EventStore;
      clock: () => number;
      log: Logger;
      shutdownCommand?: string[];
      /** The box state changed: publish it. */
      onChange: () => void;
    },
  ) {
    o.watch.onChange((view) => this.changed(view));
  }

  /** Why a queue request is refused now, or null. */
  refusal(): ErrorCode | null {
    return this.down ? 'power_low' : null;
  }

  get takingRequests(): boolean {
    return !this.down;
  }

  view(): PowerHealth {
    return { ...this.o.watch.view(), acceptingRequests: !this.down };
  }

  /** The retained box state, told what the power means for requests. */
  boxState(base: BoxStateMsg): BoxStateMsg {
    const power = this.o.watch.view().state;
    if (!this.down || !base.acceptingRequests) return { ...base, power };
    return {
      ...base,
      acceptingRequests: false,
      since: new Date(this.downSince ?? this.o.clock()).toISOString(),
      message: { vi: ERRORS.power_low.vi, en: ERRORS.power_low.en },
      power,
    };
  }

  /** Resolves once the log is saved after the last low-battery stop (tests, and a clean close). */
  settled(): Promise<void> {
    return this.saving;
  }

  private changed(view: PowerView): void {
    if (view.state === 'low_battery' && !this.down) {
      this.down = true;
      this.downSince = this.o.clock();
      this.o.log.fatal(
        { power: view },
        'power: the UPS battery is low; the box stops taking requests and saves its log until mains is back',
      );
      this.o.onChange();
      this.saving = this.save();
      return;
    }
    if (view.state === 'mains' && this.down) {
      // Only mains ends it: on battery or unknown, the power may still go at any moment.
      this.down = false;
      this.downSince = null;
      this.o.log.info({ power: view }, 'power: mains is back; the box takes requests again');
    }
    this.o.onChange();
  }

  private async save(): Promise<void> {
    // The commit batch already queued (group commit, flushed on the next turn) goes through first.
    await new Promise((r) => setImmediate(r));
    try {
      this.o.store.checkpoint();
      this.o.log.warn('power: the event log is saved; nothing is left to write');
    } catch (err) {
      this.o.log.error(
        { err },
        'power: the event log could not be checkpointed (its commits are durable anyway)',
      );
    }
    const cmd = this.o.shutdownCommand;
    if (!cmd || !this.down) return;
    const [file, ...args] = cmd as [string, ...string[]];
    await new Promise<void>((resolve) => {
      execFile(file, args, { timeout: SHUTDOWN_COMMAND_TIMEOUT_MS }, (err, stdout, stderr) => {
        if (err)
          this.o.log.error(
            { err: err.message, stderr: stderr.slice(0, 2000) },
            'power: the shutdown command failed',
          );
        else
          this.o.log.warn({ command: cmd, stdout: stdout.slice(0, 2000) }, 'power: the shutdown command ran');
        resolve();
      });
    });
  }
}
