// `sd35-studio generate`: text-to-image from the command line (docs/architecture.md §8) — submit and wait. The job goes
// into the one job queue (core/jobs/). When this process holds the data folder it runs the job itself with the
// queue's runner (owner 'cli'); when the app or `serve` holds it, the job is queued there and this process waits
// for its images, reading progress from the database, so two processes never fight over one GPU.
// One JSON line per image with --json (the seed a decimal string, as everywhere); progress on stderr.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { CATALOG } from '../../../src-shared/catalog';
import { StudioError } from '../../../src-shared/errors';
import {
  EP_CHOICES,
  EP_LABELS,
  GENERATION_LIMITS,
  MAX_SEED_TEXT,
  MEMORY_MODES,
  MEMORY_MODE_LABELS,
  addToSeed,
  defaultsFor,
  jobParamsSchema,
  loraStrengthSchema,
  randomSeed,
  requireParams,
  seedSweepSchema,
  requireSampler,
  requireScheduler,
  parseSeed,
  seedMessage,
  parseSlgLayers,
  SAMPLERS,
  SCHEDULERS,
  SLG_DEFAULT,
  slgSchema,
  type EpChoice,
  type Sampler,
  type Scheduler,
  type Slg,
  type JobParams,
  type LoraRef,
  type MemoryMode,
  type ParamField,
  type Sweep,
  BUILTIN_UPSCALER,
  HIRES_LIMITS,
  hiresSchema,
  hiresSize,
  type Hires,
} from '../../../src-shared/generation';
import {
  checkInitCombination,
  FIT_MODES,
  FIT_MODE_LABELS,
  IMG2IMG_LIMITS,
  INPAINT_AREAS,
  MASK_PADDING_LIMITS,
  OUTPAINT_LIMITS,
  outpaintSchema,
  type FitMode,
  type InitImage,
  type InpaintArea,
  type Outpaint,
} from '../../../src-shared/img2img';
import { progress, stepProgress } from '../../../src-shared/progress';
import type { JobView } from '../../../src-shared/schemas/jobs';
import type { StudioCore } from '../../core/studio';
import { resolveModel, type ResolvedModel } from '../../core/jobs/runner';
import type { HostModelInfo } from '../../inference/host';
import { boolOption, intOption, type ParsedArgs, requiredString, stringOption } from '../args';
import { defineCommand, type CliContext, type Command } from '../command';
import { createProgressBar } from '../progress';
import { LoraLibrary } from '../../core/loras/library';
import { dataLayout } from '../../core/paths';
import { studioLoraMetaSchema } from '../../../src-shared/metadata';
import { formatSeconds } from '../../../src-shared/durations';

export type { ResolvedModel };

/** `--model <id|folder>` → the model folder (installed models first, then a folder path). */
export function resolveModelFolder(core: StudioCore | undefined, ref: string): Promise<ResolvedModel> {
  return resolveModel(core?.models, ref);
}

/** A number as typed; its range is THE parameter schema's (src-shared/generation.ts), checked in jobFor. */
function numberOption(args: ParsedArgs, name: string): number | undefined {
  const raw = stringOption(args, name);
  if (raw === undefined) return undefined;
  if (!/^-?(\d+(\.\d*)?|\.\d+)$/.test(raw.trim())) throw new StudioError('invalid_input', `--${name} must be a number such as 4.5, not "${raw}"`);
  return Number(raw);
}

/** The option each generation parameter comes from: a schema issue is reported under the option's name. */
const OPTION_OF: Readonly<Record<ParamField, string>> = {
  prompt: '--prompt',
  negativePrompt: '--negative',
  model: '--model',
  seed: '--seed',
  steps: '--steps',
  guidance: '--guidance',
  width: '--width',
  height: '--height',
  t5: '--no-t5',
  sampler: '--sampler',
  scheduler: '--scheduler',
  shift: '--shift',
  slg: '--slg-*',
  loras: '--lora',
  init: '--init-image',
  hires: '--hires-*',
  parameters: 'parameters',
};

function choiceOption<T extends string>(args: ParsedArgs, name: string, choices: readonly T[]): T | undefined {
  const raw = stringOption(args, name);
  if (raw === undefined) return undefined;
  if (!(choices as readonly string[]).includes(raw)) {
    throw new StudioError('invalid_input', `--${name} must be one of ${choices.join(', ')} (got "${raw}")`);
  }
  return raw as T;
}

export interface GenerateOptions {
  modelRef: string;
  prompt: string;
  negativePrompt: string;
  /** First seed (decimal); image k uses seed + k. */
  seed: string;
  count: number;
  steps?: number;
  guidance?: number;
  width?: number;
  height?: number;
  ep?: EpChoice;
  memory?: MemoryMode;
  t5: boolean;
  sampler?: Sampler;
  scheduler?: Scheduler;
  shift?: number;
  slg?: Slg;
  /** Image to image: the source file (and mask file), as given on the command line. */
  initImage?: { path: string; strength: number; fit: FitMode; mask?: string; maskBlur: number; outpaint?: Outpaint; area?: InpaintArea; padding?: number };
  /** Hires fix (--hires-scale and its companions). */
  hires?: Hires;
  /** `--lora PATH_OR_NAME[:STRENGTH]`, as given (resolved against the library by the command). */
  loraArgs?: string[];
  /** The LoRAs resolved in the library (set by the command before jobFor). */
  loras?: LoraRef[];
  /** The job's source once kept in the data folder (set by the command before jobFor). */
  init?: InitImage;
  /** The source's size: the default generation size (rounded to 16, within the limits). */
  initSize?: { width: number; height: number };
}

/** `--lora PATH_OR_NAME[:STRENGTH]` → library LoRAs (a file not yet in the library is imported first). */
function resolveLoraArgs(ctx: CliContext, given: readonly string[], dataRoot: string): LoraRef[] {
  const layout = dataLayout(dataRoot);
  const library = new LoraLibrary(layout.loras, layout.graphs);
  if (given.length > GENERATION_LIMITS.maxLoras) throw new StudioError('invalid_input', `At most ${GENERATION_LIMITS.maxLoras} LoRAs per generation.`);
  return given.map((arg) => {
    const m = /^(.*?):(-?(?:\d+(?:\.\d*)?|\.\d+))$/u.exec(arg);
    const ref = m ? (m[1] as string) : arg;
    const strength = m ? Number(m[2]) : 1;
    if (!loraStrengthSchema.safeParse(strength).success) {
      throw new StudioError('invalid_input', `--lora ${arg}: the strength must be from ${GENERATION_LIMITS.minLoraStrength} to ${GENERATION_LIMITS.maxLoraStrength}`);
    }
    let entry = library.find(ref);
    if (!entry && fs.existsSync(ref) && fs.statSync(ref).isFile()) {
      const sha = crypto.createHash('sha256').update(fs.readFileSync(ref)).digest('hex');
      entry = library.find(sha) ?? library.import(ref);
      ctx.out.progress(`LoRA ${path.basename(ref)} is in the library as "${entry.name}".`);
    }
    if (!entry) throw new StudioError('not_found', `--lora ${arg}: no LoRA "${ref}" in the library and no such file (loras list shows the library).`);
    return { name: entry.name, sha256: entry.sha256, strength };
  });
}

/** The command line → generation options (usage errors are invalid_input, exit 2). */
export function parseGenerateOptions(args: ParsedArgs): GenerateOptions {
  const modelRef = requiredString(args, 'model', 'Name the model: --model <catalog id|folder>.');
  const prompt = requiredString(args, 'prompt', 'Give a prompt: --prompt "a lighthouse at dusk".');
  const countGiven = numberOption(args, 'count') ?? 1;
  const countCheck = seedSweepSchema.safeParse({ mode: 'random', count: countGiven });
  if (!countCheck.success) throw new StudioError('invalid_input', `--count: ${countCheck.error.issues[0]?.message ?? 'not valid'}`, { field: 'count' });
  const count = countGiven;
  const seedText = stringOption(args, 'seed');
  const seed = seedText === undefined ? randomSeed() : parseSeed(seedText);
  if (seed === null) throw new StudioError('invalid_input', `${OPTION_OF.seed}: ${seedMessage(seedText)}`, { field: 'seed' });
  if (addToSeed(seed, count - 1) === null) {
    throw new StudioError('invalid_input', `--seed ${seed} with --count ${count} goes past the largest seed, ${MAX_SEED_TEXT}.`);
  }
  const opts: GenerateOptions = { modelRef, prompt, negativePrompt: stringOption(args, 'negative') ?? '', seed, count, t5: !boolOption(args, 'no-t5') };
  const loraArgs = args.options.lora;
  if (Array.isArray(loraArgs)) opts.loraArgs = loraArgs;
  const steps = numberOption(args, 'steps');
  if (steps !== undefined) opts.steps = steps;
  const guidance = numberOption(args, 'guidance');
  if (guidance !== undefined) opts.guidance = guidance;
  const width = numberOption(args, 'width');
  if (width !== undefined) opts.width = width;
  const height = numberOption(args, 'height');
  if (height !== undefined) opts.height = height;
  const ep = choiceOption(args, 'ep', EP_CHOICES);
  if (ep !== undefined) opts.ep = ep;
  const memory = choiceOption(args, 'memory', MEMORY_MODES);
  if (memory !== undefined) opts.memory = memory;
  const sampler = stringOption(args, 'sampler');
  if (sampler !== undefined) opts.sampler = requireSampler(sampler);
  const scheduler = stringOption(args, 'scheduler');
  if (scheduler !== undefined) opts.scheduler = requireScheduler(scheduler);
  const shift = numberOption(args, 'shift');
  if (shift !== undefined) opts.shift = shift;
  // Any --slg-* option turns Skip-Layer Guidance on; the others default to SLG_DEFAULT (diffusers' values).
  const slgLayers = stringOption(args, 'slg-layers');
  const slgScale = numberOption(args, 'slg-scale');
  const slgStart = numberOption(args, 'slg-start');
  const slgEnd = numberOption(args, 'slg-end');
  if (slgLayers !== undefined || slgScale !== undefined || slgStart !== undefined || slgEnd !== undefined) {
    const slg = slgSchema.safeParse({
      layers: slgLayers !== undefined ? parseSlgLayers(slgLayers) : SLG_DEFAULT.layers,
      scale: slgScale ?? SLG_DEFAULT.scale,
      start: slgStart ?? SLG_DEFAULT.start,
      end: slgEnd ?? SLG_DEFAULT.end,
    });
    if (!slg.success) {
      const issue = slg.error.issues[0];
      throw new StudioError('invalid_input', `--slg-${String(issue?.path[0] ?? 'layers')}: ${issue?.message ?? 'not valid'}`, { field: 'slg' });
    }
    opts.slg = slg.data;
  }
  const hires = parseHiresOptions(args);
  if (hires) opts.hires = hires;
  const initPath = stringOption(args, 'init-image');
  const strength = numberOption(args, 'strength');
  const mask = stringOption(args, 'mask');
  const maskBlur = intOption(args, 'mask-blur', { min: 0, max: IMG2IMG_LIMITS.maxMaskBlur });
  const fit = choiceOption(args, 'fit', FIT_MODES);
  const outpaintText = stringOption(args, 'outpaint');
  const area = choiceOption(args, 'inpaint-area', INPAINT_AREAS);
  const padding = intOption(args, 'mask-padding', { min: 0, max: MASK_PADDING_LIMITS.max });
  if (initPath === undefined) {
    const stray = [
      strength !== undefined && '--strength',
      mask !== undefined && '--mask',
      maskBlur !== undefined && '--mask-blur',
      fit !== undefined && '--fit',
      outpaintText !== undefined && '--outpaint',
      area !== undefined && '--inpaint-area',
      padding !== undefined && '--mask-padding',
    ].filter(Boolean);
    if (stray.length > 0) throw new StudioError('invalid_input', `${stray.join(', ')} need${stray.length === 1 ? 's' : ''} --init-image PNG.`, { field: 'init' });
    return opts;
  }
  if (strength !== undefined && !(strength > 0 && strength <= 1)) {
    throw new StudioError('invalid_input', `--strength must be above 0 and at most 1 (got ${strength}).`, { field: 'strength' });
  }
  opts.initImage = {
    path: initPath,
    strength: strength ?? IMG2IMG_LIMITS.defaultStrength,
    fit: fit ?? 'resize',
    ...(mask !== undefined ? { mask } : {}),
    maskBlur: maskBlur ?? IMG2IMG_LIMITS.defaultMaskBlur,
    ...(outpaintText !== undefined ? { outpaint: parseOutpaint(outpaintText) } : {}),
    ...(area !== undefined ? { area } : {}),
    ...(padding !== undefined ? { padding } : {}),
  };
  if (hires) throw new StudioError('invalid_input', '--hires-scale works on a generated image; it cannot be combined with --init-image.', { field: 'hires' });
  if (padding !== undefined && area !== 'masked') throw new StudioError('invalid_input', '--mask-padding needs --inpaint-area masked.', { field: 'padding' });
  checkInitCombination({
    ...(mask !== undefined ? { mask: { sha256: '0'.repeat(64), blur: 0 } } : {}),
    ...(opts.initImage.outpaint ? { outpaint: opts.initImage.outpaint } : {}),
    ...(area !== undefined ? { area } : {}),
  });
  return opts;
}

/** `--outpaint N` (every side) or `--outpaint L,T,R,B` (pixels per side). */
export function parseOutpaint(text: string): Outpaint {
  const parts = text.split(',').map((t) => t.trim());
  const valid = (parts.length === 1 || parts.length === 4) && parts.every((t) => /^\d{1,5}$/u.test(t));
  const n = parts.map(Number);
  const sides = n.length === 1 ? { left: n[0]!, top: n[0]!, right: n[0]!, bottom: n[0]! } : { left: n[0]!, top: n[1]!, right: n[2]!, bottom: n[3]! };
  const parsed = outpaintSchema.safeParse(sides);
  if (!valid || !parsed.success) {
    throw new StudioError('invalid_input', `--outpaint takes pixels per side, N or LEFT,TOP,RIGHT,BOTTOM, each 0–${OUTPAINT_LIMITS.maxPerSide} (got "${text}").`, { field: 'outpaint' });
  }
  return parsed.data;
}

/** `--hires-scale S [--hires-steps N] [--hires-strength D] [--hires-upscaler lanczos|NAME]`; the others need the scale. */
function parseHiresOptions(args: ParsedArgs): Hires | undefined {
  const scale = numberOption(args, 'hires-scale');
  const steps = intOption(args, 'hires-steps', { min: 0, max: GENERATION_LIMITS.maxSteps });
  const strength = numberOption(args, 'hires-strength');
  const upscaler = stringOption(args, 'hires-upscaler');
  if (scale === undefined) {
    const stray = [steps !== undefined && '--hires-steps', strength !== undefined && '--hires-strength', upscaler !== undefined && '--hires-upscaler'].filter(Boolean);
    if (stray.length > 0) throw new StudioError('invalid_input', `${stray.join(', ')} need${stray.length === 1 ? 's' : ''} --hires-scale S.`, { field: 'hires' });
    return undefined;
  }
  const parsed = hiresSchema.safeParse({
    scale,
    upscaler: upscaler ?? BUILTIN_UPSCALER,
    steps: steps ?? 0,
    strength: strength ?? HIRES_LIMITS.defaultStrength,
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new StudioError('invalid_input', `--hires-${String(issue?.path[0] ?? 'scale')}: ${issue?.message ?? 'not valid'}`, { field: 'hires' });
  }
  return parsed.data;
}

/** Reads and keeps the --init-image (and --mask) files in the data folder: the job refers to them by sha256. */
export async function keepInitImage(opts: GenerateOptions, dataRoot: string): Promise<void> {
  const given = opts.initImage;
  if (!given) return;
  const { storeInput, checkMaskFits, sizeForImage } = await import('../../core/images/inputs');
  const read = async (file: string, what: string): Promise<Buffer> => {
    const fsp = await import('node:fs/promises');
    try {
      return await fsp.readFile(file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new StudioError(code === 'ENOENT' ? 'not_found' : 'invalid_input', `${what} ${file} cannot be read${code ? ` (${code})` : ''}.`, { field: 'init' });
    }
  };
  const source = await storeInput(dataRoot, await read(given.path, '--init-image'), `The init image ${given.path}`);
  let mask: InitImage['mask'];
  if (given.mask !== undefined) {
    const stored = await storeInput(dataRoot, await read(given.mask, '--mask'), `The mask ${given.mask}`);
    checkMaskFits(stored, source);
    mask = { sha256: stored.sha256, blur: given.maskBlur };
  }
  opts.init = {
    sha256: source.sha256,
    strength: given.strength,
    fit: given.fit,
    ...(mask ? { mask } : {}),
    ...(given.outpaint ? { outpaint: given.outpaint } : {}),
    ...(given.area ? { area: given.area } : {}),
    ...(given.area === 'masked' ? { padding: given.padding ?? MASK_PADDING_LIMITS.default } : {}),
  };
  // The default size: the source's own (outpaint: the grown canvas), rounded to 16 within the limits.
  const o = given.outpaint;
  opts.initSize = o ? sizeForImage(source.width + o.left + o.right, source.height + o.top + o.bottom) : sizeForImage(source.width, source.height);
}

/** The job's parameters with the model's defaults filled in, validated (invalid_input), and its sweep. */
export async function jobFor(opts: GenerateOptions, model: ResolvedModel, modelRef: string): Promise<{ params: JobParams; sweep: Sweep }> {
  const d = model.variant?.defaults ?? defaultsFor(model.id);
  const candidate = {
    prompt: opts.prompt,
    negativePrompt: opts.negativePrompt,
    model: modelRef,
    steps: opts.steps ?? d.steps,
    guidance: opts.guidance ?? d.guidance,
    width: opts.width ?? opts.initSize?.width ?? d.width,
    height: opts.height ?? opts.initSize?.height ?? d.height,
    t5: opts.t5,
    ...(opts.sampler !== undefined ? { sampler: opts.sampler } : {}),
    ...(opts.scheduler !== undefined ? { scheduler: opts.scheduler } : {}),
    ...(opts.shift !== undefined ? { shift: opts.shift } : {}),
    ...(opts.slg !== undefined ? { slg: opts.slg } : {}),
    ...(opts.init ? { init: opts.init } : {}),
    ...(opts.loras && opts.loras.length > 0 ? { loras: opts.loras } : {}),
    ...(opts.hires ? { hires: opts.hires } : {}),
  };
  // THE schema's check and words ("--guidance: Guidance must be a number from 0 to 30 (got 31).").
  if (opts.hires) hiresSize(candidate.width, candidate.height, opts.hires.scale);
  const params = requireParams(jobParamsSchema, candidate, (field) => OPTION_OF[field]);
  return { params, sweep: { seeds: { mode: 'consecutive', first: opts.seed, count: opts.count } } };
}

function cancelled(): StudioError {
  return new StudioError('cancelled', 'The generation was cancelled.');
}

/** The JSON line (and human line) of one image. */
function printImage(ctx: CliContext, core: StudioCore, imageId: number, extra: { ep: string; durationMs: number }): void {
  const d = core.history.get(imageId);
  const file = core.history.imagePath(imageId) ?? d.path;
  ctx.out.item(
    { id: d.id, path: file, seed: d.seed, width: d.width, height: d.height, steps: d.steps, guidance: d.guidance, ep: extra.ep, durationMs: extra.durationMs },
    `Image ${d.id}: ${file} (seed ${d.seed}, ${d.width}×${d.height}, ${d.steps} steps, guidance ${d.guidance}, ${extra.ep}, ${formatSeconds(extra.durationMs)})`,
  );
}

/** Unmatched keys shown at most this many per LoRA (the image's metadata keeps them all). */
const UNMATCHED_SHOWN = 8;

/**
 * The warning of a LoRA whose keys partly matched nothing (issue #20 §2): read from the image's stored metadata
 * (the runner writes the worker's report there), once per LoRA and run, on stderr.
 */
function warnUnmatched(core: StudioCore, imageId: number, warned: Set<string>, note: (line: string) => void): void {
  const parsed = studioLoraMetaSchema.array().safeParse(core.history.get(imageId).meta?.loras ?? []);
  if (!parsed.success) return;
  for (const l of parsed.data) {
    const keys = l.unmatched ?? [];
    if (keys.length === 0 || warned.has(l.sha256)) continue;
    warned.add(l.sha256);
    const shown = keys.slice(0, UNMATCHED_SHOWN).join(', ');
    const more = keys.length > UNMATCHED_SHOWN ? ` and ${keys.length - UNMATCHED_SHOWN} more` : '';
    note(`Warning: LoRA "${l.name}": ${keys.length} layer${keys.length === 1 ? '' : 's'} matched nothing in this model and ${keys.length === 1 ? 'was' : 'were'} skipped: ${shown}${more}`);
  }
}

function failure(job: JobView): StudioError | undefined {
  const failed = job.generations.find((g) => g.status === 'failed');
  if (failed) return new StudioError('internal', failed.error ?? 'The generation failed.');
  if (job.generations.some((g) => g.status === 'cancelled')) return cancelled();
  const interrupted = job.generations.find((g) => g.status === 'interrupted');
  if (interrupted) return new StudioError('interrupted', interrupted.error ?? 'The generation was interrupted.');
  return undefined;
}

function loadNotes(ctx: CliContext, note: (line: string) => void): (info: HostModelInfo, model: ResolvedModel) => void {
  let warned = false;
  return (info, model) => {
    if (!info.reused) note(`Loaded ${model.id} (${info.layout} layout, ${info.precision}) on ${info.ep} in ${formatSeconds(info.loadMs)}`);
    if (warned) return;
    warned = true;
    if (info.epFallbackReason) note(`Note: ${info.epFallbackReason}`);
    if (info.ep === 'cpu' && info.precision === 'fp16') {
      note('Warning: this model is an fp16 export running on the CPU, which is slow (ONNX Runtime converts every fp16 operation). A GPU execution provider is much faster.');
    }
    if (info.clipHidden === 'last') note('Note: this export gives the last CLIP-L hidden layer, not the penultimate one diffusers uses; images differ slightly from diffusers.');
    void ctx;
  };
}

/** Alone: this process runs its job with the queue's runner. */
async function runHere(ctx: CliContext, core: StudioCore, jobId: number, count: number): Promise<JobView> {
  const bar = createProgressBar();
  const index = new Map<number, number>();
  const warned = new Set<string>();
  let firstError: StudioError | undefined;
  const view = await core.jobs.runOwnJob(jobId, {
    signal: ctx.signal,
    onLoaded: loadNotes(ctx, (line) => bar.note(line)),
    onStep: (generationId, s) => {
      if (!index.has(generationId)) index.set(generationId, index.size);
      const k = index.get(generationId)!;
      bar.draw(stepProgress(s, null, count > 1 ? `image ${k + 1}/${count}` : 'image'));
    },
    onImage: (_id, outcome) => {
      bar.end();
      if (outcome.result.dropped.clip > 0 || outcome.result.dropped.t5 > 0) {
        bar.note(`Warning: the prompt is too long: ${outcome.result.dropped.clip} CLIP tokens (beyond 75) and ${outcome.result.dropped.t5} T5 tokens (beyond 255) were dropped.`);
      }
      warnUnmatched(core, outcome.record.id, warned, (line) => bar.note(line));
      printImage(ctx, core, outcome.record.id, { ep: outcome.result.ep, durationMs: outcome.durationMs });
    },
    onError: (_id, e) => {
      firstError ??= e;
    },
  });
  bar.end();
  if (firstError && firstError.code !== 'cancelled') throw firstError;
  return view;
}

const POLL_MS = 150;
const CANCEL_WAIT_MS = 30_000;

/** Next to the app or `serve`: the job runs in their queue; this process waits, reading the database. */
async function waitForQueue(ctx: CliContext, core: StudioCore, jobId: number, count: number): Promise<JobView> {
  const bar = createProgressBar();
  const printed = new Set<number>();
  const warned = new Set<string>();
  let cancelAt: number | undefined;
  const onAbort = () => {
    cancelAt = Date.now();
    try {
      core.jobs.cancel({ jobId });
    } catch {
      // the job may have finished meanwhile
    }
  };
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  try {
    for (;;) {
      const job = core.jobs.store.require(jobId);
      job.generations.forEach((g, k) => {
        if (g.status === 'running' && g.step !== undefined && g.total !== undefined) {
          bar.draw(progress('generate', { status: 'running', done: g.step, total: g.total, label: count > 1 ? `image ${k + 1}/${count}` : 'image' }));
        }
        if (g.status === 'done' && g.imageId !== undefined && !printed.has(g.id)) {
          printed.add(g.id);
          bar.end();
          const d = core.history.get(g.imageId);
          const durationMs = d.startedAt && d.finishedAt ? Date.parse(d.finishedAt) - Date.parse(d.startedAt) : 0;
          warnUnmatched(core, g.imageId, warned, (line) => bar.note(line));
          printImage(ctx, core, g.imageId, { ep: d.ep ?? 'unknown', durationMs });
        }
      });
      if (core.jobs.store.isFinished(job.status)) return job;
      if (cancelAt !== undefined && Date.now() - cancelAt > CANCEL_WAIT_MS) throw cancelled();
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  } finally {
    bar.end();
    ctx.signal.removeEventListener('abort', onAbort);
  }
}

export const generateCommand: Command = defineCommand({
  path: ['generate'],
  usage: 'generate --model <id|folder> --prompt T [options]',
  summary: 'Generate images into the history (one JSON line per image with --json)',
  options: [
    { name: 'model', type: 'string', valueName: 'ID|FOLDER', description: 'Catalog id (sd3.5-medium…) or a model folder' },
    { name: 'prompt', type: 'string', valueName: 'T', description: 'The prompt' },
    { name: 'negative', type: 'string', valueName: 'T', description: 'The negative prompt (used when guidance > 1)' },
    { name: 'seed', type: 'string', valueName: 'N', description: `Seed of the first image, 0 … ${MAX_SEED_TEXT} (default: random); image k uses seed + k` },
    { name: 'count', type: 'string', valueName: 'K', description: `Number of images, 1–${GENERATION_LIMITS.maxPerSubmit} (default 1)` },
    { name: 'steps', type: 'string', valueName: 'N', description: `Denoising steps, ${GENERATION_LIMITS.minSteps}–${GENERATION_LIMITS.maxSteps} (default: the model’s)` },
    { name: 'guidance', type: 'string', valueName: 'G', description: `Guidance scale, ${GENERATION_LIMITS.minGuidance}–${GENERATION_LIMITS.maxGuidance} (default: the model’s)` },
    { name: 'width', type: 'string', valueName: 'W', description: `Width in pixels, a multiple of ${GENERATION_LIMITS.sizeMultiple} (default ${CATALOG['sd3.5-medium'].defaults.width})` },
    { name: 'height', type: 'string', valueName: 'H', description: `Height in pixels, a multiple of ${GENERATION_LIMITS.sizeMultiple} (default ${CATALOG['sd3.5-medium'].defaults.height})` },
    { name: 'ep', type: 'string', valueName: 'E', description: `Execution provider: ${EP_CHOICES.map((e) => `${e} (${EP_LABELS[e]})`).join(', ')}; default: settings` },
    { name: 'memory', type: 'string', valueName: 'M', description: `Memory mode: ${MEMORY_MODES.map((m) => `${m} (${MEMORY_MODE_LABELS[m]})`).join(', ')}; default: settings` },
    { name: 'no-t5', type: 'boolean', description: 'Skip the T5 text encoder (zeros in its place)' },
    { name: 'sampler', type: 'string', valueName: 'S', description: `Sampler: ${SAMPLERS.join(', ')} (default euler)` },
    { name: 'scheduler', type: 'string', valueName: 'S', description: `Schedule: ${SCHEDULERS.join(', ')} (default normal: diffusers' flow-match schedule)` },
    { name: 'shift', type: 'string', valueName: 'S', description: "Schedule shift (default: the model's scheduler_config.json, 3 for SD3.5)" },
    { name: 'slg-layers', type: 'string', valueName: 'L', description: `Skip-Layer Guidance: the blocks to skip, e.g. ${SLG_DEFAULT.layers.join(',')} (any --slg-* turns it on; needs guidance > 1)` },
    { name: 'slg-scale', type: 'string', valueName: 'X', description: `Skip-Layer Guidance scale (default ${SLG_DEFAULT.scale})` },
    { name: 'slg-start', type: 'string', valueName: 'F', description: `Skip-Layer Guidance from this fraction of the steps (default ${SLG_DEFAULT.start})` },
    { name: 'slg-end', type: 'string', valueName: 'F', description: `Skip-Layer Guidance until this fraction of the steps (default ${SLG_DEFAULT.end})` },
    { name: 'init-image', type: 'string', valueName: 'PNG', description: 'Image to image: start from this PNG, JPEG or WebP (size default: its own, rounded to 16)' },
    { name: 'strength', type: 'string', valueName: 'S', description: `How much to change the init image, above 0 to 1 (default ${IMG2IMG_LIMITS.defaultStrength}); runs about S × steps` },
    { name: 'mask', type: 'string', valueName: 'PNG', description: 'Inpaint: white = repaint, black = keep; the same size as the init image' },
    { name: 'mask-blur', type: 'string', valueName: 'N', description: `Blur of the mask edge when pasting back, 0–${IMG2IMG_LIMITS.maxMaskBlur} px (default ${IMG2IMG_LIMITS.defaultMaskBlur})` },
    { name: 'lora', type: 'list', valueName: 'PATH_OR_NAME[:S]', description: 'Apply a LoRA (a library name or a .safetensors file, imported into the library) at strength S (default 1.0); repeatable' },
    { name: 'fit', type: 'string', valueName: 'F', description: `Fitting the init image to the size: ${FIT_MODES.map((f) => `${f} (${FIT_MODE_LABELS[f]})`).join(', ')}; default resize` },
    { name: 'outpaint', type: 'string', valueName: 'L,T,R,B', description: `Outpaint: grow the init image by these pixels per side (or N for all four, 0–${OUTPAINT_LIMITS.maxPerSide}) and paint the new area; the size defaults to the grown canvas` },
    { name: 'inpaint-area', type: 'string', valueName: 'A', description: 'Inpaint area: whole (the whole picture at the size) or masked (only the masked region, cropped and worked at the size, pasted back)' },
    { name: 'mask-padding', type: 'string', valueName: 'N', description: `With --inpaint-area masked: pixels around the mask in the crop, 0–${MASK_PADDING_LIMITS.max} (default ${MASK_PADDING_LIMITS.default})` },
    { name: 'hires-scale', type: 'string', valueName: 'S', description: `Hires fix: generate at the size, upscale ×S (${HIRES_LIMITS.minScale}–${HIRES_LIMITS.maxScale}, sides rounded to 16) and refine it by image to image, as one job` },
    { name: 'hires-steps', type: 'string', valueName: 'N', description: 'Hires fix: steps of the second pass (default 0 = the same steps)' },
    { name: 'hires-strength', type: 'string', valueName: 'D', description: `Hires fix: denoising strength of the second pass, above 0 to 1 (default ${HIRES_LIMITS.defaultStrength})` },
    { name: 'hires-upscaler', type: 'string', valueName: 'U', description: `Hires fix: ${BUILTIN_UPSCALER} (default) or an imported upscaler's name (upscalers list)` },
  ],
  async run(ctx) {
    const opts = parseGenerateOptions(ctx.args);
    const core = await ctx.openCore();
    const model = await resolveModelFolder(core, opts.modelRef);
    // A folder path is stored absolute, so the queue of another process finds it too.
    const ref = model.folder === opts.modelRef || /[\\/]/.test(opts.modelRef) ? model.folder : opts.modelRef;
    await keepInitImage(opts, core.layout.root);
    if (opts.hires) (await import('../../core/images/upscale')).checkUpscaler(core.layout.root, opts.hires.upscaler);
    opts.loras = resolveLoraArgs(ctx, opts.loraArgs ?? [], core.layout.root);
    const { params, sweep } = await jobFor(opts, model, ref);
    if (ctx.signal.aborted) throw cancelled();
    const run = { ...(opts.ep ? { ep: opts.ep } : {}), ...(opts.memory ? { memory: opts.memory } : {}) };
    let job: JobView;
    if (core.primary) {
      const { jobId } = core.jobs.submit(params, sweep, { owner: 'cli', run });
      job = await runHere(ctx, core, jobId, opts.count);
    } else {
      const { jobId } = core.jobs.submit(params, sweep, { owner: 'queue', run });
      ctx.out.progress(`The data folder is in use by another SD3.5 Studio process: job ${jobId} was added to its queue; waiting for its images.`);
      job = await waitForQueue(ctx, core, jobId, opts.count);
    }
    const problem = failure(job);
    if (problem) throw problem;
    return 0;
  },
});
