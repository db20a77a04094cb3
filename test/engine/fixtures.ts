// A realistic commune one-stop office and a tiny harness to drive the pure queue engine in tests.
import { isDeepStrictEqual } from 'node:util';
import { validateConfig } from '../../device/config/load.js';
import type { BoxConfig } from '../../device/config/schema.js';
import {
  decide,
  emptyState,
  evolve,
  officeTime,
  serializeState,
  type Command,
  type QueueState,
  type Rejection,
  type Ticket,
} from '../../device/engine/index.js';
import {
  errorBody,
  type DomainEvent,
  type ErrorCode,
  type EventDataOf,
  type EventType,
  type PriorityReason,
} from '../../protocol/index.js';

export const TZ = 'Asia/Ho_Chi_Minh';
/** A Monday. */
export const MONDAY = '2026-11-23';
export const TUESDAY = '2026-11-24';
export const SATURDAY = '2026-11-28';
export const SUNDAY = '2026-11-29';

/** A national-format dossier code (Circular 01/2018/TT-VPCP). */
export const DOSSIER = '000.00.04.H12-210415-0001';
export const DOSSIER_2 = '000.00.04.H12-210415-0002';

/** The raw config of a commune office laid out as in the Da Nang guideline (8 counters). */
export function communeRaw(): Record<string, unknown> & {
  office: Record<string, unknown>;
  services: Record<string, unknown>[];
  counters: Record<string, unknown>[];
} {
  return {
    office: {
      id: 'xa-hoa-tien',
      name: 'UBND xã Hòa Tiến — Bộ phận một cửa',
      sessions: [
        { open: '07:30', close: '11:30', cutoff: '11:00' },
        { open: '13:30', close: '17:00', cutoff: '16:30' },
      ],
    },
    services: [
      { id: 'ho-tich', name: 'Chứng thực, hộ tịch', numbering: { prefix: 'A', width: 3 } },
      {
        id: 'dat-dai',
        name: 'Xây dựng nhà ở và đất đai',
        numbering: { prefix: 'B', width: 3 },
        dailyQuota: 5,
      },
      { id: 'ldtbxh', name: 'Lao động – Thương binh và Xã hội', numbering: { prefix: 'C', width: 3 } },
      { id: 'khac', name: 'Các lĩnh vực khác', numbering: { prefix: 'D', width: 3 } },
      { id: 'tu-van', name: 'Tư vấn hướng dẫn', numbering: { prefix: 'E', width: 3 } },
      { id: 'thue', name: 'Thuế', numbering: { from: 501, to: 599 } },
    ],
    counters: [
      { number: 1, name: 'Văn thư', services: ['khac'] },
      { number: 2, name: 'Chứng thực, hộ tịch 1', services: ['ho-tich'] },
      { number: 3, name: 'Chứng thực, hộ tịch 2', services: ['ho-tich'] },
      { number: 4, name: 'Đất đai', services: ['dat-dai'] },
      { number: 5, name: 'LĐ-TB-XH', services: ['ldtbxh', 'khac'], policy: 'alternate' },
      { number: 6, name: 'Thuế', services: ['thue'] },
      { number: 7, name: 'Các lĩnh vực khác', services: ['khac', 'ho-tich'], policy: 'service-order' },
      { number: 8, name: 'Tư vấn', services: ['tu-van'] },
    ],
    clerks: [
      { id: 'lan.nt', name: 'Nguyễn Thị Lan' },
      { id: 'hung.tv', name: 'Trần Văn Hùng' },
      { id: 'mai.lt', name: 'Lê Thị Mai' },
      { id: 'tuan.pm', name: 'Phạm Minh Tuấn' },
    ],
  };
}

/** The commune office through validateConfig (defaults filled); `tweak` edits the raw object first. */
export function communeConfig(tweak?: (raw: ReturnType<typeof communeRaw>) => void): BoxConfig {
  const raw = communeRaw();
  tweak?.(raw);
  return validateConfig(raw, 'commune.yaml');
}

/** The same office issuing every day around the clock: lets property tests issue at any time. */
export function allHoursConfig(): BoxConfig {
  return communeConfig((raw) => {
    raw.office.sessions = [{ open: '00:00', close: '23:59' }];
    raw.office.workdays = [1, 2, 3, 4, 5, 6, 7];
  });
}

/** Epoch ms of an office-local wall-clock time 'YYYY-MM-DD HH:MM[:SS]' (Asia/Ho_Chi_Minh is UTC+7, no DST). */
export function at(local: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?$/.exec(local);
  if (!m) throw new Error(`bad local time "${local}"`);
  const n = (i: number) => Number(m[i] ?? 0);
  return Date.UTC(n(1), n(2) - 1, n(3), n(4), n(5), n(6)) - 7 * 3_600_000;
}

export const MINUTE = 60_000;

export type Outcome =
  | { ok: true; state: QueueState; events: DomainEvent[] }
  | { ok: false; state: QueueState; rejection: Rejection };

/** Decides a command and folds its events, as the box does; a refusal returns the state it was given. */
export function run(cfg: BoxConfig, state: QueueState, cmd: Command, now: number): Outcome {
  const d = decide(cfg, state, cmd, now);
  if (!d.ok) return { ok: false, state, rejection: d.rejection };
  let s = state;
  for (const e of d.events) s = evolve(s, e, now);
  return { ok: true, state: s, events: d.events };
}

/** Command builders, so tests read like the keypad. */
export const cmd = {
  tick: (): Command => ({ type: 'tick' }),
  issue: (
    service: string,
    priority: PriorityReason | null = null,
    source: string | null = 'kiosk-1',
  ): Command => ({
    type: 'issue',
    service,
    priority,
    source,
  }),
  next: (counter: number): Command => ({ type: 'next', counter }),
  recall: (counter: number): Command => ({ type: 'recall', counter }),
  noShow: (counter: number): Command => ({ type: 'no_show', counter }),
  call: (counter: number, number: string): Command => ({ type: 'call', counter, number }),
  serve: (counter: number): Command => ({ type: 'serve', counter }),
  transfer: (counter: number, to: { toService?: string; toCounter?: number }): Command => ({
    type: 'transfer',
    counter,
    ...to,
  }),
  finish: (counter: number, dossiers: string[] = []): Command => ({ type: 'finish', counter, dossiers }),
  pause: (counter: number, reason: string | null = null): Command => ({ type: 'pause', counter, reason }),
  resume: (counter: number): Command => ({ type: 'resume', counter }),
  signIn: (counter: number, clerk: string): Command => ({ type: 'sign_in', counter, clerk }),
  signOut: (counter: number): Command => ({ type: 'sign_out', counter }),
  rate: (counter: number, score: number, ticketId?: string, reasons: string[] = []): Command => ({
    type: 'rate',
    counter,
    score,
    reasons,
    ...(ticketId === undefined ? {} : { ticketId }),
  }),
  link: (counter: number, code: string): Command => ({ type: 'link_dossier', counter, code }),
};

/** Every refusal code seen by any Lobby in this test file (for a coverage check). */
export const refusalsSeen = new Set<ErrorCode>();

/**
 * One office day in a test: holds the state and the clock, applies commands, keeps the event log.
 * `do` expects acceptance, `refuse` expects a refusal and checks it changed nothing.
 */
export class Lobby {
  state: QueueState = emptyState();
  readonly log: { event: DomainEvent; at: number }[] = [];
  now: number;

  constructor(
    readonly cfg: BoxConfig = communeConfig(),
    start = `${MONDAY} 08:00`,
  ) {
    this.now = at(start);
  }

  /** Sets the clock: 'HH:MM' on the current office day, or a full 'YYYY-MM-DD HH:MM'. */
  at(time: string): this {
    this.now = at(/^\d{2}:\d{2}(:\d{2})?$/.test(time) ? `${officeTime(this.now, TZ).day} ${time}` : time);
    return this;
  }

  later(minutes: number): this {
    this.now += minutes * MINUTE;
    return this;
  }

  try(c: Command): Outcome {
    const before = serializeState(this.state);
    const out = run(this.cfg, this.state, c, this.now);
    if (!out.ok) {
      // A refusal must leave everything as it was: same object, not mutated.
      if (out.state !== this.state) throw new Error('a refusal returned a different state');
      expectSame(serializeState(this.state), before, 'a refusal mutated the state');
      refusalsSeen.add(out.rejection.code);
      return out;
    }
    this.state = out.state;
    for (const event of out.events) this.log.push({ event, at: this.now });
    return out;
  }

  do(c: Command): DomainEvent[] {
    const out = this.try(c);
    if (!out.ok)
      throw new Error(`${c.type} refused: ${out.rejection.code} ${JSON.stringify(out.rejection.params)}`);
    return out.events;
  }

  refuse(c: Command): Rejection {
    const out = this.try(c);
    if (out.ok) throw new Error(`${c.type} accepted: ${out.events.map((e) => e.type).join(', ')}`);
    // What the screen shows: every placeholder of the message must be filled from the params.
    const body = errorBody(out.rejection.code, out.rejection.params);
    if (/\{\w+\}/.test(body.message.vi + body.message.en))
      throw new Error(`unfilled message for ${out.rejection.code}: ${body.message.en}`);
    return out.rejection;
  }

  /** Issues a ticket and returns the printed number. */
  issue(service: string, priority: PriorityReason | null = null): string {
    const e = this.do(cmd.issue(service, priority)).find((x) => x.type === 'ticket.issued');
    if (e?.type !== 'ticket.issued') throw new Error('no ticket.issued');
    return e.data.number;
  }

  /** Presses "next" and returns the number called. */
  next(counter: number): string {
    const e = this.do(cmd.next(counter)).find((x) => x.type === 'ticket.called');
    if (e?.type !== 'ticket.called') throw new Error('no ticket.called');
    return e.data.number;
  }

  ticket(number: string): Ticket {
    const id = this.state.byNumber.get(number);
    const t = id === undefined ? undefined : this.state.tickets.get(id);
    if (!t) throw new Error(`no ticket ${number}`);
    return t;
  }

  current(counter: number): string | null {
    const id = this.state.counters[counter]?.current;
    return id ? (this.state.tickets.get(id)?.number ?? null) : null;
  }
}

function expectSame(a: unknown, b: unknown, message: string): void {
  if (!isDeepStrictEqual(a, b)) throw new Error(message);
}

/** The data of the events of one type in a decision, typed. */
export function ofType<T extends EventType>(events: DomainEvent[], type: T): EventDataOf<T>[] {
  const out: EventDataOf<T>[] = [];
  for (const e of events) if (e.type === type) out.push(e.data as EventDataOf<T>);
  return out;
}
