// THE sampling interface of the inference room (docs/architecture.md §5): schedules, samplers, guidance. The
// pipeline calls `sample()` once per image; the sampler owns the loop. A caller can start at step k of the sigmas
// (`firstStep`, img2img) and run a hook after each step (`afterStep`: previews, progress, cancel, inpaint blend).
import { SAMPLER_FUNCTIONS, type SampleOptions, type VelocityModel } from './samplers';
import type { Sampler } from '../../../src-shared/generation';

export { schedule, timestepsOf, flowSigmaTable, type Schedule } from './schedules';
export { SAMPLER_FUNCTIONS, modelCallsPerStep, denoisedFromVelocity, type VelocityModel, type NoiseSource, type SampleOptions, type StepInfo } from './samplers';
export { combineGuidance, applySkipLayerGuidance, slgActive, condHalf } from './guidance';
export { comfyNoiseSampler, SEED_OFFSET_CPU_NOISE_SAMPLER } from './noise-sampler';

/** Runs `sampler` from x (the latents at sigmas[firstStep]) over the sigmas; returns x (changed in place). */
export function sample(sampler: Sampler, model: VelocityModel, x: Float32Array, sigmas: readonly number[], opts: SampleOptions = {}): Promise<Float32Array> {
  return SAMPLER_FUNCTIONS[sampler](model, x, sigmas, opts);
}
