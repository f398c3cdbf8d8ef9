// The job queue's shapes of the contract (src-main/core/jobs/): jobs.* methods and job.* events.
// A job is one parameter snapshot taken at submit time plus its sweep; it makes one generation per
// (seed × axis value). Seeds are decimal strings (src-shared/generation.ts seedSchema).
import { z } from 'zod';
import { GENERATION_LIMITS, jobParamsSchema, seedSchema, sweepSchema } from '../generation';
import { upscaleSpecSchema } from '../upscale';
import { progressSchema } from '../progress';

const MAX = GENERATION_LIMITS.maxPerSubmit;
const id = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
export const jobIdSchema = id;
export const generationIdSchema = id;
const isoDate = z.string().max(40);
const count = z.number().int().nonnegative();

export const JOB_STATUSES = ['queued', 'running', 'done', 'failed', 'cancelled', 'interrupted'] as const;
export const jobStatusSchema = z.enum(JOB_STATUSES);
export type JobStatus = z.infer<typeof jobStatusSchema>;
/** The statuses a job or generation ends in (the one list: the store's SQL, the queue and the cards read it). */
export const FINISHED_STATUSES = ['done', 'failed', 'cancelled', 'interrupted'] as const satisfies readonly JobStatus[];
export type FinishedStatus = (typeof FINISHED_STATUSES)[number];
export function isFinishedStatus(status: string): status is FinishedStatus {
  return (FINISHED_STATUSES as readonly string[]).includes(status);
}
/** A generation has the same statuses as a job. */
export const generationStatusSchema = jobStatusSchema;
export type GenerationStatus = JobStatus;

/** Who runs a job: the queue of the folder's lock holder, or a standalone `sd35-studio generate`. */
export const jobOwnerSchema = z.enum(['queue', 'cli']);

export const jobGenerationSchema = z
  .object({
    id,
    seed: seedSchema,
    /** The second axis's value of this generation (guidance, steps or a model id). */
    axisValue: z.union([z.number().finite(), z.string().max(GENERATION_LIMITS.maxModelRefChars)]).optional(),
    status: generationStatusSchema,
    imageId: id.optional(),
    /**
     * The image is in the trash (gallery.delete; the trash removed its thumbnails): the card shows that instead of
     * asking for it. A purged image's generation leaves the job altogether.
     */
    imageInTrash: z.literal(true).optional(),
    error: z.string().max(4000).optional(),
    /** Live step of a running generation. */
    step: z.number().int().nonnegative().optional(),
    total: z.number().int().positive().optional(),
  })
  .strict();
export type JobGeneration = z.infer<typeof jobGenerationSchema>;

export const jobSchema = z
  .object({
    id,
    createdAt: isoDate,
    finishedAt: isoDate.nullable(),
    status: jobStatusSchema,
    owner: jobOwnerSchema,
    /** The snapshot taken at submit time. */
    params: jobParamsSchema,
    sweep: sweepSchema,
    generations: z.array(jobGenerationSchema).max(MAX),
    /**
     * An upscale job (jobs.upscale): what it upscales, with what, to which size. Its `params` are the source image's
     * parameters as far as they fit the schema (for the card); its one generation's progress counts tiles.
     */
    upscale: upscaleSpecSchema.optional(),
  })
  .strict();
export type JobView = z.infer<typeof jobSchema>;

export const jobCountsSchema = z
  .object({ queued: count, running: count, done: count, failed: count, cancelled: count, interrupted: count })
  .strict();
export type JobCounts = z.infer<typeof jobCountsSchema>;

export const jobsSubmitParamsSchema = z.object({ params: jobParamsSchema, sweep: sweepSchema }).strict();
export type JobsSubmitParams = z.infer<typeof jobsSubmitParamsSchema>;
export const jobsSubmitResultSchema = z
  .object({ jobId: id, generationIds: z.array(id).min(1).max(MAX) })
  .strict();

/** A whole job or one of its generations. */
export const jobTargetSchema = z.union([z.object({ jobId: id }).strict(), z.object({ generationId: id }).strict()]);
export type JobTarget = z.infer<typeof jobTargetSchema>;

export const jobsCancelResultSchema = z.object({ cancelled: z.number().int().nonnegative() }).strict();
export const jobsRetryResultSchema = z.object({ jobId: id, generationIds: z.array(id).max(MAX) }).strict();

export const jobsListParamsSchema = z
  .object({ cursor: z.string().max(200).optional(), limit: z.number().int().min(1).max(200).optional() })
  .strict();
export const queueStateSchema = z
  .object({
    paused: z.boolean(),
    /** The model the worker holds warm, or null. */
    loadedModel: z.string().max(GENERATION_LIMITS.maxModelRefChars).nullable(),
  })
  .strict();
export const jobsListResultSchema = z
  .object({
    /** Newest first. */
    items: z.array(jobSchema).max(200),
    nextCursor: z.string().max(200).nullable(),
    /** Jobs per status (not cleared ones). */
    counts: jobCountsSchema,
    queue: queueStateSchema,
  })
  .strict();

export const jobsClearFinishedResultSchema = z.object({ cleared: z.number().int().nonnegative() }).strict();
export const jobsQueueResultSchema = z.object({ paused: z.boolean() }).strict();
export const jobsMoveToFrontResultSchema = z.object({ moved: z.boolean() }).strict();
export const jobsUnloadModelResultSchema = z.object({ unloaded: z.boolean() }).strict();

// ---- Events

/** A live preview: a small PNG (latent size, image size / 8), base64 as every binary value of the contract. */
export const previewSchema = z
  .object({
    width: z.number().int().min(1).max(1024),
    height: z.number().int().min(1).max(1024),
    pngBase64: z.string().max(4_000_000),
  })
  .strict();

export const jobProgressEventSchema = z
  .object({
    jobId: id,
    generationId: id,
    /**
     * THE progress shape (src-shared/progress.ts), task `generate`: done/total are the running generation's
     * steps, rate its measured steps per second. Its `etaMs` is what is left of the WHOLE job, in ms: this
     * generation's remaining steps plus every queued generation of the job (from this machine's measured step
     * time for the same model and size). Shown as given, never added to. Null when nothing is known yet.
     */
    progress: progressSchema,
    preview: previewSchema.optional(),
    /** The job's status (rolled up by the core from its generations; the renderer never derives it). */
    jobStatus: jobStatusSchema,
  })
  .strict();
export type JobProgressEvent = z.infer<typeof jobProgressEventSchema>;

export const jobGenerationDoneEventSchema = z
  .object({
    jobId: id,
    generationId: id,
    imageId: id,
    /** The generation's seed (always sent). */
    seed: seedSchema.optional(),
    /** The job's status once this generation is done. */
    jobStatus: jobStatusSchema,
  })
  .strict();
export const jobFailedEventSchema = z
  .object({ jobId: id, generationId: id, reason: z.string().max(4000), /** The job's status once this generation failed. */ jobStatus: jobStatusSchema })
  .strict();

/** A status changed (a job's, some of its generations', or the queue's): reload what you show. */
export const jobChangedEventSchema = z
  .object({
    /** Null for a queue-wide change (pause, resume, clear finished, model unloaded). */
    jobId: id.nullable(),
    status: jobStatusSchema.nullable(),
    generations: z.array(z.object({ id, status: generationStatusSchema }).strict()).max(MAX),
    queuePaused: z.boolean(),
  })
  .strict();
export type JobChangedEvent = z.infer<typeof jobChangedEventSchema>;
