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
