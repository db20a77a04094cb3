// What a failed write to the event log means for what the box may say next. Two cases only:
// - `full`: SQLite reported the disk full (SQLITE_FULL). The transaction was rolled back before its commit
//   record reached the WAL, so nothing of it exists: the request can be refused and tried again later.
// - `failed`: any other I/O error during a commit (SQLITE_IOERR_FSYNC above all). The commit record may be
//   in the WAL without having been confirmed, so after a restart the transaction may exist. The box cannot
//   know its own state: it stops taking requests and rebuilds from the log (PostgreSQL's answer to a failed
//   fsync), and the device is told to retry with the same request id, never a final "no".
import { statfsSync } from 'node:fs';

export type StorageFaultKind = 'full' | 'failed';

export class StorageFault extends Error {
  constructor(
    readonly kind: StorageFaultKind,
    readonly sqliteCode: string | null,
    message: string,
  ) {
    super(message);
    this.name = 'StorageFault';
  }
}

/** SQLite's result codes that leave the database as it was before the failed statement. */
const ROLLED_BACK = new Set(['SQLITE_FULL']);

/**
 * Classifies an error thrown by a write to the event log: `full`, `failed`, or null when it is no storage
 * fault (a bug, a constraint: rolled back, and the store is as it was).
 */
export function storageFaultOf(err: unknown): StorageFault | null {
  if (err instanceof StorageFault) return err;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_')) return null;
  const message = err instanceof Error ? err.message : String(err);
  if (ROLLED_BACK.has(code)) return new StorageFault('full', code, message);
  if (
    code.startsWith('SQLITE_IOERR') ||
    code.startsWith('SQLITE_CORRUPT') ||
    code === 'SQLITE_NOTADB' ||
    code.startsWith('SQLITE_CANTOPEN') ||
    code.startsWith('SQLITE_READONLY')
  )
    return new StorageFault('failed', code, message);
  return null;
}

/** Bytes an unprivileged process can still write in `dir`'s filesystem, or null when it cannot be read. */
export function freeDiskBytes(dir: string): number | null {
  try {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return null;
  }
}
