// Tools whose metadata is JSON with their own keys: SwarmUI and Fooocus (JSON inside `parameters`),
// Stability Matrix (`parameters-json`), NovelAI (Description + Comment + Source), and a generic
// fallback for JSON `parameters` from anything else. Which key holds which field is import-fields.ts's map.
import { asString, field, isObject, type JsonObject, scalarText } from './json-lossless';
import { mappedKeys, readToolFields, type ImportTool } from './import-fields';
import type { MetadataSource, ParsedParameters } from './types';

/** Copy every scalar field the tool's map does not read (nor `also`) into extra (bounded, so a huge JSON cannot flood it). */
function restToExtra(res: ParsedParameters, obj: JsonObject, tool: ImportTool, also: readonly string[] = []): void {
  const used = mappedKeys(tool);
  for (const k of also) used.add(k);
  let n = 0;
  for (const [k, v] of Object.entries(obj)) {
    if (used.has(k)) continue;
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
  readToolFields(res, p, 'swarmui');
  const models = obj.sui_models;
  if (Array.isArray(models)) {
    const main = models.find((m) => asString(field(m, 'param')) === 'model');
    res.modelHash = asString(field(main, 'hash'));
  }
  restToExtra(res, p, 'swarmui');
  return res;
}

/** Fooocus: `parameters` holds its JSON scheme (seed as a string, resolution as "(w, h)"). */
export function parseFooocus(obj: JsonObject): ParsedParameters | undefined {
  if (asString(obj.prompt) === undefined) return undefined;
  const res: ParsedParameters = { source: 'fooocus', extra: {} };
  readToolFields(res, obj, 'fooocus');
  const m = /^\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)\s*$/.exec(asString(obj.resolution) ?? '');
  if (m) {
    res.width = Number(m[1]);
    res.height = Number(m[2]);
  }
  restToExtra(res, obj, 'fooocus', ['resolution']);
  return res;
}

/** Stability Matrix: `parameters-json` {PositivePrompt, NegativePrompt, Seed, …}, exact (keeps \r\n). */
export function parseStabilityMatrix(obj: JsonObject): ParsedParameters | undefined {
  if (asString(obj.PositivePrompt) === undefined) return undefined;
  const res: ParsedParameters = { source: 'stabilitymatrix', extra: {} };
  readToolFields(res, obj, 'stabilitymatrix');
  return res;
}

/** Generic JSON `parameters` (prompt / negative_prompt / seed … in snake or camel case). */
export function parseGenericJson(obj: JsonObject, source: MetadataSource = 'other'): ParsedParameters | undefined {
  const res: ParsedParameters = { source, extra: {} };
  readToolFields(res, obj, 'generic');
  return res.prompt === undefined ? undefined : res;
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
    readToolFields(res, comment, 'novelai');
    const chars = field(comment, 'v4_prompt', 'caption', 'char_captions');
    if (Array.isArray(chars)) {
      const captions = chars.map((c) => asString(field(c, 'char_caption'))).filter((c): c is string => c !== undefined);
      if (captions.length > 0) res.extra['Character prompts'] = JSON.stringify(captions);
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
