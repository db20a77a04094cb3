// Report figures against simulated office days: the events are generated here with a seeded generator, the
// expected figures computed directly from those events (nothing of the cloud's code), and compared with the
// report API for several subtrees and periods (whole months, single days, and both mixed). SQLite and PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIntegration } from '../../cloud/admin/provisioning.js';
import { hmacHex } from '../../cloud/auth/secrets.js';
import { WAIT_BOUNDS_MIN } from '../../cloud/db/rollup-columns.js';
import {
  BREAKDOWNS,
  SORT_KEYS,
  type Breakdown,
  type Figures,
  type Report,
  type SortKey,
} from '../../cloud/reports/reports.js';
import { REPORT_PAGE_MAX_ROWS } from '../../cloud/limits.js';
import type { CloudService } from '../../cloud/service.js';
import { hmacPayload, type EventEnvelope } from '../../protocol/index.js';
import {
  DEFAULT_COUNTERS,
  DEFAULT_SERVICES,
  seededRandom,
  simulateOfficeDays,
} from '../bench/cloud-events.js';
import {
  DATABASES,
  MASTER_KEY,
  adminToken,
  enrolledBox,
  fullReport,
  seedTree,
  type FullReport,
  startTestCloud,
  type TestDatabase,
} from './helpers.js';

const days = (from: string, to: string): string[] => {
  const out: string[] = [];
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += 86_400_000)
    out.push(new Date(t).toISOString().slice(0, 10));
  return out;
};

// o-hc: all of February and the days around it; the other two: three days across the month boundary.
const PLAN: Record<string, { days: string[]; tickets: number; seed: number; agency: string }> = {
  'o-hc': { days: days('2026-01-30', '2026-03-01'), tickets: 12, seed: 1, agency: '000.00.01.H12' },
  'o-hkb': { days: days('2026-01-31', '2026-02-02'), tickets: 40, seed: 2, agency: '000.00.02.H12' },
  'o-hhb': { days: days('2026-01-31', '2026-02-02'), tickets: 30, seed: 3, agency: '000.00.03.H12' },
};
const UNIT_OFFICES: Record<string, string[]> = {
  dn: ['o-hc', 'o-hkb', 'o-hhb'],
  lc: ['o-hkb', 'o-hhb'],
  hkb: ['o-hkb'],
  hhb: ['o-hhb'],
  hc: ['o-hc'],
};
/** Each unit's child units, and each office's unit (the tree seedTree builds). */
const UNIT_CHILDREN: Record<string, string[]> = {
  dn: ['lc', 'hc'],
  lc: ['hkb', 'hhb'],
  hkb: [],
  hhb: [],
  hc: [],
};
const UNIT_KIND: Record<string, string> = {
  dn: 'province',
  lc: 'district',
  hkb: 'commune',
  hhb: 'commune',
  hc: 'commune',
};
const OFFICE_UNIT: Record<string, string> = { 'o-hc': 'hc', 'o-hkb': 'hkb', 'o-hhb': 'hhb' };
/** Rows in a report are ordered by name, as Vietnamese sorts them. */
const vi = new Intl.Collator('vi', { numeric: true });
const byName = <T extends { name?: string }>(rows: T[]): T[] =>
  [...rows].sort((a, b) => vi.compare(a.name ?? '', b.name ?? ''));
const TARGET = 15;

interface Dossier {
  office: string;
  code: string;
  service: string;
  day: string;
  receivedAt: number;
  dueAt: number;
  returnedAt: number | null;
}

// ---- the expected report, straight from the events ---------------------------------------------------

const OFFICE_NAMES: Record<string, string> = {
  'o-hc': 'Một cửa Hải Châu',
  'o-hkb': 'Một cửa Hòa Khánh Bắc',
  'o-hhb': 'Một cửa Hòa Hiệp Bắc',
};
/** o-hhb's counters have other clerks: Dương before Đỗ in Vietnamese order (Đ is a letter after D). */
const HHB_CLERKS: Record<string, string> = { cc01: 'Đỗ Thị Hà', cc04: 'Dương Văn Nam' };
const COUNTERS_OF = (office: string) =>
  DEFAULT_COUNTERS.map((c) => {
    const name = office === 'o-hhb' ? HHB_CLERKS[c.clerk.id] : undefined;
    return name ? { ...c, clerk: { ...c.clerk, name } } : c;
  });
const clerkName = (office: string, clerk: string) =>
  COUNTERS_OF(office).find((c) => c.clerk.id === clerk)?.clerk.name;
const UNIT_NAMES: Record<string, string> = {
  dn: 'Thành phố Đà Nẵng',
  lc: 'Quận Liên Chiểu',
  hkb: 'Phường Hòa Khánh Bắc',
  hhb: 'Phường Hòa Hiệp Bắc',
  hc: 'Phường Hải Châu',
};
// The services as the offices' configs name them (xay-dung is in none: the report shows its id).
const SERVICE_NAMES: Record<string, string> = {
  'van-thu': 'Văn thư',
  'chung-thuc': 'Chứng thực',
  'ho-tich': 'Hộ tịch',
  'dat-dai': 'Đất đai',
};
/** Each office's config names the services; o-hhb calls one by another name. */
const SERVICE_NAMES_OF: Record<string, Record<string, string>> = {
  'o-hc': SERVICE_NAMES,
  'o-hkb': SERVICE_NAMES,
  'o-hhb': { ...SERVICE_NAMES, 'ho-tich': 'Cải chính hộ tịch' },
};
/** A service's name in a unit's report: its offices' names for it, each once, sorted, joined by " / ". */
const serviceName = (unit: string, service: string): string =>
  [...new Set((UNIT_OFFICES[unit] as string[]).map((o) => SERVICE_NAMES_OF[o]?.[service]))]
    .filter((n): n is string => n !== undefined)
    .sort()
    .join(' / ') || service;

const bucketOf = (min: number) => WAIT_BOUNDS_MIN.find((b) => min <= b) ?? 1440;
function nearestRank(sorted: number[], p: number): number | null {
  if (!sorted.length) return null;
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}
const bucketAt = (sorted: number[], p: number) => {
  const v = nearestRank(sorted, p);
  return v === null ? null : bucketOf(v);
};
const hourOf = (iso: string) => (new Date(iso).getUTCHours() + 7) % 24;
const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
const pct = (n: number, of: number) => (of ? (n * 100) / of : null);
/** A ratio the cloud computes in floating point: equal to `digits` decimals. */
const close = (v: number | null, digits = 6) => (v === null ? null : expect.closeTo(v, digits));

interface Tally {
  issued: number;
  /** Tickets transferred to this service from another. */
  transferredIn: number;
  /** Calls but a no-show's call back at the counter that marked it. */
  receivedAtCounter: number;
  called: number;
  served: number;
  /** Tickets whose last state is no-show. */
  noShow: number;
  noShowMarks: number;
  waits: number[];
  serviceMs: number[];
  /** Serve not pressed: the service timed from the call. */
  fromCall: number;
  /** Each rating's level on the five-level scale. */
  levels: number[];
}
const empty = (): Tally => ({
  issued: 0,
  transferredIn: 0,
  receivedAtCounter: 0,
  called: 0,
  served: 0,
  noShow: 0,
  noShowMarks: 0,
  waits: [],
  serviceMs: [],
  fromCall: 0,
  levels: [],
});

/**
 * The five levels (1 Rất không hài lòng … 5 Rất hài lòng) of a score: written out for the scales the older
 * devices have (a 4-button box is Không hài lòng … Rất hài lòng), spread evenly for 6 to 10.
 */
function levelOf(score: number, scaleMax: number): number {
  const table: Record<number, number[]> = { 2: [2, 4], 3: [2, 3, 4], 4: [2, 3, 4, 5], 5: [1, 2, 3, 4, 5] };
  return table[scaleMax]?.[score - 1] ?? 1 + Math.round(((score - 1) * 4) / (scaleMax - 1));
}

const STATE_CHANGES = new Set([
  'ticket.issued',
  'ticket.called',
  'ticket.serving',
  'ticket.finished',
  'ticket.no_show',
  'ticket.transferred',
]);

/**
 * What only a ticket's history tells: the no-show marks that are its last state (the citizen never came
 * back), and the calls that are a no-show's call back at the counter that marked it.
 */
function ticketHistory(events: { office: string; e: EventEnvelope }[]) {
  const last = new Map<string, EventEnvelope>();
  const callBacks = new Set<EventEnvelope>();
  for (const { office, e } of events) {
    if (!STATE_CHANGES.has(e.type)) continue;
    const d = e.data as { ticketId: string; counter?: number };
    const id = `${office}/${d.ticketId}`;
    const before = last.get(id);
    if (
      e.type === 'ticket.called' &&
      before?.type === 'ticket.no_show' &&
      (before.data as { counter: number }).counter === d.counter
    )
      callBacks.add(e);
    last.set(id, e);
  }
  const finalNoShows = new Set([...last.values()].filter((e) => e.type === 'ticket.no_show'));
  return { finalNoShows, callBacks };
}

/** Counts the events per key; a key exists once an event counted towards it. */
function tally(
  events: { office: string; e: EventEnvelope }[],
  history: ReturnType<typeof ticketHistory>,
  key: (office: string, e: EventEnvelope, firstCall: boolean) => string | null,
): Map<string, Tally> {
  const out = new Map<string, Tally>();
  const called = new Set<string>();
  const get = (k: string) => {
    let x = out.get(k);
    if (!x) out.set(k, (x = empty()));
    return x;
  };
  for (const { office, e } of events) {
    const d = e.data as Record<string, unknown>;
    const first = e.type === 'ticket.called' && !called.has(`${office}/${String(d.ticketId)}`);
    if (first) called.add(`${office}/${String(d.ticketId)}`);
    const k = key(office, e, first);
    if (k === null) continue;
    if (e.type === 'ticket.issued') get(k).issued++;
    if (e.type === 'ticket.transferred' && d.toService !== d.service) get(k).transferredIn++;
    if (e.type === 'ticket.called') {
      get(k).called++;
      if (!history.callBacks.has(e)) get(k).receivedAtCounter++;
    }
    if (e.type === 'ticket.serving' && d.implicit === true) get(k).fromCall++;
    if (e.type === 'ticket.finished') {
      get(k).served++;
      get(k).serviceMs.push(d.serviceMs as number);
    }
    if (e.type === 'ticket.no_show') {
      get(k).noShowMarks++;
      if (history.finalNoShows.has(e)) get(k).noShow++;
    }
    if (first) get(k).waits.push(d.waitedMs as number);
    if (e.type === 'rating.submitted') get(k).levels.push(levelOf(d.score as number, d.scaleMax as number));
  }
  return out;
}

function dossierFigures(ds: Dossier[]) {
  const returned = ds.filter((d) => d.returnedAt !== null);
  const onTime = returned.filter((d) => (d.returnedAt as number) <= d.dueAt).length;
  return {
    received: ds.length,
    returned: returned.length,
    onTime,
    late: returned.length - onTime,
    onTimeRate: close(pct(onTime, returned.length)),
  };
}

/**
 * Every figure of a group as the report gives it. `target`: the wait target (minutes); `kind`: what the
 * group is, for what "received" means (issued in an office; issued for or transferred to a service; called
 * at a counter or by a clerk, where no ticket is issued).
 */
function figuresOf(x: Tally, ds: Dossier[], target: number, kind: 'office' | 'service' | 'counter') {
  const waits = x.waits.map((w) => w / 60_000).sort((a, b) => a - b);
  const serviceMs = mean(x.serviceMs);
  const satisfied = x.levels.filter((l) => l >= 4).length;
  return {
    issued: kind === 'counter' ? null : x.issued,
    received:
      kind === 'counter' ? x.receivedAtCounter : kind === 'service' ? x.issued + x.transferredIn : x.issued,
    called: x.called,
    served: x.served,
    noShow: x.noShow,
    noShowMarks: x.noShowMarks,
    wait: {
      count: waits.length,
      meanMin: close(mean(waits)),
      p50AtMostMin: bucketAt(waits, 50),
      p90AtMostMin: bucketAt(waits, 90),
      // Exact to the bucket: the waits whose bucket's upper bound is within the target.
      withinTargetPct: close(pct(waits.filter((w) => bucketOf(w) <= target).length, waits.length)),
    },
    serviceMeanMin: close(serviceMs === null ? null : serviceMs / 60_000),
    serviceFromCallPct: close(pct(x.fromCall, x.serviceMs.length)),
    satisfaction: {
      ratings: x.levels.length,
      levels: [1, 2, 3, 4, 5].map((l) => x.levels.filter((y) => y === l).length),
      indexPct: close(pct(satisfied, x.levels.length)),
      meanScore: close(mean(x.levels.map((l) => (l - 1) * 25))),
    },
    dossiers: dossierFigures(ds),
  };
}

const keysOf = (...sets: Iterable<string>[]) => [...new Set(sets.flatMap((s) => [...s]))].sort();

/** The whole report for a subtree and period, from the simulated events and the dossiers sent. */
function expectedReport(
  all: { office: string; e: EventEnvelope }[],
  dossiers: Dossier[],
  unit: string,
  from: string,
  to: string,
  target: number,
) {
  const offices = UNIT_OFFICES[unit] as string[];
  const inScope = all.filter((x) => offices.includes(x.office) && x.e.day >= from && x.e.day <= to);
  // Dossiers: received in the period at an office of the subtree.
  const ds = dossiers.filter((d) => offices.includes(d.office) && d.day >= from && d.day <= to);

  const history = ticketHistory(all);
  const byOffice = tally(inScope, history, (o) => o);
  // A transfer is received by the service it goes to.
  const byService = tally(inScope, history, (_o, e) =>
    e.type === 'ticket.transferred'
      ? String(e.data.toService)
      : String((e.data as { service?: string }).service ?? ''),
  );
  // Issues have no counter yet; calls, finishes, no-shows and ratings happen at one.
  const byCounter = tally(inScope, history, (o, e) =>
    e.type === 'ticket.issued' || !('counter' in e.data) ? null : `${o}/${String(e.data.counter)}`,
  );
  // A no-show counts for the clerk who called the ticket.
  const clerkOf = new Map<string, string>();
  const byClerk = tally(inScope, history, (o, e) => {
    const d = e.data as { ticketId?: string; clerk?: { id: string } | null };
    if (e.type === 'ticket.called' && d.clerk) clerkOf.set(`${o}/${d.ticketId}`, d.clerk.id);
    if (e.type === 'ticket.issued' || e.type === 'ticket.transferred') return null;
    const clerk = d.clerk?.id ?? clerkOf.get(`${o}/${d.ticketId}`);
    return clerk ? `${o}/${clerk}` : null;
  });
  // By hour of issue: issued, and the waits of the tickets issued in that hour.
  const issuedAt = new Map<string, string>();
  const byHour = tally(inScope, history, (o, e, first) => {
    const id = `${o}/${String((e.data as { ticketId?: string }).ticketId)}`;
    if (e.type === 'ticket.issued') {
      issuedAt.set(id, e.at);
      return String(hourOf(e.at)).padStart(2, '0');
    }
    return first ? String(hourOf(issuedAt.get(id) as string)).padStart(2, '0') : null;
  });

  const split = (k: string) => k.split('/') as [string, string];
  return {
    unit,
    unitName: UNIT_NAMES[unit],
    from,
    to,
    waitTargetMin: target,
    waitTargetExact: (WAIT_BOUNDS_MIN as readonly number[]).includes(target),
    waitBucketsMin: [...WAIT_BOUNDS_MIN],
    totals: figuresOf(tally(inScope, history, () => 'all').get('all') ?? empty(), ds, target, 'office'),
    // The child units, each with its subtree's figures, by name.
    byUnit: byName(
      (UNIT_CHILDREN[unit] as string[]).map((child) => {
        const childOffices = UNIT_OFFICES[child] as string[];
        const mine = inScope.filter((x) => childOffices.includes(x.office));
        return {
          unit: child,
          name: UNIT_NAMES[child] as string,
          kind: UNIT_KIND[child],
          offices: childOffices.length,
          ...figuresOf(
            tally(mine, history, () => 'all').get('all') ?? empty(),
            ds.filter((d) => childOffices.includes(d.office)),
            target,
            'office',
          ),
        };
      }),
    ),
    byService: byName(
      keysOf(
        byService.keys(),
        ds.map((d) => d.service),
      ).map((service) => ({
        service,
        name: serviceName(unit, service),
        ...figuresOf(
          byService.get(service) ?? empty(),
          ds.filter((d) => d.service === service),
          target,
          'service',
        ),
      })),
    ),
    // Every office of the subtree (one without tickets too), by name.
    byOffice: byName(
      offices.map((office) => ({
        office,
        name: OFFICE_NAMES[office] as string,
        unit: OFFICE_UNIT[office],
        unitName: UNIT_NAMES[OFFICE_UNIT[office] as string],
        ...figuresOf(
          byOffice.get(office) ?? empty(),
          ds.filter((d) => d.office === office),
          target,
          'office',
        ),
      })),
    ),
    offices: { total: offices.length, limit: 500 },
    byCounter: [...byCounter.keys()]
      .map(split)
      .sort(([o1, c1], [o2, c2]) => o1.localeCompare(o2) || Number(c1) - Number(c2))
      .map(([office, counter]) => ({
        office,
        officeName: OFFICE_NAMES[office],
        counter: Number(counter),
        ...figuresOf(byCounter.get(`${office}/${counter}`) as Tally, [], target, 'counter'),
      })),
    byClerk: keysOf(byClerk.keys())
      .map(split)
      .map(([office, clerk]) => ({
        office,
        officeName: OFFICE_NAMES[office],
        clerk,
        name: clerkName(office, clerk),
        ...figuresOf(byClerk.get(`${office}/${clerk}`) as Tally, [], target, 'counter'),
      })),
    // Each office sends dossiers of its own agency: no link crosses units here (dossiers.test.ts has them).
    crossUnitLinks: [],
    crossUnitLinksTruncated: false,
    byHour: keysOf(byHour.keys()).map((h) => {
      const x = byHour.get(h) as Tally;
      const waits = x.waits.map((w) => w / 60_000).sort((a, b) => a - b);
      return {
        hour: Number(h),
        issued: x.issued,
        waitCount: waits.length,
        waitMeanMin: close(mean(waits)),
        waitP50AtMostMin: bucketAt(waits, 50),
        waitP90AtMostMin: bucketAt(waits, 90),
      };
    }),
  };
}

for (const kind of DATABASES) {
  describe.skipIf(!kind.available)(`reports (${kind.title})`, () => {
    let db: TestDatabase;
    let cloud: CloudService;
    let token: string;
    const all: { office: string; e: EventEnvelope }[] = [];
    const dossiers: Dossier[] = [];

    beforeAll(async () => {
      db = kind.create();
      cloud = await startTestCloud(db);
      await seedTree(cloud);
      token = await adminToken(cloud, 'tinh', 'dn', 'viewer');
      const integration = await createIntegration(
        cloud.store.db,
        MASTER_KEY,
        { name: 'MCĐT', unitId: 'dn' },
        Date.now(),
      );
      // Every office's config names the services (a managed office's effective config in the fleet).
      const effectiveOf = (office: string) =>
        JSON.stringify({
          services: Object.entries(SERVICE_NAMES_OF[office] ?? {}).map(([id, name]) => ({ id, name })),
        });
      for (const office of Object.keys(PLAN))
        await cloud.store.db
          .insertInto('fleet_offices')
          .values({
            office_id: office,
            overrides: '{}',
            revision: 1,
            effective: effectiveOf(office),
            hash: 'test',
            updated_at: Date.now(),
            updated_by: 'test',
          })
          .execute();
      const rnd = seededRandom(99);
      for (const [office, plan] of Object.entries(PLAN)) {
        const events = simulateOfficeDays(plan.days, {
          seed: plan.seed,
          tickets: plan.tickets,
          // xay-dung has no counter: its tickets wait all day (issued, never called).
          services: [...DEFAULT_SERVICES, 'xay-dung'],
          counters: COUNTERS_OF(office),
          agency: plan.agency,
          // Half the no-shows come back and are served; one ticket in ten is transferred to another service.
          returnRate: 0.5,
          transferRate: 0.1,
          // Three services in ten are timed from the call (serve not pressed).
          implicitRate: 0.3,
          // o-hkb's rating tablets have the five levels, the others are 4-button boxes.
          scaleMax: office === 'o-hkb' ? 5 : 4,
          // o-hkb's citizens all come in the first hour: a queue, so its waits differ from the others'.
          arrivalMin: office === 'o-hkb' ? 60 : undefined,
        });
        for (const e of events) all.push({ office, e });
        const box = await enrolledBox(cloud, office);
        for (let i = 0; i < events.length; i += 1000) {
          const r = await cloud.app.inject({
            method: 'POST',
            url: '/api/v1/uplink/events',
            headers: { authorization: `Bearer ${box.token}` },
            payload: { events: events.slice(i, i + 1000) },
          });
          expect(r.json().applied).toBe(Math.min(1000, events.length - i));
        }
        // The province sends most linked dossiers (some before, here after, their link); due in 3 days.
        for (const e of events.filter((x) => x.type === 'dossier.linked')) {
          if (rnd() < 0.2) continue; // not (yet) known to the province
          const receivedAt = Date.parse(e.at);
          const dueAt = receivedAt + 3 * 86_400_000;
          const r = rnd();
          const returnedAt = r < 0.3 ? null : r < 0.9 ? receivedAt + 2 * 86_400_000 : dueAt + 86_400_000;
          const d = e.data as { code: string; service: string };
          dossiers.push({
            office,
            code: d.code,
            service: d.service,
            day: e.day,
            receivedAt,
            dueAt,
            returnedAt,
          });
          const body = JSON.stringify({
            procedure: '1.000894',
            service: d.service,
            receivedAt: new Date(receivedAt).toISOString(),
            dueAt: new Date(dueAt).toISOString(),
            returnedAt: returnedAt === null ? null : new Date(returnedAt).toISOString(),
            status: returnedAt === null ? 'processing' : 'returned',
          });
          const url = `/api/v1/dossiers/${d.code}`;
          const ts = String(Math.floor(Date.now() / 1000));
          const res = await cloud.app.inject({
            method: 'PUT',
            url,
            headers: {
              'content-type': 'application/json',
              'x-lobby-key': integration.keyId,
              'x-lobby-timestamp': ts,
              'x-lobby-signature': hmacHex(integration.secret, hmacPayload(ts, 'PUT', url, body)),
            },
            payload: body,
          });
          expect(res.statusCode, res.body).toBe(200);
        }
      }
    }, 120_000);
    afterAll(async () => {
      await cloud?.close();
      await db?.cleanup();
    });

    const report = (unit: string, from: string, to: string, target = TARGET): Promise<FullReport> =>
      fullReport(cloud, token, `unit=${unit}&from=${from}&to=${to}&waitTargetMin=${target}`);

    for (const [unit, from, to, target, what] of [
      ['dn', '2026-01-30', '2026-03-01', 15, 'February by month, the days at either end by day'],
      ['dn', '2026-02-01', '2026-02-28', 10, 'exactly one month'],
      ['dn', '2026-01-31', '2026-02-28', 16, 'a day, then a month; a target between two bucket bounds'],
      ['dn', '2026-02-01', '2026-03-01', 20, 'a month, then a day'],
      [
        'dn',
        '2026-02-03',
        '2026-02-28',
        15,
        'a month minus its first two days: two offices sent only those days, and show nothing',
      ],
      ['dn', '2025-12-01', '2026-03-31', 15, 'four whole months across the end of a year'],
      ['lc', '2026-01-31', '2026-02-02', 5, 'days across a month boundary'],
      ['hkb', '2026-02-02', '2026-02-02', 15, 'one commune, one day'],
      ['hc', '2026-02-10', '2026-03-31', 15, 'a partial month, then a month with one day of data'],
      ['hc', '2026-02-10', '2026-02-20', 1, 'days inside one month'],
      [
        'hc',
        '2026-02-01',
        '2026-02-14',
        15,
        'the first half of a month: not the whole month, which has data after it',
      ],
    ] as const) {
      it(`${unit} ${from}..${to} (${what}): every figure of the report matches the simulated days`, async () => {
        const r = await report(unit, from, to, target);
        const x = expectedReport(all, dossiers, unit, from, to, target);
        expect(x.totals.issued).toBeGreaterThan(0);
        // Part by part, so a failure names the breakdown; together they are the whole report.
        const { totals, byUnit, byOffice, offices, byService, byCounter, byClerk, byHour, ...rest } = r;
        expect(rest, 'unit, period, target, buckets, cross-unit links').toStrictEqual({
          unit: x.unit,
          unitName: x.unitName,
          from: x.from,
          to: x.to,
          waitTargetMin: x.waitTargetMin,
          waitTargetExact: x.waitTargetExact,
          waitBucketsMin: x.waitBucketsMin,
          crossUnitLinks: x.crossUnitLinks,
          crossUnitLinksTruncated: x.crossUnitLinksTruncated,
        });
        expect(totals, 'totals').toStrictEqual(x.totals);
        expect(byUnit, 'by child unit').toStrictEqual(x.byUnit);
        expect(byOffice, 'by office').toStrictEqual(x.byOffice);
        expect(offices, 'offices').toStrictEqual(x.offices);
        expect(byService, 'by service').toStrictEqual(x.byService);
        expect(byCounter, 'by counter').toStrictEqual(x.byCounter);
        expect(byClerk, 'by clerk').toStrictEqual(x.byClerk);
        expect(byHour, 'by hour').toStrictEqual(x.byHour);
      });
    }

    it('ranks the child units by a figure, drills down to one of them, and pages the clerks', async () => {
      const get = async (url: string) => {
        const r = await cloud.app.inject({
          method: 'GET',
          url,
          headers: { authorization: `Bearer ${token}` },
        });
        return { status: r.statusCode, body: r.json() };
      };
      const q = 'unit=dn&from=2026-01-30&to=2026-03-01';
      const full = await fullReport(cloud, token, q);
      // The province's two child units, best satisfaction first; a unit's row is its own report's totals.
      const ranked = (await get(`/api/v1/reports?${q}&sort=indexPct&order=desc`)).body as Report;
      expect(ranked.byUnit.map((u) => u.unit)).toHaveLength(2);
      const idx = ranked.byUnit.map((u) => u.satisfaction.indexPct as number);
      expect(idx[0]).toBeGreaterThanOrEqual(idx[1] as number);
      const asc = (await get(`/api/v1/reports?${q}&sort=indexPct&order=asc`)).body as Report;
      expect(asc.byUnit.map((u) => u.unit)).toEqual([...ranked.byUnit.map((u) => u.unit)].reverse());
      for (const u of full.byUnit) {
        const { unit, name, kind, offices, ...figures } = u;
        const down = (await get(`/api/v1/reports?unit=${unit}&from=2026-01-30&to=2026-03-01`)).body as Report;
        expect([down.unitName, kind, offices]).toEqual([name, UNIT_KIND[unit], UNIT_OFFICES[unit]?.length]);
        expect(down.totals, `the ${unit} row is ${unit}'s report`).toStrictEqual(figures);
      }
      // The offices in the order asked for: the longest P90 wait first.
      const slow = (await get(`/api/v1/reports?${q}&sort=waitP90&order=desc&limit=2`)).body as Report;
      expect(slow.offices).toEqual({ total: 3, limit: 2 });
      expect(slow.byOffice).toHaveLength(2);
      const p90 = full.byOffice.map((o) => o.wait.p90AtMostMin as number).sort((a, b) => b - a);
      expect(slow.byOffice.map((o) => o.wait.p90AtMostMin)).toEqual(p90.slice(0, 2));
      // The clerks five at a time: the pages together are every clerk once, by office name then name.
      const pages = [];
      for (let offset = 0; offset < 12; offset += 5) {
        const page = (await get(`/api/v1/reports/rows?${q}&by=clerk&offset=${offset}&limit=5`)).body;
        expect([page.total, page.offset, page.limit, page.by]).toEqual([12, offset, 5, 'clerk']);
        pages.push(...(page.rows as FullReport['byClerk']));
      }
      expect(pages.map((c) => `${c.officeName}|${c.name}`)).toEqual(
        full.byClerk
          .map((c) => [c.officeName, c.name])
          .sort(
            ([o1, n1], [o2, n2]) =>
              vi.compare(o1 as string, o2 as string) || vi.compare(n1 as string, n2 as string),
          )
          .map(([o, n]) => `${o}|${n}`),
      );
      expect(new Set(pages.map((c) => `${c.office}/${c.clerk}`)).size).toBe(12);
      // Over the page limit, or an unknown order: refused, saying why.
      const big = await get(`/api/v1/reports/rows?${q}&by=clerk&limit=${REPORT_PAGE_MAX_ROWS + 1}`);
      expect([big.status, big.body.code]).toEqual([400, 'invalid_request']);
      expect(big.body.message).toContain(String(REPORT_PAGE_MAX_ROWS));
      const odd = await get(`/api/v1/reports?${q}&sort=mood`);
      expect([odd.status, odd.body.code]).toEqual([400, 'invalid_request']);
    });

    it('orders every breakdown by each figure both ways: empty figures last, equal ones by name', async () => {
      // What each sort key orders by, as the API documents it (cloud/README.md, Reports).
      const FIGURE: Record<SortKey, ((r: Figures) => number | null) | null> = {
        name: null,
        received: (r) => r.received,
        served: (r) => r.served,
        noShow: (r) => r.noShow,
        waitMean: (r) => r.wait.meanMin,
        waitP90: (r) => r.wait.p90AtMostMin,
        withinTarget: (r) => r.wait.withinTargetPct,
        serviceMean: (r) => r.serviceMeanMin,
        ratings: (r) => r.satisfaction.ratings,
        indexPct: (r) => r.satisfaction.indexPct,
        meanScore: (r) => r.satisfaction.meanScore,
        onTimeRate: (r) => r.dossiers.onTimeRate,
      };
      type Any = Figures & Record<string, unknown>;
      // The name a row goes by, part by part; and which row it is.
      const NAME: Record<Breakdown, (r: Any) => (string | number)[]> = {
        unit: (r) => [r.name as string, r.unit as string],
        office: (r) => [r.name as string, r.office as string],
        service: (r) => [r.name as string, r.service as string],
        counter: (r) => [r.officeName as string, r.counter as number],
        clerk: (r) => [r.officeName as string, r.name as string, r.clerk as string],
      };
      const id = (by: Breakdown, r: Any) =>
        by === 'counter' || by === 'clerk' ? `${String(r.office)}/${String(r[by])}` : String(r[by]);
      const byName = (by: Breakdown) => (a: Any, b: Any) => {
        const [x, y] = [NAME[by](a), NAME[by](b)];
        for (let i = 0; i < x.length; i++) {
          const c =
            typeof x[i] === 'number'
              ? (x[i] as number) - (y[i] as number)
              : vi.compare(x[i] as string, y[i] as string);
          if (c !== 0) return c;
        }
        return 0;
      };
      const q = 'unit=dn&from=2026-01-30&to=2026-03-01';
      let mixed = 0;
      let ties = 0;
      const varied = new Set<SortKey>();
      for (const by of BREAKDOWNS)
        for (const sort of SORT_KEYS)
          for (const order of ['asc', 'desc'] as const) {
            const res = await cloud.app.inject({
              method: 'GET',
              url: `/api/v1/reports/rows?${q}&by=${by}&sort=${sort}&order=${order}&limit=500`,
              headers: { authorization: `Bearer ${token}` },
            });
            expect(res.statusCode, res.body).toBe(200);
            const rows = res.json<{ rows: Any[] }>().rows;
            expect(rows.length, by).toBeGreaterThan(1);
            const figure = FIGURE[sort];
            const dir = order === 'desc' ? -1 : 1;
            const want = [...rows].sort((a, b) => {
              if (!figure) return byName(by)(a, b) * dir;
              const [x, y] = [figure(a), figure(b)];
              if (x !== y) {
                if (x === null) return 1;
                if (y === null) return -1;
                return (x - y) * dir;
              }
              return byName(by)(a, b);
            });
            expect(
              rows.map((r) => id(by, r)),
              `${by} by ${sort} ${order}`,
            ).toEqual(want.map((r) => id(by, r)));
            if (figure) {
              const values = rows.map(figure);
              if (values.includes(null) && values.some((v) => v !== null)) mixed++;
              if (new Set(values).size < values.length) ties++;
              if (new Set(values.filter((v) => v !== null)).size > 1) varied.add(sort);
            }
          }
      // The data holds what makes the order matter: figures some rows lack, and equal figures.
      expect(mixed).toBeGreaterThan(0);
      expect(ties).toBeGreaterThan(0);
      // and, for every figure, rows that differ by it: else the order by it is only the order by name.
      expect([...varied].sort()).toEqual(SORT_KEYS.filter((k) => FIGURE[k]).sort());
    });

    it('no group serves or misses more citizens than it received; no-shows count citizens, not marks', async () => {
      const r = await report('dn', '2026-01-30', '2026-03-01');
      const groups = [r.totals, ...r.byUnit, ...r.byOffice, ...r.byService, ...r.byCounter, ...r.byClerk];
      const over = groups.filter((g) => g.served + g.noShow > g.received);
      expect(over, 'groups with served + no-show > received').toEqual([]);
      // The simulated days have no-shows who came back: fewer citizens absent than no-show marks.
      expect(r.totals.noShowMarks).toBeGreaterThan(r.totals.noShow);
      // and transfers: some service received more tickets than were issued for it.
      expect(r.byService.some((x) => x.received > (x.issued as number))).toBe(true);
      // Both kinds of rating device: 4-button boxes have no "Rất không hài lòng", the 5-level tablets do.
      expect(r.totals.satisfaction.levels.every((n) => n > 0)).toBe(true);
    });

    it('exports each breakdown as CSV with the figures of the report, rounded to the hundredth', async () => {
      const q = 'unit=dn&from=2026-01-30&to=2026-03-01&waitTargetMin=16';
      const rep = await fullReport(cloud, token, q);
      const csv = async (by: string) => {
        const r = await cloud.app.inject({
          method: 'GET',
          url: `/api/v1/reports.csv?${q}&by=${by}`,
          headers: { authorization: `Bearer ${token}` },
        });
        expect(r.statusCode, r.body).toBe(200);
        expect(r.headers['content-type']).toContain('text/csv');
        expect(r.headers['content-disposition']).toBe(
          `attachment; filename="report-dn-2026-01-30-2026-03-01-${by}.csv"`,
        );
        expect(r.body.startsWith('\ufeff'), 'a BOM, for spreadsheets to read UTF-8').toBe(true);
        // No quoted cell holds a comma or a line break here: a plain split is enough.
        return r.body
          .slice(1)
          .trimEnd()
          .split('\n')
          .map((line) => line.split(','));
      };
      // A ratio to the hundredth, as a spreadsheet reads it; an empty cell where there is nothing to divide.
      const cell = (v: number | null) => (v === null ? '' : String(Math.round(v * 100) / 100));
      const figures = (f: Report['totals']) => [
        f.issued === null ? '' : String(f.issued),
        String(f.received),
        String(f.served),
        String(f.noShow),
        String(f.noShowMarks),
        cell(f.wait.p50AtMostMin),
        cell(f.wait.p90AtMostMin),
        cell(f.wait.meanMin),
        cell(f.wait.withinTargetPct),
        cell(f.serviceMeanMin),
        cell(f.serviceFromCallPct),
        String(f.satisfaction.ratings),
        ...f.satisfaction.levels.map(String),
        cell(f.satisfaction.indexPct),
        cell(f.satisfaction.meanScore),
        String(f.dossiers.received),
        String(f.dossiers.returned),
        String(f.dossiers.onTime),
        cell(f.dossiers.onTimeRate),
      ];
      const figureHeader = [
        'issued',
        'received',
        'served',
        'no_show_citizens',
        'no_show_marks',
        'wait_p50_at_most_min',
        'wait_p90_at_most_min',
        'wait_mean_min',
        'within_16_min_pct',
        'service_mean_min',
        'service_from_call_pct',
        'ratings',
        'level_1_very_dissatisfied',
        'level_2_dissatisfied',
        'level_3_neutral',
        'level_4_satisfied',
        'level_5_very_satisfied',
        'satisfaction_index_pct',
        'mean_score_0_100',
        'dossiers_received',
        'dossiers_returned',
        'dossiers_on_time',
        'on_time_rate_pct',
      ];
      expect(await csv('unit')).toEqual([
        ['unit', 'name', 'kind', 'offices', ...figureHeader],
        ...rep.byUnit.map((x) => [x.unit, x.name, x.kind, String(x.offices), ...figures(x)]),
      ]);
      expect(await csv('office')).toEqual([
        ['office', 'name', 'unit', 'unit_name', ...figureHeader],
        ...rep.byOffice.map((x) => [x.office, x.name, x.unit, x.unitName, ...figures(x)]),
      ]);
      expect(await csv('service')).toEqual([
        ['service', 'name', ...figureHeader],
        ...rep.byService.map((x) => [x.service, x.name, ...figures(x)]),
      ]);
      expect(await csv('counter')).toEqual([
        ['office', 'office_name', 'counter', ...figureHeader],
        // By office name, then counter number (the default order, as in the console).
        ...[...rep.byCounter]
          .sort((a, b) => vi.compare(a.officeName, b.officeName) || a.counter - b.counter)
          .map((x) => [x.office, x.officeName, String(x.counter), ...figures(x)]),
      ]);
      const clerks = await csv('clerk');
      expect(clerks).toEqual([
        ['office', 'office_name', 'clerk', 'name', ...figureHeader],
        ...[...rep.byClerk]
          .sort((a, b) => vi.compare(a.officeName, b.officeName) || vi.compare(a.name, b.name))
          .map((x) => [x.office, x.officeName, x.clerk, x.name, ...figures(x)]),
      ]);
      expect(clerks).toHaveLength(1 + 12); // 3 offices × 4 clerks
      expect(await csv('hour')).toEqual([
        ['hour', 'issued', 'waits', 'wait_mean_min', 'wait_p50_at_most_min', 'wait_p90_at_most_min'],
        ...rep.byHour.map((h) => [
          String(h.hour),
          String(h.issued),
          String(h.waitCount),
          cell(h.waitMeanMin),
          cell(h.waitP50AtMostMin),
          cell(h.waitP90AtMostMin),
        ]),
      ]);
      // The figures really are fractions somewhere, so the rounding is seen.
      expect(rep.totals.wait.meanMin).not.toBe(Math.round((rep.totals.wait.meanMin as number) * 100) / 100);
      const bad = await cloud.app.inject({
        method: 'GET',
        url: `/api/v1/reports.csv?${q}&by=planet`,
        headers: { authorization: `Bearer ${token}` },
      });
      expect([bad.statusCode, bad.json().code]).toEqual([400, 'invalid_request']);
    });
  });
}
