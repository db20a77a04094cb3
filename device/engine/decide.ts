// The queue engine: (config, state, command, now) -> events | rejection. No clock, no I/O.
import type { DomainEvent, EventDataOf } from '../../protocol/index.js';
import type { BoxConfig, CounterConfig, ServiceConfig } from '../config/schema.js';
import { officeTime } from './clock.js';
import { dossierCodeAccepted } from './dossier.js';
import { counterOf, evolve } from './evolve.js';
import type { Carryover, Command, Decision, QueueState, Rejection, Ticket } from './types.js';
import { aheadOf, estimateWaitMin, pickNext } from './views.js';

class Refusal extends Error {
  constructor(readonly rejection: Rejection) {
    super(rejection.code);
  }
}

function refuse(code: Rejection['code'], params: Rejection['params'] = {}): never {
  throw new Refusal({ code, params });
}

/** Events are decided one at a time against the state they produce, so later checks see earlier effects. */
class Draft {
  readonly events: DomainEvent[] = [];
  constructor(
    public state: QueueState,
    readonly now: number,
  ) {}
  emit<T extends DomainEvent['type']>(type: T, data: EventDataOf<T>): void {
    const event = { type, data } as DomainEvent;
    this.events.push(event);
    this.state = evolve(this.state, event, this.now);
  }
}

export function formatNumber(service: ServiceConfig, seq: number): string {
  const n = service.numbering;
  return 'prefix' in n ? n.prefix + String(seq).padStart(n.width, '0') : String(n.from + seq - 1);
}

function capacity(service: ServiceConfig): number {
  const n = service.numbering;
  return 'prefix' in n ? 10 ** n.width - 1 : n.to - n.from + 1;
}

export function hoursText(cfg: BoxConfig): string {
  return cfg.office.sessions.map((s) => `${s.open}–${s.close}`).join(', ');
}

/** Why a ticket cannot be issued at `now`, or null when the office is issuing. */
export function issuingRefusal(cfg: BoxConfig, now: number): Rejection | null {
  const t = officeTime(now, cfg.office.timezone);
  const hours = hoursText(cfg);
  if (!cfg.office.workdays.includes(t.weekday)) return { code: 'office_closed', params: { hours } };
  const session = cfg.office.sessions.find((s) => s.open <= t.hhmm && t.hhmm < s.close);
  if (!session) return { code: 'office_closed', params: { hours } };
  const cutoff = session.cutoff ?? session.close;
  if (t.hhmm >= cutoff) return { code: 'after_cutoff', params: { cutoff } };
  return null;
}

/** Why a ticket of this service cannot be issued now (hours, quota, number range), or null. */
export function serviceRefusal(
  cfg: BoxConfig,
  state: QueueState,
  service: ServiceConfig,
  now: number,
): Rejection | null {
  const hours = issuingRefusal(cfg, now);
  if (hours) return hours;
  const sameDay = state.day === officeTime(now, cfg.office.timezone).day;
  const last = sameDay ? (state.lastSeq[service.id] ?? 0) : 0;
  if (service.dailyQuota != null && last >= service.dailyQuota)
    return { code: 'quota_reached', params: { service: service.name, quota: service.dailyQuota } };
  if (last + 1 > capacity(service)) return { code: 'numbers_exhausted', params: { service: service.name } };
  return null;
}

/**
 * A counter the clerk works at: one of the config's, or one removed today (by a live config change) that
 * still has its tickets to finish, rate or hand on. It calls nobody new (see callingCounter).
 */
function counterConfig(cfg: BoxConfig, n: number, carry: Carryover | null): CounterConfig {
  return (
    cfg.counters.find((c) => c.number === n) ??
    carry?.counters.find((c) => c.number === n) ??
    refuse('unknown_counter', { counter: n })
  );
}

/**
 * A counter that calls a new citizen: only the config's. It also calls the tickets still waiting today for
 * the services removed today that it served before the change (fleet-common.md, the mid-day rules).
 */
function callingCounter(cfg: BoxConfig, n: number, carry: Carryover | null): CounterConfig {
  const c = cfg.counters.find((x) => x.number === n) ?? refuse('unknown_counter', { counter: n });
  const retired = carry?.services.filter((s) => s.servedBy.includes(n)).map((s) => s.service.id) ?? [];
  return retired.length === 0 ? c : { ...c, services: [...c.services, ...retired] };
}

function currentTicket(d: Draft, counter: number): Ticket {
  const id = counterOf(d.state, counter).current;
  const t = id ? d.state.tickets.get(id) : undefined;
  return t ?? refuse('no_current_ticket', { counter });
}

const ref = (t: Ticket) => ({ ticketId: t.id, number: t.number, service: t.service });

function markServing(d: Draft, t: Ticket, counter: number, implicit: boolean): void {
  if (t.status === 'serving') return;
  // Implicit: the clerk went on without pressing serve, so service began when the citizen was called.
  d.emit('ticket.serving', { ...ref(t), counter, since: implicit ? (t.calledAt ?? d.now) : d.now, implicit });
}

function finishCurrent(d: Draft, counter: number, dossiers: string[], implicit: boolean): void {
  const t = currentTicket(d, counter);
  markServing(d, t, counter, true);
  const serving = d.state.tickets.get(t.id) ?? t;
  const newCodes = [...new Set(dossiers)].filter((c) => !serving.dossiers.includes(c));
  for (const code of newCodes) d.emit('dossier.linked', { ...ref(t), counter, code });
  d.emit('ticket.finished', {
    ...ref(t),
    counter,
    clerk: counterOf(d.state, counter).clerk,
    serviceMs: Math.max(0, d.now - (serving.servingSince ?? d.now)),
    dossiers: [...new Set([...serving.dossiers, ...dossiers])],
    implicit,
  });
}

function ensureCanCall(d: Draft, counter: number): void {
  const c = counterOf(d.state, counter);
  if (c.status === 'paused') refuse('counter_paused', { counter });
  if (c.status === 'closed') d.emit('counter.opened', { counter });
}

function call(d: Draft, counter: number, t: Ticket, how: 'next' | 'number'): void {
  if (counterOf(d.state, counter).current) finishCurrent(d, counter, [], true);
  d.emit('ticket.called', {
    ...ref(t),
    counter,
    clerk: counterOf(d.state, counter).clerk,
    how,
    waitedMs: Math.max(0, d.now - t.issuedAt),
  });
}

function rollDay(cfg: BoxConfig, d: Draft): void {
  const day = officeTime(d.now, cfg.office.timezone).day;
  if (d.state.day !== day) d.emit('day.started', { day, previousDay: d.state.day });
}

function run(cfg: BoxConfig, d: Draft, cmd: Command, carryover: Carryover | null): void {
  rollDay(cfg, d);
  // What a config change left behind lasts until the office day ends.
  const carry = carryover?.day === d.state.day ? carryover : null;
  switch (cmd.type) {
    case 'tick':
      return;
    case 'issue': {
      const service =
        cfg.services.find((s) => s.id === cmd.service) ?? refuse('unknown_service', { service: cmd.service });
      const why = serviceRefusal(cfg, d.state, service, d.now);
      if (why) refuse(why.code, why.params);
      let seq = (d.state.lastSeq[service.id] ?? 0) + 1;
      // Numbering changed today (a live config change) may format a number already issued: skip it, so no
      // number is ever issued twice in a day.
      while (d.state.byNumber.has(formatNumber(service, seq)) && seq <= capacity(service)) seq++;
      if (seq > capacity(service)) refuse('numbers_exhausted', { service: service.name });
      const number = formatNumber(service, seq);
      const ahead = aheadOf(d.state, service.id, cmd.priority !== null);
      d.emit('ticket.issued', {
        ticketId: `${d.state.day}/${number}`,
        number,
        service: service.id,
        seq,
        priority: cmd.priority,
        ahead,
        estimatedWaitMin: estimateWaitMin(cfg, d.state, service.id, ahead),
        source: cmd.source,
        ...(cmd.delivery === 'screen' ? { delivery: 'screen' as const } : {}),
      });
      return;
    }
    case 'next': {
      const counter = callingCounter(cfg, cmd.counter, carry);
      if (counterOf(d.state, cmd.counter).status === 'paused')
        refuse('counter_paused', { counter: cmd.counter });
      const t = pickNext(counter, d.state) ?? refuse('queue_empty', { counter: cmd.counter });
      ensureCanCall(d, cmd.counter);
      call(d, cmd.counter, t, 'next');
      return;
    }
    case 'call': {
      const counter = callingCounter(cfg, cmd.counter, carry);
      const id = d.state.byNumber.get(cmd.number);
      const t =
        (id ? d.state.tickets.get(id) : undefined) ?? refuse('unknown_ticket', { number: cmd.number });
      if (t.status !== 'waiting' && t.status !== 'no_show')
        refuse('ticket_not_callable', { number: t.number, status: t.status });
      const targeted = t.status === 'waiting' && t.targetCounter !== null;
      if (targeted ? t.targetCounter !== cmd.counter : !counter.services.includes(t.service))
        refuse('service_not_served', { counter: cmd.counter, service: serviceName(cfg, t.service) });
      ensureCanCall(d, cmd.counter);
      call(d, cmd.counter, t, 'number');
      return;
    }
    case 'recall': {
      counterConfig(cfg, cmd.counter, carry);
      const t = currentTicket(d, cmd.counter);
      if (t.status === 'serving') refuse('already_serving', { number: t.number });
      if (t.recalls >= cfg.office.recallsBeforeNoShow)
        d.emit('ticket.no_show', {
          ...ref(t),
          counter: cmd.counter,
          recalls: t.recalls,
          reason: 'recalls_exhausted',
        });
      else d.emit('ticket.recalled', { ...ref(t), counter: cmd.counter, recalls: t.recalls + 1 });
      return;
    }
    case 'no_show': {
      counterConfig(cfg, cmd.counter, carry);
      const t = currentTicket(d, cmd.counter);
      if (t.status === 'serving') refuse('already_serving', { number: t.number });
      d.emit('ticket.no_show', { ...ref(t), counter: cmd.counter, recalls: t.recalls, reason: 'clerk' });
      return;
    }
    case 'serve': {
      counterConfig(cfg, cmd.counter, carry);
      const t = currentTicket(d, cmd.counter);
      if (t.status === 'serving') refuse('already_serving', { number: t.number });
      markServing(d, t, cmd.counter, false);
      return;
    }
    case 'finish': {
      counterConfig(cfg, cmd.counter, carry);
      currentTicket(d, cmd.counter);
      const pattern = officePattern(cfg);
      const bad = cmd.dossiers.find((c) => !dossierCodeAccepted(c, pattern));
      if (bad !== undefined) refuse('invalid_dossier_code', { code: bad });
      finishCurrent(d, cmd.counter, cmd.dossiers, false);
      return;
    }
    case 'transfer': {
      counterConfig(cfg, cmd.counter, carry);
      const t = currentTicket(d, cmd.counter);
      if (cmd.toService === undefined && cmd.toCounter === undefined) refuse('transfer_target_required');
      const toService = cmd.toService ?? t.service;
      // A ticket of a service removed today may still go to another counter, in its own service.
      const retired = cmd.toService === undefined && carry?.services.some((s) => s.service.id === toService);
      if (!retired && !cfg.services.some((s) => s.id === toService))
        refuse('unknown_service', { service: toService });
      if (cmd.toCounter !== undefined) {
        const target = counterConfig(cfg, cmd.toCounter, null);
        if (cmd.toService !== undefined && !target.services.includes(toService))
          refuse('service_not_served', { counter: target.number, service: serviceName(cfg, toService) });
      }
      if (toService === t.service && (cmd.toCounter === undefined || cmd.toCounter === cmd.counter))
        refuse('transfer_same_place');
      d.emit('ticket.transferred', {
        ...ref(t),
        fromCounter: cmd.counter,
        toService,
        toCounter: cmd.toCounter ?? null,
      });
      return;
    }
    case 'pause': {
      counterConfig(cfg, cmd.counter, carry);
      const c = counterOf(d.state, cmd.counter);
      if (c.status === 'paused') refuse('already_paused', { counter: cmd.counter });
      if (c.status === 'closed') refuse('counter_closed', { counter: cmd.counter });
      d.emit('counter.paused', { counter: cmd.counter, reason: cmd.reason });
      return;
    }
    case 'resume': {
      counterConfig(cfg, cmd.counter, carry);
      if (counterOf(d.state, cmd.counter).status !== 'paused')
        refuse('counter_not_paused', { counter: cmd.counter });
      d.emit('counter.resumed', { counter: cmd.counter });
      return;
    }
    case 'open': {
      counterConfig(cfg, cmd.counter, carry);
      const c = counterOf(d.state, cmd.counter);
      if (c.status === 'paused') refuse('counter_paused', { counter: cmd.counter });
      if (c.status === 'closed') d.emit('counter.opened', { counter: cmd.counter });
      return;
    }
    case 'sign_in': {
      counterConfig(cfg, cmd.counter, carry);
      const clerk =
        cfg.clerks.find((c) => c.id === cmd.clerk) ?? refuse('unknown_clerk', { clerk: cmd.clerk });
      const elsewhere = Object.values(d.state.counters).find(
        (c) => c.clerk?.id === clerk.id && c.number !== cmd.counter,
      );
      if (elsewhere) refuse('clerk_elsewhere', { clerk: clerk.name, counter: elsewhere.number });
      const c = counterOf(d.state, cmd.counter);
      if (c.clerk?.id === clerk.id) return; // already signed in here: nothing changes
      if (c.clerk) {
        const cur = c.current ? d.state.tickets.get(c.current) : undefined;
        if (cur) refuse('ticket_in_progress', { counter: cmd.counter, number: cur.number });
        d.emit('counter.signed_out', { counter: cmd.counter, clerk: c.clerk, handover: true });
      }
      d.emit('counter.signed_in', { counter: cmd.counter, clerk: { id: clerk.id, name: clerk.name } });
      return;
    }
    case 'sign_out': {
      counterConfig(cfg, cmd.counter, carry);
      const c = counterOf(d.state, cmd.counter);
      const cur = c.current ? d.state.tickets.get(c.current) : undefined;
      if (cur) refuse('ticket_in_progress', { counter: cmd.counter, number: cur.number });
      if (!c.clerk && c.status === 'closed') refuse('not_signed_in', { counter: cmd.counter });
      d.emit('counter.signed_out', { counter: cmd.counter, clerk: c.clerk });
      return;
    }
    case 'rate': {
      counterConfig(cfg, cmd.counter, carry);
      const scaleMax = cfg.rating.scale.length;
      if (!Number.isInteger(cmd.score) || cmd.score < 1 || cmd.score > scaleMax)
        refuse('score_out_of_scale', { max: scaleMax });
      const t = ratingTarget(d.state, cmd.counter, cmd.ticketId);
      if (!t) {
        // A visit of this counter that is no longer offered (the counter called someone since): say so.
        const named = cmd.ticketId !== undefined ? d.state.tickets.get(cmd.ticketId) : undefined;
        if (named?.status === 'finished' && named.counter === cmd.counter && !named.rated)
          refuse('rating_closed', { counter: cmd.counter, number: named.number });
        refuse('no_rating_session', { counter: cmd.counter });
      }
      if (t.rated) refuse('already_rated', { number: t.number });
      d.emit('rating.submitted', {
        ticketId: t.id,
        number: t.number,
        service: t.service,
        counter: cmd.counter,
        clerk: t.clerk ?? counterOf(d.state, cmd.counter).clerk,
        score: cmd.score,
        scaleMax,
        reasons: cmd.reasons,
      });
      return;
    }
    case 'link_dossier': {
      counterConfig(cfg, cmd.counter, carry);
      const pattern = officePattern(cfg);
      if (!dossierCodeAccepted(cmd.code, pattern)) refuse('invalid_dossier_code', { code: cmd.code });
      const t = currentTicket(d, cmd.counter);
      if (t.dossiers.includes(cmd.code)) return;
      markServing(d, t, cmd.counter, true);
      d.emit('dossier.linked', { ...ref(t), counter: cmd.counter, code: cmd.code });
      return;
    }
  }
}

/**
 * The ticket a rating at this counter is for (the one named must be it): the one being served, else the
 * one finished here last, until the counter calls anyone. A citizen only called, not yet at the counter,
 * cannot be rated (a second tap after a rating must not land on them), and once a call is made the
 * previous visit cannot be either: the citizen who walks up to the tablet is not the one who left
 * (issue 14, #11).
 */
export function ratingTarget(state: QueueState, counter: number, ticketId?: string): Ticket | undefined {
  const c = state.counters[counter];
  if (!c) return undefined;
  const current = c.current ? state.tickets.get(c.current) : undefined;
  // A day snapshot written before calls cleared lastFinished may hold both: the current ticket wins.
  const last = current ? undefined : c.lastFinished ? state.tickets.get(c.lastFinished) : undefined;
  const target = current ? (current.status === 'serving' ? current : undefined) : last;
  return ticketId === undefined || target?.id === ticketId ? target : undefined;
}

function serviceName(cfg: BoxConfig, id: string): string {
  return cfg.services.find((s) => s.id === id)?.name ?? id;
}

/** The office's own dossier-code pattern, anchored: it must match the whole code. */
function officePattern(cfg: BoxConfig): RegExp | undefined {
  return cfg.dossierCodePattern ? new RegExp(`^(?:${cfg.dossierCodePattern})$`) : undefined;
}

export function decide(
  cfg: BoxConfig,
  state: QueueState,
  cmd: Command,
  now: number,
  carryover: Carryover | null = null,
): Decision {
  const d = new Draft(state, now);
  try {
    run(cfg, d, cmd, carryover);
  } catch (e) {
    if (e instanceof Refusal) return { ok: false, rejection: e.rejection };
    throw e;
  }
  return { ok: true, events: d.events, state: d.state };
}
