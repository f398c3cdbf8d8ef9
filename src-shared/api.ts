// THE contract between the renderer (or the CLI, or a browser) and StudioCore.
// Every method: a zod schema for its params and one for its result. Every event: a payload schema.
// Both transports (Electron IPC, HTTP + WebSocket) are bound from these tables, and every payload is
// validated on the receiving side. Objects are strict (unknown keys rejected), strings and arrays bounded.
import { z } from 'zod';
import { studioErrorWireSchema } from './errors';
import {
  galleryChangeSchema,
  galleryDetailSchema,
  galleryItemSchema,
  galleryPageSchema,
  galleryQuerySchema,
  imageIdSchema,
  imageIdsSchema,
  importFileSchema,
  importResultSchema,
  reuseSchema,
} from './schemas/gallery';
import {
  downloadHandleSchema,
  encoderAdditionParams,
  encoderAdditionResultSchema,
  hfTokenSchema,
  modelEntrySchema,
  modelEventSchema,
  modelIdParams,
  modelsListSchema,
  tokenStatusSchema,
  verifyResultSchema,
} from './schemas/models';
import {
  compareCreateSchema,
  compareExportSchema,
  compareIdParams,
  compareJobImagesSchema,
  compareListSchema,
  compareRenameSchema,
  comparisonListSchema,
  comparisonSchema,
  comparisonSummarySchema,
} from './schemas/compare';
import { epChoiceSchema, GENERATION_LIMITS, memoryModeSchema } from './generation';
import {
  jobsUpscaleParamsSchema,
  upscalersEventSchema,
  upscalersImportParamsSchema,
  upscalersImportResultSchema,
  upscalersListSchema,
  upscalersRemoveParamsSchema,
  upscalersRemoveResultSchema,
  upscalersUploadParamsSchema,
  upscalersUploadResultSchema,
} from './upscale';
import { inputsGetResultSchema, inputsGetSchema, inputsPutSchema, storedInputSchema } from './schemas/inputs';
import {
  lorasEventSchema,
  lorasImportParamsSchema,
  lorasImportResultSchema,
  lorasListSchema,
  lorasRemoveParamsSchema,
  lorasRemoveResultSchema,
  lorasRenameParamsSchema,
  lorasUploadParamsSchema,
  lorasUploadResultSchema,
  loraEntrySchema,
} from './schemas/loras';
import {
  jobChangedEventSchema,
  jobFailedEventSchema,
  jobGenerationDoneEventSchema,
  jobIdSchema,
  jobProgressEventSchema,
  jobTargetSchema,
  jobsCancelResultSchema,
  jobsClearFinishedResultSchema,
  jobsListParamsSchema,
  jobsListResultSchema,
  jobsMoveToFrontResultSchema,
  jobsQueueResultSchema,
  jobsRetryResultSchema,
  jobsSubmitParamsSchema,
  jobsSubmitResultSchema,
  jobsUnloadModelResultSchema,
} from './schemas/jobs';

const MAX_PATH = 4096;

export const themeSchema = z.enum(['system', 'light', 'dark']);

export const executionProviderSchema = z
  .object({
    name: z.string().max(64),
    bundled: z.boolean(),
    /** Non-bundled providers (CUDA, TensorRT): whether their library was installed. */
    installed: z.boolean().optional(),
  })
  .strict();

/** GPU memory as the OS reports it (core/gpu-memory.ts); "unknown" with the reason when it cannot tell. */
export const gpuMemorySchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('dedicated'),
      totalBytes: z.number().int().nonnegative(),
      freeBytes: z.number().int().nonnegative().optional(),
      name: z.string().max(200).optional(),
      /** windows-cim: Win32_VideoController.AdapterRAM, which stops at 4 GiB. */
      source: z.enum(['nvidia-smi', 'windows-registry', 'windows-cim']),
    })
    .strict(),
  /** Apple silicon: the GPU uses the RAM. */
  z.object({ kind: z.literal('unified'), totalBytes: z.number().int().nonnegative(), source: z.literal('macos') }).strict(),
  z.object({ kind: z.literal('unknown'), reason: z.string().max(500) }).strict(),
]);
export type GpuMemory = z.infer<typeof gpuMemorySchema>;
/** One execution provider as a short start-up check found it (inference/providers.ts). */
export const providerStatusSchema = z
  .object({
    name: z.string().max(64),
    /** loaded: a session ran on it here; failed: offered but could not start; not-installed: its library is absent. */
    status: z.enum(['loaded', 'failed', 'not-installed']),
    /** The library that was missing (libcudnn.so.9, DirectML.dll…), when known. */
    missingLibrary: z.string().max(256).optional(),
    /** ONNX Runtime's error, first line. */
    error: z.string().max(1000).optional(),
    /** What the user can do next. */
    nextStep: z.string().max(600).optional(),
  })
  .strict();
export type ProviderStatus = z.infer<typeof providerStatusSchema>;

export const systemInfoSchema = z
  .object({
    appVersion: z.string().max(64),
    platform: z.string().max(32),
    arch: z.string().max(32),
    runtime: z.enum(['electron', 'browser', 'cli']),
    versions: z.record(z.string().max(64), z.string().max(128)),
    /** As ONNX Runtime reports them (listSupportedBackends): name and whether bundled. */
    executionProviders: z.array(executionProviderSchema).max(32),
    /** Which providers actually started here, and for one that did not, the missing library and the next step. */
    providers: z.array(providerStatusSchema).max(16).optional(),
    dataDir: z.string().max(MAX_PATH),
    modelsDir: z.string().max(MAX_PATH),
    /** Free bytes on the data folder's disk, or null when it cannot be read. */
    freeDiskBytes: z.number().int().nonnegative().nullable(),
    /** Total RAM in bytes. */
    ramBytes: z.number().int().nonnegative().optional(),
    /** GPU memory where the OS can tell (the fit check uses it). */
    gpuMemory: gpuMemorySchema.optional(),
    /** True when this process holds studio.lock (runs the queue and the reconcile pass). */
    primary: z.boolean(),
    /** Things the user must know from start-up (a damaged database moved aside, files recovered…). */
    notices: z.array(z.string().max(2000)).max(20),
  })
  .strict();
export type SystemInfo = z.infer<typeof systemInfoSchema>;

export const settingsSchema = z
  .object({
    theme: themeSchema,
    executionProvider: epChoiceSchema,
    memoryMode: memoryModeSchema,
    /** Absolute path of the models folder (models are 6–30 GB, so it may live elsewhere). */
    modelsDir: z.string().min(1).max(MAX_PATH),
    livePreviews: z.boolean(),
    /** Minutes the worker keeps an idle model loaded (0: unload as soon as the queue is empty). */
    idleUnloadMinutes: z.number().int().min(0).max(1440),
  })
  .strict();
export type Settings = z.infer<typeof settingsSchema>;

export const settingsPatchSchema = settingsSchema
  .partial()
  .strict()
  .refine((p) => p.modelsDir === undefined || /^([a-zA-Z]:[\\/]|[\\/])/.test(p.modelsDir), {
    message: 'modelsDir must be an absolute path',
    path: ['modelsDir'],
  });
export type SettingsPatch = z.infer<typeof settingsPatchSchema>;

export const diagnosticsSchema = z.object({ text: z.string().max(100_000) }).strict();

const empty = z.object({}).strict();

interface MethodSpec<P extends z.ZodType, R extends z.ZodType> {
  params: P;
  result: R;
  /** One line for --help style listings and the contract docs. */
  summary: string;
}
function method<P extends z.ZodType, R extends z.ZodType>(params: P, result: R, summary: string): MethodSpec<P, R> {
  return { params, result, summary };
}

export const methods = {
  'system.info': method(empty, systemInfoSchema, 'App version, platform, execution providers, data folder, free disk'),
  'system.diagnostics': method(empty, diagnosticsSchema, 'Versions, EPs and paths as text for bug reports (never tokens)'),
  'settings.get': method(empty, settingsSchema, 'All settings'),
  'settings.set': method(settingsPatchSchema, settingsSchema, 'Change some settings; returns all of them'),

  'gallery.query': method(galleryQuerySchema, galleryPageSchema, 'A keyset page of images: search, filters, sort, cursor'),
  'gallery.get': method(z.object({ id: imageIdSchema }).strict(), galleryDetailSchema, 'Everything about one image'),
  'gallery.setFavorite': method(
    z.object({ id: imageIdSchema, favorite: z.boolean() }).strict(),
    galleryItemSchema,
    'Mark or unmark a favorite',
  ),
  'gallery.delete': method(
    z.object({ ids: imageIdsSchema }).strict(),
    z.object({ undoToken: z.string().max(200), deleted: z.number().int() }).strict(),
    'Move images to the trash; returns an undo token',
  ),
  'gallery.restore': method(
    z.union([z.object({ undoToken: z.string().min(1).max(200) }).strict(), z.object({ ids: imageIdsSchema }).strict()]),
    z.object({ restored: z.number().int() }).strict(),
    'Bring images back from the trash',
  ),
  'gallery.emptyTrash': method(
    z.object({ olderThanDays: z.number().int().min(0).max(3650).optional() }).strict(),
    z.object({ removed: z.number().int() }).strict(),
    'Delete trashed images for good',
  ),
  'gallery.import': method(
    z.object({ files: z.array(importFileSchema).min(1).max(200) }).strict(),
    importResultSchema,
    'Import PNG files from other tools (each rejected one says why)',
  ),
  'gallery.reuse': method(z.object({ id: imageIdSchema }).strict(), reuseSchema, 'Parameters of an image for the Generate form'),
  'gallery.export': method(
    z.object({ id: imageIdSchema, metadata: z.boolean() }).strict(),
    z.object({ fileName: z.string().max(300), mimeType: z.string().max(64), dataBase64: z.string().max(200_000_000) }).strict(),
    'The PNG bytes, with or without metadata (copy image, save as)',
  ),
  'gallery.reveal': method(z.object({ id: imageIdSchema }).strict(), z.object({ revealed: z.boolean() }).strict(), 'Show the file in the OS file manager (app only)'),

  'models.list': method(empty, modelsListSchema, 'Catalog and installed models with state, size on disk, downloads'),
  'models.download': method(
    z.object({ ref: z.string().min(1).max(300), t5: z.boolean().optional() }).strict(),
    downloadHandleSchema,
    'Start a verified, resumable download of a catalog id or owner/name[@rev]',
  ),
  'models.pause': method(modelIdParams, z.object({}).strict(), 'Pause a download (parts kept)'),
  'models.resume': method(modelIdParams, downloadHandleSchema, 'Resume a paused or failed download'),
  'models.cancel': method(modelIdParams, z.object({}).strict(), 'Cancel a download (parts removed)'),
  'models.verify': method(modelIdParams, verifyResultSchema, 'Re-hash every file of an installed model'),
  'models.addEncoder': method(
    encoderAdditionParams,
    encoderAdditionResultSchema,
    "Add image-to-image support: download only an installed model's VAE encoder, verified (dryRun: its files and size from the repo tree)",
  ),
  'models.remove': method(modelIdParams, z.object({}).strict(), 'Delete an installed model (imported folders are only unregistered)'),
  'models.import': method(z.object({ folder: z.string().min(1).max(4096) }).strict(), modelEntrySchema, 'Register a local model folder (either layout) without copying'),
  'models.setToken': method(
    z.object({ token: hfTokenSchema }).strict(),
    tokenStatusSchema,
    'Store the Hugging Face token (OS keychain in the app)',
  ),
  'models.clearToken': method(
    z.object({ sharedFile: z.boolean().optional() }).strict(),
    tokenStatusSchema,
    "Forget the stored Hugging Face token (huggingface-cli's shared token file only with sharedFile: true)",
  ),
  'models.tokenStatus': method(empty, tokenStatusSchema, 'Where the token comes from and whether Hugging Face accepts it'),

  'compare.create': method(compareCreateSchema, comparisonSchema, 'Save a comparison: 2–16 ordered image ids, a name, the job they came from'),
  'compare.get': method(compareIdParams, comparisonSchema, 'A saved comparison with its live images (trashed ones left out)'),
  'compare.list': method(compareListSchema, comparisonListSchema, 'Saved comparisons, most recently changed first'),
  'compare.rename': method(compareRenameSchema, comparisonSummarySchema, 'Rename a saved comparison'),
  'compare.jobImages': method(z.object({ jobId: z.number().int().positive().max(Number.MAX_SAFE_INTEGER) }).strict(), compareJobImagesSchema, 'The live images of a job, in order (Compare these seeds)'),
  'compare.export': method(compareIdParams, compareExportSchema, 'One PNG of the grid with seed and axis labels and a parameters chunk'),
  'compare.delete': method(compareIdParams, z.object({ deleted: z.boolean() }).strict(), 'Forget a saved comparison (its images stay)'),
  'models.countTokens': method(
    z.object({ model: z.string().min(1).max(300), texts: z.array(z.string().max(GENERATION_LIMITS.maxPromptChars)).min(1).max(4), t5: z.boolean().optional() }).strict(),
    z
      .object({
        /** Content tokens each encoder keeps: CLIP 75, T5 255. */
        limits: z.object({ clip: z.number().int(), t5: z.number().int() }).strict(),
        /** Per text: CLIP tokens (the longer of CLIP-L and CLIP-G), T5 tokens (null when the model has no T5 or t5 is false). */
        counts: z.array(z.object({ clip: z.number().int().nonnegative(), t5: z.number().int().nonnegative().nullable() }).strict()).max(4),
      })
      .strict(),
    "Token counts of prompts for an installed model's own tokenizers (what truncation will drop)",
  ),

  'inputs.put': method(inputsPutSchema, storedInputSchema, 'Keep a source or mask for image to image (bytes checked as import does, or a gallery image by id); named by sha256'),
  'inputs.get': method(inputsGetSchema, inputsGetResultSchema, 'The bytes of a kept source or mask, by sha256'),

  'jobs.submit': method(jobsSubmitParamsSchema, jobsSubmitResultSchema, 'Queue a job: a parameter snapshot and a sweep (≤ 64 generations)'),
  'jobs.cancel': method(jobTargetSchema, jobsCancelResultSchema, 'Cancel a queued or running job, or one generation'),
  'jobs.retry': method(jobTargetSchema, jobsRetryResultSchema, 'Queue failed, cancelled or interrupted generations again'),
  'jobs.list': method(jobsListParamsSchema, jobsListResultSchema, 'A keyset page of jobs, newest first, with counts per status'),
  'jobs.clearFinished': method(empty, jobsClearFinishedResultSchema, 'Remove finished jobs from the queue list (their images stay)'),
  'jobs.pause': method(empty, jobsQueueResultSchema, 'Hold the queue after the image being made'),
  'jobs.resume': method(empty, jobsQueueResultSchema, 'Run the queue again'),
  'jobs.moveToFront': method(z.object({ jobId: jobIdSchema }).strict(), jobsMoveToFrontResultSchema, 'Run a queued job next'),
  'jobs.unloadModel': method(empty, jobsUnloadModelResultSchema, 'Release the model the worker keeps loaded'),
  'jobs.upscale': method(jobsUpscaleParamsSchema, jobsSubmitResultSchema, 'Queue an upscale of a gallery image (Lanczos or an imported upscaler, ×2/×4) as a job; the result is a new gallery image'),
  'upscalers.list': method(empty, upscalersListSchema, 'The imported super-resolution upscalers (Lanczos is built in and not listed)'),
  'upscalers.upload': method(upscalersUploadParamsSchema, upscalersUploadResultSchema, 'Send an upscaler file in chunks (browser mode), then upscalers.import the upload'),
  'upscalers.import': method(upscalersImportParamsSchema, upscalersImportResultSchema, 'Copy a super-resolution ONNX model into the library: checked image → image, scale probed on the worker, verified by hash'),
  'upscalers.remove': method(upscalersRemoveParamsSchema, upscalersRemoveResultSchema, 'Remove an imported upscaler from the library'),

  'loras.list': method(empty, lorasListSchema, 'The LoRA library: name, base, rank, size, trigger words, title, both hashes'),
  'loras.upload': method(lorasUploadParamsSchema, lorasUploadResultSchema, 'Send a LoRA file in chunks (browser mode), then loras.import the upload'),
  'loras.import': method(lorasImportParamsSchema, lorasImportResultSchema, 'Copy LoRA files into the library, checked and verified by hash (each refused one says why)'),
  'loras.rename': method(lorasRenameParamsSchema, loraEntrySchema, 'Rename a LoRA of the library (images find it by hash)'),
  'loras.remove': method(lorasRemoveParamsSchema, lorasRemoveResultSchema, 'Remove a LoRA from the library (and the graphs made with it)'),
} as const;

export const events = {
  'settings.changed': settingsSchema,
  'gallery.changed': galleryChangeSchema,
  'models.event': modelEventSchema,
  'job.progress': jobProgressEventSchema,
  'job.generationDone': jobGenerationDoneEventSchema,
  'job.failed': jobFailedEventSchema,
  'job.changed': jobChangedEventSchema,
  'loras.changed': lorasEventSchema,
  'upscalers.changed': upscalersEventSchema,
} as const;

export type Methods = typeof methods;
export type MethodName = keyof Methods;
export type EventName = keyof typeof events;
export type ParamsOf<M extends MethodName> = z.input<Methods[M]['params']>;
export type ResultOf<M extends MethodName> = z.output<Methods[M]['result']>;
export type PayloadOf<E extends EventName> = z.output<(typeof events)[E]>;

export const methodNames = Object.keys(methods) as MethodName[];
export const eventNames = Object.keys(events) as EventName[];

export function isMethodName(name: unknown): name is MethodName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(methods, name);
}
export function isEventName(name: unknown): name is EventName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(events, name);
}

/** What StudioCore implements: one async function per method, params already validated. */
export type StudioApi = { [M in MethodName]: (params: z.output<Methods[M]['params']>) => Promise<ResultOf<M>> };

/** What every client (preload, WebSocket, CLI) offers the UI. */
export interface StudioClient {
  call<M extends MethodName>(method: M, params: ParamsOf<M>): Promise<ResultOf<M>>;
  on<E extends EventName>(event: E, listener: (payload: PayloadOf<E>) => void): () => void;
  /** URL for an image or thumbnail of the gallery, by id only. */
  mediaUrl(kind: 'image' | 'thumb', id: number, size?: 256 | 512): string;
  /** Browser mode: the fetchable URL of a one-time download path (`/download/<token>`) a reply named. */
  downloadUrl?(path: string): string;
  readonly runtime: 'electron' | 'browser';
}

// ---- Wire messages (both transports) ----
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

export const callMessageSchema = z
  .object({
    type: z.literal('call'),
    id: z.number().int().nonnegative(),
    method: z.string().max(128),
    params: z.unknown(),
  })
  .strict();
export type CallMessage = z.infer<typeof callMessageSchema>;

export const replySchema = z.discriminatedUnion('ok', [
  z.object({ type: z.literal('reply'), id: z.number().int(), ok: z.literal(true), result: z.unknown() }).strict(),
  z.object({ type: z.literal('reply'), id: z.number().int(), ok: z.literal(false), error: studioErrorWireSchema }).strict(),
]);
export type Reply = z.infer<typeof replySchema>;

export const eventMessageSchema = z
  .object({ type: z.literal('event'), event: z.string().max(128), payload: z.unknown() })
  .strict();
export type EventMessage = z.infer<typeof eventMessageSchema>;

/**
 * Browser mode's heartbeat: the tab sends `{"type":"ping"}` each HEARTBEAT_INTERVAL_MS and the server answers
 * `{"type":"pong"}` at once (outside the call queue). A tab that hears nothing at all (pong, reply or event) for
 * HEARTBEAT_TIMEOUT_MS takes the server for gone — dead, or frozen with its socket still open — says so and
 * reconnects; a connection attempt that has not opened within that time is given up and tried again.
 */
export const HEARTBEAT_INTERVAL_MS = 2000;
export const HEARTBEAT_TIMEOUT_MS = 6000;
export const heartbeatMessageSchema = z.object({ type: z.enum(['ping', 'pong']) }).strict();
export type HeartbeatMessage = z.infer<typeof heartbeatMessageSchema>;

/** IPC channel names: one for calls, one for events. */
export const IPC_CALL_CHANNEL = 'studio:call';
export const IPC_EVENT_CHANNEL = 'studio:event';
