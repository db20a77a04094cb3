// A streaming ESC/POS parser: bytes in, commands out. It knows the commands a receipt printer gets from a
// ticket (text, styles, code pages, raster images, feeds, cuts, real-time status requests) and skips the
// others by their documented length, so unknown input never stalls it.

export type EscposOp =
  | { op: 'init' }
  | { op: 'text'; bytes: Buffer }
  | { op: 'newline' }
  | { op: 'raster'; width: number; height: number; bits: Buffer }
  | { op: 'feed'; dots: number }
  | { op: 'feed-lines'; lines: number }
  | { op: 'cut'; partial: boolean }
  | { op: 'status'; n: number }
  | { op: 'codepage'; page: number }
  | { op: 'align'; align: 'left' | 'center' | 'right' }
  | { op: 'size'; width: number; height: number }
  | { op: 'mode'; bold: boolean; doubleWidth: boolean; doubleHeight: boolean }
  | { op: 'bold'; on: boolean }
  | { op: 'other'; name: string }
  | { op: 'unknown'; byte: number };

const ESC = 0x1b;
const GS = 0x1d;
const DLE = 0x10;
const FS = 0x1c;

type Step = { op: EscposOp | null; next: number } | null; // null: need more bytes

/** Bytes of parameters after ESC <x>, for the commands that are only skipped. */
const ESC_PARAMS: Record<number, number> = {
  0x2d: 1, // - underline
  0x4d: 1, // M font
  0x47: 1, // G double strike
  0x33: 1, // 3 line spacing
  0x32: 0, // 2 default line spacing
  0x52: 1, // R international set
  0x7b: 1, // { upside down
  0x56: 1, // V rotate
  0x20: 1, // SP right spacing
  0x24: 2, // $ absolute position
  0x5c: 2, // \ relative position
  0x70: 3, // p drawer pulse
  0x72: 1, // r colour
  0x25: 1, // % user charset
  0x55: 1, // U unidirectional
  0x69: 0, // i partial cut (old)
  0x6d: 0, // m partial cut (old)
  0x3d: 1, // = peripheral
  0x4c: 0, // L page mode
  0x53: 0, // S standard mode
  0x54: 1, // T print direction
  0x57: 8, // W print area
  0x44: -1, // D tab stops, NUL-terminated
};

const GS_PARAMS: Record<number, number> = {
  0x42: 1, // B reverse
  0x4c: 2, // L left margin
  0x57: 2, // W print width
  0x68: 1, // h barcode height
  0x77: 1, // w barcode width
  0x48: 1, // H HRI position
  0x66: 1, // f HRI font
  0x61: 1, // a automatic status back
  0x72: 1, // r transmit status
  0x62: 1, // b smoothing
  0x49: 1, // I printer id
  0x50: 2, // P motion units
  0x24: 2, // $ vertical position
  0x5c: 2, // \ relative vertical position
  0x2f: 1, // / print downloaded image
  0x3a: 0, // : macro
  0x5e: 3, // ^ run macro
};

function parseOne(b: Buffer, i: number): Step {
  const c = b[i] as number;
  const need = (n: number) => i + n <= b.length;
  if (c === 0x0a || c === 0x0c) return { op: { op: 'newline' }, next: i + 1 };
  if (c === ESC) {
    if (!need(2)) return null;
    const x = b[i + 1] as number;
    const p = (k: number) => b[i + 2 + k] as number;
    switch (x) {
      case 0x40:
        return { op: { op: 'init' }, next: i + 2 };
      case 0x74:
        return need(3) ? { op: { op: 'codepage', page: p(0) }, next: i + 3 } : null;
      case 0x61: {
        if (!need(3)) return null;
        const v = p(0) % 48;
        return { op: { op: 'align', align: v === 1 ? 'center' : v === 2 ? 'right' : 'left' }, next: i + 3 };
      }
      case 0x45:
        return need(3) ? { op: { op: 'bold', on: (p(0) & 1) === 1 }, next: i + 3 } : null;
      case 0x21: {
        if (!need(3)) return null;
        const n = p(0);
        return {
          op: {
            op: 'mode',
            bold: (n & 0x08) !== 0,
            doubleHeight: (n & 0x10) !== 0,
            doubleWidth: (n & 0x20) !== 0,
          },
          next: i + 3,
        };
      }
      case 0x64:
        return need(3) ? { op: { op: 'feed-lines', lines: p(0) }, next: i + 3 } : null;
      case 0x4a:
        return need(3) ? { op: { op: 'feed', dots: p(0) }, next: i + 3 } : null;
      case 0x63: // ESC c <3|4|5> n
        return need(4) ? { op: { op: 'other', name: 'ESC c' }, next: i + 4 } : null;
      case 0x2a: {
        // ESC * m nL nH d1..dk: column bit image, k = n (m = 0, 1) or 3n (m = 32, 33)
        if (!need(5)) return null;
        const n = p(1) + p(2) * 256;
        const k = p(0) >= 32 ? 3 * n : n;
        return need(5 + k) ? { op: { op: 'other', name: 'ESC *' }, next: i + 5 + k } : null;
      }
      default: {
        const params = ESC_PARAMS[x];
        if (params === -1) {
          const end = b.indexOf(0, i + 2);
          return end < 0 ? null : { op: { op: 'other', name: `ESC ${x}` }, next: end + 1 };
        }
        if (params === undefined) return { op: { op: 'unknown', byte: x }, next: i + 2 };
        return need(2 + params)
          ? { op: { op: 'other', name: `ESC ${String.fromCharCode(x)}` }, next: i + 2 + params }
          : null;
      }
    }
  }
  if (c === GS) {
    if (!need(2)) return null;
    const x = b[i + 1] as number;
    const p = (k: number) => b[i + 2 + k] as number;
    switch (x) {
      case 0x76: {
        // GS v 0 m xL xH yL yH d1..dk: raster bit image, k = x * y, x in bytes
        if (!need(8)) return null;
        const wBytes = p(2) + p(3) * 256;
        const h = p(4) + p(5) * 256;
        const k = wBytes * h;
        if (!need(8 + k)) return null;
        return {
          op: { op: 'raster', width: wBytes * 8, height: h, bits: Buffer.from(b.subarray(i + 8, i + 8 + k)) },
          next: i + 8 + k,
        };
      }
      case 0x56: {
        // GS V m [n]: cut; m 0/48 full, 1/49 partial; 65/66 (and 97/98, 103/104) take a feed amount
        if (!need(3)) return null;
        const m = p(0);
        const withFeed = m >= 65;
        if (withFeed && !need(4)) return null;
        const partial = m === 1 || m === 49 || m === 66 || m === 98 || m === 104;
        return { op: { op: 'cut', partial }, next: i + (withFeed ? 4 : 3) };
      }
      case 0x21: {
        if (!need(3)) return null;
        const n = p(0);
        return { op: { op: 'size', width: (n >> 4) + 1, height: (n & 0x0f) + 1 }, next: i + 3 };
      }
      case 0x28: {
        // GS ( fn pL pH data
        if (!need(5)) return null;
        const k = p(1) + p(2) * 256;
        return need(5 + k)
          ? { op: { op: 'other', name: `GS ( ${String.fromCharCode(p(0))}` }, next: i + 5 + k }
          : null;
      }
      case 0x38: {
        // GS 8 L p1 p2 p3 p4 data: large graphics data
        if (!need(7)) return null;
        const k = p(1) + p(2) * 256 + p(3) * 65536 + p(4) * 16777216;
        return need(7 + k) ? { op: { op: 'other', name: 'GS 8 L' }, next: i + 7 + k } : null;
      }
      case 0x6b: {
        // GS k m ...: barcode; m 0-6 NUL-terminated, m >= 65 has a length byte
        if (!need(3)) return null;
        const m = p(0);
        if (m <= 6) {
          const end = b.indexOf(0, i + 3);
          return end < 0 ? null : { op: { op: 'other', name: 'GS k' }, next: end + 1 };
        }
        if (!need(4)) return null;
        const k = p(1);
        return need(4 + k) ? { op: { op: 'other', name: 'GS k' }, next: i + 4 + k } : null;
      }
      default: {
        const params = GS_PARAMS[x];
        if (params === undefined) return { op: { op: 'unknown', byte: x }, next: i + 2 };
        return need(2 + params)
          ? { op: { op: 'other', name: `GS ${String.fromCharCode(x)}` }, next: i + 2 + params }
          : null;
      }
    }
  }
  if (c === DLE) {
    if (!need(2)) return null;
    const x = b[i + 1] as number;
    if (x === 0x04) return need(3) ? { op: { op: 'status', n: b[i + 2] as number }, next: i + 3 } : null;
    if (x === 0x05) return need(3) ? { op: { op: 'other', name: 'DLE ENQ' }, next: i + 3 } : null;
    if (x === 0x14) return need(5) ? { op: { op: 'other', name: 'DLE DC4' }, next: i + 5 } : null;
    return { op: { op: 'unknown', byte: x }, next: i + 2 };
  }
  if (c === FS) {
    if (!need(2)) return null;
    const x = b[i + 1] as number;
    if (x === 0x2e || x === 0x26)
      return { op: { op: 'other', name: `FS ${String.fromCharCode(x)}` }, next: i + 2 };
    if (x === 0x43) return need(3) ? { op: { op: 'other', name: 'FS C' }, next: i + 3 } : null;
    if (x === 0x70) return need(4) ? { op: { op: 'other', name: 'FS p' }, next: i + 4 } : null;
    return { op: { op: 'unknown', byte: x }, next: i + 2 };
  }
  if (c < 0x20) return { op: c === 0x09 ? { op: 'text', bytes: Buffer.from(' ') } : null, next: i + 1 };
  let j = i;
  while (j < b.length && (b[j] as number) >= 0x20) j++;
  return { op: { op: 'text', bytes: Buffer.from(b.subarray(i, j)) }, next: j };
}

export class EscposParser {
  private buf: Buffer = Buffer.alloc(0);

  /** Feeds bytes; returns the complete commands, keeping an incomplete tail for the next call. */
  push(chunk: Uint8Array): EscposOp[] {
    this.buf = this.buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buf, chunk]);
    const ops: EscposOp[] = [];
    let i = 0;
    while (i < this.buf.length) {
      const step = parseOne(this.buf, i);
      if (step === null) break;
      if (step.op) ops.push(step.op);
      i = step.next;
    }
    this.buf = this.buf.subarray(i);
    return ops;
  }

  /** Bytes of a command still incomplete (e.g. half an image when the printer vanished). */
  get pending(): number {
    return this.buf.length;
  }
}
