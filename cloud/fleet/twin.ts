// The configuration twin in the database: templates and overrides saved, every managed office of a change
// re-resolved, a new desired version per box when (and only when) its resolved document's hash changes, the
// boxes' reports. Every write holds the fleet's lock (a transaction-level advisory lock on PostgreSQL, an
// IMMEDIATE transaction on SQLite), so saves on any number of replicas apply one after the other: a version
// number is never taken twice (the (box, version) key backs it) and a stale save is refused by its revision.
import { hideSecretHashes, keepSecretHashes } from './hidden-secrets.js';
import { configHash, type BoxReported, type DesiredConfig, type TwinStatus } from '../../protocol/fleet.js';
import { lockedWrite, type CloudDatabase, type Db } from '../db/database.js';
import { HttpError } from '../http/context.js';
import type { Json, JsonObject, Layer } from './merge.js';
import { baseLayer, patchErrors, resolveOffice, type FieldError, type Resolution } from './resolve.js';
import type { TargetWakeups } from './wakeups.js';

/** Runs `fn` in a transaction that holds the fleet's lock until it ends. */
export function fleetWrite<T>(store: CloudDatabase, fn: (tx: Db) => Promise<T>): Promise<T> {
  return lockedWrite(store, 'fleet', fn);
}

export interface SaveContext {
  store: CloudDatabase;
  wakeups: TargetWakeups;
  /** Where boxes reach this cloud: the base of every desired config's `cloud.url`. */
  cloudUrl: string;
  actor: string;
  now: number;
}

export interface NewVersion {
  boxId: string;
  officeId: string;
  version: number;
}

export interface SaveResult {
  revision: number;
  /** The desired versions this save created (none when no office's resolved document changed). */
  versions: NewVersion[];
}

const parse = (s: string) => JSON.parse(s) as Json;

function invalid(message: string, detail: unknown): HttpError {
  return new HttpError(422, 'config_invalid', message, detail);
}

function checkRevision(what: string, current: number, expected: number | undefined): void {
  if (expected !== undefined && expected !== current)
    throw new HttpError(
      409,
      'revision_conflict',
      `${what} was saved by someone else meanwhile (revision ${current}, you edited ${expected}): ` +
        'reload it, redo your change and save again',
      { revision: current },
    );
}

async function officeRow(db: Db, officeId: string) {
  const o = await db
    .selectFrom('offices')
    .innerJoin('units', 'units.id', 'offices.unit_id')
    .select(['offices.id', 'offices.name', 'offices.timezone', 'units.path'])
    .where('offices.id', '=', officeId)
    .executeTakeFirst();
  if (!o) throw new HttpError(404, 'not_found', `no office "${officeId}"`);
  return o;
}

/** The templates along a unit path, root first. `replace` stands in for one unit's saved template. */
async function templateLayers(db: Db, unitPath: string, replace?: Layer): Promise<Layer[]> {
  const ids = unitPath.split('/').filter(Boolean);
  const rows = await db
    .selectFrom('fleet_templates')
    .select(['unit_id', 'document'])
    .where('unit_id', 'in', ids)
    .execute();
  const byUnit = new Map(rows.map((r) => [r.unit_id, parse(r.document)]));
  if (replace) byUnit.set(replace.source, replace.patch);
  return ids.flatMap((id) => (byUnit.has(id) ? [{ source: id, patch: byUnit.get(id) as Json }] : []));
}

export interface OfficeConfigView {
  officeId: string;
  /** false until an admin saves the office's config: templates reach only managed offices. */
  managed: boolean;
  revision: number;
  updatedAt: string | null;
  updatedBy: string | null;
  inherited: JsonObject;
  overrides: Json;
  effective: DesiredConfig | null;
  hash: string | null;
  errors: FieldError[];
  fields: Resolution['fields'];
}

export async function officeConfig(db: Db, officeId: string, cloudUrl: string): Promise<OfficeConfigView> {
  const o = await officeRow(db, officeId);
  const saved = await db
    .selectFrom('fleet_offices')
    .selectAll()
    .where('office_id', '=', officeId)
    .executeTakeFirst();
  const overrides = saved ? parse(saved.overrides) : {};
  const r = resolveOffice(baseLayer(o, cloudUrl), await templateLayers(db, o.path), overrides);
  return {
    officeId,
    managed: !!saved,
    revision: saved ? Number(saved.revision) : 0,
    updatedAt: saved ? new Date(Number(saved.updated_at)).toISOString() : null,
    updatedBy: saved?.updated_by ?? null,
    // Admins never see a peripheral's secret hash (hidden-secrets.ts); the box gets it in its target.
    inherited: hideSecretHashes(r.inherited),
    overrides: hideSecretHashes(overrides),
    effective: hideSecretHashes(r.effective),
    hash: r.hash,
    errors: r.errors,
    fields: r.fields,
  };
}

export interface TemplateView {
  unitId: string;
  revision: number;
  document: Json;
  updatedAt: string | null;
  updatedBy: string | null;
}

export async function unitTemplate(db: Db, unitId: string): Promise<TemplateView> {
  const t = await db
    .selectFrom('fleet_templates')
    .selectAll()
    .where('unit_id', '=', unitId)
    .executeTakeFirst();
  return {
    unitId,
    revision: t ? Number(t.revision) : 0,
    document: t ? hideSecretHashes(parse(t.document)) : {},
    updatedAt: t ? new Date(Number(t.updated_at)).toISOString() : null,
    updatedBy: t?.updated_by ?? null,
  };
}

/**
 * Saves an office's overrides, puts the office under cloud management, and gives each of its boxes a new
 * desired version if the resolved document changed. An invalid result is refused before anything is saved.
 */
export function saveOfficeConfig(
  s: SaveContext,
  officeId: string,
  overrides: unknown,
  expectedRevision?: number,
): Promise<SaveResult & { hash: string }> {
  // A peripheral's hidden secret hash (what GET showed) keeps the stored one.
  return editOfficeConfig(
    s,
    officeId,
    (now) => keepSecretHashes(overrides, [now.effective, now.overrides], `office "${officeId}"`),
    expectedRevision,
  );
}

/** What an edit of an office's overrides sees: the saved row, if any, under the fleet lock. */
export interface OfficeConfigNow {
  managed: boolean;
  revision: number;
  overrides: Json;
  /** The office's current desired config (null while unmanaged). */
  effective: DesiredConfig | null;
}

/**
 * Like saveOfficeConfig, but the new overrides are computed from the saved ones inside the fleet lock (so an
 * edit of one part, such as a peripheral, never undoes a colleague's save of another), and `alsoWrite` runs
 * in the same transaction after the office row is written.
 */
export async function editOfficeConfig(
  s: SaveContext,
  officeId: string,
  edit: (now: OfficeConfigNow) => unknown,
  expectedRevision?: number,
  alsoWrite?: (tx: Db) => Promise<void>,
): Promise<SaveResult & { hash: string }> {
  const out = await fleetWrite(s.store, async (tx) => {
    const o = await officeRow(tx, officeId);
    const cur = await tx
      .selectFrom('fleet_offices')
      .select(['revision', 'overrides', 'effective'])
      .where('office_id', '=', officeId)
      .executeTakeFirst();
    const revision = cur ? Number(cur.revision) : 0;
    checkRevision(`office "${officeId}"`, revision, expectedRevision);
    const overrides = edit({
      managed: !!cur,
      revision,
      overrides: cur ? parse(cur.overrides) : {},
      effective: cur ? (parse(cur.effective) as DesiredConfig) : null,
    });
    const refused = patchErrors(overrides);
    if (refused.length)
      throw invalid('the overrides are not a valid patch of the box config', { errors: refused });
    const r = resolveOffice(baseLayer(o, s.cloudUrl), await templateLayers(tx, o.path), overrides as Json);
    if (!r.effective || !r.hash)
      throw invalid(`office "${officeId}": the resulting config is invalid; nothing was saved`, {
        errors: r.errors,
      });
    const row = {
      overrides: JSON.stringify(overrides),
      revision: revision + 1,
      effective: JSON.stringify(r.effective),
      hash: r.hash,
      updated_at: s.now,
      updated_by: s.actor,
    };
    if (cur) await tx.updateTable('fleet_offices').set(row).where('office_id', '=', officeId).execute();
    else
      await tx
        .insertInto('fleet_offices')
        .values({ office_id: officeId, ...row })
        .execute();
    await alsoWrite?.(tx);
    const versions = await writeDesired(tx, s, [{ officeId, effective: r.effective, hash: r.hash }]);
    await s.wakeups.inTransaction(
      tx,
      versions.map((v) => v.boxId),
    );
    return { revision: revision + 1, versions, hash: r.hash };
  });
  s.wakeups.afterCommit(out.versions.map((v) => v.boxId));
  return out;
}

/**
 * Saves a unit's template after re-resolving every managed office of its subtree with it: if any office would
 * become invalid nothing is saved, and the refusal names each such office with its field errors.
 */
export async function saveUnitTemplate(
  s: SaveContext,
  unitId: string,
  document: unknown,
  expectedRevision?: number,
): Promise<SaveResult & { offices: number }> {
  const refused = patchErrors(document);
  if (refused.length)
    throw invalid('the template is not a valid patch of the box config', { errors: refused });
  const out = await fleetWrite(s.store, async (tx) => {
    const unit = await tx
      .selectFrom('units')
      .select(['id', 'path'])
      .where('id', '=', unitId)
      .executeTakeFirst();
    if (!unit) throw new HttpError(404, 'not_found', `no unit "${unitId}"`);
    const cur = await tx
      .selectFrom('fleet_templates')
      .select('revision')
      .where('unit_id', '=', unitId)
      .executeTakeFirst();
    const revision = cur ? Number(cur.revision) : 0;
    checkRevision(`the template of unit "${unitId}"`, revision, expectedRevision);
    const offices = await tx
      .selectFrom('fleet_offices')
      .innerJoin('offices', 'offices.id', 'fleet_offices.office_id')
      .innerJoin('units', 'units.id', 'offices.unit_id')
      .select([
        'offices.id',
        'offices.name',
        'offices.timezone',
        'units.path',
        'fleet_offices.overrides',
        'fleet_offices.revision',
        'fleet_offices.hash',
        'fleet_offices.updated_at',
        'fleet_offices.updated_by',
      ])
      .where('units.path', 'like', `${unit.path}%`)
      .orderBy('offices.id')
      .execute();
    // Every template an office of the subtree may inherit, read once.
    const templates = new Map(
      (await tx.selectFrom('fleet_templates').select(['unit_id', 'document']).execute()).map((t) => [
        t.unit_id,
        parse(t.document),
      ]),
    );
    // A peripheral's hidden secret hash (what GET showed) keeps the one this template holds.
    document = keepSecretHashes(document, [templates.get(unitId)], `the template of unit "${unitId}"`);
    templates.set(unitId, document as Json);
    const failures: { officeId: string; errors: FieldError[] }[] = [];
    const changed: {
      officeId: string;
      effective: DesiredConfig;
      hash: string;
      row: (typeof offices)[number];
    }[] = [];
    for (const [i, o] of offices.entries()) {
      // ~1 ms of validation per office: let the replica serve its other requests between every 50.
      if (i % 50 === 49) await new Promise((r) => setImmediate(r));
      const layers = o.path
        .split('/')
        .filter((id) => templates.has(id))
        .map((id) => ({ source: id, patch: templates.get(id) as Json }));
      const r = resolveOffice(baseLayer(o, s.cloudUrl), layers, parse(o.overrides));
      if (!r.effective || !r.hash) failures.push({ officeId: o.id, errors: r.errors });
      else if (r.hash !== o.hash)
        changed.push({ officeId: o.id, effective: r.effective, hash: r.hash, row: o });
    }
    if (failures.length)
      throw invalid(
        `the template would make ${failures.length} office(s) invalid (${failures
          .slice(0, 5)
          .map((f) => f.officeId)
          .join(', ')}${failures.length > 5 ? ', …' : ''}); nothing was saved`,
        { offices: failures.slice(0, 100) },
      );
    const row = {
      document: JSON.stringify(document),
      revision: revision + 1,
      updated_at: s.now,
      updated_by: s.actor,
    };
    if (cur) await tx.updateTable('fleet_templates').set(row).where('unit_id', '=', unitId).execute();
    else
      await tx
        .insertInto('fleet_templates')
        .values({ unit_id: unitId, ...row })
        .execute();
    // The offices' resolved documents, 200 rows a statement (one UPDATE each took most of a province's save).
    for (let i = 0; i < changed.length; i += 200)
      await tx
        .insertInto('fleet_offices')
        .values(
          changed.slice(i, i + 200).map((c) => ({
            office_id: c.officeId,
            overrides: c.row.overrides,
            revision: Number(c.row.revision),
            effective: JSON.stringify(c.effective),
            hash: c.hash,
            updated_at: Number(c.row.updated_at),
            updated_by: c.row.updated_by,
          })),
        )
        .onConflict((oc) =>
          oc.column('office_id').doUpdateSet((eb) => ({
            effective: eb.ref('excluded.effective'),
            hash: eb.ref('excluded.hash'),
          })),
        )
        .execute();
    const versions = await writeDesired(tx, s, changed);
    await s.wakeups.inTransaction(
      tx,
      versions.map((v) => v.boxId),
    );
    return { revision: revision + 1, versions, offices: offices.length };
  });
  s.wakeups.afterCommit(out.versions.map((v) => v.boxId));
  return out;
}

/** Each live box of these offices gets the office's document as a new version, unless it already has that hash. */
async function writeDesired(
  tx: Db,
  s: SaveContext,
  offices: { officeId: string; effective: DesiredConfig; hash: string }[],
): Promise<NewVersion[]> {
  const out: NewVersion[] = [];
  const byOffice = new Map(offices.map((o) => [o.officeId, o]));
  const ids = [...byOffice.keys()];
  for (let i = 0; i < ids.length; i += 500) {
    const boxes = await latestDesired(tx, (q) => q.where('boxes.office_id', 'in', ids.slice(i, i + 500)));
    const rows = boxes.flatMap((b) => {
      const o = byOffice.get(b.officeId) as (typeof offices)[number];
      if (b.hash === o.hash) return [];
      const version = (b.version ?? 0) + 1;
      out.push({ boxId: b.boxId, officeId: b.officeId, version });
      return [
        {
          box_id: b.boxId,
          version,
          document: JSON.stringify(o.effective),
          hash: o.hash,
          saved_at: s.now,
          saved_by: s.actor,
        },
      ];
    });
    for (let j = 0; j < rows.length; j += 200)
      await tx
        .insertInto('fleet_desired')
        .values(rows.slice(j, j + 200))
        .execute();
  }
  return out;
}

interface LatestRow {
  boxId: string;
  officeId: string;
  software: { running: string | null; platform: string | null };
  version: number | null;
  hash: string | null;
  savedAt: number | null;
  savedBy: string | null;
}

/** Live (not revoked) boxes and their newest desired version, filtered by `where`. */
async function latestDesired(
  db: Db,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  where: (q: any) => any,
): Promise<LatestRow[]> {
  const q = db
    .selectFrom('boxes')
    .leftJoin('fleet_desired as d', (j) =>
      j.onRef('d.box_id', '=', 'boxes.id').on('d.version', '=', (eb) =>
        eb
          .selectFrom('fleet_desired as m')
          .select((e) => e.fn.max('m.version').as('v'))
          .whereRef('m.box_id', '=', 'boxes.id'),
      ),
    )
    .select([
      'boxes.id',
      'boxes.office_id',
      'boxes.running_version',
      'boxes.platform',
      'd.version',
      'd.hash',
      'd.saved_at',
      'd.saved_by',
    ])
    .where('boxes.revoked_at', 'is', null);
  const rows = (await where(q).orderBy('boxes.id').execute()) as {
    id: string;
    office_id: string;
    running_version: string | null;
    platform: string | null;
    version: number | null;
    hash: string | null;
    saved_at: number | null;
    saved_by: string | null;
  }[];
  return rows.map((r) => ({
    boxId: r.id,
    officeId: r.office_id,
    software: { running: r.running_version, platform: r.platform },
    version: r.version === null ? null : Number(r.version),
    hash: r.hash,
    savedAt: r.saved_at === null ? null : Number(r.saved_at),
    savedBy: r.saved_by,
  }));
}

/** The newest desired version of a box, if newer than `after`. */
export async function targetAfter(db: Db, boxId: string, after: number) {
  const row = await db
    .selectFrom('fleet_desired')
    .select(['version', 'document', 'hash', 'saved_at'])
    .where('box_id', '=', boxId)
    .where('version', '>', after)
    .orderBy('version', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row
    ? {
        version: Number(row.version),
        hash: row.hash,
        config: JSON.parse(row.document) as unknown,
        savedAt: new Date(Number(row.saved_at)).toISOString(),
      }
    : null;
}

/**
 * A box of a managed office that has no desired version yet (created or enrolled after the office's last
 * save) gets the office's current document as its version 1.
 */
export async function ensureFirstVersion(
  store: CloudDatabase,
  box: { id: string; officeId: string },
  now: number,
): Promise<void> {
  const has = await store.db
    .selectFrom('fleet_desired')
    .select('version')
    .where('box_id', '=', box.id)
    .limit(1)
    .executeTakeFirst();
  if (has) return;
  const managed = await store.db
    .selectFrom('fleet_offices')
    .select('office_id')
    .where('office_id', '=', box.officeId)
    .executeTakeFirst();
  if (!managed) return;
  // Under the fleet lock, like every save: a save of the office at the same moment either sees this version 1
  // (and makes version 2) or has already written it.
  await fleetWrite(store, async (tx) => {
    const again = await tx
      .selectFrom('fleet_desired')
      .select('version')
      .where('box_id', '=', box.id)
      .limit(1)
      .executeTakeFirst();
    if (again) return;
    const office = await tx
      .selectFrom('fleet_offices')
      .select(['effective', 'hash', 'updated_by'])
      .where('office_id', '=', box.officeId)
      .executeTakeFirstOrThrow();
    await tx
      .insertInto('fleet_desired')
      .values({
        box_id: box.id,
        version: 1,
        document: office.effective,
        hash: office.hash,
        saved_at: now,
        saved_by: office.updated_by,
      })
      .execute();
  });
}

/**
 * Records what a box did with a desired version. Idempotent; an older report arriving after a newer one
 * changes nothing. A version the cloud never had for this box: 409 unknown_version.
 */
export async function recordReport(db: Db, boxId: string, r: BoxReported, now: number): Promise<void> {
  const desired = await db
    .selectFrom('fleet_desired')
    .select('hash')
    .where('box_id', '=', boxId)
    .where('version', '=', r.version)
    .executeTakeFirst();
  if (!desired)
    throw new HttpError(
      409,
      'unknown_version',
      `this cloud never had desired version ${r.version} for box "${boxId}": nothing was recorded`,
    );
  const row = {
    version: r.version,
    state: r.state,
    errors: r.errors?.length ? JSON.stringify(r.errors) : null,
    hash: r.hash,
    at: r.at,
    received_at: now,
  };
  await db
    .insertInto('fleet_reported')
    .values({ box_id: boxId, ...row })
    .onConflict((oc) => oc.column('box_id').doUpdateSet(row).where('fleet_reported.version', '<=', r.version))
    .execute();
}

export interface TwinView {
  boxId: string;
  officeId: string;
  desired: { version: number; hash: string; savedAt: string; savedBy: string } | null;
  reported: {
    version: number;
    state: 'applied' | 'rejected';
    hash: string;
    errors: FieldError[];
    at: string;
    receivedAt: string;
  } | null;
  status: TwinStatus;
  /** The box applied a version but reports another hash than the cloud's for that version. */
  drift: boolean;
  /** The box software it runs and its platform, as its heartbeat and update reports said (null: not yet). */
  software: { running: string | null; platform: string | null };
}

/** Status from the versions: the console shows drift beside it. */
export function twinStatus(
  desiredVersion: number | null,
  reported: { version: number; state: string } | null,
  officeManaged = false,
): TwinStatus {
  // A new box of a managed office gets its version 1 on its first poll: until then it is pending.
  if (desiredVersion === null) return officeManaged ? 'pending' : 'unmanaged';
  if (!reported || reported.version !== desiredVersion) return 'pending';
  return reported.state === 'applied' ? 'in_sync' : 'rejected';
}

/** The twins of the live boxes that `where` selects (by box or by unit subtree), at most `limit`. */
export async function twins(
  db: Db,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  where: (q: any) => any,
  limit: number,
): Promise<TwinView[]> {
  const latest = await latestDesired(db, (q) => where(q).limit(limit));
  if (latest.length === 0) return [];
  const ids = latest.map((l) => l.boxId);
  const unversioned = [...new Set(latest.filter((l) => l.version === null).map((l) => l.officeId))];
  const managed = new Set<string>();
  for (let i = 0; i < unversioned.length; i += 500)
    for (const r of await db
      .selectFrom('fleet_offices')
      .select('office_id')
      .where('office_id', 'in', unversioned.slice(i, i + 500))
      .execute())
      managed.add(r.office_id);
  const reports = new Map<
    string,
    {
      version: number;
      state: string;
      hash: string;
      errors: string | null;
      at: string;
      received_at: number;
      desiredHash: string | null;
    }
  >();
  for (let i = 0; i < ids.length; i += 500) {
    const rows = await db
      .selectFrom('fleet_reported as r')
      .leftJoin('fleet_desired as d', (j) =>
        j.onRef('d.box_id', '=', 'r.box_id').onRef('d.version', '=', 'r.version'),
      )
      .select([
        'r.box_id',
        'r.version',
        'r.state',
        'r.hash',
        'r.errors',
        'r.at',
        'r.received_at',
        'd.hash as desiredHash',
      ])
      .where('r.box_id', 'in', ids.slice(i, i + 500))
      .execute();
    for (const r of rows)
      reports.set(r.box_id, { ...r, version: Number(r.version), received_at: Number(r.received_at) });
  }
  return latest.map((l) => {
    const r = reports.get(l.boxId) ?? null;
    return {
      boxId: l.boxId,
      officeId: l.officeId,
      desired:
        l.version === null
          ? null
          : {
              version: l.version,
              hash: l.hash as string,
              savedAt: new Date(l.savedAt as number).toISOString(),
              savedBy: l.savedBy as string,
            },
      reported: r
        ? {
            version: r.version,
            state: r.state as 'applied' | 'rejected',
            hash: r.hash,
            errors: r.errors ? (JSON.parse(r.errors) as FieldError[]) : [],
            at: r.at,
            receivedAt: new Date(r.received_at).toISOString(),
          }
        : null,
      status: twinStatus(l.version, r, managed.has(l.officeId)),
      drift: !!r && r.state === 'applied' && r.hash !== r.desiredHash,
      software: l.software,
    };
  });
}

/** A box's desired versions, newest first, with the top-level sections each changed. */
export async function desiredHistory(db: Db, boxId: string, limit: number) {
  const rows = await db
    .selectFrom('fleet_desired')
    .select(['version', 'document', 'hash', 'saved_at', 'saved_by'])
    .where('box_id', '=', boxId)
    .orderBy('version', 'desc')
    .limit(limit + 1)
    .execute();
  return rows.slice(0, limit).map((r, i) => {
    const doc = JSON.parse(r.document) as JsonObject;
    const prev = rows[i + 1]
      ? (JSON.parse((rows[i + 1] as { document: string }).document) as JsonObject)
      : {};
    const keys = [...new Set([...Object.keys(doc), ...Object.keys(prev)])].sort();
    return {
      version: Number(r.version),
      hash: r.hash,
      savedAt: new Date(Number(r.saved_at)).toISOString(),
      savedBy: r.saved_by,
      changed: keys.filter((k) => configHash(doc[k]) !== configHash(prev[k])),
      config: hideSecretHashes(doc),
    };
  });
}
