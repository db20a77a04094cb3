// What one box event changes in the cloud's read models: the ticket it concerns, and additive deltas to the
// rollups. Pure: the caller loads the tickets a batch mentions, folds every event through `applyEvent`, and
// writes the results in the same transaction as the events themselves.
import {
  satisfactionLevel,
  type EventDataOf,
  type EventEnvelope,
  type EventType,
} from '../../protocol/index.js';
import { LEVEL_COLUMNS, RATING_COLUMNS, WAIT_COLUMNS, grainsOf, waitBucket } from '../db/rollup-columns.js';
import type { DossierLinkTable, TicketTable } from '../db/schema.js';

/** A ticket as the `tickets` table stores it. */
export type TicketRow = TicketTable;

/** A dossier link as the `dossier_links` table stores it (whether it is cross-unit is decided on write). */
export type LinkRow = Omit<DossierLinkTable, 'cross_unit'>;

type Row = Record<string, string | number>;

/** Sums deltas per key; rows come out sorted by key so writers lock in one order. */
export class DeltaTable {
  private readonly rows = new Map<string, Row>();
  constructor(private readonly keys: string[]) {}

  add(key: Row, metrics: Record<string, number>): void {
    // Ingest calls this a few thousand times a batch: no intermediate arrays.
    let k = String(key[this.keys[0] as string]);
    for (let i = 1; i < this.keys.length; i++) k += `\u0000${String(key[this.keys[i] as string])}`;
    let row = this.rows.get(k);
    if (!row) this.rows.set(k, (row = { ...key }));
    for (const m in metrics) row[m] = ((row[m] as number | undefined) ?? 0) + (metrics[m] as number);
  }

  sorted(): Row[] {
    return [...this.rows.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, r]) => r);
  }
}

/**
 * Deltas keyed by `day` and `keys`: events add to their day only, and the rows come out for every grain
 * (`grainsOf`: day, week, month), keyed by `grain`, `period` and `keys`, sorted, each with the metrics it
 * changes. The week and month are summed from a few day rows instead of from every event.
 */
export class DayDeltaTable {
  private readonly days = new Map<string, { key: Row; day: string; sums: Map<string, number> }>();
  constructor(private readonly keys: string[]) {}

  add(key: Row, metrics: Record<string, number>): void {
    // Ingest calls this a few thousand times a batch: no intermediate arrays or objects.
    let k = String(key.day);
    for (const c of this.keys) k += `\u0000${String(key[c])}`;
    let d = this.days.get(k);
    if (!d) this.days.set(k, (d = { key, day: String(key.day), sums: new Map() }));
    for (const m in metrics) d.sums.set(m, (d.sums.get(m) ?? 0) + (metrics[m] as number));
  }

  byGrain(): Row[] {
    const out = new Map<string, { row: Row; sums: Map<string, number> }>();
    for (const d of this.days.values())
      for (const [grain, period] of grainsOf(d.day)) {
        let k = `${grain}\u0000${period}`;
        for (const c of this.keys) k += `\u0000${String(d.key[c])}`;
        let o = out.get(k);
        if (!o) {
          const row: Row = { grain, period };
          for (const c of this.keys) row[c] = d.key[c] as string | number;
          out.set(k, (o = { row, sums: new Map() }));
        }
        for (const [m, v] of d.sums) o.sums.set(m, (o.sums.get(m) ?? 0) + v);
      }
    return [...out.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, { row, sums }]) => {
        for (const [m, v] of sums) row[m] = v;
        return row;
      });
  }
}

export interface BatchDeltas {
  /** Per day, office, service, counter and clerk (rows of every grain: `byGrain()`). */
  rollups: DayDeltaTable;
  /** Per day, office and local hour of issue (rows of every grain: `byGrain()`). */
  hours: DayDeltaTable;
  clerks: Map<string, string>;
  links: LinkRow[];
  tickets: Map<string, TicketRow>;
  /** Tickets changed by the batch (to be written back). */
  touched: Set<string>;
}

export function newDeltas(tickets: Map<string, TicketRow>): BatchDeltas {
  return {
    rollups: new DayDeltaTable(['office_id', 'service', 'counter', 'clerk_id']),
    hours: new DayDeltaTable(['office_id', 'hour']),
    clerks: new Map(),
    links: [],
    tickets,
    touched: new Set(),
  };
}

const hourFormats = new Map<string, { format: Intl.DateTimeFormat; hours: Map<number, number> }>();
/** Every time zone's offset is a whole number of quarter hours: one local hour per quarter hour of UTC. */
const QUARTER_MS = 15 * 60_000;
/** The hour (0–23) of an instant in the office's time zone (remembered per quarter hour: formatting is slow). */
export function localHour(at: number, timezone: string): number {
  let f = hourFormats.get(timezone);
  if (!f) {
    const format = new Intl.DateTimeFormat('en-GB', {
      timeZone: timezone,
      hour: '2-digit',
      hourCycle: 'h23',
    });
    hourFormats.set(timezone, (f = { format, hours: new Map() }));
  }
  const quarter = Math.floor(at / QUARTER_MS);
  let h = f.hours.get(quarter);
  if (h === undefined) {
    if (f.hours.size >= 10_000) f.hours.clear();
    f.hours.set(quarter, (h = Number(f.format.format(new Date(at)))));
  }
  return h;
}

/** Satisfied: a score in the upper half of its scale (3–4 of 4, 4–5 of 5, 6–10 of 10). */
export const isSatisfied = (score: number, scaleMax: number): boolean => score > (scaleMax + 1) / 2;
/** A score on a 0–10,000 scale (basis points), so offices with different scales can be averaged. */
export const normalizedScore = (score: number, scaleMax: number): number =>
  Math.round(((Math.min(score, scaleMax) - 1) * 10_000) / (scaleMax - 1));

function data<T extends EventType>(e: EventEnvelope, _type: T): EventDataOf<T> {
  return e.data as EventDataOf<T>;
}

/**
 * Folds one event into the deltas. `timezone` is the office's (for the hour of issue). Each metric is added
 * to the event's day; `byGrain()` adds it to the week and month alike, so long reports read whole months and
 * weeks.
 */
export function applyEvent(d: BatchDeltas, officeId: string, timezone: string, e: EventEnvelope): void {
  const at = Date.parse(e.at);
  const day = e.day;
  const roll = (service: string, counter: number, clerk: string | null, m: Record<string, number>) =>
    d.rollups.add({ day, office_id: officeId, service, counter, clerk_id: clerk ?? '' }, m);
  const hour = (issuedAt: number, m: Record<string, number>) =>
    d.hours.add({ day, office_id: officeId, hour: localHour(issuedAt, timezone) }, m);
  const ticket = (ticketId: string, ref: { number: string; service: string }): TicketRow => {
    let t = d.tickets.get(ticketId);
    if (!t) {
      // Only when the cloud never saw the issue (a box enrolled with history it no longer has).
      t = {
        office_id: officeId,
        ticket_id: ticketId,
        day: e.day,
        number: ref.number,
        service: ref.service,
        priority: null,
        issued_at: at,
        state: 'waiting',
        counter: null,
        clerk_id: null,
        first_called_at: null,
        updated_at: at,
      };
      d.tickets.set(ticketId, t);
    }
    d.touched.add(ticketId);
    t.updated_at = at;
    return t;
  };
  const clerk = (c: { id: string; name: string } | null) => {
    if (c) d.clerks.set(c.id, c.name);
    return c?.id ?? null;
  };
  // A no-show counts citizens, not marks: the ticket leaves the count (where it entered it) when it moves on.
  const leaveNoShow = (t: TicketRow) => {
    if (t.state === 'no_show') roll(t.service, t.counter ?? 0, t.clerk_id, { no_show: -1 });
  };

  switch (e.type) {
    case 'ticket.issued': {
      const x = data(e, 'ticket.issued');
      const t = ticket(x.ticketId, x);
      Object.assign(t, {
        day: e.day,
        number: x.number,
        service: x.service,
        priority: x.priority,
        issued_at: at,
        state: 'waiting',
        counter: null,
        clerk_id: null,
        first_called_at: null,
      });
      roll(x.service, 0, null, { issued: 1 });
      hour(at, { issued: 1 });
      break;
    }
    case 'ticket.called': {
      const x = data(e, 'ticket.called');
      const t = ticket(x.ticketId, x);
      const clerkId = clerk(x.clerk);
      // Received at the counter: each call, except a no-show's call back at the counter that marked it.
      const received = t.state === 'no_show' && t.counter === x.counter ? 0 : 1;
      leaveNoShow(t);
      if (t.first_called_at === null) {
        // The wait is the first call's: a no-show called back later is not waiting again.
        if (t.issued_at === at) t.issued_at = at - x.waitedMs;
        const w = {
          wait_count: 1,
          wait_sum_ms: x.waitedMs,
          [WAIT_COLUMNS[waitBucket(x.waitedMs)] as string]: 1,
        };
        roll(x.service, x.counter, clerkId, { called: 1, received_at_counter: received, ...w });
        hour(t.issued_at, w);
        t.first_called_at = at;
      } else roll(x.service, x.counter, clerkId, { called: 1, received_at_counter: received });
      Object.assign(t, { state: 'called', counter: x.counter, clerk_id: clerkId, service: x.service });
      break;
    }
    case 'ticket.serving': {
      const x = data(e, 'ticket.serving');
      const t = ticket(x.ticketId, x);
      leaveNoShow(t);
      // Serve not pressed: the service time runs from the call, the walk to the counter included.
      if (x.implicit) roll(x.service, x.counter, t.clerk_id, { service_from_call: 1 });
      t.state = 'serving';
      break;
    }
    case 'ticket.finished': {
      const x = data(e, 'ticket.finished');
      const t = ticket(x.ticketId, x);
      leaveNoShow(t);
      const clerkId = clerk(x.clerk) ?? t.clerk_id;
      roll(x.service, x.counter, clerkId, { served: 1, service_count: 1, service_sum_ms: x.serviceMs });
      t.state = 'finished';
      break;
    }
    case 'ticket.no_show': {
      const x = data(e, 'ticket.no_show');
      const t = ticket(x.ticketId, x);
      // Marked twice without a call between (never from a box): still one citizen.
      roll(x.service, x.counter, t.clerk_id, { no_show: t.state === 'no_show' ? 0 : 1, no_show_marks: 1 });
      t.state = 'no_show';
      break;
    }
    case 'ticket.transferred': {
      const x = data(e, 'ticket.transferred');
      const t = ticket(x.ticketId, x);
      leaveNoShow(t);
      // Received by the service it goes to (a ticket sent on to another counter of its own service is not).
      if (x.toService !== t.service) roll(x.toService, 0, null, { transferred_in: 1 });
      Object.assign(t, { state: 'waiting', service: x.toService, counter: null });
      break;
    }
    case 'rating.submitted': {
      const x = data(e, 'rating.submitted');
      const score = Math.min(Math.max(1, x.score), 10);
      roll(x.service, x.counter, clerk(x.clerk), {
        ratings: 1,
        rating_satisfied: isSatisfied(score, x.scaleMax) ? 1 : 0,
        rating_norm_sum: normalizedScore(score, x.scaleMax),
        [RATING_COLUMNS[score - 1] as string]: 1,
        [LEVEL_COLUMNS[satisfactionLevel(score, x.scaleMax) - 1] as string]: 1,
      });
      break;
    }
    case 'counter.signed_in': {
      clerk(data(e, 'counter.signed_in').clerk);
      break;
    }
    case 'dossier.linked': {
      const x = data(e, 'dossier.linked');
      const t = d.tickets.get(x.ticketId);
      d.links.push({
        code: x.code,
        office_id: officeId,
        ticket_id: x.ticketId,
        service: x.service,
        counter: x.counter,
        clerk_id: t?.clerk_id ?? null,
        linked_at: at,
        day: e.day,
      });
      break;
    }
    default:
      // day.started, ticket.recalled, counter.opened/signed_out/paused/resumed: nothing to count.
      break;
  }
}
