// Cloud replicas starting together on a new PostgreSQL database: each migrates (or finds it done) and starts;
// none dies on the other's half-made tables. SQLite is one node, so PostgreSQL only.
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase, type CloudDatabase } from '../../cloud/db/database.js';
import { DATABASES, type TestDatabase } from './helpers.js';

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
});
