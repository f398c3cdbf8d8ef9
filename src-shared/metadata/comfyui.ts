// ComfyUI's `prompt` chunk: the API graph { "<node id>": { class_type, inputs: { name: value | [id, slot] } } }.
// Find the sampler node(s), follow positive/negative back to the text encoders (through combine, area,
// ControlNet… nodes), the model input back to the checkpoint loader and the latent back to the empty
// latent for the size. Node ids are strings ("3", "Sampler", "CheckpointLoader_Base").
import { StudioError } from '../errors';
import {
  asIntString,
  asNumber,
  asString,
  isObject,
  JsonNumber,
  tryParseJson,
  type JsonObject,
  type JsonValue,
} from './json-lossless';
import { slgSchema } from '../generation';
import type { ParsedLora, ParsedParameters } from './types';

interface GraphNode {
  id: string;
  classType: string;
  inputs: JsonObject;
}
type Graph = Map<string, GraphNode>;
interface Link {
  id: string;
  slot: number;
}

const MAX_WALK = 2000;

function asLink(v: JsonValue | undefined): Link | undefined {
  if (!Array.isArray(v) || v.length !== 2) return undefined;
  const [a, b] = v;
  const id = typeof a === 'string' ? a : a instanceof JsonNumber ? a.raw : undefined;
  const slot = b instanceof JsonNumber ? b.toNumber() : undefined;
  return id !== undefined && slot !== undefined && Number.isInteger(slot) ? { id, slot } : undefined;
}

function readGraph(json: string): Graph {
  const root = tryParseJson(json);
  if (!isObject(root)) throw new StudioError('invalid_input', 'The ComfyUI "prompt" chunk is not a JSON object.');
  if (Array.isArray(root.nodes)) {
    throw new StudioError('invalid_input', 'This is a ComfyUI UI workflow, not the API prompt graph; it cannot be read.');
  }
  const graph: Graph = new Map();
  for (const [id, raw] of Object.entries(root)) {
    if (!isObject(raw)) continue;
    const classType = asString(raw.class_type);
    const inputs = raw.inputs;
    if (classType === undefined || !isObject(inputs)) continue;
    graph.set(id, { id, classType, inputs });
  }
  if (graph.size === 0) throw new StudioError('invalid_input', 'The ComfyUI "prompt" chunk has no nodes.');
  return graph;
}

function isSampler(node: GraphNode): boolean {
  return (
    /sampler/i.test(node.classType) &&
    !/select/i.test(node.classType) &&
    ('positive' in node.inputs || 'guider' in node.inputs)
  );
}

/** Ids of every node reachable from `start` through link inputs (bounded), excluding `start`. */
function upstream(graph: Graph, start: GraphNode): Set<string> {
  const seen = new Set<string>();
  const stack: string[] = [];
  for (const v of Object.values(start.inputs)) {
    const l = asLink(v);
    if (l) stack.push(l.id);
  }
  while (stack.length > 0 && seen.size < MAX_WALK) {
    const id = stack.pop() as string;
    if (seen.has(id)) continue;
    seen.add(id);
    const node = graph.get(id);
    if (!node) continue;
    for (const v of Object.values(node.inputs)) {
      const l = asLink(v);
      if (l && !seen.has(l.id)) stack.push(l.id);
    }
  }
  return seen;
}

const STRING_KEYS = ['text', 'string', 'value', 'prompt', 'text_positive', 'Text', 'STRING'];

/** A string input, following links to primitive/text nodes. */
function resolveString(graph: Graph, v: JsonValue | undefined, depth = 0): string | undefined {
  if (typeof v === 'string') return v;
  const l = asLink(v);
  if (!l || depth > 32) return undefined;
  const node = graph.get(l.id);
  if (!node) return undefined;
  for (const key of STRING_KEYS) {
    const s = resolveString(graph, node.inputs[key], depth + 1);
    if (s !== undefined) return s;
  }
  return undefined;
}

/** A scalar input (number), following links to primitive nodes that hold `key` or a value. */
function resolveScalar(graph: Graph, v: JsonValue | undefined, key: string, depth = 0): JsonValue | undefined {
  if (v instanceof JsonNumber || typeof v === 'string') return v;
  const l = asLink(v);
  if (!l || depth > 32) return undefined;
  const node = graph.get(l.id);
  if (!node) return undefined;
  for (const k of [key, 'value', 'seed', 'noise_seed', 'int', 'number', 'float']) {
    if (k in node.inputs) {
      const r = resolveScalar(graph, node.inputs[k], k, depth + 1);
      if (r !== undefined) return r;
    }
  }
  return undefined;
}

const TEXT_INPUTS = ['text', 'text_g', 'text_l', 'clip_l', 'clip_g', 't5xxl', 'prompt'];
const NOT_CONDITIONING = new Set([
  'clip',
  'model',
  'vae',
  'image',
  'images',
  'pixels',
  'mask',
  'control_net',
  'latent',
  'latent_image',
  'samples',
  'style_model',
  'clip_vision',
  'clip_vision_output',
  'upscale_model',
]);

/** Texts of the encoders feeding a conditioning link, in input order, de-duplicated per node. */
function collectTexts(graph: Graph, link: Link, out: string[], seen: Set<string>): void {
  if (seen.size > MAX_WALK) return;
  const key = `${link.id}:${link.slot}`;
  if (seen.has(key)) return;
  seen.add(key);
  const node = graph.get(link.id);
  // A zeroed-out conditioning (SD3 workflows use it for the negative) holds no text.
  if (!node || node.classType === 'ConditioningZeroOut') return;
  const texts: string[] = [];
  for (const name of TEXT_INPUTS) {
    const s = resolveString(graph, node.inputs[name]);
    if (s !== undefined && !texts.includes(s)) texts.push(s);
  }
  if (texts.length > 0 && !isSampler(node)) {
    for (const t of texts) if (!out.includes(t)) out.push(t);
    return;
  }
  // Nodes that carry both (ControlNetApplyAdvanced…): output 0 is positive, 1 is negative.
  if ('positive' in node.inputs && 'negative' in node.inputs) {
    const l = asLink(node.inputs[link.slot === 1 ? 'negative' : 'positive']);
    if (l) collectTexts(graph, l, out, seen);
    return;
  }
  const entries = Object.entries(node.inputs);
  const conditioning = entries.filter(([name]) => /cond|positive|negative/i.test(name));
  const follow = conditioning.length > 0 ? conditioning : entries.filter(([name]) => !NOT_CONDITIONING.has(name));
  for (const [, v] of follow) {
    const l = asLink(v);
    if (l) collectTexts(graph, l, out, seen);
  }
}

function texts(graph: Graph, v: JsonValue | undefined): string[] | undefined {
  const l = asLink(v);
  if (!l) return typeof v === 'string' ? [v] : undefined;
  const out: string[] = [];
  collectTexts(graph, l, out, new Set());
  return out.length > 0 ? out : undefined;
}

const MODEL_KEYS = ['ckpt_name', 'unet_name', 'model_name', 'model_path', 'base_ckpt_name'];

function findModel(graph: Graph, v: JsonValue | undefined): string | undefined {
  let link = asLink(v);
  for (let hops = 0; link && hops < 64; hops++) {
    const node = graph.get(link.id);
    if (!node) return undefined;
    for (const key of MODEL_KEYS) {
      const s = resolveString(graph, node.inputs[key]);
      if (s !== undefined) return s;
    }
    link = asLink(node.inputs.model);
  }
  return undefined;
}

function findSize(graph: Graph, v: JsonValue | undefined): { width: number; height: number } | undefined {
  let link = asLink(v);
  for (let hops = 0; link && hops < 64; hops++) {
    const node = graph.get(link.id);
    if (!node) return undefined;
    const w = asNumber(resolveScalar(graph, node.inputs.width, 'width'));
    const h = asNumber(resolveScalar(graph, node.inputs.height, 'height'));
    if (w !== undefined && h !== undefined && Number.isInteger(w) && Number.isInteger(h)) return { width: w, height: h };
    link = asLink(node.inputs.samples ?? node.inputs.latent ?? node.inputs.latent_image);
  }
  return undefined;
}

/**
 * The model patches on the way from the sampler to the checkpoint loader: ModelSamplingSD3's `shift` and
 * SkipLayerGuidanceSD3's layers ("7, 8, 9"), scale, start_percent and end_percent. (ComfyUI's SLG node tests a
 * σ window; the studio runs diffusers' step window — close, but not always the same steps.)
 */
function findModelPatches(graph: Graph, v: JsonValue | undefined, res: ParsedParameters): void {
  let link = asLink(v);
  for (let hops = 0; link && hops < 64; hops++) {
    const node = graph.get(link.id);
    if (!node) return;
    if (/^ModelSampling(SD3|Flux|AuraFlow)?$/.test(node.classType) && res.shift === undefined) {
      const shift = asNumber(resolveScalar(graph, node.inputs.shift, 'shift'));
      if (shift !== undefined && shift > 0) res.shift = shift;
    }
    if (/^SkipLayerGuidance(SD3|DiT)$/.test(node.classType) && res.slg === undefined) {
      const layersText = asString(resolveScalar(graph, node.inputs.layers ?? node.inputs.double_layers, 'layers'));
      const slg = slgSchema.safeParse({
        layers: (layersText ?? '').split(/[\s,]+/).filter(Boolean).map(Number),
        scale: asNumber(resolveScalar(graph, node.inputs.scale, 'scale')),
        start: asNumber(resolveScalar(graph, node.inputs.start_percent, 'start_percent')),
        end: asNumber(resolveScalar(graph, node.inputs.end_percent, 'end_percent')),
      });
      if (slg.success) res.slg = slg.data;
    }
    link = asLink(node.inputs.model);
  }
}

/** A node linked from one of the sampler's inputs (SamplerCustomAdvanced's guider, noise, sigmas, sampler). */
function linked(graph: Graph, node: GraphNode, input: string): GraphNode | undefined {
  const l = asLink(node.inputs[input]);
  return l ? graph.get(l.id) : undefined;
}

function readSampler(graph: Graph, sampler: GraphNode): ParsedParameters {
  const res: ParsedParameters = { source: 'comfyui', extra: {} };
  const guider = linked(graph, sampler, 'guider');
  const sigmas = linked(graph, sampler, 'sigmas');
  const places = [sampler, guider, linked(graph, sampler, 'noise'), sigmas, linked(graph, sampler, 'sampler')].filter(
    (n): n is GraphNode => n !== undefined,
  );
  const find = (...keys: string[]): JsonValue | undefined => {
    for (const node of places) {
      for (const key of keys) {
        if (key in node.inputs) {
          const v = resolveScalar(graph, node.inputs[key], key);
          if (v !== undefined) return v;
        }
      }
    }
    return undefined;
  };
  res.seed = asIntString(find('seed', 'noise_seed'));
  const steps = asNumber(find('steps'));
  if (steps !== undefined && Number.isInteger(steps)) res.steps = steps;
  res.guidance = asNumber(find('cfg', 'cfg_scale'));
  res.sampler = asString(find('sampler_name'));
  res.scheduler = asString(find('scheduler'));
  const denoise = find('denoise');
  if (denoise instanceof JsonNumber) res.extra.Denoise = denoise.raw;

  const condSource = guider ?? sampler;
  const positive = texts(graph, condSource.inputs.positive ?? condSource.inputs.conditioning);
  const negative = texts(graph, condSource.inputs.negative);
  if (positive) {
    res.prompt = positive.join('\n');
    if (positive.length > 1) res.prompts = positive;
  }
  if (negative) res.negativePrompt = negative.join('\n');
  res.model =
    findModel(graph, sampler.inputs.model) ??
    (guider ? findModel(graph, guider.inputs.model) : undefined) ??
    (sigmas ? findModel(graph, sigmas.inputs.model) : undefined);
  findModelPatches(graph, sampler.inputs.model ?? guider?.inputs.model, res);
  const size = findSize(graph, sampler.inputs.latent_image ?? sampler.inputs.latent);
  if (size) {
    res.width = size.width;
    res.height = size.height;
  }
  return res;
}

/**
 * The LoRAs on the primary sampler's model path: ComfyUI's `LoraLoader` / `LoraLoaderModelOnly` nodes
 * (nodes.py: inputs `lora_name` = the file under models/loras, `strength_model`), named by the file's base name
 * (no hash: ComfyUI records none; the library resolves them by name).
 */
function comfyLoras(graph: Graph, sampler: GraphNode): ParsedLora[] {
  const out: ParsedLora[] = [];
  for (const id of upstream(graph, sampler)) {
    const node = graph.get(id);
    if (!node || !/^LoraLoader(ModelOnly)?$/u.test(node.classType)) continue;
    const file = resolveString(graph, node.inputs.lora_name);
    if (file === undefined || file.trim() === '') continue;
    const name = (file.split(/[\\/]/u).pop() ?? file).replace(/\.(safetensors|ckpt|pt)$/iu, '');
    const strength = asNumber(resolveScalar(graph, node.inputs.strength_model, 'strength_model'));
    out.push({ name, ...(strength !== undefined ? { strength } : {}) });
    if (out.length >= 100) break;
  }
  return out;
}

/**
 * Parse ComfyUI's API graph. The primary sampler is the first one whose latent does not come from
 * another sampler (a hires/refiner pass comes after it). Throws StudioError invalid_input when the
 * text is not an API graph or has no sampler.
 */
export function parseComfyPrompt(json: string): ParsedParameters {
  const graph = readGraph(json);
  const samplers = [...graph.values()].filter(isSampler);
  if (samplers.length === 0) {
    throw new StudioError('invalid_input', 'The ComfyUI graph has no sampler node, so there are no generation parameters to read.');
  }
  const ids = new Set(samplers.map((s) => s.id));
  const primary =
    samplers.find((s) => ![...upstream(graph, s)].some((id) => ids.has(id))) ?? (samplers[0] as GraphNode);
  const res = readSampler(graph, primary);
  if (samplers.length > 1) res.extra.Samplers = String(samplers.length);
  const loras = comfyLoras(graph, primary);
  if (loras.length > 0) res.loras = loras;
  const clipSkip = [...graph.values()].find((n) => n.classType === 'CLIPSetLastLayer');
  const layer = clipSkip ? asNumber(clipSkip.inputs.stop_at_clip_layer) : undefined;
  if (layer !== undefined && layer < 0) res.extra['Clip skip'] = String(-layer);
  return res;
}
