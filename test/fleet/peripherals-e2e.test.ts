// Peripherals from the console end to end, with real processes: `lobby cloud` and `lobby device` as child
// processes, an admin adding a keypad in the cloud's API, a real MQTT client using the secret the cloud showed
// once. Rotate: the old secret is refused, the new one accepted; revoke: the connected keypad is dropped within
// seconds; the kiosk, which no change concerns, keeps its connection throughout. On SQLite and PostgreSQL.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import type { CloudDatabase } from '../../cloud/db/database.js';
import { parsePeripheralCredential } from '../../protocol/index.js';
import { DATABASES, MASTER_KEY, type TestDatabase } from '../cloud/helpers.js';
import { killAllBoxes, killed, type BoxProcess } from '../support/box-process.js';
import { cloudApi, killAllClouds, type CloudProcess, until as waitUntil } from '../support/cloud-process.js';
import { ENROLLED_OFFICE, startEnrolledOffice } from '../support/enrolled-office.js';
import { connectDevice, request, secretOf } from '../support/office.js';

afterAll(() => {
  killAllBoxes();
  killAllClouds();
});

const OFFICE = ENROLLED_OFFICE;
/** "Within seconds" on a loaded 2-core machine: the figure measured is logged, the bound is generous. */
const DISCONNECT_WITHIN_MS = 10_000;

interface Issued {
  secret: string;
  qr: { text: string };
  versions: { version: number }[];
}

/** The shared wait, with this file's longer default (real processes on a loaded machine). */
const until = <T>(what: string, check: () => Promise<T | false | undefined>, timeoutMs = 30_000) =>
  waitUntil(what, check, timeoutMs);

const closed = (c: MqttClient) => new Promise<number>((r) => c.once('close', () => r(Date.now())));

for (const kind of DATABASES) {
  describe.skipIf(!kind.available)(`peripherals from the console, real processes (${kind.title})`, () => {
    let db: TestDatabase;
    let seed: CloudDatabase;
    let cloud: CloudProcess;
    let box: BoxProcess;
    let token: string;
    let boxId: string;
    let kiosk: MqttClient | undefined;
    let kioskDropped = false;
    let dataDir: string;
    const clients: MqttClient[] = [];

    afterAll(async () => {
      for (const c of [kiosk, ...clients]) c?.end(true);
      if (box) await killed(box.child);
      if (cloud) await killed(cloud.child);
      await seed?.close();
      await db?.cleanup();
    });

    const api = <T = Record<string, unknown>>(method: string, path: string, body?: unknown) =>
      cloudApi(cloud, () => token)<T>(method, path, body);
    const peripherals = `/api/v1/fleet/offices/${OFFICE}/peripherals`;
    /** Until the box reports it applied `version` (the twin in sync with it). */
    const applied = (version: number) =>
      until(`the box applying version ${version}`, async () => {
        const t = (
          await api<{ status: string; reported: { version: number } | null }>(
            'GET',
            `/api/v1/fleet/boxes/${boxId}/twin`,
          )
        ).body;
        return t.status === 'in_sync' && (t.reported?.version ?? 0) >= version;
      });
    const keypad = async (secret: string) => {
      const c = await connectDevice(`mqtt://127.0.0.1:${box.port}`, 'keypad-1', secret);
      clients.push(c);
      return c;
    };
    /** The keypad calls the next citizen at its counter: the box acts on what it sends. */
    const callsNext = async (c: MqttClient) => {
      const issued = await request(kiosk!, 'lobby/v1/tickets/request', { service: 'van-thu' });
      expect(issued.status).toBe('ok');
      const called = await request(c, 'lobby/v1/counters/1/cmd/next');
      expect(called.status, JSON.stringify(called)).toBe('ok');
      return (called.data?.ticket as { number: string }).number;
    };

    it('an admin adds a keypad in the cloud: the box takes its hash, and a real MQTT client with the secret shown once connects and calls the next citizen', async () => {
      db = kind.create();
      let overrides: Record<string, unknown>;
      ({ seed, cloud, token, box, boxId, dataDir, overrides } = await startEnrolledOffice(db, MASTER_KEY));
      // The office put under management with the box's own config (its kiosk included).
      const saved = await api('PUT', `/api/v1/fleet/offices/${OFFICE}/config`, { overrides });
      expect(saved.status).toBe(200);
      await applied(1);
      kiosk = await connectDevice(`mqtt://127.0.0.1:${box.port}`, 'kiosk-1', secretOf('kiosk-1'));
      kiosk.on('close', () => (kioskDropped = true));

      const t0 = Date.now();
      const added = await api<Issued>('POST', peripherals, { id: 'keypad-1', role: 'keypad', counter: 1 });
      expect(added.status).toBe(201);
      const { secret } = added.body;
      // What the technician scans is what they would type.
      expect(parsePeripheralCredential(added.body.qr.text)).toMatchObject({ id: 'keypad-1', secret });
      await applied(added.body.versions[0]!.version);
      const c = await keypad(secret);
      console.log(`keypad added in the cloud → connected to the box: ${Date.now() - t0} ms`);
      expect(await callsNext(c)).toMatch(/^A\d{3}$/);
      // Only the hash travelled: the box's copy of its config and both processes' logs never saw the secret.
      const managed = readFileSync(join(dataDir, 'managed-config.json'), 'utf8');
      expect(managed).toContain('keypad-1');
      expect(managed).not.toContain(secret);
      expect(cloud.output()).not.toContain(secret);
      expect(box.output()).not.toContain(secret);
    }, 90_000); // two processes start, each a few seconds on a loaded 2-core machine

    it('rotate: the box drops the keypad on the old secret and refuses it; the new secret connects and acts', async () => {
      const old = clients.at(-1);
      if (!old) throw new Error('no keypad connected: the first test failed');
      const drop = closed(old);
      const r = await api<Issued>('POST', `${peripherals}/keypad-1/rotate`);
      expect(r.status).toBe(200);
      await applied(r.body.versions[0]!.version);
      await drop;
      await expect(keypad(old.options.password as string)).rejects.toThrow(/Not authorized|Bad username/i);
      const fresh = await keypad(r.body.secret);
      expect(await callsNext(fresh)).toMatch(/^A\d{3}$/);
    });

    it('revoke: the connected keypad is disconnected within seconds of the change reaching the box, and refused after', async () => {
      const connected = clients.at(-1);
      if (!connected) throw new Error('no keypad connected: the rotate test failed');
      const secret = connected.options.password as string;
      const drop = closed(connected);
      const t0 = Date.now();
      const r = await api<{ versions: { version: number }[] }>('POST', `${peripherals}/keypad-1/revoke`);
      expect(r.status).toBe(200);
      const droppedAt = await drop;
      console.log(`keypad revoked in the cloud → disconnected by the box: ${droppedAt - t0} ms`);
      expect(droppedAt - t0).toBeLessThan(DISCONNECT_WITHIN_MS);
      await applied(r.body.versions[0]!.version);
      await expect(keypad(secret)).rejects.toThrow(/Not authorized|Bad username/i);
      // The kiosk, which none of this concerned, never lost its connection.
      expect(kioskDropped).toBe(false);
      expect((await request(kiosk!, 'lobby/v1/tickets/request', { service: 'van-thu' })).status).toBe('ok');
    });
  });
}
