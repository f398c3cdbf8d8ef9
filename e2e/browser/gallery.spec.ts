// The gallery over a history of 10,000 images, in browser mode: the grid stays small in the DOM while
// a person scrolls to the very end, search narrows it as they type, favorites, delete and Undo, multi-
// select into Compare, drag-and-drop import, and the empty state. Any console error fails the test.
// Also prints the time from clicking "Gallery" to the first painted grid (a figure, not a check).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test, type Browser, type Locator, type Page } from '@playwright/test';
import { encodePng } from '../../src-main/formats/png';
import { startServe, stop, type Served } from '../../src-main/testing/processes';
import { apiResult, chromiumMissingReason, closeSpecStudio, launchChromium, openPage } from '../support/browser';
import { seedGallery } from '../support/seed-gallery';

// Code inside page.evaluate runs in Chromium. The node tsconfig has no DOM lib, so the few browser
// globals that code uses are declared here, for this file only.
interface Rect {
  top: number;
  bottom: number;
  left: number;
  right: number;
}
interface PageEl {
  getBoundingClientRect(): Rect;
  querySelectorAll(selector: string): ArrayLike<PageEl>;
  getAttribute(name: string): string | null;
  scrollTo(options: { top: number }): void;
  dispatchEvent(event: unknown): boolean;
  scrollTop: number;
  scrollHeight: number;
  complete?: boolean;
  naturalWidth?: number;
}
declare const document: {
  body: PageEl;
  querySelector(selector: string): PageEl | null;
  getElementById(id: string): PageEl | null;
  addEventListener(type: string, listener: () => void, options: { capture: boolean; once: boolean }): void;
};
declare const window: Record<string, unknown>;
declare class MutationObserver {
  constructor(callback: () => void);
  observe(target: PageEl, options: { childList: boolean; subtree: boolean }): void;
  disconnect(): void;
}
declare const navigator: { clipboard: { readText(): Promise<string>; read(): Promise<{ types: string[] }[]> } };
declare function requestAnimationFrame(callback: () => void): number;
declare class DataTransfer {
  items: { add(file: File): void };
}
declare class File {
  constructor(parts: Uint8Array[], name: string, options: { type: string });
}
declare class DragEvent {
  constructor(type: string, init: { dataTransfer: DataTransfer; bubbles: boolean; cancelable: boolean });
}

const COUNT = 10_000;
let browser: Browser;
let served: Served;
let dataDir: string;
const shots = path.resolve(__dirname, '..', '..', 'test-results', 'screenshots');

interface Item {
  id: number;
  prompt: string;
  favorite: boolean;
}
interface QueryResult {
  items: Item[];
  total: number;
  nextCursor: string | null;
}

function api<T>(method: string, params: unknown = {}): Promise<T> {
  return apiResult<T>(served, method, params);
}

test.beforeAll(async () => {
  const reason = chromiumMissingReason();
  test.skip(!!reason, reason);
  test.setTimeout(180_000);
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-e2e-gallery-'));
  const started = Date.now();
  await seedGallery(dataDir, COUNT);
  console.log(`seeded ${COUNT} images in ${Date.now() - started} ms`);
  served = await startServe(dataDir);
  browser = await launchChromium();
  fs.mkdirSync(shots, { recursive: true });
});

test.afterAll(async () => {
  await closeSpecStudio(browser, served, [dataDir]);
});

async function openStudio(url = served.url, permissions: string[] = []): Promise<{ page: Page; errors: string[] }> {
  const opened = await openPage(browser, url, { permissions, acceptDownloads: true });
  await expect(opened.page.getByRole('heading', { level: 1, name: 'Generate' })).toBeVisible();
  return opened;
}

async function openGallery(page: Page): Promise<Locator> {
  await page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'Gallery' }).click();
  const grid = page.getByRole('grid', { name: 'Gallery images' });
  await expect(grid.getByRole('gridcell').first()).toBeVisible();
  return grid;
}

/** Cells in the DOM and cells that intersect the grid's viewport. */
function cellCounts(grid: Locator): Promise<{ rendered: number; visible: number; scrollTop: number; scrollHeight: number }> {
  return grid.evaluate((el: PageEl) => {
    const box = el.getBoundingClientRect();
    const cells = Array.from(el.querySelectorAll('[role="gridcell"]'));
    const visible = cells.filter((c: PageEl) => {
      const r = c.getBoundingClientRect();
      return r.bottom > box.top && r.top < box.bottom && r.right > box.left && r.left < box.right;
    }).length;
    return { rendered: cells.length, visible, scrollTop: el.scrollTop, scrollHeight: el.scrollHeight };
  });
}

function cell(grid: Locator, id: number): Locator {
  return grid.locator(`#gallery-cell-${id}`);
}

function countText(page: Page): Locator {
  return page.getByTestId('gallery-count');
}

/** A small PNG as another tool writes it (A1111 `parameters`). */
function foreignPng(prompt: string, seed: number, recordedSize = '48x32'): Buffer {
  const pixels = new Uint8Array(48 * 32 * 3).map((_, i) => (i * 7 + seed) % 251);
  return encodePng({ width: 48, height: 32, channels: 3, data: pixels }, [
    { keyword: 'parameters', text: `${prompt}\nNegative prompt: blurry\nSteps: 30, Sampler: Euler a, CFG scale: 6, Seed: ${seed}, Size: ${recordedSize}, Model: someModel` },
  ]);
}

async function thumbLoaded(c: Locator, timeout = 10_000): Promise<void> {
  await expect.poll(() => c.locator('img').evaluate((i: PageEl) => (i.complete ? (i.naturalWidth ?? 0) : 0)), { timeout }).toBeGreaterThan(0);
}

test('opens 10,000 images at once and keeps the DOM small while scrolling to the very end', async () => {
  test.setTimeout(120_000);
  const { page, errors } = await openStudio();
  const oldest = (await api<QueryResult>('gallery.query', { sort: 'oldest', limit: 1 })).items[0]!;
  const newest = (await api<QueryResult>('gallery.query', { sort: 'newest', limit: 1 })).items[0]!;

  // Time from the click on "Gallery" to the first frame painted with grid cells.
  await page.evaluate(() => {
    window.__galleryPaint = new Promise<number>((resolve) => {
      let clickedAt = 0;
      document.addEventListener('click', () => (clickedAt = performance.now()), { capture: true, once: true });
      const obs = new MutationObserver(() => {
        if (clickedAt && document.querySelector('[role="gridcell"]')) {
          obs.disconnect();
          requestAnimationFrame(() => setTimeout(() => resolve(performance.now() - clickedAt), 0));
        }
      });
      obs.observe(document.body, { childList: true, subtree: true });
    });
  });
  const grid = await openGallery(page);
  const paintMs = await page.evaluate(() => window.__galleryPaint as Promise<number>);
  console.log(`gallery first grid paint over ${COUNT.toLocaleString('en-US')} images: ${paintMs.toFixed(0)} ms after the click (goal ≤ 500 ms)`);

  await expect(countText(page)).toHaveText('10,000 images');
  await expect(cell(grid, newest.id)).toBeVisible();
  await expect(cell(grid, newest.id).locator('img')).toHaveJSProperty('complete', true);
  for (let i = 0; i < 12; i++) await thumbLoaded(grid.getByRole('gridcell').nth(i));
  await page.screenshot({ path: path.join(shots, 'gallery-grid.png') });

  // Scroll to the bottom again and again: pages load, the DOM does not grow.
  let max = { rendered: 0, visible: 0 };
  const samples: string[] = [];
  const check = async (where: string): Promise<void> => {
    const c = await cellCounts(grid);
    expect(c.visible, `${where}: some cells are visible`).toBeGreaterThan(0);
    expect(c.rendered, `${where}: ${c.rendered} cells rendered for ${c.visible} visible`).toBeLessThanOrEqual(3 * c.visible);
    if (c.rendered > max.rendered) max = { rendered: c.rendered, visible: c.visible };
    samples.push(`${c.rendered}/${c.visible}`);
  };
  await check('top');
  // Each scroll to the bottom loads at least one more page (the store's pages hold 120 or 300 images): the end
  // is reached in a bounded number of rounds, however slow the machine.
  const maxRounds = Math.ceil(COUNT / 120) + 5;
  for (let i = 0; ; i++) {
    if (await cell(grid, oldest.id).isVisible()) break;
    expect(i, `reached the end within ${maxRounds} scrolls`).toBeLessThan(maxRounds);
    const before = (await cellCounts(grid)).scrollHeight;
    await grid.evaluate((el: PageEl) => el.scrollTo({ top: el.scrollHeight }));
    await page.waitForFunction(
      ([sel, h, id]) => {
        const el = document.querySelector(sel as string)!;
        return el.scrollHeight > (h as number) || document.getElementById(`gallery-cell-${id as number}`) !== null;
      },
      ['[role="grid"]', before, oldest.id] as const,
    );
    if (i % 5 === 0) await check(`page ${i}`);
  }
  await check('end');
  await expect(cell(grid, oldest.id)).toBeInViewport();
  await thumbLoaded(cell(grid, oldest.id), 30_000); // thumbnails are made on demand; the server may still be busy
  await page.screenshot({ path: path.join(shots, 'gallery-grid-end.png') });

  // And back up through the middle.
  for (const frac of [0.75, 0.5, 0.25, 0.1]) {
    await grid.evaluate((el: PageEl, f: number) => el.scrollTo({ top: el.scrollHeight * f }), frac);
    await page.waitForTimeout(80);
    await check(`${frac * 100}%`);
  }
  console.log(`rendered/visible cells while scrolling: ${samples.join(' ')} (max ${max.rendered} rendered for ${max.visible} visible)`);
  expect(errors).toEqual([]);
});

test('search narrows the grid as you type (prefix match) and the count follows', async () => {
  const { page, errors } = await openStudio();
  const grid = await openGallery(page);
  const expected = (await api<QueryResult>('gallery.query', { search: 'lighthouse', limit: 1 })).total;
  expect(expected).toBeGreaterThan(0);
  expect(expected).toBeLessThan(COUNT);

  const search = page.getByRole('searchbox', { name: 'Search' });
  await search.pressSequentially('lightho', { delay: 40 });
  await expect(countText(page)).toHaveText(`${expected.toLocaleString('en-US')} matches`);
  const titles = await grid.getByRole('gridcell').evaluateAll((cells: PageEl[]) => cells.map((c) => c.getAttribute('title') ?? ''));
  expect(titles.length).toBeGreaterThan(0);
  for (const t of titles) expect(t.toLowerCase()).toContain('lighthouse');
  await page.screenshot({ path: path.join(shots, 'gallery-search.png') });

  // Only punctuation: the search is ignored and the page says so.
  await search.fill('"*"');
  await expect(page.getByRole('status').filter({ hasText: 'ignored' })).toBeVisible();
  await expect(countText(page)).toHaveText('10,000 images');

  await search.fill('');
  await expect(countText(page)).toHaveText('10,000 images');
  expect(errors).toEqual([]);
});

test('favorites an image from the detail panel and filters favorites only', async () => {
  const { page, errors } = await openStudio();
  const grid = await openGallery(page);
  const before = (await api<QueryResult>('gallery.query', { favoritesOnly: true, limit: 1 })).total;
  // The first image that is not a favorite yet.
  const first = (await api<QueryResult>('gallery.query', { limit: 50 })).items.find((i) => !i.favorite)!;

  await cell(grid, first.id).click();
  const detail = page.getByRole('complementary', { name: 'Image details' });
  await expect(detail).toBeVisible();
  await expect(detail.getByText(first.prompt, { exact: true })).toBeVisible();
  await expect(detail.getByRole('img')).toBeVisible();
  await expect(detail.getByRole('button', { name: 'Reveal file' })).toHaveCount(0); // browser mode
  const fav = detail.getByRole('button', { name: 'Favorite' });
  await expect(fav).toHaveAttribute('aria-pressed', 'false');
  await fav.click();
  await expect(fav).toHaveAttribute('aria-pressed', 'true');
  await expect(cell(grid, first.id).locator('.fav')).toBeVisible();
  await expect(detail.locator('img.full.loaded')).toBeVisible();
  await page.screenshot({ path: path.join(shots, 'gallery-detail.png') });

  await page.getByRole('checkbox', { name: 'Favorites only' }).check();
  await expect(countText(page)).toHaveText(`${(before + 1).toLocaleString('en-US')} matches`);
  await expect(cell(grid, first.id)).toBeVisible();
  expect((await api<{ favorite: boolean }>('gallery.get', { id: first.id })).favorite).toBe(true);
  await page.getByRole('checkbox', { name: 'Favorites only' }).uncheck();
  await expect(countText(page)).toHaveText('10,000 images');
  expect(errors).toEqual([]);
});

test('the detail panel copies the prompt and the image, saves with and without metadata, reuses parameters', async () => {
  const { page, errors } = await openStudio(served.url, ['clipboard-read', 'clipboard-write']);
  const grid = await openGallery(page);
  const item = (await api<QueryResult>('gallery.query', { search: 'astronaut', limit: 1 })).items[0]!;
  await page.getByRole('searchbox', { name: 'Search' }).fill('astronaut');
  await cell(grid, item.id).click();
  const detail = page.getByRole('complementary', { name: 'Image details' });
  await expect(detail.getByText(item.prompt, { exact: true })).toBeVisible();
  await expect(detail.getByText('Seed', { exact: true })).toBeVisible();
  await expect(detail.getByText('Model hash', { exact: false }).first()).toBeVisible();

  await detail.getByRole('button', { name: 'Copy prompt' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Prompt copied' })).toBeVisible();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(item.prompt);

  await detail.getByRole('button', { name: 'Copy image' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Image copied' })).toBeVisible();
  expect((await page.evaluate(() => navigator.clipboard.read().then((items) => items.flatMap((i) => i.types)))).includes('image/png')).toBe(true);

  for (const [name, withMeta] of [['Save as…', true], ['Save without metadata…', false]] as const) {
    const [download] = await Promise.all([page.waitForEvent('download'), detail.getByRole('button', { name, exact: true }).click()]);
    expect(download.suggestedFilename()).toMatch(/\.png$/);
    const bytes = fs.readFileSync((await download.path())!);
    expect(bytes.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect(bytes.includes(Buffer.from('sd35studio')), `${name}: metadata chunk`).toBe(withMeta);
  }

  await detail.getByRole('button', { name: 'Reuse parameters' }).click();
  await expect(page).toHaveURL(/#\/generate$/);
  expect(errors).toEqual([]);
});

test('deletes to the trash and comes back with Undo (button and Ctrl+Z)', async () => {
  const { page, errors } = await openStudio();
  const grid = await openGallery(page);
  const [a, b] = (await api<QueryResult>('gallery.query', { limit: 2 })).items;

  // Delete from the detail panel, Undo with the toast's button.
  await cell(grid, a!.id).click();
  await page.getByRole('complementary', { name: 'Image details' }).getByRole('button', { name: 'Delete' }).click();
  await expect(cell(grid, a!.id)).toHaveCount(0);
  await expect(countText(page)).toHaveText('9,999 images');
  const toast = page.getByRole('status').filter({ hasText: 'trash' });
  await expect(toast).toBeVisible();
  await page.screenshot({ path: path.join(shots, 'gallery-undo-toast.png') });
  await toast.getByRole('button', { name: 'Undo' }).click();
  await expect(cell(grid, a!.id)).toBeVisible();
  await expect(countText(page)).toHaveText('10,000 images');
  expect((await api<QueryResult>('gallery.query', { limit: 1 })).items[0]!.id).toBe(a!.id);

  // Delete with the Delete key on the focused grid, Undo with Ctrl+Z.
  await cell(grid, b!.id).click();
  await page.keyboard.press('Delete');
  await expect(cell(grid, b!.id)).toHaveCount(0);
  await expect(countText(page)).toHaveText('9,999 images');
  await page.keyboard.press('Control+z');
  await expect(cell(grid, b!.id)).toBeVisible();
  await expect(countText(page)).toHaveText('10,000 images');
  expect(errors).toEqual([]);
});

test('selects with click, Ctrl+click, Shift+click and the keyboard, and sends two images to Compare', async () => {
  const { page, errors } = await openStudio();
  const grid = await openGallery(page);
  const items = (await api<QueryResult>('gallery.query', { limit: 10 })).items;
  const [a, b, c, d] = items;

  // Shift+click selects a range, keyboard extends and toggles, Escape clears.
  await cell(grid, a!.id).click();
  await cell(grid, d!.id).click({ modifiers: ['Shift'] });
  await expect(page.getByRole('toolbar', { name: 'Selection' })).toContainText('4 selected');
  await page.keyboard.press('Escape');
  await expect(page.getByRole('toolbar', { name: 'Selection' })).toHaveCount(0);
  await page.keyboard.press('Home');
  await page.keyboard.press('Shift+ArrowRight');
  await page.keyboard.press('Shift+ArrowRight');
  await expect(page.getByRole('toolbar', { name: 'Selection' })).toContainText('3 selected');
  await page.keyboard.press('Space'); // toggles the focused one (c) off
  await expect(cell(grid, c!.id)).toHaveAttribute('aria-selected', 'false');
  await expect(page.getByRole('toolbar', { name: 'Selection' })).toContainText('2 selected');
  await page.keyboard.press('Control+a');
  await expect(page.getByRole('toolbar', { name: 'Selection' })).toContainText(/\d+ selected/);
  await page.keyboard.press('Escape');

  // Click + Ctrl+click → Compare with both ids.
  await cell(grid, a!.id).click();
  await cell(grid, c!.id).click({ modifiers: ['Control'] });
  await expect(cell(grid, a!.id)).toHaveAttribute('aria-selected', 'true');
  await expect(cell(grid, b!.id)).toHaveAttribute('aria-selected', 'false');
  await expect(cell(grid, c!.id)).toHaveAttribute('aria-selected', 'true');
  const bar = page.getByRole('toolbar', { name: 'Selection' });
  await expect(bar).toContainText('2 selected');
  await page.screenshot({ path: path.join(shots, 'gallery-selection.png') });
  await bar.getByRole('button', { name: 'Compare' }).click();
  // In THE compare order (src-shared/compare-layout.ts compareOrder: ids ascending, the sweep's order), whichever
  // order they were picked or listed in: the gallery lists newest first, so c (the older) comes first.
  expect(c!.id).toBeLessThan(a!.id);
  await expect(page).toHaveURL(new RegExp(`#/compare\\?ids=${c!.id}(,|%2C)${a!.id}$`));
  await expect(page.getByRole('heading', { level: 1, name: 'Compare' })).toBeVisible();
  // The selection arrived: both images, side by side, with their seeds.
  const compared = page.getByRole('list', { name: 'Compared images' }).getByRole('img');
  await expect(compared).toHaveCount(2);
  await expect(compared.nth(0)).toHaveAttribute('alt', new RegExp(`^Image ${c!.id}:`));
  await expect(compared.nth(1)).toHaveAttribute('alt', new RegExp(`^Image ${a!.id}:`));
  await expect.poll(() => compared.nth(1).evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth)).toBeGreaterThan(0);
  await page.screenshot({ path: path.join(shots, 'compare-selection.png') });
  expect(errors).toEqual([]);
});

test('follows changes made elsewhere: new images appear on top, removed ones go', async () => {
  const { page, errors } = await openStudio();
  const grid = await openGallery(page);
  const png = foreignPng('a lighthouse made of glass on a cliff, gouache', 99);
  const { imported } = await api<{ imported: Item[] }>('gallery.import', { files: [{ name: 'elsewhere.png', dataBase64: png.toString('base64') }] });
  const id = imported[0]!.id;
  await expect(grid.getByRole('gridcell').first()).toHaveAttribute('id', `gallery-cell-${id}`);
  await expect(countText(page)).toHaveText('10,001 images');
  await thumbLoaded(cell(grid, id));
  await api('gallery.delete', { ids: [id] });
  await expect(cell(grid, id)).toHaveCount(0);
  await expect(countText(page)).toHaveText('10,000 images');
  expect(errors).toEqual([]);
});

test('imports dropped PNG files and lists the rejected ones with a reason', async () => {
  const { page, errors } = await openStudio();
  const grid = await openGallery(page);
  // Recorded at 24×16, saved at 48×32 (as an upscaled file is): the detail panel says both.
  const png = foreignPng('a teapot shaped like a whale, gouache', 123456, '24x16');
  const files = [
    { name: 'whale-teapot.png', type: 'image/png', base64: png.toString('base64') },
    { name: 'notes.txt', type: 'text/plain', base64: Buffer.from('not an image').toString('base64') },
  ];
  await page.getByRole('heading', { level: 1, name: 'Gallery' }).evaluate((el: PageEl, list: { name: string; type: string; base64: string }[]) => {
    const dt = new DataTransfer();
    for (const f of list) {
      const bin = atob(f.base64);
      const bytes = Uint8Array.from(bin, (ch) => ch.charCodeAt(0));
      dt.items.add(new File([bytes], f.name, { type: f.type }));
    }
    for (const type of ['dragenter', 'dragover', 'drop']) el.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, files);
  const result = page.getByRole('status').filter({ hasText: 'Imported 1 image' });
  await expect(result).toBeVisible();
  await expect(result).toContainText('notes.txt');
  const imported = grid.getByRole('gridcell', { name: /a teapot shaped like a whale/ });
  await expect(imported).toBeVisible();
  await thumbLoaded(imported);
  await page.screenshot({ path: path.join(shots, 'gallery-import.png') });
  await expect(countText(page)).toHaveText('10,001 images');
  await imported.click();
  const detail = page.getByRole('complementary', { name: 'Image details' });
  await expect(detail.getByText('24×16, saved at 48×32 (upscaled ×2)', { exact: true })).toBeVisible();
  await page.screenshot({ path: path.join(shots, 'gallery-import-detail.png') });
  expect(errors).toEqual([]);
});

test('an empty gallery explains how to fill it', async () => {
  const emptyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-e2e-gallery-empty-'));
  const empty = await startServe(emptyDir);
  try {
    const { page, errors } = await openStudio(empty.url);
    await page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'Gallery' }).click();
    await expect(page.getByText('Your gallery is empty.')).toBeVisible();
    await expect(page.getByText(/drag PNG files from other tools/)).toBeVisible();
    await expect(page.getByRole('main').getByRole('link', { name: 'Generate' })).toBeVisible();
    await page.screenshot({ path: path.join(shots, 'gallery-empty.png') });
    expect(errors).toEqual([]);
  } finally {
    await stop(empty.child);
    fs.rmSync(emptyDir, { recursive: true, force: true });
  }
});
