// Upscaling a gallery image (docs/architecture.md §5 "Upscale", §3 the queue): THE request of `jobs.upscale` and
// `sd35-studio upscale`, the limits of a result (one rule: the detail panel greys its action with it, the core refuses
// with it), the job's snapshot and what the image's metadata records. The upscaler is the built-in Lanczos or an
// imported super-resolution model (src-shared/generation.ts BUILTIN_UPSCALER, upscalerNameSchema).
import { z } from 'zod';
import { BUILTIN_UPSCALER, upscalerNameSchema } from './generation';
import { sha256Schema } from './img2img';
import { progressSchema } from './progress';
import { lorasUploadParamsSchema, lorasUploadResultSchema, uploadIdSchema } from './schemas/loras';

/** The factors an upscale offers (A1111's extras offers any; ×2 and ×4 are what SR models are made for). */
export const UPSCALE_SCALES = [2, 4] as const;
export const upscaleScaleSchema = z.union([z.literal(2), z.literal(4)], { error: 'The scale must be 2 or 4.' });
export type UpscaleScale = z.infer<typeof upscaleScaleSchema>;

/** The largest upscaled image: 8192 px a side and 32 MP (the gallery's PNG bounds stay far away). */
export const UPSCALE_LIMITS = { maxSide: 8192, maxPixels: 32 * 1024 * 1024 } as const;

/** The result's size, or why it is refused (the words the detail panel and the StudioError show). */
export function upscaleResult(width: number, height: number, scale: number): { width: number; height: number; refused?: string } {
  const W = width * scale;
  const H = height * scale;
  if (W > UPSCALE_LIMITS.maxSide || H > UPSCALE_LIMITS.maxSide || W * H > UPSCALE_LIMITS.maxPixels) {
    return { width: W, height: H, refused: `${width}×${height} ×${scale} would be ${W}×${H}; at most ${UPSCALE_LIMITS.maxSide} px a side and 32 MP.` };
  }
  return { width: W, height: H };
}

/** The label of an upscaler name: the built-in is "Lanczos", an imported model keeps its name. */
export function upscalerLabel(name: string): string {
  return name === BUILTIN_UPSCALER ? 'Lanczos' : name;
}

const id = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const side = z.number().int().positive().max(65_535);

/** `jobs.upscale`: a gallery image, the upscaler (lanczos or an imported one's name) and the factor. */
export const jobsUpscaleParamsSchema = z.object({ imageId: id, with: upscalerNameSchema, scale: upscaleScaleSchema }).strict();
export type JobsUpscaleParams = z.infer<typeof jobsUpscaleParamsSchema>;

/**
 * What an upscale job keeps (its snapshot) and what the upscaled image's metadata records: the source (the kept
 * input's sha256, and its gallery id when it came from the gallery), the upscaler, the factor and both sizes.
 */
export const upscaleSpecSchema = z
  .object({
    source: z.object({ sha256: sha256Schema, imageId: id.optional() }).strict(),
    upscaler: upscalerNameSchema,
    scale: upscaleScaleSchema,
    sourceWidth: side,
    sourceHeight: side,
    width: side,
    height: side,
  })
  .strict();
export type UpscaleSpec = z.infer<typeof upscaleSpecSchema>;

/** One imported upscaler as `upscalers.list` shows it. */
export const upscalerEntrySchema = z
  .object({ name: upscalerNameSchema, scale: z.number().int().min(1).max(8), bytes: z.number().int().nonnegative(), sha256: sha256Schema })
  .strict();
export type UpscalerInfo = z.infer<typeof upscalerEntrySchema>;
export const upscalersListSchema = z.object({ upscalers: z.array(upscalerEntrySchema).max(1000) }).strict();

// Importing and removing upscalers from the app (docs/architecture.md §2, §5 "Upscale"), the LoRA import's mechanism
// (schemas/loras.ts): the desktop app names the user's file by path, a browser sends its bytes in ordered chunks
// (`upscalers.upload`, THE upload shape of `loras.upload`) and then imports the upload. One file per import.
/** `upscalers.upload`: THE chunked upload of `loras.upload` (the same chunks, limit and answer). */
export const upscalersUploadParamsSchema = lorasUploadParamsSchema;
export const upscalersUploadResultSchema = lorasUploadResultSchema;
/** The file of `upscalers.import`: a path (the desktop app, the CLI) or a finished upload (browser mode). */
export const upscalerImportFileSchema = z.union([
  z.object({ path: z.string().min(1).max(4096), name: upscalerNameSchema.optional() }).strict(),
  z.object({ uploadId: uploadIdSchema, fileName: z.string().min(1).max(1024), name: upscalerNameSchema.optional() }).strict(),
]);
export type UpscalerImportFile = z.infer<typeof upscalerImportFileSchema>;
export const upscalersImportParamsSchema = z.object({ file: upscalerImportFileSchema }).strict();
export const upscalersImportResultSchema = z.object({ imported: upscalerEntrySchema }).strict();
export const upscalersRemoveParamsSchema = z.object({ name: upscalerNameSchema }).strict();
export const upscalersRemoveResultSchema = z.object({ removed: upscalerEntrySchema }).strict();
/**
 * The library changed (import, remove); during an import, its progress in THE progress shape: the copy as `verify`
 * in bytes (the file is hashed as it is copied and the copy checked against it), then the probe run as `import`
 * (the file, 0 of 1, with what it waits for in `label`), and the end as `import` done or failed.
 */
export const upscalersEventSchema = z.object({ kind: z.enum(['import', 'remove']), progress: progressSchema.optional() }).strict();
export type UpscalersEvent = z.infer<typeof upscalersEventSchema>;
