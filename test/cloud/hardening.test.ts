// What an unauthenticated or low-privileged client can make the cloud do: forge its address (trusted proxies),
// make it hash or read a body for nothing (enrollment, uplink), block it with a report over centuries; the
// security headers of the console and the API; viewers kept to reports; admins disabled and enabled. On
// SQLite and PostgreSQL.
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createAdmin } from '../../cloud/admin/provisioning.js';
import type { CloudSettings } from '../../cloud/http/context.js';
import type { CloudService } from '../../cloud/service.js';
import { JSON_BODY_MAX_BYTES, REPORT_MAX_DAYS } from '../../cloud/limits.js';
import type * as Secrets from '../../cloud/auth/secrets.js';
import {
  DATABASES,
  adminToken,
  enrolledBox,
  seedTree,
  startTestCloud,
  type TestDatabase,
} from './helpers.js';

// Counts the scrypt hashes the cloud computes (the expensive step an unauthenticated client must not reach).
const scrypt = vi.hoisted(() => ({ hashes: 0 }));
vi.mock('../../cloud/auth/secrets.js', async (original) => {
  const m = await original<typeof Secrets>();
  return {
    ...m,
    hashSecret: (...a: Parameters<typeof m.hashSecret>) => {
      scrypt.hashes++;
      return m.hashSecret(...a);
    },
  };
});

/** Sends only the headers and the start of a body announced as `length` bytes; resolves with the first answer. */
function answerBeforeBody(port: number, path: string, auth: string | null, length: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let got = '';
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error('no answer while the body was still unsent: the cloud waited for the body'));
    }, 5_000);
    s.on('data', (d: Buffer) => {
      got += d.toString();
      if (got.includes('\r\n\r\n')) {
        clearTimeout(timer);
        s.destroy();
        resolve(got);
      }
    });
    s.on('error', reject);
    s.write(
      `POST ${path} HTTP/1.1\r\nHost: cloud\r\nContent-Type: application/json\r\n` +
        (auth ? `Authorization: ${auth}\r\n` : '') +
        `Content-Length: ${length}\r\n\r\n{"events":[`,
    );
  });
}

for (const kind of DATABASES) {
  describe.skipIf(!kind.available)(`hardening (${kind.title})`, () => {
    const dbs: TestDatabase[] = [];
    const clouds: CloudService[] = [];
    const start = async (settings: Partial<CloudSettings> = {}) => {
      const db = kind.create();
      dbs.push(db);
      const cloud = await startTestCloud(db, { settings });
      clouds.push(cloud);
      await seedTree(cloud);
      return cloud;
    };
    afterAll(async () => {
      for (const c of clouds) await c.close();
      for (const d of dbs) await d.cleanup();
    });

    const login = (cloud: CloudService, username: string, password: string, xff?: string) =>
      cloud.app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        headers: xff ? { 'x-forwarded-for': xff } : {},
        payload: { username, password },
      });
    const auditIps = async (cloud: CloudService, actor: string) =>
      (
        await cloud.store.db
          .selectFrom('audit_log')
          .select('ip')
          .where('actor', '=', actor)
          .where('action', '=', 'auth.login')
          .execute()
      ).map((r) => r.ip);

    describe('client address', () => {
      it('ignores X-Forwarded-For by default: a forged address neither escapes the limit nor reaches the audit', async () => {
        const cloud = await start({ loginsPerMinute: 3 });
        const codes: number[] = [];
        for (let i = 0; i < 5; i++)
          codes.push((await login(cloud, 'ghost', 'x', `203.0.113.${i}`)).statusCode);
        expect(codes).toEqual([401, 401, 401, 429, 429]);
        expect(new Set(await auditIps(cloud, 'admin:ghost'))).toEqual(new Set(['127.0.0.1']));
      });

      it('believes X-Forwarded-For from a configured proxy (address or CIDR) only', async () => {
        const cloud = await start({ loginsPerMinute: 3, trustedProxies: ['127.0.0.0/8'] });
        const codes: number[] = [];
        for (let i = 0; i < 5; i++)
          codes.push((await login(cloud, 'ghost', 'x', `203.0.113.${i}`)).statusCode);
        expect(codes).toEqual([401, 401, 401, 401, 401]); // five clients behind the proxy, one attempt each
        expect((await auditIps(cloud, 'admin:ghost')).sort()).toEqual(
          [0, 1, 2, 3, 4].map((i) => `203.0.113.${i}`),
        );
        // A connection from elsewhere is not the proxy: its header is ignored.
        const direct = await cloud.app.inject({
          method: 'POST',
          url: '/api/v1/auth/login',
          remoteAddress: '198.51.100.7',
          headers: { 'x-forwarded-for': '203.0.113.99' },
          payload: { username: 'ghost2', password: 'x' },
        });
        expect(direct.statusCode).toBe(401);
        expect(await auditIps(cloud, 'admin:ghost2')).toEqual(['198.51.100.7']);
      });
    });

    describe('unauthenticated cost', () => {
      let cloud: CloudService;
      let admin: string;
      beforeAll(async () => {
        cloud = await start({ loginsPerMinute: 1000 });
        admin = await adminToken(cloud, 'lc-admin', 'lc');
      });

      it('refuses an unknown claim code without computing a hash', async () => {
        const before = scrypt.hashes;
        for (let i = 0; i < 10; i++) {
          const r = await cloud.app.inject({
            method: 'POST',
            url: '/api/v1/enroll',
            payload: { claimCode: `ZZZZ-ZZZZ-ZZZZ-ZZ${String(i).padStart(2, '0')}`, officeId: 'o-hkb' },
          });
          expect(r.statusCode).toBe(403);
          expect(r.json().code).toBe('claim_invalid');
        }
        expect(scrypt.hashes - before).toBe(0);
        // A real code still enrolls (one hash: the new secret).
        const hashes = scrypt.hashes;
        await enrolledBox(cloud, 'o-hkb');
        expect(scrypt.hashes - hashes).toBe(1);
      });

      it('answers an uplink or heartbeat without a valid credential before reading its body', async () => {
        const box = await enrolledBox(cloud, 'o-hkb');
        for (const path of ['/api/v1/uplink/events', '/api/v1/uplink/heartbeat']) {
          for (const auth of [null, `Bearer ${box.boxId}.${'x'.repeat(43)}`, 'Bearer nobody.abc']) {
            const head = await answerBeforeBody(cloud.port, path, auth, 16 * 1024 * 1024 - 1);
            expect(head).toMatch(/^HTTP\/1.1 401/);
          }
        }
      });

      it('refuses a JSON body over its limit before parsing it', async () => {
        const r = await cloud.app.inject({
          method: 'POST',
          url: '/api/v1/auth/login',
          headers: { 'content-type': 'application/json' },
          payload: JSON.stringify({ username: 'x', password: 'p'.repeat(JSON_BODY_MAX_BYTES) }),
        });
        expect(r.statusCode).toBe(413);
        expect(r.json().code).toBe('fst_err_ctp_body_too_large');
      });

      it('refuses days that are not on the calendar and periods longer than the limit, quickly', async () => {
        const get = (from: string, to: string) =>
          cloud.app.inject({
            method: 'GET',
            url: `/api/v1/reports?unit=lc&from=${from}&to=${to}`,
            headers: { authorization: `Bearer ${admin}` },
          });
        for (const [from, to] of [
          ['2026-02-30', '2026-03-01'],
          ['2026-01-01', '2026-13-01'],
          ['2025-02-29', '2025-03-01'],
          ['0000-01-01', '9999-12-31'],
          ['2025-01-01', '2026-01-02'], // 367 days
        ] as const) {
          const t0 = Date.now();
          const r = await get(from, to);
          expect(r.statusCode, `${from}..${to}`).toBe(400);
          expect(r.json().code).toBe('invalid_period');
          expect(Date.now() - t0).toBeLessThan(1_000);
        }
        expect(REPORT_MAX_DAYS).toBe(366);
        expect((await get('2025-01-01', '2026-01-01')).statusCode).toBe(200); // 366 days
        expect((await get('2024-02-29', '2024-02-29')).statusCode).toBe(200);
      });
    });

    describe('console and admin API', () => {
      let cloud: CloudService;
      let lcAdmin: string;
      let viewer: string;
      beforeAll(async () => {
        cloud = await start({ loginsPerMinute: 1000 });
        lcAdmin = await adminToken(cloud, 'lc-admin', 'lc');
        viewer = await adminToken(cloud, 'lc-viewer', 'lc', 'viewer');
      });
      const as = (token: string, method: 'GET' | 'POST', url: string) =>
        cloud.app.inject({ method, url, headers: { authorization: `Bearer ${token}` } });

      it('sends CSP (no inline script, no framing), nosniff and a referrer policy with the console and the API', async () => {
        for (const url of ['/console/', '/console/app.js', '/healthz', '/api/v1/me', '/nowhere']) {
          const r = await cloud.app.inject({ method: 'GET', url });
          const csp = String(r.headers['content-security-policy']);
          expect(csp, url).toContain("frame-ancestors 'none'");
          expect(csp, url).toMatch(/script-src 'self'(;|$)/);
          expect(csp, url).not.toContain('unsafe-eval');
          expect(r.headers['x-content-type-options'], url).toBe('nosniff');
          expect(r.headers['referrer-policy'], url).toBe('no-referrer');
          expect(r.headers['x-frame-options'], url).toBe('DENY');
          expect(csp, url).toContain("style-src 'self';");
        }
        // The citizen's pages load their style and script from files: no inline style, no inline script.
        for (const url of ['/t/o-hkb/2026-03-02/A001', '/w/o-hkb', '/w/o-hkb/poster']) {
          const page = await cloud.app.inject({ method: 'GET', url });
          expect(String(page.headers['content-security-policy']), url).toContain("style-src 'self';");
          expect(String(page.headers['content-security-policy']), url).toMatch(/script-src 'self'(;|$)/);
        }
      });

      it('keeps the fleet and the office listing from viewers', async () => {
        for (const url of ['/api/v1/offices', '/api/v1/boxes', '/api/v1/offices?unit=hkb']) {
          const r = await as(viewer, 'GET', url);
          expect(r.statusCode, url).toBe(403);
          expect(r.json().code).toBe('forbidden');
          expect((await as(lcAdmin, 'GET', url)).statusCode, url).toBe(200);
        }
        expect(
          (await as(viewer, 'GET', '/api/v1/reports?unit=lc&from=2026-01-01&to=2026-01-31')).statusCode,
        ).toBe(200);
      });

      it('disables an admin (sessions end at once, logins refused, audited) and enables them again', async () => {
        const b = await createAdmin(
          cloud.store.db,
          { username: 'hkb-admin', unitId: 'hkb', role: 'admin' },
          0,
        );
        const bToken = (await login(cloud, 'hkb-admin', b.password)).json().token as string;
        expect((await as(bToken, 'GET', '/api/v1/me')).statusCode).toBe(200);

        // Not themselves, not by a viewer, not outside their subtree.
        expect((await as(bToken, 'POST', '/api/v1/admins/hkb-admin/disable')).json().code).toBe(
          'cannot_disable_self',
        );
        expect((await as(viewer, 'POST', '/api/v1/admins/hkb-admin/disable')).statusCode).toBe(403);
        expect((await as(bToken, 'POST', '/api/v1/admins/lc-admin/disable')).json().code).toBe(
          'outside_scope',
        );
        expect((await as(lcAdmin, 'POST', '/api/v1/admins/nobody/disable')).statusCode).toBe(404);

        const off = await as(lcAdmin, 'POST', '/api/v1/admins/hkb-admin/disable');
        expect(off.statusCode).toBe(200);
        expect(off.json()).toEqual({ username: 'hkb-admin', disabled: true });
        expect((await as(bToken, 'GET', '/api/v1/me')).statusCode).toBe(401);
        expect((await login(cloud, 'hkb-admin', b.password)).statusCode).toBe(401);
        const listed = (await as(lcAdmin, 'GET', '/api/v1/admins')).json() as {
          username: string;
          disabled_at: number | null;
        }[];
        expect(listed.find((a) => a.username === 'hkb-admin')?.disabled_at).not.toBeNull();

        expect((await as(lcAdmin, 'POST', '/api/v1/admins/hkb-admin/enable')).statusCode).toBe(200);
        expect((await login(cloud, 'hkb-admin', b.password)).statusCode).toBe(200);

        const audit = await cloud.store.db
          .selectFrom('audit_log')
          .select(['actor', 'action', 'target', 'outcome'])
          .where('action', 'like', 'admin.%abled')
          .orderBy('id')
          .execute();
        expect(audit).toEqual([
          { actor: 'admin:hkb-admin', action: 'admin.disabled', target: 'hkb-admin', outcome: 'failed' },
          { actor: 'admin:lc-viewer', action: 'admin.disabled', target: 'hkb-admin', outcome: 'denied' },
          { actor: 'admin:hkb-admin', action: 'admin.disabled', target: 'lc-admin', outcome: 'denied' },
          { actor: 'admin:lc-admin', action: 'admin.disabled', target: 'nobody', outcome: 'failed' },
          { actor: 'admin:lc-admin', action: 'admin.disabled', target: 'hkb-admin', outcome: 'ok' },
          { actor: 'admin:lc-admin', action: 'admin.enabled', target: 'hkb-admin', outcome: 'ok' },
        ]);
      });
    });
  });
}
