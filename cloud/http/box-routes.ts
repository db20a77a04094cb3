// The box-facing API: enrollment with a claim code, the uplink of events, heartbeats. A box authenticates
// with `Authorization: Bearer <boxId>.<secret>`; the cloud keeps only the secret's scrypt hash.
import { sealTicketKeySecret } from '../citizen/phone-rating.js';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import {
  ApiError,
  EnrollRequest,
  EnrollResponse,
  Heartbeat,
  HeartbeatAck,
  UplinkAck,
  UplinkBatch,
  UplinkEventsPage,
  type EventEnvelope,
} from '../../protocol/index.js';
import { hashSecret, randomToken, sha256, verifySecret } from '../auth/secrets.js';
import { fleetHealthOf } from '../health/fleet-health.js';
import { checkBatch, ingestBatch, IngestError, type BoxIdentity } from '../ingest/ingest.js';
import {
  BOX_EVENTS_PAGE_DEFAULT,
  BOX_EVENTS_PAGE_MAX,
  ENROLLS_PER_MINUTE,
  HEALTH_DB_TIMEOUT_MS,
  UPLINK_BODY_MAX_BYTES,
} from '../limits.js';
import { HttpError, type CloudContext } from './context.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The box whose credential this request carries (set before the body is read). */
    box?: BoxIdentity;
  }
}

/** Boxes already verified in this process: token digest → the box and the hash it matched (scrypt costs ~50 ms). */
const verified = new Map<string, { id: string; officeId: string; secretHash: string }>();

/**
 * The box a request's credential names, checked against its row. With `deferred`, a credential this process
 * has verified before is taken from memory without reading the row: the route must then check the row itself
 * (the uplink does, under its lock: `BoxIdentity.secretHash`), saving a database round trip per batch.
 */
export async function authenticateBox(
  ctx: CloudContext,
  req: FastifyRequest,
  deferred = false,
): Promise<BoxIdentity> {
  const m = /^Bearer ([A-Za-z0-9-]+)\.([A-Za-z0-9_-]+)$/.exec(req.headers.authorization ?? '');
  if (!m)
    throw new HttpError(
      401,
      'unauthorized',
      'box credential missing: Authorization: Bearer <boxId>.<secret>',
    );
  const [, boxId, secret] = m as unknown as [string, string, string];
  req.auditActor = `box:${boxId}`;
  const digest = sha256(`${boxId}.${secret}`);
  const known = verified.get(digest);
  if (deferred && known) return known;
  const row = await ctx.store.db
    .selectFrom('boxes')
    .select(['id', 'office_id', 'secret_hash', 'revoked_at'])
    .where('id', '=', boxId)
    .executeTakeFirst();
  if (!row?.secret_hash || row.revoked_at !== null)
    throw new HttpError(401, 'unauthorized', 'unknown, unenrolled or revoked box');
  if (known?.secretHash !== row.secret_hash) {
    if (!(await verifySecret(secret, row.secret_hash)))
      throw new HttpError(401, 'unauthorized', 'wrong box credential');
    if (verified.size > 10_000) verified.clear();
  }
  const identity = { id: row.id, officeId: row.office_id, secretHash: row.secret_hash };
  verified.set(digest, identity);
  return deferred ? identity : { id: row.id, officeId: row.office_id };
}

/** A route option: the box's credential is checked when the request arrives, before its body is read. */
export function boxCredential(
  ctx: CloudContext,
  deferred = false,
): { onRequest: (req: FastifyRequest) => Promise<void> } {
  return {
    onRequest: async (req: FastifyRequest) => {
      req.box = await authenticateBox(ctx, req, deferred);
    },
  };
}

/** What /healthz (unauthenticated) says about a database failure: its kind, never addresses or names. */
function databaseProblem(err: unknown): string {
  const code = (err as { code?: string }).code;
  const message = err instanceof Error ? err.message : '';
  if (/no answer within/.test(message)) return `no answer within ${HEALTH_DB_TIMEOUT_MS} ms`;
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (/terminated|ECONNRESET|not queryable/i.test(`${message} ${code ?? ''}`)) return 'connection lost';
  if (/timeout/i.test(message)) return 'no connection within the timeout';
  return code ? `error ${code}` : 'error';
}

const errors = { 400: ApiError, 401: ApiError, 403: ApiError, 404: ApiError, 409: ApiError, 429: ApiError };

export async function boxRoutes(app: FastifyInstance, ctx: CloudContext): Promise<void> {
  // The box's credential is checked when the headers arrive, before the body is read: an unauthenticated
  // request is refused without the cloud reading (let alone parsing) up to 16 MiB of it.
  const boxAuth = boxCredential(ctx);
  // The uplink checks the box's row under its own lock (`ingestBatch`): no read of it before.
  const uplinkAuth = boxCredential(ctx, true);

  app.post(
    '/api/v1/enroll',
    {
      schema: {
        tags: ['box'],
        summary: 'A box exchanges its one-time claim code for its credential',
        body: EnrollRequest,
        response: { 200: EnrollResponse, ...errors },
      },
      config: { rateLimit: { max: ENROLLS_PER_MINUTE, timeWindow: '1 minute' }, auditFailures: true },
    },
    async (req) => {
      const body = req.body as EnrollRequest;
      const now = ctx.clock();
      const claimHash = sha256(body.claimCode.trim().toUpperCase());
      // The claim must exist before any scrypt is spent: an indexed lookup of its SHA-256 (a wrong code costs
      // the same whichever it is; a right one has already won, so its slower answer tells nothing).
      const claimed = await ctx.store.db
        .selectFrom('boxes')
        .select(['id', 'claim_expires_at'])
        .where('claim_hash', '=', claimHash)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      if (!claimed || (claimed.claim_expires_at ?? 0) < now)
        throw new HttpError(403, 'claim_invalid', 'unknown, used or expired claim code');
      const secret = randomToken(32);
      const secretHash = await hashSecret(secret);
      const box = await ctx.store.db.transaction().execute(async (tx) => {
        const row = await tx
          .selectFrom('boxes')
          .innerJoin('offices', 'offices.id', 'boxes.office_id')
          .select(['boxes.id', 'boxes.office_id', 'boxes.claim_expires_at', 'offices.unit_id'])
          .where('boxes.claim_hash', '=', claimHash)
          .where('boxes.revoked_at', 'is', null)
          .executeTakeFirst();
        if (!row || (row.claim_expires_at ?? 0) < now)
          throw new HttpError(403, 'claim_invalid', 'unknown, used or expired claim code');
        if (body.officeId !== undefined && row.office_id !== body.officeId)
          throw new HttpError(
            409,
            'office_mismatch',
            `the claim code is for office "${row.office_id}", the box config says "${body.officeId}"`,
          );
        // Single use: the claim is cleared in the same transaction that stores the credential.
        const done = await tx
          .updateTable('boxes')
          .set({ secret_hash: secretHash, claim_hash: null, claim_expires_at: null, enrolled_at: now })
          .where('id', '=', row.id)
          .where('claim_hash', '=', claimHash)
          .executeTakeFirst();
        if (Number(done.numUpdatedRows) !== 1)
          throw new HttpError(403, 'claim_invalid', 'claim code already used');
        return row;
      });
      await ctx.audit({
        actor: `box:${box.id}`,
        action: 'box.enrolled',
        target: box.id,
        unitId: box.unit_id,
        ip: req.ip,
      });
      return { boxId: box.id, officeId: box.office_id, secret };
    },
  );

  app.post(
    '/api/v1/uplink/events',
    {
      bodyLimit: UPLINK_BODY_MAX_BYTES,
      logLevel: 'warn',
      schema: {
        tags: ['box'],
        summary: 'A batch of box events; the answer acknowledges the gap-free prefix',
        description:
          'Exactly once in effect: events are de-duplicated by (box, seq); only seq = ackedSeq + 1, +2, … ' +
          'are applied. A batch with any invalid event is rejected whole (400 batch_invalid).',
        security: [{ box: [] }],
        body: UplinkBatch,
        response: { 200: UplinkAck, ...errors },
      },
      config: { validationCode: 'batch_invalid' },
      ...uplinkAuth,
    },
    async (req) => {
      const box = req.box as BoxIdentity;
      try {
        const events = checkBatch((req.body as UplinkBatch).events);
        return await ingestBatch(ctx.store, box, events, ctx.clock());
      } catch (err) {
        if (err instanceof IngestError && err.code === 'credential_changed')
          throw new HttpError(401, 'unauthorized', err.message);
        if (err instanceof IngestError)
          throw new HttpError(err.code === 'box_unknown' ? 401 : 400, err.code, err.message, err.detail);
        throw err;
      }
    },
  );

  app.get(
    '/api/v1/uplink/events',
    {
      logLevel: 'warn',
      schema: {
        tags: ['box'],
        summary: "The cloud's copy of this box's own events, to recover a lost box log",
        description:
          'Events with seq > after, in sequence order, at most limit (' +
          `${BOX_EVENTS_PAGE_MAX} at most). A box reads only its own events. \`dayStartSeq\` is its latest ` +
          'day.started: `lobby device recover-log` reads from there to rebuild the current day.',
        security: [{ box: [] }],
        querystring: Type.Object(
          {
            after: Type.Integer({ minimum: 0, default: 0 }),
            limit: Type.Integer({
              minimum: 0,
              maximum: BOX_EVENTS_PAGE_MAX,
              default: BOX_EVENTS_PAGE_DEFAULT,
            }),
          },
          { additionalProperties: false },
        ),
        response: { 200: UplinkEventsPage, ...errors },
      },
      ...boxAuth,
    },
    async (req) => {
      const box = req.box as BoxIdentity;
      const { after, limit } = req.query as { after: number; limit: number };
      const row = await ctx.store.db
        .selectFrom('boxes')
        .select('acked_seq')
        .where('id', '=', box.id)
        .executeTakeFirstOrThrow();
      const ackedSeq = Number(row.acked_seq);
      // The newest day.started: a backward walk of the (box_id, seq) key that stops at the first match.
      const dayStart = await ctx.store.db
        .selectFrom('events')
        .select('seq')
        .where('box_id', '=', box.id)
        .where('type', '=', 'day.started')
        .orderBy('seq', 'desc')
        .limit(1)
        .executeTakeFirst();
      const rows =
        limit === 0
          ? []
          : await ctx.store.db
              .selectFrom('events')
              .select(['seq', 'type', 'at', 'day', 'data'])
              .where('box_id', '=', box.id)
              .where('seq', '>', after)
              .where('seq', '<=', ackedSeq)
              .orderBy('seq')
              .limit(limit)
              .execute();
      const events = rows.map((r): EventEnvelope => ({
        seq: Number(r.seq),
        type: r.type as EventEnvelope['type'],
        at: new Date(Number(r.at)).toISOString(),
        day: r.day,
        data: JSON.parse(r.data) as Record<string, unknown>,
      }));
      const last = events.length ? (events[events.length - 1] as EventEnvelope).seq : after;
      return {
        ackedSeq,
        dayStartSeq: dayStart ? Number(dayStart.seq) : null,
        events,
        nextAfter: limit > 0 && last < ackedSeq && events.length > 0 ? last : null,
      };
    },
  );

  app.post(
    '/api/v1/uplink/heartbeat',
    {
      logLevel: 'warn',
      schema: {
        tags: ['box'],
        summary: 'Box health: backlog, versions, peripherals (presence and status)',
        security: [{ box: [] }],
        body: Heartbeat,
        response: { 200: HeartbeatAck, ...errors },
      },
      ...boxAuth,
    },
    async (req) => {
      const box = req.box as BoxIdentity;
      const hb = req.body as Heartbeat;
      // The credential decides the office; a heartbeat naming another is a misconfigured or forged box.
      if (hb.officeId !== box.officeId)
        throw new HttpError(
          403,
          'office_mismatch',
          `this box is enrolled for office "${box.officeId}", the heartbeat names "${hb.officeId}": nothing was recorded`,
        );
      // The ticket-key secret is kept apart (phone ratings check tickets' keys with it), never in the
      // heartbeat that the fleet views show.
      const { ticketKeySecret, ...shown } = hb;
      if (ticketKeySecret) {
        const sealed = sealTicketKeySecret(ctx.settings.masterKey, box.id, ticketKeySecret);
        await ctx.store.db
          .insertInto('box_ticket_keys')
          .values({
            box_id: box.id,
            office_id: box.officeId,
            secret: sealed,
            updated_at: ctx.clock(),
          })
          .onConflict((oc) =>
            oc
              .column('box_id')
              .doUpdateSet({ secret: sealed, office_id: box.officeId, updated_at: ctx.clock() }),
          )
          .execute();
      }
      await ctx.store.db
        .updateTable('boxes')
        .set({
          heartbeat: JSON.stringify(shown),
          heartbeat_at: ctx.clock(),
          // What an update brings it: the running version (fleet view, rollouts) and the platform's bundle.
          running_version: hb.version,
          ...(hb.platform ? { platform: hb.platform } : {}),
        })
        .where('id', '=', box.id)
        .execute();
      if (hb.backlog.alarm) req.log.warn({ box: box.id, backlog: hb.backlog }, 'box backlog alarm');
      // Incidents and alerts: a failure there is logged, the heartbeat is still acknowledged.
      await fleetHealthOf(ctx)
        ?.heartbeat(box, shown)
        .catch((err: Error) => req.log.error({ err, box: box.id }, 'fleet health: heartbeat not evaluated'));
      const row = await ctx.store.db
        .selectFrom('boxes')
        .select('acked_seq')
        .where('id', '=', box.id)
        .executeTakeFirstOrThrow();
      return { ackedSeq: Number(row.acked_seq) };
    },
  );

  const Health = Type.Object({
    status: Type.Union([Type.Literal('ok'), Type.Literal('degraded')]),
    database: Type.String(),
    reason: Type.Optional(Type.String()),
    rateLimits: Type.Object({
      store: Type.String(),
      fallbacks: Type.Integer(),
      lastErrorAt: Type.Union([Type.String(), Type.Null()]),
    }),
    fleet: Type.Optional(
      Type.Object({
        waitingPolls: Type.Integer({ description: "boxes' target long polls held by this replica" }),
        listening: Type.Boolean({ description: 'PostgreSQL: the LISTEN connection that wakes them is up' }),
        listens: Type.Integer({ description: 'times that connection was (re)established' }),
      }),
    ),
  });
  app.get(
    '/healthz',
    {
      logLevel: 'warn',
      schema: {
        tags: ['ops'],
        summary: 'ok, or 503 degraded with the reason (the database cannot be reached)',
        description:
          'A load balancer keeps the replica while it answers 200. While the database is unreachable every replica ' +
          'answers 503 and keeps running; it recovers by itself when the database is back. Rate-limit counters ' +
          'falling back to memory (Redis away) are reported but keep the status ok.',
        response: { 200: Health, 503: Health },
      },
    },
    async (req, reply) => {
      const rl = ctx.rateLimitHealth;
      const rateLimits = {
        store: rl.store,
        fallbacks: rl.fallbacks,
        lastErrorAt: rl.lastErrorAt === null ? null : new Date(rl.lastErrorAt).toISOString(),
      };
      const f = ctx.fleet;
      const fleet = f
        ? { fleet: { waitingPolls: f.waiting, listening: f.listening, listens: f.listens } }
        : {};
      try {
        await ctx.store.ping(HEALTH_DB_TIMEOUT_MS);
        return { status: 'ok' as const, database: ctx.store.dialect, rateLimits, ...fleet };
      } catch (err) {
        req.log.warn(
          { err: err instanceof Error ? err.message : String(err) },
          'health: database unreachable',
        );
        return reply.code(503).send({
          status: 'degraded' as const,
          database: ctx.store.dialect,
          reason: `database unreachable: ${databaseProblem(err)}`,
          rateLimits,
          ...fleet,
        });
      }
    },
  );
}
