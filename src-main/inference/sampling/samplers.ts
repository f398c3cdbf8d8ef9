// The samplers (docs/architecture.md §5, "Samplers and schedules"), each a function of (model call, x, sigmas,
// options) that owns the loop. The model call returns the (guided) velocity v of SD3's flow transformer at
// (x, σ); ComfyUI's CONST model turns it into the denoised estimate x − σ·v (comfy/model_sampling.py
// CONST.calculate_denoised: model_input − model_output·σ) and the k-diffusion samplers work on that.
// Every tensor operation is float32 as torch's (sigmas are 0-dim float32 tensors, so their scalar arithmetic
// is float32 too); log/exp/expm1 are rounded once to float32 (torch's float kernels agree to about 1 ulp).
import { StudioError } from '../../../src-shared/errors';
import type { Sampler } from '../../../src-shared/generation';
import { eulerStep } from '../scheduler';

const f32 = Math.fround;

/** v(x, σ) at step `step` (the step the sampler is in; Heun's second call is made within step `step`). */
export type VelocityModel = (x: Float32Array, sigma: number, step: number) => Promise<Float32Array>;

/** One latent-shaped standard normal draw per call (ComfyUI's noise_sampler(σ, σ_next)). */
export type NoiseSource = () => Float32Array;

export interface StepInfo {
  /** 0-based index of the step just finished. */
  step: number;
  /** Steps of the whole schedule (sigmas.length − 1). */
  total: number;
  sigma: number;
  sigmaNext: number;
  /** The latents after the step; the hook may change them in place (an inpaint blend does). */
  x: Float32Array;
}

export interface SampleOptions {
  /**
   * Start at step k of the sigmas (img2img): `x` must already be the latents at sigmas[k]. Multistep samplers
   * start without history there, as ComfyUI does on sliced sigmas.
   */
  firstStep?: number;
  /** Called after each step, awaited (previews, progress, cancel, diffusers' inpaint blend). */
  afterStep?: (info: StepInfo) => void | Promise<void>;
  /** Ancestral samplers' noise; required by them. */
  noise?: NoiseSource;
}

export type SamplerFn = (model: VelocityModel, x: Float32Array, sigmas: readonly number[], opts?: SampleOptions) => Promise<Float32Array>;

/** comfy/model_sampling.py CONST.calculate_denoised: x − v·σ, element by element in float32. */
export function denoisedFromVelocity(x: Float32Array, v: Float32Array, sigma: number): Float32Array {
  if (x.length !== v.length) throw new StudioError('internal', `Sampler: the latents have ${x.length} values but the model returned ${v.length}.`);
  const s = f32(sigma);
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i]! - f32(v[i]! * s);
  return out;
}

/** comfy/k_diffusion/sampling.py to_d(x, σ, denoised) = (x − denoised)/σ. */
function toD(x: Float32Array, sigma: number, denoised: Float32Array): Float32Array {
  const s = f32(sigma);
  const d = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) d[i] = f32(x[i]! - denoised[i]!) / s;
  return d;
}

function firstStepOf(sigmas: readonly number[], opts: SampleOptions | undefined): number {
  const k = opts?.firstStep ?? 0;
  if (!Number.isInteger(k) || k < 0 || k >= sigmas.length - 1) {
    throw new StudioError('invalid_input', `The first step must be from 0 to ${sigmas.length - 2} (got ${String(k)}).`);
  }
  return k;
}

async function after(opts: SampleOptions | undefined, step: number, sigmas: readonly number[], x: Float32Array): Promise<void> {
  await opts?.afterStep?.({ step, total: sigmas.length - 1, sigma: sigmas[step]!, sigmaNext: sigmas[step + 1]!, x });
}

/**
 * Euler in diffusers' velocity form (FlowMatchEulerDiscreteScheduler.step): x ← x + (σ_next − σ)·v in float32 —
 * the studio's sampler since the beginning, kept bit for bit. ComfyUI's sample_euler computes
 * d = (x − denoised)/σ = (x − (x − σ·v))/σ, which is v up to one float32 rounding; everything else is the same.
 */
export const sampleEuler: SamplerFn = async (model, x, sigmas, opts) => {
  for (let i = firstStepOf(sigmas, opts); i < sigmas.length - 1; i++) {
    const v = await model(x, sigmas[i]!, i);
    eulerStep(x, v, sigmas[i]!, sigmas[i + 1]!);
    await after(opts, i, sigmas, x);
  }
  return x;
};

/**
 * comfy/k_diffusion/sampling.py sample_euler_ancestral → sample_euler_ancestral_RF (the CONST/flow model path),
 * eta = 1, s_noise = 1:
 *   σ_next = 0: x = denoised; otherwise
 *   downstep_ratio = 1 + (σ_next/σ − 1)·eta; σ_down = σ_next·downstep_ratio;
 *   α_next = 1 − σ_next; α_down = 1 − σ_down;
 *   renoise = sqrt(σ_next² − σ_down²·α_next²/α_down²);
 *   r = σ_down/σ; x = r·x + (1 − r)·denoised; x = (α_next/α_down)·x + noise·s_noise·renoise.
 */
export const sampleEulerAncestral: SamplerFn = async (model, x, sigmas, opts) => {
  const noise = opts?.noise;
  if (!noise) throw new StudioError('internal', 'euler_ancestral needs a noise source.');
  const eta = 1;
  for (let i = firstStepOf(sigmas, opts); i < sigmas.length - 1; i++) {
    const sigma = f32(sigmas[i]!);
    const sigmaNext = f32(sigmas[i + 1]!);
    const v = await model(x, sigma, i);
    const denoised = denoisedFromVelocity(x, v, sigma);
    if (sigmaNext === 0) {
      x.set(denoised);
    } else {
      const downstepRatio = f32(1 + f32(f32(f32(sigmaNext / sigma) - 1) * eta));
      const sigmaDown = f32(sigmaNext * downstepRatio);
      const alphaNext = f32(1 - sigmaNext);
      const alphaDown = f32(1 - sigmaDown);
      const renoise = f32(
        Math.sqrt(f32(f32(sigmaNext * sigmaNext) - f32(f32(f32(sigmaDown * sigmaDown) * f32(alphaNext * alphaNext)) / f32(alphaDown * alphaDown)))),
      );
      const r = f32(sigmaDown / sigma);
      const oneMinusR = f32(1 - r);
      for (let k = 0; k < x.length; k++) x[k] = f32(r * x[k]!) + f32(oneMinusR * denoised[k]!);
      const scale = f32(alphaNext / alphaDown);
      const n = noise();
      if (n.length !== x.length) throw new StudioError('internal', `Sampler: the noise has ${n.length} values, the latents ${x.length}.`);
      // noise · s_noise (1, exact) · renoise
      for (let k = 0; k < x.length; k++) x[k] = f32(scale * x[k]!) + f32(n[k]! * renoise);
    }
    await after(opts, i, sigmas, x);
  }
  return x;
};

/**
 * comfy/k_diffusion/sampling.py sample_heun (s_churn = 0): d = to_d(x, σ, denoised); dt = σ_next − σ;
 * σ_next = 0: Euler, x + d·dt (no second model call on the last step); otherwise x₂ = x + d·dt,
 * d₂ = to_d(x₂, σ_next, denoised(x₂, σ_next)), x = x + ((d + d₂)/2)·dt.
 */
export const sampleHeun: SamplerFn = async (model, x, sigmas, opts) => {
  for (let i = firstStepOf(sigmas, opts); i < sigmas.length - 1; i++) {
    const sigma = f32(sigmas[i]!);
    const sigmaNext = f32(sigmas[i + 1]!);
    const d = toD(x, sigma, denoisedFromVelocity(x, await model(x, sigma, i), sigma));
    const dt = f32(sigmaNext - sigma);
    if (sigmaNext === 0) {
      for (let k = 0; k < x.length; k++) x[k] = x[k]! + f32(d[k]! * dt);
    } else {
      const x2 = new Float32Array(x.length);
      for (let k = 0; k < x.length; k++) x2[k] = x[k]! + f32(d[k]! * dt);
      const d2 = toD(x2, sigmaNext, denoisedFromVelocity(x2, await model(x2, sigmaNext, i), sigmaNext));
      for (let k = 0; k < x.length; k++) x[k] = x[k]! + f32(f32(f32(d[k]! + d2[k]!) / 2) * dt);
    }
    await after(opts, i, sigmas, x);
  }
  return x;
};

/** comfy/k_diffusion/sampling.py sample_dpmpp_2m: t_fn(σ) = −log σ, sigma_fn(t) = exp(−t), in float32. */
const tOf = (sigma: number): number => f32(-f32(Math.log(sigma)));
const sigmaOfT = (t: number): number => f32(Math.exp(-t));

/**
 * comfy/k_diffusion/sampling.py sample_dpmpp_2m (DPM-Solver++(2M)): t = −log σ, h = t_next − t;
 * first step (no history) or σ_next = 0: x = (sigma_fn(t_next)/sigma_fn(t))·x − expm1(−h)·denoised (= Euler);
 * otherwise r = h_last/h with h_last = t − t(σ_prev), D = (1 + 1/(2r))·denoised − (1/(2r))·old_denoised,
 * x = (sigma_fn(t_next)/sigma_fn(t))·x − expm1(−h)·D. (ComfyUI uses this EPS-form solver for CONST models too.)
 */
export const sampleDpmpp2m: SamplerFn = async (model, x, sigmas, opts) => {
  let oldDenoised: Float32Array | undefined;
  const first = firstStepOf(sigmas, opts);
  for (let i = first; i < sigmas.length - 1; i++) {
    const sigma = f32(sigmas[i]!);
    const sigmaNext = f32(sigmas[i + 1]!);
    const denoised = denoisedFromVelocity(x, await model(x, sigma, i), sigma);
    const t = tOf(sigma);
    const tNext = tOf(sigmaNext); // +Infinity at σ_next = 0: sigma_fn → 0, expm1(−∞) = −1, so x = denoised
    const h = f32(tNext - t);
    const ratio = f32(sigmaOfT(tNext) / sigmaOfT(t));
    const c = f32(Math.expm1(-h));
    let target = denoised;
    if (oldDenoised !== undefined && sigmaNext !== 0) {
      const hLast = f32(t - tOf(f32(sigmas[i - 1]!)));
      const r = f32(hLast / h);
      const twoR = f32(2 * r);
      const a = f32(1 + f32(1 / twoR));
      const b = f32(1 / twoR);
      target = new Float32Array(x.length);
      for (let k = 0; k < x.length; k++) target[k] = f32(a * denoised[k]!) - f32(b * oldDenoised[k]!);
    }
    for (let k = 0; k < x.length; k++) x[k] = f32(ratio * x[k]!) - f32(c * target[k]!);
    oldDenoised = denoised;
    await after(opts, i, sigmas, x);
  }
  return x;
};

export const SAMPLER_FUNCTIONS: Readonly<Record<Sampler, SamplerFn>> = {
  euler: sampleEuler,
  euler_ancestral: sampleEulerAncestral,
  heun: sampleHeun,
  dpmpp_2m: sampleDpmpp2m,
};

/** Transformer calls per step (the benchmark and the ETA): Heun makes two except on the last step. */
export function modelCallsPerStep(sampler: Sampler): number {
  return sampler === 'heun' ? 2 : 1;
}
