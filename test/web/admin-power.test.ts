// The admin page in Chromium says when the office has lost mains power (the box watches its UPS through a
// simulated upsd speaking the real NUT protocol): on battery, then low battery with requests stopped, then
// nothing once mains is back.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NutServerSim } from '../../hardware-sim/ups/nut-server.js';
import {
  ADMIN_PASSWORD,
  chromiumPresent,
  launchChromium,
  screenshot,
  startWebBox,
  type WebBox,
} from './support.js';

const eventually = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 15_000, interval: 100 });

describe.skipIf(!chromiumPresent())('the admin page and the UPS', { timeout: 120_000 }, () => {
  let browser: Browser;
  let ups: NutServerSim;
  let box: WebBox;
  let page: Page;

  beforeAll(async () => {
    browser = await launchChromium();
    ups = await NutServerSim.start({ ups: 'office' });
    box = await startWebBox({
      edit: (cfg) => {
        cfg.ups = { host: '127.0.0.1', port: ups.port, name: 'office', pollSeconds: 1 };
      },
    });
    page = await (await browser.newContext({ viewport: { width: 1440, height: 900 } })).newPage();
    await page.goto(`${box.base}/admin`);
    await page.locator('#password').fill(ADMIN_PASSWORD);
    await page.getByRole('button', { name: 'Đăng nhập' }).click();
    await page.locator('table.peripherals').waitFor();
  });
  afterAll(async () => {
    await browser?.close();
    await box?.close();
    await ups?.close();
  });

  it('says "Mất điện" at the top while the box runs on battery, and that it stopped taking requests on low battery', async () => {
    const power = page.locator('.summary .power');
    expect(await power.count()).toBe(0);
    ups.onBattery(75, 1500);
    await eventually(() => power.textContent()).toMatch(
      /^Mất điện: máy chủ đang chạy bằng UPS \(75%\), từ \d\d:\d\d\.$/,
    );
    ups.lowBattery(8, 90);
    await eventually(() => power.textContent()).toMatch(
      /^Mất điện, pin UPS yếu \(8%\): máy chủ đã ngừng cấp số từ \d\d:\d\d/,
    );
    await screenshot(page, 'admin-power-low');
    ups.mains();
    await eventually(() => power.count()).toBe(0);
  });
});
