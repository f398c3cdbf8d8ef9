// The tiny model's diffusers-named graphs (TinyModelOptions.mmdit): a small SD3 MMDiT transformer and CLIP
// text encoders whose module tree is named as diffusers/transformers name it, exported with the node names
// real exports have — so LoRA key mapping and block surgery (skip-layer guidance) are tested against the
// names they will meet:
//   /pos_embed/proj/Conv, /context_embedder/MatMul, /time_text_embed/timestep_embedder/linear_1/Gemm,
//   /transformer_blocks.{i}/norm1/linear/Gemm, /transformer_blocks.{i}/attn/to_q/MatMul (to_k, to_v,
//   to_out.0, add_q_proj, add_k_proj, add_v_proj, to_add_out), /transformer_blocks.{i}/ff/net.0/proj/MatMul,
//   /transformer_blocks.{i}/ff_context/net.2/MatMul, /norm_out/linear/Gemm, /proj_out/MatMul;
//   Medium-shaped (MMDiT-X): /transformer_blocks.{i}/attn2/to_q/MatMul … in the first blocks, norm1 9·D wide;
//   CLIP: /text_model/encoder/layers.{k}/self_attn/q_proj/MatMul (k_proj, v_proj, out_proj), mlp/fc1, mlp/fc2.
// Weights as torch.onnx writes them: fp32 — a Linear on a 3-D input is MatMul with an anonymous transposed
// initializer (`onnx::MatMul_<n>`, [in, out]) then Add with `<module>.bias`; on a 2-D input it is Gemm
// (transB = 1) with `<module>.weight` [out, in]. fp16 (io fp16) — the weight is stored float16 [out, in] as
// `<module>.weight` and reaches the MatMul through Transpose → Cast (to float32), the Gemm through Cast.
// The math follows diffusers' SD3Transformer2DModel / JointTransformerBlock / SD35AdaLayerNormZeroX at tiny
// width (hidden 32, 2 heads, patch 2; no q/k RMS norm, no positional table): enough that prompt, pooled,
// timestep and latents all shape the output, and that a LoRA on any of these layers changes it.
// Every joint block has a clean boundary: its inputs are the previous block's outputs (tinyBlockTensors),
// produced by Identity nodes, so a pass can bypass block i by rewiring its outputs to its inputs.
import { float32ToFloat16 } from '../../src-main/formats/float16';
import type { Dim, ElemType, GraphBuilder } from './onnx-builder';

export type TinyMmdit = 'large' | 'medium';

/** The tiny MMDiT's shape: hidden width, heads, blocks, and (Medium) the blocks with `attn2`. */
export const TINY_MMDIT = {
  hidden: 32,
  heads: 2,
  patch: 2,
  blocks: 4,
  /** Medium-shaped (MMDiT-X): blocks 0..dualAttentionBlocks-1 have attn2 (real Medium: 0..12 of 24). */
  dualAttentionBlocks: 2,
  /** Width inside the named CLIP layers (the interface widths stay 768 / 1280). */
  clipInner: 8,
} as const;

/** Tensor names at joint block i's boundary (inputs = the previous block's outputs, or the embeddings). */
export function tinyBlockTensors(i: number): { input: { hidden: string; context: string }; output: { hidden: string; context: string } } {
  const out = (k: number): { hidden: string; context: string } => ({
    hidden: `/transformer_blocks.${k}/output/hidden_states`,
    context: `/transformer_blocks.${k}/output/encoder_hidden_states`,
  });
  const input = i === 0 ? { hidden: '/pos_embed/output/hidden_states', context: '/context_embedder/output/encoder_hidden_states' } : out(i - 1);
  return { input, output: out(i) };
}

export interface MmditCtx {
  g: GraphBuilder;
  io: ElemType;
  /** Deterministic weights keyed by tensor name. */
  randomWeights: (key: string, count: number, std: number) => Float32Array;
}

/** torch.onnx numbers its anonymous initializers per graph. */
const anonymousCount = new WeakMap<GraphBuilder, number>();

function f16Tensor(ctx: MmditCtx, name: string, dims: number[], values: Float32Array): string {
  if (ctx.io === 'float16') return ctx.g.init(name, { type: 'float16', dims, data: float32ToFloat16(values) });
  return ctx.g.init(name, { type: 'float32', dims, data: values });
}

/** A float32 view of a stored (possibly float16) tensor, through a Cast named in the module's scope. */
function asFloat(ctx: MmditCtx, scope: string, stored: string, what: string): string {
  return ctx.io === 'float16' ? ctx.g.named(`/${scope}/Cast${what}`, 'Cast', [stored], { to: { i: 1 } }) : stored;
}

/**
 * The node scope torch.onnx gives a module path: `transformer_blocks.3.attn.to_out.0` →
 * `transformer_blocks.3/attn/to_out.0` (numeric children stay joined to their parent by a dot).
 */
export function exportScope(module: string): string {
  const parts = module.split('.');
  const out: string[] = [];
  for (const p of parts) {
    if (/^\d+$/u.test(p) && out.length > 0) out[out.length - 1] = `${out[out.length - 1]}.${p}`;
    else out.push(p);
  }
  return out.join('/');
}

/**
 * nn.Linear(inF → outF) on `x` as a real export writes it; `rank` 2 (x is [B, in]) gives Gemm, 3 gives MatMul + Add.
 * Returns the float32 output.
 */
export function linear(ctx: MmditCtx, module: string, x: string, inF: number, outF: number, rank: 2 | 3, std = 1 / Math.sqrt(inF)): string {
  const { g } = ctx;
  const scope = exportScope(module);
  const w = ctx.randomWeights(`${module}.weight`, outF * inF, std); // [out, in], torch's layout
  const b = ctx.randomWeights(`${module}.bias`, outF, 0.02);
  const bias = asFloat(ctx, scope, f16Tensor(ctx, `${module}.bias`, [outF], b), '_1');
  if (rank === 2) {
    const weight = asFloat(ctx, scope, f16Tensor(ctx, `${module}.weight`, [outF, inF], w), '');
    return g.named(`/${scope}/Gemm`, 'Gemm', [x, weight, bias], { alpha: { f: 1 }, beta: { f: 1 }, transB: { i: 1 } });
  }
  let weightIn: string;
  if (ctx.io === 'float16') {
    const stored = f16Tensor(ctx, `${module}.weight`, [outF, inF], w);
    const t = g.named(`/${scope}/Transpose`, 'Transpose', [stored], { perm: { ints: [1, 0] } });
    weightIn = asFloat(ctx, scope, t, '');
  } else {
    const wt = new Float32Array(inF * outF);
    for (let o = 0; o < outF; o++) for (let i = 0; i < inF; i++) wt[i * outF + o] = w[o * inF + i]!;
    const n = (anonymousCount.get(g) ?? 0) + 1;
    anonymousCount.set(g, n);
    weightIn = g.init(`onnx::MatMul_${9000 + n}`, { type: 'float32', dims: [inF, outF], data: wt });
  }
  const y = g.named(`/${scope}/MatMul`, 'MatMul', [x, weightIn]);
  return g.named(`/${scope}/Add`, 'Add', [bias, y]);
}

function layerNorm(ctx: MmditCtx, scope: string, x: string, width: number, affine: boolean): string {
  const { g } = ctx;
  const scale = affine ? g.f32(Array.from(ctx.randomWeights(`${scope}.weight`, width, 0.1), (v) => 1 + v)) : g.f32(new Array<number>(width).fill(1));
  const bias = affine ? g.f32(Array.from(ctx.randomWeights(`${scope}.bias`, width, 0.05))) : g.f32(new Array<number>(width).fill(0));
  return g.named(`/${exportScope(scope)}/LayerNormalization`, 'LayerNormalization', [x, scale, bias], { axis: { i: -1 }, epsilon: { f: 1e-6 } });
}

/** softmax(q·kᵀ/√d)·v over [B, S, heads·d] tensors; returns [B, S, heads·d]. */
function attention(ctx: MmditCtx, scope: string, q: string, k: string, v: string, heads: number, width: number): string {
  const { g } = ctx;
  const d = width / heads;
  const split = (t: string, what: string): string => g.named(`/${scope}/Reshape_${what}`, 'Reshape', [t, g.i64([0, -1, heads, d])]);
  const qh = g.named(`/${scope}/Transpose_q`, 'Transpose', [split(q, 'q')], { perm: { ints: [0, 2, 1, 3] } });
  const kh = g.named(`/${scope}/Transpose_k`, 'Transpose', [split(k, 'k')], { perm: { ints: [0, 2, 3, 1] } });
  const vh = g.named(`/${scope}/Transpose_v`, 'Transpose', [split(v, 'v')], { perm: { ints: [0, 2, 1, 3] } });
  const scores = g.named(`/${scope}/Mul_scale`, 'Mul', [g.named(`/${scope}/MatMul_qk`, 'MatMul', [qh, kh]), g.f32([1 / Math.sqrt(d)], [])]);
  const p = g.named(`/${scope}/Softmax`, 'Softmax', [scores], { axis: { i: -1 } });
  const o = g.named(`/${scope}/Transpose_o`, 'Transpose', [g.named(`/${scope}/MatMul_pv`, 'MatMul', [p, vh])], { perm: { ints: [0, 2, 1, 3] } });
  return g.named(`/${scope}/Reshape_o`, 'Reshape', [o, g.i64([0, -1, width])]);
}

/** Splits a modulation [B, n·D] into n tensors [B, 1, D]. */
function chunks(ctx: MmditCtx, scope: string, emb: string, n: number, width: number): string[] {
  const { g } = ctx;
  const parts = g.node('Split', [emb, g.i64(new Array<number>(n).fill(width))], { axis: { i: 1 } }, n);
  return parts.map((p, k) => g.named(`/${scope}/Unsqueeze_${k}`, 'Unsqueeze', [p, g.i64([1])]));
}

/** x·(1 + scale) + shift on [B, S, D] with [B, 1, D] modulations. */
function modulate(ctx: MmditCtx, x: string, shift: string, scale: string): string {
  const { g } = ctx;
  return g.op('Add', [g.op('Mul', [x, g.op('Add', [scale, g.f32([1], [])])]), shift]);
}

function feedForward(ctx: MmditCtx, module: string, x: string, width: number): string {
  const { g } = ctx;
  const h = linear(ctx, `${module}.net.0.proj`, x, width, 4 * width, 3);
  const act = g.named(`/${exportScope(module)}/net.0/Gelu`, 'Tanh', [h]); // tanh stands in for gelu-approximate
  return linear(ctx, `${module}.net.2`, act, 4 * width, width, 3);
}

export interface MmditIo {
  hidden: string; // [B,16,H,W] float32
  context: string; // [B,seq,4096] float32
  pooled: string; // [B,2048] float32
  timestep: string; // [B] float32 (σ·1000)
}

/** The transformer body; returns the float32 velocity [B,16,H,W]. */
export function buildMmdit(ctx: MmditCtx, io: MmditIo, shape: TinyMmdit): string {
  const { g } = ctx;
  const D = TINY_MMDIT.hidden;
  const P = TINY_MMDIT.patch;
  const heads = TINY_MMDIT.heads;

  // Patch embedding: Conv 16 → D, kernel = stride = 2; [B,D,h,w] → [B,h·w,D].
  const convW = g.init('pos_embed.proj.weight', { type: 'float32', dims: [D, 16, P, P], data: ctx.randomWeights('pos_embed.proj.weight', D * 16 * P * P, 1 / Math.sqrt(16 * P * P)) });
  const convB = g.init('pos_embed.proj.bias', { type: 'float32', dims: [D], data: ctx.randomWeights('pos_embed.proj.bias', D, 0.02) });
  const patches = g.named('/pos_embed/proj/Conv', 'Conv', [io.hidden, convW, convB], { kernel_shape: { ints: [P, P] }, strides: { ints: [P, P] } });
  const flat = g.named('/pos_embed/Reshape', 'Reshape', [patches, g.i64([0, D, -1])]);
  let x = g.named('/pos_embed/Transpose', 'Transpose', [flat], { perm: { ints: [0, 2, 1] } });
  x = g.op('Identity', [x], {}, tinyBlockTensors(0).input.hidden);

  // Conditioning: timestep projection (sinusoidal 256, flip_sin_to_cos) + pooled text projection.
  const half = 128;
  const freqs = Array.from({ length: half }, (_, i) => Math.exp((-Math.log(10000) * i) / half));
  const args = g.op('Mul', [g.op('Unsqueeze', [io.timestep, g.i64([1])]), g.f32(freqs)]);
  const tProj = g.named('/time_proj/Concat', 'Concat', [g.op('Cos', [args]), g.op('Sin', [args])], { axis: { i: 1 } });
  const tA = linear(ctx, 'time_text_embed.timestep_embedder.linear_1', tProj, 256, D, 2);
  const tEmb = linear(ctx, 'time_text_embed.timestep_embedder.linear_2', g.op('Mul', [tA, g.op('Sigmoid', [tA])]), D, D, 2);
  const pA = linear(ctx, 'time_text_embed.text_embedder.linear_1', io.pooled, 2048, D, 2, 1 / Math.sqrt(2048) * 4);
  const pEmb = linear(ctx, 'time_text_embed.text_embedder.linear_2', g.op('Mul', [pA, g.op('Sigmoid', [pA])]), D, D, 2);
  const temb = g.named('/time_text_embed/Add', 'Add', [tEmb, pEmb]);
  const tembAct = g.op('Mul', [temb, g.op('Sigmoid', [temb])]); // SiLU, shared by every AdaLN

  let c = linear(ctx, 'context_embedder', io.context, 4096, D, 3, 16 / Math.sqrt(4096));
  c = g.op('Identity', [c], {}, tinyBlockTensors(0).input.context);

  const imageTokens = g.op('Slice', [g.op('Shape', [x]), g.i64([1]), g.i64([2])]); // [1]
  for (let i = 0; i < TINY_MMDIT.blocks; i++) {
    const last = i === TINY_MMDIT.blocks - 1;
    const dual = shape === 'medium' && i < TINY_MMDIT.dualAttentionBlocks;
    const b = `transformer_blocks.${i}`;
    const n1 = dual ? 9 : 6;
    const emb = linear(ctx, `${b}.norm1.linear`, tembAct, D, n1 * D, 2, 0.5 / Math.sqrt(D));
    const [shiftMsa, scaleMsa, gateMsa, shiftMlp, scaleMlp, gateMlp, shiftMsa2, scaleMsa2, gateMsa2] = chunks(ctx, `${b}/norm1`, emb, n1, D) as string[];
    const nx = modulate(ctx, layerNorm(ctx, `${b}.norm1.norm`, x, D, false), shiftMsa!, scaleMsa!);
    // context_pre_only (the last block): AdaLayerNormContinuous (scale, shift), no context output.
    const cEmb = linear(ctx, `${b}.norm1_context.linear`, tembAct, D, (last ? 2 : 6) * D, 2, 0.5 / Math.sqrt(D));
    const cm = chunks(ctx, `${b}/norm1_context`, cEmb, last ? 2 : 6, D);
    const nc = last
      ? modulate(ctx, layerNorm(ctx, `${b}.norm1_context.norm`, c, D, false), cm[1]!, cm[0]!)
      : modulate(ctx, layerNorm(ctx, `${b}.norm1_context.norm`, c, D, false), cm[0]!, cm[1]!);

    // Joint attention (JointAttnProcessor2_0): image tokens first, then context tokens.
    const q = g.named(`/${b}/attn/Concat_q`, 'Concat', [linear(ctx, `${b}.attn.to_q`, nx, D, D, 3), linear(ctx, `${b}.attn.add_q_proj`, nc, D, D, 3)], { axis: { i: 1 } });
    const k = g.named(`/${b}/attn/Concat_k`, 'Concat', [linear(ctx, `${b}.attn.to_k`, nx, D, D, 3), linear(ctx, `${b}.attn.add_k_proj`, nc, D, D, 3)], { axis: { i: 1 } });
    const v = g.named(`/${b}/attn/Concat_v`, 'Concat', [linear(ctx, `${b}.attn.to_v`, nx, D, D, 3), linear(ctx, `${b}.attn.add_v_proj`, nc, D, D, 3)], { axis: { i: 1 } });
    const joint = attention(ctx, `${b}/attn`, q, k, v, heads, D);
    const attnImg = g.named(`/${b}/attn/Slice_img`, 'Slice', [joint, g.i64([0]), imageTokens, g.i64([1])]);
    const xAttn = linear(ctx, `${b}.attn.to_out.0`, attnImg, D, D, 3);
    x = g.op('Add', [x, g.op('Mul', [gateMsa!, xAttn])]);
    if (dual) {
      // MMDiT-X: a second, image-only self-attention on the same normed input with its own modulation.
      const nx2 = modulate(ctx, layerNorm(ctx, `${b}.norm1.norm2`, x, D, false), shiftMsa2!, scaleMsa2!);
      const a2 = attention(ctx, `${b}/attn2`, linear(ctx, `${b}.attn2.to_q`, nx2, D, D, 3), linear(ctx, `${b}.attn2.to_k`, nx2, D, D, 3), linear(ctx, `${b}.attn2.to_v`, nx2, D, D, 3), heads, D);
      x = g.op('Add', [x, g.op('Mul', [gateMsa2!, linear(ctx, `${b}.attn2.to_out.0`, a2, D, D, 3)])]);
    }
    const nx3 = modulate(ctx, layerNorm(ctx, `${b}.norm2`, x, D, false), shiftMlp!, scaleMlp!);
    x = g.op('Add', [x, g.op('Mul', [gateMlp!, feedForward(ctx, `${b}.ff`, nx3, D)])]);
    x = g.op('Identity', [x], {}, tinyBlockTensors(i).output.hidden);

    if (last) {
      // The context stream ends here; its output is the input, so the boundary still has both tensors.
      c = g.op('Identity', [c], {}, tinyBlockTensors(i).output.context);
    } else {
      const attnCtx = g.named(`/${b}/attn/Slice_context`, 'Slice', [joint, imageTokens, g.i64([2 ** 31 - 1]), g.i64([1])]);
      c = g.op('Add', [c, g.op('Mul', [cm[2]!, linear(ctx, `${b}.attn.to_add_out`, attnCtx, D, D, 3)])]);
      const nc2 = modulate(ctx, layerNorm(ctx, `${b}.norm2_context`, c, D, false), cm[3]!, cm[4]!);
      c = g.op('Add', [c, g.op('Mul', [cm[5]!, feedForward(ctx, `${b}.ff_context`, nc2, D)])]);
      c = g.op('Identity', [c], {}, tinyBlockTensors(i).output.context);
    }
  }

  // norm_out (AdaLayerNormContinuous: scale, shift) → proj_out → unpatchify [B,h·w,P·P·16] → [B,16,H,W].
  const outEmb = linear(ctx, 'norm_out.linear', tembAct, D, 2 * D, 2, 0.5 / Math.sqrt(D));
  const [scaleOut, shiftOut] = chunks(ctx, 'norm_out', outEmb, 2, D) as [string, string];
  const y = linear(ctx, 'proj_out', modulate(ctx, layerNorm(ctx, 'norm_out.norm', x, D, false), shiftOut, scaleOut), D, P * P * 16, 3, 0.5 / Math.sqrt(D));
  const hShape = g.op('Shape', [io.hidden]);
  const h = g.op('Div', [g.op('Slice', [hShape, g.i64([2]), g.i64([3])]), g.i64([P])]);
  const w = g.op('Div', [g.op('Slice', [hShape, g.i64([3]), g.i64([4])]), g.i64([P])]);
  const six = g.op('Concat', [g.i64([0]), h, w, g.i64([P, P, 16])], { axis: { i: 0 } });
  const grid = g.named('/Reshape', 'Reshape', [y, six]); // [B,h,w,p,q,c]
  const perm = g.named('/Transpose', 'Transpose', [grid], { perm: { ints: [0, 5, 1, 3, 2, 4] } }); // [B,c,h,p,w,q]
  const four = g.op('Concat', [g.i64([0, 16]), g.op('Mul', [h, g.i64([P])]), g.op('Mul', [w, g.i64([P])])], { axis: { i: 0 } });
  return g.named('/Reshape_1', 'Reshape', [perm, four]);
}

/**
 * One CLIP encoder layer (CLIPEncoderLayer) at the tiny inner width: pre-LN self-attention (q/k/v/out_proj)
 * and MLP (fc1 → quick_gelu → fc2), both residual. `state` is [B,S,inner] float32.
 */
export function clipLayer(ctx: MmditCtx, k: number, state: string, inner: number): string {
  const { g } = ctx;
  const l = `text_model.encoder.layers.${k}`;
  const h = layerNorm(ctx, `${l}.layer_norm1`, state, inner, true);
  const a = attention(ctx, exportScope(`${l}.self_attn`), linear(ctx, `${l}.self_attn.q_proj`, h, inner, inner, 3), linear(ctx, `${l}.self_attn.k_proj`, h, inner, inner, 3), linear(ctx, `${l}.self_attn.v_proj`, h, inner, inner, 3), 1, inner);
  const s1 = g.op('Add', [state, linear(ctx, `${l}.self_attn.out_proj`, a, inner, inner, 3, 0.5 / Math.sqrt(inner))]);
  const h2 = layerNorm(ctx, `${l}.layer_norm2`, s1, inner, true);
  const f1 = linear(ctx, `${l}.mlp.fc1`, h2, inner, 4 * inner, 3);
  const act = g.named(`/${exportScope(`${l}.mlp`)}/activation_fn/Mul_1`, 'Mul', [f1, g.op('Sigmoid', [g.op('Mul', [f1, g.f32([1.702], [])])])]);
  return g.op('Add', [s1, linear(ctx, `${l}.mlp.fc2`, act, 4 * inner, inner, 3, 0.5 / Math.sqrt(4 * inner))]);
}

/** The final LayerNorm of a named CLIP. */
export function clipFinalNorm(ctx: MmditCtx, state: string, inner: number): string {
  return layerNorm(ctx, 'text_model.final_layer_norm', state, inner, true);
}

export type { Dim };
