// Cloud replicas starting together on a new PostgreSQL database: each migrates (or finds it done) and starts;
// none dies on the other's half-made tables. SQLite is one node, so PostgreSQL only.
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase, type CloudDatabase } from '../../cloud/db/database.js';
import { DATABASES, PG_URL, type TestDatabase } from './helpers.js';

const postgres = DATABASES.find((d) => d.name === 'postgres')!;

describe.skipIf(!postgres.available)(`migrations (${postgres.title})`, () => {
  let db: TestDatabase;
  const opened: CloudDatabase[] = [];
  afterAll(async () => {
    for (const o of opened) await o.close();
    await db?.cleanup();
  });

  it('eight replicas opening a new database at once all start, on one set of tables', async () => {
    db = postgres.create();
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, () => openDatabase({ url: db.url, schema: db.schema as string })),
    );
    for (const r of results) if (r.status === 'fulfilled') opened.push(r.value);
    expect(results.map((r) => (r.status === 'rejected' ? String(r.reason) : 'ok'))).toEqual(
      Array.from({ length: 8 }, () => 'ok'),
    );
    const units = await opened[0]!.db.selectFrom('units').select('id').execute();
    expect(units).toEqual([]);
  });

  it("a migration while other schemas' tables on the server are made and dropped starts anyway (Kysely lists every schema's tables)", async () => {
    // Another deployment, test or benchmark on the same server creating and dropping schemas and tables: a
    // migration that met one being dropped failed with `schema "<other>" does not exist` (CI, two workers), or
    // with `column "office_id" of relation "rollout_boxes" does not exist` (another test's schema dropped while
    // Kysely's introspection asked for each of its columns' sequences; CI, two workers).
    const churners = await Promise.all(
      [0, 1].map(async () => {
        const c = new pg.Client({ connectionString: PG_URL });
        await c.connect();
        return c;
      }),
    );
    let stop = false;
    const columns = Array.from({ length: 40 }, (_, i) => `c${i} text`).join(', ');
    const churning = churners.map(async (churn, n) => {
      for (let i = 0; !stop; i++) {
        const s = `churn_${process.pid}_${n}_${i}`;
        await churn.query(
          `CREATE SCHEMA ${s}; CREATE TABLE ${s}.t (id serial PRIMARY KEY, ${columns}); ` +
            `CREATE TABLE ${s}.u (id serial PRIMARY KEY, ${columns})`,
        );
        await churn.query(`DROP TABLE ${s}.u`);
        await churn.query(`DROP SCHEMA ${s} CASCADE`);
      }
    });
    const failures: string[] = [];
    try {
      for (let i = 0; i < 8; i++) {
        const other = postgres.create();
        try {
          await (await openDatabase({ url: other.url, schema: other.schema as string })).close();
        } catch (err) {
          failures.push((err as Error).message);
        } finally {
          await other.cleanup();
        }
      }
    } finally {
      stop = true;
      await Promise.all(churning);
      await Promise.all(churners.map((c) => c.end()));
    }
    expect(failures).toEqual([]);
  }, 120_000);
});
