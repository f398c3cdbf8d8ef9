// Outpaint and "Only masked" (docs/architecture.md §5): the canvas and crop math against hand-derived values, and
// end to end on the tiny models against a reference built here — the canvas and the crop/paste written again in this
// file from the descriptions (edge clamp + seeded noise; A1111's get_crop_region / expand_crop_region / apply_overlay),
// with the inpainting itself done by the pipeline, whose exactness img2img.test.ts proves against its own reference.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyModel } from '../../../e2e/support/tiny-model';
import { randn } from '../../inference/noise';
import { generate, type GenerateRequest } from '../../inference/pipeline';
import { LoadedModel } from '../../inference/sessions';
import { checkInitCombination, type InitImage } from '../../../src-shared/img2img';
import { cropRegion, expandCropRegion, outpaintCanvas } from './inpaint-area';
import { finishOnlyMasked, fittedSource, storeInput } from './inputs';

let tmp: string;
let model: LoadedModel;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-inpaint-area-'));
  await writeTinyModel(path.join(tmp, 'model'), { layout: 'optimum', io: 'fp32', size: 'micro', vaeEncoder: true });
  model = await LoadedModel.load(path.join(tmp, 'model'), { ep: 'cpu', threads: 1, memory: 'balanced' });
});
afterAll(async () => {
  await model?.release();
  fs.rmSync(tmp, { recursive: true, force: true });
});

function gradient(w: number, h: number): Uint8Array {
  const rgb = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 3;
      rgb[i] = (x * 5 + 20) % 256;
      rgb[i + 1] = (y * 9 + 7) % 256;
      rgb[i + 2] = (x * 3 + y * 11) % 256;
    }
  }
  return rgb;
}

async function keep(dataRoot: string, rgb: Uint8Array, w: number, h: number, channels: 1 | 3 = 3): Promise<string> {
  const png = await sharp(rgb, { raw: { width: w, height: h, channels } }).png().toBuffer();
  return (await storeInput(dataRoot, png)).sha256;
}

const BASE: Omit<GenerateRequest, 'width' | 'height'> = { prompt: 'a lighthouse', negativePrompt: '', seed: '11', steps: 4, guidance: 2.5, t5: true };

function same(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a).equals(Buffer.from(b));
}

describe('outpaint canvas', () => {
  it('copies the source, stretches the edges, adds the seeded noise there and masks exactly the new area', () => {
    // 2×2 source, 1 px left, 2 px bottom → 3×4 canvas.
    const src = Uint8Array.from([10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120]);
    const c = outpaintCanvas({ rgb: src, width: 2, height: 2 }, { left: 1, top: 0, right: 0, bottom: 2 }, '7');
    expect([c.width, c.height]).toEqual([3, 4]);
    const z = randn(7, [1, 3, 4, 3]);
    // Hand-derived source coordinate of each canvas pixel: x' = clamp(x − 1, 0, 1), y' = clamp(y, 0, 1).
    const srcAt = (x: number, y: number) => Math.min(1, Math.max(0, y)) * 2 + Math.min(1, Math.max(0, x - 1));
    for (let y = 0; y < 4; y++) {
      for (let x = 0; x < 3; x++) {
        const inside = x >= 1 && y < 2;
        expect(c.mask[y * 3 + x]).toBe(inside ? 0 : 255);
        for (let k = 0; k < 3; k++) {
          const edge = src[srcAt(x, y) * 3 + k]!;
          const want = inside ? edge : Math.min(255, Math.max(0, Math.round(edge + 32 * z[k * 12 + y * 3 + x]!)));
          expect(c.rgb[(y * 3 + x) * 3 + k]).toBe(want);
        }
      }
    }
  });

  it('refuses outpaint with a mask, with "Only masked", and with no pixels; "Only masked" needs a mask', () => {
    const mask = { sha256: 'a'.repeat(64), blur: 4 };
    expect(() => checkInitCombination({ outpaint: { left: 8, top: 0, right: 0, bottom: 0 }, mask })).toThrow(/cannot be combined with a mask/);
    expect(() => checkInitCombination({ outpaint: { left: 0, top: 0, right: 0, bottom: 0 } })).toThrow(/adds no pixels/);
    expect(() => checkInitCombination({ outpaint: { left: 8, top: 0, right: 0, bottom: 0 }, area: 'masked' })).toThrow(/whole picture/);
    expect(() => checkInitCombination({ area: 'masked' })).toThrow(/needs a mask/);
  });
});

describe('crop region (A1111 masking.py)', () => {
  it('get_crop_region: the bounding box grown by the padding and clipped', () => {
    const m = new Uint8Array(20 * 10);
    m[3 * 20 + 5] = 1;
    m[6 * 20 + 12] = 200;
    expect(cropRegion(m, 20, 10, 0)).toEqual({ x1: 5, y1: 3, x2: 13, y2: 7 });
    expect(cropRegion(m, 20, 10, 4)).toEqual({ x1: 1, y1: 0, x2: 17, y2: 10 });
    expect(() => cropRegion(new Uint8Array(4), 2, 2, 0)).toThrow(/all black/);
  });

  it('expand_crop_region: widened to the processing ratio, shifted back inside the image', () => {
    // The docstring's example: a 128×32 region processed at 512×512 becomes 128×128.
    expect(expandCropRegion({ x1: 100, y1: 200, x2: 228, y2: 232 }, 512, 512, 1024, 1024)).toEqual({ x1: 100, y1: 152, x2: 228, y2: 280 });
    // Tall region, wide processing: desired width = 40·2 = 80, diff 60 → 30 each side, then shifted left off the right edge.
    expect(expandCropRegion({ x1: 70, y1: 0, x2: 90, y2: 40 }, 128, 64, 100, 50)).toEqual({ x1: 20, y1: 0, x2: 100, y2: 40 });
    // Against the left edge: x1 = 5 − 30 < 0 → shifted right.
    expect(expandCropRegion({ x1: 5, y1: 0, x2: 25, y2: 40 }, 128, 64, 100, 50)).toEqual({ x1: 0, y1: 0, x2: 80, y2: 40 });
  });
});

describe('outpaint on the tiny model', () => {
  it('equals the reference (canvas built here, then inpainted) and keeps the source pixels exactly', async () => {
    const data = path.join(tmp, 'data-outpaint');
    const sw = 48;
    const sh = 48;
    const src = gradient(sw, sh);
    const sides = { left: 16, top: 0, right: 0, bottom: 16 };
    const W = sw + 16;
    const H = sh + 16;
    const init: InitImage = { sha256: await keep(data, src, sw, sh), strength: 0.8, fit: 'resize', outpaint: sides };
    const fitted = await fittedSource(data, init, W, H, BASE.seed);
    expect(fitted.maskBlur).toBe(0);
    const got = await generate(model, { ...BASE, width: W, height: H, image: { rgb: fitted.rgb, strength: 0.8, mask: fitted.mask!, maskBlur: fitted.maskBlur! } });

    // Reference canvas, written again: source at (16, 0); elsewhere the clamped edge + 32·randn(seed) in channel planes.
    const z = randn(11, [1, 3, H, W]);
    const canvas = new Uint8Array(W * H * 3);
    const mask = new Uint8Array(W * H);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const sx = Math.min(sw - 1, Math.max(0, x - 16));
        const sy = Math.min(sh - 1, y);
        const inside = x >= 16 && y < sh;
        if (!inside) mask[y * W + x] = 255;
        for (let k = 0; k < 3; k++) {
          const v = src[(sy * sw + sx) * 3 + k]!;
          canvas[(y * W + x) * 3 + k] = inside ? v : Math.min(255, Math.max(0, Math.round(v + 32 * z[k * W * H + y * W + x]!)));
        }
      }
    }
    expect(same(fitted.rgb, canvas)).toBe(true);
    expect(same(fitted.mask!, mask)).toBe(true);
    const want = await generate(model, { ...BASE, width: W, height: H, image: { rgb: canvas, strength: 0.8, mask, maskBlur: 0 } });
    expect(same(got.rgb, want.rgb)).toBe(true);
    // Outside the new area: the source, byte for byte; inside it something new was painted.
    let changed = 0;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        for (let k = 0; k < 3; k++) {
          const v = got.rgb[(y * W + x) * 3 + k]!;
          if (x >= 16 && y < sh) expect(v).toBe(src[(y * sw + x - 16) * 3 + k]);
          else if (v !== canvas[(y * W + x) * 3 + k]) changed++;
        }
      }
    }
    expect(changed).toBeGreaterThan(100);
  });
});

describe('"Only masked" on the tiny model', () => {
  it('works on the crop at the generation size, pastes it back, and leaves everything outside the crop untouched', async () => {
    const data = path.join(tmp, 'data-masked');
    const sw = 160;
    const sh = 120;
    const src = gradient(sw, sh);
    const luma = new Uint8Array(sw * sh);
    for (let y = 50; y < 66; y++) for (let x = 90; x < 110; x++) luma[y * sw + x] = 255;
    const blur = 2;
    const padding = 8;
    const W = 80;
    const H = 64;
    const init: InitImage = {
      sha256: await keep(data, src, sw, sh),
      strength: 0.75,
      fit: 'resize',
      mask: { sha256: await keep(data, luma, sw, sh, 1), blur },
      area: 'masked',
      padding,
    };
    const fitted = await fittedSource(data, init, W, H, BASE.seed);
    const result = await generate(model, { ...BASE, width: W, height: H, image: { rgb: fitted.rgb, strength: 0.75, mask: fitted.mask!, maskBlur: 0 } });
    const full = await finishOnlyMasked(result.rgb, W, H, fitted.paste!);
    expect([full.width, full.height]).toEqual([sw, sh]);

    // Reference. The blurred mask (blur 2: kernel 2·int(5.5)+1 = 11, radius 5) reaches 5 px beyond the rectangle:
    // x 85…114, y 45…70 → get_crop_region with padding 8: x 77…123 (x2 = 123), y 37…79 (y2 = 79), i.e. 46×42.
    // expand_crop_region to 80:64 (ratio 1.25 > 46/42): desired width 42·1.25 = 52.5, diff int(6.5) = 6 → x1 = 74, x2 = 126.
    const r = { x1: 74, y1: 37, x2: 126, y2: 79 };
    expect(fitted.paste!.region).toEqual(r);
    const cw = r.x2 - r.x1;
    const ch = r.y2 - r.y1;
    const cropImg = await sharp(src, { raw: { width: sw, height: sh, channels: 3 } }).extract({ left: r.x1, top: r.y1, width: cw, height: ch }).resize(W, H, { fit: 'fill', kernel: 'lanczos3' }).raw().toBuffer();
    const cropMask = await sharp(luma, { raw: { width: sw, height: sh, channels: 1 } }).extract({ left: r.x1, top: r.y1, width: cw, height: ch }).resize(W, H, { fit: 'fill', kernel: 'nearest' }).extractChannel(0).raw().toBuffer();
    expect(same(fitted.rgb, cropImg)).toBe(true);
    expect(same(fitted.mask!, cropMask)).toBe(true);
    const want = await generate(model, { ...BASE, width: W, height: H, image: { rgb: new Uint8Array(cropImg), strength: 0.75, mask: new Uint8Array(cropMask), maskBlur: 0 } });
    expect(same(result.rgb, want.rgb)).toBe(true);
    const back = await sharp(want.rgb, { raw: { width: W, height: H, channels: 3 } }).resize(cw, ch, { fit: 'fill', kernel: 'lanczos3' }).raw().toBuffer();
    const overlay = fitted.paste!.overlay;
    let inside = 0;
    for (let y = 0; y < sh; y++) {
      for (let x = 0; x < sw; x++) {
        const m = overlay[y * sw + x]!;
        const inCrop = x >= r.x1 && x < r.x2 && y >= r.y1 && y < r.y2;
        if (!inCrop) expect(m).toBe(0);
        for (let k = 0; k < 3; k++) {
          const s = src[(y * sw + x) * 3 + k]!;
          const v = full.rgb[(y * sw + x) * 3 + k]!;
          if (!inCrop || m === 0) {
            expect(v).toBe(s);
            continue;
          }
          const g = back[((y - r.y1) * cw + (x - r.x1)) * 3 + k]!;
          expect(v).toBe(Math.round((s * (255 - m) + g * m) / 255));
          if (v !== s) inside++;
        }
      }
    }
    expect(inside).toBeGreaterThan(100);
  });
});

