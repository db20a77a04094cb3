// A network receipt printer (ESC/POS on raw TCP, like port 9100): it parses what it is sent, answers
// real-time status requests, and turns each cut ticket into a PNG and a text transcript. Faults are set from
// a test or the `lobby sim` console: paper near end, paper out, cover open, and vanishing (mid-ticket too).
import { EventEmitter } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import CodepageEncoder, { type Codepage } from '@point-of-sale/codepage-encoder';
import { createCanvas, GlobalFonts } from '@napi-rs/canvas';
import jsQRModule from 'jsqr';
import { EscposParser, type EscposOp } from './escpos-parser.js';
import { listenTcp } from '../listen.js';

export type PaperLevel = 'ok' | 'near_end' | 'out';

export interface PrinterSimOptions {
  /** TCP port; 0 (default) picks a free one. */
  port?: number;
  host?: string;
  /** Print head width in dots: 576 (80 mm, default) or 384 (58 mm). */
  dots?: number;
  /** ESC t page number -> code page, for text printed with the printer's fonts. Default: Epson's numbering. */
  codepages?: Record<number, string>;
  /** When set, each ticket is also written there as ticket-0001.png and ticket-0001.txt. */
  outDir?: string;
}

export type SimElement =
  | { kind: 'image'; width: number; height: number; bits: Buffer; qr: string | null }
  | {
      kind: 'text';
      text: string;
      align: 'left' | 'center' | 'right';
      width: number;
      height: number;
      bold: boolean;
    }
  | { kind: 'feed'; dots: number };

/** A cut ticket. The picture and the QR codes are worked out when first asked for: the printer answers status requests without waiting for them. */
export class PrintedTicket {
  private rendered: Buffer | null = null;
  private decoded: string[] | null = null;

  constructor(
    readonly index: number,
    readonly elements: SimElement[],
    readonly cut: 'full' | 'partial',
    readonly bytes: number,
    private readonly dots: number,
  ) {}

  /** The QR codes found in the images, decoded. */
  get qr(): string[] {
    if (!this.decoded) {
      for (const e of this.elements) if (e.kind === 'image' && e.qr === null) e.qr = decodeQr(e) ?? '';
      this.decoded = this.elements.flatMap((e) => (e.kind === 'image' && e.qr ? [e.qr] : []));
    }
    return this.decoded;
  }

  /** The transcript: text lines as printed, `[image WxH]` and `[qr <content>]` for images. */
  get text(): string {
    void this.qr;
    return this.elements
      .map((e) =>
        e.kind === 'text'
          ? e.text
          : e.kind === 'image'
            ? `[image ${e.width}x${e.height}]${e.qr ? `\n[qr ${e.qr}]` : ''}`
            : null,
      )
      .filter((l): l is string => l !== null)
      .join('\n');
  }

  /** The paper as it came out. */
  get png(): Buffer {
    return (this.rendered ??= renderPng(this.elements, this.dots));
  }
}

export const EPSON_PAGES: Record<number, string> = {
  0: 'cp437',
  16: 'windows1252',
  30: 'tcvn3',
  31: 'tcvn3capitals',
  52: 'windows1258',
};

const LINE_DOTS = 30; // default line spacing
const FONT_A = { w: 12, h: 24 };

class Page {
  elements: SimElement[] = [];
  line = '';
  bytes = 0;
  align: 'left' | 'center' | 'right' = 'left';
  size = { width: 1, height: 1 };
  bold = false;
  page = 0;
  reset(): void {
    this.align = 'left';
    this.size = { width: 1, height: 1 };
    this.bold = false;
    this.page = 0;
  }
}

export class PrinterSim extends EventEmitter {
  readonly tickets: PrintedTicket[] = [];
  /** Tickets cut short: the printer vanished or ran out of paper while printing them. */
  readonly interrupted: { elements: SimElement[]; bytes: number; reason: string }[] = [];
  /** Status requests answered (DLE EOT), by n. */
  readonly statusRequests: Record<number, number> = {};
  unknownCommands = 0;
  /** Commands thrown away while the printer was stopped (paper out, cover open). */
  discardedCommands = 0;
  paper: PaperLevel = 'ok';
  coverOpen = false;
  private vanished: 'no' | 'closed' | 'silent' = 'no';
  private vanishAfter: { bytes: number; mode: 'closed' | 'silent' } | null = null;
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private readonly dots: number;
  private readonly pages: Record<number, string>;
  private listenPort = 0;

  constructor(private readonly opts: PrinterSimOptions = {}) {
    super();
    this.dots = opts.dots ?? 576;
    this.pages = opts.codepages ?? EPSON_PAGES;
  }

  get port(): number {
    return this.listenPort;
  }

  /** Is a driver connected (its connection seen closed once false)? */
  get connected(): boolean {
    return this.sockets.size > 0;
  }

  /** The link a driver config needs: `{tcp: "127.0.0.1:<port>"}`. */
  get link(): { tcp: string } {
    return { tcp: `${this.opts.host ?? '127.0.0.1'}:${this.listenPort}` };
  }

  async start(): Promise<this> {
    const server = createServer((s) => this.accept(s));
    this.server = server;
    this.listenPort = await listenTcp(server, this.opts.port, this.opts.host);
    return this;
  }

  // ---- faults ---------------------------------------------------------------------------------------

  setPaper(level: PaperLevel): void {
    this.paper = level;
  }

  setCoverOpen(open: boolean): void {
    this.coverOpen = open;
  }

  /**
   * The printer goes away: `closed` drops every connection and refuses new ones (power cut, cable pulled);
   * `silent` keeps connections open but answers nothing and prints nothing (a hung printer).
   */
  vanish(mode: 'closed' | 'silent' = 'closed'): void {
    this.vanished = mode;
    if (mode === 'closed') for (const s of this.sockets) s.destroy();
  }

  /** Vanishes once `bytes` more print bytes have arrived: the ticket being printed is cut short. */
  vanishAfterBytes(bytes: number, mode: 'closed' | 'silent' = 'closed'): void {
    this.vanishAfter = { bytes, mode };
  }

  comeBack(): void {
    this.vanished = 'no';
    this.vanishAfter = null;
  }

  get isVanished(): boolean {
    return this.vanished !== 'no';
  }

  /** The next ticket cut from now on (or one already printed beyond `after`). */
  nextTicket(after = this.tickets.length, timeoutMs = 10_000): Promise<PrintedTicket> {
    const ready = this.tickets[after];
    if (ready) return Promise.resolve(ready);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('ticket', on);
        reject(new Error(`no ticket printed within ${timeoutMs} ms`));
      }, timeoutMs);
      const on = (t: PrintedTicket) => {
        if (t.index < after) return;
        clearTimeout(timer);
        this.off('ticket', on);
        resolve(t);
      };
      this.on('ticket', on);
    });
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  // ---- the wire -------------------------------------------------------------------------------------

  private accept(s: Socket): void {
    if (this.vanished === 'closed') {
      s.destroy();
      return;
    }
    this.sockets.add(s);
    const parser = new EscposParser();
    const page = new Page();
    s.on('close', () => {
      this.sockets.delete(s);
      this.interrupt(page, 'connection closed mid-ticket', parser.pending);
    });
    s.on('error', () => undefined);
    s.on('data', (chunk: Buffer) => {
      if (this.vanished !== 'no') return;
      let data = chunk;
      let vanishNow = false;
      if (this.vanishAfter) {
        if (chunk.length >= this.vanishAfter.bytes) {
          data = chunk.subarray(0, this.vanishAfter.bytes);
          vanishNow = true;
        } else this.vanishAfter.bytes -= chunk.length;
      }
      for (const op of parser.push(data)) this.apply(op, page, s);
      if (vanishNow && this.vanishAfter) {
        const mode = this.vanishAfter.mode;
        this.vanishAfter = null;
        this.interrupt(page, 'printer vanished mid-ticket', parser.pending);
        this.vanish(mode);
      }
    });
  }

  /**
   * A ticket cut short: something was printed since the last cut, or a command of it was half received.
   * The line feed a driver sends after its cut is not a ticket: the page is just cleared.
   */
  private interrupt(page: Page, reason: string, pendingBytes = 0): void {
    const ink =
      page.line.trim().length > 0 ||
      page.elements.some((e) => e.kind === 'image' || (e.kind === 'text' && e.text.trim().length > 0));
    if (!ink && (pendingBytes === 0 || page.bytes === 0)) {
      page.elements = [];
      page.line = '';
      page.bytes = 0;
      return;
    }
    this.interrupted.push({ elements: page.elements, bytes: page.bytes, reason });
    page.elements = [];
    page.line = '';
    page.bytes = 0;
    this.emit('interrupted', reason);
  }

  private get stopped(): boolean {
    return this.paper === 'out' || this.coverOpen;
  }

  private statusByte(n: number): number {
    let b = 0x12;
    if (n === 1 && this.stopped) b |= 0x08;
    if (n === 2) {
      if (this.coverOpen) b |= 0x04;
      if (this.paper === 'out') b |= 0x20;
    }
    if (n === 4) {
      if (this.paper === 'near_end') b |= 0x0c;
      if (this.paper === 'out') b |= 0x6c;
    }
    return b;
  }

  private apply(op: EscposOp, page: Page, s: Socket): void {
    if (op.op === 'status') {
      this.statusRequests[op.n] = (this.statusRequests[op.n] ?? 0) + 1;
      s.write(Buffer.from([this.statusByte(op.n)]));
      return;
    }
    if (this.stopped) {
      // A stopped printer prints nothing; what it was printing is lost with the paper.
      this.discardedCommands++;
      if (page.elements.length > 0 || page.line.length > 0)
        this.interrupt(page, `printer stopped (${this.paper === 'out' ? 'paper out' : 'cover open'})`);
      return;
    }
    page.bytes++;
    switch (op.op) {
      case 'init':
        page.reset();
        return;
      case 'text':
        page.line += this.decode(op.bytes, page.page);
        return;
      case 'newline':
        this.flushLine(page, true);
        return;
      case 'raster': {
        this.flushLine(page, false);
        // Bands printed one after the other are one picture on paper (encoders split tall images).
        const last = page.elements[page.elements.length - 1];
        if (last?.kind === 'image' && last.width === op.width) {
          last.bits = Buffer.concat([last.bits, op.bits]);
          last.height += op.height;
        } else
          page.elements.push({ kind: 'image', width: op.width, height: op.height, bits: op.bits, qr: null });
        return;
      }
      case 'feed':
        this.flushLine(page, false);
        page.elements.push({ kind: 'feed', dots: op.dots });
        return;
      case 'feed-lines':
        this.flushLine(page, false);
        page.elements.push({ kind: 'feed', dots: op.lines * LINE_DOTS });
        return;
      case 'codepage':
        page.page = op.page;
        return;
      case 'align':
        page.align = op.align;
        return;
      case 'size':
        page.size = { width: op.width, height: op.height };
        return;
      case 'mode':
        page.bold = op.bold;
        page.size = { width: op.doubleWidth ? 2 : 1, height: op.doubleHeight ? 2 : 1 };
        return;
      case 'bold':
        page.bold = op.on;
        return;
      case 'cut':
        this.flushLine(page, false);
        this.finish(page, op.partial ? 'partial' : 'full');
        return;
      case 'unknown':
        this.unknownCommands++;
        return;
      case 'other':
        return;
    }
  }

  /** Text bytes through the code page selected when they arrived (ESC t may change it mid-line). */
  private decode(bytes: Buffer, pageNo: number): string {
    const name = this.pages[pageNo] ?? 'cp437';
    const table = CodepageEncoder.supports(name) ? CodepageEncoder.getCodepoints(name as Codepage, true) : [];
    return String.fromCodePoint(...[...bytes].map((b) => (b < 0x80 ? b : (table[b] ?? 0x3f) || 0x3f)));
  }

  /** Ends the current text line. */
  private flushLine(page: Page, always: boolean): void {
    if (page.line.length === 0 && !always) return;
    const text = page.line.normalize('NFC');
    page.line = '';
    page.elements.push({
      kind: 'text',
      text,
      align: page.align,
      width: page.size.width,
      height: page.size.height,
      bold: page.bold,
    });
  }

  private finish(page: Page, cut: 'full' | 'partial'): void {
    const elements = page.elements;
    const bytes = page.bytes;
    page.elements = [];
    page.bytes = 0;
    const ticket = new PrintedTicket(this.tickets.length, elements, cut, bytes, this.dots);
    this.tickets.push(ticket);
    const dir = this.opts.outDir;
    if (dir)
      setImmediate(() => {
        mkdirSync(dir, { recursive: true });
        const base = join(dir, `ticket-${String(ticket.index + 1).padStart(4, '0')}`);
        writeFileSync(`${base}.png`, ticket.png);
        writeFileSync(`${base}.txt`, ticket.text + '\n');
      });
    this.emit('ticket', ticket);
  }
}

/** 1-bit raster (MSB = leftmost dot, 1 = black) to RGBA. */
export function rasterToRgba(width: number, height: number, bits: Buffer): Uint8ClampedArray {
  const out = new Uint8ClampedArray(width * height * 4).fill(255);
  const rowBytes = width / 8;
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const on = ((bits[y * rowBytes + (x >> 3)] as number) >> (7 - (x & 7))) & 1;
      if (on) {
        const o = (y * width + x) * 4;
        out[o] = out[o + 1] = out[o + 2] = 0;
      }
    }
  return out;
}

// jsqr is CommonJS whose typings say `export default`: under NodeNext the callable is on `.default`.
const jsQR = (jsQRModule as unknown as { default: typeof jsQRModule.default }).default ?? jsQRModule;

function decodeQr(e: { width: number; height: number; bits: Buffer }): string | null {
  const found = jsQR(rasterToRgba(e.width, e.height, e.bits), e.width, e.height, {
    inversionAttempts: 'dontInvert',
  });
  return found ? found.data : null;
}

let monoLoaded = false;
const MONO = 'LobbySimMono';
function loadMono(): void {
  if (monoLoaded) return;
  const require = createRequire(import.meta.url);
  const dir = join(dirname(require.resolve('dejavu-fonts-ttf/package.json')), 'ttf');
  GlobalFonts.registerFromPath(join(dir, 'DejaVuSansMono.ttf'), MONO);
  GlobalFonts.registerFromPath(join(dir, 'DejaVuSansMono-Bold.ttf'), MONO);
  monoLoaded = true;
}

/** The paper as it would come out: images dot for dot, printer-font text drawn with a monospace font. */
export function renderPng(elements: SimElement[], dots: number): Buffer {
  const heightOf = (e: SimElement) =>
    e.kind === 'image' ? e.height : e.kind === 'feed' ? e.dots : Math.max(LINE_DOTS, FONT_A.h * e.height + 6);
  const height = Math.max(
    8,
    elements.reduce((s, e) => s + heightOf(e), 0),
  );
  const canvas = createCanvas(dots, height);
  const g = canvas.getContext('2d');
  g.fillStyle = '#fff';
  g.fillRect(0, 0, dots, height);
  let y = 0;
  for (const e of elements) {
    if (e.kind === 'image') {
      const img = g.createImageData(e.width, e.height);
      img.data.set(rasterToRgba(e.width, e.height, e.bits));
      const x = Math.max(0, Math.floor((dots - e.width) / 2));
      g.putImageData(img, e.width >= dots ? 0 : x, y);
    } else if (e.kind === 'text' && e.text.length > 0) {
      loadMono();
      g.save();
      g.fillStyle = '#000';
      g.font = `${e.bold ? 'bold ' : ''}${FONT_A.h - 4}px ${MONO}`;
      const natural = g.measureText(e.text).width;
      const target = [...e.text].length * FONT_A.w * e.width;
      const sx = natural > 0 ? target / natural : 1;
      const x = e.align === 'center' ? (dots - target) / 2 : e.align === 'right' ? dots - target : 0;
      g.translate(Math.max(0, x), y + FONT_A.h * e.height - 4);
      g.scale(sx, e.height);
      g.fillText(e.text, 0, 0);
      g.restore();
    }
    y += heightOf(e);
  }
  return canvas.toBuffer('image/png');
}

export async function startPrinterSim(opts: PrinterSimOptions = {}): Promise<PrinterSim> {
  return new PrinterSim(opts).start();
}
