// Every screen the box serves, at its real size, checked as a person with a screen reader, poor eyesight
// or a thick finger meets it: axe-core (no critical or serious violation), targets of at least 44 px, text
// of at least 16 px, and nothing logged as an error (a CSP refusal, a missing favicon).
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../support/office.js';
import {
  ADMIN_PASSWORD,
  chromiumPresent,
  launchChromium,
  pageErrors,
  startWebBox,
  type WebBox,
} from './support.js';
import { expectAccessible, onlineScreen } from './a11y-check.js';

const eventually = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 15_000, interval: 100 });
const BROWSER_TEST_MS = 180_000;

describe.skipIf(!chromiumPresent())(
  'accessibility of the screens in Chromium',
  { timeout: BROWSER_TEST_MS },
  () => {
    let browser: Browser;
    let box: WebBox;

    beforeAll(async () => {
      browser = await launchChromium();
      box = await startWebBox();
      // A lobby in use: people waiting, a counter open with a clerk, a citizen called.
      const kiosk = await box.connect('kiosk-2');
      for (const service of ['van-thu', 'van-thu', 'chung-thuc', 'ho-tich'])
        expect((await request(kiosk, 'lobby/v1/tickets/request', { service })).status).toBe('ok');
      const keypad = await box.connect('keypad-2');
      const panel2 = await box.connect('clerk-panel-2');
      expect((await request(panel2, 'lobby/v1/counters/2/cmd/sign_in', { clerk: 'cc02' })).status).toBe('ok');
      expect((await request(keypad, 'lobby/v1/counters/2/cmd/next')).status).toBe('ok');
    });
    afterAll(async () => {
      await browser?.close();
      await box?.close().catch(() => undefined);
    });

    const screen = (device: string, path: string, viewport: { width: number; height: number }) =>
      onlineScreen(browser, box, device, path, viewport);

    it('the lobby TV at 1920×1080', async () => {
      const { page, errors } = await screen('display-tv', '/tv', { width: 1920, height: 1080 });
      await eventually(() => page.locator('[data-counter="2"] .counter-ticket').textContent()).toBe('B001');
      await expectAccessible(page, errors);
    });

    for (const viewport of [
      { width: 1080, height: 1920 },
      { width: 800, height: 480 },
    ])
      it(`the kiosk at ${viewport.width}×${viewport.height}`, async () => {
        const { page, errors } = await screen('kiosk-1', '/kiosk', viewport);
        await eventually(() => page.locator('button[data-service="van-thu"]').isEnabled()).toBe(true);
        await expectAccessible(page, errors);
      });

    it('the rating tablet at 1280×800', async () => {
      const { page, errors } = await screen('rating-1', '/rating', { width: 1280, height: 800 });
      await eventually(() => page.locator('body').textContent()).not.toBe('');
      await expectAccessible(page, errors);
    });

    it('the clerk panel at 1366×768, signed in', async () => {
      const { page, errors } = await screen('clerk-panel-1', '/clerk', { width: 1366, height: 768 });
      await eventually(() => page.locator('#clerk option[value="cc01"]').count()).toBe(1);
      await expectAccessible(page, errors);
      await page.locator('#clerk').selectOption('cc01');
      await page.getByRole('button', { name: 'Đăng nhập' }).click();
      await eventually(() => page.locator('button[data-action="next"]').isEnabled()).toBe(true);
      await expectAccessible(page, errors);
    });

    it('the admin page at 1440×900, signed in', async () => {
      const page = await (await browser.newContext({ viewport: { width: 1440, height: 900 } })).newPage();
      const errors = pageErrors(page);
      await page.goto(`${box.base}/admin`);
      await page.locator('#password').waitFor();
      await expectAccessible(page, errors);
      await page.locator('#password').fill(ADMIN_PASSWORD);
      await page.getByRole('button', { name: 'Đăng nhập' }).click();
      await page.locator('tr[data-id="tv-2"]').waitFor();
      await expectAccessible(page, errors);
    });

    it('serves an icon, so no screen logs a 404 for it', async () => {
      for (const path of ['/favicon.ico', '/favicon.svg']) {
        const r = await fetch(`${box.base}${path}`);
        expect(r.status).toBe(200);
        expect(r.headers.get('content-type')).toContain('image/svg+xml');
      }
    });
  },
);
