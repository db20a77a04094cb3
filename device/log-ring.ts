// The daemon's last log lines, in memory, for a diagnostics command (device/fleet/box-commands.ts): a bounded
// ring beside stdout, so an admin sees what the box said without anyone on site reading its journal.
import { DIAGNOSTICS_LOG_LINE_MAX_CHARS, DIAGNOSTICS_LOG_LINES_MAX } from '../protocol/fleet-commands.js';

export class LogRing {
  private readonly lines: string[] = [];

  constructor(private readonly size = DIAGNOSTICS_LOG_LINES_MAX) {}

  /** pino's destination interface: one call per line (with its newline). */
  write(chunk: string): void {
    for (const raw of chunk.split('\n')) {
      if (raw === '') continue;
      const line =
        raw.length > DIAGNOSTICS_LOG_LINE_MAX_CHARS
          ? `${raw.slice(0, DIAGNOSTICS_LOG_LINE_MAX_CHARS - 1)}…`
          : raw;
      this.lines.push(line);
      if (this.lines.length > this.size) this.lines.shift();
    }
  }

  /** The last `n` lines, oldest first. */
  last(n: number): string[] {
    return n <= 0 ? [] : this.lines.slice(-n);
  }
}
