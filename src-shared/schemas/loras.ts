// LoRA library shapes of the contract (issue #20 §3; core/loras/service.ts answers them). A LoRA file is
// untrusted input: the desktop app names it by path (file picker, drag and drop), a browser sends its bytes in
// chunks (`loras.upload`, each under the WebSocket message limit) and then imports the upload.
import { z } from 'zod';
import { progressSchema } from '../progress';

const hex = (n: number) => z.string().regex(new RegExp(`^[0-9a-f]{${n}}$`, 'u'));
/** A library name: what `<lora:name:S>` and the Generate form use (core/loras/library.ts checkLoraName is the rule). */
export const loraNameSchema = z.string().min(1).max(120);

/** One LoRA of the library, as the list, the Generate form and the metadata resolver see it. */
export const loraEntrySchema = z
  .object({
    name: loraNameSchema,
    /** The base read from the keys and shapes ('sd3.5-large', 'sd3.5-medium', …): a label, never a reason to refuse. */
    base: z.string().max(32),
    baseLabel: z.string().max(100),
    rank: z.number().int().nonnegative(),
    bytes: z.number().int().nonnegative(),
    sha256: hex(64),
    /** A1111's `Lora hashes` value (12 hex). */
    a1111Hash: hex(12),
    /** Civitai's AutoV2 (10 hex). */
    autoV2: hex(10),
    title: z.string().max(200).optional(),
    triggerWords: z.array(z.string().max(500)).max(50),
    /** Linked, not copied (the app's or the CLI's choice at import): the file stays where the user keeps it. */
    linked: z.boolean().optional(),
  })
  .strict();
export type LoraEntryView = z.infer<typeof loraEntrySchema>;

export const lorasListSchema = z.object({ loras: z.array(loraEntrySchema).max(10_000) }).strict();

/** Largest LoRA a browser uploads (SD3.5 Large rank-128 LoRAs are ~1.2 GB). */
export const MAX_LORA_UPLOAD_BYTES = 2_000_000_000;
/** One upload chunk's bytes: its base64 stays well under the 16 MB message limit. */
export const LORA_UPLOAD_CHUNK_BYTES = 8_000_000;
export const uploadIdSchema = hex(32);

export const lorasUploadParamsSchema = z
  .object({
    /** Absent for the first chunk (the answer gives the id). */
    uploadId: uploadIdSchema.optional(),
    /** Where this chunk starts: the bytes received so far (chunks come in order). */
    offset: z.number().int().nonnegative().max(MAX_LORA_UPLOAD_BYTES),
    dataBase64: z.string().max(Math.ceil(LORA_UPLOAD_CHUNK_BYTES / 3) * 4),
  })
  .strict();
export const lorasUploadResultSchema = z.object({ uploadId: uploadIdSchema, received: z.number().int().nonnegative() }).strict();

/** One file for loras.import: a path (the desktop app, the CLI) or a finished upload (browser mode), with its file name. */
export const loraImportFileSchema = z.union([
  // `link`: record the file where it is instead of copying it (a path only, so never from a browser client).
  z.object({ path: z.string().min(1).max(4096), name: loraNameSchema.optional(), link: z.boolean().optional() }).strict(),
  z.object({ uploadId: uploadIdSchema, fileName: z.string().min(1).max(1024), name: loraNameSchema.optional() }).strict(),
]);
export type LoraImportFile = z.infer<typeof loraImportFileSchema>;

export const lorasImportParamsSchema = z.object({ files: z.array(loraImportFileSchema).min(1).max(50) }).strict();
export const lorasImportResultSchema = z
  .object({
    imported: z.array(loraEntrySchema).max(50),
    /** Each refused file says why (another base, LoHa, a hostile header, a name taken…). */
    rejected: z.array(z.object({ name: z.string().max(4096), reason: z.string().max(2000) }).strict()).max(50),
  })
  .strict();

export const lorasRenameParamsSchema = z.object({ name: loraNameSchema, to: loraNameSchema }).strict();
export const lorasRemoveParamsSchema = z.object({ name: loraNameSchema }).strict();
export const lorasRemoveResultSchema = z.object({ removed: loraEntrySchema }).strict();

/** The library changed (import, rename, remove); during an import, its progress in files (THE progress shape). */
export const lorasEventSchema = z
  .object({
    kind: z.enum(['import', 'rename', 'remove']),
    progress: progressSchema.optional(),
  })
  .strict();
export type LorasEvent = z.infer<typeof lorasEventSchema>;
