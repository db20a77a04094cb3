// Admin accounts: passwords never stored in clear, sessions required, roles scoped to a unit subtree (a commune
// admin sees their commune and nothing else), every admin request in the audit log, denials included; the
// service documents itself (OpenAPI). On SQLite and PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdmin } from '../../cloud/admin/provisioning.js';
import type { CloudService } from '../../cloud/service.js';
import {
  DATABASES,
  adminToken,
  enrolledBox,
  seedTree,
  startTestCloud,
  type TestDatabase,
} from './helpers.js';

for (const kind of DATABASES) {
  describe.skipIf(!kind.available)(`admin accounts and authorization (${kind.title})`, () => {
    let db: TestDatabase;
    let cloud: CloudService;
    let province: string;
    let commune: string;
    let viewer: string;

    beforeAll(async () => {
      db = kind.create();
      cloud = await startTestCloud(db, { settings: { loginsPerMinute: 50 } });
      await seedTree(cloud);
      province = await adminToken(cloud, 'tinh', 'dn');
      commune = await adminToken(cloud, 'hkb-admin', 'hkb');
      viewer = await adminToken(cloud, 'lc-viewer', 'lc', 'viewer');
      await enrolledBox(cloud, 'o-hkb');
      await enrolledBox(cloud, 'o-hc');
    });
    afterAll(async () => {
      await cloud?.close();
      await db?.cleanup();
    });

    const as = (
      token: string | null,
      method: 'GET' | 'POST' | 'DELETE',
      url: string,
      payload?: Record<string, unknown>,
    ) =>
      cloud.app.inject({
        method,
        url,
        ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}),
        ...(payload ? { payload } : {}),
      });

    it('stores passwords as scrypt hashes, refuses wrong ones, and needs a session', async () => {
      const a = await createAdmin(
        cloud.store.db,
        { username: 'kiem-tra', unitId: 'hc', role: 'admin' },
        Date.now(),
      );
      const row = await cloud.store.db
        .selectFrom('admins')
        .select('password_hash')
        .where('username', '=', 'kiem-tra')
        .executeTakeFirstOrThrow();
      expect(row.password_hash).toMatch(/^scrypt\$16384\$/);
      expect(row.password_hash).not.toContain(a.password);
      const wrong = await as(null, 'POST', '/api/v1/auth/login', {
        username: 'kiem-tra',
        password: 'not-the-password',
      });
      expect([wrong.statusCode, wrong.json().code]).toEqual([401, 'login_failed']);
      const nobody = await as(null, 'POST', '/api/v1/auth/login', {
        username: 'nobody',
        password: 'whatever-it-is',
      });
      expect(nobody.json().code).toBe('login_failed');
      for (const url of [
        '/api/v1/units',
        '/api/v1/reports?unit=dn&from=2026-01-01&to=2026-01-31',
        '/api/v1/boxes',
        '/api/v1/audit',
      ]) {
        const r = await as(null, 'GET', url);
        expect([r.statusCode, r.json().code], url).toEqual([401, 'unauthorized']);
        expect((await as('x'.repeat(43), 'GET', url)).statusCode).toBe(401);
      }
      const ok = await as(null, 'POST', '/api/v1/auth/login', { username: 'kiem-tra', password: a.password });
      const token = ok.json().token as string;
      expect((await as(token, 'GET', '/api/v1/me')).json()).toMatchObject({
        username: 'kiem-tra',
        role: 'admin',
        unit: { id: 'hc' },
      });
      await as(token, 'POST', '/api/v1/auth/logout');
      expect((await as(token, 'GET', '/api/v1/me')).statusCode).toBe(401);
    });

    it('a commune admin sees their commune and nothing else', async () => {
      const units = (await as(commune, 'GET', '/api/v1/units')).json() as { id: string }[];
      expect(units.map((u) => u.id)).toEqual(['hkb']);
      const offices = (await as(commune, 'GET', '/api/v1/offices')).json() as { id: string }[];
      expect(offices.map((o) => o.id)).toEqual(['o-hkb']);
      const boxes = (await as(commune, 'GET', '/api/v1/boxes')).json() as { office: string }[];
      expect(boxes.map((b) => b.office)).toEqual(['o-hkb']);
      for (const [method, url, body] of [
        ['GET', '/api/v1/reports?unit=lc&from=2026-01-01&to=2026-01-31'], // the district above
        ['GET', '/api/v1/reports?unit=hhb&from=2026-01-01&to=2026-01-31'], // the commune beside
        ['GET', '/api/v1/reports?unit=dn&from=2026-01-01&to=2026-01-31'], // the province
        ['GET', '/api/v1/reports.csv?unit=hc&from=2026-01-01&to=2026-01-31&by=office'],
        ['GET', '/api/v1/offices?unit=dn'],
        ['GET', '/api/v1/boxes?unit=hc'],
        ['POST', '/api/v1/offices', { id: 'o-new', name: 'Mới', unitId: 'hhb' }],
        ['POST', '/api/v1/units', { id: 'x1', name: 'X', kind: 'commune', parentId: 'lc' }],
        ['POST', '/api/v1/offices/o-hc/boxes'],
        ['POST', '/api/v1/admins', { username: 'sneaky', unitId: 'dn', role: 'admin' }],
        ['POST', '/api/v1/integrations', { name: 'X', unitId: 'dn' }],
      ] as const) {
        const r = await as(commune, method, url, body);
        expect([r.statusCode, r.json().code], `${method} ${url}`).toEqual([403, 'outside_scope']);
      }
      const hc = await cloud.store.db
        .selectFrom('boxes')
        .select('id')
        .where('office_id', '=', 'o-hc')
        .executeTakeFirstOrThrow();
      const revoke = await as(commune, 'DELETE', `/api/v1/boxes/${hc.id}`);
      expect([revoke.statusCode, revoke.json().code]).toEqual([403, 'outside_scope']);
      expect(
        (await as(commune, 'GET', '/api/v1/reports?unit=hkb&from=2026-01-01&to=2026-01-31')).statusCode,
      ).toBe(200);
      const claim = await as(commune, 'POST', '/api/v1/offices/o-hkb/boxes');
      expect(claim.statusCode).toBe(201);
      expect(claim.json().claimCode).toMatch(/^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$/);
    });

    it('a viewer reads reports of its subtree but changes nothing; the province admin manages below it', async () => {
      expect(
        (await as(viewer, 'GET', '/api/v1/reports?unit=hhb&from=2026-01-01&to=2026-01-31')).statusCode,
      ).toBe(200);
      expect(
        (await as(viewer, 'GET', '/api/v1/reports?unit=hc&from=2026-01-01&to=2026-01-31')).json().code,
      ).toBe('outside_scope');
      for (const [method, url, body] of [
        ['POST', '/api/v1/units', { id: 'x2', name: 'X', kind: 'commune', parentId: 'lc' }],
        ['POST', '/api/v1/offices/o-hkb/boxes'],
        ['GET', '/api/v1/audit'],
      ] as const) {
        const r = await as(viewer, method, url, body);
        expect([r.statusCode, r.json().code], url).toEqual([403, 'forbidden']);
      }
      const unit = await as(province, 'POST', '/api/v1/units', {
        id: 'hm',
        name: 'Phường Hòa Minh',
        kind: 'commune',
        parentId: 'lc',
      });
      expect(unit.statusCode).toBe(201);
      expect(unit.json().path).toBe('/dn/lc/hm/');
      const office = await as(province, 'POST', '/api/v1/offices', {
        id: 'o-hm',
        name: 'Một cửa Hòa Minh',
        unitId: 'hm',
      });
      expect(office.statusCode).toBe(201);
      const admin = await as(province, 'POST', '/api/v1/admins', {
        username: 'hm-admin',
        unitId: 'hm',
        role: 'admin',
      });
      expect(admin.statusCode).toBe(201);
      expect(admin.json().password).toMatch(/^[\w]{5}(-[\w]{5}){3}$/);
      const bad = await as(province, 'POST', '/api/v1/units', {
        id: 'Bad Id',
        name: 'X',
        kind: 'commune',
        parentId: 'lc',
      });
      expect([bad.statusCode, bad.json().code]).toEqual([400, 'invalid_request']);
      const dup = await as(province, 'POST', '/api/v1/units', {
        id: 'hm',
        name: 'X',
        kind: 'commune',
        parentId: 'lc',
      });
      expect([dup.statusCode, dup.json().code]).toEqual([409, 'exists']);
    });

    it('writes every admin request to the audit log, denials included; each admin sees only their subtree', async () => {
      const log = (await as(province, 'GET', '/api/v1/audit?limit=500')).json() as {
        actor: string;
        action: string;
        outcome: string;
        unit_id: string | null;
      }[];
      const has = (actor: string, action: string, outcome: string) =>
        log.some((e) => e.actor === actor && e.action === action && e.outcome === outcome);
      expect(has('admin:tinh', 'auth.login', 'ok')).toBe(true);
      expect(has('admin:kiem-tra', 'auth.login', 'failed')).toBe(true);
      expect(has('admin:hkb-admin', 'GET /api/v1/reports', 'denied')).toBe(true);
      expect(has('admin:hkb-admin', 'box.created', 'ok')).toBe(true);
      expect(has('admin:hkb-admin', 'report.viewed', 'ok')).toBe(true);
      expect(has('admin:lc-viewer', 'POST /api/v1/units', 'denied')).toBe(true);
      expect(has('admin:tinh', 'unit.created', 'ok')).toBe(true);
      expect(has('admin:tinh', 'admin.created', 'ok')).toBe(true);
      const mine = (await as(commune, 'GET', '/api/v1/audit?limit=500')).json() as {
        actor: string;
        unit_id: string | null;
      }[];
      expect(mine.length).toBeGreaterThan(0);
      expect(mine.every((e) => e.unit_id === 'hkb' || e.actor === 'admin:hkb-admin')).toBe(true);
      expect(mine.some((e) => e.actor === 'admin:tinh' && e.unit_id !== 'hkb')).toBe(false);
    });

    it('serves its own OpenAPI document and docs UI', async () => {
      const spec = (await as(null, 'GET', '/openapi.json')).json() as {
        openapi: string;
        paths: Record<string, unknown>;
      };
      expect(spec.openapi).toMatch(/^3\./);
      for (const p of [
        '/api/v1/uplink/events',
        '/api/v1/uplink/heartbeat',
        '/api/v1/enroll',
        '/api/v1/dossiers/{code}',
        '/api/v1/public/dossiers/{code}',
        '/api/v1/reports',
        '/api/v1/reports.csv',
        '/t/{office}/{day}/{number}',
        '/api/v1/public/tickets/{office}/{day}/{number}',
        '/api/v1/public/tickets/{office}/{day}/{number}/rating',
        '/w/{office}',
        '/api/v1/public/offices/{office}/wait',
        '/w/{office}/poster',
        '/api/v1/auth/login',
      ])
        expect(spec.paths, p).toHaveProperty([p]);
      const ui = await as(null, 'GET', '/docs/');
      expect(ui.statusCode).toBe(200);
      expect(ui.body).toContain('swagger');
    });
  });
}
