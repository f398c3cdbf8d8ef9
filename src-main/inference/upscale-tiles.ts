// Tiled super-resolution (docs/architecture.md §5 "Upscale"): an image → image ONNX model (Real-ESRGAN style: RGB in
// [0, 1], NCHW, out ×s) run over overlapping tiles, so a 4 MP result never needs the whole image in one run. Each
// tile's output is blended into float accumulators with a feather weight on the edges it shares with a neighbour:
// weight 0 over the first quarter of the overlap (where the tile's zero padding shows), then a linear ramp to 1 at
// the overlap's end, per axis (the weights multiply). Every output pixel is covered by at least one tile with a
// positive weight (the overlap is at least twice the discarded margin), and a tile's values are only used where its
// receptive field stays inside the tile for ops whose reach is below that margin. Pure: the session is a callback.
import { StudioError } from '../../src-shared/errors';

export const UPSCALE_TILES = { tile: 192, overlap: 32, maxScale: 8 } as const;

/** One model run: a [1, 3, h, w] float32 tile in [0, 1] → its [1, 3, s·h, s·w] output. */
export type RunTile = (pixels: Float32Array, width: number, height: number) => Promise<{ data: Float32Array; width: number; height: number }>;

/** Tile start positions along one axis of `size` px: every `tile − overlap`, the last one flush with the end. */
export function tileStarts(size: number, tile: number, overlap: number): number[] {
  if (size <= tile) return [0];
  const stride = tile - overlap;
  const starts: number[] = [];
  for (let s = 0; s + tile < size; s += stride) starts.push(s);
  starts.push(size - tile);
  return starts;
}

/**
 * The feather weight at output offset `d` from a shared tile edge (`L` = overlap · scale output px): 0 below the margin
 * m = L/4, then (d − m + 0.5)/(L − m) up to 1.
 */
export function featherWeight(d: number, L: number): number {
  const m = Math.floor(L / 4);
  if (d < m) return 0;
  return Math.min(1, (d - m + 0.5) / (L - m));
}

function axisWeights(len: number, startShared: boolean, endShared: boolean, L: number): Float32Array {
  const w = new Float32Array(len);
  for (let i = 0; i < len; i++) w[i] = (startShared ? featherWeight(i, L) : 1) * (endShared ? featherWeight(len - 1 - i, L) : 1);
  return w;
}

export interface TiledOptions {
  scale: number;
  tile?: number;
  overlap?: number;
  onTile?(done: number, total: number): void | Promise<void>;
}

/** RGB bytes (h · w · 3) → the upscaled RGB bytes, tile by tile; values clamped to [0, 1], ·255, rounded. */
export async function upscaleTiled(rgb: Uint8Array, width: number, height: number, run: RunTile, options: TiledOptions): Promise<{ rgb: Uint8Array; width: number; height: number }> {
  const s = options.scale;
  const tile = options.tile ?? UPSCALE_TILES.tile;
  const overlap = Math.min(options.overlap ?? UPSCALE_TILES.overlap, tile - 1);
  if (!(Number.isInteger(s) && s >= 1 && s <= UPSCALE_TILES.maxScale)) throw new StudioError('invalid_input', `An upscaler scale must be a whole number from 1 to ${UPSCALE_TILES.maxScale}.`);
  if (rgb.length !== width * height * 3) throw new StudioError('internal', `The image has ${rgb.length} bytes for ${width}×${height}.`);
  const OW = width * s;
  const OH = height * s;
  const acc = new Float32Array(OW * OH * 3);
  const wsum = new Float32Array(OW * OH);
  const xs = tileStarts(width, tile, overlap);
  const ys = tileStarts(height, tile, overlap);
  const tw = Math.min(tile, width);
  const th = Math.min(tile, height);
  const L = overlap * s;
  const total = xs.length * ys.length;
  let done = 0;
  const pixels = new Float32Array(3 * tw * th);
  for (let yi = 0; yi < ys.length; yi++) {
    for (let xi = 0; xi < xs.length; xi++) {
      const x0 = xs[xi]!;
      const y0 = ys[yi]!;
      const plane = tw * th;
      for (let y = 0; y < th; y++) {
        for (let x = 0; x < tw; x++) {
          const i = ((y0 + y) * width + x0 + x) * 3;
          for (let c = 0; c < 3; c++) pixels[c * plane + y * tw + x] = rgb[i + c]! / 255;
        }
      }
      const out = await run(pixels, tw, th);
      if (out.width !== tw * s || out.height !== th * s || out.data.length !== 3 * out.width * out.height) {
        throw new StudioError('invalid_input', `The upscaler gave a ${out.width}×${out.height} tile for ${tw}×${th} at ×${s}.`);
      }
      const wx = axisWeights(out.width, xi > 0, xi < xs.length - 1, L);
      const wy = axisWeights(out.height, yi > 0, yi < ys.length - 1, L);
      const oplane = out.width * out.height;
      for (let y = 0; y < out.height; y++) {
        const Y = y0 * s + y;
        for (let x = 0; x < out.width; x++) {
          const w = wx[x]! * wy[y]!;
          if (w === 0) continue;
          const X = x0 * s + x;
          const o = Y * OW + X;
          wsum[o] = wsum[o]! + w;
          for (let c = 0; c < 3; c++) acc[o * 3 + c] = acc[o * 3 + c]! + w * out.data[c * oplane + y * out.width + x]!;
        }
      }
      done++;
      await options.onTile?.(done, total);
    }
  }
  const result = new Uint8Array(OW * OH * 3);
  for (let o = 0; o < OW * OH; o++) {
    const w = wsum[o]!;
    if (!(w > 0)) throw new StudioError('internal', 'A pixel of the upscaled image was covered by no tile.');
    for (let c = 0; c < 3; c++) result[o * 3 + c] = Math.round(Math.min(1, Math.max(0, acc[o * 3 + c]! / w)) * 255);
  }
  return { rgb: result, width: OW, height: OH };
}
