// Full-size SD3.5 ONNX graphs with random weights, for benchmarks only (never in CI; docs/architecture.md §9):
// `npx tsx e2e/support/real-scale-model.ts --scale medium|large --out DIR [--components a,b] [--no-t5]`.
//
// The dimensions are the published configs' (REAL_SCALE below names the file each number comes from); the folder
// is TensorStack's layout (unet/, model.onnx.data, TensorStack's tensor names: CLIP-L int32 ids → last_hidden_state,
// pooler_output; CLIP-G int64 → text_embeds, last_hidden_state, hidden_states.0..32; T5 → last_hidden_state; unet
// hidden_states, timestep, encoder_hidden_states, pooled_projections → out_sample; VAE latent_sample → sample);
// weights are fp16 and the inputs/outputs fp32 (Cast at the edges, as the Olive exports' io32 do); node names as
// diffusers' ONNX exports have them (`/transformer_blocks.7/attn/to_q/MatMul`). Every weight is written streaming
// (1 M values at a time) into model.onnx.data: the model is never in memory. Weights come from a hash of
// (tensor name, index): the same options give the same bytes. manifest.json lists every component's weight count
// and bytes and the sources of the dimensions.
//
// What is simplified (compute, not size): attention has no causal mask (CLIP) and no relative position bias
// beyond T5's bias table being present; the pooled CLIP output is the mean over the sequence (not the EOS token);
// the position embedding is the first N rows of the 2-D table (not a centre crop); GELU is the tanh form. Every
// weight of the real model is present with its real shape and is read by every run, so sizes, memory and the cost
// of a step are the real models'.
import fs from 'node:fs';
import path from 'node:path';
import { fixturePath } from './fixtures';
import { ExternalDataWriter, GraphBuilder, encodeModel, type Dim } from './onnx-builder';

export type RealScale = 'medium' | 'large';

/** The published configs (each value is what the named file says). */
export const REAL_SCALE = {
  transformer: {
    // huggingface.co/stabilityai/stable-diffusion-3.5-medium transformer/config.json (snapshot b940f670…, as mirrored by
    // Prgckwb/trpfrog-sd3.5-medium): attention_head_dim 64, num_attention_heads 24, num_layers 24,
    // dual_attention_layers [0..12], qk_norm rms_norm, caption_projection_dim 1536, pos_embed_max_size 384.
    medium: { headDim: 64, heads: 24, layers: 24, dualAttentionLayers: 13, qkNorm: true, captionProjection: 1536, posEmbedMax: 384 },
    // huggingface.co/stabilityai/stable-diffusion-3.5-large transformer/config.json ("SD3.5 Large Public Release" 4c4df3f,
    // as mirrored by frankjoshua/stable-diffusion-3.5-large): heads 38 × 64, num_layers 38, caption_projection_dim 2432,
    // pos_embed_max_size 192, qk_norm rms_norm, no dual attention.
    large: { headDim: 64, heads: 38, layers: 38, dualAttentionLayers: 0, qkNorm: true, captionProjection: 2432, posEmbedMax: 192 },
    // Both: in_channels 16, out_channels 16, patch_size 2, joint_attention_dim 4096, pooled_projection_dim 2048.
    common: { inChannels: 16, patch: 2, jointAttention: 4096, pooledProjection: 2048 },
  },
  // text_encoder/config.json (CLIPTextModelWithProjection, openai/clip-vit-large-patch14's text tower): hidden_size 768,
  // intermediate_size 3072, num_hidden_layers 12, num_attention_heads 12, max_position_embeddings 77, vocab_size 49408,
  // projection_dim 768.
  clipL: { hidden: 768, intermediate: 3072, layers: 12, heads: 12, positions: 77, vocab: 49408, projection: 768 },
  // text_encoder_2/config.json (OpenCLIP ViT-bigG-14's text tower): hidden_size 1280, intermediate_size 5120,
  // num_hidden_layers 32, num_attention_heads 20, projection_dim 1280.
  clipG: { hidden: 1280, intermediate: 5120, layers: 32, heads: 20, positions: 77, vocab: 49408, projection: 1280 },
  // text_encoder_3/config.json of stabilityai/stable-diffusion-3.5-large (T5EncoderModel, as mirrored by
  // tensorart/stable-diffusion-3.5-large-TurboX): d_model 4096, d_ff 10240, d_kv 64, num_heads 64, num_layers 24,
  // vocab_size 32128, relative_attention_num_buckets 32, gated-gelu.
  t5: { dModel: 4096, dFf: 10240, dKv: 64, heads: 64, layers: 24, vocab: 32128, buckets: 32 },
  // vae/config.json of stabilityai/stable-diffusion-3.5-large (AutoencoderKL, as mirrored by ariG23498/sd-3.5-merged):
  // block_out_channels [128, 256, 512, 512], layers_per_block 2, latent_channels 16, norm_num_groups 32,
  // out_channels 3, mid_block_add_attention true, no post_quant_conv.
  vae: { blockOut: [128, 256, 512, 512], layersPerBlock: 2, latent: 16, groups: 32, out: 3 },
} as const;

export type RealComponent = 'text_encoder' | 'text_encoder_2' | 'text_encoder_3' | 'unet' | 'vae_decoder';
export const REAL_COMPONENTS: readonly RealComponent[] = ['text_encoder', 'text_encoder_2', 'text_encoder_3', 'unet', 'vae_decoder'];

// ---------------------------------------------------------------------------------------------
// Deterministic fp16 weights, streamed

function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

function toHalf(v: number): number {
  const f = new Float32Array([v]);
  const x = new Uint32Array(f.buffer)[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = ((x >>> 23) & 0xff) - 127 + 15;
  if (exp <= 0) return sign;
  if (exp >= 31) return sign | 0x7bff;
  return sign | (exp << 10) | ((x >>> 13) & 0x3ff);
}

/** 4096 fp16 samples of a standard normal (inverse-CDF grid), scaled per tensor. */
const NORMAL_GRID = (() => {
  const out = new Float64Array(4096);
  for (let i = 0; i < out.length; i++) {
    // Box–Muller on a fixed lattice: deterministic, symmetric, unit variance to within a percent.
    const u1 = (i + 0.5) / out.length;
    const u2 = ((i * 2654435761) >>> 0) / 2 ** 32;
    out[i] = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }
  return out;
})();

interface Ctx {
  g: GraphBuilder;
  /** Weight name prefix of the component (for the deterministic values). */
  component: string;
  weights: number;
  /** Constants shared by many nodes (the affine-free LayerNorm's ones and zeros). */
  shared: Map<string, [string, string]>;
}

/** A fp16 weight with std `std`, streamed to the external-data file; returns its name. */
function weight(ctx: Ctx, name: string, dims: number[], std: number): string {
  const table = Uint16Array.from(NORMAL_GRID, (v) => toHalf(v * std));
  const seed = hash32(`${ctx.component}/${name}`);
  ctx.weights += dims.reduce((a, b) => a * b, 1);
  return ctx.g.initStreamedFloat16(name, dims, (chunk, first) => {
    for (let i = 0; i < chunk.length; i++) {
      let h = Math.imul((first + i) ^ seed, 0x9e3779b1);
      h ^= h >>> 16;
      chunk[i] = table[h & 4095]!;
    }
  });
}

/** A fp16 constant (ones, zeros): norms' weights start at one. */
function constant(ctx: Ctx, name: string, dims: number[], value: number): string {
  const bits = toHalf(value);
  ctx.weights += dims.reduce((a, b) => a * b, 1);
  return ctx.g.initStreamedFloat16(name, dims, (chunk) => chunk.fill(bits));
}

/** A weight scope as torch.onnx names its nodes: 'transformer_blocks.7.attn.to_q' → '/transformer_blocks.7/attn/to_q'. */
export function nodeName(scope: string): string {
  return `/${scope.split('.').reduce((acc, part) => (/^\d+$/.test(part) && acc.length > 0 ? `${acc}.${part}` : acc.length > 0 ? `${acc}/${part}` : part), '')}`;
}

/** x [.., in] · W [in, out] (+ b): diffusers' Linear as the exporter writes it (MatMul, then Add). */
function linear(ctx: Ctx, x: string, scope: string, inF: number, outF: number, bias = true): string {
  const w = weight(ctx, `${scope}.weight`, [inF, outF], 1 / Math.sqrt(inF));
  const node = nodeName(scope);
  let y = ctx.g.named(`${node}/MatMul`, 'MatMul', [x, w]);
  if (bias) y = ctx.g.named(`${node}/Add`, 'Add', [y, constant(ctx, `${scope}.bias`, [outF], 0)]);
  return y;
}

/** LayerNorm; without a scope it has no affine (SD3's AdaLN norms): one shared ones/zeros pair, not a weight. */
function layerNorm(ctx: Ctx, x: string, scope: string | undefined, width: number): string {
  let scale: string;
  let bias: string;
  if (scope) {
    scale = constant(ctx, `${scope}.weight`, [width], 1);
    bias = constant(ctx, `${scope}.bias`, [width], 0);
  } else {
    const key = `no_affine_${width}`;
    if (!ctx.shared.has(key)) {
      const ones = constant(ctx, `${key}.ones`, [width], 1);
      const zeros = constant(ctx, `${key}.zeros`, [width], 0);
      ctx.weights -= 2 * width;
      ctx.shared.set(key, [ones, zeros]);
    }
    [scale, bias] = ctx.shared.get(key)!;
  }
  return ctx.g.op('LayerNormalization', [x, scale, bias], { axis: { i: -1 }, epsilon: { f: 1e-6 } });
}

/** RMSNorm (T5, SD3.5's QK norm) in standard ops: x / sqrt(mean(x²) + eps) · w. */
function rmsNorm(ctx: Ctx, x: string, scope: string, width: number): string {
  const { g } = ctx;
  const ms = g.op('ReduceMean', [g.op('Mul', [x, x])], { axes: { ints: [-1] }, keepdims: { i: 1 } });
  const eps = g.init(g.fresh('eps'), { type: 'float16', dims: [], data: Uint16Array.of(toHalf(1e-6)) });
  const inv = g.op('Reciprocal', [g.op('Sqrt', [g.op('Add', [ms, eps])])]);
  return g.op('Mul', [g.op('Mul', [x, inv]), constant(ctx, `${scope}.weight`, [width], 1)]);
}

function gelu(ctx: Ctx, x: string): string {
  const { g } = ctx;
  const h = (v: number) => g.init(g.fresh('c'), { type: 'float16', dims: [], data: Uint16Array.of(toHalf(v)) });
  const inner = g.op('Mul', [g.op('Add', [x, g.op('Mul', [g.op('Mul', [g.op('Mul', [x, x]), x]), h(0.044715)])]), h(Math.sqrt(2 / Math.PI))]);
  return g.op('Mul', [g.op('Mul', [x, h(0.5)]), g.op('Add', [g.op('Tanh', [inner]), h(1)])]);
}

function silu(ctx: Ctx, x: string): string {
  return ctx.g.op('Mul', [x, ctx.g.op('Sigmoid', [x])]);
}

/** Multi-head attention over [B, S, heads·dim] tensors; returns [B, S, heads·dim]. */
function attention(ctx: Ctx, q: string, k: string, v: string, heads: number, dim: number): string {
  const { g } = ctx;
  const split = (t: string) => g.op('Transpose', [g.op('Reshape', [t, g.i64([0, 0, heads, dim])])], { perm: { ints: [0, 2, 1, 3] } });
  const scores = g.op('Mul', [g.op('MatMul', [split(q), g.op('Transpose', [split(k)], { perm: { ints: [0, 1, 3, 2] } })]), g.init(g.fresh('scale'), { type: 'float16', dims: [], data: Uint16Array.of(toHalf(1 / Math.sqrt(dim))) })]);
  const probs = g.op('Softmax', [scores], { axis: { i: -1 } });
  const out = g.op('Transpose', [g.op('MatMul', [probs, split(v)])], { perm: { ints: [0, 2, 1, 3] } });
  return g.op('Reshape', [out, g.i64([0, 0, heads * dim])]);
}

function toHalfInput(ctx: Ctx, name: string, dims: readonly Dim[]): string {
  ctx.g.input(name, 'float32', dims);
  return ctx.g.op('Cast', [name], { to: { i: 10 } });
}

function floatOutput(ctx: Ctx, name: string, dims: readonly Dim[], value: string): void {
  ctx.g.op('Cast', [value], { to: { i: 1 } }, name);
  ctx.g.output(name, 'float32', dims);
}

// ---------------------------------------------------------------------------------------------
// Components

function buildClip(ctx: Ctx, which: 'clipL' | 'clipG'): void {
  const { g } = ctx;
  const c = REAL_SCALE[which];
  const tensorstackL = which === 'clipL';
  const idsType = tensorstackL ? 'int32' : 'int64';
  const batch = tensorstackL ? 'batch' : 'batch_size';
  g.input('input_ids', idsType, [batch, 'sequence']);
  const emb = weight(ctx, 'text_model.embeddings.token_embedding.weight', [c.vocab, c.hidden], 0.02);
  let x = g.named('/text_model/embeddings/token_embedding/Gather', 'Gather', [emb, 'input_ids'], { axis: { i: 0 } });
  const pos = weight(ctx, 'text_model.embeddings.position_embedding.weight', [c.positions, c.hidden], 0.01);
  const seq = g.op('Slice', [g.op('Shape', ['input_ids']), g.i64([1]), g.i64([2])]);
  x = g.op('Add', [x, g.op('Slice', [pos, g.i64([0]), seq, g.i64([0])])]);
  const hidden: string[] = [x];
  for (let l = 0; l < c.layers; l++) {
    const p = `text_model.encoder.layers.${l}`;
    const h = layerNorm(ctx, x, `${p}.layer_norm1`, c.hidden);
    const q = linear(ctx, h, `${p}.self_attn.q_proj`, c.hidden, c.hidden);
    const k = linear(ctx, h, `${p}.self_attn.k_proj`, c.hidden, c.hidden);
    const v = linear(ctx, h, `${p}.self_attn.v_proj`, c.hidden, c.hidden);
    x = g.op('Add', [x, linear(ctx, attention(ctx, q, k, v, c.heads, c.hidden / c.heads), `${p}.self_attn.out_proj`, c.hidden, c.hidden)]);
    const m = layerNorm(ctx, x, `${p}.layer_norm2`, c.hidden);
    x = g.op('Add', [x, linear(ctx, gelu(ctx, linear(ctx, m, `${p}.mlp.fc1`, c.hidden, c.intermediate)), `${p}.mlp.fc2`, c.intermediate, c.hidden)]);
    hidden.push(x);
  }
  const last = layerNorm(ctx, x, 'text_model.final_layer_norm', c.hidden);
  const pooled = g.op('ReduceMean', [last], { axes: { ints: [1] }, keepdims: { i: 0 } });
  const dims: Dim[] = [batch, 'sequence', c.hidden];
  if (tensorstackL) {
    // TensorStack's CLIP-L: CLIPTextModel (no projection): last_hidden_state and pooler_output.
    floatOutput(ctx, 'last_hidden_state', dims, last);
    floatOutput(ctx, 'pooler_output', [batch, c.hidden], pooled);
  } else {
    floatOutput(ctx, 'text_embeds', [batch, c.projection], linear(ctx, pooled, 'text_projection', c.hidden, c.projection, false));
    floatOutput(ctx, 'last_hidden_state', dims, last);
    hidden.forEach((h, i) => floatOutput(ctx, `hidden_states.${i}`, dims, h));
  }
}

function buildT5(ctx: Ctx): void {
  const { g } = ctx;
  const c = REAL_SCALE.t5;
  g.input('input_ids', 'int64', ['batch_size', 'sequence_length']);
  let x = g.named('/encoder/embed_tokens/Gather', 'Gather', [weight(ctx, 'shared.weight', [c.vocab, c.dModel], 1), 'input_ids'], { axis: { i: 0 } });
  // The relative attention bias table of block 0 (its bucketing is not computed here; see the header).
  weight(ctx, 'encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight', [c.buckets, c.heads], 0.1);
  const inner = c.heads * c.dKv;
  for (let l = 0; l < c.layers; l++) {
    const p = `encoder.block.${l}.layer`;
    const h = rmsNorm(ctx, x, `${p}.0.layer_norm`, c.dModel);
    const q = linear(ctx, h, `${p}.0.SelfAttention.q`, c.dModel, inner, false);
    const k = linear(ctx, h, `${p}.0.SelfAttention.k`, c.dModel, inner, false);
    const v = linear(ctx, h, `${p}.0.SelfAttention.v`, c.dModel, inner, false);
    x = g.op('Add', [x, linear(ctx, attention(ctx, q, k, v, c.heads, c.dKv), `${p}.0.SelfAttention.o`, inner, c.dModel, false)]);
    const m = rmsNorm(ctx, x, `${p}.1.layer_norm`, c.dModel);
    const gate = gelu(ctx, linear(ctx, m, `${p}.1.DenseReluDense.wi_0`, c.dModel, c.dFf, false));
    const up = linear(ctx, m, `${p}.1.DenseReluDense.wi_1`, c.dModel, c.dFf, false);
    x = g.op('Add', [x, linear(ctx, g.op('Mul', [gate, up]), `${p}.1.DenseReluDense.wo`, c.dFf, c.dModel, false)]);
  }
  floatOutput(ctx, 'last_hidden_state', ['batch_size', 'sequence_length', c.dModel], rmsNorm(ctx, x, 'encoder.final_layer_norm', c.dModel));
}

/** One of SD3's AdaLN-Zero modulations: Linear(SiLU(temb)) split into `parts` chunks of `width`. */
function modulation(ctx: Ctx, temb: string, scope: string, width: number, parts: number): string[] {
  const m = linear(ctx, silu(ctx, temb), scope, width, parts * width);
  const chunks = ctx.g.node('Split', [ctx.g.op('Unsqueeze', [m, ctx.g.i64([1])]), ctx.g.i64(Array.from({ length: parts }, () => width))], { axis: { i: -1 } }, parts);
  return chunks;
}

function modulate(ctx: Ctx, x: string, width: number, shift: string, scale: string): string {
  const { g } = ctx;
  const one = g.init(g.fresh('one'), { type: 'float16', dims: [], data: Uint16Array.of(toHalf(1)) });
  return g.op('Add', [g.op('Mul', [layerNorm(ctx, x, undefined, width), g.op('Add', [scale, one])]), shift]);
}

/** A transformer's own dimensions (REAL_SCALE.transformer.medium/large; a benchmark may ask for a smaller one). */
export interface TransformerDims {
  headDim: number;
  heads: number;
  layers: number;
  dualAttentionLayers: number;
  qkNorm: boolean;
  captionProjection: number;
  posEmbedMax: number;
}

function buildTransformer(ctx: Ctx, scale: RealScale | TransformerDims): void {
  const { g } = ctx;
  const t = typeof scale === 'string' ? REAL_SCALE.transformer[scale] : scale;
  const { inChannels, patch, jointAttention, pooledProjection } = REAL_SCALE.transformer.common;
  const H = t.heads * t.headDim;
  // TensorStack's input order and names.
  const x0 = toHalfInput(ctx, 'hidden_states', ['B', inChannels, 'h', 'w']);
  g.input('timestep', 'float32', ['B']);
  const ctxIn = toHalfInput(ctx, 'encoder_hidden_states', ['B', 'seq', jointAttention]);
  const pooledIn = toHalfInput(ctx, 'pooled_projections', ['B', pooledProjection]);
  // Patchify: Conv k=s=2 → [B, H, h/2, w/2] → [B, N, H], plus the first N rows of the position table.
  const convW = weight(ctx, 'pos_embed.proj.weight', [H, inChannels, patch, patch], 1 / Math.sqrt(inChannels * patch * patch));
  const convB = constant(ctx, 'pos_embed.proj.bias', [H], 0);
  const conv = g.named('/pos_embed/proj/Conv', 'Conv', [x0, convW, convB], { kernel_shape: { ints: [patch, patch] }, strides: { ints: [patch, patch] } });
  const convShape = g.op('Shape', [conv]);
  let x = g.op('Transpose', [g.op('Reshape', [conv, g.i64([0, H, -1])])], { perm: { ints: [0, 2, 1] } });
  const table = weight(ctx, 'pos_embed.pos_embed', [t.posEmbedMax * t.posEmbedMax, H], 0.02);
  const n = g.op('Slice', [g.op('Shape', [x]), g.i64([1]), g.i64([2])]);
  x = g.op('Add', [x, g.op('Slice', [table, g.i64([0]), n, g.i64([0])])]);
  // Timestep (sinusoidal 256) and pooled text → temb [B, H].
  const freqs = g.init(g.fresh('freqs'), { type: 'float32', dims: [128], data: Float32Array.from({ length: 128 }, (_, i) => Math.exp((-Math.log(10000) * i) / 128)) });
  const arg = g.op('Mul', [g.op('Unsqueeze', ['timestep', g.i64([1])]), freqs]);
  const sinus = g.op('Cast', [g.op('Concat', [g.op('Cos', [arg]), g.op('Sin', [arg])], { axis: { i: -1 } })], { to: { i: 10 } });
  const tEmb = linear(ctx, silu(ctx, linear(ctx, sinus, 'time_text_embed.timestep_embedder.linear_1', 256, H)), 'time_text_embed.timestep_embedder.linear_2', H, H);
  const pEmb = linear(ctx, silu(ctx, linear(ctx, pooledIn, 'time_text_embed.text_embedder.linear_1', pooledProjection, H)), 'time_text_embed.text_embedder.linear_2', H, H);
  const temb = g.op('Add', [tEmb, pEmb]);
  let c = linear(ctx, ctxIn, 'context_embedder', jointAttention, t.captionProjection);
  const nTokens = g.op('Squeeze', [n, g.i64([0])]);
  for (let l = 0; l < t.layers; l++) {
    const p = `transformer_blocks.${l}`;
    const dual = l < t.dualAttentionLayers;
    const last = l === t.layers - 1;
    const mx = modulation(ctx, temb, `${p}.norm1.linear`, H, dual ? 9 : 6);
    const mc = modulation(ctx, temb, `${p}.norm1_context.linear`, H, last ? 2 : 6);
    const xn = modulate(ctx, x, H, mx[0]!, mx[1]!);
    const cn = modulate(ctx, c, H, mc[0]!, mc[1]!);
    const qk = (v: string, scope: string) => (t.qkNorm ? rmsNorm(ctx, g.op('Reshape', [v, g.i64([0, 0, t.heads, t.headDim])]), scope, t.headDim) : v);
    const flat = (v: string) => g.op('Reshape', [v, g.i64([0, 0, H])]);
    const q = flat(qk(linear(ctx, xn, `${p}.attn.to_q`, H, H), `${p}.attn.norm_q`));
    const k = flat(qk(linear(ctx, xn, `${p}.attn.to_k`, H, H), `${p}.attn.norm_k`));
    const v = linear(ctx, xn, `${p}.attn.to_v`, H, H);
    const cq = flat(qk(linear(ctx, cn, `${p}.attn.add_q_proj`, H, H), `${p}.attn.norm_added_q`));
    const ck = flat(qk(linear(ctx, cn, `${p}.attn.add_k_proj`, H, H), `${p}.attn.norm_added_k`));
    const cv = linear(ctx, cn, `${p}.attn.add_v_proj`, H, H);
    const cat = (a: string, b: string) => g.op('Concat', [a, b], { axis: { i: 1 } });
    const joint = attention(ctx, cat(q, cq), cat(k, ck), cat(v, cv), t.heads, t.headDim);
    const jx = g.op('Slice', [joint, g.i64([0]), g.op('Unsqueeze', [nTokens, g.i64([0])]), g.i64([1])]);
    x = g.op('Add', [x, g.op('Mul', [mx[2]!, linear(ctx, jx, `${p}.attn.to_out.0`, H, H)])]);
    if (dual) {
      // MMDiT-X: a second, image-only attention with its own modulation (norm1.linear's last three chunks).
      const xn2 = modulate(ctx, x, H, mx[6]!, mx[7]!);
      const q2 = flat(qk(linear(ctx, xn2, `${p}.attn2.to_q`, H, H), `${p}.attn2.norm_q`));
      const k2 = flat(qk(linear(ctx, xn2, `${p}.attn2.to_k`, H, H), `${p}.attn2.norm_k`));
      const v2 = linear(ctx, xn2, `${p}.attn2.to_v`, H, H);
      x = g.op('Add', [x, g.op('Mul', [mx[8]!, linear(ctx, attention(ctx, q2, k2, v2, t.heads, t.headDim), `${p}.attn2.to_out.0`, H, H)])]);
    }
    const ffIn = modulate(ctx, x, H, mx[3]!, mx[4]!);
    x = g.op('Add', [x, g.op('Mul', [mx[5]!, linear(ctx, gelu(ctx, linear(ctx, ffIn, `${p}.ff.net.0.proj`, H, 4 * H)), `${p}.ff.net.2`, 4 * H, H)])]);
    if (!last) {
      const jc = g.op('Slice', [joint, g.op('Unsqueeze', [nTokens, g.i64([0])]), g.i64([2 ** 31 - 1]), g.i64([1])]);
      c = g.op('Add', [c, g.op('Mul', [mc[2]!, linear(ctx, jc, `${p}.attn.to_add_out`, H, H)])]);
      const ffc = modulate(ctx, c, H, mc[3]!, mc[4]!);
      c = g.op('Add', [c, g.op('Mul', [mc[5]!, linear(ctx, gelu(ctx, linear(ctx, ffc, `${p}.ff_context.net.0.proj`, H, 4 * H)), `${p}.ff_context.net.2`, 4 * H, H)])]);
    }
  }
  const out = modulation(ctx, temb, 'norm_out.linear', H, 2);
  const y = linear(ctx, modulate(ctx, x, H, out[1]!, out[0]!), 'proj_out', H, patch * patch * inChannels);
  // Unpatchify [B, N, p·p·16] → [B, 16, h, w].
  const hw = g.op('Slice', [convShape, g.i64([2]), g.i64([4])]);
  const grid = g.op('Concat', [g.i64([0]), hw, g.i64([patch, patch, inChannels])], { axis: { i: 0 } });
  const img = g.op('Transpose', [g.op('Reshape', [y, grid])], { perm: { ints: [0, 5, 1, 3, 2, 4] } });
  const outShape = g.op('Concat', [g.i64([0, inChannels]), g.op('Mul', [hw, g.i64([patch])])], { axis: { i: 0 } });
  floatOutput(ctx, 'out_sample', ['B', inChannels, 'h', 'w'], g.op('Reshape', [img, outShape]));
}

/** GroupNorm(32) in standard ops on [B, C, H, W], with its affine. */
function groupNorm(ctx: Ctx, x: string, scope: string, channels: number): string {
  const { g } = ctx;
  const shape = g.op('Shape', [x]);
  const grouped = g.op('Reshape', [x, g.i64([0, REAL_SCALE.vae.groups, -1])]);
  const mean = g.op('ReduceMean', [grouped], { axes: { ints: [2] }, keepdims: { i: 1 } });
  const d = g.op('Sub', [grouped, mean]);
  const eps = g.init(g.fresh('eps'), { type: 'float16', dims: [], data: Uint16Array.of(toHalf(1e-5)) });
  const normed = g.op('Reshape', [g.op('Div', [d, g.op('Sqrt', [g.op('Add', [g.op('ReduceMean', [g.op('Mul', [d, d])], { axes: { ints: [2] }, keepdims: { i: 1 } }), eps])])]), shape]);
  const per = (t: string) => g.op('Reshape', [t, g.i64([channels, 1, 1])]);
  return g.op('Add', [g.op('Mul', [normed, per(constant(ctx, `${scope}.weight`, [channels], 1))]), per(constant(ctx, `${scope}.bias`, [channels], 0))]);
}

function conv(ctx: Ctx, x: string, scope: string, inC: number, outC: number, k: number): string {
  const w = weight(ctx, `${scope}.weight`, [outC, inC, k, k], 1 / Math.sqrt(inC * k * k));
  const b = constant(ctx, `${scope}.bias`, [outC], 0);
  const pad = (k - 1) / 2;
  return ctx.g.named(`${nodeName(scope)}/Conv`, 'Conv', [x, w, b], { kernel_shape: { ints: [k, k] }, pads: { ints: [pad, pad, pad, pad] } });
}

function resnet(ctx: Ctx, x: string, scope: string, inC: number, outC: number): string {
  let h = conv(ctx, silu(ctx, groupNorm(ctx, x, `${scope}.norm1`, inC)), `${scope}.conv1`, inC, outC, 3);
  h = conv(ctx, silu(ctx, groupNorm(ctx, h, `${scope}.norm2`, outC)), `${scope}.conv2`, outC, outC, 3);
  const skip = inC === outC ? x : conv(ctx, x, `${scope}.conv_shortcut`, inC, outC, 1);
  return ctx.g.op('Add', [skip, h]);
}

function buildVaeDecoder(ctx: Ctx): void {
  const { g } = ctx;
  const v = REAL_SCALE.vae;
  const top = v.blockOut[v.blockOut.length - 1]!;
  let x = conv(ctx, toHalfInput(ctx, 'latent_sample', ['batch', v.latent, 'height', 'width']), 'decoder.conv_in', v.latent, top, 3);
  x = resnet(ctx, x, 'decoder.mid_block.resnets.0', top, top);
  // Mid-block attention over the H·W positions (one head of 512).
  const shape = g.op('Shape', [x]);
  const seq = g.op('Transpose', [g.op('Reshape', [groupNorm(ctx, x, 'decoder.mid_block.attentions.0.group_norm', top), g.i64([0, top, -1])])], { perm: { ints: [0, 2, 1] } });
  const a = 'decoder.mid_block.attentions.0';
  const att = attention(ctx, linear(ctx, seq, `${a}.to_q`, top, top), linear(ctx, seq, `${a}.to_k`, top, top), linear(ctx, seq, `${a}.to_v`, top, top), 1, top);
  const back = g.op('Reshape', [g.op('Transpose', [linear(ctx, att, `${a}.to_out.0`, top, top)], { perm: { ints: [0, 2, 1] } }), shape]);
  x = resnet(ctx, g.op('Add', [x, back]), 'decoder.mid_block.resnets.1', top, top);
  const reversed = [...v.blockOut].reverse();
  let ch = top;
  reversed.forEach((outC, i) => {
    for (let r = 0; r <= v.layersPerBlock; r++) {
      x = resnet(ctx, x, `decoder.up_blocks.${i}.resnets.${r}`, ch, outC);
      ch = outC;
    }
    if (i < reversed.length - 1) {
      const up = g.op('Resize', [x, '', g.f32([1, 1, 2, 2])], { mode: { s: 'nearest' } });
      x = conv(ctx, up, `decoder.up_blocks.${i}.upsamplers.0.conv`, ch, ch, 3);
    }
  });
  const y = conv(ctx, silu(ctx, groupNorm(ctx, x, 'decoder.conv_norm_out', ch)), 'decoder.conv_out', ch, v.out, 3);
  floatOutput(ctx, 'sample', ['batch', v.out, 'height_x8', 'width_x8'], y);
}

// ---------------------------------------------------------------------------------------------
// Writing

export interface ComponentManifest {
  component: RealComponent;
  weights: number;
  dataBytes: number;
  graphBytes: number;
}

export interface RealScaleManifest {
  scale: RealScale;
  layout: 'tensorstack';
  precision: 'fp16 weights, fp32 inputs/outputs';
  components: ComponentManifest[];
  sources: string;
}

/** Writes one component (graph + streamed external data); returns its manifest line. */
export function writeRealComponent(outDir: string, scale: RealScale, component: RealComponent, transformerDims?: TransformerDims): ComponentManifest {
  const dir = path.join(outDir, component);
  fs.mkdirSync(dir, { recursive: true });
  const writer = new ExternalDataWriter(path.join(dir, 'model.onnx.data'), 'model.onnx.data');
  let ctx: Ctx;
  try {
    ctx = { g: new GraphBuilder(`${component}_graph`, writer, 4096), component, weights: 0, shared: new Map() };
    if (component === 'text_encoder') buildClip(ctx, 'clipL');
    else if (component === 'text_encoder_2') buildClip(ctx, 'clipG');
    else if (component === 'text_encoder_3') buildT5(ctx);
    else if (component === 'unet') buildTransformer(ctx, transformerDims ?? scale);
    else buildVaeDecoder(ctx);
  } finally {
    writer.close();
  }
  const bytes = encodeModel(ctx.g, { docString: `real-scale ${scale} ${component}, random weights (sd35-studio benchmark)` });
  fs.writeFileSync(path.join(dir, 'model.onnx'), bytes);
  return { component, weights: ctx.weights, dataBytes: fs.statSync(path.join(dir, 'model.onnx.data')).size, graphBytes: bytes.byteLength };
}

/** The weights a component has at this scale, from the configs alone (no graph built). */
export function expectedWeights(scale: RealScale, component: RealComponent): number {
  const lin = (i: number, o: number, bias = true) => i * o + (bias ? o : 0);
  if (component === 'text_encoder' || component === 'text_encoder_2') {
    const c = component === 'text_encoder' ? REAL_SCALE.clipL : REAL_SCALE.clipG;
    const layer = 4 * lin(c.hidden, c.hidden) + lin(c.hidden, c.intermediate) + lin(c.intermediate, c.hidden) + 4 * c.hidden;
    return c.vocab * c.hidden + c.positions * c.hidden + c.layers * layer + 2 * c.hidden + (component === 'text_encoder_2' ? c.hidden * c.projection : 0);
  }
  if (component === 'text_encoder_3') {
    const c = REAL_SCALE.t5;
    const inner = c.heads * c.dKv;
    return c.vocab * c.dModel + c.buckets * c.heads + c.layers * (4 * c.dModel * inner + 3 * c.dModel * c.dFf + 2 * c.dModel) + c.dModel;
  }
  if (component === 'unet') {
    const t = REAL_SCALE.transformer[scale];
    const { inChannels: ci, patch, jointAttention, pooledProjection } = REAL_SCALE.transformer.common;
    const H = t.heads * t.headDim;
    let n = H * ci * patch * patch + H + t.posEmbedMax ** 2 * H + lin(256, H) + lin(H, H) + lin(pooledProjection, H) + lin(H, H) + lin(jointAttention, H);
    for (let l = 0; l < t.layers; l++) {
      const dual = l < t.dualAttentionLayers;
      const last = l === t.layers - 1;
      n += lin(H, (dual ? 9 : 6) * H) + lin(H, (last ? 2 : 6) * H);
      n += 7 * lin(H, H) + 4 * t.headDim; // to_q/k/v, add_q/k/v, to_out; the four QK norms
      n += lin(H, 4 * H) + lin(4 * H, H);
      if (dual) n += 4 * lin(H, H) + 2 * t.headDim;
      if (!last) n += lin(H, H) + lin(H, 4 * H) + lin(4 * H, H);
    }
    return n + lin(H, 2 * H) + lin(H, patch * patch * ci);
  }
  return -1; // the VAE decoder: counted from the built graph (tested against diffusers' 49.5 M)
}

/** The real SD3.5 tokenizers from the shared fixtures (tokenizers/), so the folder is a complete model. */
export function writeTokenizers(outDir: string): boolean {
  const source = fixturePath('tokenizers');
  if (!source) return false;
  for (const t of ['tokenizer', 'tokenizer_2', 'tokenizer_3']) {
    const from = path.join(source, t);
    if (fs.existsSync(from)) fs.cpSync(from, path.join(outDir, t), { recursive: true });
  }
  return true;
}

export async function writeRealScaleModel(outDir: string, scale: RealScale, components: readonly RealComponent[] = REAL_COMPONENTS): Promise<RealScaleManifest> {
  fs.mkdirSync(outDir, { recursive: true });
  fs.mkdirSync(path.join(outDir, 'scheduler'), { recursive: true });
  fs.writeFileSync(path.join(outDir, 'scheduler', 'scheduler_config.json'), JSON.stringify({ _class_name: 'FlowMatchEulerDiscreteScheduler', num_train_timesteps: 1000, shift: 3.0 }, null, 2));
  writeTokenizers(outDir);
  const manifest: RealScaleManifest = {
    scale,
    layout: 'tensorstack',
    precision: 'fp16 weights, fp32 inputs/outputs',
    components: [],
    sources: 'e2e/support/real-scale-model.ts REAL_SCALE (stabilityai/stable-diffusion-3.5-{medium,large} configs)',
  };
  for (const c of components) {
    manifest.components.push(writeRealComponent(outDir, scale, c));
    fs.writeFileSync(path.join(outDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  }
  return manifest;
}

// Run as a script.
if (process.argv[1] !== undefined && /real-scale-model\.[cm]?[jt]s$/.test(process.argv[1])) {
  const argv = process.argv.slice(2);
  const value = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const scale = value('--scale');
  const out = value('--out');
  if ((scale !== 'medium' && scale !== 'large') || !out) {
    process.stderr.write('usage: real-scale-model --scale medium|large --out DIR [--components text_encoder,text_encoder_2,text_encoder_3,unet,vae_decoder]\n');
    process.exit(2);
  }
  const list = (value('--components')?.split(',') ?? [...REAL_COMPONENTS]) as RealComponent[];
  const started = Date.now();
  writeRealScaleModel(path.resolve(out), scale, list).then(
    (m) => process.stderr.write(`${JSON.stringify(m.components)}\nwritten to ${out} in ${Math.round((Date.now() - started) / 1000)} s\n`),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    },
  );
}
