// Schema migrations, one list for SQLite and PostgreSQL (Kysely's schema builder writes each dialect's SQL).
// Append only: a migration that has run is never edited.
import { PostgresAdapter, sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import {
  DOSSIER_KEYS,
  DOSSIER_METRICS,
  HOUR_KEYS,
  HOUR_METRICS,
  ROLLUP_KEYS,
  ROLLUP_METRICS_0001,
  ROLLUP_METRICS_0009,
} from './rollup-columns.js';
import { chainExistingRows } from '../audit/chain.js';
import { backfillReportDefinitions } from './backfill-definitions.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

async function rollupTable(
  db: AnyDb,
  name: string,
  keys: [string, 'text' | 'integer'][],
  metrics: string[],
): Promise<void> {
  let t = db.schema.createTable(name);
  for (const [k, type] of keys) t = t.addColumn(k, type, (c) => c.notNull());
  for (const m of metrics) t = t.addColumn(m, 'bigint', (c) => c.notNull().defaultTo(0));
  await t.addPrimaryKeyConstraint(`${name}_pk`, keys.map(([k]) => k) as never).execute();
}

const initial: Migration = {
  async up(db: AnyDb) {
    const isPg = isPostgres(db);
    await db.schema
      .createTable('units')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('parent_id', 'text', (c) => c.references('units.id'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('path', 'text', (c) => c.notNull().unique())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('offices')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('unit_id', 'text', (c) => c.notNull().references('units.id'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('timezone', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('offices_unit').on('offices').column('unit_id').execute();
    await db.schema
      .createTable('boxes')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('office_id', 'text', (c) => c.notNull().references('offices.id'))
      .addColumn('secret_hash', 'text')
      .addColumn('claim_hash', 'text', (c) => c.unique())
      .addColumn('claim_expires_at', 'bigint')
      .addColumn('enrolled_at', 'bigint')
      .addColumn('revoked_at', 'bigint')
      .addColumn('acked_seq', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('last_event_at', 'bigint')
      .addColumn('heartbeat', 'text')
      .addColumn('heartbeat_at', 'bigint')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('events')
      .addColumn('box_id', 'text', (c) => c.notNull())
      .addColumn('seq', 'bigint', (c) => c.notNull())
      .addColumn('office_id', 'text', (c) => c.notNull())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('at', 'bigint', (c) => c.notNull())
      .addColumn('day', 'text', (c) => c.notNull())
      .addColumn('data', 'text', (c) => c.notNull())
      .addColumn('received_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('events_pk', ['box_id', 'seq'])
      .execute();
    await db.schema
      .createTable('tickets')
      .addColumn('office_id', 'text', (c) => c.notNull())
      .addColumn('ticket_id', 'text', (c) => c.notNull())
      .addColumn('day', 'text', (c) => c.notNull())
      .addColumn('number', 'text', (c) => c.notNull())
      .addColumn('service', 'text', (c) => c.notNull())
      .addColumn('priority', 'text')
      .addColumn('issued_at', 'bigint', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('counter', 'integer')
      .addColumn('clerk_id', 'text')
      .addColumn('first_called_at', 'bigint')
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('tickets_pk', ['office_id', 'ticket_id'])
      .execute();
    await db.schema
      .createIndex('tickets_waiting')
      .on('tickets')
      .columns(['office_id', 'day', 'service', 'state'])
      .execute();
    await db.schema
      .createTable('clerks')
      .addColumn('office_id', 'text', (c) => c.notNull())
      .addColumn('clerk_id', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('clerks_pk', ['office_id', 'clerk_id'])
      .execute();
    await db.schema
      .createTable('dossiers')
      .addColumn('code', 'text', (c) => c.primaryKey())
      .addColumn('procedure', 'text', (c) => c.notNull())
      .addColumn('procedure_name', 'text')
      .addColumn('service', 'text', (c) => c.notNull())
      .addColumn('office_id', 'text')
      .addColumn('received_at', 'bigint', (c) => c.notNull())
      .addColumn('due_at', 'bigint', (c) => c.notNull())
      .addColumn('returned_at', 'bigint')
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('integration_id', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('dossier_links')
      .addColumn('code', 'text', (c) => c.notNull())
      .addColumn('office_id', 'text', (c) => c.notNull())
      .addColumn('ticket_id', 'text', (c) => c.notNull())
      .addColumn('service', 'text', (c) => c.notNull())
      .addColumn('counter', 'integer', (c) => c.notNull())
      .addColumn('clerk_id', 'text')
      .addColumn('linked_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('dossier_links_pk', ['code', 'office_id', 'ticket_id'])
      .execute();
    await rollupTable(
      db,
      'rollups',
      ROLLUP_KEYS.map((k) => [k, k === 'counter' ? 'integer' : 'text']),
      [...ROLLUP_METRICS_0001],
    );
    await rollupTable(
      db,
      'rollup_hours',
      HOUR_KEYS.map((k) => [k, k === 'hour' ? 'integer' : 'text']),
      HOUR_METRICS,
    );
    await rollupTable(
      db,
      'rollup_dossiers',
      DOSSIER_KEYS.map((k) => [k, 'text']),
      DOSSIER_METRICS,
    );
    // Reports filter on the period first (a date range), then join offices of a subtree.
    for (const t of ['rollups', 'rollup_hours', 'rollup_dossiers'])
      await db.schema.createIndex(`${t}_office`).on(t).columns(['office_id', 'grain', 'period']).execute();
    await db.schema
      .createTable('admins')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('username', 'text', (c) => c.notNull().unique())
      .addColumn('password_hash', 'text', (c) => c.notNull())
      .addColumn('unit_id', 'text', (c) => c.notNull().references('units.id'))
      .addColumn('role', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('disabled_at', 'bigint')
      .execute();
    await db.schema
      .createTable('sessions')
      .addColumn('token_hash', 'text', (c) => c.primaryKey())
      .addColumn('admin_id', 'text', (c) => c.notNull().references('admins.id'))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('integrations')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('unit_id', 'text', (c) => c.notNull().references('units.id'))
      .addColumn('key_generation', 'integer', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('revoked_at', 'bigint')
      .execute();
    await db.schema
      .createTable('hmac_replays')
      .addColumn('signature', 'text', (c) => c.primaryKey())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('audit_log')
      .addColumn('id', isPg ? 'bigserial' : 'integer', (c) =>
        isPg ? c.primaryKey() : c.primaryKey().autoIncrement(),
      )
      .addColumn('at', 'bigint', (c) => c.notNull())
      .addColumn('actor', 'text', (c) => c.notNull())
      .addColumn('action', 'text', (c) => c.notNull())
      .addColumn('target', 'text')
      .addColumn('unit_id', 'text')
      .addColumn('outcome', 'text', (c) => c.notNull())
      .addColumn('detail', 'text')
      .addColumn('ip', 'text')
      .execute();
    await db.schema.createIndex('audit_log_at').on('audit_log').column('at').execute();
  },
};

function isPostgres(db: AnyDb): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}

/**
 * Dossier ownership (issue 10, finding 14): the office the province named is kept apart from the office the
 * cloud decided (`office_id`), and each lobby link says whether it came from outside the dossier's unit. A
 * dossier whose office no link of that office explains was named by the province.
 */
const dossierOwnership: Migration = {
  async up(db: AnyDb) {
    await db.schema.alterTable('dossiers').addColumn('named_office_id', 'text').execute();
    await db.schema
      .alterTable('dossier_links')
      .addColumn('cross_unit', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
    // The office day of the link (reports list cross-unit links by period); ticket ids begin with it.
    await db.schema.alterTable('dossier_links').addColumn('day', 'text').execute();
    await sql`UPDATE dossier_links SET day = substr(ticket_id, 1, 10)`.execute(db);
    await sql`UPDATE dossiers SET named_office_id = office_id WHERE office_id IS NOT NULL AND NOT EXISTS
      (SELECT 1 FROM dossier_links l WHERE l.code = dossiers.code AND l.office_id = dossiers.office_id)`.execute(
      db,
    );
    // Reports list cross-unit links by day: a partial index holds only those (few) links.
    await db.schema
      .createIndex('dossier_links_cross_unit')
      .on('dossier_links')
      .column('day')
      .where(sql.ref('cross_unit'), '=', 1)
      .execute();
  },
};

/** The audit log as a hash chain (issue 10, finding 19): rows written before it are chained in id order. */
const auditChain: Migration = {
  async up(db: AnyDb) {
    await db.schema.alterTable('audit_log').addColumn('seq', 'bigint').execute();
    await db.schema.alterTable('audit_log').addColumn('prev_hash', 'text').execute();
    await db.schema.alterTable('audit_log').addColumn('hash', 'text').execute();
    await chainExistingRows(db);
    await db.schema.createIndex('audit_log_seq').on('audit_log').column('seq').unique().execute();
  },
};

/**
 * The fleet's configuration twin (issue 11): unit templates and office overrides (JSON Merge Patches), the
 * desired versions resolved per box (history kept: one row per version), and what each box reported.
 */
const fleet: Migration = {
  async up(db: AnyDb) {
    await db.schema
      .createTable('fleet_templates')
      .addColumn('unit_id', 'text', (c) => c.primaryKey().references('units.id'))
      .addColumn('document', 'text', (c) => c.notNull())
      .addColumn('revision', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_by', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('fleet_offices')
      .addColumn('office_id', 'text', (c) => c.primaryKey().references('offices.id'))
      .addColumn('overrides', 'text', (c) => c.notNull())
      .addColumn('revision', 'bigint', (c) => c.notNull())
      .addColumn('effective', 'text', (c) => c.notNull())
      .addColumn('hash', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_by', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('fleet_desired')
      .addColumn('box_id', 'text', (c) => c.notNull().references('boxes.id'))
      .addColumn('version', 'bigint', (c) => c.notNull())
      .addColumn('document', 'text', (c) => c.notNull())
      .addColumn('hash', 'text', (c) => c.notNull())
      .addColumn('saved_at', 'bigint', (c) => c.notNull())
      .addColumn('saved_by', 'text', (c) => c.notNull())
      // Two replicas saving at once can never both write version n of a box.
      .addPrimaryKeyConstraint('fleet_desired_pk', ['box_id', 'version'])
      .execute();
    await db.schema
      .createTable('fleet_reported')
      .addColumn('box_id', 'text', (c) => c.primaryKey().references('boxes.id'))
      .addColumn('version', 'bigint', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('errors', 'text')
      .addColumn('hash', 'text', (c) => c.notNull())
      .addColumn('at', 'text', (c) => c.notNull())
      .addColumn('received_at', 'bigint', (c) => c.notNull())
      .execute();
  },
};

/** Fleet health (issue 11): device states, incidents, alert rules, alerts and their webhook deliveries. */
const fleetHealth: Migration = {
  async up(db: AnyDb) {
    const isPg = isPostgres(db);
    const serial = (t: string) =>
      db.schema
        .createTable(t)
        .addColumn('id', isPg ? 'bigserial' : 'integer', (c) =>
          isPg ? c.primaryKey() : c.primaryKey().autoIncrement(),
        );
    await db.schema
      .createTable('health_devices')
      .addColumn('box_id', 'text', (c) => c.notNull())
      .addColumn('device', 'text', (c) => c.notNull())
      .addColumn('office_id', 'text', (c) => c.notNull())
      .addColumn('role', 'text', (c) => c.notNull())
      .addColumn('online', 'integer')
      .addColumn('since', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('health_devices_pk', ['box_id', 'device'])
      .execute();
    await serial('incidents')
      .addColumn('box_id', 'text', (c) => c.notNull())
      .addColumn('office_id', 'text', (c) => c.notNull())
      .addColumn('device', 'text', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('started_at', 'bigint', (c) => c.notNull())
      .addColumn('ended_at', 'bigint')
      .addColumn('detail', 'text')
      .execute();
    // Never two open incidents of one kind for one device, whichever replica saw it first.
    await db.schema
      .createIndex('incidents_open')
      .on('incidents')
      .columns(['box_id', 'device', 'kind'])
      .unique()
      .where(sql.ref('ended_at'), 'is', null)
      .execute();
    await db.schema
      .createIndex('incidents_office_started')
      .on('incidents')
      .columns(['office_id', 'started_at'])
      .execute();
    await db.schema
      .createTable('alert_rules')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('unit_id', 'text', (c) => c.notNull().references('units.id'))
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('threshold', 'bigint')
      .addColumn('webhook_url', 'text')
      .addColumn('webhook_secret', 'text')
      .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('alerts')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('rule_id', 'text', (c) => c.notNull())
      .addColumn('unit_id', 'text', (c) => c.notNull())
      .addColumn('box_id', 'text', (c) => c.notNull())
      .addColumn('office_id', 'text', (c) => c.notNull())
      .addColumn('device', 'text', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('detail', 'text')
      .addColumn('opened_at', 'bigint', (c) => c.notNull())
      .addColumn('resolved_at', 'bigint')
      .execute();
    // One open alert per rule and device: two replicas evaluating the same heartbeat fire it once.
    await db.schema
      .createIndex('alerts_open')
      .on('alerts')
      .columns(['rule_id', 'box_id', 'device'])
      .unique()
      .where(sql.ref('resolved_at'), 'is', null)
      .execute();
    await db.schema
      .createIndex('alerts_office_opened')
      .on('alerts')
      .columns(['office_id', 'opened_at'])
      .execute();
    await db.schema
      .createTable('alert_deliveries')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('alert_id', 'text', (c) => c.notNull())
      .addColumn('event', 'text', (c) => c.notNull())
      .addColumn('url', 'text', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('next_attempt_at', 'bigint')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('done_at', 'bigint')
      .addUniqueConstraint('alert_deliveries_once', ['alert_id', 'event'])
      .execute();
    await serial('alert_delivery_attempts')
      .addColumn('delivery_id', 'text', (c) => c.notNull())
      .addColumn('at', 'bigint', (c) => c.notNull())
      .addColumn('status', 'integer')
      .addColumn('error', 'text')
      .addColumn('duration_ms', 'integer', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('alert_delivery_attempts_delivery')
      .on('alert_delivery_attempts')
      .column('delivery_id')
      .execute();
  },
};

/** Peripherals issued from the console (issue 11): their dates; the peripherals are in the office's overrides. */
const fleetPeripherals: Migration = {
  async up(db: AnyDb) {
    await db.schema
      .createTable('fleet_peripherals')
      .addColumn('office_id', 'text', (c) => c.notNull().references('offices.id'))
      .addColumn('peripheral_id', 'text', (c) => c.notNull())
      // null: the peripheral came with the office's config, and was rotated from the console.
      .addColumn('created_at', 'bigint')
      .addColumn('created_by', 'text')
      .addColumn('rotated_at', 'bigint')
      .addColumn('rotated_by', 'text')
      .addPrimaryKeyConstraint('fleet_peripherals_pk', ['office_id', 'peripheral_id'])
      .execute();
  },
};

/**
 * Fleet commands (issue 11): one row per command, numbered per box (`seq`, what the box acknowledges), with
 * its state. `expired` is not stored: a command not finished by `expires_at` is expired from that instant,
 * whichever replica reads it (see cloud/fleet/commands.ts).
 */
const fleetCommands: Migration = {
  async up(db: AnyDb) {
    await db.schema
      .createTable('fleet_commands')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('box_id', 'text', (c) => c.notNull().references('boxes.id'))
      .addColumn('office_id', 'text', (c) => c.notNull().references('offices.id'))
      .addColumn('seq', 'bigint', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('params', 'text', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('delivered_at', 'bigint')
      .addColumn('finished_at', 'bigint')
      .addColumn('finished_by', 'text')
      .addColumn('reason', 'text')
      .addColumn('result', 'text')
      .addColumn('box_at', 'text')
      // Two replicas queueing at once can never give two commands of a box the same number.
      .addUniqueConstraint('fleet_commands_box_seq', ['box_id', 'seq'])
      .execute();
    await db.schema
      .createIndex('fleet_commands_office_created')
      .on('fleet_commands')
      .columns(['office_id', 'created_at'])
      .execute();
  },
};

/**
 * Releases and rollouts (issue 12): uploaded bundles per platform, rollouts in waves and each box's step in
 * them; each box's running version and platform (from its heartbeat and its update reports).
 */
const releases: Migration = {
  async up(db: AnyDb) {
    await db.schema
      .createTable('releases')
      .addColumn('version', 'text', (c) => c.primaryKey())
      .addColumn('notes', 'text', (c) => c.notNull())
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('release_bundles')
      .addColumn('version', 'text', (c) => c.notNull().references('releases.version'))
      .addColumn('platform', 'text', (c) => c.notNull())
      .addColumn('file', 'text', (c) => c.notNull())
      .addColumn('size', 'bigint', (c) => c.notNull())
      .addColumn('sha256', 'text', (c) => c.notNull())
      .addColumn('key_id', 'text', (c) => c.notNull())
      .addColumn('manifest', 'text', (c) => c.notNull())
      .addColumn('signature', 'text', (c) => c.notNull())
      .addColumn('uploaded_by', 'text', (c) => c.notNull())
      .addColumn('uploaded_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('release_bundles_pk', ['version', 'platform'])
      .execute();
    await db.schema
      .createTable('rollouts')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('version', 'text', (c) => c.notNull().references('releases.version'))
      .addColumn('unit_id', 'text', (c) => c.notNull().references('units.id'))
      .addColumn('waves', 'text', (c) => c.notNull())
      .addColumn('abort_threshold', 'integer', (c) => c.notNull())
      .addColumn('force', 'integer', (c) => c.notNull())
      .addColumn('allow_downgrade', 'integer', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('waves_started', 'integer', (c) => c.notNull())
      .addColumn('reason', 'text')
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('rollout_waves')
      .addColumn('rollout_id', 'text', (c) => c.notNull())
      .addColumn('wave', 'integer', (c) => c.notNull())
      .addColumn('size', 'integer', (c) => c.notNull())
      .addColumn('started_at', 'bigint')
      .addColumn('started_by', 'text')
      .addPrimaryKeyConstraint('rollout_waves_pk', ['rollout_id', 'wave'])
      .execute();
    await db.schema
      .createTable('rollout_boxes')
      .addColumn('rollout_id', 'text', (c) => c.notNull())
      .addColumn('box_id', 'text', (c) => c.notNull())
      .addColumn('office_id', 'text', (c) => c.notNull())
      .addColumn('wave', 'integer', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('reason', 'text')
      .addColumn('code', 'text')
      .addColumn('log_tail', 'text')
      .addColumn('running', 'text')
      .addColumn('progress_bytes', 'bigint')
      .addColumn('progress_total', 'bigint')
      .addColumn('reported_at', 'text')
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('rollout_boxes_pk', ['rollout_id', 'box_id'])
      .execute();
    await db.schema.createIndex('rollout_boxes_box').on('rollout_boxes').column('box_id').execute();
    await db.schema.alterTable('boxes').addColumn('running_version', 'text').execute();
    await db.schema.alterTable('boxes').addColumn('platform', 'text').execute();
  },
};

/**
 * Report definitions a province can sign (issue 13): no-show counts citizens (the marks kept apart), tickets
 * received at a service and at a counter, ratings on the five-level scale. The new figures of the data already
 * here are recomputed from the tickets and the raw events (`backfill-definitions.ts`).
 */
const reportDefinitions: Migration = {
  async up(db: AnyDb) {
    for (const m of ROLLUP_METRICS_0009)
      await db.schema
        .alterTable('rollups')
        .addColumn(m, 'bigint', (c) => c.notNull().defaultTo(0))
        .execute();
    await backfillReportDefinitions(db);
  },
};

/** An office's dossiers by time of receipt: the box's dossier-status board reads them (issue 15). */
const dossiersByOffice: Migration = {
  async up(db: AnyDb) {
    await db.schema
      .createIndex('dossiers_office_received')
      .on('dossiers')
      .columns(['office_id', 'received_at'])
      .execute();
  },
};

/**
 * Ratings from the citizen's phone (issue 14), one per ticket (the primary key refuses a second), and the boxes'
 * ticket-key secrets that prove a phone holds the ticket.
 */
const phoneRatings: Migration = {
  async up(db: AnyDb) {
    await db.schema
      .createTable('phone_ratings')
      .addColumn('office_id', 'text', (c) => c.notNull())
      .addColumn('ticket_id', 'text', (c) => c.notNull())
      .addColumn('day', 'text', (c) => c.notNull())
      .addColumn('service', 'text', (c) => c.notNull())
      .addColumn('counter', 'integer', (c) => c.notNull())
      .addColumn('clerk_id', 'text')
      .addColumn('score', 'integer', (c) => c.notNull())
      .addColumn('scale_max', 'integer', (c) => c.notNull())
      .addColumn('rated_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('phone_ratings_pk', ['office_id', 'ticket_id'])
      .execute();
    // Each box's ticket-key secret (its heartbeat says it): a phone proves it holds a ticket with the key.
    await db.schema
      .createTable('box_ticket_keys')
      .addColumn('box_id', 'text', (c) => c.primaryKey())
      .addColumn('office_id', 'text', (c) => c.notNull())
      .addColumn('secret', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('box_ticket_keys_office').on('box_ticket_keys').column('office_id').execute();
  },
};

/**
 * The week grain (issue 13): every rollup table gets `w` rows (`2026-02-w2`: days 8–14 of the month; days
 * 29–31 are in no week), the sums of their days, so a report reads a month's part as weeks and a few days.
 * Ingest writes them from now on (`grainsOf`); this fills them for the days already held.
 */
const weekGrain: Migration = { up: (db: AnyDb) => fillWeekGrain(db) };

/** Writes every rollup table's `w` rows as the sums of its `d` rows (migration 0012; tests replay it). */
export async function fillWeekGrain(db: AnyDb): Promise<void> {
  const dd = sql`CAST(substr(period, 9, 2) AS integer)`;
  const week = sql`substr(period, 1, 7) || '-w' || CAST((${dd} + 6) / 7 AS text)`;
  for (const [table, keys, metrics] of [
    [
      'rollups',
      ['office_id', 'service', 'counter', 'clerk_id'],
      [...ROLLUP_METRICS_0001, ...ROLLUP_METRICS_0009],
    ],
    ['rollup_hours', ['office_id', 'hour'], HOUR_METRICS],
    ['rollup_dossiers', ['office_id', 'service'], DOSSIER_METRICS],
  ] as const) {
    const k = sql.join(keys.map((c) => sql.ref(c)));
    const m = sql.join(metrics.map((c) => sql.ref(c)));
    const sums = sql.join(metrics.map((c) => sql`SUM(${sql.ref(c)})`));
    await sql`INSERT INTO ${sql.table(table)} (grain, period, ${k}, ${m})
      SELECT 'w', ${week}, ${k}, ${sums} FROM ${sql.table(table)} WHERE grain = 'd' AND ${dd} <= 28
      GROUP BY ${week}, ${k}`.execute(db);
  }
}

/**
 * Room for HOT updates (issue 13). Ingest updates the rollup rows of the day, week and month with every batch,
 * and a ticket's row at each step of its visit. With space left on each page (`fillfactor`, PostgreSQL only)
 * and no indexed column changed, PostgreSQL writes the new row version in the same page without new index
 * entries. A ticket's `state` changes at every step, so the live pages' index no longer holds it: they read one
 * office-day-service's tickets (hundreds) and filter the state.
 */
const hotUpdates: Migration = {
  up: async (db: AnyDb) => {
    await db.schema.dropIndex('tickets_waiting').execute();
    await db.schema
      .createIndex('tickets_day')
      .on('tickets')
      .columns(['office_id', 'day', 'service'])
      .execute();
    if (!isPostgres(db)) return;
    for (const t of ['rollups', 'rollup_hours', 'rollup_dossiers', 'tickets'])
      await sql`ALTER TABLE ${sql.table(t)} SET (fillfactor = 70)`.execute(db);
  },
};

export const MIGRATIONS: Record<string, Migration> = {
  '0001-initial': initial,
  '0002-dossier-ownership': dossierOwnership,
  '0003-audit-chain': auditChain,
  '0004-fleet': fleet,
  '0005-fleet-health': fleetHealth,
  '0006-fleet-commands': fleetCommands,
  '0007-releases': releases,
  '0008-fleet-peripherals': fleetPeripherals,
  '0009-report-definitions': reportDefinitions,
  '0010-dossiers-by-office': dossiersByOffice,
  '0011-phone-ratings': phoneRatings,
  '0012-week-grain': weekGrain,
  '0013-hot-updates': hotUpdates,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => MIGRATIONS,
};
