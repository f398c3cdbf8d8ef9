// What the benchmarks that measure the renderer in Chromium share (mask-brush, compare): their options, the machine
// line, a data folder served by `sd35-studio serve` from out/, Debian's Chromium (software raster: --disable-gpu),
// a page that can run tsx-compiled functions, waiting for animation frames, and the clean-up. Not a benchmark itself
// (run.mjs runs only *.bench.ts).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM_PATH } from '../../e2e/support/browser';
import { CLI, startServe, stop, type Served } from '../../src-main/testing/processes';

// Code inside page.evaluate runs in Chromium; the node tsconfig has no DOM lib.
declare function requestAnimationFrame(cb: () => void): number;

/** `--name N` from the command line: a positive whole number, or the fallback. */
export function intArg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  const n = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  return Number.isInteger(n) && n > 0 ? n : fallback;
}

/** Cores and load average, printed with every figure (this machine is shared). */
export function machineLine(): string {
  return `machine: ${os.cpus().length} cores, load average ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`;
}

export interface BrowserBench {
  served: Served;
  browser: Browser;
  dataDir: string;
  /** A page in a fresh context at this viewport, on the studio's URL. */
  openPage(viewport: { width: number; height: number }): Promise<Page>;
}

/**
 * Runs `body` against a served data folder in Chromium and cleans up whatever happens. `prepare` fills the data folder
 * before `serve` starts. Prints "skipped" (and runs nothing) without the build or without Chromium.
 */
export async function withBrowserBench(opts: { name: string; prepare?: (dataDir: string) => Promise<void> }, body: (b: BrowserBench) => Promise<void>): Promise<void> {
  if (!fs.existsSync(CLI)) {
    console.log(`skipped: ${CLI} is missing (npm run -s build first)`);
    return;
  }
  if (!fs.existsSync(CHROMIUM_PATH)) {
    console.log(`skipped: Chromium not found at ${CHROMIUM_PATH}`);
    return;
  }
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `sd35-${opts.name}-bench-`));
  let served: Served | undefined;
  let browser: Browser | undefined;
  try {
    await opts.prepare?.(dataDir);
    served = await startServe(dataDir);
    browser = await chromium.launch({
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    });
    const b = browser;
    const url = served.url;
    await body({
      served,
      browser: b,
      dataDir,
      async openPage(viewport) {
        const context = await b.newContext({ viewport });
        // tsx (esbuild keepNames) wraps named functions of evaluated code in __name(); give the page one.
        await context.addInitScript({ content: 'window.__name = (f) => f;' });
        const page = await context.newPage();
        await page.goto(url);
        return page;
      },
    });
  } finally {
    await browser?.close();
    if (served) await stop(served.child);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Resolves after `n` animation frames of the page. */
export function animationFrames(page: Page, n = 1): Promise<void> {
  return page.evaluate(
    (count) =>
      new Promise<void>((resolve) => {
        let left = count;
        const tick = (): void => {
          if (--left <= 0) resolve();
          else requestAnimationFrame(tick);
        };
        requestAnimationFrame(tick);
      }),
    n,
  );
}

/** Sorted-sample quantile (nearest rank, as the benches print them). */
export function quantile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

/** Runs the benchmark's main and exits 1 on an error. */
export function runBench(main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
