// The Models view in browser mode against a local Hugging Face (the hub emulator): the catalog
// cards and the confirmation panel (licence, fit check, "without T5"), a download of another repo
// with live progress, pause, resume, verify and remove; the catalog card's download end to end
// (a small repo served under the Medium variant's id); a gated repo without a token, with a token
// whose owner has not accepted the licence, and with a good one; the token status. Screenshots go to
// test-results/screenshots/. Any console error fails the test.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test, type Browser, type Locator, type Page } from '@playwright/test';
import { cachedSd3Repo } from '../../src-main/testing/models/repo-fixture';
import { startServe, type Served } from '../../src-main/testing/processes';
import { chromiumMissingReason, closeSpecStudio, launchChromium, openPage } from '../support/browser';
import { startHubEmulator, type HubEmulator } from '../support/hub-emulator';
import { writeStabilityRepo } from '../support/stability-repo';

const MEDIUM_REPO = 'TensorStack/stable-diffusion-3.5-medium-onnx';
const OTHER_REPO = 'e2e-owner/small-sd3';
const GATED_REPO = 'e2e-owner/gated-sd3';
const STABILITY_REPO = 'stabilityai/stable-diffusion-3.5-medium_amdgpu';
const GOOD_TOKEN = 'hf_e2eGoodToken0123456789';
const NO_LICENCE_TOKEN = 'hf_e2eNoLicenceToken0123';
const BAD_TOKEN = 'hf_e2eUnknownToken012345';
const MiB = 1024 * 1024;
/** Per response: with 2–4 files in parallel the ~34 MB repo takes several seconds. */
const SLOW = { bytesPerSecond: 1.5 * MiB };

let browser: Browser;
let served: Served;
let hub: HubEmulator;
let dataDir: string;
let hfHome: string;
let repoFolder: string;
let stabilityDir: string | undefined;
const shots = path.resolve(__dirname, '..', '..', 'test-results', 'screenshots');

test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
  const reason = chromiumMissingReason();
  test.skip(!!reason, reason);
  test.setTimeout(120_000);
  const folder = (repoFolder = await cachedSd3Repo('e2e-models-view', { layout: 'tensorstack', seed: 35, transformerBytes: 24 * MiB, t5Bytes: 6 * MiB }));
  const stabilityFolder = path.join(os.tmpdir(), `sd35-e2e-stability-${process.pid}`);
  await writeStabilityRepo(stabilityFolder, { generatedTokenizers: true });
  stabilityDir = stabilityFolder;
  hub = await startHubEmulator({
    repos: {
      [STABILITY_REPO]: { folder: stabilityFolder },
      [MEDIUM_REPO]: { folder },
      [OTHER_REPO]: { folder },
      [GATED_REPO]: { folder, gated: 'licence' },
    },
    tokens: { [GOOD_TOKEN]: [GATED_REPO], [NO_LICENCE_TOKEN]: [] },
  });
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-e2e-models-'));
  hfHome = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-e2e-hfhome-'));
  // HF_HOME in a temp folder: the real machine's token file is never read or written; no HF_TOKEN.
  served = await startServe(dataDir, { HF_ENDPOINT: hub.endpoint, HF_HOME: hfHome, HF_TOKEN: '' });
  browser = await launchChromium();
  fs.mkdirSync(shots, { recursive: true });
});

test.afterAll(async () => {
  await closeSpecStudio(browser, served, [dataDir, hfHome, stabilityDir]);
  await hub?.close();
});

async function openModels(colorScheme: 'light' | 'dark' = 'light'): Promise<{ page: Page; errors: string[] }> {
  const opened = await openPage(browser, served.url, { colorScheme, viewport: { width: 1280, height: 900 } });
  const { page } = opened;
  await page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'Models' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Models' })).toBeVisible();
  await expect(page.getByRole('article').first()).toBeVisible();
  return opened;
}

const card = (page: Page, name: string): Locator => page.getByRole('article', { name, exact: true });

async function progressValue(c: Locator): Promise<number> {
  return Number(await c.getByRole('progressbar', { name: 'Download progress' }).getAttribute('aria-valuenow'));
}

async function shot(page: Page, name: string, target?: Locator): Promise<void> {
  if (target) await target.screenshot({ path: path.join(shots, name) });
  else await page.screenshot({ path: path.join(shots, name), fullPage: true });
}

test('catalog: three variants with sizes, memory need and state; the confirmation panel before a download', async () => {
  const { page, errors } = await openModels();
  const names = ['Stable Diffusion 3.5 Medium', 'Stable Diffusion 3.5 Large Turbo', 'Stable Diffusion 3.5 Large'];
  for (const name of names) {
    const c = card(page, name);
    await expect(c).toBeVisible();
    await expect(c.getByTestId('model-state')).toHaveText('Not installed');
    await expect(c).toContainText('Parameters');
    await expect(c).toContainText('without T5');
    await expect(c).toContainText('Memory need');
    await expect(c.getByRole('button', { name: 'Download…' })).toBeVisible();
  }
  await expect(card(page, names[0]!)).toContainText('2.5B');
  await expect(card(page, names[2]!)).toContainText('8.1B');
  // Disk usage: the models folder inside the data folder and the free space.
  const disk = page.getByTestId('disk-usage');
  await expect(disk).toContainText(dataDir);
  await expect(disk).toContainText(/Free space\s*[\d.]+ (GB|MB|TB)/);
  await shot(page, 'models-catalog.png');

  const medium = card(page, names[0]!);
  await medium.getByRole('button', { name: 'Download…' }).click();
  const panel = medium.getByRole('region', { name: `Download ${names[0]}` });
  await expect(panel).toBeVisible();
  const licence = panel.getByRole('link', { name: 'Stability AI Community License' });
  await expect(licence).toHaveAttribute('href', /^https:\/\/huggingface\.co\/stabilityai\/stable-diffusion-3\.5-medium\//);
  await expect(licence).toHaveAttribute('target', '_blank');
  await expect(panel.getByTestId('fit-check')).toContainText(/This machine: [\d.]+ GB of RAM/);
  const withoutT5 = panel.getByRole('checkbox', { name: /Without T5/ });
  await expect(withoutT5).toBeVisible();
  await expect(panel.getByRole('checkbox', { name: /lower prompt adherence/ })).toBeVisible();
  // The size follows the selection.
  await withoutT5.setChecked(false);
  const full = await panel.getByTestId('download-size').textContent();
  await withoutT5.setChecked(true);
  await expect(panel.getByTestId('download-size')).not.toHaveText(full!);
  await expect(panel.getByRole('button', { name: 'Download', exact: true })).toBeEnabled();
  await shot(page, 'models-download-panel.png', medium);
  // Keyboard: Escape closes the panel and the focus returns to the card's button.
  await withoutT5.focus();
  await page.keyboard.press('Escape');
  await expect(panel).toBeHidden();
  await expect(medium.getByRole('button', { name: 'Download…' })).toBeFocused();
  expect(errors).toEqual([]);
});

test('another repo: live progress, pause, resume, installed, verify, remove', async () => {
  test.setTimeout(120_000);
  hub.setFaults(SLOW);
  const { page, errors } = await openModels();
  const form = page.getByRole('form', { name: 'Another Hugging Face repository' });
  await form.getByRole('textbox', { name: 'Repository' }).fill(OTHER_REPO);
  await form.getByRole('button', { name: 'Download' }).click();
  await expect(form.getByRole('status')).toContainText(`Downloading ${OTHER_REPO}`);

  const c = card(page, OTHER_REPO);
  await expect(c.getByTestId('model-state')).toHaveText(/Downloading/);
  // Progress moves (events update the card in place), with speed and ETA and the files in flight.
  await expect.poll(() => progressValue(c), { timeout: 20_000 }).toBeGreaterThan(0);
  const first = await progressValue(c);
  await expect.poll(() => progressValue(c), { timeout: 20_000 }).toBeGreaterThan(first);
  await expect(c.getByTestId('download-speed')).toContainText(/\/s$/);
  await expect(c.getByTestId('download-eta')).toContainText(/left/);
  await expect(c.getByRole('list', { name: 'Files in progress' }).getByRole('listitem').first()).toBeVisible();
  await shot(page, 'models-downloading.png', c);

  await c.getByRole('button', { name: 'Pause' }).click();
  await expect(c.getByTestId('model-state')).toHaveText('Paused');
  await expect(c.getByRole('button', { name: 'Resume' })).toBeVisible();
  await expect(c.getByTestId('download-totals')).toContainText('paused');
  const paused = await progressValue(c);
  expect(paused).toBeGreaterThan(0);
  await shot(page, 'models-paused.png', c);

  hub.setFaults({});
  await c.getByRole('button', { name: 'Resume' }).click();
  await expect(c.getByTestId('model-state')).toHaveText(/Downloading|Installed/);
  await expect(c.getByTestId('model-state')).toHaveText('Installed', { timeout: 60_000 });
  await expect(c).toContainText('with T5');
  await expect(c.getByTestId('size-on-disk')).toHaveText(/MB/);

  await c.getByRole('button', { name: 'Verify' }).click();
  await expect(c.getByRole('status').filter({ hasText: 'Verified' })).toContainText(/all \d+ files match/);
  await shot(page, 'models-installed.png', c);

  await c.getByRole('button', { name: 'Remove' }).click();
  const dialog = page.getByRole('dialog', { name: `Remove ${OTHER_REPO}?` });
  await expect(dialog).toBeVisible();
  await expect(dialog).toContainText('deleted');
  // The safe answer has the focus; Escape keeps the model.
  await expect(dialog.getByRole('button', { name: 'Keep' })).toBeFocused();
  await shot(page, 'models-remove-dialog.png');
  await page.keyboard.press('Escape');
  await expect(dialog).toBeHidden();
  await expect(c.getByTestId('model-state')).toHaveText('Installed');
  await c.getByRole('button', { name: 'Remove' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete files' }).click();
  await expect(c).toHaveCount(0);
  expect(fs.existsSync(path.join(dataDir, 'models', 'e2e-owner--small-sd3'))).toBe(false);
  expect(errors).toEqual([]);
});

test('imports a local folder, verifies its structure, and removing it leaves the folder alone', async () => {
  const { page, errors } = await openModels();
  const form = page.getByRole('form', { name: 'A model folder on this computer' });
  const input = form.getByRole('textbox', { name: 'Import folder' });
  await input.fill('relative/folder');
  await form.getByRole('button', { name: 'Import' }).click();
  await expect(form.getByRole('alert')).toContainText('absolute path');
  await input.fill(path.join(os.tmpdir(), 'sd35-no-such-folder'));
  await input.press('Enter');
  await expect(form.getByRole('alert')).toContainText('cannot be used as a model');
  await input.fill(repoFolder);
  await input.press('Enter');
  await expect(form.getByRole('status')).toContainText('TensorStack layout');
  await expect(form.getByRole('alert')).toHaveCount(0);
  const name = path.basename(repoFolder);
  const c = card(page, name);
  await expect(c.getByTestId('model-state')).toHaveText('Installed');
  await expect(c).toContainText(repoFolder);
  await c.getByRole('button', { name: 'Verify' }).click();
  await expect(c.getByRole('status').filter({ hasText: 'Verified' })).toContainText('every file');
  await c.getByRole('button', { name: 'Remove' }).click();
  const dialog = page.getByRole('dialog', { name: `Remove ${name}?` });
  await expect(dialog).toContainText('left alone');
  await dialog.getByRole('button', { name: 'Remove from list' }).click();
  await expect(c).toHaveCount(0);
  expect(fs.existsSync(path.join(repoFolder, 'model_index.json'))).toBe(true);
  expect(errors).toEqual([]);
});

test('the catalog card downloads end to end, then cancel asks first and deletes the parts', async () => {
  test.setTimeout(120_000);
  hub.setFaults({});
  const { page, errors } = await openModels();
  const name = 'Stable Diffusion 3.5 Medium';
  const medium = card(page, name);
  await medium.getByRole('button', { name: 'Download…' }).click();
  const panel = medium.getByRole('region', { name: `Download ${name}` });
  await panel.getByRole('checkbox', { name: /Without T5/ }).setChecked(false);
  await panel.getByRole('button', { name: 'Download', exact: true }).click();
  await expect(medium.getByTestId('model-state')).toHaveText('Installed', { timeout: 60_000 });
  await expect(panel).toBeHidden();
  await expect(medium).toContainText('with T5');
  await expect(medium.getByTestId('size-on-disk')).toHaveText(/MB/);
  await shot(page, 'models-catalog-installed.png', medium);
  await medium.getByRole('button', { name: 'Remove' }).click();
  await page.getByRole('dialog', { name: `Remove ${name}?` }).getByRole('button', { name: 'Delete files' }).click();
  await expect(medium.getByTestId('model-state')).toHaveText('Not installed');

  // Cancel a slow download: a confirmation first, then the parts are gone.
  hub.setFaults(SLOW);
  await medium.getByRole('button', { name: 'Download…' }).click();
  await panel.getByRole('button', { name: 'Download', exact: true }).click();
  await expect.poll(() => progressValue(medium), { timeout: 20_000 }).toBeGreaterThan(0);
  await medium.getByRole('button', { name: 'Cancel' }).click();
  const dialog = page.getByRole('dialog', { name: `Cancel the download of ${name}?` });
  await expect(dialog).toContainText('deleted');
  await dialog.getByRole('button', { name: 'Keep downloading' }).click();
  await expect(medium.getByTestId('model-state')).toHaveText(/Downloading/);
  await medium.getByRole('button', { name: 'Cancel' }).click();
  await dialog.getByRole('button', { name: 'Cancel download' }).click();
  await expect(medium.getByTestId('model-state')).toHaveText('Not installed');
  await expect(medium.getByRole('progressbar')).toHaveCount(0);
  const staging = path.join(dataDir, 'models', '.staging', 'TensorStack--stable-diffusion-3.5-medium-onnx');
  expect(fs.existsSync(staging) ? fs.readdirSync(staging, { recursive: true }).filter((f) => String(f).endsWith('.part')) : []).toEqual([]);
  hub.setFaults({});
  expect(errors).toEqual([]);
});

test('a gated repo: needs a token, then the licence, then downloads; the token status', async () => {
  test.setTimeout(120_000);
  hub.setFaults({});
  const { page, errors } = await openModels();
  const token = page.getByRole('region', { name: 'Hugging Face token' });
  const status = token.getByTestId('token-status');
  await expect(status).toContainText('No token');
  await expect(status).toContainText('Saved tokens are kept in');
  await expect(token.getByRole('button', { name: 'Forget' })).toBeDisabled();

  const form = page.getByRole('form', { name: 'Another Hugging Face repository' });
  await form.getByRole('textbox', { name: 'Repository' }).fill(GATED_REPO);
  await form.getByRole('textbox', { name: 'Repository' }).press('Enter');
  const alert = form.getByRole('alert');
  await expect(alert).toContainText('This model needs a Hugging Face token');
  await expect(alert).toContainText('Paste a token below and accept the licence at');
  await expect(alert.getByRole('link', { name: `${hub.endpoint}/${GATED_REPO}` }).first()).toHaveAttribute('href', `${hub.endpoint}/${GATED_REPO}`);
  await shot(page, 'models-gated-error.png', form);

  // "Go to the token field" puts the focus there.
  await alert.getByRole('button', { name: 'Go to the token field' }).click();
  const input = token.getByLabel('Hugging Face token', { exact: true });
  await expect(input).toBeFocused();
  await expect(input).toHaveAttribute('type', 'password');

  await input.fill(BAD_TOKEN);
  await token.getByRole('button', { name: 'Save' }).click();
  await expect(status).toContainText('Rejected by Hugging Face');
  await expect(input).toHaveValue('');

  await input.fill(NO_LICENCE_TOKEN);
  await input.press('Enter');
  await expect(status).toContainText('Valid — signed in as emulator-user');
  await form.getByRole('button', { name: 'Try again' }).click();
  await expect(alert).toContainText('The licence has not been accepted yet');
  await expect(alert.getByRole('link', { name: `${hub.endpoint}/${GATED_REPO}` }).first()).toBeVisible();

  await input.fill(GOOD_TOKEN);
  await token.getByRole('button', { name: 'Save' }).click();
  await expect(status).toContainText('Valid — signed in as emulator-user');
  await expect(token.getByRole('button', { name: 'Forget' })).toBeEnabled();
  await shot(page, 'models-token.png', token);
  // The token is never shown back.
  expect(await page.content()).not.toContain(GOOD_TOKEN);

  await form.getByRole('button', { name: 'Try again' }).click();
  await expect(alert).toHaveCount(0);
  const c = card(page, GATED_REPO);
  await expect(c.getByTestId('model-state')).toHaveText('Installed', { timeout: 60_000 });
  await c.getByRole('button', { name: 'Remove' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete files' }).click();
  await expect(c).toHaveCount(0);

  await token.getByRole('button', { name: 'Forget' }).click();
  await expect(status).toContainText('No token');
  await expect(token.getByRole('button', { name: 'Forget' })).toBeDisabled();
  expect(fs.existsSync(path.join(hfHome, 'token'))).toBe(false);
  expect(errors).toEqual([]);
});

test('dark theme: a download that fails verification says what to do next, and Resume fetches it anew', async () => {
  test.setTimeout(120_000);
  // One flipped byte in the transformer's weights: its sha256 cannot match Hugging Face's.
  hub.setFaults({ corruptByte: { path: 'unet/model.onnx.data', offset: 12_345 } });
  const { page, errors } = await openModels('dark');
  const form = page.getByRole('form', { name: 'Another Hugging Face repository' });
  await form.getByRole('textbox', { name: 'Repository' }).fill(OTHER_REPO);
  await form.getByRole('checkbox', { name: 'Without T5' }).check();
  await form.getByRole('button', { name: 'Download' }).click();
  const c = card(page, OTHER_REPO);
  await expect(c.getByTestId('model-state')).toHaveText('Failed', { timeout: 60_000 });
  const alert = c.getByRole('alert');
  await expect(alert).toContainText('A file failed verification');
  await expect(alert).toContainText('unet/model.onnx.data');
  await expect(alert).toContainText('Resume to fetch it anew');
  await expect(c.getByRole('button', { name: 'Resume' })).toBeVisible();
  await shot(page, 'models-failed-dark.png', c);
  await shot(page, 'models-dark.png');

  hub.setFaults({});
  await c.getByRole('button', { name: 'Resume' }).click();
  await expect(c.getByTestId('model-state')).toHaveText('Installed', { timeout: 60_000 });
  await expect(c).toContainText('without T5');
  await expect(c.getByRole('alert')).toHaveCount(0);
  await c.getByRole('button', { name: 'Remove' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete files' }).click();
  await expect(c).toHaveCount(0);
  expect(errors).toEqual([]);
});

test("the second source: Stability AI's export picked on the Medium card, licence first, its op verdict, installed as its own model", async () => {
  test.setTimeout(120_000);
  hub.setFaults({});
  const { page, errors } = await openModels();
  const medium = card(page, 'Stable Diffusion 3.5 Medium');
  const sources = medium.getByRole('group', { name: 'Sources of Stable Diffusion 3.5 Medium' });
  await expect(sources.getByTestId('model-source')).toHaveCount(2);
  const stability = sources.locator('[data-source="stability"]');
  await expect(stability).toContainText('Stability AI ONNX (AMD GPU)');
  await expect(stability).toContainText('quantised T5');
  await expect(stability.getByTestId('source-verdict')).toContainText('Operators checked when the download starts');
  // The sources are folded until asked for (the catalog fits the window at 1280×800).
  await expect(stability).toBeHidden();
  await sources.getByText('Sources', { exact: true }).click();
  await stability.getByRole('button', { name: 'Download from Stability AI ONNX (AMD GPU)…' }).click();
  const title = 'Download Stable Diffusion 3.5 Medium (Stability AI ONNX (AMD GPU))';
  const panel = medium.getByRole('region', { name: title });
  await expect(panel.getByRole('link', { name: 'Stability AI Community License' })).toHaveAttribute('href', /stabilityai\/stable-diffusion-3\.5-medium\//);
  await expect(panel.getByRole('link', { name: 'model page' })).toHaveAttribute('href', `https://huggingface.co/${STABILITY_REPO}`);
  await shot(page, 'models-second-source-panel.png', medium);
  await panel.getByRole('checkbox', { name: /Without T5/ }).setChecked(false);
  await panel.getByRole('button', { name: 'Download', exact: true }).click();
  const own = card(page, 'Stable Diffusion 3.5 Medium (Stability AI ONNX (AMD GPU))');
  await expect(own.getByTestId('model-state')).toHaveText('Installed', { timeout: 60_000 });
  await expect(own).toContainText('with T5');
  await expect(own.getByTestId('portability')).toContainText(/runs here on the CPU/i);
  await expect(stability.getByTestId('source-verdict')).toContainText(/runs here on the CPU/i);
  await expect(stability).toContainText('installed');
  await shot(page, 'models-second-source-installed.png');
  await own.getByRole('button', { name: 'Remove' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete files' }).click();
  await expect(own).toHaveCount(0);
  expect(errors).toEqual([]);
});
