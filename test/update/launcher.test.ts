// deploy/lobby-launch.sh with real processes: the box (this repository's dist/cli/lobby.js) started by the
// launcher the way systemd does, and versions that crash before any JavaScript, hang, or refuse the event
// log. After the switch, the box either commits the new version or goes back to the previous one by
// itself, and the cloud hears which, with the failed version's last lines. Needs `npm run build`.
import { existsSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { trialFile } from '../../device/update/files.js';
import { switched, updateBox } from './helpers.js';
import { launcherSuite } from './suite.js';

const suite = launcherSuite();
const { boxes, report } = suite;

describe('the launcher', () => {
  it('without a trial marker starts the current version as is', async () => {
    const b = await updateBox(suite.cloud(), [['1.0.0', 'good']]);
    boxes.push(b.box.start());
    expect((await b.box.healthy()).version).toBe('1.0.0');
  });

  it('commits a new version that starts and stays healthy for its trial, and the cloud hears `healthy`', async () => {
    const b = await updateBox(suite.cloud(), [
      ['1.0.0', 'good'],
      ['1.1.0', 'good'],
    ]);
    switched(b, '1.0.0', '1.1.0', { rolloutId: 'r-commit', trialSeconds: 2 });
    const t0 = Date.now();
    boxes.push(b.box.start());
    expect((await b.box.healthy('1.1.0')).version).toBe('1.1.0');
    const r = await report('r-commit', 'healthy');
    console.log(`switch to committed (trial 2 s): ${Date.now() - t0} ms`);
    expect(r).toMatchObject({ version: '1.1.0', running: '1.1.0' });
    expect(existsSync(trialFile(b.paths))).toBe(false);
    expect(readlinkSync(join(b.root, 'current'))).toBe('1.1.0');
    expect(readlinkSync(join(b.root, 'previous'))).toBe('1.0.0');
    expect(b.box.starts).toBe(1);
  });

  it('goes back by itself when the new version crashes at start, and the old one reports it with the crash lines', async () => {
    const b = await updateBox(suite.cloud(), [
      ['1.0.0', 'good'],
      ['1.1.0', 'crash'],
    ]);
    switched(b, '1.0.0', '1.1.0', { rolloutId: 'r-crash' });
    const t0 = Date.now();
    boxes.push(b.box.start());
    expect((await b.box.healthy('1.0.0')).version).toBe('1.0.0');
    console.log(`failed start to rolled back and serving: ${Date.now() - t0} ms`);
    expect(readlinkSync(join(b.root, 'current'))).toBe('1.0.0');
    expect(b.box.starts).toBe(4); // three failed starts of 1.1.0, then 1.0.0
    const r = await report('r-crash', 'rolled_back');
    expect(r).toMatchObject({ version: '1.1.0', running: '1.0.0', code: 'start' });
    expect(r.reason).toMatch(/failed to start 3 times; the box went back to 1\.0\.0 by itself/);
    expect(r.logTail).toContain(
      "lobby 1.1.0: Error: Cannot find module './build/Release/better_sqlite3.node'",
    );
    expect(existsSync(trialFile(b.paths))).toBe(false);
  });

  it('goes back at once when the new version refuses the event log (exit 3)', async () => {
    const b = await updateBox(suite.cloud(), [
      ['1.0.0', 'good'],
      ['1.1.0', 'refuse-log'],
    ]);
    switched(b, '1.0.0', '1.1.0', { rolloutId: 'r-log' });
    boxes.push(b.box.start());
    await b.box.healthy('1.0.0');
    expect(b.box.starts).toBe(2);
    const r = await report('r-log', 'rolled_back');
    expect(r.code).toBe('log');
    expect(r.logTail?.join('\n')).toMatch(/newer than this version understands/);
  });

  it('stops a new version that never becomes healthy once its trial and grace ran out, and goes back', async () => {
    const b = await updateBox(suite.cloud(), [
      ['1.0.0', 'good'],
      ['1.1.0', 'hang'],
    ]);
    switched(b, '1.0.0', '1.1.0', { rolloutId: 'r-hang', trialSeconds: 1, graceSeconds: 1 });
    boxes.push(b.box.start());
    await b.box.healthy('1.0.0');
    const r = await report('r-hang', 'rolled_back');
    expect(r.code).toBe('health');
    expect(r.logTail?.join('\n')).toMatch(/did not commit within 2s: stopping it/);
  });
});
