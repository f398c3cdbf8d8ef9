// The mask editor's undo and redo give back the exact pixels (issue #16: strokes keep only the tiles they painted
// over). A person paints strokes with the brush and the eraser in Chromium, undoes and redoes with the desktop keys
// (Ctrl+Z, Ctrl+Shift+Z, Ctrl+Y), keeps the mask ("Use mask"), and the PNG the studio kept is read back through
// inputs.get and compared pixel for pixel with the same strokes painted without the undo round trip. Screenshots of
// the editor at 1280×800 and 1920×1080, light and dark, go to test-results/screenshots/. Any console error fails.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test, type Browser, type Page } from '@playwright/test';
import sharp from 'sharp';
import { startServe, type Served } from '../../src-main/testing/processes';
import { INIT_STORAGE_KEY } from '../../src-renderer/stores/init-image';
import { apiResult, chromiumMissingReason, closeSpecStudio, launchChromium, openGenerateView } from '../support/browser';

// Code inside page.evaluate runs in Chromium; the node tsconfig has no DOM lib.
declare const localStorage: { getItem(k: string): string | null };

let browser: Browser;
let served: Served | undefined;
let dataDir: string;
let galleryId: number;
const shots = path.resolve(__dirname, '..', '..', 'test-results', 'screenshots');
// Not a whole number of the undo's 64 px tiles either way.
const W = 360;
const H = 232;

test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
  const reason = chromiumMissingReason();
  test.skip(!!reason, reason);
  test.setTimeout(120_000);
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-e2e-mask-'));
  served = await startServe(dataDir);
  browser = await launchChromium();
  fs.mkdirSync(shots, { recursive: true });
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}"><rect width="${W}" height="${H}" fill="#3a6ea5"/><circle cx="180" cy="110" r="70" fill="#f2c14e"/></svg>`;
  const png = await sharp(Buffer.from(svg)).png().toBuffer();
  galleryId = (await apiResult<{ imported: { id: number }[] }>(served, 'gallery.import', { files: [{ name: 'mask-me.png', dataBase64: png.toString('base64') }] })).imported[0]!.id;
});

test.afterAll(async () => {
  await closeSpecStudio(browser, served, [dataDir]);
});

type Stroke = [number, number][];
// Stage fractions. A: across the sun; B: a wide sweep that leaves the canvas on the right; C (eraser): through A.
const A: Stroke = [[0.3, 0.35], [0.45, 0.45], [0.6, 0.4]];
const B: Stroke = [[0.35, 0.7], [0.6, 0.75], [0.95, 0.6]];
const C: Stroke = [[0.45, 0.2], [0.47, 0.5], [0.5, 0.8]];

async function stroke(page: Page, points: Stroke): Promise<void> {
  const box = (await page.getByTestId('mask-canvas').locator('..').boundingBox())!;
  const at = ([fx, fy]: [number, number]) => [box.x + box.width * fx, box.y + box.height * fy] as const;
  await page.mouse.move(...at(points[0]!));
  await page.mouse.down();
  for (const p of points.slice(1)) await page.mouse.move(...at(p), { steps: 6 });
  await page.mouse.up();
}

/** The editor on an empty mask (the last one removed), the tool the brush. */
async function openEmptyEditor(page: Page): Promise<void> {
  const panel = page.getByTestId('init-image');
  if (await panel.getByRole('button', { name: 'Remove mask' }).isVisible()) await panel.getByRole('button', { name: 'Remove mask' }).click();
  await panel.getByRole('button', { name: 'Paint mask' }).click();
  const editor = page.getByRole('dialog', { name: 'Mask editor' });
  await expect(editor.getByRole('img', { name: `Init image, ${W} × ${H}` })).toBeVisible();
  await expect(editor.getByRole('button', { name: 'Undo' })).toBeDisabled();
}

/** Ctrl/Shift keys with the editor's brush/eraser toggle (X). */
async function paint(page: Page, strokes: ('A' | 'B' | 'C')[]): Promise<void> {
  const editor = page.getByRole('dialog', { name: 'Mask editor' });
  for (const s of strokes) {
    const eraser = s === 'C';
    if (eraser !== ((await editor.getByRole('radio', { name: 'Eraser' }).getAttribute('aria-checked')) === 'true')) await page.keyboard.press('x');
    await stroke(page, s === 'A' ? A : s === 'B' ? B : C);
  }
}

/** "Use mask", then the kept PNG read back from the studio, as raw greyscale pixels. */
async function keptMask(page: Page): Promise<Buffer> {
  const editor = page.getByRole('dialog', { name: 'Mask editor' });
  await editor.getByRole('button', { name: 'Use mask' }).click();
  await expect(editor).toBeHidden();
  await expect(page.getByTestId('init-image').getByRole('button', { name: 'Remove mask' })).toBeVisible();
  const stored = await page.evaluate((key) => localStorage.getItem(key), INIT_STORAGE_KEY);
  const sha = (JSON.parse(stored ?? '{}') as { mask?: { sha256: string } }).mask?.sha256;
  expect(sha).toMatch(/^[0-9a-f]{64}$/);
  const got = await apiResult<{ dataBase64: string; mimeType: string }>(served!, 'inputs.get', { sha256: sha });
  expect(got.mimeType).toBe('image/png');
  const { data, info } = await sharp(Buffer.from(got.dataBase64, 'base64')).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
  expect([info.width, info.height]).toEqual([W, H]);
  return data;
}

function painted(px: Buffer): number {
  let n = 0;
  for (const v of px) if (v > 0) n++;
  return n;
}

test('undo and redo (Ctrl+Z, Ctrl+Shift+Z, Ctrl+Y) give back the exact pixels, read from the kept mask PNG', async () => {
  test.setTimeout(120_000);
  const { page, errors } = await openGenerateView(browser, served!.url);
  await page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'Gallery' }).click();
  await page.getByRole('grid', { name: 'Gallery images' }).locator(`#gallery-cell-${galleryId}`).click();
  await page.getByRole('complementary', { name: 'Image details' }).getByRole('button', { name: 'Use as input' }).click();
  await expect(page.getByTestId('init-image')).toBeVisible();

  // The references, painted straight: A alone, and A then B then C.
  await openEmptyEditor(page);
  await paint(page, ['A']);
  const onlyA = await keptMask(page);
  await openEmptyEditor(page);
  await paint(page, ['A', 'B', 'C']);
  const abc = await keptMask(page);
  expect(painted(onlyA)).toBeGreaterThan(500);
  expect(painted(abc)).toBeGreaterThan(painted(onlyA)); // B added more than C erased
  expect(abc.equals(onlyA)).toBe(false);

  // B and C undone (Ctrl+Z twice), redone (Ctrl+Shift+Z, Ctrl+Y), undone again: exactly A.
  await openEmptyEditor(page);
  await paint(page, ['A', 'B', 'C']);
  await page.keyboard.press('Control+z');
  await page.keyboard.press('Control+z');
  await page.keyboard.press('Control+Shift+z');
  await page.keyboard.press('Control+y');
  await page.keyboard.press('Control+z');
  await page.keyboard.press('Control+z');
  const editor = page.getByRole('dialog', { name: 'Mask editor' });
  await expect(editor.getByRole('button', { name: 'Redo' })).toBeEnabled();
  expect((await keptMask(page)).equals(onlyA)).toBe(true);

  // Undone to A, then redone (the buttons this time): exactly A then B then C.
  await openEmptyEditor(page);
  await paint(page, ['A', 'B', 'C']);
  await editor.getByRole('button', { name: 'Undo' }).click();
  await editor.getByRole('button', { name: 'Undo' }).click();
  await editor.getByRole('button', { name: 'Redo' }).click();
  await editor.getByRole('button', { name: 'Redo' }).click();
  await expect(editor.getByRole('button', { name: 'Redo' })).toBeDisabled();
  expect((await keptMask(page)).equals(abc)).toBe(true);

  // Invert and clear are one undo step each: back to A then B then C.
  await openEmptyEditor(page);
  await paint(page, ['A', 'B', 'C']);
  await editor.getByRole('button', { name: 'Invert' }).click();
  await editor.getByRole('button', { name: 'Clear' }).click();
  await page.keyboard.press('Control+z');
  await page.keyboard.press('Control+z');
  expect((await keptMask(page)).equals(abc)).toBe(true);

  // The editor over the image, as a person sees it.
  await page.getByTestId('init-image').getByRole('button', { name: 'Edit mask' }).first().click();
  await expect(editor.getByRole('img', { name: `Init image, ${W} × ${H}` })).toBeVisible();
  for (const [w, h] of [[1280, 800], [1920, 1080]] as const) {
    for (const scheme of ['light', 'dark'] as const) {
      await page.setViewportSize({ width: w, height: h });
      await page.emulateMedia({ colorScheme: scheme });
      await page.screenshot({ path: path.join(shots, `mask-editor-undo-${w}-${scheme}.png`) });
    }
  }
  expect(errors).toEqual([]);
  await page.context().close();
});
