// Releases and rollouts over HTTP. Admins (sessions, unit-subtree scope, viewers read, every request audited):
// upload a release's bundles, list them, start a rollout for a unit subtree in waves, pause, resume, abort,
// start the next wave, read its progress. Boxes (their credential, checked before anything else): download the
// bundle they are targeted with (HTTP Range for resume), report each step of their update.
import send from '@fastify/send';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError } from '../../protocol/index.js';
import { RELEASE_VERSION_PATTERN, SoftwareReport } from '../../protocol/fleet-updates.js';
import { BundleRefused, publicKeyFrom } from '../../protocol/release-bundle.js';
import { unitById } from '../admin/provisioning.js';
import { adminAccess, requireAdminSession, type AdminIdentity } from '../http/admin-access.js';
import { boxCredential } from '../http/box-routes.js';
import { HttpError, type CloudContext } from '../http/context.js';
import type { BoxIdentity } from '../ingest/ingest.js';
import {
  RELEASE_BUNDLE_MAX_BYTES,
  RELEASE_MANIFEST_MAX_BYTES,
  RELEASE_NOTES_MAX_CHARS,
  ROLLOUT_WAVES_MAX,
} from '../limits.js';
import {
  bundleOf,
  bundlePath,
  checkAnnounced,
  createRelease,
  listReleases,
  receiveTarball,
  releaseView,
  saveBundle,
  type IncomingBundle,
} from './releases.js';
import {
  ACTIVE,
  actOnRollout,
  createRollout,
  listRollouts,
  recordSoftwareReport,
  rolloutProgress,
  rolloutRow,
  type RolloutAction,
  type RolloutChange,
} from './rollouts.js';
import type { WaveSpec } from './waves.js';

const errors = {
  400: ApiError,
  401: ApiError,
  403: ApiError,
  404: ApiError,
  409: ApiError,
  413: ApiError,
  422: ApiError,
  503: ApiError,
};
const Version = Type.String({ pattern: RELEASE_VERSION_PATTERN, maxLength: 64 });
const Platform = Type.String({ pattern: '^[a-z0-9]{1,16}-[a-z0-9_]{1,16}$' });
const WaveSpecSchema = Type.Union([
  Type.Object({ count: Type.Integer({ minimum: 1 }) }, { additionalProperties: false }),
  Type.Object(
    { percent: Type.Number({ exclusiveMinimum: 0, maximum: 100 }) },
    { additionalProperties: false },
  ),
]);
const ROLLOUT_ACTIONS: RolloutAction[] = ['pause', 'resume', 'abort', 'next-wave'];

/** A bundle the cloud will not keep: 422 with the reason the box would have given. */
const refusal = (err: BundleRefused) =>
  new HttpError(422, 'bundle_refused', err.message, { reason: err.reason });

export async function releaseRoutes(app: FastifyInstance, ctx: CloudContext): Promise<void> {
  const db = ctx.store.db;
  const dir = ctx.settings.releasesDir;
  const defaultPlatform = ctx.settings.defaultBoxPlatform;
  const publicKey = ctx.settings.releasePublicKey ? publicKeyFrom(ctx.settings.releasePublicKey) : null;

  /** Wakes the long polls of the boxes whose software target changed (after the write committed). */
  const wake = (change: RolloutChange) => {
    if (change.wake.length === 0) return;
    ctx.fleet?.afterCommit(change.wake);
    // PostgreSQL: notified outside the writing transaction (a woken poll reads the committed state either way).
    if (ctx.store.dialect === 'postgres')
      void ctx.fleet
        ?.inTransaction(db, change.wake)
        .catch((err: Error) => ctx.log.warn({ err: err.message }, 'releases: wake-up not sent'));
  };

  // ---- boxes ----------------------------------------------------------------------------------------
  const boxAuth = boxCredential(ctx);

  app.get(
    '/api/v1/box/releases/:version/:platform/:part',
    {
      logLevel: 'warn',
      schema: {
        tags: ['box'],
        summary:
          'A part of the bundle this box is targeted with: manifest, signature or bundle (Range: resume)',
        description:
          'Only a release the box is offered by an active rollout (started wave), for its platform; any other ' +
          'is 404. `bundle` honours `Range` (206 Partial Content), so an interrupted download resumes.',
        security: [{ box: [] }],
        params: Type.Object({
          version: Version,
          platform: Platform,
          part: Type.Union([Type.Literal('manifest'), Type.Literal('signature'), Type.Literal('bundle')]),
        }),
      },
      ...boxAuth,
    },
    async (req, reply) => {
      const box = req.box as BoxIdentity;
      const p = req.params as { version: string; platform: string; part: string };
      const targeted = await db
        .selectFrom('rollout_boxes as rb')
        .innerJoin('rollouts as r', 'r.id', 'rb.rollout_id')
        .innerJoin('boxes as b', 'b.id', 'rb.box_id')
        .select(['b.platform'])
        .where('rb.box_id', '=', box.id)
        .where('r.version', '=', p.version)
        .where('r.state', 'in', [...ACTIVE])
        .whereRef('rb.wave', '<=', 'r.waves_started')
        .executeTakeFirst();
      const bundle =
        targeted && (targeted.platform ?? defaultPlatform) === p.platform
          ? await bundleOf(db, p.version, p.platform)
          : null;
      if (!bundle)
        throw new HttpError(
          404,
          'not_found',
          `no release ${p.version} for ${p.platform} is offered to this box`,
        );
      if (p.part === 'manifest') return reply.type('application/json').send(bundle.manifest);
      if (p.part === 'signature') return reply.type('text/plain').send(`${bundle.signature}\n`);
      const file = bundlePath(dir, p.version, p.platform, bundle.file);
      const sent = await send(req.raw, encodeURIComponent(bundle.file), {
        root: bundlePath(dir, p.version, p.platform, ''),
        acceptRanges: true,
        cacheControl: false,
        dotfiles: 'deny',
        etag: true,
        lastModified: false,
      });
      if (sent.type !== 'file') {
        req.log.error({ file, status: sent.statusCode }, 'releases: a verified bundle is missing on disk');
        throw new HttpError(
          sent.statusCode === 416 ? 416 : 503,
          sent.statusCode === 416 ? 'range_not_satisfiable' : 'bundle_unavailable',
          sent.statusCode === 416
            ? `the range is outside the bundle's ${bundle.size} bytes`
            : 'the bundle is not readable on this replica now; retry later',
        );
      }
      return reply
        .code(sent.statusCode)
        .headers({ ...sent.headers, 'content-type': 'application/gzip' })
        .send(sent.stream);
    },
  );

  app.post(
    '/api/v1/box/software',
    {
      logLevel: 'warn',
      schema: {
        tags: ['box'],
        summary:
          'One step of this box’s update (downloading, installed, switching, healthy, rolled_back, failed)',
        description:
          'Idempotent: the box resends until 200. A step behind the recorded one, or after a final one ' +
          '(healthy, rolled_back, failed), changes nothing (`moved: false`). A failed or rolled back step ' +
          'counts toward the rollout’s abort threshold.',
        security: [{ box: [] }],
        body: SoftwareReport,
        response: {
          200: Type.Object({ ok: Type.Boolean(), state: Type.String(), moved: Type.Boolean() }),
          ...errors,
        },
      },
      ...boxAuth,
    },
    async (req) => {
      const box = req.box as BoxIdentity;
      const r = req.body as SoftwareReport;
      const out = await recordSoftwareReport(ctx.store, box.id, r, ctx.clock());
      if (out.moved && (r.state === 'failed' || r.state === 'rolled_back'))
        req.log.warn(
          { box: box.id, rollout: r.rolloutId, state: r.state, code: r.code, reason: r.reason },
          'releases: a box did not take the update',
        );
      if (out.events.length > 0) {
        req.log.info({ rollout: r.rolloutId, events: out.events }, 'releases: rollout moved');
        await ctx.audit({
          actor: `box:${box.id}`,
          action: 'rollout.progressed',
          target: r.rolloutId,
          detail: { events: out.events, after: { state: r.state, code: r.code ?? null } },
        });
      }
      wake(out);
      return { ok: true, state: out.state, moved: out.moved };
    },
  );

  // ---- admins ---------------------------------------------------------------------------------------
  const access = adminAccess(ctx);
  const { unitInScope, mustManage } = access;
  const security = [{ admin: [] }];
  const actorOf = (req: FastifyRequest) => `admin:${(req.admin as AdminIdentity).username}`;

  /** Releases reach the whole fleet: only an admin of a top unit (a province) uploads them. */
  const mustUpload = async (req: FastifyRequest) => {
    mustManage(req);
    const unit = await unitById(db, (req.admin as AdminIdentity).unitId);
    if (unit?.parent_id !== null)
      throw new HttpError(
        403,
        'forbidden',
        'chỉ quản trị viên cấp tỉnh / only admins of a top unit upload releases (they reach the whole fleet)',
      );
  };

  await app.register(async (admin) => {
    requireAdminSession(admin, ctx, access);
    // A bundle's body is streamed to disk by its route, never parsed or held in memory.
    admin.addContentTypeParser('application/octet-stream', (_req, _payload, done) => done(null));

    admin.post(
      '/api/v1/releases',
      {
        schema: {
          tags: ['releases'],
          summary: 'Create a release (version and notes); its bundles are uploaded one per platform next',
          security,
          body: Type.Object(
            { version: Version, notes: Type.String({ maxLength: RELEASE_NOTES_MAX_CHARS }) },
            { additionalProperties: false },
          ),
        },
      },
      async (req, reply) => {
        const b = req.body as { version: string; notes: string };
        req.audit = { action: 'release.created', target: b.version };
        await mustUpload(req);
        const r = await createRelease(db, { ...b, actor: actorOf(req), now: ctx.clock() });
        return reply.code(201).send(r);
      },
    );

    admin.put(
      '/api/v1/releases/:version/bundles/:platform',
      {
        bodyLimit: RELEASE_BUNDLE_MAX_BYTES,
        schema: {
          tags: ['releases'],
          summary: "Upload one platform's bundle: the tarball as the body, the signed manifest in headers",
          description:
            'Body: the tarball (`application/octet-stream`), streamed to disk. Headers: `x-release-manifest` ' +
            "(the manifest file, base64) and `x-release-signature` (the `.manifest.sig` file's text). Checked " +
            'against the release public key before the body is read (signature, version, platform, size ' +
            'announced), then the size and SHA-256 of what arrived: 422 bundle_refused with `detail.reason` ' +
            '(signature, manifest, platform, size, hash) and nothing kept. The same bytes again: 200, unchanged.',
          security,
          params: Type.Object({ version: Version, platform: Platform }),
        },
      },
      async (req, reply) => {
        // Whatever is refused before the body was read: the connection closes instead of reading it.
        const early = (err: unknown): never => {
          void reply.header('connection', 'close');
          req.raw.resume();
          throw err instanceof BundleRefused ? refusal(err) : err;
        };
        const p = req.params as { version: string; platform: string };
        req.audit = { action: 'release.bundle_uploaded', target: `${p.version}/${p.platform}` };
        await mustUpload(req).catch(early);
        if (!publicKey)
          early(
            new HttpError(
              503,
              'no_release_key',
              'this cloud has no release public key (--release-key): it cannot check bundles',
            ),
          );
        if (!(await releaseView(db, p.version)))
          early(
            new HttpError(
              404,
              'not_found',
              `no release ${p.version}: create it first (POST /api/v1/releases)`,
            ),
          );
        const header = (name: string) => {
          const v = req.headers[name];
          if (typeof v !== 'string' || v.length === 0 || v.length > RELEASE_MANIFEST_MAX_BYTES * 2)
            early(new HttpError(400, 'invalid_request', `the ${name} header is missing or too long`));
          return v as string;
        };
        const incoming: IncomingBundle = {
          releasesDir: dir,
          version: p.version,
          platform: p.platform,
          manifestBytes: Buffer.from(header('x-release-manifest'), 'base64'),
          signature: header('x-release-signature'),
          publicKey: publicKey as NonNullable<typeof publicKey>,
          ...(req.headers['content-length'] !== undefined
            ? { contentLength: Number(req.headers['content-length']) }
            : {}),
        };
        let manifest;
        try {
          manifest = checkAnnounced(incoming);
        } catch (err) {
          return early(err);
        }
        req.audit.detail = { sha256: manifest.sha256, size: manifest.size, keyId: manifest.keyId };
        const kept = await bundleOf(db, p.version, p.platform);
        if (kept?.sha256 === manifest.sha256) {
          req.raw.resume();
          return reply.header('connection', 'close').send(await releaseView(db, p.version));
        }
        if (kept)
          early(
            new HttpError(
              409,
              'bundle_exists',
              `release ${p.version} has a different bundle for ${p.platform} already: publish a new version`,
            ),
          );
        try {
          await receiveTarball(incoming, manifest, req.raw);
        } catch (err) {
          if (err instanceof BundleRefused) {
            req.log.warn({ version: p.version, platform: p.platform, reason: err.reason }, err.message);
            throw refusal(err);
          }
          throw err;
        }
        await saveBundle(db, incoming, manifest, actorOf(req), ctx.clock());
        return releaseView(db, p.version);
      },
    );

    admin.get(
      '/api/v1/releases',
      { schema: { tags: ['releases'], summary: 'Releases, newest first, with their bundles', security } },
      async () => ({ releases: await listReleases(db) }),
    );

    admin.get(
      '/api/v1/releases/:version',
      {
        schema: {
          tags: ['releases'],
          summary: 'One release with its bundles',
          security,
          params: Type.Object({ version: Version }),
        },
      },
      async (req) => {
        const { version } = req.params as { version: string };
        const r = await releaseView(db, version);
        if (!r) throw new HttpError(404, 'not_found', `no release ${version}`);
        return r;
      },
    );

    admin.post(
      '/api/v1/rollouts',
      {
        schema: {
          tags: ['releases'],
          summary: 'Start a rollout of a release to the boxes of a unit subtree, in waves',
          description:
            'Waves: `{count: n}` adds n boxes, `{percent: p}` reaches p % of the boxes (cumulative); the last ' +
            'must reach every box (`{percent: 100}`). Boxes are picked by a hash of version and box id. The ' +
            'first wave starts now; each next one when the previous is all healthy, or when an admin starts it. ' +
            'More than `abortThreshold` boxes of a wave failed or rolled back aborts the rollout.',
          security,
          body: Type.Object(
            {
              version: Version,
              unitId: Type.String({ maxLength: 64 }),
              waves: Type.Array(WaveSpecSchema, { minItems: 1, maxItems: ROLLOUT_WAVES_MAX }),
              abortThreshold: Type.Integer({ minimum: 0, default: 0 }),
              force: Type.Boolean({ default: false }),
              allowDowngrade: Type.Boolean({ default: false }),
            },
            { additionalProperties: false },
          ),
        },
      },
      async (req, reply) => {
        const b = req.body as {
          version: string;
          unitId: string;
          waves: WaveSpec[];
          abortThreshold: number;
          force: boolean;
          allowDowngrade: boolean;
        };
        req.audit = { action: 'rollout.started', target: b.version, detail: b };
        mustManage(req);
        const unit = await unitInScope(req, b.unitId);
        if (!(await releaseView(db, b.version)))
          throw new HttpError(404, 'not_found', `no release ${b.version}`);
        const change = await createRollout(ctx.store, {
          ...b,
          unit,
          actor: actorOf(req),
          now: ctx.clock(),
          defaultPlatform,
        });
        req.audit = { ...req.audit, target: change.rolloutId, detail: { ...b, events: change.events } };
        wake(change);
        return reply.code(201).send(await rolloutProgress(db, change.rolloutId));
      },
    );

    admin.get(
      '/api/v1/rollouts',
      {
        schema: {
          tags: ['releases'],
          summary: 'The rollouts of a unit subtree (yours by default), newest first',
          security,
          querystring: Type.Object({ unit: Type.Optional(Type.String()) }, { additionalProperties: false }),
        },
      },
      async (req) => {
        const unit = (req.query as { unit?: string }).unit;
        const path = unit ? (await unitInScope(req, unit)).path : (req.admin as AdminIdentity).unitPath;
        return { rollouts: await listRollouts(db, path) };
      },
    );

    /** The rollout, when its unit lies in the admin's subtree (403 outside, 404 unknown). */
    const rolloutInScope = async (req: FastifyRequest, id: string) => {
      const r = await rolloutRow(db, id);
      await unitInScope(req, r.unit_id);
      return r;
    };

    admin.get(
      '/api/v1/rollouts/:id',
      {
        schema: {
          tags: ['releases'],
          summary:
            'A rollout’s progress: per wave the boxes pending, downloading, installed, switching, healthy, ' +
            'rolled back, failed; per box its step, reason and log tail',
          security,
          params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
        },
      },
      async (req) => {
        const { id } = req.params as { id: string };
        await rolloutInScope(req, id);
        return rolloutProgress(db, id);
      },
    );

    admin.post(
      '/api/v1/rollouts/:id/:action',
      {
        schema: {
          tags: ['releases'],
          summary: 'pause, resume, abort, or next-wave (start the next wave now)',
          description:
            'Pause: no box starts the update (boxes already on their way finish). Abort: final; boxes not ' +
            'yet healthy are told the target is gone (the healthy ones keep the new version: roll out the ' +
            'older one with allowDowngrade to go back). 409 rollout_state when the state does not allow it.',
          security,
          params: Type.Object({
            id: Type.String({ maxLength: 64 }),
            action: Type.Union(ROLLOUT_ACTIONS.map((a) => Type.Literal(a))),
          }),
        },
      },
      async (req) => {
        const { id, action } = req.params as { id: string; action: RolloutAction };
        req.audit = { action: `rollout.${action}`, target: id };
        mustManage(req);
        await rolloutInScope(req, id);
        // An optional body ({reason}): not declared as a schema, which would refuse a POST without one.
        const reason = (req.body as { reason?: unknown } | undefined)?.reason;
        if (reason !== undefined && (typeof reason !== 'string' || reason.length > 500))
          throw new HttpError(400, 'invalid_request', 'reason: a text of at most 500 characters');
        req.audit = {
          ...req.audit,
          action: `rollout.${action}`,
          target: id,
          ...(reason ? { detail: { reason } } : {}),
        };
        const change = await actOnRollout(ctx.store, id, action, {
          actor: actorOf(req),
          now: ctx.clock(),
          ...(reason ? { reason } : {}),
        });
        req.audit.detail = { ...(reason ? { reason } : {}), events: change.events };
        wake(change);
        return rolloutProgress(db, id);
      },
    );
  });
}
