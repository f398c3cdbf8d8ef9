// SD3 text-to-image, as diffusers' StableDiffusion3Pipeline does it (docs/architecture.md):
// tokenize → encode (CLIP-L ‖ CLIP-G, zero-padded to 4096, then T5 on the sequence axis) → flow-match
// Euler with classifier-free guidance → VAE decode → RGB bytes. ORT is reached only through sessions.ts.
import { StudioError } from '../../src-shared/errors';
import { testHoldCount } from '../../src-shared/test-hold';
import {
  requestParamsSchema,
  requireParams,
  type ClipHidden,
  type GenerationParams,
  type Sampler,
  type Scheduler,
  type Slg,
  slgLayersProblem,
} from '../../src-shared/generation';
import { strengthStart } from '../../src-shared/img2img';
import type { GenerationStep } from '../../src-shared/progress';
import { blendInpaint, meanLatents, rgbToImageTensor, scaleNoise } from './img2img';
import { binarizeMask, latentMask, overlayMask, pasteBack } from './masking';
import { randn } from './noise';
import { latentPreviewRgb } from './preview';
import { applySkipLayerGuidance, combineGuidance, comfyNoiseSampler, condHalf, sample, schedule, slgActive, type VelocityModel } from './sampling/index';
import type { LoraUseWire } from './protocol';
import type { LoadedModel, TransformerConditioning } from './sessions';
import { concatAxis, concatLastAxis, padLastAxis } from './tensors';
import type { PromptTokenizers } from './tokenizers/index';
import { TokenizerCache } from './tokenizers/cache';

/**
 * The source of an image-to-image or inpainting generation, already fitted to the generation size (the main process
 * decodes and fits the file): RGB bytes H·W·3, and for inpainting the mask's luminance H·W (white = repaint).
 */
export interface ImageInput {
  rgb: Uint8Array;
  /** (0, 1]: how much of the schedule runs (diffusers' get_timesteps). */
  strength: number;
  mask?: Uint8Array;
  /** A1111's "Mask blur" in pixels for the paste-back (0 = a hard edge). */
  maskBlur?: number;
}

/**
 * One generation's parameters as the pipeline takes them (the model is the loaded one; LoRAs as the host
 * resolved them to library files — the worker applies them to the model before generate()).
 */
export type GenerateRequest = Omit<GenerationParams, 'model' | 'init' | 'loras'> & { image?: ImageInput; loras?: LoraUseWire[] };

/** A live preview as the pipeline makes it: RGB bytes at the latent size. */
export interface PreviewRgb {
  width: number;
  height: number;
  data: Uint8Array;
}

export interface GenerateHooks {
  /** Each step in THE step shape (src-shared/progress.ts); the preview beside it when `previews` asked for one. */
  onStep?(step: GenerationStep, previewRgb?: PreviewRgb): void | Promise<void>;
  signal?: AbortSignal;
  previews?: boolean;
}

export interface GenerateResult {
  /** Row-major RGB bytes (height · width · 3). */
  rgb: Uint8Array;
  width: number;
  height: number;
  /** Execution provider that ran the transformer. */
  ep: string;
  clipHidden: ClipHidden;
  /** Whether T5 was used (false when asked off or the model has no text_encoder_3). */
  t5: boolean;
  timings: { encodeMs: number; denoiseMs: number; decodeMs: number; totalMs: number };
  /** Tokens of the prompt that did not fit (CLIP: 75, T5: 255). */
  dropped: { clip: number; t5: number };
  /** The schedule shift used: the request's, else the model's (read once at load). */
  shift: number;
}

/** diffusers' SD3 VAE config: latents / scaling_factor + shift_factor before decoding. */
export const VAE_SCALING_FACTOR = 1.5305;
export const VAE_SHIFT_FACTOR = 0.0609;
const LATENT_CHANNELS = 16;
const CLIP_TOKENS = 77;
const JOINT_DIM = 4096;

function invalid(message: string, field: string): StudioError {
  return new StudioError('invalid_input', message, { field });
}

/**
 * Refuses out-of-range parameters with StudioError invalid_input: THE parameter schema's check and words
 * (src-shared/generation.ts requestParamsSchema); the source image is checked against the size here.
 */
export function validateRequest(req: GenerateRequest): void {
  const { image: _image, loras: _loras, hires: _hires, ...params } = req;
  requireParams(requestParamsSchema, params);
  if (req.image) validateImageInput(req.image, req.width, req.height);
}

function validateImageInput(image: ImageInput, width: number, height: number): void {
  if (!(typeof image.strength === 'number' && image.strength > 0 && image.strength <= 1)) {
    throw invalid(`Strength must be a number above 0 and at most 1 (got ${String(image.strength)}).`, 'strength');
  }
  if (!(image.rgb instanceof Uint8Array) || image.rgb.length !== width * height * 3) {
    throw invalid(`The init image must be ${width}×${height} RGB (${width * height * 3} bytes), got ${image.rgb?.length ?? 0} bytes.`, 'init');
  }
  if (image.mask !== undefined && (!(image.mask instanceof Uint8Array) || image.mask.length !== width * height)) {
    throw invalid(`The mask must be ${width}×${height} (one byte per pixel), got ${image.mask.length} bytes.`, 'mask');
  }
  if (image.maskBlur !== undefined && !(Number.isInteger(image.maskBlur) && image.maskBlur >= 0 && image.maskBlur <= 64)) {
    throw invalid(`Mask blur must be a whole number of pixels from 0 to 64 (got ${String(image.maskBlur)}).`, 'maskBlur');
  }
}

// ---------------------------------------------------------------------------------------------
// Caches (the LoadedModel is kept between jobs, so these are too)

/** Tokenizers by folder (tokenizers/cache.ts): shared by reloads of a model. */
const tokenizerCache = new TokenizerCache();

function tokenizersFor(model: LoadedModel, t5: boolean): Promise<PromptTokenizers> {
  return tokenizerCache.get(model.folder, t5);
}


// ---------------------------------------------------------------------------------------------
// Stages (exported for tests and the benchmark)

export interface PromptIds {
  clipL: number[];
  clipG: number[];
  t5?: number[] | undefined;
}

export interface Conditioning {
  /** [B, 77 + (T5 ? 256 : 77), 4096] */
  context: Float32Array;
  contextDims: number[];
  /** [B, 2048] */
  pooled: Float32Array;
  pooledDims: number[];
  clipHidden: ClipHidden;
}

function expectDims(what: string, dims: readonly number[], expected: readonly number[]): void {
  if (dims.length !== expected.length || dims.some((d, i) => d !== expected[i])) {
    throw new StudioError(
      'invalid_input',
      `The ${what} has shape [${dims.join(', ')}], expected [${expected.join(', ')}]. The model is not an SD3.5 export this studio can use.`,
    );
  }
}

/**
 * Encodes a batch of tokenized prompts (diffusers' encode_prompt): CLIP-L hidden ‖ CLIP-G hidden on the
 * last axis → [B,77,2048], zero-padded to 4096, then T5 [B,256,4096] (or zeros [B,77,4096]) on the
 * sequence axis; pooled = CLIP-L pooled ‖ CLIP-G pooled → [B,2048].
 */
export async function encodePrompts(model: LoadedModel, prompts: readonly PromptIds[], useT5: boolean): Promise<Conditioning> {
  const batch = prompts.length;
  const l = await model.encodeClip(
    'text_encoder',
    prompts.map((p) => p.clipL),
  );
  const g = await model.encodeClip(
    'text_encoder_2',
    prompts.map((p) => p.clipG),
  );
  expectDims('CLIP-L hidden state', l.hiddenDims, [batch, CLIP_TOKENS, 768]);
  expectDims('CLIP-G hidden state', g.hiddenDims, [batch, CLIP_TOKENS, 1280]);
  expectDims('CLIP-L pooled embedding', l.pooledDims, [batch, 768]);
  expectDims('CLIP-G pooled embedding', g.pooledDims, [batch, 1280]);
  const joined = concatLastAxis(l.hidden, l.hiddenDims, g.hidden, g.hiddenDims);
  const clip = padLastAxis(joined.data, joined.dims, JOINT_DIM);
  let t5: { data: Float32Array; dims: number[] };
  if (useT5) {
    const ids = prompts.map((p) => {
      if (!p.t5) throw new StudioError('internal', 'T5 token ids are missing.');
      return p.t5;
    });
    const out = await model.encodeT5(ids);
    expectDims('T5 hidden state', out.dims, [batch, ids[0]?.length ?? 0, JOINT_DIM]);
    t5 = { data: out.hidden, dims: out.dims };
  } else {
    t5 = { data: new Float32Array(batch * CLIP_TOKENS * JOINT_DIM), dims: [batch, CLIP_TOKENS, JOINT_DIM] };
  }
  const context = concatAxis(clip.data, clip.dims, t5.data, t5.dims, 1);
  const pooled = concatLastAxis(l.pooled, l.pooledDims, g.pooled, g.pooledDims);
  return {
    context: context.data,
    contextDims: context.dims,
    pooled: pooled.data,
    pooledDims: pooled.dims,
    clipHidden: l.hiddenKind === 'penultimate' && g.hiddenKind === 'penultimate' ? 'penultimate' : 'last',
  };
}

const f32 = Math.fround;

/** Classifier-free guidance (moved to sampling/guidance.ts; kept here for the callers that import it). */
export { combineGuidance };

/** Decoded image [1,3,H,W] in about [-1,1] → row-major RGB bytes: clamp(x/2 + 0.5, 0, 1)·255, rounded half to even (float32 as numpy). */
export function imageToRgb(image: Float32Array, height: number, width: number): Uint8Array {
  const plane = height * width;
  if (image.length < 3 * plane) throw new StudioError('internal', `The decoded image has ${image.length} values, expected ${3 * plane}.`);
  const rgb = new Uint8Array(plane * 3);
  // Adding 2^23 to a float32 in [0, 255] and rounding to float32 rounds it to an integer, ties to even.
  const MAGIC = 8388608;
  for (let c = 0; c < 3; c++) {
    const offset = c * plane;
    for (let p = 0; p < plane; p++) {
      let v = f32((image[offset + p] as number) * 0.5 + 0.5); // x/2 is exact, so this is float32 (x/2 + 0.5)
      if (!(v > 0)) v = 0; // NaN → 0 as well
      else if (v > 1) v = 1;
      rgb[p * 3 + c] = f32(f32(v * 255) + MAGIC) - MAGIC;
    }
  }
  return rgb;
}

/** z / 1.5305 + 0.0609 in float32, as diffusers does before the VAE. */
export function unscaleLatents(latents: Float32Array): Float32Array {
  const out = new Float32Array(latents.length);
  const scale = f32(VAE_SCALING_FACTOR);
  const shift = f32(VAE_SHIFT_FACTOR);
  for (let i = 0; i < latents.length; i++) out[i] = f32((latents[i] as number) / scale) + shift;
  return out;
}

function cancelled(): StudioError {
  return new StudioError('cancelled', 'The generation was cancelled.');
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw cancelled();
}

/**
 * Test hold point (docs/architecture.md): with SD35_TEST_MODE=1 and SD35_TEST_HOLD=after-step:N, after step N
 * write "SD35_HOLD after-step:N" to stderr and wait until killed or cancelled.
 */
async function holdPoint(step: number, signal: AbortSignal | undefined): Promise<void> {
  if (testHoldCount(process.env, 'after-step') !== step) return;
  process.stderr.write(`SD35_HOLD after-step:${step}\n`);
  await new Promise<void>((resolve) => {
    const keepAlive = setInterval(() => undefined, 1 << 30); // the process must not exit while held
    const done = (): void => {
      clearInterval(keepAlive);
      resolve();
    };
    if (!signal) return; // held until killed
    if (signal.aborted) done();
    else signal.addEventListener('abort', done, { once: true });
  });
  throwIfAborted(signal);
}

/** Image to image / inpainting inputs of the loop (already encoded). */
export interface DenoiseImage {
  /** The source's latents [1,16,h,w]: (mean − shift)·scale. */
  latents: Float32Array;
  strength: number;
  /** Inpainting: the latent-size binary mask [h·w] (1 = repaint). */
  mask?: Float32Array;
}

export interface DenoiseParams {
  /** Decimal (src-shared/generation.ts); the noise uses its low 32 bits. */
  seed: string;
  steps: number;
  guidance: number;
  width: number;
  height: number;
  image?: DenoiseImage;
  /** Absent: euler. */
  sampler?: Sampler | undefined;
  /** Absent: normal. */
  scheduler?: Scheduler | undefined;
  /** Absent: the model's scheduler_config.json shift. */
  shift?: number | undefined;
  slg?: Slg | undefined;
}

/** ComfyUI's SD3 latent format (comfy/latent_formats.py SD3): process_latent_in(z) = (z − 0.0609)·1.5305. */
function comfyEmptyLatentValue(): number {
  return f32(f32(0 - f32(VAE_SHIFT_FACTOR)) * f32(VAE_SCALING_FACTOR));
}

/**
 * The denoising loop: noise randn(seed, [1,16,H/8,W/8]), the chosen schedule (sampling/schedules.ts) over the
 * shift, and the chosen sampler (sampling/samplers.ts) owning the loop; the transformer is fed timestep σ·1000
 * (float32); with guidance > 1 the conditioning must be the batch [negative; positive] and
 * v = uncond + g·(cond − uncond). `normal` + `euler` is diffusers' flow-match Euler, bit for bit as before.
 * Returns the final latents [1,16,H/8,W/8].
 */
export async function denoise(
  model: LoadedModel,
  cond: Pick<Conditioning, 'context' | 'contextDims' | 'pooled' | 'pooledDims'>,
  params: DenoiseParams,
  hooks: GenerateHooks & { startedAt?: number } = {},
): Promise<Float32Array> {
  const { signal } = hooks;
  const started = hooks.startedAt ?? performance.now();
  const cfg = params.guidance > 1;
  const batch = cond.contextDims[0] ?? 0;
  if (batch !== (cfg ? 2 : 1)) {
    throw new StudioError('internal', `Guidance ${params.guidance} needs a conditioning batch of ${cfg ? 2 : 1}, got ${batch}.`);
  }
  const sampler = params.sampler ?? 'euler';
  const scheduler = params.scheduler ?? 'normal';
  // Skip-Layer Guidance runs only with CFG (diffusers: inside `if self.do_classifier_free_guidance`): the transformer
  // session becomes the switch graph's, and the layers must be blocks the model has.
  const slg = cfg ? params.slg : undefined;
  if (slg) {
    const blocks = await model.enableSkipLayers();
    const problem = slgLayersProblem(slg.layers, blocks);
    if (problem) throw new StudioError('invalid_input', problem, { field: 'slg', blocks });
  }
  const h = params.height / 8;
  const w = params.width / 8;
  const plane = LATENT_CHANNELS * h * w;
  const latentShape = [1, LATENT_CHANNELS, h, w];
  const { sigmas } = schedule(scheduler, params.steps, params.shift ?? model.shift);
  const total = sigmas.length - 1; // beta can merge steps
  const noise = randn(params.seed, latentShape);
  const image = params.image;
  // Image to image: start at step t_start with latents = scale_noise(image_latents, σ[t_start], noise)
  // (diffusers pipeline_stable_diffusion_3_img2img.py, get_timesteps + prepare_latents). Inpainting at strength 1
  // starts from the noise itself (pipeline_stable_diffusion_3_inpaint.py, prepare_latents: is_strength_max).
  const startStep = image ? strengthStart(total, image.strength).startStep : 0;
  const latents =
    !image || (image.mask && image.strength === 1) ? noise.slice() : scaleNoise(image.latents, noise, sigmas[startStep] as number);
  if (image && image.latents.length !== plane) {
    throw new StudioError('internal', `The image latents have ${image.latents.length} values, expected ${plane}.`);
  }
  const sigma0 = sigmas[0]!;
  if (!image && scheduler !== 'normal' && sigma0 !== 1) {
    // comfy/model_sampling.py CONST.noise_scaling: σ·noise + (1 − σ)·latent, the latent being ComfyUI's empty SD3
    // latent after process_latent_in. (σ_max is exactly 1 at shift 3; other shifts can round it.)
    const fill = f32(f32(1 - sigma0) * comfyEmptyLatentValue());
    for (let i = 0; i < latents.length; i++) latents[i] = f32(sigma0 * latents[i]!) + fill;
  }
  const conditioning: TransformerConditioning = await model.transformerConditioning(
    cond.context,
    cond.contextDims,
    cond.pooled,
    cond.pooledDims,
  );
  const sampleDims = [batch, LATENT_CHANNELS, h, w];
  // The skip-layer pass takes the positive prompt alone (diffusers: original_prompt_embeds, the batch's second half).
  const positive = slg
    ? await model.transformerConditioning(condHalf(cond.context), [1, ...cond.contextDims.slice(1)], condHalf(cond.pooled), [1, ...cond.pooledDims.slice(1)])
    : undefined;
  const velocity: VelocityModel = async (x, sigma, step) => {
    throwIfAborted(signal);
    // Fresh buffers each call: a recorded run (LoadedModel.trace) keeps exactly what was fed.
    const input = new Float32Array(batch * plane);
    for (let b = 0; b < batch; b++) input.set(x, b * plane);
    // ModelSamplingDiscreteFlow.timestep(σ) = σ·1000 in float32 (diffusers' timesteps are the same values).
    const timestep = new Float32Array(batch).fill(f32(sigma * 1000));
    const out = await model.runTransformer(conditioning, input, sampleDims, timestep);
    if (!cfg) return out;
    const v = combineGuidance(out, params.guidance);
    if (slg && positive && slgActive(slg, step, total, cfg)) {
      // diffusers pipelines/stable_diffusion_3/pipeline_stable_diffusion_3.py, StableDiffusion3Pipeline.__call__:
      // should_skip_layers = i > num_inference_steps·skip_layer_guidance_start and i < …·skip_layer_guidance_stop
      // (i = this step's index over the whole schedule, N = its steps); then one more transformer call on the latents
      // with the positive prompt and skip_layers = the listed blocks, and
      // noise_pred = noise_pred + (noise_pred_text − noise_pred_skip_layers)·skip_guidance_scale.
      // (A second model call inside a step — Heun's — is guided the same way, by the step it belongs to.)
      throwIfAborted(signal);
      const skip = await model.runTransformer(positive, x.slice(), [1, LATENT_CHANNELS, h, w], new Float32Array(1).fill(f32(sigma * 1000)), slg.layers);
      applySkipLayerGuidance(v, condHalf(out), skip, slg.scale);
    }
    return v;
  };
  const runSteps = total - startStep;
  return sample(sampler, velocity, latents, sigmas, {
    firstStep: startStep,
    ...(sampler === 'euler_ancestral' ? { noise: comfyNoiseSampler(params.seed, latentShape) } : {}),
    afterStep: async ({ step, x }) => {
      if (image?.mask) {
        // Keep the unmasked area on the source's trajectory: noised to the next σ, the source itself after the
        // last step (pipeline_stable_diffusion_3_inpaint.py, __call__).
        const proper = step < total - 1 ? scaleNoise(image.latents, noise, sigmas[step + 1] as number) : image.latents;
        blendInpaint(x, proper, image.mask);
      }
      const done = step + 1 - startStep;
      if (hooks.onStep) {
        const step: GenerationStep = { step: done, total: runSteps, elapsedMs: performance.now() - started };
        await hooks.onStep(step, hooks.previews ? { width: w, height: h, data: latentPreviewRgb(x, h, w) } : undefined);
      }
      await holdPoint(done, signal);
    },
  });
}

/** Text-to-image with a loaded model (validated first). Cancel via hooks.signal between steps → StudioError cancelled. */
export async function generate(model: LoadedModel, req: GenerateRequest, hooks: GenerateHooks = {}): Promise<GenerateResult> {
  validateRequest(req);
  try {
    return await runGeneration(model, req, hooks);
  } catch (err) {
    // A failed or cancelled job still frees what its memory mode would have freed.
    for (const phase of ['encode', 'denoise', 'decode'] as const) await model.endPhase(phase).catch(() => undefined);
    throw err;
  }
}

/**
 * The source image → its latents for the loop: the VAE encoder's distribution mean, (mean − shift)·scale, and for
 * inpainting the binarised mask at latent size.
 */
export async function encodeSource(model: LoadedModel, input: ImageInput, width: number, height: number): Promise<DenoiseImage> {
  const pixels = rgbToImageTensor(input.rgb, width, height);
  const out = await model.encodeImage(pixels, [1, 3, height, width]);
  await model.endPhase('encodeImage');
  const h = height / 8;
  const w = width / 8;
  if (out.dims.length !== 4 || out.dims[0] !== 1 || out.dims[2] !== h || out.dims[3] !== w) {
    throw new StudioError('invalid_input', `The VAE encoder returned shape [${out.dims.join(', ')}], expected [1, 32, ${h}, ${w}].`);
  }
  const latents = meanLatents(out.data, LATENT_CHANNELS, out.dims[1] as number, VAE_SHIFT_FACTOR, VAE_SCALING_FACTOR);
  return {
    latents,
    strength: input.strength,
    ...(input.mask ? { mask: latentMask(binarizeMask(input.mask), width, height) } : {}),
  };
}

/** The request's sampler, schedule, shift and SLG as the loop takes them (absent ones stay absent: the defaults). */
export function samplingOfRequest(req: GenerateRequest): Pick<DenoiseParams, 'sampler' | 'scheduler' | 'shift' | 'slg'> {
  return {
    ...(req.sampler !== undefined ? { sampler: req.sampler } : {}),
    ...(req.scheduler !== undefined ? { scheduler: req.scheduler } : {}),
    ...(req.shift !== undefined ? { shift: req.shift } : {}),
    ...(req.slg !== undefined ? { slg: req.slg } : {}),
  };
}

async function runGeneration(model: LoadedModel, req: GenerateRequest, hooks: GenerateHooks): Promise<GenerateResult> {
  const { signal } = hooks;
  const started = performance.now();
  throwIfAborted(signal);

  // Encode
  const useT5 = req.t5 && model.hasT5;
  const cfg = req.guidance > 1;
  const tokenizers = await tokenizersFor(model, useT5);
  const positive = tokenizers.encode(req.prompt);
  const prompts: PromptIds[] = [];
  if (cfg) prompts.push(tokenizers.encode(req.negativePrompt));
  prompts.push(positive);
  throwIfAborted(signal);
  const cond = await encodePrompts(model, prompts, useT5);
  await model.endPhase('encode');
  const image = req.image ? await encodeSource(model, req.image, req.width, req.height) : undefined;
  const encodedAt = performance.now();
  throwIfAborted(signal);

  // Denoise
  const params: DenoiseParams = { seed: req.seed, steps: req.steps, guidance: req.guidance, width: req.width, height: req.height, ...(image ? { image } : {}) };
  // The sampling choices travel with the request (they were dropped here once: every image came out euler/normal).
  Object.assign(params, samplingOfRequest(req));
  const latents = await denoise(model, cond, params, { ...hooks, startedAt: started });
  await model.endPhase('denoise');
  const denoisedAt = performance.now();
  throwIfAborted(signal);

  // Decode
  // Decode exactly as text to image (latents / scaling + shift): diffusers' SD3 inpaint pipeline leaves the shift out
  // here (diffusers #13611), which is a bug, not a convention.
  const decoded = await model.decodeLatents(unscaleLatents(latents), [1, LATENT_CHANNELS, req.height / 8, req.width / 8]);
  const expected = [1, 3, req.height, req.width];
  if (decoded.dims.length !== 4 || decoded.dims.some((d, i) => d !== expected[i])) {
    throw new StudioError(
      'invalid_input',
      `The VAE decoder returned an image of shape [${decoded.dims.join(', ')}], expected [${expected.join(', ')}].`,
    );
  }
  const rgb = imageToRgb(decoded.data, req.height, req.width);
  if (req.image?.mask) pasteBack(rgb, req.image.rgb, overlayMask(req.image.mask, req.width, req.height, req.image.maskBlur ?? 0));
  await model.endPhase('decode');
  const finished = performance.now();

  return {
    rgb,
    width: req.width,
    height: req.height,
    ep: model.ep,
    clipHidden: cond.clipHidden,
    t5: useT5,
    timings: {
      encodeMs: encodedAt - started,
      denoiseMs: denoisedAt - encodedAt,
      decodeMs: finished - denoisedAt,
      totalMs: finished - started,
    },
    dropped: positive.dropped,
    shift: req.shift ?? model.shift,
  };
}
