// The fleet's configuration twin, as an admin and a box meet it: a province template and an office's overrides
// give the office's effective config (the console sees what is inherited and what is overridden); an invalid
// config is refused before it is saved, naming the fields; a template that would break an office is refused,
// naming it; viewers read, admins save, nobody outside the unit; every save audited; the box's long poll
// (204 after its wait, 200 at once or within a second of a save), its reports (status, drift), and a box
// offline through three changes getting only the latest. On SQLite and PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CloudService } from '../../cloud/service.js';
import type { BoxConfig } from '../../protocol/config/index.js';
import { configHash, type BoxTarget } from '../../protocol/fleet.js';
import {
  DATABASES,
  adminToken,
  enrolledBox,
  seedTree,
  startTestCloud,
  type TestDatabase,
} from './helpers.js';
import { HKB_OVERRIDES, PROVINCE_TEMPLATE } from './fleet-fixtures.js';

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000) {
  const t0 = Date.now();
  while (!(await check())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

for (const kind of DATABASES) {
  describe.skipIf(!kind.available)(`fleet: the configuration twin (${kind.title})`, () => {
    let db: TestDatabase;
    let cloud: CloudService;
    let province: string;
    let commune: string;
    let viewer: string;
    let box: { boxId: string; token: string };
    let otherBox: { boxId: string; token: string };

    beforeAll(async () => {
      db = kind.create();
      cloud = await startTestCloud(db, { settings: { loginsPerMinute: 50 } });
      await seedTree(cloud);
      province = await adminToken(cloud, 'tinh', 'dn');
      commune = await adminToken(cloud, 'hkb-admin', 'hkb');
      viewer = await adminToken(cloud, 'lc-viewer', 'lc', 'viewer');
      box = await enrolledBox(cloud, 'o-hkb');
      otherBox = await enrolledBox(cloud, 'o-hc');
    });
    afterAll(async () => {
      const closing = cloud?.close();
      // fetch's pool may leave a connection open that never sent a request; the server's close would wait
      // for its headers timeout (60 s). Nothing is in flight here any more.
      cloud?.app.server.closeAllConnections();
      await closing;
      await db?.cleanup();
    });

    const as = (token: string, method: 'GET' | 'PUT', url: string, payload?: unknown, headers = {}) =>
      cloud.app.inject({
        method,
        url,
        headers: { authorization: `Bearer ${token}`, ...headers },
        ...(payload !== undefined ? { payload: payload as Record<string, unknown> } : {}),
      });
    const poll = (token: string, version: number, wait: number, signal?: AbortSignal) =>
      fetch(`${cloud.url}/api/v1/box/target?version=${version}&wait=${wait}`, {
        headers: { authorization: `Bearer ${token}` },
        ...(signal ? { signal } : {}),
      });
    const report = (token: string, body: Record<string, unknown>) =>
      cloud.app.inject({
        method: 'POST',
        url: '/api/v1/box/reported',
        headers: { authorization: `Bearer ${token}` },
        payload: { at: new Date().toISOString(), ...body },
      });
    const twin = async (boxId: string) =>
      (await as(province, 'GET', `/api/v1/fleet/boxes/${boxId}/twin`)).json<{
        status: string;
        drift: boolean;
        desired: { version: number; hash: string } | null;
        reported: { version: number; state: string; errors: { path: string }[] } | null;
      }>();

    it('a province template and an office override give the effective config, each field with its source', async () => {
      const t = await as(province, 'PUT', '/api/v1/fleet/units/dn/template', { template: PROVINCE_TEMPLATE });
      expect(t.statusCode, t.body).toBe(200);
      // No office is managed yet: the template reaches none.
      expect(t.json()).toMatchObject({ unitId: 'dn', revision: 1, offices: 0, versions: [] });

      const put = await as(commune, 'PUT', '/api/v1/fleet/offices/o-hkb/config', {
        overrides: HKB_OVERRIDES,
      });
      expect(put.statusCode, put.body).toBe(200);
      expect(put.json()).toMatchObject({ revision: 1, versions: [{ boxId: box.boxId, version: 1 }] });

      const res = await as(commune, 'GET', '/api/v1/fleet/offices/o-hkb/config');
      expect(res.statusCode).toBe(200);
      const v = res.json<{
        managed: boolean;
        revision: number;
        effective: BoxConfig;
        inherited: { counters: unknown };
        overrides: unknown;
        hash: string;
        fields: { path: string; from: string; overrides?: string }[];
        sections: Record<string, string>;
      }>();
      expect(v.managed).toBe(true);
      expect(v.overrides).toEqual(HKB_OVERRIDES);
      expect(v.effective.office).toMatchObject({
        id: 'o-hkb',
        name: 'Bộ phận một cửa phường Hòa Khánh Bắc',
        timezone: 'Asia/Ho_Chi_Minh',
        sessions: PROVINCE_TEMPLATE.office.sessions,
      });
      expect(v.effective.services.map((s) => s.id)).toEqual(['ho-tich', 'dat-dai']);
      expect(v.effective.counters.map((c) => c.number)).toEqual([1, 2]);
      expect(v.effective.counters[1]?.policy).toBe('priority-first'); // defaults filled
      expect(v.effective.cloud?.url).toBe(cloud.url); // where the box reaches the cloud
      for (const key of ['broker', 'http', 'admin']) expect(v.effective).not.toHaveProperty(key);
      expect(v.inherited.counters).toEqual(PROVINCE_TEMPLATE.counters);
      expect(v.hash).toBe(configHash(v.effective));
      const from = Object.fromEntries(v.fields.map((f) => [f.path, f]));
      expect(from.services).toMatchObject({ from: 'dn' });
      expect(from['office.sessions']).toMatchObject({ from: 'dn' });
      expect(from.counters).toMatchObject({ from: 'office', overrides: 'dn' });
      expect(from['office.name']).toMatchObject({ from: 'office', overrides: 'cloud' });
      expect(v.sections).toMatchObject({
        services: 'inherited',
        counters: 'overridden',
        office: 'mixed',
        rating: 'default',
      });
    });

    it('an invalid config is refused before it is saved, naming the fields', async () => {
      const before = (await as(province, 'GET', '/api/v1/fleet/offices/o-hkb/config')).json<{
        revision: number;
      }>();
      const bad = await as(province, 'PUT', '/api/v1/fleet/offices/o-hkb/config', {
        overrides: {
          counters: [{ number: 1, services: ['ho-tich', 'xay-dung'] }],
          office: { sessions: [{ open: '11:00', close: '08:00' }] },
        },
      });
      expect(bad.statusCode).toBe(422);
      const body = bad.json<{ code: string; detail: { errors: { path: string; message: string }[] } }>();
      expect(body.code).toBe('config_invalid');
      const paths = body.detail.errors.map((e) => e.path);
      expect(paths).toContain('office.sessions[0]');
      // Machine-local sections and the office id are refused by name too.
      const local = await as(province, 'PUT', '/api/v1/fleet/offices/o-hkb/config', {
        overrides: { broker: { port: 1884 }, office: { id: 'khac' } },
      });
      expect(local.statusCode).toBe(422);
      expect(
        local.json<{ detail: { errors: { path: string }[] } }>().detail.errors.map((e) => e.path),
      ).toEqual(['broker', 'office.id']);
      const ref = await as(province, 'PUT', '/api/v1/fleet/offices/o-hkb/config', {
        overrides: { counters: [{ number: 1, services: ['xay-dung'] }] },
      });
      expect(ref.statusCode).toBe(422);
      expect(
        ref.json<{ detail: { errors: { path: string; message: string }[] } }>().detail.errors,
      ).toContainEqual({
        path: 'counters[0].services[0]',
        message: 'unknown service "xay-dung"',
      });
      // Nothing was saved: same revision, no new version for the box.
      const after = (await as(province, 'GET', '/api/v1/fleet/offices/o-hkb/config')).json<{
        revision: number;
      }>();
      expect(after.revision).toBe(before.revision);
      expect((await twin(box.boxId)).desired?.version).toBe(1);
    });

    it('a template change re-resolves the offices below it, and is refused whole if it would break one', async () => {
      // o-hkb's counter 2 serves dat-dai: a province template without it would break the office.
      const breaking = await as(province, 'PUT', '/api/v1/fleet/units/dn/template', {
        template: { ...PROVINCE_TEMPLATE, services: [PROVINCE_TEMPLATE.services[0]] },
      });
      expect(breaking.statusCode).toBe(422);
      const b = breaking.json<{
        code: string;
        message: string;
        detail: { offices: { officeId: string; errors: { path: string }[] }[] };
      }>();
      expect(b.code).toBe('config_invalid');
      expect(b.message).toContain('o-hkb');
      expect(b.detail.offices).toEqual([
        {
          officeId: 'o-hkb',
          errors: [{ path: 'counters[1].services[0]', message: 'unknown service "dat-dai"' }],
        },
      ]);
      expect((await as(province, 'GET', '/api/v1/fleet/units/dn/template')).json()).toMatchObject({
        revision: 1,
      });

      // A district template between the province and the commune: o-hkb (under lc) changes, o-hc does not.
      await as(province, 'PUT', '/api/v1/fleet/offices/o-hc/config', { overrides: {} });
      const hcBefore = await twin(otherBox.boxId);
      const lc = await as(province, 'PUT', '/api/v1/fleet/units/lc/template', {
        template: { screens: { kioskIdleSeconds: 45, notice: 'Liên Chiểu' } },
      });
      expect(lc.statusCode, lc.body).toBe(200);
      expect(lc.json()).toMatchObject({
        offices: 1,
        versions: [{ boxId: box.boxId, officeId: 'o-hkb', version: 2 }],
      });
      const hkb = (await as(province, 'GET', '/api/v1/fleet/offices/o-hkb/config')).json<{
        effective: { screens: { kioskIdleSeconds: number; chime: boolean } };
        fields: { path: string; from: string }[];
      }>();
      expect(hkb.effective.screens).toMatchObject({ kioskIdleSeconds: 45, chime: true });
      expect(hkb.fields).toContainEqual({ path: 'screens.kioskIdleSeconds', from: 'lc' });
      expect((await twin(otherBox.boxId)).desired).toEqual(hcBefore.desired);

      // Saving the same overrides again resolves to the same hash: a new revision, no new version.
      const same = await as(province, 'PUT', '/api/v1/fleet/offices/o-hkb/config', {
        overrides: HKB_OVERRIDES,
      });
      expect(same.json()).toMatchObject({ versions: [] });
      expect((await twin(box.boxId)).desired?.version).toBe(2);
      const history = (await as(province, 'GET', `/api/v1/fleet/boxes/${box.boxId}/versions`)).json<
        { version: number; changed: string[]; savedBy: string }[]
      >();
      expect(history.map((h) => [h.version, h.changed])).toEqual([
        [2, ['screens']],
        [1, ['clerks', 'cloud', 'counters', 'office', 'peripherals', 'rating', 'screens', 'services']],
      ]);
      expect(history[0]?.savedBy).toBe('admin:tinh');
    });

    it('viewers read, admins save, nobody outside their unit; every save and refusal is audited', async () => {
      expect((await as(viewer, 'GET', '/api/v1/fleet/offices/o-hkb/config')).statusCode).toBe(200);
      expect((await as(viewer, 'GET', `/api/v1/fleet/boxes/${box.boxId}/twin`)).statusCode).toBe(200);
      expect((await as(viewer, 'GET', '/api/v1/fleet/twins?unit=lc')).statusCode).toBe(200);
      const viewerPut = await as(viewer, 'PUT', '/api/v1/fleet/offices/o-hkb/config', { overrides: {} });
      expect(viewerPut.statusCode).toBe(403);
      expect(viewerPut.json()).toMatchObject({ code: 'forbidden' });
      // The commune admin: its own office yes, the neighbour's and the province's template no.
      expect((await as(commune, 'GET', '/api/v1/fleet/offices/o-hhb/config')).json()).toMatchObject({
        code: 'outside_scope',
      });
      expect(
        (await as(commune, 'PUT', '/api/v1/fleet/offices/o-hhb/config', { overrides: {} })).statusCode,
      ).toBe(403);
      expect((await as(commune, 'PUT', '/api/v1/fleet/units/dn/template', { template: {} })).statusCode).toBe(
        403,
      );
      expect((await as(commune, 'GET', `/api/v1/fleet/boxes/${otherBox.boxId}/twin`)).statusCode).toBe(403);
      const listed = (await as(commune, 'GET', '/api/v1/fleet/twins')).json<{ twins: { boxId: string }[] }>();
      expect(listed.twins.map((t) => t.boxId)).toEqual([box.boxId]);
      expect((await as(commune, 'GET', '/api/v1/fleet/twins?unit=dn')).statusCode).toBe(403);

      const rows = await cloud.store.db
        .selectFrom('audit_log')
        .select(['actor', 'action', 'target', 'outcome', 'detail'])
        .where('action', 'like', 'fleet.%')
        .orderBy('id')
        .execute();
      const saved = rows.filter((r) => r.action === 'fleet.office.saved' && r.outcome === 'ok');
      expect(saved[0]).toMatchObject({ actor: 'admin:hkb-admin', target: 'o-hkb' });
      expect(JSON.parse(saved[0]?.detail ?? '{}')).toMatchObject({
        status: 200,
        detail: { revision: 1, versions: [{ boxId: box.boxId, version: 1 }] },
      });
      expect(rows).toContainEqual(
        expect.objectContaining({
          actor: 'admin:tinh',
          action: 'fleet.template.saved',
          target: 'dn',
          outcome: 'failed',
        }),
      );
      expect(rows).toContainEqual(
        expect.objectContaining({
          actor: 'admin:lc-viewer',
          action: 'fleet.office.saved',
          outcome: 'denied',
        }),
      );
      expect(rows).toContainEqual(
        expect.objectContaining({
          actor: 'admin:hkb-admin',
          action: 'fleet.office.saved',
          target: 'o-hhb',
          outcome: 'denied',
        }),
      );
    });

    it('a stale save is refused with 409 (If-Match or the body), the fresh one goes through', async () => {
      const cur = (await as(province, 'GET', '/api/v1/fleet/offices/o-hc/config')).json<{
        revision: number;
      }>();
      const first = await as(
        province,
        'PUT',
        '/api/v1/fleet/offices/o-hc/config',
        { overrides: { screens: { chime: false } } },
        {
          'if-match': `"${cur.revision}"`,
        },
      );
      expect(first.statusCode, first.body).toBe(200);
      const stale = await as(
        commune === '' ? province : province,
        'PUT',
        '/api/v1/fleet/offices/o-hc/config',
        {
          overrides: { screens: { notice: 'x' } },
          revision: cur.revision,
        },
      );
      expect(stale.statusCode).toBe(409);
      expect(stale.json()).toMatchObject({
        code: 'revision_conflict',
        detail: { revision: cur.revision + 1 },
      });
    });

    it('the long poll: 204 after its wait, 200 at once when newer, woken within a second by a save', async () => {
      // Version 2 exists: a box that processed 0 or 1 gets it at once.
      const atOnce = await poll(box.token, 0, 30);
      expect(atOnce.status).toBe(200);
      const target = (await atOnce.json()) as BoxTarget;
      expect(target).toMatchObject({ version: 2, hash: configHash(target.config) });
      expect((target.config as { office: { id: string } }).office.id).toBe('o-hkb');

      const t0 = Date.now();
      const idle = await poll(box.token, 2, 1);
      expect(idle.status).toBe(204);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(950);

      // A wait beyond the cap is cut to it, not refused; an unknown box is refused before anything.
      expect((await poll('nobody.secret', 2, 1)).status).toBe(401);

      const held = poll(box.token, 2, 30);
      await until('the poll to wait', () => (cloud.ctx.fleet?.waiting ?? 0) === 1);
      const saveAt = Date.now();
      const save = await as(commune, 'PUT', '/api/v1/fleet/offices/o-hkb/config', {
        overrides: { ...HKB_OVERRIDES, screens: { notice: 'Nghỉ chiều thứ Sáu' } },
      });
      expect(save.statusCode).toBe(200);
      const woken = await held;
      const took = Date.now() - saveAt;
      expect(woken.status).toBe(200);
      expect(((await woken.json()) as BoxTarget).version).toBe(3);
      expect(took).toBeLessThan(1000);

      // A box that hangs up is no longer waited for.
      const gone = new AbortController();
      const hung = poll(box.token, 3, 30, gone.signal).catch(() => 'aborted');
      await until('the poll to wait', () => (cloud.ctx.fleet?.waiting ?? 0) === 1);
      gone.abort();
      expect(await hung).toBe('aborted');
      await until('the waiter to be removed', () => (cloud.ctx.fleet?.waiting ?? 0) === 0);
    });

    it('a replica holding its most long polls answers the next one 503 with Retry-After', async () => {
      const latest = (await twin(box.boxId)).desired?.version as number;
      cloud.ctx.settings.fleetLongPollsMax = 2;
      const hang = new AbortController();
      try {
        const held = [poll(box.token, latest, 30, hang.signal), poll(otherBox.token, 1000, 30, hang.signal)];
        for (const p of held) p.catch(() => undefined);
        await until('two polls to wait', () => (cloud.ctx.fleet?.waiting ?? 0) === 2);
        const third = await poll(box.token, latest, 30);
        expect(third.status).toBe(503);
        expect(third.headers.get('retry-after')).toBe('50');
        expect(await third.json()).toMatchObject({ code: 'too_many_polls' });
      } finally {
        hang.abort();
        cloud.ctx.settings.fleetLongPollsMax = 20_000;
      }
      await until('the polls to end', () => (cloud.ctx.fleet?.waiting ?? 0) === 0);
    });

    it('reports: pending, in sync, drift, rejected with its errors; an unknown version is 409', async () => {
      const desired = (await twin(box.boxId)).desired as { version: number; hash: string };
      expect(await twin(box.boxId)).toMatchObject({ status: 'pending', reported: null, drift: false });
      const ok = await report(box.token, { version: desired.version, state: 'applied', hash: desired.hash });
      expect(ok.statusCode, ok.body).toBe(200);
      expect(await twin(box.boxId)).toMatchObject({ status: 'in_sync', drift: false });
      // Resent (the answer was lost): still one state.
      expect(
        (await report(box.token, { version: desired.version, state: 'applied', hash: desired.hash }))
          .statusCode,
      ).toBe(200);
      // An older report arriving late changes nothing.
      await report(box.token, { version: desired.version - 1, state: 'applied', hash: 'old' });
      expect(await twin(box.boxId)).toMatchObject({
        status: 'in_sync',
        reported: { version: desired.version },
      });
      // Applied, but with another hash than the cloud's for that version: drift.
      await report(box.token, { version: desired.version, state: 'applied', hash: 'f'.repeat(64) });
      expect(await twin(box.boxId)).toMatchObject({ status: 'in_sync', drift: true });

      const unknown = await report(box.token, { version: 99, state: 'applied', hash: desired.hash });
      expect(unknown.statusCode).toBe(409);
      expect(unknown.json()).toMatchObject({ code: 'unknown_version' });
      // Another box's credential cannot speak for this one, and no credential is refused before the body.
      const noCred = await cloud.app.inject({ method: 'POST', url: '/api/v1/box/reported', payload: {} });
      expect(noCred.statusCode).toBe(401);

      await as(commune, 'PUT', '/api/v1/fleet/offices/o-hkb/config', {
        overrides: { ...HKB_OVERRIDES, screens: { notice: 'Thứ Bảy làm việc buổi sáng' } },
      });
      const next = (await twin(box.boxId)).desired as { version: number; hash: string };
      expect(await twin(box.boxId)).toMatchObject({ status: 'pending' });
      // The province wants to hear of rejected configs (an alert rule, here without a webhook).
      const rule = await cloud.app.inject({
        method: 'POST',
        url: '/api/v1/alert-rules',
        headers: { authorization: `Bearer ${province}` },
        payload: { unitId: 'dn', kind: 'config_rejected' },
      });
      expect(rule.statusCode, rule.body).toBe(201);
      await report(box.token, {
        version: next.version,
        state: 'rejected',
        hash: desired.hash,
        errors: [{ path: 'peripherals[0].driver.port', message: 'no such serial port /dev/ttyUSB9' }],
      });
      const rejected = await twin(box.boxId);
      expect(rejected).toMatchObject({ status: 'rejected', drift: false });
      expect(rejected.reported?.errors).toEqual([
        { path: 'peripherals[0].driver.port', message: 'no such serial port /dev/ttyUSB9' },
      ]);
      // Fleet health: the office's box shows the version it rejected, and a config_rejected alert is open
      // (raised through fleet health, so an admin's webhook hears of it too).
      const health = (await as(province, 'GET', '/api/v1/health/offices/o-hkb')).json<{
        boxes: { id: string; configVersion: number | null; configState: string | null }[];
      }>();
      expect(health.boxes.find((b) => b.id === box.boxId)).toMatchObject({
        configVersion: next.version,
        configState: 'rejected',
      });
      const openAlerts = async () =>
        (await as(province, 'GET', '/api/v1/alerts?state=open&unit=dn')).json<
          { kind: string; boxId: string; detail: string | null }[]
        >();
      expect(await openAlerts()).toEqual([
        expect.objectContaining({
          kind: 'config_rejected',
          boxId: box.boxId,
          detail: expect.stringContaining('peripherals[0].driver.port: no such serial port'),
        }),
      ]);

      // Applied at last: the alert resolves.
      await report(box.token, { version: next.version, state: 'applied', hash: next.hash });
      expect(await openAlerts()).toEqual([]);
      await report(box.token, {
        version: next.version,
        state: 'rejected',
        hash: desired.hash,
        errors: [{ path: 'peripherals[0].driver.port', message: 'no such serial port /dev/ttyUSB9' }],
      });

      const list = (await as(province, 'GET', '/api/v1/fleet/twins?unit=dn')).json<{
        twins: { boxId: string; status: string }[];
        truncated: boolean;
      }>();
      expect(list.truncated).toBe(false);
      expect(Object.fromEntries(list.twins.map((t) => [t.boxId, t.status]))).toEqual({
        [box.boxId]: 'rejected',
        [otherBox.boxId]: 'pending',
      });
    });

    it('a box offline while its config changes three times gets only the latest; a new box gets the current one', async () => {
      const start = (await twin(otherBox.boxId)).desired?.version ?? 0;
      for (const notice of ['một', 'hai', 'ba'])
        expect(
          (
            await as(province, 'PUT', '/api/v1/fleet/offices/o-hc/config', {
              overrides: { screens: { notice } },
            })
          ).statusCode,
        ).toBe(200);
      const res = await poll(otherBox.token, start, 30);
      expect(res.status).toBe(200);
      const t = (await res.json()) as BoxTarget;
      expect(t.version).toBe(start + 3);
      expect((t.config as { screens: { notice: string } }).screens.notice).toBe('ba');

      // A replacement box of a managed office: pending until its first poll gets the office's config as
      // its version 1.
      const fresh = await enrolledBox(cloud, 'o-hc');
      expect(await twin(fresh.boxId)).toMatchObject({ status: 'pending', desired: null });
      const first = (await (await poll(fresh.token, 0, 0)).json()) as BoxTarget;
      expect(first).toMatchObject({ version: 1, hash: t.hash });
      // An office nobody manages: 204, and the twin says unmanaged.
      const lone = await enrolledBox(cloud, 'o-hhb');
      expect((await poll(lone.token, 0, 0)).status).toBe(204);
      expect(await twin(lone.boxId)).toMatchObject({ status: 'unmanaged', desired: null });
    });

    it('a replica shutting down answers its waiting polls at once (the box polls again elsewhere)', async () => {
      // A second replica of its own, so that no other test's client connections are open to it.
      const replica = await startTestCloud(db);
      const latest = (await twin(box.boxId)).desired?.version as number;
      const held = fetch(`${replica.url}/api/v1/box/target?version=${latest}&wait=30`, {
        headers: { authorization: `Bearer ${box.token}` },
      });
      await until('the poll to wait', () => (replica.ctx.fleet?.waiting ?? 0) === 1);
      const t0 = Date.now();
      await replica.close();
      expect((await held).status).toBe(204);
      expect(Date.now() - t0).toBeLessThan(2000);
    });
  });
}
