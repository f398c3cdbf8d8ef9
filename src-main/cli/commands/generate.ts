// `sd35-studio generate`: text-to-image from the command line (DESIGN.md §8, issue 5 §7). The same worker as
// the app (InferenceHost over the spawner adapter); every image enters the history through saveImage, with
// its job and generations recorded. One JSON line per image with --json; progress on stderr.
import fs from 'node:fs';
import path from 'node:path';
import { version as APP_VERSION } from '../../../package.json';
import { CATALOG, isCatalogId, repoFolderName, type CatalogVariant } from '../../../src-shared/catalog';
import { StudioError } from '../../../src-shared/errors';
import type { StudioImageMeta } from '../../../src-shared/metadata';
import type { StudioCore } from '../../core/studio';
import { InferenceHost, type HostModelInfo, type HostStep } from '../../inference/host';
import { randomSeed, seedFromInput } from '../../inference/noise';
import type { GenerateRequest } from '../../inference/pipeline';
import { readSchedulerShift } from '../../inference/scheduler';
import type { EpChoice, MemoryMode } from '../../inference/sessions';
import { boolOption, intOption, type ParsedArgs, requiredString, stringOption } from '../args';
import type { CliContext, Command } from '../command';

export const EP_CHOICES: readonly EpChoice[] = ['auto', 'cpu', 'cuda', 'dml', 'coreml', 'webgpu'];
export const MEMORY_MODES: readonly MemoryMode[] = ['fast', 'balanced', 'low'];
const MAX_COUNT = 1000;

/** A model reference resolved to its folder, with what the image metadata records about it. */
export interface ResolvedModel {
  /** Absolute path of the model folder. */
  folder: string;
  /** Catalog id (sd3.5-medium…) or the folder name. */
  id: string;
  repo?: string;
  commit?: string;
  /** First 10 hex of the transformer's external-data sha256, when known. */
  modelHash?: string;
  /** The catalog variant, when the model is one. */
  variant?: CatalogVariant;
}

function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/**
 * `--model <id|folder>` → the model folder. An existing folder is used as is (its name is the model id, or the
 * catalog id when it is a catalog repo's folder, owner--name); anything else is looked up among the installed
 * models of the model store (catalog id, owner/name or folder:<name>), which also gives repo, commit and the
 * model hash for the image metadata.
 */
export async function resolveModelFolder(core: StudioCore | undefined, ref: string): Promise<ResolvedModel> {
  const text = ref.trim();
  if (!text) throw new StudioError('invalid_input', '--model needs a catalog id (e.g. sd3.5-medium) or a model folder.');
  const folder = path.resolve(text);
  const looksLikePath = text.startsWith('.') || path.isAbsolute(text) || text.includes(path.sep + path.sep);
  if (core && !looksLikePath) {
    try {
      const installed = await core.models.resolveInstalled(text);
      const variant = isCatalogId(installed.id) ? CATALOG[installed.id] : installed.repo ? Object.values(CATALOG).find((v) => v.repo === installed.repo) : undefined;
      const modelHash = core.models.modelHash(installed.id, installed.commit);
      return {
        folder: installed.path,
        id: installed.id,
        ...(installed.repo ? { repo: installed.repo } : {}),
        ...(installed.commit ? { commit: installed.commit } : {}),
        ...(modelHash ? { modelHash } : {}),
        ...(variant ? { variant } : {}),
      };
    } catch (err) {
      // Not an installed model: a folder of that name still works; otherwise the store's message
      // (which names the download command) is the answer.
      if (!(err instanceof StudioError && err.code === 'not_found') || !isDirectory(folder)) throw err;
    }
  }
  if (isDirectory(folder)) {
    const name = path.basename(folder);
    const variant = Object.values(CATALOG).find((v) => repoFolderName(v.repo).toLowerCase() === name.toLowerCase());
    return variant ? { folder, id: variant.id, repo: variant.repo, variant } : { folder, id: name };
  }
  const hint = isCatalogId(text) ? '' : ` (catalog ids: ${Object.keys(CATALOG).join(', ')}; or give the path of a model folder)`;
  throw new StudioError('not_found', `Model ${text} is not installed — download it with \`sd35-studio models download ${text}\`${hint}.`, {
    model: text,
  });
}

function numberOption(args: ParsedArgs, name: string): number | undefined {
  const raw = stringOption(args, name);
  if (raw === undefined) return undefined;
  if (!/^(\d+(\.\d*)?|\.\d+)$/.test(raw.trim())) throw new StudioError('invalid_input', `--${name} must be a number such as 4.5, not "${raw}"`);
  return Number(raw);
}

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
  /** First seed; image k uses seed + k. */
  seed: number;
  count: number;
  steps?: number;
  guidance?: number;
  width?: number;
  height?: number;
  ep?: EpChoice;
  memory?: MemoryMode;
  t5: boolean;
}

/** The pipeline (tokenizers, ORT-free) loaded on demand, so other commands start without it. */
const pipelineModule = () => import('../../inference/pipeline');

/** The command line → generation options (usage errors are invalid_input, exit 2). */
export async function parseGenerateOptions(args: ParsedArgs): Promise<GenerateOptions> {
  const { GENERATION_LIMITS } = await pipelineModule();
  const modelRef = requiredString(args, 'model', 'Name the model: --model <catalog id|folder>.');
  const prompt = requiredString(args, 'prompt', 'Give a prompt: --prompt "a lighthouse at dusk".');
  const count = intOption(args, 'count', { min: 1, max: MAX_COUNT }) ?? 1;
  const seedText = stringOption(args, 'seed');
  let seed: number;
  if (seedText === undefined) seed = randomSeed();
  else {
    try {
      seed = Number(seedFromInput(seedText));
    } catch (err) {
      throw new StudioError('invalid_input', `--seed: ${StudioError.from(err).message}`);
    }
  }
  if (seed + count - 1 > GENERATION_LIMITS.maxSeed) {
    throw new StudioError('invalid_input', `--seed ${seed} with --count ${count} goes past the largest seed, ${GENERATION_LIMITS.maxSeed}.`);
  }
  const opts: GenerateOptions = {
    modelRef,
    prompt,
    negativePrompt: stringOption(args, 'negative') ?? '',
    seed,
    count,
    t5: !boolOption(args, 'no-t5'),
  };
  const steps = intOption(args, 'steps', { min: GENERATION_LIMITS.minSteps, max: GENERATION_LIMITS.maxSteps });
  if (steps !== undefined) opts.steps = steps;
  const guidance = numberOption(args, 'guidance');
  if (guidance !== undefined) opts.guidance = guidance;
  const width = intOption(args, 'width', { min: GENERATION_LIMITS.minSide, max: GENERATION_LIMITS.maxSide });
  if (width !== undefined) opts.width = width;
  const height = intOption(args, 'height', { min: GENERATION_LIMITS.minSide, max: GENERATION_LIMITS.maxSide });
  if (height !== undefined) opts.height = height;
  const ep = choiceOption(args, 'ep', EP_CHOICES);
  if (ep !== undefined) opts.ep = ep;
  const memory = choiceOption(args, 'memory', MEMORY_MODES);
  if (memory !== undefined) opts.memory = memory;
  return opts;
}

/** The parameters of image k of the job, with the model's defaults filled in; validated (invalid_input). */
export async function requestFor(opts: GenerateOptions, model: ResolvedModel, k: number): Promise<GenerateRequest> {
  const { validateRequest } = await pipelineModule();
  const defaults = (model.variant ?? CATALOG['sd3.5-medium']).defaults;
  const req: GenerateRequest = {
    prompt: opts.prompt,
    negativePrompt: opts.negativePrompt,
    seed: opts.seed + k,
    steps: opts.steps ?? defaults.steps,
    guidance: opts.guidance ?? defaults.guidance,
    width: opts.width ?? defaults.width,
    height: opts.height ?? defaults.height,
    t5: opts.t5,
  };
  validateRequest(req);
  return req;
}

/** Progress on stderr: a one-line bar on a terminal, plain "step i/n" lines otherwise. */
function progressWriter(ctx: CliContext, count: number): { step(k: number, s: HostStep): void; end(): void; note(line: string): void } {
  const tty = process.stderr.isTTY === true;
  let open = false;
  const suffix = (k: number) => (count > 1 ? ` · image ${k + 1}/${count}` : '');
  return {
    step(k, s) {
      if (!tty) {
        ctx.out.progress(`step ${s.step}/${s.total}${suffix(k)}`);
        return;
      }
      const width = 24;
      const filled = Math.round((s.step / s.total) * width);
      process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] step ${s.step}/${s.total}${suffix(k)} ${(s.elapsedMs / 1000).toFixed(1)} s\x1b[K`);
      open = true;
    },
    end() {
      if (open) process.stderr.write('\n');
      open = false;
    },
    note(line) {
      this.end();
      ctx.out.progress(line);
    },
  };
}

function cancelled(): StudioError {
  return new StudioError('cancelled', 'The generation was cancelled.');
}

export const generateCommand: Command = {
  path: ['generate'],
  usage: 'generate --model <id|folder> --prompt T [options]',
  summary: 'Generate images into the history (one JSON line per image with --json)',
  options: [
    { name: 'model', type: 'string', valueName: 'ID|FOLDER', description: 'Catalog id (sd3.5-medium…) or a model folder' },
    { name: 'prompt', type: 'string', valueName: 'T', description: 'The prompt' },
    { name: 'negative', type: 'string', valueName: 'T', description: 'The negative prompt (used when guidance > 1)' },
    { name: 'seed', type: 'string', valueName: 'N', description: 'Seed of the first image (default: random); image k uses seed + k' },
    { name: 'count', type: 'string', valueName: 'K', description: 'Number of images (default 1)' },
    { name: 'steps', type: 'string', valueName: 'N', description: 'Denoising steps, 1–150 (default: the model’s)' },
    { name: 'guidance', type: 'string', valueName: 'G', description: 'Guidance scale, 0–30 (default: the model’s)' },
    { name: 'width', type: 'string', valueName: 'W', description: 'Width in pixels, a multiple of 16 (default 1024)' },
    { name: 'height', type: 'string', valueName: 'H', description: 'Height in pixels, a multiple of 16 (default 1024)' },
    { name: 'ep', type: 'string', valueName: 'E', description: 'Execution provider: auto, cpu, cuda, dml, coreml, webgpu (default: settings)' },
    { name: 'memory', type: 'string', valueName: 'M', description: 'Memory mode: fast, balanced, low (default: settings)' },
    { name: 'no-t5', type: 'boolean', description: 'Skip the T5 text encoder (zeros in its place)' },
  ],
  async run(ctx) {
    const opts = await parseGenerateOptions(ctx.args);
    let core: StudioCore | undefined;
    let host: InferenceHost | undefined;
    try {
      core = await ctx.openCore();
      const model = await resolveModelFolder(core, opts.modelRef);
      const requests: GenerateRequest[] = [];
      for (let k = 0; k < opts.count; k++) requests.push(await requestFor(opts, model, k));
      const first = requests[0]!;
      const settings = core.settings.get();
      const ep = opts.ep ?? settings.executionProvider;
      const memory = opts.memory ?? settings.memoryMode;
      const shift = await readSchedulerShift(model.folder);
      if (ctx.signal.aborted) throw cancelled();

      const { generationIds } = core.history.createJob(
        {
          prompt: first.prompt,
          negativePrompt: first.negativePrompt,
          steps: first.steps,
          guidance: first.guidance,
          width: first.width,
          height: first.height,
          model: model.id,
          seed: String(first.seed),
          count: opts.count,
          shift,
          t5: opts.t5,
          ep,
          memory,
          source: 'cli',
        },
        requests.map((r) => String(r.seed)),
      );

      host = new InferenceHost({
        spawner: core.options.adapters.spawner,
        env: ctx.env,
        log: (level, message) => {
          if (level === 'warn' || level === 'error' || ctx.env.SD35_DEBUG === '1') ctx.out.progress(message);
        },
      });
      const progress = progressWriter(ctx, opts.count);
      let warnedModel = false;
      let warnedDropped = false;
      const onLoaded = (info: HostModelInfo): void => {
        if (!info.reused) progress.note(`Loaded ${model.id} (${info.layout} layout, ${info.precision}) on ${info.ep} in ${(info.loadMs / 1000).toFixed(1)} s`);
        if (warnedModel) return;
        warnedModel = true;
        if (info.epFallbackReason) progress.note(`Note: ${info.epFallbackReason}`);
        if (info.ep === 'cpu' && info.precision === 'fp16') {
          progress.note('Warning: this model is an fp16 export running on the CPU, which is slow (ONNX Runtime converts every fp16 operation). A GPU execution provider is much faster.');
        }
        if (info.clipHidden === 'last') progress.note('Note: this export gives the last CLIP-L hidden layer, not the penultimate one diffusers uses; images differ slightly from diffusers.');
      };

      for (let k = 0; k < requests.length; k++) {
        const request = requests[k]!;
        const generationId = generationIds[k]!;
        if (ctx.signal.aborted) {
          for (const id of generationIds.slice(k)) core.history.markCancelled(id);
          throw cancelled();
        }
        core.history.markRunning(generationId);
        const started = performance.now();
        let result;
        try {
          result = await host.generate(
            { folder: model.folder, ep, memory, request, previews: false, generationId },
            { signal: ctx.signal, onLoaded, onStep: (s) => progress.step(k, s) },
          );
        } catch (err) {
          progress.end();
          const e = StudioError.from(err);
          if (e.code === 'cancelled' || e.code === 'interrupted') {
            for (const id of generationIds.slice(k)) core.history.markCancelled(id);
          } else {
            core.history.markFailed(generationId, e.message);
            for (const id of generationIds.slice(k + 1)) core.history.markFailed(id, `Not generated: image ${k + 1} of the job failed (${e.message})`);
          }
          throw e;
        }
        progress.end();
        if (!warnedDropped && (result.dropped.clip > 0 || result.dropped.t5 > 0)) {
          warnedDropped = true;
          progress.note(
            `Warning: the prompt is too long: ${result.dropped.clip} CLIP tokens (beyond 75) and ${result.dropped.t5} T5 tokens (beyond 255) were dropped.`,
          );
        }
        const meta: StudioImageMeta = {
          prompt: request.prompt,
          negativePrompt: request.negativePrompt,
          seed: String(request.seed),
          steps: request.steps,
          guidance: request.guidance,
          width: request.width,
          height: request.height,
          shift,
          scheduler: 'flow-match-euler',
          model: {
            id: model.id,
            ...(model.repo !== undefined ? { repo: model.repo } : {}),
            ...(model.commit !== undefined ? { commit: model.commit } : {}),
            ...(model.modelHash !== undefined ? { modelHash: model.modelHash } : {}),
          },
          ep: result.ep,
          precision: result.precision,
          rng: 'torch-cpu-mt19937',
          clipHidden: result.clipHidden,
          ...(result.rewrittenOps ? { rewrittenOps: result.rewrittenOps } : {}),
          t5: result.t5,
          appVersion: APP_VERSION,
        };
        let record;
        try {
          record = await core.history.saveImage({
            pixels: { width: result.width, height: result.height, channels: 3, data: result.rgb },
            meta,
            generationId,
            timings: result.timings,
          });
        } catch (err) {
          const e = StudioError.from(err);
          core.history.markFailed(generationId, e.message);
          for (const id of generationIds.slice(k + 1)) core.history.markFailed(id, `Not generated: image ${k + 1} of the job could not be saved (${e.message})`);
          throw e;
        }
        const durationMs = Math.round(performance.now() - started);
        const file = path.join(core.layout.root, ...record.path.split('/'));
        ctx.out.item(
          {
            id: record.id,
            path: file,
            seed: request.seed,
            width: result.width,
            height: result.height,
            steps: request.steps,
            guidance: request.guidance,
            ep: result.ep,
            durationMs,
          },
          `Image ${record.id}: ${file} (seed ${request.seed}, ${result.width}×${result.height}, ${request.steps} steps, guidance ${request.guidance}, ${result.ep}, ${(durationMs / 1000).toFixed(1)} s)`,
        );
      }
      return 0;
    } finally {
      await host?.dispose();
      core?.close();
    }
  },
};
