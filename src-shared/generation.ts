// The one generation vocabulary (docs/architecture.md §5): the parameters of a generation and their limits, the seed,
// per-variant defaults, size presets, sweeps, and the engine's enums with their labels. The Generate form,
// jobs.submit, the worker protocol, the CLI and Settings all import these; nothing else defines them.
// Imports nothing platform-specific (and only types from catalog.ts, which imports this file).
import { z } from 'zod';
import type { CatalogId } from './catalog';
import { StudioError } from './errors';
import { initImageSchema } from './img2img';

// ---------------------------------------------------------------------------------------------
// Engine enums, each written once, with the labels people see

export const EP_CHOICES = ['auto', 'cpu', 'cuda', 'dml', 'coreml', 'webgpu'] as const;
export const epChoiceSchema = z.enum(EP_CHOICES);
export type EpChoice = z.infer<typeof epChoiceSchema>;
export const EP_LABELS: Readonly<Record<EpChoice, string>> = {
  auto: 'Automatic (GPU when usable, else CPU)',
  cpu: 'CPU',
  cuda: 'CUDA (NVIDIA, Linux/Windows)',
  dml: 'DirectML (Windows)',
  coreml: 'Core ML (macOS)',
  webgpu: 'WebGPU (experimental)',
};

export const MEMORY_MODES = ['fast', 'balanced', 'low'] as const;
export const memoryModeSchema = z.enum(MEMORY_MODES);
export type MemoryMode = z.infer<typeof memoryModeSchema>;
/** Short names ("Fast mode") and the explanation Settings shows. */
export const MEMORY_MODE_LABELS: Readonly<Record<MemoryMode, string>> = { fast: 'Fast', balanced: 'Balanced', low: 'Low memory' };
export const MEMORY_MODE_DESCRIPTIONS: Readonly<Record<MemoryMode, string>> = {
  fast: 'keep every model part loaded',
  balanced: 'free the text encoders after encoding',
  low: 'load each part only while it runs',
};

export const MODEL_LAYOUTS = ['optimum', 'tensorstack'] as const;
export const modelLayoutSchema = z.enum(MODEL_LAYOUTS);
export type ModelLayout = z.infer<typeof modelLayoutSchema>;
export const MODEL_LAYOUT_LABELS: Readonly<Record<ModelLayout, string>> = {
  optimum: 'Optimum (transformer/)',
  tensorstack: 'TensorStack (unet/)',
};

export const PRECISIONS = ['fp16', 'fp32'] as const;
export const precisionSchema = z.enum(PRECISIONS);
export type Precision = z.infer<typeof precisionSchema>;
export const PRECISION_LABELS: Readonly<Record<Precision, string>> = { fp16: 'fp16 (half precision)', fp32: 'fp32 (full precision)' };

export const CLIP_HIDDEN = ['penultimate', 'last'] as const;
export const clipHiddenSchema = z.enum(CLIP_HIDDEN);
export type ClipHidden = z.infer<typeof clipHiddenSchema>;
export const CLIP_HIDDEN_LABELS: Readonly<Record<ClipHidden, string>> = {
  penultimate: 'Penultimate CLIP layer (as diffusers)',
  last: 'Last CLIP layer (this export has no penultimate one)',
};

// ---------------------------------------------------------------------------------------------
// Limits

export const GENERATION_LIMITS = {
  sizeMultiple: 16,
  minSide: 64,
  maxSide: 2048,
  /** 4 MP: 2048 × 2048. */
  maxPixels: 2048 * 2048,
  minSteps: 1,
  maxSteps: 150,
  minGuidance: 0,
  maxGuidance: 30,
  /** The longest prompt or negative prompt a generation accepts (the form, jobs.submit, the worker, countTokens). */
  maxPromptChars: 10_000,
  /**
   * The longest prompt the gallery and the image metadata keep: imported images' prompts (written by other tools)
   * may be longer than what a generation accepts. Also the worker protocol's message guard, above maxPromptChars so
   * an over-long prompt reaches the pipeline and comes back as invalid_input.
   */
  maxKeptPromptChars: 100_000,
  maxModelRefChars: 4096,
  /** Generations one jobs.submit may create (seeds × axis values). */
  maxPerSubmit: 64,
  /** LoRAs one generation may stack, and the strength range (A1111 accepts any number; ±10 is far past useful). */
  maxLoras: 8,
  minLoraStrength: -10,
  maxLoraStrength: 10,
} as const;

// ---------------------------------------------------------------------------------------------
// The seed: a decimal string everywhere on the wire and in storage, 0 … 2^64−1, exact

export const MAX_SEED = 2n ** 64n - 1n;
export const MAX_SEED_TEXT = MAX_SEED.toString();
/** Random seeds are drawn in [0, 2^32) (the RNG uses the low 32 bits anyway). */
export const RANDOM_SEED_LIMIT = 2 ** 32;

export function isSeedText(v: string): boolean {
  return /^(0|[1-9][0-9]{0,19})$/.test(v) && BigInt(v) <= MAX_SEED;
}

/** THE seed schema: an unsigned 64-bit integer written in decimal ("6952411511246973023"). */
export const seedSchema = z
  .string()
  .max(20)
  .refine(isSeedText, { message: `a seed is a whole number from 0 to ${MAX_SEED_TEXT}, written in decimal` });
export type Seed = z.infer<typeof seedSchema>;

/** A seed from what a person typed or a tool wrote (number, bigint, decimal text); null when it is not one. */
export function parseSeed(v: unknown): string | null {
  let text: string;
  if (typeof v === 'bigint') text = v.toString();
  else if (typeof v === 'number') {
    if (!Number.isSafeInteger(v) || v < 0) return null;
    text = String(v);
  } else if (typeof v === 'string') text = v.trim().replace(/^\+/, '').replace(/^0+(?=\d)/, '');
  else return null;
  return isSeedText(text) ? text : null;
}

/** parseSeed, or StudioError invalid_input naming what was wrong (`what`: "--seed", "The seed"…). */
export function requireSeed(v: unknown, what = 'The seed'): string {
  const seed = parseSeed(v);
  if (seed === null) {
    const shown = typeof v === 'string' ? JSON.stringify(v.slice(0, 40)) : String(v);
    throw new StudioError('invalid_input', `${what} must be a whole number from 0 to ${MAX_SEED_TEXT} (got ${shown}).`, { field: 'seed' });
  }
  return seed;
}

/** A random seed in [0, 2^32), from the platform's cryptographic generator. */
export function randomSeed(): string {
  return String(globalThis.crypto.getRandomValues(new Uint32Array(1))[0]!);
}

/** seed + k as a seed, or null past 2^64−1. */
export function addToSeed(seed: string, k: number): string | null {
  const v = BigInt(seed) + BigInt(k);
  return v <= MAX_SEED && v >= 0n ? v.toString() : null;
}

/** What the noise generator is seeded with: the low 32 bits (torch's CPU mt19937, docs/architecture.md §5). */
export function seedLow32(seed: string): number {
  return Number(BigInt.asUintN(32, BigInt(seed)));
}

// ---------------------------------------------------------------------------------------------
// Parameters

const promptText = z.string().max(GENERATION_LIMITS.maxPromptChars);
const side = z
  .number()
  .int()
  .min(GENERATION_LIMITS.minSide)
  .max(GENERATION_LIMITS.maxSide)
  .refine((v) => v % GENERATION_LIMITS.sizeMultiple === 0, { message: `must be a multiple of ${GENERATION_LIMITS.sizeMultiple}` });
export const stepsSchema = z.number().int().min(GENERATION_LIMITS.minSteps).max(GENERATION_LIMITS.maxSteps);
export const guidanceSchema = z.number().finite().min(GENERATION_LIMITS.minGuidance).max(GENERATION_LIMITS.maxGuidance);
/** A catalog id, owner/name, folder:<name>, or (CLI) a model folder path. */
export const modelRefSchema = z.string().min(1).max(GENERATION_LIMITS.maxModelRefChars);

// LoRAs: a generation names library LoRAs with a strength each (docs/architecture.md §5, LoRA).
export const loraStrengthSchema = z.number().finite().min(GENERATION_LIMITS.minLoraStrength).max(GENERATION_LIMITS.maxLoraStrength);
/** One LoRA of a generation: its library name (as in `<lora:name:0.8>`), the file's sha256 (its identity) and the strength. */
export const loraRefSchema = z
  .object({
    name: z.string().min(1).max(256),
    sha256: z.string().regex(/^[0-9a-f]{64}$/u),
    strength: loraStrengthSchema,
  })
  .strict();
export type LoraRef = z.infer<typeof loraRefSchema>;

const paramsShape = {
  prompt: promptText,
  negativePrompt: promptText,
  model: modelRefSchema,
  seed: seedSchema,
  steps: stepsSchema,
  guidance: guidanceSchema,
  width: side,
  height: side,
  t5: z.boolean(),
  loras: z.array(loraRefSchema).max(GENERATION_LIMITS.maxLoras).optional(),
  /** Image to image / inpainting: the source (and mask) of the job (src-shared/img2img.ts). */
  init: initImageSchema.optional(),
};
const withinPixels = (p: { width: number; height: number }) => p.width * p.height <= GENERATION_LIMITS.maxPixels;
const pixelsMessage = { message: `at most ${GENERATION_LIMITS.maxPixels} pixels (2048×2048)`, path: ['width'] };

/** THE parameters of one generation. */
export const generationParamsSchema = z.object(paramsShape).strict().refine(withinPixels, pixelsMessage);
export type GenerationParams = z.infer<typeof generationParamsSchema>;

/** What the form submits for a job: the parameters without the seed (the sweep gives the seeds). */
export const jobParamsSchema = z
  .object(paramsShape)
  .omit({ seed: true })
  .strict()
  .refine(withinPixels, pixelsMessage);
export type JobParams = z.infer<typeof jobParamsSchema>;

// ---------------------------------------------------------------------------------------------
// Per-variant defaults and size presets

export interface VariantDefaults {
  steps: number;
  guidance: number;
  width: number;
  height: number;
  shift: number;
}

export const VARIANT_DEFAULTS: Readonly<Record<CatalogId, VariantDefaults>> = {
  'sd3.5-medium': { steps: 40, guidance: 4.5, width: 1024, height: 1024, shift: 3 },
  'sd3.5-large-turbo': { steps: 4, guidance: 0, width: 1024, height: 1024, shift: 3 },
  'sd3.5-large': { steps: 28, guidance: 3.5, width: 1024, height: 1024, shift: 3 },
};
/** For models outside the catalog (imported folders): Medium's. */
export const FALLBACK_DEFAULTS: VariantDefaults = VARIANT_DEFAULTS['sd3.5-medium'];

export function defaultsFor(id: string): VariantDefaults {
  return Object.hasOwn(VARIANT_DEFAULTS, id) ? VARIANT_DEFAULTS[id as CatalogId] : FALLBACK_DEFAULTS;
}

export const ASPECTS = ['1:1', '4:3', '3:4', '3:2', '2:3', '16:9', '9:16', '21:9', '9:21'] as const;
export type Aspect = (typeof ASPECTS)[number];

export interface SizePreset {
  aspect: Aspect;
  width: number;
  height: number;
}

/**
 * One size per aspect ratio at about `pixels` (the variant's native area: defaults.width × defaults.height),
 * both sides multiples of 16 and within the limits.
 */
export function sizePresets(pixels: number): SizePreset[] {
  const L = GENERATION_LIMITS;
  const m = L.sizeMultiple;
  const clampSide = (v: number) => Math.min(L.maxSide, Math.max(L.minSide, Math.round(v / m) * m));
  return ASPECTS.map((aspect) => {
    const [a, b] = aspect.split(':').map(Number) as [number, number];
    const height = clampSide(Math.sqrt((pixels * b) / a));
    const width = clampSide((height * a) / b);
    return { aspect, width, height };
  });
}

export function sizePresetsFor(id: string): SizePreset[] {
  const d = defaultsFor(id);
  return sizePresets(d.width * d.height);
}

// ---------------------------------------------------------------------------------------------
// Sweeps: seeds × an optional second axis, at most 64 generations per submit

const count = z.number().int().min(1).max(GENERATION_LIMITS.maxPerSubmit);
export const seedSweepSchema = z.discriminatedUnion('mode', [
  z.object({ mode: z.literal('consecutive'), first: seedSchema, count }).strict(),
  /** count seeds drawn at submit time in [0, 2^32). */
  z.object({ mode: z.literal('random'), count }).strict(),
  z.object({ mode: z.literal('list'), seeds: z.array(seedSchema).min(1).max(GENERATION_LIMITS.maxPerSubmit) }).strict(),
]);
export type SeedSweep = z.infer<typeof seedSweepSchema>;

const axisValues = <T extends z.ZodType>(v: T) => z.array(v).min(1).max(GENERATION_LIMITS.maxPerSubmit);
export const sweepAxisSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('guidance'), values: axisValues(guidanceSchema) }).strict(),
  z.object({ kind: z.literal('steps'), values: axisValues(stepsSchema) }).strict(),
  z.object({ kind: z.literal('model'), values: axisValues(modelRefSchema) }).strict(),
]);
export type SweepAxis = z.infer<typeof sweepAxisSchema>;
export type AxisValue = number | string;

export function seedCount(seeds: SeedSweep): number {
  return seeds.mode === 'list' ? seeds.seeds.length : seeds.count;
}

export const sweepSchema = z
  .object({ seeds: seedSweepSchema, axis: sweepAxisSchema.optional() })
  .strict()
  .refine((s) => seedCount(s.seeds) * (s.axis?.values.length ?? 1) <= GENERATION_LIMITS.maxPerSubmit, {
    message: `a sweep makes at most ${GENERATION_LIMITS.maxPerSubmit} images (seeds × axis values)`,
  })
  .refine((s) => s.seeds.mode !== 'consecutive' || addToSeed(s.seeds.first, s.seeds.count - 1) !== null, {
    message: `consecutive seeds go past the largest seed, ${MAX_SEED_TEXT}`,
  });
export type Sweep = z.infer<typeof sweepSchema>;
