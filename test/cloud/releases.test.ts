// Releases and rollouts as an admin and the boxes meet them (issue 12, the cloud's side): a bundle with a wrong
// signature, a truncated tarball or a changed byte is refused with the reason and nothing is kept; a good one is
// listed; a rollout reaches the boxes of its unit subtree wave by wave as simulated boxes (HTTP clients with real
// box credentials) report their steps; more failures than the threshold abort it; pause and resume; a box
// outside the subtree never gets the release; downloads resume with Range; viewers read, admins act, nobody
// outside the unit; every action in the audit log. On SQLite and PostgreSQL.
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uploadRelease } from '../../cli/release-upload.js';
import type { SoftwareTarget } from '../../protocol/fleet-updates.js';
import { loadReleaseKey, packBundle } from '../../release/bundle.js';
import type { TargetWakeups } from '../../cloud/fleet/wakeups.js';
import type { CloudService } from '../../cloud/service.js';
import {
  DATABASES,
  adminToken,
  enrolledBox,
  seedTree,
  startTestCloud,
  type TestDatabase,
} from './helpers.js';

const work = mkdtempSync(join(tmpdir(), 'lobby-releases-'));
const out = join(work, 'release-out');
const key = loadReleaseKey(undefined, join(work, 'keys'));

/** A small fake bundle (a tarball of ~300 KB of random bytes), signed with the test's release key. */
function pack(version: string, platform: string) {
  const stage = join(work, `stage-${version}-${platform}`);
  mkdirSync(join(stage, 'dist'), { recursive: true });
  writeFileSync(join(stage, 'dist', 'box.bin'), randomBytes(300_000));
  writeFileSync(join(stage, 'release.json'), JSON.stringify({ version }));
  return packBundle({ stageDir: stage, outDir: out, version, platform, node: '20.20.2', key });
}

const VERSIONS = ['1.1.0', '1.2.0', '1.3.0'];
for (const v of VERSIONS) for (const p of ['linux-arm64', 'linux-x64']) pack(v, p);

interface Progress {
  id: string;
  state: string;
  reason: string | null;
  wavesStarted: number;
  progress: { wave: number; size: number; startedAt: string | null; counts: Record<string, number> }[];
  boxes: {
    boxId: string;
    officeId: string;
    wave: number;
    state: string;
    reason: string | null;
    code: string | null;
    logTail: string[];
  }[];
}

for (const kind of DATABASES) {
  describe.skipIf(!kind.available)(`releases and rollouts (${kind.title})`, () => {
    let db: TestDatabase;
    let cloud: CloudService;
    let releasesDir: string;
    let province: string;
    let district: string;
    let commune: string;
    let viewer: string;
    /** Six boxes under lc (three per commune), one outside it (o-hc). */
    let boxes: { boxId: string; token: string }[];
    let outside: { boxId: string; token: string };

    beforeAll(async () => {
      db = kind.create();
      releasesDir = join(mkdtempSync(join(tmpdir(), 'lobby-releases-dir-')), 'releases');
      cloud = await startTestCloud(db, {
        settings: { loginsPerMinute: 50, releasePublicKey: key.publicPem, releasesDir },
      });
      await seedTree(cloud);
      province = await adminToken(cloud, 'tinh', 'dn');
      district = await adminToken(cloud, 'lc-admin', 'lc');
      commune = await adminToken(cloud, 'hkb-admin', 'hkb');
      viewer = await adminToken(cloud, 'lc-viewer', 'lc', 'viewer');
      boxes = [];
      for (const o of ['o-hkb', 'o-hkb', 'o-hkb', 'o-hhb', 'o-hhb', 'o-hhb'])
        boxes.push(await enrolledBox(cloud, o));
      outside = await enrolledBox(cloud, 'o-hc');
    });
    afterAll(async () => {
      const closing = cloud?.close();
      cloud?.app.server.closeAllConnections();
      await closing;
      await db?.cleanup();
    });

    const api = (token: string, method: 'GET' | 'POST', url: string, payload?: unknown) =>
      cloud.app.inject({
        method,
        url,
        headers: { authorization: `Bearer ${token}` },
        ...(payload !== undefined ? { payload: payload as Record<string, unknown> } : {}),
      });
    const put = (
      token: string,
      version: string,
      platform: string,
      parts: { manifest: Buffer; signature: string; body: Buffer },
    ) =>
      fetch(`${cloud.url}/api/v1/releases/${version}/bundles/${platform}`, {
        method: 'PUT',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/octet-stream',
          'x-release-manifest': parts.manifest.toString('base64'),
          'x-release-signature': parts.signature,
        },
        body: parts.body,
      });
    const partsOf = (version: string, platform: string) => {
      const base = join(out, `motcua-lobby-${version}-${platform}`);
      return {
        manifest: readFileSync(`${base}.manifest.json`),
        signature: readFileSync(`${base}.manifest.sig`, 'utf8').trim(),
        body: readFileSync(`${base}.tar.gz`),
      };
    };
    const report = (box: { token: string }, body: Record<string, unknown>) =>
      cloud.app.inject({
        method: 'POST',
        url: '/api/v1/box/software',
        headers: { authorization: `Bearer ${box.token}` },
        payload: { at: new Date().toISOString(), running: '1.0.0', ...body },
      });
    // What a box is offered, through the fleet's real poll (wait=0): 200 with the parts that are news, 204 when
    // nothing is (then the box keeps what it holds: no target when it holds none).
    const offered = async (box: { token: string }, held = '') => {
      const res = await cloud.app.inject({
        method: 'GET',
        url: `/api/v1/box/poll?version=0&commands=0&software=${encodeURIComponent(held)}&wait=0`,
        headers: { authorization: `Bearer ${box.token}` },
      });
      if (res.statusCode === 204) return { value: held ? 'held' : null, news: false };
      expect(res.statusCode).toBe(200);
      return { value: (res.json() as { software: SoftwareTarget | null }).software, news: true };
    };
    const progress = async (id: string) =>
      (await api(province, 'GET', `/api/v1/rollouts/${id}`)).json<Progress>();
    const auditRows = () =>
      cloud.store.db
        .selectFrom('audit_log')
        .select(['actor', 'action', 'target', 'outcome', 'detail'])
        .orderBy('id')
        .execute();
    /** A box going through every step to healthy on `version`. */
    const update = async (box: { token: string }, rolloutId: string, version: string) => {
      for (const state of ['downloading', 'installed', 'switching'])
        expect((await report(box, { rolloutId, version, state })).statusCode).toBe(200);
      const r = await report(box, { rolloutId, version, state: 'healthy', running: version });
      expect(r.statusCode, r.body).toBe(200);
    };

    it('refuses a bundle with a wrong signature, a truncated tarball or a changed byte, with the reason; keeps nothing', async () => {
      expect(
        (await api(district, 'POST', '/api/v1/releases', { version: '1.1.0', notes: 'x' })).statusCode,
      ).toBe(403);
      expect(
        (await api(viewer, 'POST', '/api/v1/releases', { version: '1.1.0', notes: 'x' })).statusCode,
      ).toBe(403);
      const created = await api(province, 'POST', '/api/v1/releases', {
        version: '1.1.0',
        notes: 'Sửa lỗi in vé; nhanh hơn khi khởi động',
      });
      expect(created.statusCode, created.body).toBe(201);
      expect(
        (await api(province, 'POST', '/api/v1/releases', { version: '1.1.0', notes: '' })).json(),
      ).toMatchObject({
        code: 'release_exists',
      });

      const good = partsOf('1.1.0', 'linux-arm64');
      // Signed by another key.
      const other = generateKeyPairSync('ed25519').privateKey;
      const forged = sign(null, good.manifest, other).toString('base64');
      let res = await put(province, '1.1.0', 'linux-arm64', { ...good, signature: forged });
      expect(res.status).toBe(422);
      let body = (await res.json()) as { code: string; message: string; detail: { reason: string } };
      expect(body).toMatchObject({ code: 'bundle_refused', detail: { reason: 'signature' } });
      expect(body.message).toMatch(/signature does not match the release key/);

      // A tarball cut short (an interrupted copy).
      res = await put(province, '1.1.0', 'linux-arm64', { ...good, body: good.body.subarray(0, 100_000) });
      body = (await res.json()) as typeof body;
      expect(res.status).toBe(422);
      expect(body.detail.reason).toBe('size');
      expect(body.message).toMatch(/truncated/);

      // One byte changed, same size.
      const changed = Buffer.from(good.body);
      changed[changed.length - 100] = (changed[changed.length - 100] as number) ^ 0xff;
      res = await put(province, '1.1.0', 'linux-arm64', { ...good, body: changed });
      body = (await res.json()) as typeof body;
      expect(res.status).toBe(422);
      expect(body.detail.reason).toBe('hash');
      expect(body.message).toMatch(/SHA-256 is [0-9a-f]{64}, the manifest says/);

      // The arm64 manifest sent as the x64 bundle; a 1.1.0 manifest sent for another release.
      res = await put(province, '1.1.0', 'linux-x64', good);
      expect(((await res.json()) as typeof body).detail.reason).toBe('platform');
      await api(province, 'POST', '/api/v1/releases', { version: '1.2.0', notes: 'Bản 1.2.0' });
      res = await put(province, '1.2.0', 'linux-arm64', good);
      expect(((await res.json()) as typeof body).detail.reason).toBe('manifest');

      // Nothing of the refused uploads is kept, on disk or in the list.
      expect(existsSync(join(releasesDir, '1.1.0'))).toBe(false);
      expect(readdirSync(join(releasesDir, '.incoming'))).toEqual([]);
      const list = (await api(viewer, 'GET', '/api/v1/releases')).json<{
        releases: { version: string; bundles: unknown[] }[];
      }>();
      expect(list.releases.find((r) => r.version === '1.1.0')?.bundles).toEqual([]);

      // The good one, then the same bytes again (a retried upload): kept once.
      res = await put(province, '1.1.0', 'linux-arm64', good);
      expect(res.status, await res.clone().text()).toBe(200);
      res = await put(province, '1.1.0', 'linux-arm64', good);
      expect(res.status).toBe(200);
      const sha = createHash('sha256').update(good.body).digest('hex');
      const r = (await api(viewer, 'GET', '/api/v1/releases/1.1.0')).json<{
        notes: string;
        bundles: unknown[];
      }>();
      expect(r.notes).toBe('Sửa lỗi in vé; nhanh hơn khi khởi động');
      expect(r.bundles).toEqual([
        expect.objectContaining({
          platform: 'linux-arm64',
          size: good.body.length,
          sha256: sha,
          uploadedBy: 'admin:tinh',
        }),
      ]);
      expect(
        createHash('sha256')
          .update(
            readFileSync(join(releasesDir, '1.1.0', 'linux-arm64', 'motcua-lobby-1.1.0-linux-arm64.tar.gz')),
          )
          .digest('hex'),
      ).toBe(sha);

      const audit = await auditRows();
      const uploads = audit.filter((a) => a.action === 'release.bundle_uploaded');
      expect(uploads.map((a) => a.outcome)).toEqual([
        'failed',
        'failed',
        'failed',
        'failed',
        'failed',
        'ok',
        'ok',
      ]);
      expect(JSON.parse(uploads[0]?.detail ?? '{}')).toMatchObject({ code: 'bundle_refused' });
      expect(
        audit.some((a) => a.action === 'release.created' && a.actor === 'admin:tinh' && a.target === '1.1.0'),
      ).toBe(true);
    });

    it('lobby cloud release upload sends every platform of a version with its notes (the release exists: the missing ones)', async () => {
      const lines: string[] = [];
      await uploadRelease({
        cloud: cloud.url,
        token: province,
        dir: out,
        version: '1.1.0',
        notes: '',
        log: (l) => lines.push(l),
      });
      await uploadRelease({ cloud: cloud.url, token: province, dir: out, version: '1.2.0', notes: '' });
      await uploadRelease({
        cloud: cloud.url,
        token: province,
        dir: out,
        version: '1.3.0',
        notes: 'Bản 1.3.0',
      });
      expect(lines).toEqual([
        'release 1.1.0 exists on the cloud: uploading its missing bundles',
        expect.stringMatching(/^linux-arm64: uploaded and verified/),
        expect.stringMatching(/^linux-x64: uploaded and verified/),
      ]);
      const list = (await api(province, 'GET', '/api/v1/releases')).json<{
        releases: { version: string; bundles: { platform: string }[] }[];
      }>();
      expect(list.releases.map((r) => [r.version, r.bundles.map((b) => b.platform)])).toEqual([
        ['1.3.0', ['linux-arm64', 'linux-x64']],
        ['1.2.0', ['linux-arm64', 'linux-x64']],
        ['1.1.0', ['linux-arm64', 'linux-x64']],
      ]);
      // A refusal comes back as the CLI's error, with the cloud's reason.
      const bad = join(work, 'bad-out');
      mkdirSync(bad, { recursive: true });
      for (const f of readdirSync(out).filter((n) => n.startsWith('motcua-lobby-1.3.0-linux-arm64')))
        writeFileSync(
          join(bad, f.endsWith('.tar.gz') ? f : f.replace('1.3.0', '1.4.0')),
          readFileSync(join(out, f)),
        );
      await expect(
        uploadRelease({ cloud: cloud.url, token: province, dir: bad, version: '1.4.0', notes: '' }),
      ).rejects.toThrow(/linux-arm64: refused: 422 bundle_refused: .*manifest is for version 1\.3\.0/);
    });

    it('a rollout reaches its subtree wave by wave as the boxes report healthy; a box outside never gets it; downloads resume with Range', async () => {
      // Outside the district admin's subtree: refused.
      expect(
        (
          await api(commune, 'POST', '/api/v1/rollouts', {
            version: '1.1.0',
            unitId: 'lc',
            waves: [{ percent: 100 }],
          })
        ).json(),
      ).toMatchObject({ code: 'outside_scope' });
      expect(
        (
          await api(district, 'POST', '/api/v1/rollouts', {
            version: '1.1.0',
            unitId: 'lc',
            waves: [{ count: 1 }],
          })
        ).json(),
      ).toMatchObject({ code: 'invalid_waves' });
      const start = await api(district, 'POST', '/api/v1/rollouts', {
        version: '1.1.0',
        unitId: 'lc',
        waves: [{ count: 1 }, { percent: 50 }, { percent: 100 }],
        abortThreshold: 0,
      });
      expect(start.statusCode, start.body).toBe(201);
      let p = start.json<Progress>();
      expect(p).toMatchObject({ state: 'running', wavesStarted: 1 });
      expect(p.progress.map((w) => w.size)).toEqual([1, 2, 3]);
      expect(p.progress.map((w) => w.counts.pending)).toEqual([1, 2, 3]);
      const waveOf = (w: number) =>
        p.boxes
          .filter((b) => b.wave === w)
          .map((b) => boxes.find((x) => x.boxId === b.boxId) as (typeof boxes)[0]);
      const [w1, w2, w3] = [waveOf(1), waveOf(2), waveOf(3)];
      // One box says it is a linux-x64 machine: it gets that bundle.
      const x64 = w3[0] as (typeof boxes)[0];
      const hb = await cloud.app.inject({
        method: 'POST',
        url: '/api/v1/uplink/heartbeat',
        headers: { authorization: `Bearer ${x64.token}` },
        payload: {
          at: new Date().toISOString(),
          version: '1.0.0',
          node: process.version,
          platform: 'linux-x64',
          officeId: p.boxes.find((b) => b.boxId === x64.boxId)?.officeId,
          day: null,
          lastSeq: 0,
          backlog: { events: 0, oldestAt: null, freeDiskBytes: null, alarm: false },
          peripherals: [],
        },
      });
      expect(hb.statusCode, hb.body).toBe(200);
      // The same boxes in the same waves every time this version is rolled out (a hash of version and box).
      expect(new Set(p.boxes.map((b) => b.boxId))).toEqual(new Set(boxes.map((b) => b.boxId)));

      const first = await offered(w1[0] as (typeof boxes)[0]);
      expect(first.news).toBe(true);
      expect(first.value).toMatchObject({
        rolloutId: p.id,
        version: '1.1.0',
        notes: 'Sửa lỗi in vé; nhanh hơn khi khởi động',
        force: false,
        allowDowngrade: false,
      });
      // Holding it already: nothing new.
      expect((await offered(w1[0] as (typeof boxes)[0], p.id)).news).toBe(false);
      for (const b of [...w2, ...w3]) expect((await offered(b)).value).toBeNull();
      expect(await offered(outside)).toEqual({ value: null, news: false });

      // A box outside the rollout, or in a wave not started, cannot download it.
      const target = first.value as SoftwareTarget;
      const download = (box: { token: string }, url: string, range?: string) =>
        fetch(`${cloud.url}${url}`, {
          headers: { authorization: `Bearer ${box.token}`, ...(range ? { range } : {}) },
        });
      expect((await download(outside, target.bundleUrl)).status).toBe(404);
      expect((await download(w2[0] as (typeof boxes)[0], target.bundleUrl)).status).toBe(404);
      expect((await download(w1[0] as (typeof boxes)[0], target.bundleUrl, undefined)).status).toBe(200);
      // Interrupted at 100,000 bytes, resumed from there.
      const part1 = await download(w1[0] as (typeof boxes)[0], target.bundleUrl, 'bytes=0-99999');
      expect(part1.status).toBe(206);
      const a = Buffer.from(await part1.arrayBuffer());
      expect(a.length).toBe(100_000);
      const part2 = await download(w1[0] as (typeof boxes)[0], target.bundleUrl, 'bytes=100000-');
      expect(part2.status).toBe(206);
      expect(part2.headers.get('content-range')).toBe(`bytes 100000-${target.size - 1}/${target.size}`);
      const whole = Buffer.concat([a, Buffer.from(await part2.arrayBuffer())]);
      expect(whole.length).toBe(target.size);
      expect(createHash('sha256').update(whole).digest('hex')).toBe(target.sha256);
      const manifest = await download(w1[0] as (typeof boxes)[0], target.manifestUrl);
      expect(Buffer.from(await manifest.arrayBuffer())).toEqual(partsOf('1.1.0', target.platform).manifest);
      expect((await (await download(w1[0] as (typeof boxes)[0], target.signatureUrl)).text()).trim()).toBe(
        partsOf('1.1.0', target.platform).signature,
      );

      // The wave-2 boxes' long polls are woken when wave 1 becomes all healthy.
      const wakeups = cloud.ctx.fleet as unknown as TargetWakeups;
      const waiter = wakeups.waiter((w2[0] as (typeof boxes)[0]).boxId);
      const woken = waiter.wait(10_000, new AbortController().signal);
      await update(w1[0] as (typeof boxes)[0], p.id, '1.1.0');
      expect(await woken).toBe('changed');
      waiter.done();
      p = await progress(p.id);
      expect(p.wavesStarted).toBe(2);
      expect(p.progress[0]?.counts).toMatchObject({ healthy: 1, pending: 0 });
      for (const b of w2) expect((await offered(b)).value).toMatchObject({ rolloutId: p.id });
      for (const b of w3) expect((await offered(b)).value).toBeNull();

      // A step reported twice, or a late step behind the recorded one, changes nothing.
      const b2 = w2[0] as (typeof boxes)[0];
      expect(
        (await report(b2, { rolloutId: p.id, version: '1.1.0', state: 'installed' })).json(),
      ).toMatchObject({ moved: true });
      expect(
        (await report(b2, { rolloutId: p.id, version: '1.1.0', state: 'downloading' })).json(),
      ).toMatchObject({
        moved: false,
        state: 'installed',
      });
      expect(
        (await report(outside, { rolloutId: p.id, version: '1.1.0', state: 'downloading' })).json(),
      ).toMatchObject({
        code: 'unknown_rollout',
      });
      p = await progress(p.id);
      expect(p.progress[1]?.counts).toMatchObject({ installed: 1, pending: 1 });

      for (const b of w2) await update(b, p.id, '1.1.0');
      p = await progress(p.id);
      expect(p.wavesStarted).toBe(3);
      const x64Target = (await offered(x64)).value as SoftwareTarget;
      expect(x64Target).toMatchObject({
        platform: 'linux-x64',
        bundleUrl: '/api/v1/box/releases/1.1.0/linux-x64/bundle',
      });
      expect((await download(x64, '/api/v1/box/releases/1.1.0/linux-arm64/bundle')).status).toBe(404);
      for (const b of w3) await update(b, p.id, '1.1.0');
      p = await progress(p.id);
      expect(p.state).toBe('completed');
      expect(p.progress.map((w) => w.counts.healthy)).toEqual([1, 2, 3]);
      // Healthy boxes are offered nothing more (news: the target they held went away).
      expect(await offered(x64, p.id)).toEqual({ value: null, news: true });
      expect((await download(x64, x64Target.bundleUrl)).status).toBe(404);
      // The fleet view shows each box's running version.
      const twins = (await api(province, 'GET', '/api/v1/fleet/twins?unit=lc')).json<{
        twins: { boxId: string; software: { running: string; platform: string | null } }[];
      }>();
      expect(twins.twins.map((t) => t.software.running)).toEqual(Array(6).fill('1.1.0'));
      expect(twins.twins.find((t) => t.boxId === x64.boxId)?.software.platform).toBe('linux-x64');

      const audit = await auditRows();
      const started = audit.find((a) => a.action === 'rollout.started' && a.outcome === 'ok');
      expect(started).toMatchObject({ actor: 'admin:lc-admin', target: p.id, outcome: 'ok' });
      expect(
        audit
          .filter((a) => a.action === 'rollout.progressed')
          .map((a) => JSON.parse(a.detail ?? '{}').detail?.events ?? JSON.parse(a.detail ?? '{}').events),
      ).toEqual([['wave 2 started (auto)'], ['wave 3 started (auto)'], ['completed']]);
    });

    it('more failures in a wave than the threshold abort the rollout; the boxes still on their way are told to stop', async () => {
      const start = await api(district, 'POST', '/api/v1/rollouts', {
        version: '1.2.0',
        unitId: 'lc',
        waves: [{ percent: 50 }, { percent: 100 }],
        abortThreshold: 1,
      });
      expect(start.statusCode, start.body).toBe(201);
      let p = start.json<Progress>();
      // Another rollout over the same boxes while this one runs: refused.
      expect(
        (
          await api(province, 'POST', '/api/v1/rollouts', {
            version: '1.3.0',
            unitId: 'dn',
            waves: [{ percent: 100 }],
          })
        ).json(),
      ).toMatchObject({ code: 'rollout_active' });
      const w1 = p.boxes
        .filter((b) => b.wave === 1)
        .map((b) => boxes.find((x) => x.boxId === b.boxId) as (typeof boxes)[0]);
      const [b1, b2, b3] = w1 as [(typeof boxes)[0], (typeof boxes)[0], (typeof boxes)[0]];
      await report(b3, {
        rolloutId: p.id,
        version: '1.2.0',
        state: 'downloading',
        progress: { bytes: 10, total: 100 },
      });
      expect((await offered(b3, p.id)).news).toBe(false);
      await report(b1, {
        rolloutId: p.id,
        version: '1.2.0',
        state: 'failed',
        code: 'disk',
        reason: 'đĩa đầy / disk full',
      });
      expect((await progress(p.id)).state).toBe('running'); // one failure: within the threshold
      const tail = ['start: listening on 1883', 'Error: cannot open the event log', 'exit 1'];
      await report(b2, {
        rolloutId: p.id,
        version: '1.2.0',
        state: 'rolled_back',
        code: 'start',
        reason: 'the new version exited during its first start',
        logTail: tail,
      });
      p = await progress(p.id);
      expect(p.state).toBe('aborted');
      expect(p.reason).toMatch(/threshold: 2 box\(es\) of wave 1 failed or rolled back/);
      expect(p.progress[0]?.counts).toMatchObject({ failed: 1, rolled_back: 1, downloading: 1 });
      expect(p.wavesStarted).toBe(1);
      expect(p.boxes.find((b) => b.boxId === b2.boxId)).toMatchObject({
        state: 'rolled_back',
        code: 'start',
        logTail: tail,
      });
      expect(p.boxes.find((b) => b.boxId === b1.boxId)).toMatchObject({
        state: 'failed',
        reason: 'đĩa đầy / disk full',
      });
      // The box still downloading is told at once that its target went away.
      expect(await offered(b3, p.id)).toEqual({ value: null, news: true });
      expect((await api(district, 'POST', `/api/v1/rollouts/${p.id}/resume`)).json()).toMatchObject({
        code: 'rollout_state',
      });
    });

    it('pause stops new boxes from starting (those on their way go on), resume gives it to them; an admin aborts', async () => {
      const start = await api(district, 'POST', '/api/v1/rollouts', {
        version: '1.3.0',
        unitId: 'lc',
        waves: [{ percent: 100 }],
        force: true,
      });
      expect(start.statusCode, start.body).toBe(201);
      let p = start.json<Progress>();
      const [started, waiting] = [boxes[0], boxes[1]] as [(typeof boxes)[0], (typeof boxes)[0]];
      expect((await offered(started)).value).toMatchObject({ version: '1.3.0', force: true });
      await report(started, { rolloutId: p.id, version: '1.3.0', state: 'downloading' });

      expect((await api(viewer, 'POST', `/api/v1/rollouts/${p.id}/pause`)).statusCode).toBe(403);
      expect((await api(commune, 'POST', `/api/v1/rollouts/${p.id}/pause`)).json()).toMatchObject({
        code: 'outside_scope',
      });
      expect((await api(commune, 'GET', `/api/v1/rollouts/${p.id}`)).statusCode).toBe(403);
      expect((await api(viewer, 'GET', `/api/v1/rollouts/${p.id}`)).statusCode).toBe(200);
      const paused = await api(district, 'POST', `/api/v1/rollouts/${p.id}/pause`, {
        reason: 'giờ cao điểm',
      });
      expect(paused.json()).toMatchObject({ state: 'paused' });
      expect((await offered(waiting)).value).toBeNull();
      expect((await offered(started, p.id)).news).toBe(false); // keeps its target
      expect((await api(district, 'POST', `/api/v1/rollouts/${p.id}/pause`)).json()).toMatchObject({
        code: 'rollout_state',
      });

      expect((await api(district, 'POST', `/api/v1/rollouts/${p.id}/resume`)).json()).toMatchObject({
        state: 'running',
      });
      expect((await offered(waiting)).value).toMatchObject({ rolloutId: p.id });

      p = (
        await api(province, 'POST', `/api/v1/rollouts/${p.id}/abort`, { reason: 'lỗi báo cáo' })
      ).json<Progress>();
      expect(p).toMatchObject({ state: 'aborted', reason: 'aborted by admin:tinh: lỗi báo cáo' });
      expect(await offered(started, p.id)).toEqual({ value: null, news: true });
      expect((await api(province, 'POST', `/api/v1/rollouts/${p.id}/abort`)).statusCode).toBe(409);

      const list = (await api(viewer, 'GET', '/api/v1/rollouts')).json<{
        rollouts: { version: string; state: string }[];
      }>();
      expect(list.rollouts.map((r) => [r.version, r.state])).toEqual([
        ['1.3.0', 'aborted'],
        ['1.2.0', 'aborted'],
        ['1.1.0', 'completed'],
      ]);
      expect((await api(commune, 'GET', '/api/v1/rollouts')).json()).toEqual({ rollouts: [] });
      const actions = (await auditRows())
        .filter((a) => a.target === p.id && a.action.startsWith('rollout.'))
        .map((a) => [a.actor, a.action, a.outcome]);
      expect(actions).toEqual([
        ['admin:lc-admin', 'rollout.started', 'ok'],
        ['admin:lc-viewer', 'rollout.pause', 'denied'],
        ['admin:hkb-admin', 'rollout.pause', 'denied'],
        ['admin:lc-admin', 'rollout.pause', 'ok'],
        ['admin:lc-admin', 'rollout.pause', 'failed'],
        ['admin:lc-admin', 'rollout.resume', 'ok'],
        ['admin:tinh', 'rollout.abort', 'ok'],
        ['admin:tinh', 'rollout.abort', 'failed'],
      ]);
    });
  });
}
