// The sampling interface inside the pipeline, on the tiny models (both layouts, fp32 and fp16 I/O):
// `normal` + `euler` is the loop the studio ran before samplers existed, bit for bit (that loop is written again
// here: diffusers' schedule, one transformer call per step, CFG on the velocity, x += (σ_next − σ)·v); every other
// sampler and schedule runs end to end and changes the result; Heun makes its extra calls.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyModel, type TinyModelOptions } from '../../../e2e/support/tiny-model';
import { SAMPLERS, SCHEDULERS } from '../../../src-shared/generation';
import { randn } from '../noise';
import { combineGuidance, denoise, encodePrompts, generate, type DenoiseParams } from '../pipeline';
import { eulerStep, flowMatchSigmas } from '../scheduler';
import { LoadedModel } from '../sessions';
import { PromptTokenizers } from '../tokenizers/index';

let tmp = '';
const models = new Map<string, LoadedModel>();
const VARIANTS: Record<string, TinyModelOptions> = {
  optimum: { layout: 'optimum', io: 'fp32', size: 'micro' },
  tensorstack16: { layout: 'tensorstack', io: 'fp16', size: 'micro' },
};

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-sampling-'));
  for (const [name, options] of Object.entries(VARIANTS)) {
    const dir = path.join(tmp, name);
    await writeTinyModel(dir, options);
    models.set(name, await LoadedModel.load(dir, { ep: 'cpu', memory: 'fast', threads: 1 }));
  }
});
afterAll(async () => {
  for (const m of models.values()) await m.release();
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function conditioning(model: LoadedModel, cfg: boolean) {
  const tok = await PromptTokenizers.load(model.folder);
  const prompts = cfg ? [tok.encode('blurry'), tok.encode('a red fox')] : [tok.encode('a red fox')];
  return encodePrompts(model, prompts, true);
}

/** The pre-sampler loop of pipeline.ts, verbatim in behaviour. */
async function previousLoop(model: LoadedModel, cond: Awaited<ReturnType<typeof conditioning>>, p: DenoiseParams): Promise<Float32Array> {
  const cfg = p.guidance > 1;
  const batch = cfg ? 2 : 1;
  const h = p.height / 8;
  const w = p.width / 8;
  const plane = 16 * h * w;
  const { sigmas, timesteps } = flowMatchSigmas(p.steps, 3);
  const latents = randn(Number(p.seed), [1, 16, h, w]);
  const tc = await model.transformerConditioning(cond.context, cond.contextDims, cond.pooled, cond.pooledDims);
  for (let i = 0; i < p.steps; i++) {
    const sample = new Float32Array(batch * plane);
    for (let b = 0; b < batch; b++) sample.set(latents, b * plane);
    const out = await model.runTransformer(tc, sample, [batch, 16, h, w], new Float32Array(batch).fill(timesteps[i]!));
    eulerStep(latents, cfg ? combineGuidance(out, p.guidance) : out, sigmas[i]!, sigmas[i + 1]!);
  }
  return latents;
}

const BASE: DenoiseParams = { seed: '1234', steps: 5, guidance: 4.5, width: 64, height: 48 };

describe('normal + euler is unchanged, bit for bit', () => {
  for (const name of Object.keys(VARIANTS)) {
    for (const guidance of [0, 4.5]) {
      it(`${name}, guidance ${guidance}: implicit defaults and explicit normal/euler/shift 3 equal the previous loop`, async () => {
        const model = models.get(name)!;
        const cond = await conditioning(model, guidance > 1);
        const p = { ...BASE, guidance };
        const before = await previousLoop(model, cond, p);
        expect(Array.from(await denoise(model, cond, p))).toEqual(Array.from(before));
        expect(Array.from(await denoise(model, cond, { ...p, sampler: 'euler', scheduler: 'normal', shift: 3 }))).toEqual(Array.from(before));
      });
    }
  }
});

describe('every sampler on every schedule, end to end', () => {
  it('runs, stays finite, and differs from normal/euler; Heun calls the transformer 2N−1 times', async () => {
    const model = models.get('optimum')!;
    const cond = await conditioning(model, true);
    const reference = Array.from(await denoise(model, cond, BASE));
    for (const sampler of SAMPLERS) {
      for (const scheduler of SCHEDULERS) {
        if (sampler === 'euler' && scheduler === 'normal') continue;
        model.trace = [];
        const out = await denoise(model, cond, { ...BASE, sampler, scheduler });
        const calls = model.trace.filter((t) => t.component === 'transformer').length;
        model.trace = undefined;
        expect(out.every(Number.isFinite)).toBe(true);
        expect(Array.from(out)).not.toEqual(reference);
        expect(calls).toBe(sampler === 'heun' ? 2 * BASE.steps - 1 : BASE.steps);
      }
    }
  });
  it('a different shift changes the schedule and so the image', async () => {
    const model = models.get('optimum')!;
    const cond = await conditioning(model, true);
    const a = await denoise(model, cond, { ...BASE, scheduler: 'sgm_uniform' });
    const b = await denoise(model, cond, { ...BASE, scheduler: 'sgm_uniform', shift: 6 });
    expect(Array.from(a)).not.toEqual(Array.from(b));
  });
  it('progress counts the schedule\'s steps', async () => {
    const model = models.get('optimum')!;
    const cond = await conditioning(model, false);
    const seen: string[] = [];
    await denoise(model, cond, { ...BASE, guidance: 0, sampler: 'heun', scheduler: 'beta' }, { onStep: (p) => void seen.push(`${p.step}/${p.total}`) });
    expect(seen).toEqual(['1/5', '2/5', '3/5', '4/5', '5/5']);
  });
});

describe('generate() hands the request\'s sampling choices to the loop', () => {
  // Once, runGeneration built the loop's parameters without them: every image came out euler/normal whatever was asked.
  it('sampler, schedule and shift of the request change the transformer calls and the image', async () => {
    const model = models.get('optimum')!;
    const req = { prompt: 'a red fox', negativePrompt: 'blurry', seed: '1234', steps: 4, guidance: 4.5, width: 64, height: 64, t5: true };
    const count = async (extra: object): Promise<{ calls: number; rgb: number[] }> => {
      model.trace = [];
      const out = await generate(model, { ...req, ...extra });
      const calls = model.trace.filter((t) => t.component === 'transformer').length;
      model.trace = undefined;
      return { calls, rgb: Array.from(out.rgb) };
    };
    const plain = await count({});
    expect(plain.calls).toBe(4);
    expect((await count({ sampler: 'heun' })).calls).toBe(7);
    expect((await count({ scheduler: 'sgm_uniform' })).rgb).not.toEqual(plain.rgb);
    expect((await count({ shift: 6 })).rgb).not.toEqual(plain.rgb);
    expect((await count({ sampler: 'euler', scheduler: 'normal', shift: 3 })).rgb).toEqual(plain.rgb);
  });
});
