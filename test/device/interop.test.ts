// The keypad flow through Debian's mosquitto_pub and mosquitto_sub: the protocol works with a client we
// did not write. Skips (and says so) where they are not installed; .ci/run installs them.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Reply } from '../../protocol/index.js';
import { request, secretOf, startTestBox, type TestBox } from '../support/office.js';

function installed(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const haveMosquitto = installed('mosquitto_pub') && installed('mosquitto_sub');
if (!haveMosquitto)
  console.warn(
    'SKIPPED interop: mosquitto_pub/mosquitto_sub not installed (apt-get install mosquitto-clients)',
  );

let office: TestBox;
const auth = (id: string, clientId = id) => [
  '-h',
  '127.0.0.1',
  '-p',
  String(office.box.mqttPort),
  '-i',
  clientId,
  '-u',
  id,
  '-P',
  secretOf(id),
];

/** mosquitto_sub for `count` messages, started before the publish it waits for. */
function subscribe(
  id: string,
  topic: string,
  count: number,
): { ready: Promise<void>; messages: Promise<string[]> } {
  const child = spawn('mosquitto_sub', [
    ...auth(id, `${id}.sub`),
    '-t',
    topic,
    '-q',
    '1',
    '-C',
    String(count),
    '-W',
    '10',
  ]);
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  // 'close', not 'exit': a process can exit before its stdout has been read to the end (seen under load).
  const messages = new Promise<string[]>((resolve, reject) =>
    child.on('close', (code) =>
      code === 0
        ? resolve(out.trim().split('\n'))
        : reject(new Error(`mosquitto_sub exited ${code}: ${err}`)),
    ),
  );
  // mosquitto_sub has no "subscribed" signal: wait until the broker lists the connection.
  const ready = (async () => {
    for (let i = 0; i < 100 && !office.box.broker.connectedIds().includes(`${id}.sub`); i++)
      await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 100));
  })();
  return { ready, messages };
}

// Async: the box under test runs in this process, so a synchronous exec would block the broker itself.
async function publish(id: string, topic: string, body: object): Promise<void> {
  const args = [...auth(id), '-q', '1', '-t', topic, '-m', JSON.stringify(body)];
  await promisify(execFile)('mosquitto_pub', args, { timeout: 10_000 });
}

describe.skipIf(!haveMosquitto)('interop with mosquitto_pub / mosquitto_sub', () => {
  beforeAll(async () => {
    office = await startTestBox();
  });
  afterAll(async () => {
    await office?.close();
  });

  it('a kiosk and a keypad built from mosquitto clients issue, call and finish a ticket', async () => {
    const kioskReplies = subscribe('kiosk-1', 'lobby/v1/devices/kiosk-1/reply', 1);
    await kioskReplies.ready;
    await publish('kiosk-1', 'lobby/v1/tickets/request', { id: 'mq-1', service: 'van-thu' });
    const issued = JSON.parse((await kioskReplies.messages)[0] as string) as Reply;
    expect(issued).toMatchObject({ id: 'mq-1', status: 'ok' });
    const number = (issued.data?.ticket as { number: string }).number;

    const keypadReplies = subscribe('keypad-1', 'lobby/v1/devices/keypad-1/reply', 4);
    await keypadReplies.ready;
    await publish('keypad-1', 'lobby/v1/counters/1/cmd/next', { id: 'mq-next' });
    await publish('keypad-1', 'lobby/v1/counters/1/cmd/recall', { id: 'mq-recall' });
    await publish('keypad-1', 'lobby/v1/counters/2/cmd/next', { id: 'mq-wrong-counter' });
    await publish('keypad-1', 'lobby/v1/counters/1/cmd/finish', {
      id: 'mq-finish',
      dossiers: ['000.00.04.H12-261122-0007'],
    });
    const replies = (await keypadReplies.messages).map((m) => JSON.parse(m) as Reply);
    expect(replies.map((r) => [r.id, r.status, r.error?.code ?? null])).toEqual([
      ['mq-next', 'ok', null],
      ['mq-recall', 'ok', null],
      ['mq-wrong-counter', 'error', 'forbidden'],
      ['mq-finish', 'ok', null],
    ]);
    expect((replies[0]?.data?.ticket as { number: string }).number).toBe(number);
    expect(replies[3]?.data?.events).toEqual(['ticket.serving', 'dossier.linked', 'ticket.finished']);
  });

  it('the state a mosquitto_sub display reads matches what an mqtt.js client caused', async () => {
    const kiosk = await office.connect('kiosk-1');
    await request(kiosk, 'lobby/v1/tickets/request', { service: 'ho-tich' });
    const state = subscribe('display-tv', 'lobby/v1/state/services/ho-tich', 1);
    const body = JSON.parse((await state.messages)[0] as string) as { waiting: number; lastIssued: string };
    expect(body.waiting).toBeGreaterThanOrEqual(1);
    expect(body.lastIssued).toMatch(/^C\d{3}$/);
  });
});
