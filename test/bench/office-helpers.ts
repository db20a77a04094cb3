// What the box benchmarks share: a clock pinned inside office hours, and a kiosk that keeps several
// ticket requests in flight (the test helper `request` re-subscribes per call, too slow to measure with).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import type { Reply } from '../../protocol/index.js';
import { now } from './stats.js';

/** A fresh directory under the system temp dir (the caller removes it). */
export const tempDir = (prefix: string): string => mkdtempSync(join(tmpdir(), prefix));

const HOUR = 3_600_000;
const VN_OFFSET = 7 * HOUR; // Asia/Ho_Chi_Minh, no daylight saving

/**
 * Real elapsed time, but starting at noon (office time) today: a run near midnight neither rolls the day
 * (which empties the queue) nor finds the office closed.
 */
export function noonClock(): () => number {
  const localMidnight = Math.floor((Date.now() + VN_OFFSET) / (24 * HOUR)) * (24 * HOUR) - VN_OFFSET;
  const base = localMidnight + 12 * HOUR;
  const t0 = now();
  return () => base + Math.round(now() - t0);
}

/** Services of the demo office that have no daily quota (each is capped at 999 numbers a day). */
export const OPEN_SERVICES = ['van-thu', 'ho-tich', 'dat-dai'] as const;

export interface IssueRun {
  ok: number;
  errors: Record<string, number>;
  ms: number;
  /** Per request: publish until reply (ms). */
  latencies: number[];
}

/**
 * Issues `services.length` tickets through a kiosk client, `inFlight` requests at a time, each matched to
 * its reply by id.
 */
export async function issueThroughKiosk(
  kiosk: MqttClient,
  services: readonly string[],
  inFlight: number,
  idPrefix: string,
): Promise<IssueRun> {
  const deviceId = (kiosk.options.clientId ?? '').split('.')[0] as string;
  const replyTopic = `lobby/v1/devices/${deviceId}/reply`;
  await kiosk.subscribeAsync(replyTopic, { qos: 1 });
  const run: IssueRun = { ok: 0, errors: {}, ms: 0, latencies: [] };
  const sentAt = new Map<string, number>();
  let next = 0;
  let done = 0;
  const t0 = now();
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      const oldest = Math.min(...sentAt.values());
      if (now() - oldest > 10_000) {
        cleanup();
        reject(new Error(`kiosk: no reply within 10 s (${done}/${services.length} answered)`));
      }
    }, 1000);
    const cleanup = () => {
      clearInterval(timer);
      kiosk.off('message', onMessage);
    };
    const send = () => {
      const service = services[next] as string;
      const id = `${idPrefix}${next}`;
      next += 1;
      sentAt.set(id, now());
      kiosk.publish('lobby/v1/tickets/request', JSON.stringify({ id, service }), { qos: 1 });
    };
    const onMessage = (topic: string, payload: Buffer) => {
      if (topic !== replyTopic) return;
      const reply = JSON.parse(payload.toString()) as Reply;
      const at = reply.id === null ? undefined : sentAt.get(reply.id);
      if (at === undefined || reply.id === null) return;
      sentAt.delete(reply.id);
      run.latencies.push(now() - at);
      if (reply.status === 'ok') run.ok += 1;
      else {
        const code = reply.error?.code ?? 'unknown';
        run.errors[code] = (run.errors[code] ?? 0) + 1;
      }
      done += 1;
      if (next < services.length) send();
      else if (done === services.length) {
        cleanup();
        resolve();
      }
    };
    kiosk.on('message', onMessage);
    if (services.length === 0) {
      cleanup();
      resolve();
      return;
    }
    for (let i = 0; i < Math.min(inFlight, services.length); i++) send();
  });
  run.ms = now() - t0;
  return run;
}

/** `count` services, spread round-robin over the demo office's unlimited services. */
export function spreadServices(count: number): string[] {
  return Array.from({ length: count }, (_, i) => OPEN_SERVICES[i % OPEN_SERVICES.length] as string);
}

/** Issues the day's tickets before a run, through kiosk-1 with 8 in flight; every one must be issued. */
export async function issueUpFront(
  box: { connect(id: string): Promise<MqttClient> },
  services: readonly string[],
): Promise<{ kiosk: MqttClient; issued: IssueRun }> {
  const kiosk = await box.connect('kiosk-1');
  const issued = await issueThroughKiosk(kiosk, services, 8, 'pre');
  if (issued.ok !== services.length)
    throw new Error(`pre-issue: ${issued.ok}/${services.length} ok, errors ${JSON.stringify(issued.errors)}`);
  return { kiosk, issued };
}
