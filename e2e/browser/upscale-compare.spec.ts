// An upscaled image beside its source in Compare (issue #16 "Compare can show the source beside the results"), in
// browser mode with a tiny real model: generate → "Upscale" ×2 with Lanczos in the Gallery's detail panel → the
// detail panel names the source ("Upscaled ×2 (Lanczos) from #N", a button that selects it) → "Compare with source"
// → the Source pane shows the source's own pixels (from the gallery by id, natural size 128 beside the 256 result,
// frames of one size in the one viewport). Deleted source: the pane falls back to the kept input by sha256; with that
// gone too it says the source is gone (no image element), and the source's finished queue card says "in the trash"
// without asking for its thumbnail. Screenshots of Compare with an upscale and its source at
// 1280×800 and 1920×1080, light and dark, go to test-results/screenshots/. Any console error fails the test. The
// studio is the image-input specs' shared set-up (e2e/support/image-input-studio.ts).
import fs from 'node:fs';
import path from 'node:path';
import { expect, test, type Locator, type Page } from '@playwright/test';
import sharp from 'sharp';
import { atEachLook, chromiumMissingReason, goToView as nav } from '../support/browser';
import { startImageInputStudio, type ImageInputStudio } from '../support/image-input-studio';

// Code inside evaluate runs in Chromium; the node tsconfig has no DOM lib.
interface PageImage {
  naturalWidth: number;
  naturalHeight: number;
  dataset: Record<string, string | undefined>;
}
interface Canvas2d {
  drawImage(img: unknown, x: number, y: number): void;
  getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> };
}
declare const document: { createElement(tag: 'canvas'): { width: number; height: number; getContext(kind: '2d'): Canvas2d } };
declare const window: { location: { hash: string } };

let studio: ImageInputStudio;
let sourceId: number;
let upscaledId: number;
/** The source's pixels as its file holds them (read before the second test trashes it). */
let sourceRgb: Buffer;
const shots = path.resolve(__dirname, '..', '..', 'test-results', 'screenshots');

test.describe.configure({ mode: 'serial' });

const api = <T>(method: string, params: unknown = {}): Promise<T> => studio.api<T>(method, params);

interface Detail {
  path: string;
  pixelWidth: number;
  pixelHeight: number;
  upscaledFrom?: { sha256: string; imageId?: number; upscaler: string; scale: number };
}

test.beforeAll(async () => {
  const reason = chromiumMissingReason();
  test.skip(!!reason, reason);
  test.setTimeout(180_000);
  studio = await startImageInputStudio('upscale-compare', { env: { SD35_ORT_THREADS: '1' } });
  fs.mkdirSync(shots, { recursive: true });
});

test.afterAll(async () => {
  await studio?.close();
});

/** Compare with these ids, by its URL (the studio is up and has its token before the hash changes). */
async function openCompare(page: Page, ids: number[]): Promise<void> {
  await expect(page.getByRole('navigation', { name: 'Views' })).toBeVisible();
  await page.evaluate((q) => {
    window.location.hash = `#/compare?ids=${q}`;
  }, ids.join(','));
  await expect(page.getByRole('heading', { level: 1, name: 'Compare' })).toBeVisible();
}

const galleryTotal = (): Promise<number> => studio.galleryTotal();

/** The RGB pixels of a file in the data folder (what the gallery serves). */
async function filePixels(rel: string): Promise<{ data: Buffer; width: number; height: number }> {
  const { data, info } = await sharp(path.join(studio.dataDir, ...rel.split('/'))).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/** The RGB pixels Chromium decoded for an <img> (drawn at its natural size). */
function shownPixels(img: Locator): Promise<number[]> {
  return img.evaluate((el: PageImage) => {
    const c = document.createElement('canvas');
    c.width = el.naturalWidth;
    c.height = el.naturalHeight;
    const g = c.getContext('2d');
    g.drawImage(el, 0, 0);
    const rgba = g.getImageData(0, 0, c.width, c.height).data;
    const rgb: number[] = [];
    for (let i = 0; i < rgba.length; i += 4) rgb.push(rgba[i]!, rgba[i + 1]!, rgba[i + 2]!);
    return rgb;
  });
}

/** The Source pane shows exactly the source's pixels (natural size and every value), read from `from`. */
async function expectSourcePixels(page: Page, from: 'gallery' | 'kept'): Promise<void> {
  const pane = page.getByRole('group', { name: 'Source' });
  const img = pane.getByRole('img', { name: 'Source image' });
  await expect(img).toHaveAttribute('data-from', from);
  await expect.poll(() => img.evaluate((el: PageImage) => `${el.naturalWidth}×${el.naturalHeight}`)).toBe('128×128');
  const got = await shownPixels(img);
  expect(got.length).toBe(sourceRgb.length);
  let differing = 0;
  for (let i = 0; i < got.length; i++) if (got[i] !== sourceRgb[i]) differing++;
  expect(differing).toBe(0);
}

/**
 * The ×2 result and its 128 px source are shown at one size in the one viewport: each is fitted into its frame
 * (object-fit contain) under the same transform, so their pictures cover the same CSS size (a pixel of the source
 * covers two of the result's), at fit and zoomed in alike.
 */
async function expectLinedUp(page: Page): Promise<void> {
  const shown = (frame: Locator) =>
    frame.evaluate((el: { getBoundingClientRect(): { width: number; height: number }; querySelector(s: string): PageImage | null }) => {
      const r = el.getBoundingClientRect();
      const img = el.querySelector('img')!;
      const k = Math.min(r.width / img.naturalWidth, r.height / img.naturalHeight);
      return [img.naturalWidth * k, img.naturalHeight * k];
    });
  const source = await shown(page.getByRole('group', { name: 'Source' }).locator('[data-frame]'));
  const result = await shown(page.getByRole('list', { name: 'Compared images' }).getByRole('listitem').first().locator('[data-frame]'));
  expect(Math.abs(source[0]! - result[0]!)).toBeLessThan(0.5);
  expect(Math.abs(source[1]! - result[1]!)).toBeLessThan(0.5);
}

test('generate → Upscale ×2 (Lanczos) → the detail panel names the source → Compare shows the source beside the result', async () => {
  test.setTimeout(170_000);
  const { page, errors } = await studio.open();
  await page.getByLabel('Prompt', { exact: true }).fill('a lighthouse on a cliff');
  await page.getByRole('spinbutton', { name: 'Steps' }).fill('2');
  await page.getByRole('spinbutton', { name: 'Guidance' }).fill('0');
  await page.getByRole('textbox', { name: 'Seed', exact: true }).fill('77');
  await page.getByRole('spinbutton', { name: 'Images' }).fill('1');
  await page.getByRole('spinbutton', { name: 'Width' }).fill('128');
  await page.getByRole('spinbutton', { name: 'Height' }).fill('128');
  await page.getByRole('button', { name: 'Generate' }).click();
  const card = page.getByRole('article', { name: /^Job \d+: a lighthouse on a cliff/ });
  await expect(card.getByRole('button', { name: 'Open Seed 77 in the Gallery' })).toHaveCount(1, { timeout: 120_000 });
  sourceId = (await api<{ items: { generations: { imageId?: number }[] }[] }>('jobs.list', {})).items[0]!.generations[0]!.imageId!;
  const file = await filePixels((await api<Detail>('gallery.get', { id: sourceId })).path);
  expect([file.width, file.height]).toEqual([128, 128]);
  sourceRgb = file.data;

  // Upscale ×2 with Lanczos from the detail panel.
  await nav(page, 'Gallery');
  const grid = page.getByRole('grid', { name: 'Gallery images' });
  await grid.locator(`#gallery-cell-${sourceId}`).click();
  const detail = page.getByRole('complementary', { name: 'Image details' });
  // A text-to-image result has no source: nothing to compare it with, nothing named.
  await expect(detail.getByRole('button', { name: 'Reuse parameters' })).toBeVisible();
  await expect(detail.getByRole('button', { name: 'Compare with source' })).toHaveCount(0);
  await expect(detail.getByTestId('upscaled-from')).toHaveCount(0);
  const control = detail.getByRole('region', { name: 'Upscale' });
  await control.getByRole('combobox', { name: 'Upscaler', exact: true }).selectOption('lanczos');
  await control.getByRole('combobox', { name: 'Scale', exact: true }).selectOption('2');
  await expect(control.getByTestId('upscale-size')).toHaveText('128×128 → 256×256');
  const before = await galleryTotal();
  await control.getByRole('button', { name: 'Upscale' }).click();
  await expect.poll(galleryTotal, { timeout: 60_000 }).toBe(before + 1);
  const job = (await api<{ items: { upscale?: unknown; generations: { imageId?: number }[] }[] }>('jobs.list', {})).items[0]!;
  expect(job.upscale).toBeDefined();
  upscaledId = job.generations[0]!.imageId!;
  const d = await api<Detail>('gallery.get', { id: upscaledId });
  expect([d.pixelWidth, d.pixelHeight]).toEqual([256, 256]);
  expect(d.upscaledFrom).toMatchObject({ imageId: sourceId, upscaler: 'lanczos', scale: 2 });

  // The detail panel names the source; its button selects it.
  await grid.locator(`#gallery-cell-${upscaledId}`).click();
  const from = detail.getByTestId('upscaled-from');
  await expect(from).toHaveText(`Upscaled ×2 (Lanczos) from #${sourceId}`);
  await atEachLook(page, ({ width, scheme }) => detail.screenshot({ path: path.join(shots, `detail-upscaled-from-${width}-${scheme}.png`) }));
  await from.getByRole('button', { name: `Select the source, image ${sourceId}` }).click();
  await expect(detail.locator('dt', { hasText: /^Image id$/ }).locator('xpath=following-sibling::dd[1]')).toHaveText(String(sourceId));
  await expect(detail.getByTestId('upscaled-from')).toHaveCount(0);
  await grid.locator(`#gallery-cell-${upscaledId}`).click();
  await expect(from).toBeVisible();
  await detail.getByRole('button', { name: 'Compare with source' }).click();

  // Compare: the source (from the gallery, by id) beside the ×2 result, in frames of one size on one row.
  await expect(page.getByRole('heading', { level: 1, name: 'Compare' })).toBeVisible();
  await expect(page).toHaveURL(new RegExp(`ids=${upscaledId}(&|$)`));
  const pane = page.getByRole('group', { name: 'Source' });
  await expect(pane).toContainText('upscaled ×2 (Lanczos)');
  await expectSourcePixels(page, 'gallery');
  const cells = page.getByRole('list', { name: 'Compared images' }).getByRole('listitem');
  await expect(cells).toHaveCount(1);
  await expect.poll(() => cells.first().getByRole('img').evaluate((el: PageImage) => `${el.naturalWidth}×${el.naturalHeight}`)).toBe('256×256');
  const sourceFrame = (await pane.locator('[data-frame]').boundingBox())!;
  const resultFrame = (await cells.first().locator('[data-frame]').boundingBox())!;
  expect(sourceFrame.x + sourceFrame.width).toBeLessThanOrEqual(resultFrame.x);
  expect(Math.abs(sourceFrame.y - resultFrame.y)).toBeLessThan(1);
  await expectLinedUp(page);
  // The viewport's size is the result's (256), not the source's: 1:1 shows the result's real pixels.
  await page.getByRole('button', { name: '1:1' }).click();
  await expect(page.getByRole('button', { name: '1:1' })).toHaveAttribute('aria-pressed', 'true');
  // The picture's shown size: the layer (frame-sized, object-fit contain) after the shared transform, over its pixels.
  const shownScale = () =>
    cells
      .first()
      .getByRole('img')
      .evaluate((el: PageImage & { getBoundingClientRect(): { width: number; height: number } }) => {
        const r = el.getBoundingClientRect();
        return Math.min(r.width / el.naturalWidth, r.height / el.naturalHeight);
      });
  await expect.poll(shownScale).toBeCloseTo(1, 2);
  await page.getByRole('button', { name: 'Fit' }).click();
  // The Source toggle hides and shows the pane.
  const toggle = page.getByRole('button', { name: 'Source', exact: true });
  await toggle.click();
  await expect(pane).toHaveCount(0);
  await toggle.click();
  await expect(pane).toBeVisible();
  await atEachLook(page, async ({ width, scheme }) => {
    await expectSourcePixels(page, 'gallery');
    await expectLinedUp(page);
    await page.screenshot({ path: path.join(shots, `compare-upscale-source-${width}-${scheme}.png`) });
  });
  expect(errors).toEqual([]);
  await page.context().close();
});

test('a deleted source: the kept input by sha256 takes its place; with that gone too the pane says so', async () => {
  test.setTimeout(90_000);
  expect(upscaledId, 'the first test made the upscale').toBeGreaterThan(0);
  await api('gallery.delete', { ids: [sourceId] });
  const { page, errors } = await studio.open();
  // The source's finished queue card stays: it says the image is in the trash and asks for no thumbnail of it (the
  // trash removed its thumbnails; a request would be a 404 console error).
  const thumbRequests: string[] = [];
  page.on('request', (r) => {
    if (new URL(r.url()).pathname.endsWith(`/thumb/${sourceId}`)) thumbRequests.push(r.url());
  });
  await nav(page, 'Generate');
  await expect(page.locator(`article.job li[title^="Seed"][title$=": the image is in the trash"]`).getByTestId('image-in-trash')).toHaveText('in the trash');
  expect(thumbRequests).toEqual([]);
  await page.screenshot({ path: path.join(shots, 'queue-card-image-in-trash-1280-light.png') });
  await openCompare(page, [upscaledId]);
  await expectSourcePixels(page, 'kept');

  // The detail panel still names it, and says it is in the trash (nothing to select).
  await nav(page, 'Gallery');
  await page.getByRole('grid', { name: 'Gallery images' }).locator(`#gallery-cell-${upscaledId}`).click();
  const from = page.getByRole('complementary', { name: 'Image details' }).getByTestId('upscaled-from');
  await expect(from).toHaveText(`Upscaled ×2 (Lanczos) from #${sourceId} (in the trash)`);
  await expect(from.getByRole('button', { name: `Select the source, image ${sourceId}` })).toBeDisabled();

  // The kept copy removed as well (what emptying the inputs would do): no picture, the reason instead.
  const { upscaledFrom } = await api<Detail>('gallery.get', { id: upscaledId });
  fs.rmSync(path.join(studio.dataDir, 'inputs', upscaledFrom!.sha256));
  await openCompare(page, [upscaledId]);
  const pane = page.getByRole('group', { name: 'Source' });
  await expect(pane.getByRole('status')).toHaveText(`The source is gone: image #${sourceId} is in the trash and its kept copy is no longer in the data folder.`);
  await expect(pane.getByRole('img')).toHaveCount(0);
  await page.screenshot({ path: path.join(shots, 'compare-upscale-source-gone-1280-light.png') });
  expect(errors).toEqual([]);
  await page.context().close();
});
