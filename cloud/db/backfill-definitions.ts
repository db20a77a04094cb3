// Migration 0009's recompute: the rollup figures whose definition changed (issue 13), rebuilt for the data
// already in the database from what the cloud keeps — the tickets' final states and the raw events — with the
// same rules as `ingest/projection.ts`. Each figure is one grouped INSERT … ON CONFLICT per grain, so it reads
// the events once, never per rollup row.
import { PostgresAdapter, sql, type Kysely, type RawBuilder } from 'kysely';
import { satisfactionLevel } from '../../protocol/index.js';
import { LEVEL_COLUMNS, ROLLUP_KEYS } from './rollup-columns.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

const GRAINS = [
  ['d', (day: RawBuilder<unknown>) => day],
  ['m', (day: RawBuilder<unknown>) => sql`substr(${day}, 1, 7)`],
] as const;

/** Upserts `select` (rows of the rollup keys and `metrics`) into rollups, setting those metrics. */
async function setRollups(db: AnyDb, metrics: string[], select: RawBuilder<unknown>): Promise<void> {
  const cols = [...ROLLUP_KEYS, ...metrics].map((c) => sql.ref(c));
  const set = sql.join(metrics.map((m) => sql`${sql.ref(m)} = excluded.${sql.ref(m)}`));
  await sql`INSERT INTO rollups (${sql.join(cols)}) ${select}
    ON CONFLICT (${sql.join(ROLLUP_KEYS.map((k) => sql.ref(k)))}) DO UPDATE SET ${set}`.execute(db);
}

export async function backfillReportDefinitions(db: AnyDb): Promise<void> {
  const pg = db.getExecutor().adapter instanceof PostgresAdapter;
  const text = (path: string) =>
    pg
      ? sql.raw(`(data::jsonb #>> '{${path.split('.').join(',')}}')`)
      : sql.raw(`json_extract(data, '$.${path}')`);
  const int = (path: string) => (pg ? sql`CAST(${text(path)} AS integer)` : text(path));

  // No-show: the marks as counted so far; then the citizens whose ticket ended as a no-show, at the key the
  // mark was counted at (the ticket's service, counter and clerk do not change after it).
  await sql`UPDATE rollups SET no_show_marks = no_show, no_show = 0 WHERE no_show <> 0`.execute(db);
  for (const [grain, period] of GRAINS)
    await setRollups(
      db,
      ['no_show'],
      sql`SELECT ${sql.lit(grain)}, ${period(sql`day`)}, office_id, service, COALESCE(counter, 0), COALESCE(clerk_id, ''), COUNT(*)
        FROM tickets WHERE state = 'no_show'
        GROUP BY ${period(sql`day`)}, office_id, service, COALESCE(counter, 0), COALESCE(clerk_id, '')`,
    );

  // Received at a service: the tickets transferred to it from another service.
  for (const [grain, period] of GRAINS)
    await setRollups(
      db,
      ['transferred_in'],
      sql`SELECT ${sql.lit(grain)}, ${period(sql`day`)}, office_id, ${text('toService')}, 0, '', COUNT(*)
        FROM events WHERE type = 'ticket.transferred' AND ${text('toService')} <> ${text('service')}
        GROUP BY ${period(sql`day`)}, office_id, ${text('toService')}`,
    );

  // Received at a counter: every call but a no-show's call back at the counter that marked it (the
  // ticket's previous state change).
  const changes = sql`SELECT office_id, day, type, at, seq, ${text('ticketId')} AS ticket, ${text('service')} AS service,
      ${int('counter')} AS counter, COALESCE(${text('clerk.id')}, '') AS clerk,
      ${pg ? sql`${text('implicit')} = 'true'` : sql`${text('implicit')} = 1`} AS implicit
    FROM events WHERE type IN ('ticket.issued', 'ticket.called', 'ticket.serving', 'ticket.finished',
      'ticket.no_show', 'ticket.transferred')`;
  const calls = sql`SELECT c.*,
      LAG(c.type) OVER (PARTITION BY c.office_id, c.ticket ORDER BY c.at, c.seq) AS prev,
      LAG(c.counter) OVER (PARTITION BY c.office_id, c.ticket ORDER BY c.at, c.seq) AS prev_counter,
      LAG(c.clerk) OVER (PARTITION BY c.office_id, c.ticket ORDER BY c.at, c.seq) AS prev_clerk
    FROM (${changes}) c`;
  for (const [grain, period] of GRAINS)
    await setRollups(
      db,
      ['received_at_counter'],
      sql`SELECT ${sql.lit(grain)}, ${period(sql`x.day`)}, x.office_id, x.service, x.counter, x.clerk, COUNT(*)
        FROM (${calls}) x
        WHERE x.type = 'ticket.called'
          AND NOT (COALESCE(x.prev, '') = 'ticket.no_show' AND COALESCE(x.prev_counter, -1) = x.counter)
        GROUP BY ${period(sql`x.day`)}, x.office_id, x.service, x.counter, x.clerk`,
    );

  // Services timed from the call (serve not pressed), for the clerk of the call before (a serving names none).
  for (const [grain, period] of GRAINS)
    await setRollups(
      db,
      ['service_from_call'],
      sql`SELECT ${sql.lit(grain)}, ${period(sql`x.day`)}, x.office_id, x.service, x.counter, COALESCE(x.prev_clerk, ''), COUNT(*)
        FROM (${calls}) x WHERE x.type = 'ticket.serving' AND x.implicit
        GROUP BY ${period(sql`x.day`)}, x.office_id, x.service, x.counter, COALESCE(x.prev_clerk, '')`,
    );

  // Ratings by the five levels, from each rating's score and its box's scale.
  const levelOf = (score: number) =>
    sql`CASE ${int('scaleMax')} ${sql.join(
      Array.from({ length: 11 - Math.max(2, score) }, (_, i) => Math.max(2, score) + i).map(
        (max) => sql`WHEN ${sql.lit(max)} THEN ${sql.lit(satisfactionLevel(score, max))}`,
      ),
      sql` `,
    )} END`;
  const level = sql`CASE ${int('score')} ${sql.join(
    Array.from({ length: 10 }, (_, i) => sql`WHEN ${sql.lit(i + 1)} THEN ${levelOf(i + 1)}`),
    sql` `,
  )} END`;
  const ratings = sql`SELECT office_id, day, ${text('service')} AS service, ${int('counter')} AS counter,
      COALESCE(${text('clerk.id')}, '') AS clerk, ${level} AS level
    FROM events WHERE type = 'rating.submitted'`;
  for (const [grain, period] of GRAINS)
    await setRollups(
      db,
      LEVEL_COLUMNS,
      sql`SELECT ${sql.lit(grain)}, ${period(sql`x.day`)}, x.office_id, x.service, x.counter, x.clerk,
          ${sql.join(LEVEL_COLUMNS.map((_, i) => sql`SUM(CASE WHEN x.level = ${sql.lit(i + 1)} THEN 1 ELSE 0 END)`))}
        FROM (${ratings}) x
        GROUP BY ${period(sql`x.day`)}, x.office_id, x.service, x.counter, x.clerk`,
    );
}
