// The console's fleet pages in Debian's Chromium at 1440×900, against a real cloud on PostgreSQL (SQLite
// without it) with seeded units, offices, twins, heartbeats and incidents. An admin walks the unit tree down
// to an office, sees the up/down counts change when a box stops sending heartbeats, sees which fields are
// inherited and which are overridden, saves an override and sees the new desired version, gets the field error
// of an invalid value and the 409 of a stale one, sees which device failed most this month, creates an alert
// rule and follows its webhook deliveries. A viewer sees the same pages without a way to change them. axe-core
// finds no critical or serious violation on any page. Time is the cloud's clock: minutes pass without waiting
// for them.
// Skips, saying so, where Chromium is not installed, except in CI where that fails (test/web/support.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { fleetHealthOf } from '../../cloud/health/fleet-health.js';
import type { CloudService } from '../../cloud/service.js';
import type { Heartbeat, PeripheralHealth } from '../../protocol/index.js';
import type { BoxTarget } from '../../protocol/fleet.js';
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
import { receiver } from './webhook-receiver.js';

const HAVE_CHROMIUM = chromiumPresent();
const MIN = 60_000;

// What the page functions below touch (they run in the browser; the project compiles without the DOM lib).
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const document: any;
declare const window: any;
/* eslint-enable @typescript-eslint/no-explicit-any */

const peripheral = (id: string, role: string, over: Partial<PeripheralHealth> = {}): PeripheralHealth => ({
  id,
  role,
  online: true,
  status: { ts: new Date().toISOString(), ok: true },
  ...over,
});
const kiosk = (printer: 'ready' | 'paper_out'): PeripheralHealth =>
  peripheral('kiosk-1', 'kiosk', {
    status: {
      ts: new Date().toISOString(),
      ok: printer === 'ready',
      printer: { state: printer, canPrint: printer === 'ready' },
    },
  });

for (const kind of browserDatabase('postgres')) {
  const skip = !HAVE_CHROMIUM || !kind.available;
  describe.skipIf(skip)(
    `console: the fleet pages in Chromium (${kind.title})${HAVE_CHROMIUM ? '' : ' (SKIPPED: no /usr/bin/chromium)'}`,
    { timeout: 180_000 },
    () => {
      let db: TestDatabase;
      let cloud: CloudService;
      let browser: Browser;
      // At least an hour into this month on the province's clock: the incidents seeded half an hour back must fall
      // inside the console's "this month" (which starts on the 1st at 00:00 in Asia/Ho_Chi_Minh).
      const vn = new Date(Date.now() + 7 * 3_600_000);
      let now = Math.max(
        Date.now(),
        Date.UTC(vn.getUTCFullYear(), vn.getUTCMonth(), 1) - 7 * 3_600_000 + 3_600_000,
      );
      const passwords: Record<string, string> = {};
      const boxes: Record<string, { boxId: string; token: string }> = {};
      let hook: Awaited<ReturnType<typeof receiver>>;

      const inject = (token: string, method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown) =>
        bearerRequest(cloud, token, method, url, payload);
      const heartbeat = (office: string, peripherals: PeripheralHealth[]): Heartbeat => ({
        at: new Date(now).toISOString(),
        version: '1.4.0',
        node: process.version,
        officeId: office,
        day: new Date(now).toISOString().slice(0, 10),
        lastSeq: 0,
        backlog: { events: 3, oldestAt: null, freeDiskBytes: 20 * 1024 ** 3, alarm: false },
        peripherals,
      });
      const beat = async (office: string, peripherals: PeripheralHealth[]) => {
        const r = await inject(
          boxes[office]!.token,
          'POST',
          '/api/v1/uplink/heartbeat',
          heartbeat(office, peripherals),
        );
        expect(r.status, JSON.stringify(r.body)).toBe(200);
      };
      /** One round of heartbeats from every box still running; o-hhb's stops when `silent`. */
      const round = async (silent: string[] = []) => {
        for (const office of ['o-hkb', 'o-hhb', 'o-hc'].filter((o) => !silent.includes(o)))
          await beat(office, [kiosk('ready'), peripheral('led-1', 'ledboard')]);
      };
      const target = async (office: string) => {
        const res = await fetch(`${cloud.url}/api/v1/box/target?version=0`, {
          headers: { authorization: `Bearer ${boxes[office]!.token}` },
        });
        return (await res.json()) as BoxTarget;
      };

      beforeAll(async () => {
        db = kind.create();
        cloud = await startTestCloud(db, {
          clock: () => now,
          settings: {
            loginsPerMinute: 50,
            fleetHealth: {
              webhookAllowHttpLocalhost: true,
              webhookRetryDelayMs: 1000,
              sweepIntervalMs: 3_600_000,
            },
          },
        });
        await seedTree(cloud);
        Object.assign(
          passwords,
          await consoleUsers(cloud, [
            ['tinh', 'dn', 'admin'],
            ['xem-tinh', 'dn', 'viewer'],
            ['qt-hc', 'hc', 'admin'],
          ]),
        );
        for (const office of ['o-hkb', 'o-hhb', 'o-hc']) boxes[office] = await enrolledBox(cloud, office);
        hook = await receiver();

        // The twin: a province template, o-hkb's overrides (applied by its box), o-hc managed but rejected.
        const login = await cloud.app.inject({
          method: 'POST',
          url: '/api/v1/auth/login',
          payload: { username: 'tinh', password: passwords.tinh },
        });
        const admin = login.json<{ token: string }>().token;
        expect(
          (await inject(admin, 'PUT', '/api/v1/fleet/units/dn/template', { template: PROVINCE_TEMPLATE }))
            .status,
        ).toBe(200);
        expect(
          (await inject(admin, 'PUT', '/api/v1/fleet/offices/o-hkb/config', { overrides: HKB_OVERRIDES }))
            .status,
        ).toBe(200);
        expect(
          (await inject(admin, 'PUT', '/api/v1/fleet/offices/o-hc/config', { overrides: {} })).status,
        ).toBe(200);
        const hkb = await target('o-hkb');
        const report = (office: string, body: object) =>
          inject(boxes[office]!.token, 'POST', '/api/v1/box/reported', {
            at: new Date(now).toISOString(),
            ...body,
          });
        expect(
          (await report('o-hkb', { version: hkb.version, state: 'applied', hash: hkb.hash })).status,
        ).toBe(200);
        const hc = await target('o-hc');
        expect(
          (
            await report('o-hc', {
              version: hc.version,
              state: 'rejected',
              hash: hc.hash,
              errors: [{ path: 'peripherals[0].counter', message: 'counter 3 does not exist' }],
            })
          ).status,
        ).toBe(200);

        // Health: every box beats each minute; o-hkb's kiosk was out of paper for 20 minutes of the last 25.
        now -= 25 * MIN;
        for (let i = 0; i < 25; i++) {
          await round(['o-hkb']);
          await beat('o-hkb', [
            kiosk(i >= 1 && i < 21 ? 'paper_out' : 'ready'),
            peripheral('led-1', 'ledboard'),
          ]);
          now += MIN;
        }
        await round();
        browser = await launchChromium();
      }, 120_000);
      afterAll(async () => {
        await hook?.close();
        await closeConsoleSuite({ browser, cloud, db });
      });

      const login = (username: string) =>
        consoleLogin(browser, cloud.url, username, passwords[username] as string);
      const open = openPage;

      const treeCounts = (page: Page, unit: string) =>
        page.$eval(`#unit-tree a[data-unit=${unit}]`, (a: { dataset: Record<string, string> }) => ({
          up: Number(a.dataset.up),
          down: Number(a.dataset.down),
        }));

      it('an admin walks the tree down to an office, and sees the counts change when a box falls silent', async () => {
        const { page, failures } = await login('tinh');
        await clickAndWait(page, 'header nav [data-tab=fleet]');
        expect(await page.textContent('#fleet-page h1')).toContain('Thành phố Đà Nẵng');
        expect(await treeCounts(page, 'dn')).toEqual({ up: 3, down: 0 });
        expect(await treeCounts(page, 'lc')).toEqual({ up: 2, down: 0 });
        await accessible(page);

        // Province → district → commune → office, by the links a person clicks.
        await clickAndWait(page, '#unit-tree a[data-unit=lc]');
        expect(await page.locator('#unit-children tbody tr').count()).toBe(2);
        await clickAndWait(page, '#unit-children a[href="#/fleet/unit/hkb"]');
        expect(await page.textContent('#unit-offices')).toContain('Một cửa Hòa Khánh Bắc');
        expect(await page.textContent('#unit-offices')).toContain('Đang hoạt động');
        await clickAndWait(page, '#unit-offices a[data-office=o-hkb]');
        expect(await page.textContent('#fleet-page h1')).toBe('Một cửa Hòa Khánh Bắc');
        const box = page.locator(`article.box[data-box="${boxes['o-hkb']!.boxId}"]`);
        expect(await box.textContent()).toContain('Trực tuyến từ');
        expect(await box.textContent()).toContain('1.4.0');
        expect(await box.locator('.peripherals').textContent()).toContain('Ki-ốt lấy số');
        expect(await box.locator('.peripherals').textContent()).toContain('Bảng LED');
        // The paper-out incident, with its 20 minutes, in the office's history; times on the office's clock.
        const history = await page.textContent('.incident-history');
        expect(history).toContain('Máy in hết giấy');
        expect(history).toContain('20 phút');
        const started = new Intl.DateTimeFormat('vi-VN', {
          timeZone: 'Asia/Ho_Chi_Minh',
          hourCycle: 'h23',
          hour: '2-digit',
          minute: '2-digit',
        }).format(new Date(now - 24 * MIN));
        expect(history).toContain(started);
        expect(await page.locator('section[data-panel=commands]').count()).toBe(1);
        expect(await page.locator('section[data-panel=peripherals]').count()).toBe(1);
        await accessible(page);
        await screenshot(page, 'console-office', true);

        // o-hhb's box stops; four minutes later the tree says so.
        now += 4 * MIN;
        await round(['o-hhb']);
        await clickAndWait(page, '#fleet-refresh');
        expect(await treeCounts(page, 'dn')).toEqual({ up: 2, down: 1 });
        expect(await treeCounts(page, 'lc')).toEqual({ up: 1, down: 1 });
        expect(await treeCounts(page, 'hhb')).toEqual({ up: 0, down: 1 });
        await open(page, '#/fleet/unit/hhb');
        expect(await page.textContent('#unit-offices')).toContain('Mất kết nối');
        await open(page, '#/fleet/unit/dn');
        await screenshot(page, 'console-fleet', true);
        expect(failures).toEqual([]);
        await page.close();
      });

      it('the twin: inherited and overridden fields, an override saved to a new desired version, a field error, a stale save', async () => {
        const { page, failures } = await login('tinh');
        await open(page, '#/fleet/office/o-hkb');
        const twin = page.locator(`.twin[data-box="${boxes['o-hkb']!.boxId}"]`);
        expect(await twin.getAttribute('data-status')).toBe('in_sync');
        expect(await twin.textContent()).toContain('Đã đồng bộ');
        expect(await twin.locator('[data-desired]').getAttribute('data-desired')).toBe('1');
        expect(await twin.locator('[data-applied]').getAttribute('data-applied')).toBe('1');
        const field = (path: string) => page.locator(`#config-fields tr[data-path="${path}"]`);
        expect(await field('office.name').getAttribute('data-source')).toBe('overridden');
        expect(await field('office.name').textContent()).toContain('Ghi đè tại bộ phận');
        expect(await field('services').getAttribute('data-source')).toBe('inherited');
        expect(await field('services').textContent()).toContain('Kế thừa từ mẫu của Thành phố Đà Nẵng');
        expect(await field('office.sessions').textContent()).toContain(
          'Kế thừa từ mẫu của Thành phố Đà Nẵng',
        );

        // Rename the office at the office: a new desired version for its box, pending until the box applies it.
        const edited = { ...HKB_OVERRIDES, office: { name: 'Bộ phận một cửa Hòa Khánh Bắc (mới)' } };
        await page.fill('#overrides-editor-text', JSON.stringify(edited, null, 2));
        await clickAndWait(page, '#overrides-editor .save');
        await page.waitForSelector('#overrides-editor-msg.ok');
        expect(await page.textContent('#overrides-editor-msg')).toContain('phiên bản 2');
        expect(await twin.locator('[data-desired]').getAttribute('data-desired')).toBe('2');
        expect(await twin.getAttribute('data-status')).toBe('pending');
        expect(await field('office.name').textContent()).toContain('(mới)');
        expect(((await target('o-hkb')).config as { office: { name: string } }).office.name).toBe(
          'Bộ phận một cửa Hòa Khánh Bắc (mới)',
        );

        // A counter serving a service nobody defined: refused with its field, nothing saved.
        await page.fill(
          '#overrides-editor-text',
          JSON.stringify({ counters: [{ number: 1, services: ['xay-dung'] }] }, null, 2),
        );
        await page.click('#overrides-editor .save');
        await page.waitForSelector('#overrides-editor-msg.error .field-errors li');
        expect(await page.textContent('#overrides-editor-msg')).toContain(
          'Cấu hình không hợp lệ, chưa lưu gì',
        );
        expect(await page.getAttribute('#overrides-editor-msg .field-errors li', 'data-path')).toMatch(
          /^counters/,
        );
        await accessible(page);
        await screenshot(page, 'console-twin', true);

        // A colleague saves meanwhile: this editor's revision is stale, and says so.
        await open(page, '#/fleet/office/o-hkb');
        const token = await page.evaluate(() => window.sessionStorage.getItem('lobby-token'));
        expect(
          (await inject(token, 'PUT', '/api/v1/fleet/offices/o-hkb/config', { overrides: HKB_OVERRIDES }))
            .status,
        ).toBe(200);
        await page.fill('#overrides-editor-text', JSON.stringify(edited));
        await page.click('#overrides-editor .save');
        await page.waitForSelector('#overrides-editor-msg.error');
        expect(await page.textContent('#overrides-editor-msg')).toContain('Người khác vừa lưu bản này');
        expect(await page.locator('#overrides-editor-msg .reload-now').count()).toBe(1);

        // The rejected box of o-hc: its field errors and the office keeping its last good config.
        await open(page, '#/fleet/office/o-hc');
        const rejected = page.locator(`.twin[data-box="${boxes['o-hc']!.boxId}"]`);
        expect(await rejected.getAttribute('data-status')).toBe('rejected');
        expect(await rejected.textContent()).toContain('peripherals[0].counter');
        // The province's template: a change that would break an office is refused, naming the office by its name
        // and the field; o-hkb overrides the counters, so only o-hc (which inherits them) breaks.
        await open(page, '#/fleet/unit/dn');
        expect(await page.inputValue('#template-editor-text')).toContain('"ho-tich"');
        await page.fill(
          '#template-editor-text',
          JSON.stringify({ ...PROVINCE_TEMPLATE, counters: [{ number: 1, services: ['xay-dung'] }] }),
        );
        await page.click('#template-editor .save');
        await page.waitForSelector('#template-editor-msg.error [data-office]');
        expect(await page.getAttribute('#template-editor-msg [data-office]', 'data-office')).toBe('o-hc');
        expect(await page.textContent('#template-editor-msg')).toContain('Bộ phận Một cửa Hải Châu');
        expect(await page.getAttribute('#template-editor-msg .field-errors li', 'data-path')).toMatch(
          /^counters/,
        );
        expect(failures).toEqual([]);
        await page.close();
      });

      it('incidents: the unit history and the device that failed most this month', async () => {
        const { page, failures } = await login('tinh');
        // The sweep notices o-hhb's silent box (an incident from its last heartbeat, minutes ago).
        now += 4 * MIN;
        await round(['o-hhb']);
        await fleetHealthOf(cloud.ctx)!.sweep();
        await open(page, '#/incidents/dn');
        const rows = page.locator('#ranking tbody tr');
        // The kiosk's 20 minutes without paper come first; the silent box after it.
        expect(await rows.nth(0).textContent()).toContain('Ki-ốt lấy số kiosk-1');
        expect(await rows.nth(0).textContent()).toContain('Một cửa Hòa Khánh Bắc');
        expect(await rows.nth(0).textContent()).toContain('20 phút');
        expect(await rows.nth(1).textContent()).toContain('Hộp điều khiển');
        expect(await rows.nth(1).textContent()).toContain('Một cửa Hòa Hiệp Bắc');
        expect(await page.textContent('#unit-incidents')).toContain('Máy in hết giấy');
        await accessible(page);
        await screenshot(page, 'console-incidents', true);
        expect(failures).toEqual([]);
        await page.close();
      });

      it('alerts: an admin creates a rule with a webhook, the alert opens and its delivery is recorded', async () => {
        const { page, failures } = await login('tinh');
        await open(page, '#/alerts/dn');
        await page.selectOption('#rule-form select[name=unitId]', 'lc');
        await page.selectOption('#rule-kind', 'box_offline');
        await page.fill('#rule-form input[name=threshold]', '3');
        await page.fill('#rule-form input[name=webhookUrl]', hook.url);
        await clickAndWait(page, '#rule-form button[type=submit]');
        await page.waitForSelector('#rule-msg.ok');
        expect(await page.textContent('#rule-msg')).toContain(
          'Đã tạo quy tắc “Hộp mất kết nối quá ngưỡng: 3 phút”',
        );
        const secret = (await page.textContent('#webhook-secret')) as string;
        expect(secret).toMatch(/^whsec_/);
        hook.setSecret(secret);
        expect(await page.textContent('#rules')).toContain(hook.url);

        // o-hhb's box has been silent for more than 3 minutes: the sweep opens the alert, the webhook gets it.
        now += 4 * MIN;
        await round(['o-hhb']);
        await fleetHealthOf(cloud.ctx)!.sweep();
        await open(page, '#/alerts/dn');
        expect(await page.textContent('#open-alerts')).toContain('Một cửa Hòa Hiệp Bắc');
        const t0 = Date.now();
        while (!hook.got.some((g) => g.valid)) {
          if (Date.now() - t0 > 20_000) throw new Error('the webhook never arrived');
          await new Promise((r) => setTimeout(r, 100));
        }
        await page.click('#open-alerts button.deliveries');
        await page.waitForSelector('#delivery-list');
        await page.waitForFunction(() =>
          document.querySelector('#delivery-list')?.textContent.includes('Đã gửi'),
        );
        expect(await page.textContent('#delivery-list')).toContain('HTTP 204');
        await screenshot(page, 'console-alerts', true);

        // Disable it, then change its threshold.
        await clickAndWait(page, '#rules tr[data-kind=box_offline] .toggle');
        await page.waitForSelector('#rule-msg.ok');
        expect(await page.getAttribute('#rules tr[data-kind=box_offline]', 'data-enabled')).toBe('false');
        await page.fill('#rules tr[data-kind=box_offline] input[name=threshold]', '10');
        await clickAndWait(page, '#rules tr[data-kind=box_offline] .threshold-form button');
        expect(await page.textContent('#rules')).toContain('Hộp mất kết nối quá ngưỡng: 10 phút');
        await accessible(page);
        expect(failures).toEqual([]);
        await page.close();
      });

      it('a viewer sees every fleet page but has no way to change anything, and the API refuses anyway', async () => {
        const { page, failures } = await login('xem-tinh');
        expect(await page.isHidden('header nav [data-tab=audit]')).toBe(true);
        await open(page, '#/fleet/office/o-hkb');
        expect(await page.locator('#overrides-editor .save').count()).toBe(0);
        expect(await page.getAttribute('#overrides-editor-text', 'readonly')).not.toBeNull();
        expect(await page.textContent('#overrides-editor')).toContain('Tài khoản chỉ xem');
        await open(page, '#/fleet/unit/dn');
        expect(await page.locator('#template-editor .save').count()).toBe(0);
        await open(page, '#/alerts/dn');
        expect(await page.locator('#rule-form').count()).toBe(0);
        expect(await page.locator('#rules .toggle').count()).toBe(0);
        await accessible(page);
        const token = await page.evaluate(() => window.sessionStorage.getItem('lobby-token'));
        const refused = await inject(token, 'PUT', '/api/v1/fleet/offices/o-hkb/config', { overrides: {} });
        expect(refused.status).toBe(403);
        expect(
          (await inject(token, 'POST', '/api/v1/alert-rules', { unitId: 'dn', kind: 'config_rejected' }))
            .status,
        ).toBe(403);
        // The offices of a unit: what the unit page lists; outside an admin's own subtree, refused.
        const offices = await inject(token, 'GET', '/api/v1/health/offices?unit=hkb');
        expect(offices.body).toMatchObject({
          unitId: 'hkb',
          offices: [{ id: 'o-hkb', name: 'Một cửa Hòa Khánh Bắc', timezone: 'Asia/Ho_Chi_Minh', boxes: 1 }],
          truncated: false,
        });
        const commune = await cloud.app.inject({
          method: 'POST',
          url: '/api/v1/auth/login',
          payload: { username: 'qt-hc', password: passwords['qt-hc'] },
        });
        const hc = commune.json<{ token: string }>().token;
        expect((await inject(hc, 'GET', '/api/v1/health/offices?unit=lc')).status).toBe(403);
        const own = await inject(hc, 'GET', '/api/v1/health/offices');
        expect(own.body.offices.map((o: { id: string }) => o.id)).toEqual(['o-hc']);
        expect(failures).toEqual([]);
        await page.close();
      });
    },
  );
}
