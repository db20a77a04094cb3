// What peripherals receive: LED text, service state, and replies that carry the ticket they concern.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LedText, ServiceStateMsg } from '../../protocol/index.js';
import { nextMessage, request, startTestBox, type TestBox } from '../support/office.js';

let office: TestBox;
beforeAll(async () => {
  office = await startTestBox();
});
afterAll(async () => {
  await office?.close();
});

describe('outputs', () => {
  it('an LED board blinks for a new call, but its retained text never blinks', async () => {
    const kiosk = await office.connect('kiosk-1');
    const keypad = await office.connect('keypad-1');
    const board = await office.connect('led-1');
    await request(kiosk, 'lobby/v1/tickets/request', { service: 'van-thu' });
    const blink = nextMessage(board, 'lobby/v1/devices/led-1/led', (_t, b) => (b as LedText).blink);
    const called = await request(keypad, 'lobby/v1/counters/1/cmd/next');
    const number = (called.data?.ticket as { number: string }).number;
    expect(((await blink).body as LedText).lines).toEqual(['Quầy 1', number]);
    const later = await office.connect('led-1.later'); // a board reconnecting afterwards
    const retained = await nextMessage(later, 'lobby/v1/devices/led-1/led');
    expect(retained.body).toMatchObject({ lines: ['Quầy 1', number], blink: false });
  });

  it('a transfer does not rewrite the last number issued or called for the service it left', async () => {
    const kiosk = await office.connect('kiosk-1');
    const panel = await office.connect('clerk-panel-2');
    const tv = await office.connect('display-tv');
    const first = await request(kiosk, 'lobby/v1/tickets/request', { service: 'chung-thuc' });
    const second = await request(kiosk, 'lobby/v1/tickets/request', { service: 'chung-thuc' });
    const n1 = (first.data?.ticket as { number: string }).number;
    const n2 = (second.data?.ticket as { number: string }).number;
    expect((await request(panel, 'lobby/v1/counters/2/cmd/next')).data?.ticket).toMatchObject({ number: n1 });
    const state = nextMessage(
      tv,
      'lobby/v1/state/services/chung-thuc',
      (_t, b) => (b as ServiceStateMsg).waiting === 1,
    );
    const moved = await request(panel, 'lobby/v1/counters/2/cmd/transfer', { toService: 'ho-tich' });
    expect(moved.status).toBe('ok');
    expect((await state).body).toMatchObject({ lastIssued: n2, lastCalled: n1 });
  });

  it('every reply about a ticket names it; a new ticket carries what a kiosk prints', async () => {
    const kiosk = await office.connect('kiosk-1');
    const keypad = await office.connect('keypad-1');
    const issued = await request(kiosk, 'lobby/v1/tickets/request', {
      service: 'van-thu',
      priority: 'elderly',
    });
    expect(issued.data?.ticket).toMatchObject({
      serviceName: 'Văn thư',
      priority: 'elderly',
      officeName: 'Bộ phận một cửa xã Thử Nghiệm',
      issuedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    const number = (issued.data?.ticket as { number: string }).number;
    expect((await request(keypad, 'lobby/v1/counters/1/cmd/next')).data?.ticket).toMatchObject({ number });
    expect((await request(keypad, 'lobby/v1/counters/1/cmd/serve')).data?.ticket).toMatchObject({ number });
    // Scanners and keyboards add spaces: codes are trimmed in finish as in scan.
    const finished = await request(keypad, 'lobby/v1/counters/1/cmd/finish', {
      dossiers: [' 000.00.04.H12-261122-0009 '],
    });
    expect(finished.status).toBe('ok');
    expect(finished.data?.ticket).toMatchObject({ number });
  });
});
