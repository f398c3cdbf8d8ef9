// Image metadata (docs/architecture.md): the A1111 `parameters` text and our lossless `sd35studio` JSON that
// every image we write carries, and readers for the formats other tools write. Pure: no Node, no DOM.
import { StudioError } from './errors';
import { parseA1111 } from './metadata/a1111';
import { parseComfyPrompt } from './metadata/comfyui';
import { parseInvokeAI, parseInvokeDream } from './metadata/invokeai';
import { isObject, tryParseJson, type JsonObject } from './metadata/json-lossless';
import { parseFooocus, parseGenericJson, parseNovelAI, parseStabilityMatrix, parseSwarmUI } from './metadata/others';
import { studioSampling } from './metadata/studio-sampling';
import { studioImageMetaSchema, type ParsedParameters, type StudioImageMeta, type TextChunk } from './metadata/types';
import { upscaleSpecSchema, type UpscaleSpec } from './upscale';

export { formatParameters, parseA1111, parseA1111ParamsLine, postprocessFields, quoteA1111Value } from './metadata/a1111';
export { loraList, parseLoraHashes } from './metadata/a1111';
export { parseComfyPrompt } from './metadata/comfyui';
export { parseInvokeAI, parseInvokeDream, splitBracketNegative } from './metadata/invokeai';
export { parseFooocus, parseNovelAI, parseStabilityMatrix, parseSwarmUI } from './metadata/others';
export { JsonNumber, parseJsonLossless, tryParseJson } from './metadata/json-lossless';
export type { JsonObject, JsonValue } from './metadata/json-lossless';
export {
  seedStringSchema,
  studioImageMetaSchema,
  studioLoraMetaSchema,
  type MetadataSource,
  type ParsedLora,
  type StudioLoraMeta,
  type ParsedParameters,
  type StudioImageMeta,
  type TextChunk,
} from './metadata/types';

/** PNG text-chunk keywords we write. */
export const PARAMETERS_KEYWORD = 'parameters';
export const STUDIO_KEYWORD = 'sd35studio';
/**
 * Our JSON record of an upscale on an image WITHOUT our lossless parameters (an upscaled file from another tool):
 * `{"upscale":{source:{sha256,imageId?},upscaler,scale,…}}`. Not `sd35studio`, which promises reproducible
 * parameters such a file does not have; our own upscaled images carry `upscale` inside `sd35studio` instead.
 */
export const UPSCALE_KEYWORD = 'sd35studio-upscale';

function describeIssues(error: { issues: { path: PropertyKey[]; message: string }[] }): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`)
    .join('; ');
}

/** Validate metadata (StudioError invalid_input naming the bad fields). */
export function checkStudioImageMeta(meta: unknown): StudioImageMeta {
  const parsed = studioImageMetaSchema.safeParse(meta);
  if (!parsed.success) {
    throw new StudioError('invalid_input', `The image metadata is invalid: ${describeIssues(parsed.error)}.`);
  }
  return parsed.data;
}

/**
 * The `sd35studio` chunk: JSON with a fixed key order and no whitespace, so the same parameters give
 * the same bytes whatever order the object's keys were built in. Throws StudioError invalid_input
 * when the metadata does not satisfy studioImageMetaSchema.
 */
export function studioJson(meta: StudioImageMeta): string {
  const m = checkStudioImageMeta(meta);
  const model: Record<string, string> = { id: m.model.id };
  if (m.model.repo !== undefined) model.repo = m.model.repo;
  if (m.model.commit !== undefined) model.commit = m.model.commit;
  if (m.model.modelHash !== undefined) model.modelHash = m.model.modelHash;
  const ordered: Record<string, unknown> = {
    prompt: m.prompt,
    negativePrompt: m.negativePrompt,
    seed: m.seed,
    steps: m.steps,
    guidance: m.guidance,
    width: m.width,
    height: m.height,
    shift: m.shift,
    scheduler: m.scheduler,
  };
  if (m.sampler !== undefined) ordered.sampler = m.sampler;
  if (m.slg !== undefined) ordered.slg = { layers: m.slg.layers, scale: m.slg.scale, start: m.slg.start, end: m.slg.end };
  Object.assign(ordered, {
    model,
    ep: m.ep,
    precision: m.precision,
    rng: m.rng,
  });
  if (m.clipHidden !== undefined) ordered.clipHidden = m.clipHidden;
  if (m.rewrittenOps !== undefined && m.rewrittenOps.length > 0) ordered.rewrittenOps = m.rewrittenOps;
  ordered.t5 = m.t5;
  if (m.init !== undefined) {
    const init: Record<string, unknown> = { sha256: m.init.sha256 };
    if (m.init.imageId !== undefined) init.imageId = m.init.imageId;
    init.strength = m.init.strength;
    init.fit = m.init.fit;
    if (m.init.mask !== undefined) init.mask = { sha256: m.init.mask.sha256, blur: m.init.mask.blur };
    if (m.init.outpaint !== undefined) init.outpaint = { left: m.init.outpaint.left, top: m.init.outpaint.top, right: m.init.outpaint.right, bottom: m.init.outpaint.bottom };
    if (m.init.area !== undefined) init.area = m.init.area;
    if (m.init.padding !== undefined) init.padding = m.init.padding;
    ordered.init = init;
  }
  if (m.hires !== undefined) {
    ordered.hires = { scale: m.hires.scale, upscaler: m.hires.upscaler, steps: m.hires.steps, strength: m.hires.strength, width: m.hires.width, height: m.hires.height };
  }
  if (m.loras !== undefined && m.loras.length > 0) {
    ordered.loras = m.loras.map((l) => {
      const o: Record<string, unknown> = { name: l.name, sha256: l.sha256, a1111Hash: l.a1111Hash, autoV2: l.autoV2, strength: l.strength };
      if (l.applied !== undefined) o.applied = Object.fromEntries(Object.keys(l.applied).sort().map((k) => [k, l.applied?.[k]]));
      if (l.unmatched !== undefined) o.unmatched = l.unmatched;
      return o;
    });
  }
  if (m.upscale !== undefined) ordered.upscale = orderedUpscale(m.upscale);
  ordered.appVersion = m.appVersion;
  return JSON.stringify(ordered);
}

/** An upscale record with a fixed key order (inside `sd35studio`, or alone in the `sd35studio-upscale` chunk). */
function orderedUpscale(u: UpscaleSpec): Record<string, unknown> {
  const source: Record<string, unknown> = { sha256: u.source.sha256 };
  if (u.source.imageId !== undefined) source.imageId = u.source.imageId;
  return { source, upscaler: u.upscaler, scale: u.scale, sourceWidth: u.sourceWidth, sourceHeight: u.sourceHeight, width: u.width, height: u.height };
}

/** The `sd35studio-upscale` chunk of an upscaled image of another tool (validated; the same bytes for the same spec). */
export function upscaleJson(spec: UpscaleSpec): string {
  return JSON.stringify({ upscale: orderedUpscale(upscaleSpecSchema.parse(spec)) });
}

/** The `sd35studio-upscale` chunk back to its record; undefined when it is not valid. */
export function parseUpscaleJson(text: string): UpscaleSpec | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = upscaleSpecSchema.safeParse(typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? (raw as { upscale?: unknown }).upscale : undefined);
  return parsed.success ? parsed.data : undefined;
}

/** Our `sd35studio` chunk back to metadata; undefined when it is not valid (a newer or damaged chunk). */
export function parseStudioJson(text: string): StudioImageMeta | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = studioImageMetaSchema.safeParse(raw);
  return parsed.success ? parsed.data : undefined;
}

/** ParsedParameters for one of our images, with the lossless metadata in `studio`. */
export function studioToParsed(meta: StudioImageMeta): ParsedParameters {
  const extra: Record<string, string> = {
    shift: String(meta.shift),
    ep: meta.ep,
    precision: meta.precision,
    rng: meta.rng,
    t5: String(meta.t5),
    appVersion: meta.appVersion,
  };
  if (meta.clipHidden !== undefined) extra.clipHidden = meta.clipHidden;
  if (meta.rewrittenOps !== undefined && meta.rewrittenOps.length > 0) extra.rewrittenOps = meta.rewrittenOps.join(' ');
  if (meta.model.repo !== undefined) extra.repo = meta.model.repo;
  if (meta.model.commit !== undefined) extra.commit = meta.model.commit;
  const res: ParsedParameters = {
    source: 'sd35studio',
    prompt: meta.prompt,
    negativePrompt: meta.negativePrompt,
    seed: meta.seed,
    steps: meta.steps,
    guidance: meta.guidance,
    width: meta.width,
    height: meta.height,
    model: meta.model.id,
    ...studioSampling(meta),
    shift: meta.shift,
    ...(meta.slg !== undefined ? { slg: meta.slg } : {}),
    studio: meta,
    extra,
  };
  if (meta.model.modelHash !== undefined) res.modelHash = meta.model.modelHash;
  if (meta.loras !== undefined && meta.loras.length > 0) {
    res.loras = meta.loras.map((l) => ({ name: l.name, strength: l.strength, a1111Hash: l.a1111Hash, sha256: l.sha256, autoV2: l.autoV2 }));
  }
  return res;
}

function jsonObject(text: string | undefined): JsonObject | undefined {
  if (text === undefined || !/^\s*\{/.test(text)) return undefined;
  const v = tryParseJson(text);
  return isObject(v) ? v : undefined;
}

/** A parser that may reject its input (StudioError): undefined instead. */
function attempt(parse: () => ParsedParameters | undefined): ParsedParameters | undefined {
  try {
    return parse();
  } catch (err) {
    if (err instanceof StudioError) return undefined;
    throw err;
  }
}

/** The `parameters` chunk: A1111 text, or JSON from SwarmUI / Fooocus / others. */
function parseParametersChunk(text: string, chunks: Map<string, string>): ParsedParameters | undefined {
  const obj = jsonObject(text);
  if (obj) {
    return (
      parseSwarmUI(obj) ??
      (obj.metadata_scheme !== undefined || chunks.has('fooocus_scheme') ? parseFooocus(obj) : undefined) ??
      parseGenericJson(obj)
    );
  }
  const res = parseA1111(text);
  if (chunks.get('fooocus_scheme') === 'a1111') res.source = 'fooocus';
  return res;
}

/**
 * Stability Matrix labels its sampler for people ("Euler Ancestral Karras"); the ComfyUI graph it also
 * writes names the sampler and the scheduler separately. Prefer those, keep the label in extra.
 */
function withGraphSampler(res: ParsedParameters, graph: string | undefined): ParsedParameters {
  const fromGraph = graph === undefined ? undefined : attempt(() => parseComfyPrompt(graph));
  if (fromGraph?.sampler !== undefined) {
    if (res.sampler !== undefined) res.extra['Sampler label'] = res.sampler;
    res.sampler = fromGraph.sampler;
    if (fromGraph.scheduler !== undefined) res.scheduler = fromGraph.scheduler;
  }
  return res;
}

/**
 * Read generation parameters from a PNG's text chunks (keyword → text, in file order; the first
 * chunk of a keyword wins). Tried in order: our `sd35studio`, `invokeai_metadata`, Stability Matrix's
 * `parameters-json`, `parameters` (A1111 text, or SwarmUI/Fooocus JSON), ComfyUI `prompt`, InvokeAI
 * 2.x `sd-metadata` and `Dream`, NovelAI `Description`/`Comment`. Undefined when none is understood.
 */
export function parseTextChunks(chunks: TextChunk[]): ParsedParameters | undefined {
  const byKey = new Map<string, string>();
  for (const c of chunks) if (!byKey.has(c.keyword)) byKey.set(c.keyword, c.text);
  const parsed = parseToolChunks(byKey);
  // An upscale we made of another tool's image: the tool's parameters (if any) and our record of the upscale.
  const upscaleText = byKey.get(UPSCALE_KEYWORD);
  const upscale = parsed?.source === 'sd35studio' || upscaleText === undefined ? undefined : parseUpscaleJson(upscaleText);
  if (!upscale) return parsed;
  return { ...(parsed ?? { source: 'other', extra: {} }), upscale };
}

function parseToolChunks(byKey: Map<string, string>): ParsedParameters | undefined {

  const studio = byKey.get(STUDIO_KEYWORD);
  const studioMeta = studio !== undefined ? parseStudioJson(studio) : undefined;
  if (studioMeta) return studioToParsed(studioMeta);

  const steps: (() => ParsedParameters | undefined)[] = [
    () => {
      const t = byKey.get('invokeai_metadata');
      return t === undefined ? undefined : parseInvokeAI(t);
    },
    () => {
      const obj = jsonObject(byKey.get('parameters-json'));
      const res = obj ? parseStabilityMatrix(obj) : undefined;
      return res ? withGraphSampler(res, byKey.get('prompt')) : undefined;
    },
    () => {
      const t = byKey.get(PARAMETERS_KEYWORD);
      return t === undefined ? undefined : parseParametersChunk(t, byKey);
    },
    () => {
      const t = byKey.get('prompt');
      return t === undefined ? undefined : parseComfyPrompt(t);
    },
    () => {
      const t = byKey.get('sd-metadata');
      return t === undefined ? undefined : parseInvokeAI(t);
    },
    () => {
      const t = byKey.get('Dream');
      return t === undefined ? undefined : parseInvokeDream(t);
    },
    () => {
      const comment = jsonObject(byKey.get('Comment'));
      const isNovel = byKey.get('Software') === 'NovelAI' || (comment !== undefined && 'uc' in comment);
      return isNovel ? parseNovelAI(byKey, comment) : undefined;
    },
  ];
  for (const step of steps) {
    const res = attempt(step);
    if (res) return res;
  }
  return undefined;
}
