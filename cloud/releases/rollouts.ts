// Rollouts in the database: created for a unit subtree (its live boxes, cut into waves), started wave by wave,
// paused, resumed, aborted; each box's reported step; the decisions of waves.ts applied after every final
// step. Writes that change what boxes are offered hold one lock (lockedWrite 'rollouts'), so replicas apply
// them one after the other; the boxes whose offer changed are returned for the caller to wake.
import { randomUUID } from 'node:crypto';
import { UPDATE_STATES, type SoftwareReport, type UpdateState } from '../../protocol/fleet-updates.js';
import type { UnitRow } from '../admin/provisioning.js';
import { lockedWrite, type CloudDatabase, type Db } from '../db/database.js';
import { HttpError } from '../http/context.js';
import { ROLLOUT_BOXES_MAX, ROLLOUTS_LIST_MAX } from '../limits.js';
import {
  assignWaves,
  emptyCounts,
  isFinal,
  nextDecision,
  stepMoves,
  waveSizes,
  type RolloutFacts,
  type StateCounts,
  type WaveSpec,
} from './waves.js';

export const ACTIVE = ['running', 'paused'] as const;
const LOCK = 'rollouts';

export interface RolloutRequest {
  version: string;
  unit: UnitRow;
  waves: WaveSpec[];
  abortThreshold: number;
  force: boolean;
  allowDowngrade: boolean;
  actor: string;
  now: number;
  /** The platform of a box that never said its own. */
  defaultPlatform: string;
}

/** What a write did, for the audit row and the wake-ups. */
export interface RolloutChange {
  rolloutId: string;
  /** Boxes whose software target appeared, changed or went away: their long polls are woken. */
  wake: string[];
  /** Waves started and the abort or completion this write caused (audit detail). */
  events: string[];
}

/** Live boxes (enrolled, not revoked) of the offices in a unit's subtree, with their platform and version. */
async function boxesOf(db: Db, unitPath: string) {
  return db
    .selectFrom('boxes')
    .innerJoin('offices', 'offices.id', 'boxes.office_id')
    .innerJoin('units', 'units.id', 'offices.unit_id')
    .select(['boxes.id', 'boxes.office_id', 'boxes.platform', 'boxes.running_version'])
    .where('units.path', 'like', `${unitPath}%`)
    .where('boxes.secret_hash', 'is not', null)
    .where('boxes.revoked_at', 'is', null)
    .orderBy('boxes.id')
    .limit(ROLLOUT_BOXES_MAX + 1)
    .execute();
}

export async function createRollout(store: CloudDatabase, r: RolloutRequest): Promise<RolloutChange> {
  return lockedWrite(store, LOCK, async (tx) => {
    const bundles = await tx
      .selectFrom('release_bundles')
      .select('platform')
      .where('version', '=', r.version)
      .execute();
    if (bundles.length === 0)
      throw new HttpError(
        409,
        'release_not_ready',
        `release ${r.version} has no verified bundle: upload one per platform first`,
      );
    const boxes = await boxesOf(tx, r.unit.path);
    if (boxes.length === 0)
      throw new HttpError(409, 'no_boxes', `unit "${r.unit.id}" has no enrolled box to update`);
    if (boxes.length > ROLLOUT_BOXES_MAX)
      throw new HttpError(
        409,
        'too_many_boxes',
        `a rollout holds at most ${ROLLOUT_BOXES_MAX} boxes: roll out to smaller units one after the other`,
      );
    const have = new Set(bundles.map((b) => b.platform));
    const missing = [...new Set(boxes.map((b) => b.platform ?? r.defaultPlatform))].filter(
      (p) => !have.has(p),
    );
    if (missing.length > 0)
      throw new HttpError(
        409,
        'platform_missing',
        `release ${r.version} has no bundle for ${missing.join(', ')}, which boxes of "${r.unit.id}" run: upload it first`,
      );
    const ids = boxes.map((b) => b.id);
    for (let i = 0; i < ids.length; i += 1000) {
      const busy = await tx
        .selectFrom('rollout_boxes')
        .innerJoin('rollouts', 'rollouts.id', 'rollout_boxes.rollout_id')
        .select(['rollouts.id', 'rollouts.version'])
        .where('rollouts.state', 'in', [...ACTIVE])
        .where('rollout_boxes.box_id', 'in', ids.slice(i, i + 1000))
        .limit(1)
        .executeTakeFirst();
      if (busy)
        throw new HttpError(
          409,
          'rollout_active',
          `boxes of "${r.unit.id}" are in rollout ${busy.id} (version ${busy.version}): abort it or let it complete first`,
        );
    }
    let sizes: number[];
    try {
      sizes = waveSizes(r.waves, boxes.length);
    } catch (err) {
      throw new HttpError(400, 'invalid_waves', (err as Error).message);
    }
    const waveOf = assignWaves(r.version, ids, r.waves);
    const id = randomUUID();
    await tx
      .insertInto('rollouts')
      .values({
        id,
        version: r.version,
        unit_id: r.unit.id,
        waves: JSON.stringify(r.waves),
        abort_threshold: r.abortThreshold,
        force: r.force ? 1 : 0,
        allow_downgrade: r.allowDowngrade ? 1 : 0,
        state: 'running',
        waves_started: 0,
        reason: null,
        created_by: r.actor,
        created_at: r.now,
        updated_at: r.now,
      })
      .execute();
    await tx
      .insertInto('rollout_waves')
      .values(
        sizes.map((size, i) => ({ rollout_id: id, wave: i + 1, size, started_at: null, started_by: null })),
      )
      .execute();
    const rows = boxes.map((b) => {
      // A box already running the version has nothing to do: it counts as healthy from the start.
      const already = b.running_version === r.version;
      return {
        rollout_id: id,
        box_id: b.id,
        office_id: b.office_id,
        wave: waveOf.get(b.id) as number,
        state: already ? 'healthy' : 'pending',
        reason: already ? `already running ${r.version}` : null,
        code: null,
        log_tail: null,
        running: b.running_version ?? null,
        progress_bytes: null,
        progress_total: null,
        reported_at: null,
        updated_at: r.now,
      };
    });
    for (let i = 0; i < rows.length; i += 500)
      await tx
        .insertInto('rollout_boxes')
        .values(rows.slice(i, i + 500))
        .execute();
    const change: RolloutChange = { rolloutId: id, wake: [], events: [] };
    await startWave(tx, id, 1, r.actor, r.now, change);
    await decide(tx, id, r.now, change);
    return change;
  });
}

async function startWave(tx: Db, id: string, wave: number, by: string, now: number, change: RolloutChange) {
  await tx
    .updateTable('rollout_waves')
    .set({ started_at: now, started_by: by })
    .where('rollout_id', '=', id)
    .where('wave', '=', wave)
    .execute();
  await tx
    .updateTable('rollouts')
    .set({ waves_started: wave, updated_at: now })
    .where('id', '=', id)
    .execute();
  const boxes = await tx
    .selectFrom('rollout_boxes')
    .select('box_id')
    .where('rollout_id', '=', id)
    .where('wave', '=', wave)
    .where('state', '=', 'pending')
    .execute();
  change.wake.push(...boxes.map((b) => b.box_id));
  change.events.push(`wave ${wave} started (${by})`);
}

async function facts(tx: Db, id: string): Promise<RolloutFacts & { version: string }> {
  const r = await tx
    .selectFrom('rollouts')
    .select(['state', 'waves_started', 'abort_threshold', 'version'])
    .where('id', '=', id)
    .executeTakeFirst();
  if (!r) throw new HttpError(404, 'not_found', `no rollout "${id}"`);
  const waves = await tx
    .selectFrom('rollout_waves')
    .select(['wave', 'size'])
    .where('rollout_id', '=', id)
    .orderBy('wave')
    .execute();
  const counts = await countsByWave(tx, id);
  return {
    version: r.version,
    state: r.state,
    wavesStarted: Number(r.waves_started),
    abortThreshold: Number(r.abort_threshold),
    waves: waves.map((w) => ({ size: Number(w.size), counts: counts.get(Number(w.wave)) ?? emptyCounts() })),
  };
}

async function countsByWave(db: Db, id: string): Promise<Map<number, StateCounts>> {
  const rows = await db
    .selectFrom('rollout_boxes')
    .select(['wave', 'state', (eb) => eb.fn.countAll<number>().as('n')])
    .where('rollout_id', '=', id)
    .groupBy(['wave', 'state'])
    .execute();
  const out = new Map<number, StateCounts>();
  for (const r of rows) {
    const w = Number(r.wave);
    if (!out.has(w)) out.set(w, emptyCounts());
    (out.get(w) as StateCounts)[r.state as UpdateState] = Number(r.n);
  }
  return out;
}

/** Boxes of started waves that still hold (or wait for) the target: told when it goes away. */
async function unfinishedBoxes(tx: Db, id: string): Promise<string[]> {
  const rows = await tx
    .selectFrom('rollout_boxes')
    .innerJoin('rollouts', 'rollouts.id', 'rollout_boxes.rollout_id')
    .select('rollout_boxes.box_id')
    .where('rollout_boxes.rollout_id', '=', id)
    .whereRef('rollout_boxes.wave', '<=', 'rollouts.waves_started')
    .where('rollout_boxes.state', 'not in', ['healthy', 'rolled_back', 'failed'])
    .execute();
  return rows.map((r) => r.box_id);
}

/** Applies waves.ts's decisions until there is none (an empty wave starts the next at once). */
async function decide(tx: Db, id: string, now: number, change: RolloutChange): Promise<void> {
  for (;;) {
    const f = await facts(tx, id);
    const d = nextDecision(f);
    if (!d) return;
    if (d.kind === 'start') await startWave(tx, id, d.wave, 'auto', now, change);
    else if (d.kind === 'complete') {
      await tx
        .updateTable('rollouts')
        .set({ state: 'completed', updated_at: now })
        .where('id', '=', id)
        .execute();
      change.events.push('completed');
      return;
    } else {
      change.wake.push(...(await unfinishedBoxes(tx, id)));
      await tx
        .updateTable('rollouts')
        .set({ state: 'aborted', reason: d.reason, updated_at: now })
        .where('id', '=', id)
        .execute();
      change.events.push(`aborted: ${d.reason}`);
      return;
    }
  }
}

export type RolloutAction = 'pause' | 'resume' | 'abort' | 'next-wave';

/** An admin's action on a rollout. Refused (409) when the rollout's state does not allow it. */
export async function actOnRollout(
  store: CloudDatabase,
  id: string,
  action: RolloutAction,
  opts: { actor: string; now: number; reason?: string },
): Promise<RolloutChange> {
  return lockedWrite(store, LOCK, async (tx) => {
    const f = await facts(tx, id);
    const change: RolloutChange = { rolloutId: id, wake: [], events: [] };
    const refuse = (why: string) => {
      throw new HttpError(409, 'rollout_state', `rollout ${id} is ${f.state}: ${why}`);
    };
    const setState = (state: string, reason: string | null = null) =>
      tx.updateTable('rollouts').set({ state, reason, updated_at: opts.now }).where('id', '=', id).execute();
    if (action === 'pause') {
      if (f.state !== 'running') refuse('only a running rollout can be paused');
      await setState('paused');
      change.events.push('paused');
    } else if (action === 'resume') {
      if (f.state !== 'paused') refuse('only a paused rollout can be resumed');
      await setState('running');
      // Boxes of started waves that were not given the target while paused get it now.
      change.wake.push(...(await unfinishedBoxes(tx, id)));
      change.events.push('resumed');
      await decide(tx, id, opts.now, change);
    } else if (action === 'abort') {
      if (!(ACTIVE as readonly string[]).includes(f.state)) refuse('it has ended already');
      change.wake.push(...(await unfinishedBoxes(tx, id)));
      await setState('aborted', `aborted by ${opts.actor}${opts.reason ? `: ${opts.reason}` : ''}`);
      change.events.push('aborted');
    } else {
      if (f.state !== 'running') refuse('resume it before starting a wave');
      if (f.wavesStarted >= f.waves.length) refuse('every wave has started');
      await startWave(tx, id, f.wavesStarted + 1, opts.actor, opts.now, change);
      await decide(tx, id, opts.now, change);
    }
    return change;
  });
}

/** Which steps a report of `to` may replace (waves.ts: forward only, final is final). */
const fromStates = (to: string): string[] => UPDATE_STATES.filter((f) => stepMoves(f, to) !== 'ignored');

/**
 * A box's report of one step (idempotent: the same step again only refreshes progress; a step behind the
 * recorded one, or after a final one, changes nothing). A final step applies the rollout's decisions.
 */
export async function recordSoftwareReport(
  store: CloudDatabase,
  boxId: string,
  r: SoftwareReport,
  now: number,
): Promise<RolloutChange & { state: string; moved: boolean }> {
  const apply = async (tx: Db) => {
    // Written only when it changed: a report is one commit (one fsync), the box's running version rarely moves.
    await tx
      .updateTable('boxes')
      .set({ running_version: r.running })
      .where('id', '=', boxId)
      .where((eb) => eb.or([eb('running_version', 'is', null), eb('running_version', '!=', r.running)]))
      .execute();
    const res = await tx
      .updateTable('rollout_boxes')
      .set({
        state: r.state,
        running: r.running,
        reported_at: r.at,
        updated_at: now,
        ...(r.reason !== undefined ? { reason: r.reason } : {}),
        ...(r.code !== undefined ? { code: r.code } : {}),
        ...(r.logTail !== undefined ? { log_tail: JSON.stringify(r.logTail) } : {}),
        ...(r.progress ? { progress_bytes: r.progress.bytes, progress_total: r.progress.total } : {}),
      })
      .where('rollout_id', '=', r.rolloutId)
      .where('box_id', '=', boxId)
      .where('state', 'in', fromStates(r.state))
      .executeTakeFirst();
    const moved = Number(res.numUpdatedRows) > 0;
    const row = await tx
      .selectFrom('rollout_boxes')
      .select('state')
      .where('rollout_id', '=', r.rolloutId)
      .where('box_id', '=', boxId)
      .executeTakeFirst();
    if (!row)
      throw new HttpError(
        404,
        'unknown_rollout',
        `this box is not in rollout "${r.rolloutId}": nothing was recorded`,
      );
    const change: RolloutChange = { rolloutId: r.rolloutId, wake: [], events: [] };
    if (moved && isFinal(r.state)) await decide(tx, r.rolloutId, now, change);
    return { ...change, state: row.state, moved };
  };
  // Only a final step can change the rollout's course: the others skip the lock (the conditional update keeps
  // them from overtaking a final step written meanwhile).
  return isFinal(r.state)
    ? lockedWrite(store, LOCK, apply)
    : store.db.transaction().execute((tx) => apply(tx));
}

export interface RolloutSummary {
  id: string;
  version: string;
  unitId: string;
  state: string;
  reason: string | null;
  waves: WaveSpec[];
  wavesStarted: number;
  abortThreshold: number;
  force: boolean;
  allowDowngrade: boolean;
  boxes: number;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
}

type RolloutRow = {
  id: string;
  version: string;
  unit_id: string;
  state: string;
  reason: string | null;
  waves: string;
  waves_started: number;
  abort_threshold: number;
  force: number;
  allow_downgrade: number;
  created_by: string;
  created_at: number;
  updated_at: number;
};

const summaryOf = (r: RolloutRow, boxes: number): RolloutSummary => ({
  id: r.id,
  version: r.version,
  unitId: r.unit_id,
  state: r.state,
  reason: r.reason,
  waves: JSON.parse(r.waves) as WaveSpec[],
  wavesStarted: Number(r.waves_started),
  abortThreshold: Number(r.abort_threshold),
  force: Number(r.force) === 1,
  allowDowngrade: Number(r.allow_downgrade) === 1,
  boxes,
  createdBy: r.created_by,
  createdAt: new Date(Number(r.created_at)).toISOString(),
  updatedAt: new Date(Number(r.updated_at)).toISOString(),
});

/** The rollouts of units inside `unitPath` (the admin's scope), newest first. */
export async function listRollouts(db: Db, unitPath: string): Promise<RolloutSummary[]> {
  const rows = await db
    .selectFrom('rollouts')
    .innerJoin('units', 'units.id', 'rollouts.unit_id')
    .selectAll('rollouts')
    .select((eb) =>
      eb
        .selectFrom('rollout_boxes')
        .select(eb.fn.countAll<number>().as('n'))
        .whereRef('rollout_boxes.rollout_id', '=', 'rollouts.id')
        .as('boxes'),
    )
    .where('units.path', 'like', `${unitPath}%`)
    .orderBy('rollouts.created_at', 'desc')
    .limit(ROLLOUTS_LIST_MAX)
    .execute();
  return rows.map((r) => summaryOf(r, Number(r.boxes)));
}

export async function rolloutRow(db: Db, id: string): Promise<RolloutRow> {
  const r = await db.selectFrom('rollouts').selectAll().where('id', '=', id).executeTakeFirst();
  if (!r) throw new HttpError(404, 'not_found', `no rollout "${id}"`);
  return r;
}

export interface BoxProgress {
  boxId: string;
  officeId: string;
  wave: number;
  state: string;
  reason: string | null;
  code: string | null;
  logTail: string[];
  running: string | null;
  progress: { bytes: number; total: number } | null;
  reportedAt: string | null;
}

/** A rollout's progress: per wave, its counts per step; per box, its step, reason and log tail. */
export async function rolloutProgress(db: Db, id: string) {
  const r = await rolloutRow(db, id);
  const waves = await db
    .selectFrom('rollout_waves')
    .selectAll()
    .where('rollout_id', '=', id)
    .orderBy('wave')
    .execute();
  const counts = await countsByWave(db, id);
  const boxes = await db
    .selectFrom('rollout_boxes')
    .selectAll()
    .where('rollout_id', '=', id)
    .orderBy('wave')
    .orderBy('box_id')
    .execute();
  return {
    ...summaryOf(r, boxes.length),
    progress: waves.map((w) => ({
      wave: Number(w.wave),
      size: Number(w.size),
      startedAt: w.started_at === null ? null : new Date(Number(w.started_at)).toISOString(),
      startedBy: w.started_by,
      counts: counts.get(Number(w.wave)) ?? emptyCounts(),
    })),
    boxes: boxes.map((b): BoxProgress => ({
      boxId: b.box_id,
      officeId: b.office_id,
      wave: Number(b.wave),
      state: b.state,
      reason: b.reason,
      code: b.code,
      logTail: b.log_tail ? (JSON.parse(b.log_tail) as string[]) : [],
      running: b.running,
      progress:
        b.progress_total === null
          ? null
          : { bytes: Number(b.progress_bytes), total: Number(b.progress_total) },
      reportedAt: b.reported_at,
    })),
  };
}
