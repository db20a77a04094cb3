// The box-facing API: enrollment with a claim code, the uplink of events, heartbeats. A box authenticates
// with `Authorization: Bearer <boxId>.<secret>`; the cloud keeps only the secret's scrypt hash.
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
} from '../../protocol/index.js';
import { hashSecret, randomToken, sha256, verifySecret } from '../auth/secrets.js';
import { checkBatch, ingestBatch, IngestError, type BoxIdentity } from '../ingest/ingest.js';
import { UPLINK_BODY_MAX_BYTES } from '../limits.js';
import { HttpError, type CloudContext } from './context.js';

/** Boxes already verified in this process: token digest → the hash it matched (scrypt costs ~50 ms). */
const verified = new Map<string, string>();

export async function authenticateBox(ctx: CloudContext, req: FastifyRequest): Promise<BoxIdentity> {
  const m = /^Bearer ([A-Za-z0-9-]+)\.([A-Za-z0-9_-]+)$/.exec(req.headers.authorization ?? '');
  if (!m)
    throw new HttpError(
      401,
      'unauthorized',
      'box credential missing: Authorization: Bearer <boxId>.<secret>',
    );
  const [, boxId, secret] = m as unknown as [string, string, string];
  req.auditActor = `box:${boxId}`;
  const row = await ctx.store.db
    .selectFrom('boxes')
    .select(['id', 'office_id', 'secret_hash', 'revoked_at'])
    .where('id', '=', boxId)
    .executeTakeFirst();
  if (!row?.secret_hash || row.revoked_at !== null)
    throw new HttpError(401, 'unauthorized', 'unknown, unenrolled or revoked box');
  const digest = sha256(`${boxId}.${secret}`);
  if (verified.get(digest) !== row.secret_hash) {
    if (!(await verifySecret(secret, row.secret_hash)))
      throw new HttpError(401, 'unauthorized', 'wrong box credential');
    if (verified.size > 10_000) verified.clear();
    verified.set(digest, row.secret_hash);
  }
  return { id: row.id, officeId: row.office_id };
}

const errors = { 400: ApiError, 401: ApiError, 403: ApiError, 404: ApiError, 409: ApiError, 429: ApiError };

export async function boxRoutes(app: FastifyInstance, ctx: CloudContext): Promise<void> {
  app.post(
    '/api/v1/enroll',
    {
      schema: {
        tags: ['box'],
        summary: 'A box exchanges its one-time claim code for its credential',
        body: EnrollRequest,
        response: { 200: EnrollResponse, ...errors },
      },
      config: { rateLimit: { max: 20, timeWindow: '1 minute' }, auditFailures: true },
    },
    async (req) => {
      const body = req.body as EnrollRequest;
      const now = ctx.clock();
      const secret = randomToken(32);
      const secretHash = await hashSecret(secret);
      const claimHash = sha256(body.claimCode.trim().toUpperCase());
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
        if (row.office_id !== body.officeId)
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
    },
    async (req) => {
      const box = await authenticateBox(ctx, req);
      try {
        const events = checkBatch((req.body as UplinkBatch).events);
        return await ingestBatch(ctx.store, box, events, ctx.clock());
      } catch (err) {
        if (err instanceof IngestError)
          throw new HttpError(err.code === 'box_unknown' ? 401 : 400, err.code, err.message, err.detail);
        throw err;
      }
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
    },
    async (req) => {
      const box = await authenticateBox(ctx, req);
      const hb = req.body as Heartbeat;
      // The credential decides the office; a heartbeat naming another is a misconfigured or forged box.
      if (hb.officeId !== box.officeId)
        throw new HttpError(
          403,
          'office_mismatch',
          `this box is enrolled for office "${box.officeId}", the heartbeat names "${hb.officeId}": nothing was recorded`,
        );
      await ctx.store.db
        .updateTable('boxes')
        .set({ heartbeat: JSON.stringify(hb), heartbeat_at: ctx.clock() })
        .where('id', '=', box.id)
        .execute();
      if (hb.backlog.alarm) req.log.warn({ box: box.id, backlog: hb.backlog }, 'box backlog alarm');
      const row = await ctx.store.db
        .selectFrom('boxes')
        .select('acked_seq')
        .where('id', '=', box.id)
        .executeTakeFirstOrThrow();
      return { ackedSeq: Number(row.acked_seq) };
    },
  );

  app.get(
    '/healthz',
    {
      schema: {
        tags: ['ops'],
        response: { 200: Type.Object({ status: Type.String(), database: Type.String() }) },
      },
    },
    async () => {
      await ctx.store.db.selectFrom('units').select('id').limit(1).execute();
      return { status: 'ok', database: ctx.store.dialect };
    },
  );
}
