// Skip-Layer Guidance in the pipeline, on the tiny Medium-shaped MMDiT (4 joint blocks named as diffusers names
// them; optimum fp32, TensorStack fp16, optimum fp16): denoise() with SLG equals a reference loop written here —
// diffusers' StableDiffusion3Pipeline loop (flow-match Euler, CFG, and inside the step window one more positive-only
// pass) where the skip-layer pass runs ANOTHER model folder whose transformer graph has the listed blocks removed
// by rewiring (testing/model-folder/without-block.ts, not the switch pass) and the normal passes run a second,
// untouched load of the model. The step window's edges are exact (N·start and N·end themselves excluded); with
// guidance ≤ 1 no extra pass runs; layers beyond the model's blocks and graphs without named blocks are refused.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LAYOUT_FILES, writeTinyModel, type TinyModelOptions } from '../../../e2e/support/tiny-model';
import { TINY_MMDIT } from '../../../e2e/support/tiny-mmdit';
import type { Slg } from '../../../src-shared/generation';
import { writeTestLora } from '../../testing/lora/lora-files';
import { withoutBlocks } from '../../testing/model-folder/without-block';
import { SLG_INPUT } from '../../model-folder/slg-switch';
import { randn } from '../noise';
import { denoise, encodePrompts, type Conditioning, type DenoiseParams } from '../pipeline';
import { eulerStep, flowMatchSigmas } from '../scheduler';
import { LoadedModel } from '../sessions';
import { PromptTokenizers } from '../tokenizers/index';

const f32 = Math.fround;
let tmp = '';
const VARIANTS: Record<string, TinyModelOptions> = {
  'optimum-fp32': { layout: 'optimum', io: 'fp32', size: 'micro', mmdit: 'medium' },
  'tensorstack-fp16': { layout: 'tensorstack', io: 'fp16', size: 'micro', mmdit: 'medium' },
  'optimum-fp16': { layout: 'optimum', io: 'fp16', size: 'micro', mmdit: 'medium' },
};
const opts = (graphsDir: string) => ({ ep: 'cpu' as const, memory: 'fast' as const, threads: 1, graphsDir });
const loaded: LoadedModel[] = [];

async function load(dir: string): Promise<LoadedModel> {
  const m = await LoadedModel.load(dir, opts(path.join(tmp, 'graphs')));
  loaded.push(m);
  return m;
}

/** A copy of a tiny model folder whose transformer graph has `blocks` removed (the weights file copied as is). */
function folderWithout(dir: string, options: TinyModelOptions, blocks: readonly number[]): string {
  const out = `${dir}-without-${blocks.join('-')}`;
  fs.cpSync(dir, out, { recursive: true });
  const graph = path.join(out, LAYOUT_FILES[options.layout ?? 'optimum'].transformerDir, 'model.onnx');
  fs.writeFileSync(graph, withoutBlocks(fs.readFileSync(graph), blocks));
  return out;
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-slg-pipeline-'));
  for (const [name, options] of Object.entries(VARIANTS)) await writeTinyModel(path.join(tmp, name), options);
  await writeTinyModel(path.join(tmp, 'plain'), { layout: 'optimum', io: 'fp32', size: 'micro' });
}, 120_000);
afterAll(async () => {
  for (const m of loaded) await m.release();
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function conditioning(model: LoadedModel, cfg: boolean): Promise<Conditioning> {
  const tok = await PromptTokenizers.load(model.folder);
  return encodePrompts(model, cfg ? [tok.encode('blurry'), tok.encode('a red fox')] : [tok.encode('a red fox')], true);
}

/**
 * diffusers' loop, written again: schedule, noise, one CFG batch per step, v = u + g·(c − u); at the steps in
 * `window` (given by hand, not computed from start/end) one positive-only pass of `skipped` (the graph without
 * the blocks) and v += (c − skip)·scale; x += (σ_next − σ)·v. All float32.
 */
async function referenceLoop(plain: LoadedModel, skipped: LoadedModel, cond: Conditioning, p: DenoiseParams & { slg: Slg }, window: readonly number[]): Promise<Float32Array> {
  const h = p.height / 8;
  const w = p.width / 8;
  const plane = 16 * h * w;
  const { sigmas, timesteps } = flowMatchSigmas(p.steps, 3);
  const x = randn(Number(p.seed), [1, 16, h, w]);
  const both = await plain.transformerConditioning(cond.context, cond.contextDims, cond.pooled, cond.pooledDims);
  const half = (a: Float32Array): Float32Array => a.slice(a.length / 2);
  const positive = await skipped.transformerConditioning(half(cond.context), [1, ...cond.contextDims.slice(1)], half(cond.pooled), [1, cond.pooledDims[1]!]);
  const g = f32(p.guidance);
  const s = f32(p.slg.scale);
  for (let i = 0; i < p.steps; i++) {
    const input = new Float32Array(2 * plane);
    input.set(x, 0);
    input.set(x, plane);
    const out = await plain.runTransformer(both, input, [2, 16, h, w], new Float32Array(2).fill(timesteps[i]!));
    const v = new Float32Array(plane);
    for (let k = 0; k < plane; k++) v[k] = out[k]! + f32(g * f32(out[plane + k]! - out[k]!));
    if (window.includes(i)) {
      const skip = await skipped.runTransformer(positive, x.slice(), [1, 16, h, w], new Float32Array(1).fill(timesteps[i]!));
      for (let k = 0; k < plane; k++) v[k] = v[k]! + f32(f32(out[plane + k]! - skip[k]!) * s);
    }
    eulerStep(x, v, sigmas[i]!, sigmas[i + 1]!);
  }
  return x;
}

/** The transformer calls of a run: batch and which blocks were switched off. */
function calls(model: LoadedModel): { batch: number; skipped: number[] }[] {
  return (model.trace ?? [])
    .filter((t) => t.component === 'transformer')
    .map((t) => {
      const flags = t.feeds[SLG_INPUT]?.data as Uint8Array | undefined;
      const sample = Object.values(t.feeds).find((f) => f.dims.length === 4);
      return { batch: Number(sample?.dims[0]), skipped: flags ? [...flags].flatMap((f, k) => (f ? [k] : [])) : [] };
    });
}

const BASE = { seed: '4321', steps: 10, guidance: 4.5, width: 64, height: 64 };

describe('Skip-Layer Guidance equals diffusers\' loop over the graph without those blocks', { timeout: 300_000 }, () => {
  for (const [name, options] of Object.entries(VARIANTS)) {
    it(`${name}: layers 1,2, window 0.2–0.5 of 10 steps → steps 3 and 4 only (2 and 5 are the edges, excluded)`, async () => {
      const dir = path.join(tmp, name);
      const model = await load(dir);
      const plain = await load(dir);
      const slg: Slg = { layers: [1, 2], scale: 2.8, start: 0.2, end: 0.5 };
      const skipped = await load(folderWithout(dir, options, slg.layers));
      const cond = await conditioning(model, true);
      const p = { ...BASE, slg };
      model.trace = [];
      const out = await denoise(model, cond, p);
      const seen = calls(model);
      model.trace = undefined;
      // 10 CFG passes with every block on, and exactly two positive-only passes with blocks 1 and 2 off.
      expect(seen.filter((c) => c.batch === 2)).toEqual(Array.from({ length: 10 }, () => ({ batch: 2, skipped: [] })));
      expect(seen.filter((c) => c.batch === 1)).toEqual([
        { batch: 1, skipped: [1, 2] },
        { batch: 1, skipped: [1, 2] },
      ]);
      // …and they come right after the CFG passes of steps 3 and 4.
      expect(seen.findIndex((c) => c.batch === 1)).toBe(4);
      expect(seen.slice(4, 7).map((c) => c.batch)).toEqual([1, 2, 1]);
      const reference = await referenceLoop(plain, skipped, cond, p, [3, 4]);
      expect(Array.from(out)).toEqual(Array.from(reference));
      // SLG changed the image (scale > 0 inside the window), and the switch graph with every block on is the original.
      const noSlg = await denoise(plain, cond, BASE);
      expect(Array.from(out)).not.toEqual(Array.from(noSlg));
      expect(Array.from(await denoise(model, cond, BASE))).toEqual(Array.from(noSlg));
    });
  }

  it('diffusers\' documented window 0.01–0.2 over 10 steps is step 1 alone (0 is not above 0.1; 2 is not below 2)', async () => {
    const dir = path.join(tmp, 'optimum-fp32');
    const model = await load(dir);
    const plain = await load(dir);
    const slg: Slg = { layers: [3], scale: 2.5, start: 0.01, end: 0.2 };
    const skipped = await load(folderWithout(dir, VARIANTS['optimum-fp32']!, slg.layers));
    const cond = await conditioning(model, true);
    model.trace = [];
    const out = await denoise(model, cond, { ...BASE, slg });
    expect(calls(model).filter((c) => c.batch === 1)).toEqual([{ batch: 1, skipped: [3] }]);
    model.trace = undefined;
    expect(Array.from(out)).toEqual(Array.from(await referenceLoop(plain, skipped, cond, { ...BASE, slg }, [1])));
  });

  it('guidance ≤ 1: no extra pass, the switch graph is not even loaded, the image is the one without SLG', async () => {
    const model = await load(path.join(tmp, 'optimum-fp32'));
    const cond = await conditioning(model, false);
    const p = { ...BASE, guidance: 1, slg: { layers: [1], scale: 2.8, start: 0, end: 1 } };
    model.trace = [];
    const out = await denoise(model, cond, p);
    const seen = calls(model);
    const switchFed = model.trace.some((t) => SLG_INPUT in t.feeds);
    model.trace = undefined;
    expect(seen).toEqual(Array.from({ length: 10 }, () => ({ batch: 1, skipped: [] })));
    expect(switchFed).toBe(false);
    expect(Array.from(out)).toEqual(Array.from(await denoise(model, cond, { ...BASE, guidance: 1 })));
  });

  it('a scale of 0 makes no extra pass', async () => {
    const model = await load(path.join(tmp, 'optimum-fp32'));
    const cond = await conditioning(model, true);
    model.trace = [];
    await denoise(model, cond, { ...BASE, slg: { layers: [1], scale: 0, start: 0, end: 1 } });
    expect(calls(model).length).toBe(10);
    model.trace = undefined;
  });

  it('layers outside the model\'s blocks: invalid_input naming the count, before any step', async () => {
    const model = await load(path.join(tmp, 'optimum-fp32'));
    const cond = await conditioning(model, true);
    model.trace = [];
    await expect(denoise(model, cond, { ...BASE, slg: { layers: [2, 7, 8, 9], scale: 2.8, start: 0.01, end: 0.2 } })).rejects.toMatchObject({
      code: 'invalid_input',
      message: `SLG layers 7, 8, 9 are outside this model's ${TINY_MMDIT.blocks} joint blocks (0–3).`,
    });
    expect(calls(model)).toEqual([]);
    model.trace = undefined;
  });

  it('a transformer without diffusers\' block names: unavailable, with the reason; the model still generates without SLG', async () => {
    const model = await load(path.join(tmp, 'plain'));
    const cond = await conditioning(model, true);
    await expect(denoise(model, cond, { ...BASE, slg: { layers: [1], scale: 2.8, start: 0.01, end: 0.2 } })).rejects.toMatchObject({
      code: 'unavailable',
      message: expect.stringMatching(/^Skip-Layer Guidance is not available for this model: .*no nodes named \/transformer_blocks\.N\//),
    });
    expect((await denoise(model, cond, BASE)).every(Number.isFinite)).toBe(true);
  });

  it('with a LoRA: the switch is made over the LoRA\'d graph (= diffusers\' loop over LoRA\'d graphs without the blocks)', async () => {
    const dir = path.join(tmp, 'optimum-fp32');
    const D = TINY_MMDIT.hidden;
    const file = path.join(tmp, 'slg-lora.safetensors');
    writeTestLora(file, 'diffusers', [
      { module: 'transformer_blocks.1.attn.to_out.0', rank: 4, in: D, out: D, alpha: 4, seed: 11 },
      { module: 'transformer_blocks.3.ff.net.0.proj', rank: 4, in: D, out: 4 * D, alpha: 4, seed: 12 },
    ]);
    const use = [{ path: file, sha256: crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex'), strength: 0.8 }];
    const slg: Slg = { layers: [1], scale: 2.8, start: 0.2, end: 0.5 };
    const model = await load(dir);
    const plain = await load(dir);
    const skipped = await load(folderWithout(dir, VARIANTS['optimum-fp32']!, slg.layers));
    for (const m of [model, plain, skipped]) await m.useLoras(use);
    const cond = await conditioning(model, true);
    const out = await denoise(model, cond, { ...BASE, slg });
    expect(Array.from(out)).toEqual(Array.from(await referenceLoop(plain, skipped, cond, { ...BASE, slg }, [3, 4])));
    // Without the LoRA again (the switch over the model's own graph), SLG still equals its reference.
    for (const m of [model, plain, skipped]) await m.useLoras([]);
    expect(Array.from(await denoise(model, cond, { ...BASE, slg }))).toEqual(Array.from(await referenceLoop(plain, skipped, cond, { ...BASE, slg }, [3, 4])));
  });
});
