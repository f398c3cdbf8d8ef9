import { describe, expect, it } from 'vitest';
import { isStudioError } from './errors';
import {
  GENERATION_LIMITS,
  MAX_AREA_TEXT,
  MAX_SEED_TEXT,
  PARAM_TEXT,
  paramErrors,
  requestParamsSchema,
  requireParams,
  seedMessage,
  addToSeed,
  defaultsFor,
  generationParamsSchema,
  jobParamsSchema,
  parseSeed,
  randomSeed,
  requireSeed,
  seedLow32,
  seedSchema,
  sizePresets,
  sizePresetsFor,
  sweepSchema,
} from './generation';

const PARAMS = { prompt: 'a cat', negativePrompt: '', model: 'sd3.5-medium', seed: '1', steps: 4, guidance: 4.5, width: 64, height: 64, t5: true };

describe('the seed', () => {
  it('is a decimal string from 0 to 2^64−1, exact (a 64-bit ComfyUI seed round-trips)', () => {
    expect(MAX_SEED_TEXT).toBe('18446744073709551615');
    for (const ok of ['0', '42', '4294967296', '9007199254740993', '6952411511246973023', MAX_SEED_TEXT]) {
      expect(seedSchema.parse(ok)).toBe(ok);
      expect(JSON.parse(JSON.stringify({ seed: seedSchema.parse(ok) })).seed).toBe(ok);
    }
    for (const bad of ['18446744073709551616', '-1', '01', '1.5', '', ' 1', '0x10', '1e3', 42]) {
      expect(seedSchema.safeParse(bad).success, String(bad)).toBe(false);
    }
  });

  it('parses what people type: trims, drops a plus and leading zeros; numbers only when safe', () => {
    expect(parseSeed(' +007 ')).toBe('7');
    expect(parseSeed(42)).toBe('42');
    expect(parseSeed(2n ** 64n - 1n)).toBe(MAX_SEED_TEXT);
    expect(parseSeed(2 ** 53)).toBeNull();
    expect(parseSeed(-1)).toBeNull();
    expect(parseSeed('abc')).toBeNull();
    expect(requireSeed('6952411511246973023')).toBe('6952411511246973023');
    let caught: unknown;
    try {
      requireSeed('18446744073709551616', '--seed');
    } catch (err) {
      caught = err;
    }
    expect(isStudioError(caught, 'invalid_input')).toBe(true);
    expect(String((caught as Error).message)).toContain('--seed');
  });

  it('adds without losing digits and stops at 2^64−1; the RNG takes the low 32 bits', () => {
    expect(addToSeed('6952411511246973023', 3)).toBe('6952411511246973026');
    expect(addToSeed(MAX_SEED_TEXT, 1)).toBeNull();
    expect(seedLow32('4294967297')).toBe(1);
    expect(seedLow32('6952411511246973023')).toBe(Number(6952411511246973023n & 0xffffffffn));
  });

  it('random seeds are in [0, 2^32) and vary', () => {
    const seeds = Array.from({ length: 64 }, () => randomSeed());
    for (const s of seeds) {
      expect(seedSchema.safeParse(s).success).toBe(true);
      expect(Number(s)).toBeLessThan(2 ** 32);
    }
    expect(new Set(seeds).size).toBeGreaterThan(60);
  });
});

describe('generation parameters', () => {
  it('accepts valid parameters and refuses out-of-range ones', () => {
    expect(generationParamsSchema.safeParse(PARAMS).success).toBe(true);
    for (const bad of [{ width: 65 }, { steps: 0 }, { steps: 151 }, { guidance: 31 }, { width: 4096, height: 4096 }, { width: 2048, height: 2064 }, { seed: 1 }, { extra: 1 }, { prompt: 'x'.repeat(10_001) }]) {
      expect(generationParamsSchema.safeParse({ ...PARAMS, ...bad }).success, JSON.stringify(bad).slice(0, 60)).toBe(false);
    }
    const { seed: _seed, ...job } = PARAMS;
    expect(jobParamsSchema.safeParse(job).success).toBe(true);
    expect(jobParamsSchema.safeParse(PARAMS).success).toBe(false);
  });

  it('per-variant defaults: Large Turbo is 4 steps without guidance; unknown models get Medium’s', () => {
    expect(defaultsFor('sd3.5-large-turbo')).toMatchObject({ steps: 4, guidance: 0 });
    expect(defaultsFor('folder:tiny')).toEqual(defaultsFor('sd3.5-medium'));
  });

  it('size presets: every aspect and its portrait twin, multiples of 16, near the native megapixels', () => {
    const presets = sizePresetsFor('sd3.5-medium');
    expect(presets.map((p) => p.aspect)).toEqual(['1:1', '4:3', '3:4', '3:2', '2:3', '16:9', '9:16', '21:9', '9:21']);
    for (const p of presets) {
      expect(p.width % 16).toBe(0);
      expect(p.height % 16).toBe(0);
      expect(Math.abs(p.width * p.height - 1024 * 1024) / (1024 * 1024)).toBeLessThan(0.06);
      const [a, b] = p.aspect.split(':').map(Number) as [number, number];
      expect(Math.abs(p.width / p.height - a / b) / (a / b)).toBeLessThan(0.04);
    }
    expect(presets[0]).toEqual({ aspect: '1:1', width: 1024, height: 1024 });
    const landscape = presets.find((p) => p.aspect === '16:9')!;
    const portrait = presets.find((p) => p.aspect === '9:16')!;
    expect([portrait.width, portrait.height]).toEqual([landscape.height, landscape.width]);
    for (const p of sizePresets(64 * 64)) expect(p.width).toBeGreaterThanOrEqual(GENERATION_LIMITS.minSide);
  });
});

describe('sweeps', () => {
  it('accept the three seed modes and an axis, up to 64 generations', () => {
    expect(sweepSchema.safeParse({ seeds: { mode: 'consecutive', first: '1000', count: 4 } }).success).toBe(true);
    expect(sweepSchema.safeParse({ seeds: { mode: 'random', count: 64 } }).success).toBe(true);
    expect(sweepSchema.safeParse({ seeds: { mode: 'list', seeds: ['1', '6952411511246973023'] }, axis: { kind: 'guidance', values: [1, 4.5] } }).success).toBe(true);
    expect(sweepSchema.safeParse({ seeds: { mode: 'consecutive', first: '1', count: 8 }, axis: { kind: 'steps', values: [1, 2, 3, 4, 5, 6, 7, 8] } }).success).toBe(true);
  });

  it('refuse more than 64, seeds past 2^64−1 and bad axis values', () => {
    expect(sweepSchema.safeParse({ seeds: { mode: 'random', count: 65 } }).success).toBe(false);
    expect(sweepSchema.safeParse({ seeds: { mode: 'consecutive', first: '1', count: 9 }, axis: { kind: 'steps', values: [1, 2, 3, 4, 5, 6, 7, 8] } }).success).toBe(false);
    expect(sweepSchema.safeParse({ seeds: { mode: 'consecutive', first: MAX_SEED_TEXT, count: 2 } }).success).toBe(false);
    expect(sweepSchema.safeParse({ seeds: { mode: 'list', seeds: [] } }).success).toBe(false);
    expect(sweepSchema.safeParse({ seeds: { mode: 'list', seeds: ['1'] }, axis: { kind: 'guidance', values: [31] } }).success).toBe(false);
    expect(sweepSchema.safeParse({ seeds: { mode: 'list', seeds: ['1'] }, axis: { kind: 'sampler', values: ['karras'] } }).success).toBe(false);
  });
});

describe('the words of the rules (one owner: the schema carries them)', () => {
  const L = GENERATION_LIMITS;
  const errorsOf = (patch: Record<string, unknown>) => {
    const r = generationParamsSchema.safeParse({ ...PARAMS, ...patch });
    expect(r.success, JSON.stringify(patch).slice(0, 60)).toBe(false);
    return r.success ? {} : paramErrors(r.error);
  };

  it('a seed of 2^64 or more names the range (not "a whole number (0 or more)")', () => {
    const big = (2n ** 64n).toString();
    expect(errorsOf({ seed: big }).seed).toBe(`The seed must be a whole number from 0 to 18446744073709551615 (got "${big}").`);
    expect(seedMessage(big)).toBe(errorsOf({ seed: big }).seed);
  });

  it('a 200 KB prompt says how long it is and the limit, in words (not zod\'s "Too big: expected string …")', () => {
    const text = 'x'.repeat(200 * 1024);
    expect(errorsOf({ prompt: text }).prompt).toBe('The prompt has 204,800 characters; at most 10,000 are accepted.');
    expect(errorsOf({ negativePrompt: text }).negativePrompt).toBe('The negative prompt has 204,800 characters; at most 10,000 are accepted.');
  });

  it('a blank prompt is refused by THE schema (so the CLI refuses it as the form does); the negative prompt may be empty', () => {
    for (const prompt of ['', '   ', '\n\t']) expect(errorsOf({ prompt }).prompt).toBe(PARAM_TEXT.promptBlank);
    expect(generationParamsSchema.safeParse({ ...PARAMS, negativePrompt: '' }).success).toBe(true);
    const { seed: _s, ...job } = PARAMS;
    expect(jobParamsSchema.safeParse({ ...job, prompt: ' ' }).success).toBe(false);
  });

  it('each message is built from the limits it states', () => {
    expect(errorsOf({ steps: 0 }).steps).toBe(`Steps must be a whole number from ${L.minSteps} to ${L.maxSteps} (got 0).`);
    expect(errorsOf({ steps: 2.5 }).steps).toBe(PARAM_TEXT.steps(2.5));
    expect(errorsOf({ guidance: L.maxGuidance + 1 }).guidance).toBe(`Guidance must be a number from ${L.minGuidance} to ${L.maxGuidance} (got ${L.maxGuidance + 1}).`);
    expect(errorsOf({ width: 65 }).width).toBe(`The width must be a multiple of ${L.sizeMultiple} from ${L.minSide} to ${L.maxSide} pixels (got 65).`);
    expect(errorsOf({ height: L.maxSide + L.sizeMultiple }).height).toBe(PARAM_TEXT.side('height', L.maxSide + L.sizeMultiple));
    expect(errorsOf({ model: '' }).model).toBe('Choose a model.');
    expect(errorsOf({ sampler: 'dpmpp_3m' }).sampler).toMatch(/^Unknown sampler "dpmpp_3m"; use one of: euler, /);
    expect(errorsOf({ shift: 0 }).shift).toBe('The shift must be a number from 0.01 to 100 (got 0).');
    // The largest area in words comes from maxPixels (it was typed as "(2048 × 2048)" in three places).
    expect(MAX_AREA_TEXT).toBe(`${Math.sqrt(L.maxPixels)} × ${Math.sqrt(L.maxPixels)}`);
    expect(PARAM_TEXT.area({ width: 3000, height: 2000 })).toBe(`3000 × 2000 is 6 megapixels; at most ${Number((L.maxPixels / 1e6).toFixed(2))} megapixels (${MAX_AREA_TEXT}) are accepted.`);
  });

  it('requireParams: the first issue, its field, and a surface\'s name for it first', () => {
    const { model: _m, ...request } = PARAMS;
    expect(requestParamsSchema.parse(request)).toEqual(request);
    let caught: unknown;
    try {
      requireParams(requestParamsSchema, { ...request, steps: 0 }, (f) => `--${f}`);
    } catch (err) {
      caught = err;
    }
    expect(isStudioError(caught, 'invalid_input')).toBe(true);
    expect((caught as Error).message).toBe(`--steps: ${PARAM_TEXT.steps(0)}`);
    expect((caught as { details?: { field?: string } }).details?.field).toBe('steps');
  });
});
