// Model manager shapes of the contract; they mirror src-main/core/models/service.ts.
import { z } from 'zod';
import { errorCodeSchema, studioErrorWireSchema } from '../errors';
import { modelLayoutSchema } from '../generation';
import { progressSchema } from '../progress';

const modelId = z.string().min(1).max(300);
const relPath = z.string().max(1024);
const bytes = z.number().nonnegative();

export const modelEntrySchema = z
  .object({
    id: modelId,
    source: z.enum(['catalog', 'hub', 'import']),
    displayName: z.string().max(300),
    catalogId: z.enum(['sd3.5-medium', 'sd3.5-large-turbo', 'sd3.5-large']).optional(),
    repo: z.string().max(300).optional(),
    state: z.enum(['not-installed', 'downloading', 'paused', 'failed', 'installed']),
    installed: z
      .object({
        commit: z.string().max(64).optional(),
        path: z.string().max(4096),
        layout: modelLayoutSchema.nullable(),
        t5: z.boolean(),
        verifiedAt: z.number().optional(),
      })
      .strict()
      .optional(),
    download: z
      .object({
        commit: z.string().max(64),
        t5: z.boolean(),
        doneBytes: bytes,
        totalBytes: bytes,
        error: z.object({ code: errorCodeSchema, message: z.string().max(4000) }).strict().optional(),
      })
      .strict()
      .optional(),
    sizeOnDisk: bytes,
  })
  .strict();
export type ModelEntryView = z.infer<typeof modelEntrySchema>;

export const modelsListSchema = z
  .object({
    models: z.array(modelEntrySchema).max(500),
    modelsDir: z.string().max(4096),
    freeDiskBytes: z.number().nullable(),
    /** For the fit check (src-shared/catalog.ts fitCheck). */
    machine: z.object({ ramBytes: bytes, vramBytes: bytes.optional() }).strict(),
  })
  .strict();

export const downloadHandleSchema = z
  .object({ id: modelId, repo: z.string().max(300), commit: z.string().max(64), totalBytes: bytes })
  .strict();

export const verifyResultSchema = z
  .object({
    id: modelId,
    ok: z.boolean(),
    method: z.enum(['hashes', 'structure']),
    files: z
      .array(z.object({ path: relPath, size: bytes, sha256: z.string().max(64).optional(), ok: z.boolean(), problem: z.string().max(2000).optional() }).strict())
      .max(10_000),
    problems: z.array(z.string().max(2000)).max(1000),
  })
  .strict();

export const tokenStatusSchema = z
  .object({
    source: z.enum(['env', 'stored', 'hf-token-file', 'none']),
    state: z.enum(['none', 'valid', 'rejected', 'unverified']),
    user: z.string().max(200).optional(),
    tokenName: z.string().max(200).optional(),
    storage: z.string().max(200),
    warning: z.string().max(1000).optional(),
    message: z.string().max(2000),
  })
  .strict();

const fileProgress = z
  .object({ path: relPath, size: bytes, doneBytes: bytes, bytesPerSecond: bytes, etaSeconds: z.number().nullable(), stage: z.enum(['queued', 'hashing', 'downloading', 'retrying', 'verified']) })
  .strict();
const verifiedFile = z.object({ path: relPath, size: bytes, sha256: z.string().max(64) }).strict();
export const downloadResultSchema = z
  .object({ model: modelId, repo: z.string().max(300), commit: z.string().max(64), path: z.string().max(4096), files: z.array(verifiedFile).max(10_000) })
  .strict();

/** The model manager's events, one typed union (progress is throttled to ≤ 10/s). */
export const modelEventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('download-started'), id: modelId, repo: z.string().max(300), commit: z.string().max(64), totalBytes: bytes, files: z.array(z.object({ path: relPath, size: bytes }).strict()).max(10_000) }).strict(),
  z.object({ type: z.literal('download-progress'), id: modelId, totalBytes: bytes, doneBytes: bytes, bytesPerSecond: bytes, etaSeconds: z.number().nullable(), files: z.array(fileProgress).max(10_000), progress: progressSchema }).strict(),
  z.object({ type: z.literal('download-retry'), id: modelId, path: relPath, attempt: z.number().int(), delayMs: z.number(), reason: z.string().max(2000) }).strict(),
  z.object({ type: z.literal('file-verified'), id: modelId, path: relPath, size: bytes, sha256: z.string().max(64) }).strict(),
  z.object({ type: z.literal('download-paused'), id: modelId }).strict(),
  z.object({ type: z.literal('download-cancelled'), id: modelId }).strict(),
  z.object({ type: z.literal('download-failed'), id: modelId, error: studioErrorWireSchema }).strict(),
  z.object({ type: z.literal('download-completed'), id: modelId, result: downloadResultSchema }).strict(),
  /** progress.status 'done' ends the verification (its last event). */
  z.object({ type: z.literal('verify-progress'), id: modelId, path: relPath, doneBytes: bytes, totalBytes: bytes, progress: progressSchema }).strict(),
  z.object({ type: z.literal('models-changed') }).strict(),
]);
export type ModelEventView = z.infer<typeof modelEventSchema>;

export const modelIdParams = z.object({ id: modelId }).strict();
