// The audit log as a hash chain: each row stores `seq` (1, 2, 3, … with no gap), the previous row's hash and
// the SHA-256 of its own content together with that previous hash. Changing, removing or inserting a row
// breaks the chain at that row, and `verifyAuditChain` names the first broken one. Appends are serialised so
// concurrent writers cannot fork the chain: on PostgreSQL a transaction-level advisory lock (per schema)
// held while the head is read and the row written, so any number of replicas agree; on SQLite an IMMEDIATE
// transaction (one writer at a time, across processes too: the service and the CLI).
// Removing the newest rows leaves a shorter valid chain: keep the head (`verify` prints it) elsewhere, e.g.
// in the daily backup's log, to notice that.
import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import type { CloudDatabase, Db } from '../db/database.js';
import type { AuditTable } from '../db/schema.js';

export const AUDIT_GENESIS = '0'.repeat(64);

/** An audit row's content: what its hash covers (the table's columns but its id and chain fields). */
export type AuditRow = Omit<AuditTable, 'id' | 'seq' | 'prev_hash' | 'hash'>;

/** The hash of a row: its content, its place and the hash before it (JSON of a fixed field order). */
export function auditRowHash(row: AuditRow & { seq: number }, prevHash: string): string {
  const content = JSON.stringify([
    Number(row.seq),
    Number(row.at),
    row.actor,
    row.action,
    row.target,
    row.unit_id,
    row.outcome,
    row.detail,
    row.ip,
    prevHash,
  ]);
  return createHash('sha256').update(content).digest('hex');
}

async function head(db: Db): Promise<{ seq: number; hash: string }> {
  const h = await db
    .selectFrom('audit_log')
    .select(['seq', 'hash'])
    .where('seq', 'is not', null)
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirst();
  return h ? { seq: Number(h.seq), hash: h.hash ?? '' } : { seq: 0, hash: AUDIT_GENESIS };
}

async function appendUnder(db: Db, rows: AuditRow[]): Promise<void> {
  let { seq, hash } = await head(db);
  for (const row of rows) {
    seq++;
    const h = auditRowHash({ ...row, seq }, hash);
    await db
      .insertInto('audit_log')
      .values({ ...row, seq, prev_hash: hash, hash: h })
      .execute();
    hash = h;
  }
}

/** Appends rows to the chain, in order, atomically. */
export async function appendAudit(store: CloudDatabase, rows: AuditRow[]): Promise<void> {
  if (rows.length === 0) return;
  if (store.dialect === 'postgres') {
    await store.db.transaction().execute(async (tx) => {
      await sql`SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.audit_log'))`.execute(tx);
      await appendUnder(tx, rows);
    });
    return;
  }
  await store.db.connection().execute(async (conn) => {
    await sql`BEGIN IMMEDIATE`.execute(conn);
    try {
      await appendUnder(conn, rows);
      await sql`COMMIT`.execute(conn);
    } catch (err) {
      await sql`ROLLBACK`.execute(conn);
      throw err;
    }
  });
}

export interface AuditVerification {
  ok: boolean;
  /** Rows checked. */
  rows: number;
  /** The newest row: keep its hash elsewhere to notice removal of the newest rows. */
  head: { seq: number; id: number; hash: string } | null;
  /** The first row that does not fit the chain, and why. */
  broken?: { id: number; seq: number | null; reason: string };
}

/** Walks the whole chain in order (in pages: memory stays flat) and names the first row that breaks it. */
export async function verifyAuditChain(db: Db, pageSize = 2000): Promise<AuditVerification> {
  const unchained = await db
    .selectFrom('audit_log')
    .select(['id'])
    .where((eb) => eb.or([eb('seq', 'is', null), eb('hash', 'is', null), eb('prev_hash', 'is', null)]))
    .orderBy('id')
    .limit(1)
    .executeTakeFirst();
  if (unchained)
    return {
      ok: false,
      rows: 0,
      head: null,
      broken: { id: Number(unchained.id), seq: null, reason: 'row outside the chain (no seq or hash)' },
    };
  let prev = { seq: 0, hash: AUDIT_GENESIS, id: 0 };
  let rows = 0;
  for (;;) {
    const page = await db
      .selectFrom('audit_log')
      .selectAll()
      .where('seq', '>', prev.seq)
      .orderBy('seq')
      .limit(pageSize)
      .execute();
    for (const r of page) {
      const seq = Number(r.seq);
      const id = Number(r.id);
      const fail = (reason: string): AuditVerification => ({
        ok: false,
        rows,
        head: null,
        broken: { id, seq, reason },
      });
      if (seq !== prev.seq + 1) return fail(`seq ${seq} follows ${prev.seq}: rows are missing before it`);
      if (r.prev_hash !== prev.hash)
        return fail('its previous hash does not match the row before it (a row was removed or changed)');
      const row = r as unknown as AuditRow;
      if (auditRowHash({ ...row, seq }, prev.hash) !== r.hash)
        return fail('its content does not match its hash');
      prev = { seq, hash: r.hash as string, id };
      rows++;
    }
    if (page.length < pageSize) break;
  }
  return { ok: true, rows, head: rows ? { seq: prev.seq, id: prev.id, hash: prev.hash } : null };
}

/** Gives the rows written before the chain existed their place in it (the migration that adds it). */
export async function chainExistingRows(db: Db): Promise<void> {
  let prevHash = AUDIT_GENESIS;
  let seq = 0;
  let lastId = -1;
  for (;;) {
    const page = await db
      .selectFrom('audit_log')
      .selectAll()
      .where('id', '>', lastId)
      .orderBy('id')
      .limit(1000)
      .execute();
    for (const r of page) {
      seq++;
      const hash = auditRowHash({ ...(r as unknown as AuditRow), seq }, prevHash);
      await db
        .updateTable('audit_log')
        .set({ seq, prev_hash: prevHash, hash })
        .where('id', '=', r.id)
        .execute();
      prevHash = hash;
      lastId = Number(r.id);
    }
    if (page.length < 1000) break;
  }
}
