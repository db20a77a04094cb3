// The CSV export is opened in spreadsheets: every text cell a box or an admin could have written that a
// spreadsheet would run as a formula (starting with =, +, -, @, a tab or a carriage return) reaches the file
// as text, with an apostrophe; the same characters elsewhere in a cell change nothing. And the clerks of a
// report come office by office, as the offices do. On SQLite and PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOffice } from '../../cloud/admin/provisioning.js';
import type { CloudService } from '../../cloud/service.js';
import type { EventEnvelope } from '../../protocol/index.js';
import {
  fullReport,
  DATABASES,
  adminToken,
  enrolledBox,
  seedTree,
  startTestCloud,
  type TestDatabase,
} from './helpers.js';

const DAY = '2026-03-05';
const t0 = Date.parse(`${DAY}T08:00:00+07:00`);

/** Rows of cells of an RFC 4180 file (quoted cells may hold commas, quotes and line breaks). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\n') {
      rows.push([...row, cell]);
      row = [];
      cell = '';
    } else cell += c;
  }
  if (cell !== '' || row.length) rows.push([...row, cell]);
  return rows;
}

// Clerk names (and ids) as a box could send them; each would be a formula in a spreadsheet.
const FORMULAS = ['=1+2', '+84905000000', '-2+3', '@SUM(A1:A9)', '\tTAB()', '\rCR()'];
// Names with the same characters inside, not first: left alone.
const HARMLESS = ['Lê-Thị Lan', 'Trần Văn=Minh', 'Hoa @ quầy 3'];

for (const kind of DATABASES) {
  describe.skipIf(!kind.available)(`report rows: formula injection, order (${kind.title})`, () => {
    let db: TestDatabase;
    let cloud: CloudService;
    let admin: string;

    beforeAll(async () => {
      db = kind.create();
      cloud = await startTestCloud(db);
      await seedTree(cloud);
      admin = await adminToken(cloud, 'hkb-csv', 'hkb');
    });
    afterAll(async () => {
      await cloud?.close();
      await db?.cleanup();
    });

    it('neutralises every cell that starts a formula, and only those', async () => {
      const box = await enrolledBox(cloud, 'o-hkb');
      const names = [...FORMULAS, ...HARMLESS];
      // Each clerk, at a counter of their own, serves one ticket of a service named like a formula or not.
      const services = ['-thu-tuc', '@dich-vu', 'van-thu'];
      const events: EventEnvelope[] = names.flatMap((name, i) => {
        const ref = { ticketId: `${DAY}/A${i + 1}`, number: `A${i + 1}`, service: services[i % 3] as string };
        const clerk = { id: i < FORMULAS.length ? name : `cc${i}`, name };
        const at = (min: number) => new Date(t0 + (i * 10 + min) * 60_000).toISOString();
        return [
          {
            seq: 3 * i + 1,
            type: 'ticket.issued',
            at: at(0),
            day: DAY,
            data: { ...ref, seq: i + 1, priority: null, ahead: 0, estimatedWaitMin: null, source: 'kiosk-1' },
          },
          {
            seq: 3 * i + 2,
            type: 'ticket.called',
            at: at(2),
            day: DAY,
            data: { ...ref, counter: i + 1, clerk, how: 'next', waitedMs: 120_000 },
          },
          {
            seq: 3 * i + 3,
            type: 'ticket.finished',
            at: at(6),
            day: DAY,
            data: { ...ref, counter: i + 1, clerk, serviceMs: 240_000, dossiers: [], implicit: false },
          },
        ];
      });
      const r = await cloud.app.inject({
        method: 'POST',
        url: '/api/v1/uplink/events',
        headers: { authorization: `Bearer ${box.token}` },
        payload: { events },
      });
      expect(r.json()).toMatchObject({ applied: events.length });
      const csv = async (by: string) => {
        const res = await cloud.app.inject({
          method: 'GET',
          url: `/api/v1/reports.csv?unit=hkb&from=${DAY}&to=${DAY}&by=${by}`,
          headers: { authorization: `Bearer ${admin}` },
        });
        expect(res.statusCode, res.body).toBe(200);
        const [header, ...rows] = parseCsv(res.body.replace(/^\ufeff/, '').trimEnd());
        return rows.map((cells) => Object.fromEntries(cells.map((c, i) => [header?.[i], c])));
      };
      const asText = (s: string) => (FORMULAS.includes(s) ? `'${s}` : s);

      const clerks = await csv('clerk');
      expect(clerks.map((c) => c.name).sort()).toEqual(names.map(asText).sort());
      expect(clerks.map((c) => c.clerk).sort()).toEqual(
        names.map((n, i) => (i < FORMULAS.length ? `'${n}` : `cc${i}`)).sort(),
      );
      // Numbers stay numbers.
      for (const c of clerks)
        expect([c.served, c.wait_p50_at_most_min, c.service_mean_min]).toEqual(['1', '2', '4']);
      const byService = await csv('service');
      expect(byService.map((s) => s.service)).toEqual(["'-thu-tuc", "'@dich-vu", 'van-thu']);
      expect(byService.map((s) => s.issued)).toEqual(['3', '3', '3']);
    });

    it('lists the clerks office by office, also when one office id begins another', async () => {
      // o-hc2's id begins with o-hc's: its clerks must not land between o-hc's.
      await createOffice(
        cloud.store.db,
        { id: 'o-hc2', name: 'Một cửa Hải Châu 2', unitId: 'hc' },
        Date.now(),
      );
      for (const office of ['o-hc', 'o-hc2']) {
        const box = await enrolledBox(cloud, office);
        const events: EventEnvelope[] = ['aa', 'zz'].map((id, i) => ({
          seq: i + 1,
          type: 'counter.signed_in',
          at: new Date(t0 + i * 60_000).toISOString(),
          day: DAY,
          data: { counter: i + 1, clerk: { id, name: id.toUpperCase() } },
        }));
        const ref = { ticketId: `${DAY}/A1`, number: 'A1', service: 'van-thu' };
        events.push(
          ...['aa', 'zz'].map((id, i) => ({
            seq: i + 3,
            type: 'ticket.called' as const,
            at: new Date(t0 + (10 + i) * 60_000).toISOString(),
            day: DAY,
            data: {
              ...ref,
              counter: i + 1,
              clerk: { id, name: id.toUpperCase() },
              how: 'next',
              waitedMs: 60_000,
            },
          })),
        );
        const r = await cloud.app.inject({
          method: 'POST',
          url: '/api/v1/uplink/events',
          headers: { authorization: `Bearer ${box.token}` },
          payload: { events },
        });
        expect(r.json()).toMatchObject({ applied: 4 });
      }
      const hc = await adminToken(cloud, 'hc-csv', 'hc');
      const r = await fullReport(cloud, hc, `unit=hc&from=${DAY}&to=${DAY}`);
      expect(r.byClerk.map((c) => `${c.office}/${c.clerk}`)).toEqual([
        'o-hc/aa',
        'o-hc/zz',
        'o-hc2/aa',
        'o-hc2/zz',
      ]);
    });
  });
}
