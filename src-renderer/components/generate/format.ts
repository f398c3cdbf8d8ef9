// Small text helpers of the Generate view (seeds of a job, the axis of a sweep). Durations: src-shared/durations.ts.
import { SWEEP_AXIS_LABELS, type SweepAxis } from '../../../src-shared/generation';
import type { JobView } from '../../../src-shared/schemas/jobs';

export function axisLabel(kind: SweepAxis['kind']): string {
  return SWEEP_AXIS_LABELS[kind];
}

/**
 * "seeds 1000–1003", "4 random seeds", "seeds 3, 9, 12": every seed of a list (≤ 64), never cut here — the queue
 * card clamps the line to two and its "More" shows the rest.
 */
export function seedsText(job: JobView): string {
  const s = job.sweep.seeds;
  if (s.mode === 'random') {
    const seeds = [...new Set(job.generations.map((g) => g.seed))];
    if (seeds.length === 1) return `seed ${seeds[0]}`;
    return seeds.length ? `random seeds ${seeds.join(', ')}` : `${s.count} random seeds`;
  }
  if (s.mode === 'list') return s.seeds.length === 1 ? `seed ${s.seeds[0]}` : `seeds ${s.seeds.join(', ')}`;
  if (s.count === 1) return `seed ${s.first}`;
  return `seeds ${s.first}–${(BigInt(s.first) + BigInt(s.count - 1)).toString()}`;
}

/**
 * The meta line of a queue card: "tiny-sd35 · 4 steps · guidance 4 · 256 × 256 · seeds 2000–2001". A
 * parameter the second axis overrides shows the axis values in its place ("guidance 3, 6"), never the
 * base value the job's snapshot still carries.
 */
export function jobSummary(job: JobView, modelName: (id: string) => string = (id) => id): string {
  const p = job.params;
  const axis = job.sweep.axis;
  const model = axis?.kind === 'model' ? `models ${axis.values.map((v) => modelName(v)).join(', ')}` : modelName(p.model);
  const steps = axis?.kind === 'steps' ? `${axis.values.join(', ')} steps` : `${p.steps} steps`;
  const guidance = axis?.kind === 'guidance' ? `guidance ${axis.values.join(', ')}` : `guidance ${p.guidance}`;
  return [model, steps, guidance, `${p.width} × ${p.height}`, seedsText(job)].join(' · ');
}

export function promptHead(text: string, max = 90): string {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

export const STATUS_LABELS: Record<JobView['status'], string> = {
  queued: 'Queued',
  running: 'Running',
  done: 'Done',
  failed: 'Failed',
  cancelled: 'Cancelled',
  interrupted: 'Interrupted',
};
