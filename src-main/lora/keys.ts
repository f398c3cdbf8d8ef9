// LoRA key styles → diffusers module paths: the one table that says which layer of which component a LoRA
// tensor belongs to. Written from the published maps:
//  - ComfyUI comfy/lora.py model_lora_keys_unet (SD3 branch): `transformer.<diffusers>` (diffusers/PEFT),
//    `base_model.model.<diffusers>`, `lora_transformer_<diffusers with _>` (OneTrainer),
//    `lycoris_<diffusers with _>` (SimpleTuner LyCORIS), and for every model key `lora_unet_<SAI with _>`
//    (kohya sd-scripts, which trains SAI's MMDiT) and `diffusion_model.<SAI>` (ComfyUI's own);
//  - ComfyUI comfy/utils.py mmdit_to_diffusers (MMDIT_MAP_BASIC, MMDIT_MAP_BLOCK): SAI ↔ diffusers names, the fused
//    `qkv` of x_block/context_block/attn2 as three row slices (to_q, to_k, to_v / add_q_proj, add_k_proj,
//    add_v_proj), and swap_scale_shift for final_layer.adaLN_modulation.1 and the last block's
//    context_block.adaLN_modulation.1 (SAI chunks shift, scale; diffusers scale, shift);
//  - diffusers loaders/lora_conversion_utils.py (the kohya SD3 conversion: lora_down shared by the three
//    slices, lora_up split by rows; alpha/rank scale) and its text-encoder key conversion (lora_te1_ / lora_te2_
//    → text_encoder / text_encoder_2, lora_te3_ → text_encoder_3: T5's encoder.block.N.layer.M.*).
// LoHa, LoKr and DoRA tensors are refused with the reason; SDXL, SD 1.5/2.x and Flux LoRAs are recognised by
// their keys and refused naming what they are for.
import { StudioError } from '../../src-shared/errors';

export type LoraComponent = 'transformer' | 'text_encoder' | 'text_encoder_2' | 'text_encoder_3';

export type KeyStyle = 'diffusers' | 'kohya' | 'comfyui' | 'onetrainer' | 'lycoris';

export interface LoraLayer {
  /** The LoRA's own name for the layer (key stem), for messages and metadata. */
  key: string;
  component: LoraComponent;
  /** diffusers module path inside the component, e.g. `transformer_blocks.7.attn.to_q`. */
  module: string;
  down: string;
  up: string;
  alpha?: string;
  /** A slice of a fused up matrix: rows [index·out/parts, (index+1)·out/parts). */
  slice?: { index: number; parts: number };
  /** Named in SAI's layout: adaLN (scale, shift) halves of `up` are swapped where diffusers differs. */
  sai: boolean;
}

export interface ParsedLora {
  styles: KeyStyle[];
  layers: LoraLayer[];
  /** Key stems that name nothing this table knows (applied with a warning listing them). */
  unknown: string[];
}

// ---------------------------------------------------------------------------------------------
// diffusers module names (SD3Transformer2DModel)

/** Modules of one joint block that take LoRAs (Linear layers). */
const BLOCK_MODULES = [
  'attn.to_q', 'attn.to_k', 'attn.to_v', 'attn.to_out.0', 'attn.add_q_proj', 'attn.add_k_proj', 'attn.add_v_proj', 'attn.to_add_out',
  'attn2.to_q', 'attn2.to_k', 'attn2.to_v', 'attn2.to_out.0',
  'ff.net.0.proj', 'ff.net.2', 'ff_context.net.0.proj', 'ff_context.net.2', 'norm1.linear', 'norm1_context.linear',
] as const;

const TOP_MODULES = [
  'context_embedder', 'time_text_embed.timestep_embedder.linear_1', 'time_text_embed.timestep_embedder.linear_2',
  'time_text_embed.text_embedder.linear_1', 'time_text_embed.text_embedder.linear_2', 'norm_out.linear', 'proj_out',
] as const;

const CLIP_LAYER_MODULES = ['self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj', 'self_attn.out_proj', 'mlp.fc1', 'mlp.fc2'] as const;
const T5_LAYER_MODULES = ['layer.0.SelfAttention.q', 'layer.0.SelfAttention.k', 'layer.0.SelfAttention.v', 'layer.0.SelfAttention.o', 'layer.1.DenseReluDense.wi_0', 'layer.1.DenseReluDense.wi_1', 'layer.1.DenseReluDense.wo'] as const;

const underscored = (m: string): string => m.replace(/\./gu, '_');
const BLOCK_BY_UNDERSCORE = new Map(BLOCK_MODULES.map((m) => [underscored(m), m]));
const TOP_BY_UNDERSCORE = new Map(TOP_MODULES.map((m) => [underscored(m), m]));

/** `transformer_blocks_3_attn_to_out_0` → `transformer_blocks.3.attn.to_out.0` (undefined when unknown). */
function transformerFromUnderscored(stem: string): string | undefined {
  const m = /^transformer_blocks_(\d+)_(.+)$/u.exec(stem);
  if (m) {
    const inner = BLOCK_BY_UNDERSCORE.get(m[2] as string);
    return inner ? `transformer_blocks.${m[1]}.${inner}` : undefined;
  }
  return TOP_BY_UNDERSCORE.get(stem);
}

function isKnownTransformerModule(module: string): boolean {
  const m = /^transformer_blocks\.(\d+)\.(.+)$/u.exec(module);
  if (m) return (BLOCK_MODULES as readonly string[]).includes(m[2] as string);
  return (TOP_MODULES as readonly string[]).includes(module);
}

// ---------------------------------------------------------------------------------------------
// SAI (MMDiT) names → diffusers (ComfyUI comfy/utils.py MMDIT_MAP_BLOCK / MMDIT_MAP_BASIC)

const SAI_BLOCK: Record<string, string | readonly [string, string, string]> = {
  'x_block.attn.qkv': ['attn.to_q', 'attn.to_k', 'attn.to_v'],
  'context_block.attn.qkv': ['attn.add_q_proj', 'attn.add_k_proj', 'attn.add_v_proj'],
  'x_block.attn2.qkv': ['attn2.to_q', 'attn2.to_k', 'attn2.to_v'],
  'x_block.attn.proj': 'attn.to_out.0',
  'x_block.attn2.proj': 'attn2.to_out.0',
  'context_block.attn.proj': 'attn.to_add_out',
  'x_block.mlp.fc1': 'ff.net.0.proj',
  'x_block.mlp.fc2': 'ff.net.2',
  'context_block.mlp.fc1': 'ff_context.net.0.proj',
  'context_block.mlp.fc2': 'ff_context.net.2',
  'x_block.adaLN_modulation.1': 'norm1.linear',
  'context_block.adaLN_modulation.1': 'norm1_context.linear',
};

const SAI_TOP: Record<string, string> = {
  context_embedder: 'context_embedder',
  't_embedder.mlp.0': 'time_text_embed.timestep_embedder.linear_1',
  't_embedder.mlp.2': 'time_text_embed.timestep_embedder.linear_2',
  'y_embedder.mlp.0': 'time_text_embed.text_embedder.linear_1',
  'y_embedder.mlp.2': 'time_text_embed.text_embedder.linear_2',
  'final_layer.linear': 'proj_out',
  'final_layer.adaLN_modulation.1': 'norm_out.linear',
};

const SAI_BLOCK_BY_UNDERSCORE = new Map(Object.keys(SAI_BLOCK).map((k) => [underscored(k), k]));
const SAI_TOP_BY_UNDERSCORE = new Map(Object.keys(SAI_TOP).map((k) => [underscored(k), k]));

type Target = { module: string; slice?: { index: number; parts: number } }[];

/** `joint_blocks.3.x_block.attn.qkv` (dotted SAI) → diffusers targets. */
function fromSai(dotted: string): Target | undefined {
  const m = /^joint_blocks\.(\d+)\.(.+)$/u.exec(dotted);
  if (m) {
    const t = SAI_BLOCK[m[2] as string];
    if (t === undefined) return undefined;
    const b = `transformer_blocks.${m[1]}`;
    if (typeof t === 'string') return [{ module: `${b}.${t}` }];
    return t.map((mod, index) => ({ module: `${b}.${mod}`, slice: { index, parts: 3 } }));
  }
  const top = SAI_TOP[dotted];
  return top ? [{ module: top }] : undefined;
}

/** `joint_blocks_3_x_block_attn_qkv` (kohya's underscored SAI) → dotted SAI. */
function saiFromUnderscored(stem: string): string | undefined {
  const m = /^joint_blocks_(\d+)_(.+)$/u.exec(stem);
  if (m) {
    const inner = SAI_BLOCK_BY_UNDERSCORE.get(m[2] as string);
    return inner ? `joint_blocks.${m[1]}.${inner}` : undefined;
  }
  return SAI_TOP_BY_UNDERSCORE.get(stem);
}

// ---------------------------------------------------------------------------------------------
// Text encoders

function clipFromUnderscored(stem: string): string | undefined {
  const m = /^text_model_encoder_layers_(\d+)_(.+)$/u.exec(stem);
  if (!m) return undefined;
  const inner = CLIP_LAYER_MODULES.find((x) => underscored(x) === m[2]);
  return inner ? `text_model.encoder.layers.${m[1]}.${inner}` : undefined;
}

function t5FromUnderscored(stem: string): string | undefined {
  const m = /^encoder_block_(\d+)_(.+)$/u.exec(stem);
  if (!m) return undefined;
  const inner = T5_LAYER_MODULES.find((x) => underscored(x) === m[2]);
  return inner ? `encoder.block.${m[1]}.${inner}` : undefined;
}

const TE_BY_KOHYA: Record<string, LoraComponent> = { te1: 'text_encoder', te2: 'text_encoder_2', te3: 'text_encoder_3', te: 'text_encoder' };

// ---------------------------------------------------------------------------------------------
// Suffixes, refusals, families

const PAIRS: { down: string; up: string }[] = [
  { down: '.lora_A.weight', up: '.lora_B.weight' },
  { down: '.lora_down.weight', up: '.lora_up.weight' },
  { down: '.lora.down.weight', up: '.lora.up.weight' },
  { down: '.lora_linear_layer.down.weight', up: '.lora_linear_layer.up.weight' },
];

const REFUSED: { pattern: RegExp; what: string }[] = [
  { pattern: /\.hada_w[12]_[ab]$/u, what: 'LoHa (LyCORIS Hadamard product)' },
  { pattern: /\.lokr_w[12](_[ab])?$/u, what: 'LoKr (LyCORIS Kronecker product)' },
  { pattern: /\.(dora_scale|lora_magnitude_vector(\.weight)?)$/u, what: 'DoRA (weight-decomposed LoRA)' },
];

/** Which other family a set of keys is for, or undefined. */
export function otherFamily(names: readonly string[], shapes: (name: string) => number[] | undefined): string | undefined {
  const joined = names.join('\n');
  if (/(^|[._])(double_blocks|single_blocks|single_transformer_blocks)[._]/mu.test(joined)) return 'Flux';
  const unet = /(^|\n)(lora_unet_|unet\.|lycoris_)?(down_blocks|up_blocks|mid_block|input_blocks|output_blocks|middle_block)[._]/u;
  if (!unet.test(joined)) return undefined;
  // SDXL has a second text encoder and 2048-wide cross-attention; SD 2.x 1024; SD 1.5 768.
  const crossK = names.find((n) => /attn2[._]to_k[._].*(lora_down|lora_A|lora\.down)/u.test(n));
  const width = crossK ? shapes(crossK)?.[1] : undefined;
  if (width === 2048 || names.some((n) => n.startsWith('lora_te2_') || n.startsWith('text_encoder_2.'))) return 'SDXL';
  if (width === 1024) return 'Stable Diffusion 2.x';
  return 'Stable Diffusion 1.5';
}

interface Resolved {
  component: LoraComponent;
  targets: Target;
  style: KeyStyle;
  sai: boolean;
}

function resolveStem(stem: string): Resolved | undefined {
  const dotted = (component: LoraComponent, rest: string, style: KeyStyle): Resolved | undefined => {
    if (component === 'transformer') return isKnownTransformerModule(rest) ? { component, targets: [{ module: rest }], style, sai: false } : undefined;
    return { component, targets: [{ module: rest }], style, sai: false };
  };
  let m: RegExpExecArray | null;
  if ((m = /^(?:transformer|base_model\.model)\.(.+)$/u.exec(stem))) return dotted('transformer', m[1] as string, 'diffusers');
  if (/^transformer_blocks\.\d+\./u.test(stem)) return dotted('transformer', stem, 'diffusers');
  if ((m = /^(text_encoder(?:_2|_3)?)\.(.+)$/u.exec(stem))) return dotted(m[1] as LoraComponent, m[2] as string, 'diffusers');
  if ((m = /^(?:model\.)?diffusion_model\.(.+)$/u.exec(stem))) {
    const targets = fromSai(m[1] as string);
    return targets ? { component: 'transformer', targets, style: 'comfyui', sai: true } : undefined;
  }
  if ((m = /^lora_unet_(.+)$/u.exec(stem))) {
    const sai = saiFromUnderscored(m[1] as string);
    const targets = sai ? fromSai(sai) : undefined;
    return targets ? { component: 'transformer', targets, style: 'kohya', sai: true } : undefined;
  }
  if ((m = /^(lora_transformer|lycoris)_(.+)$/u.exec(stem))) {
    const module = transformerFromUnderscored(m[2] as string);
    return module ? { component: 'transformer', targets: [{ module }], style: m[1] === 'lycoris' ? 'lycoris' : 'onetrainer', sai: false } : undefined;
  }
  if ((m = /^lora_(te[123]?)_(.+)$/u.exec(stem))) {
    const component = TE_BY_KOHYA[m[1] as string] as LoraComponent;
    const module = component === 'text_encoder_3' ? t5FromUnderscored(m[2] as string) : clipFromUnderscored(m[2] as string);
    return module ? { component, targets: [{ module }], style: 'kohya', sai: false } : undefined;
  }
  return undefined;
}

/**
 * Sorts a LoRA's tensor names into layers. Refuses LoHa/LoKr/DoRA and other families (StudioError
 * invalid_input naming why); keys it cannot place are returned in `unknown`.
 */
export function parseLoraKeys(names: readonly string[], shapes: (name: string) => number[] | undefined = () => undefined): ParsedLora {
  for (const r of REFUSED) {
    const hit = names.find((n) => r.pattern.test(n));
    if (hit) throw new StudioError('invalid_input', `This is a ${r.what} file (${hit}); only plain LoRA/LoCon low-rank pairs are supported`, { reason: 'unsupported-kind' });
  }
  const family = otherFamily(names, shapes);
  if (family) throw new StudioError('invalid_input', `This LoRA is for ${family}, not Stable Diffusion 3.5`, { reason: 'other-family', family });
  const set = new Set(names);
  const layers: LoraLayer[] = [];
  const unknown: string[] = [];
  const styles = new Set<KeyStyle>();
  const used = new Set<string>();
  for (const name of names) {
    const pair = PAIRS.find((p) => name.endsWith(p.down));
    if (!pair) continue;
    const stem = name.slice(0, -pair.down.length);
    const up = `${stem}${pair.up}`;
    if (!set.has(up)) {
      unknown.push(stem);
      continue;
    }
    used.add(name).add(up);
    const alpha = set.has(`${stem}.alpha`) ? `${stem}.alpha` : undefined;
    if (alpha) used.add(alpha);
    const resolved = resolveStem(stem);
    if (!resolved) {
      unknown.push(stem);
      continue;
    }
    styles.add(resolved.style);
    for (const t of resolved.targets) {
      layers.push({ key: stem, component: resolved.component, module: t.module, down: name, up, ...(alpha ? { alpha } : {}), ...(t.slice ? { slice: t.slice } : {}), sai: resolved.sai });
    }
  }
  // Tensors that belong to no pair (a lone lora_up, a bias diff, …) are named too.
  for (const name of names) {
    if (used.has(name) || PAIRS.some((p) => name.endsWith(p.down))) continue;
    const stem = name.replace(/\.(alpha|lora_B\.weight|lora_up\.weight|lora\.up\.weight|lora_linear_layer\.up\.weight|[^.]+)$/u, '');
    if (!unknown.includes(stem)) unknown.push(stem);
  }
  return { styles: [...styles], layers, unknown };
}

// ---------------------------------------------------------------------------------------------
// The base label (a label only: fit is decided against the loaded graph)

export type LoraBase = 'sd3.5-large' | 'sd3.5-medium' | 'sd3-medium' | 'sd3';

export const LORA_BASE_LABELS: Record<LoraBase, string> = {
  'sd3.5-large': 'SD3.5 Large',
  'sd3.5-medium': 'SD3.5 Medium',
  'sd3-medium': 'SD3 / SD3.5 Medium',
  sd3: 'SD3 family (size not recognised)',
};

/** Hidden 2432 (38 blocks) = Large; 1536 (24 blocks) with MMDiT-X attn2 = SD3.5 Medium, without = SD3 Medium shape. */
export function baseFromShapes(parsed: ParsedLora, shapes: (name: string) => number[] | undefined): LoraBase {
  let hidden: number | undefined;
  let attn2 = false;
  for (const l of parsed.layers) {
    if (l.component !== 'transformer') continue;
    if (/\.attn2\./u.test(l.module)) attn2 = true;
    if (hidden === undefined && /\.attn\.to_[qkv]$/u.test(l.module)) hidden = shapes(l.down)?.[1];
  }
  if (hidden === 2432) return 'sd3.5-large';
  if (hidden === 1536) return attn2 ? 'sd3.5-medium' : 'sd3-medium';
  return 'sd3';
}
