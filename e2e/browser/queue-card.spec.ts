// The queue card's prompt and summary in browser mode: a long prompt and a seed list × guidance sweep wrap to two
// lines each at 1280×800; the whole text stays readable — the title tooltip and the card's accessible description
// carry it, and "More" (a disclosure, aria-expanded) shows both whole, "Less" folds them again. A short job offers
// no "More". The queue is paused, so nothing runs. Screenshots (1280×800 and 1920×1080, light and dark) go to
// test-results/screenshots/. Any console error fails the test.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test, type Browser, type Locator, type Page } from '@playwright/test';
import { startServe, type Served } from '../../src-main/testing/processes';
import { apiResult, chromiumMissingReason, closeSpecStudio, launchChromium, openGenerateView } from '../support/browser';
import { writeTinyModel } from '../support/tiny-model';

let browser: Browser;
let served: Served;
let dataDir: string;
let modelDir: string;
const shots = path.resolve(__dirname, '..', '..', 'test-results', 'screenshots');

const LONG_PROMPT =
  'an ancient stone lighthouse on a cliff above a stormy sea at dusk, dramatic volumetric light, crashing waves, seabirds, ' +
  'highly detailed, cinematic composition, 35mm photograph, golden hour, long exposure, wet rocks, spray, moody clouds';
const SEEDS = ['6952411511246973023', '18446744073709551615', '1000', '42', '9007199254740993', '123456789012345678', '77', '31337', '271828182845904523'];
const GUIDANCE = [1.5, 3, 4.5, 6, 7.5];

test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
  const reason = chromiumMissingReason();
  test.skip(!!reason, reason);
  test.setTimeout(180_000);
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-e2e-queue-card-'));
  modelDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-e2e-queue-card-model-'));
  await writeTinyModel(path.join(modelDir, 'tiny-sd35'), { layout: 'optimum', io: 'fp32', size: 'small' });
  served = await startServe(dataDir);
  browser = await launchChromium();
  fs.mkdirSync(shots, { recursive: true });
  const model = await apiResult<{ id: string }>(served, 'models.import', { folder: path.join(modelDir, 'tiny-sd35') });
  await apiResult(served, 'jobs.pause');
  const params = { negativePrompt: '', model: model.id, steps: 4, guidance: 4, width: 256, height: 256, t5: false };
  await apiResult(served, 'jobs.submit', { params: { ...params, prompt: 'a lighthouse at dusk' }, sweep: { seeds: { mode: 'consecutive', first: '2000', count: 2 } } });
  await apiResult(served, 'jobs.submit', {
    params: { ...params, prompt: LONG_PROMPT },
    sweep: { seeds: { mode: 'list', seeds: SEEDS }, axis: { kind: 'guidance', values: GUIDANCE } },
  });
});

test.afterAll(async () => {
  await closeSpecStudio(browser, served, [dataDir, modelDir]);
});

const longCard = (page: Page): Locator => page.getByRole('article', { name: /^Job \d+: an ancient stone lighthouse/ });
const shortCard = (page: Page): Locator => page.getByRole('article', { name: /^Job \d+: a lighthouse at dusk$/ });

/** Lines an element shows (its visible height over its line height) and whether its text is cut. */
function lines(el: Locator): Promise<{ shown: number; cut: boolean }> {
  return el.evaluate((e) => {
    const lh = parseFloat((globalThis as unknown as { getComputedStyle(x: unknown): { lineHeight: string } }).getComputedStyle(e).lineHeight);
    const box = e as unknown as { clientHeight: number; scrollHeight: number };
    return { shown: Math.round(box.clientHeight / lh), cut: box.scrollHeight > box.clientHeight + 1 };
  });
}

test('1280×800: the long prompt and summary wrap to two lines; title, description and More carry the whole text', async () => {
  const { page, errors } = await openGenerateView(browser, served.url, { width: 1280, height: 800 });
  const card = longCard(page);
  await expect(card).toBeVisible();
  const summary = card.getByTestId('job-summary');
  const prompt = card.getByRole('heading', { level: 3 });
  const full = `tiny-sd35 · 4 steps · guidance ${GUIDANCE.join(', ')} · 256 × 256 · seeds ${SEEDS.join(', ')}`;
  // Every seed is in the text (none cut by the formatter), and the card's accessible description is the whole line.
  await expect(summary).toHaveText(full);
  await expect(summary).toHaveAttribute('title', full);
  await expect(card).toHaveAccessibleDescription(full);
  await expect(prompt).toHaveText(LONG_PROMPT);
  await expect(prompt).toHaveAttribute('title', LONG_PROMPT);
  expect(await lines(summary)).toEqual({ shown: 2, cut: true });
  expect(await lines(prompt)).toEqual({ shown: 2, cut: true });
  await page.screenshot({ path: path.join(shots, 'queue-card-1280-light.png') });

  // Keyboard: More is a disclosure; it shows both whole, Less folds them again and keeps the focus.
  const more = card.getByRole('button', { name: 'More', exact: true });
  await expect(more).toHaveAttribute('aria-expanded', 'false');
  await more.focus();
  await page.keyboard.press('Enter');
  const less = card.getByRole('button', { name: 'Less', exact: true });
  await expect(less).toHaveAttribute('aria-expanded', 'true');
  await expect(less).toBeFocused();
  await expect.poll(async () => (await lines(summary)).cut).toBe(false);
  expect((await lines(prompt)).cut).toBe(false);
  expect((await lines(summary)).shown).toBeGreaterThan(2);
  await page.screenshot({ path: path.join(shots, 'queue-card-1280-light-expanded.png') });
  await page.keyboard.press('Enter');
  await expect(more).toHaveAttribute('aria-expanded', 'false');
  expect(await lines(summary)).toEqual({ shown: 2, cut: true });

  // A job whose text fits offers no More.
  await expect(shortCard(page).getByTestId('job-summary')).toHaveText('tiny-sd35 · 4 steps · guidance 4 · 256 × 256 · seeds 2000–2001');
  await expect(shortCard(page).getByRole('button', { name: 'More' })).toHaveCount(0);
  expect(errors).toEqual([]);
  await page.context().close();
});

for (const [width, height] of [
  [1280, 800],
  [1920, 1080],
] as const) {
  for (const colorScheme of ['light', 'dark'] as const) {
    test(`${width}×${height} ${colorScheme}: the card's text never shows more than two lines folded, and More appears only when cut`, async () => {
      const { page, errors } = await openGenerateView(browser, served.url, { width, height, colorScheme });
      const card = longCard(page);
      await expect(card).toBeVisible();
      for (const el of [card.getByTestId('job-summary'), card.getByRole('heading', { level: 3 })]) {
        const l = await lines(el);
        expect(l.shown).toBeLessThanOrEqual(2);
      }
      const cut = (await lines(card.getByTestId('job-summary'))).cut || (await lines(card.getByRole('heading', { level: 3 }))).cut;
      await expect(card.getByRole('button', { name: 'More', exact: true })).toHaveCount(cut ? 1 : 0);
      await page.screenshot({ path: path.join(shots, `queue-card-${width}-${colorScheme}.png`) });
      expect(errors).toEqual([]);
      await page.context().close();
    });
  }
}
