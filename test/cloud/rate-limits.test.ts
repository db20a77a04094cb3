// Rate limits hold across replicas: two cloud instances on one database and one Redis share the login limit
// (in memory each would allow it again). Concurrent wrong passwords are counted before any is hashed. With
// Redis gone each replica keeps counting in its own memory and /healthz says so. Needs the Redis of this
// machine (TEST_REDIS_URL, default redis://127.0.0.1:6379); skipped, saying so, where it is not reachable.
import { randomBytes } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import type { CloudService } from '../../cloud/service.js';
import { DATABASES, startTestCloud, type TestDatabase } from './helpers.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

async function redisReachable(): Promise<boolean> {
  const r = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 1000, maxRetriesPerRequest: 0 });
  r.on('error', () => undefined);
  try {
    await r.connect();
    return (await r.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}
const REDIS_AVAILABLE = await redisReachable();
if (!REDIS_AVAILABLE && process.env.REQUIRE_REDIS === '1')
  throw new Error(`REQUIRE_REDIS=1 but Redis is not reachable at ${REDIS_URL}`);
if (!REDIS_AVAILABLE)
  console.warn(`Redis not reachable at ${REDIS_URL}: the rate limits across replicas are SKIPPED`);

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const sqlite = DATABASES.find((d) => d.name === 'sqlite')!;

describe.skipIf(!REDIS_AVAILABLE)(
  `rate limits across replicas (${REDIS_AVAILABLE ? 'redis' : `SKIPPED: Redis not reachable at ${REDIS_URL}`})`,
  () => {
    const dbs: TestDatabase[] = [];
    const clouds: CloudService[] = [];
    afterAll(async () => {
      for (const c of clouds) await c.close();
      for (const d of dbs) await d.cleanup();
    });

    /** Two replicas of one cloud: one database, and one Redis when `redisUrl` is given. */
    async function replicas(
      loginsPerMinute: number,
      redisUrl?: string,
    ): Promise<[CloudService, CloudService]> {
      const db = sqlite.create();
      dbs.push(db);
      const prefix = `test-rl-${randomBytes(4).toString('hex')}-`;
      const opts = {
        settings: { loginsPerMinute },
        ...(redisUrl ? { redisUrl, redisKeyPrefix: prefix } : {}),
      };
      const a = await startTestCloud(db, opts);
      const b = await startTestCloud(db, opts);
      clouds.push(a, b);
      return [a, b];
    }
    const wrongLogin = (cloud: CloudService) =>
      cloud.app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { username: 'someone', password: 'wrong' },
      });
    /**
     * Wrong passwords that were checked, as the audit log tells them: each replica writes the first failure of
     * a minute at once and the repeats as one summary row (`detail.repeated`) once flushed.
     */
    const failedLogins = async (...clouds: CloudService[]) => {
      for (const c of clouds) await c.ctx.refusals.flush();
      const rows = await clouds[0]!.store.db
        .selectFrom('audit_log')
        .select('detail')
        .where('action', '=', 'auth.login')
        .where('outcome', '=', 'failed')
        .execute();
      return rows.reduce((n, r) => {
        const d = (typeof r.detail === 'string' ? JSON.parse(r.detail) : r.detail) as {
          repeated?: number;
        } | null;
        return n + (d?.repeated ?? 1);
      }, 0);
    };

    it('one limit for two replicas sharing Redis (in memory, each would allow it again)', async () => {
      const [a, b] = await replicas(4, REDIS_URL);
      const codes: number[] = [];
      for (let i = 0; i < 8; i++) codes.push((await wrongLogin(i % 2 ? b : a)).statusCode);
      expect(codes).toEqual([401, 401, 401, 401, 429, 429, 429, 429]);
      const limited = await wrongLogin(b);
      expect(limited.json().code).toBe('rate_limited');
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
      expect((await a.app.inject({ method: 'GET', url: '/healthz' })).json().rateLimits).toMatchObject({
        store: 'redis',
        fallbacks: 0,
      });

      const [c, d] = await replicas(4);
      const local: number[] = [];
      for (let i = 0; i < 8; i++) local.push((await wrongLogin(i % 2 ? d : c)).statusCode);
      expect(local).toEqual([401, 401, 401, 401, 401, 401, 401, 401]);
    });

    it('counts concurrent wrong passwords before hashing any: only the limit is checked', async () => {
      const [a, b] = await replicas(10, REDIS_URL);
      const answers = await Promise.all(Array.from({ length: 60 }, (_, i) => wrongLogin(i % 2 ? b : a)));
      const codes = answers.map((r) => r.statusCode);
      expect(codes.filter((c) => c === 401)).toHaveLength(10);
      expect(codes.filter((c) => c === 429)).toHaveLength(50);
      expect(await failedLogins(a, b)).toBe(10); // every password actually checked is in the audit log
    });

    it('with Redis unreachable each replica counts in its own memory, logs it and reports it in /healthz', async () => {
      const [a] = await replicas(3, `redis://127.0.0.1:${await closedPort()}`);
      const codes: number[] = [];
      for (let i = 0; i < 5; i++) codes.push((await wrongLogin(a)).statusCode);
      expect(codes).toEqual([401, 401, 401, 429, 429]);
      const h = await a.app.inject({ method: 'GET', url: '/healthz' });
      expect(h.statusCode).toBe(200); // the database is fine: the replica stays in service
      expect(h.json().rateLimits.store).toBe('redis');
      expect(h.json().rateLimits.fallbacks).toBe(5);
      expect(Date.parse(h.json().rateLimits.lastErrorAt)).toBeGreaterThan(0);
    });
  },
);
