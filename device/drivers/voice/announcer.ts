// The order of voice calls and the amplifier's power: calls play one at a time, recalls first, each once
// per callId; the amplifier is switched on (and warmed up) before a call and off after an idle time.
// Plain timers: tests drive it with fake ones.
import type { Logger } from 'pino';
import type { Announcement } from '../../../protocol/index.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The amplifier's power relay. Without a relay line (amplifier always on) it only keeps the bookkeeping. */
export class Amplifier {
  private on = false;
  private offTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly relay: { write(on: boolean): void } | undefined,
    private readonly warmUpMs: number,
    private readonly idleOffMs: number,
    private readonly log?: Logger,
  ) {}

  get isOn(): boolean {
    return this.on;
  }

  /** Switches on if off and waits for the warm-up (an amplifier just powered pops, then needs a moment). */
  async ready(): Promise<void> {
    clearTimeout(this.offTimer);
    this.offTimer = undefined;
    if (this.on || !this.relay) return;
    this.relay.write(true);
    this.on = true;
    this.log?.debug('amplifier on');
    await sleep(this.warmUpMs);
  }

  /** Nothing more to say for now: off after the idle time, unless another call comes first. */
  idle(): void {
    if (!this.on) return;
    clearTimeout(this.offTimer);
    this.offTimer = setTimeout(() => this.off(), this.idleOffMs);
  }

  off(): void {
    clearTimeout(this.offTimer);
    this.offTimer = undefined;
    if (!this.on) return;
    this.relay?.write(false);
    this.on = false;
    this.log?.debug('amplifier off');
  }
}

export interface CallQueueOptions {
  /** Renders and plays one call (all its repeats); rejects if it could not be played. */
  play(a: Announcement): Promise<void>;
  amplifier: Amplifier;
  log: Logger;
  /** Told after each call: whether it played, and why not. */
  onResult?(a: Announcement, err?: Error): void;
}

/**
 * The pending calls. A call never interrupts another. The next one played is the oldest recall if any (a
 * citizen called again is already late), else the oldest call. Duplicates of a callId (QoS 1 may deliver
 * twice) are dropped.
 */
export class CallQueue {
  private readonly pending: Announcement[] = [];
  private readonly seen = new Set<string>();
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly opts: CallQueueOptions) {}

  enqueue(a: Announcement): void {
    if (this.stopped) return;
    if (this.seen.has(a.callId)) return this.opts.log.debug({ callId: a.callId }, 'duplicate call dropped');
    this.seen.add(a.callId);
    if (this.seen.size > 1000) this.seen.delete(this.seen.values().next().value as string);
    this.pending.push(a);
    this.running ??= this.drain().finally(() => (this.running = undefined));
  }

  /** Calls waiting to be played (not counting the one playing). */
  get waiting(): number {
    return this.pending.length;
  }

  /** Resolves when every queued call has been played. */
  async drained(): Promise<void> {
    while (this.running) await this.running;
  }

  private take(): Announcement | undefined {
    const i = this.pending.findIndex((a) => a.recall);
    return this.pending.splice(i >= 0 ? i : 0, 1)[0];
  }

  private async drain(): Promise<void> {
    for (let a = this.take(); a && !this.stopped; a = this.take()) {
      try {
        await this.opts.amplifier.ready();
        if (this.stopped) break;
        await this.opts.play(a);
        this.opts.onResult?.(a);
      } catch (err) {
        this.opts.log.error({ err, callId: a.callId, number: a.number }, 'voice call not played');
        this.opts.onResult?.(a, err as Error);
      }
    }
    if (!this.stopped) this.opts.amplifier.idle();
  }

  /** Stops after the call playing now; the rest are dropped; the amplifier goes off. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.pending.length = 0;
    await this.drained();
    this.opts.amplifier.off();
  }
}
