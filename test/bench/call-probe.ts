// A call as the lobby sees it, shared by the call benchmarks: a keypad presses "next" over MQTT, and a
// lobby display waits until it has both the `ticket.called` event and the counter's retained state for it.
import type { MqttClient } from 'mqtt';
import { DEVICES, type DeviceSpec, type TestBox } from '../support/office.js';
import { now } from './stats.js';

/** van-thu, ho-tich, dat-dai: one counter per pre-issued service (see `OPEN_SERVICES`). */
export const CALL_COUNTERS = [1, 3, 4] as const;

/** The test office's devices plus a keypad at each calling counter. */
export const CALL_DEVICES: DeviceSpec[] = [
  ...DEVICES,
  { id: 'keypad-3', role: 'keypad', counter: 3 },
  { id: 'keypad-4', role: 'keypad', counter: 4 },
];

export interface DisplayedCall {
  counter: number;
  /** `now()` just before the keypad's publish. */
  t0: number;
  /** Keypad publish → the display has both the event and the counter's state (ms). */
  ms: number;
  ticketId: string;
  /** The called number (`A012`), from the event. */
  number: string;
}

export interface CallProbe {
  /** Call `i` goes to `CALL_COUNTERS[i % 3]`; resolves once the display has seen it (5 s at most). */
  call(i: number): Promise<DisplayedCall>;
  /** Error replies to the keypads, by code. */
  readonly keypadErrors: Record<string, number>;
  /** Calls whose event and retained state named different tickets. */
  readonly mismatches: number;
}

interface Waiter {
  counter: number;
  previous: string | undefined;
  event?: string;
  number?: string;
  state?: string;
  done: (ticketId: string, number: string) => void;
}

/** Connects a keypad per calling counter and the lobby TV (`display-tv`) to a box with `CALL_DEVICES`. */
export async function startCallProbe(tb: TestBox): Promise<CallProbe> {
  const keypads = new Map<number, MqttClient>();
  const keypadErrors: Record<string, number> = {};
  for (const c of CALL_COUNTERS) {
    const k = await tb.connect(`keypad-${c}`);
    await k.subscribeAsync(`lobby/v1/devices/keypad-${c}/reply`, { qos: 1 });
    k.on('message', (_t, payload: Buffer) => {
      const r = JSON.parse(payload.toString()) as { status: string; error?: { code: string } };
      if (r.status !== 'ok')
        keypadErrors[r.error?.code ?? '?'] = (keypadErrors[r.error?.code ?? '?'] ?? 0) + 1;
    });
    keypads.set(c, k);
  }

  const display = await tb.connect('display-tv');
  const calledTopic = 'lobby/v1/events/ticket/called';
  const lastCalled = new Map<number, string>();
  let waiter: Waiter | null = null;
  let mismatches = 0;
  display.on('message', (topic, payload: Buffer) => {
    const w = waiter;
    if (!w) return;
    const body = JSON.parse(payload.toString()) as {
      data?: { counter?: number; ticketId?: string; number?: string };
      counter?: number;
      current?: { ticketId: string; state: string } | null;
    };
    if (topic === calledTopic && body.data?.counter === w.counter) {
      w.event = body.data.ticketId;
      w.number = body.data.number;
    } else if (
      topic === `lobby/v1/state/counters/${w.counter}` &&
      body.current?.state === 'called' &&
      body.current.ticketId !== w.previous
    )
      w.state = body.current.ticketId;
    if (w.event !== undefined && w.state !== undefined) {
      if (w.event !== w.state) mismatches += 1;
      lastCalled.set(w.counter, w.state);
      waiter = null;
      w.done(w.state, w.number ?? '');
    }
  });
  await display.subscribeAsync([calledTopic, ...CALL_COUNTERS.map((c) => `lobby/v1/state/counters/${c}`)], {
    qos: 1,
  });
  await new Promise((r) => setTimeout(r, 200)); // let the retained states arrive before the first call

  return {
    call(i) {
      const counter = CALL_COUNTERS[i % CALL_COUNTERS.length] as number;
      const keypad = keypads.get(counter) as MqttClient;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiter = null;
          reject(new Error(`call ${i} at counter ${counter}: display did not see both messages in 5 s`));
        }, 5000);
        const t0 = now();
        waiter = {
          counter,
          previous: lastCalled.get(counter),
          done: (ticketId, number) => {
            const elapsed = now() - t0;
            clearTimeout(timer);
            resolve({ counter, t0, ms: elapsed, ticketId, number });
          },
        };
        keypad.publish(`lobby/v1/counters/${counter}/cmd/next`, JSON.stringify({ id: `n${i}` }), { qos: 1 });
      });
    },
    keypadErrors,
    get mismatches() {
      return mismatches;
    },
  };
}
