// Report figures against simulated office days: the events are generated here with a seeded generator, the
// expected figures computed directly from those events (nothing of the cloud's code), and compared with the
// report API for several subtrees and periods (whole months, single days, and both mixed). SQLite and PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIntegration } from '../../cloud/admin/provisioning.js';
import { hmacHex } from '../../cloud/auth/secrets.js';
import { WAIT_BOUNDS_MIN } from '../../cloud/db/rollup-columns.js';
import type { Report } from '../../cloud/reports/reports.js';
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
  seedTree,
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
  'o-hc': { days: days('2026-01-30', '2026-03-01'), tickets: 35, seed: 1, agency: '000.00.01.H12' },
  'o-hkb': { days: days('2026-01-31', '2026-02-02'), tickets: 120, seed: 2, agency: '000.00.02.H12' },
  'o-hhb': { days: days('2026-01-31', '2026-02-02'), tickets: 90, seed: 3, agency: '000.00.03.H12' },
};
const UNIT_OFFICES: Record<string, string[]> = {
  dn: ['o-hc', 'o-hkb', 'o-hhb'],
  lc: ['o-hkb', 'o-hhb'],
  hkb: ['o-hkb'],
  hc: ['o-hc'],
};
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

// ---- the expected figures, straight from the events ------------------------------------------------

const bucketOf = (min: number) => WAIT_BOUNDS_MIN.find((b) => min <= b) ?? 1440;
function nearestRank(sorted: number[], p: number): number | null {
  if (!sorted.length) return null;
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}
const hourOf = (iso: string) => (new Date(iso).getUTCHours() + 7) % 24;

interface Expected {
  issued: number;
  served: number;
  noShow: number;
  waits: number[];
  serviceMs: number[];
  scores: { score: number; max: number }[];
}
const empty = (): Expected => ({ issued: 0, served: 0, noShow: 0, waits: [], serviceMs: [], scores: [] });

function expectedBy(
  events: { office: string; e: EventEnvelope }[],
  key: (office: string, e: EventEnvelope, firstCall: boolean) => string | null,
) {
  const out = new Map<string, Expected>();
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
    if (e.type === 'ticket.finished') {
      get(k).served++;
      get(k).serviceMs.push(d.serviceMs as number);
    }
    if (e.type === 'ticket.no_show') get(k).noShow++;
    if (first) get(k).waits.push(d.waitedMs as number);
    if (e.type === 'rating.submitted')
      get(k).scores.push({ score: d.score as number, max: d.scaleMax as number });
  }
  return out;
}

function check(label: string, got: Report['totals'], x: Expected): void {
  const waits = x.waits.map((w) => w / 60_000).sort((a, b) => a - b);
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
  expect(got.issued, `${label} issued`).toBe(x.issued);
  expect(got.served, `${label} served`).toBe(x.served);
  expect(got.noShow, `${label} no-show`).toBe(x.noShow);
  expect(got.wait.count, `${label} waits`).toBe(waits.length);
  const p50 = nearestRank(waits, 50);
  const p90 = nearestRank(waits, 90);
  expect(got.wait.p50Min, `${label} p50`).toBe(p50 === null ? null : bucketOf(p50));
  expect(got.wait.p90Min, `${label} p90`).toBe(p90 === null ? null : bucketOf(p90));
  const within = waits.length ? (waits.filter((w) => w <= TARGET).length * 100) / waits.length : null;
  if (within === null) expect(got.wait.withinTargetPct).toBeNull();
  else expect(got.wait.withinTargetPct, `${label} within target`).toBeCloseTo(within, 6);
  const sm = mean(x.serviceMs);
  if (sm === null) expect(got.serviceMeanMin).toBeNull();
  else expect(got.serviceMeanMin, `${label} service time`).toBeCloseTo(sm / 60_000, 6);
  expect(got.satisfaction.ratings, `${label} ratings`).toBe(x.scores.length);
  const dist = Array.from({ length: 10 }, (_, i) => x.scores.filter((s) => s.score === i + 1).length);
  expect(got.satisfaction.distribution, `${label} distribution`).toEqual(dist);
  if (x.scores.length) {
    const satisfied = x.scores.filter((s) => s.score > (s.max + 1) / 2).length;
    expect(got.satisfaction.satisfiedPct, `${label} satisfied`).toBeCloseTo(
      (satisfied * 100) / x.scores.length,
      6,
    );
    const index = mean(x.scores.map((s) => ((s.score - 1) / (s.max - 1)) * 100)) as number;
    expect(got.satisfaction.index, `${label} index`).toBeCloseTo(index, 2);
  }
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
      const rnd = seededRandom(99);
      for (const [office, plan] of Object.entries(PLAN)) {
        const events = simulateOfficeDays(plan.days, {
          seed: plan.seed,
          tickets: plan.tickets,
          services: DEFAULT_SERVICES,
          counters: DEFAULT_COUNTERS,
          agency: plan.agency,
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

    const report = async (unit: string, from: string, to: string): Promise<Report> => {
      const r = await cloud.app.inject({
        method: 'GET',
        url: `/api/v1/reports?unit=${unit}&from=${from}&to=${to}&waitTargetMin=${TARGET}`,
        headers: { authorization: `Bearer ${token}` },
      });
      expect(r.statusCode, r.body).toBe(200);
      return r.json<Report>();
    };

    for (const [unit, from, to] of [
      ['dn', '2026-01-30', '2026-03-01'], // February by month, the rest by day
      ['dn', '2026-02-01', '2026-02-28'], // exactly one month
      ['lc', '2026-01-31', '2026-02-02'], // days across a month boundary
      ['hkb', '2026-02-02', '2026-02-02'], // one commune, one day
      ['hc', '2026-02-10', '2026-03-31'], // a partial month, then a month with one day of data
    ] as const) {
      it(`${unit} ${from}..${to}: totals and every breakdown match the simulated days`, async () => {
        const offices = UNIT_OFFICES[unit] as string[];
        const inScope = all.filter((x) => offices.includes(x.office) && x.e.day >= from && x.e.day <= to);
        const r = await report(unit, from, to);
        check('totals', r.totals, expectedBy(inScope, () => 'all').get('all') ?? empty());

        const byOffice = expectedBy(inScope, (o) => o);
        expect(
          r.byOffice
            .filter((x) => x.issued > 0)
            .map((x) => x.office)
            .sort(),
        ).toEqual([...byOffice.keys()].sort());
        for (const x of r.byOffice)
          if (byOffice.has(x.office)) check(`office ${x.office}`, x, byOffice.get(x.office)!);

        const byService = expectedBy(inScope, (_o, e) =>
          String((e.data as { service?: string }).service ?? ''),
        );
        for (const x of r.byService) check(`service ${x.service}`, x, byService.get(x.service) ?? empty());

        // Issues have no counter yet; calls, finishes, no-shows and ratings happen at one.
        const atCounter = (o: string, e: EventEnvelope) =>
          e.type === 'ticket.issued' || !('counter' in e.data) ? null : `${o}/${String(e.data.counter)}`;
        const byCounter = expectedBy(inScope, (o, e) => atCounter(o, e));
        expect(r.byCounter.map((x) => `${x.office}/${x.counter}`).sort()).toEqual(
          [...byCounter.keys()].sort(),
        );
        for (const x of r.byCounter)
          check(`counter ${x.office}/${x.counter}`, x, byCounter.get(`${x.office}/${x.counter}`)!);

        const clerkOf = new Map<string, string>();
        const byClerk = expectedBy(inScope, (o, e) => {
          const d = e.data as { ticketId?: string; clerk?: { id: string } | null };
          if (e.type === 'ticket.called' && d.clerk) clerkOf.set(`${o}/${d.ticketId}`, d.clerk.id);
          if (
            e.type === 'ticket.issued' ||
            e.type === 'ticket.serving' ||
            e.type === 'ticket.recalled' ||
            e.type === 'dossier.linked'
          )
            return null;
          const clerk = d.clerk?.id ?? clerkOf.get(`${o}/${d.ticketId}`);
          return clerk ? `${o}/${clerk}` : null;
        });
        expect(r.byClerk.map((x) => `${x.office}/${x.clerk}`).sort()).toEqual([...byClerk.keys()].sort());
        for (const x of r.byClerk)
          check(`clerk ${x.office}/${x.clerk}`, x, byClerk.get(`${x.office}/${x.clerk}`)!);
        expect(r.byClerk.find((x) => x.clerk === 'cc01')?.name).toBe('Nguyễn Thị Lan');

        // By hour of issue: issued, and the waits of the tickets issued in that hour.
        const issuedAt = new Map<string, string>();
        const byHour = expectedBy(inScope, (o, e, first) => {
          const id = `${o}/${String((e.data as { ticketId?: string }).ticketId)}`;
          if (e.type === 'ticket.issued') {
            issuedAt.set(id, e.at);
            return String(hourOf(e.at));
          }
          return first ? String(hourOf(issuedAt.get(id) as string)) : null;
        });
        expect(r.byHour.map((h) => String(h.hour)).sort()).toEqual([...byHour.keys()].sort());
        for (const h of r.byHour) {
          const x = byHour.get(String(h.hour))!;
          expect(h.issued).toBe(x.issued);
          expect(h.waitCount).toBe(x.waits.length);
          const sorted = x.waits.map((w) => w / 60_000).sort((a, b) => a - b);
          expect(h.waitP90Min).toBe(sorted.length ? bucketOf(nearestRank(sorted, 90) as number) : null);
        }

        // Dossiers: received in the period at an office of the subtree; on time = returned by the due date.
        const ds = dossiers.filter((d) => offices.includes(d.office) && d.day >= from && d.day <= to);
        const returned = ds.filter((d) => d.returnedAt !== null);
        const onTime = returned.filter((d) => (d.returnedAt as number) <= d.dueAt).length;
        expect(r.totals.dossiers).toEqual({
          received: ds.length,
          returned: returned.length,
          onTime,
          late: returned.length - onTime,
          onTimeRate: returned.length ? (onTime * 100) / returned.length : null,
        });
        for (const s of r.byService)
          expect(s.dossiers.received).toBe(ds.filter((d) => d.service === s.service).length);
      });
    }

    it('exports each breakdown as CSV', async () => {
      const r = await cloud.app.inject({
        method: 'GET',
        url: '/api/v1/reports.csv?unit=lc&from=2026-01-31&to=2026-02-02&by=clerk',
        headers: { authorization: `Bearer ${token}` },
      });
      expect(r.statusCode).toBe(200);
      expect(r.headers['content-type']).toContain('text/csv');
      const lines = r.body
        .replace(/^\ufeff/, '')
        .trim()
        .split('\n');
      expect(lines[0]).toMatch(/^office,clerk,name,issued,served,no_show,wait_p50_min,wait_p90_min,/);
      expect(lines).toHaveLength(1 + 8); // 2 offices × 4 clerks
      expect(r.body).toContain('Nguyễn Thị Lan');
      const bad = await cloud.app.inject({
        method: 'GET',
        url: '/api/v1/reports.csv?unit=lc&from=2026-01-31&to=2026-02-02&by=planet',
        headers: { authorization: `Bearer ${token}` },
      });
      expect([bad.statusCode, bad.json().code]).toEqual([400, 'invalid_request']);
    });
  });
}
