// Messages to a citizen's phone (issue 14): a kiosk hands the box a phone number for one ticket; the box sends
// the office's SMS gateway one message when that ticket's turn is near and one when it is called, then forgets
// the number when the ticket ends (finished, no-show, a new day). The number lives only here, in memory: it is
// never in an event, a request, the outbox, the uplink or a log line (logs name the ticket, never the number).
// A restart forgets the numbers it held: no message is sent twice, some may not be sent at all.
import type { Logger } from 'pino';
import type { SmsConfig } from '../../protocol/config/schema.js';
import {
  SMS_PER_TICKET_MAX,
  SMS_PHONE_MAX_DIGITS,
  SMS_PHONE_MIN_DIGITS,
  SMS_TEXT_MAX_CHARS,
  SMS_WATCHED_TICKETS_MAX,
} from '../../protocol/limits.js';
import type { QueueState, Ticket } from '../engine/types.js';
import type { StoredEvent } from '../store/event-store.js';

export type SmsKind = 'near' | 'called';

/** Where a phone number could sit in a log call's object: the box's logger hides them (defence in depth). */
export const SMS_REDACT_PATHS = ['phone', '*.phone', 'body.phone', 'req.body.phone'];

/** One message to hand to the gateway; `id` is the same on every retry of it (the gateway may de-duplicate). */
export interface SmsMessage {
  id: string;
  to: string;
  text: string;
}

export type SmsSend = (m: SmsMessage) => Promise<void>;

interface Watched {
  phone: string;
  sent: Set<SmsKind>;
}

export type SmsRefusal = 'phone_invalid' | 'no_such_ticket' | 'ticket_over' | 'sms_full';

/** Digits with an optional leading +, spaces and dashes dropped; null when it is no phone number. */
export function normalisePhone(input: string): string | null {
  const s = input.replace(/[\s.-]/g, '');
  const m = /^(\+?)(\d+)$/.exec(s);
  if (!m) return null;
  const digits = m[2] as string;
  if (digits.length < SMS_PHONE_MIN_DIGITS || digits.length > SMS_PHONE_MAX_DIGITS) return null;
  return `${m[1]}${digits}`;
}

export function fillTemplate(template: string, vars: Record<string, string | number>): string {
  return template
    .replace(/\{(\w+)\}/g, (whole, k: string) => (k in vars ? String(vars[k]) : whole))
    .slice(0, SMS_TEXT_MAX_CHARS);
}

/** The waiting tickets of each service, read in one pass over the day's tickets. */
function waitingByService(state: QueueState): Map<string, Ticket[]> {
  const out = new Map<string, Ticket[]>();
  for (const x of state.tickets.values()) {
    if (x.status !== 'waiting') continue;
    let list = out.get(x.service);
    if (!list) out.set(x.service, (list = []));
    list.push(x);
  }
  return out;
}

/** Waiting tickets that would be called before `t`: its service's, earlier in line, or with priority. */
function aheadOf(waiting: Map<string, Ticket[]>, t: Ticket): number {
  let n = 0;
  for (const x of waiting.get(t.service) ?? [])
    if (x.id !== t.id && (x.place < t.place || (x.priority !== null && t.priority === null))) n++;
  return n;
}

export class SmsNotifier {
  private readonly watched = new Map<string, Watched>();

  constructor(
    private readonly deps: {
      config: () => {
        sms?: SmsConfig | undefined;
        office: { name: string };
        services: { id: string; name: string }[];
      };
      send: SmsSend;
      log: Logger;
    },
  ) {}

  get size(): number {
    return this.watched.size;
  }

  get enabled(): boolean {
    return this.deps.config().sms !== undefined;
  }

  /** Takes a number for a ticket waiting now; the refusal otherwise. */
  register(ticketId: string, phoneInput: string, state: QueueState): SmsRefusal | null {
    const phone = normalisePhone(phoneInput);
    if (!phone) return 'phone_invalid';
    const t = state.tickets.get(ticketId);
    if (!t) return 'no_such_ticket';
    if (t.status !== 'waiting') return 'ticket_over';
    if (!this.watched.has(ticketId) && this.watched.size >= SMS_WATCHED_TICKETS_MAX) return 'sms_full';
    const sms = this.deps.config().sms;
    // Already near when the number is typed: the kiosk has just said so, only the call is messaged.
    const sent = new Set<SmsKind>();
    if (sms && aheadOf(waitingByService(state), t) <= sms.nearAhead) sent.add('near');
    this.watched.set(ticketId, { phone, sent });
    this.deps.log.info({ ticketId }, 'sms: a number was left for a ticket');
    return null;
  }

  /** Each commit: message the tickets whose turn came near or who were called; forget those that ended. */
  committed(events: StoredEvent[], state: QueueState): void {
    if (this.watched.size === 0) return;
    for (const { event } of events) {
      if (event.type === 'day.started') {
        this.watched.clear();
        return;
      }
      if (event.type === 'ticket.finished' || event.type === 'ticket.no_show')
        this.watched.delete(event.data.ticketId);
      if (event.type === 'ticket.called') {
        const w = this.watched.get(event.data.ticketId);
        if (w)
          this.message(event.data.ticketId, w, 'called', {
            number: event.data.number,
            counter: event.data.counter,
            service: event.data.service,
          });
      }
    }
    const sms = this.deps.config().sms;
    if (!sms) return;
    let waiting: Map<string, Ticket[]> | null = null;
    for (const [ticketId, w] of this.watched) {
      const t = state.tickets.get(ticketId);
      if (!t) {
        this.watched.delete(ticketId);
        continue;
      }
      if (t.status !== 'waiting' || w.sent.has('near')) continue;
      waiting ??= waitingByService(state);
      const ahead = aheadOf(waiting, t);
      if (ahead <= sms.nearAhead)
        this.message(ticketId, w, 'near', { number: t.number, ahead, service: t.service });
    }
  }

  private message(ticketId: string, w: Watched, kind: SmsKind, vars: Record<string, string | number>): void {
    const cfg = this.deps.config();
    const sms = cfg.sms;
    if (!sms || w.sent.has(kind) || w.sent.size >= SMS_PER_TICKET_MAX) return;
    w.sent.add(kind);
    const service = cfg.services.find((s) => s.id === vars.service)?.name ?? String(vars.service ?? '');
    const text = fillTemplate(sms.templates[kind], { ...vars, service, office: cfg.office.name });
    const log = this.deps.log;
    this.deps
      .send({ id: `${ticketId}/${kind}`, to: w.phone, text })
      .then(() => log.info({ ticketId, kind }, 'sms sent'))
      .catch((err: unknown) =>
        log.warn(
          { ticketId, kind, reason: err instanceof Error ? err.message : String(err) },
          'sms not sent',
        ),
      );
  }
}
