// The update agent in this process against a stand-in cloud (FakeFleetCloud serving signed test bundles with
// HTTP Range): what an admin sees in the reports for each outcome, and what is left on the box's disk. The
// box's restarts and the launcher are real processes in launcher.test.ts and power-loss.test.ts.
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Map as IMap } from 'immutable';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { SoftwareReport, SoftwareTarget } from '../../protocol/fleet-updates.js';
import { publicKeyFrom } from '../../device/release/verify.js';
import { emptyState, type QueueState, type Ticket } from '../../device/engine/index.js';
import { UpdateAgent, type UpdateAgentOptions } from '../../device/update/agent.js';
import {
  readAgentState,
  trialFile,
  writeKeyValues,
  rolledBackFile,
  versionLog,
} from '../../device/update/files.js';
import { cloudReportPost } from '../../device/update/reports.js';
import type { BoxConfig } from '../../device/config/schema.js';
import { FakeFleetCloud } from '../support/fake-fleet-cloud.js';
import { reportOf as reportOfCloud } from './helpers.js';
import { officeConfig } from '../support/office.js';
import { installVersion, publishRelease, testReleaseKey, PLATFORM } from '../support/releases.js';

const { key } = testReleaseKey();
const other = testReleaseKey();
const log = pino({ level: process.env.AGENT_LOG ?? 'silent' });
let cloud: FakeFleetCloud;
beforeAll(async () => {
  cloud = await new FakeFleetCloud().start();
});
afterAll(() => cloud.stop());

const agents: UpdateAgent[] = [];
afterEach(async () => {
  for (const a of agents.splice(0)) await a.stop();
});

interface Box {
  root: string;
  dir: string;
  agent: UpdateAgent;
  restarts: number;
  office: { config: BoxConfig; state: QueueState };
  now: { value: number };
}

/** A box running `running` under the launcher's layout, with its agent (not started unless asked). */
function box(
  running = '1.0.0',
  opts: Partial<UpdateAgentOptions> & { start?: boolean; restartOf?: Box } = {},
): Box {
  let root: string;
  let dir: string;
  if (opts.restartOf)
    ({ root, dir } = opts.restartOf); // the same box after the launcher restarted it
  else {
    const base = mkdtempSync(join(tmpdir(), 'lobby-update-agent-'));
    root = join(base, 'opt');
    dir = join(base, 'data', 'update');
    mkdirSync(root);
    installVersion(root, running);
  }
  const b: Box = {
    root,
    dir,
    restarts: 0,
    office: { config: officeConfig(), state: emptyState() },
    now: { value: Date.now() },
  } as Box;
  b.agent = new UpdateAgent({
    paths: { root, dir },
    running,
    platform: PLATFORM,
    publicKey: publicKeyFrom(key.publicPem),
    cloud: () => ({ url: cloud.url, boxId: cloud.boxId, secret: cloud.secret }),
    post: cloudReportPost({ cloudUrl: () => cloud.url, boxId: cloud.boxId, secret: cloud.secret }),
    office: () => b.office,
    healthy: async () => true,
    restart: async () => {
      b.restarts++;
    },
    log,
    clock: () => b.now.value,
    windowCheckMs: 20,
    trialCheckMs: 20,
    retry: { baseMs: 10, capMs: 50 },
    ...opts,
  });
  agents.push(b.agent);
  if (opts.start !== false) b.agent.start();
  return b;
}

/** The reports the cloud received for a rollout, as `state` or `state:code`. */
const steps = (rolloutId: string) =>
  cloud.softwareReports
    .filter((r) => r.rolloutId === rolloutId)
    .map((r) => (r.code ? `${r.state}:${r.code}` : r.state));

const reportOf = (rolloutId: string, state: SoftwareReport['state']) =>
  reportOfCloud(cloud, rolloutId, state, 15_000);

const versionsIn = (root: string) =>
  readdirSync(root)
    .filter((n) => !['current', 'previous'].includes(n))
    .sort();

describe('the update agent', () => {
  it('downloads, verifies, unpacks next to the running version, switches with a trial marker and restarts', async () => {
    const b = box();
    const { target } = publishRelease(cloud, key, '1.1.0');
    b.agent.onSoftware(target);
    expect(b.agent.softwareHeld()).toBe(target.rolloutId);
    await reportOf(target.rolloutId, 'switching');
    await vi.waitFor(() => expect(b.restarts).toBe(1));
    expect(steps(target.rolloutId)).toEqual(['downloading', 'installed', 'switching']);
    expect(readlinkSync(join(b.root, 'current'))).toBe('1.1.0');
    expect(readlinkSync(join(b.root, 'previous'))).toBe('1.0.0');
    expect(readFileSync(join(b.root, '1.1.0', 'release.json'), 'utf8')).toContain('1.1.0');
    expect(JSON.parse(readFileSync(join(b.root, '1.1.0', 'manifest.json'), 'utf8'))).toMatchObject({
      sha256: target.sha256,
    });
    expect(readFileSync(trialFile(b), 'utf8')).toMatch(/^version=1\.1\.0\nprevious=1\.0\.0\n/);
    expect(versionsIn(b.root)).toEqual(['1.0.0', '1.1.0']); // no partial folder, download removed
    expect(existsSync(join(b.dir, 'download'))).toBe(false);
    const reports = cloud.softwareReports.filter((r) => r.rolloutId === target.rolloutId);
    expect(reports.every((r) => r.running === '1.0.0' && r.version === '1.1.0')).toBe(true);
    // The same target again (the next poll) changes nothing.
    b.agent.onSoftware(target);
    expect(b.restarts).toBe(1);
  });

  it('resumes an interrupted download with HTTP Range from the bytes it has', async () => {
    const b = box();
    // Random bytes do not compress: the tarball is about as big as the padding.
    const big = publishRelease(cloud, key, '1.2.0', { padding: 0, force: false, random: 300_000 });
    const before = cloud.fileRequests.length;
    cloud.cutFile = { path: big.target.bundleUrl, after: 100_000 };
    b.agent.onSoftware(big.target);
    await reportOf(big.target.rolloutId, 'installed');
    const ranges = cloud.fileRequests
      .slice(before)
      .filter((r) => r.path === big.target.bundleUrl)
      .map((r) => r.range);
    expect(ranges, JSON.stringify(cloud.fileRequests.slice(before))).toEqual(['', 'bytes=100000-']);
    expect(readFileSync(join(b.root, '1.2.0', 'release.json'), 'utf8')).toContain('1.2.0');
    // Installed, not switched: the office is open (sessions around the clock) and the target is not forced.
    expect(readlinkSync(join(b.root, 'current'))).toBe('1.0.0');
    expect(b.agent.step).toBe('installed');
  });

  const refusals: [string, (t: SoftwareTarget) => SoftwareTarget | (() => SoftwareTarget), string, RegExp][] =
    [
      [
        'a bundle signed by another key',
        () => publishRelease(cloud, other.key, '1.1.0').target,
        'signature',
        /does not match the release key/,
      ],
      [
        'a target for another platform',
        (t) => ({ ...t, platform: 'linux-riscv64' }),
        'platform',
        /is for linux-riscv64/,
      ],
      [
        'a signed manifest for another platform',
        () => ({
          ...publishRelease(cloud, key, '1.1.0', { platform: 'linux-riscv64' }).target,
          platform: PLATFORM,
        }),
        'platform',
        /the bundle is for linux-riscv64/,
      ],
      [
        'an older version',
        () => publishRelease(cloud, key, '0.9.0').target,
        'downgrade',
        /older than the running 1\.0\.0/,
      ],
      [
        'a pre-release of the running version',
        () => publishRelease(cloud, key, '1.0.0-rc.2').target,
        'downgrade',
        /older/,
      ],
      [
        'a truncated download',
        (t) => {
          cloud.files.set(t.bundleUrl, cloud.files.get(t.bundleUrl)!.subarray(0, 200));
          return t;
        },
        'size',
        /truncated/,
      ],
      [
        'a tarball changed after signing',
        (t) => {
          const bytes = Buffer.from(cloud.files.get(t.bundleUrl)!);
          bytes.writeUInt8(bytes.readUInt8(bytes.length - 10) ^ 0xff, bytes.length - 10);
          cloud.files.set(t.bundleUrl, bytes);
          return t;
        },
        'hash',
        /SHA-256/,
      ],
      [
        'a bundle larger than a box takes',
        (t) => ({ ...t, size: 300 * 1024 * 1024 }),
        'size',
        /more than the 268435456/,
      ],
      [
        'a target whose size is not the signed manifest’s',
        (t) => ({ ...t, size: t.size + 1 }),
        'manifest',
        /is not the release announced/,
      ],
    ];
  for (const [what, make, code, reason] of refusals)
    it(`refuses ${what} (failed: ${code}) and keeps the running version, with nothing unpacked`, async () => {
      const b = box();
      const made = make(publishRelease(cloud, key, '1.1.0').target);
      const target = typeof made === 'function' ? made() : made;
      b.agent.onSoftware(target);
      const r = await reportOf(target.rolloutId, 'failed');
      expect(r).toMatchObject({ code, running: '1.0.0' });
      expect(r.reason).toMatch(reason);
      expect(readlinkSync(join(b.root, 'current'))).toBe('1.0.0');
      expect(versionsIn(b.root)).toEqual(['1.0.0']);
      expect(b.restarts).toBe(0);
      // The box keeps holding the refused rollout: the poll does not hand it the same target again and again.
      expect(b.agent.softwareHeld()).toBe(target.rolloutId);
      expect(b.agent.step).toBe('failed');
    });

  it('takes an older version when the admin allowed the downgrade', async () => {
    const b = box('1.1.0');
    const { target } = publishRelease(cloud, key, '1.0.0-rc.1', { allowDowngrade: true });
    b.agent.onSoftware(target);
    await reportOf(target.rolloutId, 'switching');
    expect(readlinkSync(join(b.root, 'current'))).toBe('1.0.0-rc.1');
  });

  it.runIf(process.getuid?.() === 0)(
    'reports a full disk during unpack (a 1 MiB tmpfs) as failed: disk, leaving no partial folder',
    async () => {
      const b = box();
      const small = join(b.root, '..', 'small');
      mkdirSync(small);
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', small]);
      try {
        // The running version lives on the small disk too; the new one unpacks to 4 MB (zeros pack to little).
        execFileSync('cp', ['-a', join(b.root, '1.0.0'), join(small, '1.0.0')]);
        execFileSync('ln', ['-s', '1.0.0', join(small, 'current')]);
        const full = new UpdateAgent({
          ...(b.agent as unknown as { o: UpdateAgentOptions }).o,
          paths: { root: small, dir: b.dir },
        });
        agents.push(full);
        full.start();
        const { target } = publishRelease(cloud, key, '1.1.0', { padding: 4_000_000 });
        full.onSoftware(target);
        const r = await reportOf(target.rolloutId, 'failed');
        expect(r.code).toBe('disk');
        expect(r.reason).toMatch(/no space left on .* to unpack 1\.1\.0.*running version is untouched/);
        expect(readdirSync(small).sort()).toEqual(['1.0.0', 'current']);
        expect(readlinkSync(join(small, 'current'))).toBe('1.0.0');
      } finally {
        await Promise.all(agents.map((a) => a.stop()));
        execFileSync('umount', [small]);
      }
    },
  );

  it('switches only outside opening hours unless forced, and never while a citizen is at a counter', async () => {
    const hours = officeConfig([], {
      office: {
        id: 'xa-thu-nghiem',
        name: 'Xã Thử Nghiệm',
        timezone: 'Asia/Ho_Chi_Minh',
        sessions: [{ open: '07:30', close: '17:00' }],
        workdays: [1, 2, 3, 4, 5],
      },
    });
    const b = box();
    b.office.config = hours;
    b.now.value = Date.parse('2026-12-07T03:00:00Z'); // Monday 10:00 in Hà Nội: open
    const called: Ticket = {
      id: 't1',
      number: 'A001',
      seq: 1,
      service: 'van-thu',
      priority: null,
      issuedAt: b.now.value,
      place: 1,
      status: 'called',
      counter: 2,
      targetCounter: null,
      calledAt: b.now.value,
      servingSince: null,
      recalls: 0,
      rated: false,
      dossiers: [],
      clerk: null,
    };
    const counter = {
      number: 2,
      status: 'open' as const,
      clerk: null,
      current: 't1',
      lastFinished: null,
      lastCallWasPriority: false,
    };
    const { target } = publishRelease(cloud, key, '1.1.0', { force: false });
    b.agent.onSoftware(target);
    await reportOf(target.rolloutId, 'installed');
    // /healthz says why it waits; once it says so, the agent has looked and decided.
    await vi.waitFor(() =>
      expect(b.agent.view().waiting).toEqual({
        code: 'hours',
        reason: 'the office is open (07:30–17:00): waiting for the update window after hours',
      }),
    );
    expect(b.restarts).toBe(0);
    // 18:30 after closing, but a citizen is still at counter 2: wait.
    b.now.value = Date.parse('2026-12-07T11:30:00Z');
    b.office.state = { ...emptyState(), counters: { 2: counter }, tickets: IMap({ t1: called }) };
    await vi.waitFor(() =>
      expect(b.agent.view().waiting).toEqual({
        code: 'serving',
        reason: 'a citizen is being served at counter 2: waiting until they are done',
      }),
    );
    expect(b.restarts).toBe(0);
    // Served and finished: the counter is free, the update goes in.
    b.office.state = { ...b.office.state, tickets: IMap({ t1: { ...called, status: 'finished' } }) };
    await vi.waitFor(() => expect(b.restarts).toBe(1));
    expect(readlinkSync(join(b.root, 'current'))).toBe('1.1.0');
    expect(b.agent.view().waiting).toBeUndefined();
  });

  it('a forced target switches during opening hours, but still waits for the citizen at the counter', async () => {
    const b = box();
    b.office.state = {
      ...emptyState(),
      counters: {
        1: {
          number: 1,
          status: 'open',
          clerk: null,
          current: 't9',
          lastFinished: null,
          lastCallWasPriority: false,
        },
      },
      tickets: IMap({ t9: { id: 't9', status: 'serving' } as Ticket }),
    };
    const { target } = publishRelease(cloud, key, '1.1.0', { force: true });
    b.agent.onSoftware(target);
    await reportOf(target.rolloutId, 'installed');
    await vi.waitFor(() => expect(b.agent.view().waiting?.code).toBe('serving'));
    expect(b.restarts).toBe(0);
    b.office.state = emptyState();
    await vi.waitFor(() => expect(b.restarts).toBe(1));
  });

  it('stops a download when the cloud withdraws the target, and holds nothing', async () => {
    const b = box();
    const { target } = publishRelease(cloud, key, '1.1.0', { random: 200_000 });
    cloud.stallFile = { path: target.bundleUrl, after: 1000 };
    try {
      b.agent.onSoftware(target);
      await reportOf(target.rolloutId, 'downloading');
      await vi.waitFor(() => expect(cloud.fileRequests.some((r) => r.path === target.bundleUrl)).toBe(true));
      b.agent.onSoftware(null);
      expect(b.agent.softwareHeld()).toBe('');
      expect(existsSync(join(b.dir, 'download'))).toBe(false);
      expect(versionsIn(b.root)).toEqual(['1.0.0']);
    } finally {
      cloud.stallFile = null;
    }
  });

  it('a target withdrawn while it waits for the window: /healthz no longer says it waits, and nothing switches', async () => {
    const b = box();
    b.office.state = {
      ...emptyState(),
      counters: {
        1: {
          number: 1,
          status: 'open',
          clerk: null,
          current: 't9',
          lastFinished: null,
          lastCallWasPriority: false,
        },
      },
      tickets: IMap({ t9: { id: 't9', status: 'serving' } as Ticket }),
    };
    const { target } = publishRelease(cloud, key, '1.1.0', { force: true });
    b.agent.onSoftware(target);
    await vi.waitFor(() => expect(b.agent.view().waiting?.code).toBe('serving'));
    b.agent.onSoftware(null);
    await vi.waitFor(() => expect(b.agent.view().waiting).toBeUndefined());
    b.office.state = emptyState(); // the counter is free now, but there is nothing to switch to
    await vi.waitFor(() => expect(b.agent.softwareHeld()).toBe(''));
    expect(b.restarts).toBe(0);
    expect(readlinkSync(join(b.root, 'current'))).toBe('1.0.0');
  });

  it('resends a report until the cloud takes it (503 twice, then 200), in order', async () => {
    cloud.failSoftwareReports = 2;
    const b = box();
    const { target } = publishRelease(cloud, key, '1.1.0');
    b.agent.onSoftware(target);
    await reportOf(target.rolloutId, 'switching');
    expect(steps(target.rolloutId)).toEqual(['downloading', 'installed', 'switching']);
    expect(b.agent.view()).toMatchObject({
      running: '1.0.0',
      step: 'switching',
      target: '1.1.0',
      rolloutId: target.rolloutId,
    });
    await vi.waitFor(() => expect(b.agent.pendingReports).toEqual([]));
    expect(readAgentState(b).reports).toEqual([]);
  });

  it('as the new version on trial: commits once it ran its trial time with /healthz ok, and reports healthy', async () => {
    let healthy = false;
    let checks = 0; // how often the agent asked /healthz
    const b = box('1.1.0', {
      start: false,
      healthy: async () => {
        checks += 1;
        return healthy;
      },
    });
    writeKeyValues(trialFile(b), {
      version: '1.1.0',
      previous: '1.0.0',
      rolloutId: 'r-trial',
      switchedAt: 0,
      trialSeconds: 1,
      graceSeconds: 5,
      maxStarts: 3,
    });
    b.agent.start();
    b.now.value += 2000;
    await vi.waitFor(() => expect(checks).toBeGreaterThanOrEqual(2)); // asked, answered no, asked again
    expect(existsSync(trialFile(b))).toBe(true); // not healthy yet: no commit
    // /healthz says the running version is on trial, and which one it would go back to.
    expect(b.agent.view()).toMatchObject({ running: '1.1.0', trial: { previous: '1.0.0' } });
    healthy = true;
    const r = await reportOf('r-trial', 'healthy');
    expect(r).toMatchObject({ version: '1.1.0', running: '1.1.0' });
    expect(existsSync(trialFile(b))).toBe(false);
    expect(b.agent.view().trial).toBeUndefined(); // committed
    expect(b.agent.view()).toMatchObject({
      running: '1.1.0',
      step: 'healthy',
      last: { version: '1.1.0', rolloutId: 'r-trial', state: 'healthy' },
    });
  });

  it('as the new version on trial, the target withdrawn by the cloud (it saw 1.1.0 running): the trial goes on and commits', async () => {
    const before = box();
    const { target } = publishRelease(cloud, key, '1.1.0');
    before.agent.onSoftware(target);
    await vi.waitFor(() => expect(before.restarts).toBe(1));
    await before.agent.stop();
    // The launcher starts 1.1.0 on trial; its agent holds the rollout from state.json.
    const b = box('1.1.0', { restartOf: before });
    expect(b.agent.softwareHeld()).toBe(target.rolloutId);
    expect(b.agent.view().trial).toMatchObject({ previous: '1.0.0' });
    // The first poll: the cloud's heartbeat shows 1.1.0 running, so it no longer names a target.
    b.agent.onSoftware(null);
    expect(b.agent.softwareHeld()).toBe(''); // the next poll waits instead of answering at once
    b.now.value += 10 * 60_000; // past the trial's time
    const r = await reportOf(target.rolloutId, 'healthy');
    expect(r).toMatchObject({ version: '1.1.0', running: '1.1.0' });
    expect(existsSync(trialFile(b))).toBe(false);
    expect(b.agent.view()).toMatchObject({ running: '1.1.0', step: 'healthy' });
    expect(b.agent.view().trial).toBeUndefined();
  });

  it('as the previous version after the launcher went back: reports rolled_back with the failed version’s last log lines', async () => {
    const b = box('1.0.0', { start: false });
    mkdirSync(join(b.dir, 'logs'), { recursive: true });
    const lines = Array.from({ length: 250 }, (_, i) => `line ${i}`);
    writeFileSync(versionLog(b, '1.1.0'), `${lines.join('\n')}\nError: boom\n`);
    writeKeyValues(rolledBackFile(b), {
      version: '1.1.0',
      previous: '1.0.0',
      reason: 'start',
      starts: 3,
      at: 1,
    });
    b.agent.start();
    const r = await reportOf('', 'rolled_back');
    expect(r).toMatchObject({ version: '1.1.0', running: '1.0.0', code: 'start' });
    expect(r.reason).toMatch(/failed to start 3 times; the box went back to 1\.0\.0 by itself/);
    expect(r.logTail).toHaveLength(200);
    expect(r.logTail?.at(-1)).toBe('Error: boom');
    expect(existsSync(rolledBackFile(b))).toBe(false);
  });
});
