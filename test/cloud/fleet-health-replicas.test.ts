// Two cloud replicas on one PostgreSQL database: both receive heartbeats and both sweep, at the same time.
// Each fault is one incident, each alert opens once and is delivered once (one pg-boss job per delivery,
// fetched by one replica), to a real receiver that checks every signature.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fleetHealthOf } from '../../cloud/health/fleet-health.js';
import type { CloudService } from '../../cloud/service.js';
import type { Heartbeat } from '../../protocol/index.js';
import {
  adminToken,
  DATABASES,
  enrolledBox,
  PG_URL,
  seedTree,
  startTestCloud,
  type TestDatabase,
} from './helpers.js';
import { receiver } from './webhook-receiver.js';

const MIN = 60_000;
const BOXES = 12;
const postgres = DATABASES.find((d) => d.name === 'postgres')!;

async function until(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 30_000,
): Promise<void> {
  const t0 = Date.now();
  while (!(await check())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const heartbeat = (officeId: string, printer: string): Heartbeat => ({
  at: new Date().toISOString(),
  version: '1.4.0',
  node: process.version,
  officeId,
  day: '2026-12-01',
  lastSeq: 0,
  backlog: { events: 0, oldestAt: null, freeDiskBytes: 20 * 1024 ** 3, alarm: false },
  peripherals: [
    {
      id: 'kiosk-1',
      role: 'kiosk',
      online: true,
      status: {
        ts: '2026-12-01T01:00:00.000Z',
        ok: printer === 'ready',
        printer: { state: printer, canPrint: printer === 'ready' },
      },
    },
  ],
});

describe.skipIf(!postgres.available)(`fleet health, two replicas (${postgres.title})`, () => {
  let db: TestDatabase;
  let a: CloudService;
  let b: CloudService;
  let now = Date.parse('2026-12-01T08:00:00+07:00');
  const clock = () => now;
  const settings = {
    fleetHealth: { webhookAllowHttpLocalhost: true, webhookRetryDelayMs: 1000, sweepIntervalMs: 3_600_000 },
  };

  beforeAll(async () => {
    db = postgres.create();
    a = await startTestCloud(db, { clock, settings });
    b = await startTestCloud(db, { clock, settings });
    await seedTree(a);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS ${db.schema}_jobs CASCADE`).finally(() => c.end());
    await db?.cleanup();
  });

  it('heartbeats and sweeps on both replicas at once: one incident per fault, each alert delivered once', async () => {
    // One receiver per rule (each rule has its own secret).
    const r1 = await receiver();
    const r2 = await receiver();
    const admin = await adminToken(a, 'qt-dn', 'dn');
    const rules = [];
    for (const rule of [
      { unitId: 'dn', kind: 'box_offline', threshold: 5, webhookUrl: r1.url },
      { unitId: 'lc', kind: 'printer_paper_out', threshold: 0, webhookUrl: r2.url },
    ]) {
      const res = await a.app.inject({
        method: 'POST',
        url: '/api/v1/alert-rules',
        headers: { authorization: `Bearer ${admin}` },
        payload: rule,
      });
      expect(res.statusCode, res.body).toBe(201);
      rules.push(res.json<{ webhookSecret: string }>());
    }
    r1.setSecret(rules[0]!.webhookSecret);
    r2.setSecret(rules[1]!.webhookSecret);

    const offices = ['o-hkb', 'o-hhb', 'o-hc'];
    const boxes = await Promise.all(
      Array.from({ length: BOXES }, (_, i) =>
        enrolledBox(a, offices[i % 3]!).then((x) => ({ ...x, officeId: offices[i % 3]! })),
      ),
    );
    const beat = (cloud: CloudService, box: (typeof boxes)[number], printer: string) =>
      cloud.app.inject({
        method: 'POST',
        url: '/api/v1/uplink/heartbeat',
        headers: { authorization: `Bearer ${box.token}` },
        payload: heartbeat(box.officeId, printer),
      });
    // The same heartbeat reaches both replicas at once (a retried request behind a load balancer).
    const answers = await Promise.all(
      boxes.flatMap((box) => [beat(a, box, 'paper_out'), beat(b, box, 'paper_out')]),
    );
    expect(answers.every((x) => x.statusCode === 200)).toBe(true);
    const paper = await a.store.db
      .selectFrom('incidents')
      .select(['box_id'])
      .where('kind', '=', 'printer_paper_out')
      .execute();
    expect(paper).toHaveLength(BOXES);

    now += 10 * MIN; // every box silent for 10 minutes
    await Promise.all(
      [1, 2, 3].flatMap(() => [fleetHealthOf(a.ctx)!.sweep(), fleetHealthOf(b.ctx)!.sweep()]),
    );
    const offline = await a.store.db
      .selectFrom('incidents')
      .select('box_id')
      .where('kind', '=', 'box_offline')
      .execute();
    expect(offline).toHaveLength(BOXES);
    const alerts = await a.store.db.selectFrom('alerts').select(['id', 'kind', 'box_id']).execute();
    const lc = boxes.filter((x) => x.officeId !== 'o-hc').length;
    expect(alerts.filter((x) => x.kind === 'box_offline')).toHaveLength(BOXES);
    expect(alerts.filter((x) => x.kind === 'printer_paper_out')).toHaveLength(lc);

    const got = () => [...r1.got, ...r2.got];
    await until('every alert delivered', () => got().length >= alerts.length);
    // Let any duplicate that would come arrive: both replicas poll every 0.5 s.
    const settled = Date.now() + 2000;
    await until('the queues settle', () => Date.now() > settled);
    const opened = got().map((g) => JSON.parse(g.body) as { event: string; alert: { id: string } });
    expect(opened.every((o) => o.event === 'alert.opened')).toBe(true);
    expect(new Set(opened.map((o) => o.alert.id)).size).toBe(alerts.length);
    expect(got()).toHaveLength(alerts.length);
    expect(got().every((g) => g.valid)).toBe(true);
    const attempts = await a.store.db.selectFrom('alert_delivery_attempts').select('delivery_id').execute();
    expect(attempts).toHaveLength(alerts.length);
    await r1.close();
    await r2.close();
  }, 60_000);
});
