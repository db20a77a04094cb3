// The cloud's tables as Kysely sees them. Times are epoch milliseconds (bigint), office days 'YYYY-MM-DD'
// text, so one schema serves SQLite and PostgreSQL alike. Rollup tables have generated histogram columns
// and are written with raw SQL (see ingest/rollups.ts), so only their keys are typed here.
import type { Generated } from 'kysely';

export interface UnitTable {
  id: string;
  parent_id: string | null;
  name: string;
  kind: string;
  /** Materialised path '/<root>/…/<id>/': a subtree is `path LIKE '<unit path>%'`. */
  path: string;
  created_at: number;
}

export interface OfficeTable {
  id: string;
  unit_id: string;
  name: string;
  timezone: string;
  created_at: number;
}

export interface BoxTable {
  id: string;
  office_id: string;
  secret_hash: string | null;
  claim_hash: string | null;
  claim_expires_at: number | null;
  enrolled_at: number | null;
  revoked_at: number | null;
  acked_seq: number;
  last_event_at: number | null;
  heartbeat: string | null;
  heartbeat_at: number | null;
  created_at: number;
  /** The box software version it runs (heartbeat, update reports); migration 0007. */
  running_version?: string | null;
  /** linux-arm64, linux-x64 (heartbeat); null until the box said. */
  platform?: string | null;
}

export interface EventTable {
  box_id: string;
  seq: number;
  office_id: string;
  type: string;
  at: number;
  day: string;
  data: string;
  received_at: number;
}

export interface TicketTable {
  office_id: string;
  ticket_id: string;
  day: string;
  number: string;
  service: string;
  priority: string | null;
  issued_at: number;
  state: string;
  counter: number | null;
  clerk_id: string | null;
  first_called_at: number | null;
  updated_at: number;
}

/**
 * A rating given from the citizen's phone (issue 14, offices without rating tablets): one per ticket, counted
 * in the rollups as a box's `rating.submitted` is, credited to the clerk who served the ticket. Not a box
 * event: the box's log and its sequence are untouched.
 */
export interface PhoneRatingTable {
  office_id: string;
  ticket_id: string;
  day: string;
  service: string;
  counter: number;
  clerk_id: string | null;
  score: number;
  scale_max: number;
  rated_at: number;
}

/** A box's ticket-key secret, from its heartbeat (issue 14): tickets' keys are checked with it. Never shown. */
export interface BoxTicketKeyTable {
  box_id: string;
  office_id: string;
  secret: string;
  updated_at: number;
}

export interface ClerkTable {
  office_id: string;
  clerk_id: string;
  name: string;
}

export interface DossierTable {
  code: string;
  procedure: string;
  procedure_name: string | null;
  service: string;
  /** The office the dossier is counted in: the named one, else the earliest lobby link inside its unit. */
  office_id: string | null;
  /** The office the province's software named (authoritative), if any. */
  named_office_id: string | null;
  received_at: number;
  due_at: number;
  returned_at: number | null;
  status: string;
  integration_id: string;
  updated_at: number;
}

export interface DossierLinkTable {
  code: string;
  office_id: string;
  ticket_id: string;
  service: string;
  counter: number;
  clerk_id: string | null;
  linked_at: number;
  /** The office day of the link (null only for links stored before it was recorded). */
  day: string | null;
  /** 1: the linking office is outside the unit of the integration that wrote the dossier (never its owner). */
  cross_unit: Generated<number>;
}

export interface AdminTable {
  id: string;
  username: string;
  password_hash: string;
  unit_id: string;
  role: string;
  created_at: number;
  disabled_at: number | null;
}

export interface SessionTable {
  token_hash: string;
  admin_id: string;
  created_at: number;
  expires_at: number;
}

export interface IntegrationTable {
  id: string;
  name: string;
  unit_id: string;
  key_generation: number;
  created_at: number;
  revoked_at: number | null;
}

export interface HmacReplayTable {
  signature: string;
  expires_at: number;
}

export interface AuditTable {
  id: Generated<number>;
  at: number;
  actor: string;
  action: string;
  target: string | null;
  unit_id: string | null;
  outcome: string;
  detail: string | null;
  ip: string | null;
  /** The row's place in the hash chain (1, 2, …; see audit/chain.ts). */
  seq: number | null;
  prev_hash: string | null;
  /** SHA-256 of the row's content and `prev_hash`. */
  hash: string | null;
}

/** A unit's template: a JSON Merge Patch (RFC 7396) of the desired config, inherited by its subtree's offices. */
export interface FleetTemplateTable {
  unit_id: string;
  document: string;
  /** 1, 2, …: a save names the revision it edited (If-Match), so a stale one is refused. */
  revision: number;
  updated_at: number;
  updated_by: string;
}

/** An office under cloud management: its own overrides and the resolved (validated) desired config. */
export interface FleetOfficeTable {
  office_id: string;
  /** A JSON Merge Patch applied after the unit templates. */
  overrides: string;
  revision: number;
  /** The desired config (protocol/fleet.ts DesiredConfig), defaults filled; `hash` = configHash(effective). */
  effective: string;
  hash: string;
  updated_at: number;
  updated_by: string;
}

/** One desired version of one box (1, 2, … per box; a row per version, so the history stays). */
export interface FleetDesiredTable {
  box_id: string;
  version: number;
  document: string;
  hash: string;
  saved_at: number;
  /** `admin:<username>` */
  saved_by: string;
}

/**
 * A peripheral issued from the console (cloud/fleet/peripherals.ts): when its secret was made and last rotated,
 * and by whom. The peripheral itself (and its secret's hash) lives in the office's overrides; never a secret.
 */
export interface FleetPeripheralTable {
  office_id: string;
  peripheral_id: string;
  /** null: it came with the office's config (PUT …/config) and was only rotated from the console. */
  created_at: number | null;
  created_by: string | null;
  rotated_at: number | null;
  rotated_by: string | null;
}

/** The last state a box reported (BoxReported). */
export interface FleetReportedTable {
  box_id: string;
  version: number;
  state: string;
  /** JSON [{path, message}] when rejected. */
  errors: string | null;
  hash: string;
  /** ISO 8601, the box's clock. */
  at: string;
  received_at: number;
}

/** Fleet health (cloud/health): each device's online state and since when ('' is the box itself). */
export interface HealthDeviceTable {
  box_id: string;
  device: string;
  office_id: string;
  role: string;
  online: number | null;
  since: number;
  updated_at: number;
}

/** An offline period or a fault of one device, open while ended_at is null (one open per device and kind). */
export interface IncidentTable {
  id: Generated<number>;
  box_id: string;
  office_id: string;
  device: string;
  kind: string;
  started_at: number;
  ended_at: number | null;
  detail: string | null;
}

export interface AlertRuleTable {
  id: string;
  unit_id: string;
  kind: string;
  threshold: number | null;
  webhook_url: string | null;
  /** The webhook signing secret, AES-256-GCM under a key derived from the master key; never in clear. */
  webhook_secret: string | null;
  enabled: number;
  created_at: number;
  updated_at: number;
}

export interface AlertTable {
  id: string;
  rule_id: string;
  unit_id: string;
  box_id: string;
  office_id: string;
  device: string;
  kind: string;
  detail: string | null;
  opened_at: number;
  resolved_at: number | null;
}

export interface AlertDeliveryTable {
  id: string;
  alert_id: string;
  event: string;
  url: string;
  state: string;
  attempts: number;
  next_attempt_at: number | null;
  created_at: number;
  done_at: number | null;
}

export interface AlertDeliveryAttemptTable {
  id: Generated<number>;
  delivery_id: string;
  at: number;
  status: number | null;
  error: string | null;
  duration_ms: number;
}

/** A fleet command (cloud/fleet/commands.ts): queued for a box, delivered in its poll, finished by its result. */
export interface FleetCommandTable {
  id: string;
  box_id: string;
  office_id: string;
  /** 1, 2, … per box: the box acknowledges the highest it holds. */
  seq: number;
  kind: string;
  /** JSON */
  params: string;
  /** pending, delivered, succeeded, failed, cancelled (expired is computed from expires_at). */
  state: string;
  created_at: number;
  /** `admin:<username>` */
  created_by: string;
  expires_at: number;
  delivered_at: number | null;
  finished_at: number | null;
  /** cancelled: `admin:<username>`; otherwise `box:<id>`. */
  finished_by: string | null;
  reason: string | null;
  /** JSON, succeeded only. */
  result: string | null;
  /** ISO 8601, the box's clock, when it finished it. */
  box_at: string | null;
}

/** An uploaded release: its bundles per platform are in release_bundles. */
export interface ReleaseTable {
  version: string;
  notes: string;
  /** `admin:<username>` */
  created_by: string;
  created_at: number;
}

/** A verified bundle of a release for one platform, kept on disk under the cloud's releases folder. */
export interface ReleaseBundleTable {
  version: string;
  platform: string;
  /** The tarball's file name (the manifest's `file`). */
  file: string;
  size: number;
  sha256: string;
  key_id: string;
  /** The manifest's exact bytes (UTF-8) and its signature (base64), as signed. */
  manifest: string;
  signature: string;
  uploaded_by: string;
  uploaded_at: number;
}

/** A rollout of a release to a unit subtree, in waves (cloud/releases/rollouts.ts). */
export interface RolloutTable {
  id: string;
  version: string;
  unit_id: string;
  /** JSON WaveSpec[] as the admin gave them. */
  waves: string;
  abort_threshold: number;
  force: number;
  allow_downgrade: number;
  /** running | paused | aborted | completed */
  state: string;
  /** Waves 1..waves_started have started. */
  waves_started: number;
  /** Why it was aborted (an admin, or the threshold). */
  reason: string | null;
  created_by: string;
  created_at: number;
  updated_at: number;
}

export interface RolloutWaveTable {
  rollout_id: string;
  /** 1-based. */
  wave: number;
  size: number;
  started_at: number | null;
  /** `admin:<username>`, or `auto` when the previous wave became all healthy. */
  started_by: string | null;
}

/** One box's step in a rollout (UPDATE_STATES), with the reason and log tail of a failure. */
export interface RolloutBoxTable {
  rollout_id: string;
  box_id: string;
  office_id: string;
  wave: number;
  state: string;
  reason: string | null;
  code: string | null;
  /** JSON string[]: the new version's last log lines (rolled_back). */
  log_tail: string | null;
  /** The version the box said it runs, in its last report. */
  running: string | null;
  progress_bytes: number | null;
  progress_total: number | null;
  /** ISO 8601, the box clock of the last report. */
  reported_at: string | null;
  updated_at: number;
}

export interface Tables {
  units: UnitTable;
  offices: OfficeTable;
  boxes: BoxTable;
  events: EventTable;
  tickets: TicketTable;
  phone_ratings: PhoneRatingTable;
  box_ticket_keys: BoxTicketKeyTable;
  clerks: ClerkTable;
  dossiers: DossierTable;
  dossier_links: DossierLinkTable;
  admins: AdminTable;
  sessions: SessionTable;
  integrations: IntegrationTable;
  hmac_replays: HmacReplayTable;
  audit_log: AuditTable;
  fleet_templates: FleetTemplateTable;
  fleet_offices: FleetOfficeTable;
  fleet_desired: FleetDesiredTable;
  fleet_reported: FleetReportedTable;
  fleet_peripherals: FleetPeripheralTable;
  health_devices: HealthDeviceTable;
  incidents: IncidentTable;
  alert_rules: AlertRuleTable;
  alerts: AlertTable;
  alert_deliveries: AlertDeliveryTable;
  alert_delivery_attempts: AlertDeliveryAttemptTable;
  fleet_commands: FleetCommandTable;
  releases: ReleaseTable;
  release_bundles: ReleaseBundleTable;
  rollouts: RolloutTable;
  rollout_waves: RolloutWaveTable;
  rollout_boxes: RolloutBoxTable;
}
