// Migration 0009 changed what some rollup figures mean (issue 13: no-shows count citizens, tickets received at
// a service and at a counter, services timed from the call, ratings on the five-level scale). Data ingested before it is recomputed from the
// tickets and the raw events: here a database holding simulated days is put back as the old code left it, and
// the recompute must give every rollup row exactly as ingest now writes it. SQLite and PostgreSQL.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fillWeekGrain } from '../../cloud/db/migrations.js';
import { backfillReportDefinitions } from '../../cloud/db/backfill-definitions.js';
import {
  ROLLUP_KEYS,
  ROLLUP_METRICS,
  ROLLUP_METRICS_0001,
  ROLLUP_METRICS_0009,
} from '../../cloud/db/rollup-columns.js';
import type { CloudService } from '../../cloud/service.js';
import { DEFAULT_COUNTERS, DEFAULT_SERVICES, simulateOfficeDays } from '../bench/cloud-events.js';
import { DATABASES, enrolledBox, seedTree, startTestCloud, type TestDatabase } from './helpers.js';

const DAYS = ['2026-04-28', '2026-04-29', '2026-04-30', '2026-05-01'];

for (const kind of DATABASES) {
  describe.skipIf(!kind.available)(`migration 0009: report definitions recomputed (${kind.title})`, () => {
    let db: TestDatabase;
    let cloud: CloudService;

    beforeAll(async () => {
      db = kind.create();
      cloud = await startTestCloud(db);
      await seedTree(cloud);
      for (const [office, seed, scaleMax] of [
        ['o-hkb', 7, 5],
        ['o-hhb', 8, 4],
      ] as const) {
        const events = simulateOfficeDays(DAYS, {
          seed,
          tickets: 60,
          services: DEFAULT_SERVICES,
          counters: DEFAULT_COUNTERS,
          noShowRate: 0.2,
          returnRate: 0.5,
          transferRate: 0.15,
          implicitRate: 0.4,
          scaleMax,
        });
        const box = await enrolledBox(cloud, office);
        for (let i = 0; i < events.length; i += 1000) {
          const r = await cloud.app.inject({
            method: 'POST',
            url: '/api/v1/uplink/events',
            headers: { authorization: `Bearer ${box.token}` },
            payload: { events: events.slice(i, i + 1000) },
          });
          expect(r.json().applied).toBe(Math.min(1000, events.length - i));
        }
      }
    }, 60_000);
    afterAll(async () => {
      await cloud?.close();
      await db?.cleanup();
    });

    const rows = async () => {
      const r = await sql<Record<string, unknown>>`SELECT ${sql.join(
        [...ROLLUP_KEYS, ...ROLLUP_METRICS].map((c) => sql.ref(c)),
      )} FROM rollups ORDER BY ${sql.join(ROLLUP_KEYS.map((c) => sql.ref(c)))}`.execute(cloud.store.db);
      return r.rows.map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, String(v)])));
    };

    it('gives every rollup row the figures ingest gives it now', async () => {
      const now = await rows();
      const sum = (c: string) => now.reduce((a, r) => a + Number(r[c]), 0);
      // The days have what changed meaning: no-shows who came back, transfers, both scales.
      expect(sum('no_show_marks')).toBeGreaterThan(sum('no_show'));
      expect(sum('transferred_in')).toBeGreaterThan(0);
      expect(sum('received_at_counter')).toBeLessThan(sum('called'));
      expect(sum('level_1')).toBeGreaterThan(0);
      expect(sum('service_from_call')).toBeGreaterThan(0);

      // As the old code left it: no_show counted marks, the new columns did not exist (zero), and a row only
      // they fill (a transfer to a service that issued nothing that day) was never written.
      const zero = sql.join(ROLLUP_METRICS_0009.map((c) => sql`${sql.ref(c)} = 0`));
      await sql`UPDATE rollups SET no_show = no_show_marks, ${zero}`.execute(cloud.store.db);
      const old = sql.join(
        ROLLUP_METRICS_0001.map((c) => sql`${sql.ref(c)} = 0`),
        sql` AND `,
      );
      await sql`DELETE FROM rollups WHERE ${old}`.execute(cloud.store.db);
      // Nor was there a week grain before migration 0012 (which runs after this backfill).
      for (const t of ['rollups', 'rollup_hours', 'rollup_dossiers'])
        await sql`DELETE FROM ${sql.table(t)} WHERE grain = 'w'`.execute(cloud.store.db);
      expect(await rows()).not.toEqual(now);

      await backfillReportDefinitions(cloud.store.db);
      await fillWeekGrain(cloud.store.db);
      expect(await rows()).toEqual(now);
    });

    it('fills the week grain of every rollup table from its days, as ingest writes it (migration 0012)', async () => {
      const all = async (table: string) =>
        (
          await sql<
            Record<string, unknown>
          >`SELECT * FROM ${sql.table(table)} ORDER BY grain, period, office_id`.execute(cloud.store.db)
        ).rows.map((row) => JSON.stringify(Object.entries(row).map(([k, v]) => [k, String(v)])));
      const tables = ['rollups', 'rollup_hours', 'rollup_dossiers'];
      const before = await Promise.all(tables.map(all));
      // Ingest wrote weeks: some days are in one, and a week is the sum of its seven days.
      expect(before[0]?.some((r) => r.includes('"w"'))).toBe(true);
      for (const t of tables)
        await sql`DELETE FROM ${sql.table(t)} WHERE grain = 'w'`.execute(cloud.store.db);
      await fillWeekGrain(cloud.store.db);
      const after = await Promise.all(tables.map(all));
      for (const [i, t] of tables.entries()) expect(new Set(after[i]), t).toEqual(new Set(before[i]));
    });
  });
}
