// The box soak (`npm run soak:box`, not part of npm test): a `lobby device` child process under a kiosk
// and a keypad, through cycles of SIGKILL, a full disk and failed fsyncs, for a bounded time
// (SOAK_SECONDS, default 180). After each cycle the box is stopped and its log checked: every acknowledged
// ticket is there once, numbers are unique, and no ticket is held by nobody (each one issued was answered
// to its kiosk, after retries with the same id). Prints its figures; test/README.md keeps one run's.
// Disk-full cycles need root (a loop-mounted 1 KiB-block ext4 or tmpfs), fsync cycles gcc (an LD_PRELOAD
// shim); a cycle kind that cannot run is said and left out.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import type { Reply } from '../../protocol/index.js';
import { EventStore } from '../../device/store/event-store.js';
import { killAllBoxes, killed, startDevice, type BoxProcess } from '../support/box-process.js';
import { buildFsyncShim, mountSmallFs } from '../support/faults.js';
import { connectDevice, officeConfig, peripheralsFor, request, secretOf } from '../support/office.js';

type Kind = 'kill' | 'disk-full' | 'fsync';
type Ticket = { ticketId: string; number: string };

const seconds = Number(process.env.SOAK_SECONDS ?? 180);
const figures = {
  cycles: { kill: 0, 'disk-full': 0, fsync: 0 } as Record<Kind, number>,
  ticketsAcked: 0,
  callsAcked: 0,
  faultsInjected: 0,
  storageFullRefusals: 0,
  storageFailedReplies: 0,
  exitsForRecovery: 0,
  recoveredInPlace: 0,
  restarts: 0,
  retriedAfterFault: 0,
  retriesAnsweredFromLog: 0,
  checks: 0,
};

/** Where each request stands from the device's side: answered ok, refused for good, or unknown (retry). */
const held = new Map<string, Ticket>(); // request id → the ticket its kiosk was told
const unknown = new Set<string>(); // ticket requests with no final answer yet
const unknownCalls = new Set<string>();
const FINAL_ERRORS_NOT_COMMITTED = new Set(['storage_full']);

function fail(message: string): never {
  console.error(`SOAK FAILED: ${message}`);
  console.error(JSON.stringify(figures));
  killAllBoxes();
  process.exit(1);
}

async function main(): Promise<void> {
  const started = Date.now();
  const deadline = started + seconds * 1000;
  const smallFs = mountSmallFs(64);
  const shim = buildFsyncShim();
  const kinds: Kind[] = ['kill'];
  if (typeof smallFs === 'string') console.log(`disk-full cycles left out: ${smallFs}`);
  else kinds.push('disk-full');
  if (typeof shim === 'string') console.log(`fsync cycles left out: ${shim}`);
  else kinds.push('fsync');

  const dir = mkdtempSync(join(tmpdir(), 'lobby-soak-'));
  const dataDir = typeof smallFs === 'string' ? join(dir, 'data') : join(smallFs.dir, 'data');
  const flag = join(dir, 'fail-next-fsync');
  const env = typeof shim === 'string' ? {} : { LD_PRELOAD: shim.so, LOBBY_FSYNC_FAIL: flag };
  const configFile = join(dir, 'office.json');
  const peripherals = await peripheralsFor([
    { id: 'kiosk-1', role: 'kiosk' },
    { id: 'keypad-1', role: 'keypad', counter: 1 },
  ]);
  writeFileSync(
    configFile,
    JSON.stringify(
      officeConfig(peripherals, {
        services: [{ id: 'van-thu', name: 'Văn thư', numbering: { prefix: 'A', width: 6 } }],
        counters: [{ number: 1, services: ['van-thu'] }],
      }),
      null,
      2,
    ),
  );

  let n = 0;
  for (let cycle = 0; Date.now() < deadline; cycle++) {
    const kind = kinds[cycle % kinds.length] as Kind;
    figures.cycles[kind]++;
    let box = await startDevice(configFile, dataDir, { env });
    figures.restarts++;
    let kiosk = await connectDevice(`mqtt://127.0.0.1:${box.port}`, 'kiosk-1', secretOf('kiosk-1'));
    let keypad = await connectDevice(`mqtt://127.0.0.1:${box.port}`, 'keypad-1', secretOf('keypad-1'));
    await settleUnknowns(kiosk, keypad);

    // Traffic: four kiosk streams and a keypad, until the fault is done with.
    let stop = false;
    const ticketStream = async () => {
      while (!stop && kiosk.connected) {
        const id = `t-${++n}`;
        unknown.add(id);
        await answer(kiosk, id);
      }
    };
    const callStream = async () => {
      while (!stop && keypad.connected) {
        const id = `c-${++n}`;
        unknownCalls.add(id);
        const r = await request(keypad, 'lobby/v1/counters/1/cmd/next', { id }, 3000).catch(() => null);
        if (r) settleCall(id, r);
        await new Promise((res) => setTimeout(res, 20));
      }
    };
    const streams = [ticketStream(), ticketStream(), ticketStream(), ticketStream(), callStream()];
    const ackedBefore = figures.ticketsAcked;
    await waitFor('traffic', () => figures.ticketsAcked >= ackedBefore + 40, 20_000);

    figures.faultsInjected++;
    if (kind === 'kill') {
      box.child.kill('SIGKILL');
      await box.exited;
    } else if (kind === 'fsync') {
      writeFileSync(flag, '');
      const exit = await box.exited;
      if (exit.code !== 75)
        fail(`after a failed fsync the box exited with ${exit.code ?? exit.signal}, not 75`);
      figures.exitsForRecovery++;
    } else if (typeof smallFs !== 'string') {
      smallFs.fill();
      const full = figures.storageFullRefusals;
      await waitFor('storage_full refusals', () => figures.storageFullRefusals >= full + 5, 20_000);
      await expectHealth(box, 503, 'full');
      smallFs.free();
      const acked = figures.ticketsAcked;
      await waitFor('tickets again without a restart', () => figures.ticketsAcked >= acked + 20, 20_000);
      await expectHealth(box, 200, 'ok');
      figures.recoveredInPlace++;
    }
    stop = true;
    await Promise.all(streams);
    kiosk.end(true);
    keypad.end(true);

    // Whatever the fault left unanswered is retried with the same ids on a box rebuilt from its log.
    if (box.child.exitCode !== null || box.child.signalCode !== null) {
      box = await startDevice(configFile, dataDir, { env });
      figures.restarts++;
    }
    kiosk = await connectDevice(`mqtt://127.0.0.1:${box.port}`, 'kiosk-1', secretOf('kiosk-1'));
    keypad = await connectDevice(`mqtt://127.0.0.1:${box.port}`, 'keypad-1', secretOf('keypad-1'));
    await settleUnknowns(kiosk, keypad);
    kiosk.end(true);
    keypad.end(true);
    await killed(box.child);
    checkLog(dataDir);
  }
  if (typeof smallFs !== 'string') smallFs.unmount();
  const elapsed = Math.round((Date.now() - started) / 1000);
  console.log(
    JSON.stringify({ result: 'ok', seconds: elapsed, ...figures, ticketsInLog: held.size }, null, 2),
  );
}

/** Sends a ticket request and files its answer; a timeout or storage_failed leaves it unknown. */
async function answer(kiosk: MqttClient, id: string): Promise<void> {
  const r = await request(kiosk, 'lobby/v1/tickets/request', { id, service: 'van-thu' }, 3000).catch(
    () => null,
  );
  if (!r) return;
  if (r.status === 'ok') {
    const t = r.data?.ticket as Ticket;
    const before = held.get(id);
    if (before && before.ticketId !== t.ticketId) fail(`request ${id} was given two tickets`);
    if (!before) figures.ticketsAcked++;
    if (r.data?.duplicate === true) figures.retriesAnsweredFromLog++;
    held.set(id, { ticketId: t.ticketId, number: t.number });
    unknown.delete(id);
    return;
  }
  const code = r.error?.code ?? '';
  if (code === 'storage_failed') figures.storageFailedReplies++;
  else if (FINAL_ERRORS_NOT_COMMITTED.has(code)) {
    figures.storageFullRefusals++;
    unknown.delete(id);
  } else if (code !== 'internal_error') unknown.delete(id);
  else fail(`request ${id} was told internal_error`);
}

function settleCall(id: string, r: Reply): void {
  if (r.status === 'ok') figures.callsAcked++;
  if (r.status === 'ok' || r.error?.code !== 'storage_failed') unknownCalls.delete(id);
}

async function settleUnknowns(kiosk: MqttClient, keypad: MqttClient): Promise<void> {
  for (const id of [...unknown]) {
    figures.retriedAfterFault++;
    await answer(kiosk, id);
    if (unknown.has(id)) fail(`retry of ${id} got no final answer`);
  }
  for (const id of [...unknownCalls]) {
    const r = await request(keypad, 'lobby/v1/counters/1/cmd/next', { id }, 3000).catch(() => null);
    if (!r) fail(`retry of ${id} got no answer`);
    settleCall(id, r);
  }
}

function checkLog(dataDir: string): void {
  figures.checks++;
  const store = new EventStore(join(dataDir, 'events.db'));
  const issued = [...store.eventsAfter(0)]
    .filter((e) => e.event.type === 'ticket.issued')
    .map((e) => e.event.data as Ticket);
  store.close();
  const ids = new Set(issued.map((t) => t.ticketId));
  const numbers = new Set(issued.map((t) => t.number));
  if (ids.size !== issued.length || numbers.size !== issued.length)
    fail('a ticket or number is in the log twice');
  const heldIds = new Set<string>();
  for (const [id, t] of held) {
    if (!ids.has(t.ticketId)) fail(`acknowledged ticket ${t.number} (${id}) is not in the log`);
    heldIds.add(t.ticketId);
  }
  for (const t of issued) if (!heldIds.has(t.ticketId)) fail(`ticket ${t.number} is held by nobody`);
}

async function expectHealth(box: BoxProcess, code: number, storage: string): Promise<void> {
  await waitFor(`/healthz ${code} ${storage}`, async () => {
    const r = await fetch(`http://127.0.0.1:${box.httpPort}/healthz`);
    const body = (await r.json()) as { storage?: { state?: string } };
    return r.status === code && body.storage?.state === storage;
  });
}

async function waitFor(what: string, ok: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => fail(String((err as Error).stack ?? err)),
);
