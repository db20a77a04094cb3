// The box side of the lookup station and the dossier-status board (issue 15), with a real cloud: a station
// asks the box over MQTT, the box asks the cloud with its credential and keeps the answers; with the cloud
// stopped it answers from what it kept, saying how old that is, and the board keeps its last figures.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimLookupStation } from '../../hardware-sim/mqtt/index.js';
import { startScannerSim, type ScannerSim } from '../../hardware-sim/serial/line-device-sim.js';
import {
  LOOKUPS_PER_STATION_PER_MINUTE,
  topics,
  type DossierBoardState,
  type DossierLookupResult,
  type Reply,
} from '../../protocol/index.js';
import { CODES, dossierBoxSections, startDossierCloud, type DossierCloud } from '../support/dossier-cloud.js';
import {
  DEVICES,
  nextMessage,
  officeConfig,
  peripheralsFor,
  secretOf,
  startTestBox,
  type TestBox,
} from '../support/office.js';

const STATIONS = ['lookup-1', 'lookup-2', 'lookup-3', 'lookup-serial'];
const SPECS = [...DEVICES, ...STATIONS.map((id) => ({ id, role: 'lookup' as const }))];
const MINUTE = 60_000;

let dc: DossierCloud;
let office: TestBox;
let dataDir: string;
/** The box's clock runs ahead of the wall clock by this much (answers age without waiting). */
let ahead = 0;
const clock = () => Date.now() + ahead;
const started: { close(): Promise<void> }[] = [];

/** The receipt scanner of station lookup-serial, wired to the box (a serial line over TCP, CR LF). */
let serialScanner: ScannerSim;

async function startOffice(): Promise<TestBox> {
  const peripherals = (await peripheralsFor(SPECS)).map((p) =>
    p.id === 'lookup-serial'
      ? {
          ...p,
          driver: {
            kind: 'serial-lookup-scanner' as const,
            link: serialScanner.link,
            reconnect: { minMs: 50, maxMs: 200 },
          },
        }
      : p,
  );
  const config = officeConfig(peripherals, dossierBoxSections(dc.url));
  return startTestBox({ config, dataDir, clock, fleetWaitSeconds: 1, dossierBoardPollMs: 200 });
}

async function station(id: string): Promise<SimLookupStation> {
  const s = new SimLookupStation({
    url: office.mqttUrl,
    id,
    secret: secretOf(id),
    attempts: 1,
    replyTimeoutMs: 15_000,
  });
  started.push(s);
  return s.connect();
}

let tag = 0;
/** The board as a TV reads it: the retained message on connecting. */
async function boardState(): Promise<DossierBoardState> {
  const tv = await office.connect(`display-tv.board${++tag}`);
  try {
    return (await nextMessage(tv, topics.dossierBoard(), () => true, 15_000)).body as DossierBoardState;
  } finally {
    await tv.endAsync(true);
  }
}

beforeAll(async () => {
  dc = await startDossierCloud();
  serialScanner = await startScannerSim();
  dataDir = mkdtempSync(join(tmpdir(), 'lobby-dossiers-'));
  await dc.enroll(dataDir);
  office = await startOffice();
}, 60_000);
afterAll(async () => {
  for (const s of started) await s.close().catch(() => undefined);
  await office?.close();
  await dc?.close();
  await serialScanner?.close();
});

describe('the lookup station asks the box, the box asks the cloud', () => {
  it("a scanned code shows the dossier's status, procedure, dates and that its result is ready", async () => {
    const s = await station('lookup-1');
    const reply = await s.lookup(CODES.ready);
    expect(reply.status, JSON.stringify(reply.error)).toBe('ok');
    expect(reply.data).toMatchObject({
      dossier: {
        code: CODES.ready,
        status: 'ready',
        readyToCollect: true,
        overdue: false,
        procedureName: 'Đăng ký khai sinh',
        service: 'dat-dai',
      },
      fromCache: false,
      cloudReachable: true,
      ageSeconds: 0,
    });
    expect(Date.parse(reply.data?.dossier.receivedAt ?? '')).toBeLessThan(Date.now());
    expect(Date.parse(reply.data?.dossier.dueAt ?? '')).toBeGreaterThan(Date.now());
    // No personal data: the answer has the public fields only.
    expect(Object.keys(reply.data?.dossier ?? {}).sort()).toEqual(
      [
        'asOf',
        'code',
        'dueAt',
        'office',
        'onTime',
        'overdue',
        'procedure',
        'procedureName',
        'readyToCollect',
        'receivedAt',
        'returnedAt',
        'service',
        'status',
      ].sort(),
    );
  });

  it("a receipt scanner wired to the box looks up as its station, and the station's screen gets the answer", async () => {
    await serialScanner.connection();
    const screen = await office.connect('lookup-serial.screen');
    await screen.subscribeAsync(topics.reply('lookup-serial'), { qos: 1 });
    const answer = nextMessage(
      screen,
      topics.reply('lookup-serial'),
      (_t, b) => (b as Reply).topic === topics.dossierLookup(),
    );
    serialScanner.scan(CODES.ready);
    const reply = (await answer).body as Reply & { data?: DossierLookupResult };
    expect(reply.status).toBe('ok');
    expect(reply.data?.dossier).toMatchObject({ code: CODES.ready, readyToCollect: true });
  });

  it('an overdue dossier says so; a code typed in lower case with spaces is read as the receipt prints it', async () => {
    const s = await station('lookup-1');
    const reply = await s.lookup(`  ${CODES.overdue.toLowerCase()} `);
    expect(reply.status).toBe('ok');
    expect(reply.data?.dossier).toMatchObject({ code: CODES.overdue, overdue: true, readyToCollect: false });
  });

  it('a code the cloud does not know is said not found', async () => {
    const s = await station('lookup-1');
    const reply = await s.lookup(CODES.unknown);
    expect(reply.status).toBe('error');
    expect(reply.error?.code).toBe('dossier_not_found');
    expect(reply.error?.message.vi).toContain(`Không tìm thấy hồ sơ có mã "${CODES.unknown}"`);
  });

  it('a malformed code is refused with what a code looks like, without asking the cloud', async () => {
    const s = await station('lookup-1');
    for (const code of ['ABC123', '000.00.04.H12-261399-0001', 'x'.repeat(64)]) {
      const reply = await s.lookup(code);
      expect(reply.error?.code, code).toBe('invalid_dossier_code');
      expect(reply.error?.message.vi).toContain('000.00.04.H12-261122-0015');
    }
    const tooLong = await s.lookup('0'.repeat(65));
    expect(tooLong.error?.code).toBe('schema_invalid');
  });

  it('a station over its rate is refused and told when to try again; another station is not', async () => {
    const busy = await station('lookup-3');
    for (let i = 0; i < LOOKUPS_PER_STATION_PER_MINUTE; i++)
      expect((await busy.lookup('not-a-code')).error?.code).toBe('invalid_dossier_code');
    const refused = await busy.lookup(CODES.processing);
    expect(refused.error?.code).toBe('lookup_rate_limited');
    expect(refused.error?.message.vi).toMatch(/Vui lòng chờ \d+ giây rồi thử lại/);
    const other = await station('lookup-2');
    expect((await other.lookup(CODES.processing)).status).toBe('ok');
    // A minute later the station may ask again.
    ahead += MINUTE;
    expect((await busy.lookup(CODES.processing)).status).toBe('ok');
  });

  it('a station reads its own replies only: the board and the lobby are not its to read', async () => {
    const c = await office.connect('lookup-2.subs');
    const granted = await c
      .subscribeAsync([topics.dossierBoard(), 'lobby/v1/state/#', 'lobby/v1/state/box'], { qos: 1 })
      .then(
        (g) => g.map((x) => x.qos),
        (err: { packet: { granted: number[] } }) => err.packet.granted,
      );
    expect(granted).toEqual([128, 128, 1]);
    expect(c.connected).toBe(true);
  });
});

describe('the dossier-status board', () => {
  it("is published retained with the office's figures and the ready dossiers by code", async () => {
    await office.box.dossiers?.refreshBoard();
    const state = await boardState();
    expect(state.cloud).toBe('ok');
    expect(state.ageSeconds).toBeLessThanOrEqual(1);
    expect(state.board?.officeId).toBe('o-hkb');
    expect(state.board?.ready.map((r) => r.code)).toEqual([CODES.ready]);
    expect(state.board?.open).toMatchObject({ ready: 1, overdue: 1 });
    expect(state.board?.thisMonth.returned ?? 0).toBeGreaterThanOrEqual(0);
  });

  it('follows the cloud: a dossier made ready appears at the next poll', async () => {
    await dc.dossier(CODES.processing, { status: 'ready', receivedAgo: 5 * 24 * 3600_000 });
    await expect
      .poll(async () => (await boardState()).board?.ready.map((r) => r.code).sort(), { timeout: 10_000 })
      .toEqual([CODES.processing, CODES.ready].sort());
  });
});

describe('with the cloud stopped', () => {
  it('a station gets the answer the box kept, with its age; a code never looked up cannot be answered', async () => {
    const s = await station('lookup-1');
    expect((await s.lookup(CODES.returned)).data?.cloudReachable).toBe(true);
    await dc.stop();
    ahead += 3 * MINUTE;
    const kept = await s.lookup(CODES.returned);
    expect(kept.status, JSON.stringify(kept.error)).toBe('ok');
    expect(kept.data).toMatchObject({
      dossier: { code: CODES.returned, status: 'returned' },
      fromCache: true,
      cloudReachable: false,
    });
    expect(kept.data?.ageSeconds).toBeGreaterThanOrEqual(180);
    const never = await s.lookup('000.00.04.H12-261204-0042');
    expect(never.error?.code).toBe('lookup_unavailable');
    expect(never.error?.message.vi).toContain('không kết nối được');
  });

  it('the board keeps its last figures and says the cloud cannot be reached, across a box restart', async () => {
    await office.box.dossiers?.refreshBoard();
    const down = await boardState();
    expect(down.cloud).toBe('unreachable');
    expect(down.board?.ready.length).toBe(2);
    expect(down.ageSeconds).toBeGreaterThanOrEqual(180);
    await office.close();
    office = await startOffice();
    const after = await boardState();
    expect(after.cloud).toBe('unreachable');
    expect(after.board?.ready.length).toBe(2);
    expect(after.fetchedAt).toBe(down.fetchedAt);
  }, 60_000);
});

describe('a box with no cloud configured', () => {
  it('says plainly that a dossier cannot be looked up, naming the code; a malformed lookup is refused with its id', async () => {
    const alone = await startTestBox({
      config: officeConfig(await peripheralsFor(SPECS)),
      dataDir: mkdtempSync(join(tmpdir(), 'lobby-dossiers-alone-')),
    });
    started.push(alone);
    const c = await alone.connect('lookup-2.raw');
    await c.subscribeAsync(topics.reply('lookup-2'), { qos: 1 });
    const ask = async (payload: string, id: string) => {
      const reply = nextMessage(c, topics.reply('lookup-2'), (_t, b) => (b as Reply).id === id, 15_000);
      await c.publishAsync(topics.dossierLookup(), payload, { qos: 1 });
      return (await reply).body as Reply;
    };
    const unavailable = await ask(JSON.stringify({ id: 'q1', code: CODES.ready }), 'q1');
    expect(unavailable).toMatchObject({
      id: 'q1',
      topic: topics.dossierLookup(),
      status: 'error',
      error: { code: 'lookup_unavailable' },
    });
    expect(unavailable.error?.message.vi).toContain(CODES.ready);
    const malformed = await ask(JSON.stringify({ id: 'q2', code: CODES.ready, extra: 1 }), 'q2');
    expect(malformed).toMatchObject({ id: 'q2', status: 'error', error: { code: 'schema_invalid' } });
  });
});
