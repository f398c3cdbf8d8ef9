// The Generate form's Advanced group in browser mode, with two tiny real models installed: a Medium-shaped one
// (diffusers-named joint blocks, so Skip-Layer Guidance can run) and one whose transformer has no named blocks.
// A person opens Advanced, picks a sampler, a schedule and a shift, turns SLG on with its layers, generates, and
// the Gallery's detail panel shows what was used; on the other model the SLG toggle is greyed out with the core's
// reason; layers past the model's blocks are refused in the form naming the count; "Reuse parameters" on an
// imported ComfyUI PNG whose sampler and schedule the studio lacks says which, and fills the nearest. Screenshots
// of the group at 1280×800 and 1920×1080, light and dark, go to test-results/screenshots/. Any console error fails.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test, type Browser, type Locator, type Page } from '@playwright/test';
import { startServe, type Served } from '../../src-main/testing/processes';
import { encodePng } from '../../src-main/formats/png';
import { apiResult, chromiumMissingReason, closeSpecStudio, launchChromium, openGenerateView } from '../support/browser';
import { writeTinyModel } from '../support/tiny-model';

let browser: Browser;
let served: Served | undefined;
let dataDir: string;
let modelDir: string;
let medium: string;
let plain: string;
const shots = path.resolve(__dirname, '..', '..', 'test-results', 'screenshots');

test.describe.configure({ mode: 'serial' });

function api<T>(method: string, params: unknown = {}): Promise<T> {
  return apiResult<T>(served!, method, params);
}

test.beforeAll(async () => {
  const reason = chromiumMissingReason();
  test.skip(!!reason, reason);
  test.setTimeout(180_000);
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-e2e-advanced-'));
  modelDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-e2e-advanced-model-'));
  await writeTinyModel(path.join(modelDir, 'tiny-medium'), { layout: 'optimum', io: 'fp32', size: 'micro', mmdit: 'medium' });
  await writeTinyModel(path.join(modelDir, 'tiny-plain'), { layout: 'tensorstack', io: 'fp32', size: 'micro' });
  served = await startServe(dataDir);
  medium = (await api<{ id: string }>('models.import', { folder: path.join(modelDir, 'tiny-medium') })).id;
  plain = (await api<{ id: string }>('models.import', { folder: path.join(modelDir, 'tiny-plain') })).id;
  browser = await launchChromium();
  fs.mkdirSync(shots, { recursive: true });
});

test.afterAll(async () => {
  await closeSpecStudio(browser, served, [dataDir, modelDir]);
});

async function openGenerate(opts: { width?: number; height?: number; colorScheme?: 'light' | 'dark' } = {}): Promise<{ page: Page; errors: string[] }> {
  const opened = await openGenerateView(browser, served!.url, opts);
  return opened;
}

const advanced = (page: Page): Locator => page.locator('details.advanced');

async function openAdvanced(page: Page): Promise<Locator> {
  const group = advanced(page);
  if ((await group.getAttribute('open')) === null) await group.locator('summary').click();
  await expect(page.getByRole('combobox', { name: 'Sampler' })).toBeVisible();
  return group;
}

async function chooseModel(page: Page, id: string): Promise<void> {
  await page.getByRole('combobox', { name: 'Model' }).selectOption(id);
}

test('sampler, schedule, shift and SLG on the Medium-shaped model: generated, and the detail panel shows them', async () => {
  test.setTimeout(150_000);
  const { page, errors } = await openGenerate();
  await chooseModel(page, medium);
  await page.getByLabel('Prompt', { exact: true }).fill('a red fox in the snow');
  await page.getByRole('spinbutton', { name: 'Steps' }).fill('6');
  await page.getByRole('spinbutton', { name: 'Width' }).fill('128');
  await page.getByRole('spinbutton', { name: 'Height' }).fill('128');
  await page.getByRole('spinbutton', { name: 'Guidance' }).fill('4');
  await page.getByRole('textbox', { name: 'Seed', exact: true }).fill('77');
  const group = await openAdvanced(page);
  await page.getByRole('combobox', { name: 'Sampler' }).selectOption({ label: 'DPM++ 2M' });
  await page.getByRole('combobox', { name: 'Schedule' }).selectOption({ label: 'SGM Uniform' });
  await page.getByRole('textbox', { name: 'Shift' }).fill('2.5');
  const toggle = page.getByRole('checkbox', { name: 'Skip-Layer Guidance' });
  await expect(toggle).toBeEnabled();
  await toggle.check();
  await expect(page.getByRole('textbox', { name: 'SLG layers' })).toHaveAttribute('title', 'Joint blocks to bypass: 0–3 on this model');
  // Layers past the model's 4 blocks: the form says so, in the core's words, and nothing is submitted.
  await page.getByRole('textbox', { name: 'SLG layers' }).fill('7, 8, 9');
  await page.getByRole('button', { name: 'Generate' }).click();
  await expect(group.getByRole('alert')).toHaveText("SLG layers 7, 8, 9 are outside this model's 4 joint blocks (0–3).");
  await page.getByRole('textbox', { name: 'SLG layers' }).fill('1, 2');
  await page.getByRole('spinbutton', { name: 'SLG scale' }).fill('2.5');
  await page.getByRole('spinbutton', { name: 'SLG start' }).fill('0.1');
  await page.getByRole('spinbutton', { name: 'SLG end' }).fill('0.6');
  await page.getByRole('button', { name: 'Generate' }).click();

  const card = page.getByRole('article', { name: /^Job \d+: a red fox in the snow/ });
  await expect(card.getByRole('button', { name: 'Open Seed 77 in the Gallery' })).toBeVisible({ timeout: 120_000 });
  await expect(card.getByTestId('job-status')).toHaveText('Done');
  const jobs = await api<{ items: { params: Record<string, unknown> }[] }>('jobs.list', {});
  expect(jobs.items[0]!.params).toMatchObject({ sampler: 'dpmpp_2m', scheduler: 'sgm_uniform', shift: 2.5, slg: { layers: [1, 2], scale: 2.5, start: 0.1, end: 0.6 } });

  await card.getByRole('button', { name: 'Open Seed 77 in the Gallery' }).click();
  const detail = page.getByRole('complementary', { name: 'Image details' });
  await expect(detail).toContainText('77');
  const text = (await detail.textContent()) ?? '';
  // Under the form's labels, not raw ids.
  for (const shown of ['SamplerDPM++ 2M', 'ScheduleSGM Uniform', 'Shift2.5', 'SLG layers1, 2', 'SLG scale2.5', 'SLG steps0.1–0.6 of the schedule']) expect(text).toContain(shown);
  await page.screenshot({ path: path.join(shots, 'advanced-detail-1280-light.png') });
  expect(errors).toEqual([]);
  await page.context().close();
});

test('a model whose graph has no named blocks: the SLG toggle is greyed out with the core\'s reason', async () => {
  const { page, errors } = await openGenerate();
  await chooseModel(page, plain);
  await page.getByRole('spinbutton', { name: 'Guidance' }).fill('4');
  await openAdvanced(page);
  const toggle = page.getByRole('checkbox', { name: 'Skip-Layer Guidance' });
  await expect(toggle).toBeDisabled();
  await expect(page.getByTestId('slg-reason')).toHaveText(/^Skip-Layer Guidance is not available for this model: its transformer graph has no nodes named \/transformer_blocks\.N\//);
  await page.screenshot({ path: path.join(shots, 'advanced-slg-unavailable-1280-light.png') });
  expect(errors).toEqual([]);
  await page.context().close();
});

test('Reuse on an imported ComfyUI PNG with a sampler and schedule the studio lacks: it says which and fills the nearest', async () => {
  const graph = {
    '13': { class_type: 'ModelSamplingSD3', inputs: { shift: 3, model: ['4', 0] } },
    '6': { class_type: 'CLIPTextEncode', inputs: { text: 'a fox in the snow', clip: ['4', 1] } },
    '71': { class_type: 'CLIPTextEncode', inputs: { text: 'blurry', clip: ['4', 1] } },
    '135': { class_type: 'EmptySD3LatentImage', inputs: { width: 1024, height: 768, batch_size: 1 } },
    '3': {
      class_type: 'KSampler',
      inputs: { seed: 12345, steps: 30, cfg: 5, sampler_name: 'dpmpp_2m_sde', scheduler: 'karras', denoise: 1, model: ['13', 0], positive: ['6', 0], negative: ['71', 0], latent_image: ['135', 0] },
    },
  };
  const pixels = { width: 16, height: 16, channels: 3 as const, data: new Uint8Array(16 * 16 * 3).fill(128) };
  const png = encodePng(pixels, [{ keyword: 'prompt', text: JSON.stringify(graph) }]);
  const imported = await api<{ imported: { id: number }[] }>('gallery.import', { files: [{ name: 'ComfyUI_00001_.png', dataBase64: png.toString('base64') }] });
  expect(imported.imported).toHaveLength(1);

  const { page, errors } = await openGenerate();
  await page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'Gallery' }).click();
  const grid = page.getByRole('grid', { name: 'Gallery images' });
  await grid.locator('[role="gridcell"][title*="a fox in the snow"]').first().click();
  const detail = page.getByRole('complementary', { name: 'Image details' });
  await detail.getByRole('button', { name: 'Reuse parameters' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Generate' })).toBeVisible();
  // The group opens by itself to show the notes; the nearest sampler and schedule are chosen, never silently.
  const notes = page.getByTestId('reuse-notes');
  await expect(notes).toContainText('The image was made with the sampler "dpmpp_2m_sde", which the studio does not have; Euler a is the nearest.');
  await expect(notes).toContainText('The image was made with the schedule "karras", which the studio does not have; Beta is the nearest.');
  await expect(page.getByRole('combobox', { name: 'Sampler' })).toHaveValue('euler_ancestral');
  await expect(page.getByRole('combobox', { name: 'Schedule' })).toHaveValue('beta');
  await expect(page.getByRole('spinbutton', { name: 'Steps' })).toHaveValue('30');
  await expect(page.getByRole('textbox', { name: 'Seed', exact: true })).toHaveValue('12345');
  await page.screenshot({ path: path.join(shots, 'advanced-reuse-notes-1280-light.png') });
  expect(errors).toEqual([]);
  await page.context().close();
});

test('screenshots of the Advanced group with SLG on: 1280×800 and 1920×1080, light and dark; nothing clipped', async () => {
  for (const [width, height] of [
    [1280, 800],
    [1920, 1080],
  ] as const) {
    for (const colorScheme of ['light', 'dark'] as const) {
      const { page, errors } = await openGenerate({ width, height, colorScheme });
      await chooseModel(page, medium);
      await page.getByRole('spinbutton', { name: 'Guidance' }).fill('4');
      const group = await openAdvanced(page);
      await page.getByRole('checkbox', { name: 'Skip-Layer Guidance' }).check();
      await expect(page.getByRole('textbox', { name: 'SLG layers' })).toBeVisible();
      await group.scrollIntoViewIfNeeded();
      // No control of the group runs past the group's right edge, and labels are not cut.
      const box = (await group.boundingBox())!;
      for (const control of await group.locator('select, input, label > span').all()) {
        if (!(await control.isVisible())) continue;
        const b = (await control.boundingBox())!;
        expect(b.x + b.width, await control.evaluate((el: { outerHTML: string }) => el.outerHTML.slice(0, 80))).toBeLessThanOrEqual(box.x + box.width + 0.5);
      }
      for (const label of await group.locator('label > span').all()) {
        const clipped = await label.evaluate((el: { scrollWidth: number; clientWidth: number }) => el.scrollWidth > el.clientWidth + 1);
        expect(clipped, (await label.textContent()) ?? '').toBe(false);
      }
      // The labels of a row line up, and so do its controls' bottoms.
      for (const row of await group.locator('.row').all()) {
        const labels = await row.locator('label > span').evaluateAll((els: { getBoundingClientRect(): { top: number } }[]) => els.map((e) => Math.round(e.getBoundingClientRect().top)));
        const controls = await row.locator('select, input').evaluateAll((els: { getBoundingClientRect(): { bottom: number } }[]) => els.map((e) => Math.round(e.getBoundingClientRect().bottom)));
        expect(Math.max(...labels) - Math.min(...labels), `label tops ${labels.join(', ')}`).toBeLessThanOrEqual(1);
        expect(Math.max(...controls) - Math.min(...controls), `control bottoms ${controls.join(', ')}`).toBeLessThanOrEqual(1);
      }
      await page.screenshot({ path: path.join(shots, `advanced-slg-${width}-${colorScheme}.png`) });
      await group.screenshot({ path: path.join(shots, `advanced-slg-group-${width}-${colorScheme}.png`) });
      expect(errors).toEqual([]);
      await page.context().close();
    }
  }
});
