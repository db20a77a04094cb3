// The fleet's cloud side at province scale, on PostgreSQL: `npm run build && node dist/test/bench/fleet-cloud.js`
// (FLEET_BENCH_BOXES, default 4000). One `lobby cloud` replica (a child process) holds a long poll for every
// box of a province; its RSS and CPU while they wait; a province-wide template change, and the time until
// every box's poll has answered with the new version; one office save → its box's poll answered, p50/p95,
// beside a plain HTTP round trip to the same replica. The boxes are simulated by this process (fetch), so
// no box applies anything: the box side's apply time comes on top. Box secrets are stored with a cheap scrypt
// (N=1024) so that 4,000 first logins do not dominate the run; the real cost is printed apart.
import { spawn } from 'node:child_process';
import { randomBytes, scryptSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createAdmin, createOffice, createUnit } from '../../cloud/admin/provisioning.js';
import { dropPostgresSchema, openDatabase } from '../../cloud/db/database.js';
import { hashSecret, verifySecret } from '../../cloud/auth/secrets.js';
import { baseLayer, resolveOffice } from '../../cloud/fleet/resolve.js';
import type { BoxTarget } from '../../protocol/fleet.js';
import { summarize } from './stats.js';

const PG_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const BOXES = Number(process.env.FLEET_BENCH_BOXES ?? 4000);
const SAVES = Number(process.env.FLEET_BENCH_SAVES ?? 60);
const PUBLIC_URL = 'https://motcua.example.gov.vn';
const CLI = join(import.meta.dirname, '../../cli/lobby.js');
const SECRET = 'bench-secret';

const TEMPLATE = {
  office: {
    sessions: [
      { open: '07:30', close: '11:30' },
      { open: '13:30', close: '17:00' },
    ],
  },
  services: [
    { id: 'ho-tich', name: 'Hộ tịch', numbering: { prefix: 'A', width: 3 } },
    { id: 'dat-dai', name: 'Đất đai', numbering: { prefix: 'B', width: 3 } },
  ],
  counters: [{ number: 1, services: ['ho-tich', 'dat-dai'] }],
};

const ms = (v: number) => `${v.toFixed(v < 10 ? 1 : 0)} ms`;

function procStat(pid: number): { rssMb: number; cpuTicks: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return { rssMb: rss, cpuTicks: Number(stat[11]) + Number(stat[12]) };
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function main() {
  // fetch's agent opens a connection per request in flight (no limit by default): one per simulated box.
  const schema = `bench_fleet_${randomBytes(4).toString('hex')}`;
  const store = await openDatabase({ url: PG_URL, schema });
  const t0 = Date.now();
  const now = Date.now();
  await createUnit(store.db, { id: 'p', name: 'Tỉnh', kind: 'province', parentId: null }, now);
  // Every box has the same secret, stored with a cheap scrypt (verifySecret reads N from the hash).
  const salt = randomBytes(16);
  const cheap = `scrypt$1024$8$1$${salt.toString('base64url')}$${scryptSync(SECRET, salt, 32, { N: 1024, r: 8, p: 1 }).toString('base64url')}`;
  const offices = Array.from({ length: BOXES }, (_, i) => `o-${String(i).padStart(5, '0')}`);
  for (let i = 0; i < offices.length; i += 500) {
    const chunk = offices.slice(i, i + 500);
    for (const id of chunk) await createOffice(store.db, { id, name: `Một cửa ${id}`, unitId: 'p' }, now);
    await store.db
      .insertInto('boxes')
      .values(
        chunk.map((id) => ({
          id: `box-${id}`,
          office_id: id,
          secret_hash: cheap,
          enrolled_at: now,
          created_at: now,
          acked_seq: 0,
        })),
      )
      .execute();
    const resolved = chunk.map((id) => {
      const r = resolveOffice(
        baseLayer({ id, name: `Một cửa ${id}`, timezone: 'Asia/Ho_Chi_Minh' }, PUBLIC_URL),
        [{ source: 'p', patch: TEMPLATE }],
        {},
      );
      return { id, r };
    });
    await store.db
      .insertInto('fleet_offices')
      .values(
        resolved.map(({ id, r }) => ({
          office_id: id,
          overrides: '{}',
          revision: 1,
          effective: JSON.stringify(r.effective),
          hash: r.hash as string,
          updated_at: now,
          updated_by: 'admin:bench',
        })),
      )
      .execute();
    await store.db
      .insertInto('fleet_desired')
      .values(
        resolved.map(({ id, r }) => ({
          box_id: `box-${id}`,
          version: 1,
          document: JSON.stringify(r.effective),
          hash: r.hash as string,
          saved_at: now,
          saved_by: 'admin:bench',
        })),
      )
      .execute();
  }
  await store.db
    .insertInto('fleet_templates')
    .values({
      unit_id: 'p',
      document: JSON.stringify(TEMPLATE),
      revision: 1,
      updated_at: now,
      updated_by: 'admin:bench',
    })
    .execute();
  const { password } = await createAdmin(store.db, { username: 'bench', unitId: 'p', role: 'admin' }, now);
  console.log(`seeded ${BOXES} offices and boxes in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      CLI,
      'cloud',
      '--db',
      PG_URL,
      '--db-schema',
      schema,
      '--port',
      String(port),
      '--host',
      '127.0.0.1',
      '--public-url',
      PUBLIC_URL,
    ],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, LOG_LEVEL: 'warn', LOBBY_CLOUD_KEY: randomBytes(32).toString('base64url') },
    },
  );
  const url = `http://127.0.0.1:${port}`;
  process.once('exit', () => child.kill('SIGKILL'));
  try {
    for (let i = 0; ; i++) {
      try {
        if ((await fetch(`${url}/healthz`)).ok) break;
      } catch {
        // not yet
      }
      if (i > 300) throw new Error('cloud did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
    createInterface({ input: child.stdout! }).on('line', () => undefined);
    const health = async () =>
      ((await (await fetch(`${url}/healthz`)).json()) as { fleet: { waitingPolls: number } }).fleet;
    const login = await fetch(`${url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'bench', password }),
    });
    const token = ((await login.json()) as { token: string }).token;
    const idle = procStat(child.pid as number);

    // Every box holds a poll; each re-polls on 204 and stops when it has the version it waits for.
    const got = new Map<string, number>();
    const want = 2;
    let resets = 0;
    const pollLoop = async (boxId: string) => {
      for (;;) {
        // A box retries a failed connection after a pause (4,000 connecting at once overflow the listen queue).
        const res = await fetch(`${url}/api/v1/box/target?version=${want - 1}&wait=50`, {
          headers: { authorization: `Bearer ${boxId}.${SECRET}` },
        }).catch(async () => {
          resets++;
          await new Promise((r) => setTimeout(r, 200 + Math.random() * 800));
          return null;
        });
        if (!res) continue;
        if (res.status === 200) {
          const t = (await res.json()) as BoxTarget;
          if (t.version >= want) {
            got.set(boxId, Date.now());
            return;
          }
        } else await res.arrayBuffer();
      }
    };
    const tPolls = Date.now();
    const loops = offices.map((id) => pollLoop(`box-${id}`));
    while ((await health()).waitingPolls < BOXES) await new Promise((r) => setTimeout(r, 200));
    const allWaitingS = (Date.now() - tPolls) / 1000;
    const before = procStat(child.pid as number);
    await new Promise((r) => setTimeout(r, 5000));
    const after = procStat(child.pid as number);
    const idleCpu = ((after.cpuTicks - before.cpuTicks) / 100 / 5) * 100;

    // The province-wide change.
    // Meanwhile a health probe every 50 ms: how long does the replica keep other requests waiting?
    let probing = true;
    const probeMs: number[] = [];
    const probe = (async () => {
      while (probing) {
        const p0 = Date.now();
        await (await fetch(`${url}/healthz`)).arrayBuffer();
        probeMs.push(Date.now() - p0);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const tSave = Date.now();
    const save = await fetch(`${url}/api/v1/fleet/units/p/template`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ template: { ...TEMPLATE, screens: { notice: 'Thông báo toàn tỉnh' } } }),
    });
    const saveMs = Date.now() - tSave;
    if (save.status !== 200) throw new Error(`template save: ${save.status} ${await save.text()}`);
    await Promise.all(loops);
    probing = false;
    await probe;
    const allGotS = (Math.max(...got.values()) - tSave) / 1000;
    const perBox = summarize([...got.values()].map((t) => t - tSave));
    const peak = procStat(child.pid as number);

    // One office at a time: save → its box's held poll answered; beside a plain round trip.
    const wake: number[] = [];
    const raw: number[] = [];
    const box = `box-${offices[0]}`;
    let version = 2;
    for (let i = 0; i < SAVES; i++) {
      const r0 = Date.now();
      await (await fetch(`${url}/healthz`)).arrayBuffer();
      raw.push(Date.now() - r0);
      const held = fetch(`${url}/api/v1/box/target?version=${version}&wait=50`, {
        headers: { authorization: `Bearer ${box}.${SECRET}` },
      });
      while ((await health()).waitingPolls < 1) await new Promise((r) => setTimeout(r, 5));
      const s0 = Date.now();
      const res = await fetch(`${url}/api/v1/fleet/offices/${offices[0]}/config`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ overrides: { screens: { notice: `lần ${i}` } } }),
      });
      await res.arrayBuffer();
      const answered = await held;
      await answered.arrayBuffer();
      wake.push(Date.now() - s0);
      version++;
    }
    const w = summarize(wake);
    const rt = summarize(raw);
    const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.ceil(0.95 * xs.length) - 1] as number;

    const t1 = performance.now();
    await verifySecret(SECRET, await hashSecret(SECRET));
    const scryptMs = performance.now() - t1;

    console.log(`\nfleet, cloud side: one replica on PostgreSQL, ${BOXES} boxes long-polling`);
    const rows: [string, string][] = [
      ['replica RSS, started, no polls', `${idle.rssMb.toFixed(0)} MB`],
      [`replica RSS, ${BOXES} polls waiting`, `${after.rssMb.toFixed(0)} MB`],
      ['replica CPU while they wait (5 s)', `${idleCpu.toFixed(1)} % of a core`],
      [`time until all ${BOXES} polls were waiting (cheap scrypt)`, `${allWaitingS.toFixed(1)} s`],
      ['  connections refused or reset on the way, retried', String(resets)],
      ['province template save (re-resolve + versions + notify)', ms(saveMs)],
      [`save → all ${BOXES} polls answered with the new version`, `${allGotS.toFixed(2)} s`],
      ['  per box p50 / p90 / p99', `${ms(perBox.p50)} / ${ms(perBox.p90)} / ${ms(perBox.p99)}`],
      [
        '  a /healthz meanwhile (every 50 ms): p50 / max',
        `${ms(summarize(probeMs).p50)} / ${ms(summarize(probeMs).max)}`,
      ],
      ['replica RSS after the change', `${peak.rssMb.toFixed(0)} MB`],
      [`one office save → its box's poll answered, p50 / p95 (${SAVES})`, `${ms(w.p50)} / ${ms(p95(wake))}`],
      ['  beside: plain HTTP round trip (/healthz) p50 / p95', `${ms(rt.p50)} / ${ms(p95(raw))}`],
      [`  ratio p50`, `${(w.p50 / Math.max(rt.p50, 0.1)).toFixed(1)}×`],
      ['one real box credential check (scrypt N=16384), first login', ms(scryptMs)],
    ];
    for (const [k, v] of rows) console.log(`  ${k.padEnd(62)} ${v}`);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    await store.close();
    await dropPostgresSchema(PG_URL, schema);
  }
}

await main();
process.exit(0);
