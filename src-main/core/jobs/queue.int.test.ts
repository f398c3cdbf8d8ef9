// The job queue over real SQLite files and the real inference worker (out/main/worker.js, a tiny fp16 model):
// submit order, the parameter snapshot, sweeps with their own parameters per row, cancel mid-step at the test
// hold point, retry, restart (running → interrupted, queued resumes on its own, orphaned CLI work is never
// started), and the effect of every jobs.* handler (rows, files, events). Needs `npm run -s build`.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyModel } from '../../../e2e/support/tiny-model';
import type { EventName, PayloadOf } from '../../../src-shared/api';
import type { JobParams } from '../../../src-shared/generation';
import { REPO } from '../../testing/processes';
import { removeTempDirs, tempDir } from '../../testing/temp';
import { createDispatcher } from '../../transport/dispatch';
import { nodeAdapters } from '../node-adapters';
import { StudioCore } from '../studio';
import { waitUntil } from '../../testing/poll';

const WORKER = path.join(REPO, 'out', 'main', 'worker.js');
const BIG_SEED = '6952411511246973023';
let model: string;

beforeAll(async () => {
  model = path.join(tempDir('sd35-queue-model-'), 'tiny-sd35');
  await writeTinyModel(model, { layout: 'optimum', io: 'fp16', size: 'micro' });
}, 60_000);
afterAll(removeTempDirs);

function params(over: Partial<JobParams> = {}): JobParams {
  return { prompt: 'a lighthouse at dusk', negativePrompt: 'blurry', model, steps: 2, guidance: 0, width: 64, height: 64, t5: true, ...over };
}

type Recorded = { [E in EventName]?: PayloadOf<E>[] };

// The desktop runtime by default: these tests queue model folders by path, which browser mode refuses
// (handlers/jobs.ts; queue-bounds.int.test.ts covers that).
async function open(dataDir: string, o: { runtime?: 'electron' | 'browser' | 'cli'; env?: NodeJS.ProcessEnv } = {}) {
  const env = { ...process.env, SD35_ORT_THREADS: '1', HF_ENDPOINT: 'http://127.0.0.1:9', ...o.env };
  const notified: { title: string; body: string; jobId?: number }[] = [];
  let blocked = 0;
  const adapters = {
    ...nodeAdapters(env),
    notifier: { notify: (title: string, body: string, opts?: { jobId?: number }) => void notified.push({ title, body, ...(opts?.jobId !== undefined ? { jobId: opts.jobId } : {}) }) },
    power: {
      block: () => {
        blocked++;
        return () => void blocked--;
      },
    },
  };
  const core = await StudioCore.open({ dataDir, adapters, env, runtime: o.runtime ?? 'electron', appVersion: '0.0.0-test', workerEntry: WORKER });
  const events: Recorded = {};
  core.events.subscribe((name, payload) => {
    ((events[name] ??= []) as unknown[]).push(payload);
  });
  await core.api['settings.set']({ executionProvider: 'cpu', memoryMode: 'fast' });
  return { core, events, notified, blocked: () => blocked };
}

/** Resolves once `test` is true, checking every 50 ms (bounded by the number of checks, not the clock). */
function until(test: () => boolean, what: string, ms = 60_000): Promise<void> {
  return waitUntil(test, what, Math.ceil(ms / 50), 50);
}

function pngsUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => f.endsWith('.png'));
}

function jobDone(core: StudioCore, jobId: number): boolean {
  const s = core.jobs.store.require(jobId).status;
  return s !== 'queued' && s !== 'running';
}

describe('the job queue', () => {
  it('runs jobs in submit order, one generation at a time, each with its own parameters in its row; the snapshot never changes', async () => {
    const { core, events, notified, blocked } = await open(tempDir());
    try {
      await core.api['jobs.pause']({});
      const a = await core.api['jobs.submit']({ params: params(), sweep: { seeds: { mode: 'consecutive', first: BIG_SEED, count: 2 } } });
      const b = await core.api['jobs.submit']({ params: params({ prompt: 'a red cube' }), sweep: { seeds: { mode: 'list', seeds: ['7'] }, axis: { kind: 'guidance', values: [0, 2.5] } } });
      // The form changing afterwards (here: the settings) does not reach submitted jobs.
      await core.api['settings.set']({ memoryMode: 'low' });
      const row = core.db.prepare('SELECT params FROM jobs WHERE id = ?').get(a.jobId) as { params: string };
      expect(JSON.parse(row.params)).toMatchObject({ memory: 'fast', ep: 'cpu', prompt: 'a lighthouse at dusk', steps: 2 });
      const gens = core.db.prepare('SELECT id, seed, guidance, axis_value, status FROM generations WHERE job_id = ? ORDER BY idx').all(b.jobId);
      expect(gens).toEqual([
        { id: b.generationIds[0], seed: '7', guidance: 0, axis_value: '0', status: 'queued' },
        { id: b.generationIds[1], seed: '7', guidance: 2.5, axis_value: '2.5', status: 'queued' },
      ]);
      await new Promise((r) => setTimeout(r, 300));
      expect(events['job.progress'] ?? []).toHaveLength(0); // paused: nothing ran

      await core.api['jobs.resume']({});
      await until(() => jobDone(core, a.jobId) && jobDone(core, b.jobId), 'both jobs');
      const done = (events['job.generationDone'] ?? []).map((e) => e.generationId);
      expect(done).toEqual([...a.generationIds, ...b.generationIds]);
      expect(events['job.generationDone']![0]!.seed).toBe(BIG_SEED); // the 64-bit seed, exact, in the event
      // One at a time: each generation's steps arrive before the next one's first step.
      const stepsOrder = (events['job.progress'] ?? []).map((e) => e.generationId);
      expect(stepsOrder).toEqual(done.flatMap((id) => [id, id]));
      const last = events['job.progress']!.at(-1)!;
      expect(last.progress).toEqual({ task: 'generate', unit: 'steps', status: 'running', done: 2, total: 2, rate: expect.any(Number), etaMs: 0 });
      expect(last.preview?.pngBase64.length).toBeGreaterThan(10);

      const page = await core.api['jobs.list']({ limit: 10 });
      expect(page.items.map((j) => j.id)).toEqual([b.jobId, a.jobId]);
      expect(page.counts).toMatchObject({ done: 2, queued: 0 });
      const ja = page.items[1]!;
      expect(ja.generations.map((g) => g.seed)).toEqual([BIG_SEED, '6952411511246973024']);
      expect(ja.params.model).toBe(model);
      for (const g of [...ja.generations, ...page.items[0]!.generations]) {
        expect(g.status).toBe('done');
        expect(g.imageId).toBe(g.id);
        expect(fs.existsSync(core.history.imagePath(g.imageId!)!)).toBe(true);
      }
      // Through the contract's JSON as a transport sends it: still exact.
      expect(JSON.parse(JSON.stringify(page)).items[1].generations[0].seed).toBe(BIG_SEED);
      const detail = await core.api['gallery.get']({ id: ja.generations[0]!.imageId! });
      expect(detail.seed).toBe(BIG_SEED);
      expect((await core.api['gallery.get']({ id: b.generationIds[1]! })).guidance).toBe(2.5);
      // The second run of the same model and size had a measured step time, so an ETA from the first step on.
      expect(events['job.progress']!.slice(2).every((e) => e.progress.etaMs !== null)).toBe(true);
      expect(notified.map((n) => n.jobId)).toEqual([a.jobId, b.jobId]);
      expect(notified[0]!.title).toBe('2 images ready');
      expect(blocked()).toBe(0); // the power blocker was released when the queue went idle
    } finally {
      core.close();
    }
  }, 120_000);

  it('jobs.cancel with a generationId cancels that generation only: a queued one is skipped, the running one stops, the rest of the job runs', async () => {
    const dataDir = tempDir();
    const held = await open(dataDir, { env: { SD35_TEST_MODE: '1', SD35_TEST_HOLD: 'after-step:1' } });
    try {
      const r = await held.core.api['jobs.submit']({ params: params(), sweep: { seeds: { mode: 'consecutive', first: '1', count: 3 } } });
      const [g0, g1, g2] = r.generationIds as [number, number, number];
      const reached = (id: number) => (held.events['job.progress'] ?? []).some((e) => e.generationId === id && e.progress.done === 1);
      await until(() => reached(g0), 'step 1 of the first generation');
      // A queued generation: cancelled, the others untouched.
      expect((await held.core.api['jobs.cancel']({ generationId: g2 })).cancelled).toBe(1);
      expect(held.core.jobs.store.require(r.jobId).generations.map((g) => g.status)).toEqual(['running', 'queued', 'cancelled']);
      // The running one: it stops, and the job goes on with the next.
      expect((await held.core.api['jobs.cancel']({ generationId: g0 })).cancelled).toBe(1);
      await until(() => reached(g1), 'step 1 of the second generation');
      expect(held.core.jobs.store.generation(g0)?.status).toBe('cancelled');
      expect(held.core.jobs.store.require(r.jobId).status).toBe('running');
      await held.core.api['jobs.cancel']({ jobId: r.jobId });
      await until(() => jobDone(held.core, r.jobId), 'the cancelled job');
      expect(held.core.jobs.store.require(r.jobId).generations.map((g) => g.status)).toEqual(['cancelled', 'cancelled', 'cancelled']);
      await expect(held.core.api['jobs.cancel']({ generationId: 999_999 })).rejects.toMatchObject({ code: 'not_found' });
    } finally {
      held.core.close();
    }
  }, 120_000);

  it('cancel mid-step (held at after-step:1) stops that generation; the job’s queued ones are cancelled too; retry runs them again', async () => {
    const dataDir = tempDir();
    const held = await open(dataDir, { env: { SD35_TEST_MODE: '1', SD35_TEST_HOLD: 'after-step:1' } });
    let jobId: number;
    try {
      const r = await held.core.api['jobs.submit']({ params: params(), sweep: { seeds: { mode: 'consecutive', first: '1', count: 2 } } });
      jobId = r.jobId;
      await until(() => (held.events['job.progress'] ?? []).some((e) => e.progress.done === 1), 'step 1');
      expect(held.core.jobs.store.generation(r.generationIds[0]!)).toMatchObject({ status: 'running', step: 1, total: 2 });
      const { cancelled } = await held.core.api['jobs.cancel']({ jobId });
      expect(cancelled).toBe(2);
      await until(() => jobDone(held.core, jobId), 'the cancelled job');
      const job = held.core.jobs.store.require(jobId);
      expect(job.status).toBe('cancelled');
      expect(job.generations.map((g) => g.status)).toEqual(['cancelled', 'cancelled']);
      expect(held.events['job.generationDone'] ?? []).toHaveLength(0);
      expect(pngsUnder(path.join(dataDir, 'images'))).toEqual([]);
    } finally {
      held.core.close();
    }
    const again = await open(dataDir);
    try {
      const retried = await again.core.api['jobs.retry']({ jobId: jobId! });
      expect(retried.generationIds).toHaveLength(2);
      await until(() => jobDone(again.core, jobId), 'the retried job');
      expect(again.core.jobs.store.require(jobId!).generations.map((g) => g.status)).toEqual(['done', 'done']);
      await expect(again.core.api['jobs.retry']({ generationId: retried.generationIds[0]! })).rejects.toMatchObject({ code: 'conflict' });
    } finally {
      again.core.close();
    }
  }, 120_000);

  it('quit while a generation runs → interrupted (retryable); queued work survives and starts on its own after restart', async () => {
    const dataDir = tempDir();
    const first = await open(dataDir, { env: { SD35_TEST_MODE: '1', SD35_TEST_HOLD: 'after-step:1' } });
    const r = await first.core.api['jobs.submit']({ params: params(), sweep: { seeds: { mode: 'list', seeds: ['11', '12'] } } });
    await until(() => (first.events['job.progress'] ?? []).some((e) => e.progress.done === 1), 'step 1');
    first.core.close();

    const second = await open(dataDir);
    try {
      await until(() => second.core.jobs.store.generation(r.generationIds[1]!)?.status === 'done', 'the queued generation after restart');
      const job = second.core.jobs.store.require(r.jobId);
      expect(job.generations.map((g) => g.status)).toEqual(['interrupted', 'done']);
      expect(job.status).toBe('interrupted');
      expect((await second.core.api['jobs.list']({})).counts.interrupted).toBe(1);
      await second.core.api['jobs.retry']({ generationId: r.generationIds[0]! });
      await until(() => jobDone(second.core, r.jobId), 'the retried generation');
      expect(second.core.jobs.store.require(r.jobId).status).toBe('done');
    } finally {
      second.core.close();
    }
  }, 120_000);

  it('the remaining generations of a standalone CLI run whose process died become interrupted, never started', async () => {
    const dataDir = tempDir();
    const cli = await open(dataDir, { runtime: 'cli' });
    const r = cli.core.jobs.submit(params(), { seeds: { mode: 'consecutive', first: '100', count: 3 } }, { owner: 'cli' });
    cli.core.close(); // the CLI process "died" before running its job
    const app = await open(dataDir);
    try {
      await new Promise((res) => setTimeout(res, 800));
      const job = app.core.jobs.store.require(r.jobId);
      expect(job.owner).toBe('cli');
      expect(job.generations.map((g) => g.status)).toEqual(['interrupted', 'interrupted', 'interrupted']);
      expect(app.events['job.progress'] ?? []).toHaveLength(0);
      const page = await app.core.api['jobs.list']({});
      expect(page.items[0]!.generations[0]!.error).toMatch(/command-line run/);
    } finally {
      app.core.close();
    }
  }, 60_000);

  it('switches the worker’s model when the next generation uses another one (a model axis), and releases it when idle', async () => {
    const other = path.join(path.dirname(model), 'tiny-sd35-fp32');
    await writeTinyModel(other, { layout: 'tensorstack', io: 'fp32', size: 'micro' });
    const { core } = await open(tempDir());
    try {
      await core.api['settings.set']({ idleUnloadMinutes: 0 });
      const r = await core.api['jobs.submit']({ params: params(), sweep: { seeds: { mode: 'list', seeds: ['5'] }, axis: { kind: 'model', values: [model, other] } } });
      await until(() => jobDone(core, r.jobId), 'the model sweep');
      const [a, b] = core.jobs.store.require(r.jobId).generations;
      expect([a!.status, b!.status, a!.axisValue, b!.axisValue]).toEqual(['done', 'done', model, other]);
      expect((await core.api['gallery.get']({ id: a!.imageId! })).model).toBe('tiny-sd35');
      expect((await core.api['gallery.get']({ id: b!.imageId! })).model).toBe('tiny-sd35-fp32');
      // idleUnloadMinutes 0: the worker (and its model) is released as soon as the queue is empty.
      const host = (core.jobs as unknown as { o: { modelHost: { alive: boolean } } }).o.modelHost;
      await until(() => !host.alive, 'the idle unload', 10_000);
    } finally {
      core.close();
    }
  }, 120_000);

  it('jobs.* handlers do what they say: 64-cap, list pages and counts, moveToFront, clearFinished, pause/resume events, unloadModel', async () => {
    const { core, events } = await open(tempDir());
    const dispatch = createDispatcher(core.api);
    try {
      const tooMany = await dispatch('jobs.submit', { params: params(), sweep: { seeds: { mode: 'random', count: 33 }, axis: { kind: 'steps', values: [1, 2] } } });
      expect(tooMany).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
      expect(core.db.prepare('SELECT count(*) AS n FROM jobs').get()).toEqual({ n: 0 });
      const badSeed = await dispatch('jobs.submit', { params: params(), sweep: { seeds: { mode: 'list', seeds: ['18446744073709551616'] } } });
      expect(badSeed).toMatchObject({ ok: false, error: { code: 'invalid_input' } });

      expect(await core.api['jobs.pause']({})).toEqual({ paused: true });
      expect(events['job.changed']!.at(-1)).toEqual({ jobId: null, status: null, generations: [], queuePaused: true });
      const ids: number[] = [];
      for (let k = 0; k < 3; k++) ids.push((await core.api['jobs.submit']({ params: params({ prompt: `job ${k}` }), sweep: { seeds: { mode: 'list', seeds: [String(k)] } } })).jobId);
      expect(await core.api['jobs.moveToFront']({ jobId: ids[2]! })).toEqual({ moved: true });
      const page1 = await core.api['jobs.list']({ limit: 2 });
      expect(page1.items.map((j) => j.id)).toEqual([ids[2], ids[1]]);
      expect(page1.nextCursor).not.toBeNull();
      const page2 = await core.api['jobs.list']({ limit: 2, cursor: page1.nextCursor! });
      expect(page2.items.map((j) => j.id)).toEqual([ids[0]]);
      expect(page2.nextCursor).toBeNull();
      expect(page1.counts).toMatchObject({ queued: 3 });
      expect(page1.queue.paused).toBe(true);

      await core.api['jobs.resume']({});
      await until(() => ids.every((id) => jobDone(core, id)), 'three jobs');
      const order = (events['job.generationDone'] ?? []).map((e) => e.jobId);
      expect(order).toEqual([ids[2], ids[0], ids[1]]);
      expect(await core.api['jobs.moveToFront']({ jobId: ids[0]! })).toEqual({ moved: false }); // finished

      const images = ids.map((id) => core.jobs.store.require(id).generations[0]!.imageId!);
      expect(await core.api['jobs.clearFinished']({})).toEqual({ cleared: 3 });
      expect((await core.api['jobs.list']({})).items).toEqual([]);
      for (const id of images) expect(fs.existsSync(core.history.imagePath(id)!)).toBe(true); // the images stay

      const pid = (core.jobs as unknown as { o: { modelHost: { get(): { pid?: number } } } }).o.modelHost.get().pid;
      expect(await core.api['jobs.unloadModel']({})).toEqual({ unloaded: true });
      if (pid) expect(() => process.kill(pid, 0)).toThrow();
      expect(await core.api['jobs.unloadModel']({})).toEqual({ unloaded: false });

      const failing = await core.api['jobs.submit']({ params: params({ model: path.join(path.dirname(model), 'missing') }), sweep: { seeds: { mode: 'list', seeds: ['1', '2'] } } });
      await until(() => jobDone(core, failing.jobId), 'the failing job');
      expect((events['job.failed'] ?? []).map((e) => e.generationId)).toEqual(failing.generationIds);
      expect(core.jobs.store.require(failing.jobId).generations.map((g) => g.status)).toEqual(['failed', 'failed']);
      await expect(core.api['jobs.cancel']({ jobId: 999_999 })).rejects.toMatchObject({ code: 'not_found' });
    } finally {
      core.close();
    }
  }, 120_000);
});
