// A downloading process for the kill-and-restart test: runs ModelService on a data folder and
// prints the result as one JSON line. Run with `node --import tsx download-child.ts <data> <models>
// download <ref>` or `… resume-pending`. SD35_TEST_HOLD=download-after-bytes:N holds it mid-file.
import path from 'node:path';
import { exitCodeFor, StudioError } from '../../../src-shared/errors';
import { openDatabase } from '../../core/db';
import { hfTokenFileStore } from '../../core/node-adapters';
import { ModelService } from '../../core/models/service';

async function main(): Promise<void> {
  const [dataDir, modelsDir, mode, ref] = process.argv.slice(2);
  if (!dataDir || !modelsDir || !mode) throw new StudioError('invalid_input', 'usage: download-child <data> <models> download <ref> | resume-pending');
  const env = process.env;
  const db = openDatabase(path.join(dataDir, 'studio.db'));
  const service = new ModelService({
    db,
    modelsDir,
    secrets: hfTokenFileStore(env),
    env,
    download: { concurrency: Number(env.SD35_CHILD_CONCURRENCY ?? 3), retry: { retries: 3, baseDelayMs: 20, maxDelayMs: 200, maxRetryAfterMs: 2000 } },
  });
  if (mode === 'download') {
    const result = await (await service.download(ref!)).done;
    process.stdout.write(JSON.stringify(result) + '\n');
  } else {
    const handles = await service.resumePending();
    const results = await Promise.all(handles.map((h) => h.done));
    process.stdout.write(JSON.stringify(results) + '\n');
  }
  db.close();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stdout.write(JSON.stringify({ error: StudioError.from(err).toWire() }) + '\n');
    process.exit(exitCodeFor(err));
  },
);
