// The keypad flow through Debian's mosquitto_pub and mosquitto_sub: the protocol works with a client we
// did not write. Skips (and says so) where they are not installed; .ci/run installs them.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
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
const haveMosquitto = installed('mosquitto_pub') && installed('mosquitto_sub') && installed('stdbuf');
if (!haveMosquitto)
  console.warn(
    'SKIPPED interop: mosquitto_pub/mosquitto_sub (apt-get install mosquitto-clients) or stdbuf (coreutils) not installed',
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

/**
 * mosquitto_sub for `count` messages, started before the publish it waits for. With `-d` it prints the
 * packets it exchanges: `ready` resolves when the broker's SUBACK arrived, so nothing published after it
 * can be missed; the messages are the other lines.
 */
function subscribe(
  id: string,
  topic: string,
  count: number,
): { ready: Promise<void>; messages: Promise<string[]> } {
  // stdbuf -oL: its debug lines go to a pipe, block-buffered, so the SUBACK line would come at exit.
  const child = spawn('stdbuf', [
    '-oL',
    'mosquitto_sub',
    ...auth(id, `${id}.sub`),
    '-d',
    '-t',
    topic,
    '-q',
    '1',
    '-C',
    String(count),
    '-W',
    '10',
  ]);
  const lines: string[] = [];
  let subscribed: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (subscribed = resolve));
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (/^Client \S+ received SUBACK/.test(line)) subscribed();
    lines.push(line);
  });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  // 'close', not 'exit': a process can exit before its stdout has been read to the end (seen under load).
  const messages = new Promise<string[]>((resolve, reject) =>
    child.on('close', (code) =>
      code === 0
        ? resolve(lines.filter((l) => !/^(Client \S+ (sending|received) |Subscribed \(mid)/.test(l)))
        : reject(new Error(`mosquitto_sub exited ${code}: ${err}\n${lines.join('\n')}`)),
    ),
  );
  // A sub that dies before its SUBACK fails the wait instead of hanging it.
  return { ready: Promise.race([ready, messages.then(() => undefined)]), messages };
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
    const numbers: string[] = [];
    for (let i = 0; i < 2; i++) {
      const reply = await request(kiosk, 'lobby/v1/tickets/request', { service: 'ho-tich' });
      numbers.push((reply.data?.ticket as { number: string }).number);
    }
    expect(numbers).toEqual(['C001', 'C002']);
    // The retained state a display connecting now reads: both tickets waiting, the last one issued.
    const state = subscribe('display-tv', 'lobby/v1/state/services/ho-tich', 1);
    const body = JSON.parse((await state.messages)[0] as string) as unknown;
    expect(body).toMatchObject({ service: 'ho-tich', waiting: 2, issuedToday: 2, lastIssued: numbers[1] });
  });
});
