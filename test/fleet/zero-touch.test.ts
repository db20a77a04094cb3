// Zero touch with real processes: a new box (`lobby device` with no config file and an empty data dir) shows
// how to claim it; the claim code an admin made in the cloud (typed, scanned as its QR text, or given to
// `lobby device claim`) enrolls it, it fetches its office config and serves a kiosk. SQLite and PostgreSQL.
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createAdmin, createOffice, createUnit } from '../../cloud/admin/provisioning.js';
import { openDatabase, type CloudDatabase } from '../../cloud/db/database.js';
import { desiredPart } from '../../protocol/fleet.js';
import { DATABASES, MASTER_KEY, type TestDatabase } from '../cloud/helpers.js';
import { killAllBoxes, killed, runCli, startDevice, type BoxProcess } from '../support/box-process.js';
import {
  cloudApi,
  killAllClouds,
  loginAdmin,
  startCloudProcess,
  type CloudProcess,
} from '../support/cloud-process.js';
import { connectDevice, officeConfig, peripheralsFor, request, secretOf } from '../support/office.js';

afterAll(() => {
  killAllBoxes();
  killAllClouds();
});

const OFFICE = 'xa-thu-nghiem';

/** Starts a new box; resolves with its claim page's port once it says it is unclaimed, and its start. */
function newBox(dir: string) {
  let pagePort: (port: number) => void = () => undefined;
  const page = new Promise<number>((r) => (pagePort = r));
  const started = startDevice(join(dir, 'office.yaml'), join(dir, 'data'), {
    args: ['--mqtt-port', '0', '--http-port', '0'],
    env: { LOBBY_HTTP_HOST: '127.0.0.1' },
    startTimeoutMs: 60_000,
    onLog: (l) => {
      if (l.msg?.toString().startsWith('box unclaimed')) pagePort(l.httpPort as number);
    },
  });
  started.catch(() => undefined);
  return { page, started };
}

for (const kind of DATABASES) {
  describe.skipIf(!kind.available)(`zero touch: unbox, claim, first ticket (${kind.title})`, () => {
    let db: TestDatabase;
    let seed: CloudDatabase;
    let cloud: CloudProcess;
    let token: string;
    const boxes: BoxProcess[] = [];

    afterAll(async () => {
      for (const b of boxes) await killed(b.child);
      if (cloud) await killed(cloud.child);
      await seed?.close();
      await db?.cleanup();
    });

    const api = (method: string, path: string, body?: unknown) =>
      cloudApi(cloud, () => token)(method, path, body);

    it('a technician types the claim code on the new box’s page: it enrolls, takes its office config and serves the kiosk', async () => {
      db = kind.create();
      seed = await openDatabase({ url: db.url, ...(db.schema ? { schema: db.schema } : {}) });
      const now = Date.now();
      await createUnit(seed.db, { id: 'p', name: 'Tỉnh Thử Nghiệm', kind: 'province', parentId: null }, now);
      await createOffice(seed.db, { id: OFFICE, name: 'Bộ phận một cửa xã Thử Nghiệm', unitId: 'p' }, now);
      const admin = await createAdmin(seed.db, { username: 'tinh-admin', unitId: 'p', role: 'admin' }, now);
      cloud = await startCloudProcess({ db, key: MASTER_KEY });
      token = await loginAdmin(cloud, 'tinh-admin', admin.password);

      // The office's config, saved in the console (the kiosk's secret only as its hash).
      const desired = desiredPart(officeConfig(await peripheralsFor([{ id: 'kiosk-1', role: 'kiosk' }])));
      const { id: _id, ...office } = desired.office;
      const saved = await api('PUT', `/api/v1/fleet/offices/${OFFICE}/config`, {
        overrides: { ...desired, office, cloud: { retryBaseMs: 20, retryCapSeconds: 1 } },
      });
      expect(saved.status).toBe(200);
      const claim = await api('POST', `/api/v1/offices/${OFFICE}/boxes`);
      expect(claim.status).toBe(201);
      expect(claim.body.claimUri).toBe(
        `lobby-claim:${claim.body.claimCode as string}?cloud=${encodeURIComponent(cloud.url)}`,
      );

      const dir = mkdtempSync(join(tmpdir(), 'lobby-unbox-'));
      const box = newBox(dir);
      const port = await box.page;
      const pageUrl = `http://127.0.0.1:${port}`;
      const html = await (await fetch(`${pageUrl}/`)).text();
      expect(html).toContain('Nhận máy');
      expect(html).toContain('name="code"');

      const post = (form: Record<string, string>) =>
        fetch(`${pageUrl}/claim`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
          body: new URLSearchParams(form).toString(),
        });
      // A mistyped code: refused with a reason, the box still waits.
      const wrong = await post({ code: 'AAAA-BBBB-CCCC-DDDD', cloud: cloud.url });
      expect(wrong.status).toBe(400);
      expect(((await wrong.json()) as { error: string }).error).toMatch(/expired claim code/);
      expect(existsSync(join(dir, 'data', 'cloud-credential.json'))).toBe(false);
      // The QR code's text, as a USB scanner types it: the cloud is in it.
      const ok = await post({ code: claim.body.claimUri as string });
      expect(ok.status).toBe(200);

      const b = await box.started;
      boxes.push(b);
      expect(existsSync(join(dir, 'office.yaml'))).toBe(true);
      const kiosk = await connectDevice(`mqtt://127.0.0.1:${b.port}`, 'kiosk-1', secretOf('kiosk-1'));
      const ticket = await request(kiosk, 'lobby/v1/tickets/request', { service: 'van-thu' });
      kiosk.end(true);
      expect(ticket.status).toBe('ok');
      expect((ticket.data?.ticket as { number: string }).number).toBe('A001');
      const twin = async () =>
        (await api('GET', `/api/v1/fleet/boxes/${claim.body.boxId as string}/twin`)).body.status;
      for (let i = 0; i < 200 && (await twin()) !== 'in_sync'; i++)
        await new Promise((r) => setTimeout(r, 50));
      expect(await twin()).toBe('in_sync');
    });

    it('or on the terminal: `lobby device claim` while the new box waits; a used code is refused', async () => {
      const claim = await api('POST', `/api/v1/offices/${OFFICE}/boxes`);
      const dir = mkdtempSync(join(tmpdir(), 'lobby-unbox-'));
      const box = newBox(dir);
      await box.page;
      const cli = await runCli([
        'device',
        'claim',
        '--code',
        claim.body.claimCode as string,
        '--cloud',
        cloud.url,
        '--data-dir',
        join(dir, 'data'),
      ]);
      expect(cli.stdout).toContain(`office "${OFFICE}"`);
      expect(cli.code).toBe(0);
      const b = await box.started;
      boxes.push(b);
      const kiosk = await connectDevice(`mqtt://127.0.0.1:${b.port}`, 'kiosk-1', secretOf('kiosk-1'));
      expect((await request(kiosk, 'lobby/v1/tickets/request', { service: 'van-thu' })).status).toBe('ok');
      kiosk.end(true);

      const again = await runCli([
        'device',
        'claim',
        '--code',
        claim.body.claimCode as string,
        '--cloud',
        cloud.url,
        '--data-dir',
        join(mkdtempSync(join(tmpdir(), 'lobby-unbox-')), 'data'),
      ]);
      expect(again.code).not.toBe(0);
      expect(again.stderr).toMatch(/used or expired claim code/);
    });
  });
}
