// Writes tiny but real SD3.5 ONNX model folders for tests and benchmarks (docs/architecture.md).
//
// The folders look like the real exports (optimum or TensorStack layout): the same folder names,
// external-data file names, tensor names, element types and interface dims as
// ../shared/fixtures/model-io.json lists (CLIP-L 768, CLIP-G 1280, T5 4096, pooled 2048, 16 latent
// channels, VAE ×8). The weights are tiny by construction: token ids are hashed (mod a prime) into a
// small embedding table, the layers work at rank 8, and wide outputs come from [8, D] projections.
// Weights come from a seeded PRNG keyed by component and tensor name: the same options give the
// same bytes.
//
// Transformer (default): v = Conv3x3(x)·(1 + cond) + cond, where cond[B,16] = 0.5·sin(8·(mean_seq(context)·Wc +
// pooled·Wp + sin(t/1000·freq) + bias)) — it depends on the latents, the timestep, the text context
// and the pooled projection, so seed, steps, prompt and negative prompt all change the image.
//
// Transformer (analytic): v = a·x + b·c, element-wise on x = hidden_states, with the per-item scalar
//   c = timestep/1000 + mean(encoder_hidden_states[i]) + mean(pooled_projections[i])
// and a, b = TINY_ANALYTIC. The VAE then is analytic too: sample[:, k] = latent_sample[:, k] (k = 0..2)
// upsampled ×8 by nearest neighbour, so a test can check the whole loop (noise → Euler → decode) in
// closed form.
//
// size small (no effect with analytic): the transformer also runs [B,seq,4096]×[4096,1152]→tanh→×[1152,4096]→
// tanh→×[4096,1152] over the context, so one step costs ≥ 50 ms here even at batch 1 with two threads (measured
// on this 2-core machine: ~95 ms at batch 1, ~190 ms at batch 2 with one thread). t5Bytes: T5 gets a real-sized
// [rows, 4096] float32 embedding table (≥ t5Bytes, streamed to disk in 1 MB chunks) and every run reads all
// of it through a GEMV, as a real T5 reads all its weights; ONNX Runtime keeps about 2 × t5Bytes resident
// while that session lives (the MatMul weight is prepacked). transformerBytes: the same [rows, 4096] table in the
// transformer, read whole by a GEMV every step and added ×0, so its outputs equal the light model's (--heavy MB
// sets both, for the memory benchmark scripts/bench/worker-memory.bench.ts).
// Tokenizers: copied from the shared fixtures (tokenizers/), or, when those are absent or
// generatedTokenizers is set, a tiny generated CLIP BPE vocabulary (specials at 49406/49407, "!" = 0) and
// a tiny T5 Unigram tokenizer.json (</s> = 1, <pad> = 0, <unk> = 2).
//
// CLI: npx tsx e2e/support/tiny-model.ts --out DIR [--layout optimum|tensorstack] [--io fp32|fp16]
//      [--size micro|small] [--analytic] [--no-t5] [--t5-bytes N] [--transformer-bytes N] [--heavy MB]
//      [--generated-tokenizers] (--help lists them)
import fs from 'node:fs';
import path from 'node:path';
import { fixturePath } from './fixtures';
import { ExternalDataWriter, GraphBuilder, encodeModel, type Dim, type ElemType } from './onnx-builder';
import { buildMmdit, clipFinalNorm, clipLayer, type MmditCtx, type TinyMmdit } from './tiny-mmdit';

export type TinyLayout = 'optimum' | 'tensorstack';

export interface TinyModelOptions {
  layout: TinyLayout;
  /** Element type of the float inputs/outputs (weights are float32 inside; Cast nodes at the edges). */
  io: 'fp32' | 'fp16';
  /** micro: milliseconds per step; small: one transformer step costs ≥ 50 ms here (benchmarks). */
  size: 'micro' | 'small';
  analytic?: boolean;
  /** Write text_encoder_3 (T5). Default true; false mimics a download without T5. */
  t5?: boolean;
  /** Make T5's external data weigh at least this many bytes (streamed to disk), for memory tests. */
  t5Bytes?: number;
  /** Make the transformer's external data weigh at least this many bytes (streamed; not with analytic). */
  transformerBytes?: number;
  /** Write generated tiny tokenizers even when the shared fixtures are present. */
  generatedTokenizers?: boolean;
  /**
   * olive: the fusions ONNX Runtime's transformer optimizer makes for DirectML (as in the TensorStack
   * exports) — a channels-last com.microsoft.GroupNorm between Transposes in the VAE decoder, an NhwcConv
   * for the transformer's convolution, BiasSplitGelu in a feed-forward and BiasAdd in its residual.
   * olive-twin: the same functions from standard ONNX ops (the standard twin). No effect with analytic.
   */
  flavor?: TinyFlavor;
  /**
   * Diffusers-named graphs (e2e/support/tiny-mmdit.ts): an MMDiT transformer with joint blocks and CLIP
   * encoders with named layers, as real exports name their nodes; 'medium' adds MMDiT-X `attn2` in the
   * first blocks. Not with analytic, flavor or transformerBytes. Unset: today's graphs, unchanged.
   */
  mmdit?: TinyMmdit;
  /**
   * Write vae_encoder/ (image to image). optimum: `latent_parameters` [B,32,h,w] = mean ‖ log-variance, as optimum's
   * VaeEncoderOnnxConfig exports it; TensorStack: `latent_sample`, drawn inside the graph (mean + exp(logvar/2)·
   * RandomNormalLike), as that converter exports it. Default false (the folders older downloads have).
   */
  vaeEncoder?: boolean;
}

export type TinyFlavor = 'olive' | 'olive-twin';

/** The analytic transformer: v = a·x + b·c (see the header comment). */
export const TINY_ANALYTIC = { a: 0.5, b: 2 } as const;

export const LAYOUT_FILES: Record<TinyLayout, { transformerDir: string; externalData: string }> = {
  optimum: { transformerDir: 'transformer', externalData: 'model.onnx_data' },
  tensorstack: { transformerDir: 'unet', externalData: 'model.onnx.data' },
};

const RANK = 8;
const HASH_VOCAB = 1021; // prime: token ids are hashed into this many embedding rows
const CLIP_MAX_POSITIONS = 77;

// ---------------------------------------------------------------------------------------------
// Deterministic weights

function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** mulberry32 → standard normal (Box–Muller), seeded per tensor. */
class Prng {
  private state: number;
  private spare: number | undefined;

  constructor(key: string) {
    this.state = hashString(key);
  }

  uniform(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  normal(): number {
    if (this.spare !== undefined) {
      const s = this.spare;
      this.spare = undefined;
      return s;
    }
    const u1 = 1 - this.uniform();
    const u2 = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u1));
    this.spare = r * Math.sin(2 * Math.PI * u2);
    return r * Math.cos(2 * Math.PI * u2);
  }
}

function randomWeights(key: string, count: number, std: number): Float32Array {
  const rng = new Prng(key);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = rng.normal() * std;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Graph helpers

interface Ctx {
  g: GraphBuilder;
  component: string;
  io: ElemType; // float32 or float16
  flavor?: TinyFlavor;
  mmdit?: TinyMmdit;
}

function mmditCtx(ctx: Ctx): MmditCtx {
  return { g: ctx.g, io: ctx.io, randomWeights: (key, count, std) => randomWeights(`${ctx.component}/${key}`, count, std) };
}

function weight(ctx: Ctx, name: string, dims: number[], std: number): string {
  const count = dims.reduce((a, b) => a * b, 1);
  return ctx.g.init(name, { type: 'float32', dims, data: randomWeights(`${ctx.component}/${name}`, count, std) });
}

/** A float graph input of the I/O type; returns the float32 tensor to compute with. */
function floatInput(ctx: Ctx, name: string, dims: readonly Dim[]): string {
  ctx.g.input(name, ctx.io, dims);
  return ctx.io === 'float32' ? name : ctx.g.op('Cast', [name], { to: { i: 1 } });
}

/** Exposes a float32 tensor as a graph output of the I/O type. */
function floatOutput(ctx: Ctx, name: string, dims: readonly Dim[], value: string): void {
  if (ctx.io === 'float32') ctx.g.op('Identity', [value], {}, name);
  else ctx.g.op('Cast', [value], { to: { i: 10 } }, name);
  ctx.g.output(name, ctx.io, dims);
}

function idsInput(ctx: Ctx, type: 'int32' | 'int64', dims: readonly Dim[], modulo: number): string {
  ctx.g.input('input_ids', type, dims);
  const m = type === 'int64' ? ctx.g.i64([modulo], []) : ctx.g.i32([modulo], []);
  return ctx.g.op('Mod', ['input_ids', m], { fmod: { i: 0 } });
}

// ---------------------------------------------------------------------------------------------
// Components

interface ClipSpec {
  idsType: 'int32' | 'int64';
  batchDim: string;
  seqDim: string;
  width: number; // hidden size (768 / 1280)
  layers: number; // 12 / 32
  hiddenStates: boolean; // hidden_states.0..N outputs
  pooled: 'text_embeds' | 'pooler_output';
}

function buildClip(ctx: Ctx, spec: ClipSpec): void {
  const { g } = ctx;
  const ids = idsInput(ctx, spec.idsType, [spec.batchDim, spec.seqDim], HASH_VOCAB);
  const emb = weight(ctx, 'embeddings.token', [HASH_VOCAB, RANK], 1);
  const tok = g.op('Gather', [emb, ids], { axis: { i: 0 } });
  // Position embeddings for the first S positions (S ≤ 77), as CLIP has.
  const shape = g.op('Shape', ['input_ids']);
  const seqLen = g.op('Slice', [shape, g.i64([1]), g.i64([2])]);
  const posAll = weight(ctx, 'embeddings.position', [CLIP_MAX_POSITIONS, RANK], 0.3);
  const pos = g.op('Slice', [posAll, g.i64([0]), seqLen, g.i64([0])]);
  let state = g.op('Add', [tok, pos]);
  const up = weight(ctx, 'hidden.up', [RANK, spec.width], 1 / Math.sqrt(RANK));
  const hiddenDims: Dim[] = [spec.batchDim, spec.seqDim, spec.width];
  const hidden: string[] = [g.op('MatMul', [state, up])];
  for (let k = 1; k <= spec.layers && ctx.mmdit !== undefined; k++) {
    state = clipLayer(mmditCtx(ctx), k - 1, state, RANK);
    hidden.push(g.op('MatMul', [state, up]));
  }
  for (let k = 1; k <= spec.layers && ctx.mmdit === undefined; k++) {
    const a = weight(ctx, `layers.${k}.weight`, [RANK, RANK], 1 / Math.sqrt(RANK));
    const b = weight(ctx, `layers.${k}.bias`, [RANK], 0.1);
    state = g.op('Tanh', [g.op('Add', [g.op('MatMul', [state, a]), b])]);
    hidden.push(g.op('MatMul', [state, up]));
  }
  const finalNorm = ctx.mmdit !== undefined ? clipFinalNorm(mmditCtx(ctx), state, RANK) : g.op('Tanh', [g.op('Mul', [state, g.f32([2], [])])]);
  const last = g.op('MatMul', [finalNorm, up]);
  const mean = g.op('ReduceMean', [state], { axes: { ints: [1] }, keepdims: { i: 0 } });
  const proj = weight(ctx, 'pooled.projection', [RANK, spec.width], 1 / Math.sqrt(RANK));
  const pooled = g.op('MatMul', [mean, proj]);
  if (spec.pooled === 'text_embeds') floatOutput(ctx, 'text_embeds', [spec.batchDim, spec.width], pooled);
  floatOutput(ctx, 'last_hidden_state', hiddenDims, last);
  if (spec.pooled === 'pooler_output') floatOutput(ctx, 'pooler_output', [spec.batchDim, spec.width], pooled);
  if (spec.hiddenStates) {
    hidden.forEach((h, k) => floatOutput(ctx, `hidden_states.${k}`, hiddenDims, h));
  }
}

function buildT5(ctx: Ctx, t5Bytes: number | undefined): void {
  const { g } = ctx;
  const dims: Dim[] = ['batch_size', 'sequence_length'];
  if (t5Bytes !== undefined && t5Bytes > 0) {
    // A real-sized embedding table [rows, 4096], streamed to disk; every row is reachable.
    const rows = Math.max(1, Math.ceil(t5Bytes / (4096 * 4)));
    const ids = idsInput(ctx, 'int64', dims, rows);
    const rng = new Prng(`${ctx.component}/shared.weight`);
    // Uniform values (std 0.1): cheaper than normals for hundreds of MB.
    const table = g.initStreamed('shared.weight', [rows, 4096], (chunk) => {
      for (let i = 0; i < chunk.length; i++) chunk[i] = (rng.uniform() - 0.5) * 0.3464;
    });
    const tok = g.op('Gather', [table, ids], { axis: { i: 0 } });
    // Every run reads the whole table, as a real T5's MatMuls read all its weights: the mean row,
    // as a GEMV [1, rows] × [rows, 4096] whose weights come from the input, so it cannot be folded
    // into a constant when the session is created.
    const idsMean = g.op('ReduceMean', [g.op('Cast', ['input_ids'], { to: { i: 1 } })], { keepdims: { i: 0 } });
    const w = g.op('Add', [g.op('Mul', [idsMean, g.f32([0], [])]), g.f32([1 / rows], [])]);
    const weights = g.op('Expand', [w, g.i64([1, rows])]);
    const meanRow = g.op('MatMul', [weights, table]); // [1, 4096]
    const out = g.op('Add', [tok, g.op('Mul', [meanRow, g.f32([0.001], [])])]);
    floatOutput(ctx, 'last_hidden_state', [...dims, 4096], out);
    return;
  }
  const ids = idsInput(ctx, 'int64', dims, HASH_VOCAB);
  const emb = weight(ctx, 'shared.weight', [HASH_VOCAB, RANK], 1);
  const tok = g.op('Gather', [emb, ids], { axis: { i: 0 } });
  const a = weight(ctx, 'block.weight', [RANK, RANK], 1 / Math.sqrt(RANK));
  const h = g.op('Tanh', [g.op('MatMul', [tok, a])]);
  const up = weight(ctx, 'final.up', [RANK, 4096], 0.1 / Math.sqrt(RANK));
  floatOutput(ctx, 'last_hidden_state', [...dims, 4096], g.op('MatMul', [h, up]));
}

interface TransformerNames {
  batch: string;
  height: string;
  width: string;
  seq: string;
  timestepDim: string;
  output: string;
  inputOrder: ('hidden_states' | 'encoder_hidden_states' | 'pooled_projections' | 'timestep')[];
}

function buildTransformer(ctx: Ctx, names: TransformerNames, size: 'micro' | 'small', analytic: boolean, heavyBytes?: number): void {
  const { g } = ctx;
  const inputs: Record<string, string> = {};
  const inputDims: Record<string, Dim[]> = {
    hidden_states: [names.batch, 16, names.height, names.width],
    encoder_hidden_states: [names.batch, names.seq, 4096],
    pooled_projections: [names.batch, 2048],
    timestep: [names.timestepDim],
  };
  for (const name of names.inputOrder) inputs[name] = floatInput(ctx, name, inputDims[name] as Dim[]);
  const x = inputs.hidden_states as string;
  const ctxIn = inputs.encoder_hidden_states as string;
  const pooledIn = inputs.pooled_projections as string;
  const t = g.op('Div', [inputs.timestep as string, g.f32([1000], [])]); // [B]
  const outDims: Dim[] = [names.batch, 16, names.height, names.width];

  if (ctx.mmdit !== undefined) {
    const v = buildMmdit(mmditCtx(ctx), { hidden: x, context: ctxIn, pooled: pooledIn, timestep: inputs.timestep as string }, ctx.mmdit);
    floatOutput(ctx, names.output, outDims, v);
    return;
  }
  if (analytic) {
    const m1 = g.op('ReduceMean', [ctxIn], { axes: { ints: [1, 2] }, keepdims: { i: 0 } }); // [B]
    const m2 = g.op('ReduceMean', [pooledIn], { axes: { ints: [1] }, keepdims: { i: 0 } }); // [B]
    const c = g.op('Add', [g.op('Add', [t, m1]), m2]);
    const c4 = g.op('Unsqueeze', [c, g.i64([1, 2, 3])]); // [B,1,1,1]
    const v = g.op('Add', [
      g.op('Mul', [x, g.f32([TINY_ANALYTIC.a], [])]),
      g.op('Mul', [c4, g.f32([TINY_ANALYTIC.b], [])]),
    ]);
    floatOutput(ctx, names.output, outDims, v);
    return;
  }

  const ctxMean = g.op('ReduceMean', [ctxIn], { axes: { ints: [1] }, keepdims: { i: 0 } }); // [B,4096]
  const c1 = g.op('MatMul', [ctxMean, weight(ctx, 'context_embedder.weight', [4096, 16], 16 / Math.sqrt(4096))]);
  const p1 = g.op('MatMul', [pooledIn, weight(ctx, 'time_text_embed.text.weight', [2048, 16], 1 / Math.sqrt(2048))]);
  const t2 = g.op('Unsqueeze', [t, g.i64([1])]); // [B,1]
  const freq = g.f32(Array.from({ length: 16 }, (_, i) => 1 + i * 0.75));
  const tEmb = g.op('Sin', [g.op('Mul', [t2, freq])]); // [B,16]
  let pre = g.op('Add', [g.op('Add', [c1, p1]), tEmb]);
  pre = g.op('Add', [pre, weight(ctx, 'time_text_embed.bias', [16], 0.1)]);
  if (size === 'small') {
    // A few heavier MatMuls over the context, so one step costs ≥ 50 ms on a small CPU (see the header).
    const k = 1152;
    const h1 = g.op('Tanh', [g.op('MatMul', [ctxIn, weight(ctx, 'heavy.1.weight', [4096, k], 1 / Math.sqrt(4096))])]);
    const h2 = g.op('Tanh', [g.op('MatMul', [h1, weight(ctx, 'heavy.2.weight', [k, 4096], 1 / Math.sqrt(k))])]);
    const h3 = g.op('MatMul', [h2, weight(ctx, 'heavy.3.weight', [4096, k], 1 / Math.sqrt(4096))]);
    const hm = g.op('ReduceMean', [h3], { axes: { ints: [1] }, keepdims: { i: 0 } }); // [B,k]
    pre = g.op('Add', [pre, g.op('MatMul', [hm, weight(ctx, 'heavy.out.weight', [k, 16], 1 / Math.sqrt(k))])]);
  }
  if (heavyBytes !== undefined && heavyBytes > 0) {
    // A real-sized weight table [rows, 4096] (≥ heavyBytes, streamed to disk) that every step reads whole,
    // as a real transformer reads all its weights: a GEMV whose weights come from the timestep (so it is
    // not folded away), added ×0 so the outputs stay those of the light model.
    const rows = Math.max(1, Math.ceil(heavyBytes / (4096 * 4)));
    const rng = new Prng(`${ctx.component}/heavy.table`);
    const table = g.initStreamed('heavy.table', [rows, 4096], (chunk) => {
      for (let i = 0; i < chunk.length; i++) chunk[i] = (rng.uniform() - 0.5) * 0.3464;
    });
    const tMean = g.op('ReduceMean', [t], { keepdims: { i: 0 } });
    const w = g.op('Add', [g.op('Mul', [tMean, g.f32([0], [])]), g.f32([1 / rows], [])]);
    const meanRow = g.op('MatMul', [g.op('Expand', [w, g.i64([1, rows])]), table]); // [1, 4096]
    const s = g.op('ReduceMean', [meanRow], { keepdims: { i: 0 } });
    pre = g.op('Add', [pre, g.op('Mul', [s, g.f32([0], [])])]);
  }
  // cond = 0.5·sin(8·pre): bounded, and sensitive to the small differences a few prompt tokens make in
  // a mean over 333 context positions (tanh would saturate instead).
  const wave = g.op('Mul', [g.op('Sin', [g.op('Mul', [pre, g.f32([8], [])])]), g.f32([0.5], [])]);
  const cond = g.op('Unsqueeze', [wave, g.i64([2, 3])]); // [B,16,1,1]
  if (ctx.flavor) pre = oliveFeedForward(ctx, pre);
  const conv = ctx.flavor
    ? oliveConv(ctx, x)
    : g.op('Conv', [x, weight(ctx, 'proj.weight', [16, 16, 3, 3], 0.5 / 12), weight(ctx, 'proj.bias', [16], 0.05)], {
        pads: { ints: [1, 1, 1, 1] },
        kernel_shape: { ints: [3, 3] },
      });
  const one = g.f32([1], []);
  const v = g.op('Add', [g.op('Mul', [conv, g.op('Add', [cond, one])]), cond]);
  floatOutput(ctx, names.output, outDims, v);
}

function buildVaeDecoder(ctx: Ctx, analytic: boolean): void {
  const { g } = ctx;
  const z = floatInput(ctx, 'latent_sample', ['batch_size', 16, 'latent_height', 'latent_width']);
  const scales = g.f32([1, 1, 8, 8]);
  const outDims: Dim[] = ['batch_size', 3, 'height', 'width'];
  if (analytic) {
    const first3 = g.op('Slice', [z, g.i64([0]), g.i64([3]), g.i64([1])]);
    const up = g.op('Resize', [first3, '', scales], {
      mode: { s: 'nearest' },
      coordinate_transformation_mode: { s: 'asymmetric' },
      nearest_mode: { s: 'floor' },
    });
    floatOutput(ctx, 'sample', outDims, up);
    return;
  }
  const rgb = g.op('Conv', [ctx.flavor ? oliveGroupNorm(ctx, z) : z, weight(ctx, 'conv_out.weight', [3, 16, 1, 1], 0.35), weight(ctx, 'conv_out.bias', [3], 0.1)], {
    kernel_shape: { ints: [1, 1] },
  });
  const up = g.op('Resize', [rgb, '', scales], { mode: { s: 'linear' } });
  floatOutput(ctx, 'sample', outDims, g.op('Tanh', [up]));
}

/**
 * VAE encoder: image [B,3,H,W] → 8×8 average pool → 1×1 conv (quant_conv) → moments [B,32,h,w] (mean ‖ logvar).
 * Analytic: the mean's first 3 channels are the pooled RGB, the other 13 and the log-variance 0 (the analytic decoder
 * upsamples the first 3 channels back, so encode → decode is the pooled image).
 */
function buildVaeEncoder(ctx: Ctx, analytic: boolean, optimum: boolean): void {
  const { g } = ctx;
  const inDims: Dim[] = optimum ? ['batch_size', 3, 'height', 'width'] : ['batch', 3, 'height', 'width'];
  const x = floatInput(ctx, 'sample', inDims);
  const pooled = g.op('AveragePool', [x], { kernel_shape: { ints: [8, 8] }, strides: { ints: [8, 8] } });
  let moments: string;
  if (analytic) {
    const w = new Float32Array(32 * 3);
    for (let c = 0; c < 3; c++) w[c * 3 + c] = 1;
    moments = g.op('Conv', [pooled, g.init('quant_conv.weight', { type: 'float32', dims: [32, 3, 1, 1], data: w })], { kernel_shape: { ints: [1, 1] } });
  } else {
    moments = g.op('Conv', [pooled, weight(ctx, 'quant_conv.weight', [32, 3, 1, 1], 0.6), weight(ctx, 'quant_conv.bias', [32], 0.2)], {
      kernel_shape: { ints: [1, 1] },
    });
  }
  const latentDims: Dim[] = optimum ? ['batch_size', 32, 'height_latent', 'width_latent'] : ['batch', 16, 'height_latent', 'width_latent'];
  if (optimum) {
    floatOutput(ctx, 'latent_parameters', latentDims, moments);
    return;
  }
  // diffusers DiagonalGaussianDistribution.sample(), as exported: mean + exp(0.5·clamp(logvar, −30, 20))·randn.
  const [mean, logvar] = g.node('Split', [moments, g.i64([16, 16])], { axis: { i: 1 } }, 2) as [string, string];
  const clamped = g.op('Clip', [logvar, g.f32([-30], []), g.f32([20], [])]);
  const std = g.op('Exp', [g.op('Mul', [clamped, g.f32([0.5], [])])]);
  const eps = g.op('RandomNormalLike', [mean], { dtype: { i: 1 } });
  floatOutput(ctx, 'latent_sample', latentDims, g.op('Add', [mean, g.op('Mul', [std, eps])]));
}

// ---------------------------------------------------------------------------------------------
// The olive flavor's fused blocks and their standard twins (same weights, same function)

/** Transformer projection: Conv3x3 on NCHW; olive as Transpose → com.microsoft.NhwcConv (W [M,kH,kW,C]) → Transpose. */
function oliveConv(ctx: Ctx, x: string): string {
  const { g } = ctx;
  const w = randomWeights(`${ctx.component}/proj.weight`, 16 * 16 * 9, 0.5 / 12); // [M=16, C=16, 3, 3]
  const bias = weight(ctx, 'proj.bias', [16], 0.05);
  const attrs = { pads: { ints: [1, 1, 1, 1] }, kernel_shape: { ints: [3, 3] } };
  if (ctx.flavor === 'olive-twin') return g.op('Conv', [x, g.init('proj.weight', { type: 'float32', dims: [16, 16, 3, 3], data: w }), bias], attrs);
  const nhwc = new Float32Array(w.length);
  for (let m = 0; m < 16; m++) for (let c = 0; c < 16; c++) for (let k = 0; k < 9; k++) nhwc[(m * 9 + k) * 16 + c] = w[(m * 16 + c) * 9 + k]!;
  const wNhwc = g.init('proj.weight_nhwc', { type: 'float32', dims: [16, 3, 3, 16], data: nhwc });
  const xt = g.op('Transpose', [x], { perm: { ints: [0, 2, 3, 1] } });
  const y = g.contrib('NhwcConv', [xt, wNhwc, bias], attrs)[0] as string;
  return g.op('Transpose', [y], { perm: { ints: [0, 3, 1, 2] } });
}

/** A feed-forward on pre [B,16] with a residual: olive as BiasSplitGelu + BiasAdd on [B,1,16]. */
function oliveFeedForward(ctx: Ctx, pre: string): string {
  const { g } = ctx;
  const D = 32;
  const pre3 = g.op('Unsqueeze', [pre, g.i64([1])]); // [B,1,16]
  const h = g.op('MatMul', [pre3, weight(ctx, 'ff.proj_in.weight', [16, 2 * D], 1 / 4)]); // [B,1,2D]
  const b1 = weight(ctx, 'ff.proj_in.bias', [2 * D], 0.1);
  const w2 = weight(ctx, 'ff.proj_out.weight', [D, 16], 0.3 / Math.sqrt(D));
  const b2 = weight(ctx, 'ff.proj_out.bias', [16], 0.05);
  let out: string;
  if (ctx.flavor === 'olive') {
    const act = g.contrib('BiasSplitGelu', [h, b1])[0] as string; // [B,1,D]
    out = g.contrib('BiasAdd', [g.op('MatMul', [act, w2]), b2, pre3])[0] as string;
  } else {
    const sum = g.op('Add', [h, b1]);
    const [left, right] = g.node('Split', [sum, g.i64([D, D])], { axis: { i: -1 } }, 2) as [string, string];
    const erf = g.op('Erf', [g.op('Div', [right, g.f32([Math.SQRT2], [])])]);
    const gelu = g.op('Mul', [g.op('Mul', [right, g.f32([0.5], [])]), g.op('Add', [erf, g.f32([1], [])])]);
    out = g.op('Add', [g.op('Add', [g.op('MatMul', [g.op('Mul', [left, gelu]), w2]), b2]), pre3]);
  }
  return g.op('Squeeze', [out, g.i64([1])]); // [B,16]
}

/** VAE: GroupNorm (4 groups, SiLU) on z [B,16,h,w]; olive as Transpose → channels-last com.microsoft.GroupNorm → Transpose. */
function oliveGroupNorm(ctx: Ctx, z: string): string {
  const { g } = ctx;
  const gamma = weight(ctx, 'norm.weight', [16], 0.1);
  const beta = weight(ctx, 'norm.bias', [16], 0.1);
  // gamma = 1 + N(0, 0.1): computed in the graph so the stored weight stays a plain initializer.
  const scale = g.op('Add', [gamma, g.f32([1], [])]);
  if (ctx.flavor === 'olive') {
    const nhwc = g.op('Transpose', [z], { perm: { ints: [0, 2, 3, 1] } });
    const y = g.contrib('GroupNorm', [nhwc, scale, beta], { groups: { i: 4 }, activation: { i: 1 }, epsilon: { f: 1e-5 }, channels_last: { i: 1 } })[0] as string;
    return g.op('Transpose', [y], { perm: { ints: [0, 3, 1, 2] } });
  }
  const shape = g.op('Shape', [z]);
  const grouped = g.op('Reshape', [z, g.i64([0, 4, -1])]);
  const mean = g.op('ReduceMean', [grouped], { axes: { ints: [2] }, keepdims: { i: 1 } });
  const d = g.op('Sub', [grouped, mean]);
  const variance = g.op('ReduceMean', [g.op('Mul', [d, d])], { axes: { ints: [2] }, keepdims: { i: 1 } });
  const normed = g.op('Reshape', [g.op('Div', [d, g.op('Sqrt', [g.op('Add', [variance, g.f32([1e-5], [])])])]), shape]);
  const perChannel = (t: string) => g.op('Reshape', [t, g.i64([16, 1, 1])]);
  const y = g.op('Add', [g.op('Mul', [normed, perChannel(scale)]), perChannel(beta)]);
  return g.op('Mul', [y, g.op('Sigmoid', [y])]);
}

function writeComponent(
  outDir: string,
  folder: string,
  externalData: string,
  io: ElemType,
  build: (ctx: Ctx) => void,
  flavor?: TinyFlavor,
  mmdit?: TinyMmdit,
): void {
  const dir = path.join(outDir, folder);
  fs.mkdirSync(dir, { recursive: true });
  const writer = new ExternalDataWriter(path.join(dir, externalData), externalData);
  try {
    // Every weight (≥ 128 bytes) goes to the external-data file, as the real exports do.
    const g = new GraphBuilder(`${folder}_graph`, writer, 128);
    build({ g, component: folder, io, ...(flavor ? { flavor } : {}), ...(mmdit ? { mmdit } : {}) });
    fs.writeFileSync(path.join(dir, 'model.onnx'), encodeModel(g, { docString: `tiny ${folder} (sd35-studio test fixture)` }));
  } finally {
    writer.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Tokenizers

const TOKENIZER_FILES: Record<string, string[]> = {
  tokenizer: ['vocab.json', 'merges.txt', 'special_tokens_map.json', 'tokenizer_config.json'],
  tokenizer_2: ['vocab.json', 'merges.txt', 'special_tokens_map.json', 'tokenizer_config.json'],
  tokenizer_3: ['tokenizer.json', 'special_tokens_map.json', 'tokenizer_config.json'],
};

function copyFixtureTokenizers(outDir: string, source: string): void {
  for (const [folder, files] of Object.entries(TOKENIZER_FILES)) {
    fs.mkdirSync(path.join(outDir, folder), { recursive: true });
    // Read + write rather than copyFile: the fixtures may be read-only, the copies should not be.
    for (const file of files) fs.writeFileSync(path.join(outDir, folder, file), fs.readFileSync(path.join(source, folder, file)));
  }
}

/** GPT-2/CLIP byte → unicode table, in its canonical order. */
function bytesToUnicode(): string[] {
  const bs: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n);
      n += 1;
    }
  }
  return cs.map((c) => String.fromCodePoint(c));
}

const TINY_WORDS = ['a', 'photo', 'of', 'the', 'cat', 'dog', 'red', 'blue', 'an', 'astronaut', 'riding', 'horse', 'in', 'on'];

function specialToken(content: string, normalized: boolean): Record<string, unknown> {
  return { content, lstrip: false, normalized, rstrip: false, single_word: false };
}

function writeTinyClipTokenizer(dir: string, pad: string): void {
  const chars = bytesToUnicode();
  const vocab: Record<string, number> = {};
  let next = 0;
  for (const c of chars) vocab[c] = next++;
  for (const c of chars) vocab[`${c}</w>`] = next++;
  const merges: string[] = [];
  for (const word of TINY_WORDS) {
    const symbols = [...word];
    const last = symbols.length - 1;
    symbols[last] = `${symbols[last]}</w>`;
    let current = symbols[0] as string;
    for (let i = 1; i < symbols.length; i++) {
      const merge = `${current} ${symbols[i]}`;
      current += symbols[i];
      if (!merges.includes(merge)) merges.push(merge);
      if (vocab[current] === undefined) vocab[current] = next++;
    }
  }
  vocab['<|startoftext|>'] = 49406;
  vocab['<|endoftext|>'] = 49407;
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'vocab.json'), JSON.stringify(vocab));
  fs.writeFileSync(path.join(dir, 'merges.txt'), `#version: 0.2\n${merges.join('\n')}\n`);
  fs.writeFileSync(
    path.join(dir, 'special_tokens_map.json'),
    JSON.stringify(
      {
        bos_token: specialToken('<|startoftext|>', true),
        eos_token: specialToken('<|endoftext|>', false),
        pad_token: specialToken(pad, false),
        unk_token: specialToken('<|endoftext|>', false),
      },
      null,
      2,
    ),
  );
  fs.writeFileSync(
    path.join(dir, 'tokenizer_config.json'),
    JSON.stringify(
      {
        bos_token: '<|startoftext|>',
        eos_token: '<|endoftext|>',
        pad_token: pad,
        unk_token: '<|endoftext|>',
        do_lower_case: true,
        model_max_length: 77,
        tokenizer_class: 'CLIPTokenizer',
      },
      null,
      2,
    ),
  );
}

function writeTinyT5Tokenizer(dir: string): void {
  const pieces: [string, number][] = [
    ['<pad>', 0],
    ['</s>', 0],
    ['<unk>', 0],
    ['▁', -2],
  ];
  const seen = new Set(pieces.map(([p]) => p));
  const add = (piece: string, score: number): void => {
    if (!seen.has(piece)) {
      seen.add(piece);
      pieces.push([piece, score]);
    }
  };
  TINY_WORDS.forEach((w, i) => add(`▁${w}`, -5 - i * 0.01));
  for (const c of 'abcdefghijklmnopqrstuvwxyz0123456789.,!?-') add(c, -8);
  for (const c of 'abcdefghijklmnopqrstuvwxyz') add(`▁${c}`, -9);
  const added = ['<pad>', '</s>', '<unk>'].map((content, id) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  }));
  const metaspace = { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true };
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'Strip', strip_left: false, strip_right: true },
        { type: 'Replace', pattern: { Regex: ' {2,}' }, content: '▁' },
      ],
    },
    pre_tokenizer: metaspace,
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }],
      pair: [
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '</s>', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 0 } },
        { SpecialToken: { id: '</s>', type_id: 0 } },
      ],
      special_tokens: { '</s>': { id: '</s>', ids: [1], tokens: ['</s>'] } },
    },
    decoder: metaspace,
    model: { type: 'Unigram', unk_id: 2, vocab: pieces, byte_fallback: false },
  };
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(tokenizer));
  fs.writeFileSync(
    path.join(dir, 'special_tokens_map.json'),
    JSON.stringify(
      {
        eos_token: specialToken('</s>', false),
        pad_token: specialToken('<pad>', false),
        unk_token: specialToken('<unk>', false),
      },
      null,
      2,
    ),
  );
  fs.writeFileSync(
    path.join(dir, 'tokenizer_config.json'),
    JSON.stringify(
      { eos_token: '</s>', pad_token: '<pad>', unk_token: '<unk>', model_max_length: 512, tokenizer_class: 'T5Tokenizer' },
      null,
      2,
    ),
  );
}

function writeTokenizers(outDir: string, generated: boolean): 'fixtures' | 'generated' {
  const source = generated ? undefined : fixturePath('tokenizers');
  const complete =
    source !== undefined &&
    Object.entries(TOKENIZER_FILES).every(([folder, files]) => files.every((f) => fs.existsSync(path.join(source, folder, f))));
  if (source !== undefined && complete) {
    copyFixtureTokenizers(outDir, source);
    return 'fixtures';
  }
  writeTinyClipTokenizer(path.join(outDir, 'tokenizer'), '<|endoftext|>');
  writeTinyClipTokenizer(path.join(outDir, 'tokenizer_2'), '!');
  writeTinyT5Tokenizer(path.join(outDir, 'tokenizer_3'));
  return 'generated';
}

// ---------------------------------------------------------------------------------------------
// The folder

function writeJson(file: string, value: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
}

export async function writeTinyModel(outDir: string, options: TinyModelOptions): Promise<void> {
  const { layout } = options;
  const withT5 = options.t5 !== false;
  const analytic = options.analytic === true;
  const io: ElemType = options.io === 'fp16' ? 'float16' : 'float32';
  const { transformerDir, externalData } = LAYOUT_FILES[layout];
  fs.mkdirSync(outDir, { recursive: true });
  // Rewriting a folder with other options must not leave the other layout's transformer or an old T5 behind.
  const stale = [LAYOUT_FILES[layout === 'optimum' ? 'tensorstack' : 'optimum'].transformerDir, ...(withT5 ? [] : ['text_encoder_3'])];
  for (const dir of stale) fs.rmSync(path.join(outDir, dir), { recursive: true, force: true });

  const tokenizers = writeTokenizers(outDir, options.generatedTokenizers === true);
  writeJson(path.join(outDir, 'scheduler', 'scheduler_config.json'), {
    _class_name: 'FlowMatchEulerDiscreteScheduler',
    _diffusers_version: '0.31.0',
    num_train_timesteps: 1000,
    shift: 3.0,
  });
  const index: Record<string, unknown> = {
    _class_name: 'StableDiffusion3Pipeline',
    _diffusers_version: '0.31.0',
    _sd35_studio_tiny: { ...options, tokenizers },
    scheduler: ['diffusers', 'FlowMatchEulerDiscreteScheduler'],
    text_encoder: ['transformers', layout === 'optimum' ? 'CLIPTextModelWithProjection' : 'CLIPTextModel'],
    text_encoder_2: ['transformers', 'CLIPTextModelWithProjection'],
    text_encoder_3: withT5 ? ['transformers', 'T5EncoderModel'] : [null, null],
    tokenizer: ['transformers', 'CLIPTokenizer'],
    tokenizer_2: ['transformers', 'CLIPTokenizer'],
    tokenizer_3: ['transformers', 'T5TokenizerFast'],
    [transformerDir]: ['diffusers', 'SD3Transformer2DModel'],
    vae: ['diffusers', 'AutoencoderKL'],
  };
  writeJson(path.join(outDir, 'model_index.json'), index);

  const optimum = layout === 'optimum';
  writeComponent(outDir, 'text_encoder', externalData, io, (ctx) =>
    buildClip(ctx, {
      idsType: optimum ? 'int64' : 'int32',
      batchDim: optimum ? 'batch_size' : 'batch',
      seqDim: optimum ? 'sequence_length' : 'sequence',
      width: 768,
      layers: 12,
      hiddenStates: optimum,
      pooled: optimum ? 'text_embeds' : 'pooler_output',
    }),
    undefined,
    options.mmdit,
  );
  writeComponent(outDir, 'text_encoder_2', externalData, io, (ctx) =>
    buildClip(ctx, {
      idsType: 'int64',
      batchDim: 'batch_size',
      seqDim: optimum ? 'sequence_length' : 'sequence',
      width: 1280,
      layers: 32,
      hiddenStates: true,
      pooled: 'text_embeds',
    }),
    undefined,
    options.mmdit,
  );
  if (withT5) writeComponent(outDir, 'text_encoder_3', externalData, io, (ctx) => buildT5(ctx, options.t5Bytes));
  writeComponent(outDir, transformerDir, externalData, io, (ctx) =>
    buildTransformer(
      ctx,
      optimum
        ? {
            batch: 'batch_size',
            height: 'height',
            width: 'width',
            seq: 'sequence_length',
            timestepDim: 'step',
            output: 'out_hidden_states',
            inputOrder: ['hidden_states', 'encoder_hidden_states', 'pooled_projections', 'timestep'],
          }
        : {
            batch: 'B',
            height: 'h',
            width: 'w',
            seq: 'seq',
            timestepDim: 'B',
            output: 'out_sample',
            inputOrder: ['hidden_states', 'timestep', 'encoder_hidden_states', 'pooled_projections'],
          },
      options.size,
      analytic,
      options.transformerBytes,
    ),
    options.flavor,
    options.mmdit,
  );
  writeComponent(outDir, 'vae_decoder', externalData, io, (ctx) => buildVaeDecoder(ctx, analytic), options.flavor);
  if (options.vaeEncoder === true) writeComponent(outDir, 'vae_encoder', externalData, io, (ctx) => buildVaeEncoder(ctx, analytic, optimum));
  else fs.rmSync(path.join(outDir, 'vae_encoder'), { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------
// CLI

function parseCli(argv: string[]): { out: string; options: TinyModelOptions } {
  const options: TinyModelOptions = { layout: 'optimum', io: 'fp32', size: 'micro' };
  let out: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === '--out') out = value();
    else if (arg === '--layout') {
      const v = value();
      if (v !== 'optimum' && v !== 'tensorstack') throw new Error('--layout must be optimum or tensorstack');
      options.layout = v;
    } else if (arg === '--io') {
      const v = value();
      if (v !== 'fp32' && v !== 'fp16') throw new Error('--io must be fp32 or fp16');
      options.io = v;
    } else if (arg === '--size') {
      const v = value();
      if (v !== 'micro' && v !== 'small') throw new Error('--size must be micro or small');
      options.size = v;
    } else if (arg === '--analytic') options.analytic = true;
    else if (arg === '--no-t5') options.t5 = false;
    else if (arg === '--flavor') options.flavor = (argv[++i] === 'olive-twin' ? 'olive-twin' : 'olive');
    else if (arg === '--t5-bytes') options.t5Bytes = Number(value());
    else if (arg === '--transformer-bytes') options.transformerBytes = Number(value());
    else if (arg === '--heavy') {
      // --heavy MB: T5 and the transformer each get at least MB megabytes of weights, streamed to disk.
      const mb = Number(value());
      if (!Number.isFinite(mb) || mb <= 0) throw new Error('--heavy needs a size in MB, e.g. 600');
      options.t5Bytes = options.transformerBytes = Math.round(mb * 1e6);
    }
    else if (arg === '--generated-tokenizers') options.generatedTokenizers = true;
    else if (arg === '--mmdit') {
      const v = value();
      if (v !== 'large' && v !== 'medium') throw new Error('--mmdit must be large or medium');
      options.mmdit = v;
    }
    else if (arg === '--vae-encoder') options.vaeEncoder = true;
    else throw new Error(`unknown option ${arg}`);
  }
  if (out === undefined) throw new Error('--out DIR is required');
  return { out, options };
}

const USAGE =
  'usage: tiny-model --out DIR [--layout optimum|tensorstack] [--io fp32|fp16] [--size micro|small] [--analytic] [--no-t5] [--t5-bytes N] [--transformer-bytes N] [--heavy MB] [--generated-tokenizers] [--flavor olive|olive-twin] [--mmdit large|medium] [--vae-encoder]';

const HELP = [
  'Writes a tiny SD3-shaped ONNX model folder (all components, tokenizers, scheduler) for tests and benchmarks.',
  '',
  '  --out DIR                 Folder to write (required)',
  '  --layout L                optimum (default) or tensorstack',
  '  --io T                    fp32 (default) or fp16 inputs/outputs',
  '  --size S                  micro (default: milliseconds per step) or small (≥ 50 ms per step)',
  '  --analytic                Closed-form transformer and VAE (for exact pipeline checks)',
  '  --no-t5                   Leave out text_encoder_3, like a download without T5',
  '  --t5-bytes N              Give T5 at least N bytes of weights, streamed to disk',
  '  --transformer-bytes N     Give the transformer at least N bytes of weights, streamed to disk',
  '  --heavy MB                Both of the above at MB megabytes each (memory benchmarks: 600)',
  '  --generated-tokenizers    Generated tiny tokenizers even when the shared fixtures are present',
  '  --flavor F                olive (DirectML-optimizer fusions: com.microsoft GroupNorm, NhwcConv, BiasSplitGelu, BiasAdd) or olive-twin (the same from standard ops)',
  '  --mmdit S                 Diffusers-named MMDiT transformer and CLIP layers (node names as real exports): large, or medium (MMDiT-X attn2)',
  '  --vae-encoder             Write vae_encoder/ too (image to image; TensorStack\'s samples inside the graph)',
  '  --help                    Show this help',
].join('\n');

// Run as a script (npx tsx e2e/support/tiny-model.ts …), not when imported by tests.
if (process.argv[1] !== undefined && /tiny-model\.[cm]?[jt]s$/.test(process.argv[1])) {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(`${USAGE}\n\n${HELP}\n`);
    process.exit(0);
  }
  let parsed: { out: string; options: TinyModelOptions };
  try {
    parsed = parseCli(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
  const started = Date.now();
  writeTinyModel(path.resolve(parsed.out), parsed.options).then(
    () => process.stderr.write(`tiny model (${JSON.stringify(parsed.options)}) written to ${parsed.out} in ${Date.now() - started} ms\n`),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    },
  );
}

/**
 * The olive tiny model with a VAE decoder that no provider here can run and no rewrite covers
 * (com.microsoft.GatedRelativePositionBias has no CPU kernel): the "cannot run here" case.
 */
export async function writeBlockedTinyModel(outDir: string): Promise<void> {
  await writeTinyModel(outDir, { layout: 'tensorstack', io: 'fp16', size: 'micro', flavor: 'olive' });
  const g = new GraphBuilder('vae');
  const inputs = Array.from({ length: 6 }, (_, i) => g.input(i === 0 ? 'latent_sample' : `x${i}`, 'float32', ['b']));
  g.contrib('GatedRelativePositionBias', inputs, { num_heads: { i: 2 } }, ['sample']);
  g.output('sample', 'float32', ['b']);
  fs.writeFileSync(path.join(outDir, 'vae_decoder', 'model.onnx'), encodeModel(g));
  fs.rmSync(path.join(outDir, 'vae_decoder', 'model.onnx.data'), { force: true });
}

