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
import { sql } from 'kysely';
import {
  executeWrites,
  insertStatements,
  upsertAddStatements,
  type CloudDatabase,
  type Tx,
  type WriteStatement,
} from '../db/database.js';
import { HOUR_KEYS, HOUR_METRICS, ROLLUP_KEYS, ROLLUP_METRICS } from '../db/rollup-columns.js';
import type { ClerkTable, EventTable } from '../db/schema.js';
import { lockDossiers, settleDossierOffices } from '../dossiers/ownership.js';
import { applyEvent, newDeltas, type LinkRow, type TicketRow } from './projection.js';

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

/**
 * Applies a checked batch (see `checkBatch`) and returns the acknowledgement for the box. On PostgreSQL the
 * transaction is a fixed number of round trips whatever the batch's size: the box's row (locked), the tickets
 * the batch mentions, then every write in one statement (`executeWrites`), and the dossiers' locks when the
 * batch links dossiers.
 */
export async function ingestBatch(
  store: CloudDatabase,
  box: BoxIdentity,
  events: EventEnvelope[],
  now: number,
): Promise<UplinkAck> {
  return store.db.transaction().execute(async (tx) => {
    let lock = tx
      .selectFrom('boxes')
      .select(['acked_seq', 'revoked_at'])
      .select((eb) =>
        eb.selectFrom('offices').select('timezone').where('offices.id', '=', box.officeId).as('timezone'),
      )
      .where('id', '=', box.id);
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
    if (row.timezone === null) throw new Error(`office ${box.officeId} of box ${box.id} is missing`);
    const last = apply[apply.length - 1] as EventEnvelope;
    // Written with the batch, in the same statement on PostgreSQL (the row is locked above).
    const acknowledge = sql`UPDATE boxes SET acked_seq = ${last.seq}, last_event_at = ${Date.parse(last.at)}
      WHERE id = ${box.id}`;
    await applyEvents(tx, store.dialect, box, row.timezone, apply, now, acknowledge);
    return { ackedSeq: last.seq, applied: apply.length, duplicates, deferred };
  });
}

/** The columns each table of a batch is written with (`insertStatements`). */
const EVENT_COLUMNS: (keyof EventTable)[] = [
  'box_id',
  'seq',
  'office_id',
  'type',
  'at',
  'day',
  'data',
  'received_at',
];
const TICKET_COLUMNS: (keyof TicketRow)[] = [
  'office_id',
  'ticket_id',
  'day',
  'number',
  'service',
  'priority',
  'issued_at',
  'state',
  'counter',
  'clerk_id',
  'first_called_at',
  'updated_at',
];
const TICKET_KEYS = ['office_id', 'ticket_id'];
const CLERK_COLUMNS: (keyof ClerkTable)[] = ['office_id', 'clerk_id', 'name'];
const LINK_COLUMNS: (keyof LinkRow)[] = [
  'code',
  'office_id',
  'ticket_id',
  'service',
  'counter',
  'clerk_id',
  'linked_at',
  'day',
];

/** An upsert whose every column but the keys takes the new row's value. */
const overwrite = (columns: string[], keys: string[]) =>
  sql`ON CONFLICT (${sql.join(keys.map((k) => sql.ref(k)))}) DO UPDATE SET ${sql.join(
    columns.filter((c) => !keys.includes(c)).map((c) => sql`${sql.ref(c)} = excluded.${sql.ref(c)}`),
  )}`;

/** The tickets a batch mentions, as stored before it. */
async function loadTickets(
  tx: Tx,
  dialect: CloudDatabase['dialect'],
  officeId: string,
  ids: string[],
): Promise<Map<string, TicketRow>> {
  const tickets = new Map<string, TicketRow>();
  const q = tx.selectFrom('tickets').selectAll().where('office_id', '=', officeId);
  // PostgreSQL: the ids as one array parameter; SQLite: IN lists under its bound-parameter limit.
  const chunks =
    dialect === 'postgres'
      ? [q.where('ticket_id', '=', sql<string>`ANY(${ids}::text[])`)]
      : Array.from({ length: Math.ceil(ids.length / 500) }, (_, k) =>
          q.where('ticket_id', 'in', ids.slice(k * 500, k * 500 + 500)),
        );
  for (const chunk of chunks) for (const r of await chunk.execute()) tickets.set(r.ticket_id, r);
  return tickets;
}

/**
 * Writes a batch and its acknowledgement: one set-based statement per table (events, tickets, rollups, hours,
 * clerks, dossier links), whatever the number of events, all sent together (`executeWrites`). Every table's
 * rows are sorted by key, so concurrent batches lock in one order.
 */
async function applyEvents(
  tx: Tx,
  dialect: CloudDatabase['dialect'],
  box: BoxIdentity,
  timezone: string,
  events: EventEnvelope[],
  now: number,
  acknowledge: WriteStatement,
): Promise<void> {
  const ids = new Set<string>();
  for (const e of events) {
    const t = (e.data as { ticketId?: unknown }).ticketId;
    if (typeof t === 'string') ids.add(t);
  }
  const d = newDeltas(ids.size ? await loadTickets(tx, dialect, box.officeId, [...ids]) : new Map());
  for (const e of events) applyEvent(d, box.officeId, timezone, e);

  const clerks = [...d.clerks.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([clerk_id, name]) => ({ office_id: box.officeId, clerk_id, name }));
  await executeWrites(tx, [
    ...insertStatements(
      dialect,
      'events',
      EVENT_COLUMNS,
      events.map((e) => ({
        box_id: box.id,
        seq: e.seq,
        office_id: box.officeId,
        type: e.type,
        at: Date.parse(e.at),
        day: e.day,
        data: JSON.stringify(e.data),
        received_at: now,
      })),
    ),
    ...insertStatements(
      dialect,
      'tickets',
      TICKET_COLUMNS,
      [...d.touched].sort().map((id) => d.tickets.get(id) as TicketRow),
      overwrite(TICKET_COLUMNS, TICKET_KEYS),
    ),
    ...upsertAddStatements(dialect, 'rollups', ROLLUP_KEYS, ROLLUP_METRICS, d.rollups.sorted()),
    ...upsertAddStatements(dialect, 'rollup_hours', HOUR_KEYS, HOUR_METRICS, d.hours.sorted()),
    ...insertStatements(
      dialect,
      'clerks',
      CLERK_COLUMNS,
      clerks,
      overwrite(CLERK_COLUMNS, ['office_id', 'clerk_id']),
    ),
    ...insertStatements(
      dialect,
      'dossier_links',
      LINK_COLUMNS,
      d.links,
      sql`ON CONFLICT (code, office_id, ticket_id) DO NOTHING`,
    ),
    acknowledge,
  ]);

  if (d.links.length) {
    // The dossier's office follows from all its links by event time, not from which arrived first. Every
    // code's lock first, in sorted order, then the writes: no two batches can wait on each other.
    const codes = [...new Set(d.links.map((l) => l.code))].sort();
    await lockDossiers(tx, dialect, codes);
    await settleDossierOffices(tx, codes);
  }
}
