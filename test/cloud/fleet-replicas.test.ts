// Two real `lobby cloud` processes on one PostgreSQL database, as behind a load balancer: a save on one wakes
// within a second a box's long poll held by the other; the replicas' LISTEN connections killed
// (pg_terminate_backend) come back by themselves, a save made while they were away still answers the waiting
// poll, and later saves wake polls again; concurrent saves of one office on both replicas give versions 1..n
// without a gap or a duplicate, and of two saves based on the same revision exactly one wins (the other 409).
// PostgreSQL only: SQLite is one node.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdmin, createBoxClaim, createOffice, createUnit } from '../../cloud/admin/provisioning.js';
import { openDatabase, type CloudDatabase } from '../../cloud/db/database.js';
import { boxToken, type EnrollResponse } from '../../protocol/index.js';
import type { BoxTarget } from '../../protocol/fleet.js';
import { killAllClouds, startCloudProcess } from '../support/cloud-process.js';
import { DATABASES, MASTER_KEY, PG_URL, type TestDatabase } from './helpers.js';

const postgres = DATABASES.find((d) => d.name === 'postgres')!;
/** A replica on a port it picks itself; every replica names the same public URL, so they resolve the same documents. */
async function startReplica(db: TestDatabase): Promise<string> {
  const replica = await startCloudProcess({
    db,
    key: MASTER_KEY,
    publicUrl: 'https://motcua.example.gov.vn',
  });
  return replica.url;
}

async function until<T>(what: string, check: () => Promise<T | false>, timeoutMs = 15_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await check();
    if (v !== false) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface FleetHealth {
  waitingPolls: number;
  listening: boolean;
  listens: number;
}
const health = async (url: string) =>
  ((await (await fetch(`${url}/healthz`)).json()) as { fleet: FleetHealth }).fleet;

describe.skipIf(!postgres.available)(`fleet across two cloud replicas (${postgres.title})`, () => {
  let db: TestDatabase;
  let check: CloudDatabase;
  let a: string;
  let b: string;
  let admin: string;
  let box: string;

  beforeAll(async () => {
    db = postgres.create();
    check = await openDatabase({ url: db.url, schema: db.schema as string });
    const now = Date.now();
    await createUnit(check.db, { id: 'dn', name: 'Đà Nẵng', kind: 'province', parentId: null }, now);
    await createOffice(check.db, { id: 'o-1', name: 'Một cửa số 1', unitId: 'dn' }, now);
    const { password } = await createAdmin(check.db, { username: 'tinh', unitId: 'dn', role: 'admin' }, now);
    const claim = await createBoxClaim(check.db, 'o-1', now);
    [a, b] = await Promise.all([startReplica(db), startReplica(db)]);
    const login = await fetch(`${a}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'tinh', password }),
    });
    admin = ((await login.json()) as { token: string }).token;
    const enroll = await fetch(`${b}/api/v1/enroll`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ claimCode: claim.claimCode, officeId: 'o-1' }),
    });
    const e = (await enroll.json()) as EnrollResponse;
    box = boxToken(e.boxId, e.secret);
  }, 60_000);
  afterAll(async () => {
    killAllClouds();
    await check?.close();
    await db?.cleanup();
  });

  let notices = 0;
  const save = (url: string, revision?: number) =>
    fetch(`${url}/api/v1/fleet/offices/o-1/config`, {
      method: 'PUT',
      headers: {
        authorization: `Bearer ${admin}`,
        'content-type': 'application/json',
        ...(revision !== undefined ? { 'if-match': String(revision) } : {}),
      },
      body: JSON.stringify({
        overrides: {
          office: { sessions: [{ open: '07:30', close: '17:00' }] },
          services: [{ id: 'ho-tich', name: 'Hộ tịch', numbering: { prefix: 'A', width: 3 } }],
          counters: [{ number: 1, services: ['ho-tich'] }],
          screens: { notice: `Thông báo ${++notices}` },
        },
      }),
    });
  const poll = (url: string, version: number, wait = 30) =>
    fetch(`${url}/api/v1/box/target?version=${version}&wait=${wait}`, {
      headers: { authorization: `Bearer ${box}` },
    });
  const versions = async () =>
    (await check.db.selectFrom('fleet_desired').select('version').orderBy('version').execute()).map((r) =>
      Number(r.version),
    );

  it('a save on replica A wakes within a second the long poll held by replica B', async () => {
    expect((await save(a)).status).toBe(200);
    const held = poll(b, 1);
    await until('B to hold the poll', async () => (await health(b)).waitingPolls === 1);
    const t0 = Date.now();
    expect((await save(a)).status).toBe(200);
    const res = await held;
    const took = Date.now() - t0;
    expect(res.status).toBe(200);
    expect(((await res.json()) as BoxTarget).version).toBe(2);
    expect(took).toBeLessThan(1000);
  });

  it('LISTEN connections killed: they reconnect, a save made meanwhile answers the poll, later saves wake polls', async () => {
    const killer = new pg.Client({ connectionString: PG_URL });
    await killer.connect();
    try {
      const before = await health(b);
      const held = poll(b, 2);
      await until('B to hold the poll', async () => (await health(b)).waitingPolls === 1);
      const killed = await killer.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE application_name = 'lobby-cloud-listen' AND query LIKE $1`,
        [`%${db.schema as string}%`],
      );
      expect(killed.rowCount).toBe(2); // one per replica
      // Saved while the LISTEN connections may still be down: the poll is answered all the same (by the
      // notification, or by the re-check every waiting poll makes once its replica listens again).
      const t0 = Date.now();
      expect((await save(a)).status).toBe(200);
      const res = await held;
      expect(res.status).toBe(200);
      expect(((await res.json()) as BoxTarget).version).toBe(3);
      expect(Date.now() - t0).toBeLessThan(5000);
      await until('B to listen again', async () => {
        const h = await health(b);
        return h.listening && h.listens > before.listens;
      });
      await until('A to listen again', async () => (await health(a)).listening);

      // And the wake-ups work as before, both ways.
      for (const [saver, holder, version] of [
        [a, b, 3],
        [b, a, 4],
      ] as const) {
        const next = poll(holder, version);
        await until('the poll to be held', async () => (await health(holder)).waitingPolls === 1);
        const t1 = Date.now();
        expect((await save(saver)).status).toBe(200);
        const r = await next;
        expect(r.status).toBe(200);
        expect(((await r.json()) as BoxTarget).version).toBe(version + 1);
        expect(Date.now() - t1).toBeLessThan(1000);
      }
    } finally {
      await killer.end();
    }
  });

  it('concurrent saves on both replicas: versions 1..n without gaps or duplicates; a stale save is 409', async () => {
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => save(i % 2 ? a : b)));
    expect(results.map((r) => r.status)).toEqual(Array(12).fill(200));
    const bodies = (await Promise.all(results.map((r) => r.json()))) as { revision: number }[];
    const all = await versions();
    expect(all).toEqual(Array.from({ length: all.length }, (_, i) => i + 1));
    expect(all.length).toBe(5 + 12);
    const revisions = bodies.map((x) => x.revision).sort((x, y) => x - y);
    expect(new Set(revisions).size).toBe(12);

    // Two admins edited the same revision and save at once on two replicas: one wins, one is told.
    const current = Math.max(...revisions);
    const pair = await Promise.all([save(a, current), save(b, current)]);
    expect(pair.map((r) => r.status).sort()).toEqual([200, 409]);
    const lost = pair.find((r) => r.status === 409) as Response;
    expect(await lost.json()).toMatchObject({ code: 'revision_conflict', detail: { revision: current + 1 } });
    expect(await versions()).toEqual(Array.from({ length: 18 }, (_, i) => i + 1));
    // The box, asleep through all of it, gets the newest at once.
    const latest = (await (await poll(b, 0, 0)).json()) as BoxTarget;
    expect(latest.version).toBe(18);
  });
});
