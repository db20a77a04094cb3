// Refused attempts in the audit log without letting a flood fill the disk. Per source — the client ip, the
// action (method and route) and the outcome — and per minute: the first refusal is written at once (with what
// was attempted), the repeats of that minute are counted and written as one summary row when the minute is
// over (on the next refusal of that source, the periodic sweep, or at shutdown). Past
// AUDIT_REFUSAL_SOURCES_PER_MINUTE sources in a minute, further sources share one overflow summary. The counts
// live in this replica's memory: a crash loses at most the summary of the current minute, never a first row.
import { AUDIT_REFUSAL_SAMPLES, AUDIT_REFUSAL_SOURCES_PER_MINUTE } from '../limits.js';
import type { AuditEntry } from '../http/context.js';

const MINUTE = 60_000;

interface Source {
  minute: number;
  first: AuditEntry;
  repeats: number;
  actors: Set<string>;
  targets: Set<string>;
  /** The shared summary of sources past the per-minute limit. */
  overflow?: true;
}

export class RefusalAudit {
  private sources = new Map<string, Source>();
  private overflow: Source | null = null;
  private sweeper: NodeJS.Timeout | null = null;

  constructor(
    private readonly write: (e: AuditEntry) => Promise<void>,
    private readonly clock: () => number,
  ) {}

  async record(e: AuditEntry): Promise<void> {
    const minute = Math.floor(this.clock() / MINUTE);
    await this.flush(minute);
    const key = `${e.ip ?? ''}\u0000${e.action}\u0000${e.outcome ?? 'denied'}`;
    const s = this.sources.get(key);
    if (s) return this.count(s, e);
    if (this.sources.size >= AUDIT_REFUSAL_SOURCES_PER_MINUTE) {
      this.overflow ??= {
        minute,
        first: { ...e, ip: null },
        repeats: 0,
        actors: new Set(),
        targets: new Set(),
        overflow: true,
      };
      return this.count(this.overflow, e);
    }
    this.sources.set(key, { minute, first: e, repeats: 0, actors: new Set(), targets: new Set() });
    this.sweeper ??= setInterval(() => void this.flush(Math.floor(this.clock() / MINUTE)), 15_000).unref();
    await this.write(e);
  }

  private count(s: Source, e: AuditEntry): void {
    s.repeats++;
    if (s.actors.size < AUDIT_REFUSAL_SAMPLES) s.actors.add(e.actor);
    if (e.target && s.targets.size < AUDIT_REFUSAL_SAMPLES) s.targets.add(e.target);
  }

  /** Writes the summaries of minutes before `minute` (all of them when omitted) and forgets those sources. */
  async flush(minute = Infinity): Promise<void> {
    const done: Source[] = [];
    for (const [k, s] of this.sources)
      if (s.minute < minute) {
        this.sources.delete(k);
        if (s.repeats) done.push(s);
      }
    if (this.overflow && this.overflow.minute < minute) {
      done.push(this.overflow);
      this.overflow = null;
    }
    for (const s of done)
      await this.write({
        actor: s.first.actor,
        action: s.first.action,
        target: null,
        unitId: s.first.unitId ?? null,
        outcome: s.first.outcome ?? 'denied',
        ip: s.first.ip ?? null,
        detail: {
          repeated: s.repeats,
          minute: new Date(s.minute * MINUTE).toISOString(),
          actors: [...s.actors],
          targets: [...s.targets],
          ...(s.overflow ? { note: 'refusals of sources past the per-minute limit, all actions' } : {}),
        },
      });
  }

  async close(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
    await this.flush();
  }
}
