// One generation, start to finish: resolve the model, run it on the inference host, build the image
// metadata, save the image through the history (saveImage), record the step time. Used by the queue in
// the lock holder and by a standalone `sd35-studio generate` alike (this was the CLI's job loop).
import fs from 'node:fs';
import path from 'node:path';
import { CATALOG, catalogSourceForRepo, isCatalogId, repoFolderName, type CatalogVariant } from '../../../src-shared/catalog';
import { StudioError } from '../../../src-shared/errors';
import type { EpChoice, GenerationParams, HiresMeta, LoraRef, MemoryMode } from '../../../src-shared/generation';
import type { StudioImageMeta, StudioLoraMeta } from '../../../src-shared/metadata';
import type { HostGenerateResult, HostModelInfo, InferenceHost, StepListener } from '../../inference/host';
import type { GenerateRequest } from '../../inference/pipeline';
import { upscaleTo } from '../images/upscale';
import { generateWithHires, type GenerateFn, type UpscaleFn } from './hires';
import { finishOnlyMasked, fittedSource } from '../images/inputs';
import { LoraLibrary } from '../loras/library';
import { stripLoraTags } from '../../../src-shared/lora-prompt';
import { dataLayout } from '../paths';
import type { HistoryService } from '../history/service';
import type { ImageRecord } from '../history/types';
import type { ModelService } from '../models/service';

/** A model reference resolved to its folder, with what the image metadata records about it. */
export interface ResolvedModel {
  /** Absolute path of the model folder. */
  folder: string;
  /** Catalog id (sd3.5-medium…), folder:<name> or the folder name. */
  id: string;
  repo?: string;
  commit?: string;
  /** First 10 hex of the transformer's external-data sha256, when known. */
  modelHash?: string;
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
 * A model reference → the model folder. An installed model (catalog id, owner/name, folder:<name>) comes from
 * the model store, with repo, commit and model hash for the metadata; an existing folder path is used as is (its
 * name is the model id, or the catalog id when it is a catalog repo's folder, owner--name).
 */
export async function resolveModel(models: Pick<ModelService, 'resolveInstalled' | 'modelHash'> | undefined, ref: string): Promise<ResolvedModel> {
  const text = ref.trim();
  if (!text) throw new StudioError('invalid_input', 'Name the model: a catalog id (e.g. sd3.5-medium) or a model folder.');
  const folder = path.resolve(text);
  const looksLikePath = text.startsWith('.') || path.isAbsolute(text) || text.includes(path.sep + path.sep);
  if (models && !looksLikePath) {
    try {
      const installed = await models.resolveInstalled(text);
      const variant = isCatalogId(installed.id) ? CATALOG[installed.id] : installed.repo ? catalogSourceForRepo(installed.repo)?.variant : undefined;
      const modelHash = models.modelHash(installed.id, installed.commit);
      return {
        folder: installed.path,
        id: installed.id,
        ...(installed.repo ? { repo: installed.repo } : {}),
        ...(installed.commit ? { commit: installed.commit } : {}),
        ...(modelHash ? { modelHash } : {}),
        ...(variant ? { variant } : {}),
      };
    } catch (err) {
      // Not an installed model: a folder of that name still works; otherwise the store's message is the answer.
      if (!(err instanceof StudioError && err.code === 'not_found') || !isDirectory(folder)) throw err;
    }
  }
  if (isDirectory(folder)) {
    const name = path.basename(folder);
    const variant = Object.values(CATALOG).find((v) => repoFolderName(v.repo).toLowerCase() === name.toLowerCase());
    return variant ? { folder, id: variant.id, repo: variant.repo, variant } : { folder, id: name };
  }
  const hint = isCatalogId(text) ? '' : ` (catalog ids: ${Object.keys(CATALOG).join(', ')}; or give the path of a model folder)`;
  throw new StudioError('not_found', `Model ${text} is not installed — download it with \`sd35-studio models download ${text}\`${hint}.`, { model: text });
}

export interface RunHooks {
  signal?: AbortSignal;
  previews?: boolean;
  onStep?: StepListener;
  onLoaded?(info: HostModelInfo, model: ResolvedModel): void;
}

export interface RunOutcome {
  record: ImageRecord;
  /** Absolute path of the image file. */
  file: string;
  result: HostGenerateResult;
  model: ResolvedModel;
  durationMs: number;
}

export interface RunnerDeps {
  history: HistoryService;
  models?: Pick<ModelService, 'resolveInstalled' | 'modelHash'>;
  host(): InferenceHost;
  appVersion: string;
  dataRoot: string;
}

/** The sampling parameters of a generation as the worker takes them (absent ones stay absent). */
function samplingOf(p: GenerationParams): Pick<GenerationParams, 'sampler' | 'scheduler' | 'slg'> {
  return {
    ...(p.sampler !== undefined ? { sampler: p.sampler } : {}),
    ...(p.scheduler !== undefined ? { scheduler: p.scheduler } : {}),
    ...(p.slg !== undefined ? { slg: p.slg } : {}),
  };
}

/** A generation's LoRAs → the library files the worker reads (by sha256: a renamed file still resolves). */
function resolveLoras(
  dataRoot: string,
  refs: readonly LoraRef[],
): { path: string; sha256: string; strength: number; name: string; a1111: string; autoV2: string; on: boolean }[] {
  const library = new LoraLibrary(dataLayout(dataRoot).loras);
  return refs.map((r) => {
    const entry = library.find(r.sha256) ?? library.find(r.name);
    if (!entry || entry.sha256 !== r.sha256) throw new StudioError('not_found', `The LoRA "${r.name}" (${r.sha256.slice(0, 10)}) is not in the library.`);
    // Off: the same graphs at strength 0 (an input, so switching it back on needs no reload).
    return { path: library.fileForUse(entry), sha256: entry.sha256, strength: r.enabled === false ? 0 : r.strength, name: entry.name, a1111: entry.a1111, autoV2: entry.autoV2, on: r.enabled !== false };
  });
}

/** The image metadata of the LoRAs used: name, hashes, strength, and what the worker applied (matched by sha256). */
function lorasMeta(used: ReturnType<typeof resolveLoras>, reports: HostGenerateResult['loras']): StudioLoraMeta[] {
  // A LoRA switched off made no difference to the image (strength 0 is the image without it, bit for bit): not recorded.
  return used.filter((u) => u.on).map((u) => {
    const report = reports?.find((r) => r.sha256 === u.sha256);
    return {
      name: u.name,
      sha256: u.sha256,
      a1111Hash: u.a1111,
      autoV2: u.autoV2,
      strength: u.strength,
      ...(report ? { applied: report.applied, unmatched: report.unmatched } : {}),
    };
  });
}

/** Runs one queued generation (already marked running by the caller); saves its image (which marks it done). */
export async function runGeneration(
  deps: RunnerDeps,
  gen: { id: number; params: GenerationParams; run: { ep: string; memory: string } },
  hooks: RunHooks = {},
): Promise<RunOutcome> {
  const p = gen.params;
  const model = await resolveModel(deps.models, p.model);
  // Image to image: the kept source (and mask) fitted to the generation size, before the worker is asked.
  const source = p.init ? await fittedSource(deps.dataRoot, p.init, p.width, p.height, p.seed) : undefined;
  if (hooks.signal?.aborted) throw new StudioError('cancelled', 'The generation was cancelled.');
  const loras = p.loras && p.loras.length > 0 ? resolveLoras(deps.dataRoot, p.loras) : [];
  if (p.hires && p.init) throw new StudioError('invalid_input', 'Hires fix works on a generated image; it cannot be combined with an init image.', { field: 'hires' });
  const started = performance.now();
  const call: GenerateFn = (request, onStep) =>
    deps.host().generate(
      { folder: model.folder, ep: gen.run.ep as EpChoice, memory: gen.run.memory as MemoryMode, request, previews: hooks.previews === true, generationId: gen.id },
      {
        ...(hooks.signal ? { signal: hooks.signal } : {}),
        onLoaded: (info) => hooks.onLoaded?.(info, model),
        ...(onStep ? { onStep } : {}),
      },
    );
  const baseRequest: GenerateRequest = {
    // The encoders never see `<lora:…>` tags (src-shared/lora-prompt.ts; the queue already moved them to `loras`).
    prompt: stripLoraTags(p.prompt),
    negativePrompt: p.negativePrompt,
    seed: p.seed,
    steps: p.steps,
    guidance: p.guidance,
    width: p.width,
    height: p.height,
    t5: p.t5,
    ...samplingOf(p),
    // The schedule shift: the one asked for, else the worker uses the model's (read once when it loads the model).
    ...(p.shift !== undefined ? { shift: p.shift } : {}),
    ...(loras.length > 0 ? { loras: loras.map(({ path: file, sha256, strength, name }) => ({ path: file, sha256, strength, name })) } : {}),
    ...(source && p.init
      ? {
          image: {
            rgb: source.rgb,
            strength: p.init.strength,
            ...(source.mask ? { mask: source.mask, maskBlur: source.maskBlur ?? 0 } : {}),
          },
        }
      : {}),
  };
  let result: HostGenerateResult;
  let hiresMeta: HiresMeta | undefined;
  if (p.hires) {
    const upscale: UpscaleFn = (image, width, height, upscaler) =>
      upscaleTo(image, width, height, upscaler, { dataRoot: deps.dataRoot, host: deps.host, ...(hooks.signal ? { signal: hooks.signal } : {}) });
    const hr = await generateWithHires(call, upscale, baseRequest, p.hires, hooks.onStep);
    result = hr.result;
    hiresMeta = hr.meta;
  } else {
    result = await call(baseRequest, hooks.onStep);
  }
  // "Only masked": the worked crop goes back into the full-size source.
  const pixels = source?.paste ? await finishOnlyMasked(result.rgb, result.width, result.height, source.paste) : { rgb: result.rgb, width: result.width, height: result.height };
  const meta: StudioImageMeta = {
    prompt: p.prompt,
    negativePrompt: p.negativePrompt,
    seed: p.seed,
    steps: p.steps,
    guidance: p.guidance,
    width: p.width,
    height: p.height,
    shift: result.shift,
    scheduler: p.scheduler ?? 'normal',
    sampler: p.sampler ?? 'euler',
    // SLG only acts with CFG (guidance > 1): recorded only then.
    ...(p.slg && p.guidance > 1 ? { slg: p.slg } : {}),
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
    ...(p.init ? { init: p.init } : {}),
    ...(hiresMeta ? { hires: hiresMeta } : {}),
    ...(loras.some((l) => l.on) ? { loras: lorasMeta(loras, result.loras) } : {}),
    appVersion: deps.appVersion,
  };
  const record = await deps.history.saveImage({
    pixels: { width: pixels.width, height: pixels.height, channels: 3, data: pixels.rgb },
    meta,
    generationId: gen.id,
    timings: result.timings,
  });
  return {
    record,
    file: path.join(deps.dataRoot, ...record.path.split('/')),
    result,
    model,
    durationMs: Math.round(performance.now() - started),
  };
}

/** Errors that come from the job's own parameters or model: the job's other generations would fail the same way. */
export function failsTheWholeJob(err: StudioError): boolean {
  return err.code === 'not_found' || err.code === 'invalid_input' || err.code === 'unavailable';
}
