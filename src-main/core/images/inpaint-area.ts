// Where an inpainting job works (docs/architecture.md §5 "Outpaint" and "Only masked"): pure pixel code on raw RGB
// bytes, run in the main process before and after the worker.
//  - Outpaint: the canvas grown by N px per side; the new area filled by stretching the source's edge pixels plus
//    seeded noise (so the encoder sees the edge colours, not a flat fill), and a mask that is white exactly there.
//  - Only masked: A1111's crop region around the mask (plus padding), widened to the generation's aspect ratio; the
//    crop is worked on at the generation size and the result is pasted back into the full image through the blurred
//    full-size mask, so everything outside the crop — and outside the blurred mask — is the source byte for byte.
import { StudioError } from '../../../src-shared/errors';
import { OUTPAINT_LIMITS, type Outpaint } from '../../../src-shared/img2img';
import { randn } from '../../inference/noise';

export interface RgbImage {
  rgb: Uint8Array;
  width: number;
  height: number;
}

/**
 * The outpaint canvas: the source at (left, top) of a (w + left + right) × (h + top + bottom) canvas. A new pixel
 * takes the colour of the nearest source pixel (coordinates clamped into the source: the edges stretched outwards,
 * the corners from the corner pixel) plus noise: round(edge + σ·z) clamped to 0–255, z from the job's seed
 * (torch's randn over [1, 3, H, W], channel planes, read at the pixel), σ = OUTPAINT_LIMITS.noiseSigma. The mask
 * (one byte per pixel) is 255 on the new area and 0 on the source.
 */
export function outpaintCanvas(src: RgbImage, sides: Outpaint, seed: string): RgbImage & { mask: Uint8Array } {
  const { left, top, right, bottom } = sides;
  const W = src.width + left + right;
  const H = src.height + top + bottom;
  if (src.rgb.length !== src.width * src.height * 3) throw new StudioError('internal', `The source has ${src.rgb.length} bytes for ${src.width}×${src.height}.`);
  const rgb = new Uint8Array(W * H * 3);
  const mask = new Uint8Array(W * H);
  const noise = left + top + right + bottom > 0 ? randn(seed, [1, 3, H, W]) : new Float32Array(0);
  const plane = W * H;
  for (let y = 0; y < H; y++) {
    const sy = Math.min(src.height - 1, Math.max(0, y - top));
    const insideY = y >= top && y < top + src.height;
    for (let x = 0; x < W; x++) {
      const sx = Math.min(src.width - 1, Math.max(0, x - left));
      const inside = insideY && x >= left && x < left + src.width;
      const o = (y * W + x) * 3;
      const s = (sy * src.width + sx) * 3;
      if (inside) {
        rgb[o] = src.rgb[s]!;
        rgb[o + 1] = src.rgb[s + 1]!;
        rgb[o + 2] = src.rgb[s + 2]!;
      } else {
        mask[y * W + x] = 255;
        for (let c = 0; c < 3; c++) {
          const v = Math.round(src.rgb[s + c]! + OUTPAINT_LIMITS.noiseSigma * noise[c * plane + y * W + x]!);
          rgb[o + c] = Math.min(255, Math.max(0, v));
        }
      }
    }
  }
  return { rgb, width: W, height: H, mask };
}

export interface CropRegion {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

/**
 * The smallest rectangle holding every non-zero mask pixel, grown by `pad` and clipped to the image.
 * A1111 modules/masking.py, get_crop_region(mask, pad). An all-black mask is refused (nothing to repaint).
 */
export function cropRegion(mask: Uint8Array, width: number, height: number, pad: number): CropRegion {
  let x1 = width;
  let y1 = height;
  let x2 = -1;
  let y2 = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (mask[y * width + x] === 0) continue;
      if (x < x1) x1 = x;
      if (x > x2) x2 = x;
      if (y < y1) y1 = y;
      if (y > y2) y2 = y;
    }
  }
  if (x2 < 0) throw new StudioError('invalid_input', 'The mask is all black: there is nothing to repaint.', { field: 'mask' });
  return { x1: Math.max(x1 - pad, 0), y1: Math.max(y1 - pad, 0), x2: Math.min(x2 + 1 + pad, width), y2: Math.min(y2 + 1 + pad, height) };
}

/**
 * The crop region widened (or heightened) to the processing size's aspect ratio, kept inside the image.
 * A1111 modules/masking.py, expand_crop_region — int() truncates toward zero, // floors (Python).
 */
export function expandCropRegion(r: CropRegion, procW: number, procH: number, imageW: number, imageH: number): CropRegion {
  let { x1, y1, x2, y2 } = r;
  const ratioCrop = (x2 - x1) / (y2 - y1);
  const ratioProc = procW / procH;
  if (ratioCrop > ratioProc) {
    const desiredH = (x2 - x1) / ratioProc;
    const diff = Math.trunc(desiredH - (y2 - y1));
    y1 -= Math.floor(diff / 2);
    y2 += diff - Math.floor(diff / 2);
    if (y2 >= imageH) {
      const d = y2 - imageH;
      y2 -= d;
      y1 -= d;
    }
    if (y1 < 0) {
      y2 -= y1;
      y1 = 0;
    }
    if (y2 >= imageH) y2 = imageH;
  } else {
    const desiredW = (y2 - y1) * ratioProc;
    const diff = Math.trunc(desiredW - (x2 - x1));
    x1 -= Math.floor(diff / 2);
    x2 += diff - Math.floor(diff / 2);
    if (x2 >= imageW) {
      const d = x2 - imageW;
      x2 -= d;
      x1 -= d;
    }
    if (x1 < 0) {
      x2 -= x1;
      x1 = 0;
    }
    if (x2 >= imageW) x2 = imageW;
  }
  return { x1, y1, x2, y2 };
}

/** The region's pixels of an image with `channels` bytes per pixel. */
export function cropPixels(data: Uint8Array, width: number, channels: number, r: CropRegion): Uint8Array {
  const w = r.x2 - r.x1;
  const out = new Uint8Array(w * (r.y2 - r.y1) * channels);
  for (let y = r.y1; y < r.y2; y++) out.set(data.subarray((y * width + r.x1) * channels, (y * width + r.x2) * channels), (y - r.y1) * w * channels);
  return out;
}

/**
 * The worked crop (already resized back to the region's size) pasted into the full source through the full-size
 * overlay mask — A1111 modules/processing.py apply_overlay with paste_loc: the crop placed at (x1, y1), then the
 * source with alpha 255 − mask composited over it: out = (src·(255 − m) + gen·m)/255, rounded. Outside the region
 * the source is copied; where m = 0 the source byte is kept exactly. Returns a new buffer.
 */
export function pasteCrop(source: RgbImage, crop: Uint8Array, r: CropRegion, overlay: Uint8Array): Uint8Array {
  const out = source.rgb.slice();
  const w = r.x2 - r.x1;
  if (crop.length !== w * (r.y2 - r.y1) * 3 || overlay.length !== source.width * source.height) {
    throw new StudioError('internal', 'Only masked: the worked crop or the mask does not fit the source.');
  }
  for (let y = r.y1; y < r.y2; y++) {
    for (let x = r.x1; x < r.x2; x++) {
      const m = overlay[y * source.width + x]!;
      if (m === 0) continue;
      const o = (y * source.width + x) * 3;
      const c = ((y - r.y1) * w + (x - r.x1)) * 3;
      for (let k = 0; k < 3; k++) out[o + k] = m === 255 ? crop[c + k]! : Math.round((source.rgb[o + k]! * (255 - m) + crop[c + k]! * m) / 255);
    }
  }
  return out;
}
