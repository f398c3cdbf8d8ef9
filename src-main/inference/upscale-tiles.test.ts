// Tiled super-resolution (docs/architecture.md §5 "Upscale") with a tiny ×2 SR graph built here as real exports name
// their nodes (a 3×3 Conv to 12 channels, then DepthToSpace, as Real-ESRGAN's pixel shuffle): its output is known in
// closed form — out[c](2y + i, 2x + j) = box3(in[c])(y, x) (zero padding, 1/9 weights) + 0.05·(2i + j) — so the tiled
// result, seams included, is checked against values computed here, and against the untiled run; fp32 and fp16 I/O.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeModel, GraphBuilder } from '../../e2e/support/onnx-builder';
import { writeSrGraph } from '../../e2e/support/tiny-sr';
import { checkUpscalerGraph } from '../model-folder/upscaler-graph';
import { UpscalerSession } from './upscaler-session';
import { featherWeight, tileStarts, upscaleTiled } from './upscale-tiles';

let tmp: string;

/** The closed form, from the image bytes (values /255 as the tiler feeds them). */
function expected(rgb: Uint8Array, w: number, h: number): Uint8Array {
  const out = new Uint8Array(4 * w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        let s = 0;
        for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) {
          const yy = y + dy;
          const xx = x + dx;
          if (yy >= 0 && yy < h && xx >= 0 && xx < w) s += rgb[(yy * w + xx) * 3 + c]! / 255;
        }
        for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) {
          const v = Math.min(1, Math.max(0, s / 9 + 0.05 * (2 * i + j)));
          out[((2 * y + i) * 2 * w + 2 * x + j) * 3 + c] = Math.round(v * 255);
        }
      }
    }
  }
  return out;
}

function picture(w: number, h: number): Uint8Array {
  const rgb = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) rgb.set([(x * 37 + y * 11) % 256, (x * x + 3 * y) % 200, (y * 29) % 256], (y * w + x) * 3);
  return rgb;
}

function maxDiff(a: Uint8Array, b: Uint8Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-sr-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('tile layout and feather', () => {
  it('tile starts step by tile − overlap and end flush with the image', () => {
    expect(tileStarts(50, 24, 8)).toEqual([0, 16, 26]);
    expect(tileStarts(24, 24, 8)).toEqual([0]);
    expect(tileStarts(10, 24, 8)).toEqual([0]);
    expect(tileStarts(40, 24, 8)).toEqual([0, 16]);
  });
  it('feather: 0 over the first quarter of the overlap, then a ramp to 1', () => {
    // L = 16 output px: margin 4; d = 4 → 0.5/12; d = 15 → 11.5/12; d ≥ 16 → 1.
    expect([0, 3].map((d) => featherWeight(d, 16))).toEqual([0, 0]);
    expect(featherWeight(4, 16)).toBeCloseTo(0.5 / 12, 12);
    expect(featherWeight(15, 16)).toBeCloseTo(11.5 / 12, 12);
    expect(featherWeight(16, 16)).toBe(1);
  });
});

describe('tiny ×2 SR graph', () => {
  for (const io of ['float32', 'float16'] as const) {
    it(`${io}: scale probed as 2; tiled output (seams included) equals the untiled run and the closed form`, async () => {
      const file = path.join(tmp, `sr-${io}.onnx`);
      writeSrGraph(file, io);
      const session = await UpscalerSession.load(file, { threads: 1 });
      try {
        expect(await session.probeScale()).toBe(2);
        const w = 50;
        const h = 38;
        const rgb = picture(w, h);
        const run = (px: Float32Array, tw: number, th: number) => session.run(px, tw, th);
        const whole = await upscaleTiled(rgb, w, h, run, { scale: 2, tile: 64, overlap: 8 });
        const tiles: number[] = [];
        const tiled = await upscaleTiled(rgb, w, h, run, { scale: 2, tile: 20, overlap: 8, onTile: (d, t) => void tiles.push(d * 100 + t) });
        // 50 px: starts 0, 12, 24, 30; 38 px: 0, 12, 18 → 12 tiles.
        expect(tiles.length).toBe(12);
        expect([tiled.width, tiled.height]).toEqual([100, 76]);
        const want = expected(rgb, w, h);
        const tol = io === 'float16' ? 2 : 1;
        expect(maxDiff(whole.rgb, want)).toBeLessThanOrEqual(tol);
        expect(maxDiff(tiled.rgb, want)).toBeLessThanOrEqual(tol);
        expect(maxDiff(tiled.rgb, whole.rgb)).toBeLessThanOrEqual(1);
        // Without the feather (tiles simply overwritten) the tile edges' zero padding shows at the seams.
        const naive = await upscaleTiled(rgb, w, h, run, { scale: 2, tile: 20, overlap: 0 });
        expect(maxDiff(naive.rgb, want)).toBeGreaterThan(20);
      } finally {
        await session.release();
      }
    });
  }

  it('refuses a graph that is not image → image, naming what it has', async () => {
    const g = new GraphBuilder('text_encoder');
    const ids = g.input('input_ids', 'int64', [1, 77]);
    g.node('Cast', [ids], { to: { i: 1 } }, ['last_hidden_state']);
    g.output('last_hidden_state', 'float32', [1, 77]);
    const file = path.join(tmp, 'not-sr.onnx');
    fs.writeFileSync(file, encodeModel(g));
    await expect(checkUpscalerGraph(file)).rejects.toThrow(/not an image → image upscaler.*input_ids int64\[1,77\]/);
    fs.writeFileSync(path.join(tmp, 'junk.onnx'), 'not a model at all');
    await expect(checkUpscalerGraph(path.join(tmp, 'junk.onnx'))).rejects.toThrow(/not a readable ONNX model/);
  });
});
