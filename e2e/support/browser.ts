// Debian's Chromium for the browser-mode e2e tests (never a downloaded browser).
import fs from 'node:fs';
import { chromium, type Browser, type BrowserContextOptions, type Page } from '@playwright/test';
import { stop, type Served } from '../../src-main/testing/processes';

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

/** A spec's afterAll: closes its Chromium, stops its `serve` and removes its temporary folders. */
export async function closeSpecStudio(browser: Browser | undefined, served: Served | undefined, folders: (string | undefined)[]): Promise<void> {
  await browser?.close();
  if (served) await stop(served.child);
  for (const d of folders) if (d) fs.rmSync(d, { recursive: true, force: true });
}
