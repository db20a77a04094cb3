// One query layer for both databases: SQLite (the default, a file, nothing to install) and PostgreSQL (when
// DATABASE_URL names one). Kysely writes each dialect's SQL; the few raw statements use syntax both share
// (INSERT … ON CONFLICT … DO UPDATE, excluded.*).
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  Kysely,
  Migrator,
  PostgresAdapter,
  PostgresDialect,
  SqliteDialect,
  sql,
  DEFAULT_MIGRATION_LOCK_TABLE,
  DEFAULT_MIGRATION_TABLE,
  type DatabaseIntrospector,
  type DatabaseMetadataOptions,
  type DatabaseMetadata,
  type RawBuilder,
  type SchemaMetadata,
  type TableMetadata,
  type Transaction,
} from 'kysely';
import pg from 'pg';
import { DB_CONNECT_TIMEOUT_MS } from '../limits.js';
import { migrationProvider } from './migrations.js';
import type { Tables } from './schema.js';

export type Dialect = 'sqlite' | 'postgres';
export type Db = Kysely<Tables>;
export type Tx = Transaction<Tables>;

export interface CloudDatabase {
  db: Db;
  dialect: Dialect;
  /** Where the data lives, for logs (no password). */
  describe: string;
  /**
   * Resolves when the database answers a trivial query within `timeoutMs`; rejects with the reason otherwise.
   * For /healthz: a lost connection is replaced by the pool on the next query, so this also recovers.
   */
  ping(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
  /** PostgreSQL: the schema in use, if one was named. */
  schema?: string;
  /**
   * PostgreSQL: a new connection of its own, outside the pool (not yet connected), on the same database and
   * schema: for LISTEN, which needs a session that stays.
   */
  newClient?: () => pg.Client;
}

export interface DatabaseOptions {
  /** postgres://… or postgresql://…; anything else is taken as a SQLite file path (':memory:' too). */
  url: string;
  /** PostgreSQL only: keep every table in this schema (created if missing). Tests isolate runs with it. */
  schema?: string;
  /** PostgreSQL pool size per process. */
  poolSize?: number;
  /**
   * PostgreSQL: told about every error of a pooled connection that no query was waiting for (the server
   * restarted, a failover, `pg_terminate_backend`). Without a listener such an error kills the process.
   */
  onConnectionError?: (err: Error) => void;
}

/** The errors that mean "the database cannot be reached right now", not "this request is wrong". */
export function isDatabaseUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: string }).code ?? '';
  // 57P01 admin_shutdown (pg_terminate_backend, a restart), 57P02/57P03 crash or not yet accepting, 08xxx
  // connection exceptions, and the client side's socket errors and timeouts.
  if (/^(57P0[123]|08)/.test(code)) return true;
  if (['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND'].includes(code))
    return true;
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|not queryable/i.test(
    err.message,
  );
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

export const isPostgresUrl = (url: string): boolean => /^postgres(ql)?:\/\//.test(url);

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export async function openDatabase(opts: DatabaseOptions): Promise<CloudDatabase> {
  if (isPostgresUrl(opts.url)) {
    const schema = opts.schema;
    if (schema !== undefined && !SCHEMA_NAME.test(schema))
      throw new Error(`database schema "${schema}": use lowercase letters, digits and _`);
    // Replicas starting together on a new database migrate one at a time: concurrent CREATE SCHEMA / CREATE
    // TABLE IF NOT EXISTS race in PostgreSQL's catalog (duplicate key in pg_type), and the loser's migration
    // transaction aborts. A session advisory lock, held from the schema's creation to the end of the migration.
    const lock = new pg.Client({
      connectionString: opts.url,
      connectionTimeoutMillis: DB_CONNECT_TIMEOUT_MS,
    });
    await lock.connect();
    const lockKey = `motcua-lobby:migrate:${schema ?? 'public'}`;
    await lock.query('SELECT pg_advisory_lock(hashtext($1))', [lockKey]);
    const unlock = () =>
      lock
        .query('SELECT pg_advisory_unlock(hashtext($1))', [lockKey])
        .catch(() => undefined)
        .finally(() => lock.end().catch(() => undefined));
    try {
      // Create the schema before the pool's connections point their search_path at it.
      if (schema) await lock.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    } catch (err) {
      await unlock();
      throw err;
    }
    const pool = new pg.Pool({
      connectionString: opts.url,
      max: opts.poolSize ?? 10,
      // A request waits this long for a connection, then fails (503) instead of hanging while the server is down.
      connectionTimeoutMillis: DB_CONNECT_TIMEOUT_MS,
      ...(schema ? { options: `-c search_path=${schema}` } : {}),
      // bigint and numeric (SUM) arrive as strings by default; our values stay far below 2^53.
      types: {
        getTypeParser: ((oid: number, format?: string) =>
          oid === 20 || oid === 1700
            ? (v: string) => Number(v)
            : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
      },
    });
    const onError = (err: Error) => opts.onConnectionError?.(err);
    // An idle connection's error reaches the pool; a checked-out one's reaches only the client (no query
    // waiting): listen on both, or either kills the process. The pool drops the broken connection itself.
    pool.on('error', onError);
    pool.on('connect', (client) => client.on('error', onError));
    const db = new Kysely<Tables>({ dialect: new OwnSchemaPostgresDialect({ pool }) });
    const u = new URL(opts.url);
    const describe = `postgresql://${u.host}${u.pathname}${schema ? ` (schema ${schema})` : ''}`;
    try {
      await migrate(db, schema);
    } catch (err) {
      await db.destroy().catch(() => undefined);
      throw err;
    } finally {
      await unlock();
    }
    return {
      db,
      dialect: 'postgres',
      describe,
      ...(schema ? { schema } : {}),
      newClient: () =>
        new pg.Client({
          connectionString: opts.url,
          connectionTimeoutMillis: DB_CONNECT_TIMEOUT_MS,
          // A LISTEN connection is idle for hours: keepalives find a dead peer.
          keepAlive: true,
          application_name: 'lobby-cloud-listen',
          ...(schema ? { options: `-c search_path=${schema}` } : {}),
        }),
      ping: (ms) => withTimeout(sql`select 1`.execute(db), ms, 'database').then(() => undefined),
      close: () => db.destroy(),
    };
  }
  if (opts.url !== ':memory:') mkdirSync(dirname(opts.url), { recursive: true });
  const sqlite = new Database(opts.url);
  sqlite.pragma('journal_mode = WAL');
  // FULL: an acknowledged uplink batch must survive a power cut of the cloud host too.
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('busy_timeout = 10000');
  sqlite.pragma('foreign_keys = ON');
  const db = new Kysely<Tables>({ dialect: new SqliteDialect({ database: sqlite }) });
  await migrate(db);
  return {
    db,
    dialect: 'sqlite',
    describe: `sqlite ${opts.url}`,
    ping: async () => {
      sqlite.prepare('select 1').get();
    },
    close: () => db.destroy(),
  };
}

/**
 * Kysely's PostgreSQL introspector lists every column of every table in every schema on the server, asking each
 * column's sequence by the table's name, and its migrator calls it to find its own table. A table or schema of
 * someone else's dropped meanwhile (another deployment, test or benchmark on the same server) failed our start:
 * `schema "<other>" does not exist`, `relation "<other>.t" does not exist`, `column "office_id" of relation
 * "rollout_boxes" does not exist` (each seen in CI). This one lists the tables of our own schema only: the first
 * of the search_path, where every table of ours lives.
 */
class OwnSchemaPostgresDialect extends PostgresDialect {
  override createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new OwnSchemaIntrospector(db);
  }
}

interface ColumnRow {
  schema: string;
  table: string;
  kind: string;
  column: string;
  not_null: boolean;
  has_default: boolean;
  type: string;
  type_schema: string;
  comment: string | null;
  sequence: string | null;
}

class OwnSchemaIntrospector implements DatabaseIntrospector {
  constructor(private readonly db: Kysely<unknown>) {}

  async getSchemas(): Promise<SchemaMetadata[]> {
    const { rows } = await sql<SchemaMetadata>`select current_schema() as name`.execute(this.db);
    return rows;
  }

  /** Kysely's own migration tables only when asked for, as its introspector does. */
  async getTables(
    options: DatabaseMetadataOptions = { withInternalKyselyTables: false },
  ): Promise<TableMetadata[]> {
    const { rows } = await sql<ColumnRow>`
      select ns.nspname as schema, c.relname as table, c.relkind as kind, a.attname as column,
             a.attnotnull as not_null, a.atthasdef as has_default, t.typname as type, tns.nspname as type_schema,
             col_description(a.attrelid, a.attnum) as comment,
             pg_get_serial_sequence(quote_ident(ns.nspname) || '.' || quote_ident(c.relname), a.attname) as sequence
      from pg_catalog.pg_class c
      join pg_catalog.pg_namespace ns on ns.oid = c.relnamespace
      join pg_catalog.pg_attribute a on a.attrelid = c.oid
      join pg_catalog.pg_type t on t.oid = a.atttypid
      join pg_catalog.pg_namespace tns on tns.oid = t.typnamespace
      where ns.nspname = current_schema() and c.relkind in ('r', 'v', 'p')
        and a.attnum > 0 and not a.attisdropped
      order by c.relname, a.attnum`.execute(this.db);
    const tables = new Map<string, TableMetadata>();
    const internal = [DEFAULT_MIGRATION_TABLE, DEFAULT_MIGRATION_LOCK_TABLE];
    for (const r of rows) {
      if (!options.withInternalKyselyTables && internal.includes(r.table)) continue;
      let table = tables.get(r.table);
      if (!table) {
        table = { name: r.table, schema: r.schema, isView: r.kind === 'v', columns: [] };
        tables.set(r.table, table);
      }
      (table.columns as TableMetadata['columns'][number][]).push({
        name: r.column,
        dataType: r.type,
        dataTypeSchema: r.type_schema,
        isNullable: !r.not_null,
        hasDefaultValue: r.has_default,
        isAutoIncrementing: r.sequence !== null,
        ...(r.comment !== null ? { comment: r.comment } : {}),
      });
    }
    return [...tables.values()];
  }

  async getMetadata(options?: DatabaseMetadataOptions): Promise<DatabaseMetadata> {
    return { tables: await this.getTables(options) };
  }
}

async function migrate(db: Db, schema?: string): Promise<void> {
  // The migration tables in our schema: without it Kysely finds another schema's and skips creating ours.
  const { error, results } = await new Migrator({
    db,
    provider: migrationProvider,
    ...(schema ? { migrationTableSchema: schema } : {}),
  }).migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed)
    throw new Error(
      `database migration ${failed?.migrationName ?? ''} failed: ${error instanceof Error ? error.message : String(error)}`,
    );
}

/**
 * Runs `fn` in a transaction that holds the named lock until it ends: a transaction-level advisory lock (per
 * schema and name) on PostgreSQL, an IMMEDIATE transaction on SQLite (one writer at a time anyway). Writers on
 * any number of replicas holding the same name apply one after the other.
 */
export async function lockedWrite<T>(
  store: CloudDatabase,
  name: string,
  fn: (tx: Db) => Promise<T>,
): Promise<T> {
  if (store.dialect === 'postgres')
    return store.db.transaction().execute(async (tx) => {
      await sql`SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.' || ${name}))`.execute(tx);
      return fn(tx);
    });
  return store.db.connection().execute(async (conn) => {
    await sql`BEGIN IMMEDIATE`.execute(conn);
    try {
      const out = await fn(conn);
      await sql`COMMIT`.execute(conn);
      return out;
    } catch (err) {
      await sql`ROLLBACK`.execute(conn);
      throw err;
    }
  });
}

/** Drops a PostgreSQL schema and its pg-boss schema (tests and benchmarks clean up after themselves). */
export async function dropPostgresSchema(url: string, schema: string): Promise<void> {
  if (!SCHEMA_NAME.test(schema)) throw new Error(`bad schema name ${schema}`);
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    // pg-boss's schema beside it (fleet health's alert deliveries: `<schema>_jobs`) goes with it.
    await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE; DROP SCHEMA IF EXISTS ${schema}_jobs CASCADE`);
  } finally {
    await c.end();
  }
}

/** The dialect of a query layer or a transaction (set-based writes differ: see `insertRows`). */
export function dialectOf(db: Db | Tx): Dialect {
  return db.getExecutor().adapter instanceof PostgresAdapter ? 'postgres' : 'sqlite';
}

type Cell = string | number | null;

/** A write statement, built apart from running it so that several can go to the database together. */
export type WriteStatement = RawBuilder<unknown>;

/**
 * The statements inserting rows into `table` (the columns named, in that order), with an optional
 * `ON CONFLICT …` tail. PostgreSQL: one `INSERT … SELECT … FROM json_populate_recordset(NULL::table, $1)`
 * whatever the number of rows: one parameter, each column typed by the table itself (a multi-row VALUES has a
 * parameter per cell, thousands for a batch of 500 events, each sent, typed and planned apart; `unnest` with an
 * array per column was as fast for events and twice as slow for the ~45 columns of a rollup). The rows come
 * out in the array's order, so sorted rows are locked in that order. SQLite: multi-row VALUES in chunks under
 * its 32,766 bound parameters (in-process: no round trips to save).
 */
export function insertStatements<R extends { [K in keyof R]: Cell | undefined }>(
  dialect: Dialect,
  table: string,
  columns: readonly (keyof R & string)[],
  rows: readonly R[],
  onConflict: RawBuilder<unknown> = sql``,
): WriteStatement[] {
  if (rows.length === 0) return [];
  const list = sql.join(columns.map((c) => sql.ref(c)));
  const into = sql`INSERT INTO ${sql.table(table)} (${list})`;
  if (dialect === 'postgres') {
    // A column a row lacks (undefined) is null, as in VALUES below.
    const json = JSON.stringify(rows);
    return [
      sql`${into} SELECT ${list} FROM json_populate_recordset(NULL::${sql.table(table)}, ${json}::json) ${onConflict}`,
    ];
  }
  const chunk = Math.max(1, Math.floor(30_000 / columns.length));
  const statements: WriteStatement[] = [];
  for (let i = 0; i < rows.length; i += chunk) {
    const values = rows.slice(i, i + chunk).map((r) => sql`(${sql.join(columns.map((c) => r[c] ?? null))})`);
    statements.push(sql`${into} VALUES ${sql.join(values)} ${onConflict}`);
  }
  return statements;
}

/** The fixed text around an `upsertAddStatements` row set, per table, keys and metrics (built once). */
const upsertParts = new Map<string, { head: RawBuilder<unknown>; tail: RawBuilder<unknown> }>();

/**
 * The statements adding rows of counters into a table keyed by `keys`: missing keys are inserted, existing
 * ones get each metric added (a metric missing from a row adds 0). Rows must have distinct keys (callers sum
 * deltas first) and come sorted, so concurrent writers lock rows in the same order. PostgreSQL: one statement
 * (see `insertStatements`) whose rows carry only the metrics they change, a missing one read as 0 by the
 * statement itself; SQLite: rows filled with zeros, as multi-row `VALUES`.
 */
export function upsertAddStatements(
  dialect: Dialect,
  table: string,
  keys: readonly string[],
  metrics: readonly string[],
  rows: readonly Record<string, string | number>[],
): WriteStatement[] {
  if (rows.length === 0) return [];
  const conflict = sql`ON CONFLICT (${sql.join(keys.map((k) => sql.ref(k)))}) DO UPDATE SET ${sql.join(
    metrics.map((m) => sql`${sql.ref(m)} = ${sql.table(table)}.${sql.ref(m)} + excluded.${sql.ref(m)}`),
  )}`;
  if (dialect === 'postgres') {
    const id = `${table}\u0000${keys.join(',')}\u0000${metrics.join(',')}`;
    let parts = upsertParts.get(id);
    if (!parts) {
      const columns = sql.join([...keys, ...metrics].map((c) => sql.ref(c)));
      const values = sql.join([
        ...keys.map((k) => sql.ref(k)),
        ...metrics.map((m) => sql`COALESCE(${sql.ref(m)}, 0)`),
      ]);
      parts = {
        head: sql`INSERT INTO ${sql.table(table)} (${columns}) SELECT ${values}
          FROM json_populate_recordset(NULL::${sql.table(table)}, `,
        tail: sql`::json) ${conflict}`,
      };
      upsertParts.set(id, parts);
    }
    return [sql`${parts.head}${JSON.stringify(rows)}${parts.tail}`];
  }
  const filled = rows.map((r) => {
    const out: Record<string, string | number> = { ...r };
    for (const m of metrics) out[m] = r[m] ?? 0;
    return out;
  });
  return insertStatements(dialect, table, [...keys, ...metrics], filled, conflict);
}

/** `upsertAddStatements`, run at once. */
export async function upsertAdd(
  tx: Tx | Db,
  table: string,
  keys: readonly string[],
  metrics: readonly string[],
  rows: readonly Record<string, string | number>[],
): Promise<void> {
  await executeWrites(tx, upsertAddStatements(dialectOf(tx), table, keys, metrics, rows));
}

/**
 * Runs write statements in the order given. PostgreSQL: as one statement, each but the last a data-modifying
 * `WITH` of it, so one round trip whatever their number (they see the same snapshot: none may read what
 * another writes, and no two may write one row). SQLite: one after the other.
 *
 * With `then`, a read ends the same statement on PostgreSQL and its rows are returned. It must not read what
 * these writes write: on PostgreSQL it sees the statement's snapshot, from before them; on SQLite, after.
 */
export async function executeWrites<R = never>(
  tx: Tx | Db,
  statements: readonly WriteStatement[],
  then?: RawBuilder<R>,
): Promise<R[]> {
  const all = then ? [...statements, then] : statements;
  const last = all[all.length - 1];
  if (!last) return [];
  if (dialectOf(tx) === 'postgres') {
    const ctes = all.slice(0, -1).map((s, i) => sql`${sql.raw(`w${i}`)} AS (${s})`);
    const { rows } = await (ctes.length ? sql<R>`WITH ${sql.join(ctes)} ${last}` : last).execute(tx);
    return then ? (rows as R[]) : [];
  }
  for (const s of statements) await s.execute(tx);
  return then ? (await then.execute(tx)).rows : [];
}
