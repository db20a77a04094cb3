// Incidents from heartbeats as they arrive, and from a periodic sweep for boxes that stopped sending. Every
// write is idempotent across replicas: an incident is opened with INSERT … ON CONFLICT DO NOTHING against the
// partial unique index "one open incident per (box, device, kind)", closed with UPDATE … WHERE ended_at IS NULL.
import { sql } from 'kysely';
import type { Heartbeat } from '../../protocol/index.js';
import type { Db } from '../db/database.js';
import { BOX_DEVICE, conditionKey, conditionsOf, type Condition, type Thresholds } from './conditions.js';

export interface BoxRef {
  id: string;
  officeId: string;
}

async function openIncident(db: Db, box: BoxRef, c: Condition, at: number): Promise<boolean> {
  const r = await db
    .insertInto('incidents')
    .values({
      box_id: box.id,
      office_id: box.officeId,
      device: c.device,
      kind: c.kind,
      started_at: at,
      ended_at: null,
      detail: c.detail,
    })
    .onConflict((oc) => oc.doNothing())
    .executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
}

async function closeIncident(db: Db, boxId: string, device: string, kind: string, at: number): Promise<void> {
  await db
    .updateTable('incidents')
    .set({ ended_at: at })
    .where('box_id', '=', boxId)
    .where('device', '=', device)
    .where('kind', '=', kind)
    .where('ended_at', 'is', null)
    .execute();
}

/** Records a device's online state; `since` moves only when the state changes. */
async function setOnline(
  db: Db,
  box: BoxRef,
  device: string,
  role: string,
  online: boolean | null,
  at: number,
): Promise<void> {
  const v = online === null ? null : online ? 1 : 0;
  await sql`INSERT INTO health_devices (box_id, device, office_id, role, online, since, updated_at)
    VALUES (${box.id}, ${device}, ${box.officeId}, ${role}, ${v}, ${at}, ${at})
    ON CONFLICT (box_id, device) DO UPDATE SET
      since = CASE WHEN health_devices.online = excluded.online
                     OR (health_devices.online IS NULL AND excluded.online IS NULL) THEN health_devices.since
                   ELSE excluded.since END,
      online = excluded.online, role = excluded.role, updated_at = excluded.updated_at`.execute(db);
}

/** A heartbeat arrived at `now`: the box is online, and its faults open and close incidents. */
export async function recordHeartbeat(
  db: Db,
  box: BoxRef,
  hb: Heartbeat,
  now: number,
  thresholds: Thresholds,
): Promise<void> {
  await closeIncident(db, box.id, BOX_DEVICE, 'box_offline', now);
  // Written only when a device's state changes (or it is new): ~30 peripherals a minute per box otherwise.
  const known = new Map(
    (
      await db
        .selectFrom('health_devices')
        .select(['device', 'online', 'role'])
        .where('box_id', '=', box.id)
        .execute()
    ).map((d) => [d.device, d]),
  );
  const states: [string, string, boolean | null][] = [
    [BOX_DEVICE, 'box', true],
    ...hb.peripherals.map((p): [string, string, boolean | null] => [p.id, p.role, p.online]),
  ];
  for (const [device, role, online] of states) {
    const k = known.get(device);
    const v = online === null ? null : online ? 1 : 0;
    if (!k || k.online !== v || k.role !== role) await setOnline(db, box, device, role, online, now);
  }
  const wanted = new Map(conditionsOf(hb, thresholds).map((c) => [conditionKey(c), c]));
  const open = await db
    .selectFrom('incidents')
    .select(['device', 'kind'])
    .where('box_id', '=', box.id)
    .where('ended_at', 'is', null)
    .where('kind', '!=', 'box_offline')
    .execute();
  for (const o of open) {
    if (wanted.delete(conditionKey(o))) continue; // still there: stays open
    await closeIncident(db, box.id, o.device, o.kind, now);
  }
  for (const c of wanted.values()) await openIncident(db, box, c, now);
}

/**
 * Boxes whose last heartbeat is older than `windowMs` get a box_offline incident that starts at that last
 * heartbeat (the outage began after it; the cloud notices a window later). Returns the boxes with an open
 * incident or alert, for the rules that depend on how long an incident has lasted or that must resolve.
 */
export async function sweepOfflineBoxes(db: Db, now: number, windowMs: number): Promise<string[]> {
  const cutoff = now - windowMs;
  await sql`INSERT INTO incidents (box_id, office_id, device, kind, started_at, ended_at, detail)
    SELECT id, office_id, ${BOX_DEVICE}, 'box_offline', heartbeat_at, NULL, NULL FROM boxes
    WHERE revoked_at IS NULL AND heartbeat_at IS NOT NULL AND heartbeat_at < ${cutoff}
    ON CONFLICT DO NOTHING`.execute(db);
  await sql`UPDATE health_devices SET online = 0, since = (SELECT heartbeat_at FROM boxes b WHERE b.id = health_devices.box_id),
      updated_at = ${now}
    WHERE device = ${BOX_DEVICE} AND online = 1
      AND box_id IN (SELECT id FROM boxes WHERE heartbeat_at IS NOT NULL AND heartbeat_at < ${cutoff})`.execute(
    db,
  );
  // A revoked box's open incidents end when it was revoked.
  await sql`UPDATE incidents SET ended_at = (SELECT revoked_at FROM boxes b WHERE b.id = incidents.box_id)
    WHERE ended_at IS NULL AND box_id IN (SELECT id FROM boxes WHERE revoked_at IS NOT NULL)`.execute(db);
  const rows = await db
    .selectFrom('incidents')
    .select('box_id')
    .where('ended_at', 'is', null)
    .union(db.selectFrom('alerts').select('box_id').where('resolved_at', 'is', null))
    .execute();
  return [...new Set(rows.map((r) => r.box_id))];
}
