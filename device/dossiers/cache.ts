// What the box keeps of the cloud's dossier answers, so a lookup station and the status board work through
// an internet outage and say how old their answer is. A cache, not a record: its own SQLite file beside the
// event log (`dossier-cache.db`), never part of the log, and a lost one costs nothing but a cloud question.
import Database from 'better-sqlite3';
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import {
  LOOKUP_CACHE_MAX_AGE_MS,
  LOOKUP_CACHE_MAX_ENTRIES,
  type DossierBoard,
  type DossierLookupAnswer,
} from '../../protocol/index.js';
import { DATA_FILE_MODE } from '../store/open.js';

export const DOSSIER_CACHE_FILE = 'dossier-cache.db';

export interface Kept<T> {
  value: T;
  fetchedAt: number;
}

export interface CacheBounds {
  maxEntries: number;
  maxAgeMs: number;
}

export class DossierCache {
  private readonly db: Database.Database;

  constructor(
    dataDir: string,
    private readonly bounds: CacheBounds = {
      maxEntries: LOOKUP_CACHE_MAX_ENTRIES,
      maxAgeMs: LOOKUP_CACHE_MAX_AGE_MS,
    },
  ) {
    const file = join(dataDir, DOSSIER_CACHE_FILE);
    this.db = new Database(file);
    chmodSync(file, DATA_FILE_MODE);
    this.db.pragma('journal_mode = WAL');
    // A power cut may lose the last answers; the cloud has them.
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS answers (
        code TEXT PRIMARY KEY, body TEXT NOT NULL, fetched_at INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS answers_fetched ON answers (fetched_at);
      CREATE TABLE IF NOT EXISTS board (
        id INTEGER PRIMARY KEY CHECK (id = 1), body TEXT NOT NULL, fetched_at INTEGER NOT NULL);`);
  }

  answer(code: string, now: number): Kept<DossierLookupAnswer> | null {
    const row = this.db.prepare('SELECT body, fetched_at FROM answers WHERE code = ?').get(code) as
      { body: string; fetched_at: number } | undefined;
    if (!row || now - row.fetched_at > this.bounds.maxAgeMs) return null;
    return { value: JSON.parse(row.body) as DossierLookupAnswer, fetchedAt: row.fetched_at };
  }

  keepAnswer(answer: DossierLookupAnswer, at: number): void {
    this.db
      .prepare('INSERT OR REPLACE INTO answers (code, body, fetched_at) VALUES (?, ?, ?)')
      .run(answer.code, JSON.stringify(answer), at);
    this.prune(at);
  }

  /** A dossier the cloud no longer has is not shown from the cache either. */
  forget(code: string): void {
    this.db.prepare('DELETE FROM answers WHERE code = ?').run(code);
  }

  size(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM answers').get() as { n: number }).n;
  }

  board(): Kept<DossierBoard> | null {
    const row = this.db.prepare('SELECT body, fetched_at FROM board WHERE id = 1').get() as
      { body: string; fetched_at: number } | undefined;
    return row ? { value: JSON.parse(row.body) as DossierBoard, fetchedAt: row.fetched_at } : null;
  }

  keepBoard(board: DossierBoard, at: number): void {
    this.db
      .prepare('INSERT OR REPLACE INTO board (id, body, fetched_at) VALUES (1, ?, ?)')
      .run(JSON.stringify(board), at);
  }

  close(): void {
    this.db.close();
  }

  private prune(now: number): void {
    this.db.prepare('DELETE FROM answers WHERE fetched_at < ?').run(now - this.bounds.maxAgeMs);
    this.db
      .prepare(
        'DELETE FROM answers WHERE code IN (SELECT code FROM answers ORDER BY fetched_at DESC LIMIT -1 OFFSET ?)',
      )
      .run(this.bounds.maxEntries);
  }
}
