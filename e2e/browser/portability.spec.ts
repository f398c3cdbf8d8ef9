// The Models view tells, before the large files, whether a model runs on this machine: the
// hub emulator serves the tiny model's olive flavor (the fusions ONNX Runtime's optimizer makes for
// DirectML) and a repo whose VAE has an op no provider here has and no rewrite covers.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test, type Browser } from '@playwright/test';
import { startServe, type Served } from '../../src-main/testing/processes';
import { chromiumMissingReason, closeSpecStudio, launchChromium, openPage } from '../support/browser';
import { startHubEmulator, type HubEmulator } from '../support/hub-emulator';
import { writeBlockedTinyModel, writeTinyModel } from '../support/tiny-model';

const OLIVE_REPO = 'e2e-owner/olive-sd3';
const BLOCKED_REPO = 'e2e-owner/blocked-sd3';

let browser: Browser;
let served: Served;
let hub: HubEmulator;
let root: string;

test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
  const reason = chromiumMissingReason();
  test.skip(!!reason, reason);
  test.setTimeout(120_000);
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-e2e-portability-'));
  const olive = path.join(root, 'olive');
  const blocked = path.join(root, 'blocked');
  await writeTinyModel(olive, { layout: 'tensorstack', io: 'fp16', size: 'micro', flavor: 'olive' });
  await writeBlockedTinyModel(blocked);
  hub = await startHubEmulator({ repos: { [OLIVE_REPO]: { folder: olive }, [BLOCKED_REPO]: { folder: blocked } }, lfsThreshold: 1024 });
  served = await startServe(path.join(root, 'data'), { HF_ENDPOINT: hub.endpoint, HF_HOME: path.join(root, 'hf-home'), HF_TOKEN: '' });
  browser = await launchChromium();
});

test.afterAll(async () => {
  await closeSpecStudio(browser, served, [root]);
  await hub?.close();
});

async function download(repo: string) {
  const opened = await openPage(browser, served.url, { viewport: { width: 1280, height: 900 } });
  const { page } = opened;
  await page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'Models' }).click();
  const form = page.getByRole('form', { name: 'Another Hugging Face repository' });
  await form.getByRole('textbox', { name: 'Repository' }).fill(repo);
  await form.getByRole('button', { name: 'Download' }).click();
  return { ...opened, card: page.getByRole('article', { name: repo, exact: true }) };
}

test('the olive flavor: "Runs here on the CPU with 4 operators rewritten" on the card', async () => {
  const { card, errors } = await download(OLIVE_REPO);
  await expect(card.getByTestId('portability')).toContainText('Runs here on the CPU with 4 operators rewritten', { timeout: 30_000 });
  await expect(card.getByTestId('model-state')).toHaveText(/Installed/, { timeout: 30_000 });
  await expect(card.getByTestId('portability')).toHaveClass(/rewrites/);
  expect(errors).toEqual([]);
});

test('an op nothing covers: "Cannot run here: …" and the download stops before the large files', async () => {
  const { card } = await download(BLOCKED_REPO);
  await expect(card.getByTestId('portability')).toContainText(
    'Cannot run here: com.microsoft.GatedRelativePositionBias has no kernel on the CPU and no rewrite',
    { timeout: 30_000 },
  );
  await expect(card.getByTestId('portability')).toHaveClass(/blocked/);
  await expect(card.getByTestId('model-state')).toHaveText(/Failed/, { timeout: 30_000 });
  expect(hub.bytesServed(BLOCKED_REPO, 'unet/model.onnx.data')).toBe(0);
});
