import { describe, expect, it } from 'vitest';
import { latentPreviewRgb } from './preview';

/** Latents [1,16,h,w] with the given 16 channel values at pixel (y, x) and zeros elsewhere. */
function latentsWith(h: number, w: number, pixels: Array<{ y: number; x: number; channels: number[] }>): Float32Array {
  const data = new Float32Array(16 * h * w);
  for (const { y, x, channels } of pixels) channels.forEach((v, k) => (data[k * h * w + y * w + x] = v));
  return data;
}

describe('latentPreviewRgb', () => {
  it('maps zero latents to the bias: (0.2394+1)/2·255 = 158.02 → 158, 154.72 → 155, 152.04 → 152', () => {
    const rgb = latentPreviewRgb(new Float32Array(16 * 2 * 3), 2, 3);
    expect(rgb.length).toBe(2 * 3 * 3);
    for (let p = 0; p < 6; p++) expect(Array.from(rgb.subarray(3 * p, 3 * p + 3))).toEqual([158, 155, 152]);
  });

  it('computes hand-worked pixels at the right positions', () => {
    // Pixel (0,1): channel 2 = 1 → r = 0.2394+0.1994 = 0.4388 → 183.44 → 183; g = 0.2135+0.0927 = 0.3062 → 166.54 → 167;
    //              b = 0.1925+0.0458 = 0.2383 → 157.88 → 158.
    // Pixel (1,0): channel 15 = 2, channel 0 = -1 → r = 0.2394 − 0.2896 + 0.0922 = 0.042 → 132.86 → 133;
    //              g = 0.2135 − 0.2926 + 0.0175 = −0.0616 → 119.65 → 120; b = 0.1925 − 0.2378 − 0.0749 = −0.1202 → 112.17 → 112.
    const channels01 = new Array<number>(16).fill(0);
    channels01[2] = 1;
    const channels10 = new Array<number>(16).fill(0);
    channels10[15] = 2;
    channels10[0] = -1;
    const rgb = latentPreviewRgb(latentsWith(2, 2, [
      { y: 0, x: 1, channels: channels01 },
      { y: 1, x: 0, channels: channels10 },
    ]), 2, 2);
    expect(Array.from(rgb.subarray(3, 6))).toEqual([183, 167, 158]);
    expect(Array.from(rgb.subarray(6, 9))).toEqual([133, 120, 112]);
    expect(Array.from(rgb.subarray(0, 3))).toEqual([158, 155, 152]);
  });

  it('clamps to 0 and 255', () => {
    const hot = new Array<number>(16).fill(0);
    hot[2] = 20; // r = 0.2394 + 3.988 → clamp 255; g = 0.2135 + 1.854 → 255; b = 0.1925 + 0.916 → 255
    const cold = new Array<number>(16).fill(0);
    cold[15] = 20; // all ≈ −2.6 → 0
    const rgb = latentPreviewRgb(latentsWith(1, 2, [
      { y: 0, x: 0, channels: hot },
      { y: 0, x: 1, channels: cold },
    ]), 1, 2);
    expect(Array.from(rgb)).toEqual([255, 255, 255, 0, 0, 0]);
  });

  it('refuses latents too small for the size', () => {
    expect(() => latentPreviewRgb(new Float32Array(16 * 4 - 1), 2, 2)).toThrow(/latent values/);
    expect(() => latentPreviewRgb(new Float32Array(16), 0, 1)).toThrow();
  });
});
