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
import { dossierLocks, dossiersPresent, settleDossierOffices } from '../dossiers/ownership.js';
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
  /**
   * Set when the credential was taken from the cache of verified ones without reading the box's row: ingest
   * then checks, under its lock on that row, that the box still has this secret hash and is not revoked.
   */
  secretHash?: string;
}

/** The ticket ids and the dossier codes (sorted) a batch mentions. */
function mentions(events: EventEnvelope[]): { ids: string[]; codes: string[] } {
  const ids = new Set<string>();
  const codes = new Set<string>();
  for (const e of events) {
    const x = e.data as { ticketId?: unknown; code?: unknown };
    if (typeof x.ticketId === 'string') ids.add(x.ticketId);
    if (e.type === 'dossier.linked' && typeof x.code === 'string') codes.add(x.code);
  }
  return { ids: [...ids], codes: [...codes].sort() };
}

interface LockedBox {
  acked_seq: number;
  revoked_at: number | null;
  secret_hash: string | null;
  office_id: string;
  timezone: string | null;
  tickets: Map<string, TicketRow>;
}

/**
 * The box's row, locked, with what the batch needs before it is projected: its office's time zone and the
 * tickets the batch mentions as stored. PostgreSQL: one statement that also takes the locks of the dossiers the
 * batch links (after the box's row, in sorted order, so no two batches wait on each other). Its tickets come
 * from the statement's snapshot; when the row's lock had to wait for a batch of the same box that then
 * committed (the locked row's `acked_seq` is not the snapshot's), they are read again.
 */
async function lockBox(
  tx: Tx,
  dialect: CloudDatabase['dialect'],
  boxId: string,
  ids: string[],
  codes: string[],
): Promise<LockedBox | undefined> {
  if (dialect === 'sqlite') {
    const row = await tx
      .selectFrom('boxes')
      .leftJoin('offices', 'offices.id', 'boxes.office_id')
      .select(['acked_seq', 'revoked_at', 'secret_hash', 'office_id', 'offices.timezone'])
      .where('boxes.id', '=', boxId)
      .executeTakeFirst();
    if (!row) return undefined;
    const tickets = ids.length ? await loadTickets(tx, dialect, row.office_id, ids) : new Map();
    return { ...row, acked_seq: Number(row.acked_seq), tickets };
  }
  const { rows } = await sql<Omit<LockedBox, 'tickets'> & { seen_seq: number; tickets: TicketRow[] | null }>`
    WITH b AS MATERIALIZED (
      SELECT id, acked_seq, revoked_at, secret_hash, office_id FROM boxes WHERE id = ${boxId} FOR UPDATE
    )
    SELECT b.acked_seq, b.revoked_at, b.secret_hash, b.office_id,
      (SELECT acked_seq FROM boxes WHERE id = ${boxId}) AS seen_seq,
      (SELECT timezone FROM offices WHERE offices.id = b.office_id) AS timezone,
      (SELECT json_agg(t) FROM tickets t WHERE t.office_id = b.office_id
        AND t.ticket_id = ANY(${ids}::text[])) AS tickets,
      locks.n
    FROM b CROSS JOIN LATERAL (SELECT ${dossierLocks(codes)} AS n WHERE b.id IS NOT NULL) AS locks`.execute(
    tx,
  );
  const row = rows[0];
  if (!row) return undefined;
  const acked = Number(row.acked_seq);
  const tickets =
    Number(row.seen_seq) === acked
      ? new Map((row.tickets ?? []).map((t) => [t.ticket_id, t]))
      : await loadTickets(tx, dialect, row.office_id, ids);
  return { ...row, acked_seq: acked, tickets };
}

/**
 * Applies a checked batch (see `checkBatch`) and returns the acknowledgement for the box. On PostgreSQL the
 * transaction is a fixed number of round trips whatever the batch's size: the box's row locked with what the
 * batch needs to read (`lockBox`), then every write in one statement (`executeWrites`), then the offices of
 * the dossiers the batch links.
 */
export async function ingestBatch(
  store: CloudDatabase,
  box: BoxIdentity,
  events: EventEnvelope[],
  now: number,
): Promise<UplinkAck> {
  const { ids, codes } = mentions(events);
  return store.db.transaction().execute(async (tx) => {
    // PostgreSQL: replicas serialise batches of one box here. SQLite writers are serialised already.
    const row = await lockBox(tx, store.dialect, box.id, ids, codes);
    if (!row || row.revoked_at !== null) throw new IngestError('box_unknown', 'this box is not enrolled');
    if (box.secretHash !== undefined && row.secret_hash !== box.secretHash)
      throw new IngestError('credential_changed', 'wrong box credential: the box was enrolled again');
    const acked = row.acked_seq;
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
    if (row.timezone === null) throw new Error(`office ${row.office_id} of box ${box.id} is missing`);
    const last = apply[apply.length - 1] as EventEnvelope;
    // Written with the batch, in the same statement on PostgreSQL (the row is locked above).
    const acknowledge = sql`UPDATE boxes SET acked_seq = ${last.seq}, last_event_at = ${Date.parse(last.at)}
      WHERE id = ${box.id}`;
    // The office as the box's row names it now, not as the remembered credential did.
    const placed = { id: box.id, officeId: row.office_id };
    await applyEvents(tx, store.dialect, placed, row.timezone, row.tickets, apply, now, acknowledge);
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

/**
 * The batch's raw events. PostgreSQL: each row carries only what differs between events (the box, office and
 * time received are the statement's), and `data` as JSON inside the JSON, not as an escaped string: a `json`
 * column of `json_to_recordset` is the input's text as it was, so the stored text is `JSON.stringify(e.data)`.
 */
function eventStatements(
  dialect: CloudDatabase['dialect'],
  box: BoxIdentity,
  events: EventEnvelope[],
  now: number,
): WriteStatement[] {
  if (dialect === 'postgres') {
    const rows = events.map((e) => ({
      seq: e.seq,
      type: e.type,
      at: Date.parse(e.at),
      day: e.day,
      data: e.data,
    }));
    return [
      sql`INSERT INTO events (${sql.join(EVENT_COLUMNS.map((c) => sql.ref(c)))})
        SELECT ${box.id}::text, seq, ${box.officeId}::text, type, at, day, data::text, ${now}::bigint
        FROM json_to_recordset(${JSON.stringify(rows)}::json)
          AS x(seq bigint, type text, at bigint, day text, data json)`,
    ];
  }
  return insertStatements(
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
  );
}

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
  tickets: Map<string, TicketRow>,
  events: EventEnvelope[],
  now: number,
  acknowledge: WriteStatement,
): Promise<void> {
  const d = newDeltas(tickets);
  for (const e of events) applyEvent(d, box.officeId, timezone, e);

  const clerks = [...d.clerks.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([clerk_id, name]) => ({ office_id: box.officeId, clerk_id, name }));
  // The links' codes: which have a dossier is read at the end of the same statement (their locks are held).
  const codes = [...new Set(d.links.map((l) => l.code))].sort();
  const present = await executeWrites(
    tx,
    [
      ...eventStatements(dialect, box, events, now),
      ...insertStatements(
        dialect,
        'tickets',
        TICKET_COLUMNS,
        [...d.touched].sort().map((id) => d.tickets.get(id) as TicketRow),
        overwrite(TICKET_COLUMNS, TICKET_KEYS),
      ),
      ...upsertAddStatements(dialect, 'rollups', ROLLUP_KEYS, ROLLUP_METRICS, d.rollups.byGrain()),
      ...upsertAddStatements(dialect, 'rollup_hours', HOUR_KEYS, HOUR_METRICS, d.hours.byGrain()),
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
    ],
    codes.length ? dossiersPresent(codes) : undefined,
  );

  // The dossier's office follows from all its links by event time, not from which arrived first. Their
  // locks were taken with the box's row (`lockBox`), before these writes.
  if (codes.length) await settleDossierOffices(tx, codes, new Set(present.map((r) => r.code)));
}
