// host ⇄ worker messages (docs/architecture.md §1, §5). Every message is a plain object with a `type`, validated with zod
// on receipt by both sides (and before sending, so a bug shows up where it is made). A malformed message is
// logged and ignored: it never crashes the host or the worker. Binary payloads (previews, the final image) are
// Uint8Arrays: child_process.fork runs with serialization 'advanced' and Electron's utilityProcess uses the
// structured clone, so they cross without base64.
import { z } from 'zod';
import { studioErrorWireSchema } from '../../src-shared/errors';
import { clipHiddenSchema, epChoiceSchema, GENERATION_LIMITS, loraStrengthSchema, memoryModeSchema, modelLayoutSchema, precisionSchema, seedSchema } from '../../src-shared/generation';
import { generationStepSchema } from '../../src-shared/progress';

export const PROTOCOL_VERSION = 2;

/** Set by the host in the worker's environment: this process is the inference worker (starts its loop). */
export const WORKER_ENV_FLAG = 'SD35_INFERENCE_WORKER';

/** One message exchange of the host with the worker (a load or a generation): a worker request. */
const requestId = z.number().int().nonnegative();
const folder = z.string().min(1).max(4096);
const ms = z.number().finite().nonnegative();

const bytes = z.custom<Uint8Array>((v) => v instanceof Uint8Array, { message: 'expected a Uint8Array' });

/** A live preview: a small PNG (latent size, image size / 8) ready to show. */
const previewImage = z
  .object({
    width: z.number().int().min(1).max(1024),
    height: z.number().int().min(1).max(1024),
    png: bytes,
  })
  .strict()
  .refine((v) => v.png.length >= 8 && v.png[0] === 0x89 && v.png[1] === 0x50, { message: 'png must hold a PNG file' });

/** One LoRA of a generation as the worker takes it: the library file, its sha256, the strength, the name for messages. */
export const loraUseSchema = z
  .object({
    path: folder,
    sha256: z.string().regex(/^[0-9a-f]{64}$/u),
    strength: loraStrengthSchema,
    name: z.string().min(1).max(256),
  })
  .strict();

export type LoraUseWire = z.infer<typeof loraUseSchema>;

/** What a LoRA applied in the loaded model (image metadata; unmatched keys are a warning). */
export const loraReportSchema = z
  .object({
    sha256: z.string().regex(/^[0-9a-f]{64}$/u),
    applied: z.record(z.string().max(32), z.number().int().nonnegative()),
    unmatched: z.array(z.string().max(300)).max(2000),
  })
  .strict();

/**
 * The generation parameters as the pipeline takes them (GenerateRequest). Only the types are checked here
 * (the seed is THE seed schema: a decimal string, 0 … 2^64−1): the ranges are THE parameter schema's, checked by
 * the pipeline's validateRequest, so an out-of-range value comes back as an invalid_input error instead of being dropped as a
 * malformed message (the prompts' bound is the kept-prompt limit, above what a generation accepts).
 */
export const generateRequestSchema = z
  .object({
    prompt: z.string().max(GENERATION_LIMITS.maxKeptPromptChars),
    negativePrompt: z.string().max(GENERATION_LIMITS.maxKeptPromptChars),
    seed: seedSchema,
    steps: z.number(),
    guidance: z.number(),
    width: z.number(),
    height: z.number(),
    t5: z.boolean(),
    // Loose here (the pipeline's validateRequest names what is wrong); bounded so a message stays small.
    sampler: z.string().max(64).optional(),
    scheduler: z.string().max(64).optional(),
    shift: z.number().optional(),
    slg: z
      .object({ layers: z.array(z.number()).max(256), scale: z.number(), start: z.number(), end: z.number() })
      .strict()
      .optional(),
    /** LoRAs to apply, in order (strength input k = the k-th): library files the host resolved. */
    loras: z.array(loraUseSchema).max(GENERATION_LIMITS.maxLoras).optional(),
    /** Image to image / inpainting: the source fitted to width × height (RGB) and the mask's luminance. */
    image: z
      .object({
        rgb: bytes,
        strength: z.number(),
        mask: bytes.optional(),
        maskBlur: z.number().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

/** Which model to have loaded, and how: the worker keeps it while these stay the same (warm generations). */
export const modelSpecSchema = z
  .object({
    folder,
    ep: epChoiceSchema,
    memory: memoryModeSchema,
    /** ORT intraOpNumThreads; absent = SD35_ORT_THREADS from the worker's env, else ORT's default. */
    threads: z.number().int().min(1).max(1024).optional(),
    /** Where the op-probe answers are cached on disk (<data>/op-probes, shared with the main process's check). */
    probeCacheDir: folder.optional(),
    /** The studio's folder of derived graphs (<data>/graphs, model-folder/derived-graphs.ts). */
    graphsDir: folder.optional(),
  })
  .strict();
export type ModelSpec = z.infer<typeof modelSpecSchema>;

// ---------------------------------------------------------------------------------------------
// host → worker

export const loadMessageSchema = z.object({ type: z.literal('load'), requestId, model: modelSpecSchema }).strict();

export const generateMessageSchema = z
  .object({
    type: z.literal('generate'),
    requestId,
    /** The history generation this request produces (for logs), when there is one. */
    generationId: z.number().int().nonnegative().optional(),
    model: modelSpecSchema,
    request: generateRequestSchema,
    /** Send a live preview (a small PNG, previewImage) with the steps (at most ~10 per second). */
    previews: z.boolean(),
    /**
     * Test hold point for this request (docs/architecture.md §5), honoured only when the worker runs with SD35_TEST_MODE=1:
     * a string replaces SD35_TEST_HOLD for the request, null clears it; absent keeps the worker's env.
     */
    testHold: z.string().max(64).nullable().optional(),
  })
  .strict();

/**
 * Upscale an image with a super-resolution model file (docs/architecture.md §5 "Upscale"), tiled; `scale` 0 only
 * probes the model (checks it is image → image and answers its scale with an empty image).
 */
export const upscaleMessageSchema = z
  .object({
    type: z.literal('upscale'),
    requestId,
    file: folder,
    rgb: bytes,
    width: z.number().int().min(0).max(16_384),
    height: z.number().int().min(0).max(16_384),
    scale: z.number().int().min(0).max(8),
    threads: z.number().int().min(1).max(1024).optional(),
  })
  .strict()
  .refine((m) => m.rgb.length === m.width * m.height * 3, { message: 'rgb must hold width × height × 3 bytes' });

export const cancelMessageSchema = z
  .object({ type: z.literal('cancel'), /** absent: whatever request runs */ requestId: requestId.optional() })
  .strict();

export const shutdownMessageSchema = z.object({ type: z.literal('shutdown') }).strict();

const probeResult = z
  .object({ supported: z.boolean(), detail: z.string().max(2000).optional(), inconclusive: z.literal(true).optional() })
  .strict();

/** The answers to the worker's `probe` (issue 18 §2: the host ran them in a short-lived child process). */
export const probedMessageSchema = z
  .object({ type: z.literal('probed'), probeId: z.number().int().nonnegative(), results: z.array(probeResult).max(1000) })
  .strict();

export const hostToWorkerSchema = z.discriminatedUnion('type', [
  loadMessageSchema,
  generateMessageSchema,
  upscaleMessageSchema,
  cancelMessageSchema,
  shutdownMessageSchema,
  probedMessageSchema,
]);
export type HostToWorker = z.infer<typeof hostToWorkerSchema>;
export type GenerateMessage = z.infer<typeof generateMessageSchema>;
export type UpscaleMessage = z.infer<typeof upscaleMessageSchema>;

// ---------------------------------------------------------------------------------------------
// worker → host

export const readyMessageSchema = z
  .object({
    type: z.literal('ready'),
    protocol: z.literal(PROTOCOL_VERSION),
    pid: z.number().int(),
    /** How the worker talks to its parent. */
    transport: z.enum(['parentPort', 'process']),
  })
  .strict();

/**
 * The worker starts loading a model for the request (session creation, which cannot be interrupted): until its
 * `loaded`, a cancel makes the host force-stop the worker instead of waiting for the load (issue 18 §3).
 */
export const loadingMessageSchema = z.object({ type: z.literal('loading'), requestId }).strict();

/**
 * Op probes the worker needs while it loads a model (ort-probe.ts): the host runs them in a short-lived child
 * process (op-probe-runner.ts) and answers `probed`, so a probe that hangs or crashes ORT never takes the worker.
 */
export const probeMessageSchema = z
  .object({
    type: z.literal('probe'),
    probeId: z.number().int().nonnegative(),
    provider: z.string().min(1).max(32),
    graphs: z.array(z.custom<Uint8Array>((v) => v instanceof Uint8Array && v.byteLength <= 16 * 1024 * 1024, { message: 'expected a probe graph' })).max(1000),
  })
  .strict();

/** A model is ready for the request: freshly loaded (reused false) or kept from an earlier one (reused true). */
export const loadedMessageSchema = z
  .object({
    type: z.literal('loaded'),
    requestId,
    folder,
    reused: z.boolean(),
    layout: modelLayoutSchema,
    hasT5: z.boolean(),
    /** The provider sessions run on (the transformer's once it exists). */
    ep: z.string().min(1).max(32),
    /** Why the GPU provider of `auto` is not used, when it is not. */
    epFallbackReason: z.string().max(2000).optional(),
    /** Element type of the transformer's inputs: fp16 exports are slow on the CPU. */
    precision: precisionSchema,
    clipHidden: clipHiddenSchema,
    loadMs: ms,
  })
  .strict();

/** THE generation-step shape (src-shared/progress.ts) with the request it belongs to and its PNG preview. */
export const stepMessageSchema = generationStepSchema
  .extend({
    type: z.literal('step'),
    requestId,
    preview: previewImage.optional(),
  })
  .strict();

export const resultMessageSchema = z
  .object({
    type: z.literal('result'),
    requestId,
    rgb: bytes,
    width: z.number().int().min(1).max(65_535),
    height: z.number().int().min(1).max(65_535),
    ep: z.string().min(1).max(32),
    precision: precisionSchema,
    clipHidden: clipHiddenSchema,
    t5: z.boolean(),
    timings: z
      .object({ loadMs: ms, encodeMs: ms, denoiseMs: ms, decodeMs: ms, totalMs: ms })
      .strict(),
    dropped: z.object({ clip: z.number().int().nonnegative(), t5: z.number().int().nonnegative() }).strict(),
    /** The schedule shift used: the request's, else the model's scheduler_config.json (read once at load). */
    shift: z.number(),
    /** The model was kept from an earlier request (no sessions created for this one, beyond what the memory mode frees). */
    modelReused: z.boolean(),
    /** Ops the portability pass rewrote for the provider ('com.microsoft.GroupNorm', …), when any. */
    rewrittenOps: z.array(z.string().min(1).max(200)).max(100).optional(),
    /** Per LoRA of the request, in order: what was applied. */
    loras: z.array(loraReportSchema).max(GENERATION_LIMITS.maxLoras).optional(),
  })
  .strict()
  .refine((m) => m.rgb.length === m.width * m.height * 3, { message: 'rgb must hold width × height × 3 bytes' });

export const errorMessageSchema = z
  .object({
    type: z.literal('error'),
    /** The request that failed; absent for an error outside any request. */
    requestId: requestId.optional(),
    error: studioErrorWireSchema,
  })
  .strict();

/** The upscaled image (empty for a probe) and the model's scale. */
export const upscaledMessageSchema = z
  .object({
    type: z.literal('upscaled'),
    requestId,
    rgb: bytes,
    width: z.number().int().min(0).max(65_535),
    height: z.number().int().min(0).max(65_535),
    scale: z.number().int().min(1).max(8),
  })
  .strict()
  .refine((m) => m.rgb.length === m.width * m.height * 3, { message: 'rgb must hold width × height × 3 bytes' });

export const logMessageSchema = z
  .object({
    type: z.literal('log'),
    level: z.enum(['debug', 'info', 'warn', 'error']),
    message: z.string().max(20_000),
  })
  .strict();

export type ReadyMessage = z.infer<typeof readyMessageSchema>;
export type LoadedMessage = z.infer<typeof loadedMessageSchema>;
export type StepMessage = z.infer<typeof stepMessageSchema>;
export type ResultMessage = z.infer<typeof resultMessageSchema>;
export type ErrorMessage = z.infer<typeof errorMessageSchema>;
export type LogMessage = z.infer<typeof logMessageSchema>;
export type LoadingMessage = z.infer<typeof loadingMessageSchema>;
export type ProbeMessage = z.infer<typeof probeMessageSchema>;
export type UpscaledMessage = z.infer<typeof upscaledMessageSchema>;
export type WorkerToHost = ReadyMessage | LoadingMessage | ProbeMessage | LoadedMessage | StepMessage | ResultMessage | UpscaledMessage | ErrorMessage | LogMessage;

export type ParseResult<T> = { ok: true; message: T } | { ok: false; problem: string };

function problemText(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.join('.') || '(message)'}: ${i.message}`)
    .join('; ');
}

/** Validates a message received by the worker. */
export function parseHostMessage(raw: unknown): ParseResult<HostToWorker> {
  const r = hostToWorkerSchema.safeParse(raw);
  return r.success ? { ok: true, message: r.data } : { ok: false, problem: problemText(r.error) };
}

const BY_TYPE: Record<WorkerToHost['type'], z.ZodType> = {
  ready: readyMessageSchema,
  loading: loadingMessageSchema,
  probe: probeMessageSchema,
  loaded: loadedMessageSchema,
  step: stepMessageSchema,
  result: resultMessageSchema,
  upscaled: upscaledMessageSchema,
  error: errorMessageSchema,
  log: logMessageSchema,
};

/** Validates a message received by the host. */
export function parseWorkerMessage(raw: unknown): ParseResult<WorkerToHost> {
  const type = typeof raw === 'object' && raw !== null ? (raw as { type?: unknown }).type : undefined;
  const schema = typeof type === 'string' && Object.hasOwn(BY_TYPE, type) ? BY_TYPE[type as WorkerToHost['type']] : undefined;
  if (!schema) return { ok: false, problem: `unknown message type ${JSON.stringify(type) ?? 'undefined'}` };
  const r = schema.safeParse(raw);
  return r.success ? { ok: true, message: r.data as WorkerToHost } : { ok: false, problem: problemText(r.error) };
}

/** A short description of a message for logs (no prompt text, no pixels). */
export function describeMessage(raw: unknown): string {
  if (typeof raw !== 'object' || raw === null) return typeof raw;
  const type = (raw as { type?: unknown }).type;
  return `message of type ${JSON.stringify(type) ?? 'undefined'}`;
}
