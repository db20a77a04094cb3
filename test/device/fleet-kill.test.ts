// The box killed in the middle of applying its cloud's config (a real `lobby device` child, SIGKILL at the
// worst moments: test/support/kill-mid-apply.ts): it restarts on one consistent config — the old one or the
// new one, never a mix — and reports the one it runs. Needs `npm run build` (dist/).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { desiredPart, type DesiredConfig } from '../../protocol/fleet.js';
import type { OfficeStateMsg } from '../../protocol/index.js';
import { FakeFleetCloud } from '../support/fake-fleet-cloud.js';
import {
  killAllBoxes,
  killed,
  KILL_MID_APPLY,
  startDevice,
  type BoxProcess,
} from '../support/box-process.js';
import {
  connectDevice,
  DEVICES,
  nextMessage,
  officeConfig,
  peripheralsFor,
  secretOf,
} from '../support/office.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});
afterAll(() => killAllBoxes());

const named = (base: DesiredConfig, name: string): DesiredConfig => ({
  ...base,
  office: { ...base.office, name },
});

async function reported(cloud: FakeFleetCloud, version: number) {
  return vi.waitFor(
    () => {
      const r = cloud.reportOf(version);
      if (!r) throw new Error(`no report of version ${version} yet`);
      return r;
    },
    { timeout: 15_000, interval: 20 },
  );
}

/** The office name a kiosk sees right after connecting (retained). */
async function officeName(box: BoxProcess): Promise<string> {
  const kiosk = await connectDevice(`mqtt://127.0.0.1:${box.port}`, 'kiosk-1', secretOf('kiosk-1'));
  try {
    return ((await nextMessage(kiosk, 'lobby/v1/state/office')).body as OfficeStateMsg).name;
  } finally {
    await kiosk.endAsync(true);
  }
}

describe('a box killed mid-apply', () => {
  for (const when of ['before-rename', 'after-rename'] as const) {
    it(`restarts on one consistent config and reports it (killed ${when} of managed-config.json)`, async () => {
      const cloud = await new FakeFleetCloud().start();
      cleanups.push(() => cloud.stop());
      const dataDir = mkdtempSync(join(tmpdir(), 'lobby-fleet-kill-'));
      cloud.enroll(dataDir);
      const config = officeConfig(await peripheralsFor(DEVICES), {
        cloud: { url: cloud.url, retryBaseMs: 10, retryCapSeconds: 1 },
      });
      const configFile = join(dataDir, 'office.json');
      writeFileSync(configFile, JSON.stringify(config));
      const base = desiredPart(config);

      const first = await startDevice(configFile, dataDir);
      cleanups.push(() => killed(first.child));
      const v1 = cloud.save(named(base, 'Phiên bản 1'));
      expect(await reported(cloud, 1)).toMatchObject({ state: 'applied', hash: v1.hash });
      await killed(first.child);

      const dying = await startDevice(configFile, dataDir, {
        preload: [KILL_MID_APPLY],
        env: { LOBBY_KILL_MID_APPLY: when },
      });
      cleanups.push(() => killed(dying.child));
      const v2 = cloud.save(named(base, 'Phiên bản 2'));
      expect(await dying.exited).toMatchObject({ signal: 'SIGKILL' });
      expect(dying.output()).toContain('killed mid-apply');
      expect(cloud.reportOf(2)).toBeUndefined();

      // Started again (no kill): it runs the old config (the new one never replaced it) or the new one
      // (it did, and the box was killed before switching to it live or recording its report).
      const startedOn: number[] = [];
      const again = await startDevice(configFile, dataDir, {
        onLog: (l) => {
          if (l.msg === 'fleet: running the config the cloud sent') startedOn.push(l.version as number);
        },
      });
      cleanups.push(() => killed(again.child));
      expect(startedOn).toEqual([when === 'before-rename' ? 1 : 2]);
      // Either way it ends on version 2, applied and reported once it runs it, and a kiosk sees it.
      expect(await reported(cloud, 2)).toMatchObject({ state: 'applied', hash: v2.hash });
      expect(await officeName(again)).toBe('Phiên bản 2');
      const stored = JSON.parse(readFileSync(join(dataDir, 'managed-config.json'), 'utf8')) as {
        version: number;
      };
      expect(stored.version).toBe(2);
    });
  }
});
