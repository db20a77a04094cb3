// What an uplinked office day becomes in the cloud, for the cases a simulated day never has, written out by
// hand with the figures a clerk would count on paper: a no-show called back (one wait, two calls, no citizen
// absent), a finish
// without a clerk (the calling clerk's), a transfer, a ticket whose issue the cloud never saw, rating scales
// of 5 and 10, a clerk renamed, an office in another time zone, and a day sent in several batches. Checked
// where people see it: the report, the ticket's QR page (JSON), and the box's own events read back.
// On SQLite and PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOffice, createUnit } from '../../cloud/admin/provisioning.js';
import type { Report } from '../../cloud/reports/reports.js';
import type { CloudService } from '../../cloud/service.js';
import type { EventEnvelope, UplinkEventsPage } from '../../protocol/index.js';
import {
  DATABASES,
  adminToken,
  enrolledBox,
  fullReport,
  type FullReport,
  seedTree,
  startTestCloud,
  type TestDatabase,
} from './helpers.js';

const DAY = '2026-03-04';
const MIN = 60_000;
/** Epoch ms of HH:MM in Viet Nam (UTC+7) on DAY. */
const vn = (hh: number, mm: number) =>
  Date.parse(`${DAY}T${String(hh).padStart(2, '0')}:${String(mm).padStart(2, '0')}:00+07:00`);

const LAN = { id: 'cc01', name: 'Nguyễn Thị Lan' };
const MINH = { id: 'cc02', name: 'Trần Văn Minh' };

type Draft = [at: number, type: EventEnvelope['type'], data: Record<string, unknown>];
const envelopes = (firstSeq: number, drafts: Draft[]): EventEnvelope[] =>
  drafts.map(([at, type, data], i) => ({
    seq: firstSeq + i,
    type,
    at: new Date(at).toISOString(),
    day: DAY,
    data,
  }));

const A001 = { ticketId: `${DAY}/A001`, number: 'A001', service: 'van-thu' };
const A002 = { ticketId: `${DAY}/A002`, number: 'A002', service: 'van-thu' };
const B001 = { ticketId: `${DAY}/B001`, number: 'B001', service: 'chung-thuc' };
const C007 = { ticketId: `${DAY}/C007`, number: 'C007', service: 'ho-tich' };
const issued = (ref: typeof A001, n: number) => ({
  ...ref,
  seq: n,
  priority: null,
  ahead: 0,
  estimatedWaitMin: null,
  source: 'kiosk-1',
});

// The office day at o-hkb, in three batches: what a ticket did in one batch must be known in the next.
const BATCHES: Draft[][] = [
  [
    [vn(7, 0), 'day.started', { day: DAY, previousDay: null }],
    [vn(7, 1), 'counter.signed_in', { counter: 1, clerk: { id: 'cc01', name: 'Lan (tạm)' } }],
    [vn(7, 2), 'counter.signed_in', { counter: 2, clerk: MINH }],
    [vn(8, 0), 'ticket.issued', issued(A001, 1)],
  ],
  [
    // Lan (her full name now) calls A001 after 5 min.
    [vn(8, 5), 'ticket.called', { ...A001, counter: 1, clerk: LAN, how: 'next', waitedMs: 5 * MIN }],
    [vn(8, 6), 'ticket.recalled', { ...A001, counter: 1, recalls: 1 }],
    [vn(8, 7), 'ticket.issued', issued(B001, 1)],
  ],
  [
    // Not there: Lan's no-show; Minh calls A001 back later at counter 2. One wait (5 min), two calls.
    [vn(8, 8), 'ticket.no_show', { ...A001, counter: 1, recalls: 1, reason: 'clerk' }],
    [vn(8, 10), 'ticket.issued', issued(A002, 2)],
    [vn(8, 12), 'ticket.transferred', { ...B001, fromCounter: 2, toService: 'ho-tich', toCounter: null }],
    [vn(8, 30), 'ticket.called', { ...A001, counter: 2, clerk: MINH, how: 'number', waitedMs: 30 * MIN }],
    [vn(8, 31), 'ticket.serving', { ...A001, counter: 2, since: vn(8, 31), implicit: false }],
    [vn(8, 44), 'dossier.linked', { ...A001, counter: 2, code: '000.00.02.H12-260304-0001' }],
    // The clerk scans the same dossier again: one link, no refusal.
    [vn(8, 45), 'dossier.linked', { ...A001, counter: 2, code: '000.00.02.H12-260304-0001' }],
    // Finished without a clerk (a panel that does not say): the calling clerk's.
    [
      vn(8, 45),
      'ticket.finished',
      { ...A001, counter: 2, clerk: null, serviceMs: 15 * MIN, dossiers: [], implicit: false },
    ],
    [
      vn(8, 46),
      'rating.submitted',
      { ...A001, counter: 2, clerk: MINH, score: 10, scaleMax: 10, reasons: [] },
    ],
    // A ticket whose issue the cloud never saw (the box came with history): issued 40 min before its call.
    [vn(10, 20), 'ticket.called', { ...C007, counter: 1, clerk: LAN, how: 'next', waitedMs: 40 * MIN }],
    [vn(10, 22), 'ticket.serving', { ...C007, counter: 1, since: vn(10, 22), implicit: true }],
    [
      vn(10, 30),
      'ticket.finished',
      { ...C007, counter: 1, clerk: LAN, serviceMs: 8 * MIN, dossiers: [], implicit: true },
    ],
    [vn(10, 31), 'rating.submitted', { ...C007, counter: 1, clerk: LAN, score: 3, scaleMax: 5, reasons: [] }],
    [vn(11, 0), 'counter.paused', { counter: 1, reason: null }],
  ],
];

for (const kind of DATABASES) {
  describe.skipIf(!kind.available)(`ingest: what an office day becomes (${kind.title})`, () => {
    let db: TestDatabase;
    let cloud: CloudService;
    let admin: string;

    beforeAll(async () => {
      db = kind.create();
      cloud = await startTestCloud(db);
      await seedTree(cloud);
      admin = await adminToken(cloud, 'tinh', 'dn', 'viewer');
    });
    afterAll(async () => {
      await cloud?.close();
      await db?.cleanup();
    });

    const uplink = (token: string, events: EventEnvelope[]) =>
      cloud.app.inject({
        method: 'POST',
        url: '/api/v1/uplink/events',
        headers: { authorization: `Bearer ${token}` },
        payload: { events },
      });
    const report = (unit: string, from = DAY, to = DAY): Promise<FullReport> =>
      fullReport(cloud, admin, `unit=${unit}&from=${from}&to=${to}&waitTargetMin=10`);
    const ticket = async (office: string, number: string) => {
      const r = await cloud.app.inject({ method: 'GET', url: `/t/${office}/${DAY}/${number}?format=json` });
      expect(r.statusCode, r.body).toBe(200);
      return r.json<{
        number: string;
        service: string;
        state: string;
        counter: number | null;
        issuedAt: string;
        ahead: number | null;
        asOf: string;
      }>();
    };

    /** A new commune `id` under dn with its office o-`id`, and an enrolled box there. */
    const communeWithBox = async (id: string, place: string) => {
      await createUnit(
        cloud.store.db,
        { id, name: `Xã ${place}`, kind: 'commune', parentId: 'dn' },
        Date.now(),
      );
      await createOffice(cloud.store.db, { id: `o-${id}`, name: `Một cửa ${place}`, unitId: id }, Date.now());
      return enrolledBox(cloud, `o-${id}`);
    };

    // Each test sends its own day to its own office (a mutation run may run one test alone), in a test
    // rather than beforeAll, so it knows which test each line of ingest serves.
    /** Sends the office day in its batches; each is applied whole, in order. */
    const sendDay = async (office: string) => {
      const box = await enrolledBox(cloud, office);
      const sent: EventEnvelope[] = [];
      for (const drafts of BATCHES) {
        const events = envelopes(sent.length + 1, drafts);
        expect((await uplink(box.token, events)).json()).toEqual({
          ackedSeq: sent.length + events.length,
          applied: events.length,
          duplicates: 0,
          deferred: 0,
        });
        sent.push(...events);
      }
      return { box, sent };
    };

    it('counts a no-show called back once as a wait, twice as a call and not as a no-show, for the clerks who did each', async () => {
      await sendDay('o-hkb');
      const r = await report('hkb');
      // Waits: A001 5 min (its first call), C007 40 min. Service: 15 and 8 min. Ratings: 10/10 (Rất hài lòng)
      // and 3/5 (Bình thường). A001 was marked a no-show, came back and was served: no citizen was absent.
      expect(r.totals).toEqual({
        issued: 3,
        received: 3,
        called: 3,
        served: 2,
        noShow: 0,
        noShowMarks: 1,
        wait: { count: 2, meanMin: 22.5, p50AtMostMin: 5, p90AtMostMin: 40, withinTargetPct: 50 },
        serviceMeanMin: 11.5,
        serviceFromCallPct: 50, // C007's serve was not pressed: timed from its call
        satisfaction: {
          ratings: 2,
          levels: [0, 0, 1, 0, 1],
          indexPct: 50, // Rất hài lòng is satisfied; Bình thường, the middle of five, is not
          meanScore: 75, // (100 + 50) / 2
        },
        dossiers: { received: 0, returned: 0, onTime: 0, late: 0, onTimeRate: null },
      });
      const pick = (f: Report['totals']) => ({
        issued: f.issued,
        received: f.received,
        called: f.called,
        served: f.served,
        noShow: [f.noShow, f.noShowMarks],
        wait: f.wait,
        serviceMeanMin: f.serviceMeanMin,
        levels: f.satisfaction.levels.flatMap((n, i) => Array<number>(n).fill(i + 1)),
        satisfied: [f.satisfaction.indexPct, f.satisfaction.meanScore],
      });
      const noWait = {
        count: 0,
        meanMin: null,
        p50AtMostMin: null,
        p90AtMostMin: null,
        withinTargetPct: null,
      };
      // A001 waited 5 min for Lan at counter 1, who then marked it absent; Minh called it back at counter 2
      // (received there too) and served it. C007 waited 40 min for Lan at counter 1. Lan's 3 of 5 is not
      // satisfied (0 %, mean 50), Minh's 10 of 10 is (100 %, mean 100). No ticket is issued at a counter.
      const lan = {
        issued: null,
        received: 2,
        called: 2,
        served: 1,
        noShow: [0, 1],
        wait: { count: 2, meanMin: 22.5, p50AtMostMin: 5, p90AtMostMin: 40, withinTargetPct: 50 },
        serviceMeanMin: 8,
        levels: [3],
        satisfied: [0, 50],
      };
      const minh = {
        issued: null,
        received: 1,
        called: 1,
        served: 1,
        noShow: [0, 0],
        wait: noWait,
        serviceMeanMin: 15,
        levels: [5],
        satisfied: [100, 100],
      };
      expect(r.byClerk.map((c) => ({ clerk: c.clerk, name: c.name, ...pick(c) }))).toEqual([
        { clerk: 'cc01', name: LAN.name, ...lan },
        { clerk: 'cc02', name: MINH.name, ...minh },
      ]);
      expect(r.byCounter.map((c) => ({ counter: c.counter, ...pick(c) }))).toEqual([
        { counter: 1, ...lan },
        { counter: 2, ...minh },
      ]);
      // By service: B001 was issued for chung-thuc and transferred to ho-tich, so both received it; C007's
      // issue was never seen, so ho-tich served one ticket it received by transfer.
      expect(r.byService.map((s) => ({ service: s.service, ...pick(s) }))).toEqual([
        {
          service: 'chung-thuc',
          issued: 1,
          received: 1,
          called: 0,
          served: 0,
          noShow: [0, 0],
          wait: noWait,
          serviceMeanMin: null,
          levels: [],
          satisfied: [null, null],
        },
        {
          service: 'ho-tich',
          issued: 0,
          received: 1,
          called: 1,
          served: 1,
          noShow: [0, 0],
          wait: { count: 1, meanMin: 40, p50AtMostMin: 40, p90AtMostMin: 40, withinTargetPct: 0 },
          serviceMeanMin: 8,
          levels: [3],
          satisfied: [0, 50],
        },
        {
          service: 'van-thu',
          issued: 2,
          received: 2,
          called: 2,
          served: 1,
          noShow: [0, 1],
          wait: { count: 1, meanMin: 5, p50AtMostMin: 5, p90AtMostMin: 5, withinTargetPct: 100 },
          serviceMeanMin: 15,
          levels: [5],
          satisfied: [100, 100],
        },
      ]);
      // By hour of issue: A001, B001 and A002 at 8, and C007's wait at 9 (called 10:20 after 40 min).
      expect(r.byHour).toEqual([
        { hour: 8, issued: 3, waitCount: 1, waitMeanMin: 5, waitP50AtMostMin: 5, waitP90AtMostMin: 5 },
        { hour: 9, issued: 0, waitCount: 1, waitMeanMin: 40, waitP50AtMostMin: 40, waitP90AtMostMin: 40 },
      ]);
      // The month reads the same from the month grain.
      const month = await report('hkb', '2026-03-01', '2026-03-31');
      expect({ ...month, from: DAY, to: DAY }).toEqual(r);
    });

    it("shows each ticket's last state on its QR page, and keeps the box's events as they were sent", async () => {
      const { box, sent } = await sendDay('o-hhb');
      expect(await ticket('o-hhb', 'A001')).toMatchObject({
        service: 'van-thu',
        state: 'finished',
        counter: 2,
        issuedAt: new Date(vn(8, 0)).toISOString(),
        ahead: null,
        asOf: new Date(vn(11, 0)).toISOString(),
      });
      // Waiting, in the service it was sent to, at no counter; nobody ahead of it there.
      expect(await ticket('o-hhb', 'B001')).toMatchObject({
        service: 'ho-tich',
        state: 'waiting',
        counter: null,
        issuedAt: new Date(vn(8, 7)).toISOString(),
        ahead: 0,
      });
      expect(await ticket('o-hhb', 'A002')).toMatchObject({
        service: 'van-thu',
        state: 'waiting',
        counter: null,
        ahead: 0,
      });
      // Issued (as far as the cloud knows) when its wait began.
      expect(await ticket('o-hhb', 'C007')).toMatchObject({
        number: 'C007',
        service: 'ho-tich',
        state: 'finished',
        counter: 1,
        issuedAt: new Date(vn(9, 40)).toISOString(),
      });
      const page = await cloud.app.inject({
        method: 'GET',
        url: '/api/v1/uplink/events?after=0&limit=100',
        headers: { authorization: `Bearer ${box.token}` },
      });
      expect(page.json<UplinkEventsPage>()).toEqual({
        ackedSeq: sent.length,
        dayStartSeq: 1,
        events: sent,
        nextAfter: null,
      });
    });

    it('a called ticket then a no-show: the QR page follows each step across batches', async () => {
      const box = await communeWithBox('xa', 'Hòa Bắc');
      const D001 = { ticketId: `${DAY}/D001`, number: 'D001', service: 'dat-dai' };
      const steps: [Draft, Record<string, unknown>][] = [
        [[vn(12, 0), 'ticket.issued', issued(D001, 1)], { state: 'waiting', counter: null }],
        [
          [vn(12, 5), 'ticket.called', { ...D001, counter: 4, clerk: null, how: 'next', waitedMs: 5 * MIN }],
          { state: 'called', counter: 4 },
        ],
        [
          [vn(12, 6), 'ticket.serving', { ...D001, counter: 4, since: vn(12, 6), implicit: false }],
          { state: 'serving', counter: 4 },
        ],
        [
          [vn(12, 7), 'ticket.no_show', { ...D001, counter: 4, recalls: 0, reason: 'clerk' }],
          { state: 'no_show', counter: 4 },
        ],
      ];
      for (const [i, [draft, state]] of steps.entries()) {
        const events = envelopes(i + 1, [draft]);
        expect((await uplink(box.token, events)).json()).toMatchObject({ applied: 1 });
        expect(await ticket('o-xa', 'D001')).toMatchObject({ service: 'dat-dai', ...state });
      }
      // A call without a clerk counts at its counter, for no clerk.
      const r = await report('xa');
      expect(r.byCounter.find((c) => c.counter === 4)).toMatchObject({
        called: 1,
        noShow: 1,
        wait: { count: 1 },
      });
      expect(r.byClerk).toEqual([]);
    });

    it('a batch across two days with two clerks taking turns at a counter: each day and each clerk apart', async () => {
      const box = await communeWithBox('xc', 'Hòa Ninh');
      // The box was offline overnight: the end of DAY and the start of the next come in one batch. Lan hands
      // counter 1 over to Minh on DAY and is back at it the next morning, her name corrected at sign-in.
      const NEXT = '2026-03-05';
      const at = (day: string, hh: number, mm: number) =>
        new Date(Date.parse(`${day}T${String(hh).padStart(2, '0')}:${String(mm).padStart(2, '0')}:00+07:00`));
      const TEMP = { id: LAN.id, name: 'Lan (tạm)' };
      const G1 = { ticketId: `${DAY}/G001`, number: 'G001', service: 'van-thu' };
      const G2 = { ticketId: `${DAY}/G002`, number: 'G002', service: 'van-thu' };
      const H1 = { ticketId: `${NEXT}/G001`, number: 'G001', service: 'van-thu' };
      const call = (ref: typeof G1, clerk: typeof LAN, min: number) => ({
        ...ref,
        counter: 1,
        clerk,
        how: 'next',
        waitedMs: min * MIN,
      });
      const drafts: [string, Date, EventEnvelope['type'], Record<string, unknown>][] = [
        [DAY, at(DAY, 8, 0), 'ticket.issued', issued(G1, 1)],
        [DAY, at(DAY, 8, 5), 'ticket.called', call(G1, TEMP, 5)],
        [DAY, at(DAY, 9, 0), 'ticket.issued', issued(G2, 2)],
        [DAY, at(DAY, 9, 10), 'ticket.called', call(G2, MINH, 10)],
        [NEXT, at(NEXT, 7, 55), 'counter.signed_in', { counter: 1, clerk: TEMP }],
        [NEXT, at(NEXT, 8, 0), 'ticket.issued', issued(H1, 1)],
        [NEXT, at(NEXT, 8, 20), 'ticket.called', call(H1, TEMP, 20)],
        [NEXT, at(NEXT, 8, 30), 'counter.signed_in', { counter: 1, clerk: LAN }],
      ];
      const events = drafts.map(([day, when, type, data], i) => ({
        seq: i + 1,
        type,
        at: when.toISOString(),
        day,
        data,
      }));
      expect((await uplink(box.token, events)).json()).toMatchObject({ applied: events.length });
      const clerks = (r: FullReport) => r.byClerk.map((c) => [c.clerk, c.name, c.called, c.wait.meanMin]);
      const first = await report('xc');
      expect([first.totals.issued, first.totals.called, first.totals.wait.meanMin]).toEqual([2, 2, 7.5]);
      expect(clerks(first)).toEqual([
        ['cc01', LAN.name, 1, 5],
        ['cc02', MINH.name, 1, 10],
      ]);
      expect(first.byHour.map((h) => [h.hour, h.issued, h.waitCount, h.waitMeanMin])).toEqual([
        [8, 1, 1, 5],
        [9, 1, 1, 10],
      ]);
      const next = await report('xc', NEXT, NEXT);
      expect([next.totals.issued, next.totals.called, next.totals.wait.meanMin]).toEqual([1, 1, 20]);
      expect(clerks(next)).toEqual([['cc01', LAN.name, 1, 20]]);
      expect(next.byHour.map((h) => [h.hour, h.issued, h.waitCount, h.waitMeanMin])).toEqual([[8, 1, 1, 20]]);
      // The whole week (w1, 1–7 March) and the whole month are read from their own rows: both days in each.
      for (const [from, to] of [
        ['2026-03-01', '2026-03-07'],
        ['2026-03-01', '2026-03-31'],
      ] as const) {
        const whole = await report('xc', from, to);
        expect(
          [whole.totals.issued, whole.totals.called, whole.totals.wait.meanMin],
          `${from}…${to}`,
        ).toEqual([3, 3, 35 / 3]);
        expect(clerks(whole)).toEqual([
          ['cc01', LAN.name, 2, 12.5],
          ['cc02', MINH.name, 1, 10],
        ]);
        expect(whole.byHour.map((h) => [h.hour, h.issued, h.waitCount])).toEqual([
          [8, 2, 2],
          [9, 1, 1],
        ]);
      }
    });

    it('a no-show called back at the counter that marked it is received there once; a move to another counter of its service is not received again', async () => {
      const box = await communeWithBox('xd', 'Hòa Phong');
      const K1 = { ticketId: `${DAY}/K001`, number: 'K001', service: 'van-thu' };
      const K2 = { ticketId: `${DAY}/K002`, number: 'K002', service: 'van-thu' };
      const called = (ref: typeof K1, counter: number, how: string, waited: number) => ({
        ...ref,
        counter,
        clerk: null,
        how,
        waitedMs: waited * MIN,
      });
      const finished = (ref: typeof K1, counter: number) => ({
        ...ref,
        counter,
        clerk: null,
        serviceMs: 5 * MIN,
        dossiers: [],
        implicit: true,
      });
      const r = await uplink(
        box.token,
        envelopes(1, [
          [vn(9, 0), 'ticket.issued', issued(K1, 1)],
          [vn(9, 0), 'ticket.issued', issued(K2, 2)],
          // K001: absent at counter 1, back later and called again at counter 1 (the same clerk's desk).
          [vn(9, 2), 'ticket.called', called(K1, 1, 'next', 2)],
          [vn(9, 3), 'ticket.no_show', { ...K1, counter: 1, recalls: 0, reason: 'clerk' }],
          [vn(9, 20), 'ticket.called', called(K1, 1, 'number', 20)],
          [vn(9, 30), 'ticket.finished', finished(K1, 1)],
          // K002: called at counter 1, sent on to counter 3 of the same service, which serves it.
          [vn(9, 31), 'ticket.called', called(K2, 1, 'next', 31)],
          [vn(9, 32), 'ticket.transferred', { ...K2, fromCounter: 1, toService: 'van-thu', toCounter: 3 }],
          [vn(9, 40), 'ticket.called', called(K2, 3, 'next', 40)],
          [vn(9, 50), 'ticket.finished', finished(K2, 3)],
        ]),
      );
      expect(r.json()).toMatchObject({ applied: 10 });
      const x = await report('xd');
      // Two citizens, both received by van-thu once; counter 1 received each once, counter 3 received K002.
      expect([x.totals.received, x.totals.noShow, x.totals.noShowMarks]).toEqual([2, 0, 1]);
      expect(x.byService.map((s) => [s.service, s.issued, s.received, s.served])).toEqual([
        ['van-thu', 2, 2, 2],
      ]);
      expect(x.byCounter.map((c) => [c.counter, c.received, c.called, c.served])).toEqual([
        [1, 2, 3, 1],
        [3, 1, 1, 1],
      ]);
    });

    it('counts services whose ids run into counter numbers apart', async () => {
      const box = await communeWithBox('xb', 'Hòa Liên');
      // dv1 at counter 12 and dv11 at counter 2: "dv1" + "12" and "dv11" + "2" read alike when run together.
      const E1 = { ticketId: `${DAY}/E1`, number: 'E1', service: 'dv1' };
      const F1 = { ticketId: `${DAY}/F1`, number: 'F1', service: 'dv11' };
      const r = await uplink(
        box.token,
        envelopes(1, [
          [vn(9, 0), 'ticket.issued', issued(E1, 1)],
          [vn(9, 0), 'ticket.issued', issued(F1, 1)],
          [vn(9, 2), 'ticket.called', { ...E1, counter: 12, clerk: null, how: 'next', waitedMs: 2 * MIN }],
          [vn(9, 4), 'ticket.called', { ...F1, counter: 2, clerk: null, how: 'next', waitedMs: 4 * MIN }],
        ]),
      );
      expect(r.json()).toMatchObject({ applied: 4 });
      const x = await report('xb');
      expect(x.byService.map((s) => [s.service, s.issued, s.called, s.wait.meanMin])).toEqual([
        ['dv1', 1, 1, 2],
        ['dv11', 1, 1, 4],
      ]);
      expect(x.byCounter.map((c) => [c.counter, c.called, c.wait.meanMin])).toEqual([
        [2, 1, 4],
        [12, 1, 2],
      ]);
    });

    it('counts by the hour of the office’s own time zone; a wait over 4 hours is in the top bucket', async () => {
      await createOffice(
        cloud.store.db,
        { id: 'o-tokyo', name: 'Văn phòng Tokyo', unitId: 'hc', timezone: 'Asia/Tokyo' },
        Date.now(),
      );
      const tokyo = await enrolledBox(cloud, 'o-tokyo');
      const T001 = { ticketId: `${DAY}/T001`, number: 'T001', service: 'van-thu' };
      const T002 = { ticketId: `${DAY}/T002`, number: 'T002', service: 'van-thu' };
      // 08:00 in Viet Nam is 10:00 in Tokyo. T002 waits 5 hours: above the last bound (240 min).
      const r = await uplink(
        tokyo.token,
        envelopes(1, [
          [vn(8, 0), 'ticket.issued', issued(T001, 1)],
          [vn(8, 1), 'ticket.issued', issued(T002, 2)],
          [vn(8, 3), 'ticket.called', { ...T001, counter: 1, clerk: null, how: 'next', waitedMs: 3 * MIN }],
          [
            vn(13, 1),
            'ticket.called',
            { ...T002, counter: 1, clerk: null, how: 'next', waitedMs: 300 * MIN },
          ],
        ]),
      );
      expect(r.json()).toMatchObject({ applied: 4 });
      const hc = await report('hc');
      expect(hc.byHour).toEqual([
        {
          hour: 10,
          issued: 2,
          waitCount: 2,
          waitMeanMin: 151.5,
          waitP50AtMostMin: 3,
          waitP90AtMostMin: 1440,
        },
      ]);
      expect(hc.totals.wait).toEqual({
        count: 2,
        meanMin: 151.5,
        p50AtMostMin: 3,
        p90AtMostMin: 1440,
        withinTargetPct: 50,
      });
    });
  });
}
