// The `lobby sim` command as an operator runs it (the built CLI in a child process).
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { secretOf, startTestBox, type TestBox } from '../support/office.js';

const CLI = join(import.meta.dirname, '../../dist/cli/lobby.js');
const run = async (args: string[]) => {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, ...args], {
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
};

let tb: TestBox;
beforeAll(async () => {
  tb = await startTestBox();
});
afterAll(async () => {
  await tb?.close();
});

describe('lobby sim', () => {
  it('conform box passes against a real box and says so per check', async () => {
    const port = String(tb.box.mqttPort);
    const r = await run([
      'sim',
      'conform',
      'box',
      '--host',
      '127.0.0.1',
      '--port',
      port,
      '--id',
      'kiosk-1',
      '--secret',
      secretOf('kiosk-1'),
      '--role',
      'kiosk',
      '--allow-changes',
      '--watch-id',
      'display-tv',
      '--watch-secret',
      secretOf('display-tv'),
    ]);
    expect(r.stdout).toContain('PASS  bad JSON gets bad_json with id null');
    expect(r.stdout).not.toContain('FAIL');
    expect(r.stdout).toMatch(/\d+ passed, 0 failed/);
    expect(r.code).toBe(0);
  });

  it('conform box exits 1 and names the failing check when the credentials are wrong', async () => {
    const r = await run([
      'sim',
      'conform',
      'box',
      '--host',
      '127.0.0.1',
      '--port',
      String(tb.box.mqttPort),
      '--id',
      'kiosk-1',
      '--secret',
      'wrong',
      '--role',
      'kiosk',
    ]);
    expect(r.stdout).toContain('FAIL  connect with the device id and secret (CONNACK 0)');
    expect(r.code).toBe(1);
  });

  it('refuses bad input with exit code 2 and the reason', async () => {
    const a = await run(['sim', 'day', '--rate', 'fast']);
    expect(a.code).toBe(2);
    expect(a.stderr).toContain('--rate "fast"');
    const b = await run(['sim', 'conform', 'box', '--host', '127.0.0.1']);
    expect(b.code).toBe(2);
    expect(b.stderr).toContain('conform box needs --port, --id, --secret, --role');
    const c = await run(['sim', 'day', '--host', '127.0.0.1']);
    expect(c.code).toBe(2);
    expect(c.stderr).toContain('needs --host, --port and --credentials together');
  });

  it('day runs a small seeded day on a virtual clock and prints the KPIs', async () => {
    const r = await run(['sim', 'day', '--seed', '3', '--rate', '0.1', '--no-progress']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Office day 2026-11-23, seed 3');
    expect(r.stdout).toMatch(/wait, min \(thời gian chờ\) +p50 [\d.]+ +p90 [\d.]+/);
    expect(r.stdout).toContain("Box record (the box's event log) vs simulator: they agree");
  });
});
