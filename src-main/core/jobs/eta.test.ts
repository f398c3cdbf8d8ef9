import { describe, expect, it } from 'vitest';
import { etaMs, msPerStep } from './eta';

describe('ETA', () => {
  it('is unknown before anything was measured, then the measured step time counts', () => {
    expect(etaMs({ storedMsPerStep: undefined, step: 0, total: 10, elapsedMs: 0, queuedSteps: 0 })).toBeNull();
    expect(etaMs({ storedMsPerStep: undefined, step: 2, total: 10, elapsedMs: 400, queuedSteps: 0 })).toBe(1600);
  });

  it('starts from this machine’s stored step time for the model and size and is refined as steps arrive', () => {
    expect(etaMs({ storedMsPerStep: 100, step: 0, total: 10, elapsedMs: 0, queuedSteps: 0 })).toBe(1000);
    // One slow step (300 ms) moves the estimate, but the stored figure still weighs in: (2·100 + 300) / 3.
    expect(msPerStep({ storedMsPerStep: 100, step: 1, elapsedMs: 300 })).toBeCloseTo(166.67, 1);
    // Many steps: the measurement dominates.
    expect(msPerStep({ storedMsPerStep: 100, step: 40, elapsedMs: 12_000 })!).toBeGreaterThan(290);
  });

  it('counts the job’s queued generations and ends at 0', () => {
    expect(etaMs({ storedMsPerStep: 50, step: 0, total: 4, elapsedMs: 0, queuedSteps: 8 })).toBe(600);
    expect(etaMs({ storedMsPerStep: 50, step: 4, total: 4, elapsedMs: 200, queuedSteps: 0 })).toBe(0);
  });
  it('covers the whole job: 4 images × 4 steps at 50 ms, the first at step 1 → 15 steps left = 750 ms', () => {
    expect(etaMs({ storedMsPerStep: 50, step: 1, total: 4, elapsedMs: 50, queuedSteps: 3 * 4 })).toBe(750);
  });
});
