import { describe, expect, it } from 'vitest';
import { isStudioError } from '../../../src-shared/errors';
import type { JobParams } from '../../../src-shared/generation';
import { expandSweep, sweepSeeds } from './sweep';

const PARAMS: JobParams = { prompt: 'a cat', negativePrompt: 'blurry', model: 'sd3.5-medium', steps: 4, guidance: 4.5, width: 64, height: 64, t5: true };

describe('expandSweep', () => {
  it('consecutive seeds: first + k, each generation with its own full parameters', () => {
    const g = expandSweep(PARAMS, { seeds: { mode: 'consecutive', first: '6952411511246973023', count: 3 } });
    expect(g.map((x) => x.seed)).toEqual(['6952411511246973023', '6952411511246973024', '6952411511246973025']);
    expect(g.map((x) => x.idx)).toEqual([0, 1, 2]);
    expect(g[2]!.params).toEqual({ ...PARAMS, seed: '6952411511246973025' });
    expect(g.every((x) => x.axisValue === undefined)).toBe(true);
  });

  it('seed × axis, seed-major: the axis value lands in the generation’s own parameter', () => {
    const g = expandSweep(PARAMS, { seeds: { mode: 'list', seeds: ['7', '9'] }, axis: { kind: 'guidance', values: [1, 3, 7] } });
    expect(g.map((x) => [x.seed, x.axisValue, x.params.guidance])).toEqual([
      ['7', 1, 1],
      ['7', 3, 3],
      ['7', 7, 7],
      ['9', 1, 1],
      ['9', 3, 3],
      ['9', 7, 7],
    ]);
    const steps = expandSweep(PARAMS, { seeds: { mode: 'list', seeds: ['1'] }, axis: { kind: 'steps', values: [2, 8] } });
    expect(steps.map((x) => x.params.steps)).toEqual([2, 8]);
    const models = expandSweep(PARAMS, { seeds: { mode: 'list', seeds: ['1'] }, axis: { kind: 'model', values: ['sd3.5-large', 'folder:tiny'] } });
    expect(models.map((x) => x.params.model)).toEqual(['sd3.5-large', 'folder:tiny']);
  });

  it('random seeds: count distinct draws in [0, 2^32)', () => {
    const seeds = sweepSeeds({ seeds: { mode: 'random', count: 16 } });
    expect(new Set(seeds).size).toBe(16);
    for (const s of seeds) expect(Number(s)).toBeLessThan(2 ** 32);
    let n = 0;
    const fixed = sweepSeeds({ seeds: { mode: 'random', count: 3 } }, () => String(n++ % 2));
    expect(fixed.length).toBeLessThanOrEqual(3);
  });

  it('refuses more than 64 generations and seeds past 2^64−1', () => {
    const cap = (() => {
      try {
        expandSweep(PARAMS, { seeds: { mode: 'random', count: 33 }, axis: { kind: 'steps', values: [1, 2] } });
      } catch (err) {
        return err;
      }
    })();
    expect(isStudioError(cap, 'invalid_input')).toBe(true);
    expect(String((cap as Error).message)).toMatch(/66 images; at most 64/);
    expect(expandSweep(PARAMS, { seeds: { mode: 'random', count: 32 }, axis: { kind: 'steps', values: [1, 2] } })).toHaveLength(64);
    expect(() => expandSweep(PARAMS, { seeds: { mode: 'consecutive', first: '18446744073709551614', count: 3 } })).toThrow(/largest seed/);
  });
});
