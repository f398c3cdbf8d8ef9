// What a new user tripped over, each seen in a screenshot (issue #15 §7): a 20-digit seed cut off in the
// field, "0.00 MP" for 64 × 64, an imported folder "verified: not since download". Screenshots at 1280×800
// and 1920×1080, light and dark, land in test-results/screenshots.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test, type Browser, type Page } from '@playwright/test';
import { callApi, startServe, type Served } from '../../src-main/testing/processes';
import { chromiumMissingReason, closeSpecStudio, launchChromium, openPage } from '../support/browser';
import { writeTinyModel } from '../support/tiny-model';

let browser: Browser;
let served: Served | undefined;
let dataDir: string;
let modelDir: string;
const shots = path.resolve(__dirname, '..', '..', 'test-results', 'screenshots');
const SIZES = [
  { width: 1280, height: 800 },
  { width: 1920, height: 1080 },
] as const;
const MAX_SEED = '18446744073709551615';

test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
  const reason = chromiumMissingReason();
  test.skip(!!reason, reason);
  test.setTimeout(120_000);
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-e2e-papercuts-'));
  modelDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-e2e-papercuts-model-'));
  await writeTinyModel(path.join(modelDir, 'tiny'), { layout: 'optimum', io: 'fp32', size: 'micro' });
  served = await startServe(dataDir);
  const imported = await callApi(served, 'models.import', { folder: path.join(modelDir, 'tiny') });
  expect(imported.body.ok, JSON.stringify(imported.body.error)).toBe(true);
  browser = await launchChromium();
  fs.mkdirSync(shots, { recursive: true });
});

test.afterAll(async () => {
  await closeSpecStudio(browser, served, [dataDir, modelDir]);
});

/** The input shows its whole value: nothing scrolled out of its box. */
async function showsWholeValue(page: Page, name: string): Promise<void> {
  const input = page.getByRole('textbox', { name, exact: true });
  const fits = await input.evaluate((el) => {
    const i = el as unknown as { scrollWidth: number; clientWidth: number };
    return i.scrollWidth <= i.clientWidth;
  });
  expect(fits, `${name} shows its whole value`).toBe(true);
}

for (const size of SIZES) {
  for (const colorScheme of ['light', 'dark'] as const) {
    test(`Generate at ${size.width}×${size.height} ${colorScheme}: a 20-digit seed fits its field; 64 × 64 is "0.0041 MP"`, async () => {
      const { page, errors } = await openPage(browser, served!.url, { viewport: size, colorScheme });
      await expect(page.getByRole('heading', { level: 1, name: 'Generate' })).toBeVisible();
      await page.getByRole('textbox', { name: 'Seed', exact: true }).fill(MAX_SEED);
      await expect(page.getByRole('textbox', { name: 'Seed', exact: true })).toHaveValue(MAX_SEED);
      await showsWholeValue(page, 'Seed');
      await page.getByRole('spinbutton', { name: 'Width' }).fill('64');
      await page.getByRole('spinbutton', { name: 'Height' }).fill('64');
      await page.getByRole('spinbutton', { name: 'Height' }).press('Tab');
      await expect(page.getByText('0.0041 MP')).toBeVisible();
      await expect(page.getByText('0.00 MP')).toHaveCount(0);
      await expect(page.getByRole('button', { name: 'Generate' })).toBeInViewport();
      await page.screenshot({ path: path.join(shots, `papercuts-generate-${size.width}-${colorScheme}.png`) });
      expect(errors).toEqual([]);
    });
  }
}

test('Models: an imported folder was never downloaded, so it is not "verified: not since download"', async () => {
  const { page, errors } = await openPage(browser, served!.url);
  await page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'Models' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Models' })).toBeVisible();
  await expect(page.getByText('not yet (Verify checks the folder is complete)')).toBeVisible();
  await expect(page.getByText('not since download')).toHaveCount(0);
  await page.screenshot({ path: path.join(shots, 'papercuts-models-1280-light.png'), fullPage: true });
  expect(errors).toEqual([]);
});
