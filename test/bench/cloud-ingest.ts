// Cloud benchmarks 1 and 2: ingest events per second with 1, 4, … boxes uplinking batches over real HTTP at
// once (the load generator, `benchIngestLoad`) beside a raw batched INSERT of the same rows into the same
// database by as many writers, in alternating rounds; and the time to drain a backlog of 30,000 events from a
// box's outbox through the real uplink (got) into the cloud.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { Agent, request } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { sql } from 'kysely';
import { createBoxClaim, createOffice, createUnit } from '../../cloud/admin/provisioning.js';
import { dropPostgresSchema, openDatabase } from '../../cloud/db/database.js';
import { startCloud, type CloudService } from '../../cloud/service.js';
import { EventStore } from '../../device/store/event-store.js';
import { Uplink } from '../../device/uplink/uplink.js';
import { boxToken, type DomainEvent, type EnrollResponse, type EventEnvelope } from '../../protocol/index.js';
import { DEFAULT_COUNTERS, DEFAULT_SERVICES, simulateOfficeDays } from './cloud-events.js';
import { tempDir } from './office-helpers.js';
import { now } from './stats.js';

export interface BenchDatabase {
  name: 'sqlite' | 'postgres';
  url: string;
  schema?: string;
}

export function benchDatabases(pgAvailable: boolean): BenchDatabase[] {
  const pgUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const list: BenchDatabase[] = [{ name: 'sqlite', url: join(tempDir('lobby-bench-cloud-'), 'cloud.db') }];
  if (pgAvailable)
    list.push({ name: 'postgres', url: pgUrl, schema: `bench_${process.pid}_${Date.now() % 100000}` });
  return list;
}

export async function cleanupBenchDatabase(db: BenchDatabase): Promise<void> {
  if (db.schema) await dropPostgresSchema(db.url, db.schema);
}

const quiet = pino({ level: 'silent' });

/** What the benchmarks use of a cloud: its address and its database, and a way to stop it. */
type BenchCloud = Pick<CloudService, 'url' | 'store' | 'close'>;

/** A table shaped like `events` with no index but its key: where the raw floor writes. */
async function createRawTable(cloud: BenchCloud, name: string): Promise<void> {
  await sql`CREATE TABLE ${sql.table(name)} (box_id text NOT NULL, seq bigint NOT NULL, office_id text NOT NULL, type text NOT NULL, at bigint NOT NULL, day text NOT NULL, data text NOT NULL, received_at bigint NOT NULL, PRIMARY KEY (box_id, seq))`.execute(
    cloud.store.db,
  );
}

/** The raw floor: the same rows as ingest, multi-row INSERTs of 500 in one transaction, no checks, no rollups. */
async function rawInsert(
  cloud: BenchCloud,
  table: string,
  events: EventEnvelope[],
  officeId: string,
  boxId = 'raw',
): Promise<void> {
  const rows = events.map((e) => ({
    box_id: boxId,
    seq: e.seq,
    office_id: officeId,
    type: e.type,
    at: Date.parse(e.at),
    day: e.day,
    data: JSON.stringify(e.data),
    received_at: Date.now(),
  }));
  await cloud.store.db.transaction().execute(async (tx) => {
    for (let j = 0; j < rows.length; j += 500)
      await tx
        .insertInto(table as 'events')
        .values(rows.slice(j, j + 500))
        .execute();
  });
}

/**
 * A cloud in a process of its own (`lobby cloud run`), as deployed: the boxes' load generator does not share
 * its event loop. PostgreSQL only (two processes writing one SQLite file would measure SQLite's locking).
 * The bench keeps its own connection for setup and the raw floor.
 */
async function cloudProcess(db: BenchDatabase): Promise<BenchCloud> {
  const store = await openDatabase({ url: db.url, ...(db.schema ? { schema: db.schema } : {}) });
  const port = await new Promise<number>((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
  const child = spawn(
    process.execPath,
    [
      fileURLToPath(new URL('../../cli/lobby.js', import.meta.url)),
      'cloud',
      'run',
      '--db',
      db.url,
      ...(db.schema ? ['--db-schema', db.schema] : []),
      '--port',
      String(port),
      '--host',
      '127.0.0.1',
    ],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, LOBBY_CLOUD_KEY: randomBytes(32).toString('base64url'), LOG_LEVEL: 'warn' },
    },
  );
  const url = `http://127.0.0.1:${port}`;
  const close = async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
    await store.close();
  };
  for (const t0 = Date.now(); ;) {
    const up = await fetch(`${url}/healthz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (up) break;
    if (child.exitCode !== null || Date.now() - t0 > 30_000) {
      await close();
      throw new Error(`the cloud process did not start (exit ${child.exitCode})`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, store, close };
}

async function cloudOn(db: BenchDatabase): Promise<CloudService> {
  return startCloud({
    databaseUrl: db.url,
    ...(db.schema ? { databaseSchema: db.schema } : {}),
    port: 0,
    host: '127.0.0.1',
    log: quiet,
  });
}

async function enroll(cloud: BenchCloud, officeId: string): Promise<EnrollResponse> {
  const t = Date.now();
  if (!(await cloud.store.db.selectFrom('units').select('id').where('id', '=', 'p').executeTakeFirst()))
    await createUnit(cloud.store.db, { id: 'p', name: 'Tỉnh', kind: 'province', parentId: null }, t);
  await createOffice(cloud.store.db, { id: officeId, name: officeId, unitId: 'p' }, t);
  const claim = await createBoxClaim(cloud.store.db, officeId, t);
  const r = await fetch(`${cloud.url}/api/v1/enroll`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ claimCode: claim.claimCode, officeId }),
  });
  return (await r.json()) as EnrollResponse;
}

/** Office days until at least `n` events (dossier codes under `agency`: one per office keeps them apart). */
export function eventsFor(n: number, seed: number, agency?: string): EventEnvelope[] {
  const days: string[] = [];
  let events: EventEnvelope[] = [];
  for (let t = Date.parse('2026-01-05T00:00:00Z'); events.length < n; t += 86_400_000 * 8) {
    for (let k = 0; k < 8; k++) days.push(new Date(t + k * 86_400_000).toISOString().slice(0, 10));
    events = simulateOfficeDays(days, {
      seed,
      tickets: 250,
      services: DEFAULT_SERVICES,
      counters: DEFAULT_COUNTERS,
      ...(agency ? { agency } : {}),
    });
  }
  return events.slice(0, n);
}

export interface IngestLoadResult {
  database: string;
  boxes: number;
  /** Timed events, all boxes together (each box's first batch is a warm-up, not counted). */
  events: number;
  batchSize: number;
  oursPerSec: number;
  rawPerSec: number;
  ratio: number;
}

/**
 * The load generator: `boxes` boxes, each enrolled for an office of its own with its own office days, uplink
 * batches of `batchSize` over real HTTP to one cloud, all at once, each box one batch at a time as the uplink
 * does (the next when the last is acknowledged). Beside it, the raw floor: the same rows inserted by as many
 * concurrent writers into a table shaped like `events`, one multi-row INSERT transaction per batch, no checks,
 * no rollups. Ours and raw alternate in rounds of `batchesPerRound` batches per box, so both see the same
 * machine. Request bodies are serialised before the clock starts: a box does that on its own CPU, not the
 * cloud's. Each box's first batch (its credential's scrypt, the first statements) is a warm-up.
 */
interface LoadBox {
  officeId: string;
  boxId: string;
  auth: string;
  batches: { events: EventEnvelope[]; body: Buffer }[];
}

/**
 * One uplink POST on a kept-alive connection, the body already encoded: the load generator's own CPU per
 * request stays small (node:http, not fetch), so what it measures is the cloud's.
 */
function post(
  agent: Agent,
  url: string,
  auth: string,
  body: Buffer,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': body.length, authorization: auth },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

export async function benchIngestLoad(
  db: BenchDatabase,
  o: { boxes: number; eventsPerBox: number; batchSize: number; batchesPerRound?: number },
): Promise<IngestLoadResult> {
  // PostgreSQL: the cloud in its own process, as deployed (BENCH_INGEST_INPROCESS=1: in this one).
  const cloud: BenchCloud =
    db.name === 'postgres' && process.env.BENCH_INGEST_INPROCESS !== '1'
      ? await cloudProcess(db)
      : await cloudOn(db);
  const agent = new Agent({ keepAlive: true, maxSockets: o.boxes });
  try {
    const perRound = o.batchesPerRound ?? 4;
    const boxes: LoadBox[] = [];
    for (let b = 0; b < o.boxes; b++) {
      const officeId = `load-${o.boxes}-${b + 1}`;
      const box = await enroll(cloud, officeId);
      const events = eventsFor(o.eventsPerBox, 100 + b, `agency-${o.boxes}-${b + 1}`);
      const batches: LoadBox['batches'] = [];
      for (let i = 0; i < events.length; i += o.batchSize) {
        const slice = events.slice(i, i + o.batchSize);
        batches.push({ events: slice, body: Buffer.from(JSON.stringify({ events: slice })) });
      }
      boxes.push({ officeId, boxId: box.boxId, auth: `Bearer ${boxToken(box.boxId, box.secret)}`, batches });
    }
    await createRawTable(cloud, `raw_load_${o.boxes}`);
    const send = async (box: LoadBox, k: number) => {
      const batch = box.batches[k];
      if (!batch) return 0;
      const res = await post(agent, `${cloud.url}/api/v1/uplink/events`, box.auth, batch.body);
      const ack = JSON.parse(res.text) as { applied: number };
      if (ack.applied !== batch.events.length)
        throw new Error(`box ${box.boxId}: applied ${ack.applied} of ${batch.events.length} (${res.status})`);
      return batch.events.length;
    };
    const raw = async (box: LoadBox, k: number) => {
      const batch = box.batches[k];
      if (!batch) return 0;
      await rawInsert(cloud, `raw_load_${o.boxes}`, batch.events, box.officeId, box.boxId);
      return batch.events.length;
    };
    // Each box's batches from..to, one after the other; all boxes at once.
    const round = async (f: typeof send, from: number, to: number) => {
      const t0 = now();
      const counts = await Promise.all(
        boxes.map(async (box) => {
          let n = 0;
          for (let k = from; k < to; k++) n += await f(box, k);
          return n;
        }),
      );
      return { ms: now() - t0, events: counts.reduce((a, b) => a + b, 0) };
    };
    await round(send, 0, 1);
    await round(raw, 0, 1);
    const most = Math.max(...boxes.map((b) => b.batches.length));
    let oursMs = 0;
    let rawMs = 0;
    let events = 0;
    for (let k = 1; k < most; k += perRound) {
      const r = await round(raw, k, k + perRound);
      const ours = await round(send, k, k + perRound);
      rawMs += r.ms;
      oursMs += ours.ms;
      events += ours.events;
    }
    const oursPerSec = (events * 1000) / oursMs;
    const rawPerSec = (events * 1000) / rawMs;
    return {
      database: db.name,
      boxes: o.boxes,
      events,
      batchSize: o.batchSize,
      oursPerSec,
      rawPerSec,
      ratio: oursPerSec / rawPerSec,
    };
  } finally {
    agent.destroy();
    await cloud.close();
  }
}

export interface DrainResult {
  database: string;
  events: number;
  batchSize: number;
  drainMs: number;
  eventsPerSec: number;
  /** The same rows inserted raw into the cloud database, batched alike. */
  rawInsertMs: number;
}

export async function benchDrain(
  db: BenchDatabase,
  o: { events: number; batchSize: number },
): Promise<DrainResult> {
  const cloud = await cloudOn(db);
  const dir = tempDir('lobby-bench-drain-');
  const store = new EventStore(join(dir, 'events.db'));
  let uplink: Uplink | null = null;
  try {
    const box = await enroll(cloud, 'bench-drain');
    const events = eventsFor(o.events, 8);
    // The backlog: the box log and outbox as the box writes them, one commit per office day.
    const byDay = new Map<string, EventEnvelope[]>();
    for (const e of events) byDay.set(e.day, [...(byDay.get(e.day) ?? []), e]);
    for (const [day, list] of byDay)
      store.append([
        {
          events: list.map((e) => ({ type: e.type, data: e.data }) as DomainEvent),
          at: Date.parse(list[0]!.at),
          day,
          source: null,
        },
      ]);
    if (store.outboxBacklog().events !== events.length) throw new Error('backlog not written');

    const t0 = now();
    uplink = new Uplink({
      store,
      config: {
        url: cloud.url,
        batchSize: o.batchSize,
        heartbeatSeconds: 3600,
        backlogAlarmEvents: 10_000_000,
        minFreeDiskMb: 0,
        retryBaseMs: 100,
        retryCapSeconds: 5,
      },
      credential: {
        cloudUrl: cloud.url,
        boxId: box.boxId,
        officeId: 'bench-drain',
        secret: box.secret,
        enrolledAt: '',
      },
      officeId: 'bench-drain',
      version: 'bench',
      dataDir: dir,
      log: quiet,
      health: () => ({ day: null, peripherals: [] }),
      idleMs: 5,
    });
    uplink.start();
    while (store.outboxBacklog().events > 0) await new Promise((r) => setTimeout(r, 5));
    const drainMs = now() - t0;
    await uplink.stop();
    uplink = null;

    await createRawTable(cloud, 'raw_drain');
    const r0 = now();
    for (let i = 0; i < events.length; i += o.batchSize) {
      await rawInsert(cloud, 'raw_drain', events.slice(i, i + o.batchSize), 'x');
    }
    const rawInsertMs = now() - r0;
    return {
      database: db.name,
      events: events.length,
      batchSize: o.batchSize,
      drainMs,
      eventsPerSec: (events.length * 1000) / drainMs,
      rawInsertMs,
    };
  } finally {
    await uplink?.stop();
    store.close();
    await cloud.close();
  }
}
