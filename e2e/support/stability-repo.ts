// A repo shaped like Stability AI's own ONNX exports for AMD GPUs (stabilityai/stable-diffusion-3.5-{medium,
// large,large-turbo}_amdgpu), with tiny graphs, for the tests of the second catalog source (docs/architecture.md §4).
//
// What the stored Hugging Face pages show of those repos (nothing else is imitated):
// - the model is not at the repo root but in subfolders, one per I/O precision: `stable-diffusion-3.5-medium_io16/`
//   and `…_io32/` (Large: `stable-diffusion-3-5-large_io16/`), beside README.md, LICENSE.md and sample images;
// - each holds text_encoder/ (model.onnx only), text_encoder_2/ and text_encoder_3/ (model.onnx + model.onnx.data),
//   vae_decoder/ and vae_encoder/ (model.onnx only), tokenizer folders, and an empty config.json (0 bytes);
// - text_encoder_3 is a quantised T5: a 454 kB graph with 2.65 GB of weights where T5-XXL has ≈ 9.5 GB in fp16.
// The transformer's folder name was not among the stored pages; the tiny repo uses `unet/` (the TensorStack name;
// the layout check accepts `transformer/` as well). The quantised T5 stand-in is one com.microsoft.MatMulNBits
// (4-bit blocks, fp16 inside) over a small embedding, with values every product and sum of which is exact in
// float32, so the portability rewrite can be compared with the original bit for bit.
import fs from 'node:fs';
import path from 'node:path';
import { ExternalDataWriter, GraphBuilder, encodeModel } from './onnx-builder';
import { writeTinyModel } from './tiny-model';

/** The stand-in's quantised projection: K inputs, N = 4096 outputs, 4-bit blocks of BLOCK along K. */
export const QUANTISED_T5 = { K: 64, N: 4096, bits: 4, block: 32, vocab: 1021 } as const;

function f16(value: number): number {
  // Exact for the values used here (multiples of 1/8 in [-1, 1], powers of two): sign, exponent, 10-bit mantissa.
  if (value === 0) return 0;
  const sign = value < 0 ? 0x8000 : 0;
  const v = Math.abs(value);
  const exp = Math.floor(Math.log2(v));
  const mantissa = Math.round((v / 2 ** exp - 1) * 1024);
  return sign | ((exp + 15) << 10) | mantissa;
}

/** Deterministic small integers in [0, m) from a key and an index (no PRNG state: any element on demand). */
function det(key: number, i: number, m: number): number {
  let h = Math.imul(i + 1, 0x9e3779b1) ^ Math.imul(key, 0x85ebca77);
  h ^= h >>> 15;
  h = Math.imul(h, 0xc2b2ae3d);
  h ^= h >>> 13;
  return (h >>> 0) % m;
}

/**
 * The stand-in's tensors: embedding rows (multiples of 1/8 in [-1, 1], fp16 bits), 4-bit weights [N, blocks, blob]
 * two a byte (low nibble first), per-block fp16 scales 2^-s, and uint8 zero points (7..9) packed the same way.
 */
export function quantisedT5Tensors(): {
  emb: Uint16Array;
  packed: Uint8Array;
  scales: Uint16Array;
  zeroPoints: Uint8Array;
  blocks: number;
  blob: number;
  zpBytes: number;
} {
  const { K, N, bits, block, vocab } = QUANTISED_T5;
  const emb = new Uint16Array(vocab * K);
  for (let i = 0; i < emb.length; i++) emb[i] = f16((det(1, i, 17) - 8) / 8);
  const blocks = Math.ceil(K / block);
  const blob = (block * bits) / 8;
  const packed = new Uint8Array(N * blocks * blob);
  for (let i = 0; i < packed.length; i++) packed[i] = det(2, 2 * i, 16) | (det(2, 2 * i + 1, 16) << 4);
  const scales = new Uint16Array(N * blocks);
  for (let i = 0; i < scales.length; i++) scales[i] = f16(2 ** -(2 + det(3, i, 4)));
  const zpBytes = Math.ceil((blocks * bits) / 8);
  const zeroPoints = new Uint8Array(N * zpBytes);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < blocks; k++) {
      const z = 7 + det(4, n * blocks + k, 3);
      zeroPoints[n * zpBytes + (k >> 1)]! |= k % 2 === 0 ? z : z << 4;
    }
  }
  return { emb, packed, scales, zeroPoints, blocks, blob, zpBytes };
}

/**
 * The quantised T5 stand-in: input_ids int64 [batch_size, sequence_length] → last_hidden_state
 * [batch_size, sequence_length, 4096] in the I/O type (fp16 for _io16, fp32 for _io32), fp16 inside.
 */
export function writeQuantisedT5(dir: string, io: 'fp16' | 'fp32'): void {
  const { K, N, bits, block, vocab } = QUANTISED_T5;
  fs.mkdirSync(dir, { recursive: true });
  const writer = new ExternalDataWriter(path.join(dir, 'model.onnx.data'), 'model.onnx.data');
  try {
    const g = new GraphBuilder('text_encoder_3_graph', writer, 128);
    g.input('input_ids', 'int64', ['batch_size', 'sequence_length']);
    const ids = g.op('Mod', ['input_ids', g.i64([vocab], [])], { fmod: { i: 0 } }, '/encoder/embed_tokens/Mod_output_0');
    const { emb, packed, scales, zeroPoints, blocks, blob, zpBytes } = quantisedT5Tensors();
    g.init('shared.weight', { type: 'float16', dims: [vocab, K], data: emb });
    const hidden = g.op('Gather', ['shared.weight', ids], { axis: { i: 0 } }, '/encoder/embed_tokens/Gather_output_0');
    const prefix = 'encoder.block.0.layer.1.DenseReluDense.wo';
    g.init(`${prefix}.weight_Q4`, { type: 'uint8', dims: [N, blocks, blob], data: packed });
    g.init(`${prefix}.weight_scales`, { type: 'float16', dims: [N * blocks], data: scales });
    g.init(`${prefix}.weight_zp`, { type: 'uint8', dims: [N * zpBytes], data: zeroPoints });
    const out = io === 'fp16' ? 'last_hidden_state' : '/encoder/block.0/layer.1/DenseReluDense/wo/MatMul_output_0';
    g.contrib(
      'MatMulNBits',
      [hidden, `${prefix}.weight_Q4`, `${prefix}.weight_scales`, `${prefix}.weight_zp`],
      { K: { i: K }, N: { i: N }, bits: { i: bits }, block_size: { i: block }, accuracy_level: { i: 0 } },
      [out],
    );
    if (io === 'fp32') g.op('Cast', [out], { to: { i: 1 } }, 'last_hidden_state');
    g.output('last_hidden_state', io === 'fp16' ? 'float16' : 'float32', ['batch_size', 'sequence_length', N]);
    fs.writeFileSync(path.join(dir, 'model.onnx'), encodeModel(g, { docString: 'quantised T5 stand-in (sd35-studio test fixture)' }));
  } finally {
    writer.close();
  }
}

/** A tiny VAE encoder (sample [B,3,H,W] → latent_sample [B,16,H/8,W/8]); the studio does not download it yet. */
function writeVaeEncoder(dir: string, io: 'fp16' | 'fp32'): void {
  fs.mkdirSync(dir, { recursive: true });
  const t = io === 'fp16' ? 'float16' : 'float32';
  const g = new GraphBuilder('vae_encoder_graph');
  g.input('sample', t, ['batch', 3, 'height', 'width']);
  const pooled = g.op('AveragePool', ['sample'], { kernel_shape: { ints: [8, 8] }, strides: { ints: [8, 8] } });
  const tiled = g.op('Tile', [pooled, g.i64([1, 6, 1, 1])]);
  g.op('Slice', [tiled, g.i64([0]), g.i64([16]), g.i64([1])], {}, 'latent_sample');
  g.output('latent_sample', t, ['batch', 16, 'height_div8', 'width_div8']);
  fs.writeFileSync(path.join(dir, 'model.onnx'), encodeModel(g));
}

export interface StabilityRepoOptions {
  /** Subfolder prefix: 'stable-diffusion-3.5-medium' (Medium) or 'stable-diffusion-3-5-large' (Large, Turbo). */
  prefix?: string;
  /** Which I/O precisions to write (default both, as the real repos have). */
  io?: ('io16' | 'io32')[];
  generatedTokenizers?: boolean;
}

/** Writes the repo: `<prefix>_io16/` and `<prefix>_io32/`, each a complete tiny model with the quantised T5. */
export async function writeStabilityRepo(dir: string, options: StabilityRepoOptions = {}): Promise<string[]> {
  const prefix = options.prefix ?? 'stable-diffusion-3.5-medium';
  const roots: string[] = [];
  fs.mkdirSync(dir, { recursive: true });
  for (const io of options.io ?? ['io16', 'io32']) {
    const root = `${prefix}_${io}`;
    const sub = path.join(dir, root);
    const precision = io === 'io16' ? 'fp16' : 'fp32';
    await writeTinyModel(sub, { layout: 'tensorstack', io: precision, size: 'micro', ...(options.generatedTokenizers ? { generatedTokenizers: true } : {}) });
    fs.rmSync(path.join(sub, 'text_encoder_3'), { recursive: true, force: true });
    writeQuantisedT5(path.join(sub, 'text_encoder_3'), precision);
    writeVaeEncoder(path.join(sub, 'vae_encoder'), precision);
    fs.writeFileSync(path.join(sub, 'config.json'), '');
    roots.push(root);
  }
  fs.writeFileSync(path.join(dir, 'README.md'), '# Stable Diffusion 3.5 optimized for AMD GPU (tiny test stand-in)\n');
  fs.writeFileSync(path.join(dir, 'LICENSE.md'), 'Stability AI Community License (test stand-in)\n');
  fs.writeFileSync(path.join(dir, 'sample.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47]));
  return roots;
}
