// The queue against a flood and hostile model references (#18): queued generations are capped, "Clear finished"
// deletes the cancelled and failed generations that have no image (prompts included), and browser mode queues
// installed model ids only — never a server path. Real SQLite, no worker (the CLI runtime has no runner; the
// browser-runtime core is paused so nothing runs).
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyModel } from '../../../e2e/support/tiny-model';
import type { JobParams, Sweep } from '../../../src-shared/generation';
import { isStudioError } from '../../../src-shared/errors';
import { removeTempDirs, tempDir } from '../../testing/temp';
import { nodeAdapters } from '../node-adapters';
import { StudioCore, type Runtime } from '../studio';
import { MAX_QUEUED_GENERATIONS } from './store';

let model: string;
beforeAll(async () => {
  model = path.join(tempDir('sd35-bounds-model-'), 'tiny-sd35');
  await writeTinyModel(model, { layout: 'optimum', io: 'fp16', size: 'micro' });
}, 60_000);
afterAll(removeTempDirs);

function params(over: Partial<JobParams> = {}): JobParams {
  return { prompt: 'a lighthouse at dusk', negativePrompt: 'blurry', model: 'sd3.5-medium', steps: 2, guidance: 0, width: 64, height: 64, t5: false, ...over };
}

const seeds = (count: number): Sweep => ({ seeds: { mode: 'consecutive', first: '1', count } });

async function open(runtime: Runtime): Promise<StudioCore> {
  const env = { HF_HOME: tempDir(), HF_ENDPOINT: 'http://127.0.0.1:9' };
  const core = await StudioCore.open({ dataDir: tempDir('sd35-bounds-'), adapters: nodeAdapters(env), env, runtime, appVersion: '0.0.0-test' });
  core.jobs.pause();
  return core;
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (err) {
    return isStudioError(err) ? err.code : String(err);
  }
  return undefined;
}

const count = (core: StudioCore, sql: string) => (core.db.prepare(sql).get() as { n: number }).n;

describe('queue bounds', () => {
  it(`holds at most ${MAX_QUEUED_GENERATIONS} queued generations; a submit past it is a clear conflict and adds nothing`, async () => {
    const core = await open('cli');
    try {
      expect(MAX_QUEUED_GENERATIONS).toBe(512);
      let accepted = 0;
      let refused: unknown;
      // A flood of full sweeps (bounded: twice the cap's worth of submits).
      for (let k = 0; k < (2 * MAX_QUEUED_GENERATIONS) / 64; k++) {
        try {
          await core.api['jobs.submit']({ params: params({ prompt: `flood ${k}` }), sweep: seeds(64) });
          accepted++;
        } catch (err) {
          refused ??= err;
        }
      }
      expect(accepted).toBe(MAX_QUEUED_GENERATIONS / 64);
      expect(count(core, `SELECT count(*) AS n FROM generations WHERE status = 'queued'`)).toBe(MAX_QUEUED_GENERATIONS);
      expect(isStudioError(refused, 'conflict')).toBe(true);
      expect((refused as Error).message).toMatch(/at most 512 may wait/);
      // Cancelling frees room again.
      const first = (await core.api['jobs.list']({ limit: 200 })).items.at(-1)!;
      await core.api['jobs.cancel']({ jobId: first.id });
      expect((await core.api['jobs.submit']({ params: params(), sweep: seeds(64) })).generationIds).toHaveLength(64);
    } finally {
      core.close();
    }
  });

  it('"Clear finished" deletes cancelled generations without an image, with their prompts and empty jobs', async () => {
    const core = await open('cli');
    try {
      const secret = 'a prompt that must not stay behind';
      for (let k = 0; k < 3; k++) {
        const { jobId } = await core.api['jobs.submit']({ params: params({ prompt: `${secret} ${k}` }), sweep: seeds(4) });
        await core.api['jobs.cancel']({ jobId });
      }
      const kept = await core.api['jobs.submit']({ params: params({ prompt: 'still queued' }), sweep: seeds(2) });
      expect(count(core, 'SELECT count(*) AS n FROM generations')).toBe(14);
      expect(await core.api['jobs.clearFinished']({})).toEqual({ cleared: 3 });
      expect(count(core, 'SELECT count(*) AS n FROM generations')).toBe(2);
      expect(count(core, `SELECT count(*) AS n FROM generations WHERE prompt LIKE '${secret}%'`)).toBe(0);
      expect(count(core, `SELECT count(*) AS n FROM jobs WHERE params LIKE '%${secret}%'`)).toBe(0);
      expect((await core.api['jobs.list']({})).items.map((j) => j.id)).toEqual([kept.jobId]);
    } finally {
      core.close();
    }
  });

  it('browser mode queues installed model ids only: a server path as the model or a model-axis value is refused', async () => {
    const core = await open('browser');
    try {
      const { id } = await core.api['models.import']({ folder: model });
      const hostile = ['/', '/proc/self', '../../../etc', model];
      for (const ref of hostile) {
        expect(await codeOf(core.api['jobs.submit']({ params: params({ model: ref }), sweep: seeds(1) })), ref).toBe('invalid_input');
        expect(await codeOf(core.api['jobs.submit']({ params: params({ model: id }), sweep: { seeds: { mode: 'list', seeds: ['1'] }, axis: { kind: 'model', values: [id, ref] } } })), ref).toBe('invalid_input');
      }
      expect(count(core, 'SELECT count(*) AS n FROM jobs')).toBe(0);
      const ok = await core.api['jobs.submit']({ params: params({ model: id }), sweep: { seeds: { mode: 'list', seeds: ['1'] }, axis: { kind: 'model', values: [id] } } });
      expect(ok.generationIds).toHaveLength(1);
    } finally {
      core.close();
    }
  });
});
