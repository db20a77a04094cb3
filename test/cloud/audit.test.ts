// The audit log: refused attempts are audited however early they are refused (no session, a failing box
// credential or HMAC signature, a failed enrollment or login), each saying who claimed what, from which ip,
// and what was attempted; a flood of refusals from one source is one row and a count per minute; the rows
// form a hash chain that verifies, names the first row changed or removed, and stays valid under concurrent
// writers (replicas on PostgreSQL, processes on SQLite). On SQLite and PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { createBoxClaim, createIntegration } from '../../cloud/admin/provisioning.js';
import { verifyAuditChain } from '../../cloud/audit/chain.js';
import { hmacHex } from '../../cloud/auth/secrets.js';
import { openDatabase } from '../../cloud/db/database.js';
import { createAudit } from '../../cloud/http/context.js';
import type { CloudService } from '../../cloud/service.js';
import { hmacPayload } from '../../protocol/index.js';
import { pino } from 'pino';
import {
  DATABASES,
  MASTER_KEY,
  adminToken,
  enrolledBox,
  seedTree,
  startTestCloud,
  type TestDatabase,
} from './helpers.js';

interface Row {
  id: number;
  seq: number;
  actor: string;
  action: string;
  target: string | null;
  outcome: string;
  ip: string | null;
  detail: Record<string, unknown> | null;
}

async function until<T>(what: string, get: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await get();
    if (ok(v)) return v;
    if (Date.now() - t0 > 10_000) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

for (const kind of DATABASES) {
  describe.skipIf(!kind.available)(`audit log (${kind.title})`, () => {
    let db: TestDatabase;
    let cloud: CloudService;
    let now = Date.now();
    let root: string;
    let viewer: string;
    let commune: string;
    let box: { boxId: string; token: string };
    let integration: { keyId: string; secret: string };

    beforeAll(async () => {
      db = kind.create();
      cloud = await startTestCloud(db, { clock: () => now, settings: { loginsPerMinute: 500 } });
      await seedTree(cloud);
      root = await adminToken(cloud, 'tinh-audit', 'dn');
      commune = await adminToken(cloud, 'hkb-audit', 'hkb');
      viewer = await adminToken(cloud, 'lc-view', 'lc', 'viewer');
      box = await enrolledBox(cloud, 'o-hkb');
      integration = await createIntegration(
        cloud.store.db,
        MASTER_KEY,
        { name: 'Một cửa điện tử', unitId: 'dn' },
        Date.now(),
      );
    });
    afterAll(async () => {
      await cloud?.close();
      await db?.cleanup();
    });

    const rows = async (where: { ip?: string; actor?: string; action?: string }) => {
      let q = cloud.store.db.selectFrom('audit_log').selectAll().orderBy('seq');
      if (where.ip) q = q.where('ip', '=', where.ip);
      if (where.actor) q = q.where('actor', '=', where.actor);
      if (where.action) q = q.where('action', '=', where.action);
      return (await q.execute()).map(
        (r) =>
          ({
            ...r,
            id: Number(r.id),
            seq: Number(r.seq),
            detail: r.detail ? JSON.parse(r.detail) : null,
          }) as Row,
      );
    };
    const waitRows = (what: string, where: Parameters<typeof rows>[0], n: number) =>
      until(
        what,
        () => rows(where),
        (r) => r.length >= n,
      );

    it('audits requests without a session, with the ip and what they attempted', async () => {
      await cloud.app.inject({ method: 'GET', url: '/api/v1/boxes?unit=hkb', remoteAddress: '10.7.0.1' });
      await cloud.app.inject({
        method: 'POST',
        url: '/api/v1/units',
        headers: { authorization: 'Bearer expired-or-forged-session-token' },
        payload: { id: 'xa-moi', name: 'Xã mới', kind: 'commune', parentId: 'dn' },
        remoteAddress: '10.7.0.2',
      });
      const [a] = await waitRows('the 401', { ip: '10.7.0.1' }, 1);
      expect(a).toMatchObject({
        actor: 'anonymous',
        action: 'GET /api/v1/boxes',
        outcome: 'denied',
        detail: {
          status: 401,
          code: 'unauthorized',
          method: 'GET',
          route: '/api/v1/boxes',
          query: { unit: 'hkb' },
        },
      });
      // Refused before its body is read (an unauthenticated body costs nothing): method, route and ip.
      const [b] = await waitRows('the 401 with a forged session', { ip: '10.7.0.2' }, 1);
      expect(b).toMatchObject({
        actor: 'anonymous',
        action: 'POST /api/v1/units',
        outcome: 'denied',
        detail: { status: 401, code: 'unauthorized', method: 'POST', route: '/api/v1/units' },
      });
    });

    it('denied rows of an admin say what was attempted', async () => {
      const r = await cloud.app.inject({
        method: 'POST',
        url: '/api/v1/units',
        headers: { authorization: `Bearer ${viewer}` },
        payload: { id: 'xa-viewer', name: 'Xã', kind: 'commune', parentId: 'lc' },
      });
      expect(r.statusCode).toBe(403);
      const [row] = await waitRows(
        'the viewer denial',
        { actor: 'admin:lc-view', action: 'POST /api/v1/units' },
        1,
      );
      expect(row).toMatchObject({
        target: 'xa-viewer',
        outcome: 'denied',
        detail: {
          status: 403,
          code: 'forbidden',
          method: 'POST',
          route: '/api/v1/units',
          body: { id: 'xa-viewer' },
        },
      });
      // One row for it, the admin's: not also an anonymous refusal.
      const all = await cloud.store.db
        .selectFrom('audit_log')
        .select(['actor'])
        .where('target', '=', 'xa-viewer')
        .execute();
      expect(all).toEqual([{ actor: 'admin:lc-view' }]);
    });

    it('audits HMAC failures, failed enrollments and failed box logins', async () => {
      const url = '/api/v1/dossiers/AUDIT-1';
      const text = JSON.stringify({
        procedure: '1.0',
        service: 'ho-tich',
        receivedAt: '2026-03-02T08:00:00+07:00',
        dueAt: '2026-03-02T16:00:00+07:00',
        status: 'received',
      });
      const ts = String(Math.floor(Date.now() / 1000));
      await cloud.app.inject({
        method: 'PUT',
        url,
        headers: {
          'content-type': 'application/json',
          'x-lobby-key': integration.keyId,
          'x-lobby-timestamp': ts,
          'x-lobby-signature': hmacHex('not-the-key', hmacPayload(ts, 'PUT', url, text)),
        },
        payload: text,
        remoteAddress: '10.7.1.1',
      });
      const [hmac] = await waitRows('the HMAC failure', { ip: '10.7.1.1' }, 1);
      expect(hmac).toMatchObject({
        actor: `integration:${integration.keyId}`,
        action: 'PUT /api/v1/dossiers/:code',
        target: 'AUDIT-1',
        outcome: 'denied',
        detail: { status: 401, code: 'signature_invalid' },
      });

      const claim = await createBoxClaim(cloud.store.db, 'o-hc', Date.now());
      await cloud.app.inject({
        method: 'POST',
        url: '/api/v1/enroll',
        payload: { claimCode: 'AAAA-BBBB-CCCC-DDDD', officeId: 'o-hc' },
        remoteAddress: '10.7.2.1',
      });
      await cloud.app.inject({
        method: 'POST',
        url: '/api/v1/enroll',
        payload: { claimCode: claim.claimCode, officeId: 'o-hkb' },
        remoteAddress: '10.7.2.2',
      });
      const [unknownClaim] = await waitRows('the failed enrollment', { ip: '10.7.2.1' }, 1);
      expect(unknownClaim).toMatchObject({
        actor: 'anonymous',
        action: 'POST /api/v1/enroll',
        target: 'o-hc',
        outcome: 'denied',
        detail: { status: 403, code: 'claim_invalid' },
      });
      const [mismatch] = await waitRows('the mismatched enrollment', { ip: '10.7.2.2' }, 1);
      expect(mismatch).toMatchObject({ outcome: 'failed', detail: { status: 409, code: 'office_mismatch' } });
      // The claim code is a secret: it is not in the log.
      expect(JSON.stringify([unknownClaim, mismatch])).not.toContain(claim.claimCode);
      expect(JSON.stringify([unknownClaim, mismatch])).not.toContain('AAAA-BBBB');

      await cloud.app.inject({
        method: 'POST',
        url: '/api/v1/uplink/events',
        headers: { authorization: `Bearer ${box.boxId}.wrong-secret` },
        payload: {
          events: [
            {
              seq: 1,
              type: 'day.started',
              at: new Date().toISOString(),
              day: '2026-03-02',
              data: {},
            },
          ],
        },
        remoteAddress: '10.7.3.1',
      });
      const [login] = await waitRows('the failed box login', { ip: '10.7.3.1' }, 1);
      expect(login).toMatchObject({
        actor: `box:${box.boxId}`,
        action: 'POST /api/v1/uplink/events',
        outcome: 'denied',
        detail: { status: 401, code: 'unauthorized' },
      });
    });

    it('a flood of refusals from one source is one row and a count per minute', async () => {
      const ip = '10.9.0.1';
      const hit = () =>
        cloud.app.inject({
          method: 'GET',
          url: '/api/v1/offices',
          headers: { authorization: 'Bearer guessed-token-guessed-token' },
          remoteAddress: ip,
        });
      for (let i = 0; i < 300; i += 50) await Promise.all(Array.from({ length: 50 }, hit));
      await waitRows('the first refusal', { ip }, 1);
      now += 61_000; // the next minute: its first refusal writes the previous minute's summary
      await hit();
      const r = await waitRows('the summary and the new first row', { ip }, 3);
      expect(r).toHaveLength(3);
      expect(r[0]?.detail).toMatchObject({ status: 401 });
      expect(r[1]?.detail).toMatchObject({ repeated: 299, actors: ['anonymous'] });
      expect(r[2]?.detail).toMatchObject({ status: 401, method: 'GET' });
      // Failed admin logins go the same way.
      const login = () =>
        cloud.app.inject({
          method: 'POST',
          url: '/api/v1/auth/login',
          payload: { username: 'tinh-audit', password: 'wrong' },
          remoteAddress: '10.9.0.2',
        });
      for (let i = 0; i < 5; i++) expect((await login()).statusCode).toBe(401);
      now += 61_000;
      await login();
      const l = await waitRows('the login summary', { ip: '10.9.0.2' }, 3);
      expect(l.map((x) => [x.action, x.outcome])).toEqual([
        ['auth.login', 'failed'],
        ['auth.login', 'failed'],
        ['auth.login', 'failed'],
      ]);
      expect(l[1]?.detail).toMatchObject({ repeated: 4, targets: ['tinh-audit'] });
    });

    it('keeps a valid chain under concurrent writers', async () => {
      // PostgreSQL: a second replica's pool on the same schema. SQLite: one writer (the service; the CLI runs
      // in its own process), so the second writer shares the service's connection.
      const replica =
        kind.name === 'postgres'
          ? await openDatabase({ url: db.url, ...(db.schema ? { schema: db.schema } : {}) })
          : { ...cloud.store, close: async () => undefined };
      try {
        const before = (await verifyAuditChain(cloud.store.db)).rows;
        const other = createAudit(replica, Date.now, pino({ level: 'silent' }));
        await Promise.all(
          Array.from({ length: 40 }, (_, i) => [
            cloud.ctx.audit({ actor: 'test:a', action: 'concurrent', target: String(i) }),
            other({ actor: 'test:b', action: 'concurrent', target: String(i) }),
          ]).flat(),
        );
        const v = await verifyAuditChain(cloud.store.db);
        expect(v).toMatchObject({ ok: true });
        expect(v.rows).toBeGreaterThanOrEqual(before + 80);
        expect((await rows({ action: 'concurrent' })).length).toBe(80);
      } finally {
        await replica.close();
      }
    });

    it('verifies the chain and names the first row changed or removed', async () => {
      const verify = (token: string) =>
        cloud.app.inject({
          method: 'GET',
          url: '/api/v1/audit/verify',
          headers: { authorization: `Bearer ${token}` },
        });
      const ok = await verify(root);
      expect(ok.statusCode, ok.body).toBe(200);
      const total = await cloud.store.db
        .selectFrom('audit_log')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      expect(ok.json()).toMatchObject({ ok: true, head: { seq: expect.any(Number) } });
      expect(ok.json().rows).toBeGreaterThan(90);
      expect(ok.json().rows).toBeLessThanOrEqual(Number(total.n)); // this request's own row may come after
      expect((await verify(commune)).statusCode).toBe(403);

      // Someone with database access rewrites who did something.
      await sql`UPDATE audit_log SET actor = 'admin:someone-else' WHERE seq = 3`.execute(cloud.store.db);
      const tampered = await verify(root);
      expect(tampered.json()).toMatchObject({
        ok: false,
        rows: 2,
        broken: { seq: 3, reason: 'its content does not match its hash' },
      });
      // Rewriting the hash too does not help: the next row points at the old one.
      const r3 = (await rows({})).find((r) => r.seq === 3) as Row;
      const { auditRowHash } = await import('../../cloud/audit/chain.js');
      const raw = await cloud.store.db
        .selectFrom('audit_log')
        .selectAll()
        .where('seq', '=', 3)
        .executeTakeFirstOrThrow();
      const forged = auditRowHash({ ...raw, seq: 3, at: Number(raw.at) }, raw.prev_hash as string);
      await sql`UPDATE audit_log SET hash = ${forged} WHERE id = ${r3.id}`.execute(cloud.store.db);
      expect((await verify(root)).json()).toMatchObject({ ok: false, broken: { seq: 4 } });

      // A removed row is named by the one after it.
      await sql`DELETE FROM audit_log WHERE seq = 3`.execute(cloud.store.db);
      const removed = await verifyAuditChain(cloud.store.db);
      expect(removed).toMatchObject({ ok: false, broken: { seq: 4 } });
      expect(removed.broken?.reason).toContain('missing');
    });
  });
}
