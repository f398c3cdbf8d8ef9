// THE rule for a job's status, from how many of its generations are in each status. Only the core applies it
// (Generations.refreshJob stores the result); every job.* event and jobs.list row carries the stored status,
// and the renderer shows it as given.
import type { GenerationStatus, JobStatus } from '../../../src-shared/schemas/jobs';

export type StatusCounts = Record<GenerationStatus, number>;

/**
 * - anything running, or some queued beside others already taken → running
 * - all queued → queued
 * - all done → done
 * - else the worst ending: failed, then interrupted, then cancelled.
 * Undefined when the job has no generation (it is deleted).
 */
export function rollUpJobStatus(c: StatusCounts): JobStatus | undefined {
  const n = c.queued + c.running + c.done + c.failed + c.cancelled + c.interrupted;
  if (n === 0) return undefined;
  if (c.running > 0 || (c.queued > 0 && c.queued < n)) return 'running';
  if (c.queued > 0) return 'queued';
  if (c.done === n) return 'done';
  if (c.failed > 0) return 'failed';
  if (c.interrupted > 0) return 'interrupted';
  return 'cancelled';
}
