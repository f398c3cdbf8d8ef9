// "Add image-to-image support" as a person uses it (browser mode, the hub emulator as Hugging Face): a model
// installed without its VAE encoder (as an older version downloaded it) shows the button with the size the core read
// from the repo tree; the Generate view's image-to-image group points to it; a click downloads only the encoder
// through the one download progress, and the card then says image to image is available. Screenshots of the card at
// 1280×800 and 1920×1080, light and dark, go to test-results/screenshots/. Any console error fails the test.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test, type Browser, type Locator, type Page } from '@playwright/test';
import { openDatabase } from '../../src-main/core/db';
import { encodePng } from '../../src-main/formats/png';
import { startServe, type Served } from '../../src-main/testing/processes';
import { apiResult, chromiumMissingReason, closeSpecStudio, launchChromium, openPage } from '../support/browser';
import { startHubEmulator, type HubEmulator } from '../support/hub-emulator';
import { writeTinyModel } from '../support/tiny-model';

const REPO = 'e2e-owner/tiny-i2i';

let browser: Browser;
let served: Served;
let hub: HubEmulator;
let dataDir: string;
let hfHome: string;
let repoRoot: string;
let encoderBytes = 0;
const shots = path.resolve(__dirname, '..', '..', 'test-results', 'screenshots');

test.describe.configure({ mode: 'serial' });

interface ListedModel {
  id: string;
  state: string;
  installed?: { path: string; vaeEncoder?: boolean };
}

test.beforeAll(async () => {
  const reason = chromiumMissingReason();
  test.skip(!!reason, reason);
  test.setTimeout(180_000);
  repoRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-e2e-i2i-repo-'));
  const folder = path.join(repoRoot, 'repo');
  await writeTinyModel(folder, { layout: 'tensorstack', io: 'fp16', size: 'micro', vaeEncoder: true });
  encoderBytes = ['model.onnx', 'model.onnx.data'].reduce((s, f) => s + fs.statSync(path.join(folder, 'vae_encoder', f)).size, 0);
  hub = await startHubEmulator({ repos: { [REPO]: { folder } }, lfsThreshold: 256 });
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-e2e-i2i-'));
  hfHome = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-e2e-i2i-hf-'));
  served = await startServe(dataDir, { HF_ENDPOINT: hub.endpoint, HF_HOME: hfHome, HF_TOKEN: '' });
  // Installed as an older version did: downloaded and verified, without vae_encoder/ (folder and rows).
  await apiResult(served, 'models.download', { ref: REPO });
  let model: ListedModel | undefined;
  await expect
    .poll(async () => {
      model = (await apiResult<{ models: ListedModel[] }>(served, 'models.list')).models.find((m) => m.id === REPO);
      return model?.state;
    }, { timeout: 60_000 })
    .toBe('installed');
  fs.rmSync(path.join(model!.installed!.path, 'vae_encoder'), { recursive: true });
  const db = openDatabase(path.join(dataDir, 'studio.db'));
  db.prepare("DELETE FROM downloads WHERE path LIKE 'vae_encoder/%'").run();
  db.close();
  browser = await launchChromium();
  fs.mkdirSync(shots, { recursive: true });
});

test.afterAll(async () => {
  await closeSpecStudio(browser, served, [dataDir, hfHome, repoRoot]);
  await hub?.close();
});

async function openModels(width: number, height: number, colorScheme: 'light' | 'dark'): Promise<{ page: Page; errors: string[]; card: Locator }> {
  const opened = await openPage(browser, served.url, { colorScheme, viewport: { width, height } });
  await opened.page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'Models' }).click();
  await expect(opened.page.getByRole('heading', { level: 1, name: 'Models' })).toBeVisible();
  return { ...opened, card: opened.page.getByRole('article', { name: REPO, exact: true }) };
}

const sizeText = () => {
  const kb = encoderBytes / 1000;
  return `${kb.toFixed(kb >= 100 ? 0 : kb >= 10 ? 1 : 2)} kB`;
};

test('the card offers "Add image-to-image support" with the size from the tree: 1280×800 and 1920×1080, light and dark', async () => {
  for (const [width, height] of [
    [1280, 800],
    [1920, 1080],
  ] as const) {
    for (const colorScheme of ['light', 'dark'] as const) {
      const { page, errors, card } = await openModels(width, height, colorScheme);
      const button = card.getByRole('button', { name: `Add image-to-image support (${sizeText()})` });
      await expect(button).toBeVisible();
      await expect(card.getByTestId('image-to-image')).toContainText('Not yet: downloaded without the VAE encoder');
      // Nothing of the card's actions runs past its right edge, and the button's label is not cut.
      const box = (await card.boundingBox())!;
      for (const b of await card.locator('.actions button').all()) {
        const r = (await b.boundingBox())!;
        expect(r.x + r.width).toBeLessThanOrEqual(box.x + box.width + 0.5);
        expect(await b.evaluate((el: { scrollWidth: number; clientWidth: number }) => el.scrollWidth > el.clientWidth + 1)).toBe(false);
      }
      await card.scrollIntoViewIfNeeded();
      await card.screenshot({ path: path.join(shots, `add-encoder-card-${width}-${colorScheme}.png`) });
      await page.screenshot({ path: path.join(shots, `add-encoder-models-${width}-${colorScheme}.png`) });
      expect(errors).toEqual([]);
      await page.context().close();
    }
  }
});

test('the Generate view points an image-to-image source at the button', async () => {
  const { page, errors } = await openPage(browser, served.url);
  await expect(page.getByRole('heading', { level: 1, name: 'Generate' })).toBeVisible();
  await page.getByRole('combobox', { name: 'Model' }).selectOption({ label: REPO });
  const data = new Uint8Array(64 * 64 * 3).map((_, i) => (i * 7) % 251);
  const png = encodePng({ width: 64, height: 64, channels: 3, data }, []);
  await page.getByLabel('Init image file').setInputFiles({ name: 'source.png', mimeType: 'image/png', buffer: png });
  const note = page.getByTestId('no-encoder');
  await expect(note).toContainText('has no VAE encoder');
  await expect(note.getByRole('link', { name: 'Add image-to-image support' })).toBeVisible();
  await page.getByRole('group', { name: 'Image to image' }).scrollIntoViewIfNeeded();
  await page.screenshot({ path: path.join(shots, 'add-encoder-generate-1280-light.png') });
  expect(errors).toEqual([]);
  await page.context().close();
});

test('a click downloads only the encoder with the one progress, then image to image is available', async () => {
  hub.resetStats();
  hub.setFaults({ bytesPerSecond: 300 });
  const { page, errors, card } = await openModels(1280, 800, 'light');
  try {
    await card.getByRole('button', { name: /Add image-to-image support/ }).click();
    await expect(card.getByTestId('model-state')).toContainText('Adding image to image');
    const bar = card.getByRole('progressbar', { name: 'Download progress' });
    await expect(bar).toBeVisible();
    await expect(card.getByTestId('download-totals')).toContainText(`of ${sizeText()}`);
    await card.screenshot({ path: path.join(shots, 'add-encoder-progress-1280-light.png') });
  } finally {
    hub.setFaults({});
  }
  await expect(card.getByTestId('image-to-image')).toContainText('Available (VAE encoder installed)', { timeout: 60_000 });
  await expect(card.getByRole('button', { name: /Add image-to-image support/ })).toHaveCount(0);
  expect(hub.bytesServed(REPO, 'unet/model.onnx.data')).toBe(0);
  expect(hub.bytesServed(REPO, 'vae_encoder/model.onnx.data')).toBeGreaterThan(0);
  await card.screenshot({ path: path.join(shots, 'add-encoder-done-1280-light.png') });
  expect(errors).toEqual([]);
  await page.context().close();
});
