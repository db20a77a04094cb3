// Effects of committed events: the event stream, retained office state, and outputs to peripherals (print
// jobs have their own spool, print-spool.ts: they are sent until a printer acknowledges them).
// Runs after the commit, so nothing here can show a citizen something the log does not hold.
import equal from 'fast-deep-equal';
import type { Logger } from 'pino';
import { BOX_ID, topics, type OfficeNotice } from '../../protocol/index.js';
import { configGetter, type BoxConfig, type ConfigSource } from '../config/schema.js';
import type { PeripheralDirectory } from '../broker/directory.js';
import type { QueueState } from '../engine/index.js';
import { envelopeOf, type StoredEvent } from '../store/event-store.js';
import { announcementOf, counterView, ledView, officeView, ratingSessionView, serviceView } from './views.js';

export interface Publisher {
  publish(topic: string, payload: unknown, opts?: { retain?: boolean; qos?: 0 | 1 }): Promise<void>;
}

export class OfficePublisher {
  /**
   * Last retained payload per topic, without its timestamp: republish only what changed. Compared as
   * objects (fast-deep-equal), not as JSON: every commit looks at every retained topic, and serializing
   * each one to compare cost more than building it.
   */
  private readonly retained = new Map<string, object>();

  /** The config in effect: it may change while the box runs (a cloud-managed box, device/fleet/). */
  private readonly cfg: () => BoxConfig;

  constructor(
    config: ConfigSource,
    private readonly directory: PeripheralDirectory,
    private readonly out: Publisher,
    private readonly clock: () => number,
    private readonly log: Logger,
    /** The notice an admin put up (a fleet command), while it lasts. */
    private readonly notice: () => OfficeNotice | null = () => null,
  ) {
    this.cfg = configGetter(config);
  }

  /** Publishes the events of one commit, then the outputs and state they changed. */
  async committed(events: StoredEvent[], state: QueueState): Promise<void> {
    const sends: Promise<void>[] = [];
    for (const e of events)
      sends.push(this.out.publish(topics.event(e.event.type), envelopeOf(e), { qos: 1 }));
    for (const e of events) {
      if (e.event.type === 'ticket.called' || e.event.type === 'ticket.recalled') {
        const a = announcementOf(this.cfg(), e.seq, e.event.data, e.event.type === 'ticket.recalled');
        for (const p of this.byRole('announcer'))
          sends.push(this.out.publish(topics.announce(p.id), a, { qos: 1 }));
      }
    }
    const called = new Set(
      events
        .filter((e) => e.event.type === 'ticket.called' || e.event.type === 'ticket.recalled')
        .map((e) => (e.event.data as { counter: number }).counter),
    );
    sends.push(this.refresh(state, called));
    await Promise.all(sends);
  }

  /**
   * Republishes every retained topic whose content changed (all of them on start). `blinkCounters` makes
   * those counters' boards blink: a new call.
   */
  async refresh(state: QueueState, blinkCounters: Set<number> = new Set(), force = false): Promise<void> {
    const now = this.clock();
    const cfg = this.cfg();
    const notice = this.notice();
    const sends: Promise<void>[] = [
      this.retain(topics.officeState(), officeView(cfg, state, notice), now, force),
    ];
    for (const c of cfg.counters)
      sends.push(this.retain(topics.counterState(c.number), counterView(cfg, state, c), now, force));
    for (const s of cfg.services)
      sends.push(this.retain(topics.serviceState(s.id), serviceView(cfg, state, s, now), now, force));
    sends.push(...this.forgetRemoved(cfg));
    for (const board of this.byRole('ledboard')) {
      const view = ledView(cfg, state, board, notice);
      const blink = board.counter !== undefined ? blinkCounters.has(board.counter) : blinkCounters.size > 0;
      // The retained text never blinks (a board reconnecting later must not blink for an old call); a new
      // call sends the same text once more, not retained, with blink set.
      const led = topics.led(board.id);
      sends.push(
        this.retain(led, { ...view, blink: false }, null, force).then(() =>
          blink ? this.out.publish(led, { ...view, blink: true }, { qos: 1 }) : undefined,
        ),
      );
    }
    for (const tablet of this.byRole('rating')) {
      if (tablet.counter !== undefined)
        sends.push(
          this.retain(
            topics.ratingSession(tablet.id),
            ratingSessionView(cfg, state, tablet.counter),
            null,
            force,
          ),
        );
    }
    await Promise.all(sends);
  }

  async announceBox(online: boolean, session: number, version: string): Promise<void> {
    await this.out.publish(
      topics.presence(BOX_ID),
      { online, session, ts: new Date(this.clock()).toISOString(), version },
      { retain: true },
    );
  }

  /**
   * Clears the retained state of the services and counters a config change removed (an empty retained
   * message deletes it), so a screen that subscribes later does not show them.
   */
  private forgetRemoved(cfg: BoxConfig): Promise<void>[] {
    const live = new Set([
      ...cfg.counters.map((c) => topics.counterState(c.number)),
      ...cfg.services.map((s) => topics.serviceState(s.id)),
    ]);
    const sends: Promise<void>[] = [];
    for (const topic of this.retained.keys()) {
      const isStateTopic =
        topic.startsWith(topics.counterState(0).replace(/0$/, '')) ||
        topic.startsWith(topics.serviceState('').replace(/\/?$/, '/'));
      if (!isStateTopic || live.has(topic)) continue;
      this.retained.delete(topic);
      sends.push(
        this.out
          .publish(topic, '', { retain: true, qos: 1 })
          .catch((err: unknown) => this.log.error({ err, topic }, 'retained state not cleared')),
      );
    }
    return sends;
  }

  private byRole(role: string) {
    return this.directory.all().filter((p) => p.role === role);
  }

  private async retain(topic: string, body: object, now: number | null, force: boolean): Promise<void> {
    if (!force && equal(this.retained.get(topic), body)) return;
    this.retained.set(topic, body);
    const payload = now === null ? body : { ...body, updatedAt: new Date(now).toISOString() };
    try {
      await this.out.publish(topic, payload, { retain: true, qos: 1 });
    } catch (err) {
      this.retained.delete(topic);
      this.log.error({ err, topic }, 'retained state not published');
    }
  }
}
