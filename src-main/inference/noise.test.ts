import { describe, expect, it } from 'vitest';
import { Mt19937, randn } from './noise';
import { comfyNoiseSampler } from './sampling/noise-sampler';

function expectClose(actual: ArrayLike<number>, expected: readonly number[], tol = 1e-6): void {
  expect(actual.length).toBeGreaterThanOrEqual(expected.length);
  expected.forEach((v, i) => {
    expect(Math.abs(actual[i]! - v), `index ${i}: ${actual[i]} vs ${v}`).toBeLessThanOrEqual(tol);
  });
}

describe('Mt19937', () => {
  it('gives the std::mt19937 sequence for seed 5489 (10000th output 4123659995)', () => {
    const mt = new Mt19937(5489);
    expect(mt.nextUint32()).toBe(3499211612);
    let v = 0;
    for (let i = 1; i < 10000; i++) v = mt.nextUint32();
    expect(v).toBe(4123659995);
  });

  it('matches numpy RandomState(seed) raw 32-bit draws, across the 624-word refill', () => {
    const expected: Record<number, number[]> = {
      0: [2357136044, 2546248239, 3071714933, 3626093760, 2588848963],
      42: [1608637542, 3421126067, 4083286876, 787846414, 3143890026],
      4294967295: [419326371, 479346978, 3918654476, 2416749639, 3388880820],
    };
    for (const [seed, values] of Object.entries(expected)) {
      const mt = new Mt19937(Number(seed));
      expect(values.map(() => mt.nextUint32())).toEqual(values);
    }
    const mt = new Mt19937(0);
    const draws = Array.from({ length: 1300 }, () => mt.nextUint32());
    expect([draws[623], draws[624], draws[1299]]).toEqual([3791854820, 341544762, 387547707]);
  });

  it('fills float uniforms from the low 24 bits of each draw, continuing the same stream', () => {
    const a = new Mt19937(7);
    const b = new Mt19937(7);
    const out = new Float32Array(1000);
    a.fillFloatUniforms(out, 0, 700);
    a.fillFloatUniforms(out, 700, 1000);
    for (let i = 0; i < 1000; i++) {
      expect(out[i]).toBe((b.nextUint32() & 0xffffff) / 2 ** 24);
    }
  });
});

describe('randn (torch.randn on the CPU)', () => {
  it('reproduces torch for seed 0, shape [1,16,8,8]', () => {
    const x = randn(0, [1, 16, 8, 8]);
    expect(x.length).toBe(1024);
    expectClose(x.subarray(0, 4), [-1.1258398, -1.1523602, -0.2505786, -0.4338788]);
    expectClose(x.subarray(8, 16), [0.3222749, -1.2633348, 0.3499832, 0.3081339, 0.1198415, 1.2376579, 1.1167772, -0.2472782]);
    expectClose([x[1023]!], [-1.7104684]);
  });

  it('reproduces torch for seed 42', () => {
    expectClose(randn(42, [1, 16, 8, 8]).subarray(0, 4), [1.9269153, 1.4872841, 0.9007172, -2.105521]);
  });

  it('uses only the low 32 bits of the seed (2^32 + 5 equals 5, also as bigint and at 2^53 − 1)', () => {
    const five = randn(5, [1, 16, 4, 4]);
    expect(randn(2 ** 32 + 5, [1, 16, 4, 4])).toEqual(five);
    expect(randn(2n ** 32n + 5n, [1, 16, 4, 4])).toEqual(five);
    expect(randn(2 ** 53 - 1, [16])).toEqual(randn(0xffffffff, [16]));
    expect(randn(6, [1, 16, 4, 4])).not.toEqual(five);
  });

  it('takes the whole seed as the studio stores it (decimal text up to 2^64 − 1) and reduces it itself, once', () => {
    // 18446744073709551615 = 2^64 − 1: its low 32 bits are 0xffffffff (computed here by hand, not by the code).
    expect(randn('18446744073709551615', [16])).toEqual(randn(0xffffffff, [16]));
    expect(randn('4294967301', [1, 16, 4, 4])).toEqual(randn(5, [1, 16, 4, 4])); // 2^32 + 5
    // The ancestral noise sampler seeds seed + 1 as a Python int: 2^32 − 1 + 1 = 2^32 → low 32 bits 0.
    expect(comfyNoiseSampler('4294967295', [16])()).toEqual(randn(0, [16]));
  });

  it('takes the double (scalar) path below 16 elements, as torch does (seed 0: 1.5410, -0.2934, -2.1788, 0.5684)', () => {
    expectClose(randn(0, [4]), [1.5409961, -0.2934289, -2.1787894, 0.5684313], 1e-4);
    // [2,3] continues the same stream: the cached r·sin θ is used for odd positions.
    expectClose(randn(0, [2, 3]), [1.5409961, -0.2934289, -2.1787894, 0.5684313, -1.0845224, -1.3985955], 1e-4);
    expect(randn(0, [1])[0]).toBe(randn(0, [2])[0]);
  });

  it('treats a size that is not a multiple of 16 as torch does: whole blocks, then the last 16 redrawn', () => {
    const size = 40; // blocks at 0 and 16 from draws 0..39, then 16 fresh draws (40..55) for elements 24..39
    const x = randn(3, [size]);
    const full = randn(3, [48]); // first 48 draws: blocks 0, 16, 32
    expect(Array.from(x.subarray(0, 24))).toEqual(Array.from(full.subarray(0, 24)));
    // Recompute the tail by hand from the raw stream.
    const mt = new Mt19937(3);
    const u = new Float32Array(56);
    mt.fillFloatUniforms(u, 0, 56);
    const tail = u.slice(40, 56);
    for (let j = 0; j < 8; j++) {
      const r = Math.sqrt(-2 * Math.log(1 - tail[j]!));
      const t = 2 * Math.PI * tail[j + 8]!;
      expect(x[24 + j]).toBeCloseTo(r * Math.cos(t), 5);
      expect(x[32 + j]).toBeCloseTo(r * Math.sin(t), 5);
    }
    expect(randn(3, [17]).length).toBe(17);
  });

  it('agrees with a plain Math.log/Math.cos/Math.sin Box–Muller over a whole tensor (all quadrants)', () => {
    const shape = [1, 16, 64, 64];
    const x = randn(99, shape);
    const u = new Float32Array(x.length);
    new Mt19937(99).fillFloatUniforms(u, 0, u.length);
    let worst = 0;
    for (let base = 0; base < u.length; base += 16) {
      for (let j = 0; j < 8; j++) {
        const r = Math.sqrt(-2 * Math.log(1 - u[base + j]!));
        const t = Math.fround(Math.fround(2 * Math.PI) * u[base + j + 8]!);
        worst = Math.max(worst, Math.abs(x[base + j]! - r * Math.cos(t)), Math.abs(x[base + j + 8]! - r * Math.sin(t)));
      }
    }
    expect(worst).toBeLessThan(1e-6);
  });

  it('has mean ≈ 0 and std ≈ 1 and normal tails over 1×16×128×128', () => {
    const x = randn(1234, [1, 16, 128, 128]);
    let sum = 0;
    let sq = 0;
    let beyond2 = 0;
    for (const v of x) {
      sum += v;
      sq += v * v;
      if (Math.abs(v) > 2) beyond2++;
    }
    const n = x.length;
    const mean = sum / n;
    const std = Math.sqrt(sq / n - mean * mean);
    expect(Math.abs(mean)).toBeLessThan(0.01); // standard error 0.002
    expect(Math.abs(std - 1)).toBeLessThan(0.01);
    expect(beyond2 / n).toBeGreaterThan(0.0435); // P(|z| > 2) = 0.0455
    expect(beyond2 / n).toBeLessThan(0.0475);
    expect(x.every((v) => Number.isFinite(v))).toBe(true);
  });

  it('returns an empty tensor for a zero dimension and refuses bad shapes and seeds', () => {
    expect(randn(0, [1, 16, 0, 8]).length).toBe(0);
    expect(() => randn(0, [1, -16])).toThrow(/shape/);
    expect(() => randn(0, [1.5])).toThrow(/shape/);
    expect(() => randn(1.5, [16])).toThrow(/Seed/);
  });
});
