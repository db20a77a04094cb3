// SMS when the turn is near (issue 14): a kiosk leaves a phone number for one ticket; a local fake gateway
// receives exactly one message when the ticket is `nearAhead` from the front and one when it is called (a
// failed attempt retried under the same message id), and afterwards the number is nowhere on the box: not in
// its event log, its request ledger or any file of its data directory, not in its log lines.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SMS_REDACT_PATHS } from '../../device/sms/notifier.js';
import {
  DEVICES,
  officeConfig,
  peripheralsFor,
  request,
  secretOf,
  startTestBox,
  type TestBox,
} from '../support/office.js';

const PHONE = '0912 345 678';
const DIGITS = '0912345678';

interface Received {
  headers: IncomingHttpHeaders;
  body: { to: string; text: string };
}

/** The province's SMS gateway, faked: records every POST; answers 503 to the first `failFirst` of them. */
async function fakeGateway(
  failFirst: number,
): Promise<{ server: Server; url: string; received: Received[] }> {
  const received: Received[] = [];
  let failures = failFirst;
  const server = createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => {
      received.push({ headers: req.headers, body: JSON.parse(text) as Received['body'] });
      if (failures > 0) {
        failures--;
        res.writeHead(503).end();
      } else res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/send`, received };
}

describe('SMS when the turn is near', () => {
  let office: TestBox;
  let gateway: Awaited<ReturnType<typeof fakeGateway>>;
  const logLines: string[] = [];
  let base: string;

  beforeAll(async () => {
    gateway = await fakeGateway(1);
    const dir = mkdtempSync(join(tmpdir(), 'lobby-sms-'));
    const authFile = join(dir, 'sms-auth');
    writeFileSync(authFile, 'Bearer gateway-token\n', { mode: 0o600 });
    const config = officeConfig(await peripheralsFor(DEVICES), {
      sms: { gatewayUrl: gateway.url, authorizationFile: authFile, nearAhead: 3 },
    });
    // Every line the box logs, at debug, with the box's own redaction.
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        logLines.push(chunk.toString());
        done();
      },
    });
    const log = pino({ level: 'debug', redact: { paths: SMS_REDACT_PATHS, censor: '[hidden]' } }, sink);
    office = await startTestBox({ config, log });
    base = `http://127.0.0.1:${office.box.httpPort}`;
  });
  afterAll(async () => {
    await office?.close();
    gateway?.server.close();
  });

  const leaveNumber = (ticketId: string, phone: string, device = 'kiosk-1') =>
    fetch(`${base}/api/screens/sms`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Basic ${Buffer.from(`${device}:${secretOf(device)}`).toString('base64')}`,
      },
      body: JSON.stringify({ ticketId, phone }),
    });
  const until = async (what: () => boolean, ms = 10_000) => {
    const end = Date.now() + ms;
    while (!what()) {
      if (Date.now() > end) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  it('sends exactly one message when near and one when called, then forgets the number', async () => {
    const kiosk = await office.connect('kiosk-1');
    const keypad = await office.connect('keypad-1');
    const tickets: { ticketId: string; number: string }[] = [];
    for (let i = 0; i < 5; i++)
      tickets.push(
        (await request(kiosk, 'lobby/v1/tickets/request', { service: 'van-thu' })).data?.ticket as {
          ticketId: string;
          number: string;
        },
      );
    const mine = tickets[4] as { ticketId: string; number: string };
    // The kiosk's settings say the office sends messages.
    const settings = await fetch(`${base}/api/screens/settings`, {
      headers: { authorization: `Basic ${Buffer.from(`kiosk-1:${secretOf('kiosk-1')}`).toString('base64')}` },
    });
    expect(((await settings.json()) as { sms: boolean }).sms).toBe(true);

    // Refusals first: not a number, not a kiosk, no such ticket.
    const bad = await leaveNumber(mine.ticketId, '09-12');
    expect([bad.status, ((await bad.json()) as { error: { code: string } }).error.code]).toEqual([
      400,
      'phone_invalid',
    ]);
    expect((await leaveNumber(mine.ticketId, PHONE, 'clerk-panel-2')).status).toBe(403);
    expect((await leaveNumber('2000-01-01/A001', PHONE)).status).toBe(404);

    // Four before it: nothing is sent yet.
    const ok = await leaveNumber(mine.ticketId, PHONE);
    expect(ok.status).toBe(200);
    expect(gateway.received).toEqual([]);

    // The first is called: three before it, the turn is near (the gateway fails once; got tries again).
    await request(keypad, 'lobby/v1/counters/1/cmd/next');
    await until(() => gateway.received.length === 2);
    const [failed, near] = gateway.received as [Received, Received];
    expect(near.body).toEqual({
      to: DIGITS,
      text: `So ${mine.number} sap den luot: con 3 nguoi truoc ban. Bộ phận một cửa xã Thử Nghiệm`,
    });
    expect(failed.body).toEqual(near.body);
    expect(near.headers['x-lobby-message-id']).toBe(`${mine.ticketId}/near`);
    expect(failed.headers['x-lobby-message-id']).toBe(`${mine.ticketId}/near`);
    expect(near.headers.authorization).toBe('Bearer gateway-token');

    // The next two: no second "near".
    await request(keypad, 'lobby/v1/counters/1/cmd/next');
    await request(keypad, 'lobby/v1/counters/1/cmd/next');
    await request(keypad, 'lobby/v1/counters/1/cmd/next');
    await new Promise((r) => setTimeout(r, 300));
    expect(gateway.received).toHaveLength(2);

    // Called.
    const called = await request(keypad, 'lobby/v1/counters/1/cmd/next');
    expect((called.data?.ticket as { number: string }).number).toBe(mine.number);
    await until(() => gateway.received.length === 3);
    expect(gateway.received[2]?.body).toEqual({
      to: DIGITS,
      text: `Moi so ${mine.number} den quay 1. Bộ phận một cửa xã Thử Nghiệm`,
    });
    expect(gateway.received[2]?.headers['x-lobby-message-id']).toBe(`${mine.ticketId}/called`);

    // A recall sends nothing more; finishing the ticket forgets the number.
    await request(keypad, 'lobby/v1/counters/1/cmd/recall');
    await request(keypad, 'lobby/v1/counters/1/cmd/finish');
    await new Promise((r) => setTimeout(r, 300));
    expect(gateway.received).toHaveLength(3);
    const again = await leaveNumber(mine.ticketId, PHONE);
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe('ticket_over');
  });

  it('already near when typed: only the call is messaged; a no-show forgets the number, a call back sends nothing', async () => {
    const kiosk = await office.connect('kiosk-1');
    const keypad = await office.connect('keypad-2');
    const issue = async (body: Record<string, unknown>) =>
      (await request(kiosk, 'lobby/v1/tickets/request', { service: 'chung-thuc', ...body })).data?.ticket as {
        ticketId: string;
        number: string;
      };
    const before = gateway.received.length;
    const first = await issue({});
    const mine = await issue({});
    expect((await leaveNumber(mine.ticketId, '+84 912 000 111')).status).toBe(200);
    // One before it: near at once when the number is typed, so only the call would be messaged...
    await issue({ priority: 'elderly' });
    await issue({ priority: 'pregnant' });
    // ...and two priority tickets that go first change nothing: near was never due again.
    await request(keypad, 'lobby/v1/counters/2/cmd/next'); // a priority ticket goes first
    await new Promise((r) => setTimeout(r, 300));
    expect(gateway.received.length).toBe(before);
    await request(keypad, 'lobby/v1/counters/2/cmd/next'); // the other priority ticket
    await request(keypad, 'lobby/v1/counters/2/cmd/next'); // the first ordinary ticket
    expect(first.number).toMatch(/^B/);
    const called = await request(keypad, 'lobby/v1/counters/2/cmd/next');
    expect((called.data?.ticket as { number: string }).number).toBe(mine.number);
    await until(() => gateway.received.length === before + 1);
    expect(gateway.received.at(-1)?.body.to).toBe('+84912000111');
    expect(gateway.received.at(-1)?.body.text).toContain(`Moi so ${mine.number} den quay 2`);
    // Absent: marked no-show after the recalls; the number is forgotten, a call back sends nothing.
    for (let i = 0; i < 3; i++) await request(keypad, 'lobby/v1/counters/2/cmd/recall');
    const marked = [...office.box.store.eventsAfter(0)].some(
      (e) => e.event.type === 'ticket.no_show' && e.event.data.ticketId === mine.ticketId,
    );
    expect(marked).toBe(true);
    const back = await request(keypad, 'lobby/v1/counters/2/cmd/call', { number: mine.number });
    expect(back.status).toBe('ok');
    await new Promise((r) => setTimeout(r, 300));
    expect(gateway.received.length).toBe(before + 1);
  });

  it('the number is in no event, no file of the data directory and no log line', async () => {
    const spellings = [DIGITS, PHONE, '912345678', '912000111'];
    // The event log as the uplink would send it.
    const events = JSON.stringify([...office.box.store.eventsAfter(0)]);
    for (const s of spellings) expect(events).not.toContain(s);
    // Every file the box wrote (the SQLite log, its WAL, the request ledger, markers), byte for byte.
    const files = readdirSync(office.dataDir, { recursive: true, withFileTypes: true }).filter((f) =>
      f.isFile(),
    );
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      const bytes = readFileSync(join(f.parentPath, f.name));
      for (const s of spellings) expect(bytes.includes(Buffer.from(s)), `${f.name} holds ${s}`).toBe(false);
    }
    const log = logLines.join('');
    expect(log).toContain('sms sent');
    for (const s of spellings) expect(log).not.toContain(s);
  });
});
