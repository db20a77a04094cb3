// The demo's cloud: `lobby cloud` on SQLite in <data-dir>/cloud, a demo province and commune, the demo office,
// its box enrolled through the real claim-code flow, and an admin whose generated password is printed once.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createAdmin, createBoxClaim, createOffice, createUnit } from '../cloud/admin/provisioning.js';
import { loadOrCreateKeyFile, startCloud, type CloudService } from '../cloud/service.js';
import { loadConfigFile } from '../device/config/load.js';
import { enrollBox } from '../device/uplink/index.js';
import { pino } from 'pino';

export interface DemoCloud {
  cloud: CloudService;
  /** Set on the first run only: the password is never stored in clear, so it cannot be shown again. */
  admin: { username: string; password: string | null };
}

export async function startDemoCloud(opts: {
  dataDir: string;
  configFile: string;
  port?: number;
}): Promise<DemoCloud> {
  const dir = join(opts.dataDir, 'cloud');
  const cloud = await startCloud({
    databaseUrl: join(dir, 'cloud.db'),
    port: opts.port ?? 8090,
    host: '127.0.0.1',
    log: pino({ level: process.env.LOG_LEVEL ?? 'warn' }),
    settings: { masterKey: loadOrCreateKeyFile(join(dir, 'master.key')) },
  });
  const db = cloud.store.db;
  const office = loadConfigFile(opts.configFile).office;
  let password: string | null = null;
  if (!(await db.selectFrom('units').select('id').where('id', '=', 'demo-tinh').executeTakeFirst())) {
    const now = Date.now();
    await createUnit(db, { id: 'demo-tinh', name: 'Tỉnh Demo', kind: 'province', parentId: null }, now);
    await createUnit(db, { id: 'demo-xa', name: 'Xã Demo', kind: 'commune', parentId: 'demo-tinh' }, now);
    await createOffice(
      db,
      { id: office.id, name: office.name, unitId: 'demo-xa', timezone: office.timezone },
      now,
    );
    password = (await createAdmin(db, { username: 'demo', unitId: 'demo-tinh', role: 'admin' }, now))
      .password;
    await cloud.ctx.audit({ actor: 'cli:demo', action: 'demo.bootstrap', unitId: 'demo-tinh' });
  }
  if (!existsSync(join(opts.dataDir, 'cloud-credential.json'))) {
    const claim = await createBoxClaim(db, office.id, Date.now());
    await enrollBox({
      configFile: opts.configFile,
      dataDir: opts.dataDir,
      cloudUrl: cloud.url,
      claimCode: claim.claimCode,
    });
  }
  pointAt(opts.configFile, cloud.url); // the port may differ from the last run
  return { cloud, admin: { username: 'demo', password } };
}

/** The demo's box uplinks to, and its ticket QR codes link to, this run's cloud. */
function pointAt(configFile: string, url: string): void {
  const doc = parseDocument(readFileSync(configFile, 'utf8'));
  doc.setIn(['cloud', 'url'], url);
  doc.setIn(['office', 'publicUrl'], url);
  writeFileSync(`${configFile}.tmp`, doc.toString(), { mode: 0o600 });
  renameSync(`${configFile}.tmp`, configFile);
}
