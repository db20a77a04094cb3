// A rollout's plan and its decisions, as pure functions of its state (no clock, no I/O): how many boxes each
// wave holds, which boxes those are, which step a box may move to, and what the rollout does next when a box
// reports (abort on the threshold, start the next wave when this one is all healthy, complete).
import { createHash } from 'node:crypto';
import { UPDATE_STATES, type UpdateState } from '../../protocol/fleet-updates.js';

/** `{count: n}`: n more boxes. `{percent: p}`: until p % of the rollout's boxes are in (cumulative). */
export type WaveSpec = { count: number } | { percent: number };

export const FINAL_STATES: readonly UpdateState[] = ['healthy', 'rolled_back', 'failed'];
export const isFinal = (s: string): boolean => (FINAL_STATES as readonly string[]).includes(s);

/**
 * Each wave's size for `total` boxes. The waves must reach every box (end with `{percent: 100}`): a plan that
 * leaves boxes out is refused rather than silently finishing early. A wave may be empty (5 % of 10 boxes
 * after a first wave of 1).
 */
export function waveSizes(specs: WaveSpec[], total: number): number[] {
  let reached = 0;
  const sizes: number[] = [];
  for (const spec of specs) {
    const next =
      'count' in spec
        ? Math.min(total, reached + spec.count)
        : Math.max(reached, Math.min(total, Math.ceil((spec.percent * total) / 100)));
    sizes.push(next - reached);
    reached = next;
  }
  if (reached < total)
    throw new Error(
      `the waves reach ${reached} of the ${total} boxes: end with {"percent": 100} so every box gets the release`,
    );
  return sizes;
}

/**
 * Which wave each box is in: boxes ordered by SHA-256 of version and box id (spread across offices and units,
 * and the same order every time the same version is rolled out, so a restarted rollout starts with the same
 * canaries), then cut by the wave sizes. Returns wave numbers from 1, in the boxes' given order.
 */
export function assignWaves(version: string, boxIds: string[], specs: WaveSpec[]): Map<string, number> {
  const sizes = waveSizes(specs, boxIds.length);
  const ordered = boxIds
    .map((id) => ({ id, rank: createHash('sha256').update(`${version}\n${id}`).digest('hex') }))
    .sort((a, b) => (a.rank < b.rank ? -1 : a.rank > b.rank ? 1 : 0));
  const out = new Map<string, number>();
  let i = 0;
  sizes.forEach((size, w) => {
    for (let k = 0; k < size; k++) out.set((ordered[i++] as { id: string }).id, w + 1);
  });
  return out;
}

const rank = (s: string): number => (isFinal(s) ? 4 : UPDATE_STATES.indexOf(s as UpdateState));

/**
 * Whether a box's report moves its step: only forward (a late `downloading` after `installed` changes nothing),
 * and a final step (healthy, rolled back, failed) is final for the rollout, so the counts the threshold reads
 * never go back. The same step again is accepted (the box resends until 200; progress may move).
 */
export function stepMoves(from: string, to: string): 'moves' | 'same' | 'ignored' {
  if (from === to) return isFinal(from) ? 'ignored' : 'same';
  if (isFinal(from)) return 'ignored';
  return rank(to) > rank(from) ? 'moves' : 'ignored';
}

export type StateCounts = Record<UpdateState, number>;

export const emptyCounts = (): StateCounts =>
  Object.fromEntries(UPDATE_STATES.map((s) => [s, 0])) as StateCounts;

export interface RolloutFacts {
  state: string;
  wavesStarted: number;
  /** Per wave, 1-based in order: its size and its boxes' counts per step. */
  waves: { size: number; counts: StateCounts }[];
  abortThreshold: number;
}

export type RolloutDecision =
  { kind: 'abort'; reason: string } | { kind: 'start'; wave: number } | { kind: 'complete' } | null;

/** What a running rollout does now; apply it and ask again (an empty wave starts the next at once). */
export function nextDecision(r: RolloutFacts): RolloutDecision {
  if (r.state !== 'running') return null;
  for (let w = 1; w <= r.wavesStarted; w++) {
    const c = (r.waves[w - 1] as { counts: StateCounts }).counts;
    const bad = c.failed + c.rolled_back;
    if (bad > r.abortThreshold)
      return {
        kind: 'abort',
        reason: `threshold: ${bad} box(es) of wave ${w} failed or rolled back (${c.failed} failed, ${c.rolled_back} rolled back; the threshold is ${r.abortThreshold})`,
      };
  }
  const current = r.waves[r.wavesStarted - 1];
  const allHealthy = !current || current.counts.healthy === current.size;
  if (r.wavesStarted < r.waves.length) return allHealthy ? { kind: 'start', wave: r.wavesStarted + 1 } : null;
  const settled = r.waves.every((w) => FINAL_STATES.reduce((n, s) => n + w.counts[s], 0) === w.size);
  return settled ? { kind: 'complete' } : null;
}
