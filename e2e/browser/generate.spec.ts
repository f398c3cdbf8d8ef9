// The Generate view in browser mode with a tiny real model installed in the data folder: a person types
// a prompt and a negative prompt, sets 4 images as a seed sweep from seed 1000, generates, sees live
// previews and the step counter advance and the four images arrive (and opens one in the Gallery, and
// "Compare these seeds"); a two-axis sweep (2 seeds × 2 guidance values); "Reuse parameters" from the
// Gallery fills the form; the form survives a reload; pause and resume the queue; cancel a running job
// (held at a named point, SD35_TEST_HOLD); stop the server while a generation is held mid-run, start it
// again, see the interrupted generation offered for retry and the queued one run. Screenshots of the
// view with live previews, the queue, and the empty / first-run states at 1280×800 and 1920×1080, light
// and dark, go to test-results/screenshots/. Any console error fails the test.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test, type Browser, type Locator, type Page } from '@playwright/test';
import { startServe, stop, type Served } from '../../src-main/testing/processes';
import { apiResult, chromiumMissingReason, closeSpecStudio, launchChromium, openGenerateView } from '../support/browser';
import { writeTinyModel } from '../support/tiny-model';

// Code inside page.evaluate runs in Chromium; the node tsconfig has no DOM lib.
interface PageEl {
  textContent: string | null;
  getAttribute(name: string): string | null;
  querySelectorAll(selector: string): ArrayLike<PageEl>;
}
declare const document: { body: PageEl; querySelectorAll(selector: string): ArrayLike<PageEl> };
declare const window: Record<string, unknown>;
declare class MutationObserver {
  constructor(callback: () => void);
  observe(target: PageEl, options: { childList: boolean; subtree: boolean; characterData: boolean; attributes: boolean }): void;
}

let browser: Browser;
let served: Served | undefined;
let dataDir: string;
let modelDir: string;
let modelId: string;
const shots = path.resolve(__dirname, '..', '..', 'test-results', 'screenshots');
const HOLD_ENV = { SD35_TEST_MODE: '1', SD35_TEST_HOLD: 'after-step:1' };

test.describe.configure({ mode: 'serial' });

function api<T>(method: string, params: unknown = {}): Promise<T> {
  return apiResult<T>(served!, method, params);
}

async function restart(env: NodeJS.ProcessEnv = {}): Promise<void> {
  if (served) await stop(served.child);
  served = await startServe(dataDir, env);
}

test.beforeAll(async () => {
  const reason = chromiumMissingReason();
  test.skip(!!reason, reason);
  test.setTimeout(180_000);
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-e2e-generate-'));
  modelDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-e2e-generate-model-'));
  // "small": each transformer step costs ≥ 50 ms here, so the steps can be seen arriving.
  await writeTinyModel(path.join(modelDir, 'tiny-sd35'), { layout: 'optimum', io: 'fp32', size: 'small' });
  served = await startServe(dataDir);
  browser = await launchChromium();
  fs.mkdirSync(shots, { recursive: true });
});

test.afterAll(async () => {
  await closeSpecStudio(browser, served, [dataDir, modelDir]);
});

async function openGenerate(opts: { width?: number; height?: number; colorScheme?: 'light' | 'dark' } = {}): Promise<{ page: Page; errors: string[] }> {
  const opened = await openGenerateView(browser, served!.url, opts);
  if (modelId) await expect(opened.page.getByRole('combobox', { name: 'Model' })).toHaveValue(modelId);
  return opened;
}

const jobCard = (page: Page, prompt: string): Locator => page.getByRole('article', { name: new RegExp(`^Job \\d+: ${prompt}`) });
const tiles = (card: Locator): Locator => card.getByRole('button', { name: /^Open Seed .* in the Gallery$/ });

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(shots, name) });
}

/** Size and steps small enough for the tiny model: 256 × 256, `steps` steps. */
async function fillBasics(page: Page, prompt: string, steps = 6): Promise<void> {
  await page.getByLabel('Prompt', { exact: true }).fill(prompt);
  await page.getByRole('spinbutton', { name: 'Steps' }).fill(String(steps));
  await page.getByRole('spinbutton', { name: 'Width' }).fill('256');
  await page.getByRole('spinbutton', { name: 'Height' }).fill('256');
}

/** Records, in the page, every step counter text and live preview source that appears. */
async function watchProgress(page: Page): Promise<void> {
  await page.evaluate(() => {
    const steps = new Set<string>();
    const previews = new Set<string>();
    window.__steps = steps;
    window.__previews = previews;
    const look = (): void => {
      for (const el of Array.from(document.querySelectorAll('[data-testid="step-counter"]'))) steps.add(el.textContent ?? '');
      for (const el of Array.from(document.querySelectorAll('[data-testid="live-preview"]'))) previews.add(el.getAttribute('src') ?? '');
    };
    new MutationObserver(look).observe(document.body, { childList: true, subtree: true, characterData: true, attributes: true });
  });
}

async function seenProgress(page: Page): Promise<{ steps: string[]; previews: number }> {
  return page.evaluate(() => ({
    steps: [...(window.__steps as Set<string>)],
    previews: (window.__previews as Set<string>).size,
  }));
}

test('first run: no model yet — the form explains the way through Models; the queue is empty', async () => {
  const { page, errors } = await openGenerate();
  await expect(page.getByTestId('no-models')).toContainText('No model installed yet');
  await expect(page.getByTestId('no-models').getByRole('link', { name: 'Models' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Generate' })).toBeDisabled();
  await expect(page.getByText('Nothing in the queue.')).toBeVisible();
  await shot(page, 'generate-first-run-1280-light.png');
  // The count field and the gallery grid have different names now.
  await expect(page.getByRole('spinbutton', { name: 'Images', exact: true })).toHaveCount(1);
  expect(errors).toEqual([]);
  await page.context().close();

  const model = await api<{ id: string }>('models.import', { folder: path.join(modelDir, 'tiny-sd35') });
  modelId = model.id;
});

test('a seed sweep of 4 from seed 1000: live previews, the step counter advances, four images arrive', async () => {
  test.setTimeout(120_000);
  const { page, errors } = await openGenerate();
  await expect(page.getByRole('combobox', { name: 'Model' })).toHaveValue(modelId);
  await fillBasics(page, 'a lighthouse at dusk, oil painting', 8);
  await page.getByLabel('Negative prompt', { exact: true }).fill('blurry, low quality');
  await page.getByRole('spinbutton', { name: 'Guidance' }).fill('4.5');
  await expect(page.getByText(/CLIP \d+\/75/).first()).toBeVisible();
  await page.getByRole('textbox', { name: 'Seed', exact: true }).fill('1000');
  await expect(page.getByRole('checkbox', { name: 'Lock seed' })).toBeChecked();
  await page.getByRole('spinbutton', { name: 'Images' }).fill('4');
  await expect(page.getByRole('combobox', { name: 'Seed sweep' })).toHaveValue('consecutive');
  await expect(page.getByTestId('image-total')).toHaveText('4 images');
  await watchProgress(page);
  await page.getByRole('button', { name: 'Generate' }).click();

  const card = jobCard(page, 'a lighthouse at dusk');
  await expect(card).toBeVisible();
  await expect(tiles(card)).toHaveCount(4, { timeout: 90_000 });
  for (let k = 0; k < 4; k++) await expect(card.getByRole('button', { name: `Open Seed ${1000 + k} in the Gallery` })).toBeVisible();
  await expect(card.getByTestId('job-status')).toHaveText('Done');
  const seen = await seenProgress(page);
  const distinctSteps = new Set(seen.steps.filter((s) => /step \d+\/8/.test(s)));
  expect(distinctSteps.size, `step counters seen: ${seen.steps.join(' | ')}`).toBeGreaterThanOrEqual(3);
  expect(seen.previews).toBeGreaterThanOrEqual(2);
  // Every thumbnail loaded.
  for (const img of await card.locator('img[data-image-id]').all()) await expect.poll(() => img.evaluate((el: { naturalWidth?: number }) => el.naturalWidth ?? 0)).toBeGreaterThan(0);

  // The images are in the history with their parameters.
  const jobs = await api<{ items: { params: { negativePrompt: string; steps: number }; generations: { seed: string; status: string; imageId?: number }[] }[] }>('jobs.list', {});
  const made = jobs.items[0]!;
  expect(made.params).toMatchObject({ negativePrompt: 'blurry, low quality', steps: 8 });
  expect(made.generations.map((g) => [g.seed, g.status])).toEqual([
    ['1000', 'done'],
    ['1001', 'done'],
    ['1002', 'done'],
    ['1003', 'done'],
  ]);

  // "Compare these seeds" opens them in Compare.
  await card.getByRole('button', { name: 'Compare these seeds' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Compare' })).toBeVisible();
  await expect(page).toHaveURL(/#\/compare/);

  // A finished image opens in the Gallery; "Reuse parameters" fills the form.
  await page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'Generate' }).click();
  await card.getByRole('button', { name: 'Open Seed 1002 in the Gallery' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Gallery' })).toBeVisible();
  const detail = page.getByRole('complementary', { name: 'Image details' });
  await expect(detail).toContainText('1002');
  await page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'Generate' }).click();
  await page.getByLabel('Prompt', { exact: true }).fill('something else');
  await page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'Gallery' }).click();
  await detail.getByRole('button', { name: 'Reuse parameters' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Generate' })).toBeVisible();
  await expect(page.getByLabel('Prompt', { exact: true })).toHaveValue('a lighthouse at dusk, oil painting');
  await expect(page.getByLabel('Negative prompt', { exact: true })).toHaveValue('blurry, low quality');
  await expect(page.getByRole('textbox', { name: 'Seed', exact: true })).toHaveValue('1002');
  await expect(page.getByRole('spinbutton', { name: 'Images' })).toHaveValue('1');

  // The form survives a reload (a restart of the window).
  await page.getByLabel('Prompt', { exact: true }).fill('kept across a restart');
  await page.reload();
  await expect(page.getByLabel('Prompt', { exact: true })).toHaveValue('kept across a restart');
  await expect(page.getByRole('spinbutton', { name: 'Steps' })).toHaveValue('8');
  expect(errors).toEqual([]);
  await page.context().close();
});

test('a two-axis sweep: 2 seeds × 2 guidance values make four labelled images; guidance ≤ 1 greys out the negative prompt', async () => {
  test.setTimeout(90_000);
  const { page, errors } = await openGenerate();
  // A prompt longer than CLIP's 75 tokens: the count turns and the warning names how many are dropped.
  await page.getByLabel('Prompt', { exact: true }).fill(Array.from({ length: 120 }, (_, i) => `fox${i}`).join(' '));
  await expect(page.getByText(/CLIP drops the last \d+ tokens/)).toBeVisible();
  const clipCount = Number(/CLIP (\d+)\/75/.exec((await page.getByText(/^CLIP \d+\/75$/).first().textContent()) ?? '')?.[1]);
  expect(clipCount).toBeGreaterThan(120);
  // A size that is not a multiple of 16 is refused in place, before anything is queued.
  await page.getByRole('spinbutton', { name: 'Width' }).fill('1000');
  await page.getByRole('button', { name: 'Generate' }).click();
  await expect(page.getByRole('alert').filter({ hasText: 'The width must be a multiple of 16 from 64 to 2048 pixels (got 1000).' })).toBeVisible();
  await shot(page, 'generate-form-error-1280-light.png');
  // Each message goes as soon as its value is valid.
  await page.getByRole('spinbutton', { name: 'Width' }).fill('1024');
  await page.getByRole('spinbutton', { name: 'Width' }).press('Tab'); // the size takes a typed value on change
  await expect(page.getByRole('alert').filter({ hasText: 'The width' })).toHaveCount(0);
  // A seed of 2^64: the schema's words (the range), next to the field and brought into view.
  await page.getByRole('textbox', { name: 'Seed', exact: true }).fill('18446744073709551616');
  await page.getByRole('button', { name: 'Generate' }).click();
  const seedAlert = page.getByRole('alert').filter({ hasText: 'The seed must be a whole number from 0 to 18446744073709551615' });
  await expect(seedAlert).toBeInViewport();
  await expect(page.getByRole('textbox', { name: 'Seed', exact: true })).toHaveAttribute('aria-describedby', 'seed-error');
  await expect(page.getByRole('textbox', { name: 'Seed', exact: true })).toBeFocused();
  await shot(page, 'generate-seed-error-1280-light.png');
  await page.getByRole('textbox', { name: 'Seed', exact: true }).fill('18446744073709551615');
  await expect(seedAlert).toHaveCount(0);
  expect((await api<{ items: unknown[] }>('jobs.list', {})).items).toHaveLength(1); // only the first test's job
  await fillBasics(page, 'a red fox in snow', 4);
  await expect(page.getByText(/CLIP drops the last/)).toHaveCount(0);
  await page.getByRole('spinbutton', { name: 'Guidance' }).fill('1');
  await expect(page.getByText(/Not used at guidance 1/)).toBeVisible();
  await page.getByRole('spinbutton', { name: 'Guidance' }).fill('4');
  await expect(page.getByText(/Not used at guidance/)).toHaveCount(0);
  await page.getByRole('textbox', { name: 'Seed', exact: true }).fill('2000');
  await page.getByRole('spinbutton', { name: 'Images' }).fill('2');
  await page.getByRole('combobox', { name: 'Second axis' }).selectOption('guidance');
  await page.getByRole('textbox', { name: 'Axis values' }).fill('3, 6');
  await expect(page.getByTestId('image-total')).toContainText('4 images');
  await page.keyboard.press('Control+Enter');
  const card = jobCard(page, 'a red fox in snow');
  await expect(tiles(card)).toHaveCount(4, { timeout: 60_000 });
  for (const seed of [2000, 2001]) for (const g of [3, 6]) await expect(card.getByRole('button', { name: `Open Seed ${seed}, guidance ${g} in the Gallery` })).toBeVisible();
  await expect(card.getByRole('button', { name: 'Compare these seeds' })).toBeVisible();
  expect(errors).toEqual([]);
  await page.context().close();
});

test('pause and resume the queue: a job submitted while paused waits, then runs', async () => {
  test.setTimeout(90_000);
  const { page, errors } = await openGenerate();
  await page.getByRole('button', { name: 'Pause queue' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'The queue is paused' })).toBeVisible();
  await fillBasics(page, 'a paused harbour', 4);
  await page.getByRole('combobox', { name: 'Second axis' }).selectOption('none');
  await page.getByRole('spinbutton', { name: 'Images' }).fill('1');
  // Keyboard: Tab goes from the prompt to the negative prompt, and Ctrl+Enter there generates (once).
  await page.getByRole('textbox', { name: 'Prompt', exact: true }).focus();
  await page.keyboard.press('Tab');
  await expect(page.getByRole('textbox', { name: 'Negative prompt' })).toBeFocused();
  await page.keyboard.press('Control+Enter');
  const card = jobCard(page, 'a paused harbour');
  await expect(card).toHaveCount(1);
  await expect(card.getByTestId('step-counter')).toHaveText('Waiting: the queue is paused');
  // The server agrees: paused, and the job still queued after many times a tiny image's duration.
  await page.waitForTimeout(1500);
  const held = await api<{ queue: { paused: boolean }; items: { status: string }[] }>('jobs.list', {});
  expect(held.queue.paused).toBe(true);
  expect(held.items[0]!.status).toBe('queued');
  await expect(card.getByTestId('job-status')).toHaveText('Queued');
  await page.getByRole('button', { name: 'Resume queue' }).click();
  await expect(card.getByTestId('job-status')).toHaveText('Done', { timeout: 60_000 });
  await expect(tiles(card)).toHaveCount(1);
  await expect(page.getByRole('button', { name: 'Pause queue' })).toBeVisible();
  expect(errors).toEqual([]);
  await page.context().close();
});

test('held mid-run: live preview, screenshots, cancel a running job', async () => {
  test.setTimeout(120_000);
  await restart(HOLD_ENV);
  const { page, errors } = await openGenerate();
  await fillBasics(page, 'a held lighthouse', 6);
  await page.getByRole('textbox', { name: 'Seed', exact: true }).fill('3000');
  await page.getByRole('spinbutton', { name: 'Images' }).fill('4');
  await page.getByRole('button', { name: 'Generate' }).click();
  const card = jobCard(page, 'a held lighthouse');
  await expect(card.getByTestId('step-counter')).toHaveText('Image 1 of 4 · step 1/6', { timeout: 60_000 });
  await expect(card.getByTestId('live-preview')).toBeVisible();
  await expect(card.getByRole('progressbar', { name: 'Job progress' })).toHaveAttribute('aria-valuenow', '4');

  // A second job waits behind it: the queue screenshots show both.
  await fillBasics(page, 'a queued meadow', 6);
  await page.getByRole('spinbutton', { name: 'Images' }).fill('1');
  await page.getByRole('button', { name: 'Generate' }).click();
  await expect(jobCard(page, 'a queued meadow').getByTestId('job-status')).toHaveText('Queued');
  for (const [w, h] of [
    [1280, 800],
    [1920, 1080],
  ] as const) {
    for (const scheme of ['light', 'dark'] as const) {
      await page.setViewportSize({ width: w, height: h });
      await page.emulateMedia({ colorScheme: scheme });
      await expect(card.getByTestId('live-preview')).toBeVisible();
      await shot(page, `generate-running-${w}-${scheme}.png`);
      await page.locator('section[aria-labelledby="queue-heading"]').screenshot({ path: path.join(shots, `generate-queue-${w}-${scheme}.png`) });
      // Nothing on the page scrolls: the form and the queue scroll inside their own columns.
      const overflow = await page.evaluate(() => {
        const d = (globalThis as unknown as { document: { documentElement: { scrollHeight: number; clientHeight: number; scrollWidth: number; clientWidth: number } } }).document.documentElement;
        return { v: d.scrollHeight - d.clientHeight, h: d.scrollWidth - d.clientWidth };
      });
      expect(overflow).toEqual({ v: 0, h: 0 });
    }
  }
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.emulateMedia({ colorScheme: 'light' });

  await card.getByRole('button', { name: 'Cancel' }).click();
  await expect(card.getByTestId('job-status')).toHaveText('Cancelled', { timeout: 30_000 });
  await expect(card.getByRole('button', { name: 'Cancel' })).toHaveCount(0);
  const list = await api<{ items: { params: { prompt: string }; status: string; generations: { status: string }[] }[] }>('jobs.list', {});
  const cancelled = list.items.find((j) => j.params.prompt === 'a held lighthouse')!;
  expect(cancelled.status).toBe('cancelled');
  expect(cancelled.generations.every((g) => g.status === 'cancelled')).toBe(true);
  expect(errors).toEqual([]);
  await page.context().close();
});

test('stop the server while a generation is held mid-run: after a restart it is offered for retry and the queued job runs', async () => {
  test.setTimeout(150_000);
  // The meadow job from the last test is now the one held at step 1.
  let { page, errors } = await openGenerate();
  const held = jobCard(page, 'a queued meadow');
  await expect(held.getByTestId('step-counter')).toHaveText(/step 1\/6/, { timeout: 60_000 });
  await fillBasics(page, 'a waiting windmill', 4);
  await page.getByRole('textbox', { name: 'Seed', exact: true }).fill('4000');
  await page.getByRole('spinbutton', { name: 'Images' }).fill('1');
  await page.getByRole('button', { name: 'Generate' }).click();
  await expect(jobCard(page, 'a waiting windmill').getByTestId('job-status')).toHaveText('Queued');
  await page.context().close();

  await restart(); // SIGTERM while held, then a normal start on the same data folder
  ({ page, errors } = await openGenerate());
  const interrupted = jobCard(page, 'a queued meadow');
  await expect(interrupted.getByTestId('job-status')).toHaveText('Interrupted');
  await expect(interrupted).toContainText('the studio stopped while this ran');
  const windmill = jobCard(page, 'a waiting windmill');
  await expect(windmill.getByTestId('job-status')).toHaveText('Done', { timeout: 60_000 });
  await expect(tiles(windmill)).toHaveCount(1);
  await expect(interrupted.getByTestId('job-status')).toHaveText('Interrupted'); // never started behind the user's back
  await shot(page, 'generate-interrupted-1280-light.png');
  await interrupted.getByRole('button', { name: 'Retry' }).click();
  await expect(interrupted.getByTestId('job-status')).toHaveText('Done', { timeout: 60_000 });
  await expect(tiles(interrupted)).toHaveCount(1);

  // Clear finished empties the list: the empty state again.
  await page.getByRole('button', { name: 'Clear finished' }).click();
  await expect(page.getByText('Nothing in the queue.')).toBeVisible();
  // ...and the header agrees: no finished count left, nothing more to clear.
  await expect(page.getByTestId('queue-counts')).toHaveText('');
  await expect(page.getByRole('button', { name: 'Clear finished' })).toBeDisabled();
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    await shot(page, `generate-empty-1280-${scheme}.png`);
  }
  expect(errors).toEqual([]);
  await page.context().close();
});
