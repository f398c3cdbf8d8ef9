// The jobs.* methods of the contract, on top of the job queue (core/jobs/).
import type { StudioApi } from '../../../src-shared/api';
import { StudioError } from '../../../src-shared/errors';

export type JobsApi = Pick<StudioApi, Extract<keyof StudioApi, `jobs.${string}`>>;

/** Until the queue is composed: every method answers `unavailable`. */
export function unavailableJobsHandlers(): JobsApi {
  const no = async (): Promise<never> => {
    throw new StudioError('unavailable', 'The job queue is not available in this process.');
  };
  return {
    'jobs.submit': no,
    'jobs.cancel': no,
    'jobs.retry': no,
    'jobs.list': no,
    'jobs.clearFinished': no,
    'jobs.pause': no,
    'jobs.resume': no,
    'jobs.moveToFront': no,
    'jobs.unloadModel': no,
  };
}
