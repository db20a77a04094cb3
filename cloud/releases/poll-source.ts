// The `software` part of the fleet's combined poll (GET /api/v1/box/poll, see the poll envelope): the software
// target of a box in a started wave of an active rollout that has not reached a final step, for the box's own
// platform; `news` when its rolloutId differs from the one the box says it holds (`software=` in the query),
// including the target going away (aborted, or the box's step became final): then null, at once.
import type { SoftwareTarget } from '../../protocol/fleet-updates.js';
import type { Db } from '../db/database.js';
import type { BoxPollSource } from '../fleet/poll.js';
import { ACTIVE } from './rollouts.js';
import { isFinal } from './waves.js';

/** Where a box downloads the parts of a bundle (box credential, Range supported): paths on this cloud. */
export const downloadPath = (
  version: string,
  platform: string,
  part: 'manifest' | 'signature' | 'bundle',
): string => `/api/v1/box/releases/${encodeURIComponent(version)}/${encodeURIComponent(platform)}/${part}`;

/** The software target a box should act on now, or null. One query by the box's key. */
export async function softwareTargetFor(
  db: Db,
  boxId: string,
  defaultPlatform: string,
): Promise<SoftwareTarget | null> {
  const row = await db
    .selectFrom('rollout_boxes as rb')
    .innerJoin('rollouts as r', 'r.id', 'rb.rollout_id')
    .innerJoin('releases as rel', 'rel.version', 'r.version')
    .innerJoin('boxes as b', 'b.id', 'rb.box_id')
    .select([
      'rb.rollout_id',
      'rb.state',
      'r.state as rolloutState',
      'r.version',
      'r.force',
      'r.allow_downgrade',
      'rel.notes',
      'b.platform',
      'b.running_version',
    ])
    .where('rb.box_id', '=', boxId)
    .where('r.state', 'in', [...ACTIVE])
    .whereRef('rb.wave', '<=', 'r.waves_started')
    .executeTakeFirst();
  if (!row || isFinal(row.state)) return null;
  // Paused: no new box starts; a box already on its way keeps its target (taking it away would make it stop
  // and drop its download).
  if (row.rolloutState === 'paused' && row.state === 'pending') return null;
  if (row.running_version === row.version) return null;
  const platform = row.platform ?? defaultPlatform;
  const bundle = await db
    .selectFrom('release_bundles')
    .select(['size', 'sha256'])
    .where('version', '=', row.version)
    .where('platform', '=', platform)
    .executeTakeFirst();
  if (!bundle) return null;
  return {
    rolloutId: row.rollout_id,
    version: row.version,
    platform,
    manifestUrl: downloadPath(row.version, platform, 'manifest'),
    signatureUrl: downloadPath(row.version, platform, 'signature'),
    bundleUrl: downloadPath(row.version, platform, 'bundle'),
    size: Number(bundle.size),
    sha256: bundle.sha256,
    notes: row.notes,
    force: Number(row.force) === 1,
    allowDowngrade: Number(row.allow_downgrade) === 1,
  };
}

export function softwarePollSource(db: Db, defaultPlatform: string): BoxPollSource {
  return {
    name: 'software',
    async read({ boxId, query }) {
      const target = await softwareTargetFor(db, boxId, defaultPlatform);
      const held = query.software;
      return { value: target, news: (target?.rolloutId ?? '') !== held };
    },
  };
}
