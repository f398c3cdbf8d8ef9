// Compare benchmark: opening a 16-image Compare, and what one wheel event costs the renderer.
// Run: npx tsx scripts/bench/compare.bench.ts [--runs N] [--wheels N]   (needs the build in out/)
//
// Method (figures, not pass/fail; goals from issue #9):
//  - A data folder with 16 generated-looking 1024×1024 PNGs of one seed sweep (e2e/support/seed-compare.ts,
//    saved through HistoryService.saveImage like the job runner), served by `sd35-studio serve` from
//    out/, opened in Debian's Chromium (playwright-core; --disable-gpu, software compositing).
//  - Open (goal ≤ 500 ms to all cells painted): in a fresh browser context each run (empty image
//    cache), the studio is loaded on the Generate view; then, inside the page, the clock starts, the
//    hash changes to #/compare?ids=…, and each animation frame checks that all 16 <img> elements in
//    the cells are complete with a natural size; the clock stops at the frame after that (the frame
//    that paints them). The same is repeated warm (images in the memory cache) by leaving for
//    Settings and coming back. Median and max of N runs.
//  - Wheel (goal: no per-cell layout): CDP Performance.getMetrics (LayoutCount, RecalcStyleCount,
//    LayoutDuration, RecalcStyleDuration) is read, one mouseWheel event is dispatched over a cell with
//    Input.dispatchMouseEvent, three animation frames pass, and the metrics are read again; the
//    difference is what that one wheel event caused (the Zoom readout's text change included).
//    Repeated for M events; per-event counts printed as min / median / max. The same is measured for
//    M drag steps (pan), where the Zoom readout's text does not change: what the cells alone cost.
//    One more wheel event is traced (devtools.timeline): each Layout event's dirty / total layout
//    objects shows whether a layout touched the cells or only the readout.
import fs from 'node:fs';
import path from 'node:path';
import { type Page } from 'playwright-core';
import { seedSweep } from '../../e2e/support/seed-compare';
import { animationFrames, intArg, machineLine, runBench, withBrowserBench } from './browser-bench';

const RUNS = intArg('--runs', 5);
const WHEELS = intArg('--wheels', 10);

// Code inside page.evaluate runs in Chromium; the node tsconfig has no DOM lib.
declare const document: { querySelectorAll(s: string): ArrayLike<{ complete: boolean; naturalWidth: number }> };
declare const window: { location: { hash: string } };
declare const performance: { now(): number };
declare function requestAnimationFrame(cb: () => void): number;

function stats(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  const med = s[Math.floor(s.length / 2)]!;
  return `median ${med.toFixed(0)}, min ${s[0]!.toFixed(0)}, max ${s[s.length - 1]!.toFixed(0)}`;
}

async function timeOpen(page: Page, hash: string, n: number): Promise<number> {
  return page.evaluate(
    ({ hash, n }) =>
      new Promise<number>((resolve) => {
        const t0 = performance.now();
        window.location.hash = hash;
        const check = () => {
          const imgs = Array.from(document.querySelectorAll('[data-frame] img'));
          if (imgs.length === n && imgs.every((i) => i.complete && i.naturalWidth > 0)) requestAnimationFrame(() => resolve(performance.now() - t0));
          else requestAnimationFrame(check);
        };
        requestAnimationFrame(check);
      }),
    { hash, n },
  );
}

async function main(): Promise<void> {
  let ids: number[] = [];
  const prepare = async (dataDir: string): Promise<void> => {
    console.log(`compare benchmark: 16 × 1024² images in ${dataDir}; ${RUNS} opens, ${WHEELS} wheel events`);
    console.log(machineLine());
    const t = Date.now();
    ids = (await seedSweep(dataDir, { seeds: Array.from({ length: 16 }, (_, k) => String(1000 + k)), size: 1024 })).ids;
    console.log(`seeded in ${Date.now() - t} ms (${(fs.statSync(path.join(dataDir, 'studio.db')).size / 1024).toFixed(0)} KB db)`);
  };
  await withBrowserBench({ name: 'compare', prepare }, async ({ openPage }) => {
    const hash = `#/compare?ids=${ids.join(',')}`;
    const cold: number[] = [];
    const warm: number[] = [];
    let wheelPage: Page | undefined;
    for (let r = 0; r < RUNS; r++) {
      const page = await openPage({ width: 1600, height: 1000 });
      await page.getByRole('navigation', { name: 'Views' }).waitFor();
      await page.waitForTimeout(300);
      cold.push(await timeOpen(page, hash, 16));
      await page.evaluate(() => (window.location.hash = '#/settings'));
      await page.getByRole('heading', { level: 1, name: 'Settings' }).waitFor();
      warm.push(await timeOpen(page, hash, 16));
      if (r === RUNS - 1) wheelPage = page;
      else await page.context().close();
    }
    console.log(`open Compare with 16 × 1024² → all cells painted, cold (fresh context): ${stats(cold)} ms`);
    console.log(`open Compare with 16 × 1024² → all cells painted, warm (memory cache):  ${stats(warm)} ms`);

    const page = wheelPage!;
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Performance.enable');
    const cell = (await page.locator('[data-frame]').nth(5).boundingBox())!;
    const metrics = async (): Promise<Record<string, number>> => {
      const { metrics: m } = await cdp.send('Performance.getMetrics');
      return Object.fromEntries(m.map((x) => [x.name, x.value]));
    };
    const frames = () => animationFrames(page, 3);
    await frames();
    const layouts: number[] = [];
    const recalcs: number[] = [];
    const layoutMs: number[] = [];
    const recalcMs: number[] = [];
    const zoomBefore = await page.getByLabel('Zoom', { exact: true }).textContent();
    for (let w = 0; w < WHEELS; w++) {
      const a = await metrics();
      await cdp.send('Input.dispatchMouseEvent', { type: 'mouseWheel', x: cell.x + cell.width * 0.4, y: cell.y + cell.height * 0.5, deltaX: 0, deltaY: w % 2 ? 120 : -160 });
      await frames();
      const b = await metrics();
      layouts.push(b.LayoutCount! - a.LayoutCount!);
      recalcs.push(b.RecalcStyleCount! - a.RecalcStyleCount!);
      layoutMs.push((b.LayoutDuration! - a.LayoutDuration!) * 1000);
      recalcMs.push((b.RecalcStyleDuration! - a.RecalcStyleDuration!) * 1000);
    }
    const zoomAfter = await page.getByLabel('Zoom', { exact: true }).textContent();
    // What those layouts touched: a trace of one wheel event, Layout events' dirty and total objects.
    const browser = page.context().browser()!;
    await browser.startTracing(page, { categories: ['devtools.timeline'] });
    await cdp.send('Input.dispatchMouseEvent', { type: 'mouseWheel', x: cell.x + cell.width * 0.4, y: cell.y + cell.height * 0.5, deltaX: 0, deltaY: -120 });
    await frames();
    const trace = JSON.parse((await browser.stopTracing()).toString('utf8')) as { traceEvents: { name: string; ph: string; args?: { beginData?: { dirtyObjects?: number; totalObjects?: number } } }[] };
    const layoutEvents = trace.traceEvents.filter((e) => e.name === 'Layout' && e.args?.beginData);
    const dirty = layoutEvents.map((e) => `${e.args!.beginData!.dirtyObjects ?? '?'} of ${e.args!.beginData!.totalObjects ?? '?'}`);
    // The same for drag steps (pan: the transform changes, the Zoom readout does not).
    const panLayouts: number[] = [];
    const panRecalcs: number[] = [];
    const px = cell.x + cell.width * 0.5;
    const py = cell.y + cell.height * 0.5;
    await cdp.send('Input.dispatchMouseEvent', { type: 'mousePressed', x: px, y: py, button: 'left', buttons: 1, clickCount: 1 });
    for (let k = 1; k <= WHEELS; k++) {
      const a = await metrics();
      await cdp.send('Input.dispatchMouseEvent', { type: 'mouseMoved', x: px + k * 6, y: py + k * 3, button: 'left', buttons: 1 });
      await frames();
      const b = await metrics();
      panLayouts.push(b.LayoutCount! - a.LayoutCount!);
      panRecalcs.push(b.RecalcStyleCount! - a.RecalcStyleCount!);
    }
    await cdp.send('Input.dispatchMouseEvent', { type: 'mouseReleased', x: px + WHEELS * 6, y: py + WHEELS * 3, button: 'left', buttons: 0, clickCount: 1 });
    const frameLayouts = await page.evaluate(() => Array.from(document.querySelectorAll('[data-frame] img')).length);
    const one = (xs: number[], digits = 0) => {
      const s = [...xs].sort((p, q) => p - q);
      return `${s[0]!.toFixed(digits)} / ${s[Math.floor(s.length / 2)]!.toFixed(digits)} / ${s[s.length - 1]!.toFixed(digits)}`;
    };
    console.log(`one wheel event in a ${frameLayouts}-cell Compare (Zoom ${zoomBefore} → ${zoomAfter}), min / median / max per event:`);
    console.log(`  layouts (LayoutCount):            ${one(layouts)}   (${one(layoutMs, 2)} ms)`);
    console.log(`  style recalcs (RecalcStyleCount): ${one(recalcs)}   (${one(recalcMs, 2)} ms)`);
    console.log(`  objects laid out by that layout (trace, dirty of total): ${dirty.join(', ') || 'no Layout event'}`);
    console.log(`one drag step (pan, readout unchanged): layouts ${one(panLayouts)}, style recalcs ${one(panRecalcs)}`);
  });
}

runBench(main);
