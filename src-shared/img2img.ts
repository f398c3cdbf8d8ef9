// Image to image and inpainting: the job's source reference (the one schema for the form, jobs.submit, the queue, the
// CLI and the metadata), the fit modes, the limits, and the strength → steps rule the UI shows ("20 of 28 steps").
import { z } from 'zod';
import { StudioError } from './errors';

/** How a source image is brought to the generation size, as A1111 offers it. */
export const FIT_MODES = ['resize', 'crop', 'fill'] as const;
export const fitModeSchema = z.enum(FIT_MODES);
export type FitMode = z.infer<typeof fitModeSchema>;
export const FIT_MODE_LABELS: Readonly<Record<FitMode, string>> = {
  resize: 'Just resize (stretch)',
  crop: 'Crop and resize',
  fill: 'Resize and fill',
};

export const IMG2IMG_LIMITS = {
  defaultStrength: 0.75,
  /** A1111's default "Mask blur". */
  defaultMaskBlur: 4,
  maxMaskBlur: 64,
  /** A source or mask file larger than this is refused before it is decoded. */
  maxInputBytes: 64 * 1024 * 1024,
} as const;

export const sha256Schema = z.string().regex(/^[0-9a-f]{64}$/, { message: 'a sha256 is 64 lowercase hex digits' });
/** Strength (diffusers' `strength`, A1111's "Denoising strength"): above 0, at most 1. */
export const strengthSchema = z.number().gt(0).max(1);

/** Outpainting: pixels added on each side of the source before it is inpainted (docs/architecture.md §5). */
export const OUTPAINT_LIMITS = { maxPerSide: 1024, defaultPerSide: 128, noiseSigma: 32 } as const;
const outpaintSide = z.number().int().min(0).max(OUTPAINT_LIMITS.maxPerSide);
export const outpaintSchema = z.object({ left: outpaintSide, top: outpaintSide, right: outpaintSide, bottom: outpaintSide }).strict();
export type Outpaint = z.infer<typeof outpaintSchema>;

/** "Inpaint area" as A1111 names it: the whole picture at the generation size, or only the masked region (cropped). */
export const INPAINT_AREAS = ['whole', 'masked'] as const;
export const inpaintAreaSchema = z.enum(INPAINT_AREAS);
export type InpaintArea = z.infer<typeof inpaintAreaSchema>;
export const INPAINT_AREA_LABELS: Readonly<Record<InpaintArea, string>> = { whole: 'Whole picture', masked: 'Only masked' };
/** A1111's "Only masked padding, pixels": default 32, slider 0–256. */
export const MASK_PADDING_LIMITS = { default: 32, max: 256 } as const;

/**
 * The source of an image-to-image job. The file itself is kept content-addressed in the data folder
 * (`inputs/<sha256>.png`), so Retry and Reuse find it again; `imageId` names the gallery image it came from.
 * `mask` (white = repaint, black = keep; the same size as the source) makes it an inpainting job.
 */
export const initImageSchema = z
  .object({
    sha256: sha256Schema,
    imageId: z.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional(),
    strength: strengthSchema,
    fit: fitModeSchema,
    mask: z
      .object({ sha256: sha256Schema, blur: z.number().int().min(0).max(IMG2IMG_LIMITS.maxMaskBlur) })
      .strict()
      .optional(),
    /** Outpaint: the canvas grown by these pixels per side (edges stretched plus noise), the new area inpainted. */
    outpaint: outpaintSchema.optional(),
    /** Inpaint area (absent: whole); `masked` crops around the mask (plus `padding` px) and pastes the result back. */
    area: inpaintAreaSchema.optional(),
    padding: z.number().int().min(0).max(MASK_PADDING_LIMITS.max).optional(),
  })
  .strict();
export type InitImage = z.infer<typeof initImageSchema>;

/**
 * The first step the loop runs for a strength, and how many it runs — diffusers
 * pipeline_stable_diffusion_3_img2img.py, StableDiffusion3Img2ImgPipeline.get_timesteps:
 *   init_timestep = min(num_inference_steps · strength, num_inference_steps)   (Python floats = doubles)
 *   t_start = int(max(num_inference_steps − init_timestep, 0))                 (int() truncates)
 *   timesteps = timesteps[t_start · order:]  (order = 1 for flow-match Euler); it runs num_inference_steps − t_start.
 */
export function strengthStart(steps: number, strength: number): { startStep: number; runSteps: number } {
  if (!(typeof strength === 'number' && strength > 0 && strength <= 1)) {
    throw new StudioError('invalid_input', `Strength must be a number above 0 and at most 1 (got ${String(strength)}).`, { field: 'strength' });
  }
  const initTimestep = Math.min(steps * strength, steps);
  const startStep = Math.trunc(Math.max(steps - initTimestep, 0));
  return { startStep, runSteps: steps - startStep };
}

/** Whether the source of a job can be used as given: outpaint excludes a mask, "only masked" needs one. */
export function checkInitCombination(init: Pick<InitImage, 'mask' | 'outpaint' | 'area'>): void {
  if (init.outpaint) {
    const o = init.outpaint;
    if (o.left + o.top + o.right + o.bottom === 0) throw new StudioError('invalid_input', 'Outpaint adds no pixels: give at least one side more than 0 px.', { field: 'outpaint' });
    if (init.mask) throw new StudioError('invalid_input', 'Outpaint makes its own mask (the new area); it cannot be combined with a mask.', { field: 'mask' });
    if (init.area === 'masked') throw new StudioError('invalid_input', 'Outpaint works on the whole picture, not "Only masked".', { field: 'area' });
  }
  if (init.area === 'masked' && !init.mask) throw new StudioError('invalid_input', '"Only masked" needs a mask.', { field: 'area' });
}
