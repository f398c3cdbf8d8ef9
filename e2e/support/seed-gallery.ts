// Fills a data folder with `count` gallery images, fast, for the gallery e2e and manual checks.
// It opens the history store directly (studio.db with every migration, the same statements saveImage
// uses) and writes one small real PNG per image — file first, then its rows — so the server's start-up
// reconcile pass finds every row with its file and thumbnails can be made on demand. The PNGs are
// 1/16 of the recorded size (a 1024×1024 generation → 64×64) and carry our two metadata chunks, so
// "save as" and the detail panel have real parameters to show. Deterministic for a given count.
//
//   npx tsx e2e/support/seed-gallery.ts <data-dir> [count]
import fs from 'node:fs';
import path from 'node:path';
import type { StudioImageMeta } from '../../src-shared/metadata';
import { openDatabase } from '../../src-main/core/db';
import { encodePng } from '../../src-main/formats/png';
import { imageRelPath, toAbs } from '../../src-main/core/history/files';
import { Generations } from '../../src-main/core/history/generations';
import { ImageRows, studioChunks } from '../../src-main/core/history/images';
import { FAKE_MODELS, FAKE_SIZES, makePrompt, rng } from '../../src-main/testing/history/prompts';
import { ensureDataDir } from '../../src-main/core/paths';

const REPOS: Record<string, string> = {
  'sd3.5-medium': 'TensorStack/stable-diffusion-3.5-medium-onnx',
  'sd3.5-large': 'TensorStack/stable-diffusion-3.5-large-onnx',
  'sd3.5-large-turbo': 'TensorStack/stable-diffusion-3.5-large-turbo-onnx',
};

export interface SeedGalleryOptions {
  /** PRNG seed of the fake history (prompts, models, sizes, dates). */
  seed?: number;
  /** The newest image's time (ms); older ones go back from there. Default: now. */
  newest?: number;
  /** Fraction of favorites. Default 0.04. */
  favorites?: number;
}

function hsv(h: number, s: number, v: number): [number, number, number] {
  const i = Math.floor(h * 6);
  const f = h * 6 - i;
  const p = v * (1 - s);
  const q = v * (1 - f * s);
  const t = v * (1 - (1 - f) * s);
  const m = [
    [v, t, p],
    [q, v, p],
    [p, v, t],
    [p, q, v],
    [t, p, v],
    [v, p, q],
  ][((i % 6) + 6) % 6]!;
  return [Math.round(m[0]! * 255), Math.round(m[1]! * 255), Math.round(m[2]! * 255)];
}

/** A small picture: a diagonal blend between two colours with a soft disc, different for each image. */
function pixels(width: number, height: number, r: () => number): { width: number; height: number; channels: 3; data: Uint8Array } {
  const a = hsv(r(), 0.35 + r() * 0.5, 0.45 + r() * 0.5);
  const b = hsv(r(), 0.3 + r() * 0.6, 0.2 + r() * 0.6);
  const c = hsv(r(), 0.2 + r() * 0.5, 0.7 + r() * 0.3);
  const cx = width * (0.25 + r() * 0.5);
  const cy = height * (0.25 + r() * 0.5);
  const rad = Math.min(width, height) * (0.15 + r() * 0.25);
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const t = (x / width + y / height) / 2;
      const d = Math.hypot(x - cx, y - cy);
      const disc = Math.max(0, Math.min(1, (rad - d) / 3 + 0.5));
      const o = (y * width + x) * 3;
      for (let k = 0; k < 3; k++) {
        const bg = a[k]! * (1 - t) + b[k]! * t;
        data[o + k] = Math.round(bg * (1 - disc) + c[k]! * disc);
      }
    }
  }
  return { width, height, channels: 3, data };
}

/**
 * Fills `dataDir` with `count` images (added to whatever it holds). The newest is `options.newest`
 * (default now); the others go back in time in irregular steps (sessions of a few images minutes
 * apart, hours or days between sessions).
 */
export async function seedGallery(dataDir: string, count: number, options: SeedGalleryOptions = {}): Promise<void> {
  if (!Number.isInteger(count) || count < 0) throw new Error(`seedGallery: bad count ${count}`);
  ensureDataDir(dataDir);
  const db = openDatabase(path.join(dataDir, 'studio.db'));
  try {
    const gens = new Generations(db);
    const images = new ImageRows(db);
    const favStmt = db.prepare(`UPDATE images SET favorite = 1 WHERE id = ?`);
    const r = rng(options.seed ?? 7);
    const favorites = options.favorites ?? 0.04;

    // Dates, oldest first: walk back from the newest and reverse.
    const times: number[] = [];
    let t = options.newest ?? Date.now();
    for (let k = 0; k < count; k++) {
      times.push(t);
      const u = r();
      t -= u < 0.8 ? 20_000 + Math.floor(r() * 90_000) : u < 0.97 ? 3_600_000 + Math.floor(r() * 8 * 3_600_000) : 86_400_000 * (1 + Math.floor(r() * 4));
    }
    times.reverse();

    interface Planned {
      id: number;
      createdAt: number;
      meta: StudioImageMeta;
      rel: string;
      bytes: number;
      favorite: boolean;
    }
    const BATCH = 2000;
    const dirs = new Set<string>();
    for (let done = 0; done < count; done += BATCH) {
      const n = Math.min(BATCH, count - done);
      const first = db.transaction(() => gens.reserveIds(n)).immediate();
      const planned: Planned[] = [];
      for (let k = 0; k < n; k++) {
        const id = first + k;
        const createdAt = times[done + k]!;
        const p = makePrompt(r);
        const model = FAKE_MODELS[Math.floor(r() * FAKE_MODELS.length)]!;
        const [width, height] = FAKE_SIZES[Math.floor(r() * FAKE_SIZES.length)]!;
        const turbo = model === 'sd3.5-large-turbo';
        const meta: StudioImageMeta = {
          prompt: p.prompt,
          negativePrompt: turbo ? '' : p.negativePrompt,
          seed: String(Math.floor(r() * 2 ** 32)),
          steps: turbo ? 4 : [20, 28, 28, 30, 40][Math.floor(r() * 5)]!,
          guidance: turbo ? 0 : [3.5, 4, 4.5, 4.5, 5, 7][Math.floor(r() * 6)]!,
          width,
          height,
          shift: 3,
          scheduler: 'flow-match-euler',
          model: REPOS[model] ? { id: model, repo: REPOS[model], modelHash: (0x1a2b3c4d5e + FAKE_MODELS.indexOf(model)).toString(16).padStart(10, '0') } : { id: model },
          ep: r() < 0.85 ? 'cuda' : 'cpu',
          precision: 'fp16',
          rng: 'torch-cpu-mt19937',
          t5: r() < 0.9,
          appVersion: '0.1.0',
        };
        const png = encodePng(pixels(Math.max(16, Math.round(width / 16)), Math.max(16, Math.round(height / 16)), r), studioChunks(meta));
        const rel = imageRelPath(id, createdAt);
        const abs = toAbs(dataDir, rel);
        const dir = path.dirname(abs);
        if (!dirs.has(dir)) {
          fs.mkdirSync(dir, { recursive: true });
          dirs.add(dir);
        }
        fs.writeFileSync(abs, png);
        planned.push({ id, createdAt, meta, rel, bytes: png.byteLength, favorite: r() < favorites });
      }
      // Files are on disk; now their rows, in one transaction (the crash order of docs/architecture.md).
      db.transaction(() => {
        for (const p of planned) {
          const duration = p.meta.steps * (p.meta.ep === 'cuda' ? 120 : 9000);
          gens.insertImportJob(
            {
              id: p.id,
              seed: p.meta.seed,
              prompt: p.meta.prompt,
              negativePrompt: p.meta.negativePrompt,
              steps: p.meta.steps,
              guidance: p.meta.guidance,
              width: p.meta.width,
              height: p.meta.height,
              model: p.meta.model.id,
              meta: JSON.stringify(p.meta),
              status: 'done',
              ep: p.meta.ep,
              createdAt: p.createdAt,
              startedAt: p.createdAt - duration,
              finishedAt: p.createdAt,
            },
            p.meta,
          );
          images.insert({
            id: p.id,
            path: p.rel,
            width: p.meta.width,
            height: p.meta.height,
            bytes: p.bytes,
            model: p.meta.model.id,
            createdAt: p.createdAt,
            source: 'generated',
            originalName: null,
          });
          if (p.favorite) favStmt.run(p.id);
        }
      }).immediate();
    }
  } finally {
    db.close();
  }
}

const invokedDirectly = typeof require !== 'undefined' && require.main === module;
if (invokedDirectly) {
  const [dir, n] = process.argv.slice(2);
  if (!dir) {
    console.error('usage: tsx e2e/support/seed-gallery.ts <data-dir> [count]');
    process.exit(2);
  }
  const started = Date.now();
  seedGallery(path.resolve(dir), Number(n ?? 1000)).then(
    () => console.log(`seeded ${n ?? 1000} images into ${dir} in ${Date.now() - started} ms`),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
