// A ticket as ESC/POS bytes. The command encoding is @point-of-sale/receipt-printer-encoder's; this file
// only chooses what to send for each text mode.
import ReceiptPrinterEncoder from '@point-of-sale/receipt-printer-encoder';
import CodepageEncoder, { type Codepage } from '@point-of-sale/codepage-encoder';
import { asciiFold } from '../../../../protocol/index.js';
import { renderTicketImage, type TicketContent, type TicketImage } from './ticket.js';
import { createCanvas } from '@napi-rs/canvas';
import QRCode from 'qrcode';

export type TextMode = 'raster' | 'codepage' | 'ascii';

export interface EscposOptions {
  /** Printable width in dots: 384 (58 mm) or 576 (80 mm). */
  dots: number;
  text: TextMode;
  /** codepage mode: encoder code page name -> ESC t number on this model. */
  codepages: Record<string, number>;
  cut: 'full' | 'partial';
}

/** Epson's numbering: TCVN-3 lower case on page 30, capitals on 31. */
export const EPSON_VIETNAMESE_PAGES: Record<string, number> = { tcvn3: 30, tcvn3capitals: 31 };

/** Anti-aliased edges lighter than this stay white: a little bolder than 128, so thin strokes survive. */
const INK_THRESHOLD = 160;

/** Feed so the cut falls below the last printed line (the cutter sits above the print head). */
const FEED_BEFORE_CUT = 4;

export function encodeTicket(c: TicketContent, o: EscposOptions): Uint8Array {
  if (o.text === 'raster') {
    const img = renderTicketImage(c, o.dots);
    return new ReceiptPrinterEncoder({ imageMode: 'raster', feedBeforeCut: FEED_BEFORE_CUT })
      .initialize()
      .image(asImageData(img), img.width, img.height, 'threshold', INK_THRESHOLD)
      .cut(o.cut)
      .encode();
  }
  const columns = Math.floor(o.dots / 12); // font A is 12 dots wide
  const enc =
    o.text === 'codepage'
      ? new ReceiptPrinterEncoder({ columns, codepageMapping: o.codepages, feedBeforeCut: FEED_BEFORE_CUT })
      : new ReceiptPrinterEncoder({ columns, feedBeforeCut: FEED_BEFORE_CUT });
  const say = o.text === 'codepage' ? codepageText(o.codepages) : asciiFold;
  enc.initialize();
  if (o.text === 'codepage') enc.codepage('auto');
  enc.align('center').bold(true).line(say(c.office)).bold(false).rule().newline();
  enc.line(say(`${c.title} / ${c.subtitle}`));
  enc.size(4, 4).bold(true).line(say(c.number)).size(1, 1).bold(false);
  enc.bold(true).line(say(c.service)).bold(false);
  if (c.priority) enc.bold(true).line(say(c.priority)).bold(false);
  enc.line(say(c.ahead));
  if (c.wait) enc.line(say(c.wait));
  enc.line(say(c.time));
  if (c.qrUrl) {
    const qr = qrImage(c.qrUrl, 6);
    enc.newline().image(asImageData(qr), qr.width, qr.height, 'threshold', INK_THRESHOLD).newline();
    enc.line(say(c.qrCaption));
  }
  enc.rule().line(say(c.footer));
  return enc.cut(o.cut).encode();
}

/** The encoder reads ImageData-like objects: {data, width, height}. */
type EncoderImage = Parameters<ReceiptPrinterEncoder['image']>[0];
function asImageData(img: TicketImage): EncoderImage {
  return { data: img.data, width: img.width, height: img.height } as unknown as EncoderImage;
}

/** A QR code on its own, width and height multiples of 8 (for code-page tickets, where text is the printer's). */
function qrImage(url: string, scale: number): TicketImage {
  const qr = QRCode.create(url, { errorCorrectionLevel: 'M' });
  const side = Math.ceil(((qr.modules.size + 8) * scale) / 8) * 8;
  const canvas = createCanvas(side, side);
  const g = canvas.getContext('2d');
  g.fillStyle = '#fff';
  g.fillRect(0, 0, side, side);
  g.fillStyle = '#000';
  const off = Math.floor((side - qr.modules.size * scale) / 2);
  for (let r = 0; r < qr.modules.size; r++)
    for (let col = 0; col < qr.modules.size; col++)
      if (qr.modules.get(r, col)) g.fillRect(off + col * scale, off + r * scale, scale, scale);
  return { width: side, height: side, data: g.getImageData(0, 0, side, side).data };
}

const TONE_MARKS = /[\u0300\u0301\u0303\u0309\u0323]/g;

/**
 * Text the code page can carry. Windows-1258 has the vowels (â ê ô ơ ư ă) but writes tones as combining
 * marks, so "ộ" is sent as "ô" + U+0323. A character none of the pages has (TCVN-3 in the encoder has no
 * "Đ") is folded to ASCII rather than printed as "?".
 */
export function codepageText(codepages: Record<string, number>): (text: string) => string {
  const names = Object.keys(codepages).filter((n) => CodepageEncoder.supports(n)) as Codepage[];
  const printable = new Set<number>();
  for (const n of names) for (const cp of CodepageEncoder.getCodepoints(n, true)) if (cp) printable.add(cp);
  const decompose = names.includes('windows1258') && !names.includes('tcvn3');
  return (text) => {
    let out = '';
    for (const ch of text.normalize('NFC')) {
      const pieces = decompose ? splitTone(ch) : ch;
      for (const p of pieces) out += printable.has(p.codePointAt(0) as number) ? p : asciiFold(p);
    }
    return out;
  };
}

function splitTone(ch: string): string {
  const d = ch.normalize('NFD');
  const tones = d.match(TONE_MARKS)?.join('') ?? '';
  return d.replace(TONE_MARKS, '').normalize('NFC') + tones;
}
