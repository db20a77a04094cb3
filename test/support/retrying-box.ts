// A box's uplink reduced to its contract, for the cloud's fault tests and soak: send the events after the
// cloud's ackedSeq in batches, and on any failure (503, 500, a dropped connection) send the same events again
// until they are acknowledged. The cloud must apply each exactly once however often they are resent.
import type { EventEnvelope, UplinkAck } from '../../protocol/index.js';

export interface RetryingBoxStats {
  batches: number;
  failures: number;
  /** Failures by answer: HTTP status or the network error's code. */
  byAnswer: Record<string, number>;
}

export async function drainWithRetries(
  cloudUrl: string,
  token: string,
  events: EventEnvelope[],
  opts: { batch?: number; stop?: () => boolean; retryDelayMs?: number } = {},
): Promise<RetryingBoxStats> {
  const stats: RetryingBoxStats = { batches: 0, failures: 0, byAnswer: {} };
  const size = opts.batch ?? 20;
  // Events are consecutive from their first seq; the cloud has acknowledged everything before it.
  const first = events[0]?.seq ?? 1;
  const last = first + events.length - 1;
  let acked = first - 1;
  while (acked < last) {
    if (opts.stop?.()) break;
    const batch = events.slice(acked - first + 1, acked - first + 1 + size);
    stats.batches++;
    let answer: string;
    try {
      const res = await fetch(`${cloudUrl}/api/v1/uplink/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ events: batch }),
      });
      if (res.ok) {
        acked = ((await res.json()) as UplinkAck).ackedSeq;
        continue;
      }
      answer = String(res.status);
      await res.arrayBuffer();
    } catch (err) {
      answer = (err as { cause?: { code?: string } }).cause?.code ?? 'network';
    }
    stats.failures++;
    stats.byAnswer[answer] = (stats.byAnswer[answer] ?? 0) + 1;
    await new Promise((r) => setTimeout(r, opts.retryDelayMs ?? 20));
  }
  return stats;
}
