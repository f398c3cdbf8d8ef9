import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { TINY_ANALYTIC, writeTinyModel, type TinyModelOptions } from '../../e2e/support/tiny-model';
import { StudioError } from '../../src-shared/errors';
import { randn } from './noise';
import { GENERATION_LIMITS, PARAM_TEXT, seedMessage } from '../../src-shared/generation';
import { generationStepSchema, type GenerationStep } from '../../src-shared/progress';
import {
  combineGuidance,
  denoise,
  encodePrompts,
  generate,
  imageToRgb,
  unscaleLatents,
  validateRequest,
  type GenerateRequest,
  type PreviewRgb,
} from './pipeline';
import { flowMatchSigmas } from './scheduler';
import { LoadedModel } from './sessions';
import { type SessionOptions } from './ort-session';
import { PromptTokenizers } from './tokenizers/index';

const REQ: GenerateRequest = {
  prompt: 'a photo of a cat',
  negativePrompt: '',
  seed: '42',
  steps: 3,
  guidance: 4.5,
  width: 96,
  height: 64,
  t5: true,
};

function invalidField(req: Record<string, unknown>): string | undefined {
  try {
    validateRequest({ ...REQ, ...req } as unknown as GenerateRequest);
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(StudioError);
    expect((err as StudioError).code).toBe('invalid_input');
    return (err as StudioError).details?.field as string;
  }
}

describe('validateRequest', () => {
  it('accepts the limits themselves', () => {
    expect(invalidField({})).toBeUndefined();
    expect(invalidField({ width: 64, height: 2048, steps: 1, guidance: 0 })).toBeUndefined();
    expect(invalidField({ width: 2048, height: 2048, steps: 150, guidance: 30 })).toBeUndefined();
    expect(invalidField({ prompt: 'x'.repeat(10_000), negativePrompt: 'y'.repeat(10_000), seed: '18446744073709551615' })).toBeUndefined();
    expect(GENERATION_LIMITS.maxPixels).toBe(2048 * 2048);
  });
  it('refuses sizes that are not multiples of 16, too small, too large', () => {
    expect(invalidField({ width: 520 })).toBe('width');
    expect(invalidField({ height: 48 })).toBe('height');
    expect(invalidField({ width: 2064 })).toBe('width');
    expect(invalidField({ height: 1000.5 })).toBe('height');
  });
  it('refuses steps, guidance, seeds and prompts out of range', () => {
    expect(invalidField({ steps: 0 })).toBe('steps');
    expect(invalidField({ steps: 151 })).toBe('steps');
    expect(invalidField({ steps: 2.5 })).toBe('steps');
    expect(invalidField({ guidance: -0.1 })).toBe('guidance');
    expect(invalidField({ guidance: 30.5 })).toBe('guidance');
    expect(invalidField({ guidance: Number.NaN })).toBe('guidance');
    expect(invalidField({ seed: '-1' })).toBe('seed');
    expect(invalidField({ seed: '1.5' })).toBe('seed');
    expect(invalidField({ seed: '18446744073709551616' })).toBe('seed');
    expect(invalidField({ seed: 42 as unknown as string })).toBe('seed');
    expect(invalidField({ prompt: 'x'.repeat(10_001) })).toBe('prompt');
    expect(invalidField({ negativePrompt: 'x'.repeat(10_001) })).toBe('negativePrompt');
    expect(invalidField({ t5: 'yes' })).toBe('t5');
    expect(invalidField({ prompt: ' ' })).toBe('prompt');
  });
  it("says what is wrong in THE schema's words (the same sentence as the form and the CLI)", () => {
    const messageOf = (req: Record<string, unknown>): string => {
      try {
        validateRequest({ ...REQ, ...req } as unknown as GenerateRequest);
      } catch (err) {
        return (err as Error).message;
      }
      return 'accepted';
    };
    const big = '18446744073709551616';
    expect(messageOf({ seed: big })).toBe(seedMessage(big));
    const long = 'x'.repeat(200 * 1024);
    expect(messageOf({ prompt: long })).toBe(PARAM_TEXT.promptLength('prompt', long));
    expect(messageOf({ prompt: '\t ' })).toBe(PARAM_TEXT.promptBlank);
    expect(messageOf({ steps: 151 })).toBe(PARAM_TEXT.steps(151));
    expect(messageOf({ guidance: -0.1 })).toBe(PARAM_TEXT.guidance(-0.1));
    expect(messageOf({ width: 520 })).toBe(PARAM_TEXT.side('width', 520));
  });
});

describe('numeric helpers', () => {
  it('combineGuidance: uncond + g·(cond − uncond)', () => {
    const out = Float32Array.from([1, 2, -1, 3, 4, 1]); // uncond [1,2,-1], cond [3,4,1]
    expect(Array.from(combineGuidance(out, 4.5))).toEqual([10, 11, 8]);
    expect(Array.from(combineGuidance(out, 1))).toEqual([3, 4, 1]);
  });

  it('unscaleLatents: z / 1.5305 + 0.0609', () => {
    const r = unscaleLatents(Float32Array.from([0, 1.5305, -3.061]));
    expect(r[0]).toBeCloseTo(0.0609, 7);
    expect(r[1]).toBeCloseTo(1.0609, 6);
    expect(r[2]).toBeCloseTo(-1.9391, 6);
  });

  it('imageToRgb: clamps, scales by 255, rounds half to even, writes HWC', () => {
    // 1×2 image: pixel 0 = (-1, 0, 1), pixel 1 = (-2, 2, NaN)
    const img = Float32Array.from([-1, -2, 0, 2, 1, Number.NaN]);
    expect(Array.from(imageToRgb(img, 1, 2))).toEqual([0, 128, 255, 0, 255, 0]);
    // Exact halves k + 0.5 in float32 must round to the even neighbour.
    const f = Math.fround;
    let checked = 0;
    for (let k = 0; k < 255; k++) {
      const v = f((k + 0.5) / 255);
      const x = f((v - 0.5) * 2);
      if (f(f(x / 2) + 0.5) !== v || f(v * 255) !== k + 0.5) continue;
      const got = imageToRgb(Float32Array.from([x, x, x]), 1, 1)[0];
      expect(got, `k=${k}`).toBe(k % 2 === 0 ? k : k + 1);
      checked += 1;
    }
    expect(checked).toBeGreaterThan(10);
  });
});

// ---------------------------------------------------------------------------------------------

let tmp: string;
const dirs: Record<string, string> = {};
const loaded = new Map<string, Promise<LoadedModel>>();
const cpu = (memory: SessionOptions['memory'] = 'balanced'): SessionOptions => ({ ep: 'cpu', threads: 1, memory });

/** One LoadedModel per folder and memory mode, shared by the tests (as the worker keeps it between jobs). */
function load(name: string, memory: SessionOptions['memory'] = 'balanced'): Promise<LoadedModel> {
  const key = `${name}:${memory}`;
  let m = loaded.get(key);
  if (!m) {
    m = LoadedModel.load(dirs[name] as string, cpu(memory));
    loaded.set(key, m);
  }
  return m;
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-pipeline-'));
  const make = async (name: string, options: TinyModelOptions): Promise<void> => {
    dirs[name] = path.join(tmp, name);
    await writeTinyModel(dirs[name] as string, options);
  };
  await make('optimum', { layout: 'optimum', io: 'fp32', size: 'micro' });
  await make('optimum16', { layout: 'optimum', io: 'fp16', size: 'micro' });
  await make('tensorstack', { layout: 'tensorstack', io: 'fp32', size: 'micro' });
  await make('tensorstack16', { layout: 'tensorstack', io: 'fp16', size: 'micro' });
  await make('analytic', { layout: 'optimum', io: 'fp32', size: 'micro', analytic: true });
  await make('noT5', { layout: 'optimum', io: 'fp32', size: 'micro', t5: false });
});
afterAll(async () => {
  for (const m of loaded.values()) await (await m).release();
  fs.rmSync(tmp, { recursive: true, force: true });
});

function meanAbsDiff(a: Uint8Array, b: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs((a[i] as number) - (b[i] as number));
  return s / a.length;
}

function spread(rgb: Uint8Array): number {
  let min = 255;
  let max = 0;
  for (const v of rgb) {
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  return max - min;
}

describe('generate end to end (tiny models)', () => {
  for (const name of ['optimum', 'optimum16', 'tensorstack', 'tensorstack16']) {
    it(`${name}: an image of the requested size, the roles and EP recorded`, async () => {
      const m = await load(name);
      const r = await generate(m, REQ);
      expect(r.width).toBe(96);
      expect(r.height).toBe(64);
      expect(r.rgb).toBeInstanceOf(Uint8Array);
      expect(r.rgb).toHaveLength(96 * 64 * 3);
      expect(spread(r.rgb)).toBeGreaterThan(20); // not a flat image
      expect(r.ep).toBe('cpu');
      expect(r.t5).toBe(true);
      expect(r.clipHidden).toBe(name.startsWith('optimum') ? 'penultimate' : 'last');
      expect(r.timings.totalMs).toBeGreaterThanOrEqual(r.timings.encodeMs + r.timings.denoiseMs);
      expect(r.dropped).toEqual({ clip: 0, t5: 0 });
    });
  }

  it('fp16 I/O gives nearly the fp32 image (same weights; only the I/O is half precision)', async () => {
    const a = await generate(await load('tensorstack'), REQ);
    const b = await generate(await load('tensorstack16'), REQ);
    expect(meanAbsDiff(a.rgb, b.rgb)).toBeLessThan(2);
  });

  it('same seed → identical pixels (also warm, and across memory modes); different seed → different pixels', async () => {
    const m = await load('optimum');
    const a = await generate(m, REQ);
    const b = await generate(m, REQ);
    expect(Buffer.from(b.rgb).equals(Buffer.from(a.rgb))).toBe(true);
    const low = await generate(await load('optimum', 'low'), REQ);
    expect(Buffer.from(low.rgb).equals(Buffer.from(a.rgb))).toBe(true);
    const fast = await generate(await load('optimum', 'fast'), REQ);
    expect(Buffer.from(fast.rgb).equals(Buffer.from(a.rgb))).toBe(true);
    const c = await generate(m, { ...REQ, seed: '43' });
    expect(meanAbsDiff(a.rgb, c.rgb)).toBeGreaterThan(1);
  });

  it('the prompt, the steps and T5 change the image', async () => {
    const m = await load('optimum');
    const a = await generate(m, REQ);
    expect(meanAbsDiff(a.rgb, (await generate(m, { ...REQ, prompt: 'a red dog on the moon' })).rgb)).toBeGreaterThan(0.5);
    expect(meanAbsDiff(a.rgb, (await generate(m, { ...REQ, steps: 4 })).rgb)).toBeGreaterThan(0.5);
    const noT5 = await generate(m, { ...REQ, t5: false });
    expect(noT5.t5).toBe(false);
    expect(meanAbsDiff(a.rgb, noT5.rgb)).toBeGreaterThan(0.1);
  });

  it('guidance ≤ 1 runs one positive pass: the negative prompt is irrelevant; with guidance 4.5 it matters', async () => {
    const m = await load('optimum');
    const g0a = await generate(m, { ...REQ, guidance: 0, negativePrompt: '' });
    const g0b = await generate(m, { ...REQ, guidance: 0, negativePrompt: 'blurry, ugly, red' });
    expect(Buffer.from(g0a.rgb).equals(Buffer.from(g0b.rgb))).toBe(true);
    const g1 = await generate(m, { ...REQ, guidance: 1, negativePrompt: 'blurry, ugly, red' });
    expect(Buffer.from(g1.rgb).equals(Buffer.from(g0a.rgb))).toBe(true); // g = 1 is also a single positive pass
    const cfgA = await generate(m, { ...REQ, guidance: 4.5, negativePrompt: '' });
    const cfgB = await generate(m, { ...REQ, guidance: 4.5, negativePrompt: 'blurry, ugly, red' });
    expect(meanAbsDiff(cfgA.rgb, cfgB.rgb)).toBeGreaterThan(0.5);
    expect(meanAbsDiff(cfgA.rgb, g0a.rgb)).toBeGreaterThan(0.5);
  });

  it('a model without text_encoder_3 generates with T5 off automatically', async () => {
    const r = await generate(await load('noT5'), REQ);
    expect(r.t5).toBe(false);
    expect(r.rgb).toHaveLength(96 * 64 * 3);
  });

  it('reports tokens dropped by truncation', async () => {
    const long = Array.from({ length: 120 }, (_, i) => (i % 2 ? 'cat' : 'dog')).join(' ');
    const r = await generate(await load('optimum'), { ...REQ, prompt: long, steps: 1 });
    expect(r.dropped.clip).toBe(120 - 75);
    expect(r.dropped.t5).toBe(0);
  });

  it('sends step progress, with previews only when asked', async () => {
    const m = await load('optimum');
    const seen: (GenerationStep & { previewRgb?: PreviewRgb })[] = [];
    await generate(m, { ...REQ, steps: 4 }, { onStep: (p, previewRgb) => void seen.push({ ...generationStepSchema.parse(p), previewRgb }), previews: true });
    expect(seen.map((p) => [p.step, p.total])).toEqual([
      [1, 4],
      [2, 4],
      [3, 4],
      [4, 4],
    ]);
    expect(seen[0]?.previewRgb?.width).toBe(12);
    expect(seen[0]?.previewRgb?.height).toBe(8);
    expect(seen[0]?.previewRgb?.data).toHaveLength(12 * 8 * 3);
    expect(seen[3]?.elapsedMs).toBeGreaterThanOrEqual(seen[0]?.elapsedMs as number);
    const plain: (GenerationStep & { previewRgb?: PreviewRgb })[] = [];
    await generate(m, REQ, { onStep: (p, previewRgb) => void plain.push({ ...p, previewRgb }) });
    expect(plain).toHaveLength(3);
    expect(plain.every((p) => p.previewRgb === undefined)).toBe(true);
  });

  it('low memory mode leaves no session resident after a job', async () => {
    const m = await load('optimum', 'low');
    await generate(m, REQ);
    expect(m.residentComponents()).toEqual([]);
  });
});

describe('the analytic model: the Euler loop against its closed form', () => {
  // v = a·x + b·c_i with c_i = t_i/1000 + m (m = mean(context) + mean(pooled), with CFG
  // m = m_u + g·(m_c − m_u)); so x_{i+1} = (1 + a·Δ_i)·x_i + b·Δ_i·c_i, Δ_i = σ_{i+1} − σ_i, and
  // x_N = P_0·x_0 + Σ_i b·Δ_i·c_i·P_{i+1} with P_k = Π_{j≥k} (1 + a·Δ_j).
  function closedForm(x0: Float32Array, steps: number, m: number): Float64Array {
    const { sigmas, timesteps } = flowMatchSigmas(steps, 3);
    const { a, b } = TINY_ANALYTIC;
    const delta = (i: number): number => (sigmas[i + 1] as number) - (sigmas[i] as number);
    const P = (k: number): number => {
      let p = 1;
      for (let j = k; j < steps; j++) p *= 1 + a * delta(j);
      return p;
    };
    let q = 0;
    for (let i = 0; i < steps; i++) q += b * delta(i) * ((timesteps[i] as number) / 1000 + m) * P(i + 1);
    const p0 = P(0);
    return Float64Array.from(x0, (x) => p0 * x + q);
  }

  function meanOf(a: Float32Array, from: number, to: number): number {
    let s = 0;
    for (let i = from; i < to; i++) s += a[i] as number;
    return s / (to - from);
  }

  async function conditioningMeans(model: LoadedModel, prompts: string[]): Promise<{ cond: Awaited<ReturnType<typeof encodePrompts>>; means: number[] }> {
    const tok = await PromptTokenizers.load(model.folder);
    const cond = await encodePrompts(
      model,
      prompts.map((p) => tok.encode(p)),
      true,
    );
    const ctxSize = 333 * 4096;
    const means = prompts.map((_, b) => meanOf(cond.context, b * ctxSize, (b + 1) * ctxSize) + meanOf(cond.pooled, b * 2048, (b + 1) * 2048));
    return { cond, means };
  }

  for (const guidance of [0, 4.5]) {
    it(`latents match the closed form (guidance ${guidance}, 5 steps)`, async () => {
      const m = await load('analytic');
      const cfg = guidance > 1;
      const { cond, means } = await conditioningMeans(m, cfg ? ['blurry', 'a photo of a cat'] : ['a photo of a cat']);
      const effective = cfg ? (means[0] as number) + guidance * ((means[1] as number) - (means[0] as number)) : (means[0] as number);
      const params = { seed: '7', steps: 5, guidance, width: 64, height: 32 };
      const latents = await denoise(m, cond, params);
      const expected = closedForm(randn(7, [1, 16, 4, 8]), 5, effective);
      expect(latents).toHaveLength(expected.length);
      let maxErr = 0;
      for (let i = 0; i < latents.length; i++) maxErr = Math.max(maxErr, Math.abs((latents[i] as number) - (expected[i] as number)));
      expect(maxErr).toBeLessThan(2e-5);
    });
  }

  it('generate: pixels match the closed form through the decode (±1 level)', async () => {
    const m = await load('analytic');
    const req = { ...REQ, seed: '11', steps: 4, guidance: 3, negativePrompt: 'ugly', width: 80, height: 64 };
    const r = await generate(m, req);
    const { means } = await conditioningMeans(m, ['ugly', req.prompt]);
    const effective = (means[0] as number) + 3 * ((means[1] as number) - (means[0] as number));
    const z = closedForm(randn(11, [1, 16, 8, 10]), 4, effective);
    let maxDiff = 0;
    for (let y = 0; y < 64; y++) {
      for (let x = 0; x < 80; x++) {
        for (let c = 0; c < 3; c++) {
          const latent = z[c * 80 + Math.floor(y / 8) * 10 + Math.floor(x / 8)] as number;
          const image = latent / 1.5305 + 0.0609;
          const expected = Math.round(Math.min(1, Math.max(0, image / 2 + 0.5)) * 255);
          maxDiff = Math.max(maxDiff, Math.abs((r.rgb[(y * 80 + x) * 3 + c] as number) - expected));
        }
      }
    }
    expect(maxDiff).toBeLessThanOrEqual(1);
    expect(spread(r.rgb)).toBeGreaterThan(20);
  });
});

describe('cancel and hold', () => {
  it('an AbortSignal cancels between steps with StudioError cancelled', async () => {
    const m = await load('optimum');
    const controller = new AbortController();
    const steps: number[] = [];
    const err = await generate(m, { ...REQ, steps: 6 }, {
      signal: controller.signal,
      onStep: (p) => {
        steps.push(p.step);
        if (p.step === 2) controller.abort();
      },
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StudioError);
    expect((err as StudioError).code).toBe('cancelled');
    expect(steps).toEqual([1, 2]);
    // The model stays usable.
    expect((await generate(m, REQ)).rgb).toHaveLength(96 * 64 * 3);
  });

  it('an already aborted signal cancels before any work', async () => {
    const m = await load('optimum');
    const controller = new AbortController();
    controller.abort();
    const onStep = vi.fn();
    await expect(generate(m, REQ, { signal: controller.signal, onStep })).rejects.toMatchObject({ code: 'cancelled' });
    expect(onStep).not.toHaveBeenCalled();
  });

  it('SD35_TEST_HOLD=after-step:N holds after step N (announced on stderr) until cancelled', async () => {
    const m = await load('optimum');
    const env = { mode: process.env.SD35_TEST_MODE, hold: process.env.SD35_TEST_HOLD };
    const lines: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    process.env.SD35_TEST_MODE = '1';
    process.env.SD35_TEST_HOLD = 'after-step:2';
    try {
      const controller = new AbortController();
      const steps: number[] = [];
      let settled = false;
      const job = generate(m, { ...REQ, steps: 5 }, { signal: controller.signal, onStep: (p) => void steps.push(p.step) }).finally(() => {
        settled = true;
      });
      job.catch(() => undefined);
      for (let i = 0; i < 200 && !lines.includes('SD35_HOLD after-step:2\n'); i++) await new Promise((r) => setTimeout(r, 10));
      expect(lines).toContain('SD35_HOLD after-step:2\n');
      await new Promise((r) => setTimeout(r, 150));
      expect(settled).toBe(false); // still held
      expect(steps).toEqual([1, 2]);
      controller.abort();
      await expect(job).rejects.toMatchObject({ code: 'cancelled' });
      expect(steps).toEqual([1, 2]);
    } finally {
      spy.mockRestore();
      if (env.mode === undefined) delete process.env.SD35_TEST_MODE;
      else process.env.SD35_TEST_MODE = env.mode;
      if (env.hold === undefined) delete process.env.SD35_TEST_HOLD;
      else process.env.SD35_TEST_HOLD = env.hold;
    }
  });

  it('the hold point is ignored unless the test mode is on', async () => {
    const m = await load('optimum');
    const hold = process.env.SD35_TEST_HOLD;
    const mode = process.env.SD35_TEST_MODE;
    process.env.SD35_TEST_HOLD = 'after-step:1';
    delete process.env.SD35_TEST_MODE;
    try {
      expect((await generate(m, { ...REQ, steps: 2 })).rgb).toHaveLength(96 * 64 * 3);
    } finally {
      if (hold === undefined) delete process.env.SD35_TEST_HOLD;
      else process.env.SD35_TEST_HOLD = hold;
      if (mode !== undefined) process.env.SD35_TEST_MODE = mode;
    }
  });
});
