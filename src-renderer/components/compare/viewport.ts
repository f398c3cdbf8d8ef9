// The one shared viewport of Compare: a single transform {zoom, x, y} applied to every cell.
//
// Coordinates: each cell shows its image fitted ("contain") in the cell and centred; the transform is
// `translate(x, y) scale(zoom)` around the cell's centre, in CSS pixels, so zoom 1 at (0, 0) is "fit"
// and every cell of the same size shows the same region. One pixel of the image is
// `zoom · fitted / natural` CSS pixels; "1:1" is the zoom where that is one device pixel.
// Pure functions: the view stores the state and writes it to the grid as CSS custom properties.

export interface Viewport {
  zoom: number;
  x: number;
  y: number;
}

export interface Size {
  width: number;
  height: number;
}

/** What the single-frame stage shows: two chosen images, or one alone (keys 1–9). */
export type StageMode = 'swipe' | 'flicker' | 'difference' | 'solo';

export const FIT: Readonly<Viewport> = Object.freeze({ zoom: 1, x: 0, y: 0 });
export const MIN_ZOOM = 0.25;
/** Relative to fit; with 1024² images in 200 px cells that is ≈ 6,000 % of real size. */
export const MAX_ZOOM = 256;

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}

/** The size of a `natural` image fitted (contain) inside `cell`. */
export function fitted(natural: Size, cell: Size): Size {
  if (natural.width <= 0 || natural.height <= 0 || cell.width <= 0 || cell.height <= 0) return { width: 0, height: 0 };
  const s = Math.min(cell.width / natural.width, cell.height / natural.height);
  return { width: natural.width * s, height: natural.height * s };
}

/**
 * Zoom to `zoom` keeping the image point under `point` (CSS px from the cell's centre) where it is:
 * the point q = (p − t) / z on the image must map back to p.
 */
export function zoomAt(v: Viewport, zoom: number, point: { x: number; y: number }): Viewport {
  const z = clamp(zoom, MIN_ZOOM, MAX_ZOOM);
  const qx = (point.x - v.x) / v.zoom;
  const qy = (point.y - v.y) / v.zoom;
  return { zoom: z, x: point.x - qx * z, y: point.y - qy * z };
}

/** One wheel step: deltaY in pixels (negative = zoom in), exponential so steps feel even. */
export function wheelZoom(v: Viewport, deltaY: number, point: { x: number; y: number }): Viewport {
  const factor = Math.exp(-clamp(deltaY, -400, 400) * 0.002);
  return zoomAt(v, v.zoom * factor, point);
}

export function pan(v: Viewport, dx: number, dy: number): Viewport {
  return { zoom: v.zoom, x: v.x + dx, y: v.y + dy };
}

/** The zoom at which one image pixel is one device pixel. */
export function oneToOneZoom(natural: Size, cell: Size, devicePixelRatio = 1): number {
  const f = fitted(natural, cell);
  if (f.width === 0) return 1;
  return natural.width / devicePixelRatio / f.width;
}

/** Image pixels per device pixel shown (1 = 100 %). */
export function pixelScale(v: Viewport, natural: Size, cell: Size, devicePixelRatio = 1): number {
  return v.zoom / oneToOneZoom(natural, cell, devicePixelRatio);
}

/** "100%", "250%", "33%": the zoom readout. */
export function zoomLabel(v: Viewport, natural: Size, cell: Size, devicePixelRatio = 1): string {
  const p = pixelScale(v, natural, cell, devicePixelRatio) * 100;
  return `${p >= 10 ? Math.round(p) : p.toFixed(1)}%`;
}

export function isOneToOne(v: Viewport, natural: Size, cell: Size, devicePixelRatio = 1): boolean {
  return Math.abs(pixelScale(v, natural, cell, devicePixelRatio) - 1) < 1e-3;
}

/**
 * The 1:1 toggle (and double-click): at 1:1 it goes back to fit; otherwise to 1:1 around `point`
 * (the cell's centre when none is given).
 */
export function toggleOneToOne(v: Viewport, natural: Size, cell: Size, point = { x: 0, y: 0 }, devicePixelRatio = 1): Viewport {
  if (isOneToOne(v, natural, cell, devicePixelRatio)) return { ...FIT };
  return zoomAt(v, oneToOneZoom(natural, cell, devicePixelRatio), point);
}

/** Keeps at least a quarter of the fitted image inside the cell, however far it is dragged. */
export function clampPan(v: Viewport, natural: Size, cell: Size): Viewport {
  const f = fitted(natural, cell);
  const maxX = (cell.width + f.width * v.zoom) / 2 - Math.min(cell.width, f.width * v.zoom) / 4;
  const maxY = (cell.height + f.height * v.zoom) / 2 - Math.min(cell.height, f.height * v.zoom) / 4;
  return { zoom: v.zoom, x: clamp(v.x, -maxX, maxX), y: clamp(v.y, -maxY, maxY) };
}

/** The CSS custom properties the grid carries; each cell's image reads them in its transform. */
export function viewportStyle(v: Viewport): Record<'--vx' | '--vy' | '--vz', string> {
  return { '--vx': `${v.x.toFixed(2)}px`, '--vy': `${v.y.toFixed(2)}px`, '--vz': v.zoom.toFixed(5) };
}
