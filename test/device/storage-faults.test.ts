// The box under real storage faults, as a `lobby device` child process: a full disk (a small ext4 with
// 1 KiB blocks, or tmpfs) and a failed fsync (an LD_PRELOAD shim). What a device, a supervisor, the metrics
// and the screens see, and that no acknowledged ticket is lost, duplicated or held by nobody.
import { statSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import type { BoxStateMsg, Reply } from '../../protocol/index.js';
import { EventStore } from '../../device/store/event-store.js';
import { killAllBoxes, killed, startDevice, type BoxProcess } from '../support/box-process.js';
import { buildFsyncShim, mountSmallFs, type SmallFs } from '../support/faults.js';
import { connectDevice, officeConfig, peripheralsFor, request, secretOf } from '../support/office.js';

afterAll(killAllBoxes);

type Ticket = { ticketId: string; number: string };
const ticketOf = (r: Reply): Ticket => {
  const t = r.data?.ticket as Ticket;
  return { ticketId: t.ticketId, number: t.number };
};

async function writeOffice(dir: string): Promise<string> {
  const configFile = join(dir, 'office.json');
  const peripherals = await peripheralsFor([
    { id: 'kiosk-1', role: 'kiosk' },
    { id: 'keypad-1', role: 'keypad', counter: 1 },
  ]);
  writeFileSync(configFile, JSON.stringify(officeConfig(peripherals), null, 2));
  return configFile;
}

async function health(box: BoxProcess): Promise<{ code: number; body: Record<string, unknown> }> {
  const r = await fetch(`http://127.0.0.1:${box.httpPort}/healthz`);
  return { code: r.status, body: (await r.json()) as Record<string, unknown> };
}

async function metrics(box: BoxProcess): Promise<string> {
  return (await fetch(`http://127.0.0.1:${box.httpPort}/metrics`)).text();
}

/** The retained box state as a kiosk sees it, once it matches `want`. */
function boxState(client: MqttClient, want: (s: BoxStateMsg) => boolean): Promise<BoxStateMsg> {
  return new Promise((resolve) => {
    const on = (topic: string, payload: Buffer) => {
      if (topic !== 'lobby/v1/state/box') return;
      const s = JSON.parse(payload.toString()) as BoxStateMsg;
      if (!want(s)) return;
      client.off('message', on);
      resolve(s);
    };
    client.on('message', on);
    void client.subscribeAsync('lobby/v1/state/box', { qos: 1 });
  });
}

/** Every ticket in the log once, and each one held by a device that was told its number. */
function checkLog(dataDir: string, held: Map<string, Ticket>): void {
  const store = new EventStore(join(dataDir, 'events.db'));
  const issued = [...store.eventsAfter(0)]
    .filter((e) => e.event.type === 'ticket.issued')
    .map((e) => e.event.data as Ticket);
  store.close();
  const numbers = issued.map((t) => t.number);
  expect(new Set(numbers).size).toBe(numbers.length);
  for (const t of held.values()) expect(issued).toContainEqual(expect.objectContaining(t));
  const heldIds = new Set([...held.values()].map((t) => t.ticketId));
  for (const t of issued) expect(heldIds, `ticket ${t.number} is held by nobody`).toContain(t.ticketId);
}

const small = mountSmallFs(16);
const shim = buildFsyncShim();

describe('storage faults', () => {
  afterAll(() => {
    if (typeof small !== 'string') small.unmount();
  });

  it.skipIf(typeof small === 'string')(
    `a full disk: refused with storage_full, said by /healthz, metrics and the screens; the box survives, recovers when space is freed, and restarts on the full disk to answer retries (${typeof small === 'string' ? small : small.kind})`,
    async () => {
      const fs = small as SmallFs;
      const configFile = await writeOffice(mkdtempSync(join(tmpdir(), 'lobby-full-')));
      const dataDir = join(fs.dir, 'data');
      let box = await startDevice(configFile, dataDir);
      const url = () => `mqtt://127.0.0.1:${box.port}`;
      let kiosk = await connectDevice(url(), 'kiosk-1', secretOf('kiosk-1'));
      const keypad = await connectDevice(url(), 'keypad-1', secretOf('keypad-1'));
      const held = new Map<string, Ticket>();
      for (let i = 0; i < 5; i++) {
        const r = await request(kiosk, 'lobby/v1/tickets/request', { id: `t${i}`, service: 'van-thu' });
        held.set(`t${i}`, ticketOf(r));
      }
      expect((await health(box)).code).toBe(200);

      fs.fill();
      const refused = await request(kiosk, 'lobby/v1/tickets/request', { id: 'full-1', service: 'van-thu' });
      expect(refused.error?.code).toBe('storage_full');
      expect(refused.error?.message.vi).toMatch(/đầy/);
      expect((await request(keypad, 'lobby/v1/counters/1/cmd/next', {})).error?.code).toBe('storage_full');
      // A retry of a request already answered is answered from the log, full disk or not.
      expect(
        ticketOf(await request(kiosk, 'lobby/v1/tickets/request', { id: 't1', service: 'van-thu' })),
      ).toEqual(held.get('t1'));

      const h = await health(box);
      expect(h.code).toBe(503);
      expect(h.body).toMatchObject({ status: 'degraded', storage: { state: 'full' } });
      expect(String(h.body.reason)).toMatch(/disk is full/);
      const m = await metrics(box);
      expect(m).toMatch(/lobby_storage_state\{state="full"\} 1/);
      expect(m).toMatch(/lobby_disk_free_bytes \d+/);
      expect(m).toMatch(/lobby_requests_total\{kind="ticket-request",outcome="storage_full"\} 1/);
      const seen = await boxState(kiosk, (s) => s.storage === 'full');
      expect(seen).toMatchObject({ acceptingRequests: false, message: { vi: expect.stringMatching(/đầy/) } });
      expect(box.child.exitCode).toBeNull(); // still running

      // Space freed: the box takes tickets again without a restart, and says so.
      fs.free();
      const back = await request(kiosk, 'lobby/v1/tickets/request', { id: 'after', service: 'van-thu' });
      expect(back.status).toBe('ok');
      held.set('after', ticketOf(back));
      expect((await health(box)).code).toBe(200);
      await boxState(kiosk, (s) => s.storage === 'ok' && s.acceptingRequests);
      expect(await metrics(box)).toMatch(/lobby_storage_state\{state="ok"\} 1/);

      // A restart on a full disk comes up, says why it cannot take tickets, and answers retries. A clean
      // stop (as systemd does) removes SQLite's -shm file, which a shared-memory WAL index would have to
      // create again on the full disk: the box then could not open its log at all.
      kiosk.end(true);
      keypad.end(true);
      box.child.kill('SIGTERM');
      expect((await box.exited).code).toBe(0);
      fs.fill();
      box = await startDevice(configFile, dataDir);
      kiosk = await connectDevice(url(), 'kiosk-1', secretOf('kiosk-1'));
      expect(
        ticketOf(await request(kiosk, 'lobby/v1/tickets/request', { id: 't3', service: 'van-thu' })),
      ).toEqual(held.get('t3'));
      expect((await health(box)).body).toMatchObject({ storage: { state: 'full' } });
      expect(
        (await request(kiosk, 'lobby/v1/tickets/request', { id: 'full-2', service: 'van-thu' })).error?.code,
      ).toBe('storage_full');
      await boxState(kiosk, (s) => s.storage === 'full');
      fs.free();
      const later = await request(kiosk, 'lobby/v1/tickets/request', { id: 'later', service: 'van-thu' });
      held.set('later', ticketOf(later));
      expect((await health(box)).code).toBe(200);
      kiosk.end(true);
      await killed(box.child);
      checkLog(dataDir, held);
    },
    60_000,
  );

  it.skipIf(typeof shim === 'string')(
    `a failed fsync: the device is told storage_failed, the box restarts from its log, and the retry gets the true answer${typeof shim === 'string' ? ` (${shim})` : ''}`,
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'lobby-fsync-'));
      const configFile = await writeOffice(dir);
      const dataDir = join(dir, 'data');
      const flag = join(dir, 'fail-next-fsync');
      const env = { LD_PRELOAD: (shim as { so: string }).so, LOBBY_FSYNC_FAIL: flag };
      let box = await startDevice(configFile, dataDir, { env });
      let kiosk = await connectDevice(`mqtt://127.0.0.1:${box.port}`, 'kiosk-1', secretOf('kiosk-1'));
      const held = new Map<string, Ticket>();
      for (let i = 0; i < 3; i++) {
        const r = await request(kiosk, 'lobby/v1/tickets/request', { id: `t${i}`, service: 'van-thu' });
        held.set(`t${i}`, ticketOf(r));
      }
      writeFileSync(flag, '');
      // The commit's fsync fails: the outcome is unknown, so the answer is "retry", never a final "no".
      const failed = await request(kiosk, 'lobby/v1/tickets/request', { id: 'x', service: 'van-thu' }).catch(
        () => null, // the box may be gone before its reply: the device retries just the same
      );
      if (failed) expect(failed.error?.code).toBe('storage_failed');
      const exit = await box.exited;
      expect(exit.code).toBe(75);
      expect(box.output()).toMatch(/unknown outcome/);
      kiosk.end(true);

      box = await startDevice(configFile, dataDir, { env });
      kiosk = await connectDevice(`mqtt://127.0.0.1:${box.port}`, 'kiosk-1', secretOf('kiosk-1'));
      const retry = await request(kiosk, 'lobby/v1/tickets/request', { id: 'x', service: 'van-thu' });
      expect(retry.status).toBe('ok');
      held.set('x', ticketOf(retry));
      const again = await request(kiosk, 'lobby/v1/tickets/request', { id: 'x', service: 'van-thu' });
      expect(ticketOf(again)).toEqual(held.get('x'));
      expect(again.data?.duplicate).toBe(true);
      expect((await health(box)).code).toBe(200);
      kiosk.end(true);
      await killed(box.child);
      checkLog(dataDir, held);
    },
    60_000,
  );

  it('the data directory is owner-only and the log 0600; an existing 0755 directory is narrowed at start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lobby-modes-'));
    const configFile = await writeOffice(dir);
    const dataDir = join(dir, 'data');
    const { chmodSync, mkdirSync } = await import('node:fs');
    mkdirSync(dataDir, { mode: 0o755 });
    chmodSync(dataDir, 0o755);
    writeFileSync(join(dataDir, 'cloud-credential.json'), '{}', { mode: 0o644 });
    const box = await startDevice(configFile, dataDir);
    const kiosk = await connectDevice(`mqtt://127.0.0.1:${box.port}`, 'kiosk-1', secretOf('kiosk-1'));
    await request(kiosk, 'lobby/v1/tickets/request', { service: 'van-thu' });
    const mode = (p: string) => (statSync(p).mode & 0o777).toString(8);
    expect(mode(dataDir)).toBe('700');
    expect(mode(join(dataDir, 'events.db'))).toBe('600');
    expect(mode(join(dataDir, 'events.db-wal'))).toBe('600');
    expect(mode(join(dataDir, 'cloud-credential.json'))).toBe('600');
    expect(box.output()).toMatch(/made owner-only/);
    kiosk.end(true);
    await killed(box.child);
  }, 30_000);
});
