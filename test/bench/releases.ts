// The rollout benchmark (issue 12): the time for a release to reach 4,000 simulated boxes in three waves
// (1 box, then 5 %, then everyone; each wave starting when the previous is all healthy), and the cloud's
// outbound bytes for it. The cloud runs in this process (the software poll source and the long-poll wake-ups
// are called directly until GET /api/v1/box/poll lands); every download and report is real HTTP with the
// box's credential. The bundle is a small fake (random bytes, so it does not compress): say so beside the
// figures, and scale the bundle share by the real size (~62 MB) for a real rollout.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { Agent, request as httpRequest, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { uploadRelease } from '../../cli/release-upload.js';
import { createAdmin } from '../../cloud/admin/provisioning.js';
import { limiter } from '../../cloud/fleet/poll.js';
import type { TargetWakeups } from '../../cloud/fleet/wakeups.js';
import type { BoxPollSource } from '../../cloud/fleet/poll.js';
import { softwarePollSource } from '../../cloud/releases/poll-source.js';
import { startCloud, type CloudService } from '../../cloud/service.js';
import type { SoftwareTarget } from '../../protocol/fleet-updates.js';
import { boxToken } from '../../protocol/index.js';
import { loadReleaseKey, packBundle } from '../../release/bundle.js';
import { cleanupBenchDatabase, type BenchDatabase } from './cloud-ingest.js';
import { backoffDelay } from '../../device/uplink/uplink.js';
import { seedProvince } from './fleet.js';
import { now } from './stats.js';

export interface RolloutResult {
  database: string;
  boxes: number;
  bundleBytes: number;
  waves: number[];
  /** From the admin's POST /api/v1/rollouts to the last box's healthy report. */
  seconds: number;
  /** Per wave: from its start to its last box healthy. */
  waveSeconds: number[];
  /** Bytes the simulated boxes received from the cloud (downloads and report answers, headers included). */
  outboundBytes: number;
  /** Of which the three parts of the bundle (tarball, manifest, signature) per box, as bodies. */
  bundlePartBytes: number;
  requests: number;
  /** Requests retried after a reset or an error (the boxes back off like the box's uplink). */
  retries: number;
}

const VERSION = '2.0.0';

function get(url: URL, token: string, agent: Agent, seen: Set<Socket>, sink?: (c: Buffer) => void) {
  return new Promise<{ status: number; bytes: number }>((resolve, reject) => {
    const req = httpRequest(
      url,
      { agent, headers: { authorization: `Bearer ${token}` } },
      (res: IncomingMessage) => {
        seen.add(res.socket);
        let bytes = 0;
        res.on('data', (c: Buffer) => {
          bytes += c.length;
          sink?.(c);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

function post(url: URL, token: string, agent: Agent, seen: Set<Socket>, body: unknown) {
  const payload = Buffer.from(JSON.stringify(body));
  return new Promise<number>((resolve, reject) => {
    const req = httpRequest(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'content-length': String(payload.length),
        },
      },
      (res) => {
        seen.add(res.socket);
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** A box's update agent reduced to its traffic: poll, download the three parts, check the hash, report. */
class SimUpdater {
  held = '';
  healthy = false;
  private readonly gone = new AbortController();
  constructor(
    readonly id: string,
    private readonly token: string,
    private readonly base: URL,
    private readonly agent: Agent,
    private readonly seen: Set<Socket>,
    private readonly source: BoxPollSource,
    private readonly wakeups: TargetWakeups,
    private readonly onHealthy: () => void,
    /** The poll route's bound on woken polls reading at once (fleet/routes.ts: 5 per replica). */
    private readonly readsAtOnce: <T>(fn: () => Promise<T>) => Promise<T>,
    readonly counters: { requests: number; bundlePartBytes: number; retries: number },
  ) {}

  stop(): void {
    this.gone.abort();
  }

  async run(): Promise<void> {
    while (!this.gone.signal.aborted) {
      const waiter = this.wakeups.waiter(this.id);
      try {
        let read: { value: unknown; news: boolean } = { value: null, news: false };
        await this.retrying(async () => {
          read = await this.readsAtOnce(() =>
            this.source.read({
              boxId: this.id,
              officeId: '',
              query: { version: 0, commands: 0, software: this.held },
              now: Date.now(),
            }),
          );
        });
        const { value, news } = read;
        if (news) {
          const t = value as SoftwareTarget | null;
          this.held = t?.rolloutId ?? '';
          if (t) await this.update(t);
          continue;
        }
        await waiter.wait(50_000, this.gone.signal);
      } finally {
        waiter.done();
      }
    }
  }

  /** Like the box: a failed request (a reset under load, a 503) is retried with backoff and jitter. */
  private async retrying(fn: () => Promise<void>): Promise<void> {
    for (let failures = 1; ; failures++) {
      try {
        return await fn();
      } catch (err) {
        this.counters.retries++;
        if (failures >= 20) throw err;
        await sleep(backoffDelay(failures, 200, 5_000));
      }
    }
  }

  private async update(t: SoftwareTarget): Promise<void> {
    const u = (p: string) => new URL(p, this.base);
    const report = (state: string) =>
      this.retrying(async () => {
        this.counters.requests++;
        const status = await post(u('/api/v1/box/software'), this.token, this.agent, this.seen, {
          rolloutId: t.rolloutId,
          version: t.version,
          running: state === 'healthy' ? t.version : '1.0.0',
          state,
          at: new Date().toISOString(),
        });
        if (status !== 200) throw new Error(`report ${state}: ${status}`);
      });
    await report('downloading');
    for (const url of [t.manifestUrl, t.signatureUrl])
      await this.retrying(async () => {
        const r = await get(u(url), this.token, this.agent, this.seen);
        this.counters.requests++;
        this.counters.bundlePartBytes += r.bytes;
        if (r.status !== 200) throw new Error(`${url}: ${r.status}`);
      });
    await this.retrying(async () => {
      const hash = createHash('sha256');
      const r = await get(u(t.bundleUrl), this.token, this.agent, this.seen, (c) => hash.update(c));
      this.counters.requests++;
      this.counters.bundlePartBytes += r.bytes;
      if (r.status !== 200 || hash.digest('hex') !== t.sha256) throw new Error(`download: ${r.status}`);
    });
    await report('installed');
    await report('switching');
    await report('healthy');
    this.healthy = true;
    this.onHealthy();
  }
}

export async function benchRollout(
  db: BenchDatabase,
  boxes = 4000,
  bundleKb = 256,
  log = console.log,
): Promise<RolloutResult> {
  const dir = mkdtempSync(join(tmpdir(), 'lobby-bench-releases-'));
  const key = loadReleaseKey(undefined, join(dir, 'keys'));
  const stage = join(dir, 'stage');
  mkdirSync(stage, { recursive: true });
  writeFileSync(join(stage, 'box.bin'), randomBytes(bundleKb * 1024));
  const out = join(dir, 'release-out');
  const { manifest } = packBundle({
    stageDir: stage,
    outDir: out,
    version: VERSION,
    platform: 'linux-arm64',
    node: process.versions.node,
    key,
  });
  let cloud: CloudService | undefined;
  const sims: SimUpdater[] = [];
  const agent = new Agent({ keepAlive: true, maxSockets: Infinity });
  const seen = new Set<Socket>();
  try {
    cloud = await startCloud({
      databaseUrl: db.url,
      ...(db.schema ? { databaseSchema: db.schema } : {}),
      port: 0,
      host: '127.0.0.1',
      log: pino({ level: 'warn' }),
      settings: {
        masterKey: randomBytes(32),
        releasePublicKey: key.publicPem,
        releasesDir: join(dir, 'releases'),
      },
    });
    const t = Date.now();
    const { offices, secret } = await seedProvince(cloud.store.db, boxes, t);
    const admin = await createAdmin(cloud.store.db, { username: 'bench', unitId: 'p', role: 'admin' }, t);
    const login = await fetch(`${cloud.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'bench', password: admin.password }),
    });
    const token = ((await login.json()) as { token: string }).token;
    await uploadRelease({ cloud: cloud.url, token, dir: out, version: VERSION, notes: 'Bản thử nghiệm' });

    const source = softwarePollSource(cloud.store.db, 'linux-arm64');
    const wakeups = cloud.ctx.fleet as unknown as TargetWakeups;
    const counters = { requests: 0, bundlePartBytes: 0, retries: 0 };
    const readsAtOnce = limiter(5);
    let healthy = 0;
    let allHealthy: () => void = () => undefined;
    const done = new Promise<void>((r) => (allHealthy = r));
    const healthyAt: number[] = [];
    const base = new URL(cloud.url);
    for (const o of offices) {
      const s = new SimUpdater(
        `b-${o.id}`,
        boxToken(`b-${o.id}`, secret),
        base,
        agent,
        seen,
        source,
        wakeups,
        () => {
          healthyAt.push(now());
          if (++healthy === boxes) allHealthy();
        },
        readsAtOnce,
        counters,
      );
      sims.push(s);
      void s.run().catch((err: Error) => log(`    box ${s.id}: ${err.message}`));
    }
    // Every box holds its (simulated) long poll before the rollout starts.
    while (wakeups.waiting < boxes) await new Promise((r) => setTimeout(r, 50));
    const t0 = now();
    const res = await fetch(`${cloud.url}/api/v1/rollouts`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        version: VERSION,
        unitId: 'p',
        waves: [{ count: 1 }, { percent: 5 }, { percent: 100 }],
      }),
    });
    if (res.status !== 201) throw new Error(`rollout: ${res.status} ${await res.text()}`);
    const rollout = (await res.json()) as { id: string; progress: { size: number }[] };
    await done;
    const seconds = (now() - t0) / 1000;
    const p = (await (
      await fetch(`${cloud.url}/api/v1/rollouts/${rollout.id}`, {
        headers: { authorization: `Bearer ${token}` },
      })
    ).json()) as { state: string; progress: { size: number; startedAt: string }[] };
    const sizes = p.progress.map((w) => w.size);
    // Wave k's boxes are the healthy reports from sum(sizes before k) to sum(sizes through k).
    const waveSeconds: number[] = [];
    let from = t0;
    let seenSoFar = 0;
    for (const size of sizes) {
      seenSoFar += size;
      const end = healthyAt[seenSoFar - 1] ?? from;
      waveSeconds.push((end - from) / 1000);
      from = end;
    }
    let outboundBytes = 0;
    for (const s of seen) outboundBytes += s.bytesRead;
    log(
      `    ${boxes} boxes healthy on ${VERSION} in ${seconds.toFixed(1)} s (waves ${sizes.join(' / ')}: ` +
        `${waveSeconds.map((w) => w.toFixed(1)).join(' / ')} s); rollout ${p.state}; ` +
        `${(outboundBytes / 1024 / 1024).toFixed(1)} MiB out for a ${bundleKb} KiB bundle; ${counters.retries} retries`,
    );
    return {
      database: db.name,
      boxes,
      bundleBytes: manifest.size,
      waves: sizes,
      seconds,
      waveSeconds,
      outboundBytes,
      bundlePartBytes: counters.bundlePartBytes,
      requests: counters.requests,
      retries: counters.retries,
    };
  } finally {
    for (const s of sims) s.stop();
    agent.destroy();
    if (cloud) {
      const closing = cloud.close();
      cloud.app.server.closeAllConnections();
      await closing;
    }
    await cleanupBenchDatabase(db);
  }
}
