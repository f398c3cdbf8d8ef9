// The jobs.* methods of the contract, on top of the job queue (core/jobs/queue.ts).
import type { StudioApi } from '../../../src-shared/api';
import { StudioError } from '../../../src-shared/errors';
import type { JobParams, Sweep } from '../../../src-shared/generation';
import type { JobQueue } from '../jobs/queue';
import type { JobsUpscaleParams } from '../../../src-shared/upscale';
import type { PreparedUpscale } from '../upscalers/upscale-job';
import type { ModelService } from '../models/service';

export type JobsApi = Pick<StudioApi, Extract<keyof StudioApi, `jobs.${string}`>>;

export interface JobsHandlerOptions {
  /**
   * Browser mode: the model and the model axis's values must be installed model ids (catalog id, owner/name,
   * folder:<name>), never a server path (`/`, `/proc/self`, `../../../etc`). The CLI queues folders through
   * JobQueue.submit, not through this handler.
   */
  installedOnly?: Pick<ModelService, 'resolveInstalled'>;
  /** Image to image: checks what `init` names (handlers/inputs.ts checkInitReference) before anything is queued. */
  checkInit?: (init: NonNullable<JobParams['init']>) => Promise<void>;
  /** jobs.upscale: checks the source, the upscaler and the limits (core/upscalers/upscale-job.ts) before queueing. */
  prepareUpscale?: (p: JobsUpscaleParams) => Promise<PreparedUpscale>;
  /** Image to image: the model (and each model-axis value) has the VAE encoder (models/encoder-addition.ts requireEncoder). */
  checkEncoder?: (model: string) => Promise<void>;
}

export function jobsHandlers(queue: JobQueue, options: JobsHandlerOptions = {}): JobsApi {
  return {
    'jobs.submit': async ({ params, sweep }) => {
      if (options.installedOnly) await checkInstalled(options.installedOnly, params, sweep);
      if (params.init && options.checkInit) await options.checkInit(params.init);
      if (params.init && options.checkEncoder) {
        for (const model of new Set([params.model, ...(sweep.axis?.kind === 'model' ? sweep.axis.values : [])])) await options.checkEncoder(model);
      }
      if (sweep.axis?.kind === 'strength' && !params.init) throw new StudioError('invalid_input', 'A strength sweep needs an init image (image to image).', { field: 'sweep' });
      return queue.submit(params, sweep);
    },
    'jobs.cancel': async (target) => ({ cancelled: queue.cancel(target) }),
    'jobs.retry': async (target) => queue.retry(target),
    'jobs.list': async ({ cursor, limit }) => queue.list(cursor, limit ?? 50),
    'jobs.clearFinished': async () => ({ cleared: queue.clearFinished() }),
    'jobs.pause': async () => ({ paused: queue.pause() }),
    'jobs.resume': async () => ({ paused: queue.resume() }),
    'jobs.moveToFront': async ({ jobId }) => ({ moved: queue.moveToFront(jobId) }),
    'jobs.unloadModel': async () => ({ unloaded: await queue.unloadModel() }),
    'jobs.upscale': async (p) => {
      if (!options.prepareUpscale) throw new StudioError('unavailable', 'Upscaling is not available here.');
      return queue.submitUpscale(await options.prepareUpscale(p));
    },
  };
}

async function checkInstalled(models: Pick<ModelService, 'resolveInstalled'>, params: JobParams, sweep: Sweep): Promise<void> {
  const refs = new Set<string>([params.model]);
  if (sweep.axis?.kind === 'model') for (const v of sweep.axis.values) refs.add(v);
  for (const ref of refs) {
    try {
      await models.resolveInstalled(ref);
    } catch (err) {
      if (err instanceof StudioError && err.code === 'not_found') {
        throw new StudioError('invalid_input', `${JSON.stringify(ref.slice(0, 200))} is not an installed model: choose one from the Models view.`, { model: ref.slice(0, 200) });
      }
      throw err;
    }
  }
}
