// The citizen's phone in Debian's Chromium at 390×844 (issue 14): the ticket page turns to "Đến lượt bạn" with
// a new title when the number is called, without reloading; the wait page's counts are the box's and follow it;
// the poster carries the QR code; the rating is given once and refused twice. axe-core on each: no critical or
// serious violation. Screenshots for docs/screens with SCREENSHOTS=1.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { officeDay } from '../../cloud/citizen/live.js';
import type { CloudService } from '../../cloud/service.js';
import { accessibility, chromiumPresent, launchChromium } from '../web/support.js';
import { accessible } from './console-browser.js';
import { ticketKey } from '../../protocol/secrets.js';
import { CONFIG, Events, LAN, configureOffice, heartbeat, uplink } from './citizen-fixtures.js';
import { browserDatabase, enrolledBox, seedTree, startTestCloud, type TestDatabase } from './helpers.js';

// What the page functions below touch (they run in the browser; the project compiles without the DOM lib).
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const document: any;
declare const window: any;
/* eslint-enable @typescript-eslint/no-explicit-any */

const PHONE = { width: 390, height: 844 };

/**
 * axe-core (no critical or serious violation) and the screens' own bar: targets of 44 px each way, no text
 * under 16 px, one h1 and a main landmark.
 */
async function checked(page: Page): Promise<void> {
  await accessible(page);
  expect(await accessibility(page)).toEqual({ violations: [], small: [], tiny: [], structure: [] });
}

async function screenshot(page: Page, name: string): Promise<void> {
  if (!process.env.SCREENSHOTS) return;
  await page.screenshot({
    path: join(import.meta.dirname, '../../docs/screens', `${name}.png`),
    fullPage: true,
  });
}

const [kind] = browserDatabase('sqlite');
describe.skipIf(!kind?.available || !chromiumPresent())("the citizen's phone in a browser", () => {
  let db: TestDatabase;
  let cloud: CloudService;
  let browser: Browser;
  let token: string;
  const day = officeDay(Date.now(), 'Asia/Ho_Chi_Minh');
  const e = new Events(day);
  const t0 = Date.now() - 30 * 60_000;
  const m = 60_000;
  const SECRET = 'the-box-ticket-key-secret-made-at-its-first-start';
  /** The ticket's page as its QR code opens it: with its key after `#`. */
  const qrPath = (number: string) =>
    `/t/o-hkb/${day}/${number}#k=${ticketKey(SECRET, 'o-hkb', `${day}/${number}`)}`;

  beforeAll(async () => {
    db = kind!.create();
    cloud = await startTestCloud(db, {
      settings: { citizenPollSeconds: 1, publicLookupsPerMinute: 1000 },
    });
    await seedTree(cloud);
    // No rating tablet at counter 1: its citizens rate from the phone.
    await configureOffice(cloud, { ...CONFIG, peripherals: [] });
    token = (await enrolledBox(cloud, 'o-hkb')).token;
    await uplink(cloud, token, [
      e.issued(t0, 'A001', 'van-thu'),
      e.issued(t0 + m, 'A002', 'van-thu'),
      e.issued(t0 + 2 * m, 'A003', 'van-thu'),
      e.issued(t0 + 3 * m, 'A004', 'van-thu'),
      e.issued(t0 + 3 * m, 'A005', 'van-thu'),
      e.issued(t0 + 4 * m, 'A006', 'van-thu'),
      e.issued(t0 + 4 * m, 'B001', 'ho-tich'),
      e.issued(t0 + 5 * m, 'B002', 'ho-tich'),
      e.called(t0 + 6 * m, 'A001', 'van-thu', 1, LAN),
    ]);
    await heartbeat(cloud, token, SECRET);
    browser = await launchChromium();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    const closing = cloud?.close();
    cloud?.app.server.closeAllConnections();
    await closing;
    await db?.cleanup();
  });

  async function phonePage(path: string): Promise<{ page: Page; failures: string[] }> {
    const page = await browser.newPage({
      viewport: PHONE,
      deviceScaleFactor: 1,
      isMobile: true,
      hasTouch: true,
    });
    const failures: string[] = [];
    page.on('pageerror', (err) => failures.push(err.message));
    page.on('console', (msg) => {
      if (msg.type() === 'error') failures.push(msg.text());
    });
    await page.goto(`${cloud.url}${path}`);
    // A mark that a reload would wipe.
    await page.evaluate(() => {
      window.sameLoad = true;
    });
    return { page, failures };
  }
  const updates = (page: Page) => page.evaluate(() => Number(document.body.dataset.updates ?? 0));
  const nextUpdate = async (page: Page) => {
    const n = await updates(page);
    await page.waitForFunction((k) => Number(document.body.dataset.updates ?? 0) > k, n, { timeout: 10_000 });
  };

  it('the ticket page says the turn is near, then "Đến lượt bạn" with its title, without reloading', async () => {
    const { page, failures } = await phonePage(qrPath('A006'));
    expect(await page.textContent('h1')).toBe('Số A006');
    expect(await page.textContent('#state')).toBe('Đang chờ');
    expect(await page.textContent('#ahead')).toBe('4');
    expect(await page.textContent('#serving')).toBe('A001 (Quầy 1)');
    expect(await page.textContent('#fresh')).toMatch(
      /^Số liệu của bộ phận lúc \d\d:\d\d \(\d+ (giây|phút) trước\)/,
    );
    expect(await page.$('meta[http-equiv=refresh]')).toBeNull();
    await checked(page);
    await screenshot(page, 'phone-ticket');
    // Sound and vibration once the citizen allows them (a browser refuses both to an untouched page).
    await page.click('#alerts');
    expect(await page.getAttribute('#alerts', 'aria-pressed')).toBe('true');

    // A002 and A003 are called: two left before A006 (TICKET_NEAR_AHEAD is 3), the turn is near.
    await uplink(cloud, token, [
      e.finished(Date.now() - 3 * m, 'A001', 'van-thu', 1, LAN),
      e.called(Date.now() - 3 * m, 'A002', 'van-thu', 1, LAN),
      e.finished(Date.now() - 2 * m, 'A002', 'van-thu', 1, LAN),
      e.called(Date.now() - 2 * m, 'A003', 'van-thu', 1, LAN),
    ]);
    await page.waitForFunction(() => document.getElementById('ahead')?.textContent === '2', null, {
      timeout: 10_000,
    });
    expect(await page.textContent('#state')).toBe('Sắp đến lượt bạn — hãy có mặt gần quầy');
    expect(await page.title()).toBe('Sắp đến lượt bạn · A006');
    expect(await page.evaluate(() => document.body.dataset.alerted)).toBe('near');
    expect(await page.textContent('#serving')).toBe('A003 (Quầy 1)');

    // Called (by number, before A004 and A005): the page and the title say so, and it is still the same page.
    await uplink(cloud, token, [
      e.finished(Date.now() - m, 'A003', 'van-thu', 1, LAN),
      e.called(Date.now() - m, 'A006', 'van-thu', 1, LAN),
    ]);
    await page.waitForFunction(() => document.getElementById('ticket')?.dataset.state === 'called', null, {
      timeout: 10_000,
    });
    expect(await page.textContent('#state')).toBe('Đến lượt bạn — mời đến Quầy 1');
    expect(await page.title()).toBe('🔔 Đến lượt bạn — mời đến Quầy 1 · A006');
    expect(await page.evaluate(() => document.body.dataset.alerted)).toBe('called');
    expect(await page.evaluate(() => window.sameLoad)).toBe(true);
    expect(await page.isHidden('#ahead-line')).toBe(true);
    await checked(page);
    await screenshot(page, 'phone-ticket-called');

    // Served: the rating is offered on the same page; one tap, thanks, and a second one is refused.
    await uplink(cloud, token, [e.finished(Date.now(), 'A006', 'van-thu', 1, LAN)]);
    await page.waitForSelector('#rating-buttons:not([hidden])', { timeout: 10_000 });
    expect(await page.textContent('#state')).toBe('Đã hoàn thành');
    const labels = await page.$$eval('#rating-buttons button', (bs: { textContent: string }[]) =>
      bs.map((b) => b.textContent),
    );
    expect(labels).toEqual(['Rất hài lòng', 'Hài lòng', 'Bình thường', 'Không hài lòng']);
    await checked(page);
    await screenshot(page, 'phone-rating');
    await page.click('#rating-buttons button[data-score="4"]');
    await page.waitForFunction(() => document.getElementById('rating-result')?.textContent !== '');
    expect(await page.textContent('#rating-result')).toBe('Cảm ơn quý khách đã đánh giá.');
    expect(await page.isHidden('#rating-buttons')).toBe(true);
    expect(await page.evaluate(() => window.sameLoad)).toBe(true);
    // The same ticket again (another tab, or the back button): it says the visit was rated.
    const again = await phonePage(qrPath('A006'));
    expect(await again.page.isHidden('#rating-buttons')).toBe(true);
    expect(await again.page.textContent('#rating-result')).toBe(
      'Số này đã được đánh giá. Mỗi lượt chỉ đánh giá một lần.',
    );
    const refused = await again.page.evaluate(
      async ([url, key]: string[]) => {
        const r = await window.fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ score: 1, key }),
        });
        return [r.status, (await r.json()).code];
      },
      [`/api/v1/public/tickets/o-hkb/${day}/A006/rating`, ticketKey(SECRET, 'o-hkb', `${day}/A006`)],
    );
    expect(refused).toEqual([409, 'already_rated']);
    expect(failures.filter((f) => !f.includes('409'))).toEqual([]);
    await page.close();
    await again.page.close();
  }, 90_000);

  it('a served ticket opened by its address alone (no key from the QR code) asks for no rating', async () => {
    await uplink(cloud, token, [
      e.called(Date.now(), 'A004', 'van-thu', 1, LAN),
      e.finished(Date.now(), 'A004', 'van-thu', 1, LAN),
    ]);
    const { page, failures } = await phonePage(`/t/o-hkb/${day}/A004`);
    expect(await page.textContent('#state')).toBe('Đã hoàn thành');
    expect(await page.isHidden('#rating-buttons')).toBe(true);
    expect(await page.textContent('#rating-result')).toBe(
      'Để đánh giá, hãy mở trang này bằng mã QR trên phiếu của bạn.',
    );
    expect(failures).toEqual([]);
    await page.close();
  });

  it('in English with ?lang=en', async () => {
    const { page, failures } = await phonePage(`/t/o-hkb/${day}/A005?lang=en`);
    expect(await page.getAttribute('html', 'lang')).toBe('en');
    expect(await page.textContent('h1')).toBe('Number A005');
    expect(await page.textContent('#state')).toBe('Your turn is near — please come to the counters');
    expect(await page.title()).toBe('Your turn is near · A005');
    expect(await page.textContent('#alerts')).toBe('Sound and vibrate at my turn');
    await nextUpdate(page);
    expect(await page.textContent('#fresh')).toMatch(/^Office figures as of/);
    expect(await page.getAttribute('nav a', 'href')).toBe('/w/o-hkb?lang=en');
    await checked(page);
    expect(failures).toEqual([]);
    await page.close();
  });

  it("the wait page's counts are the box's, and follow it without reloading", async () => {
    const { page, failures } = await phonePage('/w/o-hkb');
    const api = (await (await fetch(`${cloud.url}/api/v1/public/offices/o-hkb/wait`)).json()) as {
      services: { service: string; waiting: number }[];
    };
    const shown = async () =>
      page.$$eval(
        '.services li',
        (lis: { dataset: { service: string }; querySelector(s: string): { textContent: string } }[]) =>
          lis.map((li) => ({
            service: li.dataset.service,
            name: li.querySelector('h2').textContent,
            waiting: li.querySelector('.waiting').textContent,
          })),
      );
    // A001 to A004 and A006 were called: A005 waits; B001 and B002 too.
    expect(api.services.map((s) => [s.service, s.waiting])).toEqual([
      ['van-thu', 1],
      ['ho-tich', 2],
    ]);
    expect(await shown()).toEqual([
      { service: 'van-thu', name: 'Văn thư', waiting: '1 người' },
      { service: 'ho-tich', name: 'Chứng thực, hộ tịch', waiting: '2 người' },
    ]);
    await checked(page);
    await screenshot(page, 'phone-wait');
    await uplink(cloud, token, [e.called(Date.now(), 'B001', 'ho-tich', 2, LAN)]);
    await page.waitForFunction(
      () => document.querySelector('[data-service="ho-tich"] .waiting')?.textContent === '1 người',
      null,
      { timeout: 10_000 },
    );
    expect(await page.textContent('[data-service="ho-tich"] .serving')).toBe('B001 (Quầy 2)');
    expect(await page.evaluate(() => window.sameLoad)).toBe(true);
    expect(failures).toEqual([]);
    await page.close();
  });

  it('the poster prints the QR code of the wait page', async () => {
    const { page, failures } = await phonePage('/w/o-hkb/poster');
    expect(await page.textContent('h1')).toBe('Xem số người đang chờ');
    expect(await page.textContent('.url')).toBe(`${cloud.url}/w/o-hkb`);
    const box = await page.$eval('.qr svg', (s: { getBoundingClientRect(): { width: number } }) =>
      s.getBoundingClientRect(),
    );
    expect(box.width).toBeGreaterThan(250);
    await checked(page);
    await screenshot(page, 'phone-poster');
    expect(failures).toEqual([]);
    await page.close();
  });
});
