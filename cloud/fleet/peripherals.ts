// Peripherals from the console: an admin adds a kiosk, keypad, LED board… to a managed office, rotates its
// secret or revokes it. The secret is generated here (provisioning/credentials.ts), answered once and never
// stored; its scrypt hash goes into the office's overrides (`peripherals`), so the office's boxes get it with
// their next desired version, like any other change of the twin. The dates live in `fleet_peripherals`.
import type { DesiredConfig } from '../../protocol/fleet.js';
import { peripheralSummary, type PeripheralConfig } from '../../protocol/config/schema.js';
import { credentialHandout, newSecret } from '../../provisioning/credentials.js';
import type { Db } from '../db/database.js';
import { HttpError } from '../http/context.js';
import { FLEET_PERIPHERALS_PER_OFFICE_MAX } from '../limits.js';
import { isObject, type Json, type JsonObject } from './merge.js';
import { editOfficeConfig, type NewVersion, type OfficeConfigNow, type SaveContext } from './twin.js';

/** What an admin gives for a new peripheral (`driver`: hardware the box drives itself; it gets no secret). */
export interface PeripheralInput {
  id: string;
  role: PeripheralConfig['role'];
  counter?: number;
  name?: string;
  driver?: unknown;
}

/** A peripheral as the console lists it: never its secret, nor its hash. */
export interface PeripheralView {
  id: string;
  role: string;
  counter: number | null;
  name: string | null;
  /** Driven by the box (`driver`): it never logs in, so it has no secret to rotate. */
  driven: boolean;
  driverKind: string | null;
  /** Issued from the console (else it came with the office's config). */
  createdAt: string | null;
  createdBy: string | null;
  rotatedAt: string | null;
  rotatedBy: string | null;
}

/** A change's outcome: the office's new revision and the desired versions it gave the boxes. */
export interface PeripheralChange {
  officeId: string;
  revision: number;
  versions: NewVersion[];
}

/** What the technician is handed once: the secret as text and as a QR code. */
export interface Handout {
  secret: string;
  qr: { text: string; dataUrl: string };
}

type MetaRow = {
  peripheral_id: string;
  created_at: number | null;
  created_by: string | null;
  rotated_at: number | null;
  rotated_by: string | null;
};

const iso = (ms: number | null | undefined) => (ms == null ? null : new Date(Number(ms)).toISOString());

function viewOf(p: PeripheralConfig, meta: MetaRow | undefined): PeripheralView {
  const kind = (p.driver as { kind?: unknown } | undefined)?.kind;
  return {
    ...peripheralSummary(p),
    driverKind: typeof kind === 'string' ? kind : null,
    createdAt: iso(meta?.created_at),
    createdBy: meta?.created_by ?? null,
    rotatedAt: iso(meta?.rotated_at),
    rotatedBy: meta?.rotated_by ?? null,
  };
}

/**
 * The office's peripherals as its overrides hold them, else as it runs them (inherited from a template): the
 * list an edit starts from. Arrays replace whole in a merge patch, so the edited list becomes the office's own.
 */
function peripheralsOf(now: OfficeConfigNow): PeripheralConfig[] {
  if (!now.managed)
    throw new HttpError(
      409,
      'office_not_managed',
      "văn phòng chưa do đám mây quản lý: hãy lưu cấu hình của nó trước / the office is not managed by the cloud yet: save its config first (PUT /api/v1/fleet/offices/<office>/config); a peripheral added now would replace the box's own list",
    );
  const own = isObject(now.overrides) ? now.overrides.peripherals : undefined;
  return Array.isArray(own)
    ? (own as unknown as PeripheralConfig[])
    : ((now.effective as DesiredConfig | null)?.peripherals ?? []);
}

const withPeripherals = (now: OfficeConfigNow, list: PeripheralConfig[]): JsonObject => ({
  ...(isObject(now.overrides) ? now.overrides : {}),
  peripherals: list as unknown as Json,
});

function notFound(officeId: string, id: string): HttpError {
  return new HttpError(404, 'not_found', `office "${officeId}" has no peripheral "${id}"`);
}

async function metaRows(db: Db, officeId: string): Promise<Map<string, MetaRow>> {
  const rows = await db
    .selectFrom('fleet_peripherals')
    .select(['peripheral_id', 'created_at', 'created_by', 'rotated_at', 'rotated_by'])
    .where('office_id', '=', officeId)
    .execute();
  return new Map(rows.map((r) => [r.peripheral_id, r]));
}

/** The office's peripherals (as its current desired config has them), with their dates; never a secret. */
export async function listPeripherals(
  db: Db,
  officeId: string,
): Promise<{ officeId: string; managed: boolean; revision: number; peripherals: PeripheralView[] }> {
  const saved = await db
    .selectFrom('fleet_offices')
    .select(['revision', 'effective'])
    .where('office_id', '=', officeId)
    .executeTakeFirst();
  if (!saved) return { officeId, managed: false, revision: 0, peripherals: [] };
  const meta = await metaRows(db, officeId);
  const effective = JSON.parse(saved.effective) as DesiredConfig;
  return {
    officeId,
    managed: true,
    revision: Number(saved.revision),
    peripherals: effective.peripherals.map((p) => viewOf(p, meta.get(p.id))),
  };
}

/**
 * Adds a peripheral to a managed office. A device that logs in gets a fresh secret, answered once (text and
 * QR); a driven one (`driver`) gets none. The whole office config is validated first: 422 config_invalid with
 * the field errors (`peripherals[3].counter: unknown counter 9`), nothing saved.
 */
export async function addPeripheral(
  s: SaveContext,
  officeId: string,
  input: PeripheralInput,
  expectedRevision?: number,
): Promise<PeripheralChange & { peripheral: PeripheralView } & Partial<Handout>> {
  const issued = input.driver === undefined ? await newSecret() : null;
  const peripheral = {
    id: input.id,
    role: input.role,
    ...(input.counter !== undefined ? { counter: input.counter } : {}),
    ...(input.name !== undefined ? { name: input.name } : {}),
    ...(issued ? { secretHash: issued.secretHash } : {}),
    ...(input.driver !== undefined ? { driver: input.driver } : {}),
  } as PeripheralConfig;
  const r = await editOfficeConfig(
    s,
    officeId,
    (now) => {
      const list = peripheralsOf(now);
      if (list.some((p) => p.id === input.id))
        throw new HttpError(
          409,
          'peripheral_exists',
          `office "${officeId}" already has a peripheral "${input.id}": rotate its secret, or revoke it first`,
        );
      if (list.length >= FLEET_PERIPHERALS_PER_OFFICE_MAX)
        throw new HttpError(
          409,
          'too_many_peripherals',
          `an office has at most ${FLEET_PERIPHERALS_PER_OFFICE_MAX} peripherals: revoke one first`,
        );
      return withPeripherals(now, [...list, peripheral]);
    },
    expectedRevision,
    async (tx) => {
      const row = { created_at: s.now, created_by: s.actor, rotated_at: null, rotated_by: null };
      await tx
        .insertInto('fleet_peripherals')
        .values({ office_id: officeId, peripheral_id: input.id, ...row })
        .onConflict((oc) => oc.columns(['office_id', 'peripheral_id']).doUpdateSet(row))
        .execute();
    },
  );
  const meta = { peripheral_id: input.id, created_at: s.now, created_by: s.actor };
  return {
    officeId,
    revision: r.revision,
    versions: r.versions,
    peripheral: viewOf(peripheral, { ...meta, rotated_at: null, rotated_by: null }),
    ...(issued ? await credentialHandout(officeId, peripheral, issued.secret) : {}),
  };
}

/**
 * A new secret for a peripheral, answered once. The old one keeps working until the office's box applies the
 * new version; then the box disconnects the device, and refuses the old secret.
 */
export async function rotatePeripheral(
  s: SaveContext,
  officeId: string,
  id: string,
  expectedRevision?: number,
): Promise<PeripheralChange & { peripheral: PeripheralView } & Handout> {
  const { secret, secretHash } = await newSecret();
  let rotated: PeripheralConfig | undefined;
  const r = await editOfficeConfig(
    s,
    officeId,
    (now) => {
      const list = peripheralsOf(now);
      const old = list.find((p) => p.id === id);
      if (!old) throw notFound(officeId, id);
      if (old.driver !== undefined)
        throw new HttpError(
          409,
          'peripheral_driven',
          `"${id}" is driven by the box (${(old.driver as { kind: string }).kind}): it never logs in and has no secret`,
        );
      rotated = { ...old, secretHash };
      return withPeripherals(
        now,
        list.map((p) => (p.id === id ? (rotated as PeripheralConfig) : p)),
      );
    },
    expectedRevision,
    async (tx) => {
      await tx
        .insertInto('fleet_peripherals')
        .values({ office_id: officeId, peripheral_id: id, rotated_at: s.now, rotated_by: s.actor })
        .onConflict((oc) =>
          oc.columns(['office_id', 'peripheral_id']).doUpdateSet({ rotated_at: s.now, rotated_by: s.actor }),
        )
        .execute();
    },
  );
  const p = rotated as PeripheralConfig;
  const meta = await metaRows(s.store.db, officeId);
  return {
    officeId,
    revision: r.revision,
    versions: r.versions,
    peripheral: viewOf(p, meta.get(id)),
    ...(await credentialHandout(officeId, p, secret)),
  };
}

/** Removes a peripheral from the office: once its box applies the version, the device is disconnected. */
export async function revokePeripheral(
  s: SaveContext,
  officeId: string,
  id: string,
  expectedRevision?: number,
): Promise<PeripheralChange & { peripheralId: string }> {
  const r = await editOfficeConfig(
    s,
    officeId,
    (now) => {
      const list = peripheralsOf(now);
      if (!list.some((p) => p.id === id)) throw notFound(officeId, id);
      return withPeripherals(
        now,
        list.filter((p) => p.id !== id),
      );
    },
    expectedRevision,
    async (tx) => {
      await tx
        .deleteFrom('fleet_peripherals')
        .where('office_id', '=', officeId)
        .where('peripheral_id', '=', id)
        .execute();
    },
  );
  return { officeId, peripheralId: id, revision: r.revision, versions: r.versions };
}
