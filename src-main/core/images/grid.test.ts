// The comparison export: grid size from the cells, seed and axis labels really drawn, the parameters
// chunk read back by the studio's own parser, and the 64 MP guard on a grid of 16 × 2048² images.
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { parseTextChunks } from '../../../src-shared/metadata';
import { removeTempDirs, tempDir } from '../../testing/temp';
import { StudioError } from '../../../src-shared/errors';
import { GRID_MAX_PIXELS, gridGeometry, renderGrid, xmlText, type GridImage } from './grid';
import { readPngInfo } from '../../formats/png';

afterAll(removeTempDirs);

async function solid(dir: string, name: string, width: number, height: number, rgb: [number, number, number]): Promise<string> {
  const file = path.join(dir, name);
  await sharp({ create: { width, height, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } }).png().toFile(file);
  return file;
}

function image(id: number, file: string, over: Partial<GridImage> = {}): GridImage {
  return { id, file, prompt: 'a fox', negativePrompt: '', seed: String(1000 + id), steps: 28, guidance: 4.5, width: 512, height: 512, model: 'sd3.5-medium', ...over };
}

/** Share of pixels in a region that are dark (label text) — the background and cells are light. */
async function darkShare(png: Buffer, left: number, top: number, width: number, height: number): Promise<number> {
  const { data, info } = await sharp(png).extract({ left, top, width, height }).greyscale().raw().toBuffer({ resolveWithObject: true });
  let dark = 0;
  for (let i = 0; i < data.length; i++) if (data[i]! < 110) dark++;
  return dark / (info.width * info.height);
}

describe('renderGrid', () => {
  it('lays 4 images 2×2 at full size, draws the seed labels and writes a parameters chunk the parser reads', async () => {
    const dir = tempDir('sd35-grid-');
    const files = await Promise.all([0, 1, 2, 3].map((i) => solid(dir, `${i}.png`, 512, 512, [220, 200 + i * 10, 180])));
    const grid = await renderGrid(files.map((f, i) => image(i, f)), { appVersion: '9.9.9' });
    const geo = gridGeometry(2, 2, 512, 512, { axes: false });
    expect([grid.width, grid.height]).toEqual([geo.width, geo.height]);
    expect(grid.scale).toBe(1);
    const meta = await sharp(grid.png).metadata();
    expect([meta.width, meta.height]).toEqual([grid.width, grid.height]);
    // The label band under the first cell has text in it; the cell itself has none.
    const labelTop = 16 + geo.cellHeight;
    expect(await darkShare(grid.png, 16, labelTop, geo.cellWidth, geo.labelHeight)).toBeGreaterThan(0.02);
    expect(await darkShare(grid.png, 16, 16, geo.cellWidth, geo.cellHeight)).toBe(0);
    const parsed = parseTextChunks(readPngInfo(grid.png).chunks);
    expect(parsed?.extra.Seed).toBe('1000, 1001, 1002, 1003');
    expect(parsed?.prompt).toBe('a fox');
    expect(parsed?.steps).toBe(28);
  });

  it('a two-axis set gets a header row and column with the axis values', async () => {
    const dir = tempDir('sd35-grid-');
    const files = await Promise.all([0, 1, 2, 3].map((i) => solid(dir, `${i}.png`, 300, 300, [200, 210, 220])));
    const seeds = ['7', '7', '8', '8'];
    const cfg = [3.5, 7, 3.5, 7];
    const grid = await renderGrid(files.map((f, i) => image(i, f, { seed: seeds[i]!, guidance: cfg[i]! })), { appVersion: '1' });
    expect(grid.layout.kind).toBe('axes');
    const geo = gridGeometry(2, 2, 300, 300, { axes: true, rowHeaderChars: 'Seed 7'.length });
    expect([grid.width, grid.height]).toEqual([geo.width, geo.height]);
    // Column header text over the first column, row header text left of the first row.
    const left0 = 16 + geo.headerWidth + 8;
    expect(await darkShare(grid.png, left0, 16, geo.cellWidth, geo.headerHeight)).toBeGreaterThan(0.01);
    expect(await darkShare(grid.png, 16, 16 + geo.headerHeight + 8, geo.headerWidth, geo.cellHeight)).toBeGreaterThan(0.005);
    const parsed = parseTextChunks(readPngInfo(grid.png).chunks);
    expect(parsed?.extra).toMatchObject({ 'X Type': 'CFG scale', 'X Values': '3.5, 7', 'Y Type': 'Seed', 'Y Values': '7, 8' });
  });

  it('enlarges tiny images by a whole factor so the labels fit', async () => {
    const dir = tempDir('sd35-grid-');
    const files = await Promise.all([0, 1].map((i) => solid(dir, `${i}.png`, 64, 64, [200, 200, 200])));
    const grid = await renderGrid(files.map((f, i) => image(i, f)), { appVersion: '1' });
    expect(grid.cellWidth).toBe(256);
  });

  it('keeps 16 images of 2048² within 64 MP by shrinking the cells', async () => {
    const dir = tempDir('sd35-grid-');
    const file = await solid(dir, 'big.png', 2048, 2048, [210, 210, 210]);
    const images = Array.from({ length: 16 }, (_, i) => image(i, file));
    expect(GRID_MAX_PIXELS).toBe(64_000_000); // the cap is a number people were promised, not whatever the constant says
    const full = gridGeometry(4, 4, 2048, 2048, { axes: false, maxPixels: Infinity });
    expect(full.width * full.height).toBeGreaterThan(GRID_MAX_PIXELS);
    const grid = await renderGrid(images, { appVersion: '1' });
    expect(grid.width * grid.height).toBeLessThanOrEqual(64_000_000);
    expect(grid.width * grid.height).toBeGreaterThan(0.97 * 64_000_000);
    expect(grid.scale).toBeLessThan(1);
    const meta = await sharp(grid.png, { limitInputPixels: false }).metadata();
    expect(meta.width! * meta.height!).toBeLessThanOrEqual(64_000_000);
    expect(fs.existsSync(file)).toBe(true);
  }, 60_000);

  it('a small maxPixels shrinks the same way, and one too small to hold the cells is refused', async () => {
    const g = gridGeometry(4, 4, 1024, 1024, { axes: false, maxPixels: 4_000_000 });
    expect(g.width * g.height).toBeLessThanOrEqual(4_000_000);
    expect(() => gridGeometry(4, 4, 1024, 1024, { axes: false, maxPixels: 10_000 })).toThrow(/does not fit/);
    const wide = gridGeometry(16, 1, 2048, 2048, { axes: false });
    expect(wide.width).toBeLessThanOrEqual(16_384);
  });

  it('labels with what XML 1.0 forbids (a prompt with Word\'s U+000B, a model named with C0 and U+FFFE) still render', async () => {
    const dir = tempDir('sd35-grid-');
    const files = await Promise.all([0, 1].map((i) => solid(dir, `${i}.png`, 300, 300, [200, 210, 220])));
    const hostile = ['line one\u000Bline two', 'model\u0001\u001F\uFFFE\uFFFF\uD800 name'];
    const grid = await renderGrid(
      files.map((f, i) => image(i, f, { prompt: hostile[0]! + String(i), model: `${hostile[1]!}${i}` })),
      { appVersion: '1' },
    );
    const geo = gridGeometry(2, 1, 300, 300, { axes: false });
    expect(await darkShare(grid.png, 16, 16 + geo.cellHeight, geo.cellWidth, geo.labelHeight)).toBeGreaterThan(0.02);
  });

  it('xmlText keeps tab, LF, CR and paired surrogates, and replaces every character XML 1.0 forbids', () => {
    // Independently: the XML 1.0 Char production, #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF].
    const allowed = (cp: number) => cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || cp >= 0x10000;
    const wrong: string[] = [];
    for (let cp = 0; cp <= 0xffff; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const ch = String.fromCharCode(cp);
      const want = !allowed(cp) ? ' ' : '<>&"\''.includes(ch) ? undefined : ch;
      if (want !== undefined && xmlText(ch) !== want) wrong.push(`U+${cp.toString(16)}`);
    }
    expect(wrong).toEqual([]);
    expect(xmlText('\uD83E\uDD8A fox')).toBe('\uD83E\uDD8A fox');
    expect(xmlText('a\uD800b\uDC00c')).toBe('a b c');
    expect(xmlText('<b>&"\'')).toBe('&lt;b&gt;&amp;&quot;&apos;');
  });

  it('an image sharp cannot decode is a clear StudioError, not sharp\'s raw text', async () => {
    const dir = tempDir('sd35-grid-');
    const good = await solid(dir, 'good.png', 300, 300, [200, 210, 220]);
    const bad = path.join(dir, 'bad.png');
    const bytes = fs.readFileSync(good);
    // A valid header (so the size reads) with the image data cut off.
    fs.writeFileSync(bad, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const err = await renderGrid([image(0, good), image(1, bad)], { appVersion: '1' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StudioError);
    expect((err as StudioError).code).not.toBe('internal');
    expect((err as StudioError).message).toMatch(/could not be drawn|Cannot read the image/);
    expect((err as StudioError).message).not.toMatch(/vips|libpng|Input buffer|VipsJpeg|pngload/i);
  });

  it('a grid over the byte cap is refused with its size and the cap', async () => {
    const dir = tempDir('sd35-grid-');
    const files = await Promise.all([0, 1].map((i) => solid(dir, `${i}.png`, 300, 300, [200, 210, 220])));
    const err = await renderGrid(files.map((f, i) => image(i, f)), { appVersion: '1', maxBytes: 1_000 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((err as StudioError).code).toBe('invalid_input');
    expect((err as StudioError).message).toMatch(/over the export limit of 1(\.0+)? kB/);
  });
});
