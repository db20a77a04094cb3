// Issue 14, #12: an LED board the box drives on a serial bus (the virtual RS-485 bus of hardware-sim/led)
// has no MQTT connection of its own, yet the admin page must show it as seen: "đang kết nối" while its
// driver hears it, then the time it was last heard, never "chưa bao giờ".
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLedBusSim, type LedBusSim } from '../../hardware-sim/led/led-bus-sim.js';
import {
  ADMIN_PASSWORD,
  adminCookie,
  chromiumPresent,
  launchChromium,
  screenshot,
  startWebBox,
  type WebBox,
} from './support.js';

const eventually = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 15_000, interval: 100 });

describe.skipIf(!chromiumPresent())(
  'the admin page and an LED board the box drives',
  { timeout: 120_000 },
  () => {
    let browser: Browser;
    let sim: LedBusSim;
    let box: WebBox;
    let page: Page;

    beforeAll(async () => {
      browser = await launchChromium();
      sim = await startLedBusSim({ boards: [{ address: 1, columns: 16, lines: 2, glyphs: 'vi' }] });
      box = await startWebBox({
        edit: (cfg) => {
          (cfg.peripherals as unknown[]).push({
            id: 'led-serial-1',
            role: 'ledboard',
            counter: 1,
            name: 'Bảng LED RS-485 quầy 1',
            driver: { kind: 'led-rs485', bus: 'rs485-1', address: 1, columns: 16, lines: 2, glyphs: 'vi' },
          });
          cfg.hardware = {
            serial: {
              buses: [
                {
                  id: 'rs485-1',
                  link: sim.link,
                  replyTimeoutMs: 150,
                  retries: 1,
                  pollMs: 150,
                  reconnect: { minMs: 50, maxMs: 200 },
                },
              ],
            },
          };
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
      await sim?.close();
    });

    it('counts the board as seen: connected while its driver hears it, then the time it was last heard', async () => {
      await sim.waitFor(1, (s) => s.lines[0] === 'Quầy 1');
      // The admin API the page reads.
      const cookie = await adminCookie(box);
      const listed = async () => {
        const r = await fetch(`${box.base}/api/admin/peripherals`, { headers: { cookie } });
        const body = (await r.json()) as {
          peripherals: { id: string; lastSeen: string | null; presence: { online: boolean } | null }[];
        };
        return body.peripherals.find((p) => p.id === 'led-serial-1');
      };
      await eventually(async () => (await listed())?.presence?.online).toBe(true);
      expect((await listed())?.lastSeen).not.toBeNull();

      const row = page.locator('tr[data-id="led-serial-1"]');
      await eventually(() => row.locator('td.last-seen').textContent()).toBe('đang kết nối');
      expect(await row.getAttribute('class')).toBe('online');
      expect(await row.locator('td.state').textContent()).toBe('Máy chủ điều khiển: Trực tuyến');
      await row.scrollIntoViewIfNeeded();
      await screenshot(page, 'admin-led');

      // The board stops answering: offline, and seen at a time on the office clock, not "never".
      sim.board(1).dead = true;
      await eventually(() => row.getAttribute('class')).toBe('offline');
      expect(await row.locator('td.last-seen').textContent()).toMatch(/^\d\d:\d\d$/);
      expect((await listed())?.lastSeen).not.toBeNull();
    });
  },
);
