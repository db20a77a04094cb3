// The four screens and the admin page in Chromium against a real box: the walk-through, recovery after a
// box restart, revocation, and the admin page's password and one-time pairing codes.
import { mkdirSync, readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { join } from 'node:path';
import jsQRModule from 'jsqr';
import type { Browser, Locator } from 'playwright-core';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../support/office.js';
import { ticketKey } from '../../protocol/secrets.js';
import { TICKET_KEY_FILE } from '../../device/ticket-keys.js';
import {
  ADMIN_PASSWORD,
  adminCookie,
  chromiumPresent,
  launchChromium,
  pairedPage,
  screenshot,
  startWebBox,
  type WebBox,
} from './support.js';

// jsqr is CommonJS whose typings say `export default`: under NodeNext the callable is on `.default`.
const jsQR = (jsQRModule as unknown as { default: typeof jsQRModule.default }).default ?? jsQRModule;

/** The text of the QR code in an element, decoded from a screenshot of it (jsQR on the PNG's pixels). */
async function decodeQr(element: Locator): Promise<string | null> {
  // A picture of the page where the element is: a page that re-renders (the admin page polls) may replace
  // the element itself between finding it and taking the picture, but draws it in the same place.
  await element.scrollIntoViewIfNeeded().catch(() => undefined); // the page may have grown above it
  const where = await element.boundingBox();
  if (!where) return null;
  const png = PNG.sync.read(await element.page().screenshot({ clip: where }));
  return jsQR(new Uint8ClampedArray(png.data), png.width, png.height)?.data ?? null;
}

/** Reads a QR code shown on the page, trying again while the page is still drawing it (up to 15 s). */
async function readQr(element: Locator): Promise<string | null> {
  const until = Date.now() + 15_000;
  for (;;) {
    const text = await decodeQr(element).catch(() => null);
    if (text !== null || Date.now() > until) return text;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** expect.poll with room for a busy CI machine (vitest's default waits 1 s). */
const eventually = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 15_000, interval: 100 });

const TV = { width: 1920, height: 1080 };
const KIOSK = { width: 1080, height: 1920 };
const TABLET = { width: 1024, height: 600 };
const DESKTOP = { width: 1366, height: 768 };

// Browser steps on a shared 2-core machine: generous limits, never assertions on time.
const BROWSER_TEST_MS = 120_000;

describe.skipIf(!chromiumPresent())('screens in Chromium', { timeout: BROWSER_TEST_MS }, () => {
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

    // The kiosk's printer (a local print agent here) reports it is ready: tickets go on paper.
    await box.box.broker.publishStatus('kiosk-1', {
      ts: new Date().toISOString(),
      ok: true,
      printer: { state: 'ready', canPrint: true },
    });
    // The citizen takes a ticket for Văn thư.
    const vanThu = kiosk.locator('button[data-service="van-thu"]');
    await eventually(() => vanThu.isEnabled()).toBe(true);
    await eventually(() => vanThu.textContent()).toContain('Văn thư');
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
    await eventually(() => next.isEnabled()).toBe(true);
    await eventually(() => clerk.locator('.queue li').count()).toBe(1);
    await clerk.keyboard.press('n');
    await eventually(() => clerk.locator('.current-number').textContent()).toBe('A001');

    // The lobby TV shows it at counter 1, highlighted as the newest call.
    const counter1 = tv.locator('[data-counter="1"]');
    await eventually(() => counter1.locator('.counter-ticket').textContent()).toBe('A001');
    expect(await counter1.getAttribute('class')).toContain('hot');
    expect(await tv.locator('.now-calling').textContent()).toContain('A001');
    expect(await tv.locator('.recent-list li.first').textContent()).toContain('A001');
    expect(await tv.locator('[data-service="chung-thuc"] .service-waiting').textContent()).toContain('2');
    expect(await tv.locator('.notice-text').textContent()).toContain('Giờ làm việc');

    // A dossier scanned at the counter, then finish: the tablet offers the rating.
    // The clerk is typing a dossier code when the counter's state changes (a recall from the keypad): the
    // panel re-renders without taking the field away.
    await clerk.keyboard.press('d');
    await clerk.keyboard.type('000.00.04.H12');
    const keypad = await box.connect('keypad-1');
    expect((await request(keypad, 'lobby/v1/counters/1/cmd/recall')).status).toBe('ok');
    await eventually(() => clerk.locator('.current-state').textContent()).toContain('gọi lại 1 lần');
    await clerk.keyboard.type('-261122-0015');
    expect(await clerk.locator('#dossier').inputValue()).toBe('000.00.04.H12-261122-0015');
    await clerk.keyboard.press('Enter');
    await eventually(() => clerk.locator('.linked').textContent()).toContain('000.00.04.H12-261122-0015');
    await screenshot(clerk, 'clerk-panel');
    // The board, not the takeover a new call shows for a few seconds.
    await eventually(() => tv.locator('.takeover').isVisible()).toBe(false);
    await screenshot(tv, 'tv');
    await clerk.locator('button[data-action="finish"]').click();
    await eventually(() => clerk.locator('.current-number').textContent()).toBe('—');
    // Errors come from the box's reply, in the screen's language.
    await clerk.keyboard.press('n');
    await eventually(() => clerk.locator('.message.error').textContent()).toBe(
      'Không còn người chờ cho quầy 1.',
    );

    const best = rating.locator('button[data-score="5"]');
    await best.waitFor();
    expect(await rating.locator('.question').textContent()).toContain('A001');
    expect(await rating.locator('.clerk-name').textContent()).toBe('Nguyễn Thị Lan');
    expect(await best.textContent()).toBe('Rất hài lòng');
    // The five levels of the default scale, Rất hài lòng first, Rất không hài lòng last.
    expect(await rating.locator('.scale button').allTextContents()).toEqual([
      'Rất hài lòng',
      'Hài lòng',
      'Bình thường',
      'Không hài lòng',
      'Rất không hài lòng',
    ]);
    await screenshot(rating, 'rating-tablet');
    await best.click();
    await rating.locator('.thanks').waitFor();
    expect(await rating.locator('.scale button').count()).toBe(0);

    const stored = [...box.box.store.eventsAfter(0)].filter((e) => e.event.type === 'rating.submitted');
    expect(stored).toHaveLength(1);
    expect(stored[0]?.event.data).toMatchObject({
      number: 'A001',
      counter: 1,
      score: 5,
      scaleMax: 5,
      clerk: { id: 'cc01', name: 'Nguyễn Thị Lan' },
    });
    expect(stored[0]?.source).toBe('rating-1');
    // The clerk's panel never learns the score: it cannot subscribe to rating events at all.
    expect(await clerk.locator('body').textContent()).not.toContain('Rất hài lòng');
  });
  it('the TV recovers by itself after the box restarts, and marks its data stale meanwhile', async () => {
    const first = await startWebBox();
    const tv = await pairedPage(
      await browser.newContext({ viewport: { width: 1366, height: 768 } }),
      first,
      'display-tv',
      '/tv',
      '?chime=0',
    );
    const kiosk = await first.connect('kiosk-2');
    const keypad = await first.connect('keypad-1');
    expect((await request(kiosk, 'lobby/v1/tickets/request', { service: 'van-thu' })).status).toBe('ok');
    expect((await request(keypad, 'lobby/v1/counters/1/cmd/next')).status).toBe('ok');
    await eventually(() => tv.locator('[data-counter="1"] .counter-ticket').textContent()).toBe('A001');
    const banner = tv.locator('.link-banner');
    expect(await banner.getAttribute('data-state')).toBe('online');
    // The board, not the takeover a new call shows for a few seconds.
    await eventually(() => tv.locator('.takeover').isVisible()).toBe(false);
    await screenshot(tv, 'tv-1366');

    const { httpPort, mqttPort } = first.box;
    await first.close();
    await eventually(() => banner.getAttribute('data-state')).toBe('offline');
    await eventually(() => banner.textContent()).toMatch(
      /Mất kết nối — dữ liệu có thể chưa cập nhật \([1-9]\d* giây\)/,
    );
    // The last known numbers stay on screen, under the banner.
    expect(await tv.locator('[data-counter="1"] .counter-ticket').textContent()).toBe('A001');
    await screenshot(tv, 'tv-disconnected');

    // The same box comes back on the same data and ports; the TV reconnects without anyone touching it.
    const second = await startWebBox({
      dataDir: first.dataDir,
      configFile: first.configFile,
      httpPort,
      mqttPort,
    });
    boxes.push(second);
    await eventually(() => banner.getAttribute('data-state')).toBe('online');
    const kiosk2 = await second.connect('kiosk-2');
    const keypad2 = await second.connect('keypad-2');
    expect((await request(kiosk2, 'lobby/v1/tickets/request', { service: 'chung-thuc' })).status).toBe('ok');
    expect((await request(keypad2, 'lobby/v1/counters/2/cmd/next')).status).toBe('ok');
    await eventually(() => tv.locator('[data-counter="2"] .counter-ticket').textContent()).toBe('B001');
    expect(await tv.locator('[data-counter="1"] .counter-ticket').textContent()).toBe('A001');
    expect(await tv.locator('.now-calling').textContent()).toContain('B001');
  });

  it('a counter called while the TV subscribes shows its number, not the older retained state that reaches the TV after it', async () => {
    // aedes makes a subscription live first and streams the retained messages after. A `next` pressed in
    // between reaches the TV live, then the retained state read before it arrives: the box here holds that
    // stream back (read at once, delivered when the test says) so the order is certain.
    const box = await startWebBox();
    boxes.push(box);
    const tv = await pairedPage(
      await browser.newContext({ viewport: TV }),
      box,
      'display-tv',
      '/tv',
      '?chime=0',
    );
    // The page is paired and reloaded with its query: one connection, online. The box now holds back the
    // retained stream of the TV's next subscription and cuts its connection, so the TV subscribes anew.
    await eventually(() => tv.locator('.link-banner').getAttribute('data-state')).toBe('online');
    const persistence = (box.box.broker.aedes as unknown as { persistence: unknown }).persistence as {
      createRetainedStreamCombi(patterns: string[]): NodeJS.ReadableStream;
    };
    const original = persistence.createRetainedStreamCombi.bind(persistence);
    let held: PassThrough | undefined;
    const packets: unknown[] = [];
    persistence.createRetainedStreamCombi = (patterns) => {
      if (held || !patterns.includes('lobby/v1/state/counters/+')) return original(patterns);
      held = new PassThrough({ objectMode: true });
      original(patterns).on('data', (p: unknown) => packets.push(p));
      return held;
    };
    box.box.broker.disconnect('display-tv');
    await eventually(() => held !== undefined).toBe(true);
    const kiosk = await box.connect('kiosk-2');
    const keypad = await box.connect('keypad-1');
    expect((await request(kiosk, 'lobby/v1/tickets/request', { service: 'van-thu' })).status).toBe('ok');
    expect((await request(keypad, 'lobby/v1/counters/1/cmd/next')).status).toBe('ok');
    expect((await request(kiosk, 'lobby/v1/tickets/request', { service: 'ho-tich' })).status).toBe('ok');
    const counter1 = tv.locator('[data-counter="1"] .counter-ticket');
    const hoTich = tv.locator('[data-service="ho-tich"] .service-waiting');
    await eventually(() => counter1.textContent()).toBe('A001');
    await eventually(() => hoTich.textContent()).toBe('Đang chờ: 1');

    // The retained states as they were when the TV subscribed (counter 1 closed, nobody waiting), delivered
    // now; the TV acknowledges each (QoS 1) once it has handled it, and nothing else is sent to it meanwhile.
    expect(packets.map((p) => (p as { topic: string }).topic)).toEqual(
      expect.arrayContaining(['lobby/v1/state/counters/1', 'lobby/v1/state/services/ho-tich']),
    );
    let handled = 0;
    box.box.broker.aedes.on('ack', (_packet, client) => {
      if (client?.id.startsWith('display-tv.')) handled++;
    });
    for (const p of packets) held?.write(p);
    held?.end();
    await eventually(() => handled >= packets.length).toBe(true);
    expect(await counter1.textContent()).toBe('A001');
    expect(await hoTich.textContent()).toBe('Đang chờ: 1');
    await Promise.all([kiosk.endAsync(), keypad.endAsync()]);
  });

  it('a screen whose pairing is revoked loses access and says it must be paired again', async () => {
    const box = await startWebBox();
    boxes.push(box);
    const tv = await pairedPage(await browser.newContext({ viewport: TV }), box, 'tv-2', '/tv', '?chime=0');
    await eventually(() => tv.locator('.link-banner').getAttribute('data-state')).toBe('online');
    expect(box.box.broker.connectedIds().some((id) => id.startsWith('tv-2.'))).toBe(true);

    const r = await fetch(`${box.base}/api/admin/peripherals/tv-2`, {
      method: 'DELETE',
      headers: { cookie: await adminCookie(box) },
    });
    expect(r.status).toBe(200);
    const overlay = tv.locator('.unpaired-overlay');
    await overlay.waitFor();
    expect(await overlay.textContent()).toContain('Cần ghép nối lại');
    expect(box.box.broker.connectedIds().some((id) => id.startsWith('tv-2.'))).toBe(false);
    expect(box.box.directory.get('tv-2')).toBeUndefined();
  });

  it('admin page: no default password, a wrong one refused, a pairing code that works once', async () => {
    const unset = await startWebBox({ adminPassword: null });
    boxes.push(unset);
    const page = await (await browser.newContext({ viewport: DESKTOP })).newPage();
    await page.goto(`${unset.base}/admin`);
    await eventually(() => page.locator('.command').textContent()).toContain(
      `lobby device set-admin-password --config ${unset.configFile}`,
    );

    const box = await startWebBox();
    boxes.push(box);
    await page.goto(`${box.base}/admin`);
    await page.locator('#password').fill('not-the-password');
    await page.getByRole('button', { name: 'Đăng nhập' }).click();
    await eventually(() => page.locator('.message.error').textContent()).toBe('Sai mật khẩu.');
    expect(await page.locator('table.peripherals').count()).toBe(0);

    await page.locator('#password').fill(ADMIN_PASSWORD);
    await page.getByRole('button', { name: 'Đăng nhập' }).click();
    const row = page.locator('tr[data-id="tv-2"]');
    await row.waitFor();
    await row.locator('button[data-action="pair"]').click();
    const code = (await page.locator('.big-code').textContent()) ?? '';
    expect(code).toMatch(/^[A-Z2-9]{4}-[A-Z2-9]{4}$/);
    await screenshot(page, 'admin', true);
    // The QR code beside it, read from its pixels: the pairing page with this code, on the box's port (at a
    // LAN address of the box when the admin page is opened on the box itself, as here).
    const scanned = new URL((await readQr(page.locator('.code-box svg'))) ?? 'http://no-qr-code');
    expect(scanned.port).toBe(String(box.box.httpPort));
    expect(`${scanned.pathname}${scanned.search}`).toBe(`/pair?code=${code.replace('-', '')}`);

    // A screen opens what the QR code says (here through the box's loopback address).
    const screen = await (await browser.newContext({ viewport: TV })).newPage();
    await screen.goto(`${box.base}${scanned.pathname}${scanned.search}`);
    await screen.waitForURL(`${box.base}/tv`);
    await eventually(() => screen.locator('.link-banner').getAttribute('data-state')).toBe('online');
    // The admin page shows the screen online (it polls).
    await eventually(() => row.getAttribute('class')).toBe('online');

    const again = await (await browser.newContext({ viewport: TV })).newPage();
    await again.goto(`${box.base}/pair`);
    await again.locator('#code').fill(code.toLowerCase());
    await again.getByRole('button', { name: 'Ghép nối' }).click();
    await eventually(() => again.locator('.message.error').textContent()).toContain('đã dùng');
    expect(await again.evaluate("localStorage.getItem('lobby.credential.display')")).toBeNull();
  });
  it('kiosk: priority path, a printer that cannot print (number and QR code on screen), quota refusal, small screen', async () => {
    const box = await startWebBox({
      edit: (cfg) => {
        (cfg.office as Record<string, unknown>).publicUrl = 'https://motcua.example.vn';
        (cfg.services as { id: string; dailyQuota?: number }[]).find((x) => x.id === 'ho-tich')!.dailyQuota =
          1;
      },
    });
    boxes.push(box);
    const kiosk = await pairedPage(await browser.newContext({ viewport: KIOSK }), box, 'kiosk-1', '/kiosk');
    const hoTich = kiosk.locator('button[data-service="ho-tich"]');
    await eventually(() => hoTich.isEnabled()).toBe(true);

    // The box's printer driver reports the kiosk's printer out of paper.
    await box.box.broker.publishStatus('kiosk-1', {
      ts: new Date().toISOString(),
      ok: false,
      printer: { state: 'paper_out', canPrint: false },
    });
    await eventually(() => kiosk.locator('.printer-notice.bad').textContent()).toContain('hết giấy');

    await kiosk.locator('.priority-button').click();
    await kiosk.locator('button[data-reason="elderly"]').click();
    await eventually(() => kiosk.locator('.priority-chosen').textContent()).toContain('Người cao tuổi');
    await hoTich.click();
    await kiosk.locator('.ticket-number').waitFor();
    expect(await kiosk.locator('.ticket-number').textContent()).toBe('C001');
    expect(await kiosk.locator('.ticket-priority').textContent()).toBe('Người cao tuổi');
    expect(await kiosk.locator('.ticket-how').textContent()).toContain('chụp lại số này');
    await screenshot(kiosk, 'kiosk-screen-ticket');
    const issued = [...box.box.store.eventsAfter(0)].find((e) => e.event.type === 'ticket.issued');
    expect(issued?.event.data).toMatchObject({ number: 'C001', priority: 'elderly' });
    // The QR code on screen, read back from its pixels as a phone would: the ticket's status page, and after
    // `#` the ticket's key (its holder may rate the visit from the phone).
    const ticketId = (issued?.event.data as { ticketId: string }).ticketId;
    const day = ticketId.split('/')[0];
    const key = ticketKey(
      readFileSync(join(box.dataDir, TICKET_KEY_FILE), 'utf8').trim(),
      'xa-thu-nghiem',
      ticketId,
    );
    expect(await readQr(kiosk.locator('.qr'))).toBe(
      `https://motcua.example.vn/t/xa-thu-nghiem/${day}/C001#k=${key}`,
    );

    // Back to the start: the quota of Hộ tịch is used up, so its button is greyed and says why.
    await kiosk.locator('button.done').click();
    await eventually(() => hoTich.isDisabled()).toBe(true);
    expect(await hoTich.textContent()).toContain('Đã hết số trong ngày');

    await kiosk.setViewportSize({ width: 800, height: 480 });
    await screenshot(kiosk, 'kiosk-800x480');
    const inView = await kiosk.locator('button.service').evaluateAll((els) =>
      els.every((e) => {
        const r = e.getBoundingClientRect();
        return r.bottom <= 480 && r.right <= 800 && r.height > 40;
      }),
    );
    expect(inView).toBe(true);
  });

  it('a full disk: the kiosk and the clerk panel say so in Vietnamese and the kiosk greys its buttons, until space is back', async () => {
    const box = await startWebBox();
    boxes.push(box);
    const kiosk = await pairedPage(await browser.newContext({ viewport: KIOSK }), box, 'kiosk-1', '/kiosk');
    const clerk = await pairedPage(
      await browser.newContext({ viewport: DESKTOP }),
      box,
      'clerk-panel-1',
      '/clerk',
    );
    const vanThu = kiosk.locator('button[data-service="van-thu"]');
    await eventually(() => vanThu.isEnabled()).toBe(true);
    const store = box.box.store;
    const append = store.append.bind(store);
    const probeWrite = store.probeWrite.bind(store);
    // The disk is full for every write: the ledger's commits and the probe that looks for space again.
    store.append = store.probeWrite = () => {
      throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
    };
    const device = await box.connect('kiosk-2');
    const refused = await request(device, 'lobby/v1/tickets/request', {
      service: 'van-thu',
      delivery: 'screen',
    });
    expect(refused.error?.code).toBe('storage_full');
    for (const page of [kiosk, clerk])
      await eventually(() => page.locator('.box-banner').textContent()).toContain(
        'bộ nhớ của máy chủ đã đầy',
      );
    await eventually(() => vanThu.isEnabled()).toBe(false);
    await screenshot(kiosk, 'kiosk-disk-full');
    store.append = append;
    store.probeWrite = probeWrite;
    const ok = await request(device, 'lobby/v1/tickets/request', { service: 'van-thu', delivery: 'screen' });
    expect(ok.status).toBe('ok');
    await eventually(() => vanThu.isEnabled()).toBe(true);
    await eventually(() => kiosk.locator('.box-banner').isVisible()).toBe(false);
    // Live, without a reload: the clerk panel missed this update while aedes dropped out-of-order messages.
    await eventually(() => clerk.locator('.box-banner').isVisible()).toBe(false);
    device.end(true);
  });
  it('the kiosk serves the next citizen in Vietnamese: the idle reset and "Xong" drop English, a reload does not bring it back', async () => {
    const box = await startWebBox({
      edit: (cfg) => {
        cfg.screens = { ...(cfg.screens as object), kioskIdleSeconds: 5 };
      },
    });
    boxes.push(box);
    const context = await browser.newContext({ viewport: KIOSK });
    const kiosk = await pairedPage(context, box, 'kiosk-1', '/kiosk');
    const title = kiosk.locator('h1');
    await eventually(() => title.textContent()).toBe('Mời chọn lĩnh vực cần giải quyết');

    // A citizen presses English and walks away: after the idle time the kiosk is Vietnamese again.
    await kiosk.locator('.lang-toggle').click();
    await eventually(() => title.textContent()).toBe('Please choose a service');
    await eventually(() => title.textContent()).toBe('Mời chọn lĩnh vực cần giải quyết');
    expect(await kiosk.evaluate('document.documentElement.lang')).toBe('vi');

    // ?lang=en is for that page load only.
    await kiosk.goto(`${box.base}/kiosk?lang=en`);
    await eventually(() => title.textContent()).toBe('Please choose a service');
    await kiosk.goto(`${box.base}/kiosk`);
    await eventually(() => title.textContent()).toBe('Mời chọn lĩnh vực cần giải quyết');

    // English for a ticket, then "Xong": the next citizen reads Vietnamese.
    await kiosk.locator('.lang-toggle').click();
    const vanThu = kiosk.locator('button[data-service="van-thu"]');
    await eventually(() => vanThu.isEnabled()).toBe(true);
    await vanThu.click();
    await eventually(() => kiosk.locator('.ticket-label').textContent()).toBe('Your number');
    await kiosk.locator('button.done').click();
    await eventually(() => title.textContent()).toBe('Mời chọn lĩnh vực cần giải quyết');
  });
  it('the TV shows a paused counter as paused, not its last number and clerk', async () => {
    const box = await startWebBox();
    boxes.push(box);
    const tv = await pairedPage(
      await browser.newContext({ viewport: TV }),
      box,
      'display-tv',
      '/tv',
      '?chime=0',
    );
    const kiosk = await box.connect('kiosk-2');
    const panel = await box.connect('clerk-panel-1');
    expect((await request(kiosk, 'lobby/v1/tickets/request', { service: 'van-thu' })).status).toBe('ok');
    expect((await request(panel, 'lobby/v1/counters/1/cmd/sign_in', { clerk: 'cc01' })).status).toBe('ok');
    expect((await request(panel, 'lobby/v1/counters/1/cmd/next')).status).toBe('ok');
    const card = tv.locator('[data-counter="1"]');
    await eventually(() => card.locator('.counter-ticket').textContent()).toBe('A001');
    await eventually(() => card.locator('.counter-clerk').textContent()).toBe('Nguyễn Thị Lan');

    expect((await request(panel, 'lobby/v1/counters/1/cmd/pause')).status).toBe('ok');
    await eventually(() => card.locator('.counter-ticket').textContent()).toBe('Tạm dừng');
    expect(await card.textContent()).not.toContain('Nguyễn Thị Lan');
    expect(await card.locator('.counter-clerk').textContent()).toBe('Đang tiếp số A001');
    await screenshot(tv, 'tv-paused');

    expect((await request(panel, 'lobby/v1/counters/1/cmd/resume')).status).toBe('ok');
    await eventually(() => card.locator('.counter-ticket').textContent()).toBe('A001');
    await eventually(() => card.locator('.counter-clerk').textContent()).toBe('Nguyễn Thị Lan');
  });
  it('admin page: Vietnamese words, times on the office clock, what is offline at the top', async () => {
    const box = await startWebBox();
    boxes.push(box);
    // The admin's computer is on UTC; the office on Asia/Ho_Chi_Minh (UTC+7).
    const page = await (await browser.newContext({ viewport: DESKTOP, timezoneId: 'UTC' })).newPage();
    await page.goto(`${box.base}/admin`);
    await page.locator('#password').fill(ADMIN_PASSWORD);
    await page.getByRole('button', { name: 'Đăng nhập' }).click();
    const tv = page.locator('tr[data-id="tv-2"]');
    await tv.waitFor();

    // Kinds and printer states in words; a name for every device; no AM/PM.
    expect(await tv.locator('td.role').textContent()).toBe('Màn hình TV');
    expect(await page.locator('tr[data-id="led-1"] td.role').textContent()).toBe('Bảng LED');
    expect(await page.locator('tr[data-id="led-1"] td.name').textContent()).toBe('Bảng LED quầy 1');
    const options = await page.locator('#new-role option').allTextContents();
    expect(options).toContain('Bảng LED');
    expect(options).not.toContain('ledboard');
    await box.box.broker.publishStatus('kiosk-1', {
      ts: new Date().toISOString(),
      ok: true,
      printer: { state: 'ready', canPrint: true },
    });
    const device = await box.connect('kiosk-1');
    const kiosk = page.locator('tr[data-id="kiosk-1"]');
    await eventually(() => kiosk.locator('td.state').textContent()).toContain('Máy in: sẵn sàng');
    expect(await kiosk.locator('td.last-seen').textContent()).toBe('đang kết nối');

    // A device that was there and left: its last time on the office clock.
    device.end(true);
    await eventually(() => kiosk.getAttribute('class')).toBe('offline');
    const seen = (await kiosk.locator('td.last-seen').textContent()) ?? '';
    const officeNow = new Intl.DateTimeFormat('en-GB', {
      timeZone: 'Asia/Ho_Chi_Minh',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    const near = [-60_000, 0, 60_000].map((d) => officeNow.format(new Date(Date.now() + d)));
    expect(near).toContain(seen);
    expect(await page.locator('body').textContent()).not.toMatch(/\b[AP]M\b/);

    // The summary at the top names what is offline.
    const summary = page.locator('.summary');
    await eventually(() => summary.textContent()).toContain('Máy cấp số (kiosk-1)');
    expect(await summary.textContent()).toContain('Ngoại tuyến');
  });
  it('a kiosk without a printer shows every ticket on screen with a QR code to keep, and promises no paper', async () => {
    const box = await startWebBox();
    boxes.push(box);
    const kiosk = await pairedPage(await browser.newContext({ viewport: KIOSK }), box, 'kiosk-1', '/kiosk');
    await eventually(() => kiosk.locator('.printer-notice').textContent()).toContain('không in phiếu');
    const vanThu = kiosk.locator('button[data-service="van-thu"]');
    await eventually(() => vanThu.isEnabled()).toBe(true);
    await vanThu.click();
    await kiosk.locator('.ticket-number').waitFor();
    expect(await kiosk.locator('.ticket-number').textContent()).toBe('A001');
    const how = (await kiosk.locator('.ticket-how').textContent()) ?? '';
    expect(how).toContain('chụp ảnh');
    expect(how).not.toContain('phiếu in');
    const issued = [...box.box.store.eventsAfter(0)].find((e) => e.event.type === 'ticket.issued');
    expect(issued?.event.data).toMatchObject({ number: 'A001', delivery: 'screen' });
    // No public URL in this office: the QR code holds the ticket itself, which a phone keeps.
    const qr = (await readQr(kiosk.locator('.qr'))) ?? '';
    expect(qr).toContain('Số thứ tự: A001');
    expect(qr).toContain('Văn thư');
    await screenshot(kiosk, 'kiosk-screen-only');
  });
  it('waits in words that are true: never "0 phút" with people waiting, nothing when no counter is open', async () => {
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
    const device = await box.connect('kiosk-2');
    for (let i = 0; i < 4; i++)
      expect((await request(device, 'lobby/v1/tickets/request', { service: 'van-thu' })).status).toBe('ok');
    const kioskWait = kiosk.locator('button[data-service="van-thu"] .service-detail');
    const tvWait = tv.locator('[data-service="van-thu"] .service-wait');
    // Nobody at counter 1 yet: the kiosk still issues, and no screen claims anything about counters.
    await eventually(() =>
      kiosk.locator('button[data-service="van-thu"] .service-waiting').textContent(),
    ).toBe('Đang chờ: 4');
    expect(await kioskWait.textContent()).toBe('');
    expect(await tvWait.textContent()).toBe('');

    // Two citizens served in no time: the estimate rounds to 0 minutes for the two still waiting.
    const panel = await box.connect('clerk-panel-1');
    expect((await request(panel, 'lobby/v1/counters/1/cmd/sign_in', { clerk: 'cc01' })).status).toBe('ok');
    for (let i = 0; i < 2; i++) {
      expect((await request(panel, 'lobby/v1/counters/1/cmd/next')).status).toBe('ok');
      expect((await request(panel, 'lobby/v1/counters/1/cmd/finish')).status).toBe('ok');
    }
    await eventually(() =>
      kiosk.locator('button[data-service="van-thu"] .service-waiting').textContent(),
    ).toBe('Đang chờ: 2');
    await eventually(() => kioskWait.textContent()).toBe('Chờ dưới 5 phút');
    await eventually(() => tvWait.textContent()).toBe('Chờ < 5 phút');
    for (const text of [await kiosk.locator('body').textContent(), await tv.locator('body').textContent()])
      expect(text).not.toMatch(/\b0 phút|Chưa có quầy mở/);
  });
  it('TV: a new call takes over the screen, then the board returns; the call line is as large as the cards; names wrap; no language button', async () => {
    const box = await startWebBox({
      edit: (cfg) => {
        (cfg.services as { id: string; name: string }[]).find((x) => x.id === 'dat-dai')!.name =
          'Xây dựng nhà ở và đất đai, tài nguyên môi trường';
        (cfg.counters as { number: number; name?: string }[])[1]!.name = 'Quầy 2 - Chứng thực, hộ tịch';
      },
    });
    boxes.push(box);
    const tv = await pairedPage(
      await browser.newContext({ viewport: TV }),
      box,
      'display-tv',
      '/tv',
      '?chime=0',
    );
    const kiosk = await box.connect('kiosk-2');
    const keypad = await box.connect('keypad-1');
    const panel = await box.connect('clerk-panel-1');
    expect((await request(kiosk, 'lobby/v1/tickets/request', { service: 'van-thu' })).status).toBe('ok');
    expect((await request(panel, 'lobby/v1/counters/1/cmd/sign_in', { clerk: 'cc01' })).status).toBe('ok');
    await eventually(() => tv.locator('[data-counter="1"]').getAttribute('class')).toContain('status-open');
    expect(await tv.locator('.lang-toggle').count()).toBe(0);

    // "Quầy N" once per card: a counter named after its number shows that name alone.
    const card2 = tv.locator('[data-counter="2"]');
    await eventually(() => card2.locator('.counter-no').textContent()).toBe('Quầy 2 - Chứng thực, hộ tịch');
    expect(((await card2.textContent()) ?? '').match(/Quầy 2/g)).toHaveLength(1);
    expect(((await tv.locator('[data-counter="1"]').textContent()) ?? '').match(/Quầy 1/g)).toHaveLength(1);

    // A long service name wraps inside its box instead of being cut.
    const long = tv.locator('[data-service="dat-dai"] .service-name');
    await eventually(() => long.textContent()).toBe('Xây dựng nhà ở và đất đai, tài nguyên môi trường');
    const style = (selector: string, what: string) =>
      tv.evaluate(`getComputedStyle(document.querySelector('${selector}')).${what}`) as Promise<string>;
    expect(
      await tv.evaluate(
        '(e => e.scrollWidth <= e.clientWidth)(document.querySelector(\'[data-service="dat-dai"] .service-name\'))',
      ),
    ).toBe(true);
    expect(await style('[data-service="dat-dai"] .service-name', 'textOverflow')).not.toBe('ellipsis');
    expect(await style('[data-service="dat-dai"] .service-name', 'whiteSpace')).not.toBe('nowrap');

    // The call takes over the screen with the number, then the board is back.
    expect((await request(keypad, 'lobby/v1/counters/1/cmd/next')).status).toBe('ok');
    const takeover = tv.locator('.takeover');
    await eventually(() => takeover.isVisible()).toBe(true);
    expect(await takeover.locator('.call-number').textContent()).toBe('A001');
    expect(await takeover.textContent()).toContain('Quầy 1');
    await screenshot(tv, 'tv-call');
    await eventually(() => takeover.isVisible()).toBe(false);
    // The call line in the header: its number at least as large as the card's.
    const size = async (selector: string) => parseFloat(await style(selector, 'fontSize'));
    expect(await tv.locator('.now-calling .call-number').textContent()).toBe('A001');
    expect(await size('.now-calling .call-number')).toBeGreaterThanOrEqual(
      await size('[data-counter="1"] .counter-ticket'),
    );
  });
  it('rating tablet: shows whose visit is rated (number and service), with faces; once the next number is called the previous visit is no longer offered', async () => {
    const box = await startWebBox();
    boxes.push(box);
    const rating = await pairedPage(
      await browser.newContext({ viewport: TABLET }),
      box,
      'rating-1',
      '/rating',
    );
    const kiosk = await box.connect('kiosk-2');
    const panel = await box.connect('clerk-panel-1');
    for (let i = 0; i < 2; i++)
      expect((await request(kiosk, 'lobby/v1/tickets/request', { service: 'van-thu' })).status).toBe('ok');
    expect((await request(panel, 'lobby/v1/counters/1/cmd/sign_in', { clerk: 'cc01' })).status).toBe('ok');
    expect((await request(panel, 'lobby/v1/counters/1/cmd/next')).status).toBe('ok');
    expect((await request(panel, 'lobby/v1/counters/1/cmd/finish')).status).toBe('ok');
    // A001 leaves: the tablet says the rating is for A001, Văn thư.
    const forNumber = rating.locator('.rating-for-number');
    await eventually(() => forNumber.textContent()).toBe('A001');
    expect(await rating.locator('.rating-for-service').textContent()).toBe('Văn thư');
    expect(await rating.locator('.scale button svg.face').count()).toBe(5);
    await screenshot(rating, 'rating-tablet');

    // The clerk calls A002 by number (issue 14, #11): the citizen walking up cannot rate A001's visit.
    expect((await request(panel, 'lobby/v1/counters/1/cmd/call', { number: 'A002' })).status).toBe('ok');
    await eventually(() => rating.locator('h1').textContent()).toBe('Xin kính chào quý khách');
    expect(await rating.locator('.scale button').count()).toBe(0);
    expect(await rating.locator('body').textContent()).not.toContain('A001');
    // (A rating for A001 sent anyway is refused by the box, rating_closed: test/engine/commands.test.ts.)

    // A002 sits down and is served: the tablet now rates A002's visit, and the rating goes to A002.
    expect((await request(panel, 'lobby/v1/counters/1/cmd/serve')).status).toBe('ok');
    await eventually(() => forNumber.textContent()).toBe('A002');
    await rating.locator('button[data-score="3"]').click();
    await rating.locator('.thanks').waitFor();
    const rated = [...box.box.store.eventsAfter(0)].filter((e) => e.event.type === 'rating.submitted');
    expect(rated.map((e) => (e.event.data as { number: string }).number)).toEqual(['A002']);
  });
  it('the rating tablet serves the next citizen in Vietnamese: English ends with the thank-you screen', async () => {
    const box = await startWebBox();
    boxes.push(box);
    const rating = await pairedPage(
      await browser.newContext({ viewport: TABLET }),
      box,
      'rating-1',
      '/rating',
    );
    const kiosk = await box.connect('kiosk-2');
    const panel = await box.connect('clerk-panel-1');
    expect((await request(kiosk, 'lobby/v1/tickets/request', { service: 'van-thu' })).status).toBe('ok');
    expect((await request(panel, 'lobby/v1/counters/1/cmd/sign_in', { clerk: 'cc01' })).status).toBe('ok');
    expect((await request(panel, 'lobby/v1/counters/1/cmd/next')).status).toBe('ok');
    expect((await request(panel, 'lobby/v1/counters/1/cmd/finish')).status).toBe('ok');
    const title = rating.locator('h1');
    await eventually(() => title.textContent()).toContain('A001');

    // The citizen reads English, rates, is thanked in English; the next citizen finds Vietnamese.
    await rating.locator('.lang-toggle').click();
    await eventually(() => title.textContent()).toBe(
      'How satisfied are you with the service for number A001?',
    );
    await rating.locator('button[data-score="5"]').click();
    await eventually(() => title.textContent()).toBe('Thank you for your rating!');
    await eventually(() => title.textContent()).toBe('Xin kính chào quý khách');
    expect(await rating.evaluate('document.documentElement.lang')).toBe('vi');
    expect(await rating.locator('.lang-toggle').textContent()).toBe('English');
    await Promise.all([kiosk.endAsync(), panel.endAsync()]);
  });
});
