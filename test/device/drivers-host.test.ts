// The seam between the box and the hardware it drives itself, and device status (a kiosk's printer).
import { afterEach, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { topics, type Reply } from '../../protocol/index.js';
import { DRIVERS, type DriverHost } from '../../device/drivers/index.js';
import type { PeripheralConfig } from '../../device/config/schema.js';
import {
  DEVICES,
  connectDevice,
  nextMessage,
  officeConfig,
  peripheralsFor,
  request,
  startTestBox,
  type TestBox,
} from '../support/office.js';

let tb: TestBox | undefined;

/** Resolves with `p`, or fails naming `what` after `ms`. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** Polls until `check` holds, or fails naming `what` after `ms`. */
async function waitUntil(check: () => boolean, ms: number, what: string): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`no ${what} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The kiosk reports its printer's state on its retained status topic, as a real kiosk does. */
function reportPrinter(kiosk: MqttClient, state: string, canPrint: boolean) {
  return kiosk.publishAsync(
    topics.status('kiosk-1'),
    JSON.stringify({ ts: new Date().toISOString(), ok: canPrint, printer: { state, canPrint } }),
    { qos: 1, retain: true },
  );
}
afterEach(async () => {
  await tb?.close();
  tb = undefined;
});

describe('box-driven hardware', () => {
  it('a driven keypad acts for its counter through the same ACL and desk, and is shown online', async () => {
    let host: DriverHost | undefined;
    let self: PeripheralConfig | undefined;
    const closed: string[] = [];
    const saved = DRIVERS['gpio-keypad'];
    DRIVERS['gpio-keypad'] = async (h, p) => {
      host = h;
      self = p;
      await h.reportPresence(p.id, true);
      return { close: async () => void closed.push(p.id) };
    };
    try {
      const driven: PeripheralConfig = {
        id: 'keypad-hw-1',
        role: 'keypad',
        counter: 1,
        driver: { kind: 'gpio-keypad', buttons: [{ pin: 17, action: 'next' }] } as PeripheralConfig['driver'],
      };
      const config = officeConfig([...(await peripheralsFor(DEVICES)), driven], {
        hardware: { gpio: { backend: 'sim', address: '127.0.0.1:9' } },
      });
      tb = await startTestBox({ config });
      expect(self?.id).toBe('keypad-hw-1');
      const tv = await tb.connect('display-tv');
      await tv.subscribeAsync(topics.presence('keypad-hw-1'));
      const presence = await nextMessage(tv, topics.presence('keypad-hw-1'));
      expect(presence.body).toMatchObject({ online: true, driven: true });

      const kiosk = await tb.connect('kiosk-1');
      expect((await request(kiosk, topics.ticketRequest(), { service: 'van-thu' })).status).toBe('ok');
      // The call reaches the driver's subscription like any other subscriber's (within the wait's limit).
      let off: () => void = () => undefined;
      const called = new Promise<unknown>((resolve) => {
        off = host!.subscribe('lobby/v1/events/ticket/#', (t, p) => {
          if (t === 'lobby/v1/events/ticket/called') resolve(JSON.parse(p.toString()));
        });
      });
      const ok: Reply = await host!.request(self!, topics.counterCommand(1, 'next'), { id: 'hw-1' });
      expect(ok).toMatchObject({ status: 'ok', data: { ticket: { number: 'A001' } } });
      expect(await within(called, 5000, 'ticket.called on the driver host')).toMatchObject({
        data: { number: 'A001', counter: 1 },
      });
      off();
      // Bound to counter 1: counter 2 is refused exactly as for an MQTT keypad.
      const denied = await host!.request(self!, topics.counterCommand(2, 'next'), { id: 'hw-2' });
      expect(denied).toMatchObject({ status: 'error', error: { code: 'forbidden' } });
      // Hardware the box drives has no secret: nobody can log in as it.
      await expect(connectDevice(tb.mqttUrl, 'keypad-hw-1', '')).rejects.toThrow();
      await tb.close();
      tb = undefined;
      expect(closed).toEqual(['keypad-hw-1']);
    } finally {
      if (saved) DRIVERS['gpio-keypad'] = saved;
      else delete DRIVERS['gpio-keypad'];
    }
  });

  it('a peripheral with neither a secret nor a driver is a config error', () => {
    expect(() => officeConfig([{ id: 'keypad-9', role: 'keypad', counter: 1 }])).toThrow(
      /peripherals\[0\]\.secretHash: a device that logs in over MQTT needs a secret/,
    );
  });
});

describe('device status and the printer', () => {
  it('a kiosk whose printer is out of paper is refused a paper ticket and may take one on screen', async () => {
    tb = await startTestBox();
    const kiosk = await tb.connect('kiosk-1');
    await kiosk.subscribeAsync(topics.print('kiosk-1'));
    const prints: unknown[] = [];
    kiosk.on('message', (t, p) => {
      if (t === topics.print('kiosk-1')) prints.push(JSON.parse(p.toString()));
    });
    const status = (state: string, canPrint: boolean) => reportPrinter(kiosk, state, canPrint);
    await status('paper_out', false);
    const refused = await request(kiosk, topics.ticketRequest(), { service: 'van-thu' });
    expect(refused).toMatchObject({ status: 'error', error: { code: 'printer_unavailable' } });
    expect(refused.error?.message.vi).toContain('paper_out');

    const onScreen = await request(kiosk, topics.ticketRequest(), { service: 'van-thu', delivery: 'screen' });
    expect(onScreen).toMatchObject({ status: 'ok', data: { ticket: { number: 'A001' } } });

    await status('paper_near_end', true);
    const printed = await request(kiosk, topics.ticketRequest(), { service: 'van-thu' });
    expect(printed).toMatchObject({ status: 'ok', data: { ticket: { number: 'A002' } } });
    // Only the paper ticket was sent to the printer: a print job for A001 would have come before A002's.
    await waitUntil(() => prints.length > 0, 5000, "A002's print job");
    expect(prints).toEqual([
      expect.objectContaining({ ticket: expect.objectContaining({ number: 'A002' }) }),
    ]);

    // The lobby TV (and admin screens) see the kiosk's status, retained.
    const tv = await tb.connect('display-tv');
    await tv.subscribeAsync(topics.status('kiosk-1'));
    expect((await nextMessage(tv, topics.status('kiosk-1'))).body).toMatchObject({
      printer: { state: 'paper_near_end' },
    });
  });

  it('a retry of a ticket already issued gets its first answer, even when the printer has run out since', async () => {
    // The kiosk printed A001, its reply was lost, and the paper ran out before it retried: the citizen
    // holds A001, so the retry must say A001 (a duplicate), not "printer unavailable".
    tb = await startTestBox();
    const kiosk = await tb.connect('kiosk-1');
    const status = (state: string, canPrint: boolean) => reportPrinter(kiosk, state, canPrint);
    await status('ready', true);
    const first = await request(kiosk, topics.ticketRequest(), { id: 'press-1', service: 'van-thu' });
    expect(first).toMatchObject({ status: 'ok', data: { ticket: { number: 'A001' } } });
    await status('paper_out', false);
    const retry = await request(kiosk, topics.ticketRequest(), { id: 'press-1', service: 'van-thu' });
    expect(retry).toMatchObject({ status: 'ok', data: { duplicate: true, ticket: { number: 'A001' } } });
    // A new paper ticket is still refused, and nothing was issued in between.
    const fresh = await request(kiosk, topics.ticketRequest(), { id: 'press-2', service: 'van-thu' });
    expect(fresh).toMatchObject({ status: 'error', error: { code: 'printer_unavailable' } });
    const onScreen = await request(kiosk, topics.ticketRequest(), { service: 'van-thu', delivery: 'screen' });
    expect(onScreen).toMatchObject({ status: 'ok', data: { ticket: { number: 'A002' } } });
  });

  it("a device may not publish another device's status, nor a malformed one", async () => {
    tb = await startTestBox();
    const kiosk = await tb.connect('kiosk-1');
    const gone = new Promise<void>((r) => kiosk.once('close', () => r()));
    kiosk.publish(topics.status('keypad-1'), JSON.stringify({ ts: 'x', ok: true }), { qos: 1 });
    await gone;
    const again = await tb.connect('kiosk-1.b');
    const replies: Reply[] = [];
    await again.subscribeAsync(topics.reply('kiosk-1'));
    again.on('message', (_t, p) => replies.push(JSON.parse(p.toString()) as Reply));
    const closed = new Promise<void>((r) => again.once('close', () => r()));
    again.publish(topics.status('kiosk-1'), JSON.stringify({ ok: 'yes' }), { qos: 1 });
    await closed;
    expect(replies[0]).toMatchObject({ status: 'error', error: { code: 'schema_invalid' } });
  });
});
