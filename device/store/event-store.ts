// The box's durable event log (SQLite, WAL, synchronous=FULL): what a citizen has seen survives a power cut.
// One transaction holds a batch's events, their outbox rows for the cloud uplink, and the replies to the
// requests that caused them (so a retried request gets the same answer instead of a second ticket).
import type Database from 'better-sqlite3';
import type { DomainEvent, EventEnvelope } from '../../protocol/index.js';
import { openEventDatabase, type ModeFix } from './open.js';

export interface StoredEvent {
  seq: number;
  at: number;
  day: string;
  event: DomainEvent;
  source: string | null;
}

export interface Commit {
  events: DomainEvent[];
  at: number;
  day: string;
  source: string | null;
  /** The request behind these events, remembered with its reply (and what it asked, to spot a reused id). */
  request?: { device: string; id: string; fingerprint: string; reply: unknown };
}

const MIGRATIONS: string[] = [
  `CREATE TABLE events (
     seq INTEGER PRIMARY KEY,
     type TEXT NOT NULL,
     at INTEGER NOT NULL,
     day TEXT NOT NULL,
     data TEXT NOT NULL,
     source TEXT
   );
   CREATE TABLE outbox (seq INTEGER PRIMARY KEY, envelope TEXT NOT NULL);
   CREATE TABLE requests (
     device TEXT NOT NULL,
     request_id TEXT NOT NULL,
     reply TEXT NOT NULL,
     at INTEGER NOT NULL,
     PRIMARY KEY (device, request_id)
   ) WITHOUT ROWID;
   CREATE TABLE snapshots (seq INTEGER PRIMARY KEY, state TEXT NOT NULL);
   CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);`,
  `ALTER TABLE requests ADD COLUMN fingerprint TEXT NOT NULL DEFAULT '';`,
  // Replies are pruned by age every tick; print_acks holds the print jobs a kiosk (or the box's own printer
  // driver) reported printed, so a restart re-sends only the jobs nobody printed.
  `CREATE INDEX requests_at ON requests (at);
   CREATE TABLE print_acks (
     job_id TEXT PRIMARY KEY,
     device TEXT NOT NULL,
     at INTEGER NOT NULL
   ) WITHOUT ROWID;`,
];

/** A row of the events table, as SQLite returns it. */
interface EventRow {
  seq: number;
  type: string;
  at: number;
  day: string;
  data: string;
  source: string | null;
}

function storedEventOf(r: EventRow): StoredEvent {
  return {
    seq: r.seq,
    at: r.at,
    day: r.day,
    source: r.source,
    event: { type: r.type, data: JSON.parse(r.data) } as DomainEvent,
  };
}

export function envelopeOf(e: StoredEvent): EventEnvelope {
  return { seq: e.seq, type: e.event.type, at: new Date(e.at).toISOString(), day: e.day, data: e.event.data };
}

export class EventStore {
  private readonly db: Database.Database;
  private lastSeq: number;
  private readonly insertEvent: Database.Statement;
  private readonly insertOutbox: Database.Statement;
  private readonly insertRequest: Database.Statement;
  private readonly selectRequest: Database.Statement;
  private readonly insertSnapshot: Database.Statement;
  /** Modes that were too open at start and were narrowed (the daemon logs them). */
  readonly modeFixes: ModeFix[];

  constructor(readonly file: string) {
    ({ db: this.db, modeFixes: this.modeFixes } = openEventDatabase(file));
    this.migrate();
    this.insertEvent = this.db.prepare(
      'INSERT INTO events (seq, type, at, day, data, source) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.insertOutbox = this.db.prepare('INSERT INTO outbox (seq, envelope) VALUES (?, ?)');
    this.insertRequest = this.db.prepare(
      // Plain INSERT: the ledger never stores a second reply under a (device, id) it has answered, and a
      // replaced reply is how a late retry of the first request used to apply twice.
      'INSERT INTO requests (device, request_id, fingerprint, reply, at) VALUES (?, ?, ?, ?, ?)',
    );
    this.selectRequest = this.db.prepare(
      'SELECT fingerprint, reply FROM requests WHERE device = ? AND request_id = ?',
    );
    this.insertSnapshot = this.db.prepare('INSERT OR REPLACE INTO snapshots (seq, state) VALUES (?, ?)');
    this.lastSeq = Math.max(this.maxEventSeq(), Number(this.getMeta('base_seq') ?? 0));
  }

  private maxEventSeq(): number {
    return (this.db.prepare('SELECT COALESCE(MAX(seq), 0) AS s FROM events').get() as { s: number }).s;
  }

  private migrate(): void {
    const version = this.db.pragma('user_version', { simple: true }) as number;
    for (let v = version; v < MIGRATIONS.length; v++) {
      this.db.transaction(() => {
        this.db.exec(MIGRATIONS[v] as string);
        this.db.pragma(`user_version = ${v + 1}`);
      })();
    }
  }

  get headSeq(): number {
    return this.lastSeq;
  }

  /**
   * Commits the batches in one transaction and returns the stored events. All or nothing: on error
   * nothing is written and the sequence does not advance.
   */
  append(commits: Commit[], snapshot?: string): StoredEvent[] {
    const stored: StoredEvent[] = [];
    const start = this.lastSeq;
    try {
      this.db.transaction(() => {
        let seq = start;
        for (const c of commits) {
          for (const event of c.events) {
            seq += 1;
            const s: StoredEvent = { seq, at: c.at, day: c.day, event, source: c.source };
            this.insertEvent.run(seq, event.type, c.at, c.day, JSON.stringify(event.data), c.source);
            this.insertOutbox.run(seq, JSON.stringify(envelopeOf(s)));
            stored.push(s);
          }
          if (c.request)
            this.insertRequest.run(
              c.request.device,
              c.request.id,
              c.request.fingerprint,
              JSON.stringify(c.request.reply),
              c.at,
            );
        }
        if (snapshot && seq > start) this.insertSnapshot.run(seq, snapshot);
      })();
    } catch (e) {
      this.lastSeq = start;
      throw e;
    }
    this.lastSeq = start + stored.length;
    return stored;
  }

  /** The reply already given to a request with this id, and what that request asked. */
  findReply(device: string, requestId: string): { fingerprint: string; reply: unknown } | undefined {
    const row = this.selectRequest.get(device, requestId) as
      { fingerprint: string; reply: string } | undefined;
    return row ? { fingerprint: row.fingerprint, reply: JSON.parse(row.reply) } : undefined;
  }

  /**
   * Forgets replies (and print acknowledgements) older than `before`: the retention period
   * (REQUEST_REPLY_RETENTION_MS in protocol/limits.ts), far longer than any retry takes.
   */
  pruneRequests(before: number): number {
    const acks = this.db.prepare('DELETE FROM print_acks WHERE at < ?').run(before).changes;
    return this.db.prepare('DELETE FROM requests WHERE at < ?').run(before).changes + acks;
  }

  /** Records print jobs as printed, in one transaction (one fsync); returns the ids not recorded before. */
  recordPrinted(jobs: { jobId: string; device: string }[], at: number): string[] {
    const insert = this.db.prepare('INSERT OR IGNORE INTO print_acks (job_id, device, at) VALUES (?, ?, ?)');
    return this.db.transaction(() =>
      jobs.filter((j) => insert.run(j.jobId, j.device, at).changes === 1).map((j) => j.jobId),
    )();
  }

  /** True when a printer reported this print job printed. */
  wasPrinted(jobId: string): boolean {
    return this.db.prepare('SELECT 1 FROM print_acks WHERE job_id = ?').get(jobId) !== undefined;
  }

  /**
   * The newest events of one type, newest first, back to the first one committed before `since`: the log's
   * tail read by seq (its primary key), so a restart reads minutes of events, not the whole history.
   */
  *recentEvents(type: string, since: number): Generator<StoredEvent> {
    const rows = this.db
      .prepare('SELECT seq, type, at, day, data, source FROM events ORDER BY seq DESC')
      .iterate() as IterableIterator<EventRow>;
    for (const r of rows) {
      if (r.at < since) return;
      if (r.type !== type) continue;
      yield storedEventOf(r);
    }
  }

  /** The latest day snapshot, as the JSON the engine wrote (the store does not know the state's shape). */
  latestSnapshot(): { seq: number; state: string } | undefined {
    const row = this.db.prepare('SELECT seq, state FROM snapshots ORDER BY seq DESC LIMIT 1').get() as
      { seq: number; state: string } | undefined;
    return row;
  }

  *eventsAfter(seq: number): Generator<StoredEvent> {
    const rows = this.db
      .prepare('SELECT seq, type, at, day, data, source FROM events WHERE seq > ? ORDER BY seq')
      .iterate(seq) as IterableIterator<EventRow>;
    for (const r of rows) {
      yield storedEventOf(r);
    }
  }

  outboxSize(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM outbox').get() as { n: number }).n;
  }

  /** The oldest outbox rows (events not yet acknowledged by the cloud), as stored envelope JSON, in order. */
  outboxBatch(limit: number): { seq: number; envelope: string }[] {
    return this.db.prepare('SELECT seq, envelope FROM outbox ORDER BY seq LIMIT ?').all(limit) as {
      seq: number;
      envelope: string;
    }[];
  }

  /** The cloud acknowledged every event up to `seq`: they leave the outbox (the events table keeps them). */
  ackOutbox(seq: number): number {
    return this.db.prepare('DELETE FROM outbox WHERE seq <= ?').run(seq).changes;
  }

  /** The outbox's extent without counting rows (it is gap-free): events waiting and the oldest one's time. */
  outboxBacklog(): { events: number; oldestSeq: number | null; oldestAt: number | null } {
    const r = this.db.prepare('SELECT MIN(seq) AS lo, MAX(seq) AS hi FROM outbox').get() as {
      lo: number | null;
      hi: number | null;
    };
    if (r.lo === null || r.hi === null) return { events: 0, oldestSeq: null, oldestAt: null };
    const at = this.db.prepare('SELECT at FROM events WHERE seq = ?').get(r.lo) as { at: number } | undefined;
    return { events: r.hi - r.lo + 1, oldestSeq: r.lo, oldestAt: at?.at ?? null };
  }

  /**
   * Puts events after `seq` back into the outbox from the log: the cloud lost what it had acknowledged
   * (restored from a backup), so the box sends it again. Returns the rows added.
   */
  requeueAfter(seq: number): number {
    const insert = this.db.prepare('INSERT OR IGNORE INTO outbox (seq, envelope) VALUES (?, ?)');
    const select = this.db.prepare(
      'SELECT seq, type, at, day, data, source FROM events WHERE seq > ? ORDER BY seq LIMIT 1000',
    );
    let n = 0;
    let from = seq;
    for (;;) {
      const rows = select.all(from) as { seq: number; type: string; at: number; day: string; data: string }[];
      if (rows.length === 0) return n;
      this.db.transaction(() => {
        for (const r of rows) {
          const e = {
            seq: r.seq,
            at: r.at,
            day: r.day,
            source: null,
            event: { type: r.type, data: JSON.parse(r.data) },
          };
          n += insert.run(r.seq, JSON.stringify(envelopeOf(e as StoredEvent))).changes;
        }
      })();
      from = (rows[rows.length - 1] as { seq: number }).seq;
    }
  }

  /** The boot counter as last written (0 before the first boot). */
  lastBootSession(): number {
    const row = this.db.prepare("SELECT value FROM meta WHERE key = 'boot'").get() as
      { value: string } | undefined;
    return row ? Number(row.value) : 0;
  }

  /** Increments and returns the boot counter: the box's presence session. */
  nextBootSession(): number {
    return this.db.transaction(() => {
      const row = this.db.prepare("SELECT value FROM meta WHERE key = 'boot'").get() as
        { value: string } | undefined;
      const next = (row ? Number(row.value) : 0) + 1;
      this.db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('boot', ?)").run(String(next));
      return next;
    })();
  }

  // ---- the log's identity (see log-identity.ts): which log this is, and where its numbering starts ----

  /** Whether the log holds any event (not the head: a new log may start after an earlier log's last seq). */
  hasEvents(): boolean {
    return this.db.prepare('SELECT 1 FROM events LIMIT 1').get() !== undefined;
  }

  getMeta(key: string): string | undefined {
    const row = this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as
      { value: string } | undefined;
    return row?.value;
  }

  /** Writes meta entries in one transaction; `base_seq` also moves the head (a new log continues numbering). */
  setMeta(entries: Record<string, string>): void {
    const put = this.db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)');
    this.db.transaction(() => {
      for (const [k, v] of Object.entries(entries)) put.run(k, v);
    })();
    if (entries.base_seq !== undefined) this.lastSeq = Math.max(this.maxEventSeq(), Number(entries.base_seq));
  }

  /**
   * Puts events read back from the cloud into an empty log, with their own sequence numbers. They are
   * acknowledged already, so no outbox rows; the replies to old requests are not in the cloud's copy.
   */
  importEvents(events: EventEnvelope[]): void {
    const insert = this.insertEvent;
    this.db.transaction(() => {
      for (const e of events)
        insert.run(e.seq, e.type, Date.parse(e.at), e.day, JSON.stringify(e.data), null);
    })();
    this.lastSeq = Math.max(this.lastSeq, this.maxEventSeq());
  }

  /**
   * A write that touches no record (the meta row `probe`): after the disk filled up, tells whether the
   * log can take writes again. Throws what the write threw.
   */
  probeWrite(at: number): void {
    this.db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('probe', ?)").run(String(at));
  }

  /**
   * The settings in effect on the log's own connection that decide what a power cut may cost (see open.ts and
   * ARCHITECTURE.md, "Durability"): read back from SQLite, not from what was asked for.
   */
  durability(): { journalMode: string; synchronous: string | undefined; lockingMode: string } {
    const synchronous = this.db.pragma('synchronous', { simple: true }) as number;
    return {
      journalMode: this.db.pragma('journal_mode', { simple: true }) as string,
      synchronous: ['off', 'normal', 'full', 'extra'][synchronous],
      lockingMode: this.db.pragma('locking_mode', { simple: true }) as string,
    };
  }

  /** Cheap liveness probe for /healthz. */
  ping(): boolean {
    return (this.db.prepare('SELECT 1 AS ok').get() as { ok: number }).ok === 1;
  }

  /**
   * Copies the write-ahead log into the database file and empties it (the box is about to lose power: the
   * next start has nothing to replay). Commits are durable without it; this leaves the least to recover.
   */
  checkpoint(): void {
    this.db.pragma('wal_checkpoint(TRUNCATE)');
  }

  close(): void {
    this.db.close();
  }
}
