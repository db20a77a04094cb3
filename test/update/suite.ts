// The hooks of a suite of boxes under the launcher: one stand-in cloud for the file, every box stopped
// after its test (a leftover box would keep ports and restart forever).
import { afterAll, afterEach, beforeAll } from 'vitest';
import type { SoftwareReport } from '../../protocol/fleet-updates.js';
import { FakeFleetCloud } from '../support/fake-fleet-cloud.js';
import type { SupervisedBox } from '../support/launcher-process.js';
import { reportOf } from './helpers.js';

export interface LauncherSuite {
  cloud: () => FakeFleetCloud;
  /** Boxes to stop after the test. */
  boxes: SupervisedBox[];
  report: (rolloutId: string, state: SoftwareReport['state']) => Promise<SoftwareReport>;
}

export function launcherSuite(): LauncherSuite {
  let cloud: FakeFleetCloud | null = null;
  const boxes: SupervisedBox[] = [];
  beforeAll(async () => {
    cloud = await new FakeFleetCloud().start();
  });
  afterEach(async () => {
    for (const b of boxes.splice(0)) await b.stop();
  }, 60_000);
  afterAll(() => cloud?.stop());
  const get = () => {
    if (!cloud) throw new Error('the cloud starts in beforeAll');
    return cloud;
  };
  return { cloud: get, boxes, report: (rolloutId, state) => reportOf(get(), rolloutId, state) };
}
