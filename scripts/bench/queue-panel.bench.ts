// Queue panel benchmark: how soon a finished image shows in the queue panel, and whether the
// renderer's main thread stays free while progress streams in.
// Run: npx tsx scripts/bench/queue-panel.bench.ts [--images N] [--queued N] [--steps N] [--small]   (needs `npm run build` first)
//
// Method (figures, not pass/fail; goals: ≤ 200 ms from job.generationDone to the image visible, and no
// main-thread task over 50 ms with the queue panel open and progress events arriving 10 times a second):
//  - A data folder with the tiny "micro" ONNX model (e2e/support/tiny-model.ts): a 256² image of 30 steps
//    streams its progress events (each with a preview PNG) faster than 10 per second — the measured rate is
//    printed; --small uses the slower model (one step ≥ 50 ms, about 10 per second on an idle machine) —,
//    imported with models.import; `sd35-studio serve` (the built CLI) on 127.0.0.1; Debian's Chromium through
//    playwright-core, 1280×800, on the Generate view.
//  - The page's WebSocket is wrapped before the app loads: the receive time (performance.now()) of every
//    job.generationDone and the count of job.progress messages are recorded as they arrive, before the
//    app's own handler runs. A MutationObserver waits for the queue panel's <img data-image-id> of that
//    image, then its `load` event, then the next animation frame (the frame that paints it): that instant
//    minus the receive time is the latency.
//  - Long tasks: a PerformanceObserver on 'longtask' (Chromium reports main-thread tasks ≥ 50 ms) records
//    every one while the runs go on; their count and the longest are reported.
//  - Run A: an empty queue, one job of N images (default 8), 30 steps each.
//  - Run B: the queue paused, Q one-image jobs (default 1000) submitted through the API, then a watched job
//    of N images moved to the front; the panel shows its first page of jobs; the queue is resumed and the
//    watched job runs while 1000 wait. Same figures.
// The machine's load average is printed: other processes share its 2 cores.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { CLI, callApi, startServe, stop, type Served } from '../../src-main/testing/processes';
import { CHROMIUM_PATH } from '../../e2e/support/browser';
import { writeTinyModel } from '../../e2e/support/tiny-model';

// page.evaluate code runs in Chromium (the node tsconfig has no DOM lib).
declare const window: Record<string, unknown> & { WebSocket: unknown };
declare const document: { body: unknown; querySelector(s: string): { complete: boolean; addEventListener(t: string, l: () => void, o: unknown): void } | null };
declare function requestAnimationFrame(cb: () => void): number;
declare class MutationObserver {
  constructor(cb: () => void);
  observe(t: unknown, o: { childList: boolean; subtree: boolean }): void;
}
declare class PerformanceObserver {
  constructor(cb: (list: { getEntries(): { duration: number; startTime: number }[] }) => void);
  observe(o: { type: string; buffered: boolean }): void;
}

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  const n = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  return Number.isInteger(n) && n >= 0 ? n : fallback;
}

const IMAGES = arg('--images', 8);
const QUEUED = arg('--queued', 1000);
const STEPS = arg('--steps', 30);
const SIZE = process.argv.includes('--small') ? 'small' : 'micro';

if (!fs.existsSync(CLI)) {
  console.log(`skipped: ${CLI} is missing — run \`npm run build\` first`);
  process.exit(0);
}
if (!fs.existsSync(CHROMIUM_PATH)) {
  console.log(`skipped: Chromium not found at ${CHROMIUM_PATH} (apt-get install -y chromium, or set SD35_CHROMIUM)`);
  process.exit(0);
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-queue-bench-'));
const dataDir = path.join(dir, 'data');
const modelDir = path.join(dir, 'tiny-sd35');
let served: Served | undefined;

async function api<T>(method: string, params: unknown = {}): Promise<T> {
  const { body } = await callApi(served!, method, params);
  if (!body.ok) throw new Error(`${method}: ${body.error?.message}`);
  return body.result as T;
}

function pct(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]! : NaN;
}

/** Before any app code: wrap WebSocket (receive times), observe long tasks and the panel's images. */
function instrument(): void {
  const done = new Map<number, number>();
  const visible = new Map<number, number>();
  const longTasks: { start: number; duration: number }[] = [];
  let progress = 0;
  let firstProgress = 0;
  let lastProgress = 0;
  const Native = window.WebSocket as new (url: string) => { addEventListener(t: string, l: (e: { data: unknown }) => void): void };
  class Wrapped extends Native {
    constructor(url: string) {
      super(url);
      this.addEventListener('message', (e) => {
        const text = String(e.data);
        if (text.includes('"job.generationDone"')) {
          const m = /"imageId":(\d+)/.exec(text);
          if (m) done.set(Number(m[1]), performance.now());
        } else if (text.includes('"job.progress"')) {
          progress++;
          lastProgress = performance.now();
          if (!firstProgress) firstProgress = lastProgress;
        }
      });
    }
  }
  window.WebSocket = Wrapped;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) longTasks.push({ start: e.startTime, duration: e.duration });
  }).observe({ type: 'longtask', buffered: true });
  const watch = (): void => {
    for (const id of done.keys()) {
      if (visible.has(id)) continue;
      const img = document.querySelector(`img[data-image-id="${id}"]`);
      if (!img) continue;
      visible.set(id, -1);
      const painted = (): void => void requestAnimationFrame(() => visible.set(id, performance.now()));
      if (img.complete) painted();
      else img.addEventListener('load', painted, { once: true });
    }
  };
  window.__bench = {
    done,
    visible,
    longTasks,
    stats: () => ({ progress, firstProgress, lastProgress }),
    start: () => new MutationObserver(watch).observe(document.body, { childList: true, subtree: true }),
  };
}

interface RunFigures {
  latencies: number[];
  longTasks: { start: number; duration: number }[];
  progressPerSecond: number;
}

async function measure(page: Page, since: number, imageIds: () => Promise<number[]>): Promise<RunFigures> {
  const deadline = Date.now() + 300_000;
  let ids: number[] = [];
  for (;;) {
    ids = await imageIds();
    const ok = await page.evaluate((want: number[]) => {
      const b = window.__bench as { visible: Map<number, number> };
      return want.length > 0 && want.every((id) => (b.visible.get(id) ?? -1) > 0);
    }, ids);
    if (ok && ids.length === IMAGES) break;
    if (Date.now() > deadline) throw new Error('timed out waiting for the images to show');
    await new Promise((r) => setTimeout(r, 250));
  }
  return page.evaluate(
    ({ want, t0 }: { want: number[]; t0: number }) => {
      const b = window.__bench as {
        done: Map<number, number>;
        visible: Map<number, number>;
        longTasks: { start: number; duration: number }[];
        stats: () => { progress: number; firstProgress: number; lastProgress: number };
      };
      const s = b.stats();
      return {
        latencies: want.map((id) => b.visible.get(id)! - b.done.get(id)!),
        longTasks: b.longTasks.filter((t) => t.start >= t0),
        progressPerSecond: s.progress / Math.max(0.001, (s.lastProgress - s.firstProgress) / 1000),
      };
    },
    { want: ids, t0: since },
  );
}

function report(name: string, f: RunFigures): void {
  const l = f.latencies;
  const longest = f.longTasks.reduce((m, t) => Math.max(m, t.duration), 0);
  console.log(`${name}: per image (ms): ${l.map((x) => x.toFixed(0)).join(', ')}`);
  console.log(
    `${name}: generationDone → image painted in the queue panel over ${l.length} images: median ${pct(l, 50).toFixed(1)} ms, p95 ${pct(l, 95).toFixed(1)} ms, max ${Math.max(...l).toFixed(1)} ms (goal ≤ 200 ms)`,
  );
  console.log(
    `${name}: progress events ${f.progressPerSecond.toFixed(1)}/s; main-thread tasks ≥ 50 ms: ${f.longTasks.length}${f.longTasks.length ? ` (longest ${longest.toFixed(0)} ms)` : ''} (goal: none over 50 ms)`,
  );
}

interface JobList {
  items: { id: number; generations: { imageId?: number }[] }[];
}

async function main(): Promise<void> {
  console.log(`queue panel benchmark in ${dir}; ${IMAGES} images × ${STEPS} steps at 256², then with ${QUEUED} queued jobs`);
  console.log(`machine: ${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  await writeTinyModel(modelDir, { layout: 'optimum', io: 'fp32', size: SIZE });
  served = await startServe(dataDir);
  const model = await api<{ id: string }>('models.import', { folder: modelDir });
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    // tsx keeps function names with a __name() helper the page does not have: give it one.
    await context.addInitScript({ content: `var __name = (f) => f; (${instrument.toString()})();` });
    const page = await context.newPage();
    await page.goto(served.url);
    await page.getByRole('heading', { level: 1, name: 'Generate' }).waitFor();
    await page.getByRole('heading', { name: 'Queue' }).waitFor();
    await page.evaluate(() => (window.__bench as { start: () => void }).start());
    const params = { prompt: 'a lighthouse at dusk', negativePrompt: 'blurry', model: model.id, steps: STEPS, guidance: 4.5, width: 256, height: 256, t5: true };
    const submit = (first: string, count: number) => api<{ jobId: number }>('jobs.submit', { params, sweep: { seeds: { mode: 'consecutive', first, count } } });
    const imagesOf = (jobId: number) => async () =>
      (await api<JobList>('jobs.list', { limit: 200 })).items.find((j) => j.id === jobId)?.generations.flatMap((g) => (g.imageId ? [g.imageId] : [])) ?? [];

    // Run A: an empty queue.
    let t0 = await page.evaluate(() => performance.now());
    const a = await submit('1000', IMAGES);
    report('run A (empty queue)', await measure(page, t0, imagesOf(a.jobId)));

    // Run B: 1000 queued jobs behind the watched one.
    if (QUEUED > 0) {
      await api('jobs.pause');
      const submitTimes: number[] = [];
      for (let i = 0; i < QUEUED; i++) {
        const s = performance.now();
        await submit(String(5000 + i), 1);
        submitTimes.push(performance.now() - s);
      }
      console.log(`(${QUEUED} jobs submitted over HTTP: p95 ${pct(submitTimes, 95).toFixed(1)} ms per call, round trip included)`);
      const b = await submit('2000', IMAGES);
      await api('jobs.moveToFront', { jobId: b.jobId });
      await page.waitForTimeout(1000); // the panel settles on its first page
      t0 = await page.evaluate(() => performance.now());
      await api('jobs.resume');
      // Submitted last, the watched job is the newest: first on the panel's first page.
      const figures = await measure(page, t0, imagesOf(b.jobId)).catch(async (err: unknown) => {
        console.log(`run B: ${String(err)}`);
        return undefined;
      });
      if (figures) report(`run B (${QUEUED} queued)`, figures);
      await api('jobs.pause');
    }
    await context.close();
  } finally {
    await browser.close();
    if (served) await stop(served.child);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
