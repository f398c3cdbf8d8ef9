// Gallery (history) shapes of the contract; the history room uses these types (core/history/types.ts).
import { z } from 'zod';
import { GENERATION_LIMITS, samplerSchema, upscalerNameSchema, schedulerSchema, seedSchema, slgSchema } from '../generation';
import { generationStatusSchema } from './jobs';
import { initImageSchema } from '../img2img';
import { upscaleScaleSchema } from '../upscale';

const MAX_PROMPT = GENERATION_LIMITS.maxKeptPromptChars;
const id = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
export const imageIdSchema = id;
export const imageIdsSchema = z.array(id).min(1).max(10_000);

const isoDate = z.string().max(40);

export const galleryItemSchema = z
  .object({
    id,
    createdAt: isoDate,
    prompt: z.string().max(MAX_PROMPT),
    negativePrompt: z.string().max(MAX_PROMPT),
    seed: seedSchema.nullable(),
    steps: z.number().int().nullable(),
    guidance: z.number().nullable(),
    /** The generation's size as recorded (ours, or what another tool wrote; the file's size when it wrote none). */
    width: z.number().int(),
    height: z.number().int(),
    /** The file's own pixel size: differs for upscaled, hires-fixed, cropped or stand-in files. */
    pixelWidth: z.number().int(),
    pixelHeight: z.number().int(),
    model: z.string().max(300),
    favorite: z.boolean(),
    bytes: z.number().int().nonnegative(),
    path: z.string().max(4096),
    source: z.enum(['generated', 'imported']),
    /** Our images' sampling parameters (ids; absent for imported images): Compare's labels and axes. */
    sampler: z.string().max(64).optional(),
    scheduler: z.string().max(64).optional(),
    shift: z.number().optional(),
    slgScale: z.number().optional(),
    /** Our images' LoRAs: name and strength (absent when none was used): Compare's labels and axes. */
    loras: z.array(z.object({ name: z.string().max(256), strength: z.number() }).strict()).max(8).optional(),
    /**
     * Image to image (our images): the strength, the kept source and mask by sha256 (inputs.get), and the source's
     * gallery id when it was an image of this gallery (core/history/queries.ts initOfRow).
     */
    strength: z.number().optional(),
    initSha256: z.string().regex(/^[0-9a-f]{64}$/).optional(),
    initImageId: id.optional(),
    maskSha256: z.string().regex(/^[0-9a-f]{64}$/).optional(),
    /**
     * An upscaled image (jobs.upscale, `upscale`): its source — the kept input by sha256 (inputs.get) and, for an
     * image made in this gallery, the source's gallery id — the upscaler and the factor (core/history/queries.ts).
     */
    upscaledFrom: z
      .object({ sha256: z.string().regex(/^[0-9a-f]{64}$/), imageId: id.optional(), upscaler: upscalerNameSchema, scale: upscaleScaleSchema })
      .strict()
      .optional(),
  })
  .strict();
export type GalleryItem = z.infer<typeof galleryItemSchema>;

export const galleryDetailSchema = galleryItemSchema
  .extend({
    jobId: z.number().int(),
    status: generationStatusSchema,
    ep: z.string().max(64).nullable(),
    timings: z.record(z.string().max(64), z.number()).nullable(),
    startedAt: isoDate.nullable(),
    finishedAt: isoDate.nullable(),
    meta: z.record(z.string(), z.unknown()).nullable(),
    imported: z.object({ originalName: z.string().max(1024).nullable(), parameters: z.record(z.string(), z.unknown()).nullable() }).strict().nullable(),
    deletedAt: isoDate.nullable(),
  })
  .strict();
export type GalleryDetail = z.infer<typeof galleryDetailSchema>;

export const galleryQuerySchema = z
  .object({
    search: z.string().max(500).optional(),
    searchIn: z.enum(['prompt', 'negative', 'both']).optional(),
    model: z.string().max(300).optional(),
    favoritesOnly: z.boolean().optional(),
    /** ISO date-time or epoch ms; inclusive. */
    from: z.union([isoDate, z.number()]).optional(),
    /** ISO date-time or epoch ms; exclusive. */
    to: z.union([isoDate, z.number()]).optional(),
    width: z.number().int().min(1).max(100_000).optional(),
    height: z.number().int().min(1).max(100_000).optional(),
    sort: z.enum(['newest', 'oldest']).optional(),
    cursor: z.string().max(500).optional(),
    limit: z.number().int().min(1).max(500).optional(),
  })
  .strict();
export type GalleryQuery = z.infer<typeof galleryQuerySchema>;

export const galleryPageSchema = z
  .object({
    items: z.array(galleryItemSchema).max(500),
    nextCursor: z.string().max(500).nullable(),
    total: z.number().int().nonnegative(),
    note: z.string().max(500).optional(),
  })
  .strict();
export type GalleryPage = z.infer<typeof galleryPageSchema>;

export const reuseSchema = z
  .object({
    prompt: z.string().max(MAX_PROMPT),
    negativePrompt: z.string().max(MAX_PROMPT),
    seed: seedSchema.optional(),
    steps: z.number().int().optional(),
    guidance: z.number().optional(),
    width: z.number().int().optional(),
    height: z.number().int().optional(),
    model: z.string().max(300).optional(),
    shift: z.number().optional(),
    t5: z.boolean().optional(),
    sampler: samplerSchema.optional(),
    scheduler: schedulerSchema.optional(),
    slg: slgSchema.optional(),
    /** A sampler or schedule the image names that the studio lacks, and the nearest it offers instead. */
    samplingNotes: z.array(z.string().max(300)).max(4).optional(),
    /** Image to image: the source (and mask) the image was made from, kept in the data folder. */
    init: initImageSchema.optional(),
    /**
     * The image's LoRAs resolved in the library by hash (by name when the file names no hash, as ComfyUI's):
     * `sha256` set = in the library (its current name); absent = missing, with the hash the image gave.
     */
    loras: z
      .array(z.object({ name: z.string().max(256), strength: z.number(), sha256: z.string().regex(/^[0-9a-f]{64}$/u).optional(), hash: z.string().max(64).optional() }).strict())
      .max(100)
      .optional(),
  })
  .strict();
export type ReuseParameters = z.infer<typeof reuseSchema>;

export const galleryChangeSchema = z
  .object({ kind: z.enum(['added', 'updated', 'removed', 'restored', 'purged', 'reset']), ids: z.array(id).max(100_000) })
  .strict();
export type GalleryChange = z.infer<typeof galleryChangeSchema>;

/** The largest image file the gallery imports (given by path: the app's drag and drop, the CLI). */
export const MAX_IMPORT_BYTES = 200_000_000;
/** Through the browser a file travels as base64 inside one API message (MAX_MESSAGE_BYTES): at most this. */
export const MAX_BROWSER_IMPORT_BYTES = 10_000_000;

/** One file for gallery.import: a path (Electron drag and drop, CLI) or the bytes (browser mode). */
export const importFileSchema = z.union([
  z.object({ path: z.string().min(1).max(4096) }).strict(),
  z.object({ name: z.string().min(1).max(1024), dataBase64: z.string().max(Math.ceil(MAX_BROWSER_IMPORT_BYTES / 3) * 4) }).strict(),
]);

export const importResultSchema = z
  .object({
    imported: z.array(galleryItemSchema).max(1000),
    rejected: z.array(z.object({ name: z.string().max(4096), reason: z.string().max(2000) }).strict()).max(1000),
  })
  .strict();
