// The mask editor's canvas work, apart from Vue: a canvas the size of the init image holds the mask as coverage in
// its alpha channel (painted in one tint colour for the overlay); brush strokes are round-capped line segments
// (one path per pointer event, so a stroke costs the segment's pixels, not the canvas's), the eraser cuts with
// destination-out; undo/redo keep only the pixels each stroke painted over (mask-undo.ts: tiles saved as the brush
// reaches them; clear/invert save the whole canvas; bounded in bytes); export gives the PNG the engine reads:
// opaque, white = repaint, black = keep, the source's size. Pointer positions map to image pixels through the
// Compare viewport's transform (components/compare/viewport.ts), so zoom and pan are the same math as Compare's.
import { fitted, type Size, type Viewport } from '../compare/viewport';
import { MaskHistory, type PixelSurface } from './mask-undo';

export type MaskTool = 'brush' | 'eraser';

export const BRUSH_LIMITS = { min: 1, max: 512, step: 1.25 } as const;
/** The overlay's tint (the exported mask is white/black whatever this is). */
export const MASK_TINT = 'rgb(255, 64, 96)';

export interface Point {
  x: number;
  y: number;
}

/**
 * The image pixel under a pointer: `p` in CSS px from the stage's centre; the image is fitted (contain) in the stage,
 * centred, then `translate(x, y) scale(zoom)` around the centre (viewport.ts). q = (p − t)/z is the point on the
 * fitted image (from its centre); pixels = (q + fitted/2) · natural/fitted.
 */
export function imagePointAt(p: Point, v: Viewport, natural: Size, stage: Size): Point {
  const f = fitted(natural, stage);
  if (f.width === 0) return { x: 0, y: 0 };
  const qx = (p.x - v.x) / v.zoom;
  const qy = (p.y - v.y) / v.zoom;
  return { x: ((qx + f.width / 2) * natural.width) / f.width, y: ((qy + f.height / 2) * natural.height) / f.height };
}

/** Image pixels per CSS pixel on screen at this zoom (brush sizes are in image pixels). */
export function imagePixelsPerCssPixel(v: Viewport, natural: Size, stage: Size): number {
  const f = fitted(natural, stage);
  return f.width === 0 ? 1 : natural.width / (f.width * v.zoom);
}

/** `[` and `]`: one step smaller or larger (×1.25), within the limits, whole pixels. */
export function stepBrush(size: number, dir: -1 | 1): number {
  const next = dir > 0 ? Math.max(size + 1, Math.round(size * BRUSH_LIMITS.step)) : Math.min(size - 1, Math.round(size / BRUSH_LIMITS.step));
  return Math.min(BRUSH_LIMITS.max, Math.max(BRUSH_LIMITS.min, next));
}

/** The mask's pixels: 2D context operations on a canvas of the source's size. */
export class MaskCanvas {
  readonly width: number;
  readonly height: number;
  private readonly ctx: CanvasRenderingContext2D;
  private readonly history: MaskHistory<ImageData>;
  private last: Point | undefined;
  /** Bumps on every change (the editor shows "nothing painted" and enables Undo from it). */
  version = 0;

  constructor(readonly canvas: HTMLCanvasElement) {
    this.width = canvas.width;
    this.height = canvas.height;
    // Read back in small tiles on every stroke (undo): a CPU-backed canvas makes those reads cheap.
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    if (!ctx) throw new Error('No 2D canvas context');
    this.ctx = ctx;
    const surface: PixelSurface<ImageData> = {
      width: this.width,
      height: this.height,
      read: (x, y, w, h) => ctx.getImageData(x, y, w, h),
      write: (block, x, y) => ctx.putImageData(block, x, y),
    };
    this.history = new MaskHistory(surface);
    // The canvas allocates its pixels and drawing state on first use: do it now (the editor opening), not in the
    // first stroke's frame (an invisible draw and a read).
    this.warmUp();
  }

  private warmUp(): void {
    this.ctx.save();
    this.ctx.globalCompositeOperation = 'destination-out';
    this.ctx.fillStyle = MASK_TINT;
    this.ctx.beginPath();
    this.ctx.arc(0, 0, 0.5, 0, Math.PI * 2);
    this.ctx.globalAlpha = 0;
    this.ctx.fill();
    this.ctx.restore();
    this.ctx.getImageData(0, 0, 1, 1);
  }

  get canUndo(): boolean {
    return this.history.canUndo;
  }
  get canRedo(): boolean {
    return this.history.canRedo;
  }
  /** Bytes the undo history holds. */
  get undoBytes(): number {
    return this.history.bytes;
  }

  /** A stroke starts: one undo step for all of it; a dot where it starts. */
  begin(p: Point, radius: number, tool: MaskTool): void {
    this.history.beginStroke();
    this.history.coverSegment(p, p, radius);
    this.last = p;
    this.ctx.save();
    this.ctx.globalCompositeOperation = tool === 'eraser' ? 'destination-out' : 'source-over';
    this.ctx.fillStyle = MASK_TINT;
    this.ctx.beginPath();
    this.ctx.arc(p.x, p.y, radius, 0, Math.PI * 2);
    this.ctx.fill();
    this.ctx.restore();
    this.version++;
  }

  /** The stroke goes on to `p`: one round-capped segment from the last point. */
  to(p: Point, radius: number, tool: MaskTool): void {
    // No open stroke (it ended, or Ctrl+Z came mid-stroke): nothing is painted until the next begin().
    const from = this.last;
    if (!from) return;
    this.history.coverSegment(from, p, radius);
    this.ctx.save();
    this.ctx.globalCompositeOperation = tool === 'eraser' ? 'destination-out' : 'source-over';
    this.ctx.strokeStyle = MASK_TINT;
    this.ctx.lineWidth = radius * 2;
    this.ctx.lineCap = 'round';
    this.ctx.lineJoin = 'round';
    this.ctx.beginPath();
    this.ctx.moveTo(from.x, from.y);
    this.ctx.lineTo(p.x, p.y);
    this.ctx.stroke();
    this.ctx.restore();
    this.last = p;
    this.version++;
  }

  end(): void {
    this.last = undefined;
    this.history.endStroke();
  }

  clear(): void {
    this.end();
    this.history.snapshot();
    this.ctx.clearRect(0, 0, this.width, this.height);
    this.version++;
  }

  /** Painted ↔ unpainted: coverage a becomes 255 − a. */
  invert(): void {
    this.end();
    this.history.snapshot();
    const img = this.ctx.getImageData(0, 0, this.width, this.height);
    this.ctx.putImageData(new ImageData(invertCoverage(img.data, tintRgb()), this.width, this.height), 0, 0);
    this.version++;
  }

  undo(): void {
    this.end();
    if (this.history.undo()) this.version++;
  }

  redo(): void {
    if (this.history.redo()) this.version++;
  }

  /** A mask image (white = repaint) as the starting coverage: its luminance becomes the alpha. */
  load(image: CanvasImageSource): void {
    const tmp = document.createElement('canvas');
    tmp.width = this.width;
    tmp.height = this.height;
    const t = tmp.getContext('2d')!;
    t.drawImage(image, 0, 0, this.width, this.height);
    const src = t.getImageData(0, 0, this.width, this.height);
    this.ctx.putImageData(new ImageData(coverageFromLuminance(src.data, tintRgb()), this.width, this.height), 0, 0);
    this.history.reset();
    this.version++;
  }

  /** True when nothing is painted (every alpha 0). */
  isEmpty(): boolean {
    const d = this.ctx.getImageData(0, 0, this.width, this.height).data;
    for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) return false;
    return true;
  }

  /** The engine's mask: opaque PNG, white where painted (coverage as grey), black elsewhere. */
  toPng(): Promise<Blob> {
    const out = document.createElement('canvas');
    out.width = this.width;
    out.height = this.height;
    const o = out.getContext('2d')!;
    const img = this.ctx.getImageData(0, 0, this.width, this.height);
    o.putImageData(new ImageData(luminanceFromCoverage(img.data), this.width, this.height), 0, 0);
    return new Promise((resolve, reject) => out.toBlob((b) => (b ? resolve(b) : reject(new Error('The mask could not be encoded as PNG.'))), 'image/png'));
  }
}

function tintRgb(): [number, number, number] {
  const m = /rgb\((\d+), (\d+), (\d+)\)/.exec(MASK_TINT)!;
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

/** RGBA coverage (alpha) → opaque grey RGBA: luminance = alpha (white = repaint). */
export function luminanceFromCoverage(rgba: Uint8ClampedArray): Uint8ClampedArray<ArrayBuffer> {
  const out = new Uint8ClampedArray(rgba.length);
  for (let i = 0; i < rgba.length; i += 4) {
    const a = rgba[i + 3]!;
    out[i] = a;
    out[i + 1] = a;
    out[i + 2] = a;
    out[i + 3] = 255;
  }
  return out;
}

/**
 * A mask image's RGBA → coverage in the tint: alpha = its luminance (Rec. 601, as sharp's greyscale and the engine
 * read it), transparent pixels count as black (keep), as the engine flattens them.
 */
export function coverageFromLuminance(rgba: Uint8ClampedArray, tint: [number, number, number]): Uint8ClampedArray<ArrayBuffer> {
  const out = new Uint8ClampedArray(rgba.length);
  for (let i = 0; i < rgba.length; i += 4) {
    const lum = 0.299 * rgba[i]! + 0.587 * rgba[i + 1]! + 0.114 * rgba[i + 2]!;
    out[i] = tint[0];
    out[i + 1] = tint[1];
    out[i + 2] = tint[2];
    out[i + 3] = Math.round((lum * rgba[i + 3]!) / 255);
  }
  return out;
}

/** Coverage a → 255 − a, in the tint. */
export function invertCoverage(rgba: Uint8ClampedArray, tint: [number, number, number]): Uint8ClampedArray<ArrayBuffer> {
  const out = new Uint8ClampedArray(rgba.length);
  for (let i = 0; i < rgba.length; i += 4) {
    out[i] = tint[0];
    out[i + 1] = tint[1];
    out[i + 2] = tint[2];
    out[i + 3] = 255 - rgba[i + 3]!;
  }
  return out;
}
