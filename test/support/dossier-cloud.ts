// A cloud with an office's dossiers and a box enrolled in it, for the lookup station and the dossier-status
// board (issue 15): the cloud in-process on SQLite, the box's config and credential ready for startTestBox or
// startWebBox. The cloud can be stopped mid-test (an internet outage, as the box sees it).
import { join } from 'node:path';
import type { CloudService } from '../../cloud/service.js';
import { writeCredential } from '../../device/uplink/credential.js';
import { DATABASES, enrolledBox, seedTree, startTestCloud, type TestDatabase } from '../cloud/helpers.js';

const HOUR = 3600_000;
const DAY = 24 * HOUR;

/** The office of the box: o-hkb of the cloud suites' tree. */
export const DOSSIER_OFFICE = 'o-hkb';

/** Codes seeded, by what the station should show for them. */
export const CODES = {
  processing: '000.00.04.H12-261201-0001',
  ready: '000.00.04.H12-261203-0002',
  overdue: '000.00.04.H12-261120-0003',
  returned: '000.00.04.H12-261118-0004',
  /** Well-formed, and the cloud has no such dossier. */
  unknown: '000.00.04.H12-261205-0999',
} as const;

export interface DossierCloud {
  cloud: CloudService;
  url: string;
  /** Writes the box credential into a data dir, as `lobby provision box` does. */
  enroll(dataDir: string): Promise<void>;
  /** Adds (or replaces) a dossier of the office. */
  dossier(
    code: string,
    o: { status: string; service?: string; receivedAgo?: number; dueIn?: number },
  ): Promise<void>;
  /** Stops the cloud: the box's questions then fail to connect. */
  stop(): Promise<void>;
  close(): Promise<void>;
}

export async function startDossierCloud(): Promise<DossierCloud> {
  const kind = DATABASES.find((d) => d.name === 'sqlite') as (typeof DATABASES)[number];
  const db: TestDatabase = kind.create();
  const cloud = await startTestCloud(db);
  await seedTree(cloud);
  let stopped = false;
  const dc: DossierCloud = {
    cloud,
    url: cloud.url,
    async enroll(dataDir) {
      const e = await enrolledBox(cloud, DOSSIER_OFFICE);
      writeCredential(join(dataDir, 'cloud-credential.json'), {
        cloudUrl: cloud.url,
        boxId: e.boxId,
        officeId: DOSSIER_OFFICE,
        secret: e.secret,
        enrolledAt: new Date().toISOString(),
      });
    },
    async dossier(code, o) {
      const received = Date.now() - (o.receivedAgo ?? 2 * DAY);
      const returned = o.status === 'returned' ? Date.now() - HOUR : null;
      await cloud.store.db.deleteFrom('dossiers').where('code', '=', code).execute();
      await cloud.store.db
        .insertInto('dossiers')
        .values({
          code,
          procedure: '1.001234',
          procedure_name: 'Đăng ký khai sinh',
          service: o.service ?? 'ho-tich',
          office_id: DOSSIER_OFFICE,
          named_office_id: null,
          received_at: received,
          due_at: Date.now() + (o.dueIn ?? 3 * DAY),
          returned_at: returned,
          status: o.status,
          integration_id: 'test',
          updated_at: returned ?? Date.now() - HOUR,
        })
        .execute();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await cloud.close();
    },
    async close() {
      await dc.stop();
      await db.cleanup();
    },
  };
  await dc.dossier(CODES.processing, { status: 'processing', receivedAgo: 5 * DAY });
  await dc.dossier(CODES.ready, { status: 'ready', service: 'dat-dai', receivedAgo: 3 * DAY });
  await dc.dossier(CODES.overdue, { status: 'processing', receivedAgo: 16 * DAY, dueIn: -2 * DAY });
  await dc.dossier(CODES.returned, { status: 'returned', receivedAgo: 18 * DAY, dueIn: -DAY });
  return dc;
}

/** The box config's office and cloud sections for a box of DOSSIER_OFFICE in this cloud. */
export function dossierBoxSections(url: string): Record<string, unknown> {
  return {
    office: {
      id: DOSSIER_OFFICE,
      name: 'Một cửa Hòa Khánh Bắc',
      sessions: [{ open: '00:00', close: '23:59' }],
      workdays: [1, 2, 3, 4, 5, 6, 7],
    },
    cloud: { url, retryBaseMs: 20, retryCapSeconds: 1 },
  };
}
