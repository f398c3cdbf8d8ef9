// Each sampler against a plain reference loop written here in float64 from k-diffusion's formulas
// (comfy/k_diffusion/sampling.py), over an analytic flow model v(x, σ) = a·x + b·σ·x₀ (x₀ a fixed vector), so the
// two implementations share nothing but the formulas' text. The studio's samplers compute in float32: they agree
// to float32 rounding.
import { describe, expect, it } from 'vitest';
import { randn, TorchCpuGenerator } from '../noise';
import { comfyNoiseSampler } from './noise-sampler';
import { SAMPLER_FUNCTIONS, modelCallsPerStep, type VelocityModel } from './samplers';
import { schedule } from './schedules';

const A = -0.7;
const B = 0.9;
const N_VALUES = 64;
const x0 = Float64Array.from({ length: N_VALUES }, (_, i) => Math.sin(i * 0.37) * 1.3);
const vRef = (x: Float64Array, sigma: number): Float64Array => x.map((xi, i) => A * xi + B * sigma * x0[i]!);
const den = (x: Float64Array, sigma: number): Float64Array => {
  const v = vRef(x, sigma);
  return x.map((xi, i) => xi - sigma * v[i]!);
};

function model(calls: { sigma: number; step: number }[]): VelocityModel {
  return async (x, sigma, step) => {
    calls.push({ sigma, step });
    const v = vRef(Float64Array.from(x), sigma);
    return Float32Array.from(v);
  };
}

const start = (): Float32Array => randn(7, [1, 4, 4, 4]);

function refEuler(x: Float64Array, sigmas: readonly number[]): Float64Array {
  for (let i = 0; i < sigmas.length - 1; i++) {
    const v = vRef(x, sigmas[i]!);
    x = x.map((xi, k) => xi + (sigmas[i + 1]! - sigmas[i]!) * v[k]!);
  }
  return x;
}

function refHeun(x: Float64Array, sigmas: readonly number[]): Float64Array {
  for (let i = 0; i < sigmas.length - 1; i++) {
    const s = sigmas[i]!;
    const sn = sigmas[i + 1]!;
    const dn = den(x, s);
    const d = x.map((xi, k) => (xi - dn[k]!) / s);
    const dt = sn - s;
    if (sn === 0) x = x.map((xi, k) => xi + d[k]! * dt);
    else {
      const x2 = x.map((xi, k) => xi + d[k]! * dt);
      const dn2 = den(x2, sn);
      const d2 = x2.map((xi, k) => (xi - dn2[k]!) / sn);
      x = x.map((xi, k) => xi + ((d[k]! + d2[k]!) / 2) * dt);
    }
  }
  return x;
}

function refDpmpp2m(x: Float64Array, sigmas: readonly number[]): Float64Array {
  let old: Float64Array | undefined;
  const t = (s: number) => -Math.log(s);
  for (let i = 0; i < sigmas.length - 1; i++) {
    const s = sigmas[i]!;
    const sn = sigmas[i + 1]!;
    const dn = den(x, s);
    if (sn === 0) x = dn;
    else {
      const h = t(sn) - t(s);
      let target = dn;
      if (old) {
        const r = (t(s) - t(sigmas[i - 1]!)) / h;
        const o = old;
        target = dn.map((d, k) => (1 + 1 / (2 * r)) * d - (1 / (2 * r)) * o[k]!);
      }
      x = x.map((xi, k) => (sn / s) * xi - Math.expm1(-h) * target[k]!);
    }
    old = dn;
  }
  return x;
}

function refEulerAncestralRF(x: Float64Array, sigmas: readonly number[], noise: () => Float32Array): Float64Array {
  for (let i = 0; i < sigmas.length - 1; i++) {
    const s = sigmas[i]!;
    const sn = sigmas[i + 1]!;
    const dn = den(x, s);
    if (sn === 0) {
      x = dn;
      continue;
    }
    const sd = sn * (1 + (sn / s - 1));
    const an = 1 - sn;
    const ad = 1 - sd;
    const renoise = Math.sqrt(sn ** 2 - (sd ** 2 * an ** 2) / ad ** 2);
    const r = sd / s;
    const n = noise();
    x = x.map((xi, k) => (an / ad) * (r * xi + (1 - r) * dn[k]!) + n[k]! * renoise);
  }
  return x;
}

function expectNear(actual: Float32Array, expected: Float64Array, tol: number): void {
  let worst = 0;
  for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
  expect(worst).toBeLessThan(tol);
}

const SCHEDULES = ['normal', 'simple', 'sgm_uniform', 'beta'] as const;

describe('samplers against reference loops (analytic model)', () => {
  for (const scheduler of SCHEDULES) {
    const { sigmas } = schedule(scheduler, 12, 3);
    it(`euler on ${scheduler}`, async () => {
      const calls: { sigma: number; step: number }[] = [];
      const out = await SAMPLER_FUNCTIONS.euler(model(calls), start(), sigmas);
      expectNear(out, refEuler(Float64Array.from(start()), sigmas), 2e-5);
      expect(calls.map((c) => c.sigma)).toEqual(sigmas.slice(0, -1));
    });
    it(`heun on ${scheduler}: two model calls a step, one on the last`, async () => {
      const calls: { sigma: number; step: number }[] = [];
      const out = await SAMPLER_FUNCTIONS.heun(model(calls), start(), sigmas);
      expectNear(out, refHeun(Float64Array.from(start()), sigmas), 2e-5);
      const steps = sigmas.length - 1;
      expect(calls.length).toBe(2 * steps - 1);
      expect(calls.at(-1)).toEqual({ sigma: sigmas[steps - 1], step: steps - 1 });
      expect(calls[1]).toEqual({ sigma: sigmas[1], step: 0 }); // the second call is at σ_next within step 0
    });
    it(`dpmpp_2m on ${scheduler}`, async () => {
      const out = await SAMPLER_FUNCTIONS.dpmpp_2m(model([]), start(), sigmas);
      expectNear(out, refDpmpp2m(Float64Array.from(start()), sigmas), 2e-5);
    });
    it(`euler_ancestral (RF) on ${scheduler}, with ComfyUI's CPU noise sampler`, async () => {
      const shape = [1, 4, 4, 4];
      const out = await SAMPLER_FUNCTIONS.euler_ancestral(model([]), start(), sigmas, { noise: comfyNoiseSampler('41', shape) });
      const g = new TorchCpuGenerator(42); // seed + 1, see noise-sampler.ts
      expectNear(out, refEulerAncestralRF(Float64Array.from(start()), sigmas, () => g.randn(shape)), 5e-5);
    });
  }

  it("dpmpp_2m's first step equals Euler's, and its last returns the denoised estimate", async () => {
    const { sigmas } = schedule('sgm_uniform', 6, 3);
    const a = await SAMPLER_FUNCTIONS.dpmpp_2m(model([]), start(), sigmas.slice(0, 2));
    const b = await SAMPLER_FUNCTIONS.euler(model([]), start(), sigmas.slice(0, 2));
    expectNear(a, Float64Array.from(b), 1e-6);
    const last = [sigmas[4]!, 0];
    const x = start();
    const out = await SAMPLER_FUNCTIONS.dpmpp_2m(model([]), Float32Array.from(x), last);
    expectNear(out, den(Float64Array.from(x), sigmas[4]!), 1e-6);
  });

  it('starts at step k and calls the per-step hook, whose changes to x carry on (img2img, inpaint blend)', async () => {
    const { sigmas } = schedule('simple', 8, 3);
    const seen: number[] = [];
    const out = await SAMPLER_FUNCTIONS.dpmpp_2m(model([]), start(), sigmas, {
      firstStep: 3,
      afterStep: ({ step, total, x }) => {
        seen.push(step);
        expect(total).toBe(8);
        if (step === 3) x.fill(0.25);
      },
    });
    expect(seen).toEqual([3, 4, 5, 6, 7]);
    // reference: from x = 0.25 everywhere at σ_4, dpmpp_2m without history (it restarts after the blend? no:
    // the history is the model output at step 3, which the blend does not change)
    const x3 = start();
    const after3 = await SAMPLER_FUNCTIONS.dpmpp_2m(model([]), Float32Array.from(x3), sigmas, {
      firstStep: 3,
      afterStep: ({ step, x }) => {
        if (step === 3) x.fill(0.25);
      },
    });
    expect(Array.from(after3)).toEqual(Array.from(out));
    await expect(SAMPLER_FUNCTIONS.euler(model([]), start(), sigmas, { firstStep: 8 })).rejects.toThrow(/first step/);
    expect(modelCallsPerStep('heun')).toBe(2);
  });
});

describe("ComfyUI's noise sampler", () => {
  it('continues one torch CPU generator: two draws of 16·k values equal one draw of twice as many', () => {
    const g = new TorchCpuGenerator(5);
    const a = g.randn([32]);
    const b = g.randn([32]);
    const both = randn(5, [64]);
    expect([...a, ...b]).toEqual([...both]);
  });
  it('is seeded with seed + 1 (the low 32 bits of the sum), not the initial noise', () => {
    const draw = comfyNoiseSampler('41', [16]);
    expect(Array.from(draw())).toEqual(Array.from(randn(42, [16])));
    expect(Array.from(comfyNoiseSampler('4294967295', [16])())).toEqual(Array.from(randn(0, [16])));
  });
});
