// Power loss at every step of an over-the-air update, with real processes: the box (dist/cli/lobby.js) under
// deploy/lobby-launch.sh, restarted like systemd does, SIGKILLed mid-download (the whole process group, the
// cloud holding the rest of the bundle), mid-unpack, on both sides of the `current` rename, and during the
// new version's first start. Each time the box comes back on a version that works, serves, resumes the
// update where it stopped, and ends on the new version, committed and reported healthy. Needs `npm run build`.
//
// The box learns its target from the fleet poll (wired at merge); the agent writes the target to
// update/state.json before anything else, so a box holding a target is that file: the tests start from it.
import { existsSync, mkdtempSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import type { SoftwareTarget } from '../../protocol/fleet-updates.js';
import { trialFile, writeAgentState } from '../../device/update/files.js';
import { CLI } from '../support/box-process.js';
import { publishRelease } from '../support/releases.js';
import { release, ticketFrom, updateBox, type UpdateBox } from './helpers.js';
import { launcherSuite } from './suite.js';

const KILL_MID_UPDATE = CLI.replace(/cli\/lobby\.js$/, 'test/support/kill-mid-update.js');

const suite = launcherSuite();
const { boxes, report } = suite;

/** A box on 1.0.0 holding a target of 1.1.0 (forced: the test office is open around the clock). */
async function boxWithTarget(
  killAt?: string,
): Promise<{ b: UpdateBox; target: SoftwareTarget; killedFile: string }> {
  const killedFile = join(mkdtempSync(join(tmpdir(), 'lobby-kill-')), 'killed');
  const b = await updateBox(suite.cloud(), [['1.0.0', 'good']], {
    LOBBY_UPDATE_TRIAL_SECONDS: '2',
    ...(killAt
      ? {
          NODE_OPTIONS: `--import=${KILL_MID_UPDATE}`,
          LOBBY_KILL_MID_UPDATE: killAt,
          LOBBY_KILL_ONCE: killedFile,
        }
      : {}),
  });
  const { target } = publishRelease(suite.cloud(), release.key, '1.1.0', { random: 300_000 });
  writeAgentState(b.paths, { target, step: 'idle', reports: [] });
  boxes.push(b.box);
  return { b, target, killedFile };
}

/** The end every case must reach: 1.1.0 committed, reported healthy, serving tickets, nothing left over. */
async function endsOnNewVersion(b: UpdateBox, target: SoftwareTarget): Promise<void> {
  await report(target.rolloutId, 'healthy');
  expect((await b.box.healthy('1.1.0')).version).toBe('1.1.0');
  expect(readlinkSync(join(b.root, 'current'))).toBe('1.1.0');
  expect(readlinkSync(join(b.root, 'previous'))).toBe('1.0.0');
  expect(existsSync(trialFile(b.paths))).toBe(false);
  expect(readdirSync(b.root).sort()).toEqual(['1.0.0', '1.1.0', 'current', 'previous']);
  expect(await ticketFrom(b)).toMatch(/^A\d{3}$/);
}

describe('power loss during an update', () => {
  it(
    'mid-download: the box boots 1.0.0, resumes the download with Range, and ends on 1.1.0',
    { timeout: 180_000 },
    async () => {
      const { b, target } = await boxWithTarget();
      suite.cloud().stallFile = { path: target.bundleUrl, after: 60_000 };
      b.box.start();
      const file = join(
        b.paths.dir,
        'download',
        target.rolloutId,
        `motcua-lobby-1.1.0-${target.platform}.tar.gz`,
      );
      await vi.waitFor(() => expect(existsSync(file) && statSync(file).size).toBe(60_000), {
        timeout: 30_000,
        interval: 20,
      });
      await b.box.powerCut();
      suite.cloud().stallFile = null;
      const before = suite.cloud().fileRequests.length;
      b.box.start();
      expect((await b.box.healthy()).status).toBe('ok');
      await endsOnNewVersion(b, target);
      expect(
        suite
          .cloud()
          .fileRequests.slice(before)
          .filter((r) => r.path === target.bundleUrl)
          .map((r) => r.range),
      ).toEqual(['bytes=60000-']);
    },
  );

  for (const when of ['unpack', 'switch-before', 'switch-after'] as const)
    it(
      `at ${when}: the box comes back on a working version and ends on 1.1.0`,
      { timeout: 180_000 },
      async () => {
        const { b, target, killedFile } = await boxWithTarget(when);
        b.box.start();
        await vi.waitFor(
          () => {
            expect(existsSync(killedFile)).toBe(true);
            expect(b.box.lines.some((l) => l.includes('"killed mid-update"'))).toBe(true);
          },
          { timeout: 60_000, interval: 20 },
        );
        expect((await b.box.healthy()).status).toBe('ok');
        await endsOnNewVersion(b, target);
      },
    );

  it(
    'during the first start of 1.1.0: the next start continues its trial and commits it',
    { timeout: 180_000 },
    async () => {
      const { b, target } = await boxWithTarget();
      b.box.start();
      await vi.waitFor(
        () => expect(b.box.lines.some((l) => l.includes('on trial: start 1 of 3'))).toBe(true),
        {
          timeout: 60_000,
          interval: 20,
        },
      );
      await b.box.powerCut();
      expect(existsSync(trialFile(b.paths))).toBe(true);
      b.box.start();
      await endsOnNewVersion(b, target);
      expect(b.box.lines.some((l) => l.includes('on trial: start 2 of 3'))).toBe(true);
    },
  );
});
