// Ingest is exactly once in effect: duplicates, reordered batches and whole replays apply nothing twice; a
// batch with one bad event is rejected whole; only enrolled boxes may send. On SQLite and PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { UPLINK_MAX_BATCH, type EventEnvelope } from '../../protocol/index.js';
import { createBoxClaim, createOffice } from '../../cloud/admin/provisioning.js';
import { IngestError, ingestBatch } from '../../cloud/ingest/ingest.js';
import type { CloudService } from '../../cloud/service.js';
import { simulateOfficeDay } from '../bench/cloud-events.js';
import { DATABASES, ackedSeq, enrolledBox, seedTree, startTestCloud, type TestDatabase } from './helpers.js';

const DAY = '2026-03-02';

for (const kind of DATABASES) {
  describe.skipIf(!kind.available)(`ingest (${kind.title})`, () => {
    let db: TestDatabase;
    let cloud: CloudService;
    let token: string;
    let boxId: string;
    const events = simulateOfficeDay({
      seed: 11,
      day: DAY,
      tickets: 40,
      services: ['van-thu', 'ho-tich'],
      counters: [
        { number: 1, services: ['van-thu'], clerk: { id: 'cc01', name: 'Lan' } },
        { number: 3, services: ['ho-tich'], clerk: { id: 'cc03', name: 'Hoa' } },
      ],
      firstSeq: 1,
    });
    const issued = events.filter((e) => e.type === 'ticket.issued').length;

    beforeAll(async () => {
      db = kind.create();
      cloud = await startTestCloud(db);
      await seedTree(cloud);
      ({ token, boxId } = await enrolledBox(cloud, 'o-hkb'));
    });
    afterAll(async () => {
      await cloud?.close();
      await db?.cleanup();
    });

    const send = (batch: unknown, auth = token) =>
      cloud.app.inject({
        method: 'POST',
        url: '/api/v1/uplink/events',
        headers: { authorization: `Bearer ${auth}` },
        payload: batch as Record<string, unknown>,
      });
    const slice = (from: number, to: number): EventEnvelope[] =>
      events.filter((e) => e.seq >= from && e.seq <= to);
    const stored = async () => {
      const rows = await cloud.store.db
        .selectFrom('events')
        .select('seq')
        .where('box_id', '=', boxId)
        .orderBy('seq')
        .execute();
      return rows.map((r) => Number(r.seq));
    };
    const issuedInRollups = async () => {
      const r = await sql<{
        n: number;
      }>`SELECT COALESCE(SUM(issued), 0) AS n FROM rollups WHERE grain = 'd' AND office_id = 'o-hkb'`.execute(
        cloud.store.db,
      );
      return Number(r.rows[0]?.n);
    };

    it('applies the gap-free prefix only, de-duplicates, and survives reordering and replay', async () => {
      const n = events.length;
      expect(n).toBeGreaterThan(100);
      // A later batch first: nothing applied, nothing acknowledged.
      let r = await send({ events: slice(21, 30) });
      expect(r.statusCode).toBe(200);
      expect(r.json()).toEqual({ ackedSeq: 0, applied: 0, duplicates: 0, deferred: 10 });
      r = await send({ events: slice(1, 10) });
      expect(r.json()).toEqual({ ackedSeq: 10, applied: 10, duplicates: 0, deferred: 0 });
      // Overlap: 5..10 are duplicates, 11..20 new.
      r = await send({ events: slice(5, 20) });
      expect(r.json()).toEqual({ ackedSeq: 20, applied: 10, duplicates: 6, deferred: 0 });
      // Shuffled inside a batch, and a repeated event: sorted and de-duplicated.
      const shuffled = [...slice(21, 40)].reverse();
      r = await send({ events: [...shuffled, slice(25, 25)[0]] });
      expect(r.json()).toEqual({ ackedSeq: 40, applied: 20, duplicates: 0, deferred: 0 });
      // A gap inside a batch: applied up to the gap only.
      r = await send({ events: [...slice(41, 50), ...slice(60, 70)] });
      expect(r.json()).toEqual({ ackedSeq: 50, applied: 10, duplicates: 0, deferred: 11 });
      r = await send({ events: slice(51, n) });
      expect(r.json().ackedSeq).toBe(n);
      // Replay of everything, in two concurrent copies.
      const [a, b] = await Promise.all([send({ events: slice(1, 1000) }), send({ events: slice(1, 1000) })]);
      expect(a.json()).toMatchObject({ ackedSeq: n, applied: 0, duplicates: n });
      expect(b.json()).toMatchObject({ ackedSeq: n, applied: 0, duplicates: n });
      expect(await stored()).toEqual(events.map((e) => e.seq));
      expect(await issuedInRollups()).toBe(issued);
      const tickets = await cloud.store.db
        .selectFrom('tickets')
        .select('ticket_id')
        .where('office_id', '=', 'o-hkb')
        .execute();
      expect(tickets).toHaveLength(issued);
    });

    it('rejects a malformed batch whole, with a machine code, and applies none of it', async () => {
      const before = await stored();
      const next = events.length + 1;
      const good = {
        seq: next,
        type: 'counter.opened',
        at: new Date().toISOString(),
        day: DAY,
        data: { counter: 2 },
      };
      const bad = {
        seq: next + 1,
        type: 'ticket.issued',
        at: new Date().toISOString(),
        day: DAY,
        data: { ticketId: 5 },
      };
      let r = await send({ events: [good, bad] });
      expect(r.statusCode).toBe(400);
      expect(r.json()).toMatchObject({ code: 'batch_invalid' });
      expect(JSON.stringify(r.json().detail)).toContain('data.number: Expected required property');
      // Envelope problems (unknown type, missing field), unknown properties, seq twice with different content.
      for (const batch of [
        { events: [good, { ...good, seq: next + 1, type: 'ticket.vanished' }] },
        { events: [good, { seq: next + 1, type: 'counter.opened', day: DAY, data: { counter: 1 } }] },
        { events: [good], extra: true },
        { events: [good, { ...good, data: { counter: 3 } }] },
        { events: [] },
        { events: [{ ...good, day: '02/03/2026' }] },
      ]) {
        r = await send(batch);
        expect(r.statusCode, JSON.stringify(batch)).toBe(400);
        expect(r.json().code).toBe('batch_invalid');
      }
      r = await cloud.app.inject({
        method: 'POST',
        url: '/api/v1/uplink/events',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        payload: '{"events": [',
      });
      expect(r.statusCode).toBe(400);
      expect(r.json().code).toBeTypeOf('string');
      expect(await stored()).toEqual(before);
      // The good event alone goes through.
      r = await send({ events: [good] });
      expect(r.json()).toMatchObject({ ackedSeq: next, applied: 1 });
    });

    it('says for each refused event of a batch which it is and why, twenty at most', async () => {
      const other = await enrolledBox(cloud, 'o-hhb');
      const at = new Date().toISOString();
      const opened = (seq: number, counter = 1) => ({
        seq,
        type: 'counter.opened',
        at,
        day: DAY,
        data: { counter },
      });
      const rating = { ticketId: `${DAY}/A001`, number: 'A001', service: 'van-thu', counter: 1, clerk: null };
      const batch = [
        opened(1),
        { seq: 2, type: 'ticket.issued', at, day: DAY, data: { ticketId: 5 } },
        {
          seq: 3,
          type: 'rating.submitted',
          at,
          day: DAY,
          data: { ...rating, score: 5, scaleMax: 4, reasons: [] },
        },
        { ...opened(4), day: '2026-3-2' },
        { ...opened(5), at: 'hôm qua' },
        opened(6),
        opened(6, 2),
        opened(7),
      ];
      const r = await send({ events: batch }, other.token);
      expect(r.statusCode).toBe(400);
      expect(r.json()).toMatchObject({
        code: 'batch_invalid',
        message: '5 event(s) of the batch are invalid; nothing was applied',
        detail: [
          // A schema's issues: the first three.
          {
            index: 1,
            seq: 2,
            issues: [
              'data.number: Expected required property',
              expect.stringMatching(/^data\./),
              expect.stringMatching(/^data\./),
            ],
          },
          { index: 2, seq: 3, issues: ['data.score: 5 is outside the scale 1..4'] },
          { index: 3, seq: 4, issues: ['day: expected YYYY-MM-DD'] },
          { index: 4, seq: 5, issues: ['at: not an ISO 8601 time'] },
          { index: 6, seq: 6, issues: ['seq: twice with different content'] },
        ],
      });
      // Twenty-five bad events: the first twenty are named, all are counted.
      const many = Array.from({ length: 25 }, (_, i) => ({ ...opened(i + 1), day: 'hôm nay' }));
      const m = await send({ events: many }, other.token);
      // A day almost in the form is no day.
      for (const day of ['x2026-03-02', '2026-03-02x', '2026-03-0', '202-03-02', '2026/03/02']) {
        const d = await send({ events: [{ ...opened(1), day }] }, other.token);
        expect(d.json().detail, day).toEqual([{ index: 0, seq: 1, issues: ['day: expected YYYY-MM-DD'] }]);
      }
      expect(m.json().message).toBe('25 event(s) of the batch are invalid; nothing was applied');
      expect(m.json().detail.map((d: { seq: number }) => d.seq)).toEqual(many.slice(0, 20).map((e) => e.seq));
      expect(await ackedSeq(cloud, other.boxId)).toBe(0);
    });

    it('the same first batch sent four times at once is applied once: one answer applies it, the others find it', async () => {
      const other = await enrolledBox(cloud, 'o-hc');
      const batch = { events: slice(1, 30) };
      // PostgreSQL: without the lock on the box's row, two of them apply it and one fails on the primary key.
      const answers = (await Promise.all([1, 2, 3, 4].map(() => send(batch, other.token)))).map((r) =>
        r.json(),
      );
      expect(answers.map((a) => a.applied).sort()).toEqual([0, 0, 0, 30]);
      expect(answers.map((a) => a.duplicates).sort()).toEqual([0, 30, 30, 30]);
      expect(answers.map((a) => a.ackedSeq)).toEqual([30, 30, 30, 30]);
      expect(await ackedSeq(cloud, other.boxId)).toBe(30);
    });

    it(`a full batch (${UPLINK_MAX_BATCH} events: 500 tickets issued and called) is applied whole, once`, async () => {
      const box = await enrolledBox(cloud, 'o-hhb');
      const day = '2026-03-09';
      const at = (min: number) => new Date(Date.parse(`${day}T07:00:00+07:00`) + min * 60_000).toISOString();
      const full: EventEnvelope[] = [];
      for (let i = 1; i <= UPLINK_MAX_BATCH / 2; i++) {
        const ref = { ticketId: `${day}/A${i}`, number: `A${i}`, service: 'van-thu' };
        full.push({
          seq: 2 * i - 1,
          type: 'ticket.issued',
          at: at(i),
          day,
          data: { ...ref, seq: i, priority: null, ahead: 0, estimatedWaitMin: null, source: null },
        });
        full.push({
          seq: 2 * i,
          type: 'ticket.called',
          at: at(i + 3),
          day,
          data: { ...ref, counter: 1, clerk: null, how: 'next', waitedMs: 3 * 60_000 },
        });
      }
      let r = await send({ events: full }, box.token);
      expect(r.json(), r.body).toEqual({
        ackedSeq: full.length,
        applied: full.length,
        duplicates: 0,
        deferred: 0,
      });
      r = await send({ events: full }, box.token);
      expect(r.json()).toEqual({ ackedSeq: full.length, applied: 0, duplicates: full.length, deferred: 0 });
      const events = await cloud.store.db
        .selectFrom('events')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('box_id', '=', box.boxId)
        .executeTakeFirstOrThrow();
      expect(Number(events.n)).toBe(full.length);
      const tickets = await cloud.store.db
        .selectFrom('tickets')
        .select(['state', 'first_called_at'])
        .where('office_id', '=', 'o-hhb')
        .where('day', '=', day)
        .execute();
      expect(tickets).toHaveLength(UPLINK_MAX_BATCH / 2);
      expect(tickets.every((t) => t.state === 'called' && t.first_called_at !== null)).toBe(true);
      const sums = await sql<{ issued: number; called: number; waits: number }>`
        SELECT SUM(issued) AS issued, SUM(called) AS called, SUM(wait_count) AS waits
        FROM rollups WHERE grain = 'd' AND period = ${day} AND office_id = 'o-hhb'`.execute(cloud.store.db);
      const n = UPLINK_MAX_BATCH / 2;
      expect(Object.values(sums.rows[0] ?? {}).map(Number)).toEqual([n, n, n]);
    });

    it('a batch calling again more than 500 tickets the cloud holds counts no second wait for any of them', async () => {
      // SQLite reads a batch's tickets 500 ids at a time: each of the 600 must be read as it was stored.
      await createOffice(cloud.store.db, { id: 'o-many', name: 'o-many', unitId: 'hc' }, Date.now());
      const box = await enrolledBox(cloud, 'o-many');
      const day = '2026-03-10';
      const at = (min: number) => new Date(Date.parse(`${day}T07:00:00+07:00`) + min * 60_000).toISOString();
      const n = 600;
      const ref = (i: number) => ({ ticketId: `${day}/A${i}`, number: `A${i}`, service: 'van-thu' });
      const call = (i: number, how: 'next' | 'number') => ({
        ...ref(i),
        counter: 1,
        clerk: null,
        how,
        waitedMs: 3 * 60_000,
      });
      const all: EventEnvelope[] = [];
      const push = (type: EventEnvelope['type'], min: number, data: Record<string, unknown>) =>
        all.push({ seq: all.length + 1, type, at: at(min), day, data } as EventEnvelope);
      for (let i = 1; i <= n; i++) {
        push('ticket.issued', i / 10, {
          ...ref(i),
          seq: i,
          priority: null,
          ahead: 0,
          estimatedWaitMin: null,
          source: null,
        });
        push('ticket.called', i / 10 + 3, call(i, 'next'));
      }
      // Each called once more by number (the citizen did not hear it), all in one batch.
      for (let i = 1; i <= n; i++) push('ticket.called', 100 + i / 10, call(i, 'number'));
      for (const [from, to] of [
        [0, 600],
        [600, 1200],
        [1200, 1800],
      ])
        expect((await send({ events: all.slice(from, to) }, box.token)).json()).toMatchObject({
          applied: 600,
        });
      const sums = await sql<{ called: number; waits: number }>`
        SELECT SUM(called) AS called, SUM(wait_count) AS waits
        FROM rollups WHERE grain = 'd' AND period = ${day} AND office_id = 'o-many'`.execute(cloud.store.db);
      expect(Object.values(sums.rows[0] ?? {}).map(Number)).toEqual([2 * n, n]);
    });

    it('a box revoked while its batch waited for the lock applies nothing and is told it is not enrolled', async () => {
      // Authentication let the batch in; the admin's revocation committed before ingest took the box's row.
      const box = await enrolledBox(cloud, 'o-hc');
      await cloud.store.db
        .updateTable('boxes')
        .set({ revoked_at: Date.now() })
        .where('id', '=', box.boxId)
        .execute();
      for (const id of [box.boxId, 'no-such-box']) {
        const refused = ingestBatch(cloud.store, { id, officeId: 'o-hc' }, slice(1, 5), Date.now());
        await expect(refused).rejects.toBeInstanceOf(IngestError);
        await expect(refused).rejects.toMatchObject({
          code: 'box_unknown',
          message: 'this box is not enrolled',
        });
      }
      expect(await ackedSeq(cloud, box.boxId)).toBe(0);
      const rows = await cloud.store.db
        .selectFrom('events')
        .select('seq')
        .where('box_id', '=', box.boxId)
        .execute();
      expect(rows).toEqual([]);
    });

    it('a box revoked after it has sent is refused at its next batch, though this cloud remembers its credential', async () => {
      // The uplink takes a credential it has verified before from memory, and checks the box's row under the
      // lock ingest takes anyway: a revocation or a changed secret is seen there, before anything is applied.
      const box = await enrolledBox(cloud, 'o-hc');
      expect((await send({ events: slice(1, 3) }, box.token)).json().applied).toBe(3);
      await cloud.store.db
        .updateTable('boxes')
        .set({ revoked_at: Date.now() })
        .where('id', '=', box.boxId)
        .execute();
      const revoked = await send({ events: slice(4, 6) }, box.token);
      expect(revoked.statusCode).toBe(401);
      expect(revoked.json()).toMatchObject({ code: 'box_unknown', message: 'this box is not enrolled' });
      // A secret that is no longer the box's (a database restored from before the box was enrolled again).
      const other = await enrolledBox(cloud, 'o-hc');
      expect((await send({ events: slice(1, 3) }, other.token)).json().applied).toBe(3);
      await cloud.store.db
        .updateTable('boxes')
        .set({ secret_hash: 'scrypt$not-this-secret' })
        .where('id', '=', other.boxId)
        .execute();
      const changed = await send({ events: slice(4, 6) }, other.token);
      expect(changed.statusCode).toBe(401);
      // Refused by ingest under its lock (the credential came from memory), saying why: not the first check's words.
      expect(changed.json()).toMatchObject({
        code: 'unauthorized',
        message: 'wrong box credential: the box was enrolled again',
      });
      expect(await ackedSeq(cloud, box.boxId)).toBe(3);
      expect(await ackedSeq(cloud, other.boxId)).toBe(3);
    });

    // PostgreSQL only (SQLite has one writer: no batch waits for another's lock), so not defined on SQLite.
    (kind.name === 'postgres' ? it : () => undefined)(
      'a batch that waited for the box while its earlier batch committed builds on that batch’s tickets',
      async () => {
        // Two replicas with the same box's batches: the second locks the box's row only once the first has
        // committed, and must count from the tickets the first wrote, not from what it read before its wait.
        const t = Date.now();
        for (const id of ['o-race', 'o-serial'])
          await createOffice(cloud.store.db, { id, name: id, unitId: 'hc' }, t);
        const race = await enrolledBox(cloud, 'o-race');
        const serial = await enrolledBox(cloud, 'o-serial');
        // No-shows called back: what such a call counts depends on the ticket's state before it.
        const day = simulateOfficeDay({
          seed: 12,
          day: DAY,
          tickets: 40,
          services: ['van-thu'],
          counters: [{ number: 1, services: ['van-thu'], clerk: { id: 'cc01', name: 'Lan' } }],
          firstSeq: 1,
          noShowRate: 0.4,
          returnRate: 1,
        });
        const all = day.slice(0, 160);
        const first = all.slice(0, 80);
        const pg = cloud.store.newClient?.();
        if (!pg) throw new Error('no PostgreSQL client');
        await pg.connect();
        try {
          if (cloud.store.schema) await pg.query(`SET search_path = ${cloud.store.schema}`);
          await pg.query('BEGIN');
          await pg.query('SELECT 1 FROM boxes WHERE id = $1 FOR UPDATE', [race.boxId]);
          const waiting = async (n: number) => {
            for (let i = 0; i < 200; i++) {
              const r = await cloud.store.db
                .selectFrom(
                  sql<{ n: number }>`(SELECT count(*) AS n FROM pg_stat_activity
                    WHERE cardinality(pg_blocking_pids(pid)) > 0 AND query LIKE '%WITH b AS MATERIALIZED%')`.as(
                    'l',
                  ),
                )
                .select('n')
                .executeTakeFirstOrThrow();
              if (Number(r.n) >= n) return;
              await new Promise((r) => setTimeout(r, 10));
            }
            throw new Error(`fewer than ${n} waiting`);
          };
          const a = ingestBatch(cloud.store, { id: race.boxId, officeId: 'o-race' }, first, t);
          await waiting(1);
          const b = ingestBatch(cloud.store, { id: race.boxId, officeId: 'o-race' }, all, t);
          await waiting(2);
          await pg.query('COMMIT');
          expect((await a).applied).toBe(first.length);
          expect((await b).applied).toBe(all.length - first.length);
        } finally {
          await pg.end();
        }
        await ingestBatch(cloud.store, { id: serial.boxId, officeId: 'o-serial' }, first, t);
        await ingestBatch(cloud.store, { id: serial.boxId, officeId: 'o-serial' }, all, t);
        const tickets = async (office: string) =>
          (await cloud.store.db.selectFrom('tickets').selectAll().where('office_id', '=', office).execute())
            .map((r) => ({ ...r, office_id: '' }))
            .sort((x, y) => (x.ticket_id < y.ticket_id ? -1 : 1));
        const rollups = async (office: string) =>
          (
            await sql<Record<string, unknown>>`SELECT * FROM rollups WHERE office_id = ${office}
              ORDER BY grain, period, service, counter, clerk_id`.execute(cloud.store.db)
          ).rows.map((r) => ({ ...r, office_id: '' }));
        const raced = await tickets('o-race');
        expect(raced.length).toBeGreaterThan(10);
        expect(raced).toEqual(await tickets('o-serial'));
        expect(await rollups('o-race')).toEqual(await rollups('o-serial'));
      },
    );

    it('only enrolled, unrevoked boxes with the right secret may send; a claim code works once', async () => {
      const e = slice(1, 1);
      expect(
        (await cloud.app.inject({ method: 'POST', url: '/api/v1/uplink/events', payload: { events: e } }))
          .statusCode,
      ).toBe(401);
      const wrong = await send({ events: e }, `${boxId}.${'x'.repeat(43)}`);
      expect(wrong.statusCode).toBe(401);
      expect(wrong.json().code).toBe('unauthorized');
      // Claim codes: single use, and for their own office only.
      const claim = await createBoxClaim(cloud.store.db, 'o-hhb', Date.now());
      const mismatch = await cloud.app.inject({
        method: 'POST',
        url: '/api/v1/enroll',
        payload: { claimCode: claim.claimCode, officeId: 'o-hc' },
      });
      expect(mismatch.statusCode).toBe(409);
      expect(mismatch.json().code).toBe('office_mismatch');
      const ok = await cloud.app.inject({
        method: 'POST',
        url: '/api/v1/enroll',
        payload: { claimCode: claim.claimCode, officeId: 'o-hhb' },
      });
      expect(ok.statusCode).toBe(200);
      const again = await cloud.app.inject({
        method: 'POST',
        url: '/api/v1/enroll',
        payload: { claimCode: claim.claimCode, officeId: 'o-hhb' },
      });
      expect(again.statusCode).toBe(403);
      expect(again.json().code).toBe('claim_invalid');
      // The secret is stored as a scrypt hash only.
      const row = await cloud.store.db
        .selectFrom('boxes')
        .select(['secret_hash', 'claim_hash'])
        .where('id', '=', ok.json().boxId)
        .executeTakeFirstOrThrow();
      expect(row.secret_hash).toMatch(/^scrypt\$/);
      expect(row.secret_hash).not.toContain(ok.json().secret);
      expect(row.claim_hash).toBeNull();
      // Revoked: refused.
      await cloud.store.db
        .updateTable('boxes')
        .set({ revoked_at: Date.now() })
        .where('id', '=', ok.json().boxId)
        .execute();
      const revoked = await send({ events: e }, `${ok.json().boxId}.${ok.json().secret}`);
      expect(revoked.statusCode).toBe(401);
    });
  });
}
