// Schedules against values derived here, independently: ComfyUI's formulas written again in float64 (the studio's
// code computes in float32, so they agree to float32 rounding), hand-derived indices at small N, and the exact
// rounding rules where ComfyUI rounds.
import { describe, expect, it } from 'vitest';
import { flowMatchSigmas } from '../scheduler';
import { betaQuantile, regularizedIncompleteBeta } from './beta-quantile';
import { flowSigmaTable, schedule, timeSnrShiftF32, torchLinspaceF32 } from './schedules';

/** comfy/model_sampling.py time_snr_shift in float64. */
const shifted = (shift: number, t: number): number => (shift * t) / (1 + (shift - 1) * t);
/** ModelSamplingDiscreteFlow.sigmas[i] = σ((i+1)/1000), float64. */
const tableF64 = (shift: number, i: number): number => shifted(shift, (i + 1) / 1000);

function expectClose(actual: readonly number[], expected: readonly number[], tol = 2e-7): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((a, i) => expect(Math.abs(a - expected[i]!)).toBeLessThanOrEqual(tol));
}

describe('the flow sigma table (ModelSamplingDiscreteFlow)', () => {
  it('is σ((i+1)/1000) shifted, σ_max exactly 1, all float32 values', () => {
    for (const shift of [1, 3, 6]) {
      const t = flowSigmaTable(shift);
      expect(t.length).toBe(1000);
      expect(t[999]).toBe(1);
      for (let i = 0; i < 1000; i += 37) expect(Math.abs(t[i]! - tableF64(shift, i))).toBeLessThan(1e-7);
    }
    expect(flowSigmaTable(3)[0]).toBeCloseTo(0.003 / 1.002, 7);
    // shift 1 returns t unchanged (time_snr_shift's early return)
    expect(timeSnrShiftF32(1, Math.fround(0.3))).toBe(Math.fround(0.3));
  });
});

describe('normal = diffusers, unchanged', () => {
  it('is flowMatchSigmas itself, and equals ComfyUI normal_scheduler up to float32 rounding', () => {
    for (const n of [1, 4, 28, 40]) {
      const s = schedule('normal', n, 3);
      expect(s).toEqual(flowMatchSigmas(n, 3));
      // ComfyUI normal_scheduler in float64: t = linspace(1000·σ_max, 1000·σ_min, n), σ = shift(t/1000), then 0.
      const start = 1000;
      const end = 1000 * tableF64(3, 0);
      const comfy = Array.from({ length: n }, (_, i) => shifted(3, (n === 1 ? start : start + ((end - start) * i) / (n - 1)) / 1000));
      expectClose(s.sigmas, [...comfy, 0], 1e-6);
    }
  });
});

describe('simple (comfy/samplers.py simple_scheduler)', () => {
  it('takes every (1000/N)-th table entry from the top, then 0 — hand-derived indices', () => {
    expect(schedule('simple', 1, 3).sigmas).toEqual([1, 0]);
    const table = flowSigmaTable(3);
    // N = 3: ss = 333.33…; x·ss = 0, 333.3, 666.6 → int 0, 333, 666 → indices 999, 666, 333
    expect(schedule('simple', 3, 3).sigmas).toEqual([table[999], table[666], table[333], 0]);
    // N = 4: ss = 250 → indices 999, 749, 499, 249
    const s4 = schedule('simple', 4, 3).sigmas;
    expectClose(s4, [1, tableF64(3, 749), tableF64(3, 499), tableF64(3, 249), 0]);
  });
});

describe('sgm_uniform (normal_scheduler with sgm=True)', () => {
  it('linspace(t_max, t_min, N+1) without its last value, shifted, then 0', () => {
    expect(schedule('sgm_uniform', 1, 3).sigmas).toEqual([1, 0]);
    for (const n of [2, 5, 28, 40]) {
      const start = 1000;
      const end = 1000 * tableF64(3, 0);
      const expected = Array.from({ length: n }, (_, i) => shifted(3, (start + ((end - start) * i) / n) / 1000));
      expectClose(schedule('sgm_uniform', n, 3).sigmas, [...expected, 0], 1e-6);
    }
  });
  it('torch.linspace float32: the scalar rule (start side below n/2, end side from n/2) and exact endpoints', () => {
    const scalar = torchLinspaceF32(1000, 2.994, 7, 1);
    expect(scalar[0]).toBe(1000);
    expect(scalar[6]).toBe(Math.fround(2.994));
    const f = Math.fround;
    const step = f(f(f(2.994) - 1000) / 6);
    expect(scalar[2]).toBe(f(1000 + f(step * 2)));
    expect(scalar[4]).toBe(f(f(2.994) - f(step * 2)));
    // AVX2 layout: a block of 8 starts from its first index and adds j·step
    const v = torchLinspaceF32(1000, 2.994, 29, 8);
    const step29 = f(f(f(2.994) - 1000) / 28);
    const base8 = f(1000 + f(step29 * 8));
    expect(v[13]).toBe(f(base8 + f(5 * step29)));
    expect(v[20]).toBe(f(f(2.994) - f(step29 * 8)));
  });
});

describe('beta (comfy/samplers.py beta_scheduler, α = β = 0.6)', () => {
  /**
   * I_x(a, b) by Simpson's rule after the substitution t = u^(1/a), which turns ∫₀^y t^(a−1)(1−t)^(b−1) dt into
   * ∫₀^(y^a) (1/a)(1 − u^(1/a))^(b−1) du, smooth at 0; the part above 1/2 is the same integral from the other end.
   */
  function incompleteBetaByQuadrature(x: number, a: number, b: number): number {
    const lower = (y: number, p: number, q: number): number => {
      const hi = y ** p;
      const n = 20_000;
      const h = hi / n;
      const f = (u: number) => (1 / p) * (1 - u ** (1 / p)) ** (q - 1);
      let s = f(0) + f(hi);
      for (let i = 1; i < n; i++) s += (i % 2 ? 4 : 2) * f(i * h);
      return (s * h) / 3;
    };
    const whole = lower(0.5, a, b) + lower(0.5, b, a);
    const part = x <= 0.5 ? lower(x, a, b) : whole - lower(1 - x, b, a);
    return part / whole;
  }

  it('the incomplete beta function and its quantile agree with a quadrature written here', () => {
    for (const x of [0.001, 0.05, 0.3, 0.5, 0.77, 0.999]) {
      expect(regularizedIncompleteBeta(x, 0.6, 0.6)).toBeCloseTo(incompleteBetaByQuadrature(x, 0.6, 0.6), 8);
    }
    for (const p of [0.01, 0.25, 0.6, 0.9, 0.999]) expect(incompleteBetaByQuadrature(betaQuantile(p, 0.6, 0.6), 0.6, 0.6)).toBeCloseTo(p, 8);
    expect(betaQuantile(0.5, 0.6, 0.6)).toBe(0.5);
    expect(betaQuantile(1, 0.6, 0.6)).toBe(1);
  });

  it('an even step count lands on the quantile 0.5 exactly: 499.5 rounds half to even, to index 500', () => {
    const table = flowSigmaTable(3);
    // N = 2: p = 1, 0.5 → ppf 1, 0.5 → 999, rint(499.5) = 500
    expect(schedule('beta', 2, 3).sigmas).toEqual([table[999], table[500], 0]);
    expect(schedule('beta', 2, 3).sigmas[1]).toBeCloseTo(shifted(3, 0.501), 6);
    for (const n of [4, 10, 28, 40]) expect(schedule('beta', n, 3).sigmas[n / 2]).toBe(table[500]);
  });

  it('no other quantile of N ≤ 150 steps lies within 1e-9 of a rounding boundary (so a few ulps cannot flip an index)', () => {
    for (let n = 1; n <= 150; n++) {
      for (let k = 0; k < n; k++) {
        const p = 1 - k * (1 / n);
        if (p === 0.5 || p === 1) continue;
        const v = betaQuantile(p, 0.6, 0.6) * 999;
        expect(Math.abs(v - Math.floor(v) - 0.5)).toBeGreaterThan(1e-9);
      }
    }
  });

  it('merges steps whose indices coincide (ComfyUI skips a repeated index), so a long schedule can be shorter', () => {
    const s = schedule('beta', 150, 3).sigmas;
    expect(s.at(-1)).toBe(0);
    for (let i = 1; i < s.length - 1; i++) expect(s[i]!).toBeLessThan(s[i - 1]!);
    // hand check at N = 4: p = 1, .75, .5, .25 → indices 999, rint(999·ppf(.75)), 500, rint(999·ppf(.25))
    const q = betaQuantile(0.75, 0.6, 0.6);
    expect(q).toBeGreaterThan(0.75); // U-shaped density: the quantile moves outwards
    const table = flowSigmaTable(3);
    expect(schedule('beta', 4, 3).sigmas).toEqual([table[999], table[Math.round(999 * q)], table[500], table[998 - Math.round(999 * q) + 1], 0]);
  });
});

describe('bad input', () => {
  it('names the valid schedules and refuses bad steps and shifts', () => {
    expect(() => schedule('karras' as never, 4, 3)).toThrow(/normal, simple, sgm_uniform, beta/);
    expect(() => schedule('simple', 0, 3)).toThrow(/Steps/);
    expect(() => schedule('beta', 4, 0)).toThrow(/shift/);
  });
  it('timesteps are float32(σ·1000) of the N steps', () => {
    const s = schedule('sgm_uniform', 5, 3);
    expect(s.timesteps).toEqual(s.sigmas.slice(0, -1).map((v) => Math.fround(v * 1000)));
  });
});
