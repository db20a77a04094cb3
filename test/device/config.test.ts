// The box config file and the `lobby` CLI around it: errors name the bad field, secrets are stored hashed.
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ConfigError, loadConfigFile, validateConfig } from '../../device/config/load.js';
import { verifySecret } from '../../protocol/secrets.js';

const ROOT = join(import.meta.dirname, '../..');
const CLI = join(ROOT, 'dist/cli/lobby.js');
const EXAMPLE = join(ROOT, 'config/office.example.yaml');

function example(): Record<string, unknown> {
  return parse(readFileSync(EXAMPLE, 'utf8')) as Record<string, unknown>;
}

function issuesOf(raw: unknown): string[] {
  try {
    validateConfig(raw);
  } catch (e) {
    if (e instanceof ConfigError) return e.issues.map((i) => `${i.path}: ${i.message}`);
    throw e;
  }
  return [];
}

async function lobby(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, ...args], {
      timeout: 20_000,
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe('config validation', () => {
  it('the shipped example and demo configs are valid, with defaults filled', () => {
    const cfg = loadConfigFile(EXAMPLE);
    expect(cfg.office.timezone).toBe('Asia/Ho_Chi_Minh');
    expect(cfg.counters[0]?.policy).toBe('priority-first');
    // The five levels of public-service satisfaction surveys, worst first.
    expect(cfg.rating.scale.map((s) => [s.score, s.label.vi])).toEqual([
      [1, 'Rất không hài lòng'],
      [2, 'Không hài lòng'],
      [3, 'Bình thường'],
      [4, 'Hài lòng'],
      [5, 'Rất hài lòng'],
    ]);
    expect(loadConfigFile(join(ROOT, 'config/demo-office.yaml')).counters).toHaveLength(8);
  });

  it('names the bad field: an unknown service at a counter', () => {
    const raw = example();
    (raw.counters as { services: string[] }[])[2]!.services[0] = 'xyz';
    expect(issuesOf(raw)).toEqual(['counters[2].services[0]: unknown service "xyz"']);
  });

  it('names schema errors by path: wrong types, bad times, unknown keys', () => {
    const raw = example();
    (raw.office as Record<string, unknown>).sessions = [{ open: '7:30', close: '11:30' }];
    (raw.services as Record<string, unknown>[])[1]!.dailyQuota = 'many';
    (raw as Record<string, unknown>).colour = 'red';
    const issues = issuesOf(raw).join('\n');
    expect(issues).toContain('office.sessions[0].open');
    expect(issues).toContain('services[1].dailyQuota');
    expect(issues).toMatch(/colour|\(root\)/);
  });

  it('catches what a schema cannot: duplicates, overlapping numbers, session order, bindings, timezone', () => {
    const raw = example();
    const services = raw.services as Record<string, unknown>[];
    services.push({ id: 'van-thu', name: 'again', numbering: { prefix: 'A', width: 3 } });
    services.push({ id: 'thue', name: 'Thuế', numbering: { from: 4500, to: 4600 } });
    (raw.office as Record<string, unknown>).timezone = 'Mars/Olympus';
    (raw.office as Record<string, unknown>).sessions = [
      { open: '13:30', close: '17:00' },
      { open: '07:30', close: '11:30', cutoff: '12:00' },
    ];
    raw.peripherals = [
      { id: 'keypad-9', role: 'keypad', secretHash: 'scrypt$x' },
      { id: 'box', role: 'display', secretHash: 'scrypt$x' },
      { id: 'kiosk-1', role: 'kiosk', counter: 1, secretHash: 'scrypt$x' },
    ];
    const issues = issuesOf(raw);
    expect(issues).toContain('office.timezone: unknown timezone "Mars/Olympus"');
    expect(issues).toContain('services[4]: duplicate service id "van-thu"');
    expect(issues).toContain('services[4].numbering.prefix: prefix "A" is already used by "van-thu"');
    expect(issues.some((i) => i.startsWith('services[5].numbering: range 4500-4600 overlaps'))).toBe(true);
    expect(issues).toContain(
      'office.sessions[1].cutoff: cutoff 12:00 must be after open and not after close',
    );
    expect(issues).toContain('peripherals[0].counter: a keypad must be bound to a counter');
    expect(issues).toContain('peripherals[1].id: "box" is reserved for the box itself');
    expect(issues).toContain('peripherals[2].counter: a kiosk is not bound to a counter');
  });

  it('a corrupt file is refused with the file and the reason, never half-read', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lobby-cfg-'));
    const bad = join(dir, 'office.yaml');
    writeFileSync(bad, 'office: { id: x\n  name: [unclosed\n');
    expect(() => loadConfigFile(bad)).toThrow(ConfigError);
    expect(() => loadConfigFile(bad)).toThrow(/office\.yaml/);
    expect(() => loadConfigFile(join(dir, 'missing.yaml'))).toThrow(/ENOENT|no such file/);
    writeFileSync(bad, '[1, 2, 3]\n');
    expect(() => loadConfigFile(bad)).toThrow(/expected a mapping/);
  });
});

describe('lobby CLI', () => {
  it('prints help, and refuses unknown commands and bad flags with a clear message', async () => {
    const help = await lobby('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('device');
    expect(help.stdout).toContain('demo');
    const unknown = await lobby('fly');
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/unknown command 'fly'/);
    const badRole = await lobby(
      'device',
      'add-peripheral',
      '--config',
      EXAMPLE,
      '--id',
      'x',
      '--role',
      'toaster',
    );
    expect(badRole.code).not.toBe(0);
    expect(badRole.stderr).toContain('Allowed choices are kiosk, keypad');
  });

  it('a busy port ends with a message naming it, not a stack trace (exit 2)', async () => {
    const { createServer } = await import('node:net');
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    const port = (busy.address() as { port: number }).port;
    const dir = mkdtempSync(join(tmpdir(), 'lobby-cli-'));
    const file = join(dir, 'office.json');
    const raw = example();
    raw.http = { host: '127.0.0.1', port: 0 };
    raw.broker = { host: '127.0.0.1', port: 0 };
    writeFileSync(file, JSON.stringify(raw));
    for (const flag of ['--http-port', '--mqtt-port']) {
      // One data dir for both: the config's event log marker names it (another would be refused, exit 3).
      const out = await lobby(
        'device',
        '--config',
        file,
        '--data-dir',
        join(dir, 'data'),
        flag,
        String(port),
      );
      expect(out.code).toBe(2);
      expect(out.stderr).toContain('already in use');
      expect(out.stderr).not.toMatch(/at .*\.js:\d+/);
    }
    busy.close();
  });

  it('a bad flag value ends with a message naming the flag (exit 2), for the box, the demo and the cloud', async () => {
    for (const args of [
      ['device', 'run', '--config', 'office.yaml', '--mqtt-port', 'abc'],
      ['demo', '--day-speed', 'fast'],
      ['demo', '--hardware-port', '99999'],
      ['cloud', '--port', 'abc'],
    ]) {
      const out = await lobby(...args);
      expect(out.code, args.join(' ')).toBe(2);
      expect(out.stderr).toContain(`'${args[args.length - 1]}' is invalid`);
    }
  });

  it('check-config says ok for a good file and names the field for a bad one (exit 2)', async () => {
    expect((await lobby('device', 'check-config', '--config', EXAMPLE)).stdout).toMatch(/ok — .*4 counters/);
    const dir = mkdtempSync(join(tmpdir(), 'lobby-cli-'));
    const raw = example();
    (raw.counters as { services: string[] }[])[2]!.services[0] = 'xyz';
    writeFileSync(join(dir, 'bad.json'), JSON.stringify(raw));
    const bad = await lobby('device', 'check-config', '--config', join(dir, 'bad.json'));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('counters[2].services[0]: unknown service "xyz"');
  });

  it('add-peripheral prints the secret once, stores only its scrypt hash, and keeps the YAML comments', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lobby-cli-'));
    const file = join(dir, 'office.yaml');
    copyFileSync(EXAMPLE, file);
    const out = await lobby(
      'device',
      'add-peripheral',
      '--config',
      file,
      '--id',
      'keypad-3',
      '--role',
      'keypad',
      '--counter',
      '3',
    );
    expect(out.code).toBe(0);
    const secret = /Secret \(shown once[^:]*\): (\S+)/.exec(out.stdout)?.[1] as string;
    expect(secret).toHaveLength(32);
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain(secret);
    expect(text).toContain('# A box config for a real office');
    const p = loadConfigFile(file).peripherals.find((x) => x.id === 'keypad-3')!;
    expect(p).toMatchObject({ role: 'keypad', counter: 3 });
    expect(await verifySecret(secret, p.secretHash!)).toBe(true);
    expect(await verifySecret('wrong', p.secretHash!)).toBe(false);

    const dup = await lobby(
      'device',
      'add-peripheral',
      '--config',
      file,
      '--id',
      'keypad-3',
      '--role',
      'keypad',
      '--counter',
      '3',
    );
    expect(dup.code).toBe(2);
    expect(dup.stderr).toContain('already exists');
    const unbound = await lobby(
      'device',
      'add-peripheral',
      '--config',
      file,
      '--id',
      'rating-9',
      '--role',
      'rating',
    );
    expect(unbound.stderr).toContain('a rating needs --counter');
    const noCounter = await lobby(
      'device',
      'add-peripheral',
      '--config',
      file,
      '--id',
      'keypad-9',
      '--role',
      'keypad',
      '--counter',
      '9',
    );
    expect(noCounter.stderr).toContain('unknown counter 9');

    expect((await lobby('device', 'remove-peripheral', '--config', file, '--id', 'keypad-3')).code).toBe(0);
    expect(loadConfigFile(file).peripherals).toHaveLength(0);
  });
});
