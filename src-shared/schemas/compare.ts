// Compare room shapes of the contract: saved comparisons (name, ordered image ids, the job they came
// from) and the grid export. An image deleted from the gallery drops out of every comparison that
// holds it; the comparison itself stays (its other images are still there).
import { z } from 'zod';
import { galleryItemSchema, imageIdSchema } from './gallery';

export const MIN_COMPARE = 2;
export const MAX_COMPARE = 16;
export const MAX_COMPARISON_NAME = 200;

export const comparisonIdSchema = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const jobIdSchema = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const nameSchema = z
  .string()
  .max(MAX_COMPARISON_NAME)
  .transform((s) => s.trim())
  .refine((s) => s.length > 0, { message: 'A comparison needs a name' });

/** 2–16 distinct image ids, in the order they are shown. */
export const compareImageIdsSchema = z
  .array(imageIdSchema)
  .min(MIN_COMPARE)
  .max(MAX_COMPARE)
  .refine((ids) => new Set(ids).size === ids.length, { message: 'An image can be in a comparison only once' });

export const compareCreateSchema = z
  .object({ name: nameSchema.optional(), imageIds: compareImageIdsSchema, jobId: jobIdSchema.optional() })
  .strict();
export type CompareCreate = z.infer<typeof compareCreateSchema>;

export const comparisonSummarySchema = z
  .object({
    id: comparisonIdSchema,
    name: z.string().max(MAX_COMPARISON_NAME),
    jobId: jobIdSchema.nullable(),
    createdAt: z.string().max(40),
    updatedAt: z.string().max(40),
    /** The live images, in order (trashed or purged ones are left out). */
    imageIds: z.array(imageIdSchema).max(MAX_COMPARE),
  })
  .strict();
export type ComparisonSummary = z.infer<typeof comparisonSummarySchema>;

export const comparisonSchema = comparisonSummarySchema
  .extend({
    items: z.array(galleryItemSchema).max(MAX_COMPARE),
    /** How many of its images are in the trash (they come back with Undo/restore). */
    trashed: z.number().int().nonnegative(),
  })
  .strict();
export type Comparison = z.infer<typeof comparisonSchema>;

export const compareIdParams = z.object({ id: comparisonIdSchema }).strict();
export const compareRenameSchema = z.object({ id: comparisonIdSchema, name: nameSchema }).strict();
export const compareListSchema = z.object({ limit: z.number().int().min(1).max(200).optional() }).strict();
export const comparisonListSchema = z.object({ items: z.array(comparisonSummarySchema).max(200) }).strict();

/** The images of a finished job (or sweep), for "Compare these seeds". */
export const compareJobImagesSchema = z
  .object({ jobId: jobIdSchema, imageIds: z.array(imageIdSchema).max(64) })
  .strict();

/** Names the server gives an export file (never the client): `comparison-<id>.png`. */
const exportFileName = z.string().max(300);
/** Where `GET <url>?token=<studio token>` serves a registered export once (transport/http.ts). */
export const EXPORT_DOWNLOAD_PATH = /^\/download\/[A-Za-z0-9_-]{43}$/u;
/**
 * The grid export, streamed rather than base64 in JSON (issue 18 §3): in browser mode a one-time download URL
 * (single use, expires); in the desktop app the main process asked where to save it and wrote it there
 * (`saved`), or the person closed the save dialog (`cancelled`).
 */
export const compareExportSchema = z.discriminatedUnion('delivery', [
  z
    .object({
      delivery: z.literal('download'),
      url: z.string().regex(EXPORT_DOWNLOAD_PATH),
      fileName: exportFileName,
      mimeType: z.literal('image/png'),
      width: z.number().int().positive(),
      height: z.number().int().positive(),
      expiresInMs: z.number().int().positive(),
    })
    .strict(),
  z
    .object({
      delivery: z.literal('saved'),
      fileName: exportFileName,
      width: z.number().int().positive(),
      height: z.number().int().positive(),
    })
    .strict(),
  z.object({ delivery: z.literal('cancelled') }).strict(),
]);
export type CompareExport = z.infer<typeof compareExportSchema>;
