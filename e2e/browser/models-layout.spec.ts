// The Models view's layout in browser mode: at 1280×800 the page itself never scrolls (neither the document
// nor the view slot); the model list and the side column (add a model, token) scroll on their own, and the
// catalog's last card is reached by scrolling the list. Geometry read from the DOM, no timing. Screenshots
// (1280×800 and 1920×1080, light and dark) go to test-results/screenshots/. Any console error fails the test.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test, type Browser, type Locator, type Page } from '@playwright/test';
import { startServe, type Served } from '../../src-main/testing/processes';
import { chromiumMissingReason, closeSpecStudio, launchChromium, openPage } from '../support/browser';

let browser: Browser;
let served: Served;
let dataDir: string;
let hfHome: string;
const shots = path.resolve(__dirname, '..', '..', 'test-results', 'screenshots');
const LAST_CARD = 'Stable Diffusion 3.5 Large';

/** What the page's DOM functions below use (the e2e project has no DOM library). */
interface ScrollBox {
  scrollHeight: number;
  clientHeight: number;
  scrollTop: number;
}
declare const document: { documentElement: ScrollBox; querySelector(selector: string): ScrollBox };
declare const window: { innerHeight: number };

test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
  const reason = chromiumMissingReason();
  test.skip(!!reason, reason);
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-e2e-models-layout-'));
  hfHome = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-e2e-models-layout-hf-'));
  // No Hub is contacted: the view only lists the catalog and the (empty) token status.
  served = await startServe(dataDir, { HF_ENDPOINT: 'http://127.0.0.1:9', HF_HOME: hfHome, HF_TOKEN: '' });
  browser = await launchChromium();
  fs.mkdirSync(shots, { recursive: true });
});

test.afterAll(async () => {
  await closeSpecStudio(browser, served, [dataDir, hfHome]);
});

async function openModels(width: number, height: number, colorScheme: 'light' | 'dark'): Promise<{ page: Page; errors: string[] }> {
  const opened = await openPage(browser, served.url, { colorScheme, viewport: { width, height } });
  await opened.page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'Models' }).click();
  await expect(opened.page.getByRole('heading', { level: 1, name: 'Models' })).toBeVisible();
  await expect(opened.page.getByRole('article', { name: LAST_CARD, exact: true })).toBeVisible();
  return opened;
}

/** Scroll sizes of the document and of the view slot (the page's own scroller). */
function pageScroll(page: Page): Promise<{ doc: number; viewport: number; slotScroll: number; slotClient: number }> {
  return page.evaluate(() => {
    const slot = document.querySelector('.view-slot');
    return { doc: document.documentElement.scrollHeight, viewport: window.innerHeight, slotScroll: slot.scrollHeight, slotClient: slot.clientHeight };
  });
}

function scrollSize(el: Locator): Promise<{ scrollHeight: number; clientHeight: number }> {
  return el.evaluate((e) => ({ scrollHeight: e.scrollHeight, clientHeight: e.clientHeight }));
}

test('1280×800: the page fits; the catalog list scrolls on its own to its last card', async () => {
  const { page, errors } = await openModels(1280, 800, 'light');
  const list = page.getByRole('region', { name: 'Model list' });
  const side = page.getByRole('complementary', { name: 'Add a model and token' });
  const last = list.getByRole('article', { name: LAST_CARD, exact: true });

  const before = await pageScroll(page);
  expect(before.doc).toBe(before.viewport);
  expect(before.slotScroll).toBe(before.slotClient);
  // The list and the side column end inside the window, above the status bar.
  const listBox = (await list.boundingBox())!;
  const sideBox = (await side.boundingBox())!;
  expect(listBox.y + listBox.height).toBeLessThanOrEqual(800);
  expect(sideBox.y + sideBox.height).toBeLessThanOrEqual(800);
  // Three catalog cards do not fit at this size: the list itself scrolls, and the last card starts out cut.
  const size = await scrollSize(list);
  expect(size.scrollHeight).toBeGreaterThan(size.clientHeight);
  const lastBefore = (await last.boundingBox())!;
  expect(lastBefore.y + lastBefore.height).toBeGreaterThan(listBox.y + listBox.height);
  await page.screenshot({ path: path.join(shots, 'models-layout-1280-light-top.png') });

  // Keyboard: the list takes focus and End scrolls it to its end, as a desktop list does.
  await list.focus();
  await page.keyboard.press('End');
  await expect.poll(() => list.evaluate((e) => Math.ceil(e.scrollTop + e.clientHeight) >= e.scrollHeight)).toBe(true);
  const lastAfter = (await last.boundingBox())!;
  expect(lastAfter.y).toBeGreaterThanOrEqual(listBox.y);
  expect(lastAfter.y + lastAfter.height).toBeLessThanOrEqual(listBox.y + listBox.height + 0.5);
  await expect(last.getByRole('button', { name: 'Download…' })).toBeInViewport();
  // Scrolling the list never scrolls the page.
  const after = await pageScroll(page);
  expect(after.slotScroll).toBe(after.slotClient);
  expect(await page.evaluate(() => document.querySelector('.view-slot').scrollTop)).toBe(0);
  await page.screenshot({ path: path.join(shots, 'models-layout-1280-light-end.png') });

  // The side column's last control is reachable too (it scrolls on its own when it does not fit).
  const forget = side.getByRole('button', { name: 'Forget' });
  await forget.scrollIntoViewIfNeeded();
  await expect(forget).toBeInViewport();
  expect((await pageScroll(page)).slotScroll).toBe(before.slotClient);
  expect(errors).toEqual([]);
});

for (const [width, height] of [
  [1280, 800],
  [1920, 1080],
] as const) {
  for (const colorScheme of ['light', 'dark'] as const) {
    test(`${width}×${height} ${colorScheme}: no page scroll, columns inside the window`, async () => {
      const { page, errors } = await openModels(width, height, colorScheme);
      const s = await pageScroll(page);
      expect(s.doc).toBe(s.viewport);
      expect(s.slotScroll).toBe(s.slotClient);
      for (const name of ['Stable Diffusion 3.5 Medium', 'Stable Diffusion 3.5 Large Turbo', LAST_CARD]) {
        // No card is wider than the list (no sideways scroll).
        const cardWidth = await page.getByRole('article', { name, exact: true }).evaluate((e) => e.scrollWidth - e.clientWidth);
        expect(cardWidth).toBeLessThanOrEqual(0);
      }
      const list = page.getByRole('region', { name: 'Model list' });
      expect(await list.evaluate((e) => e.scrollWidth - e.clientWidth)).toBeLessThanOrEqual(0);
      await page.screenshot({ path: path.join(shots, `models-layout-${width}-${colorScheme}.png`) });
      expect(errors).toEqual([]);
    });
  }
}
