// The admin console in headless Chromium: log in, see the report of a simulated day with its three charts and
// the same figures as the API, switch to the fleet and the audit log; a commune admin sees only their commune.
// Skips, saying so, where Chromium is not installed.
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type BrowserContext } from 'playwright-core';
import { createAdmin } from '../../cloud/admin/provisioning.js';
import type { Report } from '../../cloud/reports/reports.js';
import type { CloudService } from '../../cloud/service.js';
import { DEFAULT_COUNTERS, DEFAULT_SERVICES, simulateOfficeDay } from '../bench/cloud-events.js';
import { DATABASES, enrolledBox, seedTree, startTestCloud, type TestDatabase } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
if (!HAVE_CHROMIUM) console.warn(`${CHROMIUM} not found: the admin console browser test is SKIPPED`);
const DAY = '2026-03-02';

// What the page functions below touch (they run in the browser; the project compiles without the DOM lib).
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const document: any;
declare const sessionStorage: any;
declare const window: any;
/* eslint-enable @typescript-eslint/no-explicit-any */

describe.skipIf(!HAVE_CHROMIUM)(
  `admin console in Chromium${HAVE_CHROMIUM ? '' : ' (SKIPPED: no /usr/bin/chromium)'}`,
  () => {
    let db: TestDatabase;
    let cloud: CloudService;
    let browser: BrowserContext;
    const passwords: Record<string, string> = {};

    beforeAll(async () => {
      db = (DATABASES[0] as (typeof DATABASES)[number]).create();
      cloud = await startTestCloud(db);
      await seedTree(cloud);
      for (const [username, unitId] of [
        ['tinh', 'dn'],
        ['hkb-admin', 'hkb'],
      ] as const)
        passwords[username] = (
          await createAdmin(cloud.store.db, { username, unitId, role: 'admin' }, Date.now())
        ).password;
      for (const [office, seed] of [
        ['o-hkb', 5],
        ['o-hc', 6],
      ] as const) {
        const box = await enrolledBox(cloud, office);
        const events = simulateOfficeDay({
          seed,
          day: DAY,
          tickets: 80,
          services: DEFAULT_SERVICES,
          counters: DEFAULT_COUNTERS,
          firstSeq: 1,
        });
        const r = await cloud.app.inject({
          method: 'POST',
          url: '/api/v1/uplink/events',
          headers: { authorization: `Bearer ${box.token}` },
          payload: { events },
        });
        expect(r.statusCode).toBe(200);
      }
      browser = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'lobby-chromium-')), {
        executablePath: CHROMIUM,
        headless: true,
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
      });
    }, 60_000);
    afterAll(async () => {
      await browser?.close();
      await cloud?.close();
      await db?.cleanup();
    });

    async function login(username: string) {
      const page = await browser.newPage();
      const failures: string[] = [];
      page.on('pageerror', (e) => failures.push(e.message));
      page.on('requestfailed', (r) => failures.push(`${r.url()} ${r.failure()?.errorText}`));
      await page.goto(`${cloud.url}/`);
      await page.fill('input[name=username]', username);
      await page.fill('input[name=password]', passwords[username] as string);
      await page.click('#login-form button[type=submit]');
      await page.waitForSelector('#app:not([hidden])');
      return { page, failures };
    }

    it('logs in, shows the report with its charts, the fleet and the audit log', async () => {
      const { page, failures } = await login('tinh');
      await page.fill('input[name=from]', DAY);
      await page.fill('input[name=to]', DAY);
      await page.selectOption('#unit', 'dn');
      await page.click('#report-form button[type=submit]');
      await page.waitForFunction((d) => document.body.dataset.reportLoaded === `dn ${d} ${d}`, DAY);
      const token = await page.evaluate(() => sessionStorage.getItem('lobby-token'));
      const api = (await (
        await fetch(`${cloud.url}/api/v1/reports?unit=dn&from=${DAY}&to=${DAY}`, {
          headers: { authorization: `Bearer ${token}` },
        })
      ).json()) as Report;
      expect(api.totals.issued).toBe(160);
      expect(await page.textContent('[data-kpi=issued] .v')).toBe('160');
      expect(await page.textContent('[data-kpi=served] .v')).toBe(String(api.totals.served));
      expect(await page.textContent('[data-kpi=p90] .v')).toBe(String(api.totals.wait.p90Min));
      // Three charts drawn by Chart.js, with the report's data.
      const charts = await page.evaluate(() =>
        ['chart-wait-hour', 'chart-clerk', 'chart-ontime'].map((id) => {
          const c = window.Chart.getChart(document.getElementById(id));
          return c ? c.data.labels.length : -1;
        }),
      );
      expect(charts[0]).toBe(api.byHour.length);
      expect(charts[1]).toBe(api.byClerk.length);
      expect(charts[2]).toBeGreaterThanOrEqual(0);
      expect(await page.locator('#by-office tbody tr').count()).toBe(2);
      expect(await page.locator('#by-clerk tbody tr').count()).toBe(8);
      await page.screenshot({ path: join(tmpdir(), 'lobby-console-report.png'), fullPage: true });

      await page.click('nav button[data-tab=fleet]');
      await page.waitForSelector('#fleet tbody tr');
      expect(await page.locator('#fleet tbody tr').count()).toBe(2);
      await page.click('nav button[data-tab=audit]');
      await page.waitForSelector('#audit tbody tr');
      expect(await page.textContent('#audit')).toContain('report.viewed');
      expect(failures).toEqual([]);
      await page.close();
    });

    it('a commune admin only has their commune, and a wrong password is refused', async () => {
      const { page, failures } = await login('hkb-admin');
      const options = await page.locator('#unit option').allTextContents();
      expect(options).toEqual(['Phường Hòa Khánh Bắc']);
      await page.click('#logout');
      await page.waitForSelector('#login:not([hidden])');
      await page.fill('input[name=username]', 'hkb-admin');
      await page.fill('input[name=password]', 'wrong password here');
      await page.click('#login-form button[type=submit]');
      await page.waitForFunction(() => document.getElementById('login-error')?.textContent !== '');
      expect(await page.textContent('#login-error')).toBe('Sai tên đăng nhập hoặc mật khẩu.');
      expect(failures.filter((f) => !f.includes('/api/v1/auth/'))).toEqual([]);
      await page.close();
    });
  },
);
