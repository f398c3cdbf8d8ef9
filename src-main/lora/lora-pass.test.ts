import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExternalDataWriter, GraphBuilder, encodeModel } from '../../e2e/support/onnx-builder';
import { ort } from '../inference/ort';
import { float16ToFloat32, float32ToFloat16 } from '../formats/float16';
import { readOnnxGraph } from '../model-folder/onnx-graph';
import { applyLoraPass, exportScope, strengthInputName, type LoraFactors } from './lora-pass';

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-lora-pass-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

const sessionOptions: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 1, logSeverityLevel: 3 };

function seq(n: number, f: (i: number) => number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => f(i));
}

/** Rounds through float16 (what an fp16 graph stores). */
function viaHalf(a: Float32Array): Float32Array {
  return float16ToFloat32(float32ToFloat16(a));
}

type Chain = 'fp32-anonymous' | 'fp16-transpose-cast' | 'gemm';

const IN = 6;
const OUT = 5;
const W = seq(OUT * IN, (i) => Math.sin(i * 0.7) * 0.5); // torch layout [out, in]
const BIAS = seq(OUT, (i) => 0.1 * i - 0.2);

/** One Linear as a real export writes it: `/transformer_blocks.2/attn/to_q/MatMul` (+ Add), or a Gemm on 2-D input. */
function writeLinear(dir: string, chain: Chain): string {
  fs.mkdirSync(dir, { recursive: true });
  const writer = new ExternalDataWriter(path.join(dir, 'model.onnx_data'), 'model.onnx_data');
  const g = new GraphBuilder('linear', writer, 16);
  const scope = chain === 'gemm' ? 'transformer_blocks.2/norm1/linear' : 'transformer_blocks.2/attn/to_q';
  const dims = chain === 'gemm' ? ['b', IN] : ['b', 's', IN];
  g.input('x', 'float32', dims);
  let y: string;
  if (chain === 'gemm') {
    const w = g.init('transformer_blocks.2.norm1.linear.weight', { type: 'float32', dims: [OUT, IN], data: W });
    const b = g.init('transformer_blocks.2.norm1.linear.bias', { type: 'float32', dims: [OUT], data: BIAS });
    y = g.named(`/${scope}/Gemm`, 'Gemm', ['x', w, b], { transB: { i: 1 } });
  } else {
    let wIn: string;
    if (chain === 'fp16-transpose-cast') {
      const stored = g.init('transformer_blocks.2.attn.to_q.weight', { type: 'float16', dims: [OUT, IN], data: float32ToFloat16(W) });
      const t = g.named(`/${scope}/Transpose`, 'Transpose', [stored], { perm: { ints: [1, 0] } });
      wIn = g.named(`/${scope}/Cast`, 'Cast', [t], { to: { i: 1 } });
    } else {
      const wt = new Float32Array(IN * OUT);
      for (let o = 0; o < OUT; o++) for (let i = 0; i < IN; i++) wt[i * OUT + o] = W[o * IN + i] as number;
      wIn = g.init('onnx::MatMul_4242', { type: 'float32', dims: [IN, OUT], data: wt });
    }
    const mm = g.named(`/${scope}/MatMul`, 'MatMul', ['x', wIn]);
    y = g.named(`/${scope}/Add`, 'Add', [g.init('transformer_blocks.2.attn.to_q.bias', { type: 'float32', dims: [OUT], data: BIAS }), mm]);
  }
  g.op('Tanh', [y], {}, 'y');
  g.output('y', 'float32', chain === 'gemm' ? ['b', OUT] : ['b', 's', OUT]);
  fs.writeFileSync(path.join(dir, 'model.onnx'), encodeModel(g));
  writer.close();
  return path.join(dir, 'model.onnx');
}

function factors(module: string, rank: number, alpha: number, seed: number): LoraFactors {
  return {
    module,
    key: module,
    down: seq(rank * IN, (i) => Math.cos(i * 1.3 + seed) * 0.4),
    up: seq(OUT * rank, (i) => Math.sin(i * 0.9 + seed) * 0.3),
    rank,
    in: IN,
    out: OUT,
    alpha,
  };
}

/** y = tanh(x · W'ᵀ + bias) with W' = W + Σ s·(α/r)·B·A — the merged weights, computed here independently. */
function merged(x: Float32Array, rows: number, w: Float32Array, deltas: { f: LoraFactors; s: number }[]): Float32Array {
  const wm = Float64Array.from(w);
  for (const { f, s } of deltas) {
    const scale = s * (f.alpha / f.rank);
    for (let o = 0; o < OUT; o++) {
      for (let i = 0; i < IN; i++) {
        let ba = 0;
        for (let r = 0; r < f.rank; r++) ba += (f.up[o * f.rank + r] as number) * (f.down[r * IN + i] as number);
        wm[o * IN + i] = (wm[o * IN + i] as number) + scale * ba;
      }
    }
  }
  const y = new Float32Array(rows * OUT);
  for (let n = 0; n < rows; n++) {
    for (let o = 0; o < OUT; o++) {
      let acc = BIAS[o] as number;
      for (let i = 0; i < IN; i++) acc += (x[n * IN + i] as number) * (wm[o * IN + i] as number);
      y[n * OUT + o] = Math.tanh(acc);
    }
  }
  return y;
}

async function runPassed(modelFile: string, chain: Chain, loras: { index: number; layers: LoraFactors[] }[], strengths: number[]): Promise<{ y: Float32Array; x: Float32Array; rows: number }> {
  const dir = path.dirname(modelFile);
  const result = applyLoraPass(fs.readFileSync(modelFile), loras);
  fs.writeFileSync(path.join(dir, 'lora.onnx'), result.model);
  const s = await ort.InferenceSession.create(path.join(dir, 'lora.onnx'), sessionOptions);
  const rows = 3;
  const x = seq(rows * IN, (i) => Math.sin(i * 0.37) * 1.5);
  const feeds: Record<string, ort.Tensor> = { x: new ort.Tensor('float32', x, chain === 'gemm' ? [rows, IN] : [1, rows, IN]) };
  loras.forEach((l, k) => (feeds[strengthInputName(l.index)] = new ort.Tensor('float32', Float32Array.from([strengths[k] as number]), [1])));
  const out = await s.run(feeds);
  await s.release();
  return { y: out.y?.data as Float32Array, x, rows };
}

describe('applyLoraPass: the branch equals merged weights W + s·(α/r)·B·A', () => {
  for (const chain of ['fp32-anonymous', 'fp16-transpose-cast', 'gemm'] as Chain[]) {
    it(`${chain}`, async () => {
      const model = writeLinear(path.join(tmp, chain), chain);
      const module = chain === 'gemm' ? 'transformer_blocks.2.norm1.linear' : 'transformer_blocks.2.attn.to_q';
      const f = factors(module, 3, 1.5, 0);
      // fp16 graphs hold W, A and B in float16: the reference merges the same rounded values.
      const half = chain === 'fp16-transpose-cast';
      const ref = half ? { ...f, down: viaHalf(f.down), up: viaHalf(f.up) } : f;
      const w = half ? viaHalf(W) : W;
      for (const s of [1, 0.5, -0.7]) {
        const { y, x, rows } = await runPassed(model, chain, [{ index: 0, layers: [f] }], [s]);
        const expected = merged(x, rows, w, [{ f: ref, s }]);
        for (let i = 0; i < y.length; i++) expect(y[i]).toBeCloseTo(expected[i] as number, 5);
        // …and differs from the model without the LoRA.
        const plain = merged(x, rows, w, []);
        expect(Array.from(y).some((v, i) => Math.abs(v - (plain[i] as number)) > 1e-3)).toBe(true);
      }
      // The model's own weights are untouched: the derived graph keeps the original initializer and data file.
      const derived = readOnnxGraph(path.join(tmp, chain, 'lora.onnx'), { nodes: true });
      expect(derived.externalData.has('model.onnx_data')).toBe(true);
    });
  }

  it('strength 0 gives the original output bit for bit', async () => {
    const model = writeLinear(path.join(tmp, 'zero'), 'fp32-anonymous');
    const f = factors('transformer_blocks.2.attn.to_q', 4, 4, 1);
    const { y, x } = await runPassed(model, 'fp32-anonymous', [{ index: 0, layers: [f] }], [0]);
    const s = await ort.InferenceSession.create(model, sessionOptions);
    const out = await s.run({ x: new ort.Tensor('float32', x, [1, 3, IN]) });
    await s.release();
    expect(Buffer.from(y.buffer).equals(Buffer.from((out.y?.data as Float32Array).buffer))).toBe(true);
  });

  it('stacked LoRAs equal the sum of their merged deltas', async () => {
    const model = writeLinear(path.join(tmp, 'stack'), 'fp32-anonymous');
    const module = 'transformer_blocks.2.attn.to_q';
    const f1 = factors(module, 2, 1, 2);
    const f2 = factors(module, 4, 8, 3);
    const { y, x, rows } = await runPassed(model, 'fp32-anonymous', [{ index: 0, layers: [f1] }, { index: 1, layers: [f2] }], [0.8, -0.4]);
    const expected = merged(x, rows, W, [{ f: f1, s: 0.8 }, { f: f2, s: -0.4 }]);
    for (let i = 0; i < y.length; i++) expect(y[i]).toBeCloseTo(expected[i] as number, 5);
  });

  it('refuses a LoRA whose A/B do not fit the weight, naming the layer', () => {
    const model = writeLinear(path.join(tmp, 'mismatch'), 'fp16-transpose-cast');
    const f = { ...factors('transformer_blocks.2.attn.to_q', 2, 2, 0), in: IN + 1, down: new Float32Array(2 * (IN + 1)) };
    expect(() => applyLoraPass(fs.readFileSync(model), [{ index: 0, layers: [f] }])).toThrow(/transformer_blocks\.2\.attn\.to_q.*does not fit.*7 → 5.*6 → 5/u);
  });

  it('lists modules without a node as unmatched', () => {
    const model = writeLinear(path.join(tmp, 'unmatched'), 'fp32-anonymous');
    const r = applyLoraPass(fs.readFileSync(model), [{ index: 0, layers: [factors('transformer_blocks.2.attn.to_q', 2, 2, 0), factors('transformer_blocks.9.attn.to_k', 2, 2, 0)] }]);
    expect(r.applied.map((a) => a.node)).toEqual(['/transformer_blocks.2/attn/to_q/MatMul']);
    expect(r.unmatched.get(0)).toEqual(['transformer_blocks.9.attn.to_k']);
  });

  it('exportScope joins numeric children to their parent as torch.onnx does', () => {
    expect(exportScope('transformer_blocks.3.attn.to_out.0')).toBe('transformer_blocks.3/attn/to_out.0');
    expect(exportScope('transformer_blocks.0.ff.net.0.proj')).toBe('transformer_blocks.0/ff/net.0/proj');
    expect(exportScope('text_model.encoder.layers.11.self_attn.q_proj')).toBe('text_model/encoder/layers.11/self_attn/q_proj');
  });
});
