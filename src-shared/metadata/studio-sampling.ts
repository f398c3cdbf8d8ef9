// Sampler and schedule ids of one of our images (the lossless JSON): images made before samplers existed say
// scheduler 'flow-match-euler' and no sampler — that is euler on the normal schedule.
import type { StudioImageMeta } from './types';

export function studioSampling(meta: Pick<StudioImageMeta, 'scheduler' | 'sampler'>): { sampler: string; scheduler: string } {
  if (meta.scheduler === 'flow-match-euler') return { sampler: 'euler', scheduler: 'normal' };
  return { sampler: meta.sampler ?? 'euler', scheduler: meta.scheduler };
}
