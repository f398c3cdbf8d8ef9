// LoRAs in browser mode with the tiny diffusers-named MMDiT installed: a person imports a LoRA file in the
// LoRAs view (uploaded in chunks: browser mode), sees its base, rank, size and both hashes, renames it; in
// Generate adds it from the library, types `<lora:` in the prompt and completes the name from the keyboard
// (arrows, Enter; Escape closes), sweeps its strength 0 / 0.5 / 1 and sees Compare show three different images
// labelled by strength. Screenshots of the form with LoRAs and of the library at 1280×800 and 1920×1080, light
// and dark, go to test-results/screenshots/. Any console error fails the test.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test, type Browser, type Page } from '@playwright/test';
import { startServe, type Served } from '../../src-main/testing/processes';
import { writeTestLora } from '../../src-main/testing/lora/lora-files';
import { apiResult, chromiumMissingReason, closeSpecStudio, launchChromium, openGenerateView } from '../support/browser';
import { writeTinyModel } from '../support/tiny-model';
import { TINY_MMDIT } from '../support/tiny-mmdit';

let browser: Browser;
let served: Served | undefined;
let dataDir: string;
let workDir: string;
let loraFile: string;
const shots = path.resolve(__dirname, '..', '..', 'test-results', 'screenshots');
const D = TINY_MMDIT.hidden;

test.describe.configure({ mode: 'serial' });

function api<T>(method: string, params: unknown = {}): Promise<T> {
  return apiResult<T>(served!, method, params);
}

test.beforeAll(async () => {
  const reason = chromiumMissingReason();
  test.skip(!!reason, reason);
  test.setTimeout(180_000);
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-e2e-loras-'));
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-e2e-loras-work-'));
  const modelDir = path.join(workDir, 'tiny-sd35');
  await writeTinyModel(modelDir, { layout: 'optimum', io: 'fp32', size: 'micro', mmdit: 'medium', generatedTokenizers: true });
  loraFile = path.join(workDir, 'ink_wash.safetensors');
  writeTestLora(
    loraFile,
    'kohya',
    [
      { module: 'transformer_blocks.1.attn.to_out.0', rank: 4, in: D, out: D, alpha: 4, seed: 1 },
      { module: 'transformer_blocks.2.ff.net.0.proj', rank: 4, in: D, out: 4 * D, alpha: 4, seed: 2 },
    ],
    { fused: [{ block: 0, part: 'x_block.attn', rank: 4, in: D, out: D, alpha: 4, seed: 3 }], metadata: { ss_output_name: 'Ink Wash v2', ss_trigger_words: 'ink wash, sumi-e' } },
  );
  served = await startServe(dataDir);
  await api('models.import', { folder: modelDir });
  await api('settings.set', { executionProvider: 'cpu', memoryMode: 'fast' });
  browser = await launchChromium();
  fs.mkdirSync(shots, { recursive: true });
});

test.afterAll(async () => {
  await closeSpecStudio(browser, served, [dataDir, workDir]);
});

async function open(opts: { width?: number; height?: number; colorScheme?: 'light' | 'dark' } = {}): Promise<{ page: Page; errors: string[] }> {
  const opened = await openGenerateView(browser, served!.url, opts);
  return opened;
}

const nav = (page: Page) => page.getByRole('navigation', { name: 'Views' });

test('imports a LoRA, adds it in the form, sweeps its strength 0 / 0.5 / 1 and compares three images labelled by strength', async () => {
  test.setTimeout(240_000);
  const { page, errors } = await open();

  // The library: import through the file picker (a browser uploads the bytes), then rename.
  await nav(page).getByRole('link', { name: 'LoRAs' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'LoRAs' })).toBeVisible();
  await expect(page.getByText('No LoRAs yet.')).toBeVisible();
  await page.getByLabel('LoRA files to import').setInputFiles(loraFile);
  const row = page.getByTestId('lora-row-ink_wash');
  await expect(row).toBeVisible();
  const [entry] = (await api<{ loras: { name: string; a1111Hash: string; autoV2: string; rank: number }[] }>('loras.list')).loras;
  expect(entry).toMatchObject({ name: 'ink_wash', rank: 4 });
  await expect(row).toContainText(entry!.a1111Hash);
  await expect(row).toContainText(entry!.autoV2);
  await expect(row).toContainText('Ink Wash v2');
  await expect(row).toContainText('ink wash, sumi-e');
  await row.getByRole('button', { name: 'Rename ink_wash' }).click();
  await page.getByRole('textbox', { name: 'New name for ink_wash' }).fill('ink wash');
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('lora-row-ink wash')).toBeVisible();

  // Generate: add it from the library.
  await nav(page).getByRole('link', { name: 'Generate' }).click();
  await page.getByRole('combobox', { name: 'Add LoRA' }).selectOption({ index: 1 });
  await expect(page.getByRole('checkbox', { name: 'Use ink wash' })).toBeChecked();
  await expect(page.getByRole('spinbutton', { name: 'Strength of ink wash (number)' })).toHaveValue('1');
  await page.getByRole('slider', { name: 'Strength of ink wash' }).fill('0.5');
  await expect(page.getByRole('spinbutton', { name: 'Strength of ink wash (number)' })).toHaveValue('0.5');

  // `<lora:` in the prompt offers the names: Escape closes, arrows + Enter complete.
  const prompt = page.getByLabel('Prompt', { exact: true });
  await prompt.fill('');
  await prompt.pressSequentially('a red cat <lora:in');
  const option = page.getByRole('option', { name: 'ink wash' });
  await expect(option).toBeVisible();
  await page.screenshot({ path: path.join(shots, 'loras-completion-1280-light.png') });
  await page.keyboard.press('Escape');
  await expect(option).toBeHidden();
  await page.keyboard.press('k');
  await expect(option).toBeVisible();
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  await expect(prompt).toHaveValue('a red cat <lora:ink wash:1>');
  // The list carries the LoRA: the prompt goes back to plain text for the sweep.
  await prompt.fill('a red cat');

  await page.getByRole('spinbutton', { name: 'Steps' }).fill('2');
  await page.getByRole('spinbutton', { name: 'Width' }).fill('64');
  await page.getByRole('spinbutton', { name: 'Height' }).fill('64');
  await page.getByRole('textbox', { name: 'Seed', exact: true }).fill('7');
  await page.getByRole('combobox', { name: 'Second axis' }).selectOption('loraStrength');
  await page.getByRole('textbox', { name: 'Axis values' }).fill('0, 0.5, 1');
  await expect(page.getByRole('combobox', { name: 'LoRA on the axis' })).toHaveValue('ink wash');
  await page.getByTestId('lora-fields').scrollIntoViewIfNeeded();
  await page.screenshot({ path: path.join(shots, 'loras-form-1280-light.png') });

  await page.getByRole('button', { name: 'Generate' }).click();
  const card = page.getByRole('article', { name: /^Job \d+: a red cat/ });
  await expect(card.getByTestId('job-status')).toHaveText('Done', { timeout: 120_000 });
  await card.getByRole('button', { name: 'Compare these seeds' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Compare' })).toBeVisible();
  for (const [i, s] of ['0', '0.5', '1'].entries()) await expect(page.getByLabel(`${i + 1}: Seed 7 · LoRA ink wash ${s}`, { exact: true })).toBeVisible();
  await page.screenshot({ path: path.join(shots, 'loras-compare-1280-light.png') });

  // Three different images (pixels: exported without metadata).
  const jobs = await api<{ items: { generations: { imageId?: number }[] }[] }>('jobs.list', {});
  const ids = jobs.items[0]!.generations.map((g) => g.imageId!);
  expect(ids).toHaveLength(3);
  const bytes = await Promise.all(ids.map((id) => api<{ dataBase64: string }>('gallery.export', { id, metadata: false })));
  expect(new Set(bytes.map((b) => b.dataBase64)).size).toBe(3);
  expect(errors).toEqual([]);
  await page.context().close();
});

test('screenshots: the form with LoRAs and the library, 1280×800 and 1920×1080, light and dark', async () => {
  for (const [width, height] of [
    [1280, 800],
    [1920, 1080],
  ] as const) {
    for (const scheme of ['light', 'dark'] as const) {
      const { page, errors } = await open({ width, height, colorScheme: scheme });
      // A fresh window (its own storage): the LoRA is added again, with a strength axis on it.
      await page.getByLabel('Prompt', { exact: true }).fill('a red cat in the rain, <lora:ink wash:0.8> ink on rice paper');
      await page.getByRole('combobox', { name: 'Add LoRA' }).selectOption({ index: 1 });
      await expect(page.getByRole('checkbox', { name: 'Use ink wash' })).toBeVisible();
      await page.getByRole('combobox', { name: 'Second axis' }).selectOption('loraStrength');
      await page.getByRole('textbox', { name: 'Axis values' }).fill('0, 0.5, 1');
      await page.getByTestId('lora-fields').scrollIntoViewIfNeeded();
      await page.screenshot({ path: path.join(shots, `loras-form-${width}-${scheme}.png`) });
      await nav(page).getByRole('link', { name: 'LoRAs' }).click();
      await expect(page.getByTestId('lora-row-ink wash')).toBeVisible();
      await page.screenshot({ path: path.join(shots, `loras-library-${width}-${scheme}.png`) });
      expect(errors).toEqual([]);
      await page.context().close();
    }
  }
});
