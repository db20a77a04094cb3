// Rate-limit counters shared by every replica through Redis (REDIS_URL), so N replicas do not give N times the
// limit. When Redis does not answer, a replica counts in its own memory until Redis is back: the limits keep
// holding per replica (at worst N times the setting, as with no Redis at all) — neither open to unlimited
// guessing nor closed to every login and lookup. Each fallback is logged (at most every 30 s) and counted in
// /healthz (`rateLimits.fallbacks`).
import { createRequire } from 'node:module';
import type { FastifyRateLimitOptions, FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

export interface RateLimitHealth {
  /** Where the counters live: 'memory' (one node) or 'redis' (shared by the replicas). */
  store: 'memory' | 'redis';
  /** Requests counted in this replica's memory because Redis failed, since start. */
  fallbacks: number;
  /** When Redis last failed (the error itself is logged, not shown on the unauthenticated /healthz). */
  lastErrorAt: number | null;
}

interface Counter {
  incr(
    key: string,
    cb: (err: Error | null, res?: { current: number; ttl: number }) => void,
    timeWindow: number,
    max: number,
  ): void;
  child(routeOptions: unknown): Counter;
}

// The plugin's own stores (CommonJS, not in its typed exports): the same Lua script and LRU it would use.
const require = createRequire(import.meta.url);
const RedisStore = require('@fastify/rate-limit/store/RedisStore.js') as new (
  continueExceeding: boolean,
  exponentialBackoff: boolean,
  redis: Redis,
  key?: string,
) => Counter;
const LocalStore = require('@fastify/rate-limit/store/LocalStore.js') as new (
  continueExceeding: boolean,
  exponentialBackoff: boolean,
  cache?: number,
) => Counter;

class SharedOrLocal implements Counter {
  constructor(
    private readonly shared: Counter,
    private readonly local: Counter,
    private readonly failed: (err: Error) => void,
  ) {}

  incr(
    key: string,
    cb: (err: Error | null, res?: { current: number; ttl: number }) => void,
    timeWindow: number,
    max: number,
  ): void {
    this.shared.incr(
      key,
      (err, res) => {
        if (!err) return cb(null, res);
        this.failed(err);
        this.local.incr(key, cb, timeWindow, max);
      },
      timeWindow,
      max,
    );
  }

  child(routeOptions: unknown): Counter {
    return new SharedOrLocal(this.shared.child(routeOptions), this.local.child(routeOptions), this.failed);
  }
}

export function rateLimitStore(
  redis: Redis,
  health: RateLimitHealth,
  log: Logger,
  keyPrefix = 'lobby-rl-',
): FastifyRateLimitStoreCtor {
  health.store = 'redis';
  let loggedAt = 0;
  const failed = (err: Error) => {
    health.fallbacks++;
    health.lastErrorAt = Date.now();
    if (Date.now() - loggedAt > 30_000) {
      loggedAt = Date.now();
      log.warn(
        { err: err.message, fallbacks: health.fallbacks },
        'rate limits: Redis unavailable, counting in this replica only until it is back',
      );
    }
  };
  return class {
    constructor(o: FastifyRateLimitOptions & { continueExceeding?: boolean; exponentialBackoff?: boolean }) {
      const continueExceeding = o.continueExceeding ?? false;
      const backoff = o.exponentialBackoff ?? false;
      return new SharedOrLocal(
        new RedisStore(continueExceeding, backoff, redis, keyPrefix),
        new LocalStore(continueExceeding, backoff),
        failed,
      );
    }
  } as unknown as FastifyRateLimitStoreCtor;
}
