// Fleet commands in the database (issue 11): queued by an admin for an office's box (numbered per box under
// the fleet lock, the box's held poll woken on any replica), handed to the box in its poll while pending and
// unexpired, marked delivered when the box acknowledges their seq, finished by the box's result. `expired` is
// never written: a command not finished by `expires_at` is expired from that instant on every replica, so no
// sweeper has to run for a box never to get one late. See cloud/fleet/README.md.
import { randomBytes } from 'node:crypto';
import { Value } from '@sinclair/typebox/value';
import {
  COMMAND_EXPIRY_DEFAULT_SECONDS,
  COMMAND_EXPIRY_MAX_SECONDS,
  COMMAND_EXPIRY_MIN_SECONDS,
  COMMAND_KINDS,
  COMMAND_PARAMS_MAX_BYTES,
  COMMAND_RESULT_MAX_BYTES,
  COMMAND_STATES,
  COMMANDS_PENDING_PER_BOX_MAX,
  COMMANDS_PER_POLL,
  CommandParams,
  CommandResults,
  NOTICE_MAX_SECONDS,
  type BoxCommand,
  type CommandKind,
  type CommandOutcome,
  type CommandState,
} from '../../protocol/fleet-commands.js';
import type { CloudDatabase, Db } from '../db/database.js';
import type { FleetCommandTable } from '../db/schema.js';
import { HttpError } from '../http/context.js';
import { fleetWrite } from './twin.js';
import type { TargetWakeups } from './wakeups.js';

export interface CommandView {
  id: string;
  boxId: string;
  officeId: string;
  seq: number;
  kind: string;
  params: unknown;
  state: CommandState;
  createdAt: string;
  createdBy: string;
  expiresAt: string;
  deliveredAt: string | null;
  finishedAt: string | null;
  reason: string | null;
  /** Bytes of the result (its JSON), when there is one. */
  resultBytes: number | null;
  /** Only when one command is read. */
  result?: unknown;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(Number(ms)).toISOString());

/** The state an admin sees: stored, or `expired` once its time has passed unfinished. */
export function stateAt(row: Pick<FleetCommandTable, 'state' | 'expires_at'>, now: number): CommandState {
  const open = row.state === 'pending' || row.state === 'delivered';
  return open && Number(row.expires_at) <= now ? 'expired' : (row.state as CommandState);
}

function viewOf(row: FleetCommandTable, now: number, withResult: boolean): CommandView {
  return {
    id: row.id,
    boxId: row.box_id,
    officeId: row.office_id,
    seq: Number(row.seq),
    kind: row.kind,
    params: JSON.parse(row.params) as unknown,
    state: stateAt(row, now),
    createdAt: iso(row.created_at) as string,
    createdBy: row.created_by,
    expiresAt: iso(row.expires_at) as string,
    deliveredAt: iso(row.delivered_at),
    finishedAt: iso(row.finished_at),
    reason: row.reason,
    resultBytes: row.result === null ? null : Buffer.byteLength(row.result),
    ...(withResult ? { result: row.result === null ? null : (JSON.parse(row.result) as unknown) } : {}),
  };
}

const bad = (code: string, message: string, detail?: unknown) => new HttpError(400, code, message, detail);

/** What an admin asks, checked whole before anything is saved: the kind, its parameters, the expiry. */
export function checkCommand(
  input: { kind: string; params?: unknown; expiresInSeconds?: number },
  now: number,
): { kind: CommandKind; params: unknown; expiresAt: number } {
  if (!(COMMAND_KINDS as string[]).includes(input.kind))
    throw bad('unknown_command_kind', `no command "${input.kind}": one of ${COMMAND_KINDS.join(', ')}`);
  const kind = input.kind as CommandKind;
  const params = input.params ?? {};
  const bytes = Buffer.byteLength(JSON.stringify(params));
  if (bytes > COMMAND_PARAMS_MAX_BYTES)
    throw bad('params_too_large', `params are ${bytes} bytes; at most ${COMMAND_PARAMS_MAX_BYTES}`);
  const schema = CommandParams[kind];
  if (!Value.Check(schema, params)) {
    const errors = [...Value.Errors(schema, params)]
      .slice(0, 10)
      .map((e) => ({ path: e.path || '/', message: e.message }));
    throw bad('invalid_params', `${kind}: ${errors.map((e) => `${e.path} ${e.message}`).join('; ')}`, {
      errors,
    });
  }
  const seconds = input.expiresInSeconds ?? COMMAND_EXPIRY_DEFAULT_SECONDS;
  if (seconds < COMMAND_EXPIRY_MIN_SECONDS || seconds > COMMAND_EXPIRY_MAX_SECONDS)
    throw bad(
      'invalid_expiry',
      `expiresInSeconds: from ${COMMAND_EXPIRY_MIN_SECONDS} to ${COMMAND_EXPIRY_MAX_SECONDS} (30 days)`,
    );
  if (kind === 'notice') {
    const until = Date.parse((params as { until: string }).until);
    if (Number.isNaN(until)) throw bad('invalid_params', 'notice: /until is not an ISO 8601 date and time');
    if (until <= now) throw bad('invalid_params', 'notice: /until has passed already');
    if (until > now + NOTICE_MAX_SECONDS * 1000)
      throw bad('invalid_params', `notice: /until at most ${NOTICE_MAX_SECONDS / 86400} days ahead`);
  }
  return { kind, params, expiresAt: now + seconds * 1000 };
}

/** The box a command for an office goes to: the named one, else its newest live (enrolled, not revoked) box. */
async function targetBox(db: Db, officeId: string, boxId: string | undefined): Promise<string> {
  let q = db
    .selectFrom('boxes')
    .select(['id'])
    .where('office_id', '=', officeId)
    .where('revoked_at', 'is', null)
    .where('enrolled_at', 'is not', null);
  if (boxId) q = q.where('id', '=', boxId);
  const box = await q.orderBy('enrolled_at', 'desc').limit(1).executeTakeFirst();
  if (!box)
    throw new HttpError(
      409,
      'no_box',
      boxId
        ? `box "${boxId}" is not a live box of office "${officeId}"`
        : `office "${officeId}" has no enrolled box to send it to`,
    );
  return box.id;
}

export interface QueueContext {
  store: CloudDatabase;
  wakeups: TargetWakeups;
  actor: string;
  now: number;
}

/** Queues a command; the box's poll (on any replica) is woken when it commits. */
export async function queueCommand(
  c: QueueContext,
  officeId: string,
  input: { kind: string; params?: unknown; expiresInSeconds?: number; boxId?: string },
): Promise<CommandView> {
  const checked = checkCommand(input, c.now);
  const row = await fleetWrite(c.store, async (tx) => {
    const boxId = await targetBox(tx, officeId, input.boxId);
    const open = await tx
      .selectFrom('fleet_commands')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('box_id', '=', boxId)
      .where('state', 'in', ['pending', 'delivered'])
      .where('expires_at', '>', c.now)
      .executeTakeFirstOrThrow();
    if (Number(open.n) >= COMMANDS_PENDING_PER_BOX_MAX)
      throw new HttpError(
        409,
        'too_many_commands',
        `box "${boxId}" has ${COMMANDS_PENDING_PER_BOX_MAX} commands not finished yet: wait, or cancel some`,
      );
    const last = await tx
      .selectFrom('fleet_commands')
      .select((eb) => eb.fn.max('seq').as('seq'))
      .where('box_id', '=', boxId)
      .executeTakeFirst();
    const row: FleetCommandTable = {
      id: `cmd-${randomBytes(9).toString('base64url')}`,
      box_id: boxId,
      office_id: officeId,
      seq: Number(last?.seq ?? 0) + 1,
      kind: checked.kind,
      params: JSON.stringify(checked.params),
      state: 'pending',
      created_at: c.now,
      created_by: c.actor,
      expires_at: checked.expiresAt,
      delivered_at: null,
      finished_at: null,
      finished_by: null,
      reason: null,
      result: null,
      box_at: null,
    };
    await tx.insertInto('fleet_commands').values(row).execute();
    await c.wakeups.inTransaction(tx, [boxId]);
    return row;
  });
  c.wakeups.afterCommit([row.box_id]);
  return viewOf(row, c.now, false);
}

/** An office's commands, newest first, optionally of one state (as an admin sees it: `expired` computed). */
export async function listCommands(
  db: Db,
  officeId: string,
  opts: { state?: CommandState; limit: number; now: number },
): Promise<CommandView[]> {
  let q = db.selectFrom('fleet_commands').selectAll().where('office_id', '=', officeId);
  const s = opts.state;
  if (s && !COMMAND_STATES.includes(s))
    throw bad('invalid_state', `state: one of ${COMMAND_STATES.join(', ')}`);
  if (s === 'expired')
    q = q.where('state', 'in', ['pending', 'delivered']).where('expires_at', '<=', opts.now);
  else if (s === 'pending' || s === 'delivered')
    q = q.where('state', '=', s).where('expires_at', '>', opts.now);
  else if (s) q = q.where('state', '=', s);
  const rows = await q.orderBy('created_at', 'desc').orderBy('seq', 'desc').limit(opts.limit).execute();
  return rows.map((r) => viewOf(r as FleetCommandTable, opts.now, false));
}

async function rowOf(db: Db, id: string): Promise<FleetCommandTable | undefined> {
  return (await db.selectFrom('fleet_commands').selectAll().where('id', '=', id).executeTakeFirst()) as
    FleetCommandTable | undefined;
}

/** One command of an office, with its result. */
export async function readCommand(db: Db, officeId: string, id: string, now: number): Promise<CommandView> {
  const row = await rowOf(db, id);
  if (!row || row.office_id !== officeId)
    throw new HttpError(404, 'not_found', `no command "${id}" for office "${officeId}"`);
  return viewOf(row, now, true);
}

/** Cancels a command the box has not received yet. */
export async function cancelCommand(
  db: Db,
  officeId: string,
  id: string,
  actor: string,
  now: number,
): Promise<CommandView> {
  const row = await rowOf(db, id);
  if (!row || row.office_id !== officeId)
    throw new HttpError(404, 'not_found', `no command "${id}" for office "${officeId}"`);
  const updated = await db
    .updateTable('fleet_commands')
    .set({ state: 'cancelled', finished_at: now, finished_by: actor })
    .where('id', '=', id)
    .where('state', '=', 'pending')
    .where('expires_at', '>', now)
    .executeTakeFirst();
  if (Number(updated.numUpdatedRows) === 0)
    throw new HttpError(
      409,
      'not_pending',
      `command "${id}" is ${stateAt(row, now)}: only a pending command (not yet received by the box) can be cancelled`,
    );
  return readCommand(db, officeId, id, now);
}

// ---- the box's side -------------------------------------------------------------------------------

/**
 * The box holds every command up to `acked` durably: those still pending are marked delivered. Then the
 * pending, unexpired ones after it, oldest first, at most COMMANDS_PER_POLL.
 */
export async function commandsFor(db: Db, boxId: string, acked: number, now: number): Promise<BoxCommand[]> {
  if (acked > 0)
    await db
      .updateTable('fleet_commands')
      .set({ state: 'delivered', delivered_at: now })
      .where('box_id', '=', boxId)
      .where('state', '=', 'pending')
      .where('seq', '<=', acked)
      .execute();
  const rows = await db
    .selectFrom('fleet_commands')
    .select(['id', 'seq', 'kind', 'params', 'expires_at', 'created_at'])
    .where('box_id', '=', boxId)
    .where('state', '=', 'pending')
    .where('seq', '>', acked)
    .where('expires_at', '>', now)
    .orderBy('seq')
    .limit(COMMANDS_PER_POLL)
    .execute();
  return rows.map((r) => ({
    id: r.id,
    seq: Number(r.seq),
    kind: r.kind,
    params: JSON.parse(r.params) as unknown,
    expiresAt: iso(r.expires_at) as string,
    createdAt: iso(r.created_at) as string,
  }));
}

/**
 * A box's result for one of its commands. Idempotent (the same outcome again: 200); refused with a reason
 * otherwise. Returns the state recorded.
 */
export async function recordOutcome(
  db: Db,
  boxId: string,
  id: string,
  outcome: CommandOutcome,
  now: number,
): Promise<CommandState> {
  const row = await rowOf(db, id);
  // Another box's command is answered as an unknown one: a box learns nothing of other boxes' ids.
  if (!row || row.box_id !== boxId)
    throw new HttpError(404, 'unknown_command', `this box has no command "${id}"`);
  const state = stateAt(row, now);
  if (state === outcome.state) return state; // a resend: already recorded
  if (state === 'cancelled')
    throw new HttpError(409, 'command_cancelled', `command "${id}" was cancelled by an admin`);
  if (state === 'expired')
    throw new HttpError(409, 'command_expired', `command "${id}" expired at ${iso(row.expires_at)}`);
  if (state === 'succeeded' || state === 'failed')
    throw new HttpError(409, 'already_finished', `command "${id}" is already ${state}`);
  let result: string | null = null;
  if (outcome.state === 'succeeded') {
    result = JSON.stringify(outcome.result ?? null);
    const bytes = Buffer.byteLength(result);
    if (bytes > COMMAND_RESULT_MAX_BYTES)
      throw new HttpError(
        413,
        'result_too_large',
        `result is ${bytes} bytes; at most ${COMMAND_RESULT_MAX_BYTES}`,
      );
    const schema = CommandResults[row.kind as CommandKind];
    if (schema && !Value.Check(schema, outcome.result)) {
      const first = Value.Errors(schema, outcome.result).First();
      throw bad('result_invalid', `${row.kind} result: ${first?.path ?? ''} ${first?.message ?? ''}`.trim());
    }
  }
  const done = await db
    .updateTable('fleet_commands')
    .set({
      state: outcome.state,
      finished_at: now,
      finished_by: `box:${boxId}`,
      reason: outcome.state === 'failed' ? outcome.reason : null,
      result,
      box_at: outcome.at,
      delivered_at: row.delivered_at ?? now,
    })
    .where('id', '=', id)
    .where('state', 'in', ['pending', 'delivered'])
    .where('expires_at', '>', now)
    .executeTakeFirst();
  if (Number(done.numUpdatedRows) === 0) {
    // Finished, cancelled or expired between the read and the write (another replica): say which.
    return recordOutcome(db, boxId, id, outcome, now);
  }
  return outcome.state;
}
