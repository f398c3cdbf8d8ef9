// A real `sd35-studio serve` killed (SIGKILL) while its queue holds a generation mid-run (SD35_TEST_HOLD):
// the next `serve` takes the folder over, the held generation is `interrupted` (offered for retry) and the
// queued one runs on its own. Needs `npm run -s build`.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyModel } from '../../../e2e/support/tiny-model';
import type { JobView } from '../../../src-shared/schemas/jobs';
import { callApi, startServe, stop, type Served } from '../../testing/processes';
import { removeTempDirs, tempDir } from '../../testing/temp';
import { pause } from '../../testing/poll';

const ENV = { SD35_ORT_THREADS: '1', HF_ENDPOINT: 'http://127.0.0.1:9' };
let model: string;

beforeAll(async () => {
  model = path.join(tempDir('sd35-crash-model-'), 'tiny-sd35');
  await writeTinyModel(model, { layout: 'optimum', io: 'fp16', size: 'micro' });
}, 60_000);
afterAll(removeTempDirs);

async function job(s: Served, jobId: number): Promise<JobView> {
  const r = await callApi(s, 'jobs.list', { limit: 20 });
  const found = (r.body.result as { items: JobView[] }).items.find((j) => j.id === jobId);
  if (!found) throw new Error(`job ${jobId} is not listed`);
  return found;
}

/** Polls `get` every 100 ms until `ok`, at most 600 times (bounded by checks, not by the clock). */
async function until<T>(get: () => Promise<T>, ok: (v: T) => boolean, what: string, rounds = 600): Promise<T> {
  for (let i = 0; ; i++) {
    const v = await get();
    if (ok(v)) return v;
    if (i >= rounds) throw new Error(`gave up waiting for ${what} after ${rounds} checks: ${JSON.stringify(v).slice(0, 400)}`);
    await pause(100);
  }
}

describe('the queue across a crash of its process', () => {
  it('SIGKILL mid-generation → interrupted and retryable after restart; the queued generation runs on its own', async () => {
    const data = tempDir();
    const first = await startServe(data, { ...ENV, SD35_TEST_MODE: '1', SD35_TEST_HOLD: 'after-step:1' });
    let jobId: number;
    try {
      await callApi(first, 'settings.set', { executionProvider: 'cpu' });
      // Browser mode queues installed models only (by id, never a server path).
      const imported = await callApi(first, 'models.import', { folder: model });
      expect(imported.body.ok, JSON.stringify(imported.body)).toBe(true);
      const modelId = (imported.body.result as { id: string }).id;
      const submitted = await callApi(first, 'jobs.submit', {
        params: { prompt: 'held when the server dies', negativePrompt: '', model: modelId, steps: 2, guidance: 0, width: 64, height: 64, t5: false },
        sweep: { seeds: { mode: 'list', seeds: ['21', '22'] } },
      });
      expect(submitted.body.ok, JSON.stringify(submitted.body)).toBe(true);
      jobId = (submitted.body.result as { jobId: number }).jobId;
      await until(() => job(first, jobId), (j) => j.generations[0]?.status === 'running' && j.generations[0].step === 1, 'the held step');
    } finally {
      await stop(first.child, 'SIGKILL');
    }

    const second = await startServe(data, ENV);
    try {
      const after = await until(() => job(second, jobId), (j) => j.generations[1]?.status === 'done', 'the queued generation after restart');
      expect(after.generations[0]).toMatchObject({ status: 'interrupted' });
      expect(after.generations[0]!.imageId).toBeUndefined();
      expect(after.status).toBe('interrupted');
      const retried = await callApi(second, 'jobs.retry', { generationId: after.generations[0]!.id });
      expect((retried.body.result as { generationIds: number[] }).generationIds).toEqual([after.generations[0]!.id]);
      const done = await until(() => job(second, jobId), (j) => j.status === 'done', 'the retried generation');
      expect(done.generations.map((g) => g.status)).toEqual(['done', 'done']);
    } finally {
      await stop(second.child);
    }
  }, 150_000);
});
