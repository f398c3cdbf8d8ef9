// The studio the image-input specs (img2img.spec.ts, upscale.spec.ts) drive: a `serve` over a fresh data folder with a
// tiny real model that has a VAE encoder (imported), one picture in the gallery to start from, and Chromium — plus
// the calls those specs make about it (the API, the Generate view once the model shows, gallery and job counts).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, type Browser, type Page } from '@playwright/test';
import sharp from 'sharp';
import { startServe, type Served } from '../../src-main/testing/processes';
import { apiResult, closeSpecStudio, launchChromium, openGenerateView } from './browser';
import { writeTinyModel } from './tiny-model';

/** A 256 × 256 picture with shapes, so a repainted, outpainted or upscaled region shows. */
export async function shapesPicture(): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="256" height="256"><rect width="256" height="256" fill="#3a6ea5"/><circle cx="128" cy="120" r="70" fill="#f2c14e"/><rect x="20" y="190" width="216" height="40" fill="#2d3047"/></svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

export interface ImageInputStudio {
  browser: Browser;
  served: Served;
  dataDir: string;
  /** Holds the tiny model (`tiny-sd35/`) and whatever `prepare` wrote. */
  modelDir: string;
  modelId: string;
  /** The shapes picture's gallery id. */
  galleryId: number;
  /** A method's result; the test fails with the studio's error when the call is refused. */
  api<T>(method: string, params?: unknown): Promise<T>;
  /** A fresh page on the Generate view at a size and colour scheme, once its Model select shows the tiny model. */
  open(opts?: { width?: number; height?: number; colorScheme?: 'light' | 'dark' }): Promise<{ page: Page; errors: string[] }>;
  galleryTotal(): Promise<number>;
  /** Jobs of every status. */
  jobCount(): Promise<number>;
  close(): Promise<void>;
}

export interface ImageInputStudioOptions {
  /** The `serve` process's extra environment (hold points, threads). */
  env?: NodeJS.ProcessEnv;
  /** Runs after the tiny model is written and before `serve` starts (e.g. the CLI importing an upscaler). */
  prepare?(dirs: { dataDir: string; modelDir: string }): Promise<void> | void;
}

/** Starts it; `name` names the temporary folders (sd35-e2e-<name>-…). Whatever started is stopped if a step fails. */
export async function startImageInputStudio(name: string, options: ImageInputStudioOptions = {}): Promise<ImageInputStudio> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `sd35-e2e-${name}-`));
  const modelDir = fs.mkdtempSync(path.join(os.tmpdir(), `sd35-e2e-${name}-model-`));
  let served: Served | undefined;
  let browser: Browser | undefined;
  try {
    await writeTinyModel(path.join(modelDir, 'tiny-sd35'), { layout: 'optimum', io: 'fp32', size: 'micro', vaeEncoder: true });
    await options.prepare?.({ dataDir, modelDir });
    served = await startServe(dataDir, options.env ?? {});
    browser = await launchChromium();
    const s = served;
    const b = browser;
    const api = <T>(method: string, params: unknown = {}): Promise<T> => apiResult<T>(s, method, params);
    const modelId = (await api<{ id: string }>('models.import', { folder: path.join(modelDir, 'tiny-sd35') })).id;
    const imported = await api<{ imported: { id: number }[] }>('gallery.import', { files: [{ name: 'harbour.png', dataBase64: (await shapesPicture()).toString('base64') }] });
    return {
      browser: b,
      served: s,
      dataDir,
      modelDir,
      modelId,
      galleryId: imported.imported[0]!.id,
      api,
      async open(opts = {}) {
        const opened = await openGenerateView(b, s.url, opts);
        await expect(opened.page.getByRole('combobox', { name: 'Model' })).toHaveValue(modelId);
        return opened;
      },
      async galleryTotal() {
        return (await api<{ total: number }>('gallery.query', { limit: 1 })).total;
      },
      async jobCount() {
        const counts = (await api<{ counts: Record<string, number> }>('jobs.list', { limit: 1 })).counts;
        return Object.values(counts).reduce((a, n) => a + n, 0);
      },
      close: () => closeSpecStudio(b, s, [dataDir, modelDir]),
    };
  } catch (err) {
    await closeSpecStudio(browser, served, [dataDir, modelDir]);
    throw err;
  }
}
