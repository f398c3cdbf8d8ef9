// Compare in browser mode over real gallery images of two sweeps (4 seeds; 2 seeds × 2 guidance
// values): a person opens the sweep, zooms with the wheel (every cell takes the same transform, the
// Zoom readout changes, the page never scrolls), swipes and diffs two cells, marks a pick with Space,
// trashes one with Delete and takes it back with Undo, shows one image alone with 2 and returns with
// Escape, exports the grid (the PNG's size and parameters are read back), finds the export saved, and
// sees the two-axis sweep as labelled rows and columns. Screenshots of every state at 1280×800 and
// 1920×1080, light and dark, go to test-results/screenshots/. Any console error fails the test.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { expect, test, type Browser, type Page } from '@playwright/test';
import { parseTextChunks } from '../../src-shared/metadata';
import { gridGeometry } from '../../src-main/core/images/grid';
import { readPngInfo } from '../../src-main/formats/png';
import { startServe, type Served } from '../../src-main/testing/processes';
import { apiResult, chromiumMissingReason, closeSpecStudio, launchChromium, openPage } from '../support/browser';
import { seedSweep, type SeededSweep } from '../support/seed-compare';

// Code inside page.evaluate runs in Chromium; the node tsconfig has no DOM lib.
interface PageEl {
  getBoundingClientRect(): unknown;
  scrollHeight: number;
  clientHeight: number;
  style: { getPropertyValue(name: string): string };
  querySelectorAll(selector: string): ArrayLike<PageEl>;
}
declare const document: { scrollingElement: PageEl; querySelector(selector: string): PageEl | null; querySelectorAll(selector: string): ArrayLike<PageEl> };
declare const window: { innerHeight: number; location: { hash: string } };
declare function getComputedStyle(el: PageEl): { transform: string; mixBlendMode: string; clipPath: string; filter: string; outlineStyle: string; backgroundColor: string };

let browser: Browser;
let served: Served;
let dataDir: string;
let sweep: SeededSweep;
let axes: SeededSweep;
let sixteen: SeededSweep;
const shots = path.resolve(__dirname, '..', '..', 'test-results', 'screenshots');

function api<T>(method: string, params: unknown = {}): Promise<T> {
  return apiResult<T>(served, method, params);
}

test.beforeAll(async () => {
  const reason = chromiumMissingReason();
  test.skip(!!reason, reason);
  test.setTimeout(120_000);
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-e2e-compare-'));
  sweep = await seedSweep(dataDir, { seeds: ['1000', '1001', '1002', '1003'], size: 512 });
  axes = await seedSweep(dataDir, { seeds: ['7', '8'], guidance: [3.5, 7], size: 384 });
  sixteen = await seedSweep(dataDir, { seeds: Array.from({ length: 16 }, (_, k) => String(4_000_000_000 + k)), size: 192 });
  served = await startServe(dataDir);
  browser = await launchChromium();
  fs.mkdirSync(shots, { recursive: true });
});

test.afterAll(async () => {
  await closeSpecStudio(browser, served, [dataDir]);
});

async function openCompare(page: Page, query: string): Promise<void> {
  // The studio is up (the token taken from the URL) before the hash changes.
  await expect(page.getByRole('navigation', { name: 'Views' })).toBeVisible();
  await page.evaluate((q) => {
    window.location.hash = `#/compare?${q}`;
  }, query);
  await expect(page.getByRole('heading', { level: 1, name: 'Compare' })).toBeVisible();
}

/** Every cell image has loaded (naturalWidth > 0). */
async function allPainted(page: Page, n: number): Promise<void> {
  const imgs = page.locator('[data-frame] img');
  await expect(imgs).toHaveCount(n);
  await expect.poll(() => imgs.evaluateAll((els) => els.every((e) => (e as unknown as { naturalWidth: number }).naturalWidth > 0))).toBe(true);
}

async function noPageScroll(page: Page): Promise<void> {
  const m = await page.evaluate(() => {
    const main = document.querySelector('main.content .view-slot')!;
    return { doc: document.scrollingElement.scrollHeight, win: window.innerHeight, main: main.scrollHeight, mainClient: main.clientHeight };
  });
  expect(m.doc).toBeLessThanOrEqual(m.win);
  expect(m.main).toBeLessThanOrEqual(m.mainClient);
}

async function transforms(page: Page): Promise<string[]> {
  return page.evaluate(() => Array.from(document.querySelectorAll('[data-frame] img')).map((el) => getComputedStyle(el).transform));
}

test('compares a seed sweep in one shared viewport: wheel zoom, swipe, difference, pick, trash + undo, solo, export', async () => {
  const { page, errors } = await openPage(browser, served.url, { acceptDownloads: true });
  await openCompare(page, `ids=${sweep.ids.join(',')}&job=${sweep.jobId}`);
  const list = page.getByRole('list', { name: 'Compared images' });
  await expect(list.getByRole('listitem')).toHaveCount(4);
  await allPainted(page, 4);
  for (const seed of ['1000', '1001', '1002', '1003']) await expect(list.getByText(`Seed ${seed}`, { exact: true })).toBeVisible();
  await noPageScroll(page);

  // The colour around an image in its frame (the letterbox), for Difference below.
  const railColour = await list.getByRole('listitem').nth(0).locator('[data-frame]').evaluate((el) => getComputedStyle(el as unknown as PageEl).backgroundColor);

  // The wheel over the second cell zooms all four together.
  const zoom = page.getByRole('status', { name: 'Zoom' }).or(page.getByLabel('Zoom', { exact: true }));
  const before = (await zoom.textContent())!;
  expect(before).toMatch(/^\d+(\.\d)?%$/);
  const box = (await list.getByRole('listitem').nth(1).locator('[data-frame]').boundingBox())!;
  await page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.4);
  // The wheel zooms by transform only: every cell keeps its box (no cell is laid out again). How many layouts a
  // wheel event costs is a benchmark figure (scripts/bench/compare.bench.ts), not a check.
  const cellBoxes = () => list.getByRole('listitem').evaluateAll((items: PageEl[]) => items.map((i) => JSON.stringify(i.getBoundingClientRect())));
  const boxesBefore = await cellBoxes();
  await page.mouse.wheel(0, -400);
  await expect(zoom).not.toHaveText(before);
  expect(await cellBoxes()).toEqual(boxesBefore);
  const after = await transforms(page);
  expect(new Set(after).size).toBe(1);
  expect(after[0]).not.toBe('none');
  expect(after[0]).not.toBe('matrix(1, 0, 0, 1, 0, 0)');
  expect(Number(/matrix\(([\d.]+)/.exec(after[0]!)?.[1])).toBeGreaterThan(1.5);
  // Drag pans every cell the same way.
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.3 + 40, box.y + box.height * 0.4 + 25, { steps: 4 });
  await page.mouse.up();
  const panned = await transforms(page);
  expect(new Set(panned).size).toBe(1);
  expect(panned[0]).not.toBe(after[0]);
  await noPageScroll(page);
  await page.screenshot({ path: path.join(shots, 'compare-e2e-zoomed.png') });

  // Fit and 1:1.
  await page.getByRole('button', { name: 'Fit' }).click();
  await expect.poll(() => transforms(page)).toEqual(Array(4).fill('matrix(1, 0, 0, 1, 0, 0)'));
  await page.getByRole('button', { name: '1:1' }).click();
  await expect(zoom).toHaveText('100%');
  await expect(page.getByRole('button', { name: '1:1' })).toHaveAttribute('aria-pressed', 'true');
  await page.getByRole('button', { name: 'Fit' }).click();
  await expect(zoom).toHaveText(before);
  // Double-click: 1:1 at that point, and back to fit.
  await list.getByRole('listitem').nth(2).locator('[data-frame]').dblclick({ position: { x: 30, y: 30 } });
  await expect(zoom).toHaveText('100%');
  await expect.poll(async () => new Set(await transforms(page)).size).toBe(1);
  await list.getByRole('listitem').nth(2).locator('[data-frame]').dblclick({ position: { x: 30, y: 30 } });
  await expect.poll(() => transforms(page)).toEqual(Array(4).fill('matrix(1, 0, 0, 1, 0, 0)'));

  // Swipe between cells 1 and 2, inside the same viewport.
  await page.getByRole('button', { name: 'Swipe' }).click();
  const stage = page.getByRole('figure', { name: 'swipe of two images' });
  await expect(stage).toBeVisible();
  await page.getByLabel('Swipe position').fill('30');
  await expect.poll(() => page.getByTestId('layer-b').evaluate((el) => getComputedStyle(el as unknown as PageEl).clipPath)).toContain('30%');
  const frame = (await stage.locator('[data-frame]').boundingBox())!;
  await page.mouse.move(frame.x + frame.width / 2, frame.y + frame.height / 2);
  await page.mouse.wheel(0, -200);
  await expect.poll(async () => new Set(await transforms(page)).size).toBe(1);
  expect((await transforms(page))[0]).not.toBe('matrix(1, 0, 0, 1, 0, 0)');
  await noPageScroll(page);

  // Flicker: F shows B, F again A.
  await page.getByRole('button', { name: 'Flicker' }).click();
  const layerB = page.getByTestId('layer-b');
  await expect(layerB).toBeHidden();
  await page.keyboard.press('f');
  await expect(layerB).toBeVisible();
  await page.keyboard.press('f');
  await expect(layerB).toBeHidden();

  // Difference: |A − B| by mix-blend-mode, amplified.
  await page.getByRole('button', { name: 'Difference' }).click();
  await expect(page.getByRole('figure', { name: 'difference of two images' })).toBeVisible();
  expect(await page.getByTestId('layer-b').evaluate((el) => getComputedStyle(el as unknown as PageEl).mixBlendMode)).toBe('difference');
  // Fitted, the square images leave the frame's sides empty: they keep the frame's colour, not a black border
  // (issue #15 §7: the amplified difference used to paint a black background around the images).
  await page.keyboard.press('0');
  await expect.poll(() => transforms(page)).toEqual(Array(2).fill('matrix(1, 0, 0, 1, 0, 0)'));
  const diffFrame = (await page.getByRole('figure', { name: 'difference of two images' }).locator('[data-frame]').boundingBox())!;
  const side = await sharp(await page.screenshot({ clip: { x: diffFrame.x + 6, y: diffFrame.y + diffFrame.height / 2, width: 2, height: 2 } }))
    .removeAlpha()
    .raw()
    .toBuffer();
  const rail = /rgba?\((\d+), (\d+), (\d+)/.exec(railColour)!.slice(1, 4).map(Number);
  expect(rail.some((c) => c > 0)).toBe(true);
  for (let ch = 0; ch < 3; ch++) expect(Math.abs(side[ch]! - rail[ch]!), `channel ${ch} of ${[...side.subarray(0, 3)]} vs ${railColour}`).toBeLessThanOrEqual(3);
  expect(await page.getByTestId('blend').evaluate((el) => getComputedStyle(el as unknown as PageEl).filter)).toContain('brightness(4)');
  await page.getByLabel('Image B').selectOption({ index: 3 });
  await expect(page.getByRole('figure', { name: 'difference of two images' }).getByRole('img').nth(1)).toHaveAttribute('alt', new RegExp(`^Image ${sweep.ids[3]} \\(B\\)`));

  // Escape returns to the grid; arrows move focus; Space marks the pick (a favorite).
  await page.keyboard.press('Escape');
  await expect(list.getByRole('listitem')).toHaveCount(4);
  await list.getByRole('listitem').nth(0).click();
  await page.keyboard.press('ArrowRight');
  await expect(list.getByRole('listitem').nth(1)).toBeFocused();
  // The keyboard's cell shows the focus ring.
  expect(await list.getByRole('listitem').nth(1).evaluate((el) => getComputedStyle(el as unknown as PageEl).outlineStyle)).toBe('solid');
  await page.keyboard.press('Space');
  await expect(list.getByRole('listitem').nth(1)).toHaveAccessibleName(/\(pick\)$/);
  await expect.poll(async () => (await api<{ favorite: boolean }>('gallery.get', { id: sweep.ids[1] })).favorite).toBe(true);

  // 2 shows the second image alone; Escape returns.
  await page.keyboard.press('2');
  await expect(page.getByRole('figure', { name: `Image ${sweep.ids[1]} alone` })).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(list.getByRole('listitem')).toHaveCount(4);
  // Escape also closes the saved-comparisons panel.
  const savedToggle = page.getByRole('button', { name: /^Saved \(\d+\)$/ });
  await savedToggle.click();
  await expect(savedToggle).toHaveAttribute('aria-pressed', 'true');
  await page.keyboard.press('Escape');
  await expect(savedToggle).toHaveAttribute('aria-pressed', 'false');
  await expect(page.locator('.cc-side')).toHaveCount(0);

  // Delete trashes the focused image (out of the comparison); Undo brings it back.
  await list.getByRole('listitem').nth(3).click();
  await page.keyboard.press('Delete');
  await expect(list.getByRole('listitem')).toHaveCount(3);
  expect((await api<{ deletedAt: string | null }>('gallery.get', { id: sweep.ids[3] })).deletedAt).not.toBeNull();
  await page.getByRole('button', { name: 'Undo' }).click();
  await expect(list.getByRole('listitem')).toHaveCount(4);
  expect((await api<{ deletedAt: string | null }>('gallery.get', { id: sweep.ids[3] })).deletedAt).toBeNull();

  // Export: a download named comparison-<id>.png with the grid's size and its axes in `parameters`. The "Exported…"
  // line takes no room from the grid: every cell keeps its box (issue #15 §7: it turned 2×2 into 1×4).
  await page.getByRole('button', { name: 'Fit' }).click();
  const gridBefore = await cellBoxes();
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export' }).click()]);
  expect(download.suggestedFilename()).toMatch(/^comparison-\d+\.png$/);
  // Streamed from a one-time URL (issue 18 §3), not base64 in the reply: fetched once, it is spent (410).
  expect(new URL(download.url()).pathname).toMatch(/^\/download\/[A-Za-z0-9_-]{43}$/);
  const file = path.join(shots, 'compare-export-sweep.png');
  await download.saveAs(file);
  const png = fs.readFileSync(file);
  expect((await page.request.get(download.url())).status()).toBe(410);
  const meta = await sharp(png).metadata();
  await expect(page.getByRole('status').filter({ hasText: `Exported ${download.suggestedFilename()} (${meta.width}×${meta.height})` })).toBeVisible();
  expect(await cellBoxes()).toEqual(gridBefore);
  // Four 512² images in 2×2 cells at full size, with their label bands: exactly the grid's geometry.
  const geo = gridGeometry(2, 2, 512, 512, { axes: false });
  expect([meta.width, meta.height]).toEqual([geo.width, geo.height]);
  expect(geo.scale).toBe(1);
  const parsed = parseTextChunks(readPngInfo(png).chunks);
  expect(parsed?.extra.Seed).toBe('1000, 1001, 1002, 1003');
  expect(parsed?.prompt).toBe('a lighthouse on a cliff at dusk, oil painting');
  expect(parsed?.steps).toBe(28);

  // Exporting saved the comparison: it is in the saved list (and in the URL).
  const id = Number(/comparison-(\d+)\.png/.exec(download.suggestedFilename())![1]);
  await expect(page).toHaveURL(new RegExp(`#/compare\\?saved=${id}$`));
  const saved = await api<{ items: { id: number; jobId: number | null; imageIds: number[] }[] }>('compare.list', {});
  expect(saved.items.find((c) => c.id === id)).toMatchObject({ jobId: sweep.jobId, imageIds: sweep.ids });
  await page.getByRole('button', { name: /^Saved \(\d+\)$/ }).click();
  await expect(page.getByRole('list', { name: 'Saved comparisons' }).getByRole('button', { name: `Open Job ${sweep.jobId} · a lighthouse on a cliff at…` })).toBeVisible();
  await noPageScroll(page);
  expect(errors).toEqual([]);
  await page.context().close();
});

test('a two-axis sweep (2 seeds × 2 guidance values) shows labelled rows and columns', async () => {
  const { page, errors } = await openPage(browser, served.url, { acceptDownloads: true });
  await openCompare(page, `ids=${axes.ids.join(',')}`);
  const table = page.getByRole('table', { name: 'Compared images' });
  await expect(table.getByRole('columnheader', { name: 'CFG 3.5' })).toBeVisible();
  await expect(table.getByRole('columnheader', { name: 'CFG 7' })).toBeVisible();
  await expect(table.getByRole('rowheader', { name: 'Seed 7' })).toBeVisible();
  await expect(table.getByRole('rowheader', { name: 'Seed 8' })).toBeVisible();
  await expect(table.getByRole('cell')).toHaveCount(4);
  await allPainted(page, 4);
  // Rows are seeds, columns guidance: the cell right of "Seed 8" is seed 8 at CFG 3.5.
  const rows = table.getByRole('row');
  await expect(rows).toHaveCount(3);
  await expect(rows.nth(2).getByRole('cell').nth(0)).toHaveAccessibleName('3: Seed 8 · CFG 3.5');
  await expect(rows.nth(2).getByRole('cell').nth(1)).toHaveAccessibleName('4: Seed 8 · CFG 7');
  await noPageScroll(page);
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export' }).click()]);
  const file = path.join(shots, 'compare-export-axes.png');
  await download.saveAs(file);
  const parsed = parseTextChunks(readPngInfo(fs.readFileSync(file)).chunks);
  expect(parsed?.extra).toMatchObject({ 'X Type': 'CFG scale', 'X Values': '3.5, 7', 'Y Type': 'Seed', 'Y Values': '7, 8' });
  expect(errors).toEqual([]);
  await page.context().close();
});

test('empty and error states: nothing open lists the saved comparisons; a missing one says so', async () => {
  const { page, errors } = await openPage(browser, served.url);
  await page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'Compare' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Compare' })).toBeVisible();
  await expect(page.getByRole('heading', { level: 2, name: 'Saved comparisons' })).toBeVisible();
  await expect(page.getByRole('list', { name: 'Saved comparisons' }).getByRole('listitem')).not.toHaveCount(0);
  // A name cut by the column's width shows whole as the tooltip.
  const opens = page.getByRole('list', { name: 'Saved comparisons' }).getByRole('button', { name: /^Open / });
  for (const b of await opens.all()) expect(await b.getAttribute('title')).toBe((await b.getAttribute('aria-label'))!.slice('Open '.length));
  await page.screenshot({ path: path.join(shots, 'compare-empty-1280x800-light.png') });
  await openCompare(page, 'saved=999999');
  await expect(page.getByRole('alert')).toHaveText('Comparison 999999 does not exist.');
  await page.screenshot({ path: path.join(shots, 'compare-error-1280x800-light.png') });
  expect(errors).toEqual([]);
  await page.context().close();
});

test('screenshots: grid, swipe, difference, two-axis, 2, 9 and 16 images at 1280×800 and 1920×1080, light and dark', async () => {
  test.setTimeout(120_000);
  for (const [width, height] of [
    [1280, 800],
    [1920, 1080],
  ] as const) {
    for (const scheme of ['light', 'dark'] as const) {
      const { page, errors } = await openPage(browser, served.url, { viewport: { width, height }, colorScheme: scheme });
      const tag = `${width}x${height}-${scheme}`;
      await openCompare(page, `ids=${sweep.ids.join(',')}`);
      await allPainted(page, 4);
      await noPageScroll(page);
      const list = page.getByRole('list', { name: 'Compared images' });
      const box = (await list.getByRole('listitem').nth(0).locator('[data-frame]').boundingBox())!;
      await page.mouse.move(box.x + box.width * 0.4, box.y + box.height * 0.45);
      await page.mouse.wheel(0, -250);
      await expect.poll(async () => (await transforms(page))[0]).not.toBe('matrix(1, 0, 0, 1, 0, 0)');
      await list.getByRole('listitem').nth(1).click();
      await page.screenshot({ path: path.join(shots, `compare-grid-${tag}.png`) });
      await page.getByRole('button', { name: 'Swipe' }).click();
      await page.getByLabel('Swipe position').fill('42');
      await noPageScroll(page);
      await page.screenshot({ path: path.join(shots, `compare-swipe-${tag}.png`) });
      await page.getByRole('button', { name: 'Difference' }).click();
      await noPageScroll(page);
      await page.screenshot({ path: path.join(shots, `compare-difference-${tag}.png`) });
      await page.getByRole('button', { name: 'Fit' }).click();
      await openCompare(page, `ids=${axes.ids.join(',')}`);
      await allPainted(page, 4);
      await noPageScroll(page);
      await page.screenshot({ path: path.join(shots, `compare-axes-${tag}.png`) });
      await openCompare(page, `ids=${sixteen.ids.join(',')}`);
      await allPainted(page, 16);
      await noPageScroll(page);
      await page.screenshot({ path: path.join(shots, `compare-16-${tag}.png`) });
      for (const n of [2, 9]) {
        await openCompare(page, `ids=${sixteen.ids.slice(0, n).join(',')}`);
        await allPainted(page, n);
        await noPageScroll(page);
        await page.screenshot({ path: path.join(shots, `compare-${n}-${tag}.png`) });
      }
      expect(errors).toEqual([]);
      await page.context().close();
    }
  }
});
