// The configuration twin end to end, with real processes: `lobby cloud` and `lobby device` as child
// processes, an admin saving in the cloud's API, a kiosk on the box's broker. On SQLite and PostgreSQL.
import type { MqttClient } from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import type { CloudDatabase } from '../../cloud/db/database.js';
import type { OfficeStateMsg } from '../../protocol/index.js';
import { DATABASES, MASTER_KEY, type TestDatabase } from '../cloud/helpers.js';
import { killAllBoxes, killed, startDevice, type BoxProcess } from '../support/box-process.js';
import {
  cloudApi,
  killAllClouds,
  startCloudProcess,
  type CloudProcess,
  until,
} from '../support/cloud-process.js';
import { ENROLLED_OFFICE, startEnrolledOffice } from '../support/enrolled-office.js';
import { connectDevice, nextMessage, request, secretOf } from '../support/office.js';

afterAll(() => {
  killAllBoxes();
  killAllClouds();
});

const OFFICE = ENROLLED_OFFICE;

interface Answer {
  code?: string;
  detail?: unknown;
  [k: string]: unknown;
}
interface Twin {
  status: string;
  drift: boolean;
  desired: { version: number };
  reported: { version: number };
}

for (const kind of DATABASES) {
  describe.skipIf(!kind.available)(`the fleet end to end, real processes (${kind.title})`, () => {
    let db: TestDatabase;
    let seed: CloudDatabase;
    let cloud: CloudProcess;
    let box: BoxProcess;
    let token: string;
    let boxId: string;
    let kiosk: MqttClient | undefined;
    let configFile: string;
    let dataDir: string;
    let overrides: Record<string, unknown>;

    afterAll(async () => {
      kiosk?.end(true);
      if (box) await killed(box.child);
      if (cloud) await killed(cloud.child);
      await seed?.close();
      await db?.cleanup();
    });

    const api = (method: string, path: string, body?: unknown) =>
      cloudApi(cloud, () => token)<Answer>(method, path, body);
    const saveOffice = (o: Record<string, unknown>) =>
      api('PUT', `/api/v1/fleet/offices/${OFFICE}/config`, { overrides: o });
    const twin = async () => (await api('GET', `/api/v1/fleet/boxes/${boxId}/twin`)).body as unknown as Twin;
    const renamed = (name: string) => {
      const o = structuredClone(overrides) as { services: { name: string }[] };
      (o.services[0] as { name: string }).name = name;
      return o;
    };
    const startBox = () => startDevice(configFile, dataDir);

    it('an enrolled box takes the office config saved in the cloud, live: the kiosk shows the new name, stays connected, and the twin says in_sync', async () => {
      db = kind.create();
      ({ seed, cloud, token, box, boxId, configFile, dataDir, overrides } = await startEnrolledOffice(
        db,
        MASTER_KEY,
      ));
      expect((await twin()).status).toBe('unmanaged');

      kiosk = await connectDevice(`mqtt://127.0.0.1:${box.port}`, 'kiosk-1', secretOf('kiosk-1'));
      let dropped = false;
      kiosk.on('close', () => (dropped = true));
      expect((await request(kiosk, 'lobby/v1/tickets/request', { service: 'van-thu' })).status).toBe('ok');

      const shown = nextMessage(
        kiosk,
        'lobby/v1/state/office',
        (_t, b) => (b as OfficeStateMsg).services.some((s) => s.name === 'Văn thư – Tiếp nhận'),
        15_000,
      );
      const saved = await saveOffice(renamed('Văn thư – Tiếp nhận'));
      expect(saved.status).toBe(200);
      await shown;
      const t = await until('the twin in sync', async () => {
        const tw = await twin();
        return tw.status === 'in_sync' && tw;
      });
      expect(t.drift).toBe(false);
      expect(dropped).toBe(false);
      const next = await request(kiosk, 'lobby/v1/tickets/request', { service: 'van-thu' });
      expect(next.status).toBe('ok');
      expect((next.data?.ticket as { number: string }).number).toBe('A002');
    }, 90_000); // two processes start, each a few seconds on a loaded 2-core machine

    it('a config the box cannot take is refused in the cloud before it is saved, naming the field', async () => {
      const bad = structuredClone(overrides) as { counters: { services: string[] }[] };
      (bad.counters[0] as { services: string[] }).services = ['xay-dung'];
      const res = await saveOffice(bad);
      expect(res.status).toBe(422);
      expect(res.body.code).toBe('config_invalid');
      expect(JSON.stringify(res.body.detail)).toContain('counters[0].services[0]');
      expect((await twin()).status).toBe('in_sync');
    });

    it('a box off while its config changes three times comes back to the latest only, and keeps its tickets', async () => {
      const before = (await twin()).desired.version;
      kiosk?.end(true);
      kiosk = undefined;
      await killed(box.child);
      for (const n of [1, 2, 3]) expect((await saveOffice(renamed(`Văn thư ${n}`))).status).toBe(200);
      expect((await twin()).desired.version).toBe(before + 3);

      box = await startBox();
      const t = await until('the twin in sync again', async () => {
        const tw = await twin();
        return tw.status === 'in_sync' && tw;
      });
      expect(t.reported.version).toBe(before + 3);
      const applied = box
        .output()
        .split('\n')
        .filter((l) => l.includes('"fleet: config applied"'));
      expect(applied).toHaveLength(1);
      expect(applied[0]).toContain(`"version":${before + 3}`);

      kiosk = await connectDevice(`mqtt://127.0.0.1:${box.port}`, 'kiosk-1', secretOf('kiosk-1'));
      const state = await nextMessage(kiosk, 'lobby/v1/state/office');
      expect((state.body as OfficeStateMsg).services[0]?.name).toBe('Văn thư 3');
      const next = await request(kiosk, 'lobby/v1/tickets/request', { service: 'van-thu' });
      expect((next.data?.ticket as { number: string }).number).toBe('A003');
    });

    it('the cloud killed while the box applies a change: the box keeps it, reports it once the cloud is back, and the next save reaches it', async () => {
      const saved = await saveOffice(renamed('Văn thư trước sự cố'));
      expect(saved.status).toBe(200);
      const version = (await twin()).desired.version;
      await until(
        'the box applying it',
        async () =>
          box.output().includes(`"version":${version},`) && box.output().includes('"fleet: config applied"'),
      );
      await killed(cloud.child);
      // The office keeps working on the new config while its cloud is away.
      const during = await request(kiosk!, 'lobby/v1/tickets/request', { service: 'van-thu' });
      expect(during.status).toBe('ok');
      expect((during.data?.ticket as { serviceName: string }).serviceName).toBe('Văn thư trước sự cố');

      cloud = await startCloudProcess({ db, key: MASTER_KEY, port: cloud.port });
      const t = await until('the report after the restart', async () => {
        const tw = await twin();
        return tw.status === 'in_sync' && tw;
      });
      expect(t.reported.version).toBe(version);
      const shown = nextMessage(
        kiosk!,
        'lobby/v1/state/office',
        (_t, b) => (b as OfficeStateMsg).services[0]?.name === 'Văn thư sau sự cố',
        20_000,
      );
      expect((await saveOffice(renamed('Văn thư sau sự cố'))).status).toBe(200);
      await shown;
      await until('the twin in sync after the restart', async () => (await twin()).status === 'in_sync');
    });
  });
}
