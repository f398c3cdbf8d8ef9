// The quantised T5 of Stability's AMD exports (a stand-in: e2e/support/stability-repo.ts) through the op check
// and the portability pass: the op check lists com.microsoft.MatMulNBits and asks the CPU provider about it; the
// rewrite into standard ops gives, on the CPU, exactly (bit for bit) the original graph's output, and both agree
// with an independent dequantize-and-multiply written here (after onnx/onnx onnx/reference/ops/op_matmulnbits.py).
// A provider without a MatMulNBits kernel (a recorded probe answer) gets the rewritten graph (derived-graphs.ts).
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUANTISED_T5, quantisedT5Tensors, writeQuantisedT5 } from '../../e2e/support/stability-repo';
import { readOnnxGraph } from '../model-folder/onnx-graph';
import { listOps } from '../model-folder/ops';
import { probeModel } from '../model-folder/probe-graph';
import { PORTABLE_PASS, portableGraph } from '../model-folder/portable';
import { ort } from './ort';
import { checkGraphOps, graphForProvider } from './portability';
import { clearProbeMemory, ortVersion } from './ort-probe';
import { createSession, type GraphSource } from './ort-session';
import { float16ToFloat32 } from '../formats/float16';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-qt5-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const IDS = [0, 5, 17, 49406, 1020, 1021, 3, 999];

async function run(graph: GraphSource): Promise<Float32Array> {
  const session = await createSession(graph, { executionProviders: ['cpu'], intraOpNumThreads: 1 });
  try {
    const ids = new ort.Tensor('int64', BigInt64Array.from(IDS.map(BigInt)), [2, IDS.length / 2]);
    const out = (await session.run({ input_ids: ids })).last_hidden_state!;
    expect(out.dims).toEqual([2, IDS.length / 2, QUANTISED_T5.N]);
    return out.type === 'float16' ? float16ToFloat32(out.data as Uint16Array) : Float32Array.from(out.data as Float32Array);
  } finally {
    await session.release();
  }
}

function half(bits: number): number {
  const e = (bits >> 10) & 31;
  const m = bits & 1023;
  const v = e === 0 ? m * 2 ** -24 : (1 + m / 1024) * 2 ** (e - 15);
  return bits & 0x8000 ? -v : v;
}

/** Independent MatMulNBits (the fixture's tensors are data, not the code under test): unpack 4-bit values low nibble first, (q − zp)·scale per block, then A·Wᵀ. */
function reference(): Float64Array {
  const { K, N, block, vocab } = QUANTISED_T5;
  const blocks = Math.ceil(K / block);
  const { emb, packed: q, scales: sc, zeroPoints: zp } = quantisedT5Tensors();
  const zpBytes = Math.ceil(blocks / 2);
  const out = new Float64Array(IDS.length * N);
  IDS.forEach((id, row) => {
    const r = ((id % vocab) + vocab) % vocab;
    for (let n = 0; n < N; n++) {
      let sum = 0;
      for (let k = 0; k < K; k++) {
        const b = Math.floor(k / block);
        const byte = q[n * blocks * (block / 2) + Math.floor(k / 2)]!;
        const value = k % 2 === 0 ? byte & 15 : byte >> 4;
        const zByte = zp[n * zpBytes + (b >> 1)]!;
        const z = b % 2 === 0 ? zByte & 15 : zByte >> 4;
        const s = half(sc[n * blocks + b]!);
        sum += half(emb[r * K + k]!) * (value - z) * s;
      }
      out[row * N + n] = sum;
    }
  });
  return out;
}

describe('quantised T5 (MatMulNBits) through the op check and the portability pass', () => {
  beforeAll(() => {
    for (const io of ['fp16', 'fp32'] as const) writeQuantisedT5(path.join(tmp, io, 'text_encoder_3'), io);
  });

  it('the op check finds MatMulNBits (com.microsoft, uint8 weights) and asks the CPU provider', async () => {
    const graph = readOnnxGraph(path.join(tmp, 'fp16', 'text_encoder_3', 'model.onnx'), { nodes: true });
    const op = listOps(graph).find((o) => o.opType === 'MatMulNBits');
    expect(op).toMatchObject({ domain: 'com.microsoft', inputTypes: ['float16', 'uint8', 'float16', 'uint8'], outputTypes: ['float16'] });
    const check = await checkGraphOps(graph, 'text_encoder_3/model.onnx', 'cpu');
    // Whatever ORT answers, MatMulNBits is never "blocked": it is either run or rewritten.
    expect(check.blocked).toEqual([]);
    expect(check.ops.map((o) => o.opType)).toContain('MatMulNBits');
  });

  for (const io of ['fp16', 'fp32'] as const) {
    it(`rewritten into standard ops, ${io} I/O: bit-identical to the original on the CPU and to the reference`, async () => {
      const dir = path.join(tmp, io);
      const model = path.join(dir, 'text_encoder_3', 'model.onnx');
      const component = { component: 'text_encoder_3' as const, dir: 'text_encoder_3', model, file: 'text_encoder_3/model.onnx' };
      const portable = await portableGraph(path.join(tmp, 'graphs'), dir, component, readOnnxGraph(model, { nodes: true }), new Set(['com.microsoft.MatMulNBits']));
      expect(portable.rewritten).toEqual([{ op: 'com.microsoft.MatMulNBits', count: 1 }]);
      const rewrittenOps = listOps(readOnnxGraph(portable.graph.file, { nodes: true }));
      expect(rewrittenOps.every((o) => o.domain === '')).toBe(true);
      const original = await run({ path: model });
      const rewritten = await run({ path: portable.graph.file, externalDataDir: portable.graph.externalDataDir });
      expect(Buffer.from(rewritten.buffer).equals(Buffer.from(original.buffer))).toBe(true);
      const expected = reference();
      let worst = 0;
      for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(expected[i]! - rewritten[i]!));
      // Every product and sum is exact in float32; the fp16 inside rounds once (≤ 2^-11 relative, |y| < 64 here).
      expect(worst).toBeLessThanOrEqual(64 * 2 ** -11);
      expect(expected.some((v) => v !== 0)).toBe(true);
    });
  }

  it('a provider without a MatMulNBits kernel gets the portable graph (recorded probe answer)', async () => {
    const dir = path.join(tmp, 'fp16');
    const model = path.join(dir, 'text_encoder_3', 'model.onnx');
    const cacheDir = path.join(tmp, 'probes');
    fs.mkdirSync(cacheDir, { recursive: true });
    const graph = readOnnxGraph(model, { nodes: true });
    const op = listOps(graph).find((o) => o.opType === 'MatMulNBits')!;
    // The on-disk cache is keyed by the SHA-256 of the probe graph's bytes (inference/ort-probe.ts).
    const key = crypto.createHash('sha256').update(probeModel(op, graph.opsets)).digest('hex').slice(0, 32);
    fs.writeFileSync(
      path.join(cacheDir, `op-probes-v2-ort${ortVersion()}-cpu.json`),
      JSON.stringify({ [key]: { supported: false, detail: 'Could not find an implementation for MatMulNBits (recorded)' } }),
    );
    clearProbeMemory();
    try {
      const choice = await graphForProvider(
        dir,
        { component: 'text_encoder_3', dir: 'text_encoder_3', model, file: 'text_encoder_3/model.onnx' },
        'cpu',
        { cacheDir, graphsRoot: path.join(tmp, 'graphs') },
      );
      expect(path.basename(choice.path)).toMatch(new RegExp(`^${PORTABLE_PASS}-[0-9a-f]{32}\\.onnx$`));
      expect(choice.rewritten).toEqual([{ op: 'com.microsoft.MatMulNBits', count: 1 }]);
    } finally {
      clearProbeMemory();
    }
  });
});
