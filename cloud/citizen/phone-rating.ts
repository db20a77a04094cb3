// A rating from the citizen's phone (issue 14), for offices without rating tablets. Recorded in the cloud, in
// its own table (one row per ticket: the primary key refuses a second), and counted in the rollups in the same
// transaction exactly as a box's `rating.submitted` is: the event is folded through the ingest's own
// projection, so the reports count it alike and credit it to the clerk who served the ticket. It is not a box
// event: the box's log, its sequence and the cloud's exactly-once ingest are untouched.
import { openSecret, sealSecret } from '../health/secret-box.js';
import { timingSafeEqual } from 'node:crypto';
import type { EventEnvelope, PhoneRatingState } from '../../protocol/index.js';
import { ticketKey } from '../../protocol/secrets.js';
import { upsertAdd, type Db } from '../db/database.js';
import { ROLLUP_KEYS, ROLLUP_METRICS } from '../db/rollup-columns.js';
import { applyEvent, newDeltas } from '../ingest/projection.js';
import type { OfficeSetup, TicketRow } from './live.js';

export type PhoneRatingRefusal = Exclude<PhoneRatingState['reason'], null>;

/** Whether a ticket may be rated from the phone now, and why not. */
export async function phoneRatingState(
  db: Db,
  office: OfficeSetup,
  t: TicketRow,
  now: number,
  windowMinutes: number,
): Promise<PhoneRatingState> {
  const scaleMax = office.scale.length;
  const given = await db
    .selectFrom('phone_ratings')
    .select('score')
    .where('office_id', '=', office.id)
    .where('ticket_id', '=', t.ticket_id)
    .executeTakeFirst();
  const state = (reason: PhoneRatingRefusal | null): PhoneRatingState => ({
    open: reason === null,
    reason,
    scaleMax,
    score: given ? Number(given.score) : null,
  });
  if (given) return state('already_rated');
  if (office.ratesEverywhere || (t.counter !== null && office.ratedCounters.has(t.counter)))
    return state('tablet');
  // The citizen has reached the counter (serving) or been served; a no-show or a waiting ticket has not.
  if ((t.state !== 'serving' && t.state !== 'finished') || t.counter === null) return state('not_served');
  if (now - t.updated_at > windowMinutes * 60_000) return state('window_closed');
  return state(null);
}

/**
 * A box's ticket-key secret at rest: sealed (AES-256-GCM) under the cloud's master key and bound to the box, as
 * webhook secrets are (health/secret-box.ts), so a database dump alone cannot forge ticket keys.
 */
export const sealTicketKeySecret = (masterKey: Buffer, boxId: string, secret: string): string =>
  sealSecret(masterKey, `box-ticket-key:${boxId}`, secret);
const openTicketKeySecret = (masterKey: Buffer, boxId: string, sealed: string): string =>
  openSecret(masterKey, `box-ticket-key:${boxId}`, sealed);

/**
 * Whether `key` is the ticket's key under the secret of one of the office's boxes (a box replaced during the day
 * leaves its tickets' keys valid as long as its row stays). The key comes from the ticket's QR code: a ticket's
 * address alone can be guessed, its key cannot.
 */
export async function ticketKeyValid(
  db: Db,
  masterKey: Buffer,
  officeId: string,
  ticketId: string,
  key: string,
): Promise<boolean> {
  const rows = await db
    .selectFrom('box_ticket_keys')
    .select(['box_id', 'secret'])
    .where('office_id', '=', officeId)
    .execute();
  const given = Buffer.from(key);
  return rows.some((r) => {
    let secret: string;
    try {
      secret = openTicketKeySecret(masterKey, r.box_id, r.secret);
    } catch {
      return false; // sealed under another master key, or damaged: no key matches it
    }
    const want = Buffer.from(ticketKey(secret, officeId, ticketId));
    return want.length === given.length && timingSafeEqual(want, given);
  });
}

/**
 * Records a phone rating and counts it; the refusal when it may not be (a second rating of a ticket, rated by
 * another request between the check and the write, is `already_rated`: the primary key decides).
 */
export async function recordPhoneRating(
  db: Db,
  masterKey: Buffer,
  office: OfficeSetup,
  t: TicketRow,
  score: number,
  key: string,
  now: number,
  windowMinutes: number,
): Promise<PhoneRatingRefusal | 'score_out_of_scale' | 'key_invalid' | null> {
  if (!(await ticketKeyValid(db, masterKey, office.id, t.ticket_id, key))) return 'key_invalid';
  const st = await phoneRatingState(db, office, t, now, windowMinutes);
  if (!st.open) return st.reason;
  if (!Number.isInteger(score) || score < 1 || score > st.scaleMax) return 'score_out_of_scale';
  const counter = t.counter as number;
  const clerk = t.clerk_id
    ? await db
        .selectFrom('clerks')
        .select('name')
        .where('office_id', '=', office.id)
        .where('clerk_id', '=', t.clerk_id)
        .executeTakeFirst()
    : undefined;
  // The event the rating tablet would have sent, folded through the ingest's projection.
  const event: EventEnvelope = {
    seq: 1,
    type: 'rating.submitted',
    at: new Date(now).toISOString(),
    day: t.day,
    data: {
      ticketId: t.ticket_id,
      number: t.number,
      service: t.service,
      counter,
      clerk: t.clerk_id ? { id: t.clerk_id, name: clerk?.name ?? t.clerk_id } : null,
      score,
      scaleMax: st.scaleMax,
      reasons: [],
    },
  };
  const deltas = newDeltas(new Map());
  applyEvent(deltas, office.id, office.timezone, event);
  return db.transaction().execute(async (tx) => {
    const inserted = await tx
      .insertInto('phone_ratings')
      .values({
        office_id: office.id,
        ticket_id: t.ticket_id,
        day: t.day,
        service: t.service,
        counter,
        clerk_id: t.clerk_id,
        score,
        scale_max: st.scaleMax,
        rated_at: now,
      })
      .onConflict((oc) => oc.columns(['office_id', 'ticket_id']).doNothing())
      .executeTakeFirst();
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0) !== 1) return 'already_rated' as const;
    await upsertAdd(tx, 'rollups', ROLLUP_KEYS, ROLLUP_METRICS, deltas.rollups.byGrain());
    return null;
  });
}
