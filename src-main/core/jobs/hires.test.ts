// Hires fix as one generation (docs/architecture.md §5 "Hires fix"), on the tiny model in-process: the result equals a
// reference sequence written here (text to image at the base size → sharp Lanczos-3 to base × scale rounded to 16 →
// image to image at that size with the hires steps and strength, same seed); the progress runs over both passes.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyModel } from '../../../e2e/support/tiny-model';
import { hiresSize, type Hires } from '../../../src-shared/generation';
import type { GenerationStep } from '../../../src-shared/progress';
import { generate, type GenerateRequest } from '../../inference/pipeline';
import { LoadedModel } from '../../inference/sessions';
import { lanczos } from '../images/upscale';
import { generateWithHires, hiresSteps, type GenerateFn } from './hires';

let tmp: string;
let model: LoadedModel;
beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-hires-'));
  await writeTinyModel(path.join(tmp, 'model'), { layout: 'tensorstack', io: 'fp16', size: 'micro', vaeEncoder: true });
  model = await LoadedModel.load(path.join(tmp, 'model'), { ep: 'cpu', threads: 1, memory: 'balanced' });
});
afterAll(async () => {
  await model?.release();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const run: GenerateFn = async (request, onStep) => {
  const r = await generate(model, request, onStep ? { onStep: (s) => onStep(s) } : {});
  return { ...r, precision: 'fp16', timings: { loadMs: 0, ...r.timings }, modelReused: true };
};

const BASE: GenerateRequest = { prompt: 'a red boat', negativePrompt: 'fog', seed: '21', steps: 5, guidance: 3, width: 80, height: 64, t5: true };

describe('hires fix', () => {
  it('hiresSize: base × scale rounded to 16, refused past the limits', () => {
    expect(hiresSize(80, 64, 2)).toEqual({ width: 160, height: 128 });
    // 832·1.5 = 1248, 1216·1.5 = 1824 (multiples of 16); 1000·1.3 = 1300 → 1296 (81·16).
    expect(hiresSize(832, 1216, 1.5)).toEqual({ width: 1248, height: 1824 });
    expect(hiresSize(1000, 64, 1.3).width).toBe(1296);
    expect(() => hiresSize(1024, 1024, 2.5)).toThrow(/at most 2048/);
    expect(() => hiresSize(1536, 1536, 1.4)).toThrow(/4 MP/);
  });

  it('equals text to image → Lanczos → image to image, and counts both passes as one progress', async () => {
    const hires: Hires = { scale: 1.5, upscaler: 'lanczos', steps: 6, strength: 0.6 };
    const steps: GenerationStep[] = [];
    const upscaled: string[] = [];
    const out = await generateWithHires(
      run,
      async (image, w, h, name) => {
        upscaled.push(`${name} ${image.width}x${image.height}->${w}x${h}`);
        return lanczos(image, w, h);
      },
      BASE,
      hires,
      (s) => steps.push(s),
    );
    // 80×64 × 1.5 = 120×96 → 128×96 (120/16 = 7.5 rounds to 8).
    expect(upscaled).toEqual(['lanczos 80x64->128x96']);
    expect([out.result.width, out.result.height]).toEqual([128, 96]);
    expect(out.meta).toEqual({ scale: 1.5, upscaler: 'lanczos', steps: 6, strength: 0.6, width: 128, height: 96 });

    // The reference, step by step.
    const base = await generate(model, BASE);
    const big = await sharp(base.rgb, { raw: { width: 80, height: 64, channels: 3 } }).resize(128, 96, { fit: 'fill', kernel: 'lanczos3' }).raw().toBuffer();
    const want = await generate(model, { ...BASE, width: 128, height: 96, steps: 6, image: { rgb: new Uint8Array(big), strength: 0.6 } });
    expect(Buffer.from(out.result.rgb).equals(Buffer.from(want.rgb))).toBe(true);
    // Not simply the upscaled base image: the second pass changed it.
    expect(Buffer.from(out.result.rgb).equals(big)).toBe(false);

    // get_timesteps: 6 steps at 0.6 → t_start = int(6 − 3.6) = 2, 4 steps run; 5 + 4 = 9 in all.
    expect(hiresSteps(5, hires)).toEqual({ steps: 6, runSteps: 4, total: 9 });
    expect(steps.map((s) => s.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(new Set(steps.map((s) => s.total))).toEqual(new Set([9]));
  });

  it('steps 0 means the base step count', () => {
    expect(hiresSteps(28, { scale: 2, upscaler: 'lanczos', steps: 0, strength: 0.5 })).toEqual({ steps: 28, runSteps: 14, total: 42 });
  });
});
