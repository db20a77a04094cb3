// An office with a real cloud and a real box, for the fleet's end-to-end suites (dist/ must be built): a
// province, the office and its admin seeded in the database, `lobby cloud` started on it, the admin logged in,
// a box config with a kiosk written, the box enrolled with a claim code and `lobby device` started. The office
// is not managed yet: `overrides` is the box's own config as the province would first save it.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAdmin, createBoxClaim, createOffice, createUnit } from '../../cloud/admin/provisioning.js';
import { openDatabase, type CloudDatabase } from '../../cloud/db/database.js';
import { loadConfigFile } from '../../device/config/load.js';
import { enrollBox } from '../../device/uplink/credential.js';
import { desiredPart } from '../../protocol/fleet.js';
import { startDevice, type BoxProcess } from './box-process.js';
import { loginAdmin, startCloudProcess, type CloudProcess } from './cloud-process.js';
import { officeConfig, peripheralsFor } from './office.js';

export const ENROLLED_OFFICE = 'xa-thu-nghiem';

export interface EnrolledOffice {
  seed: CloudDatabase;
  cloud: CloudProcess;
  /** The province admin's session token. */
  token: string;
  box: BoxProcess;
  boxId: string;
  configFile: string;
  dataDir: string;
  /** The box's own config without what the cloud sets itself (the office's id): a first save's overrides. */
  overrides: Record<string, unknown>;
}

export async function startEnrolledOffice(
  db: { url: string; schema?: string },
  masterKey: Buffer,
): Promise<EnrolledOffice> {
  const seed = await openDatabase({ url: db.url, ...(db.schema ? { schema: db.schema } : {}) });
  const now = Date.now();
  await createUnit(seed.db, { id: 'p', name: 'Tỉnh Thử Nghiệm', kind: 'province', parentId: null }, now);
  await createOffice(
    seed.db,
    { id: ENROLLED_OFFICE, name: 'Bộ phận một cửa xã Thử Nghiệm', unitId: 'p' },
    now,
  );
  const admin = await createAdmin(seed.db, { username: 'tinh-admin', unitId: 'p', role: 'admin' }, now);
  const claim = await createBoxClaim(seed.db, ENROLLED_OFFICE, now);
  const cloud = await startCloudProcess({ db, key: masterKey });
  const token = await loginAdmin(cloud, 'tinh-admin', admin.password);

  const dir = mkdtempSync(join(tmpdir(), 'lobby-fleet-e2e-'));
  const dataDir = join(dir, 'data');
  const configFile = join(dir, 'office.json');
  const cfg = officeConfig(await peripheralsFor([{ id: 'kiosk-1', role: 'kiosk' }]), {
    cloud: { url: 'http://placeholder.invalid', retryBaseMs: 20, retryCapSeconds: 1 },
  });
  writeFileSync(configFile, JSON.stringify(cfg, null, 2));
  const cred = await enrollBox({ configFile, dataDir, cloudUrl: cloud.url, claimCode: claim.claimCode });
  const box = await startDevice(configFile, dataDir);
  const desired = desiredPart(loadConfigFile(configFile));
  const { id: _id, ...office } = desired.office;
  const overrides = { ...desired, office, cloud: { retryBaseMs: 20, retryCapSeconds: 1 } };
  return { seed, cloud, token, box, boxId: cred.boxId, configFile, dataDir, overrides };
}
