// `node dist/test/bench/update.js` (after `npm run build`): over-the-air update timings on this machine, each
// beside its floor measured in the same run — a plain start of the same box under the launcher (no trial).
//   - switch to healthy: the launcher starts the new version on trial until it commits (minus the trial time
//     it must wait by design, UPDATE_TRIAL_SECONDS; 2 s here);
//   - failed start to rolled back: a new version that exits 1 before any JavaScript, three starts, the
//     launcher goes back, the previous version serves /healthz again and has reported rolled_back.
// Real processes (test/support/launcher-process.ts), the supervisor restarting after 100 ms (systemd's
// RestartSec is 2 s in the unit: add 2 s per restart on a box). Results also go to ./bench-update.json.
import { writeFileSync } from 'node:fs';
import { FakeFleetCloud } from '../support/fake-fleet-cloud.js';
import type { SoftwareReport } from '../../protocol/fleet-updates.js';
import { reportOf, switched, updateBox } from '../update/helpers.js';

const RUNS = Number(process.env.BENCH_UPDATE_RUNS ?? 3);
const TRIAL_SECONDS = 2;

async function timed(fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

const reported = (cloud: FakeFleetCloud, rolloutId: string, state: SoftwareReport['state']) =>
  reportOf(cloud, rolloutId, state).then(() => undefined);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

async function main(): Promise<void> {
  const cloud = await new FakeFleetCloud().start();
  const plain: number[] = [];
  const toHealthy: number[] = [];
  const toRolledBack: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const p = await updateBox(cloud, [['1.0.0', 'good']]);
    plain.push(await timed(async () => void (await p.box.start().healthy())));
    await p.box.stop();

    const c = await updateBox(cloud, [
      ['1.0.0', 'good'],
      ['1.1.0', 'good'],
    ]);
    switched(c, '1.0.0', '1.1.0', { rolloutId: `bench-commit-${i}`, trialSeconds: TRIAL_SECONDS });
    toHealthy.push(await timed(() => (c.box.start(), reported(cloud, `bench-commit-${i}`, 'healthy'))));
    await c.box.stop();

    const f = await updateBox(cloud, [
      ['1.0.0', 'good'],
      ['1.1.0', 'crash'],
    ]);
    switched(f, '1.0.0', '1.1.0', { rolloutId: `bench-crash-${i}` });
    toRolledBack.push(
      await timed(async () => {
        await f.box.start().healthy('1.0.0');
        await reported(cloud, `bench-crash-${i}`, 'rolled_back');
      }),
    );
    await f.box.stop();
  }
  await cloud.stop();
  const s = (x: number) => `${(x / 1000).toFixed(2)} s`;
  const result = {
    runs: RUNS,
    plainStartMs: plain.map(Math.round),
    switchToHealthyMs: toHealthy.map(Math.round),
    failedStartToRolledBackMs: toRolledBack.map(Math.round),
    trialSeconds: TRIAL_SECONDS,
  };
  console.log(`update bench, ${RUNS} runs each (median):`);
  console.log(`  plain start under the launcher (floor)       ${s(median(plain))}`);
  console.log(
    `  switch to healthy (trial ${TRIAL_SECONDS} s)             ${s(median(toHealthy))}` +
      `  = floor + trial + ${s(median(toHealthy) - median(plain) - TRIAL_SECONDS * 1000)}`,
  );
  console.log(
    `  failed start to rolled back and serving       ${s(median(toRolledBack))}` +
      `  = floor + ${s(median(toRolledBack) - median(plain))} (3 failed starts, rollback, report)`,
  );
  writeFileSync('bench-update.json', `${JSON.stringify(result, null, 2)}\n`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
