// The cloud's fastify app: schema-first routes (TypeBox), one error shape ({code, message, detail?}), its own
// OpenAPI document at /openapi.json and a local Swagger UI at /docs.
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import rateLimit from '@fastify/rate-limit';
import { AjvCompiler } from '@fastify/ajv-compiler';
import { isDatabaseUnavailable } from '../db/database.js';
import { JSON_BODY_MAX_BYTES } from '../limits.js';
import { VERSION } from '../version.js';
import { registerAuditHooks } from './audit-hooks.js';
import { boxRoutes } from './box-routes.js';
import { HttpError, sendError, type CloudContext } from './context.js';
import { rateLimitStore } from './rate-limit-store.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The error code of a schema failure on this route (default invalid_request). */
    validationCode?: string;
  }
}

export type RoutePlugin = (app: FastifyInstance, ctx: CloudContext) => Promise<void>;

/**
 * The console, the citizen's pages and the API load nothing from elsewhere and run no inline script; nothing may
 * frame them. The Swagger UI (`/docs`) carries inline styles, so it alone allows them.
 */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');
const CSP_INLINE_STYLES = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'");

/** trustProxy for fastify: only the configured load balancers may set X-Forwarded-For (none by default). */
export const trustProxyOf = (proxies: readonly string[]): false | string[] =>
  proxies.length === 0 ? false : [...proxies];

type ValidatorFactory = ReturnType<typeof AjvCompiler>;
type RouteValidator = (route: { httpPart?: string }) => unknown;
const ajvPool = AjvCompiler();

/**
 * Querystrings, params and headers arrive as text, so their validator coerces (`?wait=30` is a number). A
 * JSON body already has its types, and coercion would rewrite what the sender said: with `coerceTypes`, a
 * heartbeat's `freeDiskBytes: null` tried against `Integer | Null` became 0 (a false disk_low incident), a
 * peripheral's `online: null` became false. Bodies get their own Ajv without it.
 */
export const bodiesAsSent: ValidatorFactory = (externalSchemas, options) => {
  const coercing = ajvPool(externalSchemas, options) as unknown as RouteValidator;
  const exact = ajvPool(externalSchemas, {
    ...options,
    customOptions: { ...options?.customOptions, coerceTypes: false },
  } as typeof options) as unknown as RouteValidator;
  const compile: RouteValidator = (route) => (route.httpPart === 'body' ? exact : coercing)(route);
  return compile as unknown as ReturnType<ValidatorFactory>;
};

export async function buildApp(ctx: CloudContext, plugins: RoutePlugin[] = []): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: ctx.log as FastifyBaseLogger,
    // req.ip feeds the per-client limits and the audit log: X-Forwarded-For counts only when the connection
    // comes from a configured proxy, else anyone could pick their address (and a fresh limit per request).
    trustProxy: trustProxyOf(ctx.settings.trustedProxies),
    bodyLimit: JSON_BODY_MAX_BYTES,
    ajv: {
      // Refuse what the schema does not name instead of silently dropping it.
      customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: false },
    },
    schemaController: { compilersFactory: { buildValidator: bodiesAsSent } },
  });

  app.setErrorHandler((err: FastifyError | HttpError, req, reply) => {
    if (err instanceof HttpError) return sendError(reply, err);
    const fe = err as FastifyError;
    if (fe.validation) {
      const code = req.routeOptions.config?.validationCode ?? 'invalid_request';
      return sendError(
        reply,
        new HttpError(
          400,
          code,
          `${fe.message}${code === 'batch_invalid' ? '; nothing was applied' : ''}`,
          fe.validation.slice(0, 10).map((v) => ({ path: v.instancePath, message: v.message })),
        ),
      );
    }
    if (isDatabaseUnavailable(err)) {
      req.log.warn({ err: fe.message }, 'database unavailable');
      void reply.header('retry-after', '5');
      return sendError(
        reply,
        new HttpError(
          503,
          'database_unavailable',
          'tạm thời không kết nối được cơ sở dữ liệu, hãy thử lại / the database cannot be reached; retry shortly',
        ),
      );
    }
    if (fe.statusCode === 429) return sendError(reply, new HttpError(429, 'rate_limited', fe.message));
    if (fe.statusCode && fe.statusCode < 500)
      return sendError(
        reply,
        new HttpError(fe.statusCode, fe.code?.toLowerCase() ?? 'bad_request', fe.message),
      );
    req.log.error({ err }, 'request failed');
    return sendError(reply, new HttpError(500, 'internal', 'internal error; nothing was changed'));
  });
  app.setNotFoundHandler((req, reply) =>
    sendError(reply, new HttpError(404, 'not_found', `no route ${req.method} ${req.url.split('?')[0]}`)),
  );

  app.addHook('onSend', async (req, reply) => {
    const inlineStyles = req.url.startsWith('/docs');
    void reply
      .header('content-security-policy', inlineStyles ? CSP_INLINE_STYLES : CSP)
      .header('x-content-type-options', 'nosniff')
      .header('x-frame-options', 'DENY')
      .header('referrer-policy', 'no-referrer');
  });

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'motcua-lobby cloud',
        version: VERSION,
        description:
          'Ingest of office box events, dossiers from the province one-stop software, reports along the unit tree, ' +
          'provisioning and admin accounts.',
      },
      components: {
        securitySchemes: {
          box: { type: 'http', scheme: 'bearer', description: '<boxId>.<secret>, issued at enrollment' },
          admin: {
            type: 'http',
            scheme: 'bearer',
            description: 'session token from POST /api/v1/auth/login',
          },
          hmac: {
            type: 'apiKey',
            in: 'header',
            name: 'x-lobby-signature',
            description:
              'hex HMAC-SHA256 over `${x-lobby-timestamp}.${METHOD}.${path}.${body}` with the integration key; ' +
              'x-lobby-key names the integration, x-lobby-timestamp is Unix seconds (±300 s)',
          },
        },
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  await app.register(rateLimit, {
    global: false,
    ...(ctx.redis
      ? { store: rateLimitStore(ctx.redis, ctx.rateLimitHealth, ctx.log, ctx.redisKeyPrefix) }
      : {}),
  });

  registerAuditHooks(app, ctx); // before the routes: every route's refusals are audited
  await boxRoutes(app, ctx);
  for (const p of plugins) await p(app, ctx);
  return app;
}
