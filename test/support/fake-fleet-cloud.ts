// A small stand-in for the cloud's fleet endpoints (protocol/fleet.ts), for the box's fleet tests before the
// real `lobby cloud` side is merged: it holds desired versions per box, answers the long poll (held until a
// newer version is saved or `wait` runs out), records the reports, and acknowledges the uplink so the box's
// other traffic stays quiet. It can be stopped and started again on the same port (the cloud down).
import Fastify, { type FastifyInstance } from 'fastify';
import { configHash, type BoxReported, type BoxTarget } from '../../protocol/fleet.js';
import type { SoftwareReport } from '../../protocol/fleet-updates.js';
import { writeCredential } from '../../device/uplink/credential.js';
import { join } from 'node:path';

export class FakeFleetCloud {
  readonly boxId = 'box-fleet-1';
  readonly secret = 'fleet-test-secret-0123456789abcdef';
  readonly targets: BoxTarget[] = [];
  readonly reports: BoxReported[] = [];
  /** The `version` of every long poll received, in order. */
  readonly polls: number[] = [];
  /** Long polls refused for a wrong credential. */
  refusedPolls = 0;
  /** Uplink requests received (event batches and heartbeats). */
  uplinkRequests = 0;
  /** Answer this many of the next reports 503 (a cloud that fails, then recovers). */
  failReports = 0;
  /** The status the failed reports get (503: a cloud that recovers; 409: a version it does not know). */
  failReportsWith = 503;
  /** Release files (over-the-air updates) by path, served with the box credential and HTTP Range. */
  readonly files = new Map<string, Buffer>();
  /** The `Range` header of every release file request ('' none), in order, with its path. */
  readonly fileRequests: { path: string; range: string }[] = [];
  /** The next response for this path sends `after` bytes of the body and then cuts the connection (once). */
  cutFile: { path: string; after: number } | null = null;
  /** Responses for this path send `after` bytes and then hold the connection open until the client goes. */
  stallFile: { path: string; after: number } | null = null;
  /** The software step reports received (POST /api/v1/box/software). */
  readonly softwareReports: SoftwareReport[] = [];
  /** Answer this many of the next software reports 503. */
  failSoftwareReports = 0;
  private app: FastifyInstance | null = null;
  private waiters = new Set<() => void>();
  port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Writes the box credential for this cloud into a data directory (what enrollment leaves). */
  enroll(dataDir: string): void {
    writeCredential(join(dataDir, 'cloud-credential.json'), {
      cloudUrl: this.url,
      boxId: this.boxId,
      officeId: 'xa-thu-nghiem',
      secret: this.secret,
      enrolledAt: new Date().toISOString(),
    });
  }

  /** An admin saves a new desired config: a new version, and any held poll is answered at once. */
  save(config: unknown): BoxTarget {
    const target: BoxTarget = {
      version: this.targets.length + 1,
      hash: configHash(config),
      config,
      savedAt: new Date().toISOString(),
    };
    this.targets.push(target);
    for (const w of [...this.waiters]) w();
    return target;
  }

  /** The last report for a version, if any. */
  reportOf(version: number): BoxReported | undefined {
    return this.reports.filter((r) => r.version === version).at(-1);
  }

  async start(port = this.port): Promise<this> {
    const app = Fastify({ forceCloseConnections: true });
    const authorized = (h: string | undefined) => h === `Bearer ${this.boxId}.${this.secret}`;
    // The box polls /api/v1/box/poll (BoxPoll: its target, no commands, no software); older boxes /target.
    for (const path of ['/api/v1/box/target', '/api/v1/box/poll'])
      app.get<{ Querystring: { version?: string; wait?: string } }>(path, async (req, reply) => {
        if (!authorized(req.headers.authorization)) {
          this.refusedPolls++;
          return reply.code(401).send({ code: 'unauthorized' });
        }
        const version = Number(req.query.version ?? 0);
        const wait = Math.min(Number(req.query.wait ?? 0), 50);
        this.polls.push(version);
        const newer = () => {
          const latest = this.targets.at(-1);
          return latest && latest.version > version ? latest : undefined;
        };
        if (!newer() && wait > 0)
          await new Promise<void>((resolve) => {
            const done = () => {
              clearTimeout(timer);
              this.waiters.delete(done);
              resolve();
            };
            const timer = setTimeout(done, wait * 1000);
            this.waiters.add(done);
          });
        const t = newer();
        if (!t) return reply.code(204).send();
        return path.endsWith('/poll')
          ? reply.send({ target: t, commands: [], software: null })
          : reply.send(t);
      });
    app.post<{ Body: BoxReported }>('/api/v1/box/reported', async (req, reply) => {
      if (!authorized(req.headers.authorization)) return reply.code(401).send({ code: 'unauthorized' });
      if (this.failReports > 0) {
        this.failReports--;
        return reply
          .code(this.failReportsWith)
          .send({ code: this.failReportsWith === 409 ? 'unknown_version' : 'unavailable' });
      }
      this.reports.push(req.body);
      return { ok: true };
    });
    app.get<{ Params: { '*': string } }>('/rel/*', (req, reply) => {
      if (!authorized(req.headers.authorization)) return reply.code(401).send({ code: 'unauthorized' });
      const path = `/rel/${req.params['*']}`;
      const body = this.files.get(path);
      this.fileRequests.push({ path, range: req.headers.range ?? '' });
      if (!body) return reply.code(404).send({ code: 'not_found' });
      const from = Number(/^bytes=(\d+)-$/.exec(req.headers.range ?? '')?.[1] ?? -1);
      if (from >= body.length)
        return reply.code(416).header('content-range', `bytes */${body.length}`).send();
      const part = from >= 0 ? body.subarray(from) : body;
      reply.hijack();
      const res = reply.raw;
      res.writeHead(from >= 0 ? 206 : 200, {
        'content-length': part.length,
        'accept-ranges': 'bytes',
        ...(from >= 0 ? { 'content-range': `bytes ${from}-${body.length - 1}/${body.length}` } : {}),
      });
      const cut = this.cutFile?.path === path ? this.cutFile.after : null;
      if (cut !== null) {
        this.cutFile = null;
        res.write(part.subarray(0, cut), () => setTimeout(() => res.destroy(), 20));
      } else if (this.stallFile?.path === path) res.write(part.subarray(0, this.stallFile.after));
      else res.end(part);
    });
    app.post<{ Body: SoftwareReport }>('/api/v1/box/software', async (req, reply) => {
      if (!authorized(req.headers.authorization)) return reply.code(401).send({ code: 'unauthorized' });
      if (this.failSoftwareReports > 0) {
        this.failSoftwareReports--;
        return reply.code(503).send({ code: 'unavailable' });
      }
      this.softwareReports.push(req.body);
      return { ok: true };
    });
    let acked = 0;
    app.post<{ Body: { events: { seq: number }[] } }>('/api/v1/uplink/events', async (req) => {
      this.uplinkRequests++;
      const before = acked;
      for (const e of req.body.events) acked = Math.max(acked, e.seq);
      return { ackedSeq: acked, applied: acked - before, duplicates: 0, deferred: 0 };
    });
    app.post('/api/v1/uplink/heartbeat', async () => {
      this.uplinkRequests++;
      return { ackedSeq: acked };
    });
    await app.listen({ port, host: '127.0.0.1' });
    const addr = app.server.address();
    this.port = typeof addr === 'object' && addr ? addr.port : port;
    this.app = app;
    return this;
  }

  /** The cloud goes away: held polls end, the port refuses connections. */
  async stop(): Promise<void> {
    for (const w of [...this.waiters]) w();
    await this.app?.close();
    this.app = null;
  }
}
