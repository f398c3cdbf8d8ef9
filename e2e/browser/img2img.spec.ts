// Image to image in browser mode with a tiny real model that has a VAE encoder: a person opens a gallery image,
// picks "Inpaint", paints a mask in the mask editor (brush, size keys, undo), keeps it, generates two seeds and sees
// the results next to their source in Compare (the "Source" pane); a dropped file starts an image-to-image job
// whose strength slider says how many steps run; a corrupt dropped file is refused with a clear message and nothing
// reaches the gallery. Screenshots of the init panel, the mask editor and Compare with its source at 1280×800 and
// 1920×1080, light and dark, go to test-results/screenshots/. Any console error fails the test.
import fs from 'node:fs';
import path from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import sharp from 'sharp';
import { atEachLook, chromiumMissingReason, selectInGallery } from '../support/browser';
import { shapesPicture, startImageInputStudio, type ImageInputStudio } from '../support/image-input-studio';

// Code inside page.evaluate runs in Chromium; the node tsconfig has no DOM lib.
interface PageEl {
  dispatchEvent(e: unknown): boolean;
}
declare const document: { querySelector(s: string): PageEl | null };
declare class DataTransfer {
  items: { add(f: unknown): void };
}
declare class File {
  constructor(parts: unknown[], name: string, opts: { type: string });
}
declare class DragEvent {
  constructor(type: string, init: { dataTransfer: DataTransfer; bubbles: boolean; cancelable: boolean });
}
declare function atob(s: string): string;

let studio: ImageInputStudio;
const shots = path.resolve(__dirname, '..', '..', 'test-results', 'screenshots');

test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
  const reason = chromiumMissingReason();
  test.skip(!!reason, reason);
  test.setTimeout(180_000);
  studio = await startImageInputStudio('img2img');
  fs.mkdirSync(shots, { recursive: true });
});

test.afterAll(async () => {
  await studio?.close();
});

/** Drags along a path of stage fractions with the left button (a brush stroke). */
async function stroke(page: Page, points: [number, number][]): Promise<void> {
  const box = (await page.getByTestId('mask-canvas').locator('..').boundingBox())!;
  const at = ([fx, fy]: [number, number]) => [box.x + box.width * fx, box.y + box.height * fy] as const;
  await page.mouse.move(...at(points[0]!));
  await page.mouse.down();
  for (const p of points.slice(1)) await page.mouse.move(...at(p), { steps: 4 });
  await page.mouse.up();
}

test('gallery image → Inpaint → paint a mask → generate → the results next to their source in Compare', async () => {
  test.setTimeout(150_000);
  const { page, errors } = await studio.open();
  await selectInGallery(page, studio.galleryId);
  const detail = page.getByRole('complementary', { name: 'Image details' });
  await detail.getByRole('button', { name: 'Inpaint' }).click();

  // The Generate view with the mask editor over it; the size is the image's own.
  const editor = page.getByRole('dialog', { name: 'Mask editor' });
  await expect(editor).toBeVisible();
  await expect(editor.getByRole('img', { name: 'Init image, 256 × 256' })).toBeVisible();
  await expect(page.getByRole('spinbutton', { name: 'Width' })).toHaveValue('256');
  // Every control has a name; the size keys and undo work.
  for (const name of ['Brush', 'Eraser']) await expect(editor.getByRole('radio', { name })).toBeVisible();
  for (const name of ['Brush size', 'Feather (mask blur)', 'Overlay opacity']) await expect(editor.getByRole('slider', { name })).toBeVisible();
  for (const name of ['Undo', 'Redo', 'Invert', 'Clear', 'Fit', 'Cancel', 'Use mask']) await expect(editor.getByRole('button', { name })).toBeVisible();
  const size = editor.getByRole('slider', { name: 'Brush size' });
  const before = Number(await size.inputValue());
  await page.keyboard.press(']');
  expect(Number(await size.inputValue())).toBeGreaterThan(before);
  await page.keyboard.press('x');
  await expect(editor.getByRole('radio', { name: 'Eraser' })).toHaveAttribute('aria-checked', 'true');
  await page.keyboard.press('x');
  await expect(editor.getByRole('radio', { name: 'Brush' })).toHaveAttribute('aria-checked', 'true');
  // On the image (a stroke wholly outside it paints nothing and leaves no undo step).
  await stroke(page, [[0.42, 0.15], [0.5, 0.25]]);
  await expect(editor.getByRole('button', { name: 'Undo' })).toBeEnabled();
  await page.keyboard.press('Control+z');
  await expect(editor.getByRole('button', { name: 'Undo' })).toBeDisabled();
  await expect(editor.getByRole('button', { name: 'Redo' })).toBeEnabled();
  // The real mask: a stroke across the sun.
  await stroke(page, [[0.4, 0.4], [0.5, 0.45], [0.6, 0.5]]);
  await atEachLook(page, ({ width, scheme }) => page.screenshot({ path: path.join(shots, `mask-editor-${width}-${scheme}.png`) }));
  await editor.getByRole('button', { name: 'Use mask' }).click();
  await expect(editor).toBeHidden();

  const panel = page.getByTestId('init-image');
  await expect(panel).toContainText('Inpaint');
  await expect(panel.getByRole('button', { name: 'Edit mask' })).toHaveCount(2);
  await page.getByLabel('Prompt', { exact: true }).fill('a harbour at night, repainted');
  await page.getByRole('spinbutton', { name: 'Steps' }).fill('4');
  await page.getByRole('spinbutton', { name: 'Guidance' }).fill('0');
  await page.getByRole('textbox', { name: 'Seed', exact: true }).fill('2000');
  await page.getByRole('spinbutton', { name: 'Images' }).fill('2');
  await page.getByRole('slider', { name: 'Strength' }).fill('0.5');
  await expect(page.getByTestId('strength-steps')).toHaveText('0.50 · 2 of 4 steps');
  await page.screenshot({ path: path.join(shots, 'img2img-panel-1280-light.png') });
  const totalBefore = await studio.galleryTotal();
  await page.getByRole('button', { name: 'Generate' }).click();

  const card = page.getByRole('article', { name: /^Job \d+: a harbour at night/ });
  await expect(card.getByRole('button', { name: /^Open Seed .* in the Gallery$/ })).toHaveCount(2, { timeout: 120_000 });
  expect(await studio.galleryTotal()).toBe(totalBefore + 2);
  const jobs = await studio.api<{ items: { params: { init?: { imageId?: number; strength: number; mask?: { blur: number } } } }[] }>('jobs.list', {});
  expect(jobs.items[0]!.params.init).toMatchObject({ imageId: studio.galleryId, strength: 0.5, mask: { blur: 4 } });

  await card.getByRole('button', { name: 'Compare these seeds' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Compare' })).toBeVisible();
  const source = page.getByRole('group', { name: 'Source' });
  await expect(source).toBeVisible();
  await expect.poll(() => source.getByRole('img', { name: 'Source image' }).evaluate((el: { naturalWidth?: number }) => el.naturalWidth ?? 0)).toBe(256);
  // The init was a gallery image (its id is in the record): the pane shows that live image by id, not the kept copy.
  await expect(source.getByRole('img', { name: 'Source image' })).toHaveAttribute('data-from', 'gallery');
  await expect(page.getByRole('list', { name: 'Compared images' }).getByRole('listitem')).toHaveCount(2);
  // The source sits beside the results, on the same row.
  const s = (await source.boundingBox())!;
  const first = (await page.getByRole('list', { name: 'Compared images' }).getByRole('listitem').first().boundingBox())!;
  expect(s.x + s.width).toBeLessThanOrEqual(first.x);
  expect(Math.abs(s.y - first.y)).toBeLessThan(2);
  await atEachLook(page, ({ width, scheme }) => page.screenshot({ path: path.join(shots, `compare-source-${width}-${scheme}.png`) }));
  expect(errors).toEqual([]);
  await page.context().close();
});

async function dropFile(page: Page, bytes: Buffer, name: string, type: string): Promise<void> {
  await page.evaluate(
    ({ b64, name, type }) => {
      const bin = atob(b64);
      const arr = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) arr[i] = bin.charCodeAt(i);
      const dt = new DataTransfer();
      dt.items.add(new File([arr], name, { type }));
      const target = document.querySelector('section.generate')!;
      target.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
      target.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    },
    { b64: bytes.toString('base64'), name, type },
  );
}

test('img2img by drag and drop: the strength says how many steps run; a corrupt file is refused, nothing is added', async () => {
  test.setTimeout(120_000);
  const { page, errors } = await studio.open();
  const panel = page.getByTestId('init-image');
  if (await panel.getByRole('button', { name: 'Remove image' }).isVisible()) await panel.getByRole('button', { name: 'Remove image' }).click();

  // A corrupt "PNG": the server's import checks refuse it, the form says why, the gallery is unchanged.
  const totalBefore = await studio.galleryTotal();
  await dropFile(page, Buffer.from('\x89PNG\r\n\x1a\nthis is not really a png'), 'broken.png', 'image/png');
  await expect(panel.getByRole('alert')).toContainText('cannot be used');
  expect(await studio.galleryTotal()).toBe(totalBefore);

  // A real picture, 320 × 192: the size becomes its own.
  const photo = await sharp(await shapesPicture()).resize(320, 192, { fit: 'fill' }).webp().toBuffer();
  await dropFile(page, photo, 'harbour.webp', 'image/webp');
  await expect(panel).toContainText('320 × 192 WEBP');
  await expect(panel.getByRole('alert')).toHaveCount(0);
  await expect(page.getByRole('spinbutton', { name: 'Width' })).toHaveValue('320');
  await expect(page.getByRole('spinbutton', { name: 'Height' })).toHaveValue('192');
  await page.getByLabel('Prompt', { exact: true }).fill('the same harbour, varied');
  await page.getByRole('spinbutton', { name: 'Steps' }).fill('8');
  await page.getByRole('spinbutton', { name: 'Images' }).fill('1');
  // diffusers' get_timesteps: t_start = int(8 − 8·0.3) = int(5.6) = 5, so 3 of the 8 steps run.
  await page.getByRole('slider', { name: 'Strength' }).fill('0.3');
  await expect(page.getByTestId('strength-steps')).toHaveText('0.30 · 3 of 8 steps');
  await page.getByRole('combobox', { name: 'Fit' }).selectOption('crop');
  await atEachLook(page, ({ width, scheme }) => page.screenshot({ path: path.join(shots, `img2img-form-${width}-${scheme}.png`) }));
  await page.getByRole('button', { name: 'Generate' }).click();
  const card = page.getByRole('article', { name: /^Job \d+: the same harbour, varied/ });
  await expect(card.getByRole('button', { name: /^Open Seed .* in the Gallery$/ })).toHaveCount(1, { timeout: 90_000 });
  expect(await studio.galleryTotal()).toBe(totalBefore + 1);
  const jobs = await studio.api<{ items: { params: { width: number; height: number; init?: { strength: number; fit: string; mask?: unknown } } }[] }>('jobs.list', {});
  expect(jobs.items[0]!.params).toMatchObject({ width: 320, height: 192, init: { strength: 0.3, fit: 'crop' } });
  expect(jobs.items[0]!.params.init!.mask).toBeUndefined();
  expect(errors).toEqual([]);
  await page.context().close();
});
