// The queue card's numbers, rendered (server-side, no DOM): the ETA shown is the core's etaMs as given
// (it already covers the queued images), never added to.
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import { createSSRApp, h } from 'vue';
import { renderToString } from 'vue/server-renderer';
import { stepProgress } from '../../../src-shared/progress';
import { jobProgressEventSchema, type JobView } from '../../../src-shared/schemas/jobs';
import { setStudio } from '../../studio';
import { fakeClient, type FakeClient } from '../../testing/fake-client';
import { useQueueStore } from '../../stores/queue';
import JobCard from './JobCard.vue';

function fourImageJob(): JobView {
  return {
    id: 1,
    createdAt: '2026-01-01T00:00:00.000Z',
    finishedAt: null,
    status: 'running',
    owner: 'queue',
    params: { prompt: 'a lighthouse', negativePrompt: '', model: 'm', steps: 4, guidance: 0, width: 64, height: 64, t5: true },
    sweep: { seeds: { mode: 'consecutive', first: '1000', count: 4 } },
    generations: [
      { id: 10, seed: '1000', status: 'running', step: 1, total: 4 },
      { id: 11, seed: '1001', status: 'queued' },
      { id: 12, seed: '1002', status: 'queued' },
      { id: 13, seed: '1003', status: 'queued' },
    ],
  };
}

async function render(job: JobView): Promise<string> {
  const pinia = createPinia();
  setActivePinia(pinia);
  const app = createSSRApp({ render: () => h(JobCard, { job, canMoveToFront: false }) });
  app.use(pinia);
  const q = useQueueStore(pinia);
  q.jobs = [job];
  await q.ensureLoaded();
  client.emit('job.progress', {
    jobId: 1,
    generationId: 10,
    // 4 images × 4 steps at 1 s a step, the first image at step 1: 3 + 3 × 4 = 15 steps left = 15 s
    // (what core/jobs/eta.ts sends for it: its own test, eta.test.ts). Adding the queued images again
    // would read 63 s ("about 1 min left").
    progress: jobProgressEventSchema.shape.progress.parse(stepProgress({ step: 1, total: 4, elapsedMs: 1000 }, 15 * 1000)),
    jobStatus: 'running',
  });
  return renderToString(app);
}

let client: FakeClient;
beforeEach(() => {
  client = fakeClient({ 'jobs.list': () => ({ items: [fourImageJob()], nextCursor: null, counts: { queued: 0, running: 1, done: 0, failed: 0, cancelled: 0, interrupted: 0 }, queue: { paused: false, loadedModel: null } }) });
  setStudio(client);
});

describe('JobCard', () => {
  it('shows the whole job’s time left as the core sent it: 15 s for 15 steps at 1 s, not 63 s', async () => {
    const html = await render(fourImageJob());
    expect(html).toMatch(/data-testid="eta"[^>]*>15 s left</);
    expect(html).toMatch(/Image 1 of 4 · step 1\/4/);
  });

  it('a finished image sent to the trash: the card shows "in the trash" and asks for no thumbnail of it', async () => {
    const done: JobView = {
      ...fourImageJob(),
      status: 'done',
      generations: [
        { id: 20, seed: '1000', status: 'done', imageId: 20 },
        { id: 21, seed: '1001', status: 'done', imageId: 21 },
      ],
    };
    client = fakeClient({ 'jobs.list': () => ({ items: [done], nextCursor: null, counts: { queued: 0, running: 0, done: 1, failed: 0, cancelled: 0, interrupted: 0 }, queue: { paused: false, loadedModel: null } }) });
    setStudio(client);
    const pinia = createPinia();
    setActivePinia(pinia);
    const q = useQueueStore(pinia);
    await q.ensureLoaded();
    const card = () => {
      const app = createSSRApp({ render: () => h(JobCard, { job: q.jobs[0]!, canMoveToFront: false }) });
      app.use(pinia);
      return renderToString(app);
    };
    expect(await card()).toContain('/media/thumb/20?size=256');
    // The gallery sends image 20 to the trash (which removes its thumbnails) while the card is shown.
    client.emit('gallery.changed', { kind: 'removed', ids: [20] });
    const html = await card();
    expect(html).not.toContain('/media/thumb/20');
    expect(html).toMatch(/data-testid="image-in-trash"[^>]*>in the trash</);
    expect(html).toContain('/media/thumb/21?size=256');
    expect(html).toContain('title="Seed 1000: the image is in the trash"');
    // The core's view says the same on the next list (jobs.list carries imageInTrash): Undo or a purge re-fetch it.
    const lists = client.calls.filter((c) => c.method === 'jobs.list').length;
    client.emit('gallery.changed', { kind: 'restored', ids: [20] });
    await expect.poll(() => client.calls.filter((c) => c.method === 'jobs.list').length, { timeout: 10_000 }).toBe(lists + 1);
  });
});
