// The one generation vocabulary (docs/architecture.md §5): the parameters of a generation and their limits, the seed,
// per-variant defaults, size presets, sweeps, and the engine's enums with their labels. The Generate form,
// jobs.submit, the worker protocol, the CLI and Settings all import these; nothing else defines them.
// Imports nothing platform-specific (the variant ids from catalog-ids.ts, below catalog.ts, which imports this file).
import { z } from 'zod';
import type { CatalogId } from './catalog-ids';
import { StudioError } from './errors';
import { initImageSchema, strengthSchema } from './img2img';

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
// Sampling vocabulary (docs/architecture.md §5, "Samplers and schedules"): ids are ComfyUI's KSampler names.

export const SAMPLERS = ['euler', 'euler_ancestral', 'heun', 'dpmpp_2m'] as const;
export const samplerSchema = z.enum(SAMPLERS, { error: (iss) => unknownNameText('sampler', iss.input, SAMPLERS) });
export type Sampler = z.infer<typeof samplerSchema>;
/** Labels as A1111/Forge write them in `parameters` ("Sampler: DPM++ 2M"); the form shows them too. */
export const SAMPLER_LABELS: Readonly<Record<Sampler, string>> = {
  euler: 'Euler',
  euler_ancestral: 'Euler a',
  heun: 'Heun',
  dpmpp_2m: 'DPM++ 2M',
};

export const SCHEDULERS = ['normal', 'simple', 'sgm_uniform', 'beta'] as const;
export const schedulerSchema = z.enum(SCHEDULERS, { error: (iss) => unknownNameText('schedule', iss.input, SCHEDULERS) });
export type Scheduler = z.infer<typeof schedulerSchema>;
/** Labels as A1111/Forge write them ("Schedule type: SGM Uniform"); `normal` is diffusers' flow-match schedule. */
export const SCHEDULER_LABELS: Readonly<Record<Scheduler, string>> = {
  normal: 'Normal',
  simple: 'Simple',
  sgm_uniform: 'SGM Uniform',
  beta: 'Beta',
};

/** Skip-Layer Guidance (diffusers' `skip_guidance_layers`): the blocks bypassed in the extra pass, its scale and step window. */
export const SLG_LIMITS = { maxLayers: 64, maxLayerIndex: 255, minScale: 0, maxScale: 10 } as const;
// Each message from the limits, after "Skip-Layer Guidance: <field> " (paramErrors): the form, the pipeline and the CLI say it alike.
const slgFraction = z.number({ error: (iss) => `must be a number from 0 to 1${gotText(iss.input)}.` }).finite().min(0).max(1);
export const slgScaleSchema = z.number().finite().min(SLG_LIMITS.minScale).max(SLG_LIMITS.maxScale);
export const slgSchema = z
  .object({
    layers: z
      .array(
        z
          .number({ error: (iss) => `must be block numbers from 0 to ${SLG_LIMITS.maxLayerIndex}${gotText(iss.input)}.` })
          .int()
          .min(0)
          .max(SLG_LIMITS.maxLayerIndex),
        {
          error: () => `must be 1 to ${SLG_LIMITS.maxLayers} block numbers from 0 to ${SLG_LIMITS.maxLayerIndex}.`,
        },
      )
      .min(1)
      .max(SLG_LIMITS.maxLayers),
    scale: z
      .number({ error: (iss) => `must be a number from ${SLG_LIMITS.minScale} to ${SLG_LIMITS.maxScale}${gotText(iss.input)}.` })
      .finite()
      .min(SLG_LIMITS.minScale)
      .max(SLG_LIMITS.maxScale),
    start: slgFraction,
    end: slgFraction,
  })
  .strict()
  .refine((s) => s.start < s.end, { message: 'the SLG start must be below its end' });
export type Slg = z.infer<typeof slgSchema>;
export const SLG_LABELS = { layers: 'SLG layers', scale: 'SLG scale', start: 'SLG start', end: 'SLG end' } as const;

/**
 * Why these SLG layers do not fit a transformer of `blocks` joint blocks (numbered 0 … blocks − 1), or undefined
 * when they do: the worker refuses such a request with it (invalid_input) and the form shows it.
 */
export function slgLayersProblem(layers: readonly number[], blocks: number): string | undefined {
  const outside = [...new Set(layers.filter((l) => l >= blocks))].sort((a, b) => a - b);
  if (outside.length === 0) return undefined;
  const list = outside.length > 8 ? `${outside.slice(0, 8).join(', ')} and ${outside.length - 8} more` : outside.join(', ');
  return `SLG layer${outside.length > 1 ? 's' : ''} ${list} ${outside.length > 1 ? 'are' : 'is'} outside this model's ${blocks} joint blocks (0–${blocks - 1}).`;
}

/** The schedule shift (ComfyUI ModelSamplingSD3 / diffusers FlowMatchEulerDiscreteScheduler `shift`). */
export const SHIFT_LIMITS = { min: 0.01, max: 100 } as const;
export const shiftSchema = z
  .number({ error: (iss) => `The shift must be a number from ${SHIFT_LIMITS.min} to ${SHIFT_LIMITS.max}${gotText(iss.input)}.` })
  .finite()
  .min(SHIFT_LIMITS.min)
  .max(SHIFT_LIMITS.max);

/** " (got 31)": the value a message quotes, kept short. */
function gotText(value: unknown): string {
  if (value === undefined) return '';
  const shown = typeof value === 'string' ? JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value) : String(value);
  return ` (got ${shown})`;
}

function unknownNameText(what: string, value: unknown, valid: readonly string[]): string {
  const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 40)) : String(value);
  return `Unknown ${what} ${shown}; use one of: ${valid.join(', ')}.`;
}

function unknownName(what: string, value: unknown, valid: readonly string[], field: string): StudioError {
  return new StudioError('invalid_input', unknownNameText(what, value, valid), { field });
}

/** A sampler id, or StudioError invalid_input listing the valid ones. */
export function requireSampler(v: unknown): Sampler {
  const r = samplerSchema.safeParse(v);
  if (!r.success) throw unknownName('sampler', v, SAMPLERS, 'sampler');
  return r.data;
}

/** A schedule id, or StudioError invalid_input listing the valid ones. */
export function requireScheduler(v: unknown): Scheduler {
  const r = schedulerSchema.safeParse(v);
  if (!r.success) throw unknownName('schedule', v, SCHEDULERS, 'scheduler');
  return r.data;
}

/** "7,8,9" → [7, 8, 9] (what the CLI and the form take), or StudioError invalid_input. */
export function parseSlgLayers(text: string): number[] {
  const parts = text.split(',').map((t) => t.trim());
  const layers = parts.map((t) => (/^\d{1,3}$/.test(t) ? Number(t) : NaN));
  if (parts.length === 0 || layers.some((n) => !Number.isInteger(n) || n > SLG_LIMITS.maxLayerIndex) || layers.length > SLG_LIMITS.maxLayers) {
    throw new StudioError('invalid_input', `SLG layers must be block numbers separated by commas, such as 7,8,9 (got ${JSON.stringify(text.slice(0, 40))}).`, {
      field: 'slg',
    });
  }
  return layers;
}

/** How other tools name samplers and schedules → ours: an exact match, or the nearest one we have (never silently). */
export type ForeignName<T extends string> = { id: T; exact: true } | { id: T; exact: false; foreign: string };

// ComfyUI KSampler ids and A1111/Forge labels. A1111's older combined names ("DPM++ 2M Karras") carry the
// schedule in the sampler name; the schedule part is read by scheduleFromName.
const SAMPLER_ALIASES: Readonly<Record<string, Sampler>> = {
  euler: 'euler',
  euler_ancestral: 'euler_ancestral',
  'euler a': 'euler_ancestral',
  heun: 'heun',
  dpmpp_2m: 'dpmpp_2m',
  'dpm++ 2m': 'dpmpp_2m',
};
const SAMPLER_NEAREST: readonly [RegExp, Sampler][] = [
  [/ancestral|(^|\s)a$|_a$|sde|2s/i, 'euler_ancestral'],
  [/dpm|uni_?pc|deis|ipndm|res_multistep|lms|gradient/i, 'dpmpp_2m'],
  [/heun|dpm_?2(?!m)/i, 'heun'],
];
const SCHEDULER_ALIASES: Readonly<Record<string, Scheduler>> = {
  normal: 'normal',
  simple: 'simple',
  sgm_uniform: 'sgm_uniform',
  'sgm uniform': 'sgm_uniform',
  beta: 'beta',
};
const SCHEDULER_NEAREST: readonly [RegExp, Scheduler][] = [
  [/karras|exponential|polyexponential|kl_optimal|kl optimal|align/i, 'beta'],
  [/uniform|ddim/i, 'sgm_uniform'],
  [/automatic|linear|quadratic/i, 'normal'],
];

const SCHEDULE_SUFFIX = /\s+(karras|exponential|sgm uniform|simple|normal|beta)$/i;

/** A sampler named by ComfyUI (`sampler_name`), A1111 or Forge (`Sampler`) as ours; undefined when empty. */
export function samplerFromName(name: string | undefined): ForeignName<Sampler> | undefined {
  const n = name?.trim();
  if (!n) return undefined;
  // "DPM++ 2M Karras" (A1111 before 1.9): the sampler part is exact; scheduleSuffix() gives the schedule part.
  const exact = SAMPLER_ALIASES[n.toLowerCase().replace(SCHEDULE_SUFFIX, '')];
  if (exact) return { id: exact, exact: true };
  const near = SAMPLER_NEAREST.find(([re]) => re.test(n))?.[1] ?? 'euler';
  return { id: near, exact: false, foreign: n };
}

/** The schedule an old A1111 combined sampler name carries ("DPM++ 2M Karras" → "Karras"), if any. */
export function scheduleSuffix(samplerName: string): string | undefined {
  return SCHEDULE_SUFFIX.exec(samplerName.trim())?.[1];
}

/** A schedule named by ComfyUI (`scheduler`) or A1111/Forge (`Schedule type`, or a suffix of an old sampler name). */
export function schedulerFromName(name: string | undefined): ForeignName<Scheduler> | undefined {
  const n = name?.trim();
  if (!n) return undefined;
  const exact = SCHEDULER_ALIASES[n.toLowerCase()];
  if (exact) return { id: exact, exact: true };
  const near = SCHEDULER_NEAREST.find(([re]) => re.test(n))?.[1] ?? 'normal';
  return { id: near, exact: false, foreign: n };
}

/**
 * The sampling parameters "Reuse parameters" puts in the form from what an image's metadata names: ids as ours,
 * the nearest one where the studio lacks it — with a note saying so (the form shows it), never a silent swap.
 */
export function samplingFromNames(p: { sampler?: string | undefined; scheduler?: string | undefined }): {
  sampler?: Sampler;
  scheduler?: Scheduler;
  samplingNotes?: string[];
} {
  const out: { sampler?: Sampler; scheduler?: Scheduler; samplingNotes?: string[] } = {};
  const notes: string[] = [];
  const sampler = samplerFromName(p.sampler);
  // An old A1111 combined name ("DPM++ 2M Karras") carries the schedule when no "Schedule type" is given.
  const scheduler = schedulerFromName(p.scheduler ?? (p.sampler ? scheduleSuffix(p.sampler) : undefined));
  if (sampler) {
    out.sampler = sampler.id;
    if (!sampler.exact) notes.push(`The image was made with the sampler "${sampler.foreign}", which the studio does not have; ${SAMPLER_LABELS[sampler.id]} is the nearest.`);
  }
  if (scheduler) {
    out.scheduler = scheduler.id;
    if (!scheduler.exact) notes.push(`The image was made with the schedule "${scheduler.foreign}", which the studio does not have; ${SCHEDULER_LABELS[scheduler.id]} is the nearest.`);
  }
  if (notes.length) out.samplingNotes = notes;
  return out;
}

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

const thousands = (n: number) => n.toLocaleString('en-US');
/** The largest area as a square ("2048 × 2048"), derived from maxPixels. */
export const MAX_AREA_TEXT = `${Math.floor(Math.sqrt(GENERATION_LIMITS.maxPixels))} × ${Math.floor(Math.sqrt(GENERATION_LIMITS.maxPixels))}`;
const megapixels = (px: number) => `${Number((px / 1e6).toFixed(2))} megapixels`;

/**
 * THE words of the parameter rules (issue #15 §2), derived from GENERATION_LIMITS: the schemas below carry them, so
 * the Generate form, the pipeline's check and the CLI show the same sentence for the same mistake.
 */
export const PARAM_TEXT = {
  promptBlank: 'Type a prompt.',
  promptLength: (field: 'prompt' | 'negativePrompt', v: unknown): string => {
    const name = field === 'prompt' ? 'prompt' : 'negative prompt';
    if (typeof v !== 'string') return `The ${name} must be text.`;
    return `The ${name} has ${thousands(v.length)} characters; at most ${thousands(GENERATION_LIMITS.maxPromptChars)} are accepted.`;
  },
  modelMissing: 'Choose a model.',
  steps: (v: unknown): string => `Steps must be a whole number from ${GENERATION_LIMITS.minSteps} to ${GENERATION_LIMITS.maxSteps}${gotText(v)}.`,
  guidance: (v: unknown): string => `Guidance must be a number from ${GENERATION_LIMITS.minGuidance} to ${GENERATION_LIMITS.maxGuidance}${gotText(v)}.`,
  side: (field: 'width' | 'height', v: unknown): string =>
    `The ${field} must be a multiple of ${GENERATION_LIMITS.sizeMultiple} from ${GENERATION_LIMITS.minSide} to ${GENERATION_LIMITS.maxSide} pixels${gotText(v)}.`,
  area: (p: unknown): string => {
    const { width, height } = (p ?? {}) as { width?: unknown; height?: unknown };
    const size = typeof width === 'number' && typeof height === 'number' ? `${width} × ${height} is ${megapixels(width * height)}; ` : '';
    return `${size}at most ${megapixels(GENERATION_LIMITS.maxPixels)} (${MAX_AREA_TEXT}) are accepted.`;
  },
  images: (v: unknown): string => `Images must be a whole number from 1 to ${GENERATION_LIMITS.maxPerSubmit}${gotText(v)}.`,
} as const;

// ---------------------------------------------------------------------------------------------
// The seed: a decimal string everywhere on the wire and in storage, 0 … 2^64−1, exact

export const MAX_SEED = 2n ** 64n - 1n;
export const MAX_SEED_TEXT = MAX_SEED.toString();
/** Random seeds are drawn in [0, 2^32) (the RNG uses the low 32 bits anyway). */
export const RANDOM_SEED_LIMIT = 2 ** 32;

/** The seed rule in words ("a whole number from 0 to 18446744073709551615"): every seed message says this. */
export const SEED_RULE = `a whole number from 0 to ${MAX_SEED_TEXT}`;

export function isSeedText(v: string): boolean {
  return /^(0|[1-9][0-9]{0,19})$/.test(v) && BigInt(v) <= MAX_SEED;
}

/** THE seed schema: an unsigned 64-bit integer written in decimal ("6952411511246973023"). */
export const seedSchema = z
  .string({ error: (iss) => seedMessage(iss.input) })
  .max(20)
  .refine(isSeedText);
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

/** Why `v` is not a seed, in the words every surface shows (`what`: "--seed", "The seed"…). */
export function seedMessage(v: unknown, what = 'The seed'): string {
  return `${what} must be ${SEED_RULE}${gotText(v)}.`;
}

/** parseSeed, or StudioError invalid_input naming what was wrong (`what`: "--seed", "The seed"…). */
export function requireSeed(v: unknown, what = 'The seed'): string {
  const seed = parseSeed(v);
  if (seed === null) throw new StudioError('invalid_input', seedMessage(v, what), { field: 'seed' });
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

/** What the noise generator is seeded with: the low 32 bits (torch's CPU mt19937, docs/architecture.md §5). THE
 *  reduction: inference/noise.ts's generator applies it, callers pass the whole seed. */
export function seedLow32(seed: string | bigint): number {
  return Number(BigInt.asUintN(32, BigInt(seed)));
}

// ---------------------------------------------------------------------------------------------
// Parameters

// Each schema carries its rule's words (PARAM_TEXT, derived from the limits): the form, the pipeline and the CLI
// show the schema's message, never one of their own (issue #15 §2).
const promptText = (field: 'prompt' | 'negativePrompt') =>
  z
    .string({ error: (iss) => PARAM_TEXT.promptLength(field, iss.input) })
    .max(GENERATION_LIMITS.maxPromptChars);
/** The prompt: text within the limit, not blank (a generation needs something to draw). */
const promptSchema = promptText('prompt').refine((v) => v.trim() !== '', { error: PARAM_TEXT.promptBlank });
const side = (field: 'width' | 'height') =>
  z
    .number({ error: (iss) => PARAM_TEXT.side(field, iss.input) })
    .int()
    .min(GENERATION_LIMITS.minSide)
    .max(GENERATION_LIMITS.maxSide)
    .refine((v) => v % GENERATION_LIMITS.sizeMultiple === 0);
export const stepsSchema = z.number({ error: (iss) => PARAM_TEXT.steps(iss.input) }).int().min(GENERATION_LIMITS.minSteps).max(GENERATION_LIMITS.maxSteps);
export const guidanceSchema = z
  .number({ error: (iss) => PARAM_TEXT.guidance(iss.input) })
  .finite()
  .min(GENERATION_LIMITS.minGuidance)
  .max(GENERATION_LIMITS.maxGuidance);
/** A catalog id, owner/name, folder:<name>, or (CLI) a model folder path. */
export const modelRefSchema = z
  .string({ error: (iss) => (iss.input === '' ? PARAM_TEXT.modelMissing : `The model name is too long${gotText(iss.input)}.`) })
  .min(1)
  .max(GENERATION_LIMITS.maxModelRefChars);

// LoRAs: a generation names library LoRAs with a strength each (docs/architecture.md §5, LoRA).
export const loraStrengthSchema = z.number().finite().min(GENERATION_LIMITS.minLoraStrength).max(GENERATION_LIMITS.maxLoraStrength);
/** One LoRA of a generation: its library name (as in `<lora:name:0.8>`), the file's sha256 (its identity) and the strength. */
export const loraRefSchema = z
  .object({
    name: z.string().min(1).max(256),
    sha256: z.string().regex(/^[0-9a-f]{64}$/u),
    strength: loraStrengthSchema,
    /** false: off — sent to the worker at strength 0 (the same graphs: no reload) and left out of the image's metadata. */
    enabled: z.boolean().optional(),
  })
  .strict();
export type LoraRef = z.infer<typeof loraRefSchema>;

// Hires fix and upscalers (docs/architecture.md §5 "Hires fix", "Upscale"): a generation made at the base size, upscaled
// (Lanczos or an imported super-resolution model), then worked again by image to image at the hires size — one job.
export const HIRES_LIMITS = { minScale: 1.05, maxScale: 4, defaultScale: 2, defaultStrength: 0.5 } as const;
/** The built-in upscaler (sharp's Lanczos-3); every other name is an imported model in `<data>/upscalers/`. */
export const BUILTIN_UPSCALER = 'lanczos';
export const upscalerNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/u, { message: 'an upscaler name is 1–64 letters, digits, ".", "_" or "-"' });
export const hiresSchema = z
  .object({
    scale: z.number().finite().min(HIRES_LIMITS.minScale).max(HIRES_LIMITS.maxScale),
    upscaler: upscalerNameSchema,
    /** The second pass's step count; 0 = the base steps (A1111's "Hires steps: 0"). */
    steps: z.union([z.literal(0), stepsSchema]),
    /** The second pass's denoising strength (get_timesteps, as image to image). */
    strength: z.number().gt(0).max(1),
  })
  .strict();
export type Hires = z.infer<typeof hiresSchema>;
/** What an image records: the hires parameters and the size the second pass ran at. */
export const hiresMetaSchema = hiresSchema.extend({ width: z.number().int().positive(), height: z.number().int().positive() }).strict();
export type HiresMeta = z.infer<typeof hiresMetaSchema>;

/**
 * The hires pass's size: base × scale, each side rounded to the size multiple (16). Refused (invalid_input) when it
 * leaves the limits (a side over 2048 or more than 4 MP) — the form and the CLI show the same reason.
 */
export function hiresSize(width: number, height: number, scale: number): { width: number; height: number } {
  const L = GENERATION_LIMITS;
  const w = Math.max(L.minSide, Math.round((width * scale) / L.sizeMultiple) * L.sizeMultiple);
  const h = Math.max(L.minSide, Math.round((height * scale) / L.sizeMultiple) * L.sizeMultiple);
  if (w > L.maxSide || h > L.maxSide || w * h > L.maxPixels) {
    throw new StudioError(
      'invalid_input',
      `Hires fix ×${scale} of ${width}×${height} would be ${w}×${h}; at most ${L.maxSide} px a side and 4 MP (${L.maxSide}×${L.maxSide}) are possible.`,
      { field: 'hires' },
    );
  }
  return { width: w, height: h };
}

const paramsShape = {
  prompt: promptSchema,
  negativePrompt: promptText('negativePrompt'),
  model: modelRefSchema,
  seed: seedSchema,
  steps: stepsSchema,
  guidance: guidanceSchema,
  width: side('width'),
  height: side('height'),
  t5: z.boolean({ error: 'T5 must be on or off (true or false).' }),
  /** Absent: euler (docs/architecture.md §5). */
  sampler: samplerSchema.optional(),
  /** Absent: normal (diffusers' flow-match schedule). */
  scheduler: schedulerSchema.optional(),
  /** Absent: the model's scheduler_config.json shift (3.0 for SD3.5). */
  shift: shiftSchema.optional(),
  /** Skip-Layer Guidance; absent: off. Only used with CFG (guidance > 1). */
  slg: slgSchema.optional(),
  loras: z.array(loraRefSchema).max(GENERATION_LIMITS.maxLoras).optional(),
  /** Image to image / inpainting: the source (and mask) of the job (src-shared/img2img.ts). */
  init: initImageSchema.optional(),
  /** Hires fix: upscale the result and work it again by image to image, as one generation. */
  hires: hiresSchema.optional(),
};
const sideOk = (v: unknown) => side('width').safeParse(v).success;
/** The area rule; a side that is wrong itself gets its own message instead. */
const withinPixels = (p: { width: number; height: number }) => !sideOk(p.width) || !sideOk(p.height) || p.width * p.height <= GENERATION_LIMITS.maxPixels;
const pixelsMessage = { error: (iss: { input: unknown }) => PARAM_TEXT.area(iss.input), path: ['width'] };

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

/**
 * The parameters the worker's pipeline checks (the loaded model is the model; the host resolves the source image,
 * the LoRAs and the hires pass): THE schema without those.
 */
export const requestParamsSchema = z
  .object(paramsShape)
  .omit({ model: true, init: true, loras: true, hires: true })
  .strict()
  .refine(withinPixels, pixelsMessage);

/** A parameter a message is about (the first path element of a schema issue), or 'parameters'. */
export type ParamField = keyof typeof paramsShape | 'parameters';
export type ParamErrors = Partial<Record<ParamField, string>>;

/** Names of the parameters whose schemas are objects or lists (their issues' messages name a part of them). */
const GROUP_LABELS: Partial<Record<ParamField, string>> = { slg: 'Skip-Layer Guidance', loras: 'LoRAs', init: 'The source image', hires: 'Hires fix' };

/** Schema issues → one message per parameter, in the schema's words (the first issue of each wins). */
export function paramErrors(error: z.ZodError): ParamErrors {
  const out: ParamErrors = {};
  for (const issue of error.issues) {
    const head = issue.path[0];
    const field = (typeof head === 'string' && Object.hasOwn(paramsShape, head) ? head : 'parameters') as ParamField;
    const group = GROUP_LABELS[field];
    const part = issue.path.slice(1).join('.');
    out[field] ??= group ? `${group}: ${part ? `${part} ` : ''}${issue.message}` : issue.message;
  }
  return out;
}

/**
 * Parses with one of THE parameter schemas, or throws StudioError invalid_input with the first issue's message
 * and its parameter as `field` (the pipeline and the CLI; the form takes every message via paramErrors).
 * `nameOf` puts a surface's name for the parameter first (the CLI: "--steps: Steps must be …").
 */
export function requireParams<S extends z.ZodType>(schema: S, candidate: unknown, nameOf?: (field: ParamField) => string): z.infer<S> {
  const r = schema.safeParse(candidate);
  if (r.success) return r.data;
  const [field, message] = (Object.entries(paramErrors(r.error))[0] ?? ['parameters', 'The parameters are not valid.']) as [ParamField, string];
  throw new StudioError('invalid_input', nameOf ? `${nameOf(field)}: ${message}` : message, { field });
}

// ---------------------------------------------------------------------------------------------
// Per-variant defaults and size presets

export interface VariantDefaults {
  steps: number;
  guidance: number;
  width: number;
  height: number;
  shift: number;
  sampler: Sampler;
  scheduler: Scheduler;
}

export const VARIANT_DEFAULTS: Readonly<Record<CatalogId, VariantDefaults>> = {
  'sd3.5-medium': { steps: 40, guidance: 4.5, width: 1024, height: 1024, shift: 3, sampler: 'euler', scheduler: 'normal' },
  'sd3.5-large-turbo': { steps: 4, guidance: 0, width: 1024, height: 1024, shift: 3, sampler: 'euler', scheduler: 'normal' },
  'sd3.5-large': { steps: 28, guidance: 3.5, width: 1024, height: 1024, shift: 3, sampler: 'euler', scheduler: 'normal' },
};

/**
 * Published sampling recipes the form offers per variant (the defaults above stay diffusers' Euler on its own
 * schedule, so every image made so far is made again the same way):
 *  - Stability AI's SD3.5 recommendations (the Large and Medium model cards / SD3.5 prompting guide): DPM++ 2M,
 *    Large 40 steps CFG 4.5, Medium 50 steps CFG 5.0 — or CFG 4.0 with Skip-Layer Guidance;
 *  - ComfyUI's SD3.5 example workflow: Euler on sgm_uniform with shift 3; Turbo: Euler, 4 steps, CFG 1 or less;
 *  - SLG for Medium: diffusers' documented `skip_guidance_layers=[7, 8, 9]`, scale 2.8, window 0.01–0.2
 *    (StableDiffusion3Pipeline docstring); Stability's own suggestion scale 2.5 with CFG 4.
 */
export interface SamplingPreset {
  id: string;
  label: string;
  sampler: Sampler;
  scheduler: Scheduler;
  steps: number;
  guidance: number;
  slg?: Slg;
}
export const SLG_MEDIUM_DIFFUSERS: Slg = { layers: [7, 8, 9], scale: 2.8, start: 0.01, end: 0.2 };
export const SLG_MEDIUM_STABILITY: Slg = { layers: [7, 8, 9], scale: 2.5, start: 0.01, end: 0.2 };
export const SAMPLING_PRESETS: Readonly<Record<CatalogId, readonly SamplingPreset[]>> = {
  'sd3.5-medium': [
    { id: 'stability', label: 'Stability: DPM++ 2M, 50 steps, CFG 5', sampler: 'dpmpp_2m', scheduler: 'sgm_uniform', steps: 50, guidance: 5 },
    {
      id: 'stability-slg',
      label: 'Stability: DPM++ 2M, CFG 4 + SLG 2.5',
      sampler: 'dpmpp_2m',
      scheduler: 'sgm_uniform',
      steps: 50,
      guidance: 4,
      slg: SLG_MEDIUM_STABILITY,
    },
    { id: 'comfyui', label: 'ComfyUI: Euler, SGM Uniform', sampler: 'euler', scheduler: 'sgm_uniform', steps: 40, guidance: 4.5 },
  ],
  'sd3.5-large': [
    { id: 'stability', label: 'Stability: DPM++ 2M, 40 steps, CFG 4.5', sampler: 'dpmpp_2m', scheduler: 'sgm_uniform', steps: 40, guidance: 4.5 },
    { id: 'comfyui', label: 'ComfyUI: Euler, SGM Uniform', sampler: 'euler', scheduler: 'sgm_uniform', steps: 28, guidance: 3.5 },
  ],
  'sd3.5-large-turbo': [{ id: 'comfyui', label: 'ComfyUI: Euler, SGM Uniform, 4 steps', sampler: 'euler', scheduler: 'sgm_uniform', steps: 4, guidance: 0 }],
};
/** The SLG preset the form's toggle turns on (Medium; other models: diffusers' values, if their graph allows). */
export const SLG_DEFAULT: Slg = SLG_MEDIUM_DIFFUSERS;

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

/**
 * The generation size an image suggests (the form's default for a new source, the CLI's without --width/--height):
 * its own, rounded to multiples of 16 and scaled down into the limits (GENERATION_LIMITS).
 */
export function sizeForImage(width: number, height: number): { width: number; height: number } {
  const L = GENERATION_LIMITS;
  let scale = Math.min(1, L.maxSide / width, L.maxSide / height, Math.sqrt(L.maxPixels / (width * height)));
  const round = (v: number) => Math.min(L.maxSide, Math.max(L.minSide, Math.round((v * scale) / L.sizeMultiple) * L.sizeMultiple));
  let w = round(width);
  let h = round(height);
  while (w * h > L.maxPixels) {
    scale *= 0.99;
    w = round(width);
    h = round(height);
  }
  return { width: w, height: h };
}

// ---------------------------------------------------------------------------------------------
// Sweeps: seeds × an optional second axis, at most 64 generations per submit

const count = z.number({ error: (iss) => PARAM_TEXT.images(iss.input) }).int().min(1).max(GENERATION_LIMITS.maxPerSubmit);
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
  z.object({ kind: z.literal('sampler'), values: axisValues(samplerSchema) }).strict(),
  z.object({ kind: z.literal('scheduler'), values: axisValues(schedulerSchema) }).strict(),
  z.object({ kind: z.literal('shift'), values: axisValues(shiftSchema) }).strict(),
  z.object({ kind: z.literal('slgScale'), values: axisValues(slgScaleSchema) }).strict(),
  /** One LoRA of the job (by its name in `loras`) at each strength: strength is a graph input, so no reload. */
  z.object({ kind: z.literal('loraStrength'), lora: z.string().min(1).max(256), values: axisValues(loraStrengthSchema) }).strict(),
  /** One LoRA of the job on and off (off = strength 0 in the same graphs: no reload). */
  z.object({ kind: z.literal('loraOn'), lora: z.string().min(1).max(256), values: axisValues(z.enum(['on', 'off'])) }).strict(),
  /** Image to image: the init image's strength (the job must have `init`). */
  z.object({ kind: z.literal('strength'), values: axisValues(strengthSchema) }).strict(),
]);
export type SweepAxis = z.infer<typeof sweepAxisSchema>;
/** The second axis's names as the form, the queue and Compare show them. */
export const SWEEP_AXIS_LABELS: Readonly<Record<SweepAxis['kind'], string>> = {
  guidance: 'Guidance',
  steps: 'Steps',
  model: 'Model',
  sampler: 'Sampler',
  scheduler: 'Schedule',
  shift: 'Shift',
  slgScale: 'SLG scale',
  loraStrength: 'LoRA strength',
  loraOn: 'LoRA on/off',
  strength: 'Strength',
};
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
