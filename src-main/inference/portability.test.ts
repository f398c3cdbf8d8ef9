// The olive flavor of the tiny model (the fusions ONNX Runtime's optimizer makes for DirectML) on the
// CPU: the raw fused graphs fail at session creation, the portability pass makes them load, and a whole
// generation equals the standard twin's within one level per pixel, in both layouts.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ort } from './ort';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GraphBuilder, encodeModel } from '../../e2e/support/onnx-builder';
import { writeTinyModel } from '../../e2e/support/tiny-model';
import { StudioError } from '../../src-shared/errors';
import { readOnnxGraph } from '../model-folder/onnx-graph';
import { listOps, opLabel } from '../model-folder/ops';
import { checkGraphOps, unsupportedOpsError } from './portability';
import { generate, type GenerateRequest } from './pipeline';
import { LoadedModel } from './sessions';

const REQ: GenerateRequest = { prompt: 'a photo of a cat', negativePrompt: 'blurry', seed: '7', steps: 3, guidance: 4.5, width: 64, height: 64, t5: true };
const CPU = { ep: 'cpu' as const, memory: 'low' as const, threads: 1 };

let tmp: string;
const dir = (layout: string, flavor: string) => path.join(tmp, `${layout}-${flavor}`);

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-olive-'));
  for (const layout of ['optimum', 'tensorstack'] as const) {
    for (const flavor of ['olive', 'olive-twin'] as const) {
      await writeTinyModel(dir(layout, flavor), { layout, io: layout === 'tensorstack' ? 'fp16' : 'fp32', size: 'micro', flavor });
    }
  }
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('the olive flavor on the CPU', () => {
  for (const layout of ['optimum', 'tensorstack'] as const) {
    const transformer = layout === 'optimum' ? 'transformer' : 'unet';

    it(`${layout}: the graphs hold the fusions, and the raw ones fail at session creation`, async () => {
      const ops = (component: string) => listOps(readOnnxGraph(path.join(dir(layout, 'olive'), component, 'model.onnx'), { nodes: true })).map(opLabel);
      expect(ops(transformer)).toEqual(expect.arrayContaining(['com.microsoft.NhwcConv(1)', 'com.microsoft.BiasSplitGelu(1)', 'com.microsoft.BiasAdd(1)']));
      expect(ops('vae_decoder')).toContain('com.microsoft.GroupNorm(1)');
      expect(ops(transformer).filter((o) => o.startsWith('com.microsoft'))).toHaveLength(3);
      // The twin is all standard ops.
      for (const c of [transformer, 'vae_decoder']) {
        expect(listOps(readOnnxGraph(path.join(dir(layout, 'olive-twin'), c, 'model.onnx'), { nodes: true })).filter((o) => o.domain !== '')).toEqual([]);
      }
      for (const c of [transformer, 'vae_decoder']) {
        await expect(ort.InferenceSession.create(path.join(dir(layout, 'olive'), c, 'model.onnx'), { logSeverityLevel: 4 }), c).rejects.toThrow(
          /Could not find an implementation|Failed to find kernel/,
        );
      }
    });

    it(`${layout}: the probes find exactly the fused ops missing on the CPU, all rewritable`, async () => {
      const graph = readOnnxGraph(path.join(dir(layout, 'olive'), transformer, 'model.onnx'), { nodes: true });
      const check = await checkGraphOps(graph, `${transformer}/model.onnx`, 'cpu');
      expect(check.missing.map(opLabel).sort()).toEqual(['com.microsoft.BiasAdd(1)', 'com.microsoft.BiasSplitGelu(1)', 'com.microsoft.NhwcConv(1)']);
      expect(check.blocked).toEqual([]);
    });

    it(`${layout}: the portable graphs load, and the image equals the standard twin's within one level per pixel`, async () => {
      const olive = await LoadedModel.load(dir(layout, 'olive'), CPU);
      const twin = await LoadedModel.load(dir(layout, 'olive-twin'), CPU);
      try {
        const a = await generate(olive, REQ);
        const b = await generate(twin, REQ);
        expect(olive.rewrittenOps).toEqual([
          { component: 'transformer', op: 'com.microsoft.BiasAdd', count: 1 },
          { component: 'transformer', op: 'com.microsoft.BiasSplitGelu', count: 1 },
          { component: 'transformer', op: 'com.microsoft.NhwcConv', count: 1 },
          { component: 'vae_decoder', op: 'com.microsoft.GroupNorm', count: 1 },
        ]);
        expect(twin.rewrittenOps).toEqual([]);
        for (const c of [transformer, 'vae_decoder']) expect(fs.existsSync(path.join(dir(layout, 'olive'), c, 'model.portable.onnx')), c).toBe(true);
        expect(fs.existsSync(path.join(dir(layout, 'olive'), 'text_encoder', 'model.portable.onnx'))).toBe(false);
        expect(a.rgb.length).toBe(b.rgb.length);
        let worst = 0;
        let differing = 0;
        for (let i = 0; i < a.rgb.length; i++) {
          const d = Math.abs(a.rgb[i]! - b.rgb[i]!);
          worst = Math.max(worst, d);
          if (d > 0) differing++;
        }
        expect(worst, `${differing} of ${a.rgb.length} values differ`).toBeLessThanOrEqual(1);
        // Not a flat image: the comparison means something.
        expect(Math.max(...a.rgb) - Math.min(...a.rgb)).toBeGreaterThan(20);
      } finally {
        await olive.release();
        await twin.release();
      }
    });
  }

  it('an op with no kernel and no rewrite is a precise StudioError: op, file, provider, providers that have it, what to do', async () => {
    const graph = readOnnxGraph(path.join(dir('optimum', 'olive'), 'transformer', 'model.onnx'), { nodes: true });
    const check = await checkGraphOps(graph, 'transformer/model.onnx', 'cpu');
    // As if NhwcConv had no rewrite.
    const blocked = { ...check, blocked: check.missing.filter((o) => o.opType === 'NhwcConv') };
    const none = unsupportedOpsError(blocked, 'The model in /m cannot run here', new Map([['cpu', false]]));
    expect(none).toBeInstanceOf(StudioError);
    expect(none.code).toBe('unavailable');
    expect(none.message).toContain('com.microsoft.NhwcConv(1) (float32) in transformer/model.onnx has no kernel on the CPU and no rewrite');
    expect(none.message).toContain('No execution provider on this machine has it');
    expect(none.message).toMatch(/use an export in the standard optimum layout/);
    expect(none.details).toMatchObject({ op: 'com.microsoft.NhwcConv', file: 'transformer/model.onnx', provider: 'cpu', providersWithKernel: [] });
    const some = unsupportedOpsError({ ...blocked, provider: 'coreml' }, 'x', new Map([['dml', true]]));
    expect(some.message).toContain('has no kernel on CoreML or the CPU and no rewrite');
    expect(some.message).toContain('Providers here that have it: DirectML');
  });

  it('at load: an op with no kernel on the provider and no rewrite fails with the precise StudioError', async () => {
    const folder = path.join(tmp, 'blocked');
    fs.cpSync(dir('optimum', 'olive-twin'), folder, { recursive: true });
    // A VAE whose one node is an op the CPU provider lacks and the pass does not rewrite.
    const g = new GraphBuilder('vae');
    const inputs = Array.from({ length: 6 }, (_, i) => g.input(i === 0 ? 'latent_sample' : `x${i}`, 'float32', ['b']));
    g.contrib('GatedRelativePositionBias', inputs, { num_heads: { i: 2 } }, ['sample']);
    g.output('sample', 'float32', ['b']);
    fs.writeFileSync(path.join(folder, 'vae_decoder', 'model.onnx'), encodeModel(g));
    let err: unknown;
    try {
      const m = await LoadedModel.load(folder, { ep: 'cpu', memory: 'balanced', threads: 1 });
      await m.release();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StudioError);
    const e = err as StudioError;
    expect(e.code).toBe('unavailable');
    expect(e.message).toContain(`The model in ${folder} cannot run here`);
    expect(e.message).toContain('com.microsoft.GatedRelativePositionBias(1) (float32) in vae_decoder/model.onnx has no kernel on the CPU and no rewrite');
    expect(e.message).toMatch(/No execution provider on this machine has it|Providers here that have it/);
    expect(e.details).toMatchObject({ op: 'com.microsoft.GatedRelativePositionBias', file: 'vae_decoder/model.onnx', provider: 'cpu' });
    expect(fs.existsSync(path.join(folder, 'vae_decoder', 'model.portable.onnx'))).toBe(false);
  });
});
