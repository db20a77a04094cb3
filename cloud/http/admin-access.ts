// Who an admin request comes from and what it may touch: the session check, the unit-subtree scope, the
// admin/viewer split, and the audit row every authenticated request gets. Shared by the admin API and the fleet
// API, so both decide the same way and neither can forget to audit.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { unitById, type AdminRole, type UnitRow } from '../admin/provisioning.js';
import { sha256 } from '../auth/secrets.js';
import { attemptOf, routeOf, targetOf } from './audit-hooks.js';
import { HttpError, type CloudContext } from './context.js';

export interface AdminIdentity {
  id: string;
  username: string;
  role: AdminRole;
  unitId: string;
  unitPath: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    admin?: AdminIdentity;
    /** What the audit row should say beyond method and route. */
    audit?: { action?: string; target?: string; unitId?: string; detail?: unknown };
  }
}

export interface AdminAccess {
  authenticate(req: FastifyRequest): Promise<AdminIdentity>;
  /** The unit, when it lies in the admin's subtree; 403 outside_scope otherwise (404 when it does not exist). */
  unitInScope(req: FastifyRequest, unitId: string): Promise<UnitRow>;
  officeInScope(req: FastifyRequest, officeId: string): Promise<{ id: string; unit_id: string }>;
  mustManage(req: FastifyRequest): void;
}

export function adminAccess(ctx: CloudContext): AdminAccess {
  const db = ctx.store.db;

  async function authenticate(req: FastifyRequest): Promise<AdminIdentity> {
    const m = /^Bearer ([A-Za-z0-9_-]{20,})$/.exec(req.headers.authorization ?? '');
    if (!m) throw new HttpError(401, 'unauthorized', 'log in first: Authorization: Bearer <session token>');
    const row = await db
      .selectFrom('sessions')
      .innerJoin('admins', 'admins.id', 'sessions.admin_id')
      .innerJoin('units', 'units.id', 'admins.unit_id')
      .select([
        'admins.id',
        'admins.username',
        'admins.role',
        'admins.unit_id',
        'admins.disabled_at',
        'units.path',
        'sessions.expires_at',
      ])
      .where('sessions.token_hash', '=', sha256(m[1] as string))
      .executeTakeFirst();
    if (!row || row.expires_at < ctx.clock() || row.disabled_at !== null)
      throw new HttpError(401, 'unauthorized', 'session expired or unknown: log in again');
    return {
      id: row.id,
      username: row.username,
      role: row.role as AdminRole,
      unitId: row.unit_id,
      unitPath: row.path,
    };
  }

  async function unitInScope(req: FastifyRequest, unitId: string): Promise<UnitRow> {
    const a = req.admin as AdminIdentity;
    const unit = await unitById(db, unitId);
    if (!unit) throw new HttpError(404, 'not_found', `no unit "${unitId}"`);
    req.audit = { ...req.audit, unitId };
    if (!unit.path.startsWith(a.unitPath))
      throw new HttpError(403, 'outside_scope', `unit "${unitId}" is outside your unit (${a.unitId})`);
    return unit;
  }

  async function officeInScope(req: FastifyRequest, officeId: string) {
    const o = await db
      .selectFrom('offices')
      .select(['id', 'unit_id'])
      .where('id', '=', officeId)
      .executeTakeFirst();
    if (!o) throw new HttpError(404, 'not_found', `no office "${officeId}"`);
    await unitInScope(req, o.unit_id);
    return o;
  }

  const mustManage = (req: FastifyRequest) => {
    if (req.admin?.role !== 'admin')
      throw new HttpError(403, 'forbidden', 'chỉ quản trị viên / admins only: viewers may read reports only');
  };

  return { authenticate, unitInScope, officeInScope, mustManage };
}

/**
 * Every request of this scope needs a session, and gets its own audit row (denials included), written before
 * the answer is sent: an admin never sees an action succeed that the log does not hold yet, and one admin's
 * requests are in the log in the order they were answered (after the answer, two quick requests could be
 * written the other way round, with the hash chain's lock in between).
 */
export function requireAdminSession(scope: FastifyInstance, ctx: CloudContext, access: AdminAccess): void {
  scope.addHook('onRequest', async (req) => {
    req.admin = await access.authenticate(req);
    req.audited = true; // its own row, written below (denials included)
  });
  scope.addHook('onSend', async (req, reply, payload) => {
    const a = req.admin;
    if (!a) return payload; // no session: the refusal hook (audit-hooks.ts) writes the 401
    const status = reply.statusCode;
    const outcome = status < 400 ? 'ok' : status === 401 || status === 403 ? 'denied' : 'failed';
    await ctx.audit({
      actor: `admin:${a.username}`,
      action: req.audit?.action ?? `${req.method} ${routeOf(req)}`,
      target: req.audit?.target ?? targetOf(req),
      unitId: req.audit?.unitId ?? a.unitId,
      outcome,
      detail: {
        status,
        ...(req.audit?.detail !== undefined ? { detail: req.audit.detail } : {}),
        // A refusal says what was attempted.
        ...(outcome === 'ok'
          ? {}
          : { ...(req.auditError ? { code: req.auditError } : {}), ...attemptOf(req) }),
      },
      ip: req.ip,
    });
    return payload;
  });
}
