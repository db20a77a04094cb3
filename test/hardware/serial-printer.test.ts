// The kiosk's ESC/POS printer driven by a real box, printing on the simulated network printer over TCP.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { afterEach, describe, expect, it } from 'vitest';
import { ticketStatusUrl, topics, type PrintJob } from '../../protocol/index.js';
import { ticketKey } from '../../protocol/secrets.js';
import { TICKET_KEY_FILE } from '../../device/ticket-keys.js';
import { startPrinterSim, type PrinterSim } from '../../hardware-sim/printer/printer-sim.js';
import { EscposParser } from '../../hardware-sim/printer/escpos-parser.js';
import { encodeTicket, codepageText } from '../../device/drivers/serial/escpos/encode.js';
import { ticketContent } from '../../device/drivers/serial/escpos/ticket.js';
import { conditionOf } from '../../device/drivers/serial/escpos/status.js';
import type { EscposDriverConfig } from '../../device/drivers/serial/config.js';
import { nextMessage, request, startTestBox, type TestBox } from '../support/office.js';
import { drivenOffice, eventually, manualClock } from './serial-support.js';

const GOLDEN = join(dirname(fileURLToPath(import.meta.url)), 'golden');
const PUBLIC_URL = 'https://lobby.example.gov.vn';
const MONDAY_0829 = '2026-11-23T01:29:00.000Z'; // 08:29 in Hà Nội time

let tb: TestBox | undefined;
let sim: PrinterSim | undefined;
afterEach(async () => {
  await tb?.close();
  await sim?.close();
  tb = sim = undefined;
});

function printer(s: PrinterSim, extra: Partial<EscposDriverConfig> = {}): EscposDriverConfig {
  return {
    kind: 'escpos',
    link: s.link,
    statusPollMs: 100,
    statusTimeoutMs: 300,
    reconnect: { minMs: 50, maxMs: 200 },
    ...extra,
  };
}

async function officeWithPrinter(
  s: PrinterSim,
  extra: Partial<EscposDriverConfig> = {},
  clock = manualClock(MONDAY_0829),
) {
  const config = await drivenOffice({ 'kiosk-1': printer(s, extra) }, [], {
    office: {
      id: 'xa-thu-nghiem',
      name: 'Bộ phận một cửa UBND xã Hòa Phong',
      sessions: [{ open: '00:00', close: '23:59' }],
      workdays: [1, 2, 3, 4, 5, 6, 7],
      publicUrl: PUBLIC_URL,
    },
  });
  // A fixed ticket-key secret: the QR code (address and key) and so the golden image are the same each run.
  const dataDir = mkdtempSync(join(tmpdir(), 'lobby-printer-'));
  writeFileSync(join(dataDir, TICKET_KEY_FILE), 'a-fixed-ticket-key-secret-for-the-golden-image\n');
  tb = await startTestBox({ config, clock: clock.now, tickMs: 60_000, dataDir });
  return { tb, clock };
}

const printerOf = (t: TestBox) =>
  t.box.broker.statusOf('kiosk-1')?.printer as { pendingJobs?: number; droppedJobs?: number } | undefined;
const pendingOf = (t: TestBox) => printerOf(t)?.pendingJobs;
const droppedOf = (t: TestBox) => printerOf(t)?.droppedJobs;

/** Waits until the box says the kiosk's printer is in `state`. */
async function printerState(t: TestBox, state: string) {
  return eventually(() => {
    const s = t.box.broker.statusOf('kiosk-1');
    return s?.printer?.state === state ? s : undefined;
  }, `printer ${state}`);
}

/** Compares with the committed golden PNG; UPDATE_GOLDEN=1 rewrites it. Returns the share of pixels that differ. */
function goldenDiff(name: string, png: Buffer): number {
  const file = join(GOLDEN, name);
  if (process.env.UPDATE_GOLDEN === '1' || !existsSync(file)) {
    mkdirSync(GOLDEN, { recursive: true });
    writeFileSync(file, png);
    if (process.env.UPDATE_GOLDEN !== '1')
      throw new Error(`golden ${name} was missing: written, check it in`);
  }
  const want = PNG.sync.read(readFileSync(file));
  const got = PNG.sync.read(png);
  if (want.width !== got.width || want.height !== got.height) {
    writeFileSync(join(GOLDEN, `${name}.actual.png`), png);
    throw new Error(
      `size ${got.width}x${got.height}, golden ${want.width}x${want.height} (see ${name}.actual.png)`,
    );
  }
  let differ = 0;
  for (let i = 0; i < want.data.length; i += 4) if (want.data[i] !== got.data[i]) differ++;
  const share = differ / (want.width * want.height);
  if (share > 0) writeFileSync(join(GOLDEN, `${name}.actual.png`), png);
  return share;
}

describe('ESC/POS ticket printer', () => {
  it('prints a Vietnamese ticket as one raster image that matches the golden, with a QR code to its live page', async () => {
    sim = await startPrinterSim({ dots: 576 });
    const { tb } = await officeWithPrinter(sim);
    await printerState(tb, 'ready');
    const kiosk = await tb.connect('kiosk-1');
    const reply = await request(kiosk, topics.ticketRequest(), { service: 'van-thu', priority: 'elderly' });
    expect(reply.status).toBe('ok');
    const ticket = await sim.nextTicket(0);
    expect(ticket.cut).toBe('partial');
    expect(ticket.elements.filter((e) => e.kind === 'image')).toHaveLength(1);
    // The ticket's address, and after `#` its key (issue 14): its holder may rate the visit from the phone.
    const secret = readFileSync(join(tb.dataDir, TICKET_KEY_FILE), 'utf8').trim();
    const key = ticketKey(secret, 'xa-thu-nghiem', '2026-11-23/A001');
    expect(ticket.qr).toEqual([ticketStatusUrl(PUBLIC_URL, 'xa-thu-nghiem', '2026-11-23/A001', key)]);
    expect(ticket.qr[0]).toMatch(/\/t\/xa-thu-nghiem\/2026-11-23\/A001#k=[\w-]{16}$/);
    expect(goldenDiff('ticket-80mm.png', ticket.png)).toBeLessThan(0.002);
    // The box saw it printed: nothing pending, printer ready.
    await eventually(() => pendingOf(tb) === 0, 'job done');
  });

  it('prints a job sent twice once, and tells the box it printed it: the box stops sending it', async () => {
    sim = await startPrinterSim();
    const { tb } = await officeWithPrinter(sim);
    await printerState(tb, 'ready');
    const jobs: Buffer[] = [];
    tb.box.broker.subscribeInternal(topics.print('kiosk-1'), (_t, payload) => jobs.push(payload));
    const kiosk = await tb.connect('kiosk-1');
    expect((await request(kiosk, topics.ticketRequest(), { service: 'van-thu' })).status).toBe('ok');
    expect((await sim.nextTicket(0)).qr[0]).toContain('/A001');
    await eventually(() => tb.box.store.wasPrinted('2026-11-23/A001'), 'print acknowledged');
    const job = JSON.parse((jobs[0] as Buffer).toString()) as PrintJob;
    expect(job.jobId).toBe('2026-11-23/A001');
    // The same job again (a resend that crossed the acknowledgement): not printed again. The next ticket's
    // job comes after it on the same topic, so once A002 is out the duplicate has been seen.
    await tb.box.broker.publish(topics.print('kiosk-1'), job, { qos: 1 });
    expect((await request(kiosk, topics.ticketRequest(), { service: 'van-thu' })).status).toBe('ok');
    expect((await sim.nextTicket(1)).qr[0]).toContain('/A002');
    expect(sim.tickets.map((t) => t.qr[0]?.split('#')[0]?.slice(-4))).toEqual(['A001', 'A002']);
    await eventually(() => tb.box.store.wasPrinted('2026-11-23/A002'), 'second acknowledged');
  });

  it('fits a 58 mm printer, with no QR code when the office has no public URL', async () => {
    sim = await startPrinterSim({ dots: 384 });
    const config = await drivenOffice({ 'kiosk-1': printer(sim, { paper: '58mm' }) });
    tb = await startTestBox({ config, clock: manualClock(MONDAY_0829).now, tickMs: 60_000 });
    await printerState(tb, 'ready');
    const kiosk = await tb.connect('kiosk-1');
    expect((await request(kiosk, topics.ticketRequest(), { service: 'dat-dai' })).status).toBe('ok');
    const ticket = await sim.nextTicket(0);
    const image = ticket.elements.find((e) => e.kind === 'image');
    expect(image).toMatchObject({ width: 384 });
    expect(ticket.qr).toEqual([]);
    expect(goldenDiff('ticket-58mm.png', ticket.png)).toBeLessThan(0.002);
  });

  it('paper out makes the box refuse paper tickets until paper is loaded; near end still prints', async () => {
    sim = await startPrinterSim();
    const { tb } = await officeWithPrinter(sim);
    await printerState(tb, 'ready');
    const kiosk = await tb.connect('kiosk-1');
    sim.setPaper('out');
    await printerState(tb, 'paper_out');
    const refused = await request(kiosk, topics.ticketRequest(), { service: 'van-thu' });
    expect(refused).toMatchObject({ status: 'error', error: { code: 'printer_unavailable' } });
    // The kiosk screen can still hand out a number on screen.
    expect(
      (await request(kiosk, topics.ticketRequest(), { service: 'van-thu', delivery: 'screen' })).status,
    ).toBe('ok');
    // Everyone allowed sees why, retained.
    const tv = await tb.connect('display-tv');
    const seen = await nextMessage(tv, topics.status('kiosk-1'));
    expect(seen.body).toMatchObject({ ok: false, printer: { state: 'paper_out', canPrint: false } });

    sim.setCoverOpen(true);
    sim.setPaper('near_end');
    await printerState(tb, 'cover_open');
    sim.setCoverOpen(false);
    await printerState(tb, 'paper_near_end');
    const ok = await request(kiosk, topics.ticketRequest(), { service: 'van-thu' });
    expect(ok).toMatchObject({ status: 'ok', data: { ticket: { number: 'A002' } } });
    const t = await sim.nextTicket(0);
    expect(t.qr[0]).toContain('/A002');
    expect(sim.tickets).toHaveLength(1); // the on-screen A001 was never printed
  });

  it('a printer that vanishes mid-ticket is reported offline and prints the whole ticket again when it is back', async () => {
    sim = await startPrinterSim();
    const { tb } = await officeWithPrinter(sim);
    await printerState(tb, 'ready');
    const kiosk = await tb.connect('kiosk-1');
    sim.vanishAfterBytes(5000); // a ticket is ~60 kB of raster: cut off after its first lines
    expect((await request(kiosk, topics.ticketRequest(), { service: 'van-thu' })).status).toBe('ok');
    await eventually(() => sim!.interrupted.length === 1, 'the ticket cut short');
    const offline = await printerState(tb, 'offline');
    expect(offline.printer).toMatchObject({ canPrint: false, pendingJobs: 1 });
    // While it is gone, paper tickets are refused: no number nobody holds.
    expect(await request(kiosk, topics.ticketRequest(), { service: 'van-thu' })).toMatchObject({
      error: { code: 'printer_unavailable' },
    });
    sim.comeBack();
    const again = await sim.nextTicket(0);
    expect(again.qr[0]).toContain('/A001');
    await eventually(() => pendingOf(tb) === 0, 'queue drained');
    expect(sim.tickets).toHaveLength(1);
  });

  it('a printer that stays away longer than the retry window drops the ticket with an error and counts it', async () => {
    sim = await startPrinterSim();
    const clock = manualClock(MONDAY_0829);
    const { tb } = await officeWithPrinter(sim, { retryWindowMs: 30_000 }, clock);
    await printerState(tb, 'ready');
    const kiosk = await tb.connect('kiosk-1');
    sim.vanishAfterBytes(3000, 'silent'); // hung: connection open, no answers
    expect((await request(kiosk, topics.ticketRequest(), { service: 'van-thu' })).status).toBe('ok');
    await printerState(tb, 'offline');
    clock.advance(31_000);
    await eventually(() => droppedOf(tb) === 1, 'job dropped');
    sim.comeBack();
    await printerState(tb, 'ready');
    expect(tb.box.broker.statusOf('kiosk-1')?.printer).toMatchObject({ pendingJobs: 0, droppedJobs: 1 });
    expect(sim.tickets).toHaveLength(0); // a ticket half a minute late would mislead: not printed
    // The next citizen is served normally.
    expect((await request(kiosk, topics.ticketRequest(), { service: 'van-thu' })).status).toBe('ok');
    expect((await sim.nextTicket(0)).qr[0]).toContain('/A002');
  });
});

describe('USB printer as a device file', () => {
  it('writes the ticket into the device file (like /dev/usb/lp0) and counts the printer ready without status', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lobby-lp-'));
    const lp = join(dir, 'lp0');
    writeFileSync(lp, '');
    const config = await drivenOffice({ 'kiosk-1': { kind: 'escpos', link: { file: lp }, paper: '58mm' } });
    tb = await startTestBox({ config });
    await printerState(tb, 'ready');
    const kiosk = await tb.connect('kiosk-1');
    expect((await request(kiosk, topics.ticketRequest(), { service: 'van-thu' })).status).toBe('ok');
    const ops = await eventually(() => {
      const o = new EscposParser().push(readFileSync(lp));
      return o.some((x) => x.op === 'cut') ? o : undefined;
    }, 'ticket bytes in the device file');
    expect(ops.filter((o) => o.op === 'raster').every((o) => (o as { width: number }).width === 384)).toBe(
      true,
    );
    expect(ops.some((o) => o.op === 'status')).toBe(false); // nothing to read replies from
  });
});

describe('ESC/POS encoding without the box', () => {
  const job: PrintJob = {
    jobId: '7',
    officeName: 'Bộ phận một cửa UBND xã Hòa Phong',
    ticket: {
      ticketId: '2026-11-23/B012',
      number: 'B012',
      service: 'chung-thuc',
      serviceName: 'Chứng thực',
      priority: null,
      ahead: 3,
      estimatedWaitMin: 12,
      issuedAt: MONDAY_0829,
    },
  };
  const content = ticketContent(job, 'Asia/Ho_Chi_Minh', null);

  it('says the time in the office timezone, the people ahead and the wait', () => {
    expect(content.time).toBe('Giờ lấy số: 08:29 - 23/11/2026');
    expect(content.ahead).toBe('Số người chờ trước bạn: 3');
    expect(content.wait).toBe('Thời gian chờ dự kiến: khoảng 12 phút');
  });

  const parse = (bytes: Uint8Array) => new EscposParser().push(bytes);
  /** The printed text, each line's wrapping undone (the encoder wraps at the paper's columns). */
  const lines = (bytes: Uint8Array, pages: Record<number, string>) => {
    let page = 0;
    let out = '';
    for (const op of parse(bytes)) {
      if (op.op === 'codepage') page = op.page;
      else if (op.op === 'text') out += decode([...op.bytes], pages[page] ?? 'cp437');
      else if (op.op === 'newline') out += '\n';
    }
    return out.normalize('NFC').replace(/\s+/g, ' ');
  };

  it('code-page mode prints Vietnamese through TCVN-3 with the configured page numbers', async () => {
    const bytes = encodeTicket(content, {
      dots: 576,
      text: 'codepage',
      codepages: { tcvn3: 30, tcvn3capitals: 31 },
      cut: 'partial',
    });
    const ops = parse(bytes);
    expect(ops.filter((o) => o.op === 'codepage').map((o) => (o as { page: number }).page)).toContain(30);
    const text = lines(bytes, { 30: 'tcvn3', 31: 'tcvn3capitals' });
    expect(text).toContain('Lĩnh vực: Chứng thực');
    expect(text).toContain('Bộ phận một cửa UBND xã Hòa Phong');
    expect(text).toContain('SỐ THỨ TỰ');
  });

  it('code-page mode with another vendor numbering (Windows-1258 on page 94)', () => {
    const bytes = encodeTicket(content, {
      dots: 384,
      text: 'codepage',
      codepages: { windows1258: 94 },
      cut: 'full',
    });
    expect(lines(bytes, { 94: 'windows1258' })).toContain('Thời gian chờ dự kiến: khoảng 12 phút');
    // Windows-1258 carries the tone as a combining mark after the vowel.
    expect(codepageText({ windows1258: 94 })('Đồng')).toBe('Đô\u0300ng');
  });

  it('ascii mode removes diacritics', () => {
    const bytes = encodeTicket(content, { dots: 576, text: 'ascii', codepages: {}, cut: 'partial' });
    const text = lines(bytes, {});
    expect(text).toContain('Linh vuc: Chung thuc');
    expect(text).toContain('Bo phan mot cua UBND xa Hoa Phong');
  });

  it('reads DLE EOT replies: paper out wins over near end, cover open over both, silence is offline', () => {
    expect(conditionOf({ printer: 0x12, offlineCause: 0x12, paper: 0x12 }).state).toBe('ready');
    expect(conditionOf({ printer: 0x12, offlineCause: 0x12, paper: 0x1e })).toMatchObject({
      state: 'paper_near_end',
      canPrint: true,
    });
    expect(conditionOf({ printer: 0x1a, offlineCause: 0x32, paper: 0x7e }).state).toBe('paper_out');
    expect(conditionOf({ printer: 0x1a, offlineCause: 0x36, paper: 0x7e }).state).toBe('cover_open');
    expect(conditionOf(null)).toMatchObject({ state: 'offline', canPrint: false });
  });
});

async function decodeFn() {
  return (await import('@point-of-sale/codepage-encoder')).default;
}
const CE = await decodeFn();
function decode(bytes: number[], name: string): string {
  const table = CE.getCodepoints(name as Parameters<typeof CE.getCodepoints>[0], true);
  return String.fromCodePoint(...bytes.map((b) => (b < 0x80 ? b : table[b] || 0x3f))).normalize('NFC');
}
