// Serial keypads and barcode scanners driven by a real box, against their simulators over TCP.
import { afterEach, describe, expect, it } from 'vitest';
import { topics } from '../../protocol/index.js';
import type { PeripheralConfig } from '../../device/config/schema.js';
import { LineReader } from '../../device/drivers/serial/lines.js';
import { parseKeypadLine } from '../../device/drivers/serial/line-devices.js';
import {
  startKeypadSim,
  startScannerSim,
  type KeypadSim,
  type ScannerSim,
} from '../../hardware-sim/serial/line-device-sim.js';
import { nextMessage, request, startTestBox, type TestBox } from '../support/office.js';
import { drivenOffice, eventually } from './serial-support.js';

describe('line reading', () => {
  it('splits CR, LF and CR LF lines across chunks, and drops noise with a reason', () => {
    const r = new LineReader(16);
    const ev = [
      ...r.push(Buffer.from('NEXT\r\nREC')),
      ...r.push(Buffer.from('ALL\rCALL A012\n\x00\x1b[2J\xff\r\n', 'latin1')),
      ...r.push(Buffer.from('x'.repeat(20))),
      ...r.push(Buffer.from('yyy\r\nRESUME\n')),
    ];
    expect(ev).toEqual([
      { kind: 'line', text: 'NEXT' },
      { kind: 'line', text: 'RECALL' },
      { kind: 'line', text: 'CALL A012' },
      { kind: 'noise', reason: 'not_printable', bytes: 6, sample: '\\x00\\x1b[2J\\xff' },
      { kind: 'noise', reason: 'too_long', bytes: 20, sample: 'x'.repeat(20) },
      { kind: 'line', text: 'RESUME' },
    ]);
  });

  it('reads keypad lines as counter commands', () => {
    expect(parseKeypadLine('next')).toEqual({ ok: true, action: 'next', body: {} });
    expect(parseKeypadLine('CALL a012')).toEqual({ ok: true, action: 'call', body: { number: 'A012' } });
    expect(parseKeypadLine('TRANSFER ho-tich 3')).toEqual({
      ok: true,
      action: 'transfer',
      body: { toService: 'ho-tich', toCounter: 3 },
    });
    expect(parseKeypadLine('TRANSFER #2')).toEqual({ ok: true, action: 'transfer', body: { toCounter: 2 } });
    expect(parseKeypadLine('FINISH 000.00.04.H12-261123-0001')).toMatchObject({
      body: { dossiers: ['000.00.04.H12-261123-0001'] },
    });
    expect(parseKeypadLine('PAUSE Họp giao ban')).toMatchObject({ body: { reason: 'Họp giao ban' } });
    expect(parseKeypadLine('NEXT 3')).toEqual({ ok: false, error: 'NEXT takes no argument' });
    expect(parseKeypadLine('LAUNCH')).toEqual({ ok: false, error: 'unknown command "LAUNCH"' });
  });
});

let tb: TestBox | undefined;
let keypadSim: KeypadSim | undefined;
let scannerSim: ScannerSim | undefined;
afterEach(async () => {
  await tb?.close();
  await keypadSim?.close();
  await scannerSim?.close();
  tb = keypadSim = scannerSim = undefined;
});

async function office() {
  keypadSim = await startKeypadSim();
  scannerSim = await startScannerSim({ eol: '\r' });
  const driven: PeripheralConfig[] = [
    {
      id: 'keypad-s1',
      role: 'keypad',
      counter: 1,
      driver: { kind: 'serial-keypad', link: keypadSim.link, reconnect: { minMs: 50, maxMs: 200 } },
    },
    {
      id: 'scanner-s1',
      role: 'scanner',
      counter: 1,
      driver: { kind: 'serial-scanner', link: scannerSim.link, reconnect: { minMs: 50, maxMs: 200 } },
    },
  ];
  tb = await startTestBox({ config: await drivenOffice({}, driven) });
  await keypadSim.connection();
  await scannerSim.connection();
  return { tb, keypad: keypadSim, scanner: scannerSim };
}

const linesOf = (t: TestBox, id: string) =>
  (t.box.broker.statusOf(id) as { lines?: Record<string, number> } | undefined)?.lines;

describe('serial keypad', () => {
  it('gives the same counter commands as an MQTT keypad, and answers each line', async () => {
    const { tb, keypad } = await office();
    const kiosk = await tb.connect('kiosk-1');
    expect(await keypad.press('SIGNIN cc01')).toBe('OK SIGN_IN');
    expect(await keypad.press('NEXT')).toBe('ERR queue_empty Khong con nguoi cho cho quay 1.');
    await request(kiosk, topics.ticketRequest(), { service: 'van-thu' });
    await request(kiosk, topics.ticketRequest(), { service: 'van-thu' });
    expect(await keypad.press('NEXT')).toBe('OK NEXT A001');
    expect(await keypad.press('recall')).toBe('OK RECALL A001');
    expect(await keypad.press('FINISH 000.00.04.H12-261123-0001')).toBe('OK FINISH A001');
    expect(await keypad.press('CALL A002')).toBe('OK CALL A002');
    expect(await keypad.press('TRANSFER ho-tich')).toBe('OK TRANSFER A002');
    expect(await keypad.press('DANCE')).toBe('ERR bad_command unknown command "DANCE"');
    // The counter's state is what the keypad did, seen by any display.
    const tv = await tb.connect('display-tv');
    const state = await nextMessage(tv, topics.counterState(1));
    expect(state.body).toMatchObject({ status: 'open', clerk: { id: 'cc01' }, current: null });
    // Its counts are in its status (lobby/v1/status/keypad-s1), for an admin.
    await eventually(() => linesOf(tb, 'keypad-s1')?.lines === 8, 'counts published');
    expect(linesOf(tb, 'keypad-s1')).toEqual({ lines: 8, accepted: 6, refused: 2, noise: 0 });
  });

  it('reconnects when its cable is pulled', async () => {
    const { tb, keypad } = await office();
    keypad.unplug();
    await eventually(() => !keypad.connected, 'unplugged');
    await keypad.connection();
    const kiosk = await tb.connect('kiosk-1');
    await request(kiosk, topics.ticketRequest(), { service: 'van-thu' });
    expect(await keypad.press('NEXT')).toBe('OK NEXT A001');
  });
});

describe('serial barcode scanner', () => {
  it('turns a scanned dossier code into a scan for its counter; noise is dropped and counted, never fatal', async () => {
    const { tb, scanner } = await office();
    const kiosk = await tb.connect('kiosk-1');
    const keypad = await tb.connect('keypad-1');
    await request(kiosk, topics.ticketRequest(), { service: 'van-thu' });
    await request(keypad, topics.counterCommand(1, 'next'));

    scanner.noise(Buffer.from([0x00, 0xff, 0x1b, 0x5b, 0x41, 0x0d])); // binary garbage, then CR
    scanner.noise(Buffer.from('9'.repeat(300) + '\r')); // a stuck trigger
    scanner.scan('HS-12345'); // not a dossier code: the box refuses it
    scanner.noise(Buffer.from('000.00.04.')); // a code arriving in two pieces
    scanner.noise(Buffer.from('H12-261123-0007\r'));
    await eventually(() => linesOf(tb, 'scanner-s1')?.accepted === 1, 'the good scan accepted');
    expect(linesOf(tb, 'scanner-s1')).toEqual({ lines: 2, accepted: 1, refused: 1, noise: 2 });

    // The scan marked the citizen as being served and linked the code: finishing with it links nothing new.
    const state = await nextMessage(keypad, topics.counterState(1));
    expect(state.body).toMatchObject({ current: { number: 'A001', state: 'serving' } });
    const fin = await request(keypad, topics.counterCommand(1, 'finish'), {
      dossiers: ['000.00.04.H12-261123-0007'],
    });
    expect(fin).toMatchObject({ status: 'ok', data: { events: ['ticket.finished'] } });
  });

  it('a scan with nobody at the counter is refused by the box, and the office pattern is honoured', async () => {
    scannerSim = await startScannerSim();
    const driven: PeripheralConfig = {
      id: 'scanner-s1',
      role: 'scanner',
      counter: 1,
      driver: { kind: 'serial-scanner', link: scannerSim.link },
    };
    tb = await startTestBox({
      config: await drivenOffice({}, [driven], { dossierCodePattern: '^HP-[0-9]{6}$' }),
    });
    await scannerSim.connection();
    scannerSim.scan('HP-000123');
    await eventually(() => linesOf(tb!, 'scanner-s1')?.refused === 1, 'refused: no current ticket');
    const kiosk = await tb.connect('kiosk-1');
    const keypad = await tb.connect('keypad-1');
    await request(kiosk, topics.ticketRequest(), { service: 'van-thu' });
    await request(keypad, topics.counterCommand(1, 'next'));
    scannerSim.scan('HP-000123');
    await eventually(() => linesOf(tb!, 'scanner-s1')?.accepted === 1, 'office pattern accepted');
  });
});
