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
  adminToken,
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

// A dossier's office is decided by the province's software where it names one, else by the earliest lobby
// link (event time) from an office inside the unit of the integration that wrote it; a link from another
// unit is recorded, reported as cross-unit, and never moves the dossier. Each scenario in both arrival orders.
for (const kind of DATABASES) {
  describe.skipIf(!kind.available)(`dossier ownership across units (${kind.title})`, () => {
    let db: TestDatabase;
    let cloud: CloudService;
    const keys: Record<string, { keyId: string; secret: string }> = {};
    const boxes: Record<string, { token: string; seq: number }> = {};
    let hcAdmin: string;
    let hkbAdmin: string;

    beforeAll(async () => {
      db = kind.create();
      cloud = await startTestCloud(db);
      await seedTree(cloud);
      for (const unit of ['dn', 'lc', 'hkb'])
        keys[unit] = await createIntegration(
          cloud.store.db,
          MASTER_KEY,
          { name: `software ${unit}`, unitId: unit },
          Date.now(),
        );
      for (const office of ['o-hkb', 'o-hhb', 'o-hc'])
        boxes[office] = { token: (await enrolledBox(cloud, office)).token, seq: 0 };
      hcAdmin = await adminToken(cloud, 'hc-admin', 'hc');
      hkbAdmin = await adminToken(cloud, 'hkb-admin2', 'hkb');
    });
    afterAll(async () => {
      await cloud?.close();
      await db?.cleanup();
    });

    let nonce = 0;
    /** The integration of `unit` writes the dossier (an office named or not). */
    const write = (unit: string, code: string, officeId?: string) => {
      const url = `/api/v1/dossiers/${code}`;
      const text = JSON.stringify({
        procedure: '1.001234',
        service: 'ho-tich',
        receivedAt: `${DAY}T08:15:00+07:00`,
        dueAt: `${DAY}T16:00:00+07:00`,
        status: 'received',
        procedureName: `Đăng ký khai sinh ${++nonce}`, // each write signs different bytes
        ...(officeId ? { officeId } : {}),
      });
      const ts = String(Math.floor(Date.now() / 1000));
      const k = keys[unit] as { keyId: string; secret: string };
      return cloud.app.inject({
        method: 'PUT',
        url,
        headers: {
          'content-type': 'application/json',
          'x-lobby-key': k.keyId,
          'x-lobby-timestamp': ts,
          'x-lobby-signature': hmacHex(k.secret, hmacPayload(ts, 'PUT', url, text)),
        },
        payload: text,
      });
    };
    /** The box of `office` links the code at minute `min` of the morning (event time). */
    const link = async (office: string, code: string, min: number) => {
      const b = boxes[office] as { token: string; seq: number };
      const n = ++b.seq;
      const r = await cloud.app.inject({
        method: 'POST',
        url: '/api/v1/uplink/events',
        headers: { authorization: `Bearer ${b.token}` },
        payload: {
          events: [
            {
              seq: n,
              type: 'dossier.linked',
              at: new Date(t0 + min * 60_000).toISOString(),
              day: DAY,
              data: { ticketId: `${DAY}/B${n}`, number: `B${n}`, service: 'ho-tich', counter: 1, code },
            },
          ],
        },
      });
      expect(r.json(), r.body).toMatchObject({ applied: 1 });
    };
    const officeOf = async (code: string) =>
      (
        await cloud.store.db
          .selectFrom('dossiers')
          .select('office_id')
          .where('code', '=', code)
          .executeTakeFirstOrThrow()
      ).office_id;
    const received = async (office: string) => {
      const r = await sql<{ n: number | null }>`SELECT SUM(received) AS n FROM rollup_dossiers
        WHERE grain = 'd' AND office_id = ${office} AND period = ${DAY}`.execute(cloud.store.db);
      return Number(r.rows[0]?.n ?? 0);
    };
    const report = async (token: string, unit: string) => {
      const r = await cloud.app.inject({
        method: 'GET',
        url: `/api/v1/reports?unit=${unit}&from=${DAY}&to=${DAY}`,
        headers: { authorization: `Bearer ${token}` },
      });
      expect(r.statusCode, r.body).toBe(200);
      return r.json<{ crossUnitLinks: { code: string; office: string; dossierOffice: string | null }[] }>();
    };

    /** One batch of links from the box of `office`, one per code, at minute `min`. */
    const linkAll = (office: string, codes: string[], min: number) => {
      const b = boxes[office] as { token: string; seq: number };
      const events = codes.map((code) => {
        const n = ++b.seq;
        return {
          seq: n,
          type: 'dossier.linked',
          at: new Date(t0 + min * 60_000).toISOString(),
          day: DAY,
          data: { ticketId: `${DAY}/B${n}`, number: `B${n}`, service: 'ho-tich', counter: 1, code },
        };
      });
      return cloud.app.inject({
        method: 'POST',
        url: '/api/v1/uplink/events',
        headers: { authorization: `Bearer ${b.token}` },
        payload: { events },
      });
    };

    it('concurrent links and writes of the same codes agree on the office and count each dossier once', async () => {
      const codes = Array.from({ length: 12 }, (_, i) => `LC-RACE-${i}`);
      const before = { hkb: await received('o-hkb'), hhb: await received('o-hhb') };
      const results = await Promise.all([
        linkAll('o-hhb', codes, 30),
        linkAll('o-hkb', codes, 20),
        ...codes.map((c) => write('lc', c)),
      ]);
      for (const r of results) expect(r.statusCode, r.body).toBe(200);
      for (const c of codes) expect(await officeOf(c)).toBe('o-hkb');
      expect(await received('o-hkb')).toBe(before.hkb + codes.length);
      expect(await received('o-hhb')).toBe(before.hhb);
    });

    for (const order of ['dossier first', 'link first'] as const) {
      it(`a box of another commune does not take over a commune's dossier (${order})`, async () => {
        const X = `HKB-TAKEOVER-${order === 'dossier first' ? 1 : 2}`;
        const hkbBefore = await received('o-hkb');
        const hcBefore = await received('o-hc');
        if (order === 'dossier first') {
          expect((await write('hkb', X)).statusCode).toBe(200);
          await link('o-hc', X, 10);
        } else {
          await link('o-hc', X, 10);
          expect((await write('hkb', X)).statusCode).toBe(200);
        }
        // The hc link is outside the hkb software's units: recorded, but the dossier is not filed in hc.
        expect(await officeOf(X)).toBeNull();
        expect(await received('o-hc')).toBe(hcBefore);
        // The owning integration keeps writing it.
        const again = await write('hkb', X);
        expect(again.statusCode, again.body).toBe(200);
        expect(again.json().linkedTickets).toBe(1);
        // A later link from the commune's own office decides it, although hc linked earlier.
        await link('o-hkb', X, 20);
        expect(await officeOf(X)).toBe('o-hkb');
        expect(await received('o-hkb')).toBe(hkbBefore + 1);
        expect(await received('o-hc')).toBe(hcBefore);
        // Both communes see the cross-unit link in their reports.
        for (const [token, unit] of [
          [hcAdmin, 'hc'],
          [hkbAdmin, 'hkb'],
        ] as const)
          expect((await report(token, unit)).crossUnitLinks).toContainEqual(
            expect.objectContaining({ code: X, office: 'o-hc', dossierOffice: 'o-hkb' }),
          );
      });

      it(`an integration writes no dossier of an office outside its unit (${order})`, async () => {
        const Y = `HC-LINKED-${order === 'dossier first' ? 1 : 2}`;
        const hcBefore = await received('o-hc');
        // The hkb software sends a code only an hc box linked: it is not filed in hc on the hkb's word.
        if (order === 'dossier first') {
          expect((await write('hkb', Y)).statusCode).toBe(200);
          await link('o-hc', Y, 5);
        } else {
          await link('o-hc', Y, 5);
          expect((await write('hkb', Y)).statusCode).toBe(200);
        }
        expect(await officeOf(Y)).toBeNull();
        expect(await received('o-hc')).toBe(hcBefore);
        // The province's software (its unit holds hc) files it in hc: the hc link now counts.
        expect((await write('dn', Y)).statusCode).toBe(200);
        expect(await officeOf(Y)).toBe('o-hc');
        expect(await received('o-hc')).toBe(hcBefore + 1);
        // From then on it is an hc dossier: the hkb software is refused, with the reason, and nothing moves.
        const refused = await write('hkb', Y, order === 'dossier first' ? undefined : 'o-hkb');
        expect(refused.statusCode).toBe(403);
        expect(refused.json()).toMatchObject({ code: 'outside_scope' });
        expect(refused.json().message).toMatch(/o-hc|outside/);
        expect(await officeOf(Y)).toBe('o-hc');
        expect(await received('o-hc')).toBe(hcBefore + 1);
      });

      it(`the earliest link by event time decides, whatever the arrival order (${order})`, async () => {
        const Z = `LC-ORDER-${order === 'dossier first' ? 1 : 2}`;
        const before = { hkb: await received('o-hkb'), hhb: await received('o-hhb') };
        if (order === 'dossier first') expect((await write('lc', Z)).statusCode).toBe(200);
        // hhb's link (08:30) arrives before hkb's (08:20): hkb linked first.
        await link('o-hhb', Z, 30);
        if (order === 'dossier first') expect(await officeOf(Z)).toBe('o-hhb');
        await link('o-hkb', Z, 20);
        if (order === 'link first') expect((await write('lc', Z)).statusCode).toBe(200);
        expect(await officeOf(Z)).toBe('o-hkb');
        expect(await received('o-hkb')).toBe(before.hkb + 1);
        expect(await received('o-hhb')).toBe(before.hhb);
        // A link at the very same time from another office: the office id breaks the tie (o-hhb < o-hkb).
        await link('o-hhb', Z, 20);
        expect(await officeOf(Z)).toBe('o-hhb');
        expect(await received('o-hkb')).toBe(before.hkb);
        expect(await received('o-hhb')).toBe(before.hhb + 1);
        // Both links are inside lc: none is cross-unit.
        const cross = await cloud.store.db
          .selectFrom('dossier_links')
          .select('cross_unit')
          .where('code', '=', Z)
          .execute();
        expect(cross.map((c) => Number(c.cross_unit))).toEqual([0, 0, 0]);
      });
    }
  });
}
