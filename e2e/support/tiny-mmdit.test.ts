import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ort } from '../../src-main/inference/ort';
import { readOnnxGraph, type OnnxGraph } from '../../src-main/model-folder/onnx-graph';
import { LAYOUT_FILES, writeTinyModel, type TinyLayout, type TinyModelOptions } from './tiny-model';
import { TINY_MMDIT, tinyBlockTensors } from './tiny-mmdit';

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-tiny-mmdit-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function model(options: TinyModelOptions): Promise<string> {
  const dir = path.join(tmp, `${options.layout}-${options.io}-${options.mmdit ?? 'plain'}`);
  if (!fs.existsSync(dir)) await writeTinyModel(dir, options);
  return dir;
}

const sessionOptions: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 1, logSeverityLevel: 3 };

function producerOf(graph: OnnxGraph, tensor: string): { opType: string; name: string; inputs: string[] } | undefined {
  return graph.nodes.find((n) => n.outputs.includes(tensor));
}

const cases: { layout: TinyLayout; io: 'fp32' | 'fp16'; mmdit: 'large' | 'medium' }[] = [
  { layout: 'optimum', io: 'fp32', mmdit: 'large' },
  { layout: 'tensorstack', io: 'fp16', mmdit: 'medium' },
  { layout: 'optimum', io: 'fp16', mmdit: 'large' },
  { layout: 'tensorstack', io: 'fp32', mmdit: 'medium' },
];

describe('tiny MMDiT (diffusers-named graphs)', () => {
  for (const c of cases) {
    it(`${c.layout} ${c.io} ${c.mmdit}: node names and weight chains as real exports have them`, async () => {
      const dir = await model({ ...c, size: 'micro' });
      const g = readOnnxGraph(path.join(dir, LAYOUT_FILES[c.layout].transformerDir, 'model.onnx'), { nodes: true });
      const names = new Set(g.nodes.map((n) => n.name));
      const last = TINY_MMDIT.blocks - 1;
      for (let i = 0; i < TINY_MMDIT.blocks; i++) {
        const always = ['attn/to_q', 'attn/to_k', 'attn/to_v', 'attn/to_out.0', 'attn/add_q_proj', 'attn/add_k_proj', 'attn/add_v_proj', 'ff/net.0/proj', 'ff/net.2'];
        const notLast = ['attn/to_add_out', 'ff_context/net.0/proj', 'ff_context/net.2'];
        for (const m of [...always, ...(i < last ? notLast : [])]) expect(names.has(`/transformer_blocks.${i}/${m}/MatMul`), `${i} ${m}`).toBe(true);
        for (const m of notLast) if (i === last) expect(names.has(`/transformer_blocks.${i}/${m}/MatMul`)).toBe(false);
        expect(names.has(`/transformer_blocks.${i}/norm1/linear/Gemm`)).toBe(true);
        const dual = c.mmdit === 'medium' && i < TINY_MMDIT.dualAttentionBlocks;
        expect(names.has(`/transformer_blocks.${i}/attn2/to_q/MatMul`), `attn2 in block ${i}`).toBe(dual);
        // Clean block boundary: outputs are produced by Identity nodes, inputs are the previous block's outputs.
        const t = tinyBlockTensors(i);
        expect(producerOf(g, t.output.hidden)?.opType).toBe('Identity');
        expect(producerOf(g, t.output.context)?.opType).toBe('Identity');
        expect(g.nodes.some((n) => n.inputs.includes(t.input.hidden))).toBe(true);
      }
      for (const n of ['/pos_embed/proj/Conv', '/context_embedder/MatMul', '/proj_out/MatMul', '/norm_out/linear/Gemm', '/time_text_embed/timestep_embedder/linear_1/Gemm']) {
        expect(names.has(n), n).toBe(true);
      }
      // The weight input of a MatMul: fp32 an anonymous [in, out] initializer; fp16 Transpose → Cast of `<module>.weight` [out, in].
      const mm = g.nodes.find((n) => n.name === '/transformer_blocks.1/attn/to_q/MatMul');
      const w = mm?.inputs[1] as string;
      const inits = new Map(g.initializers.map((i) => [i.name, i]));
      if (c.io === 'fp32') {
        expect(w).toMatch(/^onnx::MatMul_\d+$/u);
        expect(inits.get(w)?.dims).toEqual([TINY_MMDIT.hidden, TINY_MMDIT.hidden]);
      } else {
        const cast = producerOf(g, w);
        expect(cast?.opType).toBe('Cast');
        const tr = producerOf(g, cast?.inputs[0] as string);
        expect(tr?.opType).toBe('Transpose');
        expect(tr?.inputs[0]).toBe('transformer_blocks.1.attn.to_q.weight');
        expect(inits.get('transformer_blocks.1.attn.to_q.weight')?.dataType).toBe(10);
      }
      const clip = readOnnxGraph(path.join(dir, 'text_encoder_2', 'model.onnx'), { nodes: true });
      const clipNames = new Set(clip.nodes.map((n) => n.name));
      for (const m of ['self_attn/q_proj', 'self_attn/k_proj', 'self_attn/v_proj', 'self_attn/out_proj', 'mlp/fc1', 'mlp/fc2']) {
        expect(clipNames.has(`/text_model/encoder/layers.31/${m}/MatMul`), m).toBe(true);
      }
    });
  }

  it('runs: the transformer depends on latents, timestep, context and pooled input and is finite', async () => {
    for (const c of [cases[0]!, cases[1]!]) {
      const dir = await model({ ...c, size: 'micro' });
      const s = await ort.InferenceSession.create(path.join(dir, LAYOUT_FILES[c.layout].transformerDir, 'model.onnx'), sessionOptions);
      const type = c.io === 'fp16' ? 'float16' : 'float32';
      const { float32ToFloat16, float16ToFloat32 } = await import('../../src-main/formats/float16');
      const t = (a: Float32Array, dims: number[]): ort.Tensor => new ort.Tensor(type, c.io === 'fp16' ? float32ToFloat16(a) : a, dims);
      const x = Float32Array.from({ length: 16 * 8 * 6 }, (_, i) => Math.sin(i));
      const ctx = Float32Array.from({ length: 7 * 4096 }, (_, i) => Math.cos(i * 0.3));
      const pooled = Float32Array.from({ length: 2048 }, (_, i) => Math.sin(i * 0.7));
      const run = async (xx: Float32Array, ts: number, cc: Float32Array, pp: Float32Array): Promise<number[]> => {
        const out = await s.run({ hidden_states: t(xx, [1, 16, 8, 6]), timestep: t(Float32Array.from([ts]), [1]), encoder_hidden_states: t(cc, [1, 7, 4096]), pooled_projections: t(pp, [1, 2048]) });
        const o = out[s.outputNames[0] as string] as ort.Tensor;
        expect(o.dims).toEqual([1, 16, 8, 6]);
        const data = c.io === 'fp16' ? float16ToFloat32(o.data as Uint16Array) : (o.data as Float32Array);
        return Array.from(data);
      };
      const ref = await run(x, 500, ctx, pooled);
      expect(ref.every(Number.isFinite)).toBe(true);
      expect(Math.max(...ref.map(Math.abs))).toBeGreaterThan(0.01);
      const bump = (a: Float32Array): Float32Array => a.map((v, i) => (i % 3 === 0 ? v + 0.5 : v));
      expect(await run(bump(x), 500, ctx, pooled)).not.toEqual(ref);
      expect(await run(x, 250, ctx, pooled)).not.toEqual(ref);
      expect(await run(x, 500, bump(ctx), pooled)).not.toEqual(ref);
      expect(await run(x, 500, ctx, bump(pooled))).not.toEqual(ref);
      await s.release();
    }
  });

  it('leaves the default graphs unchanged (no flag, no named blocks)', async () => {
    const dir = await model({ layout: 'optimum', io: 'fp32', size: 'micro' });
    const g = readOnnxGraph(path.join(dir, 'transformer', 'model.onnx'), { nodes: true });
    expect(g.nodes.some((n) => n.name.startsWith('/transformer_blocks.'))).toBe(false);
  });
});
