// The lookup station and the dossier-status board in Debian's Chromium (issue 15), against a real box and a
// real cloud: a receipt scanner (hardware-sim/scanner, keyboard mode) types codes into the station; the board
// follows the cloud without a reload; then the cloud is stopped mid-session and both screens say how old what
// they show is. At 1920×1080 (a TV) and 1080×1920 (a touch kiosk). Screenshots: SCREENSHOTS=1.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeyboardWedgeScanner } from '../../hardware-sim/scanner/keyboard-wedge.js';
import { SimLookupStation } from '../../hardware-sim/mqtt/index.js';
import { startScannerSim, type ScannerSim } from '../../hardware-sim/serial/line-device-sim.js';
import { LOOKUPS_PER_STATION_PER_MINUTE } from '../../protocol/index.js';
import { CODES, dossierBoxSections, startDossierCloud, type DossierCloud } from '../support/dossier-cloud.js';
import { peripheralsFor, secretOf } from '../support/office.js';
import {
  accessibility,
  chromiumPresent,
  launchChromium,
  pageErrors,
  pairedPage,
  screenshot,
  startWebBox,
  type WebBox,
} from './support.js';

// What the page functions below touch (they run in the browser; the project compiles without the DOM lib).
declare const window: Record<string, unknown>;
declare function getComputedStyle(e: unknown): { fontSize: string };

const eventually = <T>(fn: () => T | Promise<T>, timeout = 15_000) =>
  expect.poll(fn, { timeout, interval: 100 });
const BROWSER_TEST_MS = 120_000;
const TV = { width: 1920, height: 1080 };
const KIOSK = { width: 1080, height: 1920 };
/** Ready dossiers added for the paging test: more than a TV holds at once. */
const MANY = 40;
const STATIONS = ['lookup-tv', 'lookup-kiosk', 'lookup-busy', 'lookup-serial'];

describe.skipIf(!chromiumPresent())(
  'the dossier lookup station and status board in Chromium',
  { timeout: BROWSER_TEST_MS },
  () => {
    let browser: Browser;
    let box: WebBox;
    let dc: DossierCloud;
    /** The receipt scanner of station lookup-serial, wired to the box (a serial line over TCP, CR LF). */
    let serialScanner: ScannerSim;
    /** The box's clock runs ahead of the wall clock by this much: kept answers age without waiting. */
    let ahead = 0;

    beforeAll(async () => {
      browser = await launchChromium();
      dc = await startDossierCloud();
      const dataDir = mkdtempSync(join(tmpdir(), 'lobby-web-dossiers-'));
      await dc.enroll(dataDir);
      serialScanner = await startScannerSim();
      const stations = (await peripheralsFor(STATIONS.map((id) => ({ id, role: 'lookup' as const })))).map(
        (p) =>
          p.id === 'lookup-serial'
            ? {
                ...p,
                driver: {
                  kind: 'serial-lookup-scanner',
                  link: serialScanner.link,
                  reconnect: { minMs: 50, maxMs: 200 },
                },
              }
            : p,
      );
      box = await startWebBox({
        dataDir,
        edit: (cfg) => {
          Object.assign(cfg, dossierBoxSections(dc.url));
          (cfg.peripherals as unknown[]).push(...stations);
        },
        box: { clock: () => Date.now() + ahead, fleetWaitSeconds: 1, dossierBoardPollMs: 300 },
      });
    }, 60_000);
    afterAll(async () => {
      await browser?.close();
      await box?.close().catch(() => undefined);
      await dc?.close();
      await serialScanner?.close();
    });

    async function station(device: string, viewport: { width: number; height: number }) {
      const context = await browser.newContext({ viewport });
      const page = await pairedPage(context, box, device, '/lookup', '?idle=5');
      const errors = pageErrors(page);
      await eventually(() => page.locator('.link-banner').getAttribute('data-state')).toBe('online');
      await eventually(() => page.locator('main').getAttribute('data-view')).toBe('start');
      return { page, errors, scanner: new KeyboardWedgeScanner(page.keyboard) };
    }

    async function board(viewport: { width: number; height: number }, query = ''): Promise<Page> {
      const context = await browser.newContext({ viewport });
      const page = await pairedPage(context, box, 'display-tv', '/tv', '?chime=0');
      await page.goto(`${box.base}/board${query}`);
      await eventually(() => page.locator('.link-banner').getAttribute('data-state')).toBe('online');
      return page;
    }

    async function expectAccessible(page: Page, errors: string[]): Promise<void> {
      const report = await accessibility(page);
      expect({ ...report, errors }).toEqual({
        violations: [],
        small: [],
        tiny: [],
        structure: [],
        errors: [],
      });
    }

    it("a TV station: a scanned receipt shows the dossier's status in large text, then the start screen comes back by itself", async () => {
      const { page, errors, scanner } = await station('lookup-tv', TV);
      await screenshot(page, 'lookup-tv-start');
      await expectAccessible(page, errors);
      await scanner.scan(CODES.ready);
      await eventually(() => page.locator('.dossier-status').textContent()).toBe('Đã có kết quả');
      await expect
        .poll(() => page.locator('.dossier-banner').textContent())
        .toContain('Mời ông/bà mang giấy biên nhận');
      const facts = await page.locator('.dossier-facts').textContent();
      expect(facts).toContain(CODES.ready);
      expect(facts).toContain('Đăng ký khai sinh');
      expect(facts).toContain('Đất đai');
      expect(facts).toContain('Ngày hẹn trả kết quả');
      expect(await page.locator('.freshness').textContent()).toContain('Thông tin cập nhật lúc');
      // Large text, read from two metres.
      const size = await page
        .locator('.dossier-status')
        .evaluate((e) => parseFloat(getComputedStyle(e).fontSize));
      expect(size).toBeGreaterThanOrEqual(64);
      await screenshot(page, 'lookup-tv-ready');
      await expectAccessible(page, errors);
      // The next citizen scans on the result screen: no touch needed.
      await scanner.scan(CODES.overdue);
      await eventually(() => page.locator('.dossier').getAttribute('data-state')).toBe('overdue');
      expect(await page.locator('.dossier-banner').textContent()).toContain('quá ngày hẹn trả');
      // Left alone, it goes back to the start screen.
      await eventually(() => page.locator('main').getAttribute('data-view'), 10_000).toBe('start');
      expect(await page.locator('.dossier').count()).toBe(0);
    });

    it('a scanner wired to the box (a serial line): the station shows what it scanned', async () => {
      const { page } = await station('lookup-serial', TV);
      await serialScanner.connection();
      serialScanner.scan(CODES.overdue);
      await eventually(() => page.locator('.dossier').getAttribute('data-state')).toBe('overdue');
      expect(await page.locator('.dossier-facts').textContent()).toContain(CODES.overdue);
      await screenshot(page, 'lookup-tv-overdue');
    });

    it('a kiosk station: an unknown code is not found; a malformed one says what a code looks like', async () => {
      const { page, errors, scanner } = await station('lookup-kiosk', KIOSK);
      await scanner.scan(CODES.unknown);
      await eventually(() => page.locator('.refusal h2').textContent()).toBe('Không tìm thấy hồ sơ');
      expect(await page.locator('.refusal').textContent()).toContain(CODES.unknown);
      await screenshot(page, 'lookup-kiosk-not-found');
      await page.locator('.again button').click();
      await page.locator('#dossier-code').fill('HS-2026-15');
      await page.getByRole('button', { name: 'Tra cứu' }).click();
      await eventually(() => page.locator('.refusal h2').textContent()).toBe('Mã hồ sơ không đúng');
      expect(await page.locator('.refusal').textContent()).toContain('000.00.04.H12-261122-0015');
      await screenshot(page, 'lookup-kiosk-bad-code');
      await expectAccessible(page, errors);
    });

    it('a station over its rate gets a clear refusal', async () => {
      // The scanner stuck in a loop: the same station's other connection uses up its minute.
      const loop = new SimLookupStation({
        url: box.mqttUrl,
        id: 'lookup-busy',
        secret: secretOf('lookup-busy'),
        tag: 'loop',
        attempts: 1,
      });
      await loop.connect();
      for (let i = 0; i < LOOKUPS_PER_STATION_PER_MINUTE; i++) await loop.lookup(CODES.processing);
      await loop.close();
      const { page, scanner } = await station('lookup-busy', KIOSK);
      await scanner.scan(CODES.ready);
      await eventually(() => page.locator('.refusal h2').textContent()).toBe('Vui lòng chờ');
      expect(await page.locator('.refusal').textContent()).toMatch(/tra quá \d+ lần trong một phút/);
      await screenshot(page, 'lookup-kiosk-rate');
    });

    it('the board on a 1920×1080 TV shows the figures and the ready codes, and follows the cloud without a reload', async () => {
      const page = await board(TV);
      const errors = pageErrors(page);
      await eventually(() => page.locator('.open-ready .value').textContent()).toBe('1');
      expect(await page.locator('.ready-codes li').allTextContents()).toEqual([`${CODES.ready}Đất đai`]);
      expect(await page.locator('.open-overdue .value').textContent()).toBe('1');
      expect(await page.locator('.board-freshness').textContent()).toContain('Số liệu cập nhật lúc');
      expect(await page.locator('.by-service').textContent()).toContain('Hộ tịch');
      await page.evaluate(() => (window.sameLoad = true));
      await dc.dossier(CODES.processing, { status: 'ready', receivedAgo: 5 * 24 * 3600_000 });
      await eventually(() => page.locator('.ready-codes li').count()).toBe(2);
      expect(await page.locator('.open-ready .value').textContent()).toBe('2');
      expect(await page.evaluate(() => window.sameLoad)).toBe(true);
      await screenshot(page, 'board-tv');
      await expectAccessible(page, errors);
      const portrait = await board(KIOSK);
      await eventually(() => portrait.locator('.ready-codes li').count()).toBe(2);
      await screenshot(portrait, 'board-portrait');
    });

    it('more ready codes than the TV holds are shown a page at a time, turning by themselves, none cut off', async () => {
      for (let i = 1; i <= MANY; i++)
        await dc.dossier(`000.00.04.H12-261130-${String(i).padStart(4, '0')}`, { status: 'ready' });
      const page = await board(TV, '?rotate=2');
      await eventually(() => page.locator('.open-ready .value').textContent()).toBe(String(2 + MANY));
      await eventually(() => page.locator('.ready-page').textContent()).toMatch(/^\(Trang 1\/\d\)$/);
      const visible = () => page.locator('.ready-codes li:visible').allTextContents();
      const first = await visible();
      expect(first.length).toBeGreaterThan(0);
      expect(first.length).toBeLessThan(2 + MANY);
      // Each code shown is whole on the screen.
      for (const box of await page
        .locator('.ready-codes li:visible')
        .evaluateAll((els) =>
          els.map(
            (e) => (e as { getBoundingClientRect(): { bottom: number } }).getBoundingClientRect().bottom,
          ),
        ))
        expect(box).toBeLessThanOrEqual(TV.height);
      await eventually(() => page.locator('.ready-page').textContent()).toMatch(/^\(Trang 2\/\d\)$/);
      const second = await visible();
      expect(second.some((c) => first.includes(c))).toBe(false);
      await screenshot(page, 'board-tv-pages');
    });

    it('with the cloud stopped mid-session: the station shows the kept answer and its age, the board its last figures and their age', async () => {
      const { page, errors, scanner } = await station('lookup-kiosk', KIOSK);
      const tvBoard = await board(TV);
      await eventually(() => tvBoard.locator('.open-ready .value').textContent()).toBe(String(2 + MANY));
      await scanner.scan(CODES.returned);
      await eventually(() => page.locator('.dossier-status').textContent()).toBe('Đã trả kết quả');
      await page.locator('.again button').click();

      await dc.stop();
      ahead = 5 * 60_000;
      await scanner.scan(CODES.returned);
      await eventually(() => page.locator('.freshness.stale').textContent()).toContain(
        'Hiện không kết nối được hệ thống một cửa điện tử',
      );
      expect(await page.locator('.freshness').textContent()).toContain('(5 phút trước)');
      expect(await page.locator('.dossier-status').textContent()).toBe('Đã trả kết quả');
      await screenshot(page, 'lookup-kiosk-offline');
      await expectAccessible(page, errors);
      await page.locator('.again button').click();
      await scanner.scan('000.00.04.H12-261204-0042');
      await eventually(() => page.locator('.refusal').getAttribute('data-code')).toBe('lookup_unavailable');
      expect(await page.locator('.refusal').textContent()).toContain(
        'không kết nối được hệ thống một cửa điện tử',
      );

      await eventually(() => tvBoard.locator('.board-freshness').getAttribute('data-stale')).toBe('true');
      expect(await tvBoard.locator('.board-freshness').textContent()).toMatch(
        /Mất kết nối .* số liệu của 5 phút trước/,
      );
      expect(await tvBoard.locator('.open-ready .value').textContent()).toBe(String(2 + MANY));
      await screenshot(tvBoard, 'board-tv-offline');
    });
  },
);
