// Undo/redo for the mask editor without whole-canvas snapshots on every stroke. A stroke keeps only the pixels it
// is about to paint over: the canvas is cut into TILE × TILE tiles, and before each segment is drawn, the tiles of
// its bounding box (brush radius + an antialiasing margin) that this stroke has not saved yet are read (one read per
// run of adjacent tiles in a row). So each frame copies only the tiles the brush newly reaches — a few KB, never
// the 8 MB of a 2 MP canvas — and a step holds about the stroke's own area. Clear and invert, one action each,
// keep one full-canvas patch.
// A step's patches hold "the pixels that are not on the canvas": undo and redo both swap them with the canvas, so a
// step costs the same bytes whether it sits on the undo or the redo stack. The stacks together stay within
// MAX_UNDO_BYTES and MAX_UNDO_STEPS (the oldest steps go first; the newest step is always kept, even alone above the
// byte cap: a clear of a very large mask).

/** Pixels of a rectangle, RGBA, row-major (ImageData's layout; a canvas ImageData is one). */
export interface PixelBlock {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8ClampedArray;
}

/** What the history reads and writes: a canvas 2D context in the editor, a plain buffer in the tests. */
export interface PixelSurface<B extends PixelBlock = PixelBlock> {
  readonly width: number;
  readonly height: number;
  read(x: number, y: number, width: number, height: number): B;
  write(block: B, x: number, y: number): void;
}

export const UNDO_TILE = 64;
/** 64 MB: eight full snapshots of a 2 MP mask (clear/invert), or hundreds of ordinary strokes. */
export const MAX_UNDO_BYTES = 64 * 1024 * 1024;
export const MAX_UNDO_STEPS = 100;

interface Patch<B> {
  x: number;
  y: number;
  block: B;
}
type Step<B> = Patch<B>[];

export class MaskHistory<B extends PixelBlock = PixelBlock> {
  private undoStack: Step<B>[] = [];
  private redoStack: Step<B>[] = [];
  private open: Step<B> | undefined;
  /** Tiles the open stroke has saved (1 = saved). */
  private saved: Uint8Array;
  private readonly tilesX: number;
  private readonly tilesY: number;
  private totalBytes = 0;
  /** Pixel reads made for strokes and snapshots (the tests count them). */
  reads = 0;

  constructor(
    private readonly surface: PixelSurface<B>,
    private readonly limits: { byteCap: number; stepCap: number; tile: number } = { byteCap: MAX_UNDO_BYTES, stepCap: MAX_UNDO_STEPS, tile: UNDO_TILE },
  ) {
    this.tilesX = Math.ceil(surface.width / limits.tile);
    this.tilesY = Math.ceil(surface.height / limits.tile);
    this.saved = new Uint8Array(this.tilesX * this.tilesY);
  }

  get canUndo(): boolean {
    return this.undoStack.length > 0 || (this.open?.length ?? 0) > 0;
  }
  get canRedo(): boolean {
    return this.redoStack.length > 0;
  }
  /** Bytes of pixels held by both stacks. */
  get bytes(): number {
    return this.totalBytes;
  }
  get steps(): number {
    return this.undoStack.length + (this.open ? 1 : 0);
  }

  /** A stroke starts: one step for all of it, filled by cover() as the brush moves. */
  beginStroke(): void {
    this.endStroke();
    this.open = [];
    this.saved.fill(0);
    this.dropRedo();
  }

  /**
   * The open stroke is about to paint inside [x0, x1) × [y0, y1) (image pixels, any values; clipped here): the tiles
   * there that it has not saved yet are read now, before the paint.
   */
  cover(x0: number, y0: number, x1: number, y1: number): void {
    const step = this.open;
    if (!step) return;
    const t = this.limits.tile;
    const tx0 = Math.max(0, Math.floor(x0 / t));
    const ty0 = Math.max(0, Math.floor(y0 / t));
    const tx1 = Math.min(this.tilesX - 1, Math.floor((Math.ceil(x1) - 1) / t));
    const ty1 = Math.min(this.tilesY - 1, Math.floor((Math.ceil(y1) - 1) / t));
    for (let ty = ty0; ty <= ty1; ty++) {
      let tx = tx0;
      while (tx <= tx1) {
        if (this.saved[ty * this.tilesX + tx]) {
          tx++;
          continue;
        }
        const start = tx;
        while (tx <= tx1 && !this.saved[ty * this.tilesX + tx]) this.saved[ty * this.tilesX + tx++] = 1;
        const x = start * t;
        const y = ty * t;
        const w = Math.min(this.surface.width, tx * t) - x;
        const h = Math.min(this.surface.height, y + t) - y;
        this.add(step, { x, y, block: this.read(x, y, w, h) });
      }
    }
    this.trim();
  }

  /**
   * The open stroke is about to paint a round brush of `radius` along a → b: the segment is cut into pieces no longer
   * than half a tile, and each piece's box is covered, so a long diagonal saves the tiles along it, not its whole box.
   */
  coverSegment(a: { x: number; y: number }, b: { x: number; y: number }, radius: number): void {
    const n = Math.max(1, Math.ceil(Math.hypot(b.x - a.x, b.y - a.y) / (this.limits.tile / 2)));
    const at = (t: number) => ({ x: a.x + (b.x - a.x) * t, y: a.y + (b.y - a.y) * t });
    for (let i = 0; i < n; i++) this.cover(...segmentBounds(at(i / n), at((i + 1) / n), radius));
  }

  /** The stroke ends (a stroke that saved nothing leaves no step). */
  endStroke(): void {
    const step = this.open;
    this.open = undefined;
    if (step?.length) {
      this.undoStack.push(step);
      this.trim();
    }
  }

  /** A one-action change of the whole canvas (clear, invert): the whole canvas is saved before it. */
  snapshot(): void {
    this.endStroke();
    this.dropRedo();
    const step: Step<B> = [];
    this.add(step, { x: 0, y: 0, block: this.read(0, 0, this.surface.width, this.surface.height) });
    this.undoStack.push(step);
    this.trim();
  }

  undo(): boolean {
    this.endStroke();
    const step = this.undoStack.pop();
    if (!step) return false;
    this.swap(step);
    this.redoStack.push(step);
    return true;
  }

  redo(): boolean {
    const step = this.redoStack.pop();
    if (!step) return false;
    this.swap(step);
    this.undoStack.push(step);
    return true;
  }

  /** Forget everything (a new mask was loaded). */
  reset(): void {
    this.open = undefined;
    this.undoStack = [];
    this.redoStack = [];
    this.totalBytes = 0;
  }

  private read(x: number, y: number, w: number, h: number): B {
    this.reads++;
    return this.surface.read(x, y, w, h);
  }

  /** Canvas ⇄ stored pixels, for every patch of the step. */
  private swap(step: Step<B>): void {
    for (const p of step) {
      const current = this.surface.read(p.x, p.y, p.block.width, p.block.height);
      this.surface.write(p.block, p.x, p.y);
      p.block = current;
    }
  }

  private add(step: Step<B>, p: Patch<B>): void {
    step.push(p);
    this.totalBytes += p.block.data.byteLength;
  }

  private dropRedo(): void {
    for (const s of this.redoStack) this.totalBytes -= stepBytes(s);
    this.redoStack = [];
  }

  /** The oldest finished steps go while the stacks are over a limit (the open or newest step stays). */
  private trim(): void {
    const keep = this.open ? 0 : 1;
    while (this.undoStack.length > keep && (this.totalBytes > this.limits.byteCap || this.steps > this.limits.stepCap)) {
      this.totalBytes -= stepBytes(this.undoStack.shift()!);
    }
  }
}

function stepBytes<B extends PixelBlock>(s: Step<B>): number {
  return s.reduce((n, p) => n + p.block.data.byteLength, 0);
}

/** Image pixels a round brush of `radius` can touch on the segment a → b, with a margin for antialiasing. */
export function segmentBounds(a: { x: number; y: number }, b: { x: number; y: number }, radius: number): [number, number, number, number] {
  const r = radius + 2;
  return [Math.floor(Math.min(a.x, b.x) - r), Math.floor(Math.min(a.y, b.y) - r), Math.ceil(Math.max(a.x, b.x) + r), Math.ceil(Math.max(a.y, b.y) + r)];
}
