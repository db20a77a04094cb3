// Bytes to lines for devices that talk in text lines (serial keypads, barcode scanners, keyboard-wedge
// streams). Noise is reported, never thrown: unprintable bytes and over-long lines are dropped with a reason.

export type LineEvent =
  | { kind: 'line'; text: string }
  | { kind: 'noise'; reason: 'too_long' | 'not_printable'; bytes: number; sample: string };

/** `\x1b[2J` style sample of what was dropped, for the log. */
const sampleOf = (b: Buffer) =>
  [...b.subarray(0, 32)]
    .map((c) => (c >= 0x20 && c <= 0x7e ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`))
    .join('');

export class LineReader {
  private buf: Buffer = Buffer.alloc(0);
  private discarding = false;
  private discarded = 0;

  constructor(private readonly maxLineBytes = 128) {}

  push(chunk: Uint8Array): LineEvent[] {
    const out: LineEvent[] = [];
    let data = Buffer.from(chunk);
    for (;;) {
      const nl = data.indexOf(0x0a);
      const cr = data.indexOf(0x0d);
      // Lines end with CR, LF or CR LF (scanners differ).
      const end = nl < 0 ? cr : cr < 0 ? nl : Math.min(nl, cr);
      if (end < 0) {
        if (this.discarding) this.discarded += data.length;
        else {
          this.buf = Buffer.concat([this.buf, data]);
          if (this.buf.length > this.maxLineBytes) {
            this.discarding = true;
            this.discarded = this.buf.length;
            out.push({
              kind: 'noise',
              reason: 'too_long',
              bytes: this.buf.length,
              sample: sampleOf(this.buf),
            });
            this.buf = Buffer.alloc(0);
          }
        }
        return out;
      }
      const line = Buffer.concat([this.buf, data.subarray(0, end)]);
      this.buf = Buffer.alloc(0);
      data = data.subarray(end + 1);
      if (this.discarding) {
        this.discarding = false; // the over-long line ends here; it was already reported
        continue;
      }
      if (line.length === 0) continue; // the LF of a CR LF, or an empty line
      if (line.length > this.maxLineBytes)
        out.push({ kind: 'noise', reason: 'too_long', bytes: line.length, sample: sampleOf(line) });
      else if (line.some((c) => c < 0x20 || c > 0x7e))
        out.push({ kind: 'noise', reason: 'not_printable', bytes: line.length, sample: sampleOf(line) });
      else out.push({ kind: 'line', text: line.toString('ascii') });
    }
  }
}
