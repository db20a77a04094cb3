// The console's Peripherals panel in Debian's Chromium, against a real cloud on PostgreSQL (SQLite without
// it). An admin adds a keypad to a managed office: a dialog shows its secret once, as text and as a QR code
// that a device can scan (decoded from the screen), and that secret matches the hash the office's box gets.
// Once the dialog is closed the secret is nowhere in the page, its storage or its address. Rotating shows a
// new secret, the refusals (an id taken, a keypad without a counter, an office the cloud does not manage) say
// what to do, revoking asks first and removes the device from the box's config. A viewer sees the list without
// a button. axe-core passes.
// Skips, saying so, where Chromium is not installed, except in CI where that fails (test/web/support.ts).
import { readFileSync } from 'node:fs';
import jsQRModule from 'jsqr';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { CloudService } from '../../cloud/service.js';
import { PeripheralConfig } from '../../protocol/config/schema.js';
import { DEVICE_ID_PATTERN, parsePeripheralCredential, ROLES, type Heartbeat } from '../../protocol/index.js';
import type { BoxTarget, DesiredConfig } from '../../protocol/fleet.js';
import { verifySecret } from '../../protocol/secrets.js';
import { chromiumPresent, launchChromium, screenshot } from '../web/support.js';
import {
  accessible,
  clickAndWait,
  consoleLogin,
  openPage,
  closeConsoleSuite,
  consoleUsers,
} from './console-browser.js';
import { HKB_OVERRIDES, PROVINCE_TEMPLATE } from './fleet-fixtures.js';
import {
  bearerRequest,
  browserDatabase,
  enrolledBox,
  seedTree,
  startTestCloud,
  type TestDatabase,
} from './helpers.js';

const jsQR = (jsQRModule as unknown as { default: typeof jsQRModule.default }).default ?? jsQRModule;
const HAVE_CHROMIUM = chromiumPresent();

/* eslint-disable @typescript-eslint/no-explicit-any */
declare const document: any;
declare const window: any;
/* eslint-enable @typescript-eslint/no-explicit-any */

describe('console: the peripherals form offers what the API takes', () => {
  const source = readFileSync(new URL('../../cloud/console/peripherals.js', import.meta.url), 'utf8');
  it('its id pattern is protocol/topics.ts DEVICE_ID_PATTERN', () => {
    const m = /export const ID_PATTERN = '(.+)';/.exec(source);
    // The browser's `pattern` is anchored and escapes the dash in a class (the `v` flag); the API's is not.
    expect(`^${m?.[1]?.replace(/\\\\-/g, '-')}$`).toBe(DEVICE_ID_PATTERN);
  });
  it("its roles are every peripheral role, its name limit the config schema's", () => {
    const roles = /const ROLES = \[([^\]]+)\];/.exec(source)?.[1]?.match(/'[^']+'/g);
    expect(roles?.map((r) => r.slice(1, -1)).sort()).toEqual([...ROLES].sort());
    expect(source).toContain(`const NAME_MAX = ${PeripheralConfig.properties.name.maxLength};`);
  });
});

for (const kind of browserDatabase('postgres')) {
  const skip = !HAVE_CHROMIUM || !kind.available;
  describe.skipIf(skip)(
    `console: the Peripherals panel in Chromium (${kind.title})${HAVE_CHROMIUM ? '' : ' (SKIPPED: no /usr/bin/chromium)'}`,
    { timeout: 180_000 },
    () => {
      let db: TestDatabase;
      let cloud: CloudService;
      let browser: Browser;
      let box: { boxId: string; token: string };
      let adminApi: string;
      const passwords: Record<string, string> = {};

      const inject = (token: string, method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown) =>
        bearerRequest(cloud, token, method, url, payload);
      /** The peripherals the office's box is told to run (its next desired version). */
      const sent = async () => {
        const res = await fetch(`${cloud.url}/api/v1/box/target?version=0&wait=0`, {
          headers: { authorization: `Bearer ${box.token}` },
        });
        return (((await res.json()) as BoxTarget).config as DesiredConfig).peripherals;
      };
      const hashOf = async (id: string) => (await sent()).find((p) => p.id === id)?.secretHash as string;

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
        const login = await cloud.app.inject({
          method: 'POST',
          url: '/api/v1/auth/login',
          payload: { username: 'tinh', password: passwords.tinh },
        });
        adminApi = login.json<{ token: string }>().token;
        expect(
          (await inject(adminApi, 'PUT', '/api/v1/fleet/units/dn/template', { template: PROVINCE_TEMPLATE }))
            .status,
        ).toBe(200);
        expect(
          (await inject(adminApi, 'PUT', '/api/v1/fleet/offices/o-hkb/config', { overrides: HKB_OVERRIDES }))
            .status,
        ).toBe(200);
        browser = await launchChromium();
      }, 120_000);
      afterAll(async () => {
        await closeConsoleSuite({ browser, cloud, db });
      });

      /** The secret dialog: its text, and what a device scanning the QR code on the screen reads. */
      async function handout(page: Page) {
        const dialog = page.locator('dialog.modal[open]');
        await dialog.waitFor();
        const secret = (await dialog.locator('#secret-text').textContent()) as string;
        await page.waitForFunction(() => document.querySelector('#secret-qr')?.complete);
        const png = PNG.sync.read(await dialog.locator('#secret-qr').screenshot());
        const scanned = jsQR(new Uint8ClampedArray(png.data), png.width, png.height)?.data ?? '';
        return { dialog, secret, scanned };
      }
      /** Everything the page keeps: its HTML, its address, its storage. */
      const everything = (page: Page) =>
        page.evaluate(
          () =>
            document.documentElement.outerHTML +
            window.location.href +
            JSON.stringify({ ...window.sessionStorage }) +
            JSON.stringify({ ...window.localStorage }),
        );

      it('an admin adds a keypad and gets its secret once, rotates it, meets the refusals, and revokes it', async () => {
        const { page, failures } = await consoleLogin(browser, cloud.url, 'tinh', passwords.tinh as string);
        await openPage(page, '#/fleet/office/o-hkb');
        const panel = page.locator('section[data-panel=peripherals]');
        expect(await panel.isVisible()).toBe(true);
        expect(await panel.textContent()).toContain('Bộ phận chưa có thiết bị ngoại vi nào');
        // The office's counters (template and overrides), by name.
        expect(await page.locator('#peripheral-form select[name=counter] option').allTextContents()).toEqual([
          'Không gắn quầy',
          'Quầy 1',
          'Quầy 2 — Quầy đất đai',
        ]);
        expect(await page.locator('#peripheral-form select[name=role] option').allTextContents()).toContain(
          'Bàn phím gọi số',
        );
        await accessible(page);

        await page.selectOption('#peripheral-form select[name=role]', 'keypad');
        await page.selectOption('#peripheral-form select[name=counter]', '2');
        await page.fill('#peripheral-form input[name=id]', 'keypad-7');
        await page.fill('#peripheral-form input[name=name]', 'Bàn phím quầy đất đai');
        await page.click('#peripheral-form button[type=submit]');
        const first = await handout(page);
        expect(await first.dialog.textContent()).toContain('Bí mật chỉ hiện một lần');
        expect(first.secret).toMatch(/^[A-Za-z0-9_-]{32}$/);
        expect(parsePeripheralCredential(first.scanned)).toEqual({
          id: 'keypad-7',
          secret: first.secret,
          role: 'keypad',
          counter: 2,
          officeId: 'o-hkb',
        });
        // The box gets the hash of that very secret: the keypad can log in with it.
        expect(await verifySecret(first.secret, await hashOf('keypad-7'))).toBe(true);
        // The dialog holds the focus, on its close button; the page under it already lists the keypad.
        expect(await page.evaluate(() => document.activeElement?.className)).toBe('close');
        const row = page.locator('#peripheral-list tr[data-peripheral=keypad-7]');
        expect(await row.textContent()).toContain('Bàn phím quầy đất đai');
        expect(await row.textContent()).toContain('Quầy 2 — Quầy đất đai');
        expect(await row.textContent()).toContain('Đăng nhập bằng bí mật');
        expect(await row.textContent()).toContain('bởi tinh');
        expect(await page.textContent('#peripheral-msg')).toContain('Đã thêm Bàn phím gọi số keypad-7');
        await accessible(page);
        await page.$eval('#office-peripherals', (e: { scrollIntoView(): void }) => e.scrollIntoView());
        await screenshot(page, 'console-peripherals');

        // The copy button puts the secret on the clipboard (to paste into a device's setup page).
        await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: cloud.url });
        await first.dialog.locator('button.copy').click();
        await page.waitForSelector('#secret-copy-msg:has-text("Đã chép bí mật")');
        expect(await page.evaluate(() => window.navigator.clipboard.readText())).toBe(first.secret);

        // Closed: the secret is gone from the page, and the focus is back on the keypad's row.
        await first.dialog.locator('button.close').click();
        await page.waitForSelector('dialog.modal', { state: 'detached' });
        expect(await everything(page)).not.toContain(first.secret);
        expect(await page.evaluate(() => document.activeElement?.closest('tr')?.dataset.peripheral)).toBe(
          'keypad-7',
        );

        // The box reports the keypad online: the panel says since when.
        const at = new Date().toISOString();
        const beat: Heartbeat = {
          at,
          version: '1.4.0',
          node: process.version,
          officeId: 'o-hkb',
          day: at.slice(0, 10),
          lastSeq: 0,
          backlog: { events: 0, oldestAt: null, freeDiskBytes: 20 * 1024 ** 3, alarm: false },
          peripherals: [
            { id: 'keypad-7', role: 'keypad', online: true, status: { ts: at, ok: true } },
            { id: 'led-9', role: 'ledboard', online: true, status: { ts: at, ok: true } },
          ],
        };
        expect((await inject(box.token, 'POST', '/api/v1/uplink/heartbeat', beat)).status).toBe(200);
        await openPage(page, '#/fleet/office/o-hkb');
        expect(await row.textContent()).toContain('Trực tuyến từ');
        // A device the box runs that the cloud's list has not (the box's own file): named, as it would be replaced.
        expect(await page.textContent('#peripheral-others')).toContain('Bảng LED led-9');
        expect(await page.textContent('#peripheral-others')).not.toContain('keypad-7');

        // Rotate: a new secret, once; the old one no longer matches what the box gets.
        await page.click('#peripheral-list tr[data-peripheral=keypad-7] button.rotate');
        const second = await handout(page);
        expect(second.secret).not.toBe(first.secret);
        expect(parsePeripheralCredential(second.scanned)?.secret).toBe(second.secret);
        expect(await verifySecret(second.secret, await hashOf('keypad-7'))).toBe(true);
        expect(await verifySecret(first.secret, await hashOf('keypad-7'))).toBe(false);
        expect(await row.textContent()).toContain('Đổi bí mật');
        await second.dialog.locator('button.close').click();
        await page.waitForSelector('dialog.modal', { state: 'detached' });
        expect(await everything(page)).not.toContain(second.secret);

        // Refusals an admin can act on: the id is taken; a keypad without a counter; nothing saved.
        const add = async (id: string, role: string, counter: string) => {
          await page.selectOption('#peripheral-form select[name=role]', role);
          await page.selectOption('#peripheral-form select[name=counter]', counter);
          await page.fill('#peripheral-form input[name=id]', id);
          await page.click('#peripheral-form button[type=submit]');
          await page.waitForSelector('#peripheral-msg.error');
          return (await page.textContent('#peripheral-msg')) as string;
        };
        expect(await add('keypad-7', 'kiosk', '')).toContain('Bộ phận đã có thiết bị với mã này');
        await openPage(page, '#/fleet/office/o-hkb');
        const invalid = await add('keypad-8', 'keypad', '');
        expect(invalid).toContain('Cấu hình không hợp lệ, chưa lưu gì');
        expect(await page.getAttribute('#peripheral-msg .field-errors li', 'data-path')).toMatch(
          /^peripherals\[1\]\.counter/,
        );
        expect(await page.locator('dialog.modal').count()).toBe(0);
        expect((await sent()).map((p) => p.id)).toEqual(['keypad-7']);

        // Revoke asks first; cancelling keeps the keypad, confirming removes it from the box's config.
        await page.click('#peripheral-list tr[data-peripheral=keypad-7] button.revoke');
        const confirm = page.locator('dialog.modal[open]');
        expect(await confirm.textContent()).toContain('Thu hồi Bàn phím gọi số keypad-7?');
        expect(await page.evaluate(() => document.activeElement?.className)).toContain('cancel');
        await accessible(page);
        await confirm.locator('button.cancel').click();
        await page.waitForSelector('dialog.modal', { state: 'detached' });
        expect(await row.count()).toBe(1);
        await page.click('#peripheral-list tr[data-peripheral=keypad-7] button.revoke');
        await clickAndWait(page, 'dialog.modal[open] button.confirm');
        await page.waitForSelector('#peripheral-msg.ok');
        expect(await page.textContent('#peripheral-msg')).toContain('Đã thu hồi Bàn phím gọi số keypad-7');
        expect(await row.count()).toBe(0);
        expect(await sent()).toEqual([]);

        // An office the cloud does not manage yet: the refusal says what to do first.
        await openPage(page, '#/fleet/office/o-hhb');
        expect(await page.textContent('section[data-panel=peripherals]')).toContain(
          'chưa do đám mây quản lý',
        );
        expect(await add('kiosk-1', 'kiosk', '')).toContain('Hãy lưu phần ghi đè của bộ phận');
        await accessible(page);
        expect(failures).toEqual([]);
        await page.close();
      });

      it('a viewer sees the peripherals without a button, and the API refuses a viewer anyway', async () => {
        const added = await inject(adminApi, 'POST', '/api/v1/fleet/offices/o-hkb/peripherals', {
          id: 'kiosk-2',
          role: 'kiosk',
          name: 'Ki-ốt sảnh',
        });
        expect(added.status, JSON.stringify(added.body)).toBe(201);
        const { page, failures } = await consoleLogin(
          browser,
          cloud.url,
          'xem-tinh',
          passwords['xem-tinh'] as string,
        );
        await openPage(page, '#/fleet/office/o-hkb');
        const panel = page.locator('section[data-panel=peripherals]');
        expect(await panel.locator('tr[data-peripheral=kiosk-2]').textContent()).toContain('Ki-ốt sảnh');
        expect(await panel.locator('button').count()).toBe(0);
        expect(await panel.locator('form').count()).toBe(0);
        expect(await panel.textContent()).toContain('Tài khoản chỉ xem');
        await accessible(page);
        const token = await page.evaluate(() => window.sessionStorage.getItem('lobby-token'));
        expect(
          (await inject(token, 'POST', '/api/v1/fleet/offices/o-hkb/peripherals/kiosk-2/rotate')).status,
        ).toBe(403);
        expect(failures).toEqual([]);
        await page.close();
      });
    },
  );
}
