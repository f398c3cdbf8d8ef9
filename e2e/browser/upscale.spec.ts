// Hires fix, outpaint and upscale from the app (issue #16), in browser mode with a tiny real model that has a VAE
// encoder and a tiny ×2 super-resolution graph imported with the CLI: hires fix is ONE job (one card, one gallery row
// recording both sizes); an outpainted image is the source plus the padding and names its source; "Upscale" in the
// Gallery's detail panel queues a job whose card shows its tiles (the worker is held after tile 1 by
// SD35_TEST_HOLD=upscale-tile:1, never a timer), which cancels with nothing added, and a Lanczos ×2 makes a new gallery
// row at twice the size; a result over the limits greys the action with the reason. Screenshots of the Hires fix group
// and the detail panel's Upscale control at 1280×800 and 1920×1080, light and dark, go to test-results/screenshots/.
// Any console error fails the test.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import sharp from 'sharp';
import { parseA1111, PARAMETERS_KEYWORD } from '../../src-shared/metadata';
import { readPngInfo } from '../../src-main/formats/png';
import { CLI } from '../../src-main/testing/processes';
import { atEachLook, chromiumMissingReason, goToView as nav, selectInGallery } from '../support/browser';
import { startImageInputStudio, type ImageInputStudio } from '../support/image-input-studio';
import { writeSrGraph } from '../support/tiny-sr';

let studio: ImageInputStudio;
const shots = path.resolve(__dirname, '..', '..', 'test-results', 'screenshots');

test.describe.configure({ mode: 'serial' });

interface Detail {
  width: number;
  height: number;
  pixelWidth: number;
  pixelHeight: number;
  path: string;
  initSha256?: string;
  meta: Record<string, unknown> | null;
}

test.beforeAll(async () => {
  const reason = chromiumMissingReason();
  test.skip(!!reason, reason);
  test.setTimeout(180_000);
  studio = await startImageInputStudio('upscale', {
    // The worker holds after an upscaler's first tile until that request is cancelled (the card's progress is seen).
    env: { SD35_TEST_MODE: '1', SD35_TEST_HOLD: 'upscale-tile:1', SD35_ORT_THREADS: '1' },
    prepare: ({ dataDir, modelDir }) => {
      const sr = path.join(modelDir, 'tiny-x2.onnx');
      writeSrGraph(sr, 'float32');
      const imp = spawnSync(process.execPath, [CLI, 'upscalers', 'import', sr, '--name', 'tiny-x2', '--data-dir', dataDir], { encoding: 'utf8', env: { ...process.env, SD35_ORT_THREADS: '1' } });
      expect(imp.status, imp.stderr).toBe(0);
    },
  });
  fs.mkdirSync(shots, { recursive: true });
});

test.afterAll(async () => {
  await studio?.close();
});

function a1111Of(d: Detail): ReturnType<typeof parseA1111> {
  const file = fs.readFileSync(path.join(studio.dataDir, ...d.path.split('/')));
  return parseA1111(readPngInfo(file).chunks.find((c) => c.keyword === PARAMETERS_KEYWORD)!.text);
}

async function fillBasics(page: Page, prompt: string, seed: string): Promise<void> {
  await page.getByLabel('Prompt', { exact: true }).fill(prompt);
  await page.getByRole('spinbutton', { name: 'Steps' }).fill('2');
  await page.getByRole('spinbutton', { name: 'Guidance' }).fill('0');
  await page.getByRole('textbox', { name: 'Seed', exact: true }).fill(seed);
  await page.getByRole('spinbutton', { name: 'Images' }).fill('1');
}

test('hires fix from the app is ONE job: one card, one gallery row recording both sizes', async () => {
  test.setTimeout(150_000);
  const { page, errors } = await studio.open();
  await fillBasics(page, 'a lighthouse, hires', '31');
  await page.getByRole('spinbutton', { name: 'Width' }).fill('128');
  await page.getByRole('spinbutton', { name: 'Height' }).fill('128');
  const group = page.locator('details.hires');
  await group.locator('summary').click();
  await group.getByRole('checkbox', { name: 'Hires fix' }).check();
  const upscaler = group.getByRole('combobox', { name: 'Upscaler', exact: true });
  // A select fed by upscalers.list: Lanczos built in first, then the imported model.
  await expect(upscaler.locator('option')).toHaveText(['Lanczos', 'tiny-x2 (×2)']);
  await expect(upscaler).toHaveValue('lanczos');
  await group.getByRole('spinbutton', { name: 'Upscale by' }).fill('2');
  await group.getByRole('spinbutton', { name: 'Hires steps' }).fill('2');
  await group.getByRole('spinbutton', { name: 'Hires strength' }).fill('0.5');
  await expect(page.getByTestId('hires-summary')).toHaveText('128×128 → 256×256, then 1 of 2 steps');
  await atEachLook(page, async ({ width, scheme }) => {
    await group.scrollIntoViewIfNeeded();
    await group.screenshot({ path: path.join(shots, `hires-group-${width}-${scheme}.png`) });
  });

  const [galleryBefore, jobsBefore] = [await studio.galleryTotal(), await studio.jobCount()];
  await page.getByRole('button', { name: 'Generate' }).click();
  const cards = page.getByRole('article', { name: /^Job \d+: a lighthouse, hires/ });
  await expect(cards.getByRole('button', { name: /^Open Seed 31 in the Gallery$/ })).toHaveCount(1, { timeout: 120_000 });
  await expect(cards).toHaveCount(1);
  expect(await studio.jobCount()).toBe(jobsBefore + 1);
  expect(await studio.galleryTotal()).toBe(galleryBefore + 1);
  const job = (await studio.api<{ items: { id: number; generations: { imageId?: number }[] }[] }>('jobs.list', {})).items[0]!;
  expect(job.generations).toHaveLength(1);
  const d = await studio.api<Detail>('gallery.get', { id: job.generations[0]!.imageId! });
  expect([d.width, d.height, d.pixelWidth, d.pixelHeight]).toEqual([128, 128, 256, 256]);
  expect(d.meta?.hires).toEqual({ scale: 2, upscaler: 'lanczos', steps: 2, strength: 0.5, width: 256, height: 256 });
  const params = a1111Of(d);
  expect([params.width, params.height]).toEqual([128, 128]); // Size: the base size
  expect(params.extra).toMatchObject({ 'Hires upscale': '2', 'Hires steps': '2', 'Hires upscaler': 'Lanczos', 'Denoising strength': '0.5' });
  expect(errors).toEqual([]);
  await page.context().close();
});

test('outpaint from the app: the result is the source plus the padding and names its source', async () => {
  test.setTimeout(150_000);
  const { page, errors } = await studio.open();
  await selectInGallery(page, studio.galleryId);
  await page.getByRole('complementary', { name: 'Image details' }).getByRole('button', { name: 'Use as input' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Generate' })).toBeVisible();
  await expect(page.getByRole('spinbutton', { name: 'Width' })).toHaveValue('256');
  const area = page.getByRole('group', { name: 'Outpaint and inpaint area' });
  await area.getByRole('checkbox', { name: 'Outpaint' }).check();
  for (const [side, px] of [['Left', '32'], ['Top', '0'], ['Right', '32'], ['Bottom', '64']] as const) await area.getByRole('spinbutton', { name: `${side} px` }).fill(px);
  await area.getByRole('button', { name: 'Use 320×320' }).click();
  await expect(page.getByRole('spinbutton', { name: 'Width' })).toHaveValue('320');
  await expect(page.getByRole('spinbutton', { name: 'Height' })).toHaveValue('320');
  await fillBasics(page, 'a harbour, outpainted', '41');
  const galleryBefore = await studio.galleryTotal();
  await page.getByRole('button', { name: 'Generate' }).click();
  const card = page.getByRole('article', { name: /^Job \d+: a harbour, outpainted/ });
  await expect(card.getByRole('button', { name: /^Open Seed 41 in the Gallery$/ })).toHaveCount(1, { timeout: 120_000 });
  expect(await studio.galleryTotal()).toBe(galleryBefore + 1);
  const job = (await studio.api<{ items: { params: { init?: { imageId?: number; outpaint?: unknown } }; generations: { imageId?: number }[] }[] }>('jobs.list', {})).items[0]!;
  expect(job.params.init).toMatchObject({ imageId: studio.galleryId, outpaint: { left: 32, top: 0, right: 32, bottom: 64 } });
  const d = await studio.api<Detail>('gallery.get', { id: job.generations[0]!.imageId! });
  expect([d.pixelWidth, d.pixelHeight]).toEqual([256 + 32 + 32, 256 + 0 + 64]);
  const source = await studio.api<{ sha256: string }>('inputs.put', { kind: 'image', imageId: studio.galleryId });
  expect(d.initSha256).toBe(source.sha256);
  expect(d.meta?.init).toMatchObject({ imageId: studio.galleryId, sha256: source.sha256, outpaint: { left: 32, top: 0, right: 32, bottom: 64 } });
  expect(a1111Of(d).extra).toMatchObject({ Outpaint: '32,0,32,64' });
  expect(errors).toEqual([]);
  await page.context().close();
});

test('Upscale from the detail panel: a job whose card shows its tiles and cancels; Lanczos ×2 makes a new row at twice the size', async () => {
  test.setTimeout(150_000);
  const { page, errors } = await studio.open();
  await selectInGallery(page, studio.galleryId);
  const detail = page.getByRole('complementary', { name: 'Image details' });
  const control = detail.getByRole('region', { name: 'Upscale' });
  await expect(control.getByRole('combobox', { name: 'Upscaler', exact: true }).locator('option')).toHaveText(['Lanczos', 'tiny-x2 (×2)']);
  await control.getByRole('combobox', { name: 'Upscaler', exact: true }).selectOption('tiny-x2');
  await control.getByRole('combobox', { name: 'Scale', exact: true }).selectOption('2');
  await expect(control.getByTestId('upscale-size')).toHaveText('256×256 → 512×512');
  await atEachLook(page, async ({ width, scheme }) => {
    await control.scrollIntoViewIfNeeded();
    await detail.screenshot({ path: path.join(shots, `detail-upscale-${width}-${scheme}.png`) });
  });

  // The imported model: the worker holds after tile 1, so the card shows a running upscale with progress.
  const galleryBefore = await studio.galleryTotal();
  await control.getByRole('button', { name: 'Upscale' }).click();
  await nav(page, 'Generate');
  const held = page.getByRole('article', { name: /^Job \d+: upscale ×2$/ }).first();
  await expect(held.getByTestId('step-counter')).toHaveText(/^Upscaling · 1\/5$/, { timeout: 60_000 });
  await expect(held).toContainText(`Upscale ×2 with tiny-x2 · image ${studio.galleryId} · 256×256 → 512×512`);
  expect(Number(await held.getByRole('progressbar', { name: 'Job progress' }).getAttribute('aria-valuenow'))).toBeGreaterThan(0);
  await held.screenshot({ path: path.join(shots, 'upscale-card-1280-light.png') });
  await held.getByRole('button', { name: 'Cancel' }).click();
  await expect(held.getByTestId('job-status')).toHaveText('Cancelled', { timeout: 30_000 });
  expect(await studio.galleryTotal()).toBe(galleryBefore);

  // Lanczos ×2: a new gallery row at twice the size that names its source.
  await selectInGallery(page, studio.galleryId);
  await control.getByRole('combobox', { name: 'Upscaler', exact: true }).selectOption('lanczos');
  await control.getByRole('button', { name: 'Upscale' }).click();
  await nav(page, 'Generate');
  const done = page.getByRole('article', { name: /^Job \d+: upscale ×2$/ }).first();
  await expect(done.getByRole('button', { name: 'Open Upscaled image ×2 in the Gallery' })).toBeVisible({ timeout: 60_000 });
  expect(await studio.galleryTotal()).toBe(galleryBefore + 1);
  const job = (await studio.api<{ items: { upscale?: { source: { imageId?: number } }; generations: { imageId?: number }[] }[] }>('jobs.list', {})).items[0]!;
  expect(job.upscale?.source.imageId).toBe(studio.galleryId);
  const d = await studio.api<Detail>('gallery.get', { id: job.generations[0]!.imageId! });
  expect([d.pixelWidth, d.pixelHeight]).toEqual([512, 512]);
  expect(d.meta?.upscale).toMatchObject({ source: { imageId: studio.galleryId }, upscaler: 'lanczos', scale: 2, width: 512, height: 512 });
  expect(errors).toEqual([]);
  await page.context().close();
});

test('Upscale is greyed out with the reason when the result would exceed the limits', async () => {
  const wide = await sharp({ create: { width: 2100, height: 64, channels: 3, background: '#336699' } }).png().toBuffer();
  const id = (await studio.api<{ imported: { id: number }[] }>('gallery.import', { files: [{ name: 'wide.png', dataBase64: wide.toString('base64') }] })).imported[0]!.id;
  const { page, errors } = await studio.open();
  await selectInGallery(page, id);
  const control = page.getByRole('complementary', { name: 'Image details' }).getByRole('region', { name: 'Upscale' });
  await expect(control.getByRole('button', { name: 'Upscale' })).toBeEnabled();
  await control.getByRole('combobox', { name: 'Scale', exact: true }).selectOption('4');
  await expect(control.getByRole('button', { name: 'Upscale' })).toBeDisabled();
  await expect(control.getByTestId('upscale-reason')).toHaveText('2100×64 ×4 would be 8400×256; at most 8192 px a side and 32 MP.');
  expect(errors).toEqual([]);
  await page.context().close();
});
