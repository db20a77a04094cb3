// One simulated office day, played through simulated MQTT devices against a box: citizens arrive at the
// kiosk (a Poisson process per service), clerks at the keypads call, recall, serve, transfer and finish,
// scanners read dossier codes, citizens rate on the rating boxes. Everything the simulator knows comes
// from the box's replies (their `data.events`), so its KPIs are independent of the box's own log.
import type { PriorityReason, Reply } from '../../protocol/index.js';
import { PRIORITY_REASONS } from '../../protocol/index.js';
import { eventsOfReply, ticketOfReply } from '../mqtt/device.js';
import type { SimKeypad } from '../mqtt/keypad.js';
import type { SimKiosk } from '../mqtt/kiosk.js';
import type { SimRatingBox } from '../mqtt/rating-box.js';
import type { SimScanner } from '../mqtt/scanner.js';
import { Agenda, type SimClock } from './clock.js';
import type { DayProfile } from './profile.js';
import { Random } from './random.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;

export interface OfficeLayout {
  timezone: string;
  /** Working sessions, office local `HH:MM`. */
  sessions: { open: string; close: string; cutoff: string }[];
  services: { id: string; name: string }[];
  counters: { number: number; services: string[] }[];
  /** The clerk who signs in at each counter (counters without one open on their first call). */
  clerks: Map<number, string>;
  recallsBeforeNoShow: number;
  /** Levels of the rating scale (4 by default). */
  scaleMax: number;
}

export interface DayDevices {
  kiosk: SimKiosk;
  keypads: Map<number, SimKeypad>;
  ratings: Map<number, SimRatingBox>;
  scanners: Map<number, SimScanner>;
}

/** A citizen, decided when they arrive (so a run depends on the seed only). */
export interface Citizen {
  n: number;
  service: string;
  arrivesAt: number;
  priority: PriorityReason | null;
  /** In the lobby when called; if not, `late` ones come on a recall. */
  present: boolean;
  late: boolean;
  /** After a no-show, comes back this long after it (ms), or never. */
  comesBackAfter: number | null;
  transferTo: string | null;
  dossier: boolean;
  scans: boolean;
  rates: boolean;
}

export type TicketState = 'waiting' | 'called' | 'serving' | 'finished' | 'no_show';

/** A ticket as the simulator saw it. */
export interface TicketRecord {
  ticketId: string;
  number: string;
  issuedService: string;
  service: string;
  citizen: Citizen;
  state: TicketState;
  issuedAt: number;
  firstCalledAt: number | null;
  serviceStartAt: number | null;
  finishedAt: number | null;
  counter: number | null;
  reservedCounter: number | null;
  recalls: number;
  arrivedOnRecall: boolean;
  transfers: number;
  returned: boolean;
  dossierCode: string | null;
  dossierLinked: boolean;
  rating: number | null;
  /** Issued before the run or by someone else (a real kiosk): served, but left out of the KPIs. */
  foreign: boolean;
}

export interface DayObservation {
  dayStart: number;
  dayEnd: number;
  citizens: number;
  tickets: TicketRecord[];
  /** Ticket requests the kiosk was refused, by error code. */
  refused: Record<string, number>;
  /** Event types counted from every reply's `data.events`. */
  events: Record<string, number>;
  /** Unexpected error replies, by `<action> <code>`. */
  errors: Record<string, number>;
  scaleMax: number;
}

export interface DayProgress {
  now: number;
  dayStart: number;
  dayEnd: number;
  issued: number;
  finished: number;
  waiting: number;
}

export interface OfficeDayOptions {
  profile: DayProfile;
  layout: OfficeLayout;
  devices: DayDevices;
  clock: SimClock;
  /** Epoch ms of the office day's local midnight. */
  midnight: number;
  onProgress?: (p: DayProgress) => void;
}

type DeskStatus = 'off' | 'idle' | 'busy' | 'paused';

interface Desk {
  number: number;
  services: string[];
  keypad: SimKeypad;
  rating: SimRatingBox | undefined;
  scanner: SimScanner | undefined;
  clerk: string | undefined;
  status: DeskStatus;
  closing: boolean;
  wantsBreak: boolean;
  woken: boolean;
  current: TicketRecord | null;
}

const hhmm = (s: string): number => {
  const [h, m] = s.split(':').map(Number);
  return ((h as number) * 60 + (m as number)) * MINUTE;
};

/** Arrival windows: the profile's, else each session from open until cutoff (60/40 for two sessions). */
export function arrivalWindows(
  profile: DayProfile,
  layout: OfficeLayout,
): { open: number; cutoff: number; weight: number }[] {
  if (profile.windows)
    return profile.windows.map((w) => ({ open: hhmm(w.open), cutoff: hhmm(w.cutoff), weight: w.weight }));
  const sessions = layout.sessions.map((s) => ({ open: hhmm(s.open), cutoff: hhmm(s.cutoff) }));
  const weights = sessions.length === 2 ? [0.6, 0.4] : sessions.map(() => 1);
  return sessions.map((s, i) => ({ ...s, weight: weights[i] as number }));
}

export class OfficeDay {
  private readonly rnd: Random;
  private readonly agenda = new Agenda();
  private readonly desks: Desk[] = [];
  private readonly tickets = new Map<string, TicketRecord>();
  private readonly returned: TicketRecord[] = [];
  private readonly obs: DayObservation;
  private dossierSerial = 0;

  constructor(private readonly o: OfficeDayOptions) {
    this.rnd = new Random(o.profile.seed);
    for (const c of o.layout.counters) {
      const keypad = o.devices.keypads.get(c.number);
      if (!keypad) continue; // a counter without a simulated keypad stays closed
      this.desks.push({
        number: c.number,
        services: c.services,
        keypad,
        rating: o.devices.ratings.get(c.number),
        scanner: o.devices.scanners.get(c.number),
        clerk: o.layout.clerks.get(c.number),
        status: 'off',
        closing: false,
        wantsBreak: false,
        woken: false,
        current: null,
      });
    }
    this.obs = {
      dayStart: o.midnight,
      dayEnd: o.midnight,
      citizens: 0,
      tickets: [],
      refused: {},
      events: {},
      errors: {},
      scaleMax: o.layout.scaleMax,
    };
  }

  private now(): number {
    return this.o.clock.now();
  }

  private at(delayMs: number, run: () => Promise<void>): void {
    this.agenda.schedule(this.now() + Math.max(0, delayMs), run);
  }

  /** Plays the day and resolves with what the simulator observed. */
  async run(): Promise<DayObservation> {
    const { profile, layout, midnight } = this.o;
    const windows = arrivalWindows(profile, layout);
    const totalWeight = windows.reduce((a, w) => a + w.weight, 0) || 1;
    this.obs.dayStart =
      midnight + Math.min(...windows.map((w) => w.open), ...layout.sessions.map((s) => hhmm(s.open)));

    // Citizens: a Poisson process per service per window, every attribute drawn up front.
    const citizens: Citizen[] = [];
    for (const w of windows) {
      for (const s of layout.services) {
        const perDay = (profile.arrivalsPerDay[s.id] ?? profile.defaultArrivalsPerDay) * profile.rate;
        const expected = (perDay * w.weight) / totalWeight;
        if (expected <= 0 || w.cutoff <= w.open) continue;
        const meanGap = (w.cutoff - w.open) / expected;
        for (let t = w.open + this.rnd.exponential(meanGap); t < w.cutoff; t += this.rnd.exponential(meanGap))
          citizens.push(this.citizen(s.id, midnight + Math.round(t)));
      }
    }
    citizens.sort((a, b) => a.arrivesAt - b.arrivesAt);
    citizens.forEach((c, i) => (c.n = i + 1));
    this.obs.citizens = citizens.length;
    for (const c of citizens) this.agenda.schedule(c.arrivesAt, () => this.arrive(c));

    // Clerks: sign in a few minutes before each session, leave once its queue is empty after closing.
    for (const s of layout.sessions) {
      const open = midnight + hhmm(s.open);
      const close = midnight + hhmm(s.close);
      for (const d of this.desks) {
        this.agenda.schedule(open - Math.round(this.rnd.between(1, 5) * MINUTE), () => this.signIn(d));
        this.agenda.schedule(close, async () => {
          d.closing = true;
          this.wake(d);
        });
        if (this.rnd.chance(profile.breakShare)) {
          const due = this.rnd.between(open + 30 * MINUTE, Math.max(open + 31 * MINUTE, close - 45 * MINUTE));
          this.agenda.schedule(Math.round(due), async () => {
            d.wantsBreak = true;
            this.wake(d);
          });
        }
      }
    }

    const report = () =>
      this.o.onProgress?.({
        now: this.now(),
        dayStart: this.obs.dayStart,
        dayEnd: midnight + Math.max(...layout.sessions.map((s) => hhmm(s.close))),
        issued: this.tickets.size,
        finished: [...this.tickets.values()].filter((t) => t.state === 'finished').length,
        waiting: [...this.tickets.values()].filter((t) => t.state === 'waiting').length,
      });
    await this.agenda.run(this.o.clock, report);

    // Whoever is still signed in leaves.
    for (const d of this.desks) if (d.status !== 'off' && !d.current) await this.signOut(d);
    this.obs.dayEnd = this.now();
    this.obs.tickets = [...this.tickets.values()];
    report();
    return this.obs;
  }

  private citizen(service: string, arrivesAt: number): Citizen {
    const p = this.o.profile;
    const r = this.rnd;
    const present = !r.chance(p.absentShare);
    // A transfer goes to another service some counter serves.
    const others = [...new Set(this.desks.flatMap((d) => d.services))].filter((s) => s !== service);
    return {
      n: 0,
      service,
      arrivesAt,
      priority: r.chance(p.priorityShare) ? r.pick(PRIORITY_REASONS) : null,
      present,
      late: !present && r.chance(p.lateShare),
      comesBackAfter: r.chance(p.returnShare) ? Math.round(r.between(5, 20) * MINUTE) : null,
      transferTo: others.length > 0 && r.chance(p.transferShare) ? r.pick(others) : null,
      dossier: r.chance(p.dossierShare[service] ?? p.defaultDossierShare),
      scans: r.chance(p.scanShare),
      rates: r.chance(p.ratingShare),
    };
  }

  /** After the last session has closed: a clerk who comes back leaves again once the queue is empty. */
  private afterHours(): boolean {
    const m = this.now() - this.o.midnight;
    return this.o.layout.sessions.every((s) => m >= hhmm(s.close) || m < hhmm(s.open));
  }

  private serviceMs(service: string): number {
    const d = this.o.profile.serviceMinutes[service] ?? this.o.profile.defaultServiceMinutes;
    return Math.max(20 * SECOND, Math.round(this.rnd.lognormal(d.median, d.sigma) * MINUTE));
  }

  private walkMs(): number {
    const w = this.o.profile.walkSeconds;
    return Math.round(Math.min(3 * MINUTE, this.rnd.lognormal(w.median, w.sigma) * SECOND));
  }

  /** Counts the events a reply reports; an error reply not in `expected` is counted as unexpected. */
  private observe(action: string, reply: Reply, expected: string[] = []): boolean {
    if (reply.status === 'ok') {
      for (const e of eventsOfReply(reply)) this.count(this.obs.events, e);
      return true;
    }
    const code = reply.error?.code ?? 'unknown';
    if (!expected.includes(code)) this.count(this.obs.errors, `${action} ${code}`);
    return false;
  }

  // ---- citizens ------------------------------------------------------------------------------------

  private async arrive(c: Citizen): Promise<void> {
    const reply = await this.o.devices.kiosk.requestTicket(c.service, { priority: c.priority });
    if (
      !this.observe('ticket', reply, ['after_cutoff', 'office_closed', 'quota_reached', 'numbers_exhausted'])
    ) {
      this.count(this.obs.refused, reply.error?.code ?? 'unknown');
      return;
    }
    const t = ticketOfReply(reply);
    if (!t) return;
    this.tickets.set(t.ticketId, this.newTicket(t.ticketId, t.number, c.service, c, false));
    this.wakeFor(c.service);
  }

  private dossierCode(): string {
    const day = new Date(this.o.midnight + 12 * 3_600_000).toISOString(); // a time inside the office day
    const yymmdd = day.slice(2, 4) + day.slice(5, 7) + day.slice(8, 10);
    this.dossierSerial += 1;
    return `${this.o.profile.agencyCode}-${yymmdd}-${String(this.dossierSerial).padStart(4, '0')}`;
  }

  private scoreFor(t: TicketRecord): number {
    const p = this.o.profile;
    const waited = (t.firstCalledAt ?? t.issuedAt) - t.issuedAt;
    const weights = waited > p.longWaitMinutes * MINUTE ? p.longWaitScoreWeights : p.scoreWeights;
    // Stretch the weights to the office's scale: level i of n maps onto the profile's levels.
    const n = this.o.layout.scaleMax;
    const stretched = Array.from(
      { length: n },
      (_, i) => weights[Math.min(weights.length - 1, Math.floor((i * weights.length) / n))] as number,
    );
    return this.rnd.weighted(stretched) + 1;
  }

  // ---- clerks --------------------------------------------------------------------------------------

  private callable(d: Desk): TicketRecord[] {
    return [...this.tickets.values()].filter(
      (t) =>
        t.state === 'waiting' &&
        d.services.includes(t.service) &&
        (t.reservedCounter === null || t.reservedCounter === d.number),
    );
  }

  private wakeFor(service: string): void {
    const serving = this.desks.filter((d) => d.services.includes(service));
    for (const d of serving) this.wake(d);
    // Everyone for this service has gone home (a late transfer or a returning citizen): one comes back.
    const back = serving.find((d) => d.status === 'off');
    if (back && serving.every((d) => d.status === 'off'))
      this.at(Math.round(this.rnd.between(1, 3) * MINUTE), () => this.signIn(back, this.afterHours()));
  }

  /** An idle clerk notices (a few seconds later) that there is something to do. */
  private wake(d: Desk): void {
    if (d.status !== 'idle' || d.woken) return;
    d.woken = true;
    this.at(Math.round(this.rnd.between(3, 15) * SECOND), async () => {
      d.woken = false;
      await this.act(d);
    });
  }

  private async signIn(d: Desk, closing = false): Promise<void> {
    d.closing = closing;
    if (d.status !== 'off') return; // still serving the last session's queue
    if (d.clerk) {
      const reply = await d.keypad.signIn(d.clerk);
      this.observe('sign_in', reply);
    }
    d.status = 'idle';
    this.wake(d);
  }

  private async signOut(d: Desk): Promise<void> {
    if (d.clerk) {
      const reply = await d.keypad.signOut();
      this.observe('sign_out', reply, ['not_signed_in']);
    }
    d.status = 'off';
  }

  /** What an idle clerk does next: a break, a returning citizen, the next number, or going home. */
  private async act(d: Desk): Promise<void> {
    if (d.status !== 'idle') return;
    if (d.wantsBreak) {
      d.wantsBreak = false;
      const reply = await d.keypad.pause('Nghỉ giải lao');
      // A counter nobody signed in to and that has called no one yet is closed: no break to take.
      if (this.observe('pause', reply, ['counter_closed'])) {
        d.status = 'paused';
        this.at(Math.round(this.rnd.between(5, 15) * MINUTE), async () => {
          const r = await d.keypad.resume();
          this.observe('resume', r);
          d.status = 'idle';
          this.wake(d);
        });
        return;
      }
    }
    const back = this.returned.findIndex((t) => d.services.includes(t.service));
    if (back >= 0) {
      const t = this.returned.splice(back, 1)[0] as TicketRecord;
      const reply = await d.keypad.call(t.number);
      if (this.observe('call', reply)) return this.called(d, reply, true);
    }
    if (this.callable(d).length > 0) {
      const reply = await d.keypad.next();
      if (this.observe('next', reply, ['queue_empty'])) return this.called(d, reply, false);
    }
    if (d.closing) await this.signOut(d);
  }

  /** What the simulator tracks of a ticket just issued (foreign: issued before the simulator saw it). */
  private newTicket(
    ticketId: string,
    number: string,
    service: string,
    citizen: Citizen,
    foreign: boolean,
  ): TicketRecord {
    return {
      ticketId,
      number,
      issuedService: service,
      service,
      citizen,
      state: 'waiting',
      issuedAt: this.now(),
      firstCalledAt: null,
      serviceStartAt: null,
      finishedAt: null,
      counter: null,
      reservedCounter: null,
      recalls: 0,
      arrivedOnRecall: false,
      transfers: 0,
      returned: false,
      dossierCode: null,
      dossierLinked: false,
      rating: null,
      foreign,
    };
  }

  /** A ticket was called at the desk (by next or call); the reply may also finish the previous one. */
  private called(d: Desk, reply: Reply, returning: boolean): void {
    const ref = ticketOfReply(reply);
    if (!ref) return this.free(d);
    let t = this.tickets.get(ref.ticketId);
    if (!t) {
      // A ticket the simulator did not issue (the box had a queue already): serve it like any other.
      const c = { ...this.citizen(ref.service, this.now()), present: true };
      t = this.newTicket(ref.ticketId, ref.number, ref.service, c, true);
      this.tickets.set(t.ticketId, t);
    }
    t.state = 'called';
    t.counter = d.number;
    t.recalls = 0;
    t.firstCalledAt ??= this.now();
    d.current = t;
    d.status = 'busy';
    if (returning || t.citizen.present) this.at(this.walkMs(), () => this.atDesk(d, t));
    else this.at(this.o.profile.recallAfterSeconds * SECOND, () => this.recall(d, t));
  }

  private async recall(d: Desk, t: TicketRecord): Promise<void> {
    const p = this.o.profile;
    const clerkGivesUp = t.recalls >= 1 && this.rnd.chance(p.clerkNoShowShare);
    const reply = clerkGivesUp ? await d.keypad.noShow() : await d.keypad.recall();
    if (!this.observe(clerkGivesUp ? 'no_show' : 'recall', reply)) return this.free(d);
    const events = eventsOfReply(reply);
    if (events.includes('ticket.no_show')) {
      t.state = 'no_show';
      d.current = null;
      if (t.citizen.comesBackAfter !== null) {
        this.at(t.citizen.comesBackAfter, async () => {
          if (t.state !== 'no_show') return;
          t.returned = true;
          this.returned.push(t);
          this.wakeFor(t.service);
        });
      }
      return this.free(d);
    }
    t.recalls += 1;
    if (t.citizen.late && !t.arrivedOnRecall) {
      t.arrivedOnRecall = true;
      this.at(this.walkMs(), () => this.atDesk(d, t));
    } else this.at(p.recallAfterSeconds * SECOND, () => this.recall(d, t));
  }

  private async atDesk(d: Desk, t: TicketRecord): Promise<void> {
    if (d.current !== t) return;
    if (this.rnd.chance(this.o.profile.pressServeShare)) this.observe('serve', await d.keypad.serve());
    t.state = 'serving';
    t.serviceStartAt = this.now();
    const ms = this.serviceMs(t.service);
    if (t.citizen.dossier && !t.dossierCode) t.dossierCode = this.dossierCode();
    if (t.citizen.dossier && t.citizen.scans && d.scanner && !t.dossierLinked) {
      const scanner = d.scanner;
      this.at(Math.round(ms * this.rnd.between(0.2, 0.8)), async () => {
        if (d.current !== t || !t.dossierCode) return;
        if (this.observe('scan', await scanner.scan(t.dossierCode))) t.dossierLinked = true;
      });
    }
    if (t.citizen.transferTo && t.transfers === 0) {
      const to = t.citizen.transferTo;
      this.at(Math.round(ms * this.rnd.between(0.3, 0.6)), () => this.transfer(d, t, to));
    } else this.at(ms, () => this.done(d, t));
  }

  private async transfer(d: Desk, t: TicketRecord, toService: string): Promise<void> {
    const reply = await d.keypad.transfer({ toService });
    if (!this.observe('transfer', reply)) return this.done(d, t);
    t.transfers += 1;
    t.service = toService;
    t.state = 'waiting';
    t.counter = null;
    d.current = null;
    this.free(d);
    this.wakeFor(toService);
  }

  private async done(d: Desk, t: TicketRecord): Promise<void> {
    if (d.current !== t) return;
    const p = this.o.profile;
    const dossiers = t.dossierCode && !t.dossierLinked ? [t.dossierCode] : undefined;
    const goOn =
      !dossiers &&
      !d.wantsBreak &&
      !d.closing &&
      this.returned.length === 0 &&
      this.rnd.chance(p.implicitFinishShare);
    if (goOn && this.callable(d).length > 0) {
      // The clerk presses next straight away: the box finishes this citizen implicitly.
      const reply = await d.keypad.next();
      if (this.observe('next', reply, ['queue_empty']) && eventsOfReply(reply).includes('ticket.finished')) {
        this.finished(d, t);
        this.called(d, reply, false);
        return;
      }
    }
    const reply = await d.keypad.finish(dossiers);
    if (this.observe('finish', reply) && dossiers) t.dossierLinked = true;
    this.finished(d, t);
    this.free(d);
  }

  private finished(d: Desk, t: TicketRecord): void {
    t.state = 'finished';
    t.finishedAt = this.now();
    d.current = null;
    const box = d.rating;
    if (!t.citizen.rates || !box) return;
    this.at(Math.round(this.rnd.between(3, 12) * SECOND), async () => {
      const score = this.scoreFor(t);
      const reasons = score > this.o.layout.scaleMax / 2 ? ['Nhanh chóng', 'Thân thiện'] : ['Chờ lâu'];
      const reply = await box.rate(score, {
        ticketId: t.ticketId,
        reasons: this.rnd.chance(0.4) ? reasons : [],
      });
      if (this.observe('rating', reply, ['no_rating_session'])) t.rating = score;
      else this.count(this.obs.refused, `rating ${reply.error?.code ?? 'unknown'}`);
    });
  }

  private count(tally: Record<string, number>, key: string): void {
    tally[key] = (tally[key] ?? 0) + 1;
  }

  private free(d: Desk): void {
    d.current = null;
    d.status = 'idle';
    this.wake(d);
  }
}
