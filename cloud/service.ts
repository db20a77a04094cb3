// `lobby cloud`: the composition root of the control plane. Stateless: everything lives in the database, so
// replicas behind a load balancer share nothing else (rate-limit counters are shared through Redis when
// REDIS_URL names one, per replica otherwise).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { pino, type Logger } from 'pino';
import { isPostgresUrl, openDatabase, type CloudDatabase } from './db/database.js';
import { buildApp, type RoutePlugin } from './http/app.js';
import { RefusalAudit } from './audit/refusals.js';
import { createAudit, type CloudContext, type CloudSettings } from './http/context.js';
import { ROUTES } from './http/routes.js';
import {
  FLEET_LONG_POLLS_MAX,
  LOGINS_PER_MINUTE,
  PUBLIC_LOOKUPS_PER_MINUTE,
  RATE_LIMIT_REDIS_TIMEOUT_MS,
} from './limits.js';

export interface CloudOptions {
  /** postgres://… or a SQLite file path. */
  databaseUrl: string;
  /** PostgreSQL: the schema to use (created if missing). */
  databaseSchema?: string;
  port?: number;
  host?: string;
  settings?: Partial<CloudSettings>;
  log?: Logger;
  clock?: () => number;
  /** redis://…: rate-limit counters shared by every replica. Without it each replica counts in memory. */
  redisUrl?: string;
  /** Prefix of the rate-limit keys in Redis (deployments sharing one Redis keep apart with it). */
  redisKeyPrefix?: string;
  /** Open an existing database instead (tests share one between a service and their own checks). */
  store?: CloudDatabase;
}

export interface CloudService {
  app: FastifyInstance;
  store: CloudDatabase;
  ctx: CloudContext;
  port: number;
  url: string;
  close(): Promise<void>;
}

/** The master key from a file, created (random, mode 0600) when missing: fine for one SQLite node. */
export function loadOrCreateKeyFile(file: string): Buffer {
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, randomBytes(32).toString('base64url') + '\n', { mode: 0o600, flag: 'wx' });
  }
  const key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64url');
  if (key.length < 32) throw new Error(`${file}: the master key must hold at least 32 bytes (base64url)`);
  return key;
}

/** Beside a SQLite file; in the working directory's cloud-data/ for PostgreSQL or an in-memory database. */
export function defaultReleasesDir(databaseUrl: string): string {
  return !isPostgresUrl(databaseUrl) && databaseUrl !== ':memory:'
    ? join(dirname(resolve(databaseUrl)), 'releases')
    : resolve('cloud-data', 'releases');
}

export async function createCloudContext(opts: CloudOptions): Promise<CloudContext> {
  const log = opts.log ?? pino({ level: process.env.LOG_LEVEL ?? 'info' });
  const clock = opts.clock ?? Date.now;
  const store =
    opts.store ??
    (await openDatabase({
      url: opts.databaseUrl,
      ...(opts.databaseSchema ? { schema: opts.databaseSchema } : {}),
      // A restart or failover of PostgreSQL breaks pooled connections: log it, the pool replaces them.
      onConnectionError: (err) => log.warn({ err: err.message }, 'database connection lost'),
    }));
  const settings: CloudSettings = {
    publicUrl: 'http://127.0.0.1',
    waitTargetMin: 15,
    masterKey: randomBytes(32),
    sessionTtlMs: 8 * 3_600_000,
    publicLookupsPerMinute: PUBLIC_LOOKUPS_PER_MINUTE,
    loginsPerMinute: LOGINS_PER_MINUTE,
    fleetLongPollsMax: FLEET_LONG_POLLS_MAX,
    trustedProxies: [],
    releasesDir: defaultReleasesDir(opts.databaseUrl),
    defaultBoxPlatform: 'linux-arm64',
    ...opts.settings,
  };
  const redis = opts.redisUrl
    ? new Redis(opts.redisUrl, {
        // Fail a count at once while Redis is away (the replica then counts in memory), never queue it.
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        commandTimeout: RATE_LIMIT_REDIS_TIMEOUT_MS,
        connectTimeout: RATE_LIMIT_REDIS_TIMEOUT_MS * 4,
        lazyConnect: false,
      })
    : undefined;
  // ioredis reconnects by itself; without a listener its errors would be unhandled (the store logs failures).
  redis?.on('error', () => undefined);
  if (redis && redis.status !== 'ready') {
    // Start counting in Redis from the first request when it is there; come up anyway when it is not.
    const ready = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), RATE_LIMIT_REDIS_TIMEOUT_MS * 4);
      redis.once('ready', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    if (!ready) log.warn('rate limits: Redis not reachable at start; counting in memory until it is');
  }
  const audit = createAudit(store, clock, log);
  return {
    store,
    log,
    clock,
    settings,
    audit,
    refusals: new RefusalAudit(audit, clock),
    ...(redis ? { redis, redisKeyPrefix: opts.redisKeyPrefix ?? 'lobby-rl-' } : {}),
    rateLimitHealth: { store: 'memory', fallbacks: 0, lastErrorAt: null },
  };
}

export async function startCloud(opts: CloudOptions, plugins: RoutePlugin[] = ROUTES): Promise<CloudService> {
  const ctx = await createCloudContext(opts);
  const app = await buildApp(ctx, plugins);
  await app.listen({ port: opts.port ?? 8090, host: opts.host ?? '127.0.0.1' });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : (opts.port ?? 8090);
  const url = `http://${opts.host && opts.host !== '0.0.0.0' ? opts.host : '127.0.0.1'}:${port}`;
  if (!opts.settings?.publicUrl) ctx.settings.publicUrl = url;
  ctx.log.info({ port, database: ctx.store.describe }, 'cloud started');
  let closed = false;
  return {
    app,
    store: ctx.store,
    ctx,
    port,
    url,
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
      ctx.redis?.disconnect();
      if (!opts.store) await ctx.store.close();
    },
  };
}
