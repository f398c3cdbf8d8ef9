// Tools whose metadata is JSON with their own keys: SwarmUI and Fooocus (JSON inside `parameters`),
// Stability Matrix (`parameters-json`), NovelAI (Description + Comment + Source), and a generic
// fallback for JSON `parameters` from anything else.
import {
  asInt,
  asIntString,
  asNumber,
  asString,
  field,
  isObject,
  type JsonObject,
  type JsonValue,
  scalarText,
} from './json-lossless';
import type { MetadataSource, ParsedParameters } from './types';

/** Copy every scalar field not in `used` into extra (bounded, so a huge JSON cannot flood it). */
function restToExtra(res: ParsedParameters, obj: JsonObject, used: string[]): void {
  let n = 0;
  for (const [k, v] of Object.entries(obj)) {
    if (used.includes(k)) continue;
    const s = scalarText(v);
    if (s === undefined || s === '' || s.length > 2000) continue;
    res.extra[k] = s;
    if (++n >= 64) break;
  }
}

/** SwarmUI: `parameters` holds {"sui_image_params": {...}, "sui_models": [...]}. */
export function parseSwarmUI(obj: JsonObject): ParsedParameters | undefined {
  const p = obj.sui_image_params;
  if (!isObject(p)) return undefined;
  const res: ParsedParameters = { source: 'swarmui', extra: {} };
  res.prompt = asString(p.prompt);
  res.negativePrompt = asString(p.negativeprompt);
  res.seed = asIntString(p.seed);
  res.steps = asInt(p.steps);
  res.guidance = asNumber(p.cfgscale);
  res.width = asInt(p.width);
  res.height = asInt(p.height);
  res.model = asString(p.model);
  res.sampler = asString(p.sampler);
  res.scheduler = asString(p.scheduler);
  const models = obj.sui_models;
  if (Array.isArray(models)) {
    const main = models.find((m) => asString(field(m, 'param')) === 'model');
    res.modelHash = asString(field(main, 'hash'));
  }
  restToExtra(res, p, ['prompt', 'negativeprompt', 'seed', 'steps', 'cfgscale', 'width', 'height', 'model', 'sampler', 'scheduler']);
  return res;
}

/** Fooocus: `parameters` holds its JSON scheme (seed as a string, resolution as "(w, h)"). */
export function parseFooocus(obj: JsonObject): ParsedParameters | undefined {
  if (asString(obj.prompt) === undefined) return undefined;
  const res: ParsedParameters = { source: 'fooocus', extra: {} };
  res.prompt = asString(obj.prompt);
  res.negativePrompt = asString(obj.negative_prompt);
  res.seed = asIntString(obj.seed);
  res.steps = asInt(obj.steps);
  res.guidance = asNumber(obj.guidance_scale);
  const m = /^\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)\s*$/.exec(asString(obj.resolution) ?? '');
  if (m) {
    res.width = Number(m[1]);
    res.height = Number(m[2]);
  }
  res.model = asString(obj.base_model);
  res.modelHash = asString(obj.base_model_hash);
  res.sampler = asString(obj.sampler);
  res.scheduler = asString(obj.scheduler);
  restToExtra(res, obj, [
    'prompt',
    'negative_prompt',
    'seed',
    'steps',
    'guidance_scale',
    'resolution',
    'base_model',
    'base_model_hash',
    'sampler',
    'scheduler',
  ]);
  return res;
}

/** Stability Matrix: `parameters-json` {PositivePrompt, NegativePrompt, Seed, …}, exact (keeps \r\n). */
export function parseStabilityMatrix(obj: JsonObject): ParsedParameters | undefined {
  if (asString(obj.PositivePrompt) === undefined) return undefined;
  const res: ParsedParameters = { source: 'stabilitymatrix', extra: {} };
  res.prompt = asString(obj.PositivePrompt);
  res.negativePrompt = asString(obj.NegativePrompt);
  res.seed = asIntString(obj.Seed);
  res.steps = asInt(obj.Steps);
  res.guidance = asNumber(obj.CfgScale);
  res.width = asInt(obj.Width);
  res.height = asInt(obj.Height);
  res.model = asString(obj.ModelName);
  res.modelHash = asString(obj.ModelHash);
  res.sampler = asString(obj.Sampler);
  return res;
}

/** Generic JSON `parameters` (prompt / negative_prompt / seed … in snake or camel case). */
export function parseGenericJson(obj: JsonObject, source: MetadataSource = 'other'): ParsedParameters | undefined {
  const pick = (...keys: string[]): JsonValue | undefined => {
    for (const k of keys) if (k in obj) return obj[k];
    return undefined;
  };
  const prompt = asString(pick('prompt', 'positive_prompt', 'positivePrompt', 'Prompt'));
  if (prompt === undefined) return undefined;
  const res: ParsedParameters = { source, extra: {} };
  res.prompt = prompt;
  res.negativePrompt = asString(pick('negative_prompt', 'negativePrompt', 'negativeprompt', 'Negative prompt', 'uc'));
  res.seed = asIntString(pick('seed', 'Seed'));
  res.steps = asInt(pick('steps', 'Steps'));
  res.guidance = asNumber(pick('cfg_scale', 'cfgScale', 'cfgscale', 'guidance_scale', 'guidance', 'scale', 'cfg'));
  res.width = asInt(pick('width', 'Width'));
  res.height = asInt(pick('height', 'Height'));
  res.model = asString(pick('model', 'Model', 'model_name', 'base_model'));
  res.sampler = asString(pick('sampler', 'sampler_name', 'Sampler'));
  return res;
}

/**
 * NovelAI: prompt in `Description`, parameters JSON in `Comment` (cfg is `scale`, negative is `uc`),
 * model and hash in `Source` ("Stable Diffusion 1D44365E"). V4 character captions go to extra.
 */
export function parseNovelAI(chunks: Map<string, string>, comment: JsonObject | undefined): ParsedParameters | undefined {
  const description = chunks.get('Description');
  if (description === undefined && comment === undefined) return undefined;
  const res: ParsedParameters = { source: 'novelai', extra: {} };
  res.prompt = description ?? asString(comment?.prompt);
  if (comment) {
    res.negativePrompt = asString(comment.uc);
    res.seed = asIntString(comment.seed);
    res.steps = asInt(comment.steps);
    res.guidance = asNumber(comment.scale);
    res.width = asInt(comment.width);
    res.height = asInt(comment.height);
    res.sampler = asString(comment.sampler);
    res.scheduler = asString(comment.noise_schedule);
    const chars = field(comment, 'v4_prompt', 'caption', 'char_captions');
    if (Array.isArray(chars)) {
      const captions = chars.map((c) => asString(field(c, 'char_caption'))).filter((c): c is string => c !== undefined);
      if (captions.length > 0) res.extra['Character prompts'] = JSON.stringify(captions);
    }
    for (const key of ['strength', 'noise', 'cfg_rescale', 'uncond_scale', 'sm', 'sm_dyn']) {
      const v = scalarText(comment[key]);
      if (v !== undefined) res.extra[key] = v;
    }
  }
  const source = chunks.get('Source');
  if (source !== undefined) {
    const m = /^(.*\S)\s+([0-9A-Fa-f]{8})$/.exec(source.trim());
    res.model = m ? m[1] : source.trim();
    if (m) res.modelHash = m[2];
  }
  const software = chunks.get('Software');
  if (software !== undefined) res.extra.Software = software;
  return res;
}
