// Refused requests in the audit log, whatever route refused them and however early: a missing or wrong
// session (401), a box credential or HMAC signature that fails, a scope denial (403), and every 4xx of the
// routes that ask for it (enrollment, signed dossier writes). Each row says who the request claimed to be,
// from which ip, and what it attempted (method, route, target, the identifying fields of query and body;
// never a secret). Written after the answer is sent, through the flood-proof RefusalAudit.
import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify';
import { HttpError, type CloudContext } from './context.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who the request claims to be, set before its credential is checked (`box:<id>`, `integration:<key>`). */
    auditActor?: string;
    /** The request has its own audit row (the admin API, logins): the refusal hook leaves it alone. */
    audited?: boolean;
    /** The machine code of the error it was answered with. */
    auditError?: string;
  }
  interface FastifyContextConfig {
    /** Audit every 4xx answer of this route (not only 401 and 403): enrollment, signed dossier writes. */
    auditFailures?: boolean;
  }
}

/** Fields that say what a request was about; values cut at 100 characters. Passwords and codes are not here. */
const IDENTIFYING = ['id', 'username', 'unitId', 'parentId', 'officeId', 'role', 'unit', 'from', 'to', 'by'];

function identifying(o: unknown): Record<string, string> | undefined {
  if (!o || typeof o !== 'object') return undefined;
  const out: Record<string, string> = {};
  for (const k of IDENTIFYING) {
    const v = (o as Record<string, unknown>)[k];
    if (typeof v === 'string' || typeof v === 'number') out[k] = String(v).slice(0, 100);
  }
  return Object.keys(out).length ? out : undefined;
}

export const routeOf = (req: FastifyRequest): string =>
  req.routeOptions.url ?? (req.url.split('?')[0] as string).slice(0, 200);

/** What a request attempted: method, route, and its identifying parameters. */
export function attemptOf(req: FastifyRequest): Record<string, unknown> {
  const params = req.params && Object.keys(req.params as object).length ? req.params : undefined;
  const query = identifying(req.query);
  const body = identifying(req.body);
  return {
    method: req.method,
    route: routeOf(req),
    ...(params ? { params } : {}),
    ...(query ? { query } : {}),
    ...(body ? { body } : {}),
  };
}

/** The target of a request: its path parameters, else the identifying field of its body. */
export function targetOf(req: FastifyRequest): string | null {
  const p = Object.values((req.params ?? {}) as Record<string, string>).join('/');
  if (p) return p.slice(0, 200);
  const b = identifying(req.body);
  return b ? (b.id ?? b.username ?? b.officeId ?? b.unitId ?? null) : null;
}

export function registerAuditHooks(app: FastifyInstance, ctx: CloudContext): void {
  app.addHook('onError', async (req, _reply, err: FastifyError | HttpError) => {
    req.auditError = err instanceof HttpError ? err.code : (err.code ?? 'error').toLowerCase();
  });
  app.addHook('onResponse', async (req, reply) => {
    if (req.audited) return;
    const status = reply.statusCode;
    const denied = status === 401 || status === 403;
    const failed = req.routeOptions.config?.auditFailures && status >= 400 && status < 500 && status !== 429;
    if (!denied && !failed) return;
    await ctx.refusals.record({
      actor: req.auditActor ?? 'anonymous',
      action: `${req.method} ${routeOf(req)}`,
      target: targetOf(req),
      outcome: denied ? 'denied' : 'failed',
      detail: { status, ...(req.auditError ? { code: req.auditError } : {}), ...attemptOf(req) },
      ip: req.ip,
    });
  });
  app.addHook('onClose', async () => ctx.refusals.close());
}
