// Saved comparisons over a real SQLite file with real gallery images: create/get/list/rename/delete,
// ordering, validation, and what deleting an image does (trash: left out until restored; purge: the
// item is gone, the comparison stays).
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { isStudioError } from '../../../src-shared/errors';
import { removeTempDirs } from '../../testing/temp';
import type { Db } from '../db';
import { HistoryService } from '../history/service';
import { makeMeta, makePixels, openTestDb, tempDataDir } from '../../testing/history/fixtures';
import { ComparisonStore } from './comparisons';

const open: Db[] = [];
afterEach(() => {
  while (open.length) open.pop()!.close();
});
afterAll(removeTempDirs);

let clock = Date.UTC(2026, 0, 1);
function setup(): { history: HistoryService; store: ComparisonStore; db: Db } {
  const dir = tempDataDir('sd35-compare-');
  const db = openTestDb(dir);
  open.push(db);
  const history = new HistoryService({ db, dataDir: dir });
  return { history, store: new ComparisonStore(db, { now: () => (clock += 1000) }), db };
}

async function images(history: HistoryService, n: number): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < n; i++) ids.push((await history.saveImage({ pixels: makePixels(32, 32, i), meta: makeMeta({ seed: String(1000 + i) }) })).id);
  return ids;
}

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return isStudioError(err) ? err.code : 'other';
  }
  return undefined;
}

describe('ComparisonStore', () => {
  it('creates a comparison in the given order and reads it back with its images', async () => {
    const { history, store } = setup();
    const [a, b, c] = await images(history, 3);
    const created = store.create({ imageIds: [c!, a!, b!], name: '  seeds  ', jobId: 9 });
    expect(created).toMatchObject({ name: 'seeds', jobId: 9, imageIds: [c, a, b], trashed: 0 });
    expect(created.items.map((i) => [i.id, i.seed])).toEqual([
      [c, '1002'],
      [a, '1000'],
      [b, '1001'],
    ]);
    expect(store.get(created.id)).toEqual(created);
  });

  it('lists the most recently changed first; rename moves a comparison up and keeps its images', async () => {
    const { history, store } = setup();
    const ids = await images(history, 4);
    const first = store.create({ imageIds: ids.slice(0, 2) });
    const second = store.create({ imageIds: ids.slice(2), jobId: 4 });
    // Default names: the job, if any, and the first prompt's opening words.
    expect(first.name).toBe('a red fox in a misty…');
    expect(second.name).toBe('Job 4 · a red fox in a misty…');
    expect(store.list().map((c) => c.id)).toEqual([second.id, first.id]);
    const renamed = store.rename(first.id, 'the fox, best seed');
    expect(renamed).toMatchObject({ id: first.id, name: 'the fox, best seed', imageIds: ids.slice(0, 2) });
    expect(store.list().map((c) => [c.id, c.name])).toEqual([
      [first.id, 'the fox, best seed'],
      [second.id, 'Job 4 · a red fox in a misty…'],
    ]);
    expect(store.list(1)).toHaveLength(1);
  });

  it('delete forgets the comparison and leaves its images in the gallery', async () => {
    const { history, store, db } = setup();
    const ids = await images(history, 2);
    const c = store.create({ imageIds: ids });
    expect(store.delete(c.id)).toBe(true);
    expect(store.delete(c.id)).toBe(false);
    expect(code(() => store.get(c.id))).toBe('not_found');
    expect(store.list()).toEqual([]);
    expect((db.prepare(`SELECT count(*) AS n FROM comparison_items`).get() as { n: number }).n).toBe(0);
    expect(history.get(ids[0]!).id).toBe(ids[0]);
  });

  it('refuses unknown, trashed and repeated images and the wrong count', async () => {
    const { history, store } = setup();
    const ids = await images(history, 3);
    await history.delete([ids[2]!]);
    expect(code(() => store.create({ imageIds: [ids[0]!, 999_999] }))).toBe('not_found');
    expect(code(() => store.create({ imageIds: [ids[0]!, ids[2]!] }))).toBe('not_found');
    expect(code(() => store.create({ imageIds: [ids[0]!, ids[0]!] }))).toBe('invalid_input');
    expect(code(() => store.create({ imageIds: [ids[0]!] }))).toBe('invalid_input');
    expect(code(() => store.rename(12345, 'x'))).toBe('not_found');
    expect(code(() => store.rename(12345, '  '))).toBe('invalid_input');
    expect(store.list()).toEqual([]);
  });

  it('an image sent to the trash drops out of its comparisons and comes back with Undo', async () => {
    const { history, store } = setup();
    const ids = await images(history, 3);
    const c = store.create({ imageIds: ids });
    const { undoToken } = await history.delete([ids[1]!]);
    expect(store.get(c.id)).toMatchObject({ imageIds: [ids[0], ids[2]], trashed: 1 });
    expect(store.get(c.id).items.map((i) => i.id)).toEqual([ids[0], ids[2]]);
    expect(store.list()[0]?.imageIds).toEqual([ids[0], ids[2]]);
    await history.restore(undoToken);
    expect(store.get(c.id)).toMatchObject({ imageIds: ids, trashed: 0 });
  });

  it('an image removed for good (empty trash) leaves the comparison working without it', async () => {
    const { history, store, db } = setup();
    const ids = await images(history, 3);
    const c = store.create({ imageIds: ids });
    await history.delete([ids[0]!, ids[1]!]);
    await history.emptyTrash();
    const after = store.get(c.id);
    expect(after).toMatchObject({ id: c.id, imageIds: [ids[2]], trashed: 0 });
    expect(db.prepare(`SELECT position, image_id FROM comparison_items WHERE comparison_id = ?`).all(c.id)).toEqual([{ position: 2, image_id: ids[2] }]);
    store.rename(c.id, 'still here');
    expect(store.list()[0]).toMatchObject({ name: 'still here', imageIds: [ids[2]] });
  });

  it("a job's live images come back in generation order", async () => {
    const { history, store } = setup();
    const params = { prompt: 'a fox', negativePrompt: '', steps: 4, guidance: 0, width: 32, height: 32, model: 'sd3.5-large-turbo', memoryMode: 'low' };
    const { jobId, generationIds } = history.generations.createJob(params, ['5', '6', '7'], history.now());
    for (const [k, g] of generationIds.entries()) {
      history.generations.markRunning(g, history.now());
      await history.saveImage({ generationId: g, pixels: makePixels(32, 32, k), meta: makeMeta({ seed: String(5 + k), width: 32, height: 32 }) });
    }
    expect(store.jobImages(jobId)).toEqual(generationIds);
    await history.delete([generationIds[1]!]);
    expect(store.jobImages(jobId)).toEqual([generationIds[0], generationIds[2]]);
    expect(code(() => store.jobImages(jobId + 100))).toBe('not_found');
  });
});
