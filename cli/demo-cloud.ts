// The demo's cloud: `lobby cloud` on SQLite in <data-dir>/cloud, a demo province and commune, the demo office,
// its box enrolled through the real claim-code flow, and an admin whose generated password is printed once.
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import equal from 'fast-deep-equal';
import { pino } from 'pino';
import { parseDocument } from 'yaml';
import { createAdmin, createBoxClaim, createOffice, createUnit } from '../cloud/admin/provisioning.js';
import { officeConfig, saveOfficeConfig } from '../cloud/fleet/twin.js';
import { loadOrCreateKeyFile, startCloud, type CloudService } from '../cloud/service.js';
import { loadConfigFile } from '../device/config/load.js';
import type { BoxConfig } from '../device/config/schema.js';
import { fleetStatePath, managedConfigPath, readManagedConfig } from '../device/fleet/files.js';
import { enrollBox } from '../device/uplink/index.js';
import { desiredPart } from '../protocol/fleet.js';

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

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The demo's config as the office's overrides: all of it but what the cloud's base layer says itself. */
function adopted(file: BoxConfig): Json {
  const { office, cloud, ...rest } = desiredPart(file) as Json;
  const { id: _id, ...officeFields } = office as Json;
  const { url: _url, ...cloudFields } = (cloud ?? {}) as Json;
  return {
    ...rest,
    office: officeFields,
    ...(Object.keys(cloudFields).length ? { cloud: cloudFields } : {}),
  };
}

/**
 * What the demo decides afresh at each start on this machine, written over the cloud's overrides: where the
 * simulators listen (`hardware`, each peripheral's `driver`) and the public URL of the tickets' QR codes.
 * Everything else stays as the console left it.
 */
function withMachineFacts(overrides: Json, file: BoxConfig): Json {
  const next: Json = structuredClone(overrides);
  if (file.hardware) next.hardware = file.hardware;
  if (file.office.publicUrl && isObject(next.office)) next.office.publicUrl = file.office.publicUrl;
  if (Array.isArray(next.peripherals)) {
    const drivers = new Map(file.peripherals.map((p) => [p.id, p.driver]));
    next.peripherals = next.peripherals.map((p: unknown) =>
      isObject(p) && typeof p.id === 'string' && drivers.get(p.id) ? { ...p, driver: drivers.get(p.id) } : p,
    );
  }
  return next;
}

/**
 * The demo office is managed by its cloud, as a province's offices are (issue 11): on the first run the
 * demo's config file becomes the office's overrides in the cloud, and from then on the box runs what the
 * cloud sends — rename a service in the console and the kiosk changes. Each later start writes only this
 * machine's facts (`withMachineFacts`). Call it after the simulators wrote their addresses, before the box.
 */
export async function manageDemoOffice(
  cloud: CloudService,
  configFile: string,
  dataDir: string,
): Promise<void> {
  const file = loadConfigFile(configFile);
  const officeId = file.office.id;
  const cloudUrl = cloud.ctx.settings.publicUrl;
  const view = await officeConfig(cloud.store.db, officeId, cloudUrl);
  const overrides = view.managed ? withMachineFacts(view.overrides as Json, file) : adopted(file);
  if (!view.managed || !equal(overrides, view.overrides)) {
    if (!cloud.ctx.fleet) throw new Error('the demo cloud has no fleet routes');
    const saved = await saveOfficeConfig(
      { store: cloud.store, wakeups: cloud.ctx.fleet, cloudUrl, actor: 'cli:demo', now: Date.now() },
      officeId,
      overrides,
      view.revision,
    );
    await cloud.ctx.audit({
      actor: 'cli:demo',
      action: 'fleet.office.saved',
      target: officeId,
      detail: { revision: saved.revision, hash: saved.hash, versions: saved.versions },
    });
  }
  // A managed config naming another cloud URL (the demo cloud moved to another port) would leave the box
  // polling where nobody answers: the box starts from its file once (pointing here) and asks again.
  const managed = readManagedConfig(dataDir);
  const managedUrl = (managed?.config as { cloud?: { url?: string } } | undefined)?.cloud?.url;
  if (managed && managedUrl !== cloud.url) {
    rmSync(managedConfigPath(dataDir), { force: true });
    rmSync(fleetStatePath(dataDir), { force: true });
  }
}
