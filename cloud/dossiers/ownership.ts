// Which office a dossier belongs to, decided the same way whatever order the province's writes and the lobby
// links arrive in:
//   1. the office the province's software names (`named_office_id`) — authoritative;
//   2. else the office of the earliest lobby link (event time, then office id, then ticket id) among links
//      from offices inside the unit of the integration that wrote the dossier;
//   3. else none (the dossier is in no office's report yet).
// A link from an office outside that unit is kept and marked cross-unit: it never moves the dossier. A code
// only boxes have linked has no dossier row and so no owner; the province's write decides (rule 2 then picks
// the earliest link in its unit). Every path that changes a dossier or its links holds the dossier's lock and
// calls `settleDossierOffice`, so concurrent replicas agree.
import { sql } from 'kysely';
import type { Dialect, Tx } from '../db/database.js';
import { moveDossierShare } from './rollup.js';

/**
 * Serialises writers of one dossier code until the transaction ends (PostgreSQL: a transaction-level advisory
 * lock keyed by schema and code; SQLite has one writer). Take the locks of several codes in sorted order.
 */
export async function lockDossier(tx: Tx, dialect: Dialect, code: string): Promise<void> {
  if (dialect !== 'postgres') return;
  await sql`SELECT pg_advisory_xact_lock(hashtext(current_schema()), hashtext(${code}))`.execute(tx);
}

/**
 * `lockDossier` for several codes, as an expression taking their locks (sorted by the caller) in their order
 * and counting them, for a statement that takes them along with other work (ingest, with its box's row lock).
 */
export function dossierLocks(codes: readonly string[]) {
  return sql<number>`(SELECT count(pg_advisory_xact_lock(hashtext(current_schema()), hashtext(c)))
    FROM unnest(${codes}::text[]) WITH ORDINALITY AS u(c, i))`;
}

/** The unit path of the integration that last wrote the dossier (its scope), or null without a dossier. */
async function dossierScope(tx: Tx, code: string) {
  return tx
    .selectFrom('dossiers')
    .innerJoin('integrations', 'integrations.id', 'dossiers.integration_id')
    .innerJoin('units', 'units.id', 'integrations.unit_id')
    .selectAll('dossiers')
    .select('units.path as scope_path')
    .where('dossiers.code', '=', code)
    .executeTakeFirst();
}

/**
 * The unit path a dossier belongs to, for deciding who may write it: its office's unit when it has an office,
 * else the unit of the integration that wrote it. Undefined when there is no dossier (only links, or none).
 */
export async function dossierOwningPath(tx: Tx, code: string): Promise<string | undefined> {
  const d = await dossierScope(tx, code);
  if (!d) return undefined;
  if (!d.office_id) return d.scope_path;
  const o = await tx
    .selectFrom('offices')
    .innerJoin('units', 'units.id', 'offices.unit_id')
    .select('units.path')
    .where('offices.id', '=', d.office_id)
    .executeTakeFirst();
  return o?.path ?? d.scope_path;
}

/**
 * Decides the dossier's office from its named office and its links (see the rules above), marks each link
 * cross-unit or not, and moves the dossier's rollup share when its office changes. The caller holds the lock.
 */
export async function settleDossierOffice(tx: Tx, code: string): Promise<void> {
  const d = await dossierScope(tx, code);
  if (!d) return; // only links so far: no dossier to file anywhere
  const links = await tx
    .selectFrom('dossier_links')
    .innerJoin('offices', 'offices.id', 'dossier_links.office_id')
    .innerJoin('units', 'units.id', 'offices.unit_id')
    .select(['dossier_links.office_id', 'dossier_links.ticket_id', 'dossier_links.cross_unit', 'units.path'])
    .where('dossier_links.code', '=', code)
    .orderBy('dossier_links.linked_at')
    .orderBy('dossier_links.office_id')
    .orderBy('dossier_links.ticket_id')
    .execute();
  let office = d.named_office_id;
  for (const l of links) {
    const cross = l.path.startsWith(d.scope_path) ? 0 : 1;
    if (!office && !cross) office = l.office_id;
    if (Number(l.cross_unit) !== cross)
      await tx
        .updateTable('dossier_links')
        .set({ cross_unit: cross })
        .where('code', '=', code)
        .where('office_id', '=', l.office_id)
        .where('ticket_id', '=', l.ticket_id)
        .execute();
  }
  if (office === d.office_id) return;
  await tx.updateTable('dossiers').set({ office_id: office }).where('code', '=', code).execute();
  await moveDossierShare(tx, d, { ...d, office_id: office });
}

/**
 * `settleDossierOffice` for each of `codes` that has a dossier (one query finds them, unless the caller has:
 * `present`; a code only boxes have linked has no dossier row, and settling it would do nothing). The caller
 * holds every code's lock, and read `present` while holding them.
 */
export async function settleDossierOffices(
  tx: Tx,
  codes: readonly string[],
  present?: ReadonlySet<string>,
): Promise<void> {
  if (codes.length === 0) return;
  const found =
    present ??
    new Set(
      (await tx.selectFrom('dossiers').select('code').where('code', 'in', codes).execute()).map(
        (r) => r.code,
      ),
    );
  for (const code of codes) if (found.has(code)) await settleDossierOffice(tx, code);
}

/** The read that finds which of `codes` have a dossier (`settleDossierOffices`' `present`), for a statement's end. */
export function dossiersPresent(codes: readonly string[]) {
  return sql<{
    code: string;
  }>`SELECT code FROM dossiers WHERE code IN (${sql.join(codes)})`;
}
