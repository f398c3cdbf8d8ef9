// The SD3.5 catalog: the three variants the studio offers, the Hugging Face repos they come from,
// which files of a repo are needed (the selection rule), repo references `owner/name[@rev]`, and
// the fit check of a variant against this machine's memory. Imports nothing platform-specific.
import { formatBytes } from './bytes';
import { CATALOG_IDS, type CatalogId } from './catalog-ids';
import { StudioError } from './errors';
import { MEMORY_MODES, VARIANT_DEFAULTS, type MemoryMode, type ModelLayout, type VariantDefaults } from './generation';

export { CATALOG_IDS, catalogIdSchema, type CatalogId } from './catalog-ids';


/** The component weights of a variant (fp16 ONNX), in bytes. */
export interface ComponentSizes {
  transformer: number;
  /** T5-XXL (text_encoder_3): left out by the "without T5" selection. */
  t5: number;
  clipG: number;
  clipL: number;
  vaeDecoder: number;
  /** The VAE encoder (image to image, inpainting): part of the download since image to image. */
  vaeEncoder?: number;
}

/** Where a variant's files come from: TensorStack's exports (the default) or Stability AI's own AMD GPU exports. */
export type CatalogSourceId = 'tensorstack' | 'stability';

export interface CatalogSource {
  id: CatalogSourceId;
  /** "TensorStack ONNX", "Stability AI ONNX (AMD GPU)". */
  label: string;
  repo: string;
  /** Weights and inputs/outputs, in words: "fp16 weights, fp16 inputs/outputs". */
  precision: string;
  components: ComponentSizes;
  downloadBytes: { full: number; withoutT5: number };
  /** How the sizes are known, and what is quantised. */
  note: string;
}

export interface CatalogVariant {
  id: CatalogId;
  displayName: string;
  /** The default source's repo (sources[0].repo). */
  repo: string;
  /** The sources the user picks from on the model card; the first is the default (docs/architecture.md §4). */
  sources: readonly CatalogSource[];
  /** Parameters of the diffusion transformer, e.g. "2.5B". */
  parameters: string;
  layout: ModelLayout;
  licence: { name: string; url: string };
  /** The model page on Hugging Face (the licence is accepted there). */
  pageUrl: string;
  defaults: VariantDefaults;
  /** Recommended image area in megapixels (a warning outside it, not a refusal). */
  recommendedMegapixels: { min: number; max: number };
  components: ComponentSizes;
  /** Approximate download size in bytes, with and without T5. */
  downloadBytes: { full: number; withoutT5: number };
  summary: string;
}

const GB = 1e9;
const MB = 1e6;

const MEDIUM_COMPONENTS: ComponentSizes = {
  transformer: 4.94 * GB,
  t5: 9.52 * GB,
  clipG: 1.39 * GB,
  clipL: 246 * MB,
  vaeDecoder: 99 * MB,
  vaeEncoder: 68 * MB,
};
const LARGE_COMPONENTS: ComponentSizes = { ...MEDIUM_COMPONENTS, transformer: 16.3 * GB };

function sumComponents(c: ComponentSizes, t5: boolean): number {
  return c.transformer + (t5 ? c.t5 : 0) + c.clipG + c.clipL + c.vaeDecoder + (c.vaeEncoder ?? 0);
}

/** Tokenizer and config files: a few MB on top of the weights. */
const SMALL_FILES_BYTES = 10 * MB;

/**
 * Stability AI's ONNX exports for AMD GPUs (stabilityai/stable-diffusion-3.5-{medium,large,large-turbo}_amdgpu), the
 * `_io32` subfolder (fp32 inputs/outputs, fp16 inside). Sizes as the Hub's file pages list them (io16/io32 alike):
 * text_encoder/model.onnx 248 MB; text_encoder_2 619 kB + 453 MB (CLIP-G, quantised); text_encoder_3 454 kB +
 * 2.65 GB (T5-XXL, quantised: ≈ 9.5 GB in fp16); vae_decoder 102 MB. The transformer's files were not among the
 * pages read: counted at TensorStack's fp16 size.
 */
function stabilitySource(repo: string, transformer: number): CatalogSource {
  const components: ComponentSizes = { transformer, t5: 2.65 * GB, clipG: 0.454 * GB, clipL: 248 * MB, vaeDecoder: 102 * MB };
  return {
    id: 'stability',
    label: 'Stability AI ONNX (AMD GPU)',
    repo,
    precision: 'fp16 weights, quantised T5 and CLIP-G, fp32 inputs/outputs',
    components,
    downloadBytes: {
      full: Math.round(sumComponents(components, true) + SMALL_FILES_BYTES),
      withoutT5: Math.round(sumComponents(components, false) + SMALL_FILES_BYTES),
    },
    note: 'Stability AI’s own export; the model is in its _io32 folder; T5 quantised to 2.65 GB (MatMulNBits) instead of 9.5 GB.',
  };
}

function variant(
  v: Omit<CatalogVariant, 'downloadBytes' | 'layout' | 'pageUrl' | 'licence' | 'sources'> & { licenceRepo: string; stabilityRepo: string },
): CatalogVariant {
  const { licenceRepo, stabilityRepo, ...rest } = v;
  const downloadBytes = {
    full: Math.round(sumComponents(v.components, true) + SMALL_FILES_BYTES),
    withoutT5: Math.round(sumComponents(v.components, false) + SMALL_FILES_BYTES),
  };
  const tensorstack: CatalogSource = {
    id: 'tensorstack',
    label: 'TensorStack ONNX',
    repo: v.repo,
    precision: 'fp16 weights, fp16 inputs/outputs (DirectML-optimised)',
    components: v.components,
    downloadBytes,
    note: 'TensorStack’s export for Amuse (DirectML fusions, rewritten for other providers).',
  };
  return {
    ...rest,
    sources: [tensorstack, stabilitySource(stabilityRepo, v.components.transformer)],
    layout: 'tensorstack',
    pageUrl: `https://huggingface.co/${v.repo}`,
    licence: {
      name: 'Stability AI Community License',
      url: `https://huggingface.co/${licenceRepo}/blob/main/LICENSE.md`,
    },
    downloadBytes,
  };
}

export const CATALOG: Readonly<Record<CatalogId, CatalogVariant>> = {
  'sd3.5-medium': variant({
    id: 'sd3.5-medium',
    displayName: 'Stable Diffusion 3.5 Medium',
    repo: 'TensorStack/stable-diffusion-3.5-medium-onnx',
    licenceRepo: 'stabilityai/stable-diffusion-3.5-medium',
    stabilityRepo: 'stabilityai/stable-diffusion-3.5-medium_amdgpu',
    parameters: '2.5B',
    defaults: VARIANT_DEFAULTS['sd3.5-medium'],
    recommendedMegapixels: { min: 0.25, max: 2 },
    components: MEDIUM_COMPONENTS,
    summary: 'The smallest SD3.5: good quality from 0.25 to 2 megapixels, fits the most machines.',
  }),
  'sd3.5-large-turbo': variant({
    id: 'sd3.5-large-turbo',
    displayName: 'Stable Diffusion 3.5 Large Turbo',
    repo: 'TensorStack/stable-diffusion-3.5-large-turbo-onnx',
    licenceRepo: 'stabilityai/stable-diffusion-3.5-large-turbo',
    stabilityRepo: 'stabilityai/stable-diffusion-3.5-large-turbo_amdgpu',
    parameters: '8.1B',
    defaults: VARIANT_DEFAULTS['sd3.5-large-turbo'],
    recommendedMegapixels: { min: 0.8, max: 1.2 },
    components: LARGE_COMPONENTS,
    summary: 'Large, distilled to 4 steps without guidance: the fastest of the large models.',
  }),
  'sd3.5-large': variant({
    id: 'sd3.5-large',
    displayName: 'Stable Diffusion 3.5 Large',
    repo: 'TensorStack/stable-diffusion-3.5-large-onnx',
    licenceRepo: 'stabilityai/stable-diffusion-3.5-large',
    stabilityRepo: 'stabilityai/stable-diffusion-3.5-large_amdgpu',
    parameters: '8.1B',
    defaults: VARIANT_DEFAULTS['sd3.5-large'],
    recommendedMegapixels: { min: 0.8, max: 1.2 },
    components: LARGE_COMPONENTS,
    summary: 'The full 8B model: the best quality and prompt following, and the most memory.',
  }),
};

export function isCatalogId(value: string): value is CatalogId {
  return (CATALOG_IDS as readonly string[]).includes(value);
}

/** The catalog variant whose repo is `repo` (case-insensitive, as the Hub treats repo ids). */
export function catalogVariantForRepo(repo: string): CatalogVariant | undefined {
  const lower = repo.toLowerCase();
  return Object.values(CATALOG).find((v) => v.repo.toLowerCase() === lower);
}

/** The catalog variant and source a repo belongs to, any source (case-insensitive). */
export function catalogSourceForRepo(repo: string): { variant: CatalogVariant; source: CatalogSource } | undefined {
  const lower = repo.toLowerCase();
  for (const v of Object.values(CATALOG)) {
    const source = v.sources.find((s) => s.repo.toLowerCase() === lower);
    if (source) return { variant: v, source };
  }
  return undefined;
}

/** The variant as one source offers it (its repo, sizes and download bytes): what fitCheck and peakMemoryBytes take. */
export function variantFromSource(v: CatalogVariant, sourceId: CatalogSourceId): CatalogVariant {
  const source = v.sources.find((s) => s.id === sourceId);
  if (!source) return v;
  if (sourceId === v.sources[0]?.id) return v;
  return {
    ...v,
    displayName: `${v.displayName} (${source.label})`,
    repo: source.repo,
    pageUrl: `https://huggingface.co/${source.repo}`,
    components: source.components,
    downloadBytes: source.downloadBytes,
  };
}

// ---------------------------------------------------------------------------------------------
// The file selection rule

const COMPONENT_FOLDERS = ['text_encoder', 'text_encoder_2', 'unet', 'transformer', 'vae_decoder', 'vae_encoder'] as const;
const T5_COMPONENT_FOLDER = 'text_encoder_3';
const TOKENIZER_FOLDERS = ['tokenizer', 'tokenizer_2'] as const;
const T5_TOKENIZER_FOLDER = 'tokenizer_3';
/** Inside a component folder: the graph, its external weights (either layout's name) and config.json. */
const COMPONENT_FILES = new Set(['model.onnx', 'model.onnx.data', 'model.onnx_data', 'config.json']);
/** Inside a tokenizer folder: the text files only (their model.onnx is an onnxruntime-extensions graph). */
const TOKENIZER_FILE = /\.(json|txt)$/i;
/** Inside scheduler/: its config, and other small text files (capped by count and size when planned). */
const SCHEDULER_FILE = /\.(json|txt)$/i;

/**
 * The files of a repo the studio needs (in the repo's order, deduplicated): `model_index.json`,
 * `scheduler/*`, the tokenizer folders' text files, and in each component folder (text encoders,
 * `unet/` or `transformer/`, `vae_decoder/`, `vae_encoder/` for image to image) its `model.onnx`, external data and
 * `config.json`. Nothing else: no samples, no stray folders, no nested folders. Without T5,
 * `text_encoder_3/` and `tokenizer_3/` are left out.
 */
export function selectFiles(paths: readonly string[], options: { t5: boolean }): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const raw of paths) {
    const p = raw.replace(/^\/+/, '');
    if (seen.has(p) || !isSelected(p, options.t5)) continue;
    seen.add(p);
    out.push(p);
  }
  return out;
}

function isSelected(p: string, t5: boolean): boolean {
  const parts = p.split('/');
  if (parts.some((s) => s === '' || s === '.' || s === '..')) return false;
  if (parts.length === 1) return parts[0] === 'model_index.json';
  if (parts.length !== 2) return false;
  const [folder, file] = parts as [string, string];
  if (folder === 'scheduler') return SCHEDULER_FILE.test(file);
  if ((TOKENIZER_FOLDERS as readonly string[]).includes(folder)) return TOKENIZER_FILE.test(file);
  if (folder === T5_TOKENIZER_FOLDER) return t5 && TOKENIZER_FILE.test(file);
  if ((COMPONENT_FOLDERS as readonly string[]).includes(folder)) return COMPONENT_FILES.has(file);
  if (folder === T5_COMPONENT_FOLDER) return t5 && COMPONENT_FILES.has(file);
  return false;
}

// ---------------------------------------------------------------------------------------------
// Repo references

export interface RepoRef {
  /** `owner/name` */
  repo: string;
  owner: string;
  name: string;
  /** Branch, tag or commit; `main` when not given. */
  revision: string;
  /** True when the reference named a revision explicitly. */
  explicitRevision: boolean;
}

const REPO_PART = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9_])?$/;

/**
 * Parses `owner/name[@revision]` as the Hub accepts it. Throws invalid_input with what is wrong.
 */
export function parseRepoRef(ref: string): RepoRef {
  const text = ref.trim();
  const at = text.indexOf('@');
  const repoPart = at === -1 ? text : text.slice(0, at);
  const revision = at === -1 ? 'main' : text.slice(at + 1);
  const parts = repoPart.split('/');
  const bad = (why: string) =>
    new StudioError('invalid_input', `"${ref}" is not a Hugging Face model reference: ${why}. Use owner/name or owner/name@revision, e.g. ${CATALOG['sd3.5-medium'].repo}.`);
  if (parts.length !== 2) throw bad('it needs exactly one "/" between owner and name');
  const [owner, name] = parts as [string, string];
  for (const part of [owner, name]) {
    if (!REPO_PART.test(part) || part.includes('--') || part.includes('..')) {
      throw bad(`"${part}" may only hold letters, digits, "-", "_" and "." (no "--" or ".."), up to 96 characters`);
    }
  }
  if (at !== -1 && (revision === '' || /\s/.test(revision) || revision.length > 200 || revision.includes('..'))) {
    throw bad('the revision after "@" must be a branch, tag or commit without spaces');
  }
  return { repo: `${owner}/${name}`, owner, name, revision, explicitRevision: at !== -1 };
}

/**
 * The folder name a repo gets under the models folder: `owner--name` (as the HF cache does).
 * Throws invalid_input unless `repo` is a valid `owner/name` (a hostile id never becomes a path).
 */
export function repoFolderName(repo: string): string {
  if (repo.includes('@')) throw new StudioError('invalid_input', `"${repo}" is not a Hugging Face repo id.`);
  const { owner, name } = parseRepoRef(repo);
  return `${owner}--${name}`;
}

// ---------------------------------------------------------------------------------------------
// Fit check

export interface MachineMemory {
  ramBytes: number;
  /** Dedicated GPU memory when known; the weights then have to fit there. */
  vramBytes?: number;
  /**
   * The execution provider the check assumes: 'cpu', or a GPU provider ('cuda', 'dml', 'coreml', 'webgpu').
   * Default: a GPU when vramBytes is known, else the CPU.
   */
  provider?: string;
  /** The GPU uses the RAM (Apple silicon): the budget is the RAM. */
  unified?: boolean;
}

export interface FitResult {
  fits: boolean;
  memoryMode: MemoryMode;
  /** Set when it fits only with the "without T5" selection. */
  withoutT5?: boolean;
  /** Peak bytes needed in the chosen mode (and selection). */
  peakBytes: number;
  /**
   * On the CPU, when the variant does not fit at 1024²: the largest square image side (a multiple of 64, from 512)
   * it fits at in the low memory mode, and whether that needs "without T5". The attention's memory grows with the
   * square of the image's size, so smaller images can fit where 1024² does not.
   */
  fitsUpTo?: { side: number; withoutT5: boolean; peakBytes: number };
  /** The provider the check assumed ('cpu' or a GPU provider's name; 'gpu' when only "a GPU" is known). */
  provider: string;
  /** How many times their download size the weights take in memory there (2 on the CPU: fp16 runs as fp32). */
  weightFactor: number;
  message: string;
}

/** Activations, ORT arenas and the runtime itself on top of the weights. */
/** The worker process itself: Node, ONNX Runtime, tokenizers, buffers. */
const PROCESS_BYTES = 1 * GB;
/**
 * What running a component adds on top of its weights (activations, ONNX Runtime's arena, which does not shrink
 * while the session lives): an allowance, the same for every component.
 */
const RUN_WORKING_BYTES = 1 * GB;
/** Share of the memory the model may use (the OS and other programs keep the rest). */
const USABLE_SHARE = 0.9;
/**
 * On the CPU execution provider ONNX Runtime converts fp16 weights to fp32 when it creates a session
 * (measured: a T5 of 0.53 GB fp16 weights peaks the worker as high as one of 1.06 GB fp32 weights).
 */
export const CPU_FP16_WEIGHT_FACTOR = 2;

/**
 * What decoding a 1024² image adds on the CPU on top of the VAE's weights: measured by
 * `npm run bench -- real-scale` (2026-12-07, this 2-core 24 GB machine, one thread): the full-size VAE decoder alone
 * (0.10 GB fp16 weights) peaked at 6.62 GB (VmHWM) decoding 1024² — its mid-block attention over 128² positions and
 * the 128-channel 1024² activations — where the flat RUN_WORKING_BYTES allowance said 2.2 GB. 6.5 GB plus the
 * process gives 7.7 GB for that phase (1.16× the measured peak). GPU providers keep the flat allowance (not measured).
 */
export const CPU_VAE_DECODE_WORKING_BYTES = 6.5 * GB;

/**
 * How many attention-score-sized buffers one transformer step holds on the CPU at once, measured in the real worker
 * (which runs with the allocator setting of src-main/inference/allocator-env.ts): the full-size Medium, low mode
 * without T5 (154 context tokens), one CFG step, peaked at 10.70 GB (VmHWM) at 512² and 14.30 GB at 896²
 * (`npm run bench -- real-scale --full --no-t5 --modes low --size 512|896`, 2026-12-07). The growth, 3.60 GB, is
 * 1.99 times the growth of one score matrix batch × heads × tokens² × 4 B (2 × 24 × (1178² → 3290²) × 4 B:
 * 0.27 → 2.08 GB): QKᵀ and its softmax are alive together. With 2 copies the estimate is 1.18× the measured peak at
 * 512² and 1.14× at 896². (A transformer session alone in a process WITHOUT that allocator setting peaked higher —
 * 11.74 GB at 512², 15.63 GB at 768² with T5's context, ≈ 4 copies — because glibc kept freed blocks on its heap;
 * the worker never runs that way on Linux, and macOS's and Windows' allocators map large blocks directly.)
 */
export const CPU_ATTENTION_COPIES = 2;

/**
 * What the real worker holds beyond the weights and the attention while denoising on the CPU: its first measurement
 * (low mode without T5, 512², before the allocator setting) was 1.16 GB above the transformer alone; with the setting
 * the two measured points above leave 0.29 GB beyond the fp32 weights and two score matrices. Kept at 1.2 GB (with
 * PROCESS_BYTES) as the margin for what was not measured at full size (T5's longer context, other providers'
 * allocators).
 */
export const CPU_WORKER_DENOISE_EXTRA_BYTES = 1.2 * GB;

/** Attention heads of the diffusion transformer (the repos' transformer/config.json num_attention_heads). */
const TRANSFORMER_HEADS: Record<CatalogId, number> = { 'sd3.5-medium': 24, 'sd3.5-large-turbo': 38, 'sd3.5-large': 38 };
/** The size the fit check answers for: SD3.5's native 1024² (every variant's default). */
const FIT_PIXELS = 1024 * 1024;
/** Context tokens the transformer attends to beside the image: CLIP 77 + T5 256, or CLIP 77 + 77 zero rows without T5 (pipeline.ts encodePrompts). */
const CONTEXT_TOKENS = { withT5: 77 + 256, withoutT5: 77 + 77 };

/**
 * What one denoising step adds on the CPU on top of the weights at 1024²: CPU_ATTENTION_COPIES score matrices of
 * batch × heads × tokens² float32 (batch 2 with classifier-free guidance, the [negative; positive] batch).
 */
export function cpuTransformerWorkingBytes(v: CatalogVariant, t5: boolean, pixels = FIT_PIXELS): number {
  const tokens = pixels / (16 * 16) + (t5 ? CONTEXT_TOKENS.withT5 : CONTEXT_TOKENS.withoutT5);
  const batch = v.defaults.guidance > 1 ? 2 : 1;
  return CPU_ATTENTION_COPIES * batch * TRANSFORMER_HEADS[v.id] * tokens * tokens * 4;
}

const PROVIDER_LABELS: Record<string, string> = { cpu: 'the CPU', cuda: 'CUDA', dml: 'DirectML', coreml: 'Core ML', webgpu: 'WebGPU', gpu: 'the GPU' };

/** "the CPU", "CUDA", "DirectML"… for a provider name. */
export function providerLabel(provider: string): string {
  return PROVIDER_LABELS[provider] ?? provider;
}

/**
 * Peak memory of a variant in a memory mode, following the worker's load and free order
 * (src-main/inference/sessions.ts LoadedModel.load and endPhase; the pipeline runs encode → denoise → decode):
 * - `fast` loads every component at load and frees none: all the weights, and while denoising the encoders'
 *   working memory stays beside the transformer's.
 * - `balanced` loads the transformer and the VAE at load and the text encoders per job, beside them, freeing
 *   them after encoding: the peak is the encode phase, with every weight resident (the overlap) and one run's
 *   working memory.
 * - `low` loads each component when its phase needs it and frees it after it: each text encoder alone (freed as
 *   soon as its run is read, sessions.ts doneWithTextEncoder), then the transformer alone, then the VAE.
 * The weights count `weightFactor` times their (fp16) size: 2 on the CPU (see CPU_FP16_WEIGHT_FACTOR).
 * Measured order (scripts/bench/worker-memory.bench.ts, 600 MB T5 + 600 MB transformer, fp32, 64×64, CPU):
 * fast 2520 MB > balanced 1999 MB > low 1347 MB peak worker RSS. On the CPU the phases count their measured working
 * memory at 1024²: the transformer's attention (cpuTransformerWorkingBytes) and the VAE's decode
 * (CPU_VAE_DECODE_WORKING_BYTES).
 */
export function peakMemoryBytes(v: CatalogVariant, mode: MemoryMode, t5: boolean, weightFactor = 1): number {
  if (weightFactor >= CPU_FP16_WEIGHT_FACTOR) {
    const p = cpuPhasePeaks(v, mode, t5, weightFactor);
    return Math.max(p.encode, p.denoise, p.decode);
  }
  const c = v.components;
  const encoders = c.clipL + c.clipG + (t5 ? c.t5 : 0);
  const denoise = c.transformer + c.vaeDecoder;
  let peak: number;
  if (mode === 'fast') peak = (encoders + denoise) * weightFactor + 2 * RUN_WORKING_BYTES;
  else if (mode === 'balanced') peak = (encoders + denoise) * weightFactor + RUN_WORKING_BYTES;
  else peak = Math.max(largestTextEncoder(v, t5), c.transformer, c.vaeDecoder) * weightFactor + RUN_WORKING_BYTES;
  return Math.round(peak + PROCESS_BYTES);
}

/** Each phase's peak on the CPU (bytes, the process included). */
export interface PhasePeaks {
  encode: number;
  denoise: number;
  decode: number;
}

/**
 * On the CPU each phase with its measured working memory, at `pixels` (default 1024², what the fit check answers
 * for): encoding one run's allowance beside the weights resident then; denoising the transformer's attention
 * (cpuTransformerWorkingBytes; in `fast` the encoders' arena stays beside it); decoding the VAE's
 * (CPU_VAE_DECODE_WORKING_BYTES, measured at 1024²). Residency per mode as in peakMemoryBytes. Denoising also counts
 * what the real worker was measured to hold beside the session (CPU_WORKER_DENOISE_EXTRA_BYTES).
 */
export function cpuPhasePeaks(v: CatalogVariant, mode: MemoryMode, t5: boolean, weightFactor = CPU_FP16_WEIGHT_FACTOR, pixels = FIT_PIXELS): PhasePeaks {
  const c = v.components;
  const encoders = c.clipL + c.clipG + (t5 ? c.t5 : 0);
  const all = encoders + c.transformer + c.vaeDecoder;
  const denoiseResident = mode === 'fast' ? all : mode === 'balanced' ? c.transformer + c.vaeDecoder : c.transformer;
  const decodeResident = mode === 'fast' ? all : mode === 'balanced' ? c.transformer + c.vaeDecoder : c.vaeDecoder;
  return {
    encode: Math.round((mode === 'low' ? largestTextEncoder(v, t5) : all) * weightFactor + RUN_WORKING_BYTES + PROCESS_BYTES),
    denoise: Math.round(
      denoiseResident * weightFactor + (mode === 'fast' ? RUN_WORKING_BYTES : 0) + cpuTransformerWorkingBytes(v, t5, pixels) + CPU_WORKER_DENOISE_EXTRA_BYTES + PROCESS_BYTES,
    ),
    decode: Math.round(decodeResident * weightFactor + cpuVaeDecodeWorkingBytes(pixels) + PROCESS_BYTES),
  };
}

/** The largest text encoder a job runs (the low mode holds one at a time): T5-XXL when it is used, else CLIP-G. */
function largestTextEncoder(v: CatalogVariant, t5: boolean): number {
  const c = v.components;
  return Math.max(c.clipL, c.clipG, t5 ? c.t5 : 0);
}

/**
 * The VAE decode's working memory at `pixels`, from the measurement at 1024² (CPU_VAE_DECODE_WORKING_BYTES). Below
 * 1024² it is scaled with the pixels: its activations grow linearly and its mid-block attention with the square, so
 * linear scaling never under-counts a smaller image; above, with the square (never under-counts a larger one).
 */
export function cpuVaeDecodeWorkingBytes(pixels = FIT_PIXELS): number {
  const r = pixels / FIT_PIXELS;
  return CPU_VAE_DECODE_WORKING_BYTES * (r <= 1 ? r : r * r);
}

/** Square sides the CPU fit check tries when 1024² does not fit, largest first (multiples of 64, down to 512). */
const FIT_SMALLER_SIDES = [960, 896, 832, 768, 704, 640, 576, 512] as const;

/** On the CPU: the largest side from FIT_SMALLER_SIDES at which `v` fits `budget` in the low mode (with T5 first). */
function cpuFitsUpTo(v: CatalogVariant, budget: number, weightFactor: number): FitResult['fitsUpTo'] {
  for (const side of FIT_SMALLER_SIDES) {
    for (const t5 of [true, false]) {
      const p = cpuPhasePeaks(v, 'low', t5, weightFactor, side * side);
      const peak = Math.max(p.encode, p.denoise, p.decode);
      if (peak <= budget) return { side, withoutT5: !t5, peakBytes: peak };
    }
  }
  return undefined;
}

const MODES: readonly MemoryMode[] = MEMORY_MODES;

/** Where the weights go: the budget, what to call it, and how much the weights weigh there. */
function budgetOf(machine: MachineMemory): { provider: string; bytes: number; where: string; weightFactor: number } {
  const hasVram = machine.vramBytes !== undefined && machine.vramBytes > 0;
  const provider = machine.provider ?? (hasVram ? 'gpu' : 'cpu');
  const label = providerLabel(provider);
  const ram = formatBytes(machine.ramBytes);
  if (provider === 'cpu') {
    return {
      provider,
      bytes: machine.ramBytes,
      weightFactor: CPU_FP16_WEIGHT_FACTOR,
      where: `${ram} of RAM on the CPU (which holds fp16 weights as fp32: twice their download size)`,
    };
  }
  if (machine.unified) return { provider, bytes: machine.ramBytes, weightFactor: 1, where: `${ram} of unified memory with ${label}` };
  if (hasVram) return { provider, bytes: machine.vramBytes!, weightFactor: 1, where: `${formatBytes(machine.vramBytes!)} of GPU memory with ${label}` };
  return { provider, bytes: machine.ramBytes, weightFactor: 1, where: `${ram} of RAM with ${label} (its GPU memory is unknown)` };
}

/**
 * Whether a variant fits this machine, and how: the fastest memory mode that fits with T5, else
 * with the "without T5" selection, else a warning that it will not fit. The message names the
 * provider it assumes; on the CPU the fp16 weights count twice.
 */
export function fitCheck(v: CatalogVariant, machine: MachineMemory): FitResult {
  const { provider, bytes, where, weightFactor } = budgetOf(machine);
  const budget = bytes * USABLE_SHARE;
  const base = { provider, weightFactor };
  for (const t5 of [true, false]) {
    for (const mode of MODES) {
      const peak = peakMemoryBytes(v, mode, t5, weightFactor);
      if (peak > budget) continue;
      const modeText = mode === 'fast' ? 'the fast memory mode' : `the ${mode} memory mode`;
      if (t5) {
        return {
          ...base,
          fits: true,
          memoryMode: mode,
          peakBytes: peak,
          message: `${v.displayName} fits in ${where} with ${modeText} (about ${formatBytes(peak)} at peak).`,
        };
      }
      return {
        ...base,
        fits: true,
        memoryMode: mode,
        withoutT5: true,
        peakBytes: peak,
        message:
          `${v.displayName} fits in ${where} only without the T5 text encoder (download "without T5", ` +
          `${formatBytes(v.downloadBytes.withoutT5)}), with ${modeText} (about ${formatBytes(peak)} at peak). ` +
          `Long prompts are then understood less well.`,
      };
    }
  }
  const least = peakMemoryBytes(v, 'low', false, weightFactor);
  const upTo = provider === 'cpu' ? cpuFitsUpTo(v, budget, weightFactor) : undefined;
  const smaller = upTo
    ? ` On the CPU smaller images need less (the attention grows with the square of the image’s size): it fits at up to ` +
      `${upTo.side} × ${upTo.side} with the low memory mode${upTo.withoutT5 ? ' without T5' : ''} (about ${formatBytes(upTo.peakBytes)} at peak).`
    : '';
  return {
    ...base,
    fits: false,
    memoryMode: 'low',
    withoutT5: true,
    peakBytes: least,
    ...(upTo ? { fitsUpTo: upTo } : {}),
    message:
      `${v.displayName} will not fit at 1024 × 1024 in ${where}: even without T5 and with the low memory mode it needs about ` +
      `${formatBytes(least)}.` +
      (upTo
        ? smaller
        : v.id === 'sd3.5-medium'
          ? ' There is no smaller variant: use a GPU or a machine with more memory.'
          : ` Choose a smaller variant (${CATALOG['sd3.5-medium'].displayName}).`),
  };
}
