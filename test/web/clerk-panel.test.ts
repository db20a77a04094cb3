// The clerk panel's buttons in Chromium against a real box: each press must do what a clerk expects, seen
// where it is noticed — the panel itself, the lobby TV, the retained counter state every screen reads, and
// the event in the box's log (its type, counter and ticket, and nothing else). A button wired to the wrong
// action changes a different event, number or state, so it fails here.
import type { Browser } from 'playwright-core';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CounterStateMsg } from '../../protocol/index.js';
import { nextMessage, request } from '../support/office.js';
import { chromiumPresent, launchChromium, pairedPage, startWebBox, type WebBox } from './support.js';

/** expect.poll with room for a busy CI machine (vitest's default waits 1 s). */
const eventually = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 15_000, interval: 100 });

const TV = { width: 1920, height: 1080 };
const DESKTOP = { width: 1366, height: 768 };
const BROWSER_TEST_MS = 120_000;
const COUNTER_1 = 'lobby/v1/state/counters/1';
const COUNTER_2 = 'lobby/v1/state/counters/2';

/** The events the box committed after `mark`, in order. */
const logSince = (box: WebBox, mark: number) =>
  [...box.box.store.eventsAfter(mark)].map((e) => ({ type: e.event.type, data: e.event.data }));

/**
 * Does `act` (a press in the page) and waits until the box's log holds exactly `expected` after it: the same
 * number of events, each of that type with (at least) that data. A refused or different action never gets
 * there and fails with the difference.
 */
async function causes(
  box: WebBox,
  act: () => Promise<void>,
  expected: { type: string; data?: Record<string, unknown> }[],
): Promise<void> {
  const mark = box.box.store.headSeq;
  await act();
  await eventually(() => logSince(box, mark)).toMatchObject(
    expected.map((e) => ({ type: e.type, data: e.data ?? {} })),
  );
}

/** Keeps the newest retained state per topic, as a screen subscribed to `state/#` sees it. */
async function watchState(client: MqttClient): Promise<Map<string, unknown>> {
  const latest = new Map<string, unknown>();
  client.on('message', (topic, payload) => {
    if (topic.startsWith('lobby/v1/state/')) latest.set(topic, JSON.parse(payload.toString()));
  });
  await client.subscribeAsync('lobby/v1/state/#', { qos: 1 });
  return latest;
}

describe.skipIf(!chromiumPresent())('clerk panel buttons in Chromium', { timeout: BROWSER_TEST_MS }, () => {
  let browser: Browser;
  const boxes: WebBox[] = [];

  beforeAll(async () => {
    browser = await launchChromium();
  });
  /** The clerk panel of counter 1, signed in as `clerkId`, ready to call. */
  async function signedInPanel(box: WebBox, clerkId: string) {
    const clerk = await pairedPage(
      await browser.newContext({ viewport: DESKTOP }),
      box,
      'clerk-panel-1',
      '/clerk',
    );
    await eventually(() => clerk.locator(`#clerk option[value="${clerkId}"]`).count()).toBe(1);
    await clerk.locator('#clerk').selectOption(clerkId);
    await clerk.getByRole('button', { name: 'Đăng nhập' }).click();
    await eventually(() => clerk.locator('button[data-action="next"]').isEnabled()).toBe(true);
    return clerk;
  }
  afterAll(async () => {
    await browser?.close();
    for (const b of boxes) await b.close().catch(() => undefined);
  });

  it('sign in, next, recall, serve, transfer, no-show, call a number, pause, resume, finish, sign out', async () => {
    const box = await startWebBox();
    boxes.push(box);
    const tv = await pairedPage(
      await browser.newContext({ viewport: TV }),
      box,
      'display-tv',
      '/tv',
      '?chime=0',
    );
    const clerk = await pairedPage(
      await browser.newContext({ viewport: DESKTOP }),
      box,
      'clerk-panel-1',
      '/clerk',
    );
    const state = await watchState(await box.connect('tv-2'));
    const counter1 = () => state.get(COUNTER_1) as CounterStateMsg | undefined;

    // Three citizens for Văn thư (counter 1's service): A001, A002, A003.
    const kiosk = await box.connect('kiosk-2');
    for (const want of ['A001', 'A002', 'A003']) {
      const r = await request(kiosk, 'lobby/v1/tickets/request', { service: 'van-thu' });
      expect(r.data?.ticket).toMatchObject({ number: want });
    }

    const button = (action: string) => clerk.locator(`button[data-action="${action}"]`);
    const panelNumber = clerk.locator('.current-number');
    const panelState = clerk.locator('.current-state');
    const tvCounter1 = tv.locator('[data-counter="1"]');

    // Sign in as Nguyễn Thị Lan.
    await eventually(() => clerk.locator('#clerk option[value="cc01"]').count()).toBe(1);
    await clerk.locator('#clerk').selectOption('cc01');
    await causes(box, () => clerk.getByRole('button', { name: 'Đăng nhập' }).click(), [
      { type: 'counter.signed_in', data: { counter: 1, clerk: { id: 'cc01', name: 'Nguyễn Thị Lan' } } },
    ]);
    await eventually(() => clerk.locator('.signed-in').textContent()).toBe('Nguyễn Thị Lan');
    await eventually(() => tvCounter1.locator('.counter-clerk').textContent()).toBe('Nguyễn Thị Lan');
    await eventually(() => counter1()).toMatchObject({
      status: 'open',
      clerk: { id: 'cc01' },
      current: null,
    });

    // Next: A001 is called.
    await causes(box, () => button('next').click(), [
      { type: 'ticket.called', data: { number: 'A001', counter: 1, how: 'next' } },
    ]);
    await eventually(() => panelNumber.textContent()).toBe('A001');
    await eventually(() => tvCounter1.locator('.counter-ticket').textContent()).toBe('A001');

    // Recall: the same citizen is called again, once.
    await causes(box, () => button('recall').click(), [
      { type: 'ticket.recalled', data: { number: 'A001', counter: 1, recalls: 1 } },
    ]);
    await eventually(() => panelState.textContent()).toBe('Đang mời (gọi lại 1 lần)');
    await eventually(() => counter1()?.current).toMatchObject({
      number: 'A001',
      state: 'called',
      recalls: 1,
    });
    expect(await clerk.locator('.message').textContent()).toBe('Gọi lại: số A001');

    // Serve: the citizen is at the counter; recall, no-show and serve no longer apply.
    await causes(box, () => button('serve').click(), [
      { type: 'ticket.serving', data: { number: 'A001', counter: 1, implicit: false } },
    ]);
    await eventually(() => panelState.textContent()).toBe('Đang phục vụ');
    await eventually(() => counter1()?.current).toMatchObject({ number: 'A001', state: 'serving' });
    for (const a of ['recall', 'no_show', 'serve']) expect(await button(a).isDisabled()).toBe(true);
    expect(await button('finish').isEnabled()).toBe(true);

    // Transfer: A001 goes to Hộ tịch at counter 2; counter 1 is free again.
    await clerk.locator('#transfer-service').selectOption('ho-tich');
    await clerk.locator('#transfer-counter').selectOption('2');
    await causes(box, () => clerk.getByRole('button', { name: 'Chuyển (T)' }).click(), [
      {
        type: 'ticket.transferred',
        data: { number: 'A001', fromCounter: 1, toService: 'ho-tich', toCounter: 2 },
      },
    ]);
    await eventually(() => panelNumber.textContent()).toBe('—');
    await eventually(() => panelState.textContent()).toBe('Chưa gọi số');
    await eventually(() => tvCounter1.locator('.counter-ticket').textContent()).toBe('—');
    await eventually(() => counter1()).toMatchObject({ status: 'open', current: null });
    // Counter 2 calls next and gets A001, the ticket sent there (nobody else waits for its services).
    const keypad2 = await box.connect('keypad-2');
    const atTwo = await request(keypad2, 'lobby/v1/counters/2/cmd/next');
    expect(atTwo.data?.ticket).toMatchObject({ number: 'A001' });
    await eventually(() => (state.get(COUNTER_2) as CounterStateMsg | undefined)?.current?.number).toBe(
      'A001',
    );
    await eventually(() => tv.locator('[data-counter="2"] .counter-ticket').textContent()).toBe('A001');

    // No-show: A002 is called and does not come.
    await causes(box, () => button('next').click(), [
      { type: 'ticket.called', data: { number: 'A002', counter: 1 } },
    ]);
    await eventually(() => panelNumber.textContent()).toBe('A002');
    // No-show asks once more: the first press only asks.
    await button('no_show').click();
    await eventually(() => button('no_show').textContent()).toContain('Xác nhận vắng mặt A002?');
    await causes(box, () => button('no_show').click(), [
      { type: 'ticket.no_show', data: { number: 'A002', counter: 1, reason: 'clerk', recalls: 0 } },
    ]);
    await eventually(() => panelNumber.textContent()).toBe('—');
    await eventually(() => tvCounter1.locator('.counter-ticket').textContent()).toBe('—');
    await eventually(() => counter1()?.current).toBeNull();

    // Call a number: the citizen of A002 comes back; the clerk types the number (lower case) and calls it,
    // ahead of A003, whom "next" would have called.
    await clerk.locator('#call-number').fill('a002');
    await causes(box, () => clerk.getByRole('button', { name: 'Gọi số (G)' }).click(), [
      { type: 'ticket.called', data: { number: 'A002', counter: 1, how: 'number' } },
    ]);
    await eventually(() => panelNumber.textContent()).toBe('A002');
    await eventually(() => tvCounter1.locator('.counter-ticket').textContent()).toBe('A002');
    await eventually(() => counter1()?.current).toMatchObject({ number: 'A002', state: 'called' });
    expect(await clerk.locator('#call-number').inputValue()).toBe('');

    // Pause: the counter stops taking the queue; "next" is off and the button offers to resume.
    await causes(box, () => button('pause').click(), [
      { type: 'counter.paused', data: { counter: 1, reason: null } },
    ]);
    await eventually(() => clerk.locator('.status').textContent()).toBe('Tạm dừng');
    await eventually(() => counter1()?.status).toBe('paused');
    await eventually(() => tvCounter1.getAttribute('class')).toContain('status-paused');
    expect(await button('next').isDisabled()).toBe(true);
    expect(await button('pause').count()).toBe(0);

    // Resume: open again.
    await causes(box, () => button('resume').click(), [{ type: 'counter.resumed', data: { counter: 1 } }]);
    await eventually(() => clerk.locator('.status').textContent()).toBe('Đang mở');
    await eventually(() => counter1()?.status).toBe('open');
    await eventually(() => tvCounter1.getAttribute('class')).toContain('status-open');
    expect(await button('next').isEnabled()).toBe(true);

    // Finish A002 (service began when it was called: the clerk never pressed serve).
    await causes(box, () => button('finish').click(), [
      { type: 'ticket.serving', data: { number: 'A002', implicit: true } },
      { type: 'ticket.finished', data: { number: 'A002', counter: 1, dossiers: [] } },
    ]);
    await eventually(() => panelNumber.textContent()).toBe('—');
    // Beside the buttons, today's figures for this counter (called 3 times: A001, A002, A002 again;
    // served 1, no-show 1, transferred 1) and its queue: A003, whom nobody called.
    await eventually(() => clerk.locator('.figures dd').allTextContents()).toEqual([
      '3',
      '1',
      '1',
      '1',
      expect.stringMatching(/^[\d.]+ phút$/),
    ]);
    expect(await clerk.locator('.queue li .queue-number').allTextContents()).toEqual(['A003']);
    expect(await clerk.locator('.queue li .queue-service').allTextContents()).toEqual(['Văn thư']);

    // Sign out: the panel goes back to its sign-in form, the TV drops the clerk's name, the counter closes.
    await causes(box, () => clerk.getByRole('button', { name: 'Đăng xuất' }).click(), [
      { type: 'counter.signed_out', data: { counter: 1, clerk: { id: 'cc01', name: 'Nguyễn Thị Lan' } } },
    ]);
    await clerk.locator('form.sign-in').waitFor();
    await eventually(() => tvCounter1.locator('.counter-clerk').textContent()).toBe('');
    await eventually(() => tvCounter1.locator('.counter-ticket').textContent()).toBe('Đóng');
    await eventually(() => counter1()).toMatchObject({ status: 'closed', clerk: null, current: null });

    // What a screen connecting now reads: the retained copy, not only the live messages above.
    const late = await box.connect('tv-2.late');
    const retained = (await nextMessage(late, COUNTER_1)).body as CounterStateMsg;
    expect(retained).toMatchObject({ status: 'closed', clerk: null, current: null });
    const waiting = await request(await box.connect('keypad-1'), 'lobby/v1/counters/1/cmd/next');
    expect(waiting.data?.ticket).toMatchObject({ number: 'A003' }); // A003 was never called by mistake
  });

  it('the keyboard shortcuts press the same buttons: R recall, S serve, V no-show, P pause and resume', async () => {
    const box = await startWebBox();
    boxes.push(box);
    const clerk = await pairedPage(
      await browser.newContext({ viewport: DESKTOP }),
      box,
      'clerk-panel-1',
      '/clerk',
    );
    const kiosk = await box.connect('kiosk-2');
    for (let i = 0; i < 2; i++)
      expect((await request(kiosk, 'lobby/v1/tickets/request', { service: 'van-thu' })).status).toBe('ok');
    await eventually(() => clerk.locator('#clerk option[value="cc02"]').count()).toBe(1);
    await clerk.locator('#clerk').selectOption('cc02');
    await clerk.getByRole('button', { name: 'Đăng nhập' }).click();
    const next = clerk.locator('button[data-action="next"]');
    await eventually(() => next.isEnabled()).toBe(true);
    const key = (k: string) => async () => {
      // A shortcut goes to an enabled button only: wait for the panel to be idle (after the last reply).
      await eventually(() => clerk.locator('button[data-action="next"]:disabled').count()).toBe(0);
      await clerk.locator('body').press(k);
    };

    await causes(box, key('n'), [{ type: 'ticket.called', data: { number: 'A001', counter: 1 } }]);
    await eventually(() => clerk.locator('.current-number').textContent()).toBe('A001');
    await causes(box, key('r'), [{ type: 'ticket.recalled', data: { number: 'A001', recalls: 1 } }]);
    await eventually(() => clerk.locator('.current-state').textContent()).toContain('gọi lại 1 lần');
    await causes(box, key('s'), [{ type: 'ticket.serving', data: { number: 'A001', implicit: false } }]);
    await eventually(() => clerk.locator('.current-state').textContent()).toBe('Đang phục vụ');
    await causes(box, key('n'), [
      { type: 'ticket.finished', data: { number: 'A001', implicit: true } },
      { type: 'ticket.called', data: { number: 'A002', counter: 1 } },
    ]);
    await eventually(() => clerk.locator('.current-number').textContent()).toBe('A002');
    await key('v')(); // asks
    await eventually(() => clerk.locator('button[data-action="no_show"]').textContent()).toContain(
      'Xác nhận',
    );
    await causes(box, key('v'), [{ type: 'ticket.no_show', data: { number: 'A002', reason: 'clerk' } }]);
    await eventually(() => clerk.locator('.current-number').textContent()).toBe('—');
    await causes(box, key('p'), [{ type: 'counter.paused', data: { counter: 1 } }]);
    await eventually(() => clerk.locator('.status').textContent()).toBe('Tạm dừng');
    await causes(box, async () => {
      await eventually(() => clerk.locator('button[data-action="resume"]:enabled').count()).toBe(1);
      await clerk.locator('body').press('p');
    }, [{ type: 'counter.resumed', data: { counter: 1 } }]);
    await eventually(() => clerk.locator('.status').textContent()).toBe('Đang mở');
  });
  it('a refused dossier code does not block Finish, and the error says what a code looks like', async () => {
    const box = await startWebBox();
    boxes.push(box);
    const clerk = await signedInPanel(box, 'cc01');
    const kiosk = await box.connect('kiosk-2');
    expect((await request(kiosk, 'lobby/v1/tickets/request', { service: 'van-thu' })).status).toBe('ok');
    await causes(box, () => clerk.locator('button[data-action="next"]').click(), [
      { type: 'ticket.called', data: { number: 'A001', counter: 1 } },
    ]);
    await eventually(() => clerk.locator('.current-number').textContent()).toBe('A001');

    // Scanned, refused: the message shows the accepted format.
    await clerk.locator('#dossier').fill('H31.24-251206-0001');
    await clerk.locator('#dossier').press('Enter');
    const error = clerk.locator('.message.error');
    await eventually(() => error.textContent()).toContain('H31.24-251206-0001');
    expect(await error.textContent()).toContain('000.00.04.H12-261122-0015');
    // Finish works: the ticket is finished without the refused code, and the panel says it was left out.
    await causes(box, () => clerk.locator('button[data-action="finish"]').click(), [
      { type: 'ticket.serving', data: { number: 'A001', implicit: true } },
      { type: 'ticket.finished', data: { number: 'A001', counter: 1, dossiers: [] } },
    ]);
    await eventually(() => clerk.locator('.current-number').textContent()).toBe('—');
    expect(await clerk.locator('.message').textContent()).toContain('H31.24-251206-0001');

    // Typed and never scanned: the first Finish is refused with the format, the second finishes.
    expect((await request(kiosk, 'lobby/v1/tickets/request', { service: 'van-thu' })).status).toBe('ok');
    await eventually(() => clerk.locator('button[data-action="next"]:enabled').count()).toBe(1);
    await clerk.locator('button[data-action="next"]').click();
    await eventually(() => clerk.locator('.current-number').textContent()).toBe('A002');
    await clerk.locator('#dossier').fill('HS-12345');
    await clerk.locator('button[data-action="finish"]').click();
    await eventually(() => error.textContent()).toContain('Kết thúc lần nữa');
    await causes(box, () => clerk.locator('button[data-action="finish"]').click(), [
      { type: 'ticket.serving', data: { number: 'A002', implicit: true } },
      { type: 'ticket.finished', data: { number: 'A002', counter: 1, dossiers: [] } },
    ]);
  });

  it('the queue in calling order with priority marked and waiting times; no-show and calling over a citizen ask first', async () => {
    const box = await startWebBox();
    boxes.push(box);
    const clerk = await signedInPanel(box, 'cc01');
    const kiosk = await box.connect('kiosk-2');
    for (const body of [{}, {}, { priority: 'elderly' }])
      expect((await request(kiosk, 'lobby/v1/tickets/request', { service: 'van-thu', ...body })).status).toBe(
        'ok',
      );
    // A003 (priority) first: the order `next` will call.
    await eventually(() => clerk.locator('.queue li .queue-number').allTextContents()).toEqual([
      'A003',
      'A001',
      'A002',
    ]);
    expect(await clerk.locator('.queue li').first().locator('.badge-priority').textContent()).toBe(
      'Ưu tiên: người cao tuổi',
    );
    expect(await clerk.locator('.queue li .queue-wait').allTextContents()).toEqual([
      'chờ 0 phút',
      'chờ 0 phút',
      'chờ 0 phút',
    ]);
    const button = (action: string) => clerk.locator(`button[data-action="${action}"]`);
    await causes(box, () => button('next').click(), [
      { type: 'ticket.called', data: { number: 'A003', counter: 1, how: 'next' } },
    ]);
    await eventually(() => clerk.locator('.current-number').textContent()).toBe('A003');
    await causes(box, () => button('serve').click(), [{ type: 'ticket.serving', data: { number: 'A003' } }]);
    await eventually(() => clerk.locator('.current-state').textContent()).toBe('Đang phục vụ');

    // Calling A002 while A003 is at the counter: the panel asks, nothing happens until the second press.
    const mark = box.box.store.headSeq;
    await clerk.locator('#call-number').fill('A002');
    await clerk.getByRole('button', { name: 'Gọi số (G)' }).click();
    await eventually(() => clerk.locator('.message').textContent()).toContain('Số A003 còn ở quầy');
    expect(logSince(box, mark)).toEqual([]);
    expect(await clerk.locator('.current-number').textContent()).toBe('A003');
    await causes(box, () => clerk.getByRole('button', { name: 'Gọi số (G)' }).click(), [
      { type: 'ticket.finished', data: { number: 'A003' } },
      { type: 'ticket.called', data: { number: 'A002', counter: 1, how: 'number' } },
    ]);
    await eventually(() => clerk.locator('.current-number').textContent()).toBe('A002');

    // No-show asks once more; the first press changes nothing.
    const before = box.box.store.headSeq;
    await button('no_show').click();
    await eventually(() => button('no_show').textContent()).toContain('Xác nhận vắng mặt A002?');
    expect(logSince(box, before)).toEqual([]);
    await causes(box, () => button('no_show').click(), [
      { type: 'ticket.no_show', data: { number: 'A002', reason: 'clerk' } },
    ]);
  });
});
