// Importing an upscaler from the app (issue #16 "Upscale: super-resolution ONNX models the user imports"), in browser
// mode: the tiny ×2 super-resolution graph (e2e/support/tiny-sr.ts) chosen with the Models view's "Import upscaler…"
// is uploaded in chunks, checked, copied and probed on the worker, and listed with scale ×2; the Gallery's Upscale
// action then offers it, and a generated image upscaled with it is a new gallery row at twice the size. A graph that
// is not image → image is refused with the reason and leaves nothing in <data>/upscalers; Remove asks first (Keep
// keeps it, Escape too). While an import runs, THE <ProgressBar> and its step show (the page's WebSocket holds the
// import's answer and its final event until the screenshots are taken: no timer). Screenshots of the list at 1280×800 and 1920×1080, light and dark, go to
// test-results/screenshots/. Any console error fails the test.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test, type Browser, type Page } from '@playwright/test';
import type { Served } from '../../src-main/testing/processes';
import { startServe } from '../../src-main/testing/processes';
import { apiResult, chromiumMissingReason, closeSpecStudio, launchChromium, openGenerateView } from '../support/browser';
import { writeTinyModel } from '../support/tiny-model';
import { writeSrGraph, writeTextEncoderGraph } from '../support/tiny-sr';

let browser: Browser;
let served: Served | undefined;
let dataDir: string;
let filesDir: string;
let modelId: string;
let generatedId: number;
const shots = path.resolve(__dirname, '..', '..', 'test-results', 'screenshots');
const SIZES = [
  [1280, 800],
  [1920, 1080],
] as const;

test.describe.configure({ mode: 'serial' });

function api<T>(method: string, params: unknown = {}): Promise<T> {
  return apiResult<T>(served!, method, params);
}

/** Every file under <data>/upscalers (dot files and unfinished uploads included). */
function upscalerFiles(): string[] {
  const dir = path.join(dataDir, 'upscalers');
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(dir, f)).isFile()).sort();
}

async function galleryTotal(): Promise<number> {
  return (await api<{ total: number }>('gallery.query', { limit: 1 })).total;
}

test.beforeAll(async () => {
  const reason = chromiumMissingReason();
  test.skip(!!reason, reason);
  test.setTimeout(180_000);
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-e2e-upscaler-import-'));
  filesDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-e2e-upscaler-files-'));
  await writeTinyModel(path.join(filesDir, 'tiny-sd35'), { layout: 'optimum', io: 'fp32', size: 'micro' });
  writeSrGraph(path.join(filesDir, 'tiny-x2.onnx'), 'float32');
  writeTextEncoderGraph(path.join(filesDir, 'text_encoder.onnx'));
  served = await startServe(dataDir, { SD35_ORT_THREADS: '1' });
  browser = await launchChromium();
  fs.mkdirSync(shots, { recursive: true });
  modelId = (await api<{ id: string }>('models.import', { folder: path.join(filesDir, 'tiny-sd35') })).id;
  // A generated gallery image (the tiny model, 64×64) to upscale.
  const { generationIds } = await api<{ generationIds: number[] }>('jobs.submit', {
    params: { prompt: 'a lighthouse at dusk', negativePrompt: '', model: modelId, steps: 2, guidance: 0, width: 64, height: 64, t5: false },
    sweep: { seeds: { mode: 'list', seeds: ['7'] } },
  });
  await expect.poll(galleryTotal, { timeout: 120_000 }).toBe(1);
  const page = await api<{ items: { id: number; generationId?: number }[] }>('gallery.query', { limit: 1 });
  generatedId = page.items[0]!.id;
  expect(generationIds).toHaveLength(1);
});

test.afterAll(async () => {
  await closeSpecStudio(browser, served, [dataDir, filesDir]);
});

const nav = (page: Page, name: string) => page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name }).click();

async function openModels(opts: { width?: number; height?: number; colorScheme?: 'light' | 'dark' } = {}): Promise<{ page: Page; errors: string[] }> {
  const opened = await openGenerateView(browser, served!.url, opts);
  await nav(opened.page, 'Models');
  await expect(opened.page.getByRole('heading', { level: 2, name: 'Upscalers' })).toBeVisible();
  return opened;
}

test('a graph that is not image → image is refused with the reason and leaves nothing behind', async () => {
  const { page, errors } = await openModels();
  const section = page.getByRole('region', { name: 'Upscalers' });
  await expect(section.getByText('No upscalers imported yet')).toBeVisible();
  await section.getByLabel('Upscaler file to import').setInputFiles(path.join(filesDir, 'text_encoder.onnx'));
  const alert = section.getByRole('alert');
  await expect(alert).toContainText('Not imported: text_encoder.onnx — This ONNX model is not an image → image upscaler', { timeout: 60_000 });
  await expect(alert).toContainText('input_ids int64[batch,77]');
  await expect(section.getByRole('button', { name: 'Import upscaler…' })).toBeEnabled();
  expect((await api<{ upscalers: unknown[] }>('upscalers.list')).upscalers).toEqual([]);
  expect(upscalerFiles()).toEqual([]);
  await section.screenshot({ path: path.join(shots, 'upscalers-refused-1280-light.png') });
  expect(errors).toEqual([]);
  await page.context().close();
});

test('import the tiny ×2 graph from the Models view → listed ×2 → upscale a generated image with it: 2× the size', async () => {
  test.setTimeout(150_000);
  const { page, errors } = await openModels();
  const section = page.getByRole('region', { name: 'Upscalers' });
  // The file picker is reached from the keyboard: the button has the focus and Enter opens the chooser.
  const chooser = page.waitForEvent('filechooser');
  await section.getByRole('button', { name: 'Import upscaler…' }).focus();
  await page.keyboard.press('Enter');
  await (await chooser).setFiles(path.join(filesDir, 'tiny-x2.onnx'));
  const row = section.getByTestId('upscaler-row-tiny-x2');
  await expect(row).toBeVisible({ timeout: 60_000 });
  await expect(row.getByRole('cell')).toHaveText(['tiny-x2', '×2', /^\d+(\.\d+)? kB$/u, 'Remove']);
  await expect(section.getByRole('status')).toHaveText(/^Imported tiny-x2 \(×2, /u);
  expect(upscalerFiles()).toEqual(['.index.json', 'tiny-x2.onnx']);
  expect(Buffer.compare(fs.readFileSync(path.join(dataDir, 'upscalers', 'tiny-x2.onnx')), fs.readFileSync(path.join(filesDir, 'tiny-x2.onnx')))).toBe(0);

  for (const [w, h] of SIZES) {
    for (const scheme of ['light', 'dark'] as const) {
      await page.setViewportSize({ width: w, height: h });
      await page.emulateMedia({ colorScheme: scheme });
      await section.scrollIntoViewIfNeeded();
      await page.screenshot({ path: path.join(shots, `upscalers-list-${w}-${scheme}.png`) });
    }
  }
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.emulateMedia({ colorScheme: 'light' });

  // The Gallery's Upscale action offers it; ×2 of the generated 64×64 image is a new row at 128×128.
  await nav(page, 'Gallery');
  await page.getByRole('grid', { name: 'Gallery images' }).locator(`#gallery-cell-${generatedId}`).click();
  const control = page.getByRole('complementary', { name: 'Image details' }).getByRole('region', { name: 'Upscale' });
  const upscaler = control.getByRole('combobox', { name: 'Upscaler', exact: true });
  await expect(upscaler.locator('option')).toHaveText(['Lanczos', 'tiny-x2 (×2)']);
  await upscaler.selectOption('tiny-x2');
  await control.getByRole('combobox', { name: 'Scale', exact: true }).selectOption('2');
  await expect(control.getByTestId('upscale-size')).toHaveText('64×64 → 128×128');
  await control.getByRole('button', { name: 'Upscale' }).click();
  await expect.poll(galleryTotal, { timeout: 60_000 }).toBe(2);
  const job = (await api<{ items: { upscale?: { upscaler: string; scale: number }; generations: { imageId?: number }[] }[] }>('jobs.list', {})).items[0]!;
  expect(job.upscale).toMatchObject({ upscaler: 'tiny-x2', scale: 2 });
  const d = await api<{ pixelWidth: number; pixelHeight: number; meta: Record<string, unknown> | null }>('gallery.get', { id: job.generations[0]!.imageId! });
  expect([d.pixelWidth, d.pixelHeight]).toEqual([128, 128]);
  expect(d.meta?.upscale).toMatchObject({ source: { imageId: generatedId }, upscaler: 'tiny-x2', scale: 2, width: 128, height: 128 });
  expect(errors).toEqual([]);
  await page.context().close();
});

test('Remove asks first: Keep (and Escape) keep it, Remove takes it out of the list and the folder', async () => {
  const { page, errors } = await openModels();
  const section = page.getByRole('region', { name: 'Upscalers' });
  await section.getByRole('button', { name: 'Remove tiny-x2' }).click();
  const dialog = page.getByRole('dialog', { name: 'Remove the upscaler tiny-x2?' });
  await expect(dialog).toBeVisible();
  await expect(dialog.getByRole('button', { name: 'Keep' })).toBeFocused();
  await dialog.screenshot({ path: path.join(shots, 'upscalers-remove-1280-light.png') });
  await page.keyboard.press('Escape');
  await expect(dialog).toBeHidden();
  await expect(section.getByTestId('upscaler-row-tiny-x2')).toBeVisible();
  await section.getByRole('button', { name: 'Remove tiny-x2' }).click();
  await dialog.getByRole('button', { name: 'Remove' }).click();
  await expect(section.getByTestId('upscaler-row-tiny-x2')).toBeHidden();
  await expect(section.getByText('No upscalers imported yet')).toBeVisible();
  expect((await api<{ upscalers: unknown[] }>('upscalers.list')).upscalers).toEqual([]);
  expect(upscalerFiles()).toEqual(['.index.json']);
  expect(errors).toEqual([]);
  await page.context().close();
});

test('while an import runs, the bar and its step show; when it ends, the row', async () => {
  const { page, errors } = await openModels();
  // The page's socket is routed through the test: the import's answer and its last event wait until released.
  const held: (() => void)[] = [];
  let importCall: number | undefined;
  await page.routeWebSocket(/\/ws/u, (ws) => {
    const server = ws.connectToServer();
    ws.onMessage((m) => {
      const msg = JSON.parse(String(m)) as { type: string; id?: number; method?: string };
      if (msg.type === 'call' && msg.method === 'upscalers.import') importCall = msg.id;
      server.send(m);
    });
    server.onMessage((m) => {
      const msg = JSON.parse(String(m)) as { type: string; id?: number; event?: string; payload?: { progress?: { status: string } } };
      const last = msg.type === 'event' && msg.event === 'upscalers.changed' && msg.payload?.progress?.status === 'done';
      if (last || (msg.type === 'reply' && msg.id === importCall)) held.push(() => ws.send(m));
      else ws.send(m);
    });
  });
  await page.reload();
  await nav(page, 'Models');
  const section = page.getByRole('region', { name: 'Upscalers' });
  await section.getByLabel('Upscaler file to import').setInputFiles({ name: 'held-x2.onnx', mimeType: 'application/octet-stream', buffer: fs.readFileSync(path.join(filesDir, 'tiny-x2.onnx')) });
  const status = section.getByRole('status');
  await expect(status).toContainText('Finding the scale of held-x2.onnx (a probe run on the worker)…', { timeout: 60_000 });
  await expect.poll(() => held.length, { timeout: 60_000 }).toBe(2);
  const bar = status.getByRole('progressbar', { name: 'Upscaler import progress' });
  await expect(bar).toHaveAttribute('aria-busy', 'true');
  // The bar keeps the section's width beside a long step (it once collapsed to nothing beside the text).
  expect((await bar.boundingBox())!.width).toBeGreaterThan((await section.boundingBox())!.width * 0.9);
  await expect(section.getByRole('button', { name: 'Import upscaler…' })).toBeDisabled();
  for (const [w, h] of SIZES) {
    for (const scheme of ['light', 'dark'] as const) {
      await page.setViewportSize({ width: w, height: h });
      await page.emulateMedia({ colorScheme: scheme });
      await section.scrollIntoViewIfNeeded();
      await section.screenshot({ path: path.join(shots, `upscalers-importing-${w}-${scheme}.png`) });
    }
  }
  for (const release of held.splice(0)) release();
  await expect(section.getByTestId('upscaler-row-held-x2')).toBeVisible();
  await expect(section.getByRole('status')).toHaveText(/^Imported held-x2 \(×2, /u);
  expect(errors).toEqual([]);
  await page.context().close();
});
