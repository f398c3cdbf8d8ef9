// The prompt is stored once per job (#18 §3): new generations hold '' until they start, and migration 401 empties
// the copies an existing database holds in generations with no image — tested by upgrading a database WITH rows
// written the way version 400 wrote them.
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { JobParams, Sweep } from '../../../src-shared/generation';
import { removeTempDirs, tempDir } from '../../testing/temp';
import { makeMeta, makePixels } from '../../testing/history/fixtures';
import { openDatabase, schemaVersion, latestVersion } from '../db';
import { ALL_MIGRATIONS } from '../migrations';
import { HistoryService } from '../history/service';
import { JobStore } from './store';
import { expandSweep } from './sweep';

afterAll(removeTempDirs);

const PROMPT = 'a lighthouse at dusk';
const NEGATIVE = 'blurry';
const params: JobParams = { prompt: PROMPT, negativePrompt: NEGATIVE, model: 'sd3.5-medium', steps: 2, guidance: 0, width: 64, height: 64, t5: false };
const sweep: Sweep = { seeds: { mode: 'consecutive', first: '10', count: 4 } };
const run = { ep: 'cpu', memory: 'fast' };

const promptsOf = (db: ReturnType<typeof openDatabase>, ids: number[]) =>
  ids.map((id) => db.prepare('SELECT prompt, negative_prompt AS negative FROM generations WHERE id = ?').get(id) as { prompt: string; negative: string });

describe('the prompt once per job', () => {
  it('a new submit of 64 stores its prompt in the job only; a generation takes its copy when it starts', () => {
    const db = openDatabase(path.join(tempDir('sd35-prompt-'), 'studio.db'));
    try {
      const store = new JobStore(db);
      const big: Sweep = { seeds: { mode: 'consecutive', first: '1', count: 64 } };
      const { generationIds } = store.insert(params, big, expandSweep(params, big), { owner: 'queue', run });
      expect((db.prepare(`SELECT count(*) AS n FROM generations WHERE prompt <> '' OR negative_prompt <> ''`).get() as { n: number }).n).toBe(0);
      const gen = store.runnable(generationIds[0]!);
      expect([gen.params.prompt, gen.params.negativePrompt]).toEqual([PROMPT, NEGATIVE]);
      store.markRunning(gen, 1);
      expect(promptsOf(db, [generationIds[0]!, generationIds[1]!])).toEqual([
        { prompt: PROMPT, negative: NEGATIVE },
        { prompt: '', negative: '' },
      ]);
    } finally {
      db.close();
    }
  });

  it('migration 401 upgrades a database with rows: imageless queued/cancelled/failed copies go, done and running ones stay, search still finds the image', async () => {
    const dataDir = tempDir('sd35-prompt-');
    const file = path.join(dataDir, 'studio.db');
    const old = openDatabase(file, { migrations: ALL_MIGRATIONS.filter((m) => m.version <= 400) });
    let ids: number[];
    let other: number;
    try {
      expect(schemaVersion(old)).toBe(400);
      const store = new JobStore(old);
      ids = store.insert(params, sweep, expandSweep(params, sweep), { owner: 'queue', run }).generationIds;
      other = store.insert({ ...params, prompt: 'a red cube' }, { seeds: { mode: 'list', seeds: ['1'] } }, expandSweep({ ...params, prompt: 'a red cube' }, { seeds: { mode: 'list', seeds: ['1'] } }), { owner: 'queue', run }).generationIds[0]!;
      // Version 400 wrote the prompt into every generation.
      old.prepare('UPDATE generations SET prompt = ?, negative_prompt = ? WHERE id IN (?, ?, ?, ?)').run(PROMPT, NEGATIVE, ...ids);
      // A generation whose prompt is not its job's (hand-edited or from an older tool) keeps it.
      old.prepare('UPDATE generations SET prompt = ? WHERE id = ?').run('another prompt', other);
      const history = new HistoryService({ db: old, dataDir });
      history.generations.markRunning(ids[0]!, history.now());
      await history.saveImage({ generationId: ids[0]!, pixels: makePixels(64, 64, 0), meta: makeMeta({ seed: '10', prompt: PROMPT, negativePrompt: NEGATIVE, width: 64, height: 64 }) });
      store.generations.markCancelled(ids[1]!, 2);
      store.generations.markFailed(ids[2]!, 'boom', 3);
      // ids[3] stays queued.
    } finally {
      old.close();
    }

    const db = openDatabase(file);
    try {
      expect(schemaVersion(db)).toBe(latestVersion(ALL_MIGRATIONS));
      expect(promptsOf(db, ids)).toEqual([
        { prompt: PROMPT, negative: NEGATIVE },
        { prompt: '', negative: '' },
        { prompt: '', negative: '' },
        { prompt: '', negative: '' },
      ]);
      expect(promptsOf(db, [other])[0]!.prompt).toBe('another prompt');
      const store = new JobStore(db);
      expect(store.runnable(ids[3]!).params).toMatchObject({ prompt: PROMPT, negativePrompt: NEGATIVE });
      expect(store.runnable(ids[2]!).params).toMatchObject({ prompt: PROMPT, negativePrompt: NEGATIVE });
      expect((db.prepare(`SELECT count(*) AS n FROM prompt_fts WHERE prompt_fts MATCH 'lighthouse'`).get() as { n: number }).n).toBe(1);
    } finally {
      db.close();
    }
  });
});
