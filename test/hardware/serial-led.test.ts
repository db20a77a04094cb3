// LED boards on a shared RS-485 bus, driven by a real box, against the virtual bus; and the frame itself.
import { pino, type Logger } from 'pino';
import { SerialPortMock } from 'serialport';
import { afterEach, describe, expect, it } from 'vitest';
import {
  LedCommand,
  LedFrameDecoder,
  asciiFold,
  crc16Modbus,
  decodeShowPayload,
  encodeLedFrame,
  encodeShowPayload,
  abbreviateLine,
  fitLedText,
  topics,
} from '../../protocol/index.js';
import type { PeripheralConfig } from '../../device/config/schema.js';
import { Rs485Bus } from '../../device/drivers/serial/led/bus.js';
import { ReconnectingLink, openSerialPort } from '../../device/drivers/serial/link.js';
import {
  LedBoards,
  startLedBusSim,
  type LedBusSim,
  type LedBusSimOptions,
} from '../../hardware-sim/led/led-bus-sim.js';
import { nextMessage, quietLog, request, startTestBox, type TestBox } from '../support/office.js';
import { drivenOffice, eventually } from './serial-support.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('LED serial frame', () => {
  it('uses CRC-16/MODBUS (check value of "123456789" is 0x4B37)', () => {
    expect(crc16Modbus(Buffer.from('123456789'))).toBe(0x4b37);
  });

  it('encodes byte-exact frames (golden bytes computed independently, as in LED-SERIAL.md)', () => {
    expect(
      hex(encodeLedFrame({ address: 3, seq: 7, command: LedCommand.ping, payload: new Uint8Array(0) })),
    ).toBe('02030701000030b4');
    const payload = encodeShowPayload({
      lines: ['Quầy 1', 'A012'],
      blink: true,
      blank: false,
      brightness: 80,
    });
    expect(hex(payload)).toBe('015002' + '08' + hex(Buffer.from('Quầy 1')) + '04' + hex(Buffer.from('A012')));
    expect(hex(encodeLedFrame({ address: 1, seq: 1, command: LedCommand.show, payload }))).toBe(
      '020101101100015002085175e1baa77920310441303132f059',
    );
  });

  it('decodes across split chunks, skips noise and a frame with a bad CRC, and keeps the next frame', () => {
    const good = encodeLedFrame({ address: 2, seq: 9, command: LedCommand.ack, payload: new Uint8Array(0) });
    const bad = Buffer.from(good);
    bad[bad.length - 1] = (bad[bad.length - 1] as number) ^ 0xff;
    const d = new LedFrameDecoder();
    const stream = Buffer.concat([Buffer.from([0xff, 0x00, 0x13]), bad, good]);
    const events = [...d.push(stream.subarray(0, 7)), ...d.push(stream.subarray(7))];
    const frames = events.filter((e) => e.kind === 'frame');
    expect(frames).toEqual([
      { kind: 'frame', frame: { address: 2, seq: 9, command: 6, payload: new Uint8Array(0) } },
    ]);
    expect(events.some((e) => e.kind === 'garbage' && e.reason === 'bad_crc')).toBe(true);
    expect(d.pending).toBe(0);
  });

  it('refuses malformed SHOW payloads', () => {
    expect(decodeShowPayload(Uint8Array.of(0, 100, 1, 5, 0x41))).toBeNull(); // line longer than the payload
    expect(decodeShowPayload(Uint8Array.of(0, 101, 0))).toBeNull(); // brightness over 100
    expect(decodeShowPayload(Uint8Array.of(0, 50, 1, 2, 0xc3, 0x28))).toBeNull(); // not UTF-8
    expect(decodeShowPayload(Uint8Array.of(2, 50, 0))).toEqual({
      lines: [],
      blink: false,
      blank: true,
      brightness: 50,
    });
  });

  it('fits text to the board: width, lines, and diacritics stripped where the board has no Vietnamese glyphs', () => {
    expect(asciiFold('Quầy 2 – Chứng thực, hộ tịch → Đất đai')).toBe(
      'Quay 2 - Chung thuc, ho tich > Dat dai',
    );
    expect(
      fitLedText(['Quầy 2 – Chứng thực, hộ tịch', 'B012', 'x'], { columns: 12, lines: 2, glyphs: 'ascii' }),
    ).toEqual(['Q.2 Chung', 'B012']);
    // A name too long is shortened to what still reads, never cut mid-word ("Quầy 2 - Chứng t").
    expect(fitLedText(['Quầy 2 – Chứng thực'], { columns: 16, lines: 1, glyphs: 'vi' })).toEqual([
      'Q.2 Chứng thực',
    ]);
    expect(fitLedText(['Quầy 2 – Chứng thực'], { columns: 16, lines: 1, glyphs: 'ascii' })).toEqual([
      'Q.2 Chung thuc',
    ]);
    expect(
      fitLedText(['Quầy 1 - Văn thư', 'A001 → Quầy 12'], { columns: 16, lines: 2, glyphs: 'vi' }),
    ).toEqual(['Quầy 1 - Văn thư', 'A001 > Quầy 12']);
    expect(abbreviateLine('Quầy 12 - Văn thư', 16)).toBe('Quầy 12 Văn thư');
    expect(abbreviateLine('A001 > Quay 12', 12)).toBe('A001 > Q.12');
    expect(abbreviateLine('Xaydungnhaovadatdai', 8)).toBe('Xaydungn');
  });
});

const BUS = 'rs485-1';
const boardsOf = (sim: LedBusSim): PeripheralConfig[] =>
  [
    {
      id: 'led-c1',
      role: 'ledboard',
      counter: 1,
      driver: { kind: 'led-rs485', bus: BUS, address: 1, columns: 16, lines: 2, glyphs: 'vi' },
    },
    {
      id: 'led-c2',
      role: 'ledboard',
      counter: 2,
      driver: { kind: 'led-rs485', bus: BUS, address: 2, columns: 8, lines: 1 },
    },
    {
      id: 'led-hall',
      role: 'ledboard',
      driver: { kind: 'led-rs485', bus: BUS, address: 9, columns: 20, lines: 3, brightness: 60 },
    },
  ].map((p) => ({ ...p, name: `${p.id} on ${sim.link.tcp}` }) as PeripheralConfig);

let tb: TestBox | undefined;
let sim: LedBusSim | undefined;
afterEach(async () => {
  await tb?.close();
  await sim?.close();
  tb = sim = undefined;
});

/** The boards of `boardsOf`, as the simulated bus holds them. */
const BOARDS: LedBusSimOptions['boards'] = [
  { address: 1, columns: 16, lines: 2, glyphs: 'vi' },
  { address: 2, columns: 8, lines: 1 },
  { address: 9, columns: 20, lines: 3 },
];

async function officeWithBus(log?: Logger) {
  sim = await startLedBusSim({ boards: BOARDS });
  const config = await drivenOffice({}, boardsOf(sim), {
    hardware: {
      serial: {
        buses: [
          {
            id: BUS,
            link: sim.link,
            replyTimeoutMs: 150,
            retries: 2,
            pollMs: 150,
            reconnect: { minMs: 50, maxMs: 200 },
          },
        ],
      },
    },
  });
  tb = await startTestBox({ config, ...(log ? { log } : {}) });
  return { tb, sim };
}

describe('LED boards on one RS-485 bus', () => {
  it('each board shows its own text, fitted to its size and glyphs, byte-exact on the wire', async () => {
    const { tb, sim } = await officeWithBus();
    // Closed counter: its name, blank. The entrance shows the office name.
    await sim.waitFor(1, (s) => s.blank && s.lines[0] === 'Quầy 1');
    await sim.waitFor(9, (s) => s.lines[0] === 'Bo phan mot cua xa' && s.brightness === 60);

    const kiosk = await tb.connect('kiosk-1');
    const keypad = await tb.connect('keypad-1');
    await request(kiosk, topics.ticketRequest(), { service: 'van-thu' });
    await request(keypad, topics.counterCommand(1, 'next'));
    const shown = await sim.waitFor(1, (s) => s.lines[1] === 'A001' && s.blink);
    expect(shown).toEqual({ lines: ['Quầy 1', 'A001'], blink: true, blank: false, brightness: 100 });
    await sim.waitFor(9, (s) => s.lines[0] === 'A001 > Quay 1');

    // Byte-exact: the SHOW frame the board at address 1 got for the call.
    const payload = '016402085175e1baa7792031' + '0441303031'; // computed by hand: flags 1, 100 %, 2 lines
    const frame = sim.wire.find(
      (f) => f[1] === 1 && f[3] === LedCommand.show && hex(f.subarray(6, -2)) === payload,
    );
    expect(frame).toBeDefined();
    expect(hex(frame!)).toBe(
      hex(
        encodeLedFrame({
          address: 1,
          seq: frame![2] as number,
          command: 0x10,
          payload: Buffer.from(payload, 'hex'),
        }),
      ),
    );

    // A one-line ASCII board at counter 2 keeps the number, not the counter name.
    const kp2 = await tb.connect('keypad-2');
    await request(kiosk, topics.ticketRequest(), { service: 'chung-thuc' });
    await request(kp2, topics.counterCommand(2, 'next'));
    await sim.waitFor(2, (s) => s.lines.length === 1 && s.lines[0] === 'B001');
  });

  it('recovers from a garbled request, a garbled reply, a busy board and line noise', async () => {
    const { tb, sim } = await officeWithBus();
    await sim.waitFor(1, (s) => s.blank);
    const kiosk = await tb.connect('kiosk-1');
    const keypad = await tb.connect('keypad-1');
    await request(kiosk, topics.ticketRequest(), { service: 'van-thu' });
    await request(kiosk, topics.ticketRequest(), { service: 'van-thu' });
    sim.garbleRequests = 1;
    sim.board(1).garbleReplies = 1;
    sim.noise(Buffer.from([0x02, 0x01, 0xff, 0x00, 0x13, 0x37, 0x02]));
    await request(keypad, topics.counterCommand(1, 'next'));
    await sim.waitFor(1, (s) => s.lines[1] === 'A001');
    expect(sim.garbageBytes).toBeGreaterThan(0);
    sim.board(1).busyFor = 2;
    await request(keypad, topics.counterCommand(1, 'next'));
    await sim.waitFor(1, (s) => s.lines[1] === 'A002');
    // Busy through every retry (3 attempts) and the polls after: the board is alive, and the call is not
    // dropped as if refused; it is sent again at the next poll that answers.
    sim.board(1).busyFor = 8;
    await request(kiosk, topics.ticketRequest(), { service: 'van-thu' });
    await request(keypad, topics.counterCommand(1, 'next'));
    await sim.waitFor(1, (s) => s.lines[1] === 'A003');
    // The same SHOW was sent more than once (retries), each time with a fresh sequence number.
    const a001 = sim.wire.filter(
      (f) => f[1] === 1 && f[3] === LedCommand.show && f.includes(Buffer.from('A001')),
    );
    expect(a001.length).toBeGreaterThan(1);
    expect(new Set(a001.map((f) => f[2])).size).toBe(a001.length);
  });

  it('a dead board is shown offline, and gets the current text back when it answers again', async () => {
    const { tb, sim } = await officeWithBus();
    const tv = await tb.connect('display-tv');
    await sim.waitFor(2, (s) => s.blank);
    sim.board(2).dead = true;
    const offline = await nextMessage(
      tv,
      topics.presence('led-c2'),
      (_t, b) => (b as { online: boolean }).online === false,
    );
    expect(offline.body).toMatchObject({ online: false, driven: true });
    const status = await eventually(
      () => tb.box.broker.statusOf('led-c2')?.ok === false && tb.box.broker.statusOf('led-c2'),
      'status',
    );
    expect(status).toMatchObject({ ok: false, board: { bus: BUS, address: 2 } });

    // While it is dead, its counter calls a number: the others on the bus are not held up.
    const kiosk = await tb.connect('kiosk-1');
    const kp2 = await tb.connect('keypad-2');
    await request(kiosk, topics.ticketRequest(), { service: 'ho-tich' });
    await request(kp2, topics.counterCommand(2, 'next'));
    await sim.waitFor(9, (s) => s.lines[0] === 'C001 > Quay 2');
    sim.board(2).display = null; // powered off: it forgot

    sim.board(2).dead = false;
    await nextMessage(tv, topics.presence('led-c2'), (_t, b) => (b as { online: boolean }).online === true);
    await sim.waitFor(2, (s) => s.lines[0] === 'C001');
    await eventually(() => tb.box.broker.statusOf('led-c2')?.ok === true, 'status ok again');
  });

  it('boards are not reported offline while the bus connects at start; a bus that never comes up is', async () => {
    const errors: string[] = [];
    const log = pino({ level: 'error' }, { write: (line: string) => void errors.push(line) });
    const { sim } = await officeWithBus(log);
    await sim.waitFor(9, (s) => s.lines.length > 0);
    expect(errors.filter((e) => e.includes('not answering'))).toEqual([]);
    await tb?.close();

    // The converter is unplugged: nothing listens where the bus is. The poll finds the boards dead.
    const port = sim.port;
    await sim.close();
    const config = await drivenOffice({}, boardsOf(sim), {
      hardware: {
        serial: {
          buses: [
            {
              id: BUS,
              link: { tcp: `127.0.0.1:${port}` },
              pollMs: 100,
              reconnect: { minMs: 50, maxMs: 200 },
            },
          ],
        },
      },
    });
    tb = await startTestBox({ config });
    const box = tb.box;
    await eventually(() => box.broker.statusOf('led-c1')?.ok === false, 'led-c1 offline');
  });

  it('a board whose text arrives before its bus is connected is not reported offline, and shows the text', async () => {
    // The converter comes up after the box (the demo starts them together): the boards' retained texts
    // reach the driver while the link is still down.
    const specs = BOARDS;
    const probe = await startLedBusSim({ boards: specs });
    const port = probe.port;
    const config = await drivenOffice({}, boardsOf(probe), {
      hardware: {
        serial: {
          buses: [{ id: BUS, link: probe.link, pollMs: 60_000, reconnect: { minMs: 50, maxMs: 100 } }],
        },
      },
    });
    await probe.close();
    const errors: string[] = [];
    const log = pino({ level: 'error' }, { write: (line: string) => void errors.push(line) });
    tb = await startTestBox({ config, log });
    // Wait until each board's text is published (retained): a subscriber from now on gets it, and the
    // drivers, subscribed since the box started, had it before. No bus yet.
    const published = new Set<string>();
    for (const id of ['led-c1', 'led-c2', 'led-hall'])
      tb.box.broker.subscribeInternal(topics.led(id), () => void published.add(id));
    await eventually(() => published.size === 3, "the boards' texts published");
    sim = await startLedBusSim({ boards: specs, port });
    for (const b of BOARDS) await sim.waitFor(b.address, (show) => show.lines.length > 0);
    expect(errors.filter((e) => e.includes('not answering'))).toEqual([]);
  });
});

const MockBinding = SerialPortMock.binding;

describe('the RS-485 bus on a serial port', () => {
  it('talks to boards through serialport (binding-mock), with the same frames', async () => {
    const path = '/dev/ttyRS485-test';
    MockBinding.createPort(path, { echo: false, record: true });
    const boards = new LedBoards([{ address: 5, columns: 10, lines: 1 }]);
    const port = new SerialPortMock({ path, baudRate: 9600, autoOpen: false });
    const link = new ReconnectingLink(
      async () => {
        const s = await openSerialPort(port);
        // The mock has no other end: the boards answer whatever the box writes.
        const binding = port.port!;
        const write = binding.write.bind(binding);
        binding.write = async (buf: Buffer) => {
          await write(buf);
          for (const r of boards.receive(buf)) setImmediate(() => binding.emitData(r));
        };
        return s;
      },
      `serial ${path}`,
      quietLog(),
    ).start();
    await eventually(() => link.isUp, 'port open');
    const bus = new Rs485Bus('mock', link, { replyTimeoutMs: 200, retries: 1 }, quietLog());
    const ping = await bus.transact(5, LedCommand.ping, new Uint8Array(0));
    expect(ping).toMatchObject({ ok: true, payload: Uint8Array.of(10, 1, 0) });
    const show = await bus.transact(
      5,
      LedCommand.show,
      encodeShowPayload({ lines: ['A012'], blink: false, blank: false, brightness: 100 }),
    );
    expect(show.ok).toBe(true);
    expect(boards.board(5).display?.lines).toEqual(['A012']);
    const silent = await bus.transact(6, LedCommand.ping, new Uint8Array(0));
    expect(silent).toMatchObject({ ok: false, reason: 'timeout', attempts: 2 });
    await link.close();
    MockBinding.reset();
  });
});
