// Images of a sweep for the Compare e2e spec and benchmark: one job per call, one generation per
// (seed × guidance), each saved through HistoryService.saveImage (file first, then rows, both metadata
// chunks) exactly as the job runner saves a generated image. Pictures are smooth seed-dependent
// blends, so neighbouring seeds look alike but differ (difference mode has something to show).
import path from 'node:path';
import { openDatabase } from '../../src-main/core/db';
import { HistoryService } from '../../src-main/core/history/service';
import { makeMeta } from '../../src-main/testing/history/fixtures';
import { ensureDataDir } from '../../src-main/core/paths';

export interface SweepOptions {
  seeds: string[];
  /** A second axis: every seed is made with each of these guidance values. */
  guidance?: number[];
  size?: number;
  prompt?: string;
}

export interface SeededSweep {
  jobId: number;
  /** Image ids in generation order (seed-major). */
  ids: number[];
}

function pixels(size: number, seed: number, guidance: number): { width: number; height: number; channels: 3; data: Uint8Array } {
  const data = new Uint8Array(size * size * 3);
  const a = (seed % 97) / 97;
  const b = ((seed * 7) % 89) / 89;
  const g = guidance / 10;
  for (let y = 0; y < size; y++) {
    const v = y / size;
    for (let x = 0; x < size; x++) {
      const u = x / size;
      const o = (y * size + x) * 3;
      const w1 = Math.sin((u * 5 + a * 6) * Math.PI) * Math.cos((v * 4 + b * 5) * Math.PI);
      const d = Math.hypot(u - 0.35 - a * 0.3, v - 0.4 - b * 0.2);
      const disc = d < 0.18 + g * 0.05 ? 1 : 0;
      data[o] = Math.round(90 + 70 * w1 + 80 * disc);
      data[o + 1] = Math.round(120 + 50 * Math.sin((u + v + a) * 6) - 40 * disc + 30 * g);
      data[o + 2] = Math.round(150 + 60 * Math.cos((v - u + b) * 5) - 60 * disc);
    }
  }
  return { width: size, height: size, channels: 3, data };
}

export async function seedSweep(dataDir: string, options: SweepOptions): Promise<SeededSweep> {
  ensureDataDir(dataDir);
  const db = openDatabase(path.join(dataDir, 'studio.db'));
  try {
    const history = new HistoryService({ db, dataDir });
    const size = options.size ?? 256;
    const prompt = options.prompt ?? 'a lighthouse on a cliff at dusk, oil painting';
    const guidance = options.guidance ?? [4.5];
    const combos = options.seeds.flatMap((seed) => guidance.map((g) => ({ seed, g })));
    const { jobId, generationIds } = history.generations.createJob(
      { prompt, negativePrompt: 'blurry', steps: 28, guidance: guidance[0]!, width: size, height: size, model: 'sd3.5-medium' },
      combos.map((c) => c.seed),
      history.now(),
    );
    for (const [k, id] of generationIds.entries()) {
      const { seed, g } = combos[k]!;
      history.generations.markRunning(id, history.now(), { ep: 'cpu' });
      await history.saveImage({
        generationId: id,
        pixels: pixels(size, Number(seed), g),
        meta: makeMeta({ prompt, negativePrompt: 'blurry', seed, guidance: g, steps: 28, width: size, height: size, ep: 'cpu' }),
      });
    }
    // saveImage writes the image's own parameters; the generation row takes this image's guidance too.
    const setGuidance = db.prepare(`UPDATE generations SET guidance = ? WHERE id = ?`);
    generationIds.forEach((id, k) => setGuidance.run(combos[k]!.g, id));
    return { jobId, ids: generationIds };
  } finally {
    db.close();
  }
}
