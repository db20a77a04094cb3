// A seeded generator of office days as a box would uplink them: envelopes with gap-free sequence numbers,
// every event valid against protocol/events.ts. It knows nothing of the cloud's code, so tests can compute
// expected report figures from what it generated and compare them with what the cloud reports.
import type { EventEnvelope, EventType } from '../../protocol/index.js';

/** mulberry32: small, fast, good enough for test data; the same seed gives the same office day. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface SimCounter {
  number: number;
  services: string[];
  clerk: { id: string; name: string };
}

export interface SimOptions {
  seed: number;
  /** Office day, YYYY-MM-DD (Asia/Ho_Chi_Minh, UTC+7). */
  day: string;
  tickets: number;
  services: string[];
  counters: SimCounter[];
  /** Sequence number of the first event. */
  firstSeq: number;
  noShowRate?: number;
  ratingRate?: number;
  dossierRate?: number;
  scaleMax?: number;
  /** Share of no-shows who come back: called again by number at the same counter, then served. Default 0. */
  returnRate?: number;
  /** Share of served tickets the clerk transfers to another service before finishing. Default 0. */
  transferRate?: number;
  /** Share of services where the clerk does not press serve (timed from the call). Default 0. */
  implicitRate?: number;
  /** Minutes from 07:30 over which the citizens arrive. Default 540 (the whole day); less makes a rush that queues. */
  arrivalMin?: number;
  /** Dossier codes are `<agency>-<YYMMDD>-<serial>`; the agency part keeps offices apart. */
  agency?: string;
}

export const DEFAULT_COUNTERS: SimCounter[] = [
  { number: 1, services: ['van-thu'], clerk: { id: 'cc01', name: 'Nguyễn Thị Lan' } },
  { number: 2, services: ['chung-thuc', 'ho-tich'], clerk: { id: 'cc02', name: 'Trần Văn Minh' } },
  { number: 3, services: ['ho-tich', 'chung-thuc'], clerk: { id: 'cc03', name: 'Lê Thị Hoa' } },
  { number: 4, services: ['dat-dai'], clerk: { id: 'cc04', name: 'Phạm Văn Đức' } },
];
export const DEFAULT_SERVICES = ['van-thu', 'chung-thuc', 'ho-tich', 'dat-dai'];

const MIN = 60_000;
const PREFIX: Record<string, string> = { 'van-thu': 'A', 'chung-thuc': 'B', 'ho-tich': 'C', 'dat-dai': 'D' };

/** Epoch ms of HH:MM local time (UTC+7) on an office day. */
export function localTime(day: string, minutes: number): number {
  return Date.parse(`${day}T00:00:00+07:00`) + Math.round(minutes * MIN);
}

interface Draft {
  at: number;
  order: number;
  type: EventType;
  data: Record<string, unknown>;
}

/** One office day: tickets issued 07:30–16:30, called FIFO per service at the earliest free counter. */
export function simulateOfficeDay(o: SimOptions): EventEnvelope[] {
  const rnd = seededRandom(o.seed);
  // Returns and transfers draw from a stream of their own: without them, a seed gives the same day as before.
  const more = seededRandom(o.seed ^ 0x5bd1e995);
  const drafts: Draft[] = [];
  let order = 0;
  const emit = (at: number, type: EventType, data: Record<string, unknown>) =>
    drafts.push({ at, order: order++, type, data });
  const open = localTime(o.day, 7 * 60);
  emit(open, 'day.started', { day: o.day, previousDay: null });
  for (const c of o.counters) emit(open + 1000, 'counter.signed_in', { counter: c.number, clerk: c.clerk });

  const arrivalMin = o.arrivalMin ?? 540;
  const issueTimes = Array.from({ length: o.tickets }, () => localTime(o.day, 450 + rnd() * arrivalMin)).sort(
    (a, b) => a - b,
  );
  const perService = new Map<string, number>();
  const free = new Map<number, number>(o.counters.map((c) => [c.number, open]));
  const scaleMax = o.scaleMax ?? 4;
  let dossierSerial = 0;
  for (const issuedAt of issueTimes) {
    const service = o.services[Math.floor(rnd() * o.services.length)] as string;
    const n = (perService.get(service) ?? 0) + 1;
    perService.set(service, n);
    const number = `${PREFIX[service] ?? 'X'}${String(n).padStart(3, '0')}`;
    const ticketId = `${o.day}/${number}`;
    const ref = { ticketId, number, service };
    emit(issuedAt, 'ticket.issued', {
      ...ref,
      seq: n,
      priority: rnd() < 0.05 ? 'elderly' : null,
      ahead: 0,
      estimatedWaitMin: null,
      source: 'kiosk-1',
    });
    const able = o.counters.filter((c) => c.services.includes(service));
    if (able.length === 0) continue; // nobody serves it: stays waiting
    const counter = earliest(able);
    const calledAt = Math.max(issuedAt, free.get(counter.number) as number) + Math.floor(rnd() * 20_000);
    if (calledAt > localTime(o.day, 17 * 60 + 30)) continue; // the day ended before their turn
    emit(calledAt, 'ticket.called', {
      ...ref,
      counter: counter.number,
      clerk: counter.clerk,
      how: 'next',
      waitedMs: calledAt - issuedAt,
    });
    if (rnd() < (o.noShowRate ?? 0.08)) {
      emit(calledAt + MIN, 'ticket.recalled', { ...ref, counter: counter.number, recalls: 1 });
      emit(calledAt + 2 * MIN, 'ticket.no_show', {
        ...ref,
        counter: counter.number,
        recalls: 2,
        reason: 'recalls_exhausted',
      });
      free.set(counter.number, calledAt + 2 * MIN);
      if (!(o.returnRate && more() < o.returnRate)) continue;
      // Back at the counter a few minutes later: the clerk calls the number again.
      const backAt = calledAt + 2 * MIN + Math.floor((1 + more() * 10) * MIN);
      emit(backAt, 'ticket.called', {
        ...ref,
        counter: counter.number,
        clerk: counter.clerk,
        how: 'number',
        waitedMs: backAt - issuedAt,
      });
      serve(ref, counter, backAt);
      continue;
    }
    serve(ref, counter, calledAt);
  }

  /** The counter among `able` that is free first. */
  function earliest(able: SimCounter[]): SimCounter {
    return able.reduce((best, c) =>
      (free.get(c.number) as number) < (free.get(best.number) as number) ? c : best,
    );
  }

  /** Serves a called ticket: maybe a transfer to another service first, then a finish, a dossier, a rating. */
  function serve(
    ref: { ticketId: string; number: string; service: string },
    counter: SimCounter,
    calledAt: number,
  ) {
    const servingAt = calledAt + 30_000;
    if (o.implicitRate && more() < o.implicitRate)
      // Serve not pressed: the box marks the service begun at the call when the clerk finishes.
      emit(servingAt, 'ticket.serving', { ...ref, counter: counter.number, since: calledAt, implicit: true });
    else
      emit(servingAt, 'ticket.serving', {
        ...ref,
        counter: counter.number,
        since: servingAt,
        implicit: false,
      });
    if (o.transferRate && more() < o.transferRate) {
      const others = o.services.filter(
        (s) => s !== ref.service && o.counters.some((c) => c.services.includes(s)),
      );
      const toService = others[Math.floor(more() * others.length)];
      if (toService !== undefined) {
        const transferredAt = servingAt + 2 * MIN;
        emit(transferredAt, 'ticket.transferred', {
          ...ref,
          fromCounter: counter.number,
          toService,
          toCounter: null,
        });
        free.set(counter.number, transferredAt);
        const next = earliest(o.counters.filter((c) => c.services.includes(toService)));
        const to = { ...ref, service: toService };
        const at = Math.max(transferredAt, free.get(next.number) as number) + Math.floor(more() * 20_000);
        emit(at, 'ticket.called', {
          ...to,
          counter: next.number,
          clerk: next.clerk,
          how: 'number',
          waitedMs: at - transferredAt,
        });
        serve(to, next, at);
        return;
      }
    }
    const serviceMs = Math.floor((2 + rnd() * 13) * MIN);
    const finishedAt = servingAt + serviceMs;
    const dossiers: string[] = [];
    if (rnd() < (o.dossierRate ?? 0.5)) {
      dossierSerial++;
      const yymmdd = o.day.slice(2).replace(/-/g, '');
      const code = `${o.agency ?? '000.00.04.H12'}-${yymmdd}-${String(dossierSerial).padStart(4, '0')}`;
      dossiers.push(code);
      emit(finishedAt - 1000, 'dossier.linked', { ...ref, counter: counter.number, code });
    }
    emit(finishedAt, 'ticket.finished', {
      ...ref,
      counter: counter.number,
      clerk: counter.clerk,
      serviceMs: finishedAt - calledAt,
      dossiers,
      implicit: false,
    });
    free.set(counter.number, finishedAt);
    if (rnd() < (o.ratingRate ?? 0.6)) {
      const score = 1 + Math.floor(rnd() * scaleMax);
      emit(finishedAt + 20_000, 'rating.submitted', {
        ...ref,
        counter: counter.number,
        clerk: counter.clerk,
        score,
        scaleMax,
        reasons: [],
      });
    }
  }
  drafts.sort((a, b) => a.at - b.at || a.order - b.order);
  return drafts.map((d, i) => ({
    seq: o.firstSeq + i,
    type: d.type,
    at: new Date(d.at).toISOString(),
    day: o.day,
    data: d.data,
  }));
}

/** Consecutive office days for one office, one sequence. */
export function simulateOfficeDays(
  days: string[],
  o: Omit<SimOptions, 'day' | 'firstSeq' | 'seed'> & { seed: number },
): EventEnvelope[] {
  const out: EventEnvelope[] = [];
  days.forEach((day, i) => {
    out.push(...simulateOfficeDay({ ...o, day, seed: o.seed * 1000 + i, firstSeq: out.length + 1 }));
  });
  return out;
}
