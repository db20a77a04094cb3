// The messages the box publishes, computed from config and state. Pure; `now` only stamps and gates hours.
import type {
  Announcement,
  CounterStateMsg,
  LedText,
  OfficeNotice,
  OfficeStateMsg,
  PrintJob,
  RatingSession,
  ServiceStateMsg,
} from '../../protocol/index.js';
import type { BoxConfig, CounterConfig, PeripheralConfig, ServiceConfig } from '../config/schema.js';
import {
  aheadOf,
  estimateWaitMin,
  formatNumber,
  openCountersFor,
  ratingTarget,
  serviceRefusal,
  type QueueState,
  type Ticket,
} from '../engine/index.js';
import type { EventDataOf } from '../../protocol/index.js';

const iso = (ms: number) => new Date(ms).toISOString();

export function counterName(c: CounterConfig): string {
  return c.name ?? `Quầy ${c.number}`;
}

export function officeView(
  cfg: BoxConfig,
  state: QueueState,
  notice: OfficeNotice | null = null,
): Omit<OfficeStateMsg, 'updatedAt'> {
  return {
    id: cfg.office.id,
    name: cfg.office.name,
    timezone: cfg.office.timezone,
    day: state.day,
    sessions: cfg.office.sessions.map((s) => ({ open: s.open, close: s.close, cutoff: s.cutoff ?? s.close })),
    services: cfg.services.map((s) => ({ id: s.id, name: s.name })),
    counters: cfg.counters.map((c) => ({ number: c.number, name: counterName(c) })),
    // Only while there is one: the office state is unchanged for screens that know nothing of notices.
    ...(notice ? { notice } : {}),
  };
}

export function counterView(
  cfg: BoxConfig,
  state: QueueState,
  c: CounterConfig,
): Omit<CounterStateMsg, 'updatedAt'> {
  const rt = state.counters[c.number];
  const t = rt?.current ? state.tickets.get(rt.current) : undefined;
  return {
    counter: c.number,
    name: counterName(c),
    status: rt?.status ?? 'closed',
    clerk: rt?.clerk ?? null,
    services: c.services,
    current:
      t && (t.status === 'called' || t.status === 'serving')
        ? {
            ticketId: t.id,
            number: t.number,
            service: t.service,
            state: t.status,
            calledAt: iso(t.calledAt ?? 0),
            recalls: t.recalls,
          }
        : null,
  };
}

export function serviceView(
  cfg: BoxConfig,
  state: QueueState,
  s: ServiceConfig,
  now: number,
): Omit<ServiceStateMsg, 'updatedAt'> {
  // From the numbering and the calls themselves: a transfer moves a ticket, not the service's history.
  const lastSeq = state.lastSeq[s.id];
  const lastIssued = lastSeq ? formatNumber(s, lastSeq) : null;
  const waiting = aheadOf(state, s.id, false);
  const refusal = serviceRefusal(cfg, state, s, now);
  return {
    service: s.id,
    name: s.name,
    waiting,
    issuedToday: lastSeq ?? 0,
    quota: s.dailyQuota ?? null,
    lastIssued,
    lastCalled: state.lastCalled[s.id] ?? null,
    openCounters: openCountersFor(cfg, state, s.id),
    estimatedWaitMin: estimateWaitMin(cfg, state, s.id, waiting),
    accepting: refusal === null,
    refusal: refusal?.code ?? null,
  };
}

/** Counter boards show the counter and its number; the entrance board shows the latest calls. */
export function ledView(
  cfg: BoxConfig,
  state: QueueState,
  board: PeripheralConfig,
  notice: OfficeNotice | null = null,
): LedText {
  const view = boardView(cfg, state, board);
  // A notice takes the last line of every board (a board shows at most 4).
  return notice ? { ...view, lines: [...view.lines.slice(0, 3), notice.text.vi], blank: false } : view;
}

function boardView(cfg: BoxConfig, state: QueueState, board: PeripheralConfig): LedText {
  if (board.counter !== undefined) {
    const c = cfg.counters.find((x) => x.number === board.counter);
    const rt = state.counters[board.counter];
    const t = rt?.current ? state.tickets.get(rt.current) : undefined;
    const label = c ? counterName(c) : `Quầy ${board.counter}`;
    if (!rt || rt.status === 'closed') return { lines: [label], blink: false, brightness: 100, blank: true };
    if (rt.status === 'paused')
      return { lines: [label, 'Tạm dừng'], blink: false, brightness: 100, blank: false };
    return { lines: [label, t ? t.number : '----'], blink: false, brightness: 100, blank: false };
  }
  // Only counters' current tickets can be in progress: look there, not through the whole day.
  const recent = Object.values(state.counters)
    .map((c) => (c.current ? state.tickets.get(c.current) : undefined))
    .filter(
      (t): t is Ticket =>
        t !== undefined && (t.status === 'called' || t.status === 'serving') && t.counter !== null,
    )
    .sort((a, b) => (b.calledAt ?? 0) - (a.calledAt ?? 0))
    .slice(0, 3)
    .map((t) => `${t.number} → Quầy ${t.counter}`);
  return {
    lines: recent.length > 0 ? recent : [cfg.office.name],
    blink: false,
    brightness: 100,
    blank: false,
  };
}

export function ratingSessionView(cfg: BoxConfig, state: QueueState, counter: number): RatingSession {
  // The citizen being served at the counter, or the last one finished there (ratingTarget gives no other).
  const t = ratingTarget(state, counter);
  const open = t !== undefined && !t.rated;
  return {
    open,
    counter,
    ticketId: open ? t.id : null,
    number: open ? t.number : null,
    service: open ? (cfg.services.find((x) => x.id === t.service)?.name ?? t.service) : null,
    clerk: state.counters[counter]?.clerk ?? null,
    scale: cfg.rating.scale,
  };
}

export function announcementOf(
  cfg: BoxConfig,
  seq: number,
  data: EventDataOf<'ticket.called'> | EventDataOf<'ticket.recalled'>,
  recall: boolean,
): Announcement {
  return {
    callId: String(seq),
    ticketId: data.ticketId,
    number: data.number,
    counter: data.counter,
    recall,
    repeat: cfg.office.announceRepeat,
    text: {
      vi: `Mời số ${data.number} đến quầy số ${data.counter}`,
      en: `Ticket ${data.number}, please go to counter ${data.counter}`,
    },
  };
}

/** The print job of a paper ticket. Its jobId is the ticket's id: the same on every send, across restarts. */
export function printJobOf(cfg: BoxConfig, at: number, data: EventDataOf<'ticket.issued'>): PrintJob {
  const service = cfg.services.find((s) => s.id === data.service);
  return {
    jobId: data.ticketId,
    officeName: cfg.office.name,
    ticket: {
      ticketId: data.ticketId,
      number: data.number,
      service: data.service,
      serviceName: service?.name ?? data.service,
      priority: data.priority,
      ahead: data.ahead,
      estimatedWaitMin: data.estimatedWaitMin,
      issuedAt: iso(at),
    },
  };
}
