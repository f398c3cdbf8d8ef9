// Where other tools keep each generation parameter, as one declarative map: a tool's entry names the key (or keys,
// first readable wins) of each field; how a field is read (exact seed digits, whole numbers, finite numbers, text)
// is the field's own, the same for every tool. The importers (others.ts, invokeai.ts) read through it, and the
// keys it names are the ones left out of `extra`. Tools whose format is not key → value (A1111's text, ComfyUI's
// graph) have their own parsers.
import { asInt, asIntString, asNumber, asString, scalarText, type JsonObject, type JsonValue } from './json-lossless';
import type { ParsedParameters } from './types';

/** How each field is read, whichever tool wrote it. */
const FIELD_READERS = {
  prompt: asString,
  negativePrompt: asString,
  seed: asIntString,
  steps: asInt,
  guidance: asNumber,
  width: asInt,
  height: asInt,
  model: asString,
  modelHash: asString,
  sampler: asString,
  scheduler: asString,
} as const satisfies Record<string, (v: JsonValue | undefined) => string | number | undefined>;

export type ImportField = keyof typeof FIELD_READERS;

/** A field's key in a tool's JSON, or its alternatives (the first whose value reads as the field is taken). */
export type FieldKeys = Readonly<Partial<Record<ImportField, string | readonly string[]>>>;

export interface ToolFields {
  fields: FieldKeys;
  /** Further keys copied into `extra` as text when present (non-empty scalars). */
  extra?: readonly string[];
}

/** THE map: every key → field rule of the JSON-shaped importers. */
export const IMPORT_FIELDS = {
  /** SwarmUI: `parameters` = {"sui_image_params": {…}, "sui_models": […]}; read in sui_image_params. */
  swarmui: {
    fields: {
      prompt: 'prompt',
      negativePrompt: 'negativeprompt',
      seed: 'seed',
      steps: 'steps',
      guidance: 'cfgscale',
      width: 'width',
      height: 'height',
      model: 'model',
      sampler: 'sampler',
      scheduler: 'scheduler',
    },
  },
  /** Fooocus: its JSON scheme in `parameters` (the size is "(w, h)" in `resolution`, read by others.ts). */
  fooocus: {
    fields: {
      prompt: 'prompt',
      negativePrompt: 'negative_prompt',
      seed: 'seed',
      steps: 'steps',
      guidance: 'guidance_scale',
      model: 'base_model',
      modelHash: 'base_model_hash',
      sampler: 'sampler',
      scheduler: 'scheduler',
    },
  },
  /** Stability Matrix: `parameters-json`. */
  stabilitymatrix: {
    fields: {
      prompt: 'PositivePrompt',
      negativePrompt: 'NegativePrompt',
      seed: 'Seed',
      steps: 'Steps',
      guidance: 'CfgScale',
      width: 'Width',
      height: 'Height',
      model: 'ModelName',
      modelHash: 'ModelHash',
      sampler: 'Sampler',
    },
  },
  /** Any other JSON `parameters`, snake or camel case. */
  generic: {
    fields: {
      prompt: ['prompt', 'positive_prompt', 'positivePrompt', 'Prompt'],
      negativePrompt: ['negative_prompt', 'negativePrompt', 'negativeprompt', 'Negative prompt', 'uc'],
      seed: ['seed', 'Seed'],
      steps: ['steps', 'Steps'],
      guidance: ['cfg_scale', 'cfgScale', 'cfgscale', 'guidance_scale', 'guidance', 'scale', 'cfg'],
      width: ['width', 'Width'],
      height: ['height', 'Height'],
      model: ['model', 'Model', 'model_name', 'base_model'],
      sampler: ['sampler', 'sampler_name', 'Sampler'],
    },
  },
  /** NovelAI's `Comment` JSON (the prompt is the `Description` chunk; model and hash the `Source` chunk). */
  novelai: {
    fields: {
      negativePrompt: 'uc',
      seed: 'seed',
      steps: 'steps',
      guidance: 'scale',
      width: 'width',
      height: 'height',
      sampler: 'sampler',
      scheduler: 'noise_schedule',
    },
    extra: ['strength', 'noise', 'cfg_rescale', 'uncond_scale', 'sm', 'sm_dyn'],
  },
  /** InvokeAI 3.x and later: `invokeai_metadata` (its "scheduler" is the sampler; the model is read by invokeai.ts). */
  invokeai: {
    fields: {
      prompt: 'positive_prompt',
      negativePrompt: 'negative_prompt',
      seed: 'seed',
      steps: 'steps',
      guidance: 'cfg_scale',
      width: 'width',
      height: 'height',
      sampler: 'scheduler',
    },
    extra: ['generation_mode', 'positive_style_prompt', 'negative_style_prompt', 'clip_skip', 'rand_device', 'cfg_rescale_multiplier', 'strength', 'app_version'],
  },
  /** InvokeAI 2.x `sd-metadata`: the top level (model, app). */
  invokeaiLegacy: {
    fields: { model: ['model_weights', 'model'], modelHash: 'model_hash' },
    extra: ['app_id', 'app_version'],
  },
  /** InvokeAI 2.x `sd-metadata`: its `image` object (the prompt, with [negatives] inside, is read by invokeai.ts). */
  invokeaiLegacyImage: {
    fields: { seed: 'seed', steps: 'steps', guidance: 'cfg_scale', width: 'width', height: 'height', sampler: 'sampler' },
    extra: ['type', 'strength', 'threshold', 'perlin', 'seamless', 'hires_fix'],
  },
  /** InvokeAI 2.x `Dream` command line: its options (every other option goes to `extra`). */
  invokeDream: {
    fields: {
      steps: ['-s', '--steps'],
      seed: ['-S', '--seed'],
      width: ['-W', '--width'],
      height: ['-H', '--height'],
      guidance: ['-C', '--cfg_scale'],
      sampler: ['-A', '--sampler'],
      model: ['-m', '--model'],
    },
  },
} as const satisfies Record<string, ToolFields>;

export type ImportTool = keyof typeof IMPORT_FIELDS;

function alternatives(keys: string | readonly string[]): readonly string[] {
  return typeof keys === 'string' ? [keys] : keys;
}

/**
 * Reads a tool's fields from `obj` into `res` (each mapped field is set, undefined when absent or unreadable) and
 * its `extra` keys into `res.extra`.
 */
export function readToolFields(res: ParsedParameters, obj: JsonObject, tool: ImportTool): void {
  const spec: ToolFields = IMPORT_FIELDS[tool];
  for (const [name, keys] of Object.entries(spec.fields) as [ImportField, string | readonly string[]][]) {
    const read = FIELD_READERS[name] as (v: JsonValue | undefined) => string | number | undefined;
    let value: string | number | undefined;
    for (const key of alternatives(keys)) {
      if (!Object.prototype.hasOwnProperty.call(obj, key)) continue;
      value = read(obj[key]);
      if (value !== undefined) break;
    }
    (res as unknown as Record<string, unknown>)[name] = value;
  }
  for (const key of spec.extra ?? []) {
    const v = scalarText(obj[key]);
    if (v !== undefined && v !== '') res.extra[key] = v;
  }
}

/** Every key a tool's map reads (its fields' keys and its extra keys). */
export function mappedKeys(tool: ImportTool): Set<string> {
  const spec: ToolFields = IMPORT_FIELDS[tool];
  return new Set([...Object.values(spec.fields).flatMap((keys) => alternatives(keys!)), ...(spec.extra ?? [])]);
}
