// `lobby device` as a child process, SIGKILLed while tickets stream in: after the restart no acknowledged
// ticket is lost or duplicated, retried requests get their first answer, and numbering continues.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import type { Reply } from '../../protocol/index.js';
import { EventStore } from '../../device/store/event-store.js';
import { killAllBoxes, killed, startDevice } from '../support/box-process.js';
import { SimKiosk } from '../../hardware-sim/mqtt/kiosk.js';
import { connectDevice, officeConfig, peripheralsFor, request, secretOf } from '../support/office.js';

afterAll(killAllBoxes);

type Ticket = { ticketId: string; number: string };
const ticketOf = (r: Reply): Ticket => {
  const t = r.data?.ticket as Ticket;
  return { ticketId: t.ticketId, number: t.number };
};

describe('durability', () => {
  it('SIGKILL mid-stream loses and duplicates no acknowledged ticket; numbering continues', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lobby-durable-'));
    const dataDir = join(dir, 'data');
    const configFile = join(dir, 'office.json');
    const peripherals = await peripheralsFor([
      { id: 'kiosk-1', role: 'kiosk' },
      { id: 'keypad-1', role: 'keypad', counter: 1 },
    ]);
    writeFileSync(configFile, JSON.stringify(officeConfig(peripherals), null, 2));

    const first = await startDevice(configFile, dataDir);
    const url = `mqtt://127.0.0.1:${first.port}`;
    const kiosk = await connectDevice(url, 'kiosk-1', secretOf('kiosk-1'));
    const keypad = await connectDevice(url, 'keypad-1', secretOf('keypad-1'));

    // Stream: the kiosk keeps 4 requests in flight; the keypad calls as it goes. Kill once 60 are acknowledged.
    const acked = new Map<string, Ticket>();
    const inFlight = new Set<string>();
    const calledAcked: string[] = [];
    let n = 0;
    let stop = false;
    const pump = async (client: MqttClient) => {
      while (!stop) {
        const id = `press-${++n}`;
        inFlight.add(id);
        const pending = request(client, 'lobby/v1/tickets/request', { id, service: 'van-thu' }, 2000).catch(
          () => null,
        );
        // Kill right after a request went out and before its reply can come: a kill on a reply could find
        // every other stream's reply already delivered (they arrive together after one group commit).
        if (acked.size >= 60 && !stop) {
          stop = true;
          first.child.kill('SIGKILL');
        }
        const reply = await pending;
        if (reply?.status === 'ok') {
          acked.set(id, ticketOf(reply));
          inFlight.delete(id);
        }
      }
    };
    const caller = async () => {
      while (!stop) {
        const reply = await request(keypad, 'lobby/v1/counters/1/cmd/next', {}, 2000).catch(() => null);
        if (reply?.status === 'ok') calledAcked.push(ticketOf(reply).number);
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    const streams = [pump(kiosk), pump(kiosk), pump(kiosk), pump(kiosk), caller()];
    while (!stop) await new Promise((r) => setTimeout(r, 2));
    await killed(first.child);
    await Promise.all(streams);
    kiosk.end(true);
    keypad.end(true);
    expect(acked.size).toBeGreaterThanOrEqual(60);
    expect(inFlight.size).toBeGreaterThan(0); // the kill really came mid-stream
    expect(calledAcked.length).toBeGreaterThan(0);

    // Restart on the same data; the kiosk retries what it never heard back about, with the same ids.
    const second = await startDevice(configFile, dataDir);
    const url2 = `mqtt://127.0.0.1:${second.port}`;
    const kiosk2 = await connectDevice(url2, 'kiosk-1', secretOf('kiosk-1'));
    for (const id of inFlight) {
      const reply = await request(kiosk2, 'lobby/v1/tickets/request', { id, service: 'van-thu' });
      expect(reply.status).toBe('ok');
      acked.set(id, ticketOf(reply));
    }
    const again = [...acked.keys()].slice(0, 5);
    for (const id of again) {
      const reply = await request(kiosk2, 'lobby/v1/tickets/request', { id, service: 'van-thu' });
      expect(ticketOf(reply)).toEqual(acked.get(id)); // answered from the log, not a second ticket
    }
    const maxBefore = Math.max(...[...acked.values()].map((t) => Number(t.number.slice(1))));
    const fresh = ticketOf(await request(kiosk2, 'lobby/v1/tickets/request', { service: 'van-thu' }));
    expect(Number(fresh.number.slice(1))).toBe(maxBefore + 1);
    kiosk2.end(true);
    await killed(second.child);

    // The log: every acknowledged ticket is there once, numbers are unique, calls refer to issued tickets.
    const store = new EventStore(join(dataDir, 'events.db'));
    const events = [...store.eventsAfter(0)];
    store.close();
    const issued = events.filter((e) => e.event.type === 'ticket.issued').map((e) => e.event.data as Ticket);
    const numbers = issued.map((t) => t.number);
    expect(new Set(numbers).size).toBe(numbers.length);
    for (const t of acked.values()) expect(issued).toContainEqual(expect.objectContaining(t));
    const called = events
      .filter((e) => e.event.type === 'ticket.called')
      .map((e) => (e.event.data as Ticket).number);
    for (const c of calledAcked) expect(called).toContain(c);
    expect(new Set(called).size).toBe(called.length);
    const seqs = events.map((e) => e.seq);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1)); // gap-free log
  }, 90_000);

  it('a crash between the commit and the print job: every paper ticket is printed exactly once after restarts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lobby-print-'));
    const dataDir = join(dir, 'data');
    const configFile = join(dir, 'office.json');
    const cfg = officeConfig(await peripheralsFor([{ id: 'kiosk-1', role: 'kiosk' }]));
    writeFileSync(configFile, JSON.stringify(cfg, null, 2));

    const killedAfter: string[] = [];
    const onLog = (log: Record<string, unknown>) => {
      if (log.msg === 'killed after commit') killedAfter.push(log.ticketId as string);
    };
    let box = await startDevice(configFile, dataDir, { killAfterTicket: 3, onLog });
    // The kiosk is one device through the box's restarts (it keeps what it printed), so the box comes back on
    // the port it picked itself at its first start (port 0 in the config; never free between our probe and
    // its bind).
    cfg.broker.port = box.port;
    writeFileSync(configFile, JSON.stringify(cfg, null, 2));
    // The printer: the kiosk prints each jobId once (deliveries counts every job that reached it).
    const kiosk = new SimKiosk({
      url: `mqtt://127.0.0.1:${box.port}`,
      id: 'kiosk-1',
      secret: secretOf('kiosk-1'),
      reconnectPeriod: 100,
      replyTimeoutMs: 1000,
      attempts: 30,
    });
    await kiosk.connect();
    let pressing = true;
    const answered: string[] = [];
    const press = async () => {
      while (pressing) {
        const r = await kiosk.requestTicket('van-thu').catch(() => null);
        if (r?.status === 'ok') answered.push((r.data?.ticket as { ticketId: string }).ticketId);
      }
    };
    const citizens = [press(), press()];
    // Two crashes, each right after a paper ticket's commit; then a box that stays up.
    for (const next of [2, 0]) {
      await new Promise<void>((resolve) => box.child.once('exit', () => resolve()));
      box = await startDevice(configFile, dataDir, { killAfterTicket: next, onLog });
    }
    const settled = answered.length;
    while (answered.length < settled + 4) await new Promise((r) => setTimeout(r, 20));
    pressing = false;
    await Promise.all(citizens);
    expect(killedAfter).toHaveLength(2);

    // Every paper ticket of the log reaches the printer (the ones the box died on too), each printed once. The
    // box holds its log exclusively while it runs: wait for the tickets the citizens know of (answered, or
    // committed just before a crash), then stop the box and read the whole log.
    const printed = () => new Set(kiosk.printed.map((j) => j.jobId));
    const known = [...new Set([...answered, ...killedAfter])];
    const deadline = Date.now() + 20_000;
    while (!known.every((t) => printed().has(t)) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    await kiosk.close();
    await killed(box.child);
    const store = new EventStore(join(dataDir, 'events.db'));
    const issued = [...store.eventsAfter(0)]
      .filter((e) => e.event.type === 'ticket.issued')
      .map((e) => (e.event.data as { ticketId: string }).ticketId);
    store.close();
    expect(issued.filter((t) => !printed().has(t))).toEqual([]);
    for (const t of killedAfter) expect(issued).toContain(t);
    expect(kiosk.printed.map((j) => j.jobId).sort()).toEqual([...issued].sort()); // once each, nothing else
    expect(kiosk.deliveries.length).toBeGreaterThanOrEqual(issued.length);
  }, 90_000);

  it('SIGTERM stops the box cleanly, browser screens connected: it says it is offline and exits 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lobby-term-'));
    const configFile = join(dir, 'office.json');
    const cfg = officeConfig(await peripheralsFor([{ id: 'display-tv', role: 'display' }]));
    writeFileSync(configFile, JSON.stringify(cfg, null, 2));
    const { child, port, httpPort } = await startDevice(configFile, join(dir, 'data'));
    const tv = await connectDevice(`mqtt://127.0.0.1:${port}`, 'display-tv', secretOf('display-tv'));
    // A lobby TV over WebSocket must not hold the shutdown up.
    const browser = await connectDevice(
      `ws://127.0.0.1:${httpPort}/mqtt`,
      'display-tv.browser',
      secretOf('display-tv'),
    );
    const offline = new Promise<unknown>((resolve) =>
      tv.on('message', (_t, p) => {
        const body = JSON.parse(p.toString()) as { online: boolean };
        if (!body.online) resolve(body);
      }),
    );
    await tv.subscribeAsync('lobby/v1/presence/box', { qos: 1 });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await offline).toMatchObject({ online: false });
    expect(await exited).toBe(0);
    tv.end(true);
    browser.end(true);
  }, 30_000);
});
