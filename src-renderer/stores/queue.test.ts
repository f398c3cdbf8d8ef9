import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { stepProgress } from '../../src-shared/progress';
import type { JobView } from '../../src-shared/schemas/jobs';
import { setStudio } from '../studio';
import { fakeClient, type FakeClient } from '../testing/fake-client';
import { keepUnchanged, patchGeneration, useQueueStore } from './queue';
import { useToastsStore } from './toasts';

function job(id: number, gens: [number, JobView['status']][], status: JobView['status'] = 'queued'): JobView {
  return {
    id,
    createdAt: '2026-01-01T00:00:00.000Z',
    finishedAt: null,
    status,
    owner: 'queue',
    params: { prompt: 'p', negativePrompt: '', model: 'm', steps: 4, guidance: 0, width: 64, height: 64, t5: true },
    sweep: { seeds: { mode: 'consecutive', first: '1000', count: gens.length } },
    generations: gens.map(([gid, s], k) => ({ id: gid, seed: String(1000 + k), status: s })),
  };
}
const counts = { queued: 1, running: 0, done: 0, failed: 0, cancelled: 0, interrupted: 0 };

describe('patchGeneration', () => {
  it('changes one generation in a copy; the job takes the status the core sent, else keeps its own', () => {
    const jobs = [job(1, [[10, 'running'], [11, 'queued']], 'running')];
    const next = patchGeneration(jobs, 10, { status: 'done', imageId: 5 })!;
    expect(next[0]!.generations[0]).toMatchObject({ status: 'done', imageId: 5 });
    expect(jobs[0]!.generations[0]!.status).toBe('running');
    expect(next[0]!.status).toBe('running');
    expect(patchGeneration(next, 11, { status: 'cancelled' }, 'cancelled')![0]!.status).toBe('cancelled');
    expect(patchGeneration(jobs, 99, { status: 'done' })).toBeUndefined();
  });
});

describe('keepUnchanged', () => {
  it('keeps the objects of unchanged jobs (their cards do not re-render) and the array when nothing changed', () => {
    const prev = [job(2, [[20, 'queued']]), job(1, [[10, 'running']], 'running')];
    const fresh = [job(2, [[20, 'queued']]), job(1, [[10, 'done']], 'done')];
    const out = keepUnchanged(prev, fresh);
    expect(out[0]).toBe(prev[0]);
    expect(out[1]).toBe(fresh[1]);
    const again = keepUnchanged(out, [job(2, [[20, 'queued']]), job(1, [[10, 'done']], 'done')]);
    expect(again).toBe(out);
    expect(keepUnchanged([], fresh)).toBe(fresh);
  });
});

describe('queue store', () => {
  let client: FakeClient;
  let listed: JobView[];
  beforeEach(() => {
    setActivePinia(createPinia());
    listed = [job(1, [[10, 'queued'], [11, 'queued']])];
    client = fakeClient({
      'jobs.list': () => ({ items: listed, nextCursor: null, counts, queue: { paused: false, loadedModel: null } }),
      'jobs.pause': () => ({ paused: true }),
      'jobs.resume': () => ({ paused: false }),
      'jobs.cancel': () => ({ cancelled: 2 }),
      // As the server does: finished jobs leave the list (and the counts the next jobs.list returns).
      'jobs.clearFinished': () => {
        const before = listed.length;
        listed = listed.filter((j) => j.status === 'queued' || j.status === 'running');
        return { cleared: before - listed.length };
      },
    });
    setStudio(client);
  });

  it('live progress updates the generation in place; the finished image shows at once, before any re-fetch', async () => {
    const q = useQueueStore();
    await q.ensureLoaded();
    const listCalls = () => client.calls.filter((c) => c.method === 'jobs.list').length;
    const before = listCalls();
    client.emit('job.progress', { jobId: 1, generationId: 10, progress: stepProgress({ step: 2, total: 4, elapsedMs: 100 }, 100), jobStatus: 'running', preview: { width: 8, height: 8, pngBase64: 'AAAA' } });
    expect(q.live.get(10)).toMatchObject({ progress: { task: 'generate', done: 2, total: 4, etaMs: 100 }, preview: 'data:image/png;base64,AAAA' });
    expect(q.jobs[0]!.generations[0]!.status).toBe('running');
    client.emit('job.progress', { jobId: 1, generationId: 10, progress: stepProgress({ step: 3, total: 4, elapsedMs: 150 }, 50), jobStatus: 'running' });
    expect(q.live.get(10)).toMatchObject({ progress: { done: 3 }, preview: 'data:image/png;base64,AAAA' }); // the last preview stays
    client.emit('job.generationDone', { jobId: 1, generationId: 10, imageId: 77, jobStatus: 'running' });
    expect(q.jobs[0]!.generations[0]).toMatchObject({ status: 'done', imageId: 77 });
    expect(q.jobs[0]!.status).toBe('running');
    expect(q.live.has(10)).toBe(false);
    expect(q.doneAt.has(77)).toBe(true);
    expect(q.lastPreview.get(10)).toBe('data:image/png;base64,AAAA'); // under the thumbnail until it loads
    expect(listCalls()).toBe(before); // shown before any round trip
  });

  it("shows the core's job status from each event, and does not flip when the re-fetch lands", async () => {
    vi.useFakeTimers();
    try {
      // The cases where a renderer-side roll-up disagreed with the core's: done + cancelled is cancelled,
      // failed + interrupted is failed, done + queued is running.
      listed = [job(1, [[10, 'running'], [11, 'cancelled']], 'running'), job(2, [[20, 'running'], [21, 'interrupted']], 'running'), job(3, [[30, 'running'], [31, 'queued']], 'running')];
      const q = useQueueStore();
      await q.ensureLoaded();
      client.emit('job.generationDone', { jobId: 1, generationId: 10, imageId: 5, jobStatus: 'cancelled' });
      client.emit('job.failed', { jobId: 2, generationId: 20, reason: 'out of memory', jobStatus: 'failed' });
      client.emit('job.generationDone', { jobId: 3, generationId: 30, imageId: 6, jobStatus: 'running' });
      const shown = () => q.jobs.map((j) => j.status);
      expect(shown()).toEqual(['cancelled', 'failed', 'running']);
      listed = [job(1, [[10, 'done'], [11, 'cancelled']], 'cancelled'), job(2, [[20, 'failed'], [21, 'interrupted']], 'failed'), job(3, [[30, 'done'], [31, 'queued']], 'running')];
      await vi.advanceTimersByTimeAsync(500);
      expect(shown()).toEqual(['cancelled', 'failed', 'running']);
    } finally {
      vi.useRealTimers();
    }
  });

  it('a failure is shown on its generation; status bursts cause one re-fetch', async () => {
    vi.useFakeTimers();
    const q = useQueueStore();
    await q.ensureLoaded();
    const before = client.calls.length;
    client.emit('job.failed', { jobId: 1, generationId: 11, reason: 'out of memory', jobStatus: 'failed' });
    client.emit('job.changed', { jobId: 1, status: 'failed', generations: [{ id: 10, status: 'cancelled' }], queuePaused: true });
    expect(q.jobs[0]!.generations[1]).toMatchObject({ status: 'failed', error: 'out of memory' });
    expect(q.paused).toBe(true);
    await vi.advanceTimersByTimeAsync(500);
    expect(client.calls.slice(before).filter((c) => c.method === 'jobs.list')).toHaveLength(1);
    vi.useRealTimers();
  });

  it('pause, resume, cancel and clear finished call the queue; a failed action says so in a toast', async () => {
    const q = useQueueStore();
    await q.ensureLoaded();
    await q.pause();
    expect(q.paused).toBe(true);
    await q.resume();
    expect(q.paused).toBe(false);
    expect(await q.cancel({ jobId: 1 })).toEqual({ cancelled: 2 });
    listed = [job(1, [[10, 'done']], 'done'), job(2, [[20, 'queued']])];
    await q.refresh();
    const listsBefore = client.calls.filter((c) => c.method === 'jobs.list').length;
    await q.clearFinished();
    expect(q.jobs.map((j) => j.id)).toEqual([2]);
    // The counts in the header come from the server again, not only the cards.
    expect(client.calls.filter((c) => c.method === 'jobs.list').length).toBe(listsBefore + 1);
    expect(await q.retry({ generationId: 10 })).toBeUndefined(); // no handler: the fake rejects
    expect(useToastsStore().toasts.at(-1)?.message).toMatch(/^Retry failed: /);
  });

  it('counts a job finished while the window is not focused once (the title badge), and clears on markSeen', async () => {
    const g = globalThis as { document?: unknown };
    g.document = { hasFocus: () => false };
    try {
      const q = useQueueStore();
      listed = [job(1, [[10, 'running']], 'running')];
      await q.ensureLoaded();
      client.emit('job.generationDone', { jobId: 1, generationId: 10, imageId: 5, jobStatus: 'done' });
      client.emit('job.changed', { jobId: 1, status: 'done', generations: [{ id: 10, status: 'done' }], queuePaused: false });
      expect(q.unseen).toBe(1);
      q.markSeen();
      expect(q.unseen).toBe(0);
    } finally {
      delete g.document;
    }
  });
});
