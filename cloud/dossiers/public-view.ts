// A dossier as anyone may see it by its code: the public lookup and a box's lookup station both answer with
// this (no personal data: the cloud stores none).
import type { DossierPublic } from '../../protocol/index.js';
import type { Db } from '../db/database.js';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(Number(ms)).toISOString());

/** The public view of a dossier, or undefined when the cloud has no such code. */
export async function publicDossier(db: Db, code: string): Promise<DossierPublic | undefined> {
  const d = await db
    .selectFrom('dossiers')
    .leftJoin('offices', 'offices.id', 'dossiers.office_id')
    .select([
      'dossiers.code',
      'dossiers.procedure',
      'dossiers.procedure_name',
      'dossiers.service',
      'dossiers.status',
      'dossiers.received_at',
      'dossiers.due_at',
      'dossiers.returned_at',
      'offices.id as office_id',
      'offices.name as office_name',
    ])
    .where('dossiers.code', '=', code)
    .executeTakeFirst();
  if (!d) return undefined;
  const returnedAt = d.returned_at === null ? null : Number(d.returned_at);
  return {
    code: d.code,
    procedure: d.procedure,
    procedureName: d.procedure_name,
    service: d.service,
    status: d.status,
    receivedAt: iso(d.received_at) as string,
    dueAt: iso(d.due_at) as string,
    returnedAt: iso(returnedAt),
    office: d.office_id ? { id: d.office_id, name: d.office_name ?? d.office_id } : null,
    onTime: returnedAt === null ? null : returnedAt <= Number(d.due_at),
  };
}
