// The four screens and the admin page in Chromium against a real box: the walk-through, recovery after a
// box restart, revocation, and the admin page's password and one-time pairing codes.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../support/office.js';
import {
  chromiumPresent,
  launchChromium,
  pairedPage,
  screenshot,
  startWebBox,
  type WebBox,
} from './support.js';

const TV = { width: 1920, height: 1080 };
const KIOSK = { width: 1080, height: 1920 };
const TABLET = { width: 1024, height: 600 };
const DESKTOP = { width: 1366, height: 768 };

describe.skipIf(!chromiumPresent())('screens in Chromium', () => {
  let browser: Browser;
  const boxes: WebBox[] = [];

  beforeAll(async () => {
    browser = await launchChromium();
    if (process.env.SCREENSHOTS)
      mkdirSync(join(import.meta.dirname, '../../docs/screens'), { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
    for (const b of boxes) await b.close().catch(() => undefined);
  });

  it('walk-through: kiosk ticket, clerk call, TV shows it, tablet rates it, the rating is in the log', async () => {
    const box = await startWebBox();
    boxes.push(box);
    const tv = await pairedPage(
      await browser.newContext({ viewport: TV }),
      box,
      'display-tv',
      '/tv',
      '?chime=0',
    );
    const kiosk = await pairedPage(await browser.newContext({ viewport: KIOSK }), box, 'kiosk-1', '/kiosk');
    const clerk = await pairedPage(
      await browser.newContext({ viewport: DESKTOP }),
      box,
      'clerk-panel-1',
      '/clerk',
    );
    const rating = await pairedPage(
      await browser.newContext({ viewport: TABLET }),
      box,
      'rating-1',
      '/rating',
    );

    // Some citizens before ours, so the screens show a real queue.
    const other = await box.connect('kiosk-2');
    for (const service of ['chung-thuc', 'ho-tich', 'chung-thuc'])
      expect((await request(other, 'lobby/v1/tickets/request', { service })).status).toBe('ok');

    // The citizen takes a ticket for Văn thư.
    const vanThu = kiosk.locator('button[data-service="van-thu"]');
    await expect.poll(() => vanThu.isEnabled()).toBe(true);
    await expect.poll(() => vanThu.textContent()).toContain('Văn thư');
    await screenshot(kiosk, 'kiosk-portrait');
    await vanThu.click();
    await kiosk.locator('.ticket-number').waitFor();
    expect(await kiosk.locator('.ticket-number').textContent()).toBe('A001');
    expect(await kiosk.locator('.ticket-how').textContent()).toContain('nhận phiếu');
    await screenshot(kiosk, 'kiosk-ticket');

    // The clerk signs in at counter 1 and calls the next number with the keyboard.
    await clerk.locator('#clerk').selectOption('cc01');
    await clerk.getByRole('button', { name: 'Đăng nhập' }).click();
    const next = clerk.locator('button[data-action="next"]');
    await expect.poll(() => next.isEnabled()).toBe(true);
    await expect.poll(() => clerk.locator('.queue li').count()).toBe(1);
    await clerk.keyboard.press('n');
    await expect.poll(() => clerk.locator('.current-number').textContent()).toBe('A001');

    // The lobby TV shows it at counter 1, highlighted as the newest call.
    const counter1 = tv.locator('[data-counter="1"]');
    await expect.poll(() => counter1.locator('.counter-ticket').textContent()).toBe('A001');
    expect(await counter1.getAttribute('class')).toContain('hot');
    expect(await tv.locator('.now-calling').textContent()).toContain('A001');
    expect(await tv.locator('.recent-list li.first').textContent()).toContain('A001');
    expect(await tv.locator('[data-service="chung-thuc"] .service-waiting').textContent()).toContain('2');
    expect(await tv.locator('.notice-text').textContent()).toContain('Giờ làm việc');

    // A dossier scanned at the counter, then finish: the tablet offers the rating.
    await clerk.keyboard.press('d');
    await clerk.keyboard.type('000.00.04.H12-261122-0015');
    await clerk.keyboard.press('Enter');
    await expect.poll(() => clerk.locator('.linked').textContent()).toContain('000.00.04.H12-261122-0015');
    await screenshot(clerk, 'clerk-panel');
    await screenshot(tv, 'tv');
    await clerk.locator('button[data-action="finish"]').click();
    await expect.poll(() => clerk.locator('.current-number').textContent()).toBe('—');

    const best = rating.locator('button[data-score="4"]');
    await best.waitFor();
    expect(await rating.locator('.question').textContent()).toContain('A001');
    expect(await rating.locator('.clerk-name').textContent()).toBe('Nguyễn Thị Lan');
    expect(await best.textContent()).toBe('Rất hài lòng');
    expect(await rating.locator('.scale button').count()).toBe(4);
    await screenshot(rating, 'rating-tablet');
    await best.click();
    await rating.locator('.thanks').waitFor();
    // One rating per ticket: the buttons do not come back for A001.
    await expect.poll(() => rating.locator('.idle').count(), { timeout: 10_000 }).toBe(1);

    const stored = [...box.box.store.eventsAfter(0)].filter((e) => e.event.type === 'rating.submitted');
    expect(stored).toHaveLength(1);
    expect(stored[0]?.event.data).toMatchObject({
      number: 'A001',
      counter: 1,
      score: 4,
      scaleMax: 4,
      clerk: { id: 'cc01', name: 'Nguyễn Thị Lan' },
    });
    expect(stored[0]?.source).toBe('rating-1');
    // The clerk's panel never learns the score: it cannot subscribe to rating events at all.
    expect(await clerk.locator('body').textContent()).not.toContain('Rất hài lòng');
  });
});
