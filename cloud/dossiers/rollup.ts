// A dossier's share of the dossier rollup (received, returned on time or late), counted in the office and
// office day of its receipt. When a dossier changes — the province updates it, or a lobby link gives it an
// office — its old share is taken out and the new one put in, in the same transaction.
import { sql } from 'kysely';
import { upsertAdd, type Tx } from '../db/database.js';
import { DOSSIER_KEYS, DOSSIER_METRICS, grainsOf } from '../db/rollup-columns.js';
import { DeltaTable } from '../ingest/projection.js';

export interface DossierShape {
  service: string;
  office_id: string | null;
  received_at: number;
  due_at: number;
  returned_at: number | null;
}

const dayFormats = new Map<string, Intl.DateTimeFormat>();
/** YYYY-MM-DD of an instant in a time zone. */
export function localDay(at: number, timezone: string): string {
  let f = dayFormats.get(timezone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', {
      timeZone: timezone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
    });
    dayFormats.set(timezone, f);
  }
  return f.format(new Date(at));
}

function addShare(t: DeltaTable, d: DossierShape | null, timezone: string, sign: 1 | -1): void {
  if (!d?.office_id) return; // in no office's report until the province or a lobby link decides one (ownership.ts)
  const day = localDay(d.received_at, timezone);
  const returned = d.returned_at !== null;
  const m = {
    received: sign,
    returned: returned ? sign : 0,
    on_time: returned && (d.returned_at as number) <= d.due_at ? sign : 0,
    late: returned && (d.returned_at as number) > d.due_at ? sign : 0,
  };
  for (const [grain, period] of grainsOf(day))
    t.add({ grain, period, office_id: d.office_id, service: d.service }, m);
}

export async function timezoneOf(tx: Tx, officeId: string | null): Promise<string> {
  if (!officeId) return 'Asia/Ho_Chi_Minh';
  const row = await tx.selectFrom('offices').select('timezone').where('id', '=', officeId).executeTakeFirst();
  return row?.timezone ?? 'Asia/Ho_Chi_Minh';
}

/** Moves a dossier's share from `before` to `after` (either may be null: new, or gone). */
export async function moveDossierShare(
  tx: Tx,
  before: DossierShape | null,
  after: DossierShape | null,
): Promise<void> {
  const t = new DeltaTable(DOSSIER_KEYS);
  addShare(t, before, await timezoneOf(tx, before?.office_id ?? null), -1);
  addShare(t, after, await timezoneOf(tx, after?.office_id ?? null), 1);
  const rows = t.sorted().filter((r) => DOSSIER_METRICS.some((m) => r[m] !== 0));
  await upsertAdd(tx, 'rollup_dossiers', DOSSIER_KEYS, DOSSIER_METRICS, rows);
}

/** Forgets HMAC signatures whose replay window is over. */
export async function pruneReplays(tx: Tx, now: number): Promise<void> {
  await sql`DELETE FROM hmac_replays WHERE expires_at < ${now}`.execute(tx);
}
