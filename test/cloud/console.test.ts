// The admin console in headless Chromium: log in, see the report of a simulated day with the same figures as
// the API in its KPIs, tables and three charts (the on-time chart also against the dossiers the province sent),
// switch to the fleet and the audit log (its actions in Vietnamese); a commune admin sees only their commune.
// On SQLite and PostgreSQL.
// Skips, saying so, where Chromium is not installed, except in CI where that fails (test/web/support.ts).
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { createAdmin, createIntegration } from '../../cloud/admin/provisioning.js';
import { hmacHex } from '../../cloud/auth/secrets.js';
import type { Figures, Report, ReportPage } from '../../cloud/reports/reports.js';
import type { CloudService } from '../../cloud/service.js';
import { hmacPayload } from '../../protocol/index.js';
import { DEFAULT_COUNTERS, DEFAULT_SERVICES, simulateOfficeDay } from '../bench/cloud-events.js';
import { chromiumPresent, launchChromium } from '../web/support.js';
import {
  DATABASES,
  MASTER_KEY,
  enrolledBox,
  seedTree,
  startTestCloud,
  type TestDatabase,
} from './helpers.js';

const HAVE_CHROMIUM = chromiumPresent();
const DAY = '2026-03-02';
const DAY_MS = 86_400_000;

// What the page functions below touch (they run in the browser; the project compiles without the DOM lib).
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const document: any;
declare const sessionStorage: any;
declare const window: any;
/* eslint-enable @typescript-eslint/no-explicit-any */
interface DomRow {
  querySelectorAll(selector: string): Iterable<{ textContent: string | null }>;
}
interface ChartDataset {
  label: string;
  data: (number | null)[];
  backgroundColor?: unknown;
  borderColor?: unknown;
}

/**
 * A figure as the console shows it (vi-VN: '.' groups thousands, ',' before decimals; '–' for none); a
 * percentile read from buckets shows as "≤ 15" (at most), "> 240" above the last bound (the API's 1440).
 */
const shown = (text: string | null): number | null =>
  text === null || text.trim() === '–'
    ? null
    : text.trim() === '> 240'
      ? 1440
      : Number(text.replace('≤', '').replace(/\./g, '').replace(',', '.').replace('%', '').trim());
/** The API's figure to the digits the console shows. */
const rounded = (v: number | null, digits: number): number | null =>
  v === null ? null : Math.round(v * 10 ** digits) / 10 ** digits;

/** The figures of one table row, in the console's column order, as numbers: what is received first. */
const rowFigures = (f: Figures, kind: 'office' | 'service' | 'counter') => [
  ...(kind === 'office' ? [f.issued] : kind === 'service' ? [f.issued, f.received] : [f.received]),
  rounded(f.served, 0),
  rounded(f.noShow, 0),
  rounded(f.noShowMarks, 0),
  rounded(f.wait.p50AtMostMin, 0),
  rounded(f.wait.p90AtMostMin, 0),
  rounded(f.wait.withinTargetPct, 1),
  rounded(f.serviceMeanMin, 1),
  rounded(f.satisfaction.ratings, 0),
  ...f.satisfaction.levels,
  rounded(f.satisfaction.indexPct, 1),
  rounded(f.dossiers.received, 0),
  rounded(f.dossiers.onTimeRate, 1),
];

interface SentDossier {
  service: string;
  dueAt: number;
  returnedAt: number | null;
}

// Both databases: the report page's figures come from SQL that differs between them.
for (const kind of DATABASES) {
  const skip = !HAVE_CHROMIUM || !kind.available;
  describe.skipIf(skip)(
    `admin console in Chromium (${kind.title})${HAVE_CHROMIUM ? '' : ' (SKIPPED: no /usr/bin/chromium)'}`,
    { timeout: 120_000 },
    () => {
      let db: TestDatabase;
      let cloud: CloudService;
      let browser: Browser;
      const passwords: Record<string, string> = {};
      const sent: SentDossier[] = [];

      beforeAll(async () => {
        db = kind.create();
        cloud = await startTestCloud(db);
        await seedTree(cloud);
        for (const [username, unitId] of [
          ['tinh', 'dn'],
          ['hkb-admin', 'hkb'],
        ] as const)
          passwords[username] = (
            await createAdmin(cloud.store.db, { username, unitId, role: 'admin' }, Date.now())
          ).password;
        const integration = await createIntegration(
          cloud.store.db,
          MASTER_KEY,
          { name: 'MCĐT', unitId: 'dn' },
          Date.now(),
        );
        for (const [office, seed, agency] of [
          ['o-hkb', 5, '000.00.02.H12'],
          ['o-hc', 6, '000.00.01.H12'],
        ] as const) {
          const box = await enrolledBox(cloud, office);
          const events = simulateOfficeDay({
            seed,
            day: DAY,
            tickets: 80,
            services: DEFAULT_SERVICES,
            counters: DEFAULT_COUNTERS,
            firstSeq: 1,
            agency,
          });
          const r = await cloud.app.inject({
            method: 'POST',
            url: '/api/v1/uplink/events',
            headers: { authorization: `Bearer ${box.token}` },
            payload: { events },
          });
          expect(r.statusCode).toBe(200);
          // The province's software sends the linked dossiers: van-thu always on time, the others late
          // every third, still open every fifth; so one service is above the 95% target and others below.
          for (const e of events.filter((x) => x.type === 'dossier.linked')) {
            const { code, service } = e.data as { code: string; service: string };
            const n = sent.length;
            const receivedAt = Date.parse(e.at);
            const dueAt = receivedAt + 3 * DAY_MS;
            const returnedAt =
              n % 5 === 4 ? null : service !== 'van-thu' && n % 3 === 0 ? dueAt + DAY_MS : dueAt - DAY_MS;
            sent.push({ service, dueAt, returnedAt });
            const body = JSON.stringify({
              procedure: '1.000894',
              service,
              receivedAt: new Date(receivedAt).toISOString(),
              dueAt: new Date(dueAt).toISOString(),
              returnedAt: returnedAt === null ? null : new Date(returnedAt).toISOString(),
              status: returnedAt === null ? 'processing' : 'returned',
            });
            const url = `/api/v1/dossiers/${code}`;
            const ts = String(Math.floor(Date.now() / 1000));
            const res = await cloud.app.inject({
              method: 'PUT',
              url,
              headers: {
                'content-type': 'application/json',
                'x-lobby-key': integration.keyId,
                'x-lobby-timestamp': ts,
                'x-lobby-signature': hmacHex(integration.secret, hmacPayload(ts, 'PUT', url, body)),
              },
              payload: body,
            });
            expect(res.statusCode, res.body).toBe(200);
          }
        }
        browser = await launchChromium();
      }, 120_000);
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
        // The first page drawn too: a page opened while it is still loading would be drawn twice, and the second
        // draw would pass for the next action's.
        await page.waitForSelector('body[data-ready=true]');
        return { page, failures };
      }

      it('logs in, shows the report with the API’s figures in its KPIs, tables and charts, the fleet and the audit log', async () => {
        const { page, failures } = await login('tinh');
        await page.fill('input[name=from]', DAY);
        await page.fill('input[name=to]', DAY);
        await page.fill('input[name=waitTargetMin]', '20');
        await page.selectOption('#unit', 'dn');
        await page.click('#report-form button[type=submit]');
        await page.waitForFunction((d) => document.body.dataset.reportLoaded === `dn ${d} ${d}`, DAY);
        expect(await page.textContent('#report-error')).toBe('');
        const token = await page.evaluate(() => sessionStorage.getItem('lobby-token'));
        const api = (await (
          await fetch(`${cloud.url}/api/v1/reports?unit=dn&from=${DAY}&to=${DAY}&waitTargetMin=20`, {
            headers: { authorization: `Bearer ${token}` },
          })
        ).json()) as Report;
        expect(api.totals.issued).toBe(160);
        // Counters and clerks: the first page of each, in the console's default order (by name).
        const apiPage = async <B extends 'counter' | 'clerk'>(by: B) =>
          (
            (await (
              await fetch(
                `${cloud.url}/api/v1/reports/rows?unit=dn&from=${DAY}&to=${DAY}&waitTargetMin=20&by=${by}&limit=50`,
                { headers: { authorization: `Bearer ${token}` } },
              )
            ).json()) as ReportPage<B>
          ).rows;
        const apiCounters = await apiPage('counter');
        const apiClerks = await apiPage('clerk');

        // The KPIs: each figure of the totals, to the digits shown; the on-time rate marked when ≤ 95%.
        const t = api.totals;
        const kpi = async (id: string) => shown(await page.textContent(`[data-kpi=${id}] .v`));
        expect({
          issued: await kpi('issued'),
          served: await kpi('served'),
          noShow: await kpi('noShow'),
          noShowMarks: await kpi('noShowMarks'),
          p50: await kpi('p50'),
          p90: await kpi('p90'),
          within: await kpi('within'),
          serviceMean: await kpi('serviceMean'),
          serviceFromCall: await kpi('serviceFromCall'),
          satisfaction: await kpi('satisfaction'),
          meanScore: await kpi('meanScore'),
          dossiers: await kpi('dossiers'),
          onTime: await kpi('onTime'),
        }).toEqual({
          issued: 160,
          served: t.served,
          noShow: t.noShow,
          noShowMarks: t.noShowMarks,
          p50: t.wait.p50AtMostMin,
          p90: t.wait.p90AtMostMin,
          within: rounded(t.wait.withinTargetPct, 1),
          serviceMean: rounded(t.serviceMeanMin, 1),
          serviceFromCall: rounded(t.serviceFromCallPct, 1),
          satisfaction: rounded(t.satisfaction.indexPct, 1),
          meanScore: rounded(t.satisfaction.meanScore, 1),
          dossiers: sent.length,
          onTime: rounded(t.dossiers.onTimeRate, 1),
        });
        // Percentiles from buckets say they are upper bounds; the satisfaction index says what it counts.
        expect(await page.textContent('[data-kpi=p90] .v')).toMatch(/^(≤ \d+|> 240)$/);
        expect(await page.textContent('[data-kpi=satisfaction] .k')).toBe(
          'Chỉ số hài lòng (% Hài lòng và Rất hài lòng)',
        );
        expect(await page.textContent('[data-kpi=serviceMean] .k')).toContain('gồm cả lúc đi tới quầy');
        expect(await page.textContent('[data-kpi=within] .k')).toBe('Được phục vụ trong 20 phút');
        expect(await page.getAttribute('[data-kpi=onTime]', 'class')).toBe(
          (t.dossiers.onTimeRate as number) <= 95 ? 'kpi bad' : 'kpi',
        );

        // The tables: one row per office, service, counter and clerk of the report, with its figures.
        const rows = (id: string) =>
          page.$$eval(`#${id} tbody tr`, (trs: DomRow[]) =>
            trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent as string)),
          );
        const figures = (cells: string[]) => cells.slice(2).map(shown);
        const byOffice = await rows('by-office');
        expect(byOffice.map((c) => [c[0], c[1], ...figures(c)])).toEqual(
          api.byOffice.map((x) => [x.office, x.name, ...rowFigures(x, 'office')]),
        );
        // Every office of the province, the one with no ticket that day too.
        expect(byOffice).toHaveLength(3);
        // The child units ranked (by name here), each with its subtree's figures.
        expect(
          (await rows('by-unit')).map((c) => [c[0], c[1], Number(c[2]), ...c.slice(3).map(shown)]),
        ).toEqual(api.byUnit.map((x) => [x.unit, x.name, x.offices, ...rowFigures(x, 'office')]));
        // Names, not ids: the service's, the office's.
        expect((await rows('by-service')).map((c) => [c[0], c[1], ...figures(c)])).toEqual(
          api.byService.map((x) => [x.service, x.name, ...rowFigures(x, 'service')]),
        );
        expect((await rows('by-counter')).map((c) => [c[0], Number(c[1]), ...figures(c)])).toEqual(
          apiCounters.map((x) => [x.officeName, x.counter, ...rowFigures(x, 'counter')]),
        );
        expect(apiCounters.every((x) => x.officeName.startsWith('Một cửa'))).toBe(true);
        const byClerk = await rows('by-clerk');
        expect(byClerk.map((c) => [c[0], c[1], ...figures(c)])).toEqual(
          apiClerks.map((x) => [x.officeName, x.name, ...rowFigures(x, 'counter')]),
        );
        // Each breakdown's head says what its first figures count.
        const head = (id: string) =>
          page.$$eval(`#${id} thead th`, (ths: { textContent: string | null }[]) =>
            ths.map((th) => th.textContent as string),
          );
        expect((await head('by-service')).slice(2, 4)).toEqual([
          'Cấp cho lĩnh vực',
          'Tiếp nhận (cấp + chuyển đến)',
        ]);
        expect((await head('by-counter'))[2]).toBe('Tiếp nhận tại quầy (phiếu được gọi)');
        expect((await head('by-clerk'))[2]).toBe('Tiếp nhận tại quầy (phiếu được gọi)');
        expect(byClerk).toHaveLength(8);

        // The three charts drawn by Chart.js, read back from the page.
        const charts = (await page.evaluate(() =>
          Object.fromEntries(
            ['chart-wait-hour', 'chart-clerk', 'chart-ontime'].map((id) => {
              const c = window.Chart.getChart(document.getElementById(id));
              return [
                id,
                c && {
                  labels: [...c.data.labels],
                  datasets: c.data.datasets.map((d: ChartDataset) => ({
                    label: d.label,
                    data: [...d.data],
                    color: d.backgroundColor ?? d.borderColor,
                  })),
                },
              ];
            }),
          ),
        )) as Record<
          string,
          { labels: string[]; datasets: { label: string; data: number[]; color: unknown }[] }
        >;
        expect(charts['chart-wait-hour']).toEqual({
          labels: api.byHour.map((h) => `${h.hour}h`),
          datasets: [
            {
              label: 'Trung vị (không quá)',
              data: api.byHour.map((h) => h.waitP50AtMostMin),
              color: '#60a5fa',
            },
            { label: 'P90 (không quá)', data: api.byHour.map((h) => h.waitP90AtMostMin), color: '#1d4ed8' },
          ],
        });
        expect(charts['chart-clerk']).toEqual({
          labels: apiClerks.map((c) => `${c.name} (${c.officeName})`),
          datasets: [
            {
              label: 'Chỉ số hài lòng (%)',
              data: apiClerks.map((c) => c.satisfaction.indexPct),
              color: '#10b981',
            },
          ],
        });
        // On time per service, straight from the dossiers the province sent: returned by the due date, of
        // those returned; green above the 95% target, red at or below it.
        const onTime = [...new Set(sent.map((d) => d.service))]
          .sort()
          .map((service) => {
            const returned = sent.filter((d) => d.service === service && d.returnedAt !== null);
            const ok = returned.filter((d) => (d.returnedAt as number) <= d.dueAt).length;
            return { service, returned: returned.length, rate: (ok * 100) / returned.length };
          })
          .filter((s) => s.returned > 0);
        expect(onTime.some((s) => s.rate > 95) && onTime.some((s) => s.rate <= 95)).toBe(true);
        const ontime = charts['chart-ontime'] as (typeof charts)[string];
        expect(ontime.labels).toEqual(
          onTime.map((s) => api.byService.find((x) => x.service === s.service)?.name),
        );
        expect(ontime.datasets.map((d) => d.label)).toEqual(['Đúng hạn (%)', 'Mục tiêu 95%']);
        expect(ontime.datasets[0]?.data.map((v) => rounded(v, 6))).toEqual(
          onTime.map((s) => rounded(s.rate, 6)),
        );
        expect(ontime.datasets[0]?.color).toEqual(onTime.map((s) => (s.rate > 95 ? '#10b981' : '#ef4444')));
        expect(ontime.datasets[1]?.data).toEqual(onTime.map(() => 95));
        // And the API's figures for it are the same.
        expect(
          api.byService.filter((s) => s.dossiers.returned > 0).map((s) => rounded(s.dossiers.onTimeRate, 6)),
        ).toEqual(onTime.map((s) => rounded(s.rate, 6)));
        await page.screenshot({
          path: join(tmpdir(), `lobby-console-report-${kind.name}.png`),
          fullPage: true,
        });

        // The fleet pages (test/cloud/console-fleet.test.ts walks them); the audit log with its actions named.
        await page.click('header nav [data-tab=fleet]');
        await page.waitForSelector('#fleet-page h1');
        expect(await page.textContent('#fleet-page h1')).toContain('Thành phố Đà Nẵng');
        await page.click('header nav [data-tab=audit]');
        await page.waitForSelector('#audit tbody tr');
        expect(await page.textContent('#audit')).toContain('Xem báo cáo');
        expect(await page.textContent('#audit')).not.toContain('report.viewed');
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
}
