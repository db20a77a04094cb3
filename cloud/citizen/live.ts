// What a citizen's phone is shown (issue 14): a ticket's place, the numbers being served, an office's wait
// figures, whether a ticket may be rated from the phone. Read from what the boxes have uplinked (tickets,
// rollups, the boxes' heartbeats) and the office's config in the fleet; no personal data (the cloud holds none).
import { sql } from 'kysely';
import type { OfficeWaitPublic, PhoneRatingState, TicketPublic } from '../../protocol/index.js';
import { DEFAULT_RATING_SCALE } from '../../protocol/config/schema.js';
import type { Db } from '../db/database.js';

/** A waiting ticket with at most this many before it is "near": the page tells the citizen to come back. */
export const TICKET_NEAR_AHEAD = 3;

/** The assumed service time of a service that has served nobody yet today (minutes). */
const DEFAULT_SERVICE_MIN = 5;

const dayFormats = new Map<string, Intl.DateTimeFormat>();
/** The office day (YYYY-MM-DD) of an instant in the office's time zone. */
export function officeDay(at: number, timezone: string): string {
  let f = dayFormats.get(timezone);
  if (!f) dayFormats.set(timezone, (f = new Intl.DateTimeFormat('sv-SE', { timeZone: timezone })));
  return f.format(new Date(at));
}

export interface OfficeSetup {
  id: string;
  name: string;
  timezone: string;
  /** Service names from the office's config in the fleet (ids when the fleet does not manage it). */
  serviceNames: Map<string, string>;
  /** The rating scale, bottom up (labels in Vietnamese and English). */
  scale: { score: number; label: { vi: string; en: string } }[];
  /** Counters with a rating tablet or box: their citizens rate there, not on the phone. */
  ratedCounters: Set<number>;
  /** Any rating peripheral without a counter binding counts for every counter. */
  ratesEverywhere: boolean;
}

interface ConfigShape {
  services?: { id?: unknown; name?: unknown }[];
  rating?: { scale?: { score?: unknown; label?: { vi?: unknown; en?: unknown } }[] };
  peripherals?: { role?: unknown; counter?: unknown }[];
}

/** The office and what its config says; undefined for an unknown office. */
export async function officeSetup(db: Db, officeId: string): Promise<OfficeSetup | undefined> {
  const o = await db
    .selectFrom('offices')
    .leftJoin('fleet_offices', 'fleet_offices.office_id', 'offices.id')
    .select(['offices.id', 'offices.name', 'offices.timezone', 'fleet_offices.effective'])
    .where('offices.id', '=', officeId)
    .executeTakeFirst();
  if (!o) return undefined;
  let cfg: ConfigShape = {};
  try {
    if (o.effective) cfg = JSON.parse(o.effective) as ConfigShape;
  } catch {
    cfg = {};
  }
  const serviceNames = new Map<string, string>();
  for (const s of cfg.services ?? [])
    if (typeof s.id === 'string' && typeof s.name === 'string') serviceNames.set(s.id, s.name);
  const scale = (cfg.rating?.scale ?? [])
    .filter(
      (s): s is { score: number; label: { vi: string; en: string } } =>
        typeof s.score === 'number' && typeof s.label?.vi === 'string' && typeof s.label.en === 'string',
    )
    .map((s) => ({ score: s.score, label: { vi: s.label.vi, en: s.label.en } }));
  const ratedCounters = new Set<number>();
  let ratesEverywhere = false;
  for (const p of cfg.peripherals ?? [])
    if (p.role === 'rating') {
      if (typeof p.counter === 'number') ratedCounters.add(p.counter);
      else ratesEverywhere = true;
    }
  return {
    id: o.id,
    name: o.name,
    timezone: o.timezone,
    serviceNames,
    scale: scale.length >= 2 ? scale : DEFAULT_RATING_SCALE,
    ratedCounters,
    ratesEverywhere,
  };
}

/**
 * How fresh the figures are: `asOf` is the newest office event the cloud has; `heardAt` the newest heartbeat
 * of a box that had nothing left to send (its events up to then are all here, so a quiet lobby is still
 * current).
 */
export async function freshness(
  db: Db,
  officeId: string,
): Promise<{ asOf: number | null; heardAt: number | null }> {
  const rows = await db
    .selectFrom('boxes')
    .select(['last_event_at', 'heartbeat_at', 'heartbeat'])
    .where('office_id', '=', officeId)
    .where('revoked_at', 'is', null)
    .execute();
  let asOf: number | null = null;
  let heardAt: number | null = null;
  for (const r of rows) {
    if (r.last_event_at !== null) asOf = Math.max(asOf ?? 0, Number(r.last_event_at));
    if (r.heartbeat_at === null || r.heartbeat === null) continue;
    try {
      const hb = JSON.parse(r.heartbeat) as { backlog?: { events?: number } };
      if (hb.backlog?.events === 0) heardAt = Math.max(heardAt ?? 0, Number(r.heartbeat_at));
    } catch {
      // a heartbeat the cloud stored is JSON; nothing to learn from one that is not
    }
  }
  return { asOf, heardAt };
}

interface ServicePace {
  meanMin: number;
  counters: number;
}

/** Each service's mean service time today and how many counters served it: a rough pace. */
async function servicePaces(db: Db, officeId: string, day: string): Promise<Map<string, ServicePace>> {
  const rows = (
    await sql<{ service: string; ms: number | null; n: number | null; counters: number | null }>`
      SELECT service, SUM(service_sum_ms) AS ms, SUM(service_count) AS n, COUNT(DISTINCT counter) AS counters
      FROM rollups WHERE grain = 'd' AND period = ${day} AND office_id = ${officeId} AND counter > 0
      GROUP BY service`.execute(db)
  ).rows;
  return new Map(
    rows.map((r) => [
      r.service,
      {
        meanMin: Number(r.n) > 0 ? Number(r.ms) / Number(r.n) / 60_000 : DEFAULT_SERVICE_MIN,
        counters: Math.max(1, Number(r.counters ?? 1)),
      },
    ]),
  );
}

const estimate = (people: number, pace: ServicePace | undefined): number =>
  Math.ceil((people * (pace?.meanMin ?? DEFAULT_SERVICE_MIN)) / (pace?.counters ?? 1));

const iso = (at: number | null): string | null => (at === null ? null : new Date(at).toISOString());

export interface TicketRow {
  ticket_id: string;
  number: string;
  service: string;
  state: string;
  counter: number | null;
  clerk_id: string | null;
  issued_at: number;
  updated_at: number;
  day: string;
}

export async function ticketRow(db: Db, officeId: string, ticketId: string): Promise<TicketRow | undefined> {
  const t = await db
    .selectFrom('tickets')
    .select([
      'ticket_id',
      'number',
      'service',
      'state',
      'counter',
      'clerk_id',
      'issued_at',
      'updated_at',
      'day',
    ])
    .where('office_id', '=', officeId)
    .where('ticket_id', '=', ticketId)
    .executeTakeFirst();
  return t && { ...t, issued_at: Number(t.issued_at), updated_at: Number(t.updated_at) };
}

/** The numbers at the counters of one service (or every service) now, by counter. */
async function nowServing(
  db: Db,
  officeId: string,
  day: string,
  service?: string,
): Promise<{ service: string; number: string; counter: number }[]> {
  let q = db
    .selectFrom('tickets')
    .select(['service', 'number', 'counter'])
    .where('office_id', '=', officeId)
    .where('day', '=', day)
    .where('state', 'in', ['called', 'serving'])
    .where('counter', 'is not', null);
  if (service !== undefined) q = q.where('service', '=', service);
  const rows = await q.execute();
  return rows
    .map((r) => ({ service: r.service, number: r.number, counter: Number(r.counter) }))
    .sort((a, b) => a.counter - b.counter);
}

export async function ticketStatus(
  db: Db,
  office: OfficeSetup,
  ticketId: string,
  o: { pollSeconds: number; rating?: (t: TicketRow) => Promise<PhoneRatingState> },
): Promise<TicketPublic | null> {
  const t = await ticketRow(db, office.id, ticketId);
  if (!t) return null;
  const fresh = await freshness(db, office.id);
  let ahead: number | null = null;
  let estimatedWaitMin: number | null = null;
  if (t.state === 'waiting') {
    // Issue order within the service (a transfer keeps the place); priority tickets may still go first.
    const r = await db
      .selectFrom('tickets')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('office_id', '=', office.id)
      .where('day', '=', t.day)
      .where('service', '=', t.service)
      .where('state', '=', 'waiting')
      .where('issued_at', '<', t.issued_at)
      .executeTakeFirstOrThrow();
    ahead = Number(r.n);
    const pace = (await servicePaces(db, office.id, t.day)).get(t.service);
    estimatedWaitMin = estimate(ahead + 1, pace);
  }
  const serving = await nowServing(db, office.id, t.day, t.service);
  return {
    officeId: office.id,
    officeName: office.name,
    ticketId: t.ticket_id,
    number: t.number,
    service: t.service,
    serviceName: office.serviceNames.get(t.service) ?? t.service,
    state: t.state,
    ahead,
    estimatedWaitMin,
    near: ahead !== null && ahead <= TICKET_NEAR_AHEAD,
    counter: t.counter,
    nowServing: serving.map(({ number, counter }) => ({ number, counter })),
    issuedAt: new Date(t.issued_at).toISOString(),
    asOf: new Date(fresh.asOf ?? t.issued_at).toISOString(),
    heardAt: iso(fresh.heardAt),
    pollSeconds: o.pollSeconds,
    ...(o.rating ? { rating: await o.rating(t) } : {}),
  };
}

/** An office's wait figures today: per service, who waits, who is at the counters, a wait for a new ticket. */
export async function officeWait(
  db: Db,
  office: OfficeSetup,
  now: number,
  pollSeconds: number,
): Promise<OfficeWaitPublic> {
  const day = officeDay(now, office.timezone);
  const waiting = await db
    .selectFrom('tickets')
    .select(['service', (eb) => eb.fn.countAll<number>().as('n')])
    .where('office_id', '=', office.id)
    .where('day', '=', day)
    .where('state', '=', 'waiting')
    .groupBy('service')
    .execute();
  const counts = new Map(waiting.map((w) => [w.service, Number(w.n)]));
  const serving = await nowServing(db, office.id, day);
  const paces = await servicePaces(db, office.id, day);
  // The config's services in its order, then any other the lobby mentioned today.
  const ids = [...office.serviceNames.keys()];
  for (const id of [...counts.keys(), ...serving.map((s) => s.service)].sort())
    if (!ids.includes(id)) ids.push(id);
  const fresh = await freshness(db, office.id);
  return {
    officeId: office.id,
    officeName: office.name,
    day,
    services: ids.map((service) => {
      const n = counts.get(service) ?? 0;
      return {
        service,
        name: office.serviceNames.get(service) ?? service,
        waiting: n,
        estimatedWaitMin: n === 0 ? null : estimate(n, paces.get(service)),
        nowServing: serving
          .filter((s) => s.service === service)
          .map(({ number, counter }) => ({ number, counter })),
      };
    }),
    asOf: iso(fresh.asOf),
    heardAt: iso(fresh.heardAt),
    pollSeconds,
  };
}
