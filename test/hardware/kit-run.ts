// What the conformance kit's tests share: one run of the kit against a device a test plays, on its own kit box
// and free ports (so runs can go concurrently), with the box closed after it.
import { startKitBox } from '../../cli/sim-box.js';
import {
  checkDevice,
  formatResult,
  type CheckResult,
  type DeviceRole,
  type Operator,
  type Step,
} from '../../hardware-sim/conform/index.js';

/** The secret of the device under test on every kit box the tests start. */
export const KIT_SECRET = 'vendor-secret-123';

/**
 * Runs the kit against `play`, which acts the device at each step (given the address the device connects
 * to); `cleanup` closes what the device opened, before the kit box stops. KIT_DEBUG=1 prints each result.
 */
export async function runKitOn(o: {
  role: DeviceRole;
  id: string;
  play: (step: Step, url: string, context: Parameters<Operator>[1]) => Promise<void>;
  stepTimeoutMs: number;
  /** The device's counter (default 1); the kit box gets as many counters. */
  counter?: number;
  skip?: Step['action'][];
  onListening?: (port: number) => void;
  cleanup?: () => Promise<void>;
}): Promise<CheckResult[]> {
  const counter = o.counter ?? 1;
  const { kit, close } = await startKitBox({ role: o.role, id: o.id, secret: KIT_SECRET, counter });
  let url = '';
  try {
    return await checkDevice({
      role: o.role,
      id: o.id,
      counter,
      box: kit,
      operator: (step, context) => o.play(step, url, context),
      listenPort: 0,
      listenHost: '127.0.0.1',
      onListening: (port) => {
        url = `mqtt://127.0.0.1:${port}`;
        o.onListening?.(port);
      },
      skip: o.skip,
      stepTimeoutMs: o.stepTimeoutMs,
      onResult: process.env.KIT_DEBUG ? (r) => console.log(formatResult(r)) : undefined,
    });
  } finally {
    await o.cleanup?.();
    await close();
  }
}
