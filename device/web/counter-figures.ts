// Today's figures per counter for the clerk panel, folded from the event log (events are not replayed over
// MQTT, so a panel opened mid-day asks the box).
import type { DomainEvent } from '../../protocol/index.js';
import type { EventStore } from '../store/event-store.js';

export interface CounterFigures {
  called: number;
  finished: number;
  noShow: number;
  transferred: number;
  /** Mean time from service start to finish, over today's finished tickets. */
  averageServiceMin: number | null;
}

interface Tally {
  called: number;
  finished: number;
  noShow: number;
  transferred: number;
  serviceMs: number;
}

const empty = (): Tally => ({ called: 0, finished: 0, noShow: 0, transferred: 0, serviceMs: 0 });

export class CounterTallies {
  private day: string | null = null;
  private readonly byCounter = new Map<number, Tally>();

  /** Reads today's events from the log: from the latest day snapshot on, as the ledger does. */
  static fromStore(store: EventStore, today: string | null): CounterTallies {
    const t = new CounterTallies();
    t.day = today;
    for (const e of store.eventsAfter(store.latestSnapshot()?.seq ?? 0)) t.add(e.event, e.day);
    return t;
  }

  add(event: DomainEvent, day: string): void {
    if (this.day === null || day > this.day) {
      this.byCounter.clear();
      this.day = day;
    }
    if (day !== this.day) return; // an older day's events, read before today's snapshot
    const at = (n: number) => {
      let t = this.byCounter.get(n);
      if (!t) this.byCounter.set(n, (t = empty()));
      return t;
    };
    switch (event.type) {
      case 'ticket.called':
        at(event.data.counter).called += 1;
        break;
      case 'ticket.finished': {
        const t = at(event.data.counter);
        t.finished += 1;
        t.serviceMs += event.data.serviceMs;
        break;
      }
      case 'ticket.no_show':
        at(event.data.counter).noShow += 1;
        break;
      case 'ticket.transferred':
        at(event.data.fromCounter).transferred += 1;
        break;
      default:
        break;
    }
  }

  of(counter: number): CounterFigures {
    const t = this.byCounter.get(counter) ?? empty();
    return {
      called: t.called,
      finished: t.finished,
      noShow: t.noShow,
      transferred: t.transferred,
      averageServiceMin: t.finished > 0 ? Math.round((t.serviceMs / t.finished / 60_000) * 10) / 10 : null,
    };
  }
}
