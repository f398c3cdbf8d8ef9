// A person opens browser mode, moves through every view by keyboard and by mouse, and sees the
// execution provider and data folder in the status bar. Any console error fails the test.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test, type Browser, type Page } from '@playwright/test';
import { startServe, type Served } from '../../src-main/testing/processes';
import { chromiumMissingReason, closeSpecStudio, launchChromium, openPage } from '../support/browser';

const VIEWS = ['Generate', 'Gallery', 'Compare', 'Models', 'LoRAs', 'Settings'] as const;
let browser: Browser;
let served: Served;
let dataDir: string;
const shots = path.resolve(__dirname, '..', '..', 'test-results', 'screenshots');

test.beforeAll(async () => {
  const reason = chromiumMissingReason();
  test.skip(!!reason, reason);
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-e2e-'));
  served = await startServe(dataDir);
  browser = await launchChromium();
  fs.mkdirSync(shots, { recursive: true });
});

test.afterAll(async () => {
  await closeSpecStudio(browser, served, [dataDir]);
});

function openStudio(colorScheme: 'light' | 'dark' = 'light'): Promise<{ page: Page; errors: string[] }> {
  return openPage(browser, served.url, { colorScheme });
}

test('moves through every view by mouse, shows system info, no console errors', async () => {
  const { page, errors } = await openStudio();
  const nav = page.getByRole('navigation', { name: 'Views' });
  await expect(page.getByTestId('status-data')).toContainText(dataDir);
  await expect(page.getByTestId('status-ep')).toContainText(/cpu/i);
  // The token is taken out of the address bar.
  expect(page.url()).not.toContain('token=');
  for (const name of VIEWS) {
    await nav.getByRole('link', { name }).click();
    await expect(page.getByRole('heading', { level: 1, name })).toBeVisible();
    await expect(nav.getByRole('link', { name })).toHaveClass(/active/);
    await page.screenshot({ path: path.join(shots, `view-${name.toLowerCase()}.png`) });
  }
  // Settings says what memory the fit check uses: the RAM, and the GPU memory or why it is unknown.
  await nav.getByRole('link', { name: 'Settings' }).click();
  await expect(page.getByTestId('gpu-memory')).toContainText(/Memory: [\d.]+ GB of RAM; GPU memory (unknown \(.+\)|[\d.]+ GB|unified)/);
  expect(errors).toEqual([]);
});

test('moves between views by keyboard (Ctrl+number and arrows on the rail)', async () => {
  const { page, errors } = await openStudio('dark');
  await expect(page.getByRole('heading', { level: 1, name: 'Generate' })).toBeVisible();
  for (const [i, name] of VIEWS.entries()) {
    await page.keyboard.press(`Control+${i + 1}`);
    await expect(page.getByRole('heading', { level: 1, name })).toBeVisible();
  }
  const nav = page.getByRole('navigation', { name: 'Views' });
  await nav.getByRole('link', { name: 'Generate' }).focus();
  await page.keyboard.press('ArrowDown');
  await expect(nav.getByRole('link', { name: 'Gallery' })).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(page.getByRole('heading', { level: 1, name: 'Gallery' })).toBeVisible();
  await page.keyboard.press('End');
  await expect(nav.getByRole('link', { name: 'Settings' })).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(page.getByRole('heading', { level: 1, name: 'Settings' })).toBeVisible();
  await page.screenshot({ path: path.join(shots, 'settings-dark.png') });
  expect(errors).toEqual([]);
});

test('changes a setting, which persists across a reload', async () => {
  const { page, errors } = await openStudio();
  await page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'Settings' }).click();
  const mode = page.getByRole('combobox', { name: 'Memory mode' });
  await mode.selectOption('low');
  await expect(mode).toHaveValue('low');
  await page.reload();
  await expect(page.getByRole('combobox', { name: 'Memory mode' })).toHaveValue('low');
  await page.getByRole('combobox', { name: 'Theme' }).selectOption('dark');
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  expect(errors).toEqual([]);
});

test('without the token the page says how to get in', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(served.url.replace(/#token=.*/, ''));
  await expect(page.getByRole('alert')).toContainText('sd35-studio serve');
});
