// Alert rules (per unit, inherited by its subtree) turned into alerts. An alert opens when its rule's
// condition holds for a device and resolves when it no longer does; the partial unique index "one open alert
// per (rule, box, device)" makes two replicas evaluating the same facts open it once, and only the replica
// whose INSERT (or resolving UPDATE) took effect creates the webhook delivery.
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Heartbeat } from '../../protocol/index.js';
import type { Db } from '../db/database.js';
import { BOX_DEVICE } from './conditions.js';

export const ALERT_KINDS = [
  'box_offline',
  'printer_paper_out',
  'backlog_above',
  'disk_below',
  'config_rejected',
  'ups_on_battery',
  'ups_low_battery',
] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

/** What a rule's threshold means; null: the kind takes none. */
export const THRESHOLD_UNITS: Record<AlertKind, 'minutes' | 'events' | 'MB' | null> = {
  box_offline: 'minutes',
  printer_paper_out: 'minutes',
  backlog_above: 'events',
  disk_below: 'MB',
  config_rejected: null,
  ups_on_battery: 'minutes',
  ups_low_battery: null,
};

/** Kinds read from an open incident of the box or a peripheral, held at least the threshold in minutes. */
const FROM_INCIDENT: Partial<Record<AlertKind, { incident: string; words: string }>> = {
  box_offline: { incident: 'box_offline', words: 'box offline' },
  printer_paper_out: { incident: 'printer_paper_out', words: 'printer out of paper' },
  ups_on_battery: { incident: 'on_battery', words: 'mains lost, the box runs on its UPS' },
  ups_low_battery: { incident: 'low_battery', words: 'UPS battery low, the box takes no requests' },
};

/** Kinds whose alerts come from outside the health evaluation (raiseAlert), not from heartbeats. */
const EXTERNAL: readonly AlertKind[] = ['config_rejected'];

export interface Rule {
  id: string;
  unit_id: string;
  kind: string;
  threshold: number | null;
  webhook_url: string | null;
}

interface BoxFacts {
  id: string;
  officeId: string;
  unitPath: string;
  heartbeat: Heartbeat | null;
  openIncidents: { device: string; kind: string; started_at: number; detail: string | null }[];
}

/** The alerts a rule wants for a box now: device → detail. Pure. */
export function wantedAlerts(rule: Rule, box: BoxFacts, now: number): Map<string, string> {
  const out = new Map<string, string>();
  const min = (rule.threshold ?? 0) * 60_000;
  const hb = box.heartbeat;
  switch (rule.kind as AlertKind) {
    case 'box_offline':
    case 'printer_paper_out':
    case 'ups_on_battery':
    case 'ups_low_battery': {
      const { incident, words } = FROM_INCIDENT[rule.kind as AlertKind] as {
        incident: string;
        words: string;
      };
      for (const i of box.openIncidents)
        if (i.kind === incident && now - Number(i.started_at) >= min)
          out.set(i.device, `${words} since ${new Date(Number(i.started_at)).toISOString()}`);
      break;
    }
    case 'backlog_above':
      if (hb && rule.threshold !== null && hb.backlog.events > rule.threshold)
        out.set(BOX_DEVICE, `${hb.backlog.events} events not yet sent (threshold ${rule.threshold})`);
      break;
    case 'disk_below': {
      const free = hb ? (hb.storage?.freeDiskBytes ?? hb.backlog.freeDiskBytes) : null;
      if (free !== null && rule.threshold !== null && free < rule.threshold * 1024 * 1024)
        out.set(BOX_DEVICE, `${Math.floor(free / 1024 / 1024)} MB free (threshold ${rule.threshold} MB)`);
      break;
    }
    default:
      break;
  }
  return out;
}

export interface AlertSink {
  /** A delivery row was created (committed): schedule it. */
  delivery(id: string): Promise<void>;
}

/** What rule evaluation reads of a rule, with its unit's path (inheritance by subtree). */
const RULE_COLUMNS = [
  'alert_rules.id',
  'alert_rules.unit_id',
  'alert_rules.kind',
  'alert_rules.threshold',
  'alert_rules.webhook_url',
  'units.path',
] as const;

async function rulesFor(db: Db, unitPath: string, kind?: string): Promise<Rule[]> {
  let q = db
    .selectFrom('alert_rules')
    .innerJoin('units', 'units.id', 'alert_rules.unit_id')
    .select(RULE_COLUMNS)
    .where('alert_rules.enabled', '=', 1);
  if (kind) q = q.where('alert_rules.kind', '=', kind);
  // A rule of a unit covers its subtree: the box's unit path starts with the rule's unit path.
  const rows = await q.where(sql<boolean>`${unitPath} LIKE ${sql.ref('units.path')} || '%'`).execute();
  return rows
    .filter((r) => unitPath.startsWith(r.path))
    .map((r) => ({ ...r, threshold: r.threshold === null ? null : Number(r.threshold) }));
}

async function boxFacts(db: Db, boxId: string): Promise<BoxFacts | null> {
  const b = await db
    .selectFrom('boxes')
    .innerJoin('offices', 'offices.id', 'boxes.office_id')
    .innerJoin('units', 'units.id', 'offices.unit_id')
    .select(['boxes.id', 'boxes.office_id', 'boxes.heartbeat', 'units.path'])
    .where('boxes.id', '=', boxId)
    .executeTakeFirst();
  if (!b) return null;
  const openIncidents = await db
    .selectFrom('incidents')
    .select(['device', 'kind', 'started_at', 'detail'])
    .where('box_id', '=', boxId)
    .where('ended_at', 'is', null)
    .execute();
  return {
    id: b.id,
    officeId: b.office_id,
    unitPath: b.path,
    heartbeat: b.heartbeat ? (JSON.parse(b.heartbeat) as Heartbeat) : null,
    openIncidents,
  };
}

async function openAlert(
  db: Db,
  sink: AlertSink,
  rule: Rule,
  box: { id: string; officeId: string },
  device: string,
  detail: string | null,
  now: number,
): Promise<void> {
  const id = randomUUID();
  const r = await db
    .insertInto('alerts')
    .values({
      id,
      rule_id: rule.id,
      unit_id: rule.unit_id,
      box_id: box.id,
      office_id: box.officeId,
      device,
      kind: rule.kind,
      detail: detail?.slice(0, 1000) ?? null,
      opened_at: now,
      resolved_at: null,
    })
    .onConflict((oc) => oc.doNothing())
    .executeTakeFirst();
  if (Number(r.numInsertedOrUpdatedRows ?? 0) === 0) return; // already open (here or on another replica)
  await addDelivery(db, sink, rule, id, 'alert.opened', now);
}

async function resolveAlert(db: Db, sink: AlertSink, alertId: string, now: number): Promise<void> {
  const r = await db
    .updateTable('alerts')
    .set({ resolved_at: now })
    .where('id', '=', alertId)
    .where('resolved_at', 'is', null)
    .executeTakeFirst();
  if (Number(r.numUpdatedRows) === 0) return;
  const a = await db
    .selectFrom('alerts')
    .select('rule_id')
    .where('id', '=', alertId)
    .executeTakeFirstOrThrow();
  const rule = await db
    .selectFrom('alert_rules')
    .select(['id', 'unit_id', 'kind', 'threshold', 'webhook_url'])
    .where('id', '=', a.rule_id)
    .executeTakeFirst();
  if (rule) await addDelivery(db, sink, rule, alertId, 'alert.resolved', now);
}

async function addDelivery(db: Db, sink: AlertSink, rule: Rule, alertId: string, event: string, now: number) {
  if (!rule.webhook_url) return;
  const id = randomUUID();
  const r = await db
    .insertInto('alert_deliveries')
    .values({
      id,
      alert_id: alertId,
      event,
      url: rule.webhook_url,
      state: 'pending',
      attempts: 0,
      next_attempt_at: Date.now(),
      created_at: now,
      done_at: null,
    })
    .onConflict((oc) => oc.doNothing())
    .executeTakeFirst();
  if (Number(r.numInsertedOrUpdatedRows ?? 0) > 0) await sink.delivery(id);
}

/**
 * Opens and resolves the alerts of boxes against every rule covering them (after a heartbeat, at each sweep):
 * a handful of queries for any number of boxes, and writes only for what changed.
 */
export async function evaluateBoxes(db: Db, sink: AlertSink, boxIds: string[], now: number): Promise<void> {
  if (boxIds.length === 0) return;
  const rules = (
    await db
      .selectFrom('alert_rules')
      .innerJoin('units', 'units.id', 'alert_rules.unit_id')
      .select(RULE_COLUMNS)
      .where('alert_rules.enabled', '=', 1)
      .execute()
  )
    .filter((r) => !EXTERNAL.includes(r.kind as AlertKind))
    .map((r) => ({ ...r, threshold: r.threshold === null ? null : Number(r.threshold) }));
  const byRule = new Map(rules.map((r) => [r.id, r]));
  for (let i = 0; i < boxIds.length; i += 500) {
    const ids = boxIds.slice(i, i + 500);
    const boxes = await db
      .selectFrom('boxes')
      .innerJoin('offices', 'offices.id', 'boxes.office_id')
      .innerJoin('units', 'units.id', 'offices.unit_id')
      .select(['boxes.id', 'boxes.office_id', 'boxes.heartbeat', 'units.path'])
      .where('boxes.id', 'in', ids)
      .execute();
    const incidents = await db
      .selectFrom('incidents')
      .select(['box_id', 'device', 'kind', 'started_at', 'detail'])
      .where('box_id', 'in', ids)
      .where('ended_at', 'is', null)
      .execute();
    const alerts = await db
      .selectFrom('alerts')
      .select(['id', 'box_id', 'rule_id', 'device', 'kind'])
      .where('box_id', 'in', ids)
      .where('resolved_at', 'is', null)
      .execute();
    for (const b of boxes) {
      const covering = rules.filter((r) => b.path.startsWith(r.path));
      const open = alerts.filter((a) => a.box_id === b.id && !EXTERNAL.includes(a.kind as AlertKind));
      if (covering.length === 0 && open.length === 0) continue;
      // The heartbeat is parsed only for the rules that read it.
      const readsHeartbeat = covering.some((r) => r.kind === 'backlog_above' || r.kind === 'disk_below');
      const box: BoxFacts = {
        id: b.id,
        officeId: b.office_id,
        unitPath: b.path,
        heartbeat: readsHeartbeat && b.heartbeat ? (JSON.parse(b.heartbeat) as Heartbeat) : null,
        openIncidents: incidents.filter((x) => x.box_id === b.id),
      };
      for (const rule of covering)
        for (const [device, detail] of wantedAlerts(rule, box, now))
          if (!open.some((a) => a.rule_id === rule.id && a.device === device))
            await openAlert(db, sink, rule, box, device, detail, now);
      for (const a of open) {
        const rule = byRule.get(a.rule_id);
        // A rule deleted or disabled resolves its alerts; so does a condition that ended.
        if (!rule || !b.path.startsWith(rule.path) || !wantedAlerts(rule, box, now).has(a.device))
          await resolveAlert(db, sink, a.id, now);
      }
    }
  }
}

/** evaluateBoxes for one box (after its heartbeat). */
export const evaluateBox = (db: Db, sink: AlertSink, boxId: string, now: number): Promise<void> =>
  evaluateBoxes(db, sink, [boxId], now);

/**
 * An alert raised from outside the heartbeats (the configuration twin: `config_rejected`): opens one alert per
 * rule of that kind covering the box (none without such a rule). Returns the number of rules that matched.
 */
export async function raiseAlert(
  db: Db,
  sink: AlertSink,
  kind: AlertKind,
  boxId: string,
  detail: string | null,
  now: number,
  device = BOX_DEVICE,
): Promise<number> {
  const box = await boxFacts(db, boxId);
  if (!box) throw new Error(`raiseAlert: no box "${boxId}"`);
  const rules = await rulesFor(db, box.unitPath, kind);
  for (const rule of rules) await openAlert(db, sink, rule, box, device, detail, now);
  return rules.length;
}

/** Resolves the open alerts of one kind for a box (the twin: the box applied a config after rejecting one). */
export async function clearAlert(
  db: Db,
  sink: AlertSink,
  kind: AlertKind,
  boxId: string,
  now: number,
): Promise<void> {
  const open = await db
    .selectFrom('alerts')
    .select('id')
    .where('box_id', '=', boxId)
    .where('kind', '=', kind)
    .where('resolved_at', 'is', null)
    .execute();
  for (const a of open) await resolveAlert(db, sink, a.id, now);
}
