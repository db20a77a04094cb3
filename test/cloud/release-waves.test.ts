// A rollout's plan and decisions, without a database: wave sizes as an admin writes them, the same canaries
// for the same version, steps that only move forward, the threshold counted per wave.
import { describe, expect, it } from 'vitest';
import {
  assignWaves,
  emptyCounts,
  nextDecision,
  stepMoves,
  waveSizes,
  type StateCounts,
} from '../../cloud/releases/waves.js';

const counts = (c: Partial<StateCounts>): StateCounts => ({ ...emptyCounts(), ...c });

describe('rollout waves', () => {
  it('1 office, then 5 %, then everyone: 1, 199, 3,800 of 4,000 boxes; a plan that leaves boxes out is refused', () => {
    expect(waveSizes([{ count: 1 }, { percent: 5 }, { percent: 100 }], 4000)).toEqual([1, 199, 3800]);
    expect(waveSizes([{ count: 1 }, { percent: 5 }, { percent: 100 }], 10)).toEqual([1, 0, 9]);
    expect(waveSizes([{ count: 20 }, { percent: 100 }], 5)).toEqual([5, 0]);
    expect(() => waveSizes([{ count: 1 }, { percent: 50 }], 10)).toThrow(/reach 5 of the 10 boxes/);
  });

  it('picks the same boxes for the same version, other ones for another, spread over the list', () => {
    const ids = Array.from({ length: 100 }, (_, i) => `b-${i}`);
    const a = assignWaves('1.2.0', ids, [{ count: 3 }, { percent: 100 }]);
    const again = assignWaves('1.2.0', [...ids].reverse(), [{ count: 3 }, { percent: 100 }]);
    const canaries = (m: Map<string, number>) =>
      [...m]
        .filter(([, w]) => w === 1)
        .map(([id]) => id)
        .sort();
    expect(canaries(a)).toEqual(canaries(again));
    expect(canaries(a)).toHaveLength(3);
    expect(canaries(assignWaves('1.3.0', ids, [{ count: 3 }, { percent: 100 }]))).not.toEqual(canaries(a));
    expect(a.size).toBe(100);
  });

  it('steps move forward only; a final step is final', () => {
    expect(stepMoves('pending', 'downloading')).toBe('moves');
    expect(stepMoves('pending', 'failed')).toBe('moves');
    expect(stepMoves('installed', 'downloading')).toBe('ignored');
    expect(stepMoves('downloading', 'downloading')).toBe('same');
    expect(stepMoves('healthy', 'healthy')).toBe('ignored');
    expect(stepMoves('failed', 'downloading')).toBe('ignored');
    expect(stepMoves('rolled_back', 'healthy')).toBe('ignored');
  });

  it('aborts past the threshold of one wave, starts the next when all are healthy, completes when all are final', () => {
    const r = (wavesStarted: number, waves: { size: number; counts: StateCounts }[], state = 'running') => ({
      state,
      wavesStarted,
      waves,
      abortThreshold: 1,
    });
    expect(
      nextDecision(
        r(1, [
          { size: 3, counts: counts({ failed: 1, rolled_back: 1, pending: 1 }) },
          { size: 5, counts: counts({ pending: 5 }) },
        ]),
      ),
    ).toMatchObject({
      kind: 'abort',
      reason: expect.stringMatching(/2 box\(es\) of wave 1/),
    });
    expect(
      nextDecision(
        r(1, [
          { size: 3, counts: counts({ failed: 1, healthy: 2 }) },
          { size: 5, counts: counts({ pending: 5 }) },
        ]),
      ),
    ).toBeNull();
    expect(
      nextDecision(
        r(1, [
          { size: 3, counts: counts({ healthy: 3 }) },
          { size: 5, counts: counts({ pending: 5 }) },
        ]),
      ),
    ).toEqual({ kind: 'start', wave: 2 });
    expect(
      nextDecision(
        r(
          1,
          [
            { size: 3, counts: counts({ healthy: 3 }) },
            { size: 5, counts: counts({ pending: 5 }) },
          ],
          'paused',
        ),
      ),
    ).toBeNull();
    expect(
      nextDecision(
        r(2, [
          { size: 3, counts: counts({ failed: 1, healthy: 2 }) },
          { size: 5, counts: counts({ healthy: 4, rolled_back: 1 }) },
        ]),
      ),
    ).toEqual({ kind: 'complete' });
    expect(
      nextDecision(
        r(2, [
          { size: 3, counts: counts({ healthy: 3 }) },
          { size: 5, counts: counts({ healthy: 4, installed: 1 }) },
        ]),
      ),
    ).toBeNull();
  });
});
