// Request bodies are validated as they were sent, never coerced: a box's heartbeat that says "I don't know"
// (null free disk, a peripheral never heard from) must not become "0 bytes free" (a false disk_low incident)
// or "offline". Querystrings and params are still coerced (they arrive as text).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CloudService } from '../../cloud/service.js';
import type { Heartbeat } from '../../protocol/index.js';
import {
  adminToken,
  DATABASES,
  enrolledBox,
  seedTree,
  startTestCloud,
  type TestDatabase,
} from './helpers.js';

const unknowns: Heartbeat = {
  at: new Date().toISOString(),
  version: '1.4.0',
  node: process.version,
  officeId: 'o-hkb',
  day: null,
  lastSeq: 0,
  // The box could not read its free disk (statfs failed): null, not 0.
  backlog: { events: 0, oldestAt: null, freeDiskBytes: null, alarm: false },
  // A keypad configured but never heard from: online null, not false.
  peripherals: [{ id: 'keypad-1', role: 'keypad', counter: 1, online: null, status: null }],
  storage: { state: 'ok', since: null, reason: null, freeDiskBytes: null },
};

for (const kind of DATABASES) {
  describe.skipIf(!kind.available)(`request bodies are not coerced (${kind.title})`, () => {
    let db: TestDatabase;
    let cloud: CloudService;
    let admin: string;

    beforeAll(async () => {
      db = kind.create();
      cloud = await startTestCloud(db);
      await seedTree(cloud);
      admin = await adminToken(cloud, 'qt-body', 'lc');
    });
    afterAll(async () => {
      await cloud?.close();
      await db?.cleanup();
    });

    it('a heartbeat with null free disk and a never-heard peripheral is kept as sent: no false disk_low or offline incident', async () => {
      const box = await enrolledBox(cloud, 'o-hkb');
      const res = await cloud.app.inject({
        method: 'POST',
        url: '/api/v1/uplink/heartbeat',
        headers: { authorization: `Bearer ${box.token}` },
        payload: unknowns,
      });
      expect(res.statusCode, res.body).toBe(200);
      const row = await cloud.store.db
        .selectFrom('boxes')
        .select('heartbeat')
        .where('id', '=', box.boxId)
        .executeTakeFirstOrThrow();
      expect(JSON.parse(row.heartbeat as string)).toEqual(unknowns);

      const view = await cloud.app.inject({
        method: 'GET',
        url: '/api/v1/health/offices/o-hkb',
        headers: { authorization: `Bearer ${admin}` },
      });
      const b = view.json().boxes.find((x: { id: string }) => x.id === box.boxId);
      expect(b.freeDiskBytes).toBeNull();
      expect(b.incidents).toEqual([]);
      expect(b.peripherals[0]).toMatchObject({ id: 'keypad-1', online: null, incidents: [] });
    });

    it('a body with a number as text is refused, naming the field; a querystring number as text still works', async () => {
      const box = await enrolledBox(cloud, 'o-hkb');
      const res = await cloud.app.inject({
        method: 'POST',
        url: '/api/v1/uplink/heartbeat',
        headers: { authorization: `Bearer ${box.token}` },
        payload: { ...unknowns, lastSeq: '7' },
      });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({
        code: 'invalid_request',
        detail: [expect.objectContaining({ path: '/lastSeq' })],
      });
      // ?version=0&wait=0 arrive as text: coerced to integers as before.
      const poll = await cloud.app.inject({
        method: 'GET',
        url: '/api/v1/box/target?version=0&wait=0',
        headers: { authorization: `Bearer ${box.token}` },
      });
      expect(poll.statusCode).toBe(204);
    });
  });
}
