// A box under its launcher for the update tests: versions in a root folder, an enrolled data directory for
// the stand-in cloud, and the switch the agent makes, written as the agent writes it.
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SoftwareReport, SoftwareTarget } from '../../protocol/fleet-updates.js';
import {
  pointLink,
  trialFile,
  writeAgentState,
  writeKeyValues,
  type UpdatePaths,
} from '../../device/update/files.js';
import type { FakeFleetCloud } from '../support/fake-fleet-cloud.js';
import { SupervisedBox } from '../support/launcher-process.js';
import { connectDevice, officeConfig, peripheralsFor, request, secretOf } from '../support/office.js';
import { stageVersion, testReleaseKey, type VersionKind } from '../support/releases.js';

export const release = testReleaseKey();

export interface UpdateBox {
  root: string;
  dataDir: string;
  paths: UpdatePaths;
  box: SupervisedBox;
}

/** Versions unpacked in a root (`current` at the first), an enrolled office, and its supervisor (not started). */
export async function updateBox(
  cloud: FakeFleetCloud,
  versions: [string, VersionKind][],
  env: NodeJS.ProcessEnv = {},
): Promise<UpdateBox> {
  const base = mkdtempSync(join(tmpdir(), 'lobby-launch-'));
  const root = join(base, 'opt');
  const dataDir = join(base, 'data');
  mkdirSync(root);
  mkdirSync(dataDir, { mode: 0o700 });
  for (const [v, kind] of versions) stageVersion(join(root, v), v, kind);
  symlinkSync(versions[0]![0], join(root, 'current'));
  cloud.enroll(dataDir);
  const configFile = join(dataDir, 'office.json');
  writeFileSync(
    configFile,
    JSON.stringify(
      officeConfig(await peripheralsFor([{ id: 'kiosk-1', role: 'kiosk' }]), {
        cloud: { url: cloud.url, retryBaseMs: 10, retryCapSeconds: 1 },
      }),
    ),
  );
  const box = new SupervisedBox({ root, dataDir, configFile, keyFile: release.publicKeyFile, env });
  return { root, dataDir, paths: { root, dir: join(dataDir, 'update') }, box };
}

/** What the agent leaves when it switched from `from` to `to` and restarted (switchTo in agent.ts). */
export function switched(
  b: UpdateBox,
  from: string,
  to: string,
  opts: { rolloutId?: string; trialSeconds?: number; graceSeconds?: number; maxStarts?: number } = {},
): void {
  const rolloutId = opts.rolloutId ?? 'rollout-launch';
  const target: SoftwareTarget = {
    rolloutId,
    version: to,
    platform: 'linux-x64',
    manifestUrl: '/rel/m',
    signatureUrl: '/rel/s',
    bundleUrl: '/rel/b',
    size: 1,
    sha256: '0'.repeat(64),
    notes: '',
    force: true,
    allowDowngrade: false,
  };
  writeAgentState(b.paths, { target, step: 'switching', reports: [] });
  writeKeyValues(trialFile(b.paths), {
    version: to,
    previous: from,
    rolloutId,
    switchedAt: Math.floor(Date.now() / 1000),
    trialSeconds: opts.trialSeconds ?? 2,
    graceSeconds: opts.graceSeconds ?? 60,
    maxStarts: opts.maxStarts ?? 3,
  });
  pointLink(b.paths, 'previous', from);
  pointLink(b.paths, 'current', to);
}

/** A kiosk asks the box for a ticket (screen delivery): the ticket's number. */
export async function ticketFrom(b: UpdateBox): Promise<string> {
  const kiosk = await connectDevice(`mqtt://127.0.0.1:${b.box.mqttPort}`, 'kiosk-1', secretOf('kiosk-1'));
  try {
    const reply = await request(kiosk, 'lobby/v1/tickets/request', {
      service: 'van-thu',
      delivery: 'screen',
    });
    if (reply.status !== 'ok') throw new Error(`no ticket: ${JSON.stringify(reply)}`);
    return (reply.data?.ticket as { number: string }).number;
  } finally {
    await kiosk.endAsync(true);
  }
}

/** Waits for the cloud to hold a report of `state` for the rollout; fails naming the states it got. */
export async function reportOf(
  cloud: FakeFleetCloud,
  rolloutId: string,
  state: SoftwareReport['state'],
  timeoutMs = 60_000,
): Promise<SoftwareReport> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const r = cloud.softwareReports.find((x) => x.rolloutId === rolloutId && x.state === state);
    if (r) return r;
    if (Date.now() > until)
      throw new Error(
        `no ${state} report for ${rolloutId} in ${timeoutMs} ms: ` +
          cloud.softwareReports
            .filter((x) => x.rolloutId === rolloutId)
            .map((x) => x.state)
            .join(', '),
      );
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
