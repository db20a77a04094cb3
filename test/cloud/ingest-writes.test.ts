// The set-based writes of a batch (one `unnest` statement per table, all sent together on PostgreSQL) leave
// the same rows as the multi-row VALUES SQLite keeps: the same office days, in full batches of 1,000 with
// every event type, go into a cloud on each, and every table a batch writes is compared row by row.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { UPLINK_MAX_BATCH, type EventEnvelope } from '../../protocol/index.js';
import type { CloudService } from '../../cloud/service.js';
import { DEFAULT_COUNTERS, DEFAULT_SERVICES, simulateOfficeDays } from '../bench/cloud-events.js';
import { DATABASES, enrolledBox, seedTree, startTestCloud, type TestDatabase } from './helpers.js';

const [sqlite, postgres] = DATABASES as [(typeof DATABASES)[0], (typeof DATABASES)[1]];

/** Office days, then what the simulator never sends: a transfer, counter pauses, a sign-out, an unseen ticket. */
function officeEvents(): EventEnvelope[] {
  const days = simulateOfficeDays(['2026-03-02', '2026-03-03', '2026-03-31', '2026-04-01'], {
    seed: 5,
    tickets: 260,
    services: DEFAULT_SERVICES,
    counters: DEFAULT_COUNTERS,
  });
  const last = days[days.length - 1] as EventEnvelope;
  const at = Date.parse(last.at);
  const clerk = { id: 'cc09', name: 'Võ Thị Mai' };
  const more: Pick<EventEnvelope, 'type' | 'data'>[] = [
    { type: 'counter.opened', data: { counter: 9 } },
    { type: 'counter.signed_in', data: { counter: 9, clerk } },
    {
      type: 'ticket.issued',
      data: {
        ticketId: 't-x1',
        number: 'A901',
        service: 'van-thu',
        seq: 901,
        priority: null,
        ahead: 3,
        estimatedWaitMin: null,
        source: null,
      },
    },
    {
      type: 'ticket.transferred',
      data: {
        ticketId: 't-x1',
        number: 'A901',
        service: 'van-thu',
        fromCounter: 1,
        toService: 'ho-tich',
        toCounter: null,
      },
    },
    {
      type: 'ticket.called',
      data: {
        ticketId: 't-x1',
        number: 'A901',
        service: 'ho-tich',
        counter: 9,
        clerk,
        how: 'next',
        waitedMs: 61_000,
      },
    },
    { type: 'counter.paused', data: { counter: 9, reason: null } },
    { type: 'counter.resumed', data: { counter: 9 } },
    {
      // A ticket whose issue the cloud never saw (a box enrolled with history it no longer has).
      type: 'ticket.no_show',
      data: {
        ticketId: 't-unseen',
        number: 'B999',
        service: 'chung-thuc',
        counter: 9,
        recalls: 2,
        reason: 'recalls_exhausted',
      },
    },
    { type: 'counter.signed_out', data: { counter: 9, clerk } },
  ];
  return [
    ...days,
    ...more.map((e, i) => ({
      ...e,
      seq: last.seq + i + 1,
      at: new Date(at + (i + 1) * 1000).toISOString(),
      day: last.day,
    })),
  ];
}

/** Every row of the tables a batch writes, in key order, box ids left out (each cloud enrolls its own). */
async function tables(cloud: CloudService): Promise<Record<string, unknown[]>> {
  const db = cloud.store.db;
  const rows = async (q: ReturnType<typeof sql>) =>
    (await q.execute(db)).rows.map((r) =>
      Object.fromEntries(
        Object.entries(r as Record<string, unknown>).map(([k, v]) => [
          k,
          typeof v === 'bigint' ? Number(v) : v,
        ]),
      ),
    );
  return {
    events: await rows(sql`SELECT seq, office_id, type, at, day, data FROM events ORDER BY seq`),
    tickets: await rows(sql`SELECT * FROM tickets ORDER BY office_id, ticket_id`),
    rollups: await rows(
      sql`SELECT * FROM rollups ORDER BY grain, period, office_id, service, counter, clerk_id`,
    ),
    hours: await rows(sql`SELECT * FROM rollup_hours ORDER BY grain, period, office_id, hour`),
    clerks: await rows(sql`SELECT * FROM clerks ORDER BY office_id, clerk_id`),
    links: await rows(sql`SELECT * FROM dossier_links ORDER BY code, office_id, ticket_id`),
  };
}

describe.skipIf(!sqlite.available || !postgres.available)(
  `batch writes: PostgreSQL's unnest statements and SQLite's VALUES leave the same rows (${postgres.title})`,
  () => {
    const events = officeEvents();
    const clouds: CloudService[] = [];
    const dbs: TestDatabase[] = [];

    beforeAll(async () => {
      for (const kind of [sqlite, postgres]) {
        const db = kind.create();
        dbs.push(db);
        const cloud = await startTestCloud(db);
        clouds.push(cloud);
        await seedTree(cloud);
        const { token } = await enrolledBox(cloud, 'o-hkb');
        for (let i = 0; i < events.length; i += UPLINK_MAX_BATCH) {
          const batch = events.slice(i, i + UPLINK_MAX_BATCH);
          const res = await cloud.app.inject({
            method: 'POST',
            url: '/api/v1/uplink/events',
            headers: { authorization: `Bearer ${token}` },
            payload: { events: batch },
          });
          expect(res.json()).toMatchObject({ applied: batch.length });
        }
      }
    });
    afterAll(async () => {
      for (const c of clouds) await c.close();
      for (const d of dbs) await d.cleanup();
    });

    it('every event type in full batches: events, tickets, rollups, hours, clerks and links row for row', async () => {
      expect(events.length).toBeGreaterThan(4 * UPLINK_MAX_BATCH);
      expect(new Set(events.map((e) => e.type)).size).toBe(15);
      const [onSqlite, onPostgres] = [await tables(clouds[0]!), await tables(clouds[1]!)];
      expect(onSqlite.events).toHaveLength(events.length);
      expect((onSqlite.tickets as unknown[]).length).toBeGreaterThan(1000);
      expect((onSqlite.links as unknown[]).length).toBeGreaterThan(100);
      for (const t of Object.keys(onSqlite)) expect({ [t]: onPostgres[t] }).toEqual({ [t]: onSqlite[t] });
    });
  },
);
