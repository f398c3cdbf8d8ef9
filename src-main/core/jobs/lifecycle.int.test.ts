// A generation's life through the door the product uses: JobStore (queued → running → failed | cancelled |
// interrupted) and saveImage (→ done), over real SQLite. The job's status is rolled up from its generations, and
// impossible transitions are refused. (HistoryService has no lifecycle methods of its own: issue #15 §6.)
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { JobParams, Sweep } from '../../../src-shared/generation';
import { removeTempDirs, tempDir } from '../../testing/temp';
import { makeMeta, makePixels } from '../../testing/history/fixtures';
import { openDatabase } from '../db';
import { HistoryService } from '../history/service';
import { JobStore } from './store';
import { expandSweep } from './sweep';

afterAll(removeTempDirs);

const params: JobParams = { prompt: 'a lighthouse at dawn', negativePrompt: '', model: 'sd3.5-large-turbo', steps: 4, guidance: 0, width: 64, height: 64, t5: false };
const run = { ep: 'cpu', memory: 'low' };

function setup() {
  const dataDir = tempDir('sd35-lifecycle-');
  const db = openDatabase(path.join(dataDir, 'studio.db'));
  let t = 1_000;
  const now = () => ++t;
  return { db, store: new JobStore(db, now), history: new HistoryService({ db, dataDir, now }), now };
}

describe('the generation lifecycle (JobStore + saveImage)', () => {
  it('a job of five: running → done by saveImage, failed, cancelled, interrupted; the job rolls up to failed', async () => {
    const { db, store, history, now } = setup();
    try {
      const sweep: Sweep = { seeds: { mode: 'list', seeds: ['7', '8', '9', '10', '9007199254740993'] } };
      const { jobId, generationIds } = store.insert(params, sweep, expandSweep(params, sweep), { owner: 'queue', run });
      const [g1, g2, g3, g4, g5] = generationIds as [number, number, number, number, number];
      expect(store.require(jobId).status).toBe('queued');
      store.markRunning(store.runnable(g1), now());
      expect(store.require(jobId).status).toBe('running');
      const saved = await history.saveImage({ generationId: g1, pixels: makePixels(64, 64), meta: makeMeta({ seed: '7', width: 64, height: 64 }), timings: { denoiseMs: 1234 } });
      expect(saved.id).toBe(g1);
      expect(history.get(g1)).toMatchObject({ status: 'done', timings: { denoiseMs: 1234 }, jobId });
      store.markRunning(store.runnable(g2), now());
      store.markFailed(g2, 'The worker ran out of memory.', now());
      store.markCancelled(g3, now());
      store.markRunning(store.runnable(g4), now());
      store.markInterrupted(g4, 'The studio was closed while this image was being made.', now());
      expect(store.require(jobId).status).toBe('running'); // g5 is still queued: the job has work left
      store.markRunning(store.runnable(g5), now());
      await history.saveImage({ generationId: g5, pixels: makePixels(64, 64), meta: makeMeta({ seed: '9007199254740993', width: 64, height: 64 }) });
      expect(store.require(jobId).generations.map((g) => [g.id, g.status])).toEqual([
        [g1, 'done'],
        [g2, 'failed'],
        [g3, 'cancelled'],
        [g4, 'interrupted'],
        [g5, 'done'],
      ]);
      expect(db.prepare('SELECT error FROM generations WHERE id = ?').get(g2)).toEqual({ error: 'The worker ran out of memory.' });
      expect(store.require(jobId).status).toBe('failed');
      expect(history.get(g5).seed).toBe('9007199254740993');
    } finally {
      db.close();
    }
  });

  it('a done image sent to the trash is marked imageInTrash in the job view (the card asks for no thumbnail); Undo clears it; purged, it leaves the job', async () => {
    const { db, store, history, now } = setup();
    try {
      const sweep: Sweep = { seeds: { mode: 'list', seeds: ['1', '2'] } };
      const { jobId, generationIds } = store.insert(params, sweep, expandSweep(params, sweep), { owner: 'queue', run });
      for (const [k, g] of generationIds.entries()) {
        store.markRunning(store.runnable(g), now());
        await history.saveImage({ generationId: g, pixels: makePixels(16, 16, k), meta: makeMeta({ seed: String(k + 1), width: 16, height: 16 }) });
      }
      const [a, b] = generationIds as [number, number];
      const gens = () => store.require(jobId).generations.map((g) => ({ id: g.id, imageId: g.imageId, imageInTrash: g.imageInTrash }));
      expect(gens()).toEqual([{ id: a, imageId: a, imageInTrash: undefined }, { id: b, imageId: b, imageInTrash: undefined }]);
      const { undoToken } = await history.delete([a]);
      expect(gens()).toEqual([{ id: a, imageId: a, imageInTrash: true }, { id: b, imageId: b, imageInTrash: undefined }]);
      expect(store.list(undefined, 10).items.find((j) => j.id === jobId)!.generations[0]).toMatchObject({ imageId: a, imageInTrash: true });
      await history.restore(undoToken);
      expect(gens()[0]).toEqual({ id: a, imageId: a, imageInTrash: undefined });
      await history.delete([a]);
      await history.emptyTrash();
      expect(gens()).toEqual([{ id: b, imageId: b, imageInTrash: undefined }]);
    } finally {
      db.close();
    }
  });

  it('refuses impossible transitions with conflict, and unknown generations with not_found', async () => {
    const { db, store, history, now } = setup();
    try {
      const sweep: Sweep = { seeds: { mode: 'list', seeds: ['1'] } };
      const id = store.insert(params, sweep, expandSweep(params, sweep), { owner: 'queue', run }).generationIds[0]!;
      const gen = store.runnable(id);
      store.markCancelled(id, now());
      expect(() => store.markRunning(gen, now())).toThrow(expect.objectContaining({ code: 'conflict' }));
      expect(() => store.markFailed(id, 'late', now())).toThrow(expect.objectContaining({ code: 'conflict' }));
      await expect(history.saveImage({ generationId: id, pixels: makePixels(8, 8), meta: makeMeta() })).rejects.toMatchObject({ code: 'conflict' });
      expect(() => store.markCancelled(999_999, now())).toThrow(expect.objectContaining({ code: 'not_found' }));
    } finally {
      db.close();
    }
  });
});
