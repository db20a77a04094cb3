// The fleet's benchmarks (issue 11), with real processes: `lobby cloud` (and `lobby device`) as children.
// - Propagation: an admin's save in the cloud → the box has applied it (the kiosk sees the new state), beside
//   a raw HTTP round trip to the same cloud (GET /healthz) in the same run.
// - Scale (PostgreSQL): 4,000 simulated boxes holding long polls against one replica: its RSS and CPU idle,
//   beside the same replica before they came; then a province template change, until all 4,000 have applied
//   it, beside 4,000 concurrent plain target reads (the floor: each box reading its target once).
import { randomBytes, scryptSync } from 'node:crypto';
import { Agent, request as httpRequest } from 'node:http';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { MqttClient } from 'mqtt';
import { createAdmin, createBoxClaim, createOffice, createUnit } from '../../cloud/admin/provisioning.js';
import { openDatabase, type Db } from '../../cloud/db/database.js';
import { loadConfigFile } from '../../device/config/load.js';
import { enrollBox } from '../../device/uplink/credential.js';
import { boxToken } from '../../protocol/index.js';
import { desiredPart, type BoxTarget } from '../../protocol/fleet.js';
import type { OfficeStateMsg } from '../../protocol/index.js';
import { backoffDelay } from '../../device/uplink/uplink.js';
import { killed, startDevice } from '../support/box-process.js';
import { cloudApi, loginAdmin, startCloudProcess, type CloudProcess } from '../support/cloud-process.js';
import {
  connectDevice,
  nextMessage,
  officeConfig,
  peripheralsFor,
  request,
  secretOf,
} from '../support/office.js';
import { benchDatabases, cleanupBenchDatabase, type BenchDatabase } from './cloud-ingest.js';
import { mb, ms, now, ratio, summarize, table, type Summary } from './stats.js';

const KEY = Buffer.alloc(32, 9);
const OFFICE = 'xa-thu-nghiem';

/** Admin API calls against a cloud process; anything but 2xx throws. */
async function adminApi(cloud: CloudProcess, token: string, method: string, path: string, body?: unknown) {
  const res = await cloudApi(cloud, () => token)(method, path, body);
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body ?? {};
}

const login = loginAdmin;

/** The office config as a province first saves it: the box's own, less what the cloud sets itself. */
function overridesFrom(configFile: string): Record<string, unknown> {
  const desired = desiredPart(loadConfigFile(configFile));
  const { id: _id, ...office } = desired.office;
  return { ...desired, office, cloud: { retryBaseMs: 20, retryCapSeconds: 1 } };
}

export interface PropagationResult {
  database: string;
  saves: number;
  saveToApplied: Summary;
  rawRoundTrip: Summary;
  ratios: { p50: number; p95: number };
}

export async function benchPropagation(db: BenchDatabase, saves = 40): Promise<PropagationResult> {
  const seed = await openDatabase({ url: db.url, ...(db.schema ? { schema: db.schema } : {}) });
  let cloud: CloudProcess | undefined;
  let box: Awaited<ReturnType<typeof startDevice>> | undefined;
  let kiosk: MqttClient | undefined;
  try {
    cloud = await startCloudProcess({ db, key: KEY });
    const t = Date.now();
    await createUnit(seed.db, { id: 'p', name: 'Tỉnh', kind: 'province', parentId: null }, t);
    await createOffice(seed.db, { id: OFFICE, name: 'Xã Thử Nghiệm', unitId: 'p' }, t);
    const admin = await createAdmin(seed.db, { username: 'bench', unitId: 'p', role: 'admin' }, t);
    const claim = await createBoxClaim(seed.db, OFFICE, t);
    const token = await login(cloud, 'bench', admin.password);

    const dir = mkdtempSync(join(tmpdir(), 'lobby-bench-fleet-'));
    const configFile = join(dir, 'office.json');
    const dataDir = join(dir, 'data');
    const cfg = officeConfig(await peripheralsFor([{ id: 'kiosk-1', role: 'kiosk' }]), {
      cloud: { url: 'http://placeholder.invalid', retryBaseMs: 20, retryCapSeconds: 1 },
    });
    writeFileSync(configFile, JSON.stringify(cfg, null, 2));
    await enrollBox({ configFile, dataDir, cloudUrl: cloud.url, claimCode: claim.claimCode });
    box = await startDevice(configFile, dataDir);
    kiosk = await connectDevice(`mqtt://127.0.0.1:${box.port}`, 'kiosk-1', secretOf('kiosk-1'));
    const overrides = overridesFrom(configFile) as { services: { name: string }[] };

    const saveShown = async (name: string): Promise<number> => {
      const o = structuredClone(overrides);
      (o.services[0] as { name: string }).name = name;
      const shown = nextMessage(
        kiosk!,
        'lobby/v1/state/office',
        (_t, b) => (b as OfficeStateMsg).services[0]?.name === name,
        30_000,
      );
      const t0 = now();
      await adminApi(cloud!, token, 'PUT', `/api/v1/fleet/offices/${OFFICE}/config`, { overrides: o });
      await shown;
      return now() - t0;
    };
    for (let i = 0; i < 5; i++) await saveShown(`Văn thư khởi động ${i}`);
    const samples: number[] = [];
    const raw: number[] = [];
    for (let i = 0; i < saves; i++) {
      samples.push(await saveShown(`Văn thư ${i}`));
      const t0 = now();
      const r = await fetch(`${cloud.url}/healthz`);
      await r.text();
      raw.push(now() - t0);
    }
    const s = summarize(samples);
    const r = summarize(raw);
    return {
      database: db.name,
      saves,
      saveToApplied: s,
      rawRoundTrip: r,
      ratios: { p50: s.p50 / r.p50, p95: s.p95 / r.p95 },
    };
  } finally {
    kiosk?.end(true);
    if (box) await killed(box.child);
    if (cloud) await killed(cloud.child);
    await seed.close();
  }
}

export interface ScaleResult {
  boxes: number;
  rssBeforeMb: number;
  rssIdleMb: number;
  cpuIdlePct: number;
  cpuBeforePct: number;
  connectSeconds: number;
  templateSaveMs: number;
  allAppliedSeconds: number;
  rawReadsSeconds: number;
  /** Requests refused or unanswered while the boxes first came (HTTP status → count; 0: no answer). */
  refusedAtConnect: Record<number, number>;
  refusedAtChange: Record<number, number>;
}

/** RSS (kB) and CPU ticks of a process, from /proc. */
function procStats(pid: number): { rssKb: number; ticks: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { rssKb, ticks: Number(fields[11]) + Number(fields[12]) };
}

/** CPU use of a process over `windowMs`, as a percentage of one core (USER_HZ = 100). */
async function cpuOver(pid: number, windowMs: number): Promise<number> {
  const a = procStats(pid).ticks;
  const t0 = now();
  await sleep(windowMs);
  const b = procStats(pid).ticks;
  return (((b - a) * 10) / (now() - t0)) * 100;
}

/** A simulated box: long-polls its target and reports each version applied, as device/fleet does. */
class SimBox {
  version = 0;
  private stopped = false;
  private current: ReturnType<typeof httpRequest> | null = null;
  constructor(
    private readonly base: URL,
    private readonly token: string,
    private readonly agent: Agent,
    private readonly onApplied: (box: SimBox) => void,
  ) {}

  private call(method: string, path: string, body?: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        {
          host: this.base.hostname,
          port: this.base.port,
          method,
          path,
          agent: this.agent,
          headers: {
            authorization: `Bearer ${this.token}`,
            ...(body
              ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }
              : {}),
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
          res.on('error', reject);
        },
      );
      this.current = req;
      req.on('error', reject);
      req.end(body);
    });
  }

  private failures = 0;
  /** Refusals seen (status → count; 0: no answer), for the report. */
  static refused = new Map<number, number>();

  /** As device/fleet's poller: exponential backoff with full jitter, from 1 s up to 60 s. */
  private async backOff(status: number): Promise<void> {
    SimBox.refused.set(status, (SimBox.refused.get(status) ?? 0) + 1);
    this.failures++;
    await sleep(backoffDelay(this.failures, 1000, 60_000));
  }

  async run(): Promise<void> {
    while (!this.stopped) {
      try {
        const r = await this.call('GET', `/api/v1/box/target?version=${this.version}&wait=50`);
        if (r.status === 200) {
          const t = JSON.parse(r.body) as BoxTarget;
          const report = JSON.stringify({
            version: t.version,
            state: 'applied',
            hash: t.hash,
            at: new Date().toISOString(),
          });
          const rep = await this.call('POST', '/api/v1/box/reported', report);
          if (rep.status !== 200) throw new Error(`report ${rep.status}`);
          this.version = t.version;
          this.onApplied(this);
          this.failures = 0;
        } else if (r.status === 204) this.failures = 0;
        else await this.backOff(r.status);
      } catch {
        if (!this.stopped) await this.backOff(0);
      }
    }
  }

  /** One plain read of the target (the raw floor): no wait. */
  async readOnce(): Promise<number> {
    return (await this.call('GET', `/api/v1/box/target?version=${this.version}&wait=0`)).status;
  }

  stop(): void {
    this.stopped = true;
    this.current?.destroy();
  }
}

async function healthz(cloud: CloudProcess): Promise<{ fleet?: { waitingPolls: number } }> {
  return (await (await fetch(`${cloud.url}/healthz`)).json()) as { fleet?: { waitingPolls: number } };
}

export async function benchScale(db: BenchDatabase, boxes = 4000, log = console.log): Promise<ScaleResult> {
  const seed = await openDatabase({ url: db.url, ...(db.schema ? { schema: db.schema } : {}) });
  let cloud: CloudProcess | undefined;
  const sims: SimBox[] = [];
  const agent = new Agent({ keepAlive: true, maxSockets: Infinity });
  try {
    cloud = await startCloudProcess({ db, key: KEY, publicUrl: 'https://motcua.example.gov.vn' });
    const t = Date.now();
    const { offices, secret } = await seedProvince(seed.db, boxes, t);
    const admin = await createAdmin(seed.db, { username: 'bench', unitId: 'p', role: 'admin' }, t);
    const token = await login(cloud, 'bench', admin.password);
    // The province's template holds the whole office config; each office is managed with no overrides.
    const template = templateConfig();
    await adminApi(cloud, token, 'PUT', '/api/v1/fleet/units/p/template', { template });
    const tm = now();
    await inParallel(offices, 16, (o) =>
      adminApi(cloud!, token, 'PUT', `/api/v1/fleet/offices/${o.id}/config`, { overrides: {} }),
    );
    log(`    ${boxes} offices managed in ${((now() - tm) / 1000).toFixed(1)} s`);

    const before = procStats(cloud.child.pid!);
    const cpuBeforePct = await cpuOver(cloud.child.pid!, 3000);

    // The boxes arrive, take version 1 and wait.
    const base = new URL(cloud.url);
    let applied = 0;
    let goal = 1;
    let reached: () => void = () => undefined;
    const onApplied = (b: SimBox) => {
      if (b.version === goal && ++applied === boxes) reached();
    };
    const allAt = (v: number) =>
      new Promise<void>((resolve) => {
        goal = v;
        applied = sims.filter((s) => s.version >= v).length;
        reached = resolve;
        if (applied === boxes) resolve();
      });
    const t0 = now();
    const first = allAt(1);
    for (const o of offices) {
      const s = new SimBox(base, boxToken(`b-${o.id}`, secret), agent, onApplied);
      sims.push(s);
      void s.run();
    }
    await first;
    for (;;) {
      const h = await healthz(cloud);
      if ((h.fleet?.waitingPolls ?? 0) >= boxes) break;
      await sleep(100);
    }
    const connectSeconds = (now() - t0) / 1000;
    const refusedAtConnect = Object.fromEntries(SimBox.refused);
    SimBox.refused.clear();
    log(`    ${boxes} boxes connected, applied version 1 and waiting in ${connectSeconds.toFixed(1)} s`);
    await sleep(2000);
    const cpuIdlePct = await cpuOver(cloud.child.pid!, 10_000);
    const idle = procStats(cloud.child.pid!);

    // The floor: every box reads its target once, at once (no wait): 204 each.
    const tr = now();
    const readers = offices.map(
      (o) => new SimBox(base, boxToken(`b-${o.id}`, secret), agent, () => undefined),
    );
    for (const r of readers) r.version = 1;
    await inParallel(readers, boxes, (r) => r.readOnce());
    const rawReadsSeconds = (now() - tr) / 1000;

    // A province-wide change.
    template.office = { ...template.office, announceRepeat: 3 };
    SimBox.refused.clear();
    const done = allAt(2);
    const ts = now();
    await adminApi(cloud, token, 'PUT', '/api/v1/fleet/units/p/template', { template });
    const templateSaveMs = now() - ts;
    await done;
    const allAppliedSeconds = (now() - ts) / 1000;
    return {
      boxes,
      rssBeforeMb: before.rssKb / 1024,
      rssIdleMb: idle.rssKb / 1024,
      cpuIdlePct,
      cpuBeforePct,
      connectSeconds,
      templateSaveMs,
      allAppliedSeconds,
      rawReadsSeconds,
      refusedAtConnect,
      refusedAtChange: Object.fromEntries(SimBox.refused),
    };
  } finally {
    for (const s of sims) s.stop();
    agent.destroy();
    if (cloud) await killed(cloud.child);
    await seed.close();
  }
}

/**
 * A province `p` of 40 communes with `boxes` offices, one enrolled box each (`b-o<i>`). Box credentials: one
 * secret for all, hashed with scrypt N=1024 (the cloud verifies the cost the hash names), so 4,000 first
 * logins take seconds; a real fleet's cost N=16384 makes each first login ~50 ms of CPU once per box per
 * replica start, which the benches leave out.
 */
export async function seedProvince(db: Db, boxes: number, t: number) {
  await createUnit(db, { id: 'p', name: 'Tỉnh', kind: 'province', parentId: null }, t);
  const communes = 40;
  for (let c = 0; c < communes; c++)
    await createUnit(db, { id: `c${c}`, name: `Xã ${c}`, kind: 'commune', parentId: 'p' }, t);
  const secret = 'bench-secret-0123456789abcdef';
  const cheapHash = cheapScrypt(secret);
  const offices = Array.from({ length: boxes }, (_, i) => ({ id: `o${i}`, unit: `c${i % communes}` }));
  for (let i = 0; i < offices.length; i += 500) {
    const chunk = offices.slice(i, i + 500);
    await db
      .insertInto('offices')
      .values(
        chunk.map((o) => ({
          id: o.id,
          unit_id: o.unit,
          name: `Một cửa ${o.id}`,
          timezone: 'Asia/Ho_Chi_Minh',
          created_at: t,
        })),
      )
      .execute();
    await db
      .insertInto('boxes')
      .values(
        chunk.map((o) => ({
          id: `b-${o.id}`,
          office_id: o.id,
          secret_hash: cheapHash,
          claim_hash: null,
          claim_expires_at: null,
          enrolled_at: t,
          revoked_at: null,
          acked_seq: 0,
          last_event_at: null,
          heartbeat: null,
          heartbeat_at: null,
          created_at: t,
        })),
      )
      .execute();
  }
  return { offices, secret };
}

function cheapScrypt(secret: string): string {
  // cloud/auth/secrets.ts's format with a lower cost: scrypt$N$r$p$salt$hash.
  const salt = randomBytes(16);
  const key = scryptSync(secret, salt, 32, { N: 1024, r: 8, p: 1 });
  return `scrypt$1024$8$1$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

async function inParallel<T>(items: T[], width: number, fn: (t: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) await fn(items[next++] as T);
    }),
  );
}

/** A whole office config as a province template: services, counters, hours (no office id, no peripherals). */
function templateConfig(): { office: Record<string, unknown> } & Record<string, unknown> {
  const cfg = desiredPart(officeConfig([]));
  const { id: _id, name: _name, timezone: _tz, ...office } = cfg.office;
  return { ...cfg, office, cloud: { retryBaseMs: 20, retryCapSeconds: 1 } };
}

function unboxRows(list: UnboxResult[]): string[][] {
  return list.map((u) => [
    `fleet: unbox → claimed → first ticket (${u.database})`,
    `${(u.firstTicketMs / 1000).toFixed(1)} s`,
    `configured box start → ticket ${(u.configuredStartMs / 1000).toFixed(1)} s`,
    ratio(u.firstTicketMs / u.configuredStartMs),
    '-',
    '-',
  ]);
}

export function fleetRows(p: PropagationResult[], s: ScaleResult | null): string[][] {
  const rows: string[][] = [];
  for (const r of p) {
    rows.push([
      `fleet: save → box applied p50 (${r.database})`,
      ms(r.saveToApplied.p50),
      `raw HTTP RT ${ms(r.rawRoundTrip.p50)}`,
      ratio(r.ratios.p50),
      '-',
      '-',
    ]);
    rows.push([
      `fleet: save → box applied p95 (${r.database})`,
      ms(r.saveToApplied.p95),
      `raw HTTP RT ${ms(r.rawRoundTrip.p95)}`,
      ratio(r.ratios.p95),
      '< 2 s',
      r.saveToApplied.p95 < 2000 ? 'yes' : 'NO',
    ]);
  }
  if (s) {
    rows.push([
      `fleet: ${s.boxes} long polls, replica RSS`,
      mb(s.rssIdleMb * 1024),
      `no polls ${mb(s.rssBeforeMb * 1024)}`,
      ratio(s.rssIdleMb / s.rssBeforeMb),
      '< 500 MB',
      s.rssIdleMb < 500 ? 'yes' : 'NO',
    ]);
    rows.push([
      `fleet: ${s.boxes} long polls, replica CPU idle`,
      `${s.cpuIdlePct.toFixed(1)}%`,
      `no polls ${s.cpuBeforePct.toFixed(1)}%`,
      '-',
      '-',
      '-',
    ]);
    rows.push([
      `fleet: province template → all ${s.boxes} applied`,
      `${s.allAppliedSeconds.toFixed(1)} s`,
      `${s.boxes} plain target reads ${s.rawReadsSeconds.toFixed(1)} s`,
      ratio(s.allAppliedSeconds / s.rawReadsSeconds),
      '< 60 s',
      s.allAppliedSeconds < 60 ? 'yes' : 'NO',
    ]);
  }
  return rows;
}

export interface UnboxResult {
  database: string;
  /** Process start → claim page up → claimed → config received → box started → first ticket (ms, cumulative). */
  pageUpMs: number;
  claimedMs: number;
  startedMs: number;
  firstTicketMs: number;
  /** The floor: the same box restarted with its config in place, start → first ticket. */
  configuredStartMs: number;
}

/**
 * Unbox to first ticket: a box on an empty data directory with no config, claimed (as a technician would,
 * through its page, with the QR text) against a running cloud whose office config is saved, until a kiosk
 * has its first ticket. Beside it, the same box restarted with its config in place.
 */
export async function benchUnbox(db: BenchDatabase): Promise<UnboxResult> {
  const seed = await openDatabase({ url: db.url, ...(db.schema ? { schema: db.schema } : {}) });
  let cloud: CloudProcess | undefined;
  let box: Awaited<ReturnType<typeof startDevice>> | undefined;
  try {
    cloud = await startCloudProcess({ db, key: KEY });
    const t = Date.now();
    await createUnit(seed.db, { id: 'p', name: 'Tỉnh', kind: 'province', parentId: null }, t);
    await createOffice(seed.db, { id: OFFICE, name: 'Xã Thử Nghiệm', unitId: 'p' }, t);
    const admin = await createAdmin(seed.db, { username: 'bench', unitId: 'p', role: 'admin' }, t);
    const token = await login(cloud, 'bench', admin.password);
    const desired = desiredPart(officeConfig(await peripheralsFor([{ id: 'kiosk-1', role: 'kiosk' }])));
    const { id: _id, ...office } = desired.office;
    await adminApi(cloud, token, 'PUT', `/api/v1/fleet/offices/${OFFICE}/config`, {
      overrides: { ...desired, office, cloud: { retryBaseMs: 20, retryCapSeconds: 1 } },
    });
    const claim = (await adminApi(cloud, token, 'POST', `/api/v1/offices/${OFFICE}/boxes`)) as {
      claimUri: string;
    };

    const dir = mkdtempSync(join(tmpdir(), 'lobby-bench-unbox-'));
    const configFile = join(dir, 'office.yaml');
    const dataDir = join(dir, 'data');
    const args = ['--mqtt-port', '0', '--http-port', '0'];
    const env = { LOBBY_HTTP_HOST: '127.0.0.1' };
    let pageUp: (port: number) => void = () => undefined;
    const page = new Promise<number>((r) => (pageUp = r));
    const t0 = now();
    const starting = startDevice(configFile, dataDir, {
      args,
      env,
      startTimeoutMs: 120_000,
      onLog: (l) => {
        if (String(l.msg).startsWith('box unclaimed')) pageUp(l.httpPort as number);
      },
    });
    const port = await page;
    const pageUpMs = now() - t0;
    const res = await fetch(`http://127.0.0.1:${port}/claim`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ code: claim.claimUri }).toString(),
    });
    if (res.status !== 200) throw new Error(`claim refused: ${await res.text()}`);
    const claimedMs = now() - t0;
    box = await starting;
    const startedMs = now() - t0;
    const firstTicket = async () => {
      const kiosk = await connectDevice(`mqtt://127.0.0.1:${box!.port}`, 'kiosk-1', secretOf('kiosk-1'));
      try {
        const r = await request(kiosk, 'lobby/v1/tickets/request', { service: 'van-thu' });
        if (r.status !== 'ok') throw new Error(`ticket refused: ${JSON.stringify(r.error)}`);
      } finally {
        kiosk.end(true);
      }
    };
    await firstTicket();
    const firstTicketMs = now() - t0;

    await killed(box.child);
    const t1 = now();
    box = await startDevice(configFile, dataDir, { args, env });
    await firstTicket();
    const configuredStartMs = now() - t1;
    return { database: db.name, pageUpMs, claimedMs, startedMs, firstTicketMs, configuredStartMs };
  } finally {
    if (box) await killed(box.child);
    if (cloud) await killed(cloud.child);
    await seed.close();
  }
}

export interface FleetBenchResults {
  unbox: UnboxResult[];
  propagation: PropagationResult[];
  scale: ScaleResult | null;
}

/** `node dist/test/bench/run.js fleet`, and part of `npm run bench`. Scale runs on PostgreSQL only. */
export async function runFleetBenches(pgAvailable: boolean): Promise<FleetBenchResults> {
  const dbs = benchDatabases(pgAvailable);
  const propagation: PropagationResult[] = [];
  const unbox: UnboxResult[] = [];
  let scale: ScaleResult | null = null;
  try {
    for (const db of dbs) {
      console.log(`  ${db.name}: unbox → claim → first ticket…`);
      unbox.push(await benchUnbox({ ...db, ...(db.schema ? { schema: `${db.schema}_u` } : {}) }));
      if (db.schema) await cleanupBenchDatabase({ ...db, schema: `${db.schema}_u` }).catch(() => undefined);
      console.log(`  ${db.name}: save → applied, ${PROPAGATION_SAVES} saves…`);
      propagation.push(await benchPropagation(db, PROPAGATION_SAVES));
    }
    const pgDb = dbs.find((d) => d.name === 'postgres');
    if (pgDb) {
      const scaleDb = { ...pgDb, schema: `${pgDb.schema}_fleet` };
      console.log(`  postgres: ${SCALE_BOXES} simulated boxes long-polling one replica…`);
      try {
        scale = await benchScale(scaleDb, SCALE_BOXES);
      } finally {
        await cleanupBenchDatabase(scaleDb).catch(() => undefined);
      }
    } else console.log('  PostgreSQL not reachable: the scale rows are SKIPPED');
  } finally {
    for (const db of dbs) await cleanupBenchDatabase(db).catch(() => undefined);
  }
  console.log(
    '\n' +
      table(
        ['fleet benchmark', 'ours', 'baseline (same run)', 'ratio', 'target', 'meets'],
        [...unboxRows(unbox), ...fleetRows(propagation, scale)],
      ),
  );
  if (scale)
    console.log(
      `  scale: ${scale.boxes} boxes connected and on version 1 in ${scale.connectSeconds.toFixed(1)} s; ` +
        `the template save answered in ${ms(scale.templateSaveMs)} (re-resolving ${scale.boxes} offices); ` +
        `refused while they came ${JSON.stringify(scale.refusedAtConnect)}, during the change ${JSON.stringify(scale.refusedAtChange)}`,
    );
  for (const u of unbox)
    console.log(
      `  unbox (${u.database}): claim page up ${ms(u.pageUpMs)}, claimed ${ms(u.claimedMs)}, ` +
        `config received and box started ${ms(u.startedMs)}, first ticket ${ms(u.firstTicketMs)}`,
    );
  return { unbox, propagation, scale };
}

const PROPAGATION_SAVES = Number(process.env.BENCH_FLEET_SAVES ?? 40);
const SCALE_BOXES = Number(process.env.BENCH_FLEET_BOXES ?? 4000);
