// The fleet's HTTP side. For admins (sessions, unit-subtree scope, viewers read, every request audited): unit
// templates, office configs (inherited, overrides, effective, where each field comes from), box twins. For
// boxes (their credential, checked before the body is read): the target long poll and the reported state.
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../../protocol/index.js';
import { BoxReported, BoxTarget } from '../../protocol/fleet.js';
import { adminAccess, requireAdminSession, type AdminIdentity } from '../http/admin-access.js';
import { fleetHealthOf } from '../health/fleet-health.js';
import { authenticateBox } from '../http/box-routes.js';
import { HttpError, type CloudContext } from '../http/context.js';
import type { BoxIdentity } from '../ingest/ingest.js';
import {
  FLEET_HISTORY_MAX,
  FLEET_LONG_POLL_MAX_SECONDS,
  FLEET_LONG_POLLS_MAX,
  FLEET_TWINS_LIST_MAX,
} from '../limits.js';
import type { FieldOrigin } from './merge.js';
import {
  desiredHistory,
  ensureFirstVersion,
  officeConfig,
  recordReport,
  saveOfficeConfig,
  saveUnitTemplate,
  targetAfter,
  twins,
  unitTemplate,
  type SaveContext,
} from './twin.js';
import { TargetWakeups } from './wakeups.js';

const errors = {
  400: ApiError,
  401: ApiError,
  403: ApiError,
  404: ApiError,
  409: ApiError,
  422: ApiError,
  429: ApiError,
  503: ApiError,
};
const Patch = Type.Record(Type.String(), Type.Unknown(), {
  description: 'A JSON Merge Patch (RFC 7396) of the box config: objects merge, null deletes, arrays replace',
});
const Revision = Type.Optional(
  Type.Integer({
    minimum: 0,
    description: 'The revision you edited (or the If-Match header): 409 if someone saved since',
  }),
);

/** The revision a save was based on: `If-Match: 3` (or `"3"`), else the body's `revision`. */
function expectedRevision(req: FastifyRequest, body?: number): number | undefined {
  const h = req.headers['if-match'];
  if (typeof h === 'string' && h.trim() !== '' && h.trim() !== '*') {
    const m = /^(?:W\/)?"?(\d+)"?$/.exec(h.trim());
    if (!m)
      throw new HttpError(400, 'invalid_request', 'If-Match: the revision you edited, e.g. If-Match: 3');
    return Number(m[1]);
  }
  return body;
}

export type SectionSource = 'inherited' | 'overridden' | 'mixed' | 'default';

/** Per top-level section: does its content come from the templates, the office, both, or the defaults? */
export function sectionSources(keys: string[], fields: FieldOrigin[]): Record<string, SectionSource> {
  const out: Record<string, SectionSource> = {};
  for (const key of keys) {
    const mine = fields.filter((f) => f.path === key || f.path.startsWith(`${key}.`));
    const office = mine.filter((f) => f.from === 'office').length;
    out[key] =
      mine.length === 0
        ? 'default'
        : office === 0
          ? 'inherited'
          : office === mine.length
            ? 'overridden'
            : 'mixed';
  }
  return out;
}

/**
 * Woken polls reading the database at once, per replica. A province-wide change wakes thousands of polls in
 * the same instant; unbounded, their reads queued ahead of everything else for the pool's connections (10),
 * and a `/healthz` waited 10 s behind them (its own limit is 2 s: the replica would be taken out of rotation
 * while it worked). Half the pool is left to the other requests.
 */
const RECHECKS_AT_ONCE = 5;

/** At most `n` of the functions given run at once; the others wait in order. */
export function limiter(n: number) {
  let running = 0;
  const queue: (() => void)[] = [];
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    if (running >= n) await new Promise<void>((r) => queue.push(r));
    running++;
    try {
      return await fn();
    } finally {
      running--;
      queue.shift()?.();
    }
  };
}

export async function fleetRoutes(app: FastifyInstance, ctx: CloudContext): Promise<void> {
  const recheck = limiter(RECHECKS_AT_ONCE);
  const db = ctx.store.db;
  const wakeups = new TargetWakeups(ctx.store, ctx.log);
  await wakeups.start();
  // Waiting polls are answered at once when the replica shuts down (the box polls again, elsewhere).
  app.addHook('preClose', async () => wakeups.close());
  app.addHook('onClose', async () => wakeups.close());
  ctx.fleet = wakeups;

  const saving = (req: FastifyRequest): SaveContext => ({
    store: ctx.store,
    wakeups,
    cloudUrl: ctx.settings.publicUrl,
    actor: `admin:${(req.admin as AdminIdentity).username}`,
    now: ctx.clock(),
  });

  // ---- boxes ----------------------------------------------------------------------------------------
  const boxAuth = {
    onRequest: async (req: FastifyRequest) => {
      req.box = await authenticateBox(ctx, req);
    },
  };

  app.get(
    '/api/v1/box/target',
    {
      logLevel: 'warn',
      schema: {
        tags: ['box'],
        summary: "The box's desired config, when newer than the version it last processed (a long poll)",
        description:
          '200 with the newest desired version when it is newer than `version`; otherwise held up to `wait` ' +
          `seconds (at most ${FLEET_LONG_POLL_MAX_SECONDS}) and answered 200 as soon as an admin saves a newer ` +
          'one (on any replica), else 204 at the end. A box without a desired config gets 204. Past ' +
          `${FLEET_LONG_POLLS_MAX} polls waiting on one replica: 503 with Retry-After.`,
        security: [{ box: [] }],
        querystring: Type.Object(
          {
            version: Type.Integer({ minimum: 0, default: 0 }),
            wait: Type.Integer({ minimum: 0, default: 0, description: 'seconds; cut to the maximum' }),
          },
          { additionalProperties: false },
        ),
        response: { 200: BoxTarget, 204: Type.Null(), ...errors },
      },
      ...boxAuth,
    },
    async (req, reply) => {
      const box = req.box as BoxIdentity;
      const q = req.query as { version: number; wait: number };
      const waitMs = Math.min(q.wait, FLEET_LONG_POLL_MAX_SECONDS) * 1000;
      await ensureFirstVersion(ctx.store, box, ctx.clock());
      const now = await targetAfter(db, box.id, q.version);
      if (now) return now;
      if (waitMs === 0) return reply.code(204).send();
      return holdPoll(req, reply, box, q.version, waitMs);
    },
  );

  async function holdPoll(
    req: FastifyRequest,
    reply: FastifyReply,
    box: BoxIdentity,
    after: number,
    waitMs: number,
  ) {
    const max = ctx.settings.fleetLongPollsMax;
    if (wakeups.waiting >= max) {
      req.log.warn({ waiting: wakeups.waiting }, 'fleet: too many long polls waiting on this replica');
      void reply.header('retry-after', String(FLEET_LONG_POLL_MAX_SECONDS));
      throw new HttpError(
        503,
        'too_many_polls',
        `this replica holds ${max} long polls already: poll again later`,
      );
    }
    // Registered before the database is read again, so a save between that read and the wait still wakes it.
    const waiter = wakeups.waiter(box.id);
    const gone = new AbortController();
    const onClose = () => gone.abort();
    reply.raw.once('close', onClose);
    try {
      const deadline = Date.now() + waitMs;
      let target = await targetAfter(db, box.id, after);
      while (!target && !gone.signal.aborted) {
        const left = deadline - Date.now();
        if (left <= 0) break;
        const why = await waiter.wait(left, gone.signal);
        // Shutting down: answer now and close the connection (it would otherwise stay open, idle, after the
        // server's close has already ended the idle ones, and hold the shutdown up).
        if (why === 'closing') return reply.header('connection', 'close').code(204).send();
        if (why === 'timeout') break;
        target = await recheck(() => targetAfter(db, box.id, after));
      }
      // The one re-check at its end (a notification may have been lost with a connection).
      if (!target && !gone.signal.aborted) target = await recheck(() => targetAfter(db, box.id, after));
      return target ?? reply.code(204).send();
    } finally {
      waiter.done();
      reply.raw.off('close', onClose);
    }
  }

  app.post(
    '/api/v1/box/reported',
    {
      logLevel: 'warn',
      schema: {
        tags: ['box'],
        summary: 'What the box did with a desired version: applied, or rejected with the field errors',
        description:
          'Idempotent (the box resends it until it gets 200); a report older than the one recorded changes ' +
          'nothing. A version the cloud never had for this box: 409 unknown_version.',
        security: [{ box: [] }],
        body: BoxReported,
        response: { 200: Type.Object({ ok: Type.Boolean() }), ...errors },
      },
      ...boxAuth,
    },
    async (req) => {
      const box = req.box as BoxIdentity;
      const r = req.body as BoxReported;
      await recordReport(db, box.id, r, ctx.clock());
      // Fleet health's `config_rejected` alert opens with a rejection and resolves with the next apply.
      const health = fleetHealthOf(ctx);
      if (r.state === 'rejected') {
        req.log.warn(
          { box: box.id, version: r.version, errors: r.errors },
          'fleet: a box rejected its config',
        );
        const first = r.errors?.[0];
        await health?.raiseAlert(
          'config_rejected',
          box.id,
          `version ${r.version}: ${first ? `${first.path}: ${first.message}` : 'rejected'}` +
            ((r.errors?.length ?? 0) > 1 ? ` (+${(r.errors?.length ?? 0) - 1})` : ''),
        );
      } else await health?.clearAlert('config_rejected', box.id);
      return { ok: true };
    },
  );

  // ---- admins ---------------------------------------------------------------------------------------
  const access = adminAccess(ctx);
  const { unitInScope, officeInScope, mustManage } = access;
  const security = [{ admin: [] }];

  await app.register(async (admin) => {
    requireAdminSession(admin, ctx, access);

    admin.get(
      '/api/v1/fleet/units/:unitId/template',
      {
        schema: {
          tags: ['fleet'],
          summary: "A unit's template: what the managed offices of its subtree inherit",
          security,
          params: Type.Object({ unitId: Type.String() }),
        },
      },
      async (req) => {
        const { unitId } = req.params as { unitId: string };
        await unitInScope(req, unitId);
        return unitTemplate(db, unitId);
      },
    );

    admin.put(
      '/api/v1/fleet/units/:unitId/template',
      {
        schema: {
          tags: ['fleet'],
          summary: "Save a unit's template; every managed office of its subtree is re-resolved",
          description:
            'Refused whole (422 config_invalid, naming each office and its field errors) if any office would ' +
            'become invalid. Offices whose resolved config changes get a new desired version per box.',
          security,
          params: Type.Object({ unitId: Type.String() }),
          body: Type.Object({ template: Patch, revision: Revision }, { additionalProperties: false }),
          response: { ...errors },
        },
      },
      async (req) => {
        const { unitId } = req.params as { unitId: string };
        const body = req.body as { template: Record<string, unknown>; revision?: number };
        req.audit = { action: 'fleet.template.saved', target: unitId };
        mustManage(req);
        await unitInScope(req, unitId);
        const r = await saveUnitTemplate(
          saving(req),
          unitId,
          body.template,
          expectedRevision(req, body.revision),
        );
        // The count only: a province-wide change gives thousands of boxes a version.
        req.audit.detail = { revision: r.revision, offices: r.offices, versions: r.versions.length };
        return { unitId, revision: r.revision, offices: r.offices, versions: r.versions };
      },
    );

    admin.get(
      '/api/v1/fleet/offices/:officeId/config',
      {
        schema: {
          tags: ['fleet'],
          summary:
            "An office's config: inherited, its overrides, the effective result, and each field's source",
          security,
          params: Type.Object({ officeId: Type.String() }),
        },
      },
      async (req) => {
        const { officeId } = req.params as { officeId: string };
        await officeInScope(req, officeId);
        const v = await officeConfig(db, officeId, ctx.settings.publicUrl);
        const keys = Object.keys(v.effective ?? v.inherited);
        return { ...v, sections: sectionSources(keys, v.fields) };
      },
    );

    admin.put(
      '/api/v1/fleet/offices/:officeId/config',
      {
        schema: {
          tags: ['fleet'],
          summary: "Save an office's overrides (this puts the office under cloud management)",
          description:
            'The result (templates, then the overrides) is validated with the box config schema first: ' +
            '422 config_invalid with the field errors, nothing saved. 409 revision_conflict when someone ' +
            'saved since the revision you edited (If-Match or `revision`).',
          security,
          params: Type.Object({ officeId: Type.String() }),
          body: Type.Object({ overrides: Patch, revision: Revision }, { additionalProperties: false }),
          response: { ...errors },
        },
      },
      async (req) => {
        const { officeId } = req.params as { officeId: string };
        const body = req.body as { overrides: Record<string, unknown>; revision?: number };
        req.audit = { action: 'fleet.office.saved', target: officeId };
        mustManage(req);
        await officeInScope(req, officeId);
        const r = await saveOfficeConfig(
          saving(req),
          officeId,
          body.overrides,
          expectedRevision(req, body.revision),
        );
        req.audit.detail = { revision: r.revision, hash: r.hash, versions: r.versions };
        return { officeId, revision: r.revision, hash: r.hash, versions: r.versions };
      },
    );

    const boxInScope = async (req: FastifyRequest, boxId: string) => {
      const b = await db
        .selectFrom('boxes')
        .select(['id', 'office_id'])
        .where('id', '=', boxId)
        .executeTakeFirst();
      if (!b) throw new HttpError(404, 'not_found', `no box "${boxId}"`);
      await officeInScope(req, b.office_id);
      return b;
    };

    admin.get(
      '/api/v1/fleet/boxes/:boxId/twin',
      {
        schema: {
          tags: ['fleet'],
          summary:
            "A box's twin: desired and reported version, status (unmanaged, pending, in_sync, rejected), drift",
          security,
          params: Type.Object({ boxId: Type.String() }),
        },
      },
      async (req) => {
        const { boxId } = req.params as { boxId: string };
        await boxInScope(req, boxId);
        const [t] = await twins(db, (q) => q.where('boxes.id', '=', boxId), 1);
        if (!t) throw new HttpError(404, 'not_found', `box "${boxId}" is revoked`);
        return t;
      },
    );

    admin.get(
      '/api/v1/fleet/boxes/:boxId/versions',
      {
        schema: {
          tags: ['fleet'],
          summary: `A box's desired versions, newest first (at most ${FLEET_HISTORY_MAX}), with the sections each changed`,
          security,
          params: Type.Object({ boxId: Type.String() }),
        },
      },
      async (req) => {
        const { boxId } = req.params as { boxId: string };
        await boxInScope(req, boxId);
        return desiredHistory(db, boxId, FLEET_HISTORY_MAX);
      },
    );

    admin.get(
      '/api/v1/fleet/twins',
      {
        schema: {
          tags: ['fleet'],
          summary: `The twins of every live box of a unit subtree (at most ${FLEET_TWINS_LIST_MAX})`,
          security,
          querystring: Type.Object({ unit: Type.Optional(Type.String()) }, { additionalProperties: false }),
        },
      },
      async (req) => {
        const unit = (req.query as { unit?: string }).unit;
        const path = unit ? (await unitInScope(req, unit)).path : (req.admin as AdminIdentity).unitPath;
        const list = await twins(
          db,
          (q) =>
            q.where('boxes.office_id', 'in', (eb: typeof db) =>
              eb
                .selectFrom('offices')
                .innerJoin('units', 'units.id', 'offices.unit_id')
                .select('offices.id')
                .where('units.path', 'like', `${path}%`),
            ),
          FLEET_TWINS_LIST_MAX + 1,
        );
        return { twins: list.slice(0, FLEET_TWINS_LIST_MAX), truncated: list.length > FLEET_TWINS_LIST_MAX };
      },
    );
  });
}
