// Model manager shapes of the contract; the model room uses these types (core/models/service.ts).
import { z } from 'zod';
import { errorCodeSchema, studioErrorWireSchema } from '../errors';
import { modelLayoutSchema } from '../generation';
import { downloadProgressSchema, verifyProgressSchema } from '../progress';

const modelId = z.string().min(1).max(300);
const relPath = z.string().max(1024);
const bytes = z.number().nonnegative();

/**
 * Whether a model's graphs run on this machine, found from the graphs alone before the large files
 *: runs = every op has a kernel on the provider; rewrites = it runs with ops rewritten into
 * standard ONNX (a derived portable graph); blocked = an op has no kernel and no rewrite.
 */
export const portabilityVerdictSchema = z
  .object({
    verdict: z.enum(['runs', 'rewrites', 'blocked']),
    /** The provider the check was made for ('cpu', 'dml', 'coreml', 'cuda', …). */
    provider: z.string().max(32),
    /** "runs on DirectML", "runs here on the CPU with 3 operators rewritten", "cannot run here: …". */
    text: z.string().max(4000),
    /** Ops rewritten ('com.microsoft.GroupNorm', …). */
    rewritten: z.array(z.string().max(200)).max(200),
    /** Ops nothing covers, with the graph that has them. */
    blocked: z.array(z.object({ op: z.string().max(200), file: relPath }).strict()).max(200),
  })
  .strict();
export type PortabilityVerdict = z.infer<typeof portabilityVerdictSchema>;

/**
 * Whether Skip-Layer Guidance can run on an installed model: the SLG switch pass (model-folder/slg-switch.ts)
 * found its transformer's joint blocks (how many: SLG layers are 0 … blocks − 1), or why not. Found by the core
 * from the transformer graph (no weights read); the Generate form greys SLG out with `reason`.
 */
export const skipLayerSupportSchema = z.discriminatedUnion('available', [
  z.object({ available: z.literal(true), blocks: z.number().int().min(1).max(4096) }).strict(),
  z.object({ available: z.literal(false), reason: z.string().max(1000) }).strict(),
]);
export type SkipLayerSupport = z.infer<typeof skipLayerSupportSchema>;

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
        skipLayers: skipLayerSupportSchema.optional(),
        /** Whether the folder has the VAE encoder (image to image); false offers "Add image-to-image support". */
        vaeEncoder: z.boolean().optional(),
      })
      .strict()
      .optional(),
    download: z
      .object({
        commit: z.string().max(64),
        t5: z.boolean(),
        /** THE progress shape (task download, bytes): the live totals while it runs, the saved ones when paused or failed (status says which). */
        progress: downloadProgressSchema,
        error: z.object({ code: errorCodeSchema, message: z.string().max(4000) }).strict().optional(),
        /** 'vae-encoder': the download adds image-to-image support to the installed model (core/models/encoder-addition.ts). */
        adds: z.literal('vae-encoder').optional(),
      })
      .strict()
      .optional(),
    sizeOnDisk: bytes,
    portability: portabilityVerdictSchema.optional(),
  })
  .strict();
export type ModelEntryView = z.infer<typeof modelEntrySchema>;

export const modelsListSchema = z
  .object({
    /** Entries that do not fit the schema are dropped one by one: one bad entry never hides every model. */
    models: z
      .array(z.unknown())
      .max(500)
      .transform((items) => items.flatMap((item) => {
        const entry = modelEntrySchema.safeParse(item);
        return entry.success ? [entry.data] : [];
      })),
    modelsDir: z.string().max(4096),
    freeDiskBytes: z.number().nullable(),
    /** For the fit check (src-shared/catalog.ts fitCheck). */
    machine: z
      .object({
        ramBytes: bytes,
        vramBytes: bytes.optional(),
        /** The execution provider the fit check assumes ('cpu', 'cuda', 'dml', 'coreml', 'webgpu'). */
        provider: z.string().max(32).optional(),
        /** GPU memory is the RAM (Apple silicon). */
        unified: z.boolean().optional(),
      })
      .strict(),
  })
  .strict();

export const downloadHandleSchema = z
  .object({ id: modelId, repo: z.string().max(300), commit: z.string().max(64), totalBytes: bytes })
  .strict();

/**
 * models.addEncoder: "Add image-to-image support" to an installed model: only its VAE encoder's files, from the repo
 * tree at the installed commit. planned (dryRun: the files and size), started (a download, followed by models.event),
 * present (the model has the encoder already).
 */
export const encoderAdditionParams = z.object({ id: modelId, dryRun: z.boolean().optional() }).strict();
export const encoderAdditionResultSchema = z
  .object({
    id: modelId,
    repo: z.string().max(300),
    commit: z.string().max(64),
    state: z.enum(['planned', 'started', 'present']),
    files: z.array(z.object({ path: relPath, size: bytes }).strict()).max(100),
    totalBytes: bytes,
  })
  .strict();
export type EncoderAdditionResult = z.infer<typeof encoderAdditionResultSchema>;

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

/** A Hugging Face token as models.setToken accepts it: 8–400 visible ASCII characters. */
export const HF_TOKEN_PATTERN = /^[\x21-\x7e]{8,400}$/;
export const hfTokenSchema = z.string().regex(HF_TOKEN_PATTERN, 'a Hugging Face token is 8–400 visible ASCII characters');

export const tokenStatusSchema = z
  .object({
    source: z.enum(['env', 'stored', 'hf-token-file', 'none']),
    state: z.enum(['none', 'valid', 'rejected', 'unverified']),
    user: z.string().max(200).optional(),
    tokenName: z.string().max(200).optional(),
    storage: z.string().max(200),
    /** Set when saved tokens live in a file other tools share (huggingface-cli's): its path. */
    sharedFile: z.string().max(4096).optional(),
    warning: z.string().max(1000).optional(),
    message: z.string().max(2000),
  })
  .strict();
export type TokenStatus = z.infer<typeof tokenStatusSchema>;
export type VerifyResult = z.infer<typeof verifyResultSchema>;

export const FILE_STAGES = ['queued', 'hashing', 'downloading', 'retrying', 'verified'] as const;
export type FileStage = (typeof FILE_STAGES)[number];
/** One file of a download: its stage (hashing = checking the part already on disk) and its progress in bytes (total = its size). */
export const fileProgressSchema = z.object({ path: relPath, stage: z.enum(FILE_STAGES), progress: downloadProgressSchema }).strict();
export type FileProgress = z.infer<typeof fileProgressSchema>;
const verifiedFile = z.object({ path: relPath, size: bytes, sha256: z.string().max(64) }).strict();
export const downloadResultSchema = z
  .object({ model: modelId, repo: z.string().max(300), commit: z.string().max(64), path: z.string().max(4096), files: z.array(verifiedFile).max(10_000) })
  .strict();
export type DownloadResult = z.infer<typeof downloadResultSchema>;

/** The model manager's events, one typed union (progress is throttled to ≤ 10/s). */
export const modelEventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('download-started'), id: modelId, repo: z.string().max(300), commit: z.string().max(64), totalBytes: bytes, files: z.array(z.object({ path: relPath, size: bytes }).strict()).max(10_000) }).strict(),
  /** THE progress shape (task download, bytes) over the whole set of files, and each file's. */
  z.object({ type: z.literal('download-progress'), id: modelId, progress: downloadProgressSchema, files: z.array(fileProgressSchema).max(10_000) }).strict(),
  z.object({ type: z.literal('download-retry'), id: modelId, path: relPath, attempt: z.number().int(), delayMs: z.number(), reason: z.string().max(2000) }).strict(),
  z.object({ type: z.literal('file-verified'), id: modelId, path: relPath, size: bytes, sha256: z.string().max(64) }).strict(),
  z.object({ type: z.literal('download-paused'), id: modelId }).strict(),
  z.object({ type: z.literal('download-cancelled'), id: modelId }).strict(),
  z.object({ type: z.literal('download-failed'), id: modelId, error: studioErrorWireSchema }).strict(),
  z.object({ type: z.literal('download-completed'), id: modelId, result: downloadResultSchema }).strict(),
  /** THE progress shape (task verify, bytes; label: the file being hashed); status 'done' ends the verification (its last event). */
  z.object({ type: z.literal('verify-progress'), id: modelId, progress: verifyProgressSchema }).strict(),
  z.object({ type: z.literal('models-changed') }).strict(),
  z.object({ type: z.literal('download-verdict'), id: modelId, verdict: portabilityVerdictSchema }).strict(),
]);
export type ModelEventView = z.infer<typeof modelEventSchema>;

export const modelIdParams = z.object({ id: modelId }).strict();
