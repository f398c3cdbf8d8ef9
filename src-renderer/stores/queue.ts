// The job queue as the Generate view shows it: the newest jobs (jobs.list keyset pages), live step
// progress and previews from `job.progress`, finished images from `job.generationDone` (shown at once,
// before any re-fetch), failures, the queue actions (cancel, retry, pause/resume, clear finished,
// move to front), and which finished images went to the trash (`gallery.changed`). Progress arrives
// up to 10 times a second per running generation: it is kept in a shallowReactive Map keyed by
// generation, so only the card of that generation re-renders.
// In browser mode a job finishing while the tab is not focused puts a count in the title (App.vue).
import { defineStore } from 'pinia';
import { computed, ref, shallowReactive, shallowRef } from 'vue';
import type { PayloadOf, ResultOf } from '../../src-shared/api';
import { StudioError } from '../../src-shared/errors';
import type { Progress } from '../../src-shared/progress';
import { isFinishedStatus, type JobCounts, type JobGeneration, type JobStatus, type JobTarget, type JobView } from '../../src-shared/schemas/jobs';
import { studio } from '../studio';
import { attempt } from './attempt';
import { useToastsStore } from './toasts';

/** What the card shows of a running generation: THE progress shape as `job.progress` carried it, and its last preview. */
export interface LiveGeneration {
  progress: Progress;
  /** data: URL of the latest preview PNG. */
  preview?: string;
}

export const QUEUE_PAGE = 50;
/** A job or generation status that has ended (the one list: src-shared/schemas/jobs.ts FINISHED_STATUSES). */
export const isFinished = isFinishedStatus;

function message(err: unknown): string {
  return StudioError.from(err).message;
}

const EMPTY_COUNTS: JobCounts = { queued: 0, running: 0, done: 0, failed: 0, cancelled: 0, interrupted: 0 };

/**
 * A copy of `jobs` with one generation changed (undefined when it is not there). The job's status is the core's,
 * as the event that caused the patch carries it (`jobStatus`); without one the job keeps the status it had.
 */
export function patchGeneration(jobs: readonly JobView[], generationId: number, patch: Partial<JobGeneration>, jobStatus?: JobStatus): JobView[] | undefined {
  for (let i = 0; i < jobs.length; i++) {
    const job = jobs[i]!;
    const k = job.generations.findIndex((g) => g.id === generationId);
    if (k < 0) continue;
    const generations = job.generations.slice();
    generations[k] = { ...generations[k]!, ...patch };
    const next = jobs.slice();
    next[i] = { ...job, generations, status: jobStatus ?? job.status };
    return next;
  }
  return undefined;
}

/**
 * `next` with the jobs that did not change taken from `prev` (the same objects): a re-fetch after one job's
 * event then re-renders that job's card only, not the whole page of cards.
 */
export function keepUnchanged(prev: readonly JobView[], next: JobView[]): JobView[] {
  if (!prev.length) return next;
  const old = new Map(prev.map((j) => [j.id, j]));
  let same = prev.length === next.length;
  const out = next.map((j, i) => {
    const o = old.get(j.id);
    const keep = o !== undefined && JSON.stringify(o) === JSON.stringify(j) ? o : j;
    if (keep !== prev[i]) same = false;
    return keep;
  });
  return same ? (prev as JobView[]) : out;
}

export const useQueueStore = defineStore('queue', () => {
  const toasts = useToastsStore();
  const jobs = shallowRef<JobView[]>([]);
  const counts = shallowRef<JobCounts>(EMPTY_COUNTS);
  const paused = ref(false);
  const loadedModel = ref<string | null>(null);
  const nextCursor = ref<string | null>(null);
  const loaded = ref(false);
  const loading = ref(false);
  const error = ref<string>();
  /** Per generation id: the last progress (steps, the job's ETA) and preview. */
  const live = shallowReactive(new Map<number, LiveGeneration>());
  /** The last preview of each finished generation, shown under its thumbnail until that has loaded. */
  const lastPreview = shallowReactive(new Map<number, string>());
  /** Jobs whose action is on its way (cancel, retry, move). */
  const busy = shallowReactive(new Set<number>());
  /** Jobs that finished while the window was not focused (the title badge). */
  const unseen = ref(0);
  /** When each job.generationDone arrived (performance.now()), for the benchmark and tests. */
  const doneAt = new Map<number, number>();

  const active = computed(() => counts.value.queued + counts.value.running);
  const hasFinished = computed(() => counts.value.done + counts.value.failed + counts.value.cancelled + counts.value.interrupted > 0);

  let listSeq = 0;
  async function refresh(): Promise<void> {
    const seq = ++listSeq;
    loading.value = true;
    try {
      const page = await studio().call('jobs.list', { limit: Math.max(QUEUE_PAGE, Math.min(200, jobs.value.length)) });
      if (seq !== listSeq) return;
      jobs.value = keepUnchanged(jobs.value, page.items);
      counts.value = page.counts;
      paused.value = page.queue.paused;
      loadedModel.value = page.queue.loadedModel;
      nextCursor.value = page.nextCursor;
      error.value = undefined;
      loaded.value = true;
      for (const id of [...live.keys()]) if (!isRunning(id)) live.delete(id);
    } catch (err) {
      if (seq === listSeq) error.value = message(err);
    } finally {
      if (seq === listSeq) loading.value = false;
    }
  }

  async function loadMore(): Promise<void> {
    if (!nextCursor.value) return;
    const cursor = nextCursor.value;
    try {
      const page = await studio().call('jobs.list', { cursor, limit: QUEUE_PAGE });
      if (cursor !== nextCursor.value) return;
      const have = new Set(jobs.value.map((j) => j.id));
      jobs.value = [...jobs.value, ...page.items.filter((j) => !have.has(j.id))];
      nextCursor.value = page.nextCursor;
      counts.value = page.counts;
    } catch (err) {
      error.value = message(err);
    }
  }

  function isRunning(generationId: number): boolean {
    for (const j of jobs.value) for (const g of j.generations) if (g.id === generationId) return g.status === 'running';
    return false;
  }

  // Status changes come in bursts (a job's generations one after another): one re-fetch per burst.
  let refreshTimer: ReturnType<typeof setTimeout> | undefined;
  function scheduleRefresh(delayMs = 120): void {
    if (refreshTimer) return;
    refreshTimer = setTimeout(() => {
      refreshTimer = undefined;
      void refresh();
    }, delayMs);
  }

  function onProgress(p: PayloadOf<'job.progress'>): void {
    const preview = p.preview ? `data:image/png;base64,${p.preview.pngBase64}` : live.get(p.generationId)?.preview;
    live.set(p.generationId, { progress: p.progress, ...(preview ? { preview } : {}) });
    const g = findGeneration(p.generationId);
    if (!g) scheduleRefresh();
    else if (g.status !== 'running' || jobs.value.find((j) => j.id === p.jobId)?.status !== p.jobStatus) {
      const next = patchGeneration(jobs.value, p.generationId, { status: 'running' }, p.jobStatus);
      if (next) jobs.value = next;
    }
  }

  function findGeneration(id: number): JobGeneration | undefined {
    for (const j of jobs.value) for (const g of j.generations) if (g.id === id) return g;
    return undefined;
  }

  function onGenerationDone(p: PayloadOf<'job.generationDone'>): void {
    doneAt.set(p.imageId, performance.now());
    if (doneAt.size > 500) doneAt.delete(doneAt.keys().next().value!);
    const preview = live.get(p.generationId)?.preview;
    if (preview) {
      lastPreview.set(p.generationId, preview);
      if (lastPreview.size > 200) lastPreview.delete(lastPreview.keys().next().value!);
    }
    live.delete(p.generationId);
    const next = patchGeneration(jobs.value, p.generationId, { status: 'done', imageId: p.imageId }, p.jobStatus);
    if (next) {
      jobs.value = next;
      const job = next.find((j) => j.id === p.jobId);
      if (job && isFinished(job.status)) noteFinished(job.id);
    }
    // The image shows already; the counts and the job's own status come with the next page.
    scheduleRefresh();
  }

  function onFailed(p: PayloadOf<'job.failed'>): void {
    live.delete(p.generationId);
    const next = patchGeneration(jobs.value, p.generationId, { status: 'failed', error: p.reason }, p.jobStatus);
    if (next) jobs.value = next;
    scheduleRefresh();
  }

  function onChanged(p: PayloadOf<'job.changed'>): void {
    paused.value = p.queuePaused;
    let next = jobs.value;
    for (const g of p.generations) {
      if (g.status !== 'running') live.delete(g.id);
      next = patchGeneration(next, g.id, { status: g.status }, p.status ?? undefined) ?? next;
    }
    if (next !== jobs.value) jobs.value = next;
    if (p.jobId !== null && p.status && isFinished(p.status)) noteFinished(p.jobId);
    scheduleRefresh();
  }

  /**
   * The gallery's changes to the cards' images: one sent to the trash shows "in the trash" at once (the trash removed
   * its thumbnail: no request for it); restored, purged (its generation leaves the job) or a reset: the core's view.
   */
  function onGalleryChanged(p: PayloadOf<'gallery.changed'>): void {
    if (p.kind === 'added' || p.kind === 'updated') return;
    const ids = new Set(p.ids);
    let next = jobs.value;
    let touched = p.kind === 'reset';
    for (const j of jobs.value)
      for (const g of j.generations) {
        if (g.imageId === undefined || !ids.has(g.imageId)) continue;
        touched = true;
        if (p.kind === 'removed') next = patchGeneration(next, g.id, { imageInTrash: true }) ?? next;
      }
    if (next !== jobs.value) jobs.value = next;
    if (touched && p.kind !== 'removed') scheduleRefresh();
  }

  /** Jobs counted in the badge already (a job's end arrives as generationDone and as job.changed). */
  const counted = new Set<number>();
  function noteFinished(jobId: number): void {
    if (counted.has(jobId)) return;
    counted.add(jobId);
    if (typeof document !== 'undefined' && !document.hasFocus()) unseen.value++;
  }
  function markSeen(): void {
    unseen.value = 0;
  }

  let listening: (() => void)[] | undefined;
  function listen(): void {
    if (listening) return;
    const c = studio();
    listening = [
      c.on('job.progress', onProgress),
      c.on('job.generationDone', onGenerationDone),
      c.on('job.failed', onFailed),
      c.on('job.changed', onChanged),
      c.on('gallery.changed', onGalleryChanged),
    ];
  }
  function stopListening(): void {
    for (const off of listening ?? []) off();
    listening = undefined;
  }

  async function ensureLoaded(): Promise<void> {
    listen();
    if (!loaded.value && !loading.value) await refresh();
  }

  function act<T>(label: string, jobId: number | undefined, fn: () => Promise<T>): Promise<T | undefined> {
    return attempt(
      {
        busy: (on) => {
          if (jobId === undefined) return;
          if (on) busy.add(jobId);
          else busy.delete(jobId);
        },
        succeeded: () => scheduleRefresh(0),
        failed: (e) => toasts.notify('error', `${label} failed: ${e.message}`),
      },
      fn,
    );
  }

  const cancel = (target: JobTarget, jobId?: number): Promise<ResultOf<'jobs.cancel'> | undefined> =>
    act('Cancel', jobId ?? ('jobId' in target ? target.jobId : undefined), () => studio().call('jobs.cancel', target));
  const retry = (target: JobTarget, jobId?: number): Promise<ResultOf<'jobs.retry'> | undefined> =>
    act('Retry', jobId ?? ('jobId' in target ? target.jobId : undefined), () => studio().call('jobs.retry', target));
  const moveToFront = (jobId: number): Promise<ResultOf<'jobs.moveToFront'> | undefined> => act('Move to front', jobId, () => studio().call('jobs.moveToFront', { jobId }));
  async function pause(): Promise<void> {
    const r = await act('Pause', undefined, () => studio().call('jobs.pause', {}));
    if (r) paused.value = r.paused;
  }
  async function resume(): Promise<void> {
    const r = await act('Resume', undefined, () => studio().call('jobs.resume', {}));
    if (r) paused.value = r.paused;
  }
  async function clearFinished(): Promise<void> {
    const r = await act('Clear finished', undefined, () => studio().call('jobs.clearFinished', {}));
    if (!r) return;
    jobs.value = jobs.value.filter((j) => !isFinished(j.status));
    // The header's counts and "Clear finished" follow the server's list, not only the cards.
    await refresh();
  }

  /** A job submitted here: shown at once, before the event round trip. */
  function noteSubmitted(): void {
    scheduleRefresh(0);
  }

  return {
    jobs,
    counts,
    paused,
    loadedModel,
    nextCursor,
    loaded,
    loading,
    error,
    live,
    lastPreview,
    busy,
    unseen,
    doneAt,
    active,
    hasFinished,
    refresh,
    loadMore,
    ensureLoaded,
    listen,
    stopListening,
    onProgress,
    onGenerationDone,
    onFailed,
    onChanged,
    onGalleryChanged,
    markSeen,
    cancel,
    retry,
    moveToFront,
    pause,
    resume,
    clearFinished,
    noteSubmitted,
  };
});
