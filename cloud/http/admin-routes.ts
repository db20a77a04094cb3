// The admin API: sessions, the unit tree, offices, boxes (claim codes, revocation, fleet health), admins,
// integrations, reports (JSON and CSV) and the audit log. An admin sees and manages only their unit's
// subtree; a viewer only reads. Every authenticated request is written to the audit log when it completes
// (denials too), so no action can forget to be audited.
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError, claimUri } from '../../protocol/index.js';
import {
  ID_PATTERN,
  ROLES,
  createAdmin,
  createBoxClaim,
  createIntegration,
  createOffice,
  createUnit,
  unitById,
  type AdminRole,
} from '../admin/provisioning.js';
import { verifyAuditChain } from '../audit/chain.js';
import { hashSecret, randomToken, sha256, verifySecret } from '../auth/secrets.js';
import {
  AUDIT_PAGE_MAX_ROWS,
  CSV_MAX_ROWS,
  REPORT_FIRST_YEAR,
  REPORT_LAST_YEAR,
  REPORT_MAX_DAYS,
  REPORT_PAGE_DEFAULT_ROWS,
  REPORT_PAGE_MAX_ROWS,
} from '../limits.js';
import { toCsv } from '../reports/csv.js';
import {
  BREAKDOWNS,
  SORT_KEYS,
  breakdownCsvRows,
  breakdownRows,
  buildReport,
  hourCsvRows,
  reportPage,
  type ReportQuery as ReportRange,
} from '../reports/reports.js';
import { routeOf } from './audit-hooks.js';
import { adminAccess, requireAdminSession, type AdminIdentity } from './admin-access.js';
import { HttpError, type CloudContext } from './context.js';

const errors = { 400: ApiError, 401: ApiError, 403: ApiError, 404: ApiError, 409: ApiError, 429: ApiError };
const Day = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' });
const ReportQuery = Type.Object(
  {
    unit: Type.String(),
    from: Day,
    to: Day,
    waitTargetMin: Type.Optional(Type.Integer({ minimum: 1, maximum: 480 })),
  },
  { additionalProperties: false },
);
type ReportQuery = Static<typeof ReportQuery>;
/** How rows are ordered: by name or a figure (nulls last), ascending or descending. */
const RowOrder = {
  sort: Type.Optional(
    Type.Union(
      SORT_KEYS.map((k) => Type.Literal(k)),
      { default: 'name' },
    ),
  ),
  order: Type.Optional(Type.Union([Type.Literal('asc'), Type.Literal('desc')], { default: 'asc' })),
};
const PageLimit = Type.Integer({
  minimum: 1,
  maximum: REPORT_PAGE_MAX_ROWS,
  default: REPORT_PAGE_DEFAULT_ROWS,
});
const SummaryQuery = Type.Object(
  { ...ReportQuery.properties, ...RowOrder, limit: Type.Optional(PageLimit) },
  { additionalProperties: false },
);
const RowsQuery = Type.Object(
  {
    ...ReportQuery.properties,
    ...RowOrder,
    by: Type.Union(BREAKDOWNS.map((b) => Type.Literal(b))),
    offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0 })),
    limit: Type.Optional(PageLimit),
  },
  { additionalProperties: false },
);
type RowsQuery = Static<typeof RowsQuery>;
const CSV_BREAKDOWNS = [...BREAKDOWNS, 'hour'] as const;

/** Days since 1970 of a YYYY-MM-DD that names a real calendar day in the years reports cover; else null. */
function reportDay(day: string): number | null {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  if (y < REPORT_FIRST_YEAR || y > REPORT_LAST_YEAR) return null;
  const t = Date.UTC(y, m - 1, d);
  return new Date(t).toISOString().slice(0, 10) === day ? t / 86_400_000 : null;
}

/** A dummy hash: unknown usernames cost the same scrypt time as wrong passwords. */
let dummyHash: Promise<string> | null = null;

export async function adminRoutes(app: FastifyInstance, ctx: CloudContext): Promise<void> {
  const db = ctx.store.db;
  const security = [{ admin: [] }];

  const access = adminAccess(ctx);
  const { unitInScope, officeInScope, mustManage } = access;

  app.post(
    '/api/v1/auth/login',
    {
      schema: {
        tags: ['admin'],
        summary: 'Log in: a session token (Bearer) valid for a working day',
        body: Type.Object(
          { username: Type.String({ maxLength: 64 }), password: Type.String({ maxLength: 200 }) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            token: Type.String(),
            expiresAt: Type.String(),
            admin: Type.Object({
              username: Type.String(),
              role: Type.String(),
              unit: Type.Object({ id: Type.String(), name: Type.String() }),
            }),
          }),
          ...errors,
        },
      },
      config: { rateLimit: { max: ctx.settings.loginsPerMinute, timeWindow: '1 minute' } },
    },
    async (req) => {
      const { username, password } = req.body as { username: string; password: string };
      const row = await db
        .selectFrom('admins')
        .innerJoin('units', 'units.id', 'admins.unit_id')
        .select([
          'admins.id',
          'admins.password_hash',
          'admins.role',
          'admins.disabled_at',
          'units.id as unit_id',
          'units.name as unit_name',
        ])
        .where('admins.username', '=', username)
        .executeTakeFirst();
      dummyHash ??= hashSecret(randomToken());
      const ok = await verifySecret(password, row?.password_hash ?? (await dummyHash));
      req.audited = true;
      if (!row || !ok || row.disabled_at !== null) {
        // Through the flood-proof path: a password-guessing run is one row and a count per minute.
        await ctx.refusals.record({
          actor: `admin:${username.slice(0, 64)}`,
          action: 'auth.login',
          target: username.slice(0, 64),
          unitId: row?.unit_id ?? null,
          outcome: 'failed',
          detail: { method: req.method, route: routeOf(req) },
          ip: req.ip,
        });
        throw new HttpError(401, 'login_failed', 'wrong username or password');
      }
      const token = randomToken(32);
      const now = ctx.clock();
      const expiresAt = now + ctx.settings.sessionTtlMs;
      await db
        .insertInto('sessions')
        .values({ token_hash: sha256(token), admin_id: row.id, created_at: now, expires_at: expiresAt })
        .execute();
      await db.deleteFrom('sessions').where('expires_at', '<', now).execute();
      await ctx.audit({ actor: `admin:${username}`, action: 'auth.login', unitId: row.unit_id, ip: req.ip });
      return {
        token,
        expiresAt: new Date(expiresAt).toISOString(),
        admin: { username, role: row.role, unit: { id: row.unit_id, name: row.unit_name } },
      };
    },
  );

  // Everything below needs a session.
  await app.register(async (admin) => {
    requireAdminSession(admin, ctx, access);

    admin.post('/api/v1/auth/logout', { schema: { tags: ['admin'], security } }, async (req) => {
      const token = (req.headers.authorization ?? '').slice('Bearer '.length);
      await db.deleteFrom('sessions').where('token_hash', '=', sha256(token)).execute();
      req.audit = { action: 'auth.logout' };
      return { ok: true };
    });

    admin.get('/api/v1/me', { schema: { tags: ['admin'], security } }, async (req) => {
      const a = req.admin as AdminIdentity;
      const unit = await unitById(db, a.unitId);
      return { username: a.username, role: a.role, unit };
    });

    admin.get(
      '/api/v1/units',
      { schema: { tags: ['admin'], summary: 'Units of your subtree', security } },
      async (req) => {
        return db
          .selectFrom('units')
          .select(['id', 'parent_id', 'name', 'kind', 'path'])
          .where('path', 'like', `${(req.admin as AdminIdentity).unitPath}%`)
          .orderBy('path')
          .execute();
      },
    );

    admin.post(
      '/api/v1/units',
      {
        schema: {
          tags: ['admin'],
          summary: 'Add a unit under one of yours',
          security,
          body: Type.Object(
            {
              id: Type.String({ pattern: ID_PATTERN }),
              name: Type.String({ minLength: 1, maxLength: 200 }),
              kind: Type.String({ minLength: 1, maxLength: 32 }),
              parentId: Type.String(),
            },
            { additionalProperties: false },
          ),
          response: { ...errors },
        },
      },
      async (req, reply) => {
        mustManage(req);
        const b = req.body as { id: string; name: string; kind: string; parentId: string };
        await unitInScope(req, b.parentId);
        const u = await createUnit(db, b, ctx.clock());
        req.audit = { action: 'unit.created', target: u.id, unitId: u.id };
        return reply.code(201).send(u);
      },
    );

    admin.get(
      '/api/v1/offices',
      {
        schema: {
          tags: ['admin'],
          security,
          querystring: Type.Object({ unit: Type.Optional(Type.String()) }),
        },
      },
      async (req) => {
        mustManage(req);
        const unit = (req.query as { unit?: string }).unit;
        const path = unit ? (await unitInScope(req, unit)).path : (req.admin as AdminIdentity).unitPath;
        return db
          .selectFrom('offices')
          .innerJoin('units', 'units.id', 'offices.unit_id')
          .select(['offices.id', 'offices.name', 'offices.unit_id', 'offices.timezone'])
          .where('units.path', 'like', `${path}%`)
          .orderBy('offices.id')
          .execute();
      },
    );

    admin.post(
      '/api/v1/offices',
      {
        schema: {
          tags: ['admin'],
          security,
          body: Type.Object(
            {
              id: Type.String({ pattern: ID_PATTERN }),
              name: Type.String({ minLength: 1, maxLength: 200 }),
              unitId: Type.String(),
              timezone: Type.Optional(Type.String()),
            },
            { additionalProperties: false },
          ),
        },
      },
      async (req, reply) => {
        mustManage(req);
        const b = req.body as { id: string; name: string; unitId: string; timezone?: string };
        await unitInScope(req, b.unitId);
        const o = await createOffice(db, b, ctx.clock());
        req.audit = { action: 'office.created', target: o.id, unitId: b.unitId };
        return reply.code(201).send(o);
      },
    );

    admin.post(
      '/api/v1/offices/:office/boxes',
      {
        schema: {
          tags: ['admin'],
          summary: 'A new box for an office and its one-time claim code (shown once; valid 72 h)',
          security,
          params: Type.Object({ office: Type.String() }),
        },
      },
      async (req, reply) => {
        mustManage(req);
        const { office } = req.params as { office: string };
        await officeInScope(req, office);
        const c = await createBoxClaim(db, office, ctx.clock());
        req.audit = { ...req.audit, action: 'box.created', target: c.boxId };
        return reply.code(201).send({
          boxId: c.boxId,
          claimCode: c.claimCode,
          // For the QR code a technician scans into a new box's claim page (zero touch).
          claimUri: claimUri(ctx.settings.publicUrl, c.claimCode),
          expiresAt: new Date(c.expiresAt).toISOString(),
        });
      },
    );

    admin.get(
      '/api/v1/boxes',
      {
        schema: {
          tags: ['admin'],
          summary: 'Fleet health: each box, its backlog and peripherals',
          security,
          querystring: Type.Object({ unit: Type.Optional(Type.String()) }),
        },
      },
      async (req) => {
        mustManage(req);
        const unit = (req.query as { unit?: string }).unit;
        const path = unit ? (await unitInScope(req, unit)).path : (req.admin as AdminIdentity).unitPath;
        const rows = await db
          .selectFrom('boxes')
          .innerJoin('offices', 'offices.id', 'boxes.office_id')
          .innerJoin('units', 'units.id', 'offices.unit_id')
          .select([
            'boxes.id',
            'boxes.office_id',
            'offices.name as office_name',
            'boxes.enrolled_at',
            'boxes.revoked_at',
            'boxes.acked_seq',
            'boxes.last_event_at',
            'boxes.heartbeat',
            'boxes.heartbeat_at',
          ])
          .where('units.path', 'like', `${path}%`)
          .orderBy('boxes.office_id')
          .execute();
        const iso = (v: number | null) => (v === null ? null : new Date(Number(v)).toISOString());
        return rows.map((r) => ({
          id: r.id,
          office: r.office_id,
          officeName: r.office_name,
          enrolledAt: iso(r.enrolled_at),
          revokedAt: iso(r.revoked_at),
          ackedSeq: Number(r.acked_seq),
          lastEventAt: iso(r.last_event_at),
          heartbeatAt: iso(r.heartbeat_at),
          heartbeat: r.heartbeat ? (JSON.parse(r.heartbeat) as unknown) : null,
        }));
      },
    );

    admin.delete(
      '/api/v1/boxes/:id',
      {
        schema: {
          tags: ['admin'],
          summary: 'Revoke a box credential',
          security,
          params: Type.Object({ id: Type.String() }),
        },
      },
      async (req) => {
        mustManage(req);
        const { id } = req.params as { id: string };
        const b = await db.selectFrom('boxes').select(['office_id']).where('id', '=', id).executeTakeFirst();
        if (!b) throw new HttpError(404, 'not_found', `no box "${id}"`);
        await officeInScope(req, b.office_id);
        await db
          .updateTable('boxes')
          .set({ revoked_at: ctx.clock(), claim_hash: null })
          .where('id', '=', id)
          .execute();
        req.audit = { ...req.audit, action: 'box.revoked', target: id };
        return { id, revoked: true };
      },
    );

    admin.get('/api/v1/admins', { schema: { tags: ['admin'], security } }, async (req) => {
      mustManage(req);
      return db
        .selectFrom('admins')
        .innerJoin('units', 'units.id', 'admins.unit_id')
        .select(['admins.username', 'admins.role', 'admins.unit_id', 'admins.disabled_at'])
        .where('units.path', 'like', `${(req.admin as AdminIdentity).unitPath}%`)
        .orderBy('admins.username')
        .execute();
    });

    admin.post(
      '/api/v1/admins',
      {
        schema: {
          tags: ['admin'],
          summary: 'Create an admin for a unit of your subtree; the generated password is shown once',
          security,
          body: Type.Object(
            {
              username: Type.String(),
              unitId: Type.String(),
              role: Type.Union(ROLES.map((r) => Type.Literal(r))),
            },
            { additionalProperties: false },
          ),
        },
      },
      async (req, reply) => {
        mustManage(req);
        const b = req.body as { username: string; unitId: string; role: AdminRole };
        await unitInScope(req, b.unitId);
        const a = await createAdmin(db, b, ctx.clock());
        req.audit = {
          action: 'admin.created',
          target: a.username,
          unitId: b.unitId,
          detail: { role: b.role },
        };
        return reply
          .code(201)
          .send({ username: a.username, role: b.role, unitId: b.unitId, password: a.password });
      },
    );

    const setDisabled = (disable: boolean) => async (req: FastifyRequest) => {
      const { username } = req.params as { username: string };
      req.audit = { action: disable ? 'admin.disabled' : 'admin.enabled', target: username };
      mustManage(req);
      const me = req.admin as AdminIdentity;
      const target = await db
        .selectFrom('admins')
        .select(['id', 'unit_id', 'disabled_at'])
        .where('username', '=', username)
        .executeTakeFirst();
      if (!target) throw new HttpError(404, 'not_found', `no admin "${username}"`);
      await unitInScope(req, target.unit_id);
      // The acting admin stays enabled, so the last admin of a subtree can never be disabled through the API.
      if (disable && target.id === me.id)
        throw new HttpError(
          409,
          'cannot_disable_self',
          'không thể tự khóa tài khoản của mình / you cannot disable yourself: ask another admin of your unit',
        );
      const now = ctx.clock();
      await db.transaction().execute(async (tx) => {
        await tx
          .updateTable('admins')
          .set({ disabled_at: disable ? (target.disabled_at ?? now) : null })
          .where('id', '=', target.id)
          .execute();
        // Its sessions end at once: the next request with one of them is 401.
        if (disable) await tx.deleteFrom('sessions').where('admin_id', '=', target.id).execute();
      });
      return { username, disabled: disable };
    };
    const AdminParams = Type.Object({ username: Type.String({ maxLength: 64 }) });
    admin.post(
      '/api/v1/admins/:username/disable',
      {
        schema: {
          tags: ['admin'],
          summary: 'Disable an admin of your subtree: their sessions end at once, their logins are refused',
          description: 'Not yourself (409 cannot_disable_self), so a subtree always keeps an admin.',
          security,
          params: AdminParams,
        },
      },
      setDisabled(true),
    );
    admin.post(
      '/api/v1/admins/:username/enable',
      {
        schema: {
          tags: ['admin'],
          summary:
            'Enable a disabled admin again (same password; a reset is `lobby cloud admin reset-password`)',
          security,
          params: AdminParams,
        },
      },
      setDisabled(false),
    );

    admin.post(
      '/api/v1/integrations',
      {
        schema: {
          tags: ['admin'],
          summary: "An HMAC key for the province one-stop software's dossier API (shown once)",
          security,
          body: Type.Object(
            { name: Type.String({ minLength: 1, maxLength: 200 }), unitId: Type.String() },
            { additionalProperties: false },
          ),
        },
      },
      async (req, reply) => {
        mustManage(req);
        const b = req.body as { name: string; unitId: string };
        await unitInScope(req, b.unitId);
        const i = await createIntegration(db, ctx.settings.masterKey, b, ctx.clock());
        req.audit = { action: 'integration.created', target: i.keyId, unitId: b.unitId };
        return reply.code(201).send(i);
      },
    );

    /** The unit and period a report request names, checked (a real day, at most a year, the admin's subtree). */
    const reportRange = async (req: FastifyRequest): Promise<{ range: ReportRange; unitId: string }> => {
      const q = req.query as ReportQuery;
      const from = reportDay(q.from);
      const to = reportDay(q.to);
      if (from === null || to === null)
        throw new HttpError(
          400,
          'invalid_period',
          `ngày không hợp lệ / not a calendar day between ${REPORT_FIRST_YEAR} and ${REPORT_LAST_YEAR}: ` +
            (from === null ? q.from : q.to),
        );
      if (from > to) throw new HttpError(400, 'invalid_period', 'from is after to');
      if (to - from + 1 > REPORT_MAX_DAYS)
        throw new HttpError(
          400,
          'invalid_period',
          `khoảng thời gian quá dài / the period covers ${to - from + 1} days; at most ${REPORT_MAX_DAYS}: ` +
            'ask for one year at a time',
        );
      const unit = await unitInScope(req, q.unit);
      return {
        unitId: unit.id,
        range: {
          unitPath: unit.path,
          from: q.from,
          to: q.to,
          waitTargetMin: q.waitTargetMin ?? ctx.settings.waitTargetMin,
        },
      };
    };

    admin.get(
      '/api/v1/reports',
      {
        schema: {
          tags: ['reports'],
          summary:
            'Figures for a unit subtree and period: totals, the child units ranked, services, hours, the first page of offices',
          description:
            'Computed from rollups. Wait percentiles are bucket upper bounds (see waitBucketsMin). `byUnit` ' +
            '(the child units) and `byOffice` are ordered by `sort`/`order`; `byOffice` holds the first `limit` ' +
            'offices (`offices.total` says how many). Counters and clerks are at /api/v1/reports/rows.',
          security,
          querystring: SummaryQuery,
        },
      },
      async (req) => {
        const { range, unitId } = await reportRange(req);
        const q = req.query as Static<typeof SummaryQuery>;
        const r = await buildReport(db, range, unitId, {
          sort: q.sort ?? 'name',
          order: q.order ?? 'asc',
          officeLimit: q.limit ?? REPORT_PAGE_DEFAULT_ROWS,
        });
        req.audit = { ...req.audit, action: 'report.viewed', target: `${r.unit} ${r.from}..${r.to}` };
        return r;
      },
    );

    admin.get(
      '/api/v1/reports/rows',
      {
        schema: {
          tags: ['reports'],
          summary:
            'One page of one breakdown of a report: child units, offices, services, counters or clerks',
          description: `At most ${REPORT_PAGE_MAX_ROWS} rows a page; \`total\` says how many rows the breakdown has.`,
          security,
          querystring: RowsQuery,
        },
      },
      async (req) => {
        const { range, unitId } = await reportRange(req);
        const q = req.query as RowsQuery;
        const page = await reportPage(db, range, unitId, q.by, {
          sort: q.sort ?? 'name',
          order: q.order ?? 'asc',
          offset: q.offset ?? 0,
          limit: q.limit ?? REPORT_PAGE_DEFAULT_ROWS,
        });
        req.audit = {
          ...req.audit,
          action: 'report.viewed',
          target: `${unitId} ${range.from}..${range.to} by ${q.by}`,
        };
        return page;
      },
    );

    admin.get(
      '/api/v1/reports.csv',
      {
        schema: {
          tags: ['reports'],
          summary: 'The same figures as CSV, one breakdown at a time, every row',
          security,
          querystring: Type.Object(
            {
              ...ReportQuery.properties,
              ...RowOrder,
              by: Type.Union(CSV_BREAKDOWNS.map((b) => Type.Literal(b))),
            },
            { additionalProperties: false },
          ),
        },
      },
      async (req, reply) => {
        const { range, unitId } = await reportRange(req);
        const q = req.query as { by: (typeof CSV_BREAKDOWNS)[number] } & Pick<RowsQuery, 'sort' | 'order'>;
        const by = q.by;
        req.audit = {
          ...req.audit,
          action: 'report.exported',
          target: `${unitId} ${range.from}..${range.to} by ${by}`,
        };
        const order = { sort: q.sort ?? 'name', order: q.order ?? 'asc' } as const;
        const rows =
          by === 'hour'
            ? hourCsvRows(await buildReport(db, range, unitId, { ...order, officeLimit: 0 }))
            : breakdownCsvRows(by, await breakdownRows(db, range, unitId, by, order), range.waitTargetMin);
        if (rows.length > CSV_MAX_ROWS)
          throw new HttpError(
            400,
            'export_too_large',
            `${rows.length} rows; an export holds at most ${CSV_MAX_ROWS}: choose a smaller unit or period`,
          );
        const csv = toCsv(rows, rows[0] ? Object.keys(rows[0]) : [by]);
        return reply
          .type('text/csv; charset=utf-8')
          .header(
            'content-disposition',
            `attachment; filename="report-${unitId}-${range.from}-${range.to}-${by}.csv"`,
          )
          .send('\ufeff' + csv); // a BOM, so spreadsheet programs read the Vietnamese as UTF-8
      },
    );

    admin.get(
      '/api/v1/audit/verify',
      {
        schema: {
          tags: ['admin'],
          summary: "Check the audit log's hash chain (admins of a root unit); names the first broken row",
          security,
        },
      },
      async (req) => {
        mustManage(req);
        const a = req.admin as AdminIdentity;
        // The chain spans every unit's rows: only an admin of a whole tree may walk it.
        if (a.unitPath.split('/').length !== 3)
          throw new HttpError(
            403,
            'forbidden',
            'only admins of a root unit (the province) verify the audit log',
          );
        req.audit = { action: 'audit.verified' };
        const v = await verifyAuditChain(db);
        req.audit.detail = { ok: v.ok, rows: v.rows, ...(v.broken ? { broken: v.broken } : {}) };
        return v;
      },
    );

    admin.get(
      '/api/v1/audit',
      {
        schema: {
          tags: ['admin'],
          summary: 'The audit log of your subtree (newest first)',
          security,
          querystring: Type.Object({
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: AUDIT_PAGE_MAX_ROWS })),
            before: Type.Optional(Type.Integer()),
          }),
        },
      },
      async (req) => {
        mustManage(req);
        const a = req.admin as AdminIdentity;
        const q = req.query as { limit?: number; before?: number };
        let query = db
          .selectFrom('audit_log')
          .leftJoin('units', 'units.id', 'audit_log.unit_id')
          .select([
            'audit_log.id',
            'audit_log.at',
            'audit_log.actor',
            'audit_log.action',
            'audit_log.target',
            'audit_log.unit_id',
            'audit_log.outcome',
            'audit_log.detail',
            'audit_log.ip',
            'audit_log.seq',
          ])
          .where((eb) =>
            eb.or([
              eb('units.path', 'like', `${a.unitPath}%`),
              eb('audit_log.actor', '=', `admin:${a.username}`),
              // Rows tied to no unit (logins with unknown names, CLI actions) are for root admins.
              ...(a.unitPath.split('/').length === 3 ? [eb('audit_log.unit_id', 'is', null)] : []),
            ]),
          )
          .orderBy('audit_log.id', 'desc')
          .limit(q.limit ?? 100);
        if (q.before) query = query.where('audit_log.id', '<', q.before);
        const rows = await query.execute();
        return rows.map((r) => ({
          ...r,
          id: Number(r.id),
          seq: r.seq === null ? null : Number(r.seq),
          at: new Date(Number(r.at)).toISOString(),
          detail: r.detail ? (JSON.parse(r.detail) as unknown) : null,
        }));
      },
    );
  });
}
