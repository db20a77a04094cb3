// What a box asks the cloud about dossiers with its own credential (issue 15): a lookup station's answer for
// a scanned code, and its office's figures for the dossier-status board; on SQLite and PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CloudService } from '../../cloud/service.js';
import { BOARD_READY_MAX } from '../../cloud/limits.js';
import type { DossierBoard, DossierLookupAnswer } from '../../protocol/index.js';
import { DATABASES, enrolledBox, seedTree, startTestCloud, type TestDatabase } from './helpers.js';

const HOUR = 3600_000;
const DAY = 24 * HOUR;
// 2026-12-15 10:00 in Asia/Ho_Chi_Minh (03:00 UTC).
const NOW = Date.parse('2026-12-15T03:00:00Z');

for (const kind of DATABASES) {
  describe.skipIf(!kind.available)(
    `dossiers for a box's lookup station and status board (${kind.title})`,
    () => {
      let db: TestDatabase;
      let cloud: CloudService;
      let token: string;
      let otherToken: string;
      const get = (url: string, bearer = token) =>
        cloud.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${bearer}` } });
      const dossier = (
        code: string,
        o: {
          office?: string | null;
          service?: string;
          status?: string;
          received: number;
          due: number;
          returned?: number | null;
        },
      ) => ({
        code,
        procedure: '1.001234',
        procedure_name: 'Đăng ký khai sinh',
        service: o.service ?? 'ho-tich',
        office_id: o.office === undefined ? 'o-hkb' : o.office,
        named_office_id: null,
        received_at: o.received,
        due_at: o.due,
        returned_at: o.returned ?? null,
        status: o.status ?? (o.returned ? 'returned' : 'processing'),
        integration_id: 'test',
        updated_at: o.returned ?? o.received + HOUR,
      });

      beforeAll(async () => {
        db = kind.create();
        // Boxes enroll on today's clock (their claims expire), the figures are read on the test's.
        let now = Date.now();
        cloud = await startTestCloud(db, { clock: () => now });
        await seedTree(cloud);
        token = (await enrolledBox(cloud, 'o-hkb')).token;
        otherToken = (await enrolledBox(cloud, 'o-hc')).token;
        now = NOW;
        const today = NOW - 2 * HOUR; // 08:00 local
        const rows = [
          // Today: received two, one returned on time today.
          dossier('000.00.04.H12-261215-0001', { received: today, due: today + 3 * DAY }),
          dossier('000.00.04.H12-261215-0002', {
            received: today,
            due: today + 2 * HOUR,
            returned: NOW - HOUR,
            status: 'returned',
          }),
          // Earlier this month: ready to collect; another overdue; one returned late; one cancelled.
          dossier('000.00.04.H12-261203-0001', {
            received: NOW - 12 * DAY,
            due: NOW + DAY,
            status: 'ready',
            service: 'dat-dai',
          }),
          dossier('000.00.04.H12-261202-0001', {
            received: NOW - 13 * DAY,
            due: NOW - DAY,
            status: 'processing',
            service: 'dat-dai',
          }),
          dossier('000.00.04.H12-261201-0003', {
            received: NOW - 14 * DAY,
            due: NOW - 5 * DAY,
            returned: NOW - 3 * DAY,
          }),
          dossier('000.00.04.H12-261201-0004', {
            received: NOW - 14 * DAY,
            due: NOW + 5 * DAY,
            status: 'cancelled',
          }),
          // Last month, still open and overdue: counted open, not in this month's figures.
          dossier('000.00.04.H12-261110-0001', {
            received: NOW - 35 * DAY,
            due: NOW - 20 * DAY,
            status: 'additional_info',
          }),
          // Another office's: never on this board.
          dossier('000.00.04.H12-261215-0099', { office: 'o-hc', received: today, due: today + DAY }),
        ];
        await cloud.store.db.insertInto('dossiers').values(rows).execute();
      });
      afterAll(async () => {
        await cloud?.close();
        await db?.cleanup();
      });

      it('a lookup answers the status, whether it is ready to collect or overdue, and how old the answer is', async () => {
        const ready = await get('/api/v1/box/dossiers/000.00.04.H12-261203-0001');
        expect(ready.statusCode, ready.body).toBe(200);
        expect(ready.json<DossierLookupAnswer>()).toMatchObject({
          status: 'ready',
          procedureName: 'Đăng ký khai sinh',
          readyToCollect: true,
          overdue: false,
          returnedAt: null,
          office: { id: 'o-hkb', name: 'Một cửa Hòa Khánh Bắc' },
          asOf: new Date(NOW).toISOString(),
        });
        const late = (
          await get('/api/v1/box/dossiers/000.00.04.H12-261202-0001')
        ).json<DossierLookupAnswer>();
        expect(late).toMatchObject({ readyToCollect: false, overdue: true });
        // A citizen may scan a receipt from another office: the answer names it.
        const other = (
          await get('/api/v1/box/dossiers/000.00.04.H12-261215-0099')
        ).json<DossierLookupAnswer>();
        expect(other.office?.id).toBe('o-hc');
      });

      it('an unknown code is 404, a malformed one 400, and without a box credential 401', async () => {
        expect((await get('/api/v1/box/dossiers/000.00.04.H12-000000-0000')).statusCode).toBe(404);
        expect((await get('/api/v1/box/dossiers/%20bad code')).statusCode).toBe(400);
        expect((await get('/api/v1/box/dossiers/000.00.04.H12-261203-0001', 'nope.nope')).statusCode).toBe(
          401,
        );
        expect((await cloud.app.inject({ method: 'GET', url: '/api/v1/box/dossier-board' })).statusCode).toBe(
          401,
        );
      });

      it("the board counts the box's own office by the office's calendar: today, this month, open, overdue, ready", async () => {
        const res = await get('/api/v1/box/dossier-board');
        expect(res.statusCode, res.body).toBe(200);
        const b = res.json<DossierBoard>();
        expect(b).toMatchObject({
          officeId: 'o-hkb',
          day: '2026-12-15',
          month: '2026-12',
          today: { received: 2, returned: 1 },
          thisMonth: { received: 6, returned: 2, onTime: 1, late: 1 },
          open: { total: 4, overdue: 2, ready: 1 },
          readyTruncated: false,
        });
        expect(b.ready).toEqual([
          {
            code: '000.00.04.H12-261203-0001',
            service: 'dat-dai',
            since: new Date(NOW - 12 * DAY + HOUR).toISOString(), // its last update: when it became ready,
          },
        ]);
        expect(b.byService).toEqual([
          { service: 'dat-dai', received: 2, returned: 0, open: 2, overdue: 1 },
          { service: 'ho-tich', received: 4, returned: 2, open: 2, overdue: 1 },
        ]);
        // The other office's box sees only its own.
        const other = (await get('/api/v1/box/dossier-board', otherToken)).json<DossierBoard>();
        expect(other).toMatchObject({ officeId: 'o-hc', today: { received: 1 }, open: { total: 1 } });
      });

      it(`lists at most ${BOARD_READY_MAX} dossiers ready to collect, oldest first, and says when there are more`, async () => {
        const many = Array.from({ length: BOARD_READY_MAX + 5 }, (_, i) =>
          dossier(`000.00.04.H12-261101-${String(i).padStart(4, '0')}`, {
            office: 'o-hc',
            received: NOW - 40 * DAY,
            due: NOW + DAY,
            status: 'ready',
          }),
        );
        await cloud.store.db.insertInto('dossiers').values(many).execute();
        const b = (await get('/api/v1/box/dossier-board', otherToken)).json<DossierBoard>();
        expect(b.open.ready).toBe(BOARD_READY_MAX + 5);
        expect(b.ready).toHaveLength(BOARD_READY_MAX);
        expect(b.readyTruncated).toBe(true);
      });
    },
  );
}
