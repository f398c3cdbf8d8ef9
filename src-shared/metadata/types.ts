// Types shared by the metadata writers and parsers (docs/architecture.md).
import { clipHiddenSchema, GENERATION_LIMITS, hiresMetaSchema, seedSchema, slgSchema, type ClipHidden, type HiresMeta, type Slg } from '../generation';
import { z } from 'zod';
import { initImageSchema, type InitImage } from '../img2img';
import { upscaleSpecSchema, type UpscaleSpec } from '../upscale';

const UNPAIRED_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Text that survives UTF-8: no unpaired UTF-16 surrogates. */
const text = (max: number) =>
  z
    .string()
    .max(max)
    .refine((s) => !UNPAIRED_SURROGATE.test(s), { message: 'contains an unpaired UTF-16 surrogate' });

const name = (max: number) => text(max).min(1);

/**
 * One LoRA of an image (issue #20 §3): library name (as in `<lora:name:S>`), strength, the hashes people meet
 * (sha256 of the file, A1111's `Lora hashes` value, Civitai's AutoV2) and, when the worker reported them, the
 * layers applied per component and the keys that matched nothing.
 */
export const studioLoraMetaSchema = z
  .object({
    name: name(256),
    sha256: z.string().regex(/^[0-9a-f]{64}$/u),
    a1111Hash: z.string().regex(/^[0-9a-f]{12}$/u),
    autoV2: z.string().regex(/^[0-9a-f]{10}$/u),
    strength: z.number().finite().min(GENERATION_LIMITS.minLoraStrength).max(GENERATION_LIMITS.maxLoraStrength),
    applied: z.record(z.string().max(32), z.number().int().nonnegative()).optional(),
    unmatched: z.array(z.string().max(300)).max(2000).optional(),
  })
  .strict();
export type StudioLoraMeta = z.infer<typeof studioLoraMetaSchema>;

/** THE seed schema (src-shared/generation.ts): decimal, exact, 0 … 2^64−1. */
export const seedStringSchema = seedSchema;

/**
 * The lossless parameters written to the `sd35studio` iTXt chunk: exactly what is needed to reproduce
 * the image. No ids, timestamps or durations, so the same parameters give the same bytes.
 */
export const studioImageMetaSchema = z
  .object({
    prompt: text(GENERATION_LIMITS.maxKeptPromptChars),
    negativePrompt: text(GENERATION_LIMITS.maxKeptPromptChars),
    seed: seedStringSchema,
    steps: z.number().int().min(1).max(10_000),
    guidance: z.number().min(0).max(1000),
    width: z.number().int().min(1).max(65_535),
    height: z.number().int().min(1).max(65_535),
    shift: z.number().min(0).max(1000),
    /** The schedule id (normal, simple, sgm_uniform, beta); images made before samplers existed say 'flow-match-euler' (= normal). */
    scheduler: name(64),
    /** The sampler id (euler, euler_ancestral, heun, dpmpp_2m); absent on older images (= euler). */
    sampler: name(64).optional(),
    /** Skip-Layer Guidance, when it was on. */
    slg: slgSchema.optional(),
    model: z
      .object({
        /** Catalog id (sd3.5-medium…) or the folder name of an imported model. */
        id: name(256),
        repo: name(256).optional(),
        commit: name(128).optional(),
        /** First 10 hex of the transformer's external-data sha256. */
        modelHash: z
          .string()
          .regex(/^[0-9a-f]{10}$/, 'modelHash must be 10 lower-case hex digits')
          .optional(),
      })
      .strict(),
    /** Execution provider actually used (cpu, cuda, dml, coreml, webgpu). */
    ep: name(32),
    /** fp16 | fp32 */
    precision: name(32),
    /** 'torch-cpu-mt19937' */
    rng: name(64),
    /** Which CLIP hidden state fed the transformer (TensorStack CLIP-L exports lack the penultimate). */
    clipHidden: clipHiddenSchema.optional(),
    /** Ops rewritten into standard ONNX so the graphs ran on this provider, e.g. com.microsoft.GroupNorm. */
    rewrittenOps: z.array(z.string().min(1).max(200)).max(100).optional(),
    /** Whether the T5 encoder ran (false: zeros, as diffusers does without T5). */
    t5: z.boolean(),
    /** Image to image / inpainting: the source (gallery id, sha256), strength, fit, mask (sha256, blur). */
    init: initImageSchema.optional(),
    /** Hires fix: the second pass's scale, upscaler, steps, strength and size (width/height above stay the base size). */
    hires: hiresMetaSchema.optional(),
    /** LoRAs applied (in order). */
    loras: z.array(studioLoraMetaSchema).max(GENERATION_LIMITS.maxLoras).optional(),
    /** An upscaled image (jobs.upscale, `upscale`): its source (sha256, gallery id), upscaler, factor and both sizes. */
    upscale: upscaleSpecSchema.optional(),
    appVersion: name(64),
  })
  .strict();

export interface StudioImageMeta {
  prompt: string;
  negativePrompt: string;
  /** Decimal integer string, exact; may exceed 2^53 for foreign files. */
  seed: string;
  steps: number;
  guidance: number;
  width: number;
  height: number;
  shift: number;
  scheduler: string;
  sampler?: string;
  slg?: Slg;
  model: { id: string; repo?: string; commit?: string; modelHash?: string };
  ep: string;
  precision: string;
  rng: string;
  clipHidden?: ClipHidden;
  rewrittenOps?: string[];
  t5: boolean;
  init?: InitImage;
  hires?: HiresMeta;
  loras?: StudioLoraMeta[];
  upscale?: UpscaleSpec;
  appVersion: string;
}

// The interface and the schema must describe the same shape.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const sameShape: Same<StudioImageMeta, z.infer<typeof studioImageMetaSchema>> = true;
void sameShape;

export type MetadataSource =
  | 'sd35studio'
  | 'a1111'
  | 'comfyui'
  | 'invokeai'
  | 'novelai'
  | 'fooocus'
  | 'swarmui'
  | 'stabilitymatrix'
  | 'other';

/** What an importer could read from a file; every field optional except the source and extras. */
export interface ParsedParameters {
  source: MetadataSource;
  /** The positive prompt; when a graph has several (area prompts), all of them joined by "\n". */
  prompt?: string;
  negativePrompt?: string;
  /** Decimal integer string, exact (never passed through a JS number). */
  seed?: string;
  steps?: number;
  guidance?: number;
  /** Generation size recorded in the metadata (not the pixel size: hires-fix and crops differ). */
  width?: number;
  height?: number;
  model?: string;
  modelHash?: string;
  sampler?: string;
  scheduler?: string;
  /** The schedule shift (ComfyUI's ModelSamplingSD3 node, A1111/Forge "Shift"). */
  shift?: number;
  /** Skip-Layer Guidance (ComfyUI's SkipLayerGuidanceSD3 node, our "SLG …" fields). */
  slg?: Slg;
  /** Every positive prompt, when there is more than one (ComfyUI area composition). */
  prompts?: string[];
  /** Our own lossless metadata, when source is 'sd35studio'. */
  studio?: StudioImageMeta;
  /** A1111 "Denoising strength" (img2img, inpainting, hires fix). */
  denoisingStrength?: number;
  /** A1111 "Mask blur" in pixels. */
  maskBlur?: number;
  /** A1111 "Inpaint area" ("Whole picture", "Only masked"). */
  inpaintArea?: string;
  /** A1111 "Masked area padding" (with "Only masked"). */
  maskPadding?: number;
  /** A1111 hires fix: "Hires upscale" (factor), "Hires steps" (0 = the base steps), "Hires upscaler" (its name). */
  hiresUpscale?: number;
  hiresSteps?: number;
  hiresUpscaler?: string;
  /**
   * LoRAs the file names: A1111/Forge `<lora:name:S>` prompt tags joined with its `Lora hashes` field (a
   * hash without a tag is listed too, strength unknown), or ours (with sha256 and AutoV2).
   */
  loras?: ParsedLora[];
  /** Other fields as the file names them (A1111 keys such as "Clip skip", "Hires upscale"). */
  extra: Record<string, string>;
  /** An upscale we made of another tool's image: our `sd35studio-upscale` record (ours keep it in `studio.upscale`). */
  upscale?: UpscaleSpec;
}

/** A LoRA read from a file's metadata; resolved against the library by hash, else by name. */
export interface ParsedLora {
  name: string;
  strength?: number;
  /** A1111's `Lora hashes` value (12 hex). */
  a1111Hash?: string;
  sha256?: string;
  autoV2?: string;
}

export interface TextChunk {
  keyword: string;
  text: string;
}
