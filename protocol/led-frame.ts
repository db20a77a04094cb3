// The LED serial frame (RS-485 boards): pure encode/decode, no I/O. The wire format is specified for
// vendors in LED-SERIAL.md; if the two disagree, this file wins.
//
//   STX | ADDR | SEQ | CMD | LEN lo | LEN hi | PAYLOAD (LEN bytes) | CRC lo | CRC hi
//   0x02  1-247  0-255                          0..1024                CRC-16/MODBUS over ADDR..PAYLOAD

export const LED_STX = 0x02;
export const LED_MAX_PAYLOAD = 1024;
export const LED_MIN_ADDRESS = 1;
export const LED_MAX_ADDRESS = 247;
/** Bytes around the payload: STX, ADDR, SEQ, CMD, LEN (2), CRC (2). */
export const LED_FRAME_OVERHEAD = 8;

export const LedCommand = {
  /** box -> board: are you there? ACK payload: columns, lines, glyph set (0 ascii, 1 vi). */
  ping: 0x01,
  /** box -> board: show this text (see encodeShowPayload). ACK payload: empty. */
  show: 0x10,
  /** board -> box: done. */
  ack: 0x06,
  /** board -> box: refused; payload: one reason byte (LedNakReason). */
  nak: 0x15,
} as const;

export const LedNakReason = {
  unknownCommand: 0x02,
  badPayload: 0x03,
  busy: 0x04,
  textTooLong: 0x05,
} as const;

export interface LedFrame {
  address: number;
  seq: number;
  command: number;
  payload: Uint8Array;
}

/** CRC-16/MODBUS: reflected polynomial 0xA001, initial 0xFFFF; check value of "123456789" is 0x4B37. */
export function crc16Modbus(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let crc = 0xffff;
  for (let i = start; i < end; i++) {
    crc ^= bytes[i] as number;
    for (let b = 0; b < 8; b++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
  }
  return crc;
}

export function encodeLedFrame(f: LedFrame): Buffer {
  if (!Number.isInteger(f.address) || f.address < 0 || f.address > 255)
    throw new RangeError(`address ${f.address} out of range`);
  if (f.payload.length > LED_MAX_PAYLOAD)
    throw new RangeError(`payload of ${f.payload.length} bytes exceeds ${LED_MAX_PAYLOAD}`);
  const out = Buffer.alloc(LED_FRAME_OVERHEAD + f.payload.length);
  out[0] = LED_STX;
  out[1] = f.address;
  out[2] = f.seq & 0xff;
  out[3] = f.command & 0xff;
  out.writeUInt16LE(f.payload.length, 4);
  out.set(f.payload, 6);
  out.writeUInt16LE(crc16Modbus(out, 1, 6 + f.payload.length), 6 + f.payload.length);
  return out;
}

export type LedDecodeEvent =
  | { kind: 'frame'; frame: LedFrame }
  /** Bytes that were not a valid frame (noise, a bad CRC, an impossible length), dropped. */
  | { kind: 'garbage'; bytes: number; reason: 'no_start' | 'bad_crc' | 'bad_length' };

/**
 * A streaming decoder: push bytes as they arrive, get frames and garbage reports. On a bad CRC it drops
 * only the start byte and searches again, so a frame right after noise is still found.
 */
export class LedFrameDecoder {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Uint8Array): LedDecodeEvent[] {
    this.buf = this.buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buf, chunk]);
    const out: LedDecodeEvent[] = [];
    for (;;) {
      const stx = this.buf.indexOf(LED_STX);
      if (stx < 0) {
        if (this.buf.length > 0) out.push({ kind: 'garbage', bytes: this.buf.length, reason: 'no_start' });
        this.buf = Buffer.alloc(0);
        break;
      }
      if (stx > 0) {
        out.push({ kind: 'garbage', bytes: stx, reason: 'no_start' });
        this.buf = this.buf.subarray(stx);
      }
      if (this.buf.length < 6) break;
      const len = this.buf.readUInt16LE(4);
      if (len > LED_MAX_PAYLOAD) {
        out.push({ kind: 'garbage', bytes: 1, reason: 'bad_length' });
        this.buf = this.buf.subarray(1);
        continue;
      }
      const total = LED_FRAME_OVERHEAD + len;
      if (this.buf.length < total) break;
      const crc = this.buf.readUInt16LE(6 + len);
      if (crc !== crc16Modbus(this.buf, 1, 6 + len)) {
        out.push({ kind: 'garbage', bytes: 1, reason: 'bad_crc' });
        this.buf = this.buf.subarray(1);
        continue;
      }
      out.push({
        kind: 'frame',
        frame: {
          address: this.buf[1] as number,
          seq: this.buf[2] as number,
          command: this.buf[3] as number,
          payload: Uint8Array.from(this.buf.subarray(6, 6 + len)),
        },
      });
      this.buf = this.buf.subarray(total);
    }
    return out;
  }

  /** Bytes held while waiting for the rest of a frame. */
  get pending(): number {
    return this.buf.length;
  }

  reset(): void {
    this.buf = Buffer.alloc(0);
  }
}

// ---- the SHOW payload -----------------------------------------------------------------------------

export interface LedShow {
  lines: string[];
  blink: boolean;
  blank: boolean;
  brightness: number;
}

const FLAG_BLINK = 0x01;
const FLAG_BLANK = 0x02;

/** flags (bit 0 blink, bit 1 blank), brightness 0-100, line count, then per line: length, UTF-8 bytes. */
export function encodeShowPayload(s: LedShow): Buffer {
  const lines = s.lines.map((l) => Buffer.from(l.normalize('NFC'), 'utf8'));
  if (lines.length > 4) throw new RangeError('at most 4 lines');
  for (const l of lines) if (l.length > 255) throw new RangeError('a line is at most 255 bytes');
  const flags = (s.blink ? FLAG_BLINK : 0) | (s.blank ? FLAG_BLANK : 0);
  const brightness = Math.max(0, Math.min(100, Math.round(s.brightness)));
  return Buffer.concat([
    Buffer.from([flags, brightness, lines.length]),
    ...lines.flatMap((l) => [Buffer.from([l.length]), l]),
  ]);
}

/** Reads a SHOW payload; null when it is malformed (the board answers NAK bad payload). */
export function decodeShowPayload(p: Uint8Array): LedShow | null {
  if (p.length < 3) return null;
  const flags = p[0] as number;
  const brightness = p[1] as number;
  const count = p[2] as number;
  if (brightness > 100 || count > 4 || (flags & ~(FLAG_BLINK | FLAG_BLANK)) !== 0) return null;
  const lines: string[] = [];
  let at = 3;
  const decoder = new TextDecoder('utf-8', { fatal: true });
  for (let i = 0; i < count; i++) {
    const len = p[at];
    if (len === undefined || at + 1 + len > p.length) return null;
    try {
      lines.push(decoder.decode(p.subarray(at + 1, at + 1 + len)));
    } catch {
      return null;
    }
    at += 1 + len;
  }
  if (at !== p.length) return null;
  return { lines, blink: (flags & FLAG_BLINK) !== 0, blank: (flags & FLAG_BLANK) !== 0, brightness };
}

/** The ACK payload of a PING: the board's own idea of its size and glyphs. */
export interface LedBoardInfo {
  columns: number;
  lines: number;
  glyphs: 'vi' | 'ascii';
}

export function encodeBoardInfo(i: LedBoardInfo): Buffer {
  return Buffer.from([i.columns, i.lines, i.glyphs === 'vi' ? 1 : 0]);
}

export function decodeBoardInfo(p: Uint8Array): LedBoardInfo | null {
  if (p.length !== 3) return null;
  return { columns: p[0] as number, lines: p[1] as number, glyphs: p[2] === 1 ? 'vi' : 'ascii' };
}

// ---- fitting text to a board ----------------------------------------------------------------------

const TONE_AND_VOWEL_MARKS = /[\u0300\u0301\u0302\u0303\u0306\u0309\u031b\u0323]/;
const REPLACEMENTS: Record<string, string> = {
  '\u2013': '-', // –
  '\u2014': '-', // —
  '\u2192': '>', // →
  '\u2026': '...',
  '\u00a0': ' ',
  '\u2018': "'",
  '\u2019': "'",
  '\u201c': '"',
  '\u201d': '"',
};

/** True for a Vietnamese letter with diacritics (ă â ê ô ơ ư đ and the five tones), in NFC. */
export function isVietnameseLetter(ch: string): boolean {
  if (ch === 'đ' || ch === 'Đ') return true;
  const d = ch.normalize('NFD');
  if (d.length < 2 || !/^[A-Za-z]$/.test(d[0] as string)) return false;
  for (const m of d.slice(1)) if (!TONE_AND_VOWEL_MARKS.test(m)) return false;
  return true;
}

/**
 * Vietnamese to plain ASCII, as boards without Vietnamese glyphs (and printers in ascii mode) need it:
 * diacritics removed (ộ → o, đ → d, Đ → D), dashes and arrows replaced, anything else unprintable → '?'.
 */
export function asciiFold(text: string): string {
  let out = '';
  for (const ch of text.normalize('NFC')) {
    if (ch >= ' ' && ch <= '~') out += ch;
    else if (ch === 'đ') out += 'd';
    else if (ch === 'Đ') out += 'D';
    else if (REPLACEMENTS[ch] !== undefined) out += REPLACEMENTS[ch];
    else {
      const base = ch.normalize('NFD').replace(/[\u0300-\u036f]/g, '');
      out += /^[ -~]+$/.test(base) ? base : '?';
    }
  }
  return out;
}

/** Text for a board with Vietnamese glyphs: printable ASCII and Vietnamese letters; the rest folded. */
export function viFold(text: string): string {
  let out = '';
  for (const ch of text.normalize('NFC')) out += isVietnameseLetter(ch) ? ch : asciiFold(ch);
  return out;
}

export interface LedGeometry {
  columns: number;
  lines: number;
  glyphs: 'vi' | 'ascii';
}

/**
 * Fits text lines to a board: folded to the board's glyphs, each abbreviated to `columns` characters (a
 * Vietnamese letter counts as one; see `abbreviateLine`), at most `lines` lines (the first ones: callers
 * order by importance).
 */
export function fitLedText(lines: readonly string[], g: LedGeometry): string[] {
  const fold = g.glyphs === 'vi' ? viFold : asciiFold;
  return lines.slice(0, g.lines).map((l) => abbreviateLine(fold(l), g.columns));
}

const width = (s: string) => [...s].length;

/**
 * A line too long for the board, shortened so that what is left still reads (boards do not scroll, and a
 * name cut mid-word — "Quay 2 - Chung t" — does not): separators become spaces ("Quầy 2 – Chứng thực, hộ
 * tịch" → "Quầy 2 Chứng thực hộ tịch"), then "Quầy N" becomes "Q.N", then whole words go from the end
 * ("Q.2 Chứng thực"), keeping at least the first; only a first word longer than the board is cut.
 */
export function abbreviateLine(text: string, columns: number): string {
  const line = text.trim();
  if (width(line) <= columns) return line;
  const collapsed = line.replace(/\s*[-–—,;:|]\s*/g, ' ');
  if (width(collapsed) <= columns) return collapsed;
  let words = collapsed
    .replace(/\bQu(?:ầ|a)y\s+(\d+)/gi, 'Q.$1')
    .split(/\s+/)
    .filter(Boolean);
  while (words.length > 1 && width(words.join(' ')) > columns) words = words.slice(0, -1);
  return [...words.join(' ')].slice(0, columns).join('');
}
