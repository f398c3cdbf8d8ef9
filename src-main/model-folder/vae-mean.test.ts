// The VAE mean pass on an encoder that samples inside itself (the tiny TensorStack encoder: mean + exp(logvar/2)·
// RandomNormalLike, fp32 and fp16 I/O): the original's output changes run to run, the derived graph's does not, and it
// equals the mean the optimum export of the same weights gives as the first 16 channels of its latent_parameters — an
// independent graph without sampling. The derived graph lives in the studio's folder, not the model folder.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyModel } from '../../e2e/support/tiny-model';
import { ort } from '../inference/ort';
import { createSession } from '../inference/ort-session';
import { float16ToFloat32, float32ToFloat16 } from '../formats/float16';
import { openModelFolder } from './layouts';
import { readOnnxGraphBuffer } from './onnx-graph';
import { meanEncoderGraph, meanEncoderModel, VAE_MEAN_PASS } from './vae-mean';

let tmp: string;
beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-vae-mean-'));
  for (const io of ['fp32', 'fp16'] as const) {
    await writeTinyModel(path.join(tmp, `ts-${io}`), { layout: 'tensorstack', io, size: 'micro', vaeEncoder: true });
    await writeTinyModel(path.join(tmp, `opt-${io}`), { layout: 'optimum', io, size: 'micro', vaeEncoder: true });
  }
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const H = 32;
const W = 48;
function image(io: 'fp32' | 'fp16'): ort.Tensor {
  const data = Float32Array.from({ length: 3 * H * W }, (_, i) => Math.sin(i * 0.37) * 0.9);
  return io === 'fp16' ? new ort.Tensor('float16', float32ToFloat16(data), [1, 3, H, W]) : new ort.Tensor('float32', data, [1, 3, H, W]);
}
function values(t: ort.OnnxValue | undefined): Float32Array {
  const tensor = t as ort.Tensor;
  return tensor.type === 'float16' ? float16ToFloat32(tensor.data as Uint16Array) : (tensor.data as Float32Array);
}
const opts = { executionProviders: ['cpu'], intraOpNumThreads: 1, logSeverityLevel: 3 as const };

describe('the VAE mean pass', () => {
  for (const io of ['fp32', 'fp16'] as const) {
    it(`${io}: the rewritten encoder outputs the mean (= optimum's first 16 moment channels), deterministically`, async () => {
      const ts = await openModelFolder(path.join(tmp, `ts-${io}`));
      const files = ts.components.vae_encoder!;
      const original = await createSession({ path: files.model }, opts);
      const a = values((await original.run({ sample: image(io) })).latent_sample);
      const b = values((await original.run({ sample: image(io) })).latent_sample);
      expect(a).not.toEqual(b); // it samples: the test is real

      const root = path.join(tmp, 'graphs');
      const derived = await meanEncoderGraph(root, ts.folder, files);
      expect(derived.file.startsWith(root)).toBe(true);
      expect(path.basename(derived.file).startsWith(`${VAE_MEAN_PASS}-`)).toBe(true);
      expect(fs.readdirSync(path.dirname(files.model)).sort()).toEqual(['model.onnx', 'model.onnx.data']); // model folder untouched
      const mean = await createSession({ path: derived.file, externalDataDir: derived.externalDataDir }, opts);
      const m1 = values((await mean.run({ sample: image(io) })).latent_sample);
      const m2 = values((await mean.run({ sample: image(io) })).latent_sample);
      expect(m1).toEqual(m2);

      const opt = await openModelFolder(path.join(tmp, `opt-${io}`));
      const moments = await createSession({ path: opt.components.vae_encoder!.model }, opts);
      const params = values((await moments.run({ sample: image(io) })).latent_parameters);
      const plane = (H / 8) * (W / 8);
      expect(m1).toHaveLength(16 * plane);
      expect(Array.from(m1)).toEqual(Array.from(params.subarray(0, 16 * plane)));
      for (const s of [original, mean, moments]) await s.release();
    });
  }

  it('drops the sampling branch (the random op) and keeps the output name; a graph without sampling is refused', async () => {
    const ts = await openModelFolder(path.join(tmp, 'ts-fp32'));
    const bytes = fs.readFileSync(ts.components.vae_encoder!.model);
    const { bytes: out, rewrite } = meanEncoderModel(bytes);
    expect(rewrite.output).toBe('latent_sample');
    expect(rewrite.dropped).toBeGreaterThanOrEqual(4); // RandomNormalLike, Mul, Exp, Clip (and the 0.5 Mul)
    const g = readOnnxGraphBuffer(out, 'derived', { nodes: true });
    expect(g.nodes.some((n) => n.opType.startsWith('Random'))).toBe(false);
    expect(g.outputs.map((o) => o.name)).toEqual(['latent_sample']);
    const opt = await openModelFolder(path.join(tmp, 'opt-fp32'));
    expect(() => meanEncoderModel(fs.readFileSync(opt.components.vae_encoder!.model))).toThrow(/mean \+ std·noise/);
  });
});
