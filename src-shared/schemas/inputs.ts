// Image-to-image inputs of the contract (docs/architecture.md §2, §3): the renderer hands the server an image's BYTES
// (a drop, a paste, a file, the mask editor's PNG) or a gallery image's ID — never a path — and gets back the kept
// input's sha256, which jobs.submit's `init` then names. The server checks the bytes with the import's bounds
// (PNG/JPEG/WebP only, sizes, decompression bombs) before it keeps them in `<data>/inputs/<sha256>`.
import { z } from 'zod';
import { sha256Schema } from '../img2img';
import { imageIdSchema } from './gallery';

/**
 * The largest input that travels as bytes: one API message carries it as base64 (MAX_MESSAGE_BYTES, 16 MiB), the
 * same bound as a browser import. A larger picture can still be used from the gallery (by id).
 */
export const MAX_INPUT_UPLOAD_BYTES = 10_000_000;

export const INPUT_KINDS = ['image', 'mask'] as const;
export const inputKindSchema = z.enum(INPUT_KINDS);
export type InputKind = z.infer<typeof inputKindSchema>;

const base64 = z
  .string()
  .min(1)
  .max(Math.ceil(MAX_INPUT_UPLOAD_BYTES / 3) * 4)
  .regex(/^[A-Za-z0-9+/]*={0,2}$/, { message: 'dataBase64 must be base64' });

export const inputsPutSchema = z.union([
  /** Bytes from the renderer: a source image or a mask (white = repaint, black = keep). */
  z.object({ kind: inputKindSchema, dataBase64: base64 }).strict(),
  /** A gallery image by id, used as the source. */
  z.object({ kind: z.literal('image'), imageId: imageIdSchema }).strict(),
]);
export type InputsPut = z.infer<typeof inputsPutSchema>;

export const storedInputSchema = z
  .object({
    sha256: sha256Schema,
    width: z.number().int().positive(),
    height: z.number().int().positive(),
    format: z.enum(['png', 'jpeg', 'webp']),
    /** The gallery image it was taken from (inputs.put by id). */
    imageId: imageIdSchema.optional(),
  })
  .strict();
export type StoredInputInfo = z.infer<typeof storedInputSchema>;

export const inputsGetSchema = z.object({ sha256: sha256Schema }).strict();
export const inputsGetResultSchema = storedInputSchema
  .omit({ imageId: true })
  .extend({
    mimeType: z.enum(['image/png', 'image/jpeg', 'image/webp']),
    /** The kept bytes (at most 64 MB: IMG2IMG_LIMITS.maxInputBytes). */
    dataBase64: z.string().max(Math.ceil((64 * 1024 * 1024) / 3) * 4 + 4),
  })
  .strict();
export type InputsGetResult = z.infer<typeof inputsGetResultSchema>;
