// `lobby sim conform <role>`: the kit runs a box, prompts step by step, and checks what the device under
// test publishes. Here a test plays the vendor's device with an mqtt.js client.
import mqtt, { type MqttClient } from 'mqtt';
import { describe, expect, it } from 'vitest';
import { formatResult, type CheckResult, type Step } from '../../hardware-sim/conform/index.js';
import { SimKeypad, SimKiosk, SimRatingBox, SimScanner } from '../../hardware-sim/mqtt/index.js';
import { KIT_SECRET, runKitOn } from './kit-run.js';
import { expectDocumented } from './conform-names.js';

/** Runs the kit against a device the `play` function drives at each step. */
const runKit = (
  role: 'keypad' | 'kiosk' | 'rating' | 'scanner',
  id: string,
  play: (step: Step, url: string) => Promise<void>,
  stepTimeoutMs = 3000,
): Promise<CheckResult[]> => runKitOn({ role, id, play, stepTimeoutMs }); // the device's connections end with the box

const failures = (r: CheckResult[]) => r.filter((x) => x.status === 'fail').map(formatResult);

// Concurrent (vitest runs 5 at a time): each run has its own kit box on its own ports, and most of a run is
// the kit waiting out steps.
describe.concurrent('conformance kit, checking a device', () => {
  it('passes a correct keypad (the simulated one), retry and reconnect included', async () => {
    let kp: SimKeypad | null = null;
    const results = await runKit('keypad', 'keypad-7', async (step, url) => {
      if (step.action === 'connect') {
        kp = new SimKeypad({
          url,
          id: 'keypad-7',
          secret: KIT_SECRET,
          counter: 1,
          reconnectPeriod: 200,
          replyTimeoutMs: 2000,
        });
        await kp.connect();
        return;
      }
      const k = kp as unknown as SimKeypad;
      const press = {
        sign_in: () => k.signIn('cc01'),
        next: k.next,
        recall: k.recall,
        finish: () => k.finish(),
        retry: k.next,
      }[step.action as 'next'];
      void press?.().catch(() => undefined);
    });
    await (kp as SimKeypad | null)?.close();
    expect(failures(results)).toEqual([]);
    const names = results.map((r) => r.name);
    expect(names).toContain('retry: the same request is sent again with the same id and payload');
    expect(results.filter((r) => r.status === 'pass').length).toBeGreaterThanOrEqual(25);
    expectDocumented(
      results.map((r) => r.name),
      'device',
      'keypad',
    );
  });

  for (const role of ['kiosk', 'rating', 'scanner'] as const)
    it(`passes the simulated ${role}`, async () => {
      let dev: SimKiosk | SimRatingBox | SimScanner | null = null;
      const id = `${role}-9`;
      const results = await runKit(role, id, async (step, url) => {
        const opts = { url, id, secret: KIT_SECRET, reconnectPeriod: 200, replyTimeoutMs: 2000 };
        if (step.action === 'connect') {
          dev =
            role === 'kiosk'
              ? new SimKiosk(opts)
              : role === 'rating'
                ? new SimRatingBox({ ...opts, counter: 1 })
                : new SimScanner({ ...opts, counter: 1 });
          await dev.connect();
          return;
        }
        if (dev instanceof SimKiosk) void dev.requestTicket('van-thu').catch(() => undefined);
        if (dev instanceof SimRatingBox) {
          const d = dev;
          await d.waitForOpenSession(undefined, 2000);
          void d.rate(4).catch(() => undefined);
        }
        if (dev instanceof SimScanner)
          void dev.scan(`000.00.04.H12-261122-000${step.action === 'retry' ? 2 : 1}`).catch(() => undefined);
      });
      await (dev as SimKiosk | null)?.close();
      expect(failures(results), role).toEqual([]);
      expectDocumented(
        results.map((r) => r.name),
        'device',
        role,
      );
    });

  describe('fails a broken keypad and says why', () => {
    /** A vendor keypad written by hand, with one mistake. */
    const vendor = (mistake: 'topic' | 'no-id' | 'schema' | 'no-will') => {
      let c: MqttClient | null = null;
      let n = 0;
      return async (step: Step, url: string) => {
        if (step.action === 'connect') {
          c = await mqtt.connectAsync(url, {
            clientId: 'keypad-7',
            username: 'keypad-7',
            password: KIT_SECRET,
            protocolVersion: 4,
            reconnectPeriod: 0,
            will:
              mistake === 'no-will'
                ? undefined
                : {
                    topic: 'lobby/v1/presence/keypad-7',
                    payload: Buffer.from('{"online":false,"session":1}'),
                    qos: 1,
                    retain: true,
                  },
          });
          await c.subscribeAsync('lobby/v1/devices/keypad-7/#', { qos: 1 });
          await c.publishAsync('lobby/v1/presence/keypad-7', '{"online":true,"session":1}', {
            qos: 1,
            retain: true,
          });
          return;
        }
        if (!c || step.optional) return;
        const action = step.action === 'retry' ? 'next' : step.action;
        const topic =
          mistake === 'topic' ? `lobby/v1/counters/1/${action}` : `lobby/v1/counters/1/cmd/${action}`;
        const body =
          mistake === 'no-id'
            ? {}
            : mistake === 'schema'
              ? { id: `kp7-${++n}`, button: action }
              : { id: `kp7-${++n}` };
        c.publish(topic, JSON.stringify(body), { qos: 1 });
      };
    };

    it('wrong topic', async () => {
      const r = await runKit('keypad', 'keypad-7', vendor('topic'), 1500);
      expect(failures(r).join('\n')).toContain(
        'published on "lobby/v1/counters/1/next", expected "lobby/v1/counters/1/cmd/next"',
      );
    });

    it('missing id', async () => {
      const r = await runKit('keypad', 'keypad-7', vendor('no-id'), 1500);
      const text = failures(r).join('\n');
      expect(text).toMatch(/next: the payload matches the next schema +— id: Expected required property/);
      expect(text).toContain('the payload has no "id" string');
    });

    it('bad schema', async () => {
      const r = await runKit('keypad', 'keypad-7', vendor('schema'), 1500);
      expect(failures(r).join('\n')).toMatch(/button: Unexpected property/);
    });

    it('no Will', async () => {
      const r = await runKit('keypad', 'keypad-7', vendor('no-will'), 1500);
      expect(failures(r).join('\n')).toContain('no Will');
    });
  });
});
