// Test LoRA files in the key styles found in the wild, written from diffusers module names with a second,
// independent copy of the naming rules (so the key table in src-main/lora/keys.ts is tested against it):
// diffusers/PEFT `transformer.<module>.lora_A.weight`, kohya `lora_unet_<SAI, underscored>.lora_down.weight`
// (fused attention qkv), ComfyUI `diffusion_model.<SAI>`, OneTrainer `lora_transformer_<module, underscored>`,
// SimpleTuner LyCORIS `lycoris_<module, underscored>`, kohya text encoders `lora_te1_`/`lora_te2_`.
import fs from 'node:fs';
import { encodeSafetensors } from '../../lora/safetensors';
import { float32ToFloat16 } from '../../formats/float16';

export type TestLoraStyle = 'diffusers' | 'kohya' | 'comfyui' | 'onetrainer' | 'lycoris';

export interface TestLayer {
  /** diffusers module path in the transformer (or `te1:`/`te2:` + CLIP module path). */
  module: string;
  rank: number;
  in: number;
  out: number;
  alpha?: number;
  seed: number;
  /** Explicit factors (A [rank, in], B [out, rank]); generated from the seed otherwise. */
  down?: Float32Array;
  up?: Float32Array;
}

export function testFactors(layer: TestLayer): { down: Float32Array; up: Float32Array } {
  return {
    down: layer.down ?? Float32Array.from({ length: layer.rank * layer.in }, (_, i) => Math.sin(i * 0.61 + layer.seed) * 0.35),
    up: layer.up ?? Float32Array.from({ length: layer.out * layer.rank }, (_, i) => Math.cos(i * 0.43 + layer.seed * 1.7) * 0.3),
  };
}

// diffusers → SAI (the reverse of ComfyUI's MMDIT_MAP_BLOCK), written here independently.
const TO_SAI: [RegExp, string][] = [
  [/^transformer_blocks\.(\d+)\.attn\.to_out\.0$/u, 'joint_blocks.$1.x_block.attn.proj'],
  [/^transformer_blocks\.(\d+)\.attn2\.to_out\.0$/u, 'joint_blocks.$1.x_block.attn2.proj'],
  [/^transformer_blocks\.(\d+)\.attn\.to_add_out$/u, 'joint_blocks.$1.context_block.attn.proj'],
  [/^transformer_blocks\.(\d+)\.ff\.net\.0\.proj$/u, 'joint_blocks.$1.x_block.mlp.fc1'],
  [/^transformer_blocks\.(\d+)\.ff\.net\.2$/u, 'joint_blocks.$1.x_block.mlp.fc2'],
  [/^transformer_blocks\.(\d+)\.ff_context\.net\.0\.proj$/u, 'joint_blocks.$1.context_block.mlp.fc1'],
  [/^transformer_blocks\.(\d+)\.ff_context\.net\.2$/u, 'joint_blocks.$1.context_block.mlp.fc2'],
  [/^transformer_blocks\.(\d+)\.norm1\.linear$/u, 'joint_blocks.$1.x_block.adaLN_modulation.1'],
  [/^transformer_blocks\.(\d+)\.norm1_context\.linear$/u, 'joint_blocks.$1.context_block.adaLN_modulation.1'],
  [/^context_embedder$/u, 'context_embedder'],
  [/^proj_out$/u, 'final_layer.linear'],
];

function toSai(module: string): string {
  for (const [re, to] of TO_SAI) if (re.test(module)) return module.replace(re, to);
  throw new Error(`test helper: no SAI name for ${module} (fused q/k/v: use fusedQkv)`);
}

function stem(style: TestLoraStyle, module: string): string {
  const te = /^te([12]):(.+)$/u.exec(module);
  if (te) {
    if (style === 'diffusers') return `${te[1] === '1' ? 'text_encoder' : 'text_encoder_2'}.${te[2]}`;
    return `lora_te${te[1]}_${(te[2] as string).replace(/\./gu, '_')}`;
  }
  switch (style) {
    case 'diffusers':
      return `transformer.${module}`;
    case 'onetrainer':
      return `lora_transformer_${module.replace(/\./gu, '_')}`;
    case 'lycoris':
      return `lycoris_${module.replace(/\./gu, '_')}`;
    case 'kohya':
      return `lora_unet_${toSai(module).replace(/\./gu, '_')}`;
    case 'comfyui':
      return `diffusion_model.${toSai(module)}`;
  }
}

type Tensors = Record<string, { dtype: 'F32' | 'F16'; shape: number[]; data: Float32Array | Uint16Array }>;

function put(tensors: Tensors, style: TestLoraStyle, s: string, down: Float32Array, up: Float32Array, rank: number, inF: number, out: number, alpha: number | undefined, dtype: 'F32' | 'F16'): void {
  const [d, u] = style === 'diffusers' ? ['lora_A.weight', 'lora_B.weight'] : ['lora_down.weight', 'lora_up.weight'];
  const data = (a: Float32Array): Float32Array | Uint16Array => (dtype === 'F16' ? float32ToFloat16(a) : a);
  tensors[`${s}.${d}`] = { dtype, shape: [rank, inF], data: data(down) };
  tensors[`${s}.${u}`] = { dtype, shape: [out, rank], data: data(up) };
  if (alpha !== undefined) tensors[`${s}.alpha`] = { dtype: 'F32', shape: [], data: Float32Array.from([alpha]) };
}

export interface FusedQkv {
  /** `x_block.attn`, `context_block.attn` or `x_block.attn2` of joint block `block`. */
  block: number;
  part: 'x_block.attn' | 'context_block.attn' | 'x_block.attn2';
  rank: number;
  in: number;
  /** One projection's width (the fused up has 3× as many rows). */
  out: number;
  alpha?: number;
  seed: number;
}

/** The diffusers modules a fused kohya qkv stands for, in row order. */
export function qkvModules(f: FusedQkv): string[] {
  const b = `transformer_blocks.${f.block}`;
  if (f.part === 'x_block.attn') return [`${b}.attn.to_q`, `${b}.attn.to_k`, `${b}.attn.to_v`];
  if (f.part === 'x_block.attn2') return [`${b}.attn2.to_q`, `${b}.attn2.to_k`, `${b}.attn2.to_v`];
  return [`${b}.attn.add_q_proj`, `${b}.attn.add_k_proj`, `${b}.attn.add_v_proj`];
}

/** The separate-key layers equal to a fused qkv: the same A for each, B's rows split in three. */
export function qkvAsSeparate(f: FusedQkv): TestLayer[] {
  const { down, up } = testFactors({ module: 'fused', rank: f.rank, in: f.in, out: 3 * f.out, seed: f.seed });
  return qkvModules(f).map((module, k) => ({ module, rank: f.rank, in: f.in, out: f.out, ...(f.alpha !== undefined ? { alpha: f.alpha } : {}), seed: f.seed, down, up: up.slice(k * f.out * f.rank, (k + 1) * f.out * f.rank) }));
}

export function writeTestLora(
  file: string,
  style: TestLoraStyle,
  layers: TestLayer[],
  options: { fused?: FusedQkv[]; metadata?: Record<string, string>; dtype?: 'F32' | 'F16'; extra?: Tensors } = {},
): void {
  const tensors: Tensors = {};
  const dtype = options.dtype ?? 'F32';
  for (const layer of layers) {
    const { down, up } = testFactors(layer);
    put(tensors, style, stem(style, layer.module), down, up, layer.rank, layer.in, layer.out, layer.alpha, dtype);
  }
  for (const f of options.fused ?? []) {
    if (style !== 'kohya' && style !== 'comfyui') throw new Error('fused qkv is written by kohya and ComfyUI styles');
    const { down, up } = testFactors({ module: 'fused', rank: f.rank, in: f.in, out: 3 * f.out, seed: f.seed });
    const sai = `joint_blocks.${f.block}.${f.part}.qkv`;
    const s = style === 'kohya' ? `lora_unet_${sai.replace(/\./gu, '_')}` : `diffusion_model.${sai}`;
    put(tensors, style, s, down, up, f.rank, f.in, 3 * f.out, f.alpha, dtype);
  }
  Object.assign(tensors, options.extra ?? {});
  fs.writeFileSync(file, encodeSafetensors(tensors, options.metadata));
}
