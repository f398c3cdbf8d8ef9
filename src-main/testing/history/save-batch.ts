// Child process for the crash test: opens a data folder, creates one job of `count` seeds and saves
// their images one after another through HistoryService — as the job runner does. Run with
// `node --import tsx save-batch.ts <dataDir> <count>`. With SD35_TEST_MODE=1 and
// SD35_TEST_HOLD=save-after:N (or save-after-rename:N) the service stops mid-batch at that point and
// prints `SD35_HOLD …` to stderr, for the test to SIGKILL it. Prints `saved <id>` per image on stdout.
import path from 'node:path';
import { openDatabase } from '../../core/db';
import { ensureDataDir } from '../../core/paths';
import { HistoryService } from '../../core/history/service';
import { makeMeta, makePixels } from './fixtures';

async function main(): Promise<void> {
  const [dataDir, countArg] = process.argv.slice(2);
  if (!dataDir || !countArg) throw new Error('usage: save-batch.ts <dataDir> <count>');
  const count = Number(countArg);
  ensureDataDir(dataDir);
  const db = openDatabase(path.join(dataDir, 'studio.db'));
  const service = new HistoryService({ db, dataDir });
  const seeds = Array.from({ length: count }, (_, i) => String(1000 + i));
  const { generationIds } = service.generations.createJob(
    { prompt: 'a crash-test fox', negativePrompt: 'blurry', steps: 4, guidance: 0, width: 96, height: 64, model: 'sd3.5-large-turbo' },
    seeds,
    service.now(),
  );
  process.stdout.write(`job ${generationIds.join(',')}\n`);
  for (const [k, id] of generationIds.entries()) {
    service.generations.markRunning(id, service.now(), { ep: 'cpu' });
    await service.saveImage({
      generationId: id,
      pixels: makePixels(96, 64, k),
      meta: makeMeta({ prompt: 'a crash-test fox', seed: seeds[k]!, steps: 4, guidance: 0, width: 96, height: 64, model: { id: 'sd3.5-large-turbo' } }),
    });
    process.stdout.write(`saved ${id}\n`);
  }
  db.close();
  process.stdout.write('done\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
