// THE progress shape: one discriminated union (on `task`) for generation steps, downloads, verification and
// imports. Events carry it, the CLI draws every bar from it (src-main/cli/progress.ts), the UI shows it.
// The end of a task is a status (done, failed, cancelled), never a sentinel value in another field.
import { z } from 'zod';

export const PROGRESS_STATUSES = ['queued', 'running', 'paused', 'retrying', 'done', 'failed', 'cancelled'] as const;
export const progressStatusSchema = z.enum(PROGRESS_STATUSES);
export type ProgressStatus = z.infer<typeof progressStatusSchema>;

const amount = z.number().finite().nonnegative();
const common = {
  status: progressStatusSchema,
  done: amount,
  /** 0 when not known yet. */
  total: amount,
  /** Units per second, when measured. */
  rate: amount.nullable(),
  /** Milliseconds left, when they can be told. */
  etaMs: amount.nullable(),
  /** What is being worked on: a file of a download, a model, an image (for people; no secrets). */
  label: z.string().max(1024).optional(),
};

export const generateProgressSchema = z.object({ task: z.literal('generate'), unit: z.literal('steps'), ...common }).strict();
export const downloadProgressSchema = z.object({ task: z.literal('download'), unit: z.literal('bytes'), ...common }).strict();
export const verifyProgressSchema = z.object({ task: z.literal('verify'), unit: z.literal('bytes'), ...common }).strict();
export const importProgressSchema = z.object({ task: z.literal('import'), unit: z.literal('files'), ...common }).strict();
export const progressSchema = z.discriminatedUnion('task', [generateProgressSchema, downloadProgressSchema, verifyProgressSchema, importProgressSchema]);
export type Progress = z.infer<typeof progressSchema>;
export type ProgressTask = Progress['task'];

export const PROGRESS_UNITS: Readonly<Record<ProgressTask, Progress['unit']>> = {
  generate: 'steps',
  download: 'bytes',
  verify: 'bytes',
  import: 'files',
};

/** A progress value of `task` (the unit follows from the task). */
export function progress<T extends ProgressTask>(
  task: T,
  fields: { status: ProgressStatus; done: number; total: number; rate?: number | null; etaMs?: number | null; label?: string },
): Extract<Progress, { task: T }> {
  const p = {
    task,
    unit: PROGRESS_UNITS[task],
    status: fields.status,
    done: fields.done,
    total: fields.total,
    rate: fields.rate ?? null,
    etaMs: fields.etaMs ?? null,
    ...(fields.label !== undefined ? { label: fields.label } : {}),
  };
  return p as Extract<Progress, { task: T }>;
}

/**
 * THE generation-step shape, from the pipeline through the worker protocol and the inference host to the
 * queue (one step of one request: a denoising step, or a tile of an upscale). Validated where it crosses the
 * worker → main boundary (inference/protocol.ts); the queue turns it into a `Progress` of task `generate` for
 * `job.progress` (stepProgress below), which is what the card reads. Previews travel beside it, each process
 * in its own encoding (raw RGB in the worker, PNG bytes to the host, base64 on the contract).
 */
export const generationStepSchema = z
  .object({
    /** Steps done, 1 … total. */
    step: z.number().int().min(1),
    total: z.number().int().min(1),
    /** Since the pipeline started the request (model loading excluded). */
    elapsedMs: amount,
  })
  .strict();
export type GenerationStep = z.infer<typeof generationStepSchema>;

/** A running generation's step as THE progress shape: rate in steps per second; `etaMs` as the caller measured it. */
export function stepProgress(s: GenerationStep, etaMs: number | null, label?: string): Extract<Progress, { task: 'generate' }> {
  return progress('generate', {
    status: 'running',
    done: s.step,
    total: s.total,
    rate: s.elapsedMs > 0 ? (s.step * 1000) / s.elapsedMs : null,
    etaMs,
    ...(label !== undefined ? { label } : {}),
  });
}

/** done / total in [0, 1] (0 when the total is not known). */
export function progressFraction(p: Pick<Progress, 'done' | 'total' | 'status'>): number {
  if (p.status === 'done') return 1;
  if (!(p.total > 0)) return 0;
  return Math.max(0, Math.min(1, p.done / p.total));
}
