// Requests from devices, end to end through a real box (MQTT clients, the SQLite log): each device's retry
// bookkeeping is its own. Two kiosks of the same model both count their request ids from "r1"; each must be
// answered with its own ticket, in one group commit and after a restart, and never with the other's.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { parseRequestTopic, type Reply, type RequestTopic } from '../../protocol/index.js';
import { Ledger } from '../../device/ledger.js';
import { createRequestDesk } from '../../device/requests.js';
import { EventStore, type StoredEvent } from '../../device/store/event-store.js';
import {
  DEVICES,
  officeConfig,
  request,
  startTestBox,
  type DeviceSpec,
  type TestBox,
} from '../support/office.js';

const TWO_KIOSKS: DeviceSpec[] = [...DEVICES, { id: 'kiosk-2', role: 'kiosk' }];
const TICKET = 'lobby/v1/tickets/request';

const boxes: TestBox[] = [];
afterEach(async () => {
  await Promise.all(boxes.splice(0).map((b) => b.close()));
});

async function start(dataDir?: string): Promise<TestBox> {
  const box = await startTestBox({ devices: TWO_KIOSKS, ...(dataDir ? { dataDir } : {}) });
  boxes.push(box);
  return box;
}

interface PrintedTicket {
  ticketId: string;
  number: string;
  service: string;
}

function ticketOf(reply: Reply): PrintedTicket {
  expect(reply.status, JSON.stringify(reply.error)).toBe('ok');
  const t = (reply.data as { ticket?: PrintedTicket } | undefined)?.ticket;
  if (!t) throw new Error(`no ticket in ${JSON.stringify(reply)}`);
  return t;
}

/** Subscribes the device to its replies once, so that a request can then be published at once. */
async function readyFor(client: MqttClient, deviceId: string): Promise<void> {
  await client.subscribeAsync(`lobby/v1/devices/${deviceId}/reply`, { qos: 1 });
}

/** Publishes a request now (the client must be subscribed to its replies) and resolves with its reply. */
function send(client: MqttClient, body: { id: string } & Record<string, unknown>): Promise<Reply> {
  const deviceId = client.options.clientId as string;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no reply to ${body.id} for ${deviceId}`)), 5000);
    const onMessage = (topic: string, payload: Buffer) => {
      const reply = JSON.parse(payload.toString()) as Reply;
      if (topic !== `lobby/v1/devices/${deviceId}/reply` || reply.id !== body.id) return;
      clearTimeout(timer);
      client.off('message', onMessage);
      resolve(reply);
    };
    client.on('message', onMessage);
    client.publish(TICKET, JSON.stringify(body), { qos: 1 });
  });
}

/**
 * Publishes both requests, then holds this process (which runs the box) for a moment so that both reach the
 * box's sockets before it reads either: the box then takes them in one event-loop turn, one group commit
 * (each test checks that it did).
 */
function sendTogether(...sends: [MqttClient, { id: string } & Record<string, unknown>][]): Promise<Reply[]> {
  const replies = Promise.all(sends.map(([client, body]) => send(client, body)));
  const until = Date.now() + 50;
  while (Date.now() < until); // holds the event loop on purpose; the assertions wait for the replies
  return replies;
}

describe('two devices using the same request id', () => {
  it('in one group commit: each kiosk gets its own ticket, and each retry its own answer', async () => {
    const box = await start();
    const k1 = await box.connect('kiosk-1');
    const k2 = await box.connect('kiosk-2');
    await readyFor(k1, 'kiosk-1');
    await readyFor(k2, 'kiosk-2');
    const commits: StoredEvent[][] = [];
    box.box.ledger.onCommit((events) => commits.push(events));

    // The same model of kiosk, the same request: byte for byte the same payload, from two devices.
    const body = { id: 'r1', service: 'van-thu' };
    const [a, b] = await sendTogether([k1, body], [k2, body]);
    const t1 = ticketOf(a as Reply);
    const t2 = ticketOf(b as Reply);
    expect(commits).toHaveLength(1); // both in one batch: the case where the ledger's own bookkeeping decides
    expect(commits[0]?.filter((e) => e.event.type === 'ticket.issued')).toHaveLength(2);
    expect(new Set([t1.number, t2.number])).toEqual(new Set(['A001', 'A002']));
    expect((a as Reply).data?.duplicate).toBeUndefined();
    expect((b as Reply).data?.duplicate).toBeUndefined();

    // Both retry in one batch again: each is told its own ticket, not a new one and not the other's.
    const [ra, rb] = await sendTogether([k1, body], [k2, body]);
    expect(ticketOf(ra as Reply)).toEqual(t1);
    expect(ticketOf(rb as Reply)).toEqual(t2);
    expect((ra as Reply).data?.duplicate).toBe(true);
    expect((rb as Reply).data?.duplicate).toBe(true);
    expect(box.box.store.headSeq).toBe(3); // day.started and two tickets: nothing issued twice
  });

  it('in one group commit, a request and another device’s first use of that id: both are new requests', async () => {
    const box = await start();
    const k1 = await box.connect('kiosk-1');
    const k2 = await box.connect('kiosk-2');
    await readyFor(k1, 'kiosk-1');
    await readyFor(k2, 'kiosk-2');
    const first = ticketOf(await request(k1, TICKET, { id: 'r1', service: 'van-thu' }));
    const commits: StoredEvent[][] = [];
    box.box.ledger.onCommit((events) => commits.push(events));
    // kiosk-1 retries r1 while kiosk-2 sends its own r1 for another service, in the same batch.
    const [retry, other] = await sendTogether(
      [k1, { id: 'r1', service: 'van-thu' }],
      [k2, { id: 'r1', service: 'ho-tich' }],
    );
    expect(ticketOf(retry as Reply)).toEqual(first);
    expect((retry as Reply).data?.duplicate).toBe(true);
    expect(ticketOf(other as Reply)).toMatchObject({ number: 'C001', service: 'ho-tich' });
    expect((other as Reply).data?.duplicate).toBeUndefined();
    expect(commits).toHaveLength(1);
  });

  it('across a restart: each retry gets its own device’s earlier answer, never the other device’s', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'lobby-requests-'));
    let box = await start(dataDir);
    let k1 = await box.connect('kiosk-1');
    let k2 = await box.connect('kiosk-2');
    const same = { id: 'r1', service: 'van-thu' };
    const t1 = ticketOf(await request(k1, TICKET, same));
    const t2 = ticketOf(await request(k2, TICKET, same));
    const t1b = ticketOf(await request(k1, TICKET, { id: 'r2', service: 'ho-tich' }));
    const t2b = ticketOf(await request(k2, TICKET, { id: 'r2', service: 'dat-dai' }));
    expect([t1.number, t2.number, t1b.number, t2b.number]).toEqual(['A001', 'A002', 'C001', '4001']);
    await box.close();
    boxes.splice(boxes.indexOf(box), 1);

    box = await start(dataDir);
    k1 = await box.connect('kiosk-1');
    k2 = await box.connect('kiosk-2');
    // The second kiosk asks first: a lookup by id alone would hand it the first kiosk's ticket.
    const r2 = await request(k2, TICKET, same);
    const r1 = await request(k1, TICKET, same);
    expect(ticketOf(r2)).toEqual(t2);
    expect(ticketOf(r1)).toEqual(t1);
    expect([r1.data?.duplicate, r2.data?.duplicate]).toEqual([true, true]);
    // Same id, different services per device: each retry is its own device's, not request_id_reused.
    expect(ticketOf(await request(k2, TICKET, { id: 'r2', service: 'dat-dai' }))).toEqual(t2b);
    expect(ticketOf(await request(k1, TICKET, { id: 'r2', service: 'ho-tich' }))).toEqual(t1b);
    // And a device's own reused id is still caught after the restart.
    const reused = await request(k1, TICKET, { id: 'r2', service: 'dat-dai' });
    expect(reused.error?.code).toBe('request_id_reused');
    expect(box.box.store.headSeq).toBe(5);
  });
});

describe('a kiosk whose printer cannot print', () => {
  it('is refused paper tickets (printer_unavailable, saying why), may still show one on screen, and gets its retries', async () => {
    const box = await start();
    const kiosk = await box.connect('kiosk-1');
    const before = ticketOf(await request(kiosk, TICKET, { id: 'p1', service: 'van-thu' }));
    const status = (state: string, canPrint: boolean) =>
      kiosk.publishAsync(
        'lobby/v1/status/kiosk-1',
        JSON.stringify({ ts: new Date().toISOString(), ok: canPrint, printer: { state, canPrint } }),
        { qos: 1, retain: true },
      );
    await status('paper_out', false);
    const refused = await request(kiosk, TICKET, { id: 'p2', service: 'van-thu' });
    expect(refused).toMatchObject({ id: 'p2', topic: TICKET, status: 'error' });
    expect(refused.error?.code).toBe('printer_unavailable');
    expect(JSON.stringify(refused.error?.message)).toMatch(/paper_out|giấy/);
    // Shown on the kiosk's screen instead: issued, nothing to print.
    const onScreen = await request(kiosk, TICKET, { id: 'p3', service: 'van-thu', delivery: 'screen' });
    expect(ticketOf(onScreen).number).toBe('A002');
    // The retry of a ticket issued before the printer failed gets that ticket, not the refusal.
    const retry = await request(kiosk, TICKET, { id: 'p1', service: 'van-thu' });
    expect(ticketOf(retry)).toEqual(before);
    expect(retry.data?.duplicate).toBe(true);
    // Paper running low still prints.
    await status('paper_near_end', true);
    expect(ticketOf(await request(kiosk, TICKET, { id: 'p4', service: 'van-thu' })).number).toBe('A003');
    expect(box.box.store.headSeq).toBe(4); // day.started and three tickets: nothing for the refusal
  });
});

describe('what a device is told', () => {
  it('a refused command names the refusal and echoes the id and topic; nothing is written', async () => {
    const box = await start();
    const keypad = await box.connect('keypad-1');
    const head = box.box.store.headSeq;
    const reply = await request(keypad, 'lobby/v1/counters/1/cmd/next', { id: 'k1' });
    expect(reply).toMatchObject({
      id: 'k1',
      topic: 'lobby/v1/counters/1/cmd/next',
      status: 'error',
      error: { code: 'queue_empty' },
    });
    expect(box.box.store.headSeq).toBe(head);
  });

  it('a malformed request is refused with schema_invalid and its id when it has one', async () => {
    const box = await start();
    const kiosk = await box.connect('kiosk-1');
    const reply = await request(kiosk, TICKET, { id: 'bad-1', service: 'van-thu', priority: 'vip' });
    expect(reply).toMatchObject({ id: 'bad-1', status: 'error', error: { code: 'schema_invalid' } });
  });

  it('the reply to a new ticket carries everything the kiosk prints; a call names the ticket called', async () => {
    const box = await start();
    const kiosk = await box.connect('kiosk-1');
    const keypad = await box.connect('keypad-2');
    const issued = await request(kiosk, TICKET, { id: 'n1', service: 'chung-thuc', priority: 'elderly' });
    expect(issued.data).toEqual({
      events: ['ticket.issued'],
      ticket: {
        ticketId: expect.stringMatching(/^\d{4}-\d\d-\d\d\/B001$/),
        number: 'B001',
        service: 'chung-thuc',
        serviceName: 'Chứng thực',
        priority: 'elderly',
        ahead: 0,
        estimatedWaitMin: null, // no counter for it is open yet
        issuedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        officeName: 'Bộ phận một cửa xã Thử Nghiệm',
      },
    });
    const called = await request(keypad, 'lobby/v1/counters/2/cmd/next', { id: 'c1' });
    expect(called.data).toEqual({
      events: ['counter.opened', 'ticket.called'],
      ticket: {
        ticketId: (issued.data?.ticket as PrintedTicket).ticketId,
        number: 'B001',
        service: 'chung-thuc',
      },
    });
  });

  it('a print acknowledgement is answered ok, again when repeated; a malformed one is refused', async () => {
    const box = await start();
    const kiosk = await box.connect('kiosk-1');
    const t = ticketOf(await request(kiosk, TICKET, { id: 'q1', service: 'van-thu' }));
    const done = await request(kiosk, 'lobby/v1/tickets/printed', { id: 'd1', jobId: t.ticketId });
    expect(done).toEqual({ id: 'd1', topic: 'lobby/v1/tickets/printed', status: 'ok', data: { events: [] } });
    expect(box.box.store.wasPrinted(t.ticketId)).toBe(true);
    const again = await request(kiosk, 'lobby/v1/tickets/printed', { id: 'd2', jobId: t.ticketId });
    expect(again.status).toBe('ok');
    const bad = await request(kiosk, 'lobby/v1/tickets/printed', { id: 'd3' });
    expect(bad).toMatchObject({ id: 'd3', status: 'error', error: { code: 'schema_invalid' } });
  });

  it('a print acknowledgement the box could not record: internal_error, so the kiosk sends it again', async () => {
    const box = await start();
    const kiosk = await box.connect('kiosk-1');
    const t = ticketOf(await request(kiosk, TICKET, { id: 'q1', service: 'van-thu' }));
    const store = box.box.store;
    const record = store.recordPrinted.bind(store);
    store.recordPrinted = () => {
      throw Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' });
    };
    const failed = await request(kiosk, 'lobby/v1/tickets/printed', { id: 'd1', jobId: t.ticketId });
    expect(failed).toMatchObject({ id: 'd1', status: 'error', error: { code: 'internal_error' } });
    store.recordPrinted = record;
    expect((await request(kiosk, 'lobby/v1/tickets/printed', { id: 'd1', jobId: t.ticketId })).status).toBe(
      'ok',
    );
    expect(store.wasPrinted(t.ticketId)).toBe(true);
  });
});

describe('a counter’s day, request by request', () => {
  it('each field a keypad, scanner, panel or rating box sends reaches the log as sent (codes trimmed)', async () => {
    const box = await start();
    const kiosk = await box.connect('kiosk-1');
    const keypad = await box.connect('keypad-1');
    const scanner = await box.connect('scanner-1');
    const panel = await box.connect('clerk-panel-2');
    const tablet = await box.connect('rating-1');
    const counter1 = (action: string, body: Record<string, unknown> = {}) =>
      request(keypad, `lobby/v1/counters/1/cmd/${action}`, body);
    const from = box.box.store.headSeq;
    const logged = () =>
      [...box.box.store.eventsAfter(from)].map(
        (e) => ({ type: e.event.type, ...e.event.data }) as Record<string, unknown>,
      );
    const last = (type: string) =>
      logged()
        .filter((e) => e.type === type)
        .at(-1);

    ticketOf(await request(kiosk, TICKET, { service: 'van-thu' })); // A001
    const a2 = ticketOf(await request(kiosk, TICKET, { service: 'van-thu' })); // A002
    expect((await counter1('sign_in', { clerk: 'cc01' })).data?.events).toEqual(['counter.signed_in']);
    expect(last('counter.signed_in')).toMatchObject({
      counter: 1,
      clerk: { id: 'cc01', name: 'Nguyễn Thị Lan' },
    });

    const called = await counter1('call', { number: 'A002' });
    expect(called.data?.ticket).toMatchObject({ number: 'A002' });
    expect(last('ticket.called')).toMatchObject({ number: 'A002', counter: 1, how: 'number' });

    const scanned = await request(scanner, 'lobby/v1/counters/1/scan', {
      code: ' 000.00.04.H12-261122-0009 ',
    });
    expect(scanned.data?.events).toEqual(['ticket.serving', 'dossier.linked']);
    expect(last('dossier.linked')).toMatchObject({ number: 'A002', code: '000.00.04.H12-261122-0009' });

    expect((await counter1('pause', { reason: 'họp giao ban' })).status).toBe('ok');
    expect(last('counter.paused')).toEqual({ type: 'counter.paused', counter: 1, reason: 'họp giao ban' });
    expect((await counter1('resume')).status).toBe('ok');
    expect((await counter1('pause')).status).toBe('ok');
    expect(last('counter.paused')).toEqual({ type: 'counter.paused', counter: 1, reason: null });
    expect((await counter1('resume')).status).toBe('ok');

    // Sent on to hộ tịch at counter 2, where the clerk panel calls and finishes them.
    expect((await counter1('transfer', { toService: 'ho-tich', toCounter: 2 })).status).toBe('ok');
    expect(last('ticket.transferred')).toMatchObject({
      number: 'A002',
      fromCounter: 1,
      toService: 'ho-tich',
      toCounter: 2,
    });
    expect((await request(panel, 'lobby/v1/counters/2/cmd/next')).data?.ticket).toMatchObject({
      number: 'A002',
    });
    const finished = await request(panel, 'lobby/v1/counters/2/cmd/finish', {
      dossiers: ['000.00.04.H12-261122-0009', ' 000.00.04.H12-261122-0010 '],
    });
    expect(finished.status).toBe('ok');
    expect(last('ticket.finished')).toMatchObject({
      ticketId: a2.ticketId,
      dossiers: ['000.00.04.H12-261122-0009', '000.00.04.H12-261122-0010'],
    });

    // Counter 1 serves A001; the tablet rates them, naming the ticket, with a reason.
    expect((await counter1('next')).data?.ticket).toMatchObject({ number: 'A001' });
    expect((await counter1('serve')).data?.events).toEqual(['ticket.serving']);
    const a1 = last('ticket.serving')?.ticketId as string;
    expect((await counter1('finish')).status).toBe('ok');
    expect(last('ticket.finished')).toMatchObject({ number: 'A001', dossiers: [] });
    const rated = await request(tablet, 'lobby/v1/counters/1/rating', {
      score: 2,
      reasons: ['chờ lâu'],
      ticketId: a1,
    });
    expect(rated.data).toMatchObject({ events: ['rating.submitted'], ticket: { number: 'A001' } });
    expect(last('rating.submitted')).toMatchObject({
      number: 'A001',
      score: 2,
      reasons: ['chờ lâu'],
      counter: 1,
    });
    const wrong = await request(tablet, 'lobby/v1/counters/1/rating', { score: 2, ticketId: a2.ticketId });
    expect(wrong.error?.code).toBe('no_rating_session'); // not served here
    expect((await counter1('sign_out')).status).toBe('ok');
    expect((await counter1('recall')).error?.code).toBe('no_current_ticket');
  });
});

describe('more of what a device is told', () => {
  it('a malformed counter command, rating or scan is refused with schema_invalid, nothing decided', async () => {
    const box = await start();
    const keypad = await box.connect('keypad-1');
    const tablet = await box.connect('rating-1');
    const scanner = await box.connect('scanner-1');
    const head = box.box.store.headSeq;
    const replies = [
      await request(keypad, 'lobby/v1/counters/1/cmd/call', { id: 'm1', number: 'not a number' }),
      await request(tablet, 'lobby/v1/counters/1/rating', { id: 'm2', score: 'five' }),
      await request(scanner, 'lobby/v1/counters/1/scan', { id: 'm3' }),
    ];
    for (const [i, r] of replies.entries())
      expect(r).toMatchObject({ id: `m${i + 1}`, status: 'error', error: { code: 'schema_invalid' } });
    expect(box.box.store.headSeq).toBe(head);
  });

  it('a reply about no ticket names none; signing in twice changes nothing; a retried sign-in is answered', async () => {
    const box = await start();
    const keypad = await box.connect('keypad-1');
    const first = await request(keypad, 'lobby/v1/counters/1/cmd/sign_in', { id: 's1', clerk: 'cc01' });
    expect(first.data).toEqual({ events: ['counter.signed_in'] });
    const again = await request(keypad, 'lobby/v1/counters/1/cmd/sign_in', { id: 's2', clerk: 'cc01' });
    expect(again).toMatchObject({ status: 'ok', data: { events: [] } });
    const retry = await request(keypad, 'lobby/v1/counters/1/cmd/sign_in', { id: 's1', clerk: 'cc01' });
    expect(retry).toMatchObject({ status: 'ok', data: { events: ['counter.signed_in'], duplicate: true } });
    expect(retry.data?.ticket).toBeUndefined();
  });

  it('a rating without reasons is stored with none', async () => {
    const box = await start();
    const kiosk = await box.connect('kiosk-1');
    const keypad = await box.connect('keypad-1');
    const tablet = await box.connect('rating-1');
    await request(kiosk, TICKET, { service: 'van-thu' });
    await request(keypad, 'lobby/v1/counters/1/cmd/next');
    await request(keypad, 'lobby/v1/counters/1/cmd/finish');
    expect((await request(tablet, 'lobby/v1/counters/1/rating', { score: 4 })).status).toBe('ok');
    const rating = [...box.box.store.eventsAfter(0)].find((e) => e.event.type === 'rating.submitted');
    expect(rating?.event.data).toMatchObject({ score: 4, reasons: [] });
  });

  it('a commit that failed for no storage reason: internal_error, and the box goes on', async () => {
    const box = await start();
    const kiosk = await box.connect('kiosk-1');
    const store = box.box.store;
    const append = store.append.bind(store);
    store.append = () => {
      throw new TypeError('a bug');
    };
    const failed = await request(kiosk, TICKET, { id: 'x1', service: 'van-thu' });
    expect(failed).toMatchObject({ id: 'x1', status: 'error', error: { code: 'internal_error' } });
    store.append = append;
    expect(ticketOf(await request(kiosk, TICKET, { id: 'x1', service: 'van-thu' })).number).toBe('A001');
  });

  it('a clerk panel reporting printer trouble still calls citizens (only paper tickets need the printer)', async () => {
    const box = await start();
    const kiosk = await box.connect('kiosk-1');
    const panel = await box.connect('clerk-panel-2');
    await request(kiosk, TICKET, { service: 'ho-tich' });
    await panel.publishAsync(
      'lobby/v1/status/clerk-panel-2',
      JSON.stringify({
        ts: new Date().toISOString(),
        ok: false,
        printer: { state: 'offline', canPrint: false },
      }),
      { qos: 1, retain: true },
    );
    expect((await request(panel, 'lobby/v1/counters/2/cmd/next')).data?.ticket).toMatchObject({
      number: 'C001',
    });
  });
});

describe('a retried ticket request', () => {
  it('asks for its print job again when it was a paper ticket of this kiosk, not otherwise', async () => {
    const cfg = officeConfig();
    const store = new EventStore(join(mkdtempSync(join(tmpdir(), 'lobby-desk-')), 'events.db'));
    const ledger = new Ledger(cfg, store, () => Date.UTC(2026, 10, 23, 2, 0));
    const resent: [string, string][] = [];
    const desk = createRequestDesk(cfg, ledger, pino({ level: 'silent' }), {
      retriedTicket: (kiosk, ticketId) => resent.push([kiosk, ticketId]),
    });
    const kiosk = { id: 'kiosk-1', role: 'kiosk' as const };
    const keypad = { id: 'keypad-1', role: 'keypad' as const, counter: 1 };
    const ask = (who: typeof kiosk | typeof keypad, topic: string, body: Record<string, unknown>) =>
      desk(who, parseRequestTopic(topic) as RequestTopic, topic, Buffer.from(JSON.stringify(body)));
    const paper = { id: 'p', service: 'van-thu' };
    const screen = { id: 's', service: 'van-thu', delivery: 'screen' };
    await ask(kiosk, TICKET, paper);
    await ask(kiosk, TICKET, screen);
    await ask(keypad, 'lobby/v1/counters/1/cmd/next', { id: 'n' });
    expect(resent).toEqual([]);
    expect((await ask(kiosk, TICKET, paper)).data?.duplicate).toBe(true);
    expect((await ask(kiosk, TICKET, screen)).data?.duplicate).toBe(true);
    expect((await ask(keypad, 'lobby/v1/counters/1/cmd/next', { id: 'n' })).data?.duplicate).toBe(true);
    expect(resent).toEqual([['kiosk-1', '2026-11-23/A001']]);
    store.close();
  });
});
