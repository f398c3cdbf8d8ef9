// Guidance on the transformer's velocity (docs/architecture.md §5): classifier-free guidance and Skip-Layer
// Guidance, in float32 as diffusers' StableDiffusion3Pipeline computes them. ComfyUI applies CFG to the denoised
// estimates instead: uncond_d + (cond_d − uncond_d)·g with d = x − σ·v, which is x − σ·(the same guided v) up
// to float32 rounding.
import { StudioError } from '../../../src-shared/errors';
import type { Slg } from '../../../src-shared/generation';

const f32 = Math.fround;

/** Classifier-free guidance in float32: v = uncond + g·(cond − uncond), from a [2,…] batch [uncond; cond]. */
export function combineGuidance(out: Float32Array, guidance: number): Float32Array {
  const n = out.length / 2;
  const g = f32(guidance);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = out[i] as number;
    const c = out[n + i] as number;
    v[i] = u + f32(g * f32(c - u));
  }
  return v;
}

/** The positive half of a [uncond; cond] batch output. */
export function condHalf(out: Float32Array): Float32Array {
  return out.subarray(out.length / 2);
}

/**
 * diffusers pipeline_stable_diffusion_3.py __call__: SLG runs only with CFG, at step i (0-based) of N when
 * `i > N·start and i < N·end` — strict on both sides. (ComfyUI's SkipLayerGuidanceSD3 node tests a σ window
 * instead and can differ at step 0; the studio follows diffusers.)
 */
export function slgActive(slg: Slg | undefined, step: number, totalSteps: number, cfg: boolean): boolean {
  if (!slg || !cfg || slg.scale === 0) return false;
  return step > totalSteps * slg.start && step < totalSteps * slg.end;
}

/**
 * diffusers: noise_pred = noise_pred + (noise_pred_text − noise_pred_skip_layers)·scale, in float32, in place on
 * the guided velocity `v`; `cond` is the positive pass of the same step, `skip` the positive pass with the
 * listed blocks bypassed.
 */
export function applySkipLayerGuidance(v: Float32Array, cond: Float32Array, skip: Float32Array, scale: number): Float32Array {
  if (v.length !== cond.length || v.length !== skip.length) {
    throw new StudioError('internal', `Skip-layer guidance: ${v.length}, ${cond.length} and ${skip.length} values do not match.`);
  }
  const s = f32(scale);
  for (let i = 0; i < v.length; i++) v[i] = v[i]! + f32(f32(cond[i]! - skip[i]!) * s);
  return v;
}
