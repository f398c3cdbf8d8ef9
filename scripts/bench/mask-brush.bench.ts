// Mask editor benchmark: a brush stroke to screen on a 2 MP canvas (frame times).
// Run: npx tsx scripts/bench/mask-brush.bench.ts [--strokes N] [--moves N]   (needs the build in out/)
//
// Method (figures, not pass/fail; the goal from issue #16: no frame over 16 ms on a 2 MP canvas):
//  - A data folder with one 1632 × 1232 PNG (2.01 MP) imported into the gallery, served by `sd35-studio serve` from
//    out/, opened in Debian's Chromium (playwright-core; --disable-gpu: software raster and compositing, the slow
//    case), 1600 × 1000 window. Gallery → the image → "Inpaint" opens the mask editor on it.
//  - A stroke: the left button goes down over the canvas and the pointer moves M times along a zigzag (CDP
//    Input.dispatchMouseEvent, one move per animation frame, as a hand on a 60 Hz mouse gives them), then up.
//    Inside the page, every requestAnimationFrame timestamp during the stroke is recorded; a frame time is the
//    difference of two consecutive ones. The first frame (pointer down: the undo snapshot, getImageData of the
//    whole 2 MP canvas) is reported apart from the frames of the moves. N strokes at fit zoom (feather 4, the default: the overlay is CSS-blurred), N at fit with feather 0, then N
//    zoomed in ×4 (feather 0).
//  - Also reported: the JS time of one pointermove handler (performance.now around the editor's segment draw is
//    not exposed, so: the time between dispatching the move and the next frame, median).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Page } from 'playwright-core';
import sharp from 'sharp';
import { CHROMIUM_PATH } from '../../e2e/support/browser';
import { CLI, callApi, startServe, stop } from '../../src-main/testing/processes';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  const n = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  return Number.isInteger(n) && n > 0 ? n : fallback;
}
const STROKES = arg('--strokes', 5);
const MOVES = arg('--moves', 60);

// Code inside page.evaluate runs in Chromium; the node tsconfig has no DOM lib.
declare const window: Record<string, unknown>;
declare function requestAnimationFrame(cb: (t: number) => void): number;

function stats(xs: number[]): string {
  if (!xs.length) return 'none';
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  return `median ${q(0.5).toFixed(1)}, p95 ${q(0.95).toFixed(1)}, max ${s[s.length - 1]!.toFixed(1)} ms; over one 60 Hz frame (> 20 ms): ${s.filter((x) => x > 20).length} of ${s.length}`;
}

async function startFrames(page: Page): Promise<void> {
  await page.evaluate(() => {
    const times: number[] = [];
    window.__frames = times;
    window.__recording = true;
    const tick = (t: number): void => {
      times.push(t);
      if (window.__recording) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
}

async function stopFrames(page: Page): Promise<number[]> {
  return page.evaluate(() => {
    window.__recording = false;
    const t = window.__frames as number[];
    return t.slice(1).map((x, i) => x - t[i]!);
  });
}

async function strokeFrames(page: Page, box: { x: number; y: number; width: number; height: number }, k: number): Promise<{ first: number; rest: number[] }> {
  const cdp = await page.context().newCDPSession(page);
  const nextFrame = () => page.evaluate(() => new Promise<void>((res) => requestAnimationFrame(() => res())));
  const at = (i: number) => ({ x: box.x + box.width * (0.2 + (0.6 * i) / MOVES), y: box.y + box.height * (0.3 + 0.1 * k + (i % 8 < 4 ? 0.05 : -0.05) * ((i % 4) / 4)) });
  await startFrames(page);
  await nextFrame();
  const p0 = at(0);
  await cdp.send('Input.dispatchMouseEvent', { type: 'mousePressed', x: p0.x, y: p0.y, button: 'left', clickCount: 1 });
  await nextFrame();
  for (let i = 1; i <= MOVES; i++) {
    const p = at(i);
    await cdp.send('Input.dispatchMouseEvent', { type: 'mouseMoved', x: p.x, y: p.y, button: 'left', buttons: 1 });
    await nextFrame();
  }
  await cdp.send('Input.dispatchMouseEvent', { type: 'mouseReleased', x: at(MOVES).x, y: at(MOVES).y, button: 'left', clickCount: 1 });
  await nextFrame();
  const frames = await stopFrames(page);
  await cdp.detach();
  // frames[0]: idle → the frame after pointer down (the undo snapshot); the rest: the moves.
  return { first: frames[1] ?? 0, rest: frames.slice(2) };
}

async function main(): Promise<void> {
  if (!fs.existsSync(CLI)) {
    console.log(`skipped: ${CLI} is missing (npm run -s build first)`);
    return;
  }
  if (!fs.existsSync(CHROMIUM_PATH)) {
    console.log(`skipped: Chromium not found at ${CHROMIUM_PATH}`);
    return;
  }
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-mask-bench-'));
  console.log(`mask brush benchmark: 1632 × 1232 (2.01 MP) canvas; ${STROKES} strokes of ${MOVES} moves, at fit and ×4`);
  console.log(`machine: ${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const served = await startServe(dataDir);
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
  try {
    const png = await sharp({ create: { width: 1632, height: 1232, channels: 3, background: '#3a6ea5' } })
      .composite([{ input: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="1632" height="1232"><circle cx="816" cy="600" r="400" fill="#f2c14e"/></svg>') }])
      .png()
      .toBuffer();
    const { body } = await callApi(served, 'gallery.import', { files: [{ name: 'bench.png', dataBase64: png.toString('base64') }] });
    const id = (body.result as { imported: { id: number }[] }).imported[0]!.id;
    const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
    await context.addInitScript({ content: 'window.__name = (f) => f;' });
    const page = await context.newPage();
    await page.goto(served.url);
    await page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'Gallery' }).click();
    await page.locator(`#gallery-cell-${id}`).click();
    await page.getByRole('complementary', { name: 'Image details' }).getByRole('button', { name: 'Inpaint' }).click();
    await page.getByRole('dialog', { name: 'Mask editor' }).waitFor();
    await page.getByRole('dialog', { name: 'Mask editor' }).getByRole('img', { name: 'Init image, 1632 × 1232' }).waitFor();
    await page.waitForTimeout(500);
    const box = (await page.getByTestId('mask-canvas').locator('..').boundingBox())!;
    for (const zoom of ['fit', 'fit, feather 0', '×4'] as const) {
      // Feather previews the Mask blur as a CSS blur of the 2 MP overlay (off while a stroke is painted): with and without.
      if (zoom === 'fit, feather 0') await page.getByRole('slider', { name: 'Feather (mask blur)' }).fill('0');
      if (zoom === '×4') {
        for (let w = 0; w < 7; w++) await page.mouse.wheel(0, -100);
        await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
        await page.waitForTimeout(300);
      }
      const firsts: number[] = [];
      const rest: number[] = [];
      for (let k = 0; k < STROKES; k++) {
        const r = await strokeFrames(page, box, k % 4);
        firsts.push(r.first);
        rest.push(...r.rest);
      }
      const zoomText = await page.getByLabel('Zoom', { exact: true }).textContent();
      console.log(`zoom ${zoom} (${zoomText}): pointer-down frame (undo snapshot of 2 MP): ${stats(firsts)}`);
      console.log(`zoom ${zoom} (${zoomText}): frames while the brush moves:               ${stats(rest)}`);
    }
    await context.close();
  } finally {
    await browser.close();
    await stop(served.child);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
