// The box's HTTP port: health, metrics, and the WebSocket endpoint (attached by the broker) for browser apps.
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.js';

export interface Health {
  status: 'ok' | 'degraded';
  checks: Record<string, boolean>;
  [key: string]: unknown;
}

export function createHttpServer(opts: {
  log: Logger;
  metrics: Metrics;
  health: () => Health;
}): FastifyInstance {
  // Requests are logged at info; the box polls /healthz often, so the HTTP log starts at warn.
  const app = Fastify({
    loggerInstance: opts.log.child({ part: 'http' }, { level: 'warn' }) as FastifyBaseLogger,
  });
  app.get('/healthz', async (_req, reply) => {
    const h = opts.health();
    return reply.code(h.status === 'ok' ? 200 : 503).send(h);
  });
  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', opts.metrics.registry.contentType);
    return opts.metrics.registry.metrics();
  });
  return app;
}
