// Ingest of a box's uplink batch: exactly once in effect. The box's acknowledged sequence number and every
// change a batch makes (raw events, tickets, rollups, dossier links) are written in one transaction, under a
// lock on the box's row, so a batch is applied whole or not at all, and a replayed or reordered batch can
// apply nothing twice. Only the gap-free prefix after the acknowledged sequence number is applied; events
// after a gap are left for the box to send again (it always resends from ackedSeq + 1).
import {
  EventData,
  isValid,
  schemaIssues,
  type EventEnvelope,
  type EventType,
  type UplinkAck,
} from '../../protocol/index.js';
import { upsertAdd, type CloudDatabase, type Tx } from '../db/database.js';
import { HOUR_KEYS, HOUR_METRICS, ROLLUP_KEYS, ROLLUP_METRICS } from '../db/rollup-columns.js';
import { lockDossier, settleDossierOffice } from '../dossiers/ownership.js';
import { applyEvent, newDeltas, type TicketRow } from './projection.js';

export class IngestError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly detail?: unknown,
  ) {
    super(message);
  }
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** What the schema cannot say: relations between fields of one event. */
function crossFieldIssues(e: EventEnvelope): string[] {
  if (e.type === 'rating.submitted') {
    const { score, scaleMax } = e.data as { score: number; scaleMax: number };
    if (score > scaleMax) return [`data.score: ${score} is outside the scale 1..${scaleMax}`];
  }
  return [];
}

/** Checks every event of a batch; any problem rejects the whole batch. Returns the events sorted by seq. */
export function checkBatch(events: EventEnvelope[]): EventEnvelope[] {
  const problems: { index: number; seq: unknown; issues: string[] }[] = [];
  events.forEach((e, index) => {
    const issues: string[] = [];
    const schema = EventData[e.type as EventType];
    if (!schema) issues.push(`type: unknown event type "${String(e.type)}"`);
    else if (!isValid(schema, e.data))
      for (const i of schemaIssues(schema, e.data).slice(0, 3)) issues.push(`data.${i.path}: ${i.message}`);
    else issues.push(...crossFieldIssues(e));
    if (!DAY.test(e.day)) issues.push('day: expected YYYY-MM-DD');
    if (Number.isNaN(Date.parse(e.at))) issues.push('at: not an ISO 8601 time');
    if (issues.length) problems.push({ index, seq: e.seq, issues });
  });
  const sorted = [...events].sort((a, b) => a.seq - b.seq);
  const unique: EventEnvelope[] = [];
  for (const e of sorted) {
    const prev = unique[unique.length - 1];
    if (prev && prev.seq === e.seq) {
      if (JSON.stringify(prev) !== JSON.stringify(e))
        problems.push({
          index: events.indexOf(e),
          seq: e.seq,
          issues: ['seq: twice with different content'],
        });
      continue;
    }
    unique.push(e);
  }
  if (problems.length)
    throw new IngestError(
      'batch_invalid',
      `${problems.length} event(s) of the batch are invalid; nothing was applied`,
      problems.slice(0, 20),
    );
  return unique;
}

export interface BoxIdentity {
  id: string;
  officeId: string;
}

/** Applies a checked batch (see `checkBatch`) and returns the acknowledgement for the box. */
export async function ingestBatch(
  store: CloudDatabase,
  box: BoxIdentity,
  events: EventEnvelope[],
  now: number,
): Promise<UplinkAck> {
  return store.db.transaction().execute(async (tx) => {
    let lock = tx.selectFrom('boxes').select(['acked_seq', 'revoked_at']).where('id', '=', box.id);
    // PostgreSQL: replicas serialise batches of one box here. SQLite writers are serialised already.
    if (store.dialect === 'postgres') lock = lock.forUpdate();
    const row = await lock.executeTakeFirst();
    if (!row || row.revoked_at !== null) throw new IngestError('box_unknown', 'this box is not enrolled');
    const acked = Number(row.acked_seq);
    const apply: EventEnvelope[] = [];
    let duplicates = 0;
    let expected = acked + 1;
    for (const e of events) {
      if (e.seq <= acked) duplicates++;
      else if (e.seq === expected) {
        apply.push(e);
        expected++;
      }
    }
    const deferred = events.length - duplicates - apply.length;
    if (apply.length === 0) return { ackedSeq: acked, applied: 0, duplicates, deferred };
    await applyEvents(tx, store.dialect, box, apply, now);
    const last = apply[apply.length - 1] as EventEnvelope;
    await tx
      .updateTable('boxes')
      .set({ acked_seq: last.seq, last_event_at: Date.parse(last.at) })
      .where('id', '=', box.id)
      .execute();
    return { ackedSeq: last.seq, applied: apply.length, duplicates, deferred };
  });
}

async function applyEvents(
  tx: Tx,
  dialect: CloudDatabase['dialect'],
  box: BoxIdentity,
  events: EventEnvelope[],
  now: number,
): Promise<void> {
  const office = await tx
    .selectFrom('offices')
    .select('timezone')
    .where('id', '=', box.officeId)
    .executeTakeFirstOrThrow();
  const ids = [
    ...new Set(
      events
        .map((e) => (e.data as { ticketId?: unknown }).ticketId)
        .filter((t): t is string => typeof t === 'string'),
    ),
  ];
  const tickets = new Map<string, TicketRow>();
  for (let i = 0; i < ids.length; i += 500) {
    const rows = await tx
      .selectFrom('tickets')
      .selectAll()
      .where('office_id', '=', box.officeId)
      .where('ticket_id', 'in', ids.slice(i, i + 500))
      .execute();
    for (const r of rows) tickets.set(r.ticket_id, r);
  }
  const d = newDeltas(tickets);
  for (const e of events) applyEvent(d, box.officeId, office.timezone, e);

  const eventRows = events.map((e) => ({
    box_id: box.id,
    seq: e.seq,
    office_id: box.officeId,
    type: e.type,
    at: Date.parse(e.at),
    day: e.day,
    data: JSON.stringify(e.data),
    received_at: now,
  }));
  for (let i = 0; i < eventRows.length; i += 500)
    await tx
      .insertInto('events')
      .values(eventRows.slice(i, i + 500))
      .execute();

  const touched = [...d.touched].sort().map((id) => d.tickets.get(id) as TicketRow);
  for (let i = 0; i < touched.length; i += 500)
    await tx
      .insertInto('tickets')
      .values(touched.slice(i, i + 500))
      .onConflict((oc) =>
        oc.columns(['office_id', 'ticket_id']).doUpdateSet((eb) => ({
          day: eb.ref('excluded.day'),
          number: eb.ref('excluded.number'),
          service: eb.ref('excluded.service'),
          priority: eb.ref('excluded.priority'),
          issued_at: eb.ref('excluded.issued_at'),
          state: eb.ref('excluded.state'),
          counter: eb.ref('excluded.counter'),
          clerk_id: eb.ref('excluded.clerk_id'),
          first_called_at: eb.ref('excluded.first_called_at'),
          updated_at: eb.ref('excluded.updated_at'),
        })),
      )
      .execute();

  await upsertAdd(tx, 'rollups', ROLLUP_KEYS, ROLLUP_METRICS, d.rollups.sorted());
  await upsertAdd(tx, 'rollup_hours', HOUR_KEYS, HOUR_METRICS, d.hours.sorted());

  const clerks = [...d.clerks.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([clerk_id, name]) => ({ office_id: box.officeId, clerk_id, name }));
  if (clerks.length)
    await tx
      .insertInto('clerks')
      .values(clerks)
      .onConflict((oc) =>
        oc.columns(['office_id', 'clerk_id']).doUpdateSet((eb) => ({ name: eb.ref('excluded.name') })),
      )
      .execute();

  if (d.links.length) {
    await tx
      .insertInto('dossier_links')
      .values(d.links)
      .onConflict((oc) => oc.columns(['code', 'office_id', 'ticket_id']).doNothing())
      .execute();
    // The dossier's office follows from all its links by event time, not from which arrived first. Every
    // code's lock first, in sorted order, then the writes: no two batches can wait on each other.
    const codes = [...new Set(d.links.map((l) => l.code))].sort();
    for (const code of codes) await lockDossier(tx, dialect, code);
    for (const code of codes) await settleDossierOffice(tx, code);
  }
}
