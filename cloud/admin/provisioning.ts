// The unit tree, offices, boxes (claim codes), admins and integrations: the operations behind both the admin
// API and the `lobby cloud` CLI. Callers check authorization and write the audit log.
import { randomBytes } from 'node:crypto';
import type { Db } from '../db/database.js';
import { generateClaimCode, generatePassword, hashSecret, integrationKey, sha256 } from '../auth/secrets.js';
import { HttpError } from '../http/context.js';

export const ID_PATTERN = '^[a-z0-9][a-z0-9-]{0,31}$';
const ID = new RegExp(ID_PATTERN);
export const ROLES = ['admin', 'viewer'] as const;
export type AdminRole = (typeof ROLES)[number];

export const CLAIM_TTL_MS = 72 * 3_600_000;

function checkId(what: string, id: string): void {
  if (!ID.test(id))
    throw new HttpError(400, 'invalid_id', `${what} id "${id}": lowercase letters, digits and -, at most 32`);
}

export interface UnitRow {
  id: string;
  parent_id: string | null;
  name: string;
  kind: string;
  path: string;
}

export async function unitById(db: Db, id: string): Promise<UnitRow | undefined> {
  return db
    .selectFrom('units')
    .select(['id', 'parent_id', 'name', 'kind', 'path'])
    .where('id', '=', id)
    .executeTakeFirst();
}

/** A unit under `parentId` (or a root when null). Any depth: province → commune, or → district → commune. */
export async function createUnit(
  db: Db,
  u: { id: string; name: string; kind: string; parentId: string | null },
  now: number,
): Promise<UnitRow> {
  checkId('unit', u.id);
  let path = `/${u.id}/`;
  if (u.parentId) {
    const parent = await unitById(db, u.parentId);
    if (!parent) throw new HttpError(404, 'not_found', `no unit "${u.parentId}"`);
    path = `${parent.path}${u.id}/`;
  }
  if (await unitById(db, u.id)) throw new HttpError(409, 'exists', `unit "${u.id}" exists`);
  const row = { id: u.id, parent_id: u.parentId, name: u.name, kind: u.kind, path, created_at: now };
  await db.insertInto('units').values(row).execute();
  return row;
}

export async function createOffice(
  db: Db,
  o: { id: string; name: string; unitId: string; timezone?: string },
  now: number,
): Promise<{ id: string; unit_id: string; name: string; timezone: string }> {
  checkId('office', o.id);
  if (!(await unitById(db, o.unitId))) throw new HttpError(404, 'not_found', `no unit "${o.unitId}"`);
  if (await db.selectFrom('offices').select('id').where('id', '=', o.id).executeTakeFirst())
    throw new HttpError(409, 'exists', `office "${o.id}" exists`);
  const timezone = o.timezone ?? 'Asia/Ho_Chi_Minh';
  try {
    new Intl.DateTimeFormat('en', { timeZone: timezone });
  } catch {
    throw new HttpError(400, 'invalid_timezone', `unknown time zone "${timezone}"`);
  }
  const row = { id: o.id, unit_id: o.unitId, name: o.name, timezone, created_at: now };
  await db.insertInto('offices').values(row).execute();
  return row;
}

/** A new box for an office, with a one-time claim code (shown once; only its digest is kept). */
export async function createBoxClaim(
  db: Db,
  officeId: string,
  now: number,
): Promise<{ boxId: string; claimCode: string; expiresAt: number }> {
  if (!(await db.selectFrom('offices').select('id').where('id', '=', officeId).executeTakeFirst()))
    throw new HttpError(404, 'not_found', `no office "${officeId}"`);
  const boxId = `box-${randomBytes(6).toString('hex')}`;
  const claimCode = generateClaimCode();
  const expiresAt = now + CLAIM_TTL_MS;
  await db
    .insertInto('boxes')
    .values({
      id: boxId,
      office_id: officeId,
      secret_hash: null,
      claim_hash: sha256(claimCode),
      claim_expires_at: expiresAt,
      enrolled_at: null,
      revoked_at: null,
      acked_seq: 0,
      last_event_at: null,
      heartbeat: null,
      heartbeat_at: null,
      created_at: now,
    })
    .execute();
  return { boxId, claimCode, expiresAt };
}

export async function createAdmin(
  db: Db,
  a: { username: string; unitId: string; role: AdminRole; password?: string },
  now: number,
): Promise<{ id: string; username: string; password: string }> {
  if (!/^[a-z0-9._-]{3,64}$/.test(a.username))
    throw new HttpError(400, 'invalid_username', 'username: 3–64 lowercase letters, digits, . _ -');
  if (!ROLES.includes(a.role))
    throw new HttpError(400, 'invalid_role', `role must be one of ${ROLES.join(', ')}`);
  if (!(await unitById(db, a.unitId))) throw new HttpError(404, 'not_found', `no unit "${a.unitId}"`);
  if (await db.selectFrom('admins').select('id').where('username', '=', a.username).executeTakeFirst())
    throw new HttpError(409, 'exists', `admin "${a.username}" exists`);
  const password = a.password ?? generatePassword();
  if (password.length < 12)
    throw new HttpError(400, 'weak_password', 'a password needs at least 12 characters');
  const id = `adm-${randomBytes(6).toString('hex')}`;
  await db
    .insertInto('admins')
    .values({
      id,
      username: a.username,
      password_hash: await hashSecret(password),
      unit_id: a.unitId,
      role: a.role,
      created_at: now,
      disabled_at: null,
    })
    .execute();
  return { id, username: a.username, password };
}

export async function resetPassword(db: Db, username: string): Promise<string> {
  const password = generatePassword();
  const r = await db
    .updateTable('admins')
    .set({ password_hash: await hashSecret(password) })
    .where('username', '=', username)
    .executeTakeFirst();
  if (Number(r.numUpdatedRows) !== 1) throw new HttpError(404, 'not_found', `no admin "${username}"`);
  await db
    .deleteFrom('sessions')
    .where('admin_id', 'in', db.selectFrom('admins').select('id').where('username', '=', username))
    .execute();
  return password;
}

/** An integration (the province's one-stop software) and its HMAC key, shown once. */
export async function createIntegration(
  db: Db,
  masterKey: Buffer,
  i: { name: string; unitId: string },
  now: number,
): Promise<{ keyId: string; secret: string }> {
  if (!(await unitById(db, i.unitId))) throw new HttpError(404, 'not_found', `no unit "${i.unitId}"`);
  const keyId = `int-${randomBytes(6).toString('hex')}`;
  await db
    .insertInto('integrations')
    .values({
      id: keyId,
      name: i.name,
      unit_id: i.unitId,
      key_generation: 1,
      created_at: now,
      revoked_at: null,
    })
    .execute();
  return { keyId, secret: integrationKey(masterKey, keyId, 1) };
}
