// The fleet's HTTP side. For admins (sessions, unit-subtree scope, viewers read, every request audited): unit
// templates, office configs (inherited, overrides, effective, where each field comes from), box twins. For
// boxes (their credential, checked before the body is read): the target long poll and the reported state.
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError, DEVICE_ID_PATTERN, ROLES } from '../../protocol/index.js';
import { BoxPoll, BoxReported, BoxTarget } from '../../protocol/fleet.js';
import {
  COMMAND_EXPIRY_DEFAULT_SECONDS,
  COMMAND_EXPIRY_MAX_SECONDS,
  COMMAND_EXPIRY_MIN_SECONDS,
  COMMAND_KINDS,
  COMMAND_PARAMS_MAX_BYTES,
  COMMAND_RESULT_BODY_MAX_BYTES,
  COMMAND_RESULT_MAX_BYTES,
  COMMAND_STATES,
  COMMANDS_PENDING_PER_BOX_MAX,
  CommandOutcome,
  type CommandState,
} from '../../protocol/fleet-commands.js';
import { adminAccess, requireAdminSession, type AdminIdentity } from '../http/admin-access.js';
import { fleetHealthOf } from '../health/fleet-health.js';
import { authenticateBox } from '../http/box-routes.js';
import { HttpError, type CloudContext } from '../http/context.js';
import type { BoxIdentity } from '../ingest/ingest.js';
import {
  FLEET_COMMANDS_LIST_MAX,
  FLEET_HISTORY_MAX,
  FLEET_LONG_POLL_MAX_SECONDS,
  FLEET_LONG_POLLS_MAX,
  FLEET_PERIPHERALS_PER_OFFICE_MAX,
  FLEET_TWINS_LIST_MAX,
} from '../limits.js';
import { qrCode } from '../../provisioning/credentials.js';
import { cancelCommand, listCommands, queueCommand, readCommand, recordOutcome } from './commands.js';
import type { FieldOrigin } from './merge.js';
import { softwarePollSource } from '../releases/poll-source.js';
import { LongPolls, pollSources, readPoll, type PollQuery } from './poll.js';
import {
  addPeripheral,
  listPeripherals,
  revokePeripheral,
  rotatePeripheral,
  type PeripheralInput,
} from './peripherals.js';
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

const NewPeripheral = Type.Object(
  {
    id: Type.String({
      pattern: DEVICE_ID_PATTERN,
      description: 'The device id (MQTT client id and username): 1-23 lowercase letters, digits, dashes',
    }),
    role: Type.Union(
      ROLES.map((r) => Type.Literal(r)),
      { description: 'kiosk, keypad, ledboard, display, announcer, rating, scanner or clerk-panel' },
    ),
    counter: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 9999,
        description: 'Its counter (keypad, rating, scanner, clerk panel)',
      }),
    ),
    name: Type.Optional(Type.String({ maxLength: 100 })),
    driver: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), {
        description:
          'Hardware the box drives for it (printer, RS-485 LED board, GPIO, voice), checked with the box ' +
          'config schema: then no secret is issued',
      }),
    ),
    revision: Revision,
  },
  { additionalProperties: false },
);
const PeripheralView = Type.Object({
  id: Type.String(),
  role: Type.String(),
  counter: Type.Union([Type.Integer(), Type.Null()]),
  name: Type.Union([Type.String(), Type.Null()]),
  driven: Type.Boolean(),
  driverKind: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.Union([Type.String(), Type.Null()]),
  createdBy: Type.Union([Type.String(), Type.Null()]),
  rotatedAt: Type.Union([Type.String(), Type.Null()]),
  rotatedBy: Type.Union([Type.String(), Type.Null()]),
});
const Versions = Type.Array(
  Type.Object({ boxId: Type.String(), officeId: Type.String(), version: Type.Integer() }),
);
const Issued = Type.Object({
  officeId: Type.String(),
  revision: Type.Integer(),
  versions: Versions,
  peripheral: PeripheralView,
  secret: Type.Optional(
    Type.String({ description: 'Shown this once; the cloud keeps only its scrypt hash, in the config' }),
  ),
  qr: Type.Optional(
    Type.Object({
      text: Type.String({
        description: 'lobby-peripheral:<id>?secret=<secret>&role=<role>[&counter=<n>]&office=<office>',
      }),
      dataUrl: Type.String({ description: 'The same as a QR code: a PNG data URL for an <img>' }),
    }),
  ),
});
const PeripheralParams = Type.Object({ officeId: Type.String(), peripheralId: Type.String() });

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

export async function fleetRoutes(app: FastifyInstance, ctx: CloudContext): Promise<void> {
  const db = ctx.store.db;
  const wakeups = new TargetWakeups(ctx.store, ctx.log);
  const polls = new LongPolls(wakeups, () => ctx.settings.fleetLongPollsMax);
  const sources = pollSources(db, [softwarePollSource(db, ctx.settings.defaultBoxPlatform)]);
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
      return polls.hold(req, reply, box.id, waitMs, () => targetAfter(db, box.id, q.version));
    },
  );

  app.get(
    '/api/v1/box/poll',
    {
      logLevel: 'warn',
      schema: {
        tags: ['box'],
        summary:
          'Everything the cloud has for the box: its desired config, its commands, its software (a long poll)',
        description:
          '200 (BoxPoll) as soon as any part is new for the box: a desired version newer than `version`, a ' +
          'pending unexpired command with a seq above `commands` (the commands up to `commands` are marked ' +
          'delivered), a software target other than `software`. Otherwise held up to `wait` seconds (at most ' +
          `${FLEET_LONG_POLL_MAX_SECONDS}), then 204. Past ${FLEET_LONG_POLLS_MAX} polls waiting on one ` +
          'replica: 503 with Retry-After.',
        security: [{ box: [] }],
        querystring: Type.Object(
          {
            version: Type.Integer({ minimum: 0, default: 0 }),
            commands: Type.Integer({ minimum: 0, default: 0 }),
            software: Type.String({ maxLength: 64, default: '' }),
            wait: Type.Integer({ minimum: 0, default: 0, description: 'seconds; cut to the maximum' }),
          },
          { additionalProperties: false },
        ),
        response: { 200: BoxPoll, 204: Type.Null(), ...errors },
      },
      ...boxAuth,
    },
    async (req, reply) => {
      const box = req.box as BoxIdentity;
      const q = req.query as PollQuery & { wait: number };
      const waitMs = Math.min(q.wait, FLEET_LONG_POLL_MAX_SECONDS) * 1000;
      await ensureFirstVersion(ctx.store, box, ctx.clock());
      const query = { version: q.version, commands: q.commands, software: q.software };
      return polls.hold(req, reply, box.id, waitMs, () =>
        readPoll(sources, { boxId: box.id, officeId: box.officeId, query, now: ctx.clock() }),
      );
    },
  );

  app.post(
    '/api/v1/box/commands/:id/result',
    {
      logLevel: 'warn',
      bodyLimit: COMMAND_RESULT_BODY_MAX_BYTES,
      schema: {
        tags: ['box'],
        summary:
          "The outcome of one of the box's commands: succeeded with its result, or failed with the reason",
        description:
          'Idempotent: the same outcome again is 200. Refused with a reason: 404 unknown_command (no such ' +
          'command for this box), 409 command_expired, command_cancelled, already_finished (another outcome), ' +
          `413 result_too_large (over ${COMMAND_RESULT_MAX_BYTES} bytes), 400 result_invalid.`,
        security: [{ box: [] }],
        params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
        body: CommandOutcome,
        response: { 200: Type.Object({ ok: Type.Boolean(), state: Type.String() }), ...errors },
      },
      ...boxAuth,
    },
    async (req) => {
      const box = req.box as BoxIdentity;
      const { id } = req.params as { id: string };
      const outcome = req.body as CommandOutcome;
      const state = await recordOutcome(db, box.id, id, outcome, ctx.clock());
      if (outcome.state === 'failed')
        req.log.warn({ box: box.id, command: id, reason: outcome.reason }, 'fleet: a box command failed');
      return { ok: true, state };
    },
  );

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

    // ---- peripherals of an office: secrets issued here, shown once, only their hashes in the config ----
    admin.get(
      '/api/v1/fleet/offices/:officeId/peripherals',
      {
        schema: {
          tags: ['fleet'],
          summary: "An office's peripherals: role, counter, when issued and rotated; never a secret",
          security,
          params: Type.Object({ officeId: Type.String() }),
          response: {
            200: Type.Object({
              officeId: Type.String(),
              managed: Type.Boolean(),
              revision: Type.Integer({ description: "The office config's revision (for If-Match)" }),
              peripherals: Type.Array(PeripheralView),
            }),
            ...errors,
          },
        },
      },
      async (req) => {
        const { officeId } = req.params as { officeId: string };
        await officeInScope(req, officeId);
        return listPeripherals(db, officeId);
      },
    );

    admin.post(
      '/api/v1/fleet/offices/:officeId/peripherals',
      {
        schema: {
          tags: ['fleet'],
          summary: 'Add a peripheral to a managed office: its secret is answered once (text and QR code)',
          description:
            'The secret is generated by the cloud and answered only here; the office config keeps its scrypt ' +
            "hash, and the office's boxes get it with their next desired version. The whole config is " +
            'validated first (422 config_invalid, `detail.errors` name the field, e.g. ' +
            '`peripherals[3].counter: unknown counter 9`). 409 office_not_managed (save its config first), ' +
            `peripheral_exists, too_many_peripherals (${FLEET_PERIPHERALS_PER_OFFICE_MAX}), revision_conflict ` +
            '(If-Match or `revision`).',
          security,
          params: Type.Object({ officeId: Type.String() }),
          body: NewPeripheral,
          response: { 201: Issued, ...errors },
        },
      },
      async (req, reply) => {
        const { officeId } = req.params as { officeId: string };
        const { revision, ...input } = req.body as PeripheralInput & { revision?: number };
        req.audit = { action: 'fleet.peripheral.added', target: `${officeId}/${input.id}` };
        mustManage(req);
        await officeInScope(req, officeId);
        const r = await addPeripheral(saving(req), officeId, input, expectedRevision(req, revision));
        req.audit.detail = {
          role: input.role,
          counter: input.counter ?? null,
          revision: r.revision,
          versions: r.versions,
        };
        return reply.code(201).header('cache-control', 'no-store').send(r);
      },
    );

    admin.post(
      '/api/v1/fleet/offices/:officeId/peripherals/:peripheralId/rotate',
      {
        schema: {
          tags: ['fleet'],
          summary: 'A new secret for a peripheral, answered once; the old one stops when the box applies it',
          description:
            "The old secret keeps working until the office's box applies the new version; then the box " +
            'disconnects the device and refuses the old secret. 409 peripheral_driven for hardware the box ' +
            'drives (it has no secret). `If-Match: <revision>` optional.',
          security,
          params: PeripheralParams,
          response: { 200: Issued, ...errors },
        },
      },
      async (req, reply) => {
        const { officeId, peripheralId } = req.params as { officeId: string; peripheralId: string };
        req.audit = { action: 'fleet.peripheral.rotated', target: `${officeId}/${peripheralId}` };
        mustManage(req);
        await officeInScope(req, officeId);
        const r = await rotatePeripheral(saving(req), officeId, peripheralId, expectedRevision(req));
        req.audit.detail = { revision: r.revision, versions: r.versions };
        return reply.header('cache-control', 'no-store').send(r);
      },
    );

    const revoke = async (req: FastifyRequest) => {
      const { officeId, peripheralId } = req.params as { officeId: string; peripheralId: string };
      req.audit = { action: 'fleet.peripheral.revoked', target: `${officeId}/${peripheralId}` };
      mustManage(req);
      await officeInScope(req, officeId);
      const r = await revokePeripheral(saving(req), officeId, peripheralId, expectedRevision(req));
      req.audit.detail = { revision: r.revision, versions: r.versions };
      return r;
    };
    const revokeSchema = {
      tags: ['fleet'],
      summary: 'Revoke a peripheral: removed from the office config; its box disconnects it on applying',
      description: '`If-Match: <revision>` optional. POST …/revoke and DELETE …/<id> do the same.',
      security,
      params: PeripheralParams,
      response: {
        200: Type.Object({
          officeId: Type.String(),
          peripheralId: Type.String(),
          revision: Type.Integer(),
          versions: Versions,
        }),
        ...errors,
      },
    };
    admin.post(
      '/api/v1/fleet/offices/:officeId/peripherals/:peripheralId/revoke',
      { schema: revokeSchema },
      revoke,
    );
    admin.delete(
      '/api/v1/fleet/offices/:officeId/peripherals/:peripheralId',
      { schema: revokeSchema },
      revoke,
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

    // ---- commands ---------------------------------------------------------------------------------
    const CommandParamsPath = Type.Object({ officeId: Type.String(), commandId: Type.String() });

    admin.post(
      '/api/v1/fleet/offices/:officeId/commands',
      {
        schema: {
          tags: ['fleet'],
          summary: "Queue a command for the office's box: it gets it at its next poll (at once if connected)",
          description:
            `Kinds: ${COMMAND_KINDS.join(', ')} (protocol/fleet-commands.ts). \`expiresInSeconds\`: default ` +
            `${COMMAND_EXPIRY_DEFAULT_SECONDS}, from ${COMMAND_EXPIRY_MIN_SECONDS} to ` +
            `${COMMAND_EXPIRY_MAX_SECONDS}. 400 unknown_command_kind, invalid_params (naming the fields), ` +
            `params_too_large (over ${COMMAND_PARAMS_MAX_BYTES} bytes), invalid_expiry; 409 no_box, ` +
            `too_many_commands (${COMMANDS_PENDING_PER_BOX_MAX} not finished for the box).`,
          security,
          params: Type.Object({ officeId: Type.String() }),
          body: Type.Object(
            {
              kind: Type.String({ maxLength: 40 }),
              params: Type.Optional(Type.Unknown()),
              expiresInSeconds: Type.Optional(Type.Integer()),
              boxId: Type.Optional(
                Type.String({ maxLength: 64, description: 'a live box of the office; default: its newest' }),
              ),
            },
            { additionalProperties: false },
          ),
          response: { ...errors },
        },
      },
      async (req, reply) => {
        const { officeId } = req.params as { officeId: string };
        const body = req.body as {
          kind: string;
          params?: unknown;
          expiresInSeconds?: number;
          boxId?: string;
        };
        req.audit = { action: 'fleet.command.queued', target: officeId };
        mustManage(req);
        await officeInScope(req, officeId);
        const c = await queueCommand(
          {
            store: ctx.store,
            wakeups,
            actor: `admin:${(req.admin as AdminIdentity).username}`,
            now: ctx.clock(),
          },
          officeId,
          body,
        );
        req.audit.detail = { id: c.id, box: c.boxId, kind: c.kind, params: c.params, expiresAt: c.expiresAt };
        return reply.code(201).send(c);
      },
    );

    admin.get(
      '/api/v1/fleet/offices/:officeId/commands',
      {
        schema: {
          tags: ['fleet'],
          summary: `An office's commands, newest first (at most ${FLEET_COMMANDS_LIST_MAX}), optionally of one state`,
          security,
          params: Type.Object({ officeId: Type.String() }),
          querystring: Type.Object(
            {
              state: Type.Optional(Type.Union(COMMAND_STATES.map((s) => Type.Literal(s)))),
              limit: Type.Optional(Type.Integer({ minimum: 1, maximum: FLEET_COMMANDS_LIST_MAX })),
            },
            { additionalProperties: false },
          ),
        },
      },
      async (req) => {
        const { officeId } = req.params as { officeId: string };
        const q = req.query as { state?: CommandState; limit?: number };
        await officeInScope(req, officeId);
        const commands = await listCommands(db, officeId, {
          ...(q.state ? { state: q.state } : {}),
          limit: q.limit ?? FLEET_COMMANDS_LIST_MAX,
          now: ctx.clock(),
        });
        return { commands };
      },
    );

    admin.get(
      '/api/v1/fleet/offices/:officeId/commands/:commandId',
      {
        schema: {
          tags: ['fleet'],
          summary:
            'One command with its state and its result (diagnostics: health, versions, disk, log lines; ' +
            'a pairing code also with `qr`, its pairUrl as a QR code)',
          security,
          params: CommandParamsPath,
        },
      },
      async (req) => {
        const { officeId, commandId } = req.params as { officeId: string; commandId: string };
        await officeInScope(req, officeId);
        const c = await readCommand(db, officeId, commandId, ctx.clock());
        // A pairing code's address as a QR code, for the console to show beside the code (the screen scans it).
        const pairUrl =
          c.kind === 'pair-screen' ? (c.result as { pairUrl?: unknown } | undefined)?.pairUrl : null;
        return typeof pairUrl === 'string' ? { ...c, qr: await qrCode(pairUrl) } : c;
      },
    );

    admin.post(
      '/api/v1/fleet/offices/:officeId/commands/:commandId/cancel',
      {
        schema: {
          tags: ['fleet'],
          summary: 'Cancel a pending command (not yet received by the box); 409 not_pending otherwise',
          security,
          params: CommandParamsPath,
          response: { ...errors },
        },
      },
      async (req) => {
        const { officeId, commandId } = req.params as { officeId: string; commandId: string };
        req.audit = { action: 'fleet.command.cancelled', target: commandId };
        mustManage(req);
        await officeInScope(req, officeId);
        const actor = `admin:${(req.admin as AdminIdentity).username}`;
        return cancelCommand(db, officeId, commandId, actor, ctx.clock());
      },
    );
  });
}
