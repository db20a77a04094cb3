// What the cloud suites share: the databases they run on (SQLite always; PostgreSQL when reachable, each run
// in its own schema), a cloud on an ephemeral port, a seeded unit tree, and box credentials.
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import { createAdmin, createBoxClaim, createOffice, createUnit } from '../../cloud/admin/provisioning.js';
import { dropPostgresSchema } from '../../cloud/db/database.js';
import { startCloud, type CloudService } from '../../cloud/service.js';
import type { CloudSettings } from '../../cloud/http/context.js';
import type { ClerkRow, CounterRow, Report, ReportPage } from '../../cloud/reports/reports.js';
import { boxToken, type EnrollResponse } from '../../protocol/index.js';

export const PG_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

async function postgresReachable(): Promise<boolean> {
  const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    await c.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => undefined);
  }
}

/**
 * TEST_DATABASES=sqlite runs the cloud suites on SQLite only (mutation runs: `npm run mutate`, where a mutant is
 * judged as well on one database and PostgreSQL doubles the time). Default: both. Never with REQUIRE_POSTGRES.
 */
const CHOSEN = (process.env.TEST_DATABASES ?? 'sqlite,postgres').split(',').map((s) => s.trim());
const PG_CHOSEN = CHOSEN.includes('postgres');
if (!PG_CHOSEN && process.env.REQUIRE_POSTGRES === '1')
  throw new Error(
    `REQUIRE_POSTGRES=1 but TEST_DATABASES=${process.env.TEST_DATABASES} leaves PostgreSQL out`,
  );

export const PG_AVAILABLE = PG_CHOSEN && (await postgresReachable());
if (PG_CHOSEN && !PG_AVAILABLE && process.env.REQUIRE_POSTGRES === '1')
  // .ci/run sets this: on CI (and this machine) PostgreSQL is there, so the suite must run on it.
  throw new Error(`REQUIRE_POSTGRES=1 but PostgreSQL is not reachable at ${PG_URL}`);
const PG_SKIPPED = PG_CHOSEN ? `not reachable at ${PG_URL}` : `TEST_DATABASES=${process.env.TEST_DATABASES}`;
if (!PG_AVAILABLE)
  console.warn(`PostgreSQL ${PG_SKIPPED}: the PostgreSQL variants of the cloud tests are SKIPPED`);

export interface TestDatabase {
  name: 'sqlite' | 'postgres';
  url: string;
  schema?: string;
  cleanup(): Promise<void>;
}

export interface DatabaseKind {
  name: 'sqlite' | 'postgres';
  /** Shown as the describe title; says so when the kind is skipped. */
  title: string;
  available: boolean;
  create(): TestDatabase;
}

export const DATABASES: DatabaseKind[] = [
  {
    name: 'sqlite',
    title: CHOSEN.includes('sqlite')
      ? 'sqlite'
      : `sqlite (SKIPPED: TEST_DATABASES=${process.env.TEST_DATABASES})`,
    available: CHOSEN.includes('sqlite'),
    create: () => ({
      name: 'sqlite',
      url: join(mkdtempSync(join(tmpdir(), 'lobby-cloud-')), 'cloud.db'),
      cleanup: async () => undefined,
    }),
  },
  {
    name: 'postgres',
    title: PG_AVAILABLE ? 'postgres' : `postgres (SKIPPED: ${PG_SKIPPED})`,
    available: PG_AVAILABLE,
    create: () => {
      const schema = `t_${randomBytes(6).toString('hex')}`;
      return { name: 'postgres', url: PG_URL, schema, cleanup: () => dropPostgresSchema(PG_URL, schema) };
    },
  },
];

/**
 * The one database a browser suite runs on: its preferred one, or the other when that one is not there. The
 * console's pages are the same on both, and the API suites run every query on both; a second Chromium run of
 * each page only doubled the time. Each console suite names its own, so the pages run on both between them.
 */
export function browserDatabase(preferred: DatabaseKind['name']): DatabaseKind[] {
  const first = DATABASES.find((d) => d.name === preferred && d.available);
  const other = DATABASES.find((d) => d.name !== preferred && d.available);
  return [first ?? other ?? DATABASES.find((d) => d.name === preferred)!];
}

export const MASTER_KEY = Buffer.alloc(32, 7);

export async function startTestCloud(
  db: TestDatabase,
  opts: {
    settings?: Partial<CloudSettings>;
    clock?: () => number;
    port?: number;
    redisUrl?: string;
    redisKeyPrefix?: string;
  } = {},
): Promise<CloudService> {
  return startCloud({
    ...(opts.redisUrl ? { redisUrl: opts.redisUrl, redisKeyPrefix: opts.redisKeyPrefix ?? 'test-rl-' } : {}),
    databaseUrl: db.url,
    ...(db.schema ? { databaseSchema: db.schema } : {}),
    port: opts.port ?? 0,
    host: '127.0.0.1',
    log: pino({ level: process.env.TEST_LOG ?? 'silent' }),
    settings: { masterKey: MASTER_KEY, ...opts.settings },
    ...(opts.clock ? { clock: opts.clock } : {}),
  });
}

/**
 * The tree the suites use: province dn → district lc → communes hkb, hhb; province dn → commune hc (two
 * tiers and three side by side). Offices: o-hkb, o-hhb (under lc), o-hc (directly under dn).
 */
export async function seedTree(cloud: CloudService): Promise<void> {
  const db = cloud.store.db;
  const now = Date.now();
  await createUnit(db, { id: 'dn', name: 'Thành phố Đà Nẵng', kind: 'province', parentId: null }, now);
  await createUnit(db, { id: 'lc', name: 'Quận Liên Chiểu', kind: 'district', parentId: 'dn' }, now);
  await createUnit(db, { id: 'hkb', name: 'Phường Hòa Khánh Bắc', kind: 'commune', parentId: 'lc' }, now);
  await createUnit(db, { id: 'hhb', name: 'Phường Hòa Hiệp Bắc', kind: 'commune', parentId: 'lc' }, now);
  await createUnit(db, { id: 'hc', name: 'Phường Hải Châu', kind: 'commune', parentId: 'dn' }, now);
  await createOffice(db, { id: 'o-hkb', name: 'Một cửa Hòa Khánh Bắc', unitId: 'hkb' }, now);
  await createOffice(db, { id: 'o-hhb', name: 'Một cửa Hòa Hiệp Bắc', unitId: 'hhb' }, now);
  await createOffice(db, { id: 'o-hc', name: 'Một cửa Hải Châu', unitId: 'hc' }, now);
}

/** Creates and enrolls a box for an office through the HTTP API; returns its bearer token. */
export async function enrolledBox(
  cloud: CloudService,
  officeId: string,
): Promise<{ boxId: string; secret: string; token: string }> {
  const claim = await createBoxClaim(cloud.store.db, officeId, Date.now());
  const res = await cloud.app.inject({
    method: 'POST',
    url: '/api/v1/enroll',
    payload: { claimCode: claim.claimCode, officeId },
  });
  if (res.statusCode !== 200) throw new Error(`enroll failed: ${res.body}`);
  const e = res.json<EnrollResponse>();
  return { boxId: e.boxId, secret: e.secret, token: boxToken(e.boxId, e.secret) };
}

export async function adminToken(
  cloud: CloudService,
  username: string,
  unitId: string,
  role: 'admin' | 'viewer' = 'admin',
): Promise<string> {
  const a = await createAdmin(cloud.store.db, { username, unitId, role }, Date.now());
  const res = await cloud.app.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    payload: { username, password: a.password },
  });
  if (res.statusCode !== 200) throw new Error(`login failed: ${res.body}`);
  return res.json<{ token: string }>().token;
}

/** The highest sequence number the cloud has applied for a box (its acknowledgement). */
export async function ackedSeq(cloud: CloudService, boxId: string): Promise<number> {
  const row = await cloud.store.db
    .selectFrom('boxes')
    .select('acked_seq')
    .where('id', '=', boxId)
    .executeTakeFirstOrThrow();
  return Number(row.acked_seq);
}

/** A JSON request with a bearer token (an admin's session or a box's credential): its status and parsed body. */
export async function bearerRequest(
  cloud: CloudService,
  token: string,
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  url: string,
  payload?: unknown,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
): Promise<{ status: number; body: any }> {
  const res = await cloud.app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${token}` },
    ...(payload !== undefined ? { payload: payload as object } : {}),
  });
  return { status: res.statusCode, body: res.json() };
}

/** A report with every counter and clerk of its subtree, as the expectations of the report tests list them. */
export type FullReport = Report & { byCounter: CounterRow[]; byClerk: ClerkRow[] };

/**
 * GET /api/v1/reports (every office on its one page) and every page of /api/v1/reports/rows for counters and
 * clerks, ordered by office id then counter or clerk id. `query`: unit, from, to (and waitTargetMin).
 */
export async function fullReport(cloud: CloudService, token: string, query: string): Promise<FullReport> {
  const get = async <T>(url: string): Promise<T> => {
    const res = await cloud.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
    if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${res.body}`);
    return res.json<T>();
  };
  const r = await get<Report>(`/api/v1/reports?${query}&limit=500`);
  const every = async <B extends 'counter' | 'clerk'>(by: B): Promise<ReportPage<B>['rows']> => {
    const rows: ReportPage<B>['rows'] = [];
    for (let offset = 0; ; offset += 500) {
      const page = await get<ReportPage<B>>(
        `/api/v1/reports/rows?${query}&by=${by}&offset=${offset}&limit=500`,
      );
      rows.push(...page.rows);
      if (offset + 500 >= page.total) return rows;
    }
  };
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return {
    ...r,
    byCounter: (await every('counter')).sort((a, b) => cmp(a.office, b.office) || a.counter - b.counter),
    byClerk: (await every('clerk')).sort((a, b) => cmp(a.office, b.office) || cmp(a.clerk, b.clerk)),
  };
}
