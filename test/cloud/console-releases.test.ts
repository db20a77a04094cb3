// The console's releases and rollouts page (issue 12) in Debian's Chromium at 1440×900, against a real cloud
// on PostgreSQL (SQLite without it), with the boxes simulated by their credentials: they report their steps through
// POST /api/v1/box/software as a real box does. An admin sees the uploaded release with its bundles, starts a
// rollout of it for a commune from the page, and watches the wave's counts move Chờ → Đang tải → Ổn định
// without reloading; pauses and resumes; reads a rolled-back box's last log lines; aborts after confirming.
// A viewer sees the same without a button. The province's admin uploads a release from the page; a bundle
// signed by another key is refused. axe-core finds no critical or serious violation.
// Skips, saying so, where Chromium is not installed, except in CI where that fails (test/web/support.ts).
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { CloudService } from '../../cloud/service.js';
import { uploadRelease } from '../../cli/release-upload.js';
import { loadReleaseKey, packBundle } from '../../release/bundle.js';
import { chromiumPresent, launchChromium } from '../web/support.js';
import {
  accessible,
  clickAndWait,
  consoleLogin,
  openPage,
  closeConsoleSuite,
  consoleUsers,
} from './console-browser.js';
import {
  adminToken,
  browserDatabase,
  enrolledBox,
  seedTree,
  startTestCloud,
  type TestDatabase,
} from './helpers.js';

const HAVE_CHROMIUM = chromiumPresent();
// What the page functions below touch (they run in the browser; the project compiles without the DOM lib).
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const document: any;
/* eslint-enable @typescript-eslint/no-explicit-any */

const work = mkdtempSync(join(tmpdir(), 'lobby-console-releases-'));
const out = join(work, 'release-out');
const key = loadReleaseKey(undefined, join(work, 'keys'));
/** Signed bundles of `version` for both platforms into `outDir`; their files' paths. */
function bundles(version: string, outDir: string, signer = key): string[] {
  for (const platform of ['linux-arm64', 'linux-x64']) {
    const stage = join(work, `stage-${version}-${platform}`);
    mkdirSync(join(stage, 'dist'), { recursive: true });
    writeFileSync(join(stage, 'dist', 'box.bin'), randomBytes(200_000));
    writeFileSync(join(stage, 'release.json'), JSON.stringify({ version }));
    packBundle({ stageDir: stage, outDir, version, platform, node: '20.20.2', key: signer });
  }
  return readdirSync(outDir)
    .filter((f) => f.startsWith(`motcua-lobby-${version}-`))
    .map((f) => join(outDir, f));
}
bundles('2.0.0', out);
// What an admin picks in the upload form: a good release, and one signed by a key the cloud does not trust.
const uploadFiles = bundles('2.1.0', join(work, 'upload'));
const forgedFiles = bundles(
  '2.2.0',
  join(work, 'forged'),
  loadReleaseKey(undefined, join(work, 'other-key')),
);

/** The text of the first wave's count under a column (Chờ, Đang tải, …) as the page shows it now. */
const waveCount = (page: Page, wave: number, column: string) =>
  page.evaluate(
    ([w, c]) => {
      const heads = [...document.querySelectorAll('#waves thead th')].map(
        (th: { textContent: string }) => th.textContent,
      );
      const row = document.querySelectorAll('#waves tbody tr')[Number(w) - 1];
      return row?.children[heads.indexOf(c as string)]?.textContent ?? null;
    },
    [String(wave), column],
  );
/** Waits, without reloading, until the page shows `want` under that column (the page redraws itself). */
async function countBecomes(page: Page, wave: number, column: string, want: string) {
  const t0 = Date.now();
  while ((await waveCount(page, wave, column)) !== want) {
    if (Date.now() - t0 > 30_000)
      throw new Error(`${column} of wave ${wave} stayed ${await waveCount(page, wave, column)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

for (const kind of browserDatabase('postgres')) {
  const skip = !HAVE_CHROMIUM || !kind.available;
  describe.skipIf(skip)(
    `console: releases and rollouts in Chromium (${kind.title})${HAVE_CHROMIUM ? '' : ' (SKIPPED: no /usr/bin/chromium)'}`,
    { timeout: 180_000 },
    () => {
      let db: TestDatabase;
      let cloud: CloudService;
      let browser: Browser;
      const boxes: { boxId: string; token: string }[] = [];
      const passwords: Record<string, string> = {};

      beforeAll(async () => {
        db = kind.create();
        const releasesDir = join(mkdtempSync(join(tmpdir(), 'lobby-console-releases-dir-')), 'releases');
        cloud = await startTestCloud(db, {
          settings: { loginsPerMinute: 50, releasePublicKey: key.publicPem, releasesDir },
        });
        await seedTree(cloud);
        Object.assign(
          passwords,
          await consoleUsers(cloud, [
            ['tinh', 'dn', 'admin'],
            ['xem-tinh', 'dn', 'viewer'],
          ]),
        );
        const uploader = await adminToken(cloud, 'phat-hanh', 'dn');
        await uploadRelease({
          cloud: cloud.url,
          token: uploader,
          dir: out,
          version: '2.0.0',
          notes: 'Sửa lỗi in vé; khởi động nhanh hơn',
        });
        for (let i = 0; i < 3; i++) boxes.push(await enrolledBox(cloud, 'o-hkb'));
        browser = await launchChromium();
      }, 120_000);
      afterAll(async () => {
        await closeConsoleSuite({ browser, cloud, db });
      });

      const login = (username: string) => consoleLogin(browser, cloud.url, username, passwords[username]!);
      /** One box's report of a step, with its credential (what `lobby device` sends). */
      async function report(boxId: string, rolloutId: string, body: Record<string, unknown>) {
        const box = boxes.find((b) => b.boxId === boxId)!;
        const res = await fetch(`${cloud.url}/api/v1/box/software`, {
          method: 'POST',
          headers: { authorization: `Bearer ${box.token}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            at: new Date().toISOString(),
            running: '1.0.0',
            rolloutId,
            version: '2.0.0',
            ...body,
          }),
        });
        expect(res.status, await res.text()).toBe(200);
      }
      /** The boxes of a wave, as the page lists them. */
      const boxesOfWave = (page: Page, wave: number) =>
        page.$$eval(
          '#rollout-boxes tbody tr',
          (trs: { children: { textContent: string }[]; dataset: { box: string } }[], w: number) =>
            trs.filter((tr) => tr.children[2]?.textContent === String(w)).map((tr) => tr.dataset.box),
          wave,
        );
      let rolloutId = '';

      it('an admin starts a rollout from the page and watches the counts move as the boxes report, without reloading', async () => {
        const { page, failures } = await login('tinh');
        await openPage(page, '#/releases');
        const release = await page.textContent('#releases tbody tr:first-child');
        expect(release).toContain('2.0.0');
        expect(release).toContain('Sửa lỗi in vé');
        expect(release).toMatch(/linux-arm64 · \d+ kB · phat-hanh\n/);
        expect(release).toContain('linux-x64');
        await accessible(page);

        // A wave list that is not numbers: told how to write it, nothing started.
        await page.selectOption('#rollout-form select[name=unitId]', 'hkb');
        await page.fill('#rollout-form input[name=waves]', '1, nửa, 100%');
        await clickAndWait(page, '#rollout-form button[type=submit]');
        expect(await page.textContent('#rollout-msg')).toContain('1, 5%, 100%');
        expect(await page.locator('#rollouts tbody tr').count()).toBe(0);

        // A unit with no box: the refusal says so in Vietnamese, nothing started.
        await page.selectOption('#rollout-form select[name=unitId]', 'hc');
        await page.fill('#rollout-form input[name=waves]', '100%');
        await clickAndWait(page, '#rollout-form button[type=submit]');
        expect(await page.textContent('#rollout-msg')).toContain('chưa có hộp nào');
        expect(await page.locator('#rollouts tbody tr').count()).toBe(0);

        await page.selectOption('#rollout-form select[name=unitId]', 'hkb');
        await page.fill('#rollout-form input[name=waves]', '1, 100%');
        await page.fill('#rollout-form input[name=abortThreshold]', '3');
        await clickAndWait(page, '#rollout-form button[type=submit]');
        rolloutId = (await page.getAttribute('#rollout', 'data-rollout')) as string;
        expect(rolloutId).toBeTruthy();
        expect(await page.textContent('#rollout')).toContain('đang chạy');
        expect(await page.textContent('#rollouts tbody')).toContain('Phường Hòa Khánh Bắc');
        expect(await waveCount(page, 1, 'Chờ')).toBe('1');
        expect(await waveCount(page, 2, 'Số hộp')).toBe('2');
        expect(await page.textContent('#rollout-boxes')).toContain('Một cửa Hòa Khánh Bắc');
        await accessible(page);

        const [first] = await boxesOfWave(page, 1);
        await report(first!, rolloutId, { state: 'downloading', progress: { bytes: 1000, total: 200_000 } });
        await countBecomes(page, 1, 'Đang tải', '1');
        expect(await waveCount(page, 1, 'Chờ')).toBe('0');
        for (const state of ['installed', 'switching']) await report(first!, rolloutId, { state });
        await report(first!, rolloutId, { state: 'healthy', running: '2.0.0' });
        await countBecomes(page, 1, 'Ổn định', '1');
        // The first wave all healthy: the second started by itself, and the page says so.
        await countBecomes(page, 2, 'Chờ', '2');
        expect(await page.textContent(`#rollout-boxes tr[data-box="${first}"]`)).toContain('2.0.0');
        expect(failures).toEqual([]);
        await page.close();
      });

      it('pause and resume; a rolled-back box shows its last log lines; abort only after confirming', async () => {
        const { page, failures } = await login('tinh');
        await openPage(page, `#/releases/${rolloutId}`);
        await clickAndWait(page, '#rollout [data-action=pause]');
        expect(await page.getAttribute('#rollout', 'data-state')).toBe('paused');
        expect(await page.textContent('#rollout')).toContain('tạm dừng');
        expect(await page.isVisible('#rollout [data-action=pause]')).toBe(false);
        await clickAndWait(page, '#rollout [data-action=resume]');
        expect(await page.getAttribute('#rollout', 'data-state')).toBe('running');

        const [second] = await boxesOfWave(page, 2);
        const tail = ['start: listening on 1883', 'Error: cannot open the event log', 'exit 1'];
        await report(second!, rolloutId, { state: 'downloading' });
        await report(second!, rolloutId, {
          state: 'rolled_back',
          code: 'start',
          reason: 'bản mới thoát khi khởi động lần đầu',
          logTail: tail,
        });
        await countBecomes(page, 2, 'Đã quay lại', '1');
        const row = `#rollout-boxes tr[data-box="${second}"]`;
        expect(await page.textContent(row)).toContain('bản mới thoát khi khởi động lần đầu');
        expect(await page.textContent(`${row} pre.log-tail`)).toBe(tail.join('\n'));
        await accessible(page);

        await page.click('#rollout [data-action=abort]');
        expect(await page.isVisible('#abort-confirm')).toBe(true);
        await page.click('#abort-no');
        expect(await page.getAttribute('#rollout', 'data-state')).toBe('running');
        await page.click('#rollout [data-action=abort]');
        await clickAndWait(page, '#abort-yes');
        expect(await page.getAttribute('#rollout', 'data-state')).toBe('aborted');
        expect(await page.textContent('#rollout')).toContain('đã hủy');
        expect(await page.locator('#rollout [data-action]').count()).toBe(0);
        expect(failures).toEqual([]);
        await page.close();
      });

      it('a viewer sees the releases, the rollouts and the progress without a button', async () => {
        const { page, failures } = await login('xem-tinh');
        await openPage(page, `#/releases/${rolloutId}`);
        expect(await page.textContent('#releases')).toContain('2.0.0');
        expect(await page.textContent('#rollouts')).toContain('đã hủy');
        expect(await page.textContent('#rollout pre.log-tail')).toContain('exit 1');
        expect(await page.textContent('#rollout-boxes')).toContain('Một cửa Hòa Khánh Bắc');
        expect(await page.locator('#rollout-form').count()).toBe(0);
        expect(await page.locator('#upload-form').count()).toBe(0);
        expect(await page.locator('#tab-releases button').count()).toBe(0);
        await accessible(page);
        expect(failures).toEqual([]);
        await page.close();
      });

      it('an admin of the province uploads a release from the page: checked, listed with its notes; a bundle signed by another key is refused', async () => {
        const { page, failures } = await login('tinh');
        await openPage(page, '#/releases');
        await accessible(page);
        const files = '#upload-form input[name=files]';

        // A manifest without its tarball: told which file is missing; nothing sent.
        await page.setInputFiles(
          files,
          forgedFiles.filter((f) => !f.endsWith('.tar.gz')),
        );
        await page.fill('#upload-form textarea[name=notes]', 'Bản thử');
        await clickAndWait(page, '#upload-form button[type=submit]');
        expect(await page.textContent('#upload-msg')).toMatch(
          /Thiếu gói motcua-lobby-2\.2\.0-linux-(arm64|x64)\.tar\.gz/,
        );
        expect(await page.textContent('#releases')).not.toContain('2.2.0');

        // Signed by a key this cloud does not trust: refused with the reason, no bundle kept.
        await page.setInputFiles(files, forgedFiles);
        await clickAndWait(page, '#upload-form button[type=submit]');
        expect(await page.textContent('#upload-msg')).toContain('Chữ ký không khớp');
        const forged = await page.textContent('#releases tbody tr:has-text("2.2.0")');
        expect(forged).toContain('chưa có gói');

        await page.setInputFiles(files, uploadFiles);
        await page.fill('#upload-form textarea[name=notes]', 'Đọc số bằng giọng miền Trung');
        await clickAndWait(page, '#upload-form button[type=submit]');
        expect(await page.textContent('#upload-msg')).toContain(
          'Đã tải lên phiên bản 2.1.0: linux-arm64, linux-x64 (chữ ký hợp lệ)',
        );
        const row = await page.textContent('#releases tbody tr:has-text("2.1.0")');
        expect(row).toContain('Đọc số bằng giọng miền Trung');
        expect(row).toMatch(/linux-arm64 · \d+ kB · tinh\n/);
        expect(row).toContain('linux-x64');
        // Ready to roll out (the forged one, with no bundle, is not offered).
        const offered = await page.$$eval(
          '#rollout-form select[name=version] option',
          (os: { value: string }[]) => os.map((o) => o.value),
        );
        expect(offered).toContain('2.1.0');
        expect(offered).not.toContain('2.2.0');
        await accessible(page);
        expect(failures).toEqual([]);
        await page.close();
      });
    },
  );
}
