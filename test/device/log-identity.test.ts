// `lobby device` as a child process refuses an event log that is not the one it ran before (emptied, deleted,
// the wrong --data-dir) or that is damaged, with a message saying how to recover and exit code 3; it starts
// again after the admin's explicit `lobby device new-log`, which keeps the old file aside.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Reply } from '../../protocol/index.js';
import { connectDevice, officeConfig, peripheralsFor, request, secretOf } from '../support/office.js';
import { runCli } from '../support/box-process.js';

const CLI = join(import.meta.dirname, '../../dist/cli/lobby.js');
const children: ChildProcess[] = [];

afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

type Started = { child: ChildProcess; port: number };
type Refused = { code: number | null; stderr: string };

/** Starts `lobby device`; resolves once it logs "box started", or with its exit code and stderr if it exits. */
function runDevice(configFile: string, dataDir: string): Promise<Started | Refused> {
  const child = spawn(process.execPath, [CLI, 'device', '--config', configFile, '--data-dir', dataDir], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LOG_LEVEL: 'info' },
  });
  children.push(child);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`box neither started nor exited: ${stderr}`)), 20_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const log = JSON.parse(line) as { msg?: string; mqttPort?: number };
        if (log.msg === 'box started' && log.mqttPort) {
          clearTimeout(timer);
          resolve({ child, port: log.mqttPort });
        }
      } catch {
        // not a log line
      }
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

async function started(configFile: string, dataDir: string): Promise<Started> {
  const r = await runDevice(configFile, dataDir);
  if (!('child' in r)) throw new Error(`the box exited with ${r.code}: ${r.stderr}`);
  return r;
}

async function refused(configFile: string, dataDir: string): Promise<Refused> {
  const r = await runDevice(configFile, dataDir);
  if ('child' in r) {
    await stopped(r.child);
    throw new Error('the box started on a log it should have refused');
  }
  return r;
}

function stopped(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

const numberOf = (r: Reply) => (r.data?.ticket as { number: string }).number;

/** Issues `n` tickets, a few in flight at a time; returns their numbers. */
async function issueTickets(port: number, n: number): Promise<string[]> {
  const kiosk = await connectDevice(`mqtt://127.0.0.1:${port}`, 'kiosk-1', secretOf('kiosk-1'));
  const numbers: string[] = [];
  for (let i = 0; i < n; i += 10) {
    const replies = await Promise.all(
      Array.from({ length: Math.min(10, n - i) }, () =>
        request(kiosk, 'lobby/v1/tickets/request', { service: 'van-thu' }),
      ),
    );
    numbers.push(...replies.map(numberOf));
  }
  await kiosk.endAsync(true);
  return numbers;
}

describe('the box knows its event log', () => {
  let dir: string;
  let configFile: string;
  let dataDir: string;
  let issued: string[];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lobby-logid-'));
    configFile = join(dir, 'office.json');
    dataDir = join(dir, 'data');
    const peripherals = await peripheralsFor([{ id: 'kiosk-1', role: 'kiosk' }]);
    writeFileSync(configFile, JSON.stringify(officeConfig(peripherals), null, 2));
    const box = await started(configFile, dataDir); // a fresh install starts and writes its markers
    issued = await issueTickets(box.port, 5);
    await stopped(box.child);
    expect(existsSync(`${configFile}.eventlog.json`)).toBe(true);
    expect(existsSync(join(dataDir, 'eventlog.json'))).toBe(true);
  });

  it('starts again on its own log', async () => {
    const box = await started(configFile, dataDir);
    expect(await issueTickets(box.port, 1)).toEqual([`A${String(issued.length + 1).padStart(3, '0')}`]);
    issued.push(`A${String(issued.length + 1).padStart(3, '0')}`);
    await stopped(box.child);
  });

  it('refuses a deleted events.db, saying how to recover', async () => {
    const aside = join(dir, 'kept');
    rmSync(aside, { recursive: true, force: true });
    const db = join(dataDir, 'events.db');
    const saved = readFileSync(db);
    rmSync(db);
    const r = await refused(configFile, dataDir);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('The box refuses to start');
    expect(r.stderr).toContain('missing, but this box has run before');
    expect(r.stderr).toContain(`lobby device recover-log --config ${configFile} --data-dir ${dataDir}`);
    expect(r.stderr).toContain(`lobby device new-log --config ${configFile} --data-dir ${dataDir} --reason`);
    expect(existsSync(db)).toBe(false); // the refusal created nothing in its place
    writeFileSync(db, saved);
  });

  it('refuses an emptied (truncated) events.db', async () => {
    const db = join(dataDir, 'events.db');
    const saved = readFileSync(db);
    truncateSync(db, 0);
    const r = await refused(configFile, dataDir);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('is empty, but this box has run before');
    writeFileSync(db, saved);
  });

  it('refuses the wrong --data-dir and names the right one', async () => {
    const wrong = join(dir, 'wrong-data');
    const r = await refused(configFile, wrong);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('The box refuses to start');
    expect(r.stderr).toContain(`start the box with --data-dir ${dataDir}`);
    expect(existsSync(join(wrong, 'events.db'))).toBe(false);
  });

  it('refuses a damaged page at start and leaves the file as it was', async () => {
    const box = await started(configFile, dataDir);
    issued.push(...(await issueTickets(box.port, 300))); // enough events for many pages
    await stopped(box.child);
    const db = join(dataDir, 'events.db');
    const pages = Math.floor(statSync(db).size / 4096);
    expect(pages).toBeGreaterThan(10);
    const fd = openSync(db, 'r+');
    writeSync(fd, Buffer.alloc(4096, 0x5a), 0, 4096, Math.floor(pages / 2) * 4096);
    closeSync(fd);
    const digest = createHash('sha256').update(readFileSync(db)).digest('hex');

    const r = await refused(configFile, dataDir);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`the event log ${db} is damaged`);
    expect(r.stderr).toContain('Do not delete or overwrite it');
    expect(r.stderr).toContain('lobby device new-log');
    expect(createHash('sha256').update(readFileSync(db)).digest('hex')).toBe(digest);
  });

  it('starts after an explicit new log, which keeps the old file aside', async () => {
    const r = await runCli([
      'device',
      'new-log',
      '--config',
      configFile,
      '--data-dir',
      dataDir,
      '--reason',
      'test: damaged page',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/New event log [0-9a-f-]{36}/);
    expect(r.stdout).toContain('restart at 001');
    const aside = readdirSync(dataDir).filter((f) => f.startsWith('events.db.replaced-'));
    expect(aside.length).toBeGreaterThan(0); // the damaged log is kept, renamed

    const box = await started(configFile, dataDir);
    const [first] = await issueTickets(box.port, 1);
    expect(first).toBe('A001'); // a new log is a new day's numbering: the admin chose it
    await stopped(box.child);
    const again = await started(configFile, dataDir); // and the new log is now the one the box knows
    await stopped(again.child);
  });
});
