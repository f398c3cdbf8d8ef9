import { describe, expect, it } from 'vitest';
import { BRUSH_LIMITS, coverageFromLuminance, imagePixelsPerCssPixel, imagePointAt, invertCoverage, luminanceFromCoverage, stepBrush } from './mask-paint';

describe('imagePointAt (the Compare viewport math, inverted for the brush)', () => {
  // The forward map written out here: the image fitted (contain) in the stage at scale s, centred, then
  // translate(x, y) scale(zoom) about the stage centre. Screen point (from the centre) of image pixel (px, py).
  function screenOf(px: number, py: number, v: { zoom: number; x: number; y: number }, natural: { width: number; height: number }, stage: { width: number; height: number }) {
    const s = Math.min(stage.width / natural.width, stage.height / natural.height);
    return { x: (px * s - (natural.width * s) / 2) * v.zoom + v.x, y: (py * s - (natural.height * s) / 2) * v.zoom + v.y };
  }
  const cases = [
    { v: { zoom: 1, x: 0, y: 0 }, natural: { width: 1024, height: 768 }, stage: { width: 800, height: 800 }, p: [0, 0] },
    { v: { zoom: 2.5, x: -40, y: 13 }, natural: { width: 1600, height: 1280 }, stage: { width: 1200, height: 700 }, p: [731, 1001] },
    { v: { zoom: 0.5, x: 120, y: -60 }, natural: { width: 640, height: 1536 }, stage: { width: 900, height: 640 }, p: [639, 2] },
  ];
  it.each(cases)('maps the screen point of a pixel back to that pixel (%#)', ({ v, natural, stage, p }) => {
    const screen = screenOf(p[0]!, p[1]!, v, natural, stage);
    const back = imagePointAt(screen, v, natural, stage);
    expect(back.x).toBeCloseTo(p[0]!, 9);
    expect(back.y).toBeCloseTo(p[1]!, 9);
  });
  it('the centre of the stage at fit is the centre of the image; pixels per CSS pixel follow the fit and zoom', () => {
    expect(imagePointAt({ x: 0, y: 0 }, { zoom: 1, x: 0, y: 0 }, { width: 1000, height: 500 }, { width: 500, height: 500 })).toEqual({ x: 500, y: 250 });
    // 1000 px wide fitted into 500 CSS px: 2 image px per CSS px; at zoom 4, 0.5.
    expect(imagePixelsPerCssPixel({ zoom: 1, x: 0, y: 0 }, { width: 1000, height: 500 }, { width: 500, height: 500 })).toBe(2);
    expect(imagePixelsPerCssPixel({ zoom: 4, x: 9, y: 9 }, { width: 1000, height: 500 }, { width: 500, height: 500 })).toBe(0.5);
  });
});

describe('brush size keys', () => {
  it('[ and ] step by ×1.25 (at least one pixel), within the limits', () => {
    expect(stepBrush(20, 1)).toBe(25);
    expect(stepBrush(20, -1)).toBe(16);
    expect(stepBrush(2, 1)).toBe(3);
    expect(stepBrush(2, -1)).toBe(1);
    expect(stepBrush(BRUSH_LIMITS.min, -1)).toBe(BRUSH_LIMITS.min);
    expect(stepBrush(BRUSH_LIMITS.max, 1)).toBe(BRUSH_LIMITS.max);
  });
});

describe('mask pixels', () => {
  const px = (...rgba: number[]) => new Uint8ClampedArray(rgba);
  it('export: coverage (alpha) becomes opaque grey, white = repaint', () => {
    expect([...luminanceFromCoverage(px(255, 64, 96, 0, 255, 64, 96, 255, 1, 2, 3, 128))]).toEqual([0, 0, 0, 255, 255, 255, 255, 255, 128, 128, 128, 255]);
  });
  it('a mask file: Rec. 601 luminance times its alpha becomes the coverage', () => {
    const out = coverageFromLuminance(px(255, 255, 255, 255, 0, 0, 0, 255, 255, 0, 0, 255, 255, 255, 255, 0), [9, 8, 7]);
    // white → 255; black → 0; pure red → 0.299·255 = 76.245 → 76; transparent white → 0 (the engine flattens on black).
    expect([...out]).toEqual([9, 8, 7, 255, 9, 8, 7, 0, 9, 8, 7, 76, 9, 8, 7, 0]);
  });
  it('invert: coverage a → 255 − a', () => {
    expect([...invertCoverage(px(1, 1, 1, 0, 1, 1, 1, 255, 1, 1, 1, 100), [9, 8, 7])]).toEqual([9, 8, 7, 255, 9, 8, 7, 0, 9, 8, 7, 155]);
  });
});
