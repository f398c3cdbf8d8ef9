// Comparison export: one PNG of the compared images in their grid, each cell captioned with its seed
// (and every other parameter that differs), a two-axis set with its axis values as row and column
// headers, and a `parameters` chunk describing the axes (src-shared/compare-layout.ts writes it with
// the A1111 quoting rule, so the studio's own parser reads it back).
//
// Size guard: cells are scaled down so the whole grid stays within 64 MP and 16,384 px a side (A1111
// added a guard after a 748 MP grid, PR #8175). Tiny images (the test models make 64²) are enlarged
// by a whole factor with nearest-neighbour so their labels fit and their pixels stay crisp.
// Labels are small SVGs rendered by sharp (librsvg), composited beside each cell.
import fs from 'node:fs';
import sharp, { type OverlayOptions } from 'sharp';
import { formatBytes } from '../../../src-shared/bytes';
import { StudioError } from '../../../src-shared/errors';
import { cellLabel, compareLayout, formatAxisValue, formatGridParameters, type CompareLayout, type CompareSubject } from '../../../src-shared/compare-layout';
import { PARAMETERS_KEYWORD } from '../../../src-shared/metadata';
import { withTextChunks } from '../../formats/png';

export const GRID_MAX_PIXELS = 64_000_000;
export const GRID_MAX_SIDE = 16_384;
/** The encoded grid may not exceed this (a 64 MP grid of noisy cells is ~190 MB; base64 of 128 MB fits the contract). */
export const GRID_MAX_BYTES = 128_000_000;
/** Cells smaller than this on their long side are enlarged by a whole factor. */
const MIN_CELL = 256;
const MARGIN = 16;
const GAP = 8;
const FONT = "'DejaVu Sans', 'Helvetica Neue', Arial, sans-serif";
const COLORS = { background: '#f4f4f5', cell: '#e4e4e7', text: '#18181b', muted: '#52525b' };

export interface GridImage extends CompareSubject {
  /** Absolute path of the image file. */
  file: string;
}

export interface GridOptions {
  appVersion: string;
  maxPixels?: number;
  maxSide?: number;
  maxBytes?: number;
}

export interface GridResult {
  png: Buffer;
  width: number;
  height: number;
  /** The factor applied to the cells (1 = full size; < 1 when the size guard shrank them). */
  scale: number;
  cellWidth: number;
  cellHeight: number;
  layout: CompareLayout;
  parameters: string;
}

export interface GridGeometry {
  width: number;
  height: number;
  cellWidth: number;
  cellHeight: number;
  scale: number;
  labelHeight: number;
  headerWidth: number;
  headerHeight: number;
  fontSize: number;
}

function fontFor(cellWidth: number): number {
  return Math.max(12, Math.min(28, Math.round(cellWidth / 22)));
}

/**
 * Sizes of a grid of `columns`×`rows` cells of `cellW`×`cellH`, scaled down (never up) until it
 * fits `maxPixels` and `maxSide`. Labels keep a readable size; only the cells shrink.
 */
export function gridGeometry(
  columns: number,
  rows: number,
  cellW: number,
  cellH: number,
  options: { axes: boolean; rowHeaderChars?: number; maxPixels?: number; maxSide?: number },
): GridGeometry {
  const maxPixels = options.maxPixels ?? GRID_MAX_PIXELS;
  const maxSide = options.maxSide ?? GRID_MAX_SIDE;
  const measure = (scale: number): GridGeometry => {
    const cw = Math.max(1, Math.floor(cellW * scale));
    const ch = Math.max(1, Math.floor(cellH * scale));
    const fontSize = fontFor(cw);
    const labelHeight = Math.round(fontSize * 1.9);
    const headerHeight = options.axes ? labelHeight : 0;
    const headerWidth = options.axes ? Math.round(Math.min(cw, Math.max(4, options.rowHeaderChars ?? 12) * fontSize * 0.62 + fontSize)) : 0;
    const width = MARGIN * 2 + headerWidth + (headerWidth ? GAP : 0) + columns * cw + (columns - 1) * GAP;
    const height = MARGIN * 2 + headerHeight + (headerHeight ? GAP : 0) + rows * (ch + labelHeight) + (rows - 1) * GAP;
    return { width, height, cellWidth: cw, cellHeight: ch, scale, labelHeight, headerWidth, headerHeight, fontSize };
  };
  const fits = (g: GridGeometry) => g.width * g.height <= maxPixels && g.width <= maxSide && g.height <= maxSide;
  let g = measure(1);
  if (fits(g)) return g;
  // The fixed parts (margins, gaps, labels) do not shrink, so search the factor instead of solving.
  let lo = 0;
  let hi = 1;
  for (let k = 0; k < 30; k++) {
    const mid = (lo + hi) / 2;
    if (fits(measure(mid))) lo = mid;
    else hi = mid;
  }
  g = measure(lo);
  if (!fits(g) || g.cellWidth < 8 || g.cellHeight < 8) {
    throw new StudioError('invalid_input', `A ${columns}×${rows} grid does not fit ${Math.round(maxPixels / 1e6)} MP.`);
  }
  return g;
}

/**
 * Text as XML 1.0 character data: what XML forbids (C0 controls but tab/LF/CR, U+FFFE/U+FFFF, lone surrogates —
 * Word's U+000B line break in a prompt, any of them in an imported model name) becomes a space, since librsvg
 * refuses the whole label otherwise; then the five special characters are escaped.
 */
export function xmlText(s: string): string {
  return (
    s
      // eslint-disable-next-line no-control-regex -- matching control characters is the point
      .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, ' ')
      .replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!)
  );
}

/** Cut text to about what fits `width` px at `fontSize` (DejaVu Sans averages ~0.6 em a glyph). */
function fitText(text: string, width: number, fontSize: number): string {
  const max = Math.max(3, Math.floor((width - fontSize * 0.5) / (fontSize * 0.6)));
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function labelSvg(text: string, width: number, height: number, fontSize: number, opts: { bold?: boolean; anchor?: 'start' | 'middle' } = {}): Buffer {
  const anchor = opts.anchor ?? 'start';
  const x = anchor === 'middle' ? width / 2 : Math.round(fontSize * 0.3);
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
    `<text x="${x}" y="${Math.round(height / 2 + fontSize * 0.36)}" font-family="${FONT}" font-size="${fontSize}" ` +
    `font-weight="${opts.bold ? 700 : 400}" fill="${opts.bold ? COLORS.text : COLORS.muted}" text-anchor="${anchor}">` +
    `${xmlText(fitText(text, width, fontSize))}</text></svg>`;
  return Buffer.from(svg);
}

async function readSize(file: string): Promise<{ width: number; height: number }> {
  try {
    const m = await sharp(file, { limitInputPixels: 16384 * 16384 }).metadata();
    if (!m.width || !m.height) throw new Error('no size');
    return { width: m.width, height: m.height };
  } catch {
    throw new StudioError('not_found', `Cannot read the image file ${file}.`);
  }
}

/**
 * Renders the grid PNG (with its `parameters` chunk) of 2–16 images. What sharp/librsvg refuses becomes a clear
 * StudioError (never sharp's raw text as an internal error); a grid over `maxBytes` is refused.
 */
export async function renderGrid(images: readonly GridImage[], options: GridOptions): Promise<GridResult> {
  let result: GridResult;
  try {
    result = await drawGrid(images, options);
  } catch (err) {
    if (err instanceof StudioError) throw err;
    throw new StudioError('invalid_input', 'The comparison grid could not be drawn: one of its images or labels could not be rendered. Remove the image that fails to open in the gallery and export again.');
  }
  const maxBytes = options.maxBytes ?? GRID_MAX_BYTES;
  if (result.png.length > maxBytes) {
    throw new StudioError('invalid_input', `The grid would be ${formatBytes(result.png.length)}, over the export limit of ${formatBytes(maxBytes)}. Compare fewer images, or smaller ones.`, { bytes: result.png.length, maxBytes });
  }
  return result;
}

async function drawGrid(images: readonly GridImage[], options: GridOptions): Promise<GridResult> {
  if (images.length < 1) throw new StudioError('invalid_input', 'Nothing to export: the comparison has no images left.');
  for (const img of images) {
    if (!fs.existsSync(img.file)) throw new StudioError('not_found', `Image ${img.id} has no file.`);
  }
  const sizes = await Promise.all(images.map((i) => readSize(i.file)));
  let cellW = Math.max(...sizes.map((s) => s.width));
  let cellH = Math.max(...sizes.map((s) => s.height));
  const enlarge = Math.max(cellW, cellH) < MIN_CELL ? Math.ceil(MIN_CELL / Math.max(cellW, cellH)) : 1;
  cellW *= enlarge;
  cellH *= enlarge;

  const layout = compareLayout(images);
  const axes = layout.kind === 'axes' && layout.rowAxis && layout.columnAxis;
  const rowHeaders = axes ? layout.rowAxis!.values.map((v) => formatAxisValue(layout.rowAxis!.key, v)) : [];
  const geo = gridGeometry(layout.columns, layout.rows, cellW, cellH, {
    axes: !!axes,
    rowHeaderChars: Math.max(0, ...rowHeaders.map((h) => h.length)),
    maxPixels: options.maxPixels,
    maxSide: options.maxSide,
  });

  const left0 = MARGIN + geo.headerWidth + (geo.headerWidth ? GAP : 0);
  const top0 = MARGIN + geo.headerHeight + (geo.headerHeight ? GAP : 0);
  const cellLeft = (c: number) => left0 + c * (geo.cellWidth + GAP);
  const cellTop = (r: number) => top0 + r * (geo.cellHeight + geo.labelHeight + GAP);

  const layers: OverlayOptions[] = [];
  for (let k = 0; k < layout.cells.length; k++) {
    const index = layout.cells[k];
    if (index === null || index === undefined) continue;
    const r = Math.floor(k / layout.columns);
    const c = k % layout.columns;
    const img = images[index]!;
    const size = sizes[index]!;
    const fit = Math.min(geo.cellWidth / size.width, geo.cellHeight / size.height);
    const w = Math.max(1, Math.round(size.width * fit));
    const h = Math.max(1, Math.round(size.height * fit));
    const input = await sharp(img.file, { limitInputPixels: 16384 * 16384 })
      .removeAlpha()
      .resize(w, h, { kernel: fit >= 2 ? 'nearest' : 'lanczos3', fit: 'fill' })
      .png({ compressionLevel: 0 })
      .toBuffer();
    layers.push({ input, left: cellLeft(c) + Math.floor((geo.cellWidth - w) / 2), top: cellTop(r) + Math.floor((geo.cellHeight - h) / 2) });
    layers.push({
      input: labelSvg(cellLabel(img, layout), geo.cellWidth, geo.labelHeight, geo.fontSize, { bold: true }),
      left: cellLeft(c),
      top: cellTop(r) + geo.cellHeight,
    });
  }
  if (axes) {
    layout.columnAxis!.values.forEach((v, c) => {
      layers.push({
        input: labelSvg(formatAxisValue(layout.columnAxis!.key, v), geo.cellWidth, geo.headerHeight, geo.fontSize, { bold: true, anchor: 'middle' }),
        left: cellLeft(c),
        top: MARGIN,
      });
    });
    rowHeaders.forEach((text, r) => {
      layers.push({
        input: labelSvg(text, geo.headerWidth, geo.labelHeight, geo.fontSize, { bold: true }),
        left: MARGIN,
        top: cellTop(r) + Math.floor((geo.cellHeight - geo.labelHeight) / 2),
      });
    });
  }

  const raw = await sharp({
    create: { width: geo.width, height: geo.height, channels: 3, background: COLORS.background },
    limitInputPixels: false,
  })
    .composite(layers)
    .png({ compressionLevel: 6 })
    .toBuffer();
  const parameters = formatGridParameters(images, layout, options.appVersion);
  const png = withTextChunks(raw, [{ keyword: PARAMETERS_KEYWORD, text: parameters }]);
  return { png, width: geo.width, height: geo.height, scale: geo.scale, cellWidth: geo.cellWidth, cellHeight: geo.cellHeight, layout, parameters };
}
