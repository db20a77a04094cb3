// Peripherals from the console, as an admin and a box meet them: the cloud issues a keypad's secret and answers
// it once (text and QR code); only its hash is stored (no table holds the secret) and sent (the box's target);
// rotating gives a new secret whose hash replaces the old; revoking removes it; bad input is refused naming
// the field; viewers read, admins act, nobody outside the unit; every change audited. SQLite and PostgreSQL.
import jsQRModule from 'jsqr';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CloudService } from '../../cloud/service.js';
import { FLEET_PERIPHERALS_PER_OFFICE_MAX } from '../../cloud/limits.js';
import { parsePeripheralCredential } from '../../protocol/index.js';
import type { DesiredConfig } from '../../protocol/fleet.js';
import { hashSecret, verifySecret } from '../../protocol/secrets.js';
import {
  adminToken,
  DATABASES,
  enrolledBox,
  seedTree,
  startTestCloud,
  type TestDatabase,
} from './helpers.js';

const OFFICE = {
  office: { sessions: [{ open: '07:30', close: '17:00' }] },
  services: [{ id: 'ho-tich', name: 'Hộ tịch', numbering: { prefix: 'A', width: 3 } }],
  counters: [
    { number: 1, services: ['ho-tich'] },
    { number: 2, services: ['ho-tich'] },
  ],
};

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;
const jsQR = (jsQRModule as unknown as { default: typeof jsQRModule.default }).default ?? jsQRModule;

for (const kind of DATABASES) {
  describe.skipIf(!kind.available)(`fleet: peripherals from the console (${kind.title})`, () => {
    let db: TestDatabase;
    let cloud: CloudService;
    let admin: string;
    let viewer: string;
    let outsider: string;
    let box: { boxId: string; token: string };

    beforeAll(async () => {
      db = kind.create();
      cloud = await startTestCloud(db, { settings: { loginsPerMinute: 50 } });
      await seedTree(cloud);
      admin = await adminToken(cloud, 'qt-hkb', 'hkb');
      viewer = await adminToken(cloud, 'xem-lc', 'lc', 'viewer');
      outsider = await adminToken(cloud, 'qt-hc', 'hc');
      box = await enrolledBox(cloud, 'o-hkb');
    });
    afterAll(async () => {
      await cloud?.close();
      await db?.cleanup();
    });

    const as = async (
      token: string,
      method: 'GET' | 'POST' | 'PUT' | 'DELETE',
      url: string,
      payload?: unknown,
      headers: Record<string, string> = {},
    ) => {
      const res = await cloud.app.inject({
        method,
        url,
        headers: { authorization: `Bearer ${token}`, ...headers },
        ...(payload !== undefined ? { payload: payload as Record<string, unknown> } : {}),
      });
      return { status: res.statusCode, body: res.json() as Any, headers: res.headers };
    };
    const base = '/api/v1/fleet/offices/o-hkb/peripherals';
    const target = async (): Promise<{ version: number; config: DesiredConfig }> => {
      const res = await cloud.app.inject({
        method: 'GET',
        url: '/api/v1/box/target?version=0&wait=0',
        headers: { authorization: `Bearer ${box.token}` },
      });
      expect(res.statusCode, res.body).toBe(200);
      return res.json();
    };
    const inTarget = async (id: string) => (await target()).config.peripherals.find((p) => p.id === id);
    const hashOf = async (id: string) => (await inTarget(id))?.secretHash as string;
    /** Every row of every table of this cloud's database, as text. */
    const everyRow = async (): Promise<string> => {
      const tables = await cloud.store.db.introspection.getTables();
      const mine = tables.filter((t) => (db.schema ? t.schema === db.schema : true));
      expect(mine.map((t) => t.name)).toEqual(expect.arrayContaining(['fleet_offices', 'audit_log']));
      const rows = await Promise.all(
        mine.map((t) =>
          cloud.store.db
            .selectFrom(t.name as never)
            .selectAll()
            .execute(),
        ),
      );
      return JSON.stringify(rows);
    };

    it('an office not yet managed is refused (its box keeps its own list); then a keypad is added: the secret answered once, only its hash stored and sent', async () => {
      const early = await as(admin, 'POST', base, { id: 'keypad-1', role: 'keypad', counter: 1 });
      expect(early.status).toBe(409);
      expect(early.body.code).toBe('office_not_managed');

      const put = await as(admin, 'PUT', '/api/v1/fleet/offices/o-hkb/config', { overrides: OFFICE });
      expect(put.status, JSON.stringify(put.body)).toBe(200);

      const res = await as(admin, 'POST', base, { id: 'keypad-1', role: 'keypad', counter: 1 });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.headers['cache-control']).toBe('no-store');
      const { secret, qr } = res.body;
      expect(secret).toMatch(/^[A-Za-z0-9_-]{32}$/);
      expect(res.body.peripheral).toMatchObject({
        id: 'keypad-1',
        role: 'keypad',
        counter: 1,
        driven: false,
      });
      expect(res.body.peripheral.createdBy).toBe('admin:qt-hkb');
      expect(res.body.versions).toEqual([{ boxId: box.boxId, officeId: 'o-hkb', version: 2 }]);
      expect(JSON.stringify(res.body.peripheral)).not.toContain('scrypt');

      // The QR code holds the credential: decoded from the PNG, it is the text, and the text holds the secret.
      expect(parsePeripheralCredential(qr.text)).toEqual({
        id: 'keypad-1',
        secret,
        role: 'keypad',
        counter: 1,
        officeId: 'o-hkb',
      });
      const png = PNG.sync.read(Buffer.from(qr.dataUrl.replace(/^data:image\/png;base64,/, ''), 'base64'));
      expect(jsQR(new Uint8ClampedArray(png.data), png.width, png.height)?.data).toBe(qr.text);

      // The box's target has the hash, which the secret matches; no table holds the secret.
      const sent = await inTarget('keypad-1');
      expect(sent).toMatchObject({ id: 'keypad-1', role: 'keypad', counter: 1 });
      expect(await verifySecret(secret, await hashOf('keypad-1'))).toBe(true);
      expect(JSON.stringify(await target())).not.toContain(secret);
      expect(await everyRow()).not.toContain(secret);

      // Listed with its dates, never a secret or a hash.
      const list = await as(admin, 'GET', base);
      expect(list.status).toBe(200);
      expect(list.body).toMatchObject({ officeId: 'o-hkb', managed: true, revision: 2 });
      expect(list.body.peripherals).toEqual([
        expect.objectContaining({ id: 'keypad-1', role: 'keypad', counter: 1, rotatedAt: null }),
      ]);
      expect(Date.parse(list.body.peripherals[0].createdAt)).toBeGreaterThan(Date.now() - 60_000);
      expect(JSON.stringify(list.body)).not.toMatch(/scrypt|secret/i);

      // The console page to come reads the API from the OpenAPI document like the rest.
      const spec = (await cloud.app.inject({ method: 'GET', url: '/openapi.json' })).json();
      for (const path of [
        '/api/v1/fleet/offices/{officeId}/peripherals',
        '/api/v1/fleet/offices/{officeId}/peripherals/{peripheralId}/rotate',
        '/api/v1/fleet/offices/{officeId}/peripherals/{peripheralId}/revoke',
        '/api/v1/fleet/offices/{officeId}/peripherals/{peripheralId}',
      ])
        expect(spec.paths, path).toHaveProperty([path]);
    });

    it('bad input is refused naming the field, and nothing is saved', async () => {
      const before = (await as(admin, 'GET', base)).body.revision;
      const unknownCounter = await as(admin, 'POST', base, { id: 'keypad-9', role: 'keypad', counter: 9 });
      expect(unknownCounter.status).toBe(422);
      expect(unknownCounter.body.code).toBe('config_invalid');
      expect(unknownCounter.body.detail.errors).toEqual([
        { path: 'peripherals[1].counter', message: 'unknown counter 9' },
      ]);
      const unbound = await as(admin, 'POST', base, { id: 'rating-1', role: 'rating' });
      expect(unbound.status).toBe(422);
      expect(unbound.body.detail.errors[0].path).toBe('peripherals[1].counter');

      const badId = await as(admin, 'POST', base, { id: 'Kiosk 1', role: 'kiosk' });
      expect(badId.status).toBe(400);
      expect(badId.body.detail[0].path).toBe('/id');
      const badRole = await as(admin, 'POST', base, { id: 'printer-1', role: 'printer' });
      expect(badRole.status).toBe(400);
      // The admin never gives the hash: the cloud makes the secret.
      const ownHash = await as(admin, 'POST', base, {
        id: 'kiosk-1',
        role: 'kiosk',
        secretHash: await hashSecret('chosen-by-someone'),
      });
      expect(ownHash.status).toBe(400);
      const counterText = await as(admin, 'POST', base, { id: 'keypad-2', role: 'keypad', counter: '2' });
      expect(counterText.status).toBe(400);
      expect(counterText.body.detail[0].path).toBe('/counter');

      const twice = await as(admin, 'POST', base, { id: 'keypad-1', role: 'keypad', counter: 2 });
      expect(twice.status).toBe(409);
      expect(twice.body.code).toBe('peripheral_exists');
      const stale = await as(
        admin,
        'POST',
        base,
        { id: 'kiosk-1', role: 'kiosk' },
        { 'if-match': String(before - 1) },
      );
      expect(stale.status).toBe(409);
      expect(stale.body.code).toBe('revision_conflict');

      expect((await as(admin, 'GET', base)).body.revision).toBe(before);
      expect((await target()).config.peripherals.map((p: { id: string }) => p.id)).toEqual(['keypad-1']);
    });

    it('rotate: a new secret once, its hash replaces the old in the target; a driven device has none to rotate', async () => {
      const added = await as(admin, 'POST', base, { id: 'scanner-2', role: 'scanner', counter: 2 });
      expect(added.status).toBe(201);
      const old = added.body.secret as string;
      const rev = added.body.revision as number;

      const res = await as(admin, 'POST', `${base}/scanner-2/rotate`, undefined, { 'if-match': String(rev) });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.body.secret).not.toBe(old);
      expect(parsePeripheralCredential(res.body.qr.text)?.secret).toBe(res.body.secret);
      expect(res.body.peripheral.rotatedBy).toBe('admin:qt-hkb');
      expect(await verifySecret(res.body.secret, await hashOf('scanner-2'))).toBe(true);
      expect(await verifySecret(old, await hashOf('scanner-2'))).toBe(false);
      expect(await everyRow()).not.toContain(res.body.secret);

      const listed = (await as(viewer, 'GET', base)).body.peripherals.find(
        (p: { id: string }) => p.id === 'scanner-2',
      );
      expect(listed.rotatedAt).not.toBeNull();

      expect((await as(admin, 'POST', `${base}/nobody/rotate`)).status).toBe(404);
      const kiosk = await as(admin, 'POST', base, {
        id: 'kiosk-1',
        role: 'kiosk',
        driver: { kind: 'escpos', link: { tcp: '127.0.0.1:9100' } },
      });
      expect(kiosk.status, JSON.stringify(kiosk.body)).toBe(201);
      expect(kiosk.body.secret).toBeUndefined();
      expect(kiosk.body.peripheral).toMatchObject({ driven: true, driverKind: 'escpos' });
      const driven = await as(admin, 'POST', `${base}/kiosk-1/rotate`);
      expect(driven.status).toBe(409);
      expect(driven.body.code).toBe('peripheral_driven');
    });

    it('revoke (POST …/revoke or DELETE): gone from the office and from the box target', async () => {
      const r1 = await as(admin, 'POST', `${base}/scanner-2/revoke`);
      expect(r1.status, JSON.stringify(r1.body)).toBe(200);
      expect(r1.body.versions).toEqual([expect.objectContaining({ boxId: box.boxId })]);
      expect(await inTarget('scanner-2')).toBeUndefined();
      const r2 = await as(admin, 'DELETE', `${base}/kiosk-1`);
      expect(r2.status).toBe(200);
      expect((await target()).config.peripherals.map((p: { id: string }) => p.id)).toEqual(['keypad-1']);
      expect((await as(admin, 'DELETE', `${base}/kiosk-1`)).status).toBe(404);
      const listed = await as(admin, 'GET', base);
      expect(listed.body.peripherals.map((p: { id: string }) => p.id)).toEqual(['keypad-1']);
    });

    it('viewers read, admins act, nobody outside the unit; every change in the audit log, never a secret', async () => {
      expect((await as(viewer, 'GET', base)).status).toBe(200);
      const v = await as(viewer, 'POST', base, { id: 'kiosk-2', role: 'kiosk' });
      expect(v.status).toBe(403);
      expect((await as(viewer, 'POST', `${base}/keypad-1/rotate`)).status).toBe(403);
      expect((await as(viewer, 'DELETE', `${base}/keypad-1`)).status).toBe(403);
      const o = await as(outsider, 'GET', base);
      expect(o.status).toBe(403);
      expect(o.body.code).toBe('outside_scope');
      expect((await as(outsider, 'POST', base, { id: 'kiosk-2', role: 'kiosk' })).status).toBe(403);
      expect((await as(outsider, 'DELETE', `${base}/keypad-1`)).status).toBe(403);
      const anon = await cloud.app.inject({ method: 'GET', url: base });
      expect(anon.statusCode).toBe(401);
      expect(await inTarget('keypad-1')).toBeDefined();

      const audit = await cloud.store.db
        .selectFrom('audit_log')
        .select(['actor', 'action', 'target', 'outcome', 'detail'])
        .where('action', 'like', 'fleet.peripheral.%')
        .orderBy('id')
        .execute();
      const ok = audit.filter((a) => a.outcome === 'ok').map((a) => [a.actor, a.action, a.target]);
      expect(ok).toEqual([
        ['admin:qt-hkb', 'fleet.peripheral.added', 'o-hkb/keypad-1'],
        ['admin:qt-hkb', 'fleet.peripheral.added', 'o-hkb/scanner-2'],
        ['admin:qt-hkb', 'fleet.peripheral.rotated', 'o-hkb/scanner-2'],
        ['admin:qt-hkb', 'fleet.peripheral.added', 'o-hkb/kiosk-1'],
        ['admin:qt-hkb', 'fleet.peripheral.revoked', 'o-hkb/scanner-2'],
        ['admin:qt-hkb', 'fleet.peripheral.revoked', 'o-hkb/kiosk-1'],
      ]);
      const denied = audit.filter((a) => a.outcome === 'denied').map((a) => [a.actor, a.action]);
      expect(denied).toEqual(
        expect.arrayContaining([
          ['admin:xem-lc', 'fleet.peripheral.added'],
          ['admin:qt-hc', 'fleet.peripheral.revoked'],
        ]),
      );
      expect(audit[0]).toMatchObject({ action: 'fleet.peripheral.added', outcome: 'failed' });
      expect(JSON.parse(audit[0]?.detail as string)).toMatchObject({ code: 'office_not_managed' });
      const first = audit.find((a) => a.outcome === 'ok');
      expect(JSON.parse(first?.detail as string)).toMatchObject({
        detail: { role: 'keypad', counter: 1, revision: 2 },
      });
    });

    it('no config view shows a secret hash, to viewers or admins; saving the view back keeps every secret', async () => {
      const config = '/api/v1/fleet/offices/o-hkb/config';
      const ids = (await target()).config.peripherals.filter((p) => p.secretHash).map((p) => p.id);
      expect(ids.length).toBeGreaterThan(0);
      const before = await Promise.all(ids.map(hashOf));
      for (const who of [admin, viewer]) {
        const view = await as(who, 'GET', config);
        expect(view.status).toBe(200);
        expect(JSON.stringify(view.body)).not.toContain('scrypt$');
        for (const part of ['overrides', 'effective'])
          for (const id of ids)
            expect(view.body[part].peripherals.find((p: Any) => p.id === id).secretHash).toBe('hidden');
      }
      const versions = await as(viewer, 'GET', `/api/v1/fleet/boxes/${box.boxId}/versions`);
      expect(versions.status).toBe(200);
      expect(JSON.stringify(versions.body)).not.toContain('scrypt$');

      // An admin edits something else in the view and saves it back, placeholders and all.
      const view = (await as(admin, 'GET', config)).body;
      const saved = await as(admin, 'PUT', config, {
        overrides: {
          ...view.overrides,
          office: { ...view.overrides.office, name: 'Một cửa Hòa Khánh Bắc (mới)' },
        },
        revision: view.revision,
      });
      expect(saved.status, JSON.stringify(saved.body)).toBe(200);
      expect(await Promise.all(ids.map(hashOf))).toEqual(before); // the box still lets every device in
      expect((await target()).config.office.name).toBe('Một cửa Hòa Khánh Bắc (mới)');

      // A placeholder for a peripheral the office does not have: nothing to keep, refused naming the field.
      const now = (await as(admin, 'GET', config)).body;
      const made = await as(admin, 'PUT', config, {
        overrides: {
          ...now.overrides,
          peripherals: [
            ...now.overrides.peripherals,
            { id: 'display-x', role: 'display', secretHash: 'hidden' },
          ],
        },
        revision: now.revision,
      });
      expect(made.status).toBe(422);
      expect(made.body.detail.errors[0].path).toMatch(/^peripherals\[\d+\]\.secretHash$/);
      expect(made.body.detail.errors[0].message).toContain('POST /api/v1/fleet/offices/<office>/peripherals');
      expect((await target()).config.peripherals.map((p) => p.id)).not.toContain('display-x');
    });

    it('two admins adding at the same moment: both land (each edit is made under the fleet lock), one version each', async () => {
      const before = (await as(admin, 'GET', base)).body.revision as number;
      const [a, b] = await Promise.all([
        as(admin, 'POST', base, { id: 'display-a', role: 'display' }),
        as(admin, 'POST', base, { id: 'display-b', role: 'display' }),
      ]);
      expect([a.status, b.status]).toEqual([201, 201]);
      expect([a.body.revision, b.body.revision].sort((x, y) => x - y)).toEqual([before + 1, before + 2]);
      const ids = (await target()).config.peripherals.map((p) => p.id);
      expect(ids).toEqual(expect.arrayContaining(['keypad-1', 'display-a', 'display-b']));
      for (const id of ['display-a', 'display-b'])
        expect((await as(admin, 'DELETE', `${base}/${id}`)).status).toBe(200);
    });

    it(`at most ${FLEET_PERIPHERALS_PER_OFFICE_MAX} peripherals an office: past it, refused with the reason`, async () => {
      const secretHash = await hashSecret('x');
      const many = Array.from({ length: FLEET_PERIPHERALS_PER_OFFICE_MAX }, (_, i) => ({
        id: `display-${i}`,
        role: 'display',
        secretHash,
      }));
      const admin2 = await adminToken(cloud, 'qt-lc', 'lc');
      const put = await as(admin2, 'PUT', '/api/v1/fleet/offices/o-hhb/config', {
        overrides: { ...OFFICE, peripherals: many },
      });
      expect(put.status, JSON.stringify(put.body)).toBe(200);
      const res = await as(admin2, 'POST', '/api/v1/fleet/offices/o-hhb/peripherals', {
        id: 'kiosk-1',
        role: 'kiosk',
      });
      expect(res.status).toBe(409);
      expect(res.body.code).toBe('too_many_peripherals');
    });
  });
}
