// Hires fix as one generation (docs/architecture.md §5 "Hires fix"): the base pass at width × height, the result
// upscaled to hiresSize(width, height, scale) by the chosen upscaler, then image to image at that size with the hires
// strength and step count — the same seed (A1111 modules/processing.py StableDiffusionProcessingTxt2Img.sample_hr_pass
// keeps the job's seeds for the second pass's noise; here the noise is drawn at the hires latent shape). Progress runs
// over both passes as one count: the base steps, then the steps the second pass actually runs (get_timesteps).
import { hiresSize, type Hires, type HiresMeta } from '../../../src-shared/generation';
import { strengthStart } from '../../../src-shared/img2img';
import type { HostGenerateResult, StepListener } from '../../inference/host';
import type { GenerateRequest } from '../../inference/pipeline';
import type { RgbImage } from '../images/inpaint-area';

/** One worker request (the runner's host call; tests give the in-process pipeline). */
export type GenerateFn = (request: GenerateRequest, onStep?: StepListener) => Promise<HostGenerateResult>;
/** The base image brought to exactly width × height by the named upscaler (core/images/upscale.ts). */
export type UpscaleFn = (image: RgbImage, width: number, height: number, upscaler: string) => Promise<Uint8Array>;

export interface HiresOutcome {
  result: HostGenerateResult;
  meta: HiresMeta;
}

/** The steps the second pass runs and the steps of both passes together (the progress total). */
export function hiresSteps(baseSteps: number, hires: Hires): { steps: number; runSteps: number; total: number } {
  const steps = hires.steps === 0 ? baseSteps : hires.steps;
  const { runSteps } = strengthStart(steps, hires.strength);
  return { steps, runSteps, total: baseSteps + runSteps };
}

export async function generateWithHires(
  generate: GenerateFn,
  upscale: UpscaleFn,
  base: GenerateRequest,
  hires: Hires,
  onStep?: StepListener,
): Promise<HiresOutcome> {
  const size = hiresSize(base.width, base.height, hires.scale);
  const { steps, total } = hiresSteps(base.steps, hires);
  const first = await generate(base, onStep ? (s, preview) => onStep({ ...s, total }, preview) : undefined);
  const upscaled = await upscale({ rgb: first.rgb, width: first.width, height: first.height }, size.width, size.height, hires.upscaler);
  const second = await generate(
    { ...base, width: size.width, height: size.height, steps, image: { rgb: upscaled, strength: hires.strength } },
    onStep ? (s, preview) => onStep({ step: base.steps + s.step, total, elapsedMs: first.timings.totalMs + s.elapsedMs }, preview) : undefined,
  );
  const sum = (k: keyof HostGenerateResult['timings']): number => first.timings[k] + second.timings[k];
  return {
    result: {
      ...second,
      timings: { loadMs: sum('loadMs'), encodeMs: sum('encodeMs'), denoiseMs: sum('denoiseMs'), decodeMs: sum('decodeMs'), totalMs: sum('totalMs') },
    },
    meta: { scale: hires.scale, upscaler: hires.upscaler, steps: hires.steps, strength: hires.strength, width: size.width, height: size.height },
  };
}
