// Several cloud replicas starting at once on a new database each create pg-boss's queue for webhook
// deliveries. pg-boss's create_queue is not serialized: two creators deadlock on its partition DDL, and the
// loser used to crash the replica at start ("error: deadlock detected", seen in a clean-clone CI run of
// fleet-replicas.test.ts). Every replica must start, and there is one queue. PostgreSQL only.
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase, type CloudDatabase } from '../../cloud/db/database.js';
import { PgBossDeliveryQueue } from '../../cloud/health/delivery-queue.js';
import { DATABASES, MASTER_KEY, type TestDatabase } from './helpers.js';

const postgres = DATABASES.find((d) => d.name === 'postgres')!;
const settings = {
  masterKey: MASTER_KEY,
  timeoutMs: 1000,
  maxAttempts: 3,
  retryDelayMs: 1000,
  allowHttpLocalhost: true,
};

describe.skipIf(!postgres.available)(
  `the webhook queue started by replicas at once (${postgres.title})`,
  () => {
    const opened: { db: TestDatabase; stores: CloudDatabase[]; queues: PgBossDeliveryQueue[] }[] = [];
    afterAll(async () => {
      for (const o of opened) {
        for (const q of o.queues) await q.stop().catch(() => undefined);
        for (const s of o.stores) await s.close();
        await o.db.cleanup();
      }
    }, 60_000);

    it('four replicas, five new databases: every replica starts its queue, one queue per database', async () => {
      for (let round = 0; round < 5; round++) {
        const db = postgres.create();
        const first = await openDatabase({ url: db.url, schema: db.schema as string });
        const stores = [
          first,
          ...(await Promise.all(
            [1, 2, 3].map(() => openDatabase({ url: db.url, schema: db.schema as string })),
          )),
        ];
        const queues = stores.map(
          (s) => new PgBossDeliveryQueue(s.db, `${db.schema}_jobs`, settings, pino({ level: 'silent' })),
        );
        opened.push({ db, stores, queues });
        const started = await Promise.allSettled(queues.map((q) => q.start()));
        expect(started.map((r) => (r.status === 'rejected' ? String(r.reason) : 'started'))).toEqual(
          queues.map(() => 'started'),
        );
        const rows = await first.db
          .withSchema(`${db.schema}_jobs`)
          .selectFrom('queue' as never)
          .select('name' as never)
          .execute();
        expect(rows).toEqual([{ name: 'alert-webhook' }]);
      }
    }, 120_000);
  },
);
