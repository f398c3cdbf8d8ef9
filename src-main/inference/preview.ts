// Live previews: SD3 latents [1,16,h,w] → an RGB image of h×w pixels, with ComfyUI's linear approximation of the
// VAE decoder for SD3 (latent_rgb_factors and bias): rgb = bias + Σ_k latent_k · f_k, then (x + 1)/2 clamped to
// [0, 1], ·255 rounded. Cheap enough to run after every step.
import { StudioError } from '../../src-shared/errors';

export const SD3_LATENT_CHANNELS = 16;

/** ComfyUI's SD3 latent → RGB factors, one [r, g, b] triple per latent channel. */
export const SD3_LATENT_RGB_FACTORS: ReadonlyArray<readonly [number, number, number]> = [
  [-0.0922, -0.0175, 0.0749],
  [0.0311, 0.0633, 0.0954],
  [0.1994, 0.0927, 0.0458],
  [0.0856, 0.0339, 0.0902],
  [0.0587, 0.0272, -0.0496],
  [-0.0006, 0.1104, 0.0309],
  [0.0978, 0.0306, 0.0427],
  [-0.0042, 0.1038, 0.1358],
  [-0.0194, 0.002, 0.0669],
  [-0.0488, 0.013, -0.0268],
  [0.0922, 0.0988, 0.0951],
  [-0.0278, 0.0524, -0.0542],
  [0.0332, 0.0456, 0.0895],
  [-0.0069, -0.003, -0.081],
  [-0.0596, -0.0465, -0.0293],
  [-0.1448, -0.1463, -0.1189],
];

/** ComfyUI's SD3 latent → RGB bias. */
export const SD3_LATENT_RGB_BIAS: readonly [number, number, number] = [0.2394, 0.2135, 0.1925];

function toByte(x: number): number {
  const v = (x + 1) / 2;
  return v <= 0 ? 0 : v >= 1 ? 255 : Math.round(v * 255);
}

/**
 * RGB bytes (row-major, 3 per pixel, h·w·3) of a preview of the first image of `latents` ([1,16,height,width],
 * height and width being the latent's own dims, i.e. the image size / 8).
 */
export function latentPreviewRgb(latents: Float32Array, height: number, width: number): Uint8Array {
  if (!Number.isInteger(height) || !Number.isInteger(width) || height < 1 || width < 1) {
    throw new StudioError('internal', `Preview size ${height}×${width} is not valid.`);
  }
  const plane = height * width;
  if (latents.length < SD3_LATENT_CHANNELS * plane) {
    throw new StudioError('internal', `Preview: ${latents.length} latent values cannot hold 16×${height}×${width}.`);
  }
  const r = new Float64Array(plane).fill(SD3_LATENT_RGB_BIAS[0]);
  const g = new Float64Array(plane).fill(SD3_LATENT_RGB_BIAS[1]);
  const b = new Float64Array(plane).fill(SD3_LATENT_RGB_BIAS[2]);
  for (let k = 0; k < SD3_LATENT_CHANNELS; k++) {
    const [fr, fg, fb] = SD3_LATENT_RGB_FACTORS[k]!;
    const base = k * plane;
    for (let p = 0; p < plane; p++) {
      const v = latents[base + p]!;
      r[p] = r[p]! + v * fr;
      g[p] = g[p]! + v * fg;
      b[p] = b[p]! + v * fb;
    }
  }
  const out = new Uint8Array(plane * 3);
  for (let p = 0; p < plane; p++) {
    out[3 * p] = toByte(r[p]!);
    out[3 * p + 1] = toByte(g[p]!);
    out[3 * p + 2] = toByte(b[p]!);
  }
  return out;
}
