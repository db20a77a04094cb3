// Dossiers from the province's one-stop software (HMAC-signed requests: timestamp + body, replay window,
// each signature accepted once), and the public lookup of a dossier's status by code (no personal data: the
// cloud holds none). The ticket page the QR code opens is the citizen's (citizen-routes.ts).
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  ApiError,
  DossierPublic,
  DossierUpsert,
  HMAC_HEADERS,
  HMAC_WINDOW_SECONDS,
  hmacPayload,
} from '../../protocol/index.js';
import { hmacHex, integrationKey, safeEqual } from '../auth/secrets.js';
import { dossierOwningPath, lockDossier, settleDossierOffice } from '../dossiers/ownership.js';
import { publicDossier } from '../dossiers/public-view.js';
import { moveDossierShare, pruneReplays } from '../dossiers/rollup.js';
import type { Db, Tx } from '../db/database.js';
import { HttpError, type CloudContext } from './context.js';

declare module 'fastify' {
  interface FastifyRequest {
    rawBody?: string;
  }
}

const CODE = Type.String({
  pattern: '^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$',
  description: 'Dossier code (mã hồ sơ)',
});
const errors = { 400: ApiError, 401: ApiError, 403: ApiError, 404: ApiError, 409: ApiError, 429: ApiError };

interface Integration {
  id: string;
  unitPath: string;
}

async function verifySignature(
  ctx: CloudContext,
  req: FastifyRequest,
): Promise<Integration & { signature: string; ts: number }> {
  const keyId = req.headers[HMAC_HEADERS.key];
  const ts = req.headers[HMAC_HEADERS.timestamp];
  const sig = req.headers[HMAC_HEADERS.signature];
  if (typeof keyId === 'string') req.auditActor = `integration:${keyId.slice(0, 64)}`;
  if (typeof keyId !== 'string' || typeof ts !== 'string' || typeof sig !== 'string')
    throw new HttpError(
      401,
      'signature_missing',
      `sign the request: ${Object.values(HMAC_HEADERS).join(', ')}`,
    );
  const seconds = Number(ts);
  const now = ctx.clock();
  if (!/^\d{9,11}$/.test(ts) || Math.abs(now / 1000 - seconds) > HMAC_WINDOW_SECONDS)
    throw new HttpError(
      401,
      'signature_expired',
      `x-lobby-timestamp must be Unix seconds within ${HMAC_WINDOW_SECONDS} s of now`,
    );
  const row = await ctx.store.db
    .selectFrom('integrations')
    .innerJoin('units', 'units.id', 'integrations.unit_id')
    .select(['integrations.id', 'integrations.key_generation', 'integrations.revoked_at', 'units.path'])
    .where('integrations.id', '=', keyId)
    .executeTakeFirst();
  if (!row || row.revoked_at !== null)
    throw new HttpError(401, 'signature_invalid', 'unknown or revoked key');
  const key = integrationKey(ctx.settings.masterKey, row.id, row.key_generation);
  const expected = hmacHex(key, hmacPayload(ts, req.method, req.url, req.rawBody ?? ''));
  if (!safeEqual(expected, sig.toLowerCase()))
    throw new HttpError(401, 'signature_invalid', 'the signature does not match');
  return { id: row.id, unitPath: row.path, signature: expected, ts: seconds };
}

/** `db` is the transaction when inside one (SQLite has one connection: the pool would wait forever). */
async function officeInScope(db: Db | Tx, officeId: string, unitPath: string): Promise<boolean> {
  const o = await db
    .selectFrom('offices')
    .innerJoin('units', 'units.id', 'offices.unit_id')
    .select('units.path')
    .where('offices.id', '=', officeId)
    .executeTakeFirst();
  return o !== undefined && o.path.startsWith(unitPath);
}

export async function dossierRoutes(app: FastifyInstance, ctx: CloudContext): Promise<void> {
  // The signed routes need the body exactly as sent: parse JSON ourselves and keep the text.
  await app.register(async (signed) => {
    signed.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
      req.rawBody = body as string;
      try {
        done(null, body === '' ? {} : JSON.parse(body as string));
      } catch {
        done(new HttpError(400, 'bad_json', 'the body is not JSON'), undefined);
      }
    });

    signed.put(
      '/api/v1/dossiers/:code',
      {
        config: { auditFailures: true },
        schema: {
          tags: ['dossiers'],
          summary: 'Create or update a dossier (the province one-stop software)',
          description:
            'Joined to lobby events (dossier.linked) by code, whichever arrives first. Signed: see the hmac scheme.',
          security: [{ hmac: [] }],
          params: Type.Object({ code: CODE }),
          body: DossierUpsert,
          response: {
            200: Type.Object({ code: Type.String(), created: Type.Boolean(), linkedTickets: Type.Integer() }),
            ...errors,
          },
        },
      },
      async (req) => {
        const integration = await verifySignature(ctx, req);
        const { code } = req.params as { code: string };
        const b = req.body as DossierUpsert;
        const receivedAt = Date.parse(b.receivedAt);
        const dueAt = Date.parse(b.dueAt);
        const returnedAt = b.returnedAt ? Date.parse(b.returnedAt) : null;
        if (dueAt < receivedAt) throw new HttpError(400, 'invalid_dates', 'dueAt is before receivedAt');
        if (returnedAt !== null && returnedAt < receivedAt)
          throw new HttpError(400, 'invalid_dates', 'returnedAt is before receivedAt');
        if (b.officeId && !(await officeInScope(ctx.store.db, b.officeId, integration.unitPath)))
          throw new HttpError(
            403,
            'outside_scope',
            `office "${b.officeId}" is unknown or outside this integration's units`,
          );
        const now = ctx.clock();
        return ctx.store.db.transaction().execute(async (tx) => {
          // Each signature once: a replay inside the window is refused (the row outlives the window).
          await pruneReplays(tx, now);
          const seen = await tx
            .insertInto('hmac_replays')
            .values({
              signature: integration.signature,
              expires_at: (integration.ts + HMAC_WINDOW_SECONDS) * 1000 + 60_000,
            })
            .onConflict((oc) => oc.column('signature').doNothing())
            .executeTakeFirst();
          if (Number(seen.numInsertedOrUpdatedRows ?? 0) !== 1)
            throw new HttpError(409, 'replayed', 'this signed request was already received');
          // One writer per code (see dossiers/ownership.ts): the province and the lobby links agree.
          await lockDossier(tx, ctx.store.dialect, code);
          const before = await tx
            .selectFrom('dossiers')
            .selectAll()
            .where('code', '=', code)
            .executeTakeFirst();
          // The dossier belongs to its office's unit (else its writer's): another unit's software may not
          // touch it. A lobby link alone owns nothing, so it can never lock the province's software out.
          const owning = await dossierOwningPath(tx, code);
          if (owning !== undefined && !owning.startsWith(integration.unitPath))
            throw new HttpError(
              403,
              'outside_scope',
              `dossier "${code}" belongs to ${before?.office_id ? `office "${before.office_id}"` : 'a unit'} outside this integration's units`,
            );
          const links = await tx
            .selectFrom('dossier_links')
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .where('code', '=', code)
            .executeTakeFirstOrThrow();
          const named = b.officeId ?? before?.named_office_id ?? null;
          const row = {
            code,
            procedure: b.procedure,
            procedure_name: b.procedureName ?? null,
            service: b.service,
            office_id: before?.office_id ?? null,
            named_office_id: named,
            received_at: receivedAt,
            due_at: dueAt,
            returned_at: returnedAt,
            status: b.status,
            integration_id: integration.id,
            updated_at: now,
          };
          // Written with its old office first, so its share moves with the new figures; then the office is
          // decided from the named office and the links in this integration's units.
          if (before) await tx.updateTable('dossiers').set(row).where('code', '=', code).execute();
          else await tx.insertInto('dossiers').values(row).execute();
          await moveDossierShare(tx, before ?? null, row);
          await settleDossierOffice(tx, code);
          return { code, created: !before, linkedTickets: Number(links.n) };
        });
      },
    );
  });

  const publicLimit = { rateLimit: { max: ctx.settings.publicLookupsPerMinute, timeWindow: '1 minute' } };

  app.get(
    '/api/v1/public/dossiers/:code',
    {
      schema: {
        tags: ['public'],
        summary: "A dossier's status by its code (no personal data; rate-limited)",
        params: Type.Object({ code: CODE }),
        response: { 200: DossierPublic, ...errors },
      },
      config: publicLimit,
    },
    async (req) => {
      const { code } = req.params as { code: string };
      const d = await publicDossier(ctx.store.db, code);
      if (!d) throw new HttpError(404, 'not_found', `no dossier "${code}"`);
      return d;
    },
  );
}
