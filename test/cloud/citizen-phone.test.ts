// The citizen's phone (issue 14), through the HTTP API on SQLite and PostgreSQL: a ticket's live status, an
// office's wait figures matching what the box sent, the QR poster, and the rating from the phone — once per
// ticket, only once served, within its window, not at a counter with a tablet, credited to the clerk in the
// report like a tablet's — without disturbing the box's exactly-once ingest.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CloudService } from '../../cloud/service.js';
import {
  DATABASES,
  ackedSeq,
  adminToken,
  bearerRequest,
  enrolledBox,
  seedTree,
  startTestCloud,
  type TestDatabase,
} from './helpers.js';
import { PHONE_RATINGS_PER_MINUTE } from '../../cloud/limits.js';
import { ticketKey } from '../../protocol/secrets.js';
import { Events, HUNG, LAN, configureOffice, uplink } from './citizen-fixtures.js';

const DAY = '2026-03-02';
const t0 = Date.parse(`${DAY}T08:00:00+07:00`);
for (const kind of DATABASES) {
  describe.skipIf(!kind.available)(`the citizen's phone (${kind.title})`, () => {
    let db: TestDatabase;
    let cloud: CloudService;
    let box: { boxId: string; token: string };
    let now = t0 + 30 * 60_000;
    const e = new Events(DAY);

    beforeAll(async () => {
      db = kind.create();
      cloud = await startTestCloud(db, { clock: () => now, settings: { publicLookupsPerMinute: 1000 } });
      await seedTree(cloud);
      await configureOffice(cloud);
      box = await enrolledBox(cloud, 'o-hkb');
      const m = 60_000;
      await uplink(cloud, box.token, [
        e.issued(t0, 'A001', 'van-thu'),
        e.issued(t0 + m, 'A002', 'van-thu'),
        e.issued(t0 + 2 * m, 'A003', 'van-thu'),
        e.issued(t0 + 3 * m, 'A004', 'van-thu'),
        e.issued(t0 + 4 * m, 'A005', 'van-thu'),
        e.issued(t0 + 5 * m, 'A006', 'van-thu'),
        e.issued(t0 + 5 * m, 'B001', 'ho-tich'),
        e.called(t0 + 10 * m, 'A001', 'van-thu', 1, LAN),
        e.called(t0 + 11 * m, 'B001', 'ho-tich', 2, HUNG),
      ]);
    });
    afterAll(async () => {
      await cloud?.close();
      await db?.cleanup();
    });

    const get = async (url: string) => {
      const r = await cloud.app.inject({ method: 'GET', url });
      return {
        status: r.statusCode,
        body: String(r.headers['content-type'] ?? '').includes('json') ? r.json() : r.body,
      };
    };
    const SECRET = 'a-box-ticket-key-secret-of-32-chars-or-more';
    const keyOf = (number: string) => ticketKey(SECRET, 'o-hkb', `${DAY}/${number}`);
    let caller = 0;
    // Each from its own address (PHONE_RATINGS_PER_MINUTE counts per address; the last test spends it).
    const rate = (number: string, score: number, lang = '', key = keyOf(number), ip = `10.7.0.${++caller}`) =>
      cloud.app.inject({
        method: 'POST',
        url: `/api/v1/public/tickets/o-hkb/${DAY}/${number}/rating${lang}`,
        payload: { score, key },
        remoteAddress: ip,
      });

    it("a ticket's live status: place, wait, turn near, the numbers being served, how fresh", async () => {
      const far = await get(`/api/v1/public/tickets/o-hkb/${DAY}/A006`);
      expect(far.body).toMatchObject({
        number: 'A006',
        serviceName: 'Văn thư',
        state: 'waiting',
        ahead: 4,
        near: false,
        nowServing: [{ number: 'A001', counter: 1 }],
        asOf: new Date(t0 + 11 * 60_000).toISOString(),
        heardAt: null,
        pollSeconds: 10,
        rating: { open: false, reason: 'not_served', scaleMax: 4, score: null },
      });
      const near = await get(`/api/v1/public/tickets/o-hkb/${DAY}/A004`);
      expect(near.body).toMatchObject({ ahead: 2, near: true });
      // The QR code's own address answers the same in JSON, and draws the page with it (no meta refresh).
      expect((await get(`/t/o-hkb/${DAY}/A004?format=json`)).body).toMatchObject({ ahead: 2, near: true });
      const html = await cloud.app.inject({ method: 'GET', url: `/t/o-hkb/${DAY}/A004` });
      expect(html.body).toContain('Trước bạn còn <b id="ahead">2</b> người');
      expect(html.body).toContain('Sắp đến lượt bạn');
      expect(html.body).not.toMatch(/http-equiv="refresh"/i);
      expect(html.headers['content-security-policy']).toContain("script-src 'self'");
      expect(html.headers['content-security-policy']).not.toContain('unsafe-inline');
      const en = await cloud.app.inject({ method: 'GET', url: `/t/o-hkb/${DAY}/A004?lang=en` });
      expect(en.body).toContain('<html lang="en">');
      expect(en.body).toContain('<b id="ahead">2</b> before you');
      // A heartbeat with nothing left to send says the figures are current as of it.
      const hb = await bearerRequest(cloud, box.token, 'POST', '/api/v1/uplink/heartbeat', {
        at: new Date(now).toISOString(),
        version: '0.1.0',
        node: process.version,
        officeId: 'o-hkb',
        day: DAY,
        lastSeq: await ackedSeq(cloud, box.boxId),
        backlog: { events: 0, oldestAt: null, freeDiskBytes: null, alarm: false },
        peripherals: [],
        ticketKeySecret: SECRET,
      });
      expect(hb.status, JSON.stringify(hb.body)).toBeLessThan(300);
      // The box's ticket-key secret is kept sealed under the cloud's master key, never as the box sent it.
      const kept = await cloud.store.db.selectFrom('box_ticket_keys').select('secret').execute();
      expect(kept.length).toBeGreaterThan(0);
      for (const k of kept) expect(k.secret).not.toContain(SECRET);
      expect((await get(`/api/v1/public/tickets/o-hkb/${DAY}/A004`)).body.heardAt).toBe(
        new Date(now).toISOString(),
      );
      const unknown = await cloud.app.inject({ method: 'GET', url: `/t/o-hkb/${DAY}/A099` });
      expect(unknown.statusCode).toBe(404);
      expect(unknown.body).toContain('Chưa có thông tin');
      expect((await get(`/api/v1/public/tickets/nowhere/${DAY}/A001`)).status).toBe(404);
    });

    it("an office's wait page counts what the box sent, per service, with its numbers and a wait", async () => {
      const w = await get('/w/o-hkb?format=json');
      expect(w.body).toMatchObject({ officeId: 'o-hkb', officeName: 'Một cửa Hòa Khánh Bắc', day: DAY });
      expect(w.body.services).toEqual([
        {
          service: 'van-thu',
          name: 'Văn thư',
          waiting: 5,
          estimatedWaitMin: 25,
          nowServing: [{ number: 'A001', counter: 1 }],
        },
        {
          service: 'ho-tich',
          name: 'Chứng thực, hộ tịch',
          waiting: 0,
          estimatedWaitMin: null,
          nowServing: [{ number: 'B001', counter: 2 }],
        },
      ]);
      expect((await get('/api/v1/public/offices/o-hkb/wait')).body).toEqual(w.body);
      const cached = await cloud.app.inject({ method: 'GET', url: '/api/v1/public/offices/o-hkb/wait' });
      expect(cached.headers['cache-control']).toBe('public, max-age=5');
      const html = (await get('/w/o-hkb')).body as string;
      expect(html).toContain('<dd class="waiting">5 người</dd>');
      expect(html).toContain('<b>B001</b> (Quầy 2)');
      expect(html).toContain('chờ khoảng 25 phút');
      expect(html).toContain(`href="/w/o-hkb/poster"`);
      expect((await get('/w/nowhere')).status).toBe(404);
    });

    it('the poster carries a QR code of the wait page and the address in words', async () => {
      const r = await cloud.app.inject({ method: 'GET', url: '/w/o-hkb/poster' });
      expect(r.statusCode).toBe(200);
      expect(r.body).toContain('<svg');
      expect(r.body).toContain(`${cloud.url}/w/o-hkb`);
      expect(r.body).toContain('Quét mã bằng camera điện thoại');
    });

    it('a phone rating: only once served, once per ticket, in its window, never where a tablet rates', async () => {
      // Called, still walking to the counter: not yet.
      const early = await rate('A001', 4);
      expect([early.statusCode, early.json().code]).toEqual([409, 'not_served']);
      // B001 is at counter 2, which has a rating tablet.
      const tablet = await rate('B001', 4);
      expect([tablet.statusCode, tablet.json().code]).toEqual([409, 'rated_at_counter']);
      await uplink(cloud, box.token, [e.finished(t0 + 15 * 60_000, 'A001', 'van-thu', 1, LAN)]);
      now = t0 + 20 * 60_000;
      // The ticket's address alone can be guessed: without the key from its QR code, no rating.
      const guessed = await rate('A001', 1, '', 'AAAAAAAAAAAAAAAA');
      expect([guessed.statusCode, guessed.json().code]).toEqual([403, 'key_invalid']);
      expect((await rate('A001', 1, '', keyOf('A002'))).json().code).toBe('key_invalid');
      // The box's secret is kept apart from the heartbeat the fleet views show.
      const stored = await cloud.store.db.selectFrom('boxes').select('heartbeat').executeTakeFirstOrThrow();
      expect(stored.heartbeat).not.toContain(SECRET);
      expect((await rate('A001', 5)).json().code).toBe('score_out_of_scale');
      const first = await rate('A001', 4);
      expect(first.statusCode).toBe(200);
      expect(first.json()).toEqual({ open: false, reason: 'already_rated', scaleMax: 4, score: 4 });
      const again = await rate('A001', 1);
      expect([again.statusCode, again.json().code]).toEqual([409, 'already_rated']);
      expect(again.json().message).toBe('Số này đã được đánh giá. Mỗi lượt chỉ đánh giá một lần.');
      expect((await rate('A001', 1, '?lang=en')).json().message).toContain('already rated');
      // Two at once: the table's key lets one through.
      await uplink(cloud, box.token, [
        e.called(t0 + 16 * 60_000, 'A002', 'van-thu', 1, LAN),
        e.finished(t0 + 19 * 60_000, 'A002', 'van-thu', 1, LAN),
      ]);
      const both = await Promise.all([rate('A002', 3), rate('A002', 2)]);
      expect(both.map((r) => r.statusCode).sort()).toEqual([200, 409]);
      // The window closes PHONE_RATING_WINDOW_MINUTES after the visit's last event.
      await uplink(cloud, box.token, [
        e.called(t0 + 21 * 60_000, 'A003', 'van-thu', 1, LAN),
        e.finished(t0 + 25 * 60_000, 'A003', 'van-thu', 1, LAN),
      ]);
      now = t0 + 25 * 60_000 + 121 * 60_000;
      const late = await rate('A003', 4);
      expect([late.statusCode, late.json().code]).toEqual([409, 'window_closed']);
      expect((await get(`/api/v1/public/tickets/o-hkb/${DAY}/A001`)).body.rating).toEqual({
        open: false,
        reason: 'already_rated',
        scaleMax: 4,
        score: 4,
      });
    });

    it('takes at most PHONE_RATINGS_PER_MINUTE ratings a minute from one address', async () => {
      const codes: number[] = [];
      for (let i = 0; i < PHONE_RATINGS_PER_MINUTE + 1; i++)
        codes.push((await rate('A003', 4, '', 'AAAAAAAAAAAAAAAA', '10.8.8.8')).statusCode);
      expect(codes.slice(0, PHONE_RATINGS_PER_MINUTE).every((c) => c === 403)).toBe(true);
      expect(codes.at(-1)).toBe(429);
    });

    it("the report credits phone ratings to the clerk as a tablet's, and the box's ingest goes on", async () => {
      const before = await ackedSeq(cloud, box.boxId);
      // A tablet rating at counter 2 for Hùng, through the box as ever.
      await uplink(cloud, box.token, [
        e.finished(t0 + 30 * 60_000, 'B001', 'ho-tich', 2, HUNG),
        e.rated(t0 + 30 * 60_000, 'B001', 'ho-tich', 2, HUNG),
      ]);
      expect(await ackedSeq(cloud, box.boxId)).toBe(before + 2);
      const token = await adminToken(cloud, `it-${kind.name}`, 'dn');
      const r = await bearerRequest(cloud, token, 'GET', `/api/v1/reports?unit=dn&from=${DAY}&to=${DAY}`);
      expect(r.status).toBe(200);
      const clerks = await bearerRequest(
        cloud,
        token,
        'GET',
        `/api/v1/reports/rows?unit=dn&from=${DAY}&to=${DAY}&by=clerk`,
      );
      const clerk = (id: string) =>
        (clerks.body.rows as { clerk: string; name: string; satisfaction: { ratings: number } }[]).find(
          (c) => c.clerk === id,
        );
      // Lan: A001 (4 of 4) and A002 from phones; Hùng: B001 from the tablet.
      expect(clerk('cc01')).toMatchObject({ name: LAN.name, satisfaction: { ratings: 2 } });
      expect(clerk('cc02')).toMatchObject({ name: HUNG.name, satisfaction: { ratings: 1 } });
      expect(r.body.totals.satisfaction.ratings).toBe(3);
    });
  });
}
