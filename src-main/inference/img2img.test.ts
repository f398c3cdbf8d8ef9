// Image to image and inpainting against a reference loop written here from diffusers' formulas
// (pipeline_stable_diffusion_3_img2img.py get_timesteps / prepare_latents, FlowMatchEulerDiscreteScheduler.scale_noise
// and step, pipeline_stable_diffusion_3_inpaint.py's per-step blend, the text-to-image decode with the shift) and
// A1111's paste-back; only the networks (the tiny ONNX graphs) and the noise are shared with the code under test.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TINY_ANALYTIC, writeTinyModel, type TinyModelOptions } from '../../e2e/support/tiny-model';
import { StudioError } from '../../src-shared/errors';
import { strengthStart } from './img2img';
import { binarizeMask, blurMask, latentMask, overlayMask, pasteBack } from './masking';
import { randn } from './noise';
import { encodePrompts, generate, type GenerateRequest } from './pipeline';
import { flowMatchSigmas } from './scheduler';
import { LoadedModel } from './sessions';
import { PromptTokenizers } from './tokenizers/index';

const f = Math.fround;
const W = 96;
const H = 64;
const BASE: GenerateRequest = { prompt: 'a photo of a cat', negativePrompt: 'blurry', seed: '5', steps: 6, guidance: 3, width: W, height: H, t5: true };

let tmp: string;
const dirs: Record<string, string> = {};
const loaded = new Map<string, Promise<LoadedModel>>();
function load(name: string): Promise<LoadedModel> {
  let m = loaded.get(name);
  if (!m) {
    m = LoadedModel.load(dirs[name] as string, { ep: 'cpu', threads: 1, memory: 'balanced' });
    loaded.set(name, m);
  }
  return m;
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-img2img-'));
  const make = async (name: string, options: TinyModelOptions): Promise<void> => {
    dirs[name] = path.join(tmp, name);
    await writeTinyModel(dirs[name] as string, { vaeEncoder: true, ...options });
  };
  await make('optimum', { layout: 'optimum', io: 'fp32', size: 'micro' });
  await make('optimum16', { layout: 'optimum', io: 'fp16', size: 'micro' });
  await make('analytic', { layout: 'optimum', io: 'fp32', size: 'micro', analytic: true });
  await make('tensorstack', { layout: 'tensorstack', io: 'fp32', size: 'micro' });
  await make('tensorstack16', { layout: 'tensorstack', io: 'fp16', size: 'micro' });
  await make('noEncoder', { layout: 'optimum', io: 'fp32', size: 'micro', vaeEncoder: false });
});
afterAll(async () => {
  for (const m of loaded.values()) await (await m).release();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** A smooth, colourful source image (RGB bytes). */
function sourceImage(): Uint8Array {
  const rgb = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = (y * W + x) * 3;
      rgb[i] = Math.round((255 * x) / (W - 1));
      rgb[i + 1] = Math.round((255 * y) / (H - 1));
      rgb[i + 2] = (x * 7 + y * 13) % 256;
    }
  }
  return rgb;
}

function rectMask(x0: number, y0: number, x1: number, y1: number): Uint8Array {
  const m = new Uint8Array(W * H);
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) m[y * W + x] = 255;
  return m;
}

/** An L: a vertical bar and a horizontal foot, not aligned to the 8-px latent grid. */
function lMask(): Uint8Array {
  const m = rectMask(5, 3, 19, 45);
  for (let y = 31; y < 45; y++) for (let x = 5; x < 59; x++) m[y * W + x] = 255;
  return m;
}

// ---------------------------------------------------------------------------------------------
// The reference, from the formulas (nothing from img2img.ts, masking.ts or pipeline.ts' loop)

interface RefInput {
  strength: number;
  mask?: Uint8Array;
  blur?: number;
}

async function reference(model: LoadedModel, req: GenerateRequest, source: Uint8Array, input: RefInput): Promise<Uint8Array> {
  const plane = W * H;
  // VaeImageProcessor: uint8/255 as float32, then 2x − 1.
  const pixels = new Float32Array(3 * plane);
  for (let p = 0; p < plane; p++) for (let c = 0; c < 3; c++) pixels[c * plane + p] = f(f(f(source[p * 3 + c]! / 255) * 2) - 1);
  const moments = await model.encodeImage(pixels, [1, 3, H, W]);
  const h = H / 8;
  const w = W / 8;
  const lat = 16 * h * w;
  // latent_dist.mode() = the first 16 channels (of mean ‖ logvar, or the mean itself); (mean − shift) · scaling.
  const x0 = new Float32Array(lat);
  for (let i = 0; i < lat; i++) x0[i] = f(f(moments.data[i]! - f(0.0609)) * f(1.5305));
  // get_timesteps (Python floats).
  const tStart = Math.floor(Math.max(req.steps - Math.min(req.steps * input.strength, req.steps), 0));
  const { sigmas, timesteps } = flowMatchSigmas(req.steps, 3);
  const noise = randn(Number(req.seed), [1, 16, h, w]);
  const noised = (s: number): Float32Array => Float32Array.from(x0, (x, i) => f(f(f(s) * noise[i]!) + f(f(1 - f(s)) * x)));
  let m: Float32Array | undefined;
  if (input.mask) {
    m = new Float32Array(h * w);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) m[y * w + x] = input.mask[y * 8 * W + x * 8]! / 255 >= 0.5 ? 1 : 0;
  }
  let x = input.mask && input.strength === 1 ? noise.slice() : noised(sigmas[tStart]!);
  const tok = await PromptTokenizers.load(model.folder);
  const cond = await encodePrompts(model, [tok.encode(req.negativePrompt), tok.encode(req.prompt)], true);
  const tc = await model.transformerConditioning(cond.context, cond.contextDims, cond.pooled, cond.pooledDims);
  for (let i = tStart; i < req.steps; i++) {
    const sample = new Float32Array(2 * lat);
    sample.set(x, 0);
    sample.set(x, lat);
    const out = await model.runTransformer(tc, sample, [2, 16, h, w], new Float32Array(2).fill(timesteps[i]!));
    const dt = f(f(sigmas[i + 1]!) - f(sigmas[i]!));
    const next = new Float32Array(lat);
    for (let k = 0; k < lat; k++) {
      const v = f(out[k]! + f(f(req.guidance) * f(out[lat + k]! - out[k]!)));
      next[k] = f(x[k]! + f(dt * v));
    }
    if (m) {
      const proper = i < req.steps - 1 ? noised(sigmas[i + 1]!) : x0;
      for (let k = 0; k < lat; k++) {
        const mk = m[k % (h * w)]!;
        next[k] = f(f(f(1 - mk) * proper[k]!) + f(mk * next[k]!));
      }
    }
    x = next;
  }
  // Decode as text to image: z / scaling + shift.
  const z = Float32Array.from(x, (v) => f(f(v / f(1.5305)) + f(0.0609)));
  const img = await model.decodeLatents(z, [1, 16, h, w]);
  const rgb = new Uint8Array(plane * 3);
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) {
      const v = Math.min(1, Math.max(0, f(img.data[c * plane + p]! * 0.5 + 0.5)));
      const scaled = f(v * 255);
      // round half to even
      const fl = Math.floor(scaled);
      const d = scaled - fl;
      rgb[p * 3 + c] = d > 0.5 || (d === 0.5 && fl % 2 === 1) ? fl + 1 : fl;
    }
  }
  if (input.mask) {
    // A1111 apply_overlay with the binary mask blurred: out = (src·(255 − m) + gen·m)/255.
    const bin = Uint8Array.from(input.mask, (v) => (v >= 128 ? 255 : 0));
    const over = (input.blur ?? 0) > 0 ? blurMask(bin, W, H, input.blur!) : bin;
    for (let p = 0; p < plane; p++) {
      const mv = over[p]!;
      for (let c = 0; c < 3; c++) rgb[p * 3 + c] = Math.round((source[p * 3 + c]! * (255 - mv) + rgb[p * 3 + c]! * mv) / 255);
    }
  }
  return rgb;
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a).equals(Buffer.from(b));
}

function meanAbsDiff(a: Uint8Array, b: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i]! - b[i]!);
  return s / a.length;
}

// ---------------------------------------------------------------------------------------------

describe('strengthStart (diffusers get_timesteps)', () => {
  it('matches hand-derived values', () => {
    // 28·0.7 = 19.599999999999998 → t_start = int(8.400000000000002) = 8 → "20 of 28 steps"
    expect(strengthStart(28, 0.7)).toEqual({ startStep: 8, runSteps: 20 });
    expect(strengthStart(28, 1)).toEqual({ startStep: 0, runSteps: 28 });
    expect(strengthStart(50, 0.6)).toEqual({ startStep: 20, runSteps: 30 });
    expect(strengthStart(3, 0.5)).toEqual({ startStep: 1, runSteps: 2 });
    expect(strengthStart(10, 0.01)).toEqual({ startStep: 9, runSteps: 1 });
    expect(strengthStart(4, 0.3)).toEqual({ startStep: 2, runSteps: 2 }); // 4 − 1.2 = 2.8 → 2
  });
  it('refuses a strength outside (0, 1]', () => {
    for (const s of [0, -0.1, 1.01, Number.NaN]) expect(() => strengthStart(10, s)).toThrow(StudioError);
  });
});

describe('masks', () => {
  it('binarises at 128 and samples the latent grid at 8·index (nearest)', () => {
    expect([...binarizeMask(Uint8Array.from([0, 127, 128, 255]))]).toEqual([0, 0, 1, 1]);
    const m = new Uint8Array(16 * 16);
    m[8 * 16 + 8] = 1; // the top-left pixel of latent (1,1)
    m[0 * 16 + 7] = 1; // inside latent (0,0) but not its top-left pixel
    expect([...latentMask(m, 16, 16)]).toEqual([0, 0, 0, 1]);
  });
  it('blur: OpenCV kernel size 2·int(2.5σ + 0.5) + 1, reflect-101 borders, mass kept; 0 is a copy', () => {
    // A vertical line at x = 10: the vertical pass leaves it, the horizontal one spreads it over 11 taps (σ = 2:
    // kernel size 2·int(5.5) + 1 = 11), k_i = exp(−i²/8)/Σ_{j=−5..5} exp(−j²/8).
    const m = new Uint8Array(21 * 21);
    for (let y = 0; y < 21; y++) m[y * 21 + 10] = 255;
    const b = blurMask(m, 21, 21, 2);
    let s = 0;
    for (let i = -5; i <= 5; i++) s += Math.exp(-(i * i) / 8);
    for (let d = 0; d <= 5; d++) expect(b[10 * 21 + 10 + d]).toBe(Math.round((255 * Math.exp(-(d * d) / 8)) / s));
    expect(b[10 * 21 + 16]).toBe(0); // beyond the 5-px radius
    expect(b[10 * 21 + 4]).toBe(0);
    // reflect-101 at the border: a line at x = 0 gets its x = 1 tap twice (from x = −1 and x = 1)
    const e = new Uint8Array(21 * 21);
    for (let y = 0; y < 21; y++) e[y * 21] = 255;
    expect(blurMask(e, 21, 21, 2)[10 * 21 + 1]).toBe(Math.round((255 * Math.exp(-1 / 8)) / s));
    expect(same(blurMask(m, 21, 21, 0), m)).toBe(true);
  });
  it('pasteBack keeps the source exactly where the mask is 0 and the result where it is 255', () => {
    const src = Uint8Array.from([10, 20, 30, 40, 50, 60, 70, 80, 90]);
    const res = Uint8Array.from([200, 200, 200, 200, 200, 200, 200, 200, 200]);
    pasteBack(res, src, Uint8Array.from([0, 255, 51]));
    expect([...res]).toEqual([10, 20, 30, 200, 200, 200, Math.round((70 * 204 + 200 * 51) / 255), Math.round((80 * 204 + 200 * 51) / 255), Math.round((90 * 204 + 200 * 51) / 255)]);
    expect([...overlayMask(Uint8Array.from([0, 200, 100, 255]), 2, 2, 0)]).toEqual([0, 255, 0, 255]);
  });
});

describe('image to image on the tiny models: pixel parity with the reference loop', () => {
  for (const name of ['optimum', 'optimum16', 'tensorstack', 'tensorstack16']) {
    for (const [strength, steps] of [
      [0.5, 6],
      [0.75, 4],
      [0.3, 7],
      [1, 3],
    ] as const) {
      it(`${name}: strength ${strength}, ${steps} steps`, async () => {
        const m = await load(name);
        const source = sourceImage();
        const req = { ...BASE, steps };
        const r = await generate(m, { ...req, image: { rgb: source, strength } });
        const expected = await reference(m, req, source, { strength });
        expect(same(r.rgb, expected)).toBe(true);
      });
    }
  }

  it('strength 1.0 is text to image with the same seed (σ₀ = 1: scale_noise gives the noise itself)', async () => {
    const m = await load('optimum');
    const t2i = await generate(m, BASE);
    const i2i = await generate(m, { ...BASE, image: { rgb: sourceImage(), strength: 1 } });
    expect(same(i2i.rgb, t2i.rgb)).toBe(true);
  });

  it('the step progress counts only the steps run; the strength changes the result', async () => {
    const m = await load('optimum');
    const source = sourceImage();
    const totals: number[] = [];
    const low = await generate(m, { ...BASE, steps: 10, image: { rgb: source, strength: 0.2 } }, { onStep: (p) => void totals.push(p.total) });
    const high = await generate(m, { ...BASE, steps: 10, image: { rgb: source, strength: 0.9 } });
    expect(totals).toEqual([2, 2]);
    expect(meanAbsDiff(low.rgb, high.rgb)).toBeGreaterThan(1);
  });

  it('analytic model: encode → start latents are σ·noise + (1 − σ)·(pooled − shift)·scale (closed form of the first step)', async () => {
    const m = await load('analytic');
    const source = sourceImage();
    // One step from t_start = steps − 1: x1 = x_s + Δ·(a·x_s + b·c); with strength small only the last step runs.
    const steps = 5;
    const strength = 0.2; // 5·0.2 = 1 → t_start = 4
    const r = await generate(m, { ...BASE, guidance: 0, steps, image: { rgb: source, strength } });
    const { sigmas, timesteps } = flowMatchSigmas(steps, 3);
    const s4 = sigmas[4]!;
    const noise = randn(5, [1, 16, H / 8, W / 8]);
    const tok = await PromptTokenizers.load(m.folder);
    const cond = await encodePrompts(m, [tok.encode(BASE.prompt)], true);
    let mean = 0;
    for (const v of cond.context) mean += v;
    let pooled = 0;
    for (const v of cond.pooled) pooled += v;
    const c = timesteps[4]! / 1000 + mean / cond.context.length + pooled / cond.pooled.length;
    const { a, b } = TINY_ANALYTIC;
    let maxDiff = 0;
    const lw = W / 8;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const ly = Math.floor(y / 8);
        const lx = Math.floor(x / 8);
        for (let ch = 0; ch < 3; ch++) {
          // the analytic encoder: the 8×8 mean of the channel in [-1, 1]
          let sum = 0;
          for (let dy = 0; dy < 8; dy++) for (let dx = 0; dx < 8; dx++) sum += (source[((ly * 8 + dy) * W + lx * 8 + dx) * 3 + ch]! / 255) * 2 - 1;
          const x0 = (sum / 64 - 0.0609) * 1.5305;
          const k = ch * (H / 8) * lw + ly * lw + lx;
          const xs = s4 * noise[k]! + (1 - s4) * x0;
          const x1 = xs + (0 - s4) * (a * xs + b * c);
          const image = x1 / 1.5305 + 0.0609;
          const expected = Math.round(Math.min(1, Math.max(0, image / 2 + 0.5)) * 255);
          maxDiff = Math.max(maxDiff, Math.abs(r.rgb[(y * W + x) * 3 + ch]! - expected));
        }
      }
    }
    expect(maxDiff).toBeLessThanOrEqual(1);
  });
});

describe('inpainting on the tiny models', () => {
  for (const name of ['optimum', 'optimum16', 'tensorstack16']) {
    for (const [label, mask] of [
      ['rectangular', rectMask(16, 8, 48, 32)],
      ['L-shaped', lMask()],
    ] as const) {
      for (const strength of [0.6, 1]) {
        it(`${name}: ${label} mask, strength ${strength}: equals the reference; outside the mask the source pixels exactly`, async () => {
          const m = await load(name);
          const source = sourceImage();
          const r = await generate(m, { ...BASE, image: { rgb: source, strength, mask, maskBlur: 0 } });
          const expected = await reference(m, BASE, source, { strength, mask });
          expect(same(r.rgb, expected)).toBe(true);
          let outside = 0;
          let changedInside = 0;
          for (let p = 0; p < W * H; p++) {
            for (let c = 0; c < 3; c++) {
              if (mask[p] === 0) {
                expect(r.rgb[p * 3 + c]).toBe(source[p * 3 + c]);
                outside++;
              } else if (r.rgb[p * 3 + c] !== source[p * 3 + c]) changedInside++;
            }
          }
          expect(outside).toBeGreaterThan(0);
          expect(changedInside).toBeGreaterThan(0);
        });
      }
    }
  }

  it('mask blur 4: equals the reference; beyond the blur radius the source pixels exactly', async () => {
    const m = await load('optimum');
    const source = sourceImage();
    const mask = rectMask(16, 8, 48, 32);
    const r = await generate(m, { ...BASE, image: { rgb: source, strength: 0.8, mask, maskBlur: 4 } });
    expect(same(r.rgb, await reference(m, BASE, source, { strength: 0.8, mask, blur: 4 }))).toBe(true);
    const radius = 2 * Math.trunc(2.5 * 4 + 0.5) / 2; // 10 px
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const far = x < 16 - radius || x >= 48 + radius || y >= 32 + radius;
        if (far) for (let c = 0; c < 3; c++) expect(r.rgb[(y * W + x) * 3 + c]).toBe(source[(y * W + x) * 3 + c]);
      }
    }
  });
});

describe('refusals', () => {
  it('a model without a VAE encoder: not_found naming vae_encoder', async () => {
    const m = await load('noEncoder');
    await expect(generate(m, { ...BASE, image: { rgb: sourceImage(), strength: 0.5 } })).rejects.toMatchObject({ code: 'not_found' });
  });
  it('an encoder that samples inside its graph runs as its mean (the VAE mean pass): the same result twice', async () => {
    const m = await load('tensorstack');
    const req = { ...BASE, image: { rgb: sourceImage(), strength: 0.5 } };
    expect(same((await generate(m, req)).rgb, (await generate(m, req)).rgb)).toBe(true);
  });
  it('strength, image and mask sizes are checked before any work', async () => {
    const m = await load('optimum');
    const bad = async (image: GenerateRequest['image']) => generate(m, { ...BASE, ...(image ? { image } : {}) }).then(() => 'ok', (e: StudioError) => e.details?.field);
    expect(await bad({ rgb: sourceImage(), strength: 0 })).toBe('strength');
    expect(await bad({ rgb: sourceImage(), strength: 1.5 })).toBe('strength');
    expect(await bad({ rgb: new Uint8Array(10), strength: 0.5 })).toBe('init');
    expect(await bad({ rgb: sourceImage(), strength: 0.5, mask: new Uint8Array(10) })).toBe('mask');
  });
});
