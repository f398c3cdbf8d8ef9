// Helpers for the history tests, the crash child process and the benchmarks (not shipped code paths).
import path from 'node:path';
import type { StudioImageMeta } from '../../../src-shared/metadata';
import { openDatabase, type Db } from '../../core/db';
import { ensureDataDir } from '../../core/paths';
import { tempDir } from '../temp';
import { imageRelPath } from '../../core/history/files';
import { Generations } from '../../core/history/generations';
import { ImageRows } from '../../core/history/images';
import { FAKE_MODELS, FAKE_SIZES, makePrompt, rng } from './prompts';

/** A fresh data folder under the OS temp dir (removed by removeTempDirs from src-main/testing/temp). */
export function tempDataDir(prefix = 'sd35-history-'): string {
  const dir = tempDir(prefix);
  ensureDataDir(dir);
  return dir;
}

export function openTestDb(dataDir: string): Db {
  return openDatabase(path.join(dataDir, 'studio.db'));
}

export function makeMeta(overrides: Partial<StudioImageMeta> = {}): StudioImageMeta {
  return {
    prompt: 'a red fox in a misty forest, watercolor',
    negativePrompt: 'blurry, lowres',
    seed: '42',
    steps: 28,
    guidance: 4.5,
    width: 64,
    height: 48,
    shift: 3,
    scheduler: 'flow-match-euler',
    model: { id: 'sd3.5-medium', repo: 'TensorStack/stable-diffusion-3.5-medium-onnx', modelHash: '0123456789' },
    ep: 'cpu',
    precision: 'fp16',
    rng: 'torch-cpu-mt19937',
    t5: true,
    appVersion: '0.1.0',
    ...overrides,
  };
}

/** Deterministic RGB pixels (a gradient with a seed-dependent tint). */
export function makePixels(width: number, height: number, seed = 1): { width: number; height: number; channels: 3; data: Uint8Array } {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      data[o] = (x * 255) / Math.max(1, width - 1);
      data[o + 1] = (y * 255) / Math.max(1, height - 1);
      data[o + 2] = (seed * 37) & 0xff;
    }
  }
  return { width, height, channels: 3, data };
}

export interface SeedOptions {
  /** First created_at (ms); each row is `stepMs` later. */
  start?: number;
  stepMs?: number;
  seed?: number;
  /** Fraction marked favorite. */
  favorites?: number;
}

/**
 * Inserts `count` done generations with image rows (no files) through the same statements saveImage
 * uses, in one transaction per 10,000 rows. Returns the ids. For query tests and benchmarks.
 */
export function seedRows(db: Db, count: number, options: SeedOptions = {}): number[] {
  const gens = new Generations(db);
  const images = new ImageRows(db);
  const r = rng(options.seed ?? 1);
  const start = options.start ?? Date.UTC(2024, 0, 1);
  const step = options.stepMs ?? 60_000;
  const favorites = options.favorites ?? 0.05;
  const favStmt = db.prepare(`UPDATE images SET favorite = 1 WHERE id = ?`);
  const ids: number[] = [];
  const batch = db.transaction((n: number, offset: number) => {
    const first = gens.reserveIds(n);
    for (let k = 0; k < n; k++) {
      const id = first + k;
      const createdAt = start + (offset + k) * step;
      const p = makePrompt(r);
      const model = FAKE_MODELS[Math.floor(r() * FAKE_MODELS.length)]!;
      const [width, height] = FAKE_SIZES[Math.floor(r() * FAKE_SIZES.length)]!;
      const seed = String(Math.floor(r() * 2 ** 32));
      gens.insertImportJob(
        {
          id,
          seed,
          prompt: p.prompt,
          negativePrompt: p.negativePrompt,
          steps: 28,
          guidance: 4.5,
          width,
          height,
          model,
          meta: null,
          status: 'done',
          ep: 'cpu',
          createdAt,
          startedAt: createdAt,
          finishedAt: createdAt,
        },
        { prompt: p.prompt },
      );
      images.insert({
        id,
        path: imageRelPath(id, createdAt),
        width,
        height,
        bytes: 1_500_000,
        model,
        createdAt,
        source: 'generated',
        originalName: null,
      });
      if (r() < favorites) favStmt.run(id);
      ids.push(id);
    }
  });
  for (let done = 0; done < count; done += 10_000) batch.immediate(Math.min(10_000, count - done), done);
  return ids;
}
