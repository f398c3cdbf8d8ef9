// Upscaling as a job of the queue (docs/architecture.md §5 "Upscale", §3 "Queue"): THE owner of upscaling an image
// into the gallery, for the app (`jobs.upscale`: a gallery image) and the CLI (`upscale --image`: a file) alike.
// prepareUpscale checks everything before a job exists — the source's bytes (the import's bounds, kept as
// inputs/<sha256>), the upscaler (built in or in the library), the result within UPSCALE_LIMITS — so bad input is a
// StudioError and no job, row or file. runUpscale is the job's one generation: the kept source decoded, upscaled
// (Lanczos, or the imported model tiled on the worker with a progress step per tile, then Lanczos to the exact size),
// saved through the history (file first, then the row): with our metadata + `upscale` when the source carries ours,
// else with the source's own text chunks, A1111's "Postprocess upscale by/upscaler" appended and our
// `sd35studio-upscale` record of the source (so the file names its source outside the database too).
import fs from 'node:fs';
import sharp from 'sharp';
import { StudioError } from '../../../src-shared/errors';
import { BUILTIN_UPSCALER, GENERATION_LIMITS, jobParamsSchema, type JobParams } from '../../../src-shared/generation';
import { PARAMETERS_KEYWORD, postprocessFields, quoteA1111Value, STUDIO_KEYWORD, UPSCALE_KEYWORD, upscaleJson, type ParsedParameters } from '../../../src-shared/metadata';
import { upscaleResult, upscaleSpecSchema, type UpscaleScale, type UpscaleSpec } from '../../../src-shared/upscale';
import type { InferenceHost } from '../../inference/host';
import type { GenerationStep } from '../../../src-shared/progress';
import type { HistoryService } from '../history/service';
import type { ImageRecord } from '../history/types';
import { generationFieldsFromParsed, withoutUpscale } from '../history/images';
import { parseImageFile } from '../images/import-parse';
import { checkInputImage, readInput, storeInput } from '../images/inputs';
import { readPngInfo } from '../../formats/png';
import { findUpscaler, lanczos, upscaleWithModel } from '../images/upscale';
import type { GenerationRowParams } from '../history/generations';

/** Where the source comes from: a gallery image (the app) or a file's bytes (the CLI). */
export type UpscaleSource = { imageId: number } | { bytes: Uint8Array; what: string };

export interface PreparedUpscale {
  spec: UpscaleSpec;
  /** The job's `params` (the card's prompt and size): the source's parameters as far as they fit the schema. */
  display: JobParams;
  /** The generation row: the source's recorded parameters (the gallery and search read them). */
  row: GenerationRowParams;
}

/** The source's parameters, as the import reads them (ours from the sd35studio chunk, other tools' too). */
function sourceParameters(buf: Uint8Array): ParsedParameters | undefined {
  try {
    return parseImageFile(buf).parameters;
  } catch {
    return undefined;
  }
}

/** Checks and keeps the source, checks the upscaler and the result's size: the job's snapshot and rows. */
export async function prepareUpscale(
  deps: { dataRoot: string; history: Pick<HistoryService, 'imagePath'> },
  source: UpscaleSource,
  upscaler: string,
  scale: UpscaleScale,
): Promise<PreparedUpscale> {
  let buf: Uint8Array;
  let imageId: number | undefined;
  let what: string;
  if ('imageId' in source) {
    const file = deps.history.imagePath(source.imageId);
    if (!file) throw new StudioError('not_found', `Image ${source.imageId} is not in the gallery.`, { field: 'imageId' });
    buf = await fs.promises.readFile(file);
    imageId = source.imageId;
    what = `Gallery image ${source.imageId}`;
  } else {
    buf = source.bytes;
    what = source.what;
  }
  // Checked before anything is kept: the bytes (the import's bounds), the result's size, the upscaler.
  const info = checkInputImage(buf, what);
  const result = upscaleResult(info.width, info.height, scale);
  if (result.refused) throw new StudioError('invalid_input', result.refused, { field: 'scale' });
  if (upscaler !== BUILTIN_UPSCALER) findUpscaler(deps.dataRoot, upscaler);
  const kept = await storeInput(deps.dataRoot, buf, what);
  const spec = upscaleSpecSchema.parse({
    source: { sha256: kept.sha256, ...(imageId !== undefined ? { imageId } : {}) },
    upscaler,
    scale,
    sourceWidth: kept.width,
    sourceHeight: kept.height,
    width: result.width,
    height: result.height,
  });
  const fields = generationFieldsFromParsed(sourceParameters(buf), kept.width, kept.height);
  const row: GenerationRowParams = {
    seed: fields.seed,
    prompt: fields.prompt,
    negativePrompt: fields.negativePrompt,
    steps: fields.steps,
    guidance: fields.guidance,
    width: fields.width,
    height: fields.height,
    model: fields.model,
  };
  return { spec, display: displayParams(row, `Upscale ×${scale} of ${what.replace(/^The image /u, '')}`), row };
}

/** The card's parameters: the source's where they fit THE schema, else neutral ones (the card shows `upscale`). */
function displayParams(row: GenerationRowParams, fallback: string): JobParams {
  // A job's prompt is never blank (THE schema): a source without one shows what the job does instead.
  const prompt = row.prompt.trim() === '' ? fallback.slice(0, 200) : row.prompt.slice(0, GENERATION_LIMITS.maxPromptChars);
  const candidate = {
    prompt,
    negativePrompt: row.negativePrompt.slice(0, GENERATION_LIMITS.maxPromptChars),
    model: row.model || 'upscale',
    steps: row.steps ?? 1,
    guidance: row.guidance ?? 0,
    width: row.width,
    height: row.height,
    t5: true,
  };
  const parsed = jobParamsSchema.safeParse(candidate);
  if (parsed.success) return parsed.data;
  return { prompt, negativePrompt: '', model: candidate.model.slice(0, 300) || 'upscale', steps: 1, guidance: 0, width: 64, height: 64, t5: true };
}

export interface UpscaleRunDeps {
  dataRoot: string;
  history: HistoryService;
  host(): InferenceHost;
}

/** Runs an upscale job's generation (already marked running); saves the image (which marks it done). */
export async function runUpscale(
  deps: UpscaleRunDeps,
  gen: { id: number; upscale: UpscaleSpec },
  hooks: { signal?: AbortSignal; onStep?(step: GenerationStep): void } = {},
): Promise<ImageRecord> {
  const spec = gen.upscale;
  const started = performance.now();
  const buf = await readInput(deps.dataRoot, spec.source.sha256, 'The image to upscale');
  const entry = spec.upscaler === BUILTIN_UPSCALER ? undefined : findUpscaler(deps.dataRoot, spec.upscaler);
  const decoded = await sharp(buf, { limitInputPixels: 16384 * 16384 }).flatten({ background: '#000000' }).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  const image = { rgb: new Uint8Array(decoded.data.buffer, decoded.data.byteOffset, decoded.data.length), width: decoded.info.width, height: decoded.info.height };
  if (image.width !== spec.sourceWidth || image.height !== spec.sourceHeight) {
    throw new StudioError('invalid_input', `The kept source is ${image.width}×${image.height}, not the ${spec.sourceWidth}×${spec.sourceHeight} the job was made for.`);
  }
  const aborted = (): void => {
    if (hooks.signal?.aborted) throw new StudioError('cancelled', 'The upscale was cancelled.');
  };
  const step = (done: number, total: number): void => hooks.onStep?.({ step: done, total, elapsedMs: performance.now() - started });
  let rgb: Uint8Array;
  if (entry) {
    // The model's tiles, then one step for bringing its ×s result to the exact size.
    let tiles = 1;
    const up = await upscaleWithModel(image, entry, { dataRoot: deps.dataRoot, host: deps.host, ...(hooks.signal ? { signal: hooks.signal } : {}) }, (done, total) => {
      tiles = total;
      step(done, total + 1);
    });
    aborted();
    rgb = await lanczos(up, spec.width, spec.height);
    step(tiles + 1, tiles + 1);
  } else {
    rgb = await lanczos(image, spec.width, spec.height);
    step(1, 1);
  }
  aborted();
  const pixels = { width: spec.width, height: spec.height, channels: 3 as const, data: rgb };
  const timings = { upscaleMs: Math.round(performance.now() - started), totalMs: Math.round(performance.now() - started) };
  const parsed = sourceParameters(buf);
  if (parsed?.source === 'sd35studio' && parsed.studio) {
    // Ours: the source's reproducible parameters (Size stays the generation size) plus what was done to it.
    return deps.history.saveImage({ pixels, meta: { ...parsed.studio, upscale: spec }, generationId: gen.id, timings });
  }
  // Another tool's image (or none): its own text chunks, A1111's extras fields appended to `parameters`, and our
  // record of the upscale (`sd35studio-upscale`: the source's sha256 and gallery id) replacing any earlier one.
  const chunks = buf.length >= 8 && buf[0] === 0x89 ? readPngInfo(Buffer.from(buf)).chunks.filter((c) => c.keyword !== STUDIO_KEYWORD && c.keyword !== UPSCALE_KEYWORD) : [];
  const params = chunks.find((c) => c.keyword === PARAMETERS_KEYWORD);
  const added = postprocessFields(spec.scale, spec.upscaler).map(([k, v]) => `${k}: ${quoteA1111Value(v)}`).join(', ');
  const text = params === undefined || params.text.trim() === '' ? added : `${params.text}, ${added}`;
  return deps.history.saveProcessedImage({
    pixels,
    generationId: gen.id,
    chunks: [...chunks.filter((c) => c.keyword !== PARAMETERS_KEYWORD), { keyword: PARAMETERS_KEYWORD, text }, { keyword: UPSCALE_KEYWORD, text: upscaleJson(spec) }],
    metaJson: JSON.stringify({ ...(parsed ? { imported: withoutUpscale(parsed) } : {}), upscale: spec }),
    model: parsed?.model ?? '',
    timings,
  });
}
