// The kiosk offers "Nhắn tin khi sắp đến lượt" when the office has an SMS gateway (issue 14): the citizen types a
// number on the on-screen keypad, the kiosk shows only its last digits, and the local fake gateway receives
// exactly the near and the called message for that ticket. axe-core on the keypad screen. Needs `npm run build`.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../support/office.js';
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

const KIOSK = { width: 1080, height: 1920 };
const eventually = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 15_000, interval: 100 });

describe.skipIf(!chromiumPresent())('kiosk: SMS when the turn is near', () => {
  let box: WebBox;
  let browser: Browser;
  let gateway: Server;
  const received: { to: string; text: string }[] = [];

  beforeAll(async () => {
    gateway = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        received.push(JSON.parse(body) as { to: string; text: string });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => gateway.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}/sms`;
    box = await startWebBox({
      edit: (cfg) => {
        cfg.sms = { gatewayUrl: url, nearAhead: 1 };
      },
    });
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await box?.close();
    gateway?.close();
  });

  it('takes a number on the keypad for one ticket; the gateway gets the near and the called message', async () => {
    // Someone is already waiting for Văn thư.
    const other = await box.connect('kiosk-2');
    expect((await request(other, 'lobby/v1/tickets/request', { service: 'van-thu' })).status).toBe('ok');
    expect((await request(other, 'lobby/v1/tickets/request', { service: 'van-thu' })).status).toBe('ok');
    const kiosk = await pairedPage(await browser.newContext({ viewport: KIOSK }), box, 'kiosk-1', '/kiosk');
    const errors = pageErrors(kiosk);
    await kiosk.locator('button[data-service="van-thu"]').click();
    await kiosk.locator('.ticket-number').waitFor();
    expect(await kiosk.locator('.ticket-number').textContent()).toBe('A003');
    await kiosk.locator('.sms-offer').click();
    expect(await kiosk.locator('.sms h1').textContent()).toBe('Nhập số điện thoại di động');
    for (const d of '0912345678') await kiosk.locator(`.key[data-key="${d}"]`).click();
    expect(await kiosk.locator('.sms-phone').textContent()).toBe('0912345678');
    const report = await accessibility(kiosk);
    expect(report).toEqual({ violations: [], small: [], tiny: [], structure: [] });
    await screenshot(kiosk, 'kiosk-sms');
    await kiosk.locator('.sms-send').click();
    await eventually(() => kiosk.locator('.sms-done').textContent()).toBe(
      'Sẽ nhắn tin đến số ···678 khi sắp đến lượt bạn.',
    );
    expect(await kiosk.locator('.ticket-number').textContent()).toBe('A003');
    expect(received).toEqual([]);

    const keypad = await box.connect('keypad-1');
    await request(keypad, 'lobby/v1/counters/1/cmd/next'); // A001: one left before A003
    await eventually(() => received.length).toBe(1);
    expect(received[0]).toEqual({
      to: '0912345678',
      text: 'So A003 sap den luot: con 1 nguoi truoc ban. Bộ phận một cửa xã Thử Nghiệm',
    });
    await request(keypad, 'lobby/v1/counters/1/cmd/next'); // A002
    await request(keypad, 'lobby/v1/counters/1/cmd/next'); // A003
    await eventually(() => received.length).toBe(2);
    expect(received[1]).toEqual({
      to: '0912345678',
      text: 'Moi so A003 den quay 1. Bộ phận một cửa xã Thử Nghiệm',
    });
    expect(errors).toEqual([]);
    await Promise.all([other.endAsync(), keypad.endAsync()]);
  }, 60_000);
});
