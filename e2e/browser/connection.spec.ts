// The server stops with a tab open: the tab says so at once, reconnects on its own when the server is
// back and reads the queue again. A server restarted with a new token: the tab explains the refused
// token, and opening the new link in that same tab replaces it; the form survives (same origin: `serve
// --port 0` takes its last port again).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test, type Browser, type Page } from '@playwright/test';
import { startServe, stop, type Served } from '../../src-main/testing/processes';
import { chromiumMissingReason, closeSpecStudio, launchChromium, openPage } from '../support/browser';

let browser: Browser;
let served: Served | undefined;
const dirs: string[] = [];
const shots = path.resolve(__dirname, '..', '..', 'test-results', 'screenshots');

test.beforeAll(async () => {
  const reason = chromiumMissingReason();
  test.skip(!!reason, reason);
  browser = await launchChromium();
  fs.mkdirSync(shots, { recursive: true });
});

test.afterAll(async () => {
  await closeSpecStudio(browser, served, dirs);
});

function dataDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-e2e-conn-'));
  dirs.push(d);
  return d;
}

const banner = (page: Page) => page.getByTestId('connection-banner');

/** The API methods the tab calls over its WebSockets, in order. */
function callsOf(page: Page): string[] {
  const calls: string[] = [];
  page.on('websocket', (ws) => {
    ws.on('framesent', (f) => {
      const m = /"method":"([\w.]+)"/.exec(String(f.payload));
      if (m) calls.push(m[1]!);
    });
  });
  return calls;
}

test('the server stops: "Disconnected" shows without a click; back under the same token, the tab reconnects and reads the queue again', async () => {
  // Two server starts on a busy machine.
  test.setTimeout(120_000);
  const dir = dataDir();
  const env = { SD35_TEST_MODE: '1', SD35_TEST_TOKEN: 'e2e-connection-token-0123456789' };
  served = await startServe(dir, env);
  const { page, errors } = await openPage(browser, served.url);
  const calls = callsOf(page);
  await expect(page.getByRole('heading', { level: 1, name: 'Generate' })).toBeVisible();
  await expect(page.getByTestId('status-data')).toContainText(dir, { timeout: 30_000 });
  await expect(banner(page)).toHaveCount(0);

  await stop(served.child);
  await expect(banner(page)).toContainText('Disconnected from the studio server — reconnecting');
  await page.screenshot({ path: path.join(shots, 'connection-lost.png') });
  const before = calls.length;

  const again = await startServe(dir, env);
  expect(again.port).toBe(served.port);
  served = again;
  await expect(banner(page)).toHaveCount(0);
  // Read again once back: the queue (its events were lost while away) and the system facts.
  await expect.poll(() => calls.slice(before)).toEqual(expect.arrayContaining(['jobs.list', 'system.info']));
  // The failed attempts while the server was down are not console errors of the page's own making.
  expect(errors.filter((e) => !/WebSocket|ERR_CONNECTION_REFUSED|Failed to load resource/.test(e))).toEqual([]);
});

test('restarted with a new token: the refusal is explained, the new #token= link in the same tab replaces the old token, and the form survives', async () => {
  test.setTimeout(120_000);
  await stop(served!.child);
  const dir = dataDir();
  served = await startServe(dir);
  const first = served;
  const { page, errors } = await openPage(browser, first.url);
  await expect(page.getByRole('heading', { level: 1, name: 'Generate' })).toBeVisible();
  await page.getByLabel('Prompt', { exact: true }).fill('a lighthouse at dusk, kept across restarts');

  await stop(first.child);
  await expect(banner(page)).toContainText('Disconnected');
  served = await startServe(dir);
  // `serve --port 0` took its last port again: the same origin, so the tab's form and storage are still there.
  expect(served.port).toBe(first.port);
  expect(served.token).not.toBe(first.token);
  await expect(banner(page)).toContainText("did not accept this tab's access token");
  await expect(banner(page)).toContainText('#token=');
  // The banner takes its room above the view: the Generate button stays on screen.
  await expect(page.getByRole('button', { name: 'Generate' })).toBeInViewport();
  await page.screenshot({ path: path.join(shots, 'connection-token-rejected.png') });

  // The new link opened in this tab (only the hash changes: no page load by itself).
  await page.goto(served.url);
  await expect(page.getByTestId('status-data')).toContainText(dir, { timeout: 30_000 });
  await expect(banner(page)).toHaveCount(0);
  expect(page.url()).not.toContain('token=');
  await expect(page.getByLabel('Prompt', { exact: true })).toHaveValue('a lighthouse at dusk, kept across restarts');
  // F5 keeps the new token.
  await page.reload();
  await expect(page.getByTestId('status-data')).toContainText(dir, { timeout: 30_000 });
  await expect(banner(page)).toHaveCount(0);
  expect(errors.filter((e) => !/WebSocket|ERR_CONNECTION_REFUSED|Failed to load resource|401/.test(e))).toEqual([]);
});

test('the server freezes with its socket open (SIGSTOP): "Disconnected" shows by the heartbeat alone; thawed, the tab reconnects and reads the queue again', async () => {
  test.skip(process.platform === 'win32', 'SIGSTOP/SIGCONT are POSIX signals');
  test.setTimeout(120_000);
  if (served) await stop(served.child);
  const dir = dataDir();
  served = await startServe(dir);
  const { page, errors } = await openPage(browser, served.url);
  const calls = callsOf(page);
  await expect(page.getByRole('heading', { level: 1, name: 'Generate' })).toBeVisible();
  await expect(page.getByTestId('status-data')).toContainText(dir, { timeout: 30_000 });
  await expect(banner(page)).toHaveCount(0);

  // Frozen, not dead: the kernel keeps the TCP connection open, so no close event ever reaches the tab.
  const child = served.child;
  child.kill('SIGSTOP');
  try {
    await expect(banner(page)).toContainText('Disconnected from the studio server — reconnecting');
    await page.screenshot({ path: path.join(shots, 'connection-frozen.png') });
  } finally {
    child.kill('SIGCONT');
  }
  const before = calls.length;
  await expect(banner(page)).toHaveCount(0);
  await expect.poll(() => calls.slice(before)).toEqual(expect.arrayContaining(['jobs.list', 'system.info']));
  expect(errors.filter((e) => !/WebSocket|ERR_CONNECTION_REFUSED|Failed to load resource/.test(e))).toEqual([]);
});
