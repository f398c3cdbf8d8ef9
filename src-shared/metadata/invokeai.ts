// InvokeAI: `invokeai_metadata` JSON (3.x and later), the 2.x `sd-metadata` JSON and the older `Dream`
// command line. In 2.x the negative prompt lives inside the prompt, in [square brackets]. Which key holds which
// field is import-fields.ts's map.
import { StudioError } from '../errors';
import { asString, field, isObject, tryParseJson, type JsonObject } from './json-lossless';
import { mappedKeys, readToolFields } from './import-fields';
import type { ParsedParameters } from './types';

/** Split InvokeAI 2.x "prompt [negative] more [negative 2]" into its parts. */
export function splitBracketNegative(text: string): { prompt: string; negativePrompt?: string } {
  const negatives: string[] = [];
  const prompt = text.replace(/\[([^\]]*)\]/g, (_m, inner: string) => {
    negatives.push(inner.trim());
    return '';
  });
  return negatives.length > 0 ? { prompt: prompt.trim(), negativePrompt: negatives.join(', ') } : { prompt: text.trim() };
}

function fromInvokeMetadata(obj: JsonObject): ParsedParameters {
  const res: ParsedParameters = { source: 'invokeai', extra: {} };
  readToolFields(res, obj, 'invokeai');
  const model = obj.model;
  res.model = isObject(model) ? (asString(model.name) ?? asString(model.model_name)) : asString(model);
  res.modelHash = isObject(model) ? asString(model.hash) : undefined;
  const base = isObject(model) ? (asString(model.base) ?? asString(model.base_model)) : undefined;
  if (base !== undefined) res.extra.base_model = base;
  return res;
}

function fromSdMetadata(obj: JsonObject): ParsedParameters {
  const res: ParsedParameters = { source: 'invokeai', extra: {} };
  const image = field(obj, 'image');
  const p = field(image, 'prompt');
  const promptText = Array.isArray(p) ? asString(field(p[0], 'prompt')) : asString(p);
  if (promptText !== undefined) Object.assign(res, splitBracketNegative(promptText));
  readToolFields(res, isObject(image) ? image : {}, 'invokeaiLegacyImage');
  readToolFields(res, obj, 'invokeaiLegacy');
  return res;
}

/**
 * Parse InvokeAI's JSON metadata: the `invokeai_metadata` chunk (3.x and later) or the 2.x
 * `sd-metadata` chunk. Throws StudioError invalid_input for anything else.
 */
export function parseInvokeAI(json: string): ParsedParameters {
  const obj = tryParseJson(json);
  if (!isObject(obj)) throw new StudioError('invalid_input', 'The InvokeAI metadata is not a JSON object.');
  if ('positive_prompt' in obj || 'generation_mode' in obj) return fromInvokeMetadata(obj);
  if (isObject(obj.image)) return fromSdMetadata(obj);
  throw new StudioError('invalid_input', 'The InvokeAI metadata has neither positive_prompt nor image fields.');
}

/** Parse the InvokeAI 2.x `Dream` string: `"prompt [negative]" -s 50 -S 42 -W 512 -H 768 -C 7.5 -A k_lms`. */
export function parseInvokeDream(text: string): ParsedParameters {
  const res: ParsedParameters = { source: 'invokeai', extra: {} };
  const s = text.trim();
  let rest: string;
  if (s.startsWith('"')) {
    let j = 1;
    let prompt = '';
    while (j < s.length && s[j] !== '"') {
      if (s[j] === '\\' && j + 1 < s.length) j++;
      prompt += s[j];
      j++;
    }
    if (j >= s.length) throw new StudioError('invalid_input', 'The Dream string has an unterminated quoted prompt.');
    Object.assign(res, splitBracketNegative(prompt));
    rest = s.slice(j + 1);
  } else {
    const flag = s.search(/(^|\s)-[a-zA-Z]/);
    Object.assign(res, splitBracketNegative(flag < 0 ? s : s.slice(0, flag)));
    rest = flag < 0 ? '' : s.slice(flag);
  }
  const tokens = rest.trim().split(/\s+/).filter((t) => t !== '');
  const options = new Map<string, string>();
  for (let i = 0; i < tokens.length; i++) {
    const tok = tokens[i] as string;
    if (!/^--?[a-zA-Z]/.test(tok)) continue;
    const values: string[] = [];
    while (i + 1 < tokens.length && !/^--?[a-zA-Z]/.test(tokens[i + 1] as string)) values.push(tokens[++i] as string);
    options.set(tok, values.join(' '));
  }
  readToolFields(res, Object.fromEntries(options), 'invokeDream');
  const read = mappedKeys('invokeDream');
  for (const [k, v] of options) if (!read.has(k)) res.extra[k] = v;
  return res;
}
