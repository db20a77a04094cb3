// Opening the event log: who may read it, and the pragmas that let the box start on a full disk.
import Database from 'better-sqlite3';
import { chmodSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The data directory: the box's user only (the log names citizens' tickets and clerks; the credential). */
export const DATA_DIR_MODE = 0o700;
/** Every file in it: the event log, its WAL, the cloud credential. */
export const DATA_FILE_MODE = 0o600;

/** A mode that was too open and was narrowed at start, for the log. */
export interface ModeFix {
  path: string;
  from: string;
  to: string;
}

const octal = (m: number) => `0${(m & 0o777).toString(8)}`;

/**
 * Creates the data directory owner-only, or narrows an existing one and the files directly in it (a box
 * installed before this rule had 0755 and world-readable files). Returns what it changed.
 */
export function secureDataDir(dir: string): ModeFix[] {
  const fixes: ModeFix[] = [];
  mkdirSync(dir, { recursive: true, mode: DATA_DIR_MODE });
  const narrow = (path: string, want: number) => {
    const full = statSync(path).mode;
    const mode = full & 0o777;
    if ((mode & ~want) === 0) return;
    // A shared directory (sticky, like /tmp) given as the data dir is not locked up for everyone else.
    if (full & 0o1000) return;
    chmodSync(path, mode & want);
    fixes.push({ path, from: octal(mode), to: octal(mode & want) });
  };
  narrow(dir, DATA_DIR_MODE);
  for (const entry of readdirSync(dir, { withFileTypes: true }))
    if (entry.isFile()) narrow(join(dir, entry.name), DATA_FILE_MODE);
  return fixes;
}

/**
 * Opens the log. `locking_mode = EXCLUSIVE` before the first access keeps SQLite's WAL index in the
 * process's heap instead of a memory-mapped `-shm` file: on a full disk that file cannot get the blocks
 * its pages need, and a write to such a page kills the process with SIGBUS (seen on a 1 KiB-block ext4),
 * so the box could not even start to answer retries. It also keeps a second box (or any other process)
 * off the same log while this one runs: read it with the box stopped.
 */
export function openEventDatabase(file: string): { db: Database.Database; modeFixes: ModeFix[] } {
  const memory = file === ':memory:';
  const modeFixes = memory ? [] : secureDataDir(dirname(file));
  const db = new Database(file);
  if (!memory) {
    db.pragma('locking_mode = EXCLUSIVE');
    secureDataDir(dirname(file)); // a log created just now gets 0600 before anything is written to it
  }
  db.pragma('journal_mode = WAL');
  // FULL: the WAL is fsynced at every commit, so a power cut cannot lose a ticket already printed or called.
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  return { db, modeFixes };
}
