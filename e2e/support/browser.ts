// Debian's Chromium for the browser-mode e2e tests (never a downloaded browser).
import fs from 'node:fs';
import { chromium, expect, type Browser, type BrowserContextOptions, type Page } from '@playwright/test';
import { callApi, stop, type Served } from '../../src-main/testing/processes';

export const CHROMIUM_PATH = process.env.SD35_CHROMIUM ?? '/usr/bin/chromium';

export function chromiumMissingReason(): string | undefined {
  return fs.existsSync(CHROMIUM_PATH) ? undefined : `Chromium not found at ${CHROMIUM_PATH} (apt-get install -y chromium, or set SD35_CHROMIUM)`;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-quic', '--no-first-run', '--disable-sync'],
  });
}

/**
 * A fresh browser context on `url`, collecting console errors and uncaught page errors: every spec
 * fails on any of them.
 */
export async function openPage(
  browser: Browser,
  url: string,
  options: BrowserContextOptions = {},
): Promise<{ page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: 'light', ...options });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(url);
  return { page, errors };
}

/** A method's result over the spec's `serve`; the test fails with the studio's error when the call is refused. */
export async function apiResult<T>(served: Served, method: string, params: unknown = {}): Promise<T> {
  const { body } = await callApi(served, method, params);
  expect(body.ok, JSON.stringify(body.error)).toBe(true);
  return body.result as T;
}

/** openPage at a size and colour scheme (default 1280×800, light), once the Generate view's heading shows. */
export async function openGenerateView(
  browser: Browser,
  url: string,
  opts: { width?: number; height?: number; colorScheme?: 'light' | 'dark' } = {},
): Promise<{ page: Page; errors: string[] }> {
  const opened = await openPage(browser, url, {
    viewport: { width: opts.width ?? 1280, height: opts.height ?? 800 },
    colorScheme: opts.colorScheme ?? 'light',
  });
  await expect(opened.page.getByRole('heading', { level: 1, name: 'Generate' })).toBeVisible();
  return opened;
}

/** A spec's afterAll: closes its Chromium, stops its `serve` and removes its temporary folders. */
export async function closeSpecStudio(browser: Browser | undefined, served: Served | undefined, folders: (string | undefined)[]): Promise<void> {
  await browser?.close();
  if (served) await stop(served.child);
  for (const d of folders) if (d) fs.rmSync(d, { recursive: true, force: true });
}

/** Clicks a view's link in the app's navigation ("Generate", "Gallery", "Compare", "Models", "Settings"). */
export function goToView(page: Page, name: string): Promise<void> {
  return page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name }).click();
}

/** A screenshot look: one of the sizes and colour schemes the specs' screenshots are taken at. */
export interface ScreenshotLook {
  width: number;
  height: number;
  scheme: 'light' | 'dark';
}

/**
 * Runs `shoot` at 1280×800 and 1920×1080, each light and dark (the page resized and its colour scheme emulated), then
 * puts the page back at 1280×800, light.
 */
export async function atEachLook(page: Page, shoot: (look: ScreenshotLook) => Promise<unknown>): Promise<void> {
  for (const [width, height] of [[1280, 800], [1920, 1080]] as const) {
    for (const scheme of ['light', 'dark'] as const) {
      await page.setViewportSize({ width, height });
      await page.emulateMedia({ colorScheme: scheme });
      await shoot({ width, height, scheme });
    }
  }
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.emulateMedia({ colorScheme: 'light' });
}

/** Goes to the Gallery and selects image `id` (its detail panel opens). */
export async function selectInGallery(page: Page, id: number): Promise<void> {
  await goToView(page, 'Gallery');
  await page.getByRole('grid', { name: 'Gallery images' }).locator(`#gallery-cell-${id}`).click();
}
