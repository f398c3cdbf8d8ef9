// The jobs.* methods of the contract, on top of the job queue (core/jobs/queue.ts).
import type { StudioApi } from '../../../src-shared/api';
import type { JobQueue } from '../jobs/queue';

export type JobsApi = Pick<StudioApi, Extract<keyof StudioApi, `jobs.${string}`>>;

export function jobsHandlers(queue: JobQueue): JobsApi {
  return {
    'jobs.submit': async ({ params, sweep }) => queue.submit(params, sweep),
    'jobs.cancel': async (target) => ({ cancelled: queue.cancel(target) }),
    'jobs.retry': async (target) => queue.retry(target),
    'jobs.list': async ({ cursor, limit }) => queue.list(cursor, limit ?? 50),
    'jobs.clearFinished': async () => ({ cleared: queue.clearFinished() }),
    'jobs.pause': async () => ({ paused: queue.pause() }),
    'jobs.resume': async () => ({ paused: queue.resume() }),
    'jobs.moveToFront': async ({ jobId }) => ({ moved: queue.moveToFront(jobId) }),
    'jobs.unloadModel': async () => ({ unloaded: await queue.unloadModel() }),
  };
}
