// Issue 18 §3: "cancel while a model loads stops the worker". A hostile graph can hold ONNX Runtime's session
// creation for minutes, and a cancel cannot reach into it; jobs.cancel must force-stop the worker instead of
// waiting for the load. The worker is held inside the model load by the SD35_TEST_HOLD=model-load hold point
// (deaf to cancel, as a long session creation is), over real SQLite and the real worker. Needs `npm run -s build`.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyModel } from '../../../e2e/support/tiny-model';
import type { JobParams } from '../../../src-shared/generation';
import type { InferenceHost } from '../../inference/host';
import { REPO } from '../../testing/processes';
import { waitUntil } from '../../testing/poll';
import { removeTempDirs, tempDir } from '../../testing/temp';
import { nodeAdapters } from '../node-adapters';
import { StudioCore } from '../studio';
import type { ModelHost } from './model-host';

const WORKER = path.join(REPO, 'out', 'main', 'worker.js');
let model: string;

beforeAll(async () => {
  model = path.join(tempDir('sd35-cancel-load-'), 'tiny-sd35');
  await writeTinyModel(model, { layout: 'optimum', io: 'fp16', size: 'micro' });
}, 60_000);
afterAll(removeTempDirs);

function params(over: Partial<JobParams> = {}): JobParams {
  return { prompt: 'a lighthouse at dusk', negativePrompt: '', model, steps: 2, guidance: 0, width: 64, height: 64, t5: true, ...over };
}

function until(test: () => boolean, what: string): Promise<void> {
  return waitUntil(test, what, 1200, 50);
}

describe('jobs.cancel while the worker loads the model', () => {
  it('force-stops the worker held inside the model load; the next job runs on a fresh worker', async () => {
    const env = { ...process.env, SD35_ORT_THREADS: '1', HF_ENDPOINT: 'http://127.0.0.1:9', SD35_TEST_MODE: '1', SD35_TEST_HOLD: 'model-load' };
    const core = await StudioCore.open({ dataDir: tempDir(), adapters: nodeAdapters(env), env, runtime: 'electron', appVersion: '0.0.0-test', workerEntry: WORKER });
    const modelHost = (core.jobs as unknown as { o: { modelHost: ModelHost } }).o.modelHost;
    const host = (): InferenceHost | undefined => (modelHost.alive ? modelHost.get() : undefined);
    try {
      await core.api['settings.set']({ executionProvider: 'cpu', memoryMode: 'fast' });
      const held = await core.api['jobs.submit']({ params: params(), sweep: { seeds: { mode: 'list', seeds: ['1', '2'] } } });
      await until(() => host()?.loading === true, 'the worker to be held inside the model load');
      const h = host()!;
      const heldPid = h.pid;
      expect(heldPid).toBeGreaterThan(0);
      expect(h.stats).toMatchObject({ spawns: 1, loads: 0, forceStops: 0, cancelsWhileLoading: 0 });
      // The next worker is not held (the host reads its env when it spawns one).
      const { SD35_TEST_HOLD: _hold, ...free } = h.env;
      h.env = free;

      expect((await core.api['jobs.cancel']({ jobId: held.jobId })).cancelled).toBe(2);
      await until(() => core.jobs.store.require(held.jobId).status === 'cancelled', 'the cancelled job');
      expect(core.jobs.store.require(held.jobId).generations.map((g) => g.status)).toEqual(['cancelled', 'cancelled']);
      // Force-stopped (not waited for): one force stop, counted as a cancel during a load, not a crash.
      expect(h.stats).toMatchObject({ forceStops: 1, cancelsWhileLoading: 1, crashes: 0, loads: 0 });
      await until(() => !isAlive(heldPid!), 'the held worker process to be gone');

      const next = await core.api['jobs.submit']({ params: params(), sweep: { seeds: { mode: 'list', seeds: ['3'] } } });
      await until(() => core.jobs.store.require(next.jobId).status === 'done', 'the next job');
      expect(core.jobs.store.require(next.jobId).generations[0]!.status).toBe('done');
      expect(h.stats).toMatchObject({ spawns: 2, loads: 1, forceStops: 1, crashes: 0 });
      expect(h.pid).not.toBe(heldPid);
    } finally {
      core.close();
    }
  }, 180_000);
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
