// The real-scale builder's dimensions against the published configs and file sizes (numbers written here with
// their source, not read from the builder), and one component built for real (the VAE decoder: 99 MB): streamed,
// deterministic, node names as torch.onnx writes them, fp32 I/O over fp16 weights, and it runs on the CPU.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readOnnxGraph } from '../../src-main/model-folder/onnx-graph';
import { ort } from '../../src-main/inference/ort';
import { REAL_SCALE, expectedWeights, nodeName, writeRealComponent } from './real-scale-model';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-realscale-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('real-scale dimensions', () => {
  it('are the published configs', () => {
    // stabilityai/stable-diffusion-3.5-medium transformer/config.json: attention_head_dim 64 × num_attention_heads 24
    // = 1536, num_layers 24, dual_attention_layers 0..12 (13 blocks), qk_norm "rms_norm".
    const m = REAL_SCALE.transformer.medium;
    expect([m.headDim * m.heads, m.layers, m.dualAttentionLayers, m.qkNorm, m.captionProjection]).toEqual([1536, 24, 13, true, 1536]);
    // stabilityai/stable-diffusion-3.5-large transformer/config.json: 64 × 38 = 2432, num_layers 38, no dual attention.
    const l = REAL_SCALE.transformer.large;
    expect([l.headDim * l.heads, l.layers, l.dualAttentionLayers, l.qkNorm, l.posEmbedMax]).toEqual([2432, 38, 0, true, 192]);
    // text_encoder (CLIP-L) 768 / 3072 / 12 layers / 12 heads; text_encoder_2 (CLIP-G) 1280 / 5120 / 32 / 20.
    expect(REAL_SCALE.clipL).toMatchObject({ hidden: 768, intermediate: 3072, layers: 12, heads: 12, vocab: 49408 });
    expect(REAL_SCALE.clipG).toMatchObject({ hidden: 1280, intermediate: 5120, layers: 32, heads: 20, vocab: 49408 });
    // text_encoder_3 (T5-XXL encoder): d_model 4096, d_ff 10240, 64 heads of 64, 24 layers, vocab 32128.
    expect(REAL_SCALE.t5).toMatchObject({ dModel: 4096, dFf: 10240, heads: 64, dKv: 64, layers: 24, vocab: 32128 });
    // vae/config.json: block_out_channels [128, 256, 512, 512], layers_per_block 2, latent_channels 16, 32 groups.
    expect(REAL_SCALE.vae).toMatchObject({ blockOut: [128, 256, 512, 512], layersPerBlock: 2, latent: 16, groups: 32 });
  });

  it('give the weight counts of the published models and the sizes of the published fp16 files', () => {
    // Parameter counts as Hugging Face's transformers reports them for the text towers: CLIPTextModel (ViT-L/14)
    // 123,060,480; CLIPTextModelWithProjection (bigG) 694,659,840; T5EncoderModel (t5-v1_1-xxl) 4,762,310,656.
    expect(expectedWeights('medium', 'text_encoder')).toBe(123_060_480);
    expect(expectedWeights('medium', 'text_encoder_2')).toBe(694_659_840);
    expect(expectedWeights('medium', 'text_encoder_3')).toBe(4_762_310_656);
    // The model cards: Medium "2.5B", Large "8.1B" parameters; TensorStack's fp16 files (Hub file pages, as
    // src-shared/catalog.ts records them): unet/model.onnx.data 4.94 GB (Medium), 16.3 GB (Large).
    const medium = expectedWeights('medium', 'unet');
    const large = expectedWeights('large', 'unet');
    expect(Math.abs(2 * medium - 4.94e9) / 4.94e9).toBeLessThan(0.01);
    expect(Math.abs(2 * large - 16.3e9) / 16.3e9).toBeLessThan(0.01);
    expect(medium).toBeGreaterThan(2.4e9);
    expect(large).toBeGreaterThan(8.1e9);
    expect(large).toBeLessThan(8.2e9);
  });

  it('names nodes as torch.onnx does', () => {
    expect(nodeName('transformer_blocks.7.attn.to_q')).toBe('/transformer_blocks.7/attn/to_q');
    expect(nodeName('transformer_blocks.7.attn.to_out.0')).toBe('/transformer_blocks.7/attn/to_out.0');
    expect(nodeName('decoder.up_blocks.0.resnets.1.conv1')).toBe('/decoder/up_blocks.0/resnets.1/conv1');
  });
});

describe('a real-scale component written to disk (VAE decoder)', () => {
  it('streams fp16 weights of the published size, deterministically, and runs on the CPU with fp32 I/O', { timeout: 180_000 }, async () => {
    const a = writeRealComponent(path.join(tmp, 'a'), 'medium', 'vae_decoder');
    const b = writeRealComponent(path.join(tmp, 'b'), 'medium', 'vae_decoder');
    // TensorStack's vae_decoder/model.onnx.data: 99 MB of fp16 (diffusers' SD3 VAE decoder, 49.5 M weights).
    expect(Math.abs(a.dataBytes - 99e6) / 99e6).toBeLessThan(0.01);
    expect(a.weights).toBe(b.weights);
    const sha = (d: string, f: string) => crypto.createHash('sha256').update(fs.readFileSync(path.join(tmp, d, 'vae_decoder', f))).digest('hex');
    expect(sha('a', 'model.onnx.data')).toBe(sha('b', 'model.onnx.data'));
    expect(sha('a', 'model.onnx')).toBe(sha('b', 'model.onnx'));
    const graph = readOnnxGraph(path.join(tmp, 'a', 'vae_decoder', 'model.onnx'), { nodes: true });
    expect(graph.nodes.map((n) => n.name)).toEqual(expect.arrayContaining(['/decoder/mid_block/attentions.0/to_q/MatMul', '/decoder/up_blocks.0/resnets.2/conv2/Conv']));
    expect(graph.inputs.map((i) => [i.name, i.type])).toEqual([['latent_sample', 'float32']]);
    expect(graph.outputs.map((o) => [o.name, o.type])).toEqual([['sample', 'float32']]);
    const session = await ort.InferenceSession.create(path.join(tmp, 'a', 'vae_decoder', 'model.onnx'), { intraOpNumThreads: 1 });
    try {
      const out = await session.run({ latent_sample: new ort.Tensor('float32', new Float32Array(16 * 4 * 4).fill(0.5), [1, 16, 4, 4]) });
      expect(out.sample!.dims).toEqual([1, 3, 32, 32]);
      expect(Array.from(out.sample!.data as Float32Array).every(Number.isFinite)).toBe(true);
    } finally {
      await session.release();
    }
  });
});
