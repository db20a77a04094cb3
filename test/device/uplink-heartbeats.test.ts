// Heartbeats reach the cloud in the order the box built them. The cloud keeps the last one to arrive, so two
// in flight at once (the first at start, another for a power change) once left it with the older state.
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventStore } from '../../device/store/event-store.js';
import { Uplink } from '../../device/uplink/uplink.js';
import type { Heartbeat } from '../../protocol/index.js';

describe('the uplink heartbeat', () => {
  let server: Server;
  let url = '';
  /** Arrivals and answers, in order: "in <state>" when a heartbeat arrives, "out <state>" when answered. */
  const seen: string[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const state = (JSON.parse(body) as Heartbeat).power?.state ?? 'none';
        seen.push(`in ${state}`);
        // The cloud is slow with the first one: a second sent at once would overtake it.
        setTimeout(
          () => {
            seen.push(`out ${state}`);
            res.writeHead(200, { 'content-type': 'application/json' }).end('{"ackedSeq":0}');
          },
          seen.length === 1 ? 300 : 0,
        );
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
  });

  it('one at a time: asked for while one is in flight, the newest state goes right after it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lobby-heartbeats-'));
    const store = new EventStore(join(dir, 'events.db'));
    let state: 'unknown' | 'battery' | 'low_battery' = 'unknown';
    const uplink = new Uplink({
      store,
      config: {
        url,
        batchSize: 100,
        heartbeatSeconds: 3600,
        backlogAlarmEvents: 1000,
        minFreeDiskMb: 0,
        retryBaseMs: 50,
        retryCapSeconds: 1,
      },
      credential: { cloudUrl: url, boxId: 'b1', officeId: 'o1', secret: 's', enrolledAt: '' },
      officeId: 'o1',
      version: 'test',
      dataDir: dir,
      log: pino({ level: 'silent' }),
      health: () => ({
        day: null,
        peripherals: [],
        power: {
          state,
          since: null,
          status: null,
          chargePct: null,
          runtimeSeconds: null,
          reason: null,
        },
      }),
    });
    try {
      const first = uplink.heartbeat();
      state = 'battery';
      const second = uplink.heartbeat();
      state = 'low_battery';
      const third = uplink.heartbeat();
      await Promise.all([first, second, third]);
      // The first answered before the next left; the two asked for meanwhile went as one, with the newest state.
      expect(seen).toEqual(['in unknown', 'out unknown', 'in low_battery', 'out low_battery']);
    } finally {
      store.close();
    }
  });
});
