import { describe, expect, it } from 'vitest';
import { MaskHistory, UNDO_TILE, type PixelBlock, type PixelSurface } from './mask-undo';

/** An RGBA buffer with ImageData's layout, read and written by copying rows (what getImageData/putImageData do). */
class BufferSurface implements PixelSurface {
  readonly data: Uint8ClampedArray;
  readBytes: number[] = [];
  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.data = new Uint8ClampedArray(width * height * 4);
  }
  read(x: number, y: number, w: number, h: number): PixelBlock {
    const out = new Uint8ClampedArray(w * h * 4);
    for (let r = 0; r < h; r++) out.set(this.data.subarray(((y + r) * this.width + x) * 4, ((y + r) * this.width + x + w) * 4), r * w * 4);
    this.readBytes.push(out.byteLength);
    return { width: w, height: h, data: out };
  }
  write(b: PixelBlock, x: number, y: number): void {
    for (let r = 0; r < b.height; r++) this.data.set(b.data.subarray(r * b.width * 4, (r + 1) * b.width * 4), ((y + r) * this.width + x) * 4);
  }
  copy(): Uint8ClampedArray {
    return this.data.slice();
  }
}

/** A brush written here, independent of the editor: every pixel within `radius` of the segment a → b gets `rgba`. */
function paintSegment(s: BufferSurface, a: { x: number; y: number }, b: { x: number; y: number }, radius: number, rgba: [number, number, number, number]): void {
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  const len2 = dx * dx + dy * dy;
  for (let y = Math.max(0, Math.floor(Math.min(a.y, b.y) - radius)); y < Math.min(s.height, Math.ceil(Math.max(a.y, b.y) + radius) + 1); y++) {
    for (let x = Math.max(0, Math.floor(Math.min(a.x, b.x) - radius)); x < Math.min(s.width, Math.ceil(Math.max(a.x, b.x) + radius) + 1); x++) {
      const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, ((x - a.x) * dx + (y - a.y) * dy) / len2));
      const ex = x - (a.x + t * dx);
      const ey = y - (a.y + t * dy);
      if (ex * ex + ey * ey <= radius * radius) s.data.set(rgba, (y * s.width + x) * 4);
    }
  }
}

/** What MaskCanvas does for a stroke: begin + a dot, then a segment per move, cover() before each paint. */
function stroke(h: MaskHistory, s: BufferSurface, points: { x: number; y: number }[], radius: number, rgba: [number, number, number, number]): void {
  h.beginStroke();
  h.coverSegment(points[0]!, points[0]!, radius);
  paintSegment(s, points[0]!, points[0]!, radius, rgba);
  for (let i = 1; i < points.length; i++) {
    h.coverSegment(points[i - 1]!, points[i]!, radius);
    paintSegment(s, points[i - 1]!, points[i]!, radius, rgba);
  }
  h.endStroke();
}

/** A small deterministic PRNG (mulberry32) for the random strokes. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function same(a: Uint8ClampedArray, b: Uint8ClampedArray): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const TINT: [number, number, number, number] = [255, 64, 96, 255];
const CLEAR: [number, number, number, number] = [0, 0, 0, 0];

describe('MaskHistory: undo and redo restore the exact pixels', () => {
  it('40 random strokes (brush and eraser, some past the edges), a clear and an invert: every state comes back, both ways', () => {
    const s = new BufferSurface(420, 300); // not a whole number of tiles either way (6.6 × 4.7)
    const h = new MaskHistory(s, { byteCap: 2 ** 31, stepCap: 1000, tile: UNDO_TILE });
    const random = rng(7);
    const states = [s.copy()];
    for (let k = 0; k < 40; k++) {
      // A hand's stroke: a walk of 2–40 moves of up to ±40 px from a random start (some go past an edge).
      const points = [{ x: random() * 420, y: random() * 300 }];
      for (let m = 1 + Math.floor(random() * 40); m > 0; m--) points.push({ x: points[points.length - 1]!.x + random() * 80 - 40, y: points[points.length - 1]!.y + random() * 80 - 40 });
      const alpha = 1 + Math.floor(random() * 255);
      stroke(h, s, points, 1 + random() * 40, k % 3 === 2 ? CLEAR : [255, 64, 96, alpha]);
      states.push(s.copy());
      if (k === 20) {
        h.snapshot();
        s.data.fill(0); // clear
        states.push(s.copy());
      }
      if (k === 30) {
        h.snapshot();
        for (let i = 3; i < s.data.length; i += 4) s.data[i] = 255 - s.data[i]!; // invert
        states.push(s.copy());
      }
    }
    expect(h.steps).toBe(states.length - 1);
    for (let i = states.length - 2; i >= 0; i--) {
      expect(h.undo()).toBe(true);
      expect(same(s.data, states[i]!)).toBe(true);
    }
    expect(h.undo()).toBe(false);
    for (let i = 1; i < states.length; i++) {
      expect(h.redo()).toBe(true);
      expect(same(s.data, states[i]!)).toBe(true);
    }
    expect(h.redo()).toBe(false);
    // Undo twice, redo once, undo again: still exact (the patches swap with the canvas each time).
    h.undo();
    h.undo();
    h.redo();
    expect(same(s.data, states[states.length - 2]!)).toBe(true);
    h.undo();
    expect(same(s.data, states[states.length - 3]!)).toBe(true);
  });

  it('a stroke keeps only the tiles it touched, each read once, never the whole canvas', () => {
    const s = new BufferSurface(1632, 1232);
    const h = new MaskHistory(s);
    const tileBytes = UNDO_TILE * UNDO_TILE * 4; // 16,384
    // A dot of radius 5 at (10, 10): pixels 3..18 → tile (0, 0) only.
    stroke(h, s, [{ x: 10, y: 10 }], 5, TINT);
    expect(h.bytes).toBe(tileBytes);
    // A line from (100, 100) to (300, 100), radius 10: x 88..312, y 88..112 → tiles x 1..4 of row 1, one read.
    s.readBytes = [];
    stroke(h, s, [{ x: 100, y: 100 }, { x: 300, y: 100 }], 10, TINT);
    expect(s.readBytes).toEqual([tileBytes, tileBytes, tileBytes, tileBytes]); // the dot: tile 1; then tiles 2, 3, 4 as the segment reaches them
    expect(h.bytes).toBe(5 * tileBytes);
    // 60 short moves back and forth over the same line read nothing after the first dot's tiles.
    s.readBytes = [];
    const zigzag = Array.from({ length: 61 }, (_, i) => ({ x: 150 + (i % 2) * 100, y: 100 }));
    stroke(h, s, zigzag, 10, CLEAR);
    // The dot at x 150 (138..162): tile 2; the first segment to x 250 (138..262): tiles 3 and 4; then none.
    expect(s.readBytes).toEqual([tileBytes, tileBytes, tileBytes]);
    // The right edge: 1632 = 25 tiles + 32 px, so the last tile of a row is 32 px wide.
    s.readBytes = [];
    stroke(h, s, [{ x: 1625, y: 600 }], 3, TINT);
    expect(s.readBytes).toEqual([32 * UNDO_TILE * 4]);
    // A long diagonal stroke reads at most a few tiles per move, never more than the brush's own box.
    s.readBytes = [];
    const diagonal = Array.from({ length: 60 }, (_, i) => ({ x: 100 + i * 24, y: 100 + i * 18 }));
    stroke(h, s, diagonal, 40, TINT);
    const boxTiles = Math.ceil((2 * 42 + 24) / UNDO_TILE + 1) * Math.ceil((2 * 42 + 18) / UNDO_TILE + 1);
    expect(Math.max(...s.readBytes)).toBeLessThanOrEqual(boxTiles * tileBytes);
    expect(Math.max(...s.readBytes)).toBeLessThan(s.data.byteLength / 50);
    // One long diagonal move (a fast hand) saves the tiles along it, not its 1500 × 1100 box (≈ 400 tiles).
    s.readBytes = [];
    stroke(h, s, [{ x: 20, y: 20 }, { x: 1520, y: 1120 }], 10, TINT);
    const saved = s.readBytes.reduce((a, b) => a + b, 0) / tileBytes;
    expect(saved).toBeGreaterThanOrEqual(24); // at least the 24 tiles its centre line crosses along x
    expect(saved).toBeLessThanOrEqual(3 * 25); // at most three per column of tiles it crosses
  });

  it('the memory cap drops the oldest steps, keeps the newest; the step cap too; a new stroke drops the redo steps', () => {
    const s = new BufferSurface(256, 256);
    const tileBytes = UNDO_TILE * UNDO_TILE * 4;
    const h = new MaskHistory(s, { byteCap: 3 * tileBytes, stepCap: 100, tile: UNDO_TILE });
    const before = s.copy();
    stroke(h, s, [{ x: 10, y: 10 }], 4, TINT); // tile (0,0)
    const afterFirst = s.copy();
    stroke(h, s, [{ x: 74, y: 10 }], 4, TINT); // tile (1,0)
    stroke(h, s, [{ x: 138, y: 10 }], 4, TINT); // tile (2,0)
    expect(h.bytes).toBe(3 * tileBytes);
    stroke(h, s, [{ x: 202, y: 10 }], 4, TINT); // tile (3,0): the first step goes
    expect(h.bytes).toBe(3 * tileBytes);
    expect(h.steps).toBe(3);
    while (h.undo());
    expect(same(s.data, afterFirst)).toBe(true);
    expect(same(s.data, before)).toBe(false);
    // A whole-canvas snapshot (16 tiles) is above the cap alone: it is kept, the others go.
    h.redo();
    h.snapshot();
    expect(h.steps).toBe(1);
    expect(h.bytes).toBe(16 * tileBytes);
    expect(h.canRedo).toBe(false);

    const few = new MaskHistory(s, { byteCap: 1e9, stepCap: 2, tile: UNDO_TILE });
    for (let k = 0; k < 5; k++) stroke(few, s, [{ x: 20 + 48 * k, y: 100 }], 2, CLEAR); // tiles 0, 1, 1, 2, 3 of row 1
    expect(few.steps).toBe(2);
    few.undo();
    expect(few.canRedo).toBe(true);
    stroke(few, s, [{ x: 20, y: 20 }], 2, TINT);
    expect(few.canRedo).toBe(false);
    expect(few.bytes).toBe(2 * tileBytes);
  });

  it('undo in the middle of a stroke ends it and undoes it', () => {
    const s = new BufferSurface(300, 200);
    const h = new MaskHistory(s);
    const before = s.copy();
    h.beginStroke();
    h.coverSegment({ x: 50, y: 50 }, { x: 250, y: 150 }, 12);
    paintSegment(s, { x: 50, y: 50 }, { x: 250, y: 150 }, 12, TINT);
    expect(h.canUndo).toBe(true);
    expect(h.undo()).toBe(true);
    expect(same(s.data, before)).toBe(true);
    // cover() outside a stroke saves nothing (the canvas side paints nothing then either).
    const bytes = h.bytes;
    h.cover(0, 0, 300, 200);
    expect(h.bytes).toBe(bytes);
    expect(h.steps).toBe(0);
    expect(h.canRedo).toBe(true);
  });
});
