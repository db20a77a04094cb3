// The fleet health API: the unit tree with offices up and down, an office's box and peripherals, incidents and
// the "fails most" ranking, alert rules, alerts and their webhook deliveries. Authorized by unit subtree like
// the rest of the admin API (its session and audit hooks): viewers read, admins change.
import { randomBytes, randomUUID } from 'node:crypto';
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError, type Heartbeat } from '../../protocol/index.js';
import { adminAccess, requireAdminSession, type AdminIdentity } from '../http/admin-access.js';
import { HttpError, type CloudContext } from '../http/context.js';
import {
  ALERT_RULES_PER_UNIT_MAX,
  HEALTH_PAGE_MAX_ROWS,
  HEALTH_RANKING_MAX,
  REPORT_MAX_DAYS,
} from '../limits.js';
import { ALERT_KINDS, THRESHOLD_UNITS, type AlertKind } from './alerts.js';
import { BOX_DEVICE, INCIDENT_KINDS, printerState } from './conditions.js';
import { FleetHealth } from './fleet-health.js';
import { sealSecret } from './secret-box.js';
import { webhookUrlProblem } from './webhooks.js';

const errors = { 400: ApiError, 401: ApiError, 403: ApiError, 404: ApiError, 409: ApiError };
const tags = ['fleet health'];
const security = [{ admin: [] }];
const iso = (t: number | null | undefined): string | null =>
  t === null || t === undefined ? null : new Date(Number(t)).toISOString();
const Instant = Type.String({ format: 'date-time', description: 'ISO 8601 with a time zone' });
const Period = {
  from: Type.Optional(Instant),
  to: Type.Optional(Instant),
};
const DAY = 86_400_000;

function period(q: { from?: string; to?: string }, now: number): { from: number; to: number } {
  // Without `to`: up to now, what started this very millisecond included.
  const to = q.to ? Date.parse(q.to) : now + 1;
  const from = q.from ? Date.parse(q.from) : to - 30 * DAY;
  if (to - from > REPORT_MAX_DAYS * DAY)
    throw new HttpError(
      400,
      'invalid_period',
      `tối đa ${REPORT_MAX_DAYS} ngày / at most ${REPORT_MAX_DAYS} days`,
    );
  if (!(from < to))
    throw new HttpError(400, 'invalid_period', 'khoảng thời gian không hợp lệ / from must be before to');
  return { from, to };
}

const RuleBody = Type.Object(
  {
    unitId: Type.String(),
    kind: Type.Union(ALERT_KINDS.map((k) => Type.Literal(k))),
    threshold: Type.Optional(Type.Union([Type.Null(), Type.Integer({ minimum: 0, maximum: 1_000_000_000 })])),
    webhookUrl: Type.Optional(Type.Union([Type.Null(), Type.String({ maxLength: 4000 })])),
    enabled: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
type RuleBody = Static<typeof RuleBody>;
const RulePatch = Type.Partial(Type.Omit(RuleBody, ['unitId', 'kind']), { additionalProperties: false });
type RulePatch = Static<typeof RulePatch>;

interface RuleRow {
  id: string;
  unit_id: string;
  kind: string;
  threshold: number | null;
  webhook_url: string | null;
  webhook_secret: string | null;
  enabled: number;
  created_at: number;
  updated_at: number;
}
/**
 * A webhook URL as a reader sees it: whole for admins; for viewers only its origin, since chat and SMS gateways
 * often carry their token in the path or query.
 */
const shownUrl = (url: string | null, req?: FastifyRequest): string | null =>
  url === null || !req || req.admin?.role === 'admin' ? url : `${new URL(url).origin}/…`;

const ruleView = (r: RuleRow, req?: FastifyRequest) => ({
  id: r.id,
  unitId: r.unit_id,
  kind: r.kind,
  threshold: r.threshold === null ? null : Number(r.threshold),
  thresholdUnit: THRESHOLD_UNITS[r.kind as AlertKind] ?? null,
  webhookUrl: shownUrl(r.webhook_url, req),
  hasSecret: r.webhook_secret !== null,
  enabled: r.enabled === 1,
  createdAt: iso(r.created_at),
  updatedAt: iso(r.updated_at),
});

export async function healthRoutes(app: FastifyInstance, ctx: CloudContext): Promise<void> {
  const access = adminAccess(ctx);
  const db = ctx.store.db;
  const health = new FleetHealth(ctx);
  await health.start();
  app.addHook('onClose', () => health.stop());

  const scopePath = async (req: FastifyRequest, unit?: string): Promise<string> =>
    unit ? (await access.unitInScope(req, unit)).path : (req.admin as AdminIdentity).unitPath;

  function checkThreshold(kind: AlertKind, threshold: number | null | undefined): number | null {
    const unit = THRESHOLD_UNITS[kind];
    if (unit === null) return null;
    if (threshold === null || threshold === undefined) {
      if (kind === 'printer_paper_out' || kind === 'ups_on_battery') return 0;
      throw new HttpError(
        400,
        'threshold_required',
        `cần ngưỡng (${unit}) / a ${kind} rule needs a threshold in ${unit}`,
      );
    }
    return threshold;
  }

  function checkUrl(url: string | null | undefined): string | null {
    if (!url) return null;
    const problem = webhookUrlProblem(url, health.settings.webhookAllowHttpLocalhost);
    if (problem)
      throw new HttpError(
        400,
        'webhook_url_invalid',
        `địa chỉ webhook không hợp lệ / webhook URL refused: ${problem}`,
      );
    return url;
  }

  const newSecret = () => `whsec_${randomBytes(32).toString('base64url')}`;

  type OfficeState = 'up' | 'down' | 'unknown';
  /**
   * Each office that `where` selects, up (one of its boxes is online), down (it has heard from a box but none is
   * online now) or unknown (never heard from).
   */
  async function officeStates(
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    where: (q: any) => any,
  ): Promise<Map<string, { path: string; unitId: string; name: string; timezone: string; s: OfficeState }>> {
    const offices = await where(
      db
        .selectFrom('offices')
        .innerJoin('units', 'units.id', 'offices.unit_id')
        .leftJoin('boxes', (j) =>
          j.onRef('boxes.office_id', '=', 'offices.id').on('boxes.revoked_at', 'is', null),
        )
        .select([
          'offices.id',
          'offices.name',
          'offices.timezone',
          'offices.unit_id',
          'units.path',
          'boxes.heartbeat_at',
        ]),
    ).execute();
    const cutoff = ctx.clock() - health.offlineAfterMs;
    const state = new Map<
      string,
      { path: string; unitId: string; name: string; timezone: string; s: OfficeState }
    >();
    for (const o of offices as {
      id: string;
      name: string;
      timezone: string;
      unit_id: string;
      path: string;
      heartbeat_at: number | null;
    }[]) {
      const s = o.heartbeat_at === null ? 'unknown' : Number(o.heartbeat_at) >= cutoff ? 'up' : 'down';
      const prev = state.get(o.id);
      if (!prev || s === 'up' || (s === 'down' && prev.s === 'unknown'))
        state.set(o.id, { path: o.path, unitId: o.unit_id, name: o.name, timezone: o.timezone, s });
    }
    return state;
  }

  await app.register(async (admin) => {
    requireAdminSession(admin, ctx, access);

    admin.get(
      '/api/v1/health/units',
      {
        schema: {
          tags,
          security,
          summary:
            'The unit tree of your subtree with offices up, down and never heard from (each unit counts its subtree)',
          querystring: Type.Object({ unit: Type.Optional(Type.String()) }, { additionalProperties: false }),
        },
      },
      async (req) => {
        const path = await scopePath(req, (req.query as { unit?: string }).unit);
        const units = await db
          .selectFrom('units')
          .select(['id', 'parent_id', 'name', 'kind', 'path'])
          .where('path', 'like', `${path}%`)
          .orderBy('path')
          .execute();
        const state = await officeStates((q) => q.where('units.path', 'like', `${path}%`));
        return units.map((u) => {
          const counts = { offices: 0, up: 0, down: 0, unknown: 0 };
          for (const o of state.values())
            if (o.path.startsWith(u.path)) {
              counts.offices++;
              counts[o.s]++;
            }
          return { id: u.id, parentId: u.parent_id, name: u.name, kind: u.kind, ...counts };
        });
      },
    );

    admin.get(
      '/api/v1/health/offices',
      {
        schema: {
          tags,
          security,
          summary:
            "The offices directly in one unit (your own by default), each up, down or never heard from, with its boxes' counts and open incidents",
          description: `At most ${HEALTH_PAGE_MAX_ROWS} offices, then \`truncated: true\`.`,
          querystring: Type.Object({ unit: Type.Optional(Type.String()) }, { additionalProperties: false }),
          response: { ...errors },
        },
      },
      async (req) => {
        const unit = (req.query as { unit?: string }).unit ?? (req.admin as AdminIdentity).unitId;
        await access.unitInScope(req, unit);
        // A unit's own offices are few (a commune has one or two); the page limit is a guard, not a pager.
        const state = await officeStates((q) =>
          q.where('offices.unit_id', '=', unit).orderBy('offices.name').orderBy('offices.id'),
        );
        const ids = [...state.keys()].slice(0, HEALTH_PAGE_MAX_ROWS);
        /** Per office of the page: its rows of `table` still open (incidents not ended, boxes not revoked). */
        const openPerOffice = async (
          table: 'incidents' | 'boxes',
          endedColumn: 'ended_at' | 'revoked_at',
        ) => {
          if (ids.length === 0) return new Map<string, number>();
          const rows = await db
            .selectFrom(table)
            .select(['office_id', (eb) => eb.fn.countAll<number>().as('n')])
            .where('office_id', 'in', ids)
            .where(endedColumn, 'is', null)
            .groupBy('office_id')
            .execute();
          return new Map(rows.map((r) => [r.office_id, Number(r.n)]));
        };
        const open = await openPerOffice('incidents', 'ended_at');
        const boxes = await openPerOffice('boxes', 'revoked_at');
        return {
          unitId: unit,
          offices: ids.map((id) => {
            const o = state.get(id) as { name: string; timezone: string; s: OfficeState };
            return {
              id,
              name: o.name,
              timezone: o.timezone,
              state: o.s,
              boxes: boxes.get(id) ?? 0,
              openIncidents: open.get(id) ?? 0,
            };
          }),
          truncated: state.size > HEALTH_PAGE_MAX_ROWS,
        };
      },
    );

    admin.get(
      '/api/v1/health/offices/:office',
      {
        schema: {
          tags,
          security,
          summary: "An office's boxes and each peripheral with their health and open incidents",
          params: Type.Object({ office: Type.String() }),
          response: { ...errors },
        },
      },
      async (req) => {
        const { office } = req.params as { office: string };
        await access.officeInScope(req, office);
        const o = await db
          .selectFrom('offices')
          .select(['id', 'name', 'unit_id', 'timezone'])
          .where('id', '=', office)
          .executeTakeFirstOrThrow();
        const boxes = await db
          .selectFrom('boxes')
          .select(['id', 'enrolled_at', 'revoked_at', 'heartbeat', 'heartbeat_at', 'acked_seq'])
          .where('office_id', '=', office)
          .orderBy('id')
          .execute();
        const now = ctx.clock();
        const out = [];
        for (const b of boxes) {
          const devices = await db
            .selectFrom('health_devices')
            .selectAll()
            .where('box_id', '=', b.id)
            .execute();
          const open = await db
            .selectFrom('incidents')
            .select(['id', 'device', 'kind', 'started_at', 'detail'])
            .where('box_id', '=', b.id)
            .where('ended_at', 'is', null)
            .orderBy('started_at')
            .execute();
          const hb = b.heartbeat ? (JSON.parse(b.heartbeat) as Heartbeat) : null;
          const reported = await db
            .selectFrom('fleet_reported')
            .select(['version', 'state'])
            .where('box_id', '=', b.id)
            .executeTakeFirst();
          const hbAt = b.heartbeat_at === null ? null : Number(b.heartbeat_at);
          const online = hbAt !== null && hbAt >= now - health.offlineAfterMs;
          const self = devices.find((d) => d.device === BOX_DEVICE);
          // Stored state and the window agree unless the sweep has not run yet since the box went silent.
          const since =
            hbAt === null ? null : self && online === (self.online === 1) ? Number(self.since) : hbAt;
          const incidentsOf = (device: string) =>
            open
              .filter((i) => i.device === device)
              .map((i) => ({ id: Number(i.id), kind: i.kind, since: iso(i.started_at), detail: i.detail }));
          out.push({
            id: b.id,
            enrolledAt: iso(b.enrolled_at),
            revokedAt: iso(b.revoked_at),
            online: hbAt === null ? null : online,
            since: iso(since),
            lastHeartbeatAt: iso(hbAt),
            version: hb?.version ?? null,
            // The configuration twin's last report: the version the box applied (or rejected).
            configVersion: reported ? Number(reported.version) : null,
            configState: reported?.state ?? null,
            backlog: hb
              ? { events: hb.backlog.events, oldestAt: hb.backlog.oldestAt, alarm: hb.backlog.alarm }
              : null,
            freeDiskBytes: hb ? (hb.storage?.freeDiskBytes ?? hb.backlog.freeDiskBytes) : null,
            storage: hb?.storage
              ? { state: hb.storage.state, since: hb.storage.since, reason: hb.storage.reason }
              : null,
            // The UPS (null: the box watches none).
            power: hb?.power
              ? {
                  state: hb.power.state,
                  since: hb.power.since,
                  chargePct: hb.power.chargePct,
                  runtimeSeconds: hb.power.runtimeSeconds,
                  acceptingRequests: hb.power.acceptingRequests ?? true,
                }
              : null,
            incidents: incidentsOf(BOX_DEVICE),
            peripherals: (hb?.peripherals ?? []).map((p) => {
              const d = devices.find((x) => x.device === p.id);
              const status = p.status as { ok?: unknown; detail?: unknown } | null;
              return {
                id: p.id,
                role: p.role,
                counter: p.counter ?? null,
                online: p.online,
                since: iso(d?.since),
                ok: typeof status?.ok === 'boolean' ? status.ok : null,
                detail: typeof status?.detail === 'string' ? status.detail : null,
                printer: printerState(p),
                incidents: incidentsOf(p.id),
              };
            }),
          });
        }
        return { office: { id: o.id, name: o.name, unitId: o.unit_id, timezone: o.timezone }, boxes: out };
      },
    );

    const IncidentQuery = Type.Object(
      {
        unit: Type.Optional(Type.String()),
        office: Type.Optional(Type.String()),
        box: Type.Optional(Type.String()),
        device: Type.Optional(Type.String({ description: "a peripheral id; '-' for the box itself" })),
        kind: Type.Optional(Type.Union(INCIDENT_KINDS.map((k) => Type.Literal(k)))),
        open: Type.Optional(Type.Boolean()),
        ...Period,
        limit: Type.Integer({ minimum: 1, maximum: HEALTH_PAGE_MAX_ROWS, default: 100 }),
      },
      { additionalProperties: false },
    );
    type IncidentQuery = Static<typeof IncidentQuery>;

    admin.get(
      '/api/v1/health/incidents',
      {
        schema: {
          tags,
          security,
          summary: 'Incidents (offline periods and faults) that overlap a period, newest first',
          description: `Default period: the last 30 days. At most ${HEALTH_PAGE_MAX_ROWS} rows.`,
          querystring: IncidentQuery,
          response: { ...errors },
        },
      },
      async (req) => {
        const q = req.query as IncidentQuery;
        const path = q.office ? null : await scopePath(req, q.unit);
        if (q.office) await access.officeInScope(req, q.office);
        const now = ctx.clock();
        const { from, to } = period(q, now);
        let sel = db
          .selectFrom('incidents')
          .innerJoin('offices', 'offices.id', 'incidents.office_id')
          .innerJoin('units', 'units.id', 'offices.unit_id')
          .leftJoin('health_devices as hd', (j) =>
            j.onRef('hd.box_id', '=', 'incidents.box_id').onRef('hd.device', '=', 'incidents.device'),
          )
          .select([
            'incidents.id',
            'incidents.box_id',
            'incidents.office_id',
            'incidents.device',
            'incidents.kind',
            'incidents.started_at',
            'incidents.ended_at',
            'incidents.detail',
            'offices.name as office_name',
            'offices.timezone',
            'hd.role',
          ])
          .where('incidents.started_at', '<', to)
          .where((eb) => eb.or([eb('incidents.ended_at', 'is', null), eb('incidents.ended_at', '>', from)]));
        if (path !== null) sel = sel.where('units.path', 'like', `${path}%`);
        if (q.office) sel = sel.where('incidents.office_id', '=', q.office);
        if (q.box) sel = sel.where('incidents.box_id', '=', q.box);
        if (q.device !== undefined)
          sel = sel.where('incidents.device', '=', q.device === '-' ? BOX_DEVICE : q.device);
        if (q.kind) sel = sel.where('incidents.kind', '=', q.kind);
        if (q.open !== undefined) sel = sel.where('incidents.ended_at', q.open ? 'is' : 'is not', null);
        const rows = await sel
          .orderBy('incidents.started_at', 'desc')
          .orderBy('incidents.id', 'desc')
          .limit(q.limit)
          .execute();
        return rows.map((r) => ({
          id: Number(r.id),
          boxId: r.box_id,
          officeId: r.office_id,
          officeName: r.office_name,
          timezone: r.timezone,
          device: r.device || null,
          role: r.device ? (r.role ?? null) : 'box',
          kind: r.kind,
          startedAt: iso(r.started_at),
          endedAt: iso(r.ended_at),
          durationMs: (r.ended_at === null ? now : Number(r.ended_at)) - Number(r.started_at),
          detail: r.detail,
        }));
      },
    );

    const RankingQuery = Type.Object(
      {
        unit: Type.Optional(Type.String()),
        ...Period,
        top: Type.Integer({ minimum: 1, maximum: HEALTH_RANKING_MAX, default: 10 }),
      },
      { additionalProperties: false },
    );
    admin.get(
      '/api/v1/health/ranking',
      {
        schema: {
          tags,
          security,
          summary: 'Which devices fail most: incidents and total downtime per device in a period, top N',
          description:
            'Per device (a box or one of its peripherals): the incidents that overlap the period and the time they ' +
            'cover inside it (open ones until now). Ordered by downtime, then by incidents.',
          querystring: RankingQuery,
          response: { ...errors },
        },
      },
      async (req) => {
        const q = req.query as Static<typeof RankingQuery>;
        const path = await scopePath(req, q.unit);
        const now = ctx.clock();
        const { from, to } = period(q, now);
        const rows = await db
          .selectFrom('incidents')
          .innerJoin('offices', 'offices.id', 'incidents.office_id')
          .innerJoin('units', 'units.id', 'offices.unit_id')
          .leftJoin('health_devices as hd', (j) =>
            j.onRef('hd.box_id', '=', 'incidents.box_id').onRef('hd.device', '=', 'incidents.device'),
          )
          .select([
            'incidents.box_id',
            'incidents.office_id',
            'incidents.device',
            'incidents.kind',
            'incidents.started_at',
            'incidents.ended_at',
            'offices.name as office_name',
            'offices.timezone',
            'hd.role',
          ])
          .where('units.path', 'like', `${path}%`)
          .where('incidents.started_at', '<', to)
          .where((eb) => eb.or([eb('incidents.ended_at', 'is', null), eb('incidents.ended_at', '>', from)]))
          .execute();
        const byDevice = new Map<
          string,
          {
            boxId: string;
            officeId: string;
            officeName: string;
            timezone: string;
            device: string | null;
            role: string | null;
            incidents: number;
            downtimeMs: number;
            kinds: Record<string, number>;
          }
        >();
        for (const r of rows) {
          const key = `${r.box_id}\u0000${r.device}`;
          const d = byDevice.get(key) ?? {
            boxId: r.box_id,
            officeId: r.office_id,
            officeName: r.office_name,
            timezone: r.timezone,
            device: r.device || null,
            role: r.device ? (r.role ?? null) : 'box',
            incidents: 0,
            downtimeMs: 0,
            kinds: {},
          };
          d.incidents++;
          d.kinds[r.kind] = (d.kinds[r.kind] ?? 0) + 1;
          const end = Math.min(to, r.ended_at === null ? now : Number(r.ended_at));
          d.downtimeMs += Math.max(0, end - Math.max(from, Number(r.started_at)));
          byDevice.set(key, d);
        }
        const ranking = [...byDevice.values()]
          .sort(
            (a, b) =>
              b.downtimeMs - a.downtimeMs || b.incidents - a.incidents || a.boxId.localeCompare(b.boxId),
          )
          .slice(0, q.top);
        return { from: iso(from), to: iso(to), devices: ranking };
      },
    );

    // ---- alert rules ------------------------------------------------------------------------------

    const ruleInScope = async (req: FastifyRequest, id: string): Promise<RuleRow> => {
      const r = await db.selectFrom('alert_rules').selectAll().where('id', '=', id).executeTakeFirst();
      if (!r) throw new HttpError(404, 'not_found', `không có quy tắc cảnh báo / no alert rule "${id}"`);
      await access.unitInScope(req, r.unit_id);
      return r;
    };

    admin.get(
      '/api/v1/alert-rules',
      {
        schema: {
          tags,
          security,
          summary: 'Alert rules of a unit and of the units above it (inherited), or of your whole subtree',
          querystring: Type.Object({ unit: Type.Optional(Type.String()) }, { additionalProperties: false }),
        },
      },
      async (req) => {
        const unit = (req.query as { unit?: string }).unit;
        const path = await scopePath(req, unit);
        const rows = await db
          .selectFrom('alert_rules')
          .innerJoin('units', 'units.id', 'alert_rules.unit_id')
          .selectAll('alert_rules')
          .select('units.path')
          .orderBy('units.path')
          .orderBy('alert_rules.created_at')
          .execute();
        const own = (req.admin as AdminIdentity).unitPath;
        return (
          rows
            // The subtree's rules, and (for a unit) the rules it inherits from above, down to the admin's own unit.
            .filter(
              (r) =>
                r.path.startsWith(path) ||
                (unit !== undefined && path.startsWith(r.path) && r.path.startsWith(own)),
            )
            .map((r) => ({ ...ruleView(r, req), inherited: !r.path.startsWith(path) }))
        );
      },
    );

    admin.post(
      '/api/v1/alert-rules',
      {
        schema: {
          tags,
          security,
          summary: 'A new alert rule for a unit and its subtree; its webhook signing secret is shown once',
          body: RuleBody,
          response: { ...errors },
        },
      },
      async (req, reply) => {
        access.mustManage(req);
        const b = req.body as RuleBody;
        await access.unitInScope(req, b.unitId);
        const threshold = checkThreshold(b.kind, b.threshold);
        const url = checkUrl(b.webhookUrl);
        const count = await db
          .selectFrom('alert_rules')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('unit_id', '=', b.unitId)
          .executeTakeFirstOrThrow();
        if (Number(count.n) >= ALERT_RULES_PER_UNIT_MAX)
          throw new HttpError(
            409,
            'too_many_rules',
            `tối đa ${ALERT_RULES_PER_UNIT_MAX} quy tắc / at most ${ALERT_RULES_PER_UNIT_MAX} rules per unit`,
          );
        const id = randomUUID();
        const secret = url ? newSecret() : null;
        const now = ctx.clock();
        const row: RuleRow = {
          id,
          unit_id: b.unitId,
          kind: b.kind,
          threshold,
          webhook_url: url,
          webhook_secret: secret ? sealSecret(ctx.settings.masterKey, id, secret) : null,
          enabled: b.enabled === false ? 0 : 1,
          created_at: now,
          updated_at: now,
        };
        await db.insertInto('alert_rules').values(row).execute();
        req.audit = {
          action: 'alert_rule.created',
          target: id,
          unitId: b.unitId,
          detail: { kind: b.kind, threshold, webhookUrl: url },
        };
        return reply.code(201).send({ ...ruleView(row), ...(secret ? { webhookSecret: secret } : {}) });
      },
    );

    admin.patch(
      '/api/v1/alert-rules/:id',
      {
        schema: {
          tags,
          security,
          summary: "Change a rule's threshold, webhook URL or whether it is enabled",
          params: Type.Object({ id: Type.String() }),
          body: RulePatch,
          response: { ...errors },
        },
      },
      async (req) => {
        access.mustManage(req);
        const r = await ruleInScope(req, (req.params as { id: string }).id);
        const b = req.body as RulePatch;
        const next: RuleRow = { ...r, updated_at: ctx.clock() };
        if (b.threshold !== undefined) next.threshold = checkThreshold(r.kind as AlertKind, b.threshold);
        if (b.enabled !== undefined) next.enabled = b.enabled ? 1 : 0;
        let secret: string | null = null;
        if (b.webhookUrl !== undefined) {
          next.webhook_url = checkUrl(b.webhookUrl);
          if (next.webhook_url === null) next.webhook_secret = null;
          else if (next.webhook_secret === null) {
            secret = newSecret();
            next.webhook_secret = sealSecret(ctx.settings.masterKey, r.id, secret);
          }
        }
        await db
          .updateTable('alert_rules')
          .set({
            threshold: next.threshold,
            enabled: next.enabled,
            webhook_url: next.webhook_url,
            webhook_secret: next.webhook_secret,
            updated_at: next.updated_at,
          })
          .where('id', '=', r.id)
          .execute();
        req.audit = { action: 'alert_rule.changed', target: r.id, unitId: r.unit_id, detail: b };
        return { ...ruleView(next), ...(secret ? { webhookSecret: secret } : {}) };
      },
    );

    admin.post(
      '/api/v1/alert-rules/:id/secret',
      {
        schema: {
          tags,
          security,
          summary: 'A new webhook signing secret for a rule (shown once); the old one stops signing at once',
          params: Type.Object({ id: Type.String() }),
          response: { ...errors },
        },
      },
      async (req) => {
        access.mustManage(req);
        const r = await ruleInScope(req, (req.params as { id: string }).id);
        if (!r.webhook_url)
          throw new HttpError(409, 'no_webhook', 'quy tắc không có webhook / the rule has no webhook');
        const secret = newSecret();
        await db
          .updateTable('alert_rules')
          .set({ webhook_secret: sealSecret(ctx.settings.masterKey, r.id, secret), updated_at: ctx.clock() })
          .where('id', '=', r.id)
          .execute();
        req.audit = { action: 'alert_rule.secret_rotated', target: r.id, unitId: r.unit_id };
        return { id: r.id, webhookSecret: secret };
      },
    );

    admin.delete(
      '/api/v1/alert-rules/:id',
      {
        schema: {
          tags,
          security,
          summary: 'Delete a rule (its open alerts resolve at the next evaluation)',
          params: Type.Object({ id: Type.String() }),
          response: { ...errors },
        },
      },
      async (req) => {
        access.mustManage(req);
        const r = await ruleInScope(req, (req.params as { id: string }).id);
        await db.deleteFrom('alert_rules').where('id', '=', r.id).execute();
        req.audit = { action: 'alert_rule.deleted', target: r.id, unitId: r.unit_id };
        return { ok: true };
      },
    );

    // ---- alerts and deliveries --------------------------------------------------------------------

    const AlertQuery = Type.Object(
      {
        unit: Type.Optional(Type.String()),
        state: Type.Optional(Type.Union([Type.Literal('open'), Type.Literal('resolved')])),
        office: Type.Optional(Type.String()),
        ...Period,
        limit: Type.Integer({ minimum: 1, maximum: HEALTH_PAGE_MAX_ROWS, default: 100 }),
      },
      { additionalProperties: false },
    );
    admin.get(
      '/api/v1/alerts',
      {
        schema: {
          tags,
          security,
          summary: 'Alerts of your subtree (open and resolved), newest first',
          querystring: AlertQuery,
          response: { ...errors },
        },
      },
      async (req) => {
        const q = req.query as Static<typeof AlertQuery>;
        const path = await scopePath(req, q.unit);
        const { from, to } = period(q, ctx.clock());
        let sel = db
          .selectFrom('alerts')
          .innerJoin('offices', 'offices.id', 'alerts.office_id')
          .innerJoin('units', 'units.id', 'offices.unit_id')
          .selectAll('alerts')
          .select(['offices.name as office_name', 'offices.timezone'])
          .where('units.path', 'like', `${path}%`)
          .where('alerts.opened_at', '<', to)
          .where((eb) => eb.or([eb('alerts.resolved_at', 'is', null), eb('alerts.resolved_at', '>', from)]));
        if (q.state) sel = sel.where('alerts.resolved_at', q.state === 'open' ? 'is' : 'is not', null);
        if (q.office) sel = sel.where('alerts.office_id', '=', q.office);
        const rows = await sel.orderBy('alerts.opened_at', 'desc').limit(q.limit).execute();
        return rows.map((a) => ({
          id: a.id,
          ruleId: a.rule_id,
          kind: a.kind,
          unitId: a.unit_id,
          boxId: a.box_id,
          officeId: a.office_id,
          officeName: a.office_name,
          timezone: a.timezone,
          device: a.device || null,
          detail: a.detail,
          state: a.resolved_at === null ? 'open' : 'resolved',
          openedAt: iso(a.opened_at),
          resolvedAt: iso(a.resolved_at),
        }));
      },
    );

    admin.get(
      '/api/v1/alerts/:id/deliveries',
      {
        schema: {
          tags,
          security,
          summary:
            "An alert's webhook deliveries, each attempt with its time, HTTP status or error, and duration",
          params: Type.Object({ id: Type.String() }),
          response: { ...errors },
        },
      },
      async (req) => {
        const id = (req.params as { id: string }).id;
        const a = await db
          .selectFrom('alerts')
          .select(['id', 'office_id'])
          .where('id', '=', id)
          .executeTakeFirst();
        if (!a) throw new HttpError(404, 'not_found', `không có cảnh báo / no alert "${id}"`);
        await access.officeInScope(req, a.office_id);
        const deliveries = await db
          .selectFrom('alert_deliveries')
          .selectAll()
          .where('alert_id', '=', id)
          .orderBy('created_at')
          .execute();
        const attempts = deliveries.length
          ? await db
              .selectFrom('alert_delivery_attempts')
              .selectAll()
              .where(
                'delivery_id',
                'in',
                deliveries.map((d) => d.id),
              )
              .orderBy('id')
              .execute()
          : [];
        return deliveries.map((d) => ({
          id: d.id,
          event: d.event,
          url: shownUrl(d.url, req),
          state: d.state,
          attempts: attempts
            .filter((t) => t.delivery_id === d.id)
            .map((t) => ({
              at: iso(t.at),
              status: t.status,
              error: t.error,
              durationMs: Number(t.duration_ms),
            })),
          nextAttemptAt: d.state === 'pending' ? iso(d.next_attempt_at) : null,
          doneAt: iso(d.done_at),
        }));
      },
    );
  });
}
