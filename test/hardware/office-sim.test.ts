// `lobby sim office`: a whole office's simulated hardware, planned from the box's config and driven by a
// real box: a ticket printed as PNG, LED frames logged, a GPIO keypad pressed from the console, the call
// said as a WAV with the amplifier relay around it, a GPIO rating, a serial keypad and a scanner.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { topics } from '../../protocol/index.js';
import type { BoxConfig, PeripheralConfig } from '../../device/config/schema.js';
import {
  OfficeHardwareSim,
  activityPrinter,
  hardwareCommands,
  parseHostPort,
  runCommand,
  type OfficeActivity,
} from '../../hardware-sim/office/index.js';
import { addressChanges, officeHardwareFromConfig } from '../../cli/sim-office.js';
import { request, startTestBox, type TestBox } from '../support/office.js';
import { drivenOffice, eventually } from './serial-support.js';

let tb: TestBox | undefined;
let sim: OfficeHardwareSim | undefined;
afterEach(async () => {
  await tb?.close();
  await sim?.close();
  tb = sim = undefined;
});

const here = (port = 0) => `127.0.0.1:${port}`;

/** The test office with every kind of simulated hardware, on the addresses given. */
async function officeWithHardware(a: {
  printer: string;
  bus: string;
  gpio: string;
  audio: string;
  serial: string;
}) {
  const extra: PeripheralConfig[] = [
    {
      id: 'keypad-g-1',
      role: 'keypad',
      counter: 1,
      driver: {
        kind: 'gpio-keypad',
        buttons: [
          { pin: 17, action: 'next', longPress: 'recall' },
          { pin: 22, action: 'finish' },
        ],
        debounceMs: 5,
        longPressMs: 400,
        feedback: { pin: 24, flashMs: 20 },
      } as PeripheralConfig['driver'],
    },
    {
      id: 'rating-g-1',
      role: 'rating',
      counter: 1,
      driver: {
        kind: 'gpio-rating',
        buttons: [
          { pin: 5, score: 1 },
          { pin: 19, score: 4 },
        ],
        debounceMs: 5,
        sessionLamp: { pin: 26 },
        feedback: { pin: 12, flashMs: 20 },
      } as PeripheralConfig['driver'],
    },
    {
      id: 'keypad-s-2',
      role: 'keypad',
      counter: 2,
      driver: { kind: 'serial-keypad', link: { tcp: a.serial }, reconnect: { minMs: 50, maxMs: 200 } },
    },
    {
      id: 'scanner-s-1',
      role: 'scanner',
      counter: 1,
      driver: { kind: 'serial-scanner', link: { tcp: a.serial }, reconnect: { minMs: 50, maxMs: 200 } },
    },
  ];
  return drivenOffice(
    {
      'kiosk-1': {
        kind: 'escpos',
        link: { tcp: a.printer },
        paper: '58mm',
        statusPollMs: 100,
        reconnect: { minMs: 50, maxMs: 200 },
      },
      'led-1': { kind: 'led-rs485', bus: 'bus-1', address: 1, columns: 16, lines: 2 },
      'led-entrance': { kind: 'led-rs485', bus: 'bus-1', address: 9, columns: 20, lines: 3, glyphs: 'vi' },
      'announcer-1': {
        kind: 'voice',
        player: { kind: 'sim', address: a.audio },
        amplifier: { pin: 18, warmUpMs: 0, idleOffMs: 0 },
      } as PeripheralConfig['driver'],
    },
    extra,
    {
      hardware: {
        serial: { buses: [{ id: 'bus-1', link: { tcp: a.bus }, reconnect: { minMs: 50, maxMs: 200 } }] },
        gpio: { backend: 'sim', address: a.gpio },
      },
    },
  );
}

function setPath(config: BoxConfig, path: (string | number)[], value: string): void {
  let node = config as unknown as Record<string | number, unknown>;
  for (const k of path.slice(0, -1)) node = node[k] as Record<string | number, unknown>;
  node[path[path.length - 1] as string | number] = value;
}

describe('the office hardware plan, from a box config', () => {
  it('a simulator for each driver that connects to this machine; the rest is named as real hardware', async () => {
    const config = await officeWithHardware({
      printer: '127.0.0.1:19100',
      bus: 'localhost:19101',
      gpio: '/tmp/lobby-gpio.sock',
      audio: '127.0.0.1:19103',
      serial: '192.0.2.7:4001',
    });
    const { plan, notSimulated, paths } = officeHardwareFromConfig(config);
    expect(plan.printers).toEqual([{ id: 'kiosk-1', listen: '127.0.0.1:19100', dots: 384 }]);
    expect(plan.ledBuses).toEqual([
      {
        id: 'bus-1',
        listen: 'localhost:19101',
        boards: [
          { id: 'led-1', address: 1, columns: 16, lines: 2, glyphs: 'ascii' },
          { id: 'led-entrance', address: 9, columns: 20, lines: 3, glyphs: 'vi' },
        ],
      },
    ]);
    expect(plan.lineDevices).toEqual([]);
    expect(notSimulated).toEqual([
      'serial keypad keypad-s-2: 192.0.2.7:4001 is not on this machine (a real device?)',
      'serial scanner scanner-s-1: 192.0.2.7:4001 is not on this machine (a real device?)',
    ]);
    expect(plan.gpio?.listen).toBe('/tmp/lobby-gpio.sock');
    expect(plan.gpio?.lines).toEqual(
      expect.arrayContaining([
        { pin: 18, peripheral: 'announcer-1', use: 'relay' },
        expect.objectContaining({ pin: 17, peripheral: 'keypad-g-1', button: 'next', longPress: 'recall' }),
        expect.objectContaining({ pin: 19, peripheral: 'rating-g-1', button: '4' }),
        { pin: 26, peripheral: 'rating-g-1', use: 'lamp' },
        { pin: 24, peripheral: 'keypad-g-1', use: 'feedback' },
      ]),
    );
    expect(plan.audio).toEqual([{ listen: '127.0.0.1:19103', announcers: ['announcer-1'] }]);
    const kiosk = config.peripherals.findIndex((p) => p.id === 'kiosk-1');
    expect(paths.get('printer:kiosk-1')).toEqual([['peripherals', kiosk, 'driver', 'link', 'tcp']]);
    expect(paths.get('gpio')).toEqual([['hardware', 'gpio', 'address']]);
  });
});

describe('the office hardware output', () => {
  it('numbers tickets on from the folder and keeps only the newest files', async () => {
    const outDir = mkdtempSync(join(tmpdir(), 'lobby-office-keep-'));
    mkdirSync(join(outDir, 'printer-kiosk-1'));
    writeFileSync(join(outDir, 'printer-kiosk-1', 'ticket-0007.png'), 'an earlier run');
    sim = await OfficeHardwareSim.start({
      plan: {
        printers: [{ id: 'kiosk-1', listen: here(), dots: 384 }],
        ledBuses: [],
        lineDevices: [],
        gpio: null,
        audio: [],
      },
      outDir,
      keepFiles: 2,
    });
    const tickets: number[] = [];
    sim.on('activity', (a) => a.kind === 'ticket' && tickets.push(a.number));
    const hp = parseHostPort(sim.addresses.get('printer:kiosk-1') as string)!;
    const socket = connect(hp.port, hp.host);
    await new Promise((r) => socket.once('connect', r));
    for (const text of ['one', 'two', 'three']) socket.write(`\x1b@${text}\n\x1dV\x01`, 'latin1');
    await eventually(() => tickets.length === 3, 'three tickets');
    socket.destroy();
    expect(tickets).toEqual([8, 9, 10]);
    expect(readdirSync(join(outDir, 'printer-kiosk-1')).sort()).toEqual([
      'ticket-0009.png',
      'ticket-0009.txt',
      'ticket-0010.png',
      'ticket-0010.txt',
    ]);
    expect(readFileSync(join(outDir, 'printer-kiosk-1', 'ticket-0010.txt'), 'utf8')).toBe('three\n');
  });
});

describe('lobby sim office against a real box', () => {
  it('prints, shows, calls, rates and reads serial lines, driven from the console', async () => {
    // Plan on free ports, then give the box the addresses the simulators got (as `lobby demo` does).
    const planned = await officeWithHardware({
      printer: here(),
      bus: here(),
      gpio: here(),
      audio: here(),
      serial: here(),
    });
    const { plan, paths } = officeHardwareFromConfig(planned);
    const outDir = mkdtempSync(join(tmpdir(), 'lobby-office-'));
    sim = await OfficeHardwareSim.start({ plan, outDir, realtimeAudio: false });
    const config = structuredClone(planned);
    for (const { path, value } of addressChanges(planned, paths, sim.addresses)) setPath(config, path, value);
    expect(new Set(sim.addresses.values()).size).toBe(6); // printer, bus, keypad, scanner, GPIO, audio

    const seen: OfficeActivity[] = [];
    const printed: string[] = [];
    sim.on('activity', (a) => seen.push(a));
    sim.on(
      'activity',
      activityPrinter((l) => printed.push(l)),
    );
    const next = <K extends OfficeActivity['kind']>(
      kind: K,
      match: (a: Extract<OfficeActivity, { kind: K }>) => boolean = () => true,
    ) =>
      eventually(
        () =>
          seen.find((a): a is Extract<OfficeActivity, { kind: K }> => a.kind === kind && match(a as never)),
        kind,
      );
    tb = await startTestBox({ config });
    const box = tb.box;
    await eventually(() => box.broker.statusOf('kiosk-1')?.printer?.canPrint, 'printer ready');
    const commands = hardwareCommands(sim);

    // A ticket: printed as PNG and text.
    const kiosk = await tb.connect('kiosk-1');
    expect((await request(kiosk, topics.ticketRequest(), { service: 'van-thu' })).status).toBe('ok');
    const ticket = await next('ticket');
    expect(readFileSync(ticket.png).subarray(1, 4).toString()).toBe('PNG');
    expect(existsSync(ticket.text)).toBe(true);

    // Counter 1's GPIO keypad, from the console: the call shows on the boards and is said.
    expect(await runCommand(commands, 'press keypad-g-1 next')).toBe('keypad-g-1: pressed next on GPIO 17');
    const led = await next('led', (a) => a.board === 'led-1' && a.show.lines[1] === 'A001');
    expect(led.show.lines).toEqual(['Quay 1', 'A001']);
    await next('led', (a) => a.board === 'led-entrance' && a.show.lines[0] === 'A001 > Quầy 1');
    const call = await next('call');
    expect(call.call).toMatchObject({ number: 'A001', counter: 1, text: 'Mời số A001 đến quầy số 1' });
    expect(readFileSync(call.file).subarray(0, 4).toString()).toBe('RIFF');
    await next('relay', (a) => a.on);
    await next('feedback', (a) => a.peripheral === 'keypad-g-1' && a.flashes === 1);
    expect(readFileSync(join(outDir, 'led.log'), 'utf8')).toMatch(/led-1 \(bus-1 #1\) Quay 1 \| A001/);

    // A long press is recall.
    expect(await runCommand(commands, 'press keypad-g-1 recall')).toMatch(/held next for \d+ ms \(recall\)/);
    await next('call', (a) => a.call.recall);
    // Finished: the rating box's lamp is lit for the citizen at counter 1; a press of 4 rates.
    expect(await runCommand(commands, 'press keypad-g-1 finish')).toBe(
      'keypad-g-1: pressed finish on GPIO 22',
    );
    await next('lamp', (a) => a.on);
    await runCommand(commands, 'press rating-g-1 4');
    await next('feedback', (a) => a.peripheral === 'rating-g-1');
    const rated = [...box.store.eventsAfter(0)].find((e) => e.event.type === 'rating.submitted');
    expect(rated?.event.data).toMatchObject({ score: 4, counter: 1 });

    // A serial keypad and a scanner type their lines.
    await request(kiosk, topics.ticketRequest(), { service: 'ho-tich' });
    await eventually(() => sim?.keypads.get('keypad-s-2')?.connected, 'keypad link');
    expect(await runCommand(commands, 'key keypad-s-2 NEXT')).toBe('ok');
    expect((await next('serial', (a) => a.device === 'keypad-s-2')).line).toBe('OK NEXT C001');
    await eventually(() => sim?.scanners.get('scanner-s-1')?.connected, 'scanner link');
    expect(await runCommand(commands, 'scan scanner-s-1 000.00.31.H47-261123-0001')).toBe(
      'scanner-s-1: scanned 000.00.31.H47-261123-0001',
    );
    await eventually(
      () =>
        (box.broker.statusOf('scanner-s-1') as { lines?: { lines: number } } | undefined)?.lines?.lines === 1,
      'scanner line counted',
    );

    // Faults, and what a typo gets.
    await runCommand(commands, 'paper kiosk-1 out');
    await eventually(() => box.broker.statusOf('kiosk-1')?.printer?.state === 'paper_out', 'paper out');
    expect(await runCommand(commands, 'press keypad-g-1 dance')).toMatch(
      /no "dance" button \(next, recall, finish\)/,
    );
    expect(await runCommand(commands, 'fly')).toBe('unknown command "fly"; type help');
    const show = await runCommand(commands, 'show');
    expect(show).toMatch(/\[led led-1\] Quay 1 \| ----/);
    expect(show).toMatch(/GPIO 17 +keypad-g-1 button next: released/);
    expect(show).toMatch(/GPIO 26 +rating-g-1 lamp: off/);
    expect(await runCommand(commands, 'help')).toMatch(
      /press <peripheral> <button>[\s\S]*scan <scanner> <code>/,
    );

    // The terminal shows each board's text once per change (the blinking repeat is in led.log only).
    const a001 = printed.filter((l) => /\[led led-1\] Quay 1 \| A001/.test(l));
    expect(a001).toHaveLength(1);
    expect(printed.some((l) => /\[printer kiosk-1\] ticket 1 printed: .*ticket-0001\.png$/.test(l))).toBe(
      true,
    );

    // Closing between tickets cuts nothing short (the line feed a driver sends after its cut is no ticket).
    const printer = sim.printers.get('kiosk-1');
    await tb.close();
    tb = undefined;
    await eventually(() => printer?.connected === false, 'the box gone');
    expect(printer?.interrupted).toEqual([]);
  });
});
