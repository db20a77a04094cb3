// The office page's Commands panel in Debian's Chromium at 1440×900, against a real cloud on SQLite (PostgreSQL
// without it), with the office's box simulated by its credential: it long-polls /api/v1/box/poll,
// acknowledges what it holds and posts each result, as a real box does (test/fleet/commands-e2e.test.ts runs a
// real one). An admin queues a notice and watches it go Chờ gửi → Đã nhận → Thành công without reloading;
// reads a diagnostics result with its log lines; gets a pairing code shown big with a QR code that decodes to
// the box's pairing address; restarts only after confirming; cancels a command the box has not got; is told
// what to do about a notice ending in the past and a box with 100 unfinished commands. A viewer sees the list
// and no form. axe-core finds no critical or serious violation.
// Skips, saying so, where Chromium is not installed, except in CI where that fails (test/web/support.ts).
import jsQRModule from 'jsqr';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { CloudService } from '../../cloud/service.js';
import type { Heartbeat } from '../../protocol/index.js';
import { COMMANDS_PENDING_PER_BOX_MAX, type BoxCommand } from '../../protocol/fleet-commands.js';
import type { BoxPoll } from '../../protocol/fleet.js';
import { chromiumPresent, launchChromium, screenshot } from '../web/support.js';
import {
  accessible,
  clickAndWait,
  consoleLogin,
  openPage,
  closeConsoleSuite,
  consoleUsers,
} from './console-browser.js';
import {
  bearerRequest,
  browserDatabase,
  enrolledBox,
  seedTree,
  startTestCloud,
  type TestDatabase,
} from './helpers.js';

// jsqr is CommonJS whose typings say `export default`: under NodeNext the callable is on `.default`.
const jsQR = (jsQRModule as unknown as { default: typeof jsQRModule.default }).default ?? jsQRModule;
const HAVE_CHROMIUM = chromiumPresent();
// What the page functions below touch (they run in the browser; the project compiles without the DOM lib).
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const document: any;
declare const window: any;
/* eslint-enable @typescript-eslint/no-explicit-any */
const row = (id: string) => `#commands tr[data-command="${id}"]`;

for (const kind of browserDatabase('sqlite')) {
  const skip = !HAVE_CHROMIUM || !kind.available;
  describe.skipIf(skip)(
    `console: the Commands panel in Chromium (${kind.title})${HAVE_CHROMIUM ? '' : ' (SKIPPED: no /usr/bin/chromium)'}`,
    { timeout: 180_000 },
    () => {
      let db: TestDatabase;
      let cloud: CloudService;
      let browser: Browser;
      let box: { boxId: string; token: string };
      const passwords: Record<string, string> = {};
      /** The highest seq the simulated box holds (it acknowledges it in its next poll). */
      let held = 0;

      /** One poll of the box, not held: the commands the cloud has for it beyond `held`. */
      async function poll(): Promise<BoxCommand[]> {
        const res = await fetch(`${cloud.url}/api/v1/box/poll?version=0&commands=${held}&software=&wait=0`, {
          headers: { authorization: `Bearer ${box.token}` },
        });
        if (res.status === 204) return [];
        expect(res.status).toBe(200);
        const got = ((await res.json()) as BoxPoll).commands;
        for (const c of got) held = Math.max(held, c.seq);
        return got;
      }
      /** The box polls until it gets the command of this kind, then acknowledges it (→ delivered). */
      async function receive(kindOf: string): Promise<BoxCommand> {
        const t0 = Date.now();
        for (;;) {
          const c = (await poll()).find((x) => x.kind === kindOf);
          if (c) {
            await poll();
            return c;
          }
          if (Date.now() - t0 > 20_000) throw new Error(`the box never got a ${kindOf}`);
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      async function finish(id: string, outcome: Record<string, unknown>) {
        const res = await fetch(`${cloud.url}/api/v1/box/commands/${id}/result`, {
          method: 'POST',
          headers: { authorization: `Bearer ${box.token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ at: new Date().toISOString(), ...outcome }),
        });
        expect(res.status, await res.text()).toBe(200);
      }
      /** The newest command's id as the panel lists it. */
      const newest = (page: Page) =>
        page.getAttribute('#commands tbody tr:first-child', 'data-command') as Promise<string>;
      async function queueFromForm(page: Page, kindOf: string, fill: () => Promise<void>) {
        await page.selectOption('#command-kind', kindOf);
        await fill();
        const before = await page.evaluate(
          () => document.querySelector('#commands tbody tr')?.dataset.command ?? '',
        );
        await clickAndWait(page, '#command-form button[type=submit]');
        await page.waitForSelector('#command-msg.ok');
        const id = await newest(page);
        expect(id).not.toBe(before);
        return id;
      }

      beforeAll(async () => {
        db = kind.create();
        cloud = await startTestCloud(db, { settings: { loginsPerMinute: 50 } });
        await seedTree(cloud);
        Object.assign(
          passwords,
          await consoleUsers(cloud, [
            ['tinh', 'dn', 'admin'],
            ['xem-tinh', 'dn', 'viewer'],
          ]),
        );
        box = await enrolledBox(cloud, 'o-hkb');
        // The box has told the cloud of its TV and its kiosk: the pairing form offers them.
        const beat: Heartbeat = {
          at: new Date().toISOString(),
          version: '1.4.0',
          node: process.version,
          officeId: 'o-hkb',
          day: new Date().toISOString().slice(0, 10),
          lastSeq: 0,
          backlog: { events: 0, oldestAt: null, freeDiskBytes: 20 * 1024 ** 3, alarm: false },
          peripherals: [
            { id: 'tv-1', role: 'display', online: true, status: null },
            { id: 'kiosk-1', role: 'kiosk', online: true, status: null },
            { id: 'led-1', role: 'ledboard', online: true, status: null },
          ],
        };
        const r = await bearerRequest(cloud, box.token, 'POST', '/api/v1/uplink/heartbeat', beat);
        expect(r.status).toBe(200);
        browser = await launchChromium();
      }, 120_000);
      afterAll(async () => {
        await closeConsoleSuite({ browser, cloud, db });
      });

      const login = (username: string) => consoleLogin(browser, cloud.url, username, passwords[username]!);

      it('an admin queues a notice and watches it go Chờ gửi → Đã nhận → Thành công', async () => {
        const { page, failures } = await login('tinh');
        await openPage(page, '#/fleet/office/o-hkb');
        expect(await page.isVisible('section[data-panel=commands]')).toBe(true);
        expect(await page.textContent('#commands-list')).toContain('Chưa có lệnh nào');
        // The default expiry is 24 hours; the notice's end is on the office's clock (Asia/Ho_Chi_Minh).
        expect(await page.inputValue('#command-form select[name=expiresInSeconds]')).toBe('86400');
        await accessible(page);
        await page.selectOption('#command-kind', 'notice');
        await page.fill('#command-form textarea[name=vi]', 'Chiều nay bộ phận nghỉ họp');
        // Refused: more than 14 days ahead. The message says what to do, and nothing was queued.
        await page.fill('#command-form input[name=until]', '2099-01-01T17:30');
        await clickAndWait(page, '#command-form button[type=submit]');
        await page.waitForSelector('#command-msg.error');
        expect(await page.textContent('#command-msg')).toContain('Thông số chưa đúng, chưa gửi gì');
        expect(await page.locator('#commands tbody tr').count()).toBe(0);
        const until = new Date(Date.now() + 3 * 3600_000);
        const local = new Intl.DateTimeFormat('sv-SE', {
          timeZone: 'Asia/Ho_Chi_Minh',
          dateStyle: 'short',
          timeStyle: 'short',
        })
          .format(until)
          .replace(' ', 'T');
        await page.fill('#command-form input[name=until]', local);
        await clickAndWait(page, '#command-form button[type=submit]');
        await page.waitForSelector('#command-msg.ok');
        const notice = await newest(page);
        expect(await page.getAttribute(row(notice), 'data-state')).toBe('pending');
        const text = await page.textContent(row(notice));
        expect(text).toContain('Thông báo trên TV và bảng LED');
        expect(text).toContain('“Chiều nay bộ phận nghỉ họp” đến');
        expect(text).toContain(local.slice(11, 16)); // the end time as the office's clock shows it
        expect(text).toContain('tinh');
        expect(text).toContain('Chờ gửi');

        // The box gets it: the panel follows by itself.
        const got = await receive('notice');
        expect(got.id).toBe(notice);
        expect(Date.parse((got.params as { until: string }).until)).toBe(
          Math.floor(until.getTime() / 60_000) * 60_000,
        );
        await page.waitForSelector(`${row(notice)}[data-state=delivered]`);
        expect(await page.textContent(row(notice))).toContain('Đã nhận');
        await finish(notice, {
          state: 'succeeded',
          result: { until: until.toISOString(), boards: ['led-1'] },
        });
        await page.waitForSelector(`${row(notice)}[data-state=succeeded]`);
        expect(await page.textContent(row(notice))).toContain('Thành công');
        await accessible(page);
        // The browser logs the refused notice's 400 (expected above); nothing else went wrong.
        expect(failures.filter((f) => !/status of 400/.test(f))).toEqual([]);
        await page.close();
      });

      it('diagnostics: the result with the box versions, disk and its log lines in a scrollable block', async () => {
        const { page, failures } = await login('tinh');
        await openPage(page, '#/fleet/office/o-hkb');
        const id = await queueFromForm(page, 'diagnostics', () =>
          page.fill('#command-form input[name=logLines]', '3'),
        );
        expect(await page.textContent(row(id))).toContain('3 dòng nhật ký gần nhất');
        const got = await receive('diagnostics');
        expect(got.params).toEqual({ logLines: 3 });
        const logs = [
          '2026-12-06T03:00:00.000Z INFO queue ticket A001 issued',
          '2026-12-06T03:00:05.000Z WARN printer kiosk-1 paper near end',
          '2026-12-06T03:00:09.000Z INFO <script>not html</script>',
        ];
        await finish(id, {
          state: 'succeeded',
          result: {
            at: new Date().toISOString(),
            health: { status: 'ok' },
            versions: { software: '1.4.0', node: 'v20.11.0', config: { source: 'cloud', version: 3 } },
            disk: { dataDir: '/var/lib/lobby', freeBytes: 12 * 1024 ** 3, totalBytes: 32 * 1024 ** 3 },
            uptimeSeconds: 5400,
            peripherals: [{ id: 'kiosk-1', role: 'kiosk', counter: null, online: true, status: null }],
            logs,
          },
        });
        await page.waitForSelector(`${row(id)}[data-state=succeeded] button.show-result`);
        await clickAndWait(page, `${row(id)} button.show-result`);
        const result = await page.textContent('#command-result');
        expect(result).toContain('1.4.0');
        expect(result).toContain('1 giờ 30 phút');
        expect(result).toContain('12 GB');
        expect(await page.textContent('#command-result pre.logs')).toBe(logs.join('\n'));
        // Monospace, and it scrolls rather than growing the page without end.
        const style = await page.$eval('#command-result pre.logs', (e) => {
          const s = window.getComputedStyle(e);
          return { font: s.fontFamily, overflow: s.overflowY };
        });
        expect(style.font).toMatch(/mono/i);
        expect(style.overflow).toBe('auto');
        await accessible(page);
        await screenshot(page, 'console-commands', true);
        expect(failures).toEqual([]);
        await page.close();
      });

      it('pair-screen: the code shown big, and a QR code that decodes to the box pairing address', async () => {
        const { page, failures } = await login('tinh');
        await openPage(page, '#/fleet/office/o-hkb');
        await page.selectOption('#command-kind', 'pair-screen');
        // The office's screens, by role: the TV and the kiosk; not the LED board.
        const options = await page.$$eval('#command-form select[name=device] option', (os) =>
          os.map((o) => o.value),
        );
        expect(options).toEqual(['tv-1', 'kiosk-1']);
        const id = await queueFromForm(page, 'pair-screen', async () => {
          await page.selectOption('#command-form select[name=device]', 'tv-1');
        });
        const got = await receive('pair-screen');
        expect(got.params).toEqual({ device: 'tv-1' });
        const pairUrl = 'http://192.168.1.20:8080/pair?code=K7QP-3MXD';
        await finish(id, {
          state: 'succeeded',
          result: {
            device: 'tv-1',
            code: 'K7QP-3MXD',
            expiresAt: new Date(Date.now() + 600_000).toISOString(),
            pairUrl,
          },
        });
        await page.waitForSelector(`${row(id)}[data-state=succeeded] button.show-result`);
        await clickAndWait(page, `${row(id)} button.show-result`);
        expect(await page.textContent('#command-result .pair-code')).toBe('K7QP-3MXD');
        const size = await page.$eval('#command-result .pair-code', (e) =>
          parseFloat(window.getComputedStyle(e).fontSize),
        );
        expect(size).toBeGreaterThanOrEqual(32);
        expect(await page.textContent('#command-result .pair-url')).toBe(pairUrl);
        // The QR code as the browser draws it, read back from a screenshot.
        const png = PNG.sync.read(await page.locator('#command-result img.pair-qr').screenshot());
        expect(jsQR(new Uint8ClampedArray(png.data), png.width, png.height)?.data).toBe(pairUrl);
        await accessible(page);
        expect(failures).toEqual([]);
        await page.close();
      });

      it('a viewer sees the commands and their results, with no form and no cancel button', async () => {
        const { page, failures } = await login('xem-tinh');
        await openPage(page, '#/fleet/office/o-hkb');
        expect(await page.isVisible('section[data-panel=commands]')).toBe(true);
        expect(await page.locator('#command-form').count()).toBe(0);
        expect(await page.locator('#commands button.cancel').count()).toBe(0);
        expect(await page.locator('#commands tbody tr').count()).toBe(3);
        expect(await page.textContent('#office-commands')).toContain('Tài khoản chỉ xem');
        const diag = page.locator('#commands tr[data-kind=diagnostics] button.show-result');
        await clickAndWait(
          page,
          `#commands tr[data-command="${await diag.evaluate((b) => b.dataset.id)}"] button.show-result`,
        );
        expect(await page.textContent('#command-result pre.logs')).toContain('paper near end');
        await accessible(page);
        expect(failures).toEqual([]);
        await page.close();
      });

      it('restart asks first; a pending command is cancelled and never reaches the box; 100 unfinished are refused with what to do', async () => {
        const { page, failures } = await login('tinh');
        await openPage(page, '#/fleet/office/o-hkb');
        const count = () => page.locator('#commands tbody tr').count();
        const rows = await count();
        await page.selectOption('#command-kind', 'restart');
        await page.click('#command-form button[type=submit]');
        await page.waitForSelector('#restart-confirm:not([hidden])');
        expect(await page.textContent('#restart-confirm')).toContain('Khởi động lại hộp?');
        await accessible(page);
        await page.click('#restart-no');
        expect(await page.isHidden('#restart-confirm')).toBe(true);
        expect(await count()).toBe(rows); // nothing queued
        await page.click('#command-form button[type=submit]');
        await clickAndWait(page, '#restart-yes');
        await page.waitForSelector('#command-msg.ok');
        const restart = await newest(page);
        expect(await page.textContent(row(restart))).toContain('Khởi động lại hộp');

        // A test call, cancelled before the box polls: Đã hủy, and the box only ever gets the restart.
        const call = await queueFromForm(page, 'test-call', () =>
          page.fill('#command-form fieldset[data-kind=test-call] input[name=counter]', '2'),
        );
        expect(await page.textContent(row(call))).toContain('Quầy 2');
        await clickAndWait(page, `${row(call)} button.cancel`);
        await page.waitForSelector(`${row(call)}[data-state=cancelled]`);
        expect(await page.textContent(row(call))).toContain('Đã hủy');
        expect(await page.locator(`${row(call)} button.cancel`).count()).toBe(0);
        const got = await poll();
        expect(got.map((c) => c.kind)).toEqual(['restart']);
        await poll();
        await page.waitForSelector(`${row(restart)}[data-state=delivered]`);
        expect(await page.locator(`${row(restart)} button.cancel`).count()).toBe(0);
        await finish(restart, { state: 'failed', reason: 'the supervisor refused to restart the daemon' });
        await page.waitForSelector(`${row(restart)}[data-state=failed]`);
        expect(await page.textContent(row(restart))).toContain(
          'Thất bại the supervisor refused to restart the daemon',
        );

        // The box has 100 unfinished commands: the form says what to do.
        const token = await page.evaluate(() => window.sessionStorage.getItem('lobby-token'));
        for (let i = 0; i < COMMANDS_PENDING_PER_BOX_MAX; i++) {
          const r = await bearerRequest(cloud, token, 'POST', '/api/v1/fleet/offices/o-hkb/commands', {
            kind: 'test-call',
            params: { counter: 1 },
          });
          expect(r.status).toBe(201);
        }
        await page.selectOption('#command-kind', 'test-call');
        await page.fill('#command-form fieldset[data-kind=test-call] input[name=counter]', '1');
        await clickAndWait(page, '#command-form button[type=submit]');
        await page.waitForSelector('#command-msg.error');
        expect(await page.textContent('#command-msg')).toContain('hủy bớt các lệnh đang chờ gửi');
        expect(failures).toEqual([]);
        await page.close();
      });
    },
  );
}
