// An over-the-air update end to end, with real processes: `lobby cloud` holding an uploaded, signed release,
// and `lobby device` on 1.0.0 under its launcher (deploy/lobby-launch.sh), enrolled with a claim code. An admin
// starts a rollout for the province; the box learns its target in the fleet poll, downloads from the cloud with
// its credential, verifies, switches, proves itself and commits; the rollout shows it healthy and the box
// serves tickets on 1.1.0. Then a release that crashes at start: the box rolls back by itself, the rollout shows
// it rolled back with the new version's last log lines, and the box serves on 1.1.0 again. Needs `npm run build`.
import { mkdirSync, mkdtempSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createAdmin, createBoxClaim, createOffice, createUnit } from '../../cloud/admin/provisioning.js';
import { openDatabase, type CloudDatabase } from '../../cloud/db/database.js';
import { enrollBox } from '../../device/uplink/credential.js';
import { packBundle } from '../../release/bundle.js';
import { DATABASES, MASTER_KEY, type TestDatabase } from '../cloud/helpers.js';
import { killed } from '../support/box-process.js';
import {
  cloudApi,
  killAllClouds,
  loginAdmin,
  startCloudProcess,
  type CloudProcess,
  until as waitUntil,
} from '../support/cloud-process.js';
import { SupervisedBox } from '../support/launcher-process.js';
import { officeConfig, peripheralsFor } from '../support/office.js';
import { PLATFORM, stageVersion, type VersionKind } from '../support/releases.js';
import { release, ticketFrom } from '../update/helpers.js';

afterAll(() => killAllClouds());

/** The shared wait, with this file's longer default (real processes on a loaded machine). */
const until = <T>(what: string, check: () => Promise<T | false | undefined>, timeoutMs = 90_000) =>
  waitUntil(what, check, timeoutMs);

interface Progress {
  state: string;
  boxes: { boxId: string; state: string; reason: string | null; logTail: string[] | null }[];
}

// One database is enough here: the rollout's SQL runs on both in test/cloud/releases.test.ts.
const kind = DATABASES.find((d) => d.available);

describe.skipIf(!kind)('an update over the air, real cloud and box under its launcher', () => {
  let db: TestDatabase;
  let seed: CloudDatabase;
  let cloud: CloudProcess;
  let box: SupervisedBox;
  let token: string;
  const work = mkdtempSync(join(tmpdir(), 'lobby-ota-e2e-'));

  afterAll(async () => {
    await box?.stop();
    if (cloud) await killed(cloud.child);
    await seed?.close();
    await db?.cleanup();
  }, 60_000);

  const api = <T = Record<string, unknown>>(method: string, path: string, body?: unknown) =>
    cloudApi(cloud, () => token)<T>(method, path, body);

  /** Packs, signs and uploads a release of `version` to the cloud, as `lobby cloud release upload` does. */
  async function upload(version: string, versionKind: VersionKind): Promise<void> {
    const stage = join(work, `stage-${version}`);
    stageVersion(stage, version, versionKind);
    const packed = packBundle({
      stageDir: stage,
      outDir: join(work, `out-${version}`),
      version,
      platform: PLATFORM,
      node: '20',
      key: release.key,
    });
    expect((await api('POST', '/api/v1/releases', { version, notes: `Bản ${version}` })).status).toBe(201);
    const res = await fetch(`${cloud.url}/api/v1/releases/${version}/bundles/${PLATFORM}`, {
      method: 'PUT',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/octet-stream',
        'x-release-manifest': readFileSync(packed.manifestPath).toString('base64'),
        'x-release-signature': readFileSync(packed.manifestPath.replace(/\.json$/, '.sig'), 'utf8').trim(),
      },
      body: readFileSync(packed.tarball),
    });
    expect(res.status, await res.text()).toBeLessThan(300);
  }

  async function rollout(version: string): Promise<string> {
    const r = await api<{ id: string }>('POST', '/api/v1/rollouts', {
      version,
      unitId: 'p',
      waves: [{ percent: 100 }],
      abortThreshold: 1,
      force: true, // the test office is open around the clock: its update window never comes
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body.id;
  }

  const boxState = (id: string, state: string) =>
    until(`the rollout showing the box ${state}`, async () => {
      const p = (await api<Progress>('GET', `/api/v1/rollouts/${id}`)).body;
      return p.boxes.find((b) => b.state === state);
    });

  it(
    'a rollout brings 1.1.0 to the box, which proves itself and serves; a crashing 1.2.0 rolls back by itself',
    { timeout: 300_000 },
    async () => {
      db = await kind!.create();
      seed = await openDatabase({ url: db.url, ...(db.schema ? { schema: db.schema } : {}) });
      const now = Date.now();
      await createUnit(seed.db, { id: 'p', name: 'Tỉnh Thử Nghiệm', kind: 'province', parentId: null }, now);
      await createOffice(seed.db, { id: 'xa-ota', name: 'Bộ phận một cửa xã OTA', unitId: 'p' }, now);
      const admin = await createAdmin(seed.db, { username: 'tinh-admin', unitId: 'p', role: 'admin' }, now);
      const claim = await createBoxClaim(seed.db, 'xa-ota', now);
      cloud = await startCloudProcess({
        db,
        key: MASTER_KEY,
        env: { LOBBY_RELEASE_KEY_FILE: release.publicKeyFile, LOBBY_RELEASES_DIR: join(work, 'releases') },
      });
      token = await loginAdmin(cloud, 'tinh-admin', admin.password);

      // The box as install.sh leaves it: 1.0.0 unpacked, `current` at it, enrolled by its claim code.
      const root = join(work, 'opt');
      const dataDir = join(work, 'data');
      mkdirSync(root);
      mkdirSync(dataDir, { mode: 0o700 });
      stageVersion(join(root, '1.0.0'), '1.0.0', 'good');
      symlinkSync('1.0.0', join(root, 'current'));
      const configFile = join(work, 'office.json');
      const config = officeConfig(await peripheralsFor([{ id: 'kiosk-1', role: 'kiosk' }]), {
        cloud: { url: cloud.url, retryBaseMs: 20, retryCapSeconds: 1 },
      });
      writeFileSync(configFile, JSON.stringify({ ...config, office: { ...config.office, id: 'xa-ota' } }));
      const { boxId } = await enrollBox({
        configFile,
        dataDir,
        cloudUrl: cloud.url,
        claimCode: claim.claimCode,
      });
      box = new SupervisedBox({
        root,
        dataDir,
        configFile,
        keyFile: release.publicKeyFile,
        env: { LOBBY_UPDATE_TRIAL_SECONDS: '2' },
      }).start();
      expect((await box.healthy('1.0.0')).version).toBe('1.0.0');
      // The cloud knows the box's version and platform from its heartbeat before it picks a bundle for it.
      await until('the box heartbeat with its platform', async () => {
        const twin = await api<{ software?: { running: string | null; platform: string | null } }>(
          'GET',
          `/api/v1/fleet/boxes/${boxId}/twin`,
        );
        return twin.body.software?.platform === PLATFORM && twin.body.software.running === '1.0.0';
      });

      await upload('1.1.0', 'good');
      const first = await rollout('1.1.0');
      await boxState(first, 'healthy');
      // The agent queues its "healthy" report, then removes the trial's files: /healthz may still show the
      // trial for a moment after the cloud has the report (seen once in a clean-clone run).
      let committed = await box.healthy('1.1.0');
      for (let i = 0; i < 50 && committed.update?.trial; i++) {
        await new Promise((r) => setTimeout(r, 100));
        committed = await box.healthy('1.1.0');
      }
      expect(committed.version).toBe('1.1.0');
      // (Once the rollout completed, the cloud withdraws the target: the step may be back to idle.)
      expect(committed.update).toMatchObject({
        running: '1.1.0',
        last: { version: '1.1.0', state: 'healthy' },
      });
      expect(committed.update?.trial).toBeUndefined();
      expect(readlinkSync(join(root, 'current'))).toBe('1.1.0');
      expect(readlinkSync(join(root, 'previous'))).toBe('1.0.0');
      expect(await ticketFrom({ root, dataDir, paths: { root, dir: join(dataDir, 'update') }, box })).toMatch(
        /^A\d{3}$/,
      );
      expect((await api<Progress>('GET', `/api/v1/rollouts/${first}`)).body.state).toBe('completed');

      await upload('1.2.0', 'crash');
      const second = await rollout('1.2.0');
      const rolledBack = await boxState(second, 'rolled_back');
      expect(rolledBack.logTail?.join('\n')).toContain('Cannot find module');
      const back = await box.healthy('1.1.0');
      expect(back.version).toBe('1.1.0');
      expect(back.update).toMatchObject({
        running: '1.1.0',
        last: { version: '1.2.0', state: 'rolled_back' },
      });
      expect(readlinkSync(join(root, 'current'))).toBe('1.1.0');
      expect(await ticketFrom({ root, dataDir, paths: { root, dir: join(dataDir, 'update') }, box })).toMatch(
        /^A\d{3}$/,
      );
    },
  );
});
