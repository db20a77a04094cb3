// The admin console: static files from cloud/console and Chart.js from the installed package (no CDN).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/** cloud/console sits in the package (not in dist/): look for it from this file upwards. */
function consoleDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const p = join(dir, 'cloud', 'console');
    if (existsSync(join(p, 'index.html'))) return p;
    dir = dirname(dir);
  }
  throw new Error('cloud/console not found next to the lobby package');
}

export async function consoleRoutes(app: FastifyInstance): Promise<void> {
  const chartDir = dirname(createRequire(import.meta.url).resolve('chart.js'));
  await app.register(fastifyStatic, { root: consoleDir(), prefix: '/console/', index: 'index.html' });
  await app.register(fastifyStatic, {
    root: chartDir,
    prefix: '/console/vendor/',
    decorateReply: false,
    allowedPath: (path) => path === '/chart.umd.js',
  });
  app.get('/', { schema: { hide: true } }, (_req, reply) => reply.redirect('/console/'));
  app.get('/console', { schema: { hide: true } }, (_req, reply) => reply.redirect('/console/'));
}
