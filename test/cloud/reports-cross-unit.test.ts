// The report's list of lobby links across units: a box of one commune linking a dossier another commune's
// software filed. Both sides see it, nobody else does; only links of the period; oldest first; at most
// REPORT_CROSS_UNIT_LINKS_MAX, saying when the list was cut. On SQLite and PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIntegration } from '../../cloud/admin/provisioning.js';
import { hmacHex } from '../../cloud/auth/secrets.js';
import { REPORT_CROSS_UNIT_LINKS_MAX } from '../../cloud/limits.js';
import type { Report } from '../../cloud/reports/reports.js';
import type { CloudService } from '../../cloud/service.js';
import { hmacPayload, type EventEnvelope } from '../../protocol/index.js';
import {
  fullReport,
  DATABASES,
  MASTER_KEY,
  adminToken,
  enrolledBox,
  seedTree,
  startTestCloud,
  type TestDatabase,
} from './helpers.js';

/** Epoch ms of HH:MM in Viet Nam (UTC+7) on a day. */
const vn = (day: string, hh: number, mm = 0) =>
  Date.parse(`${day}T${String(hh).padStart(2, '0')}:${String(mm).padStart(2, '0')}:00+07:00`);
const iso = (ms: number) => new Date(ms).toISOString();

for (const kind of DATABASES) {
  describe.skipIf(!kind.available)(`cross-unit links in reports (${kind.title})`, () => {
    let db: TestDatabase;
    let cloud: CloudService;
    let viewer: string;
    let software: { keyId: string; secret: string };
    const boxes: Record<string, { token: string; seq: number }> = {};

    beforeAll(async () => {
      db = kind.create();
      cloud = await startTestCloud(db);
      await seedTree(cloud);
      viewer = await adminToken(cloud, 'tinh', 'dn', 'viewer');
      // The software of commune hkb files its dossiers in o-hkb.
      software = await createIntegration(
        cloud.store.db,
        MASTER_KEY,
        { name: 'MCĐT hkb', unitId: 'hkb' },
        Date.now(),
      );
      for (const office of ['o-hkb', 'o-hhb', 'o-hc'])
        boxes[office] = { token: (await enrolledBox(cloud, office)).token, seq: 0 };
      // o-hhb keeps another time zone (UTC+8): a link's local time is its linking office's, also when that office
      // lies outside the report's subtree.
      await cloud.store.db
        .updateTable('offices')
        .set({ timezone: 'Asia/Singapore' })
        .where('id', '=', 'o-hhb')
        .execute();
    });
    afterAll(async () => {
      await cloud?.close();
      await db?.cleanup();
    });

    const file = async (code: string, day: string, officeId = 'o-hkb', by = software) => {
      const url = `/api/v1/dossiers/${code}`;
      const body = JSON.stringify({
        procedure: '1.001234',
        service: 'ho-tich',
        receivedAt: iso(vn(day, 7, 30)),
        dueAt: iso(vn(day, 16)),
        status: 'received',
        officeId,
      });
      const ts = String(Math.floor(Date.now() / 1000));
      const r = await cloud.app.inject({
        method: 'PUT',
        url,
        headers: {
          'content-type': 'application/json',
          'x-lobby-key': by.keyId,
          'x-lobby-timestamp': ts,
          'x-lobby-signature': hmacHex(by.secret, hmacPayload(ts, 'PUT', url, body)),
        },
        payload: body,
      });
      expect(r.statusCode, r.body).toBe(200);
    };
    /** The box of `office` links each [code, time] to a ticket of its own, in one batch; returns the ticket ids. */
    const link = async (office: string, day: string, links: [code: string, at: number][]) => {
      const b = boxes[office] as { token: string; seq: number };
      const events: EventEnvelope[] = links.map(([code, at]) => {
        const n = ++b.seq;
        return {
          seq: n,
          type: 'dossier.linked',
          at: iso(at),
          day,
          data: { ticketId: `${day}/C${n}`, number: `C${n}`, service: 'ho-tich', counter: 1, code },
        };
      });
      const r = await cloud.app.inject({
        method: 'POST',
        url: '/api/v1/uplink/events',
        headers: { authorization: `Bearer ${b.token}` },
        payload: { events },
      });
      expect(r.json(), r.body).toMatchObject({ applied: events.length });
      return events.map((e) => (e.data as { ticketId: string }).ticketId);
    };
    const cross = async (unit: string, from: string, to = from) => {
      const r = await cloud.app.inject({
        method: 'GET',
        url: `/api/v1/reports?unit=${unit}&from=${from}&to=${to}`,
        headers: { authorization: `Bearer ${viewer}` },
      });
      expect(r.statusCode, r.body).toBe(200);
      const { crossUnitLinks, crossUnitLinksTruncated } = r.json<Report>();
      return { links: crossUnitLinks, truncated: crossUnitLinksTruncated };
    };

    it('both communes see the links across them, oldest first, in their period only; the others none', async () => {
      const [D1, D2] = ['2026-03-05', '2026-03-06'];
      await file('HKB-X1', D1);
      await file('HKB-X2', D1);
      // o-hc links both at 09:00 and X1 once more at 08:00; o-hhb (in lc, not hkb) X1 at 09:00 too, and
      // again the next day; hkb's own office links X1 (not across units).
      const [hc9a, hc9b, hc8] = await link('o-hc', D1, [
        ['HKB-X2', vn(D1, 9)],
        ['HKB-X1', vn(D1, 9)],
        ['HKB-X1', vn(D1, 8)],
      ]);
      const [hhb9] = await link('o-hhb', D1, [['HKB-X1', vn(D1, 9)]]);
      const [hhbNext] = await link('o-hhb', D2, [['HKB-X1', vn(D2, 10)]]);
      await link('o-hkb', D1, [['HKB-X1', vn(D1, 7, 45)]]);
      const row = (code: string, office: string, ticketId: string | undefined, at: number) => ({
        code,
        office,
        ticketId,
        linkedAt: iso(at),
        // And in the linking office's time (Asia/Ho_Chi_Minh, UTC+7; o-hhb UTC+8), as a reader there says it.
        linkedAtLocal: iso(at + (office === 'o-hhb' ? 8 : 7) * 3_600_000)
          .slice(0, 16)
          .replace('T', ' '),
        dossierOffice: 'o-hkb',
      });
      // Ordered by time, then code, then office.
      const fromHc = [
        row('HKB-X1', 'o-hc', hc8, vn(D1, 8)),
        row('HKB-X1', 'o-hc', hc9b, vn(D1, 9)),
        row('HKB-X2', 'o-hc', hc9a, vn(D1, 9)),
      ];
      const fromHhb = row('HKB-X1', 'o-hhb', hhb9, vn(D1, 9));
      expect(await cross('hkb', D1)).toEqual({
        links: [fromHc[0], fromHc[1], fromHhb, fromHc[2]],
        truncated: false,
      });
      expect(await cross('hc', D1)).toEqual({ links: fromHc, truncated: false });
      expect(await cross('hhb', D1)).toEqual({ links: [fromHhb], truncated: false });
      const next = row('HKB-X1', 'o-hhb', hhbNext, vn(D2, 10));
      expect(await cross('hhb', D2)).toEqual({ links: [next], truncated: false });
      expect(await cross('hc', D2)).toEqual({ links: [], truncated: false });
      expect((await cross('lc', '2026-03-01', '2026-03-31')).links).toEqual([
        fromHc[0],
        fromHc[1],
        fromHhb,
        fromHc[2],
        next,
      ]);
      expect((await cross('hc', '2026-03-06', '2026-03-31')).links).toEqual([]);

      // Links count no ticket: o-hkb and ho-tich have only their two dossiers (received, not yet returned).
      const hkb = await fullReport(cloud, viewer, `unit=hkb&from=${D1}&to=${D1}`);
      const none = {
        issued: 0,
        received: 0,
        called: 0,
        served: 0,
        noShow: 0,
        noShowMarks: 0,
        wait: { count: 0, meanMin: null, p50AtMostMin: null, p90AtMostMin: null, withinTargetPct: null },
        serviceMeanMin: null,
        serviceFromCallPct: null,
        satisfaction: { ratings: 0, levels: [0, 0, 0, 0, 0], indexPct: null, meanScore: null },
        dossiers: { received: 2, returned: 0, onTime: 0, late: 0, onTimeRate: null },
      };
      expect(hkb.totals).toStrictEqual(none);
      expect(hkb.byOffice).toStrictEqual([
        {
          office: 'o-hkb',
          name: 'Một cửa Hòa Khánh Bắc',
          unit: 'hkb',
          unitName: 'Phường Hòa Khánh Bắc',
          ...none,
        },
      ]);
      expect(hkb.byService).toStrictEqual([{ service: 'ho-tich', name: 'ho-tich', ...none }]);
      expect([hkb.byCounter, hkb.byClerk, hkb.byHour]).toStrictEqual([[], [], []]);
      expect((await cross('hkb', '2026-03-01', '2026-03-04')).links).toEqual([]);
    });

    it('an office and a service with dossiers only take their places in order among those with tickets', async () => {
      const day = '2026-03-10';
      // The province's software files a dossier (service ho-tich) in o-hc; o-hkb's box issues a ticket of
      // van-thu. o-hc and ho-tich have dossiers only, and each sorts before the one with the ticket.
      const province = await createIntegration(
        cloud.store.db,
        MASTER_KEY,
        { name: 'MCĐT tỉnh', unitId: 'dn' },
        Date.now(),
      );
      await file('HC-ONLY', day, 'o-hc', province);
      const b = boxes['o-hkb'] as { token: string; seq: number };
      const seq = ++b.seq;
      const issued = await cloud.app.inject({
        method: 'POST',
        url: '/api/v1/uplink/events',
        headers: { authorization: `Bearer ${b.token}` },
        payload: {
          events: [
            {
              seq,
              type: 'ticket.issued',
              at: iso(vn(day, 8)),
              day,
              data: {
                ticketId: `${day}/A001`,
                number: 'A001',
                service: 'van-thu',
                seq: 1,
                priority: null,
                ahead: 0,
                estimatedWaitMin: null,
                source: null,
              },
            },
          ],
        },
      });
      expect(issued.json(), issued.body).toMatchObject({ applied: 1 });
      const r = await cloud.app.inject({
        method: 'GET',
        url: `/api/v1/reports?unit=dn&from=${day}&to=${day}`,
        headers: { authorization: `Bearer ${viewer}` },
      });
      const report = r.json<Report>();
      const shown = (rows: { issued: number | null; dossiers: { received: number } }[]) =>
        rows.map((x) => [x.issued, x.dossiers.received]);
      // Every office of the subtree, by name: o-hhb (no ticket, no dossier) too.
      expect(report.byOffice.map((o) => o.office)).toEqual(['o-hc', 'o-hhb', 'o-hkb']);
      expect(shown(report.byOffice)).toEqual([
        [0, 1],
        [0, 0],
        [1, 0],
      ]);
      expect(report.byService.map((x) => x.service)).toEqual(['ho-tich', 'van-thu']);
      expect(shown(report.byService)).toEqual([
        [0, 1],
        [1, 0],
      ]);
    });

    it(`lists at most ${REPORT_CROSS_UNIT_LINKS_MAX} (the oldest) and says when there were more`, async () => {
      const [full, over] = ['2026-04-01', '2026-04-02'];
      await file('HKB-MANY', full);
      const many = (day: string, n: number) =>
        Array.from({ length: n }, (_, i) => ['HKB-MANY', vn(day, 8) + i * 1000] as [string, number]);
      await link('o-hc', full, many(full, REPORT_CROSS_UNIT_LINKS_MAX));
      const exactly = await cross('hc', full);
      expect([exactly.links.length, exactly.truncated]).toEqual([REPORT_CROSS_UNIT_LINKS_MAX, false]);
      const ids = await link('o-hc', over, many(over, REPORT_CROSS_UNIT_LINKS_MAX + 1));
      const cut = await cross('hc', over);
      expect(cut.truncated).toBe(true);
      expect(cut.links.map((l) => l.ticketId)).toEqual(ids.slice(0, REPORT_CROSS_UNIT_LINKS_MAX));
    });
  });
}
