// The queue's rows: jobs and generations (history's tables, migration 200) with the queue's columns
// (migration 400). Status transitions go through history's Generations, so a job's status is always
// rolled up from its generations the same way; the queue adds requeue (retry) and its own bookkeeping.
import type { Statement } from 'better-sqlite3';
import { StudioError } from '../../../src-shared/errors';
import { initImageSchema, type InitImage } from '../../../src-shared/img2img';
import { GENERATION_LIMITS, hiresSchema, jobParamsSchema, loraRefSchema, sweepSchema, type AxisValue, type GenerationParams, type Hires, type JobParams, type LoraRef, type Sweep } from '../../../src-shared/generation';
import { z } from 'zod';
import { FINISHED_STATUSES, isFinishedStatus, type JobCounts, type JobGeneration, type JobStatus, type JobView } from '../../../src-shared/schemas/jobs';
import type { Db } from '../db';
import { Generations, type GenerationRow, type GenerationRowParams } from '../history/generations';
import { applyAxisValue, axisLora, type PlannedGeneration } from './sweep';
import { upscaleSpecSchema, type UpscaleSpec } from '../../../src-shared/upscale';

export type JobOwner = 'queue' | 'cli';

/** What a job stores besides its parameters: how it runs. */
export interface JobRunSettings {
  ep: string;
  memory: string;
}

/** A generation the runner can start. */
export interface RunnableGeneration {
  id: number;
  jobId: number;
  idx: number;
  params: GenerationParams;
  run: JobRunSettings;
  /** An upscale job's generation (jobs.upscale): the runner upscales instead of generating. */
  upscale?: UpscaleSpec;
}

interface JobRow {
  id: number;
  params: string;
  seeds: string;
  status: JobStatus;
  owner: JobOwner | null;
  sweep: string | null;
  created_at: number;
  finished_at: number | null;
  cancel_requested: number;
}

/** The generation columns a job view reads, whether the generation has an image, and whether that is in the trash. */
type GenRow = Omit<GenerationRow, 'meta' | 'ep' | 'timings' | 'created_at' | 'started_at' | 'finished_at'> & { has_image: number; in_trash: number };

/**
 * Generations that may wait in the queue at once (all processes): 8 full 64-image sweeps. Past it a submit is a
 * `conflict` (150 scripted submits once queued 9,600 rows and +204 MB).
 */
export const MAX_QUEUED_GENERATIONS = 512;

const EMPTY_COUNTS: JobCounts = { queued: 0, running: 0, done: 0, failed: 0, cancelled: 0, interrupted: 0 };
/** FINISHED_STATUSES as an SQL list: ('done', 'failed', …). */
const FINISHED_SQL = `(${FINISHED_STATUSES.map((x) => `'${x}'`).join(', ')})`;

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

export class JobStore {
  readonly generations: Generations;
  private readonly s: Record<string, Statement<unknown[]>>;

  constructor(
    readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {
    this.generations = new Generations(db);
    const p = (sql: string) => db.prepare(sql) as Statement<unknown[]>;
    this.s = {
      insertJob: p(
        `INSERT INTO jobs (kind, params, seeds, count, status, created_at, finished_at, owner, owner_pid, position, sweep)
         VALUES ('generate', ?, ?, ?, 'queued', ?, NULL, ?, ?, (SELECT coalesce(max(position), 0) + 1 FROM jobs), ?)`,
      ),
      insertGen: p(
        `INSERT INTO generations (id, job_id, idx, seed, prompt, negative_prompt, steps, guidance, width, height, model,
           status, created_at, axis_value, t5)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?)`,
      ),
      jobStatus: p(`SELECT status FROM jobs WHERE id = ?`),
      job: p(`SELECT id, params, seeds, status, owner, sweep, created_at, finished_at, cancel_requested FROM jobs WHERE id = ? AND kind = 'generate'`),
      gensOf: p(
        `SELECT g.id, g.job_id, g.idx, g.seed, g.prompt, g.negative_prompt, g.steps, g.guidance, g.width, g.height, g.model,
                g.status, g.error, g.axis_value, g.t5, g.step, g.total, (i.id IS NOT NULL) AS has_image, (i.deleted_at IS NOT NULL) AS in_trash
         FROM generations g LEFT JOIN images i ON i.id = g.id WHERE g.job_id = ? ORDER BY g.idx`,
      ),
      gensOfRange: p(
        `SELECT g.id, g.job_id, g.idx, g.seed, g.prompt, g.negative_prompt, g.steps, g.guidance, g.width, g.height, g.model,
                g.status, g.error, g.axis_value, g.t5, g.step, g.total, (i.id IS NOT NULL) AS has_image, (i.deleted_at IS NOT NULL) AS in_trash
         FROM generations g LEFT JOIN images i ON i.id = g.id WHERE g.job_id BETWEEN ? AND ? ORDER BY g.job_id, g.idx`,
      ),
      page: p(
        `SELECT id, params, seeds, status, owner, sweep, created_at, finished_at, cancel_requested FROM jobs
         WHERE kind = 'generate' AND cleared_at IS NULL AND id < ? ORDER BY id DESC LIMIT ?`,
      ),
      counts: p(`SELECT status, count(*) AS n FROM jobs WHERE kind = 'generate' AND cleared_at IS NULL GROUP BY status`),
      next: p(
        `SELECT g.id, g.job_id, g.idx FROM jobs j JOIN generations g ON g.job_id = j.id AND g.status = 'queued'
         WHERE j.owner = ? AND j.status IN ('queued', 'running') AND j.cancel_requested = 0 AND (? IS NULL OR j.id = ?)
         ORDER BY j.position, j.id, g.idx LIMIT 1`,
      ),
      gen: p(
        `SELECT g.id, g.job_id, g.idx, g.seed, g.prompt, g.negative_prompt, g.steps, g.guidance, g.width, g.height, g.model,
                g.status, g.error, g.axis_value, g.t5, g.step, g.total, 0 AS has_image, 0 AS in_trash
         FROM generations g WHERE g.id = ?`,
      ),
      progress: p(`UPDATE generations SET step = ?, total = ? WHERE id = ?`),
      cancelRequested: p(`SELECT cancel_requested AS c FROM jobs WHERE id = ?`),
      requestCancel: p(`UPDATE jobs SET cancel_requested = 1 WHERE id = ?`),
      queuedOf: p(`SELECT id FROM generations WHERE job_id = ? AND status = 'queued' ORDER BY idx`),
      requeue: p(
        `UPDATE generations SET status = 'queued', error = NULL, started_at = NULL, finished_at = NULL, step = NULL, total = NULL
         WHERE id = ? AND status IN ('failed', 'cancelled', 'interrupted')`,
      ),
      retryJob: p(`UPDATE jobs SET cancel_requested = 0, cleared_at = NULL, owner = 'queue', owner_pid = ?, position = (SELECT coalesce(max(position), 0) + 1 FROM jobs) WHERE id = ?`),
      clear: p(
        `UPDATE jobs SET cleared_at = ? WHERE kind = 'generate' AND cleared_at IS NULL AND status IN ${FINISHED_SQL}`,
      ),
      // Cleared jobs keep only what has an image (or can be retried): their cancelled and failed generations go.
      purgeCleared: p(
        `DELETE FROM generations WHERE status IN ('cancelled', 'failed') AND id NOT IN (SELECT id FROM images)
           AND job_id IN (SELECT id FROM jobs WHERE kind = 'generate' AND cleared_at IS NOT NULL)`,
      ),
      purgeEmptyJobs: p(
        `DELETE FROM jobs WHERE kind = 'generate' AND cleared_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM generations g WHERE g.job_id = jobs.id)`,
      ),
      fillPrompt: p(`UPDATE generations SET prompt = ?, negative_prompt = ? WHERE id = ? AND prompt = ''`),
      queuedCount: p(`SELECT count(*) AS n FROM generations WHERE status = 'queued'`),
      front: p(
        `UPDATE jobs SET position = (SELECT coalesce(min(position), 1) - 1 FROM jobs WHERE status IN ('queued', 'running'))
         WHERE id = ? AND owner = 'queue' AND status IN ('queued', 'running')`,
      ),
      orphansCli: p(
        `SELECT g.id FROM generations g JOIN jobs j ON j.id = g.job_id WHERE j.owner = 'cli' AND g.status IN ('queued', 'running')`,
      ),
      interruptQueued: p(`UPDATE generations SET status = 'interrupted', error = ?, finished_at = ? WHERE id = ? AND status = 'queued'`),
      runningGens: p(`SELECT g.id FROM generations g JOIN jobs j ON j.id = g.job_id WHERE g.status = 'running' AND j.kind = 'generate'`),
      stepTime: p(`SELECT ms_per_step AS ms, samples FROM step_times WHERE model = ? AND width = ? AND height = ?`),
      recordStepTime: p(
        `INSERT INTO step_times (model, width, height, ms_per_step, samples, updated_at) VALUES (?, ?, ?, ?, 1, ?)
         ON CONFLICT (model, width, height) DO UPDATE SET
           ms_per_step = (step_times.ms_per_step * min(step_times.samples, 4) + excluded.ms_per_step) / (min(step_times.samples, 4) + 1),
           samples = step_times.samples + 1, updated_at = excluded.updated_at`,
      ),
      remainingSteps: p(`SELECT coalesce(sum(coalesce(steps, 0)), 0) AS n FROM generations WHERE job_id = ? AND status = 'queued'`),
    };
  }

  /** Inserts a job (its snapshot and sweep) and one queued generation per planned one, in one transaction. */
  insert(params: JobParams, sweep: Sweep, planned: readonly PlannedGeneration[], o: { owner: JobOwner; run: JobRunSettings; pid?: number }): { jobId: number; generationIds: number[] } {
    if (planned.length < 1) throw new StudioError('invalid_input', 'A job needs at least one generation.');
    const now = this.now();
    const tx = this.db.transaction(() => {
      const queued = (this.s.queuedCount!.get() as { n: number }).n;
      if (queued + planned.length > MAX_QUEUED_GENERATIONS) {
        throw new StudioError(
          'conflict',
          `The queue already holds ${queued} image(s) waiting; at most ${MAX_QUEUED_GENERATIONS} may wait. Let some finish or cancel them, then submit again.`,
          { queued, max: MAX_QUEUED_GENERATIONS },
        );
      }
      const first = this.generations.reserveIds(planned.length);
      const snapshot = { ...params, ep: o.run.ep, memory: o.run.memory };
      const jobId = Number(
        this.s.insertJob!.run(
          JSON.stringify(snapshot),
          JSON.stringify(planned.map((g) => g.seed)),
          planned.length,
          now,
          o.owner,
          o.pid ?? process.pid,
          JSON.stringify(sweep),
        ).lastInsertRowid,
      );
      const ids = planned.map((g, k) => {
        const id = first + k;
        const q = g.params;
        // The prompt is stored once, in the job's snapshot: a generation gets its copy when it starts (markRunning),
        // so a flood of queued or cancelled generations holds no prompt text ('' = the job's).
        const own = q.prompt !== params.prompt || q.negativePrompt !== params.negativePrompt;
        this.s.insertGen!.run(
          id,
          jobId,
          g.idx,
          g.seed,
          own ? q.prompt : '',
          own ? q.negativePrompt : '',
          q.steps,
          q.guidance,
          q.width,
          q.height,
          q.model,
          now,
          g.axisValue === undefined ? null : JSON.stringify(g.axisValue),
          q.t5 ? 1 : 0,
        );
        return id;
      });
      return { jobId, generationIds: ids };
    });
    return tx.immediate();
  }

  /**
   * Inserts an upscale job (jobs.upscale, `upscale`): one of the queue's jobs (kind 'generate' in the table, so every
   * list, count, cancel, retry and crash rule applies unchanged) whose snapshot carries `upscale`, and its one queued
   * generation holding the source's recorded parameters.
   */
  insertUpscale(spec: UpscaleSpec, display: JobParams, row: GenerationRowParams, o: { owner: JobOwner; run: JobRunSettings; pid?: number }): { jobId: number; generationIds: number[] } {
    const now = this.now();
    const tx = this.db.transaction(() => {
      const queued = (this.s.queuedCount!.get() as { n: number }).n;
      if (queued + 1 > MAX_QUEUED_GENERATIONS) {
        throw new StudioError('conflict', `The queue already holds ${queued} image(s) waiting; at most ${MAX_QUEUED_GENERATIONS} may wait. Let some finish or cancel them, then submit again.`, { queued, max: MAX_QUEUED_GENERATIONS });
      }
      const id = this.generations.reserveIds(1);
      const snapshot = { ...display, upscale: spec, ep: o.run.ep, memory: o.run.memory };
      const seeds = row.seed === null ? [] : [row.seed];
      const sweep: Sweep = { seeds: { mode: 'list', seeds: [row.seed ?? '0'] } };
      const jobId = Number(this.s.insertJob!.run(JSON.stringify(snapshot), JSON.stringify(seeds), 1, now, o.owner, o.pid ?? process.pid, JSON.stringify(sweep)).lastInsertRowid);
      this.s.insertGen!.run(id, jobId, 0, row.seed, row.prompt, row.negativePrompt, row.steps, row.guidance, row.width, row.height, row.model, now, null, null);
      return { jobId, generationIds: [id] };
    });
    return tx.immediate();
  }

  get(jobId: number): JobView | undefined {
    const row = this.s.job!.get(jobId) as JobRow | undefined;
    return row ? this.view(row) : undefined;
  }

  require(jobId: number): JobView {
    const job = this.get(jobId);
    if (!job) throw new StudioError('not_found', `Job ${jobId} does not exist.`, { jobId });
    return job;
  }

  /** Newest first; cursor = the last id of the previous page. */
  list(cursor: string | undefined, limit: number): { items: JobView[]; nextCursor: string | null } {
    let before = Number.MAX_SAFE_INTEGER;
    if (cursor !== undefined) {
      if (!/^[1-9][0-9]{0,15}$/.test(cursor)) throw new StudioError('invalid_input', 'The cursor is not one jobs.list returned.', { field: 'cursor' });
      before = Number(cursor);
    }
    const rows = this.s.page!.all(before, limit + 1) as JobRow[];
    const more = rows.length > limit;
    const page = more ? rows.slice(0, limit) : rows;
    // One read for the generations of the whole page (its jobs are an id range, newest first).
    const byJob = new Map<number, GenRow[]>();
    if (page.length) {
      for (const g of this.s.gensOfRange!.all(page[page.length - 1]!.id, page[0]!.id) as GenRow[]) {
        let list = byJob.get(g.job_id);
        if (!list) byJob.set(g.job_id, (list = []));
        list.push(g);
      }
    }
    return { items: page.map((r) => this.view(r, byJob.get(r.id) ?? [])), nextCursor: more ? String(page[page.length - 1]!.id) : null };
  }

  counts(): JobCounts {
    const counts = { ...EMPTY_COUNTS };
    for (const r of this.s.counts!.all() as { status: JobStatus; n: number }[]) counts[r.status] = r.n;
    return counts;
  }

  /** The next generation to run: of `owner`'s jobs in queue order (or of one job). */
  next(owner: JobOwner, jobId?: number): RunnableGeneration | undefined {
    const row = this.s.next!.get(owner, jobId ?? null, jobId ?? null) as { id: number; job_id: number; idx: number } | undefined;
    return row ? this.runnable(row.id) : undefined;
  }

  runnable(generationId: number): RunnableGeneration {
    const g = this.s.gen!.get(generationId) as GenRow | undefined;
    if (!g) throw new StudioError('not_found', `Generation ${generationId} does not exist.`);
    const job = this.s.job!.get(g.job_id) as JobRow;
    const snap = JSON.parse(job.params) as Record<string, unknown>;
    // '' = the job's prompt (stored once, in its snapshot: see insert).
    // An upscale job's generation keeps its own (the source's, maybe empty) prompt: the snapshot's is only the card's.
    const fromJob = g.prompt === '' && snap.upscale === undefined ? { prompt: String(snap.prompt ?? ''), negativePrompt: String(snap.negativePrompt ?? '') } : undefined;
    return {
      id: g.id,
      jobId: g.job_id,
      idx: g.idx,
      params: {
        prompt: fromJob ? fromJob.prompt : g.prompt,
        negativePrompt: fromJob ? fromJob.negativePrompt : g.negative_prompt,
        model: g.model,
        seed: g.seed ?? '0',
        steps: g.steps ?? 1,
        guidance: g.guidance ?? 0,
        width: g.width,
        height: g.height,
        t5: g.t5 === null ? true : g.t5 === 1,
        ...samplingOfGeneration(snap, job.sweep, g.axis_value),
        ...initOfGeneration(snap, job.sweep, g.axis_value),
        ...lorasOfGeneration(snap.loras, job.sweep, g.axis_value),
        ...storedHires(snap.hires),
      },
      run: { ep: String(snap.ep ?? 'auto'), memory: String(snap.memory ?? 'balanced') },
      ...storedUpscale(snap.upscale),
    };
  }

  generation(id: number): (JobGeneration & { jobId: number }) | undefined {
    const g = this.s.gen!.get(id) as GenRow | undefined;
    return g ? { ...this.genView(g), jobId: g.job_id } : undefined;
  }

  /** queued → running, the generation taking its own copy of the job's prompt (the gallery and search read it). */
  markRunning(gen: RunnableGeneration, now: number): void {
    const tx = this.db.transaction(() => {
      this.s.fillPrompt!.run(gen.params.prompt, gen.params.negativePrompt, gen.id);
      this.generations.markRunning(gen.id, now);
    });
    tx.immediate();
  }

  // The other ends of a generation's life (done is saveImage's: core/history/images.ts). These are THE lifecycle
  // door the product uses (the queue); HistoryService has none.
  /** queued|running → cancelled. */
  markCancelled(id: number, now: number): void {
    this.generations.markCancelled(id, now);
  }

  /** running → failed, with the reason shown on the card. */
  markFailed(id: number, reason: string, now: number): void {
    this.generations.markFailed(id, reason, now);
  }

  /** running → interrupted (the worker or the process went away): offered for retry. */
  markInterrupted(id: number, reason: string, now: number): void {
    this.generations.markInterrupted(id, now, reason);
  }

  setProgress(generationId: number, step: number, total: number): void {
    this.s.progress!.run(step, total, generationId);
  }

  cancelRequested(jobId: number): boolean {
    const r = this.s.cancelRequested!.get(jobId) as { c: number } | undefined;
    return r?.c === 1;
  }

  /** Cancels the queued generations of a job and asks the runner to stop its running one. Returns how many were queued. */
  cancelJob(jobId: number): number {
    const tx = this.db.transaction(() => {
      this.s.requestCancel!.run(jobId);
      const queued = (this.s.queuedOf!.all(jobId) as { id: number }[]).map((r) => r.id);
      for (const id of queued) this.generations.markCancelled(id, this.now());
      return queued.length;
    });
    return tx.immediate();
  }

  cancelQueuedGeneration(id: number): boolean {
    const g = this.generations.get(id);
    if (!g || g.status !== 'queued') return false;
    this.generations.markCancelled(id, this.now());
    return true;
  }

  /** Failed, cancelled or interrupted generations → queued again, on the queue (the job goes to the back). */
  requeue(jobId: number, ids: readonly number[]): number[] {
    const tx = this.db.transaction(() => {
      const done: number[] = [];
      for (const id of ids) if (this.s.requeue!.run(id).changes === 1) done.push(id);
      if (done.length) {
        this.s.retryJob!.run(process.pid, jobId);
        this.generations.refreshJob(jobId, this.now());
      }
      return done;
    });
    return tx.immediate();
  }

  /** Hides finished jobs from the list and deletes their cancelled/failed generations that have no image. */
  clearFinished(): number {
    const tx = this.db.transaction(() => {
      const cleared = this.s.clear!.run(this.now()).changes;
      this.s.purgeCleared!.run();
      this.s.purgeEmptyJobs!.run();
      return cleared;
    });
    return tx.immediate();
  }

  moveToFront(jobId: number): boolean {
    return this.s.front!.run(jobId).changes === 1;
  }

  /**
   * At start-up of the lock holder: generations of standalone CLI runs that did not finish (their process is gone,
   * since this one got the lock) become interrupted — offered for retry, never run behind the user's back.
   */
  interruptOrphans(): number[] {
    const now = this.now();
    const tx = this.db.transaction(() => {
      const ids = (this.s.orphansCli!.all() as { id: number }[]).map((r) => r.id);
      for (const id of ids) {
        const g = this.generations.get(id);
        if (!g) continue;
        if (g.status === 'running') this.generations.markInterrupted(id, now, 'The command-line run that made this image stopped before it finished.');
        else {
          this.s.interruptQueued!.run('Not started: the command-line run it belonged to stopped.', now, id);
          this.generations.refreshJob(g.job_id, now);
        }
      }
      return ids;
    });
    return tx.immediate();
  }

  runningGenerations(): number[] {
    return (this.s.runningGens!.all() as { id: number }[]).map((r) => r.id);
  }

  stepTime(model: string, width: number, height: number): number | undefined {
    const r = this.s.stepTime!.get(model, width, height) as { ms: number } | undefined;
    return r?.ms;
  }

  recordStepTime(model: string, width: number, height: number, msPerStep: number): void {
    if (!(msPerStep >= 0) || !Number.isFinite(msPerStep)) return;
    this.s.recordStepTime!.run(model, width, height, msPerStep, this.now());
  }

  remainingQueuedSteps(jobId: number): number {
    return (this.s.remainingSteps!.get(jobId) as { n: number }).n;
  }

  isFinished(status: JobStatus): boolean {
    return isFinishedStatus(status);
  }

  /** The job's stored status (the core's roll-up), for the events; undefined when the job is gone. */
  jobStatus(jobId: number): JobStatus | undefined {
    return (this.s.jobStatus!.get(jobId) as { status: JobStatus } | undefined)?.status;
  }

  private view(row: JobRow, rows?: GenRow[]): JobView {
    const gens = (rows ?? (this.s.gensOf!.all(row.id) as GenRow[])).map((g) => this.genView(g));
    return {
      id: row.id,
      createdAt: iso(row.created_at)!,
      finishedAt: iso(row.finished_at),
      status: row.status,
      owner: row.owner ?? 'cli',
      params: snapshotParams(row.params),
      sweep: storedSweep(row.sweep, gens),
      generations: gens,
      ...storedUpscale((JSON.parse(row.params) as Record<string, unknown>).upscale),
    };
  }

  private genView(g: GenRow): JobGeneration {
    const axis = g.axis_value === null ? undefined : (JSON.parse(g.axis_value) as AxisValue);
    return {
      id: g.id,
      seed: g.seed ?? '0',
      ...(axis !== undefined ? { axisValue: axis } : {}),
      status: g.status,
      ...(g.has_image ? { imageId: g.id } : {}),
      ...(g.has_image && g.in_trash ? { imageInTrash: true as const } : {}),
      ...(g.error ? { error: g.error.slice(0, 4000) } : {}),
      ...(g.status === 'running' && g.step !== null ? { step: g.step } : {}),
      ...(g.status === 'running' && g.total !== null ? { total: g.total } : {}),
    };
  }
}

/** The image-to-image source of a job's snapshot, when it has a valid one. */
function storedInit(raw: unknown): { init?: InitImage } {
  if (raw === undefined) return {};
  const parsed = initImageSchema.safeParse(raw);
  return parsed.success ? { init: parsed.data } : {};
}

/** The upscale of a job's snapshot (an upscale job), when it has a valid one. */
function storedUpscale(raw: unknown): { upscale?: UpscaleSpec } {
  if (raw === undefined) return {};
  const parsed = upscaleSpecSchema.safeParse(raw);
  return parsed.success ? { upscale: parsed.data } : {};
}

/** The hires fix of a job's snapshot, when it has a valid one. */
function storedHires(raw: unknown): { hires?: Hires } {
  if (raw === undefined) return {};
  const parsed = hiresSchema.safeParse(raw);
  return parsed.success ? { hires: parsed.data } : {};
}

/** The LoRAs of a job's snapshot, when they are valid. */
function storedLoras(raw: unknown): { loras?: LoraRef[] } {
  if (raw === undefined) return {};
  const parsed = z.array(loraRefSchema).max(GENERATION_LIMITS.maxLoras).safeParse(raw);
  return parsed.success && parsed.data.length > 0 ? { loras: parsed.data } : {};
}

/** The LoRAs of one stored generation: the job's, with the generation's own value when the sweep's axis is a LoRA's. */
function lorasOfGeneration(raw: unknown, sweepText: string | null, axisValueText: string | null): { loras?: LoraRef[] } {
  const stored = storedLoras(raw);
  if (!stored.loras || sweepText === null || axisValueText === null) return stored;
  const sweep = sweepSchema.safeParse(JSON.parse(sweepText));
  const axis = sweep.success ? sweep.data.axis : undefined;
  const lora = axisLora(axis);
  if (!axis || lora === undefined) return stored;
  const p = { loras: stored.loras } as GenerationParams;
  applyAxisValue(p, axis.kind, JSON.parse(axisValueText) as AxisValue, lora);
  return p.loras ? { loras: p.loras } : {};
}

/** The job's snapshot as the contract shows it (jobs from before the queue kept other keys too). */
/**
 * The sampling parameters of one stored generation: the job's snapshot (sampler, scheduler, shift, SLG; absent in
 * jobs queued before they existed) with the generation's own axis value when the sweep's axis is one of them.
 */
function samplingOfGeneration(snap: Record<string, unknown>, sweepText: string | null, axisValueText: string | null): Partial<GenerationParams> {
  const p = { ...pickSampling(snapshotParams(JSON.stringify(snap))) } as GenerationParams;
  const sweep = sweepText === null ? undefined : sweepSchema.safeParse(JSON.parse(sweepText));
  const kind = sweep?.success ? sweep.data.axis?.kind : undefined;
  if (kind && axisValueText !== null && ['sampler', 'scheduler', 'shift', 'slgScale'].includes(kind)) {
    applyAxisValue(p, kind, JSON.parse(axisValueText) as AxisValue);
  }
  return pickSampling(p);
}

/** The job's init image with the generation's own strength when the sweep's axis is strength. */
function initOfGeneration(snap: Record<string, unknown>, sweepText: string | null, axisValueText: string | null): { init?: InitImage } {
  const stored = storedInit(snap.init);
  const sweep = sweepText === null ? undefined : sweepSchema.safeParse(JSON.parse(sweepText));
  if (!stored.init || axisValueText === null || !sweep?.success || sweep.data.axis?.kind !== 'strength') return stored;
  const strength = initImageSchema.shape.strength.safeParse(JSON.parse(axisValueText));
  return strength.success ? { init: { ...stored.init, strength: strength.data } } : stored;
}

function pickSampling(r: Record<string, unknown> | Partial<GenerationParams>): Partial<GenerationParams> {
  const out: Record<string, unknown> = {};
  for (const k of ['sampler', 'scheduler', 'shift', 'slg'] as const) if ((r as Record<string, unknown>)[k] !== undefined) out[k] = (r as Record<string, unknown>)[k];
  return out as Partial<GenerationParams>;
}

function snapshotParams(text: string): JobParams {
  const raw = JSON.parse(text) as Record<string, unknown>;
  const candidate = {
    prompt: raw.prompt,
    negativePrompt: raw.negativePrompt ?? '',
    model: raw.model,
    steps: raw.steps,
    guidance: raw.guidance,
    width: raw.width,
    height: raw.height,
    t5: typeof raw.t5 === 'boolean' ? raw.t5 : true,
    ...storedInit(raw.init),
    ...storedLoras(raw.loras),
    ...storedHires(raw.hires),
  };
  // Sampling fields of a newer (or damaged) snapshot that do not parse are dropped, not the whole snapshot.
  const withSampling = jobParamsSchema.safeParse({ ...candidate, ...pickSampling(raw) });
  if (withSampling.success) return withSampling.data;
  const parsed = jobParamsSchema.safeParse(candidate);
  if (parsed.success) return parsed.data;
  return { prompt: String(raw.prompt ?? '').slice(0, GENERATION_LIMITS.maxPromptChars), negativePrompt: '', model: String(raw.model ?? '?').slice(0, 300) || '?', steps: 1, guidance: 0, width: 64, height: 64, t5: true };
}

function storedSweep(text: string | null, gens: readonly JobGeneration[]): Sweep {
  if (text !== null) {
    const parsed = sweepSchema.safeParse(JSON.parse(text));
    if (parsed.success) return parsed.data;
  }
  const seeds = gens.map((g) => g.seed).slice(0, 64);
  return { seeds: { mode: 'list', seeds: seeds.length ? seeds : ['0'] } };
}
