// The event log's identity and the checks at start. A box must know it has run before: an emptied, deleted,
// swapped or corrupt events.db, or a wrong --data-dir, would otherwise start the day again at A001 and hand
// out numbers citizens already hold. So each log has a random id, kept inside events.db (meta) and in two
// markers written at the first start: one in the data dir, one beside the config file (the wrong --data-dir
// case: the data dir, with the cloud credential, is then the wrong one too). A marker also names the data dir
// and the last sequence number seen. At start the log must match every marker, and pass SQLite's
// quick_check; otherwise the box refuses to start and says how to recover (device/README.md, "When the box
// refuses to start"). Nothing here deletes or overwrites a log: a replaced one is renamed aside.
import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { EventStore } from './event-store.js';

export const EVENTS_FILE = 'events.db';
/** The marker's name in the data dir; beside the config file it is `<config file>.eventlog.json`. */
export const DATA_DIR_MARKER = 'eventlog.json';
/** `lobby device` exits with this code when it refuses its event log (the unit does not restart it). */
export const LOG_REFUSED_EXIT_CODE = 3;

export interface LogMarker {
  logId: string;
  /** The data dir the log lives in (absolute). */
  dataDir: string;
  /** The newest sequence number seen (updated at start, every tick when it moved, and at stop). */
  lastSeq: number;
  updatedAt: string;
}

export type RefusalReason =
  'missing' | 'other_log' | 'behind' | 'corrupt' | 'cloud_ahead' | 'marker_unreadable';

/** The box must not start on this log; the message says what happened and the commands that recover. */
export class LogRefusal extends Error {
  constructor(
    readonly reason: RefusalReason,
    message: string,
  ) {
    super(message);
    this.name = 'LogRefusal';
  }
}

export interface LogPlace {
  dataDir: string;
  /** The config file, when the box was started from one (its marker sits beside it). */
  configFile?: string;
}

export const eventsFile = (dataDir: string): string => join(dataDir, EVENTS_FILE);

export function markerFiles(p: LogPlace): string[] {
  const files = [join(p.dataDir, DATA_DIR_MARKER)];
  if (p.configFile) files.push(`${resolve(p.configFile)}.eventlog.json`);
  return files;
}

export function readMarkers(p: LogPlace): { file: string; marker: LogMarker }[] {
  const found: { file: string; marker: LogMarker }[] = [];
  for (const file of markerFiles(p)) {
    if (!existsSync(file)) continue;
    let marker: LogMarker;
    try {
      marker = JSON.parse(readFileSync(file, 'utf8')) as LogMarker;
    } catch (err) {
      throw new LogRefusal(
        'marker_unreadable',
        `${file}: không đọc được (unreadable: ${(err as Error).message}). This file names the box's event log; ` +
          'if it is damaged, move it away and start again (the log inside events.db is checked on its own).',
      );
    }
    if (typeof marker.logId !== 'string' || typeof marker.lastSeq !== 'number')
      throw new LogRefusal('marker_unreadable', `${file}: not an event log marker (logId, lastSeq)`);
    found.push({ file, marker });
  }
  return found;
}

/** Writes every marker (atomic rename). Returns the files it could not write (a read-only config folder). */
export function writeMarkers(p: LogPlace, logId: string, lastSeq: number): { file: string; error: string }[] {
  const marker: LogMarker = {
    logId,
    dataDir: resolve(p.dataDir),
    lastSeq,
    updatedAt: new Date().toISOString(),
  };
  const failed: { file: string; error: string }[] = [];
  for (const file of markerFiles(p)) {
    try {
      writeFileSync(`${file}.tmp`, JSON.stringify(marker, null, 2) + '\n');
      renameSync(`${file}.tmp`, file);
    } catch (err) {
      failed.push({ file, error: (err as Error).message });
    }
  }
  return failed;
}

const isCorruption = (err: unknown): boolean =>
  /^SQLITE_(CORRUPT|NOTADB)/.test(String((err as { code?: unknown }).code ?? ''));

/**
 * The connection the checks read through: the box's own kind (`locking_mode = EXCLUSIVE` before the first
 * access, store/open.ts), which keeps the WAL index in memory. A read-only connection cannot: it needs a
 * `-shm` file, which a full disk refuses after a clean stop (SQLITE_IOERR_SHMSIZE), so the box could not
 * start to answer retries, and a read-only connection in exclusive mode cannot lock a WAL database at all
 * (SQLITE_IOERR_LOCK). The checks run only PRAGMA quick_check and SELECTs: nothing is written, but for the
 * frames of a WAL a killed box left, which SQLite moves into the file when the connection closes, as the
 * box itself would.
 */
function openForCheck(file: string): Database.Database {
  const db = new Database(file, { fileMustExist: true });
  db.pragma('locking_mode = EXCLUSIVE');
  return db;
}

/**
 * SQLite's quick_check (every page and b-tree, without the slower index-content comparison of
 * integrity_check), through openForCheck, which writes nothing. Returns the problems
 * SQLite reports, or [] when the log is sound. About 0.1 s per 100,000 events here (device/README.md).
 */
export function integrityProblems(file: string): string[] {
  let db: Database.Database | undefined;
  try {
    db = openForCheck(file);
    const rows = db.pragma('quick_check') as { quick_check: string }[];
    const problems = rows.map((r) => r.quick_check).filter((r) => r !== 'ok');
    return problems;
  } catch (err) {
    if (isCorruption(err)) return [(err as Error).message];
    throw err;
  } finally {
    db?.close();
  }
}

/** What a stopped log holds, read without changing it: its id and head, or why it cannot be read. */
export function inspectLog(
  file: string,
):
  | { state: 'absent' }
  | { state: 'corrupt'; problems: string[] }
  | { state: 'ok'; logId: string | null; headSeq: number; events: number } {
  if (!existsSync(file) || statSync(file).size === 0) return { state: 'absent' };
  const problems = integrityProblems(file);
  if (problems.length) return { state: 'corrupt', problems };
  const db = openForCheck(file);
  try {
    const hasTable = (name: string) =>
      db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;
    if (!hasTable('events')) return { state: 'ok', logId: null, headSeq: 0, events: 0 };
    const meta = (key: string) =>
      hasTable('meta')
        ? (db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined)
            ?.value
        : undefined;
    const r = db.prepare('SELECT COALESCE(MAX(seq), 0) AS head, COUNT(*) AS n FROM events').get() as {
      head: number;
      n: number;
    };
    return {
      state: 'ok',
      logId: meta('log_id') ?? null,
      headSeq: Math.max(r.head, Number(meta('base_seq') ?? 0)),
      events: r.n,
    };
  } finally {
    db.close();
  }
}

/** Renames events.db (and its -wal, -shm) aside, never deleting it. Returns the new name, or null if absent. */
export function setLogAside(dataDir: string, why: string): string | null {
  const file = eventsFile(dataDir);
  if (!existsSync(file)) return null;
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const aside = `${file}.${why}-${stamp}`;
  // The main file last: a crash midway leaves it in place.
  for (const suffix of ['-wal', '-shm', ''])
    if (existsSync(file + suffix)) renameSync(file + suffix, aside + suffix);
  return aside;
}

/** The commands that recover, for a refusal's message (Vietnamese, then English). */
function remedies(p: LogPlace, opts: { rightDataDir?: string; corrupt?: boolean } = {}): string {
  const cfg = p.configFile ? `--config ${p.configFile} ` : '--config <office.yaml> ';
  const dir = `--data-dir ${p.dataDir}`;
  const kept = opts.corrupt ? 'the damaged file is kept aside' : 'the old log is kept aside';
  const lines = ['Cách khắc phục (what to do) — dừng hộp trước (stop the box first):'];
  if (opts.rightDataDir)
    lines.push(
      `  - nhật ký ở ${opts.rightDataDir}? / if the log is in ${opts.rightDataDir}, start the box with --data-dir ${opts.rightDataDir}`,
    );
  lines.push(
    `  - chép lại ${EVENTS_FILE} từ bản sao lưu / restore ${EVENTS_FILE} from a backup into ${p.dataDir}, then start again`,
    '  - lấy lại ngày hôm nay từ máy chủ (hộp đã đăng ký) / recover the current day from the cloud (enrolled boxes): ' +
      `lobby device recover-log ${cfg}${dir}`,
    `  - mở nhật ký mới có chủ đích, số hôm nay bắt đầu lại từ 001 / start a new log on purpose (today's numbers restart at 001; ${kept}): ` +
      `lobby device new-log ${cfg}${dir} --reason "<why>"`,
    'Xem / see device/README.md, "When the box refuses to start".',
  );
  return lines.join('\n');
}

export interface OpenLogOptions extends LogPlace {
  log: Logger;
  /**
   * The last sequence number the cloud acknowledged to this box, or null when it cannot be asked (not
   * enrolled, unreachable). A cloud ahead of the local log means the log was lost or replaced.
   */
  cloudAckedSeq?: () => Promise<number | null>;
}

/**
 * Opens the event log after checking that it is this box's log, whole and sound; throws LogRefusal
 * otherwise. A fresh install (no marker, no events) gets a new log id; a log from before log ids is adopted.
 */
export async function openCheckedLog(o: OpenLogOptions): Promise<EventStore> {
  const file = eventsFile(o.dataDir);
  const markers = readMarkers(o);
  const here = resolve(o.dataDir);
  const elsewhere = markers.find((m) => m.marker.dataDir !== here)?.marker.dataDir;
  const present = existsSync(file) && statSync(file).size > 0;
  if (!present && markers.length > 0) {
    const m = (markers[0] as { marker: LogMarker }).marker;
    throw new LogRefusal(
      'missing',
      `Hộp từ chối khởi động: không có nhật ký sự kiện ${file}, nhưng hộp đã từng chạy (log ${m.logId}, đến số thứ tự ${m.lastSeq}). ` +
        `Khởi động lại từ đầu sẽ cấp lại những số công dân đang giữ.\n` +
        `The box refuses to start: ${file} is ${existsSync(file) ? 'empty' : 'missing'}, but this box has run before ` +
        `(log ${m.logId} in ${m.dataDir}, up to seq ${m.lastSeq}, marker ${markers.map((x) => x.file).join(', ')}). ` +
        `Starting an empty log would hand out again numbers that citizens already hold.\n` +
        remedies(o, { ...(elsewhere ? { rightDataDir: elsewhere } : {}) }),
    );
  }
  if (present) {
    const problems = integrityProblems(file);
    if (problems.length)
      throw new LogRefusal(
        'corrupt',
        `Hộp từ chối khởi động: nhật ký sự kiện ${file} bị hỏng. Không xoá hay ghi đè tệp này.\n` +
          `The box refuses to start: the event log ${file} is damaged (SQLite quick_check: ${problems.slice(0, 3).join('; ')}). ` +
          'Do not delete or overwrite it: copy it somewhere safe first.\n' +
          remedies(o, { corrupt: true }),
      );
  }
  const store = new EventStore(file);
  try {
    const logId = store.getMeta('log_id');
    const events = store.hasEvents();
    if (logId) {
      const other = markers.find((m) => m.marker.logId !== logId);
      if (other)
        throw new LogRefusal(
          'other_log',
          `Hộp từ chối khởi động: ${file} là nhật ký khác với nhật ký hộp đã dùng.\n` +
            `The box refuses to start: ${file} holds log ${logId}, but ${other.file} says this box ran log ` +
            `${other.marker.logId} (in ${other.marker.dataDir}, up to seq ${other.marker.lastSeq}): a swapped log or the wrong data dir.\n` +
            remedies(o, other.marker.dataDir !== here ? { rightDataDir: other.marker.dataDir } : {}),
        );
      const seen = Math.max(...markers.map((m) => m.marker.lastSeq), 0);
      if (seen > store.headSeq)
        throw new LogRefusal(
          'behind',
          `Hộp từ chối khởi động: nhật ký ${file} thiếu các sự kiện cuối (đến ${store.headSeq}, hộp đã thấy ${seen}).\n` +
            `The box refuses to start: ${file} ends at seq ${store.headSeq}, but this box had reached seq ${seen} ` +
            '(an older copy was restored, or the file lost its end). Numbers issued after it could be issued again.\n' +
            remedies(o),
        );
    } else if (events && markers.length > 0) {
      throw new LogRefusal(
        'other_log',
        `Hộp từ chối khởi động: ${file} không phải nhật ký hộp đã dùng.\n` +
          `The box refuses to start: ${file} holds events but no log id, while ${markers[0]?.file} names log ` +
          `${markers[0]?.marker.logId}: an older log was put in place of this box's log.\n` +
          remedies(o, elsewhere ? { rightDataDir: elsewhere } : {}),
      );
    }
    if (o.cloudAckedSeq) {
      const acked = await o.cloudAckedSeq();
      if (acked !== null && acked > store.headSeq)
        throw new LogRefusal(
          'cloud_ahead',
          `Hộp từ chối khởi động: máy chủ đã nhận đến sự kiện ${acked} của hộp này, nhật ký tại chỗ chỉ đến ${store.headSeq}.\n` +
            `The box refuses to start: the cloud has this box's events up to seq ${acked}, the local log ${file} ends at ` +
            `seq ${store.headSeq}: the log was lost or replaced${!events ? ' (or this is the wrong data dir)' : ''}.\n` +
            remedies(o),
        );
    }
    if (!logId) {
      const id = randomUUID();
      store.setMeta({
        log_id: id,
        log_created_at: new Date().toISOString(),
        log_reason: events ? 'adopted' : 'first start',
      });
      o.log.info(
        { logId: id, adopted: events },
        events ? 'event log adopted: it now has an id' : 'new event log (first start)',
      );
    }
    refreshMarkers(o, store);
    return store;
  } catch (err) {
    store.close();
    throw err;
  }
}

/** Markers already reported as unwritable: said once per process, not at every tick. */
const unwritable = new Set<string>();

/** Writes the markers with the log's head; a marker that cannot be written is logged (once), not fatal. */
export function refreshMarkers(o: LogPlace & { log: Logger }, store: EventStore): void {
  const logId = store.getMeta('log_id');
  if (!logId) return;
  for (const f of writeMarkers(o, logId, store.headSeq)) {
    if (unwritable.has(f.file)) continue;
    unwritable.add(f.file);
    o.log.warn(
      f,
      'event log marker not written (a read-only folder?): the box cannot tell a lost log from a new one there',
    );
  }
}

/**
 * Creates an empty log on purpose (`lobby device new-log`, or recovery's new file) that continues the
 * sequence numbers after `baseSeq` (the cloud drops events at or below what it acknowledged), recording why
 * and which log it replaces.
 */
export function createLog(
  file: string,
  o: { baseSeq: number; reason: string; previousLogId: string | null },
): EventStore {
  const store = new EventStore(file);
  store.setMeta({
    log_id: randomUUID(),
    log_created_at: new Date().toISOString(),
    log_reason: o.reason,
    log_previous_id: o.previousLogId ?? '',
    base_seq: String(o.baseSeq),
  });
  return store;
}
