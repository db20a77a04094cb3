// What every route plugin of the cloud gets: the database, the clock, the settings, the audit log. Nothing
// else lives in the process between requests (sessions, replay guards, cursors are rows), so any number of
// replicas can serve behind a load balancer.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { appendAudit } from '../audit/chain.js';
import type { RefusalAudit } from '../audit/refusals.js';
import type { CloudDatabase } from '../db/database.js';
import type { TargetWakeups } from '../fleet/wakeups.js';
import type { FleetHealthSettings } from '../health/fleet-health.js';
import type { RateLimitHealth } from './rate-limit-store.js';

export interface CloudSettings {
  /** Base URL of this service as citizens reach it (ticket QR codes), without a trailing slash. */
  publicUrl: string;
  /** Default wait target of the reports (minutes): the share of citizens called within it. */
  waitTargetMin: number;
  /** Derives integrations' HMAC keys. Every replica must have the same one. */
  masterKey: Buffer;
  sessionTtlMs: number;
  /** Per-IP limits of the public lookups and the login, per minute (shared by the replicas with Redis). */
  publicLookupsPerMinute: number;
  loginsPerMinute: number;
  /** The citizen's pages (issue 14): live polls per IP a minute, a page's poll interval, the rating window. */
  publicLivePollsPerMinute?: number;
  citizenPollSeconds?: number;
  phoneRatingWindowMinutes?: number;
  /** Long polls of boxes one replica holds at once (FLEET_LONG_POLLS_MAX by default); beyond, 503. */
  fleetLongPollsMax: number;
  /**
   * Addresses or CIDRs of the load balancers whose X-Forwarded-For is believed (none by default: the
   * client's address is the connection's).
   */
  trustedProxies: string[];
  /**
   * Where uploaded release bundles are kept (streamed there, served from there). With several replicas, a
   * folder they all mount. Default: `releases/` beside a SQLite database, `./cloud-data/releases` otherwise.
   */
  releasesDir: string;
  /** The release public key (Ed25519, PEM) uploads are checked against; none: uploads are refused. */
  releasePublicKey?: string;
  /** The platform of a box that has not said its own (heartbeat `platform`): the Raspberry Pi's. */
  defaultBoxPlatform: string;
  /** Fleet health: heartbeat window, incident thresholds, webhook delivery (defaults in cloud/limits.ts). */
  fleetHealth?: Partial<FleetHealthSettings>;
}

export interface AuditEntry {
  actor: string;
  action: string;
  target?: string | null;
  unitId?: string | null;
  outcome?: 'ok' | 'denied' | 'failed';
  detail?: unknown;
  ip?: string | null;
}

export interface CloudContext {
  store: CloudDatabase;
  log: Logger;
  clock: () => number;
  settings: CloudSettings;
  audit(entry: AuditEntry): Promise<void>;
  /** Rate-limit counters shared by the replicas (REDIS_URL); absent: each replica counts in memory. */
  redis?: Redis;
  redisKeyPrefix?: string;
  rateLimitHealth: RateLimitHealth;
  /** Refused attempts (unauthenticated, bad signatures, failed enrollments and logins), flood-proof. */
  refusals: RefusalAudit;
  /** The fleet's long-poll wake-ups on this replica (set by the fleet routes; saves outside a request use it). */
  fleet?: TargetWakeups;
}

/** An error with an HTTP status and a stable machine code. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly detail?: unknown,
  ) {
    super(message);
  }
}

/** Writes audit rows to the hash chain (see audit/chain.ts). A failed write is logged, never thrown. */
export function createAudit(store: CloudDatabase, clock: () => number, log: Logger) {
  return async (e: AuditEntry): Promise<void> => {
    try {
      await appendAudit(store, [
        {
          at: clock(),
          actor: e.actor,
          action: e.action,
          target: e.target ?? null,
          unit_id: e.unitId ?? null,
          outcome: e.outcome ?? 'ok',
          detail: e.detail === undefined ? null : JSON.stringify(e.detail),
          ip: e.ip ?? null,
        },
      ]);
    } catch (err) {
      // The action already happened; losing its audit row must at least be loud.
      log.error({ err, audit: e }, 'audit write failed');
    }
  };
}

export function sendError(reply: FastifyReply, err: HttpError): FastifyReply {
  const body: Record<string, unknown> = { code: err.code, message: err.message };
  if (err.detail !== undefined) body.detail = err.detail;
  return reply.code(err.status).send(body);
}

export const ipOf = (req: FastifyRequest): string => req.ip;
