// Dossiers from the province (HMAC-signed, replay-proof, scoped to a unit subtree) join lobby events by code
// in whichever order they arrive; public lookups (dossier by code, ticket by its QR URL) show no personal
// data and are rate-limited. On SQLite and PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { createIntegration } from '../../cloud/admin/provisioning.js';
import { hmacHex } from '../../cloud/auth/secrets.js';
import type { CloudService } from '../../cloud/service.js';
import { hmacPayload, ticketStatusUrl, type EventEnvelope } from '../../protocol/index.js';
import {
  DATABASES,
  MASTER_KEY,
  enrolledBox,
  seedTree,
  startTestCloud,
  type TestDatabase,
} from './helpers.js';

const DAY = '2026-03-02';
const t0 = Date.parse(`${DAY}T08:00:00+07:00`);

/** A tiny, hand-written office morning: three tickets, one called and linked to dossier A. */
function morning(codeA: string): EventEnvelope[] {
  const ev = (seq: number, at: number, type: string, data: Record<string, unknown>): EventEnvelope => ({
    seq,
    type: type as EventEnvelope['type'],
    at: new Date(at).toISOString(),
    day: DAY,
    data,
  });
  const issued = (seq: number, n: number, at: number) =>
    ev(seq, at, 'ticket.issued', {
      ticketId: `${DAY}/A00${n}`,
      number: `A00${n}`,
      service: 'van-thu',
      seq: n,
      priority: null,
      ahead: n - 1,
      estimatedWaitMin: null,
      source: 'kiosk-1',
    });
  const ref = { ticketId: `${DAY}/A001`, number: 'A001', service: 'van-thu' };
  return [
    issued(1, 1, t0),
    issued(2, 2, t0 + 60_000),
    issued(3, 3, t0 + 120_000),
    ev(4, t0 + 600_000, 'ticket.called', {
      ...ref,
      counter: 1,
      clerk: { id: 'cc01', name: 'Lan' },
      how: 'next',
      waitedMs: 600_000,
    }),
    ev(5, t0 + 700_000, 'dossier.linked', { ...ref, counter: 1, code: codeA }),
  ];
}

for (const kind of DATABASES) {
  describe.skipIf(!kind.available)(`dossiers and public lookups (${kind.title})`, () => {
    let db: TestDatabase;
    let cloud: CloudService;
    let province: { keyId: string; secret: string };
    let commune: { keyId: string; secret: string };
    let box: { token: string };

    beforeAll(async () => {
      db = kind.create();
      cloud = await startTestCloud(db, { settings: { publicLookupsPerMinute: 8 } });
      await seedTree(cloud);
      province = await createIntegration(
        cloud.store.db,
        MASTER_KEY,
        { name: 'Một cửa điện tử', unitId: 'dn' },
        Date.now(),
      );
      commune = await createIntegration(
        cloud.store.db,
        MASTER_KEY,
        { name: 'HKB', unitId: 'hkb' },
        Date.now(),
      );
      box = await enrolledBox(cloud, 'o-hkb');
    });
    afterAll(async () => {
      await cloud?.close();
      await db?.cleanup();
    });

    const signed = (
      code: string,
      body: Record<string, unknown>,
      who = province,
      o: { ts?: number; tamper?: boolean; sig?: string } = {},
    ) => {
      const url = `/api/v1/dossiers/${code}`;
      const text = JSON.stringify(body);
      const ts = String(Math.floor((o.ts ?? Date.now()) / 1000));
      const sig = o.sig ?? hmacHex(who.secret, hmacPayload(ts, 'PUT', url, text));
      return cloud.app.inject({
        method: 'PUT',
        url,
        headers: {
          'content-type': 'application/json',
          'x-lobby-key': who.keyId,
          'x-lobby-timestamp': ts,
          'x-lobby-signature': sig,
        },
        payload: o.tamper ? text.replace('ho-tich', 'van-thu') : text,
      });
    };
    const dossier = (over: Record<string, unknown> = {}) => ({
      procedure: '1.001234',
      procedureName: 'Đăng ký khai sinh',
      service: 'ho-tich',
      receivedAt: `${DAY}T08:15:00+07:00`,
      dueAt: `${DAY}T16:00:00+07:00`,
      status: 'received',
      ...over,
    });
    const dossierRollup = async (office: string) => {
      const r = await sql<{ received: number; returned: number; on_time: number; late: number }>`
        SELECT SUM(received) AS received, SUM(returned) AS returned, SUM(on_time) AS on_time, SUM(late) AS late
        FROM rollup_dossiers WHERE grain = 'd' AND office_id = ${office}`.execute(cloud.store.db);
      const x = r.rows[0];
      return {
        received: Number(x?.received ?? 0),
        returned: Number(x?.returned ?? 0),
        onTime: Number(x?.on_time ?? 0),
        late: Number(x?.late ?? 0),
      };
    };
    const lookup = (code: string) =>
      cloud.app.inject({
        method: 'GET',
        url: `/api/v1/public/dossiers/${code}`,
        remoteAddress: `10.0.0.${code.length}`,
      });

    it('joins a dossier and its lobby link in either order, counting it once', async () => {
      const A = '000.00.04.H12-260302-0001'; // link arrives first
      const B = '000.00.04.H12-260302-0002'; // dossier arrives first
      const up = await cloud.app.inject({
        method: 'POST',
        url: '/api/v1/uplink/events',
        headers: { authorization: `Bearer ${box.token}` },
        payload: { events: morning(A) },
      });
      expect(up.json()).toMatchObject({ ackedSeq: 5, applied: 5 });
      expect((await lookup(A)).statusCode).toBe(404);

      let r = await signed(A, dossier());
      expect(r.statusCode, r.body).toBe(200);
      expect(r.json()).toEqual({ code: A, created: true, linkedTickets: 1 });
      expect((await lookup(A)).json()).toMatchObject({
        code: A,
        office: { id: 'o-hkb' },
        onTime: null,
        status: 'received',
      });
      expect(await dossierRollup('o-hkb')).toEqual({ received: 1, returned: 0, onTime: 0, late: 0 });

      r = await signed(B, dossier({ service: 'van-thu' }));
      expect(r.json()).toEqual({ code: B, created: true, linkedTickets: 0 });
      expect((await lookup(B)).json().office).toBeNull();
      const link = {
        seq: 6,
        type: 'dossier.linked',
        at: new Date(t0 + 800_000).toISOString(),
        day: DAY,
        data: { ticketId: `${DAY}/A001`, number: 'A001', service: 'van-thu', counter: 1, code: B },
      };
      await cloud.app.inject({
        method: 'POST',
        url: '/api/v1/uplink/events',
        headers: { authorization: `Bearer ${box.token}` },
        payload: { events: [link] },
      });
      expect((await lookup(B)).json().office).toEqual({ id: 'o-hkb', name: 'Một cửa Hòa Khánh Bắc' });
      expect(await dossierRollup('o-hkb')).toEqual({ received: 2, returned: 0, onTime: 0, late: 0 });

      // Returned late, then corrected to on time: the share moves, nothing is counted twice.
      r = await signed(A, dossier({ status: 'returned', returnedAt: `${DAY}T17:00:00+07:00` }));
      expect(r.json().created).toBe(false);
      expect(await dossierRollup('o-hkb')).toEqual({ received: 2, returned: 1, onTime: 0, late: 1 });
      r = await signed(A, dossier({ status: 'returned', returnedAt: `${DAY}T15:00:00+07:00` }));
      expect(await dossierRollup('o-hkb')).toEqual({ received: 2, returned: 1, onTime: 1, late: 0 });
      const pub = (await lookup(A)).json();
      expect(pub.onTime).toBe(true);
      // Only the public fields: no integration, no clerk, no ticket, no person.
      expect(Object.keys(pub).sort()).toEqual([
        'code',
        'dueAt',
        'office',
        'onTime',
        'procedure',
        'procedureName',
        'receivedAt',
        'returnedAt',
        'service',
        'status',
      ]);
    });

    it('refuses unsigned, forged, stale, replayed and out-of-scope requests, changing nothing', async () => {
      const C = '000.00.04.H12-260302-0003';
      const body = dossier();
      const noSig = await cloud.app.inject({ method: 'PUT', url: `/api/v1/dossiers/${C}`, payload: body });
      expect([noSig.statusCode, noSig.json().code]).toEqual([401, 'signature_missing']);
      const forged = await signed(C, body, province, { sig: 'ab'.repeat(32) });
      expect([forged.statusCode, forged.json().code]).toEqual([401, 'signature_invalid']);
      const tampered = await signed(C, body, province, { tamper: true });
      expect(tampered.json().code).toBe('signature_invalid');
      const wrongKey = await signed(C, body, { keyId: province.keyId, secret: commune.secret });
      expect(wrongKey.json().code).toBe('signature_invalid');
      const stale = await signed(C, body, province, { ts: Date.now() - 10 * 60_000 });
      expect([stale.statusCode, stale.json().code]).toEqual([401, 'signature_expired']);
      const outside = await signed(C, dossier({ officeId: 'o-hc' }), commune);
      expect([outside.statusCode, outside.json().code]).toEqual([403, 'outside_scope']);
      const invalid = await signed(C, dossier({ status: 'lost' }));
      expect([invalid.statusCode, invalid.json().code]).toEqual([400, 'invalid_request']);
      expect((await lookup(C)).statusCode).toBe(404);
      // A replay of a good request inside the window is refused.
      const ts = Date.now();
      const first = await signed(C, body, province, { ts });
      expect(first.statusCode).toBe(200);
      const again = await signed(C, body, province, { ts });
      expect([again.statusCode, again.json().code]).toEqual([409, 'replayed']);
    });

    it("a ticket's QR URL shows its place in line as HTML and JSON", async () => {
      const url = ticketStatusUrl(cloud.url, 'o-hkb', `${DAY}/A003`);
      const path = url.slice(cloud.url.length);
      expect(path).toBe(`/t/o-hkb/${DAY}/A003`);
      const json = await cloud.app.inject({ method: 'GET', url: `${path}?format=json` });
      expect(json.statusCode).toBe(200);
      // A001 was called; A002 waits before A003. The mean service time is unknown yet: 5 min per person.
      expect(json.json()).toMatchObject({
        number: 'A003',
        state: 'waiting',
        ahead: 1,
        estimatedWaitMin: 10,
        officeName: 'Một cửa Hòa Khánh Bắc',
      });
      const accept = await cloud.app.inject({
        method: 'GET',
        url: path,
        headers: { accept: 'application/json' },
      });
      expect(accept.json().ahead).toBe(1);
      const html = await cloud.app.inject({ method: 'GET', url: path });
      expect(html.headers['content-type']).toContain('text/html');
      expect(html.body).toContain('Trước bạn còn <b id="ahead">1</b> người');
      const called = await cloud.app.inject({ method: 'GET', url: `/t/o-hkb/${DAY}/A001?format=json` });
      expect(called.json()).toMatchObject({ state: 'called', counter: 1, ahead: null });
      const unknown = await cloud.app.inject({ method: 'GET', url: `/t/o-hkb/${DAY}/A009` });
      expect(unknown.statusCode).toBe(404);
      expect(unknown.body).toContain('Chưa có thông tin');
    });

    it('rate-limits public lookups per client', async () => {
      const codes: number[] = [];
      for (let i = 0; i < 10; i++)
        codes.push(
          (
            await cloud.app.inject({
              method: 'GET',
              url: '/api/v1/public/dossiers/NOPE-1',
              remoteAddress: '10.9.9.9',
            })
          ).statusCode,
        );
      expect(codes.slice(0, 8).every((c) => c === 404)).toBe(true);
      expect(codes.slice(8)).toEqual([429, 429]);
      const r = await cloud.app.inject({
        method: 'GET',
        url: '/api/v1/public/dossiers/NOPE-1',
        remoteAddress: '10.9.9.9',
      });
      expect(r.json().code).toBe('rate_limited');
    });
  });
}
