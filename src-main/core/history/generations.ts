// Jobs and generations: id reservation, job creation, status transitions, job status roll-up.
import { isSeedText } from '../../../src-shared/generation';
import type { Statement } from 'better-sqlite3';
import { StudioError } from '../../../src-shared/errors';
import type { Db } from '../db';
import type { CreatedJob, GenerationSnapshot, GenerationStatus, Timings } from './types';
import { isFinishedStatus } from '../../../src-shared/schemas/jobs';
import { rollUpJobStatus } from './job-status';

/** THE seed (src-shared/generation.ts): an exact unsigned decimal, 0 … 2^64 − 1. */
export function isSeed(value: unknown): value is string {
  return typeof value === 'string' && isSeedText(value);
}

/** A row of the generations table (the jobs migration added axis_value, t5, step and total). */
export interface GenerationRow {
  id: number;
  job_id: number;
  idx: number;
  seed: string | null;
  prompt: string;
  negative_prompt: string;
  steps: number | null;
  guidance: number | null;
  width: number;
  height: number;
  model: string;
  meta: string | null;
  status: GenerationStatus;
  ep: string | null;
  error: string | null;
  timings: string | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  axis_value: string | null;
  t5: number | null;
  step: number | null;
  total: number | null;
}

/**
 * The parameters a generation row records: as generated, as another tool recorded them (imports), or an upscale
 * job's source's (jobs/store.ts insertUpscale).
 */
export interface GenerationRowParams {
  seed: string | null;
  prompt: string;
  negativePrompt: string;
  steps: number | null;
  guidance: number | null;
  width: number;
  height: number;
  model: string;
}

export interface NewGeneration extends GenerationRowParams {
  id: number;
  jobId: number;
  idx: number;
  meta: string | null;
  status: GenerationStatus;
  ep: string | null;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
}

/** Which transitions each mark* allows (same-state calls are no-ops). */
const ALLOWED_FROM: Record<'running' | 'failed' | 'cancelled' | 'interrupted' | 'done', GenerationStatus[]> = {
  running: ['queued'],
  failed: ['queued', 'running'],
  cancelled: ['queued', 'running'],
  interrupted: ['running'],
  done: ['queued', 'running'],
};

export class Generations {
  private readonly reserveStmt: Statement<[number]>;
  private readonly maxIdStmt: Statement<[]>;
  private readonly bumpStmt: Statement<[number]>;
  private readonly insertJobStmt: Statement<unknown[]>;
  private readonly insertGenStmt: Statement<NewGeneration>;
  private readonly getStmt: Statement<[number]>;
  private readonly countsStmt: Statement<[number]>;
  private readonly setJobStmt: Statement<[string, number | null, number]>;
  private readonly deleteJobStmt: Statement<[number]>;
  private readonly doneStmt: Statement<unknown[]>;

  constructor(private readonly db: Db) {
    this.reserveStmt = db.prepare(
      `UPDATE history_ids SET next = next + ? WHERE name = 'generation' RETURNING next`,
    );
    this.maxIdStmt = db.prepare(`SELECT coalesce(max(id), 0) AS m FROM generations`);
    this.bumpStmt = db.prepare(`UPDATE history_ids SET next = max(next, ?) WHERE name = 'generation'`);
    this.insertJobStmt = db.prepare(
      `INSERT INTO jobs (kind, params, seeds, count, status, created_at, finished_at)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    this.insertGenStmt = db.prepare(
      `INSERT INTO generations (id, job_id, idx, seed, prompt, negative_prompt, steps, guidance, width, height,
         model, meta, status, ep, created_at, started_at, finished_at)
       VALUES (@id, @jobId, @idx, @seed, @prompt, @negativePrompt, @steps, @guidance, @width, @height,
         @model, @meta, @status, @ep, @createdAt, @startedAt, @finishedAt)`,
    );
    this.getStmt = db.prepare(`SELECT * FROM generations WHERE id = ?`);
    this.countsStmt = db.prepare(
      `SELECT count(*) AS n,
              coalesce(sum(status = 'queued'), 0) AS queued,
              coalesce(sum(status = 'running'), 0) AS running,
              coalesce(sum(status = 'done'), 0) AS done,
              coalesce(sum(status = 'failed'), 0) AS failed,
              coalesce(sum(status = 'cancelled'), 0) AS cancelled,
              coalesce(sum(status = 'interrupted'), 0) AS interrupted
       FROM generations WHERE job_id = ?`,
    );
    this.setJobStmt = db.prepare(`UPDATE jobs SET status = ?, finished_at = ? WHERE id = ?`);
    this.deleteJobStmt = db.prepare(`DELETE FROM jobs WHERE id = ?`);
    this.doneStmt = db.prepare(
      `UPDATE generations SET status = 'done', meta = ?, ep = coalesce(?, ep), timings = coalesce(?, timings),
         started_at = coalesce(started_at, ?), finished_at = ? WHERE id = ?`,
    );
  }

  /**
   * Reserves `n` consecutive generation ids (committed at once, so they are never handed out twice,
   * even if the caller then crashes). Returns the first.
   */
  reserveIds(n: number): number {
    if (!Number.isInteger(n) || n < 1) throw new StudioError('internal', `reserveIds: bad count ${n}`);
    const row = this.reserveStmt.get(n) as { next: number } | undefined;
    if (!row) throw new StudioError('internal', 'The history id sequence is missing (migration 200 not applied?)');
    return row.next - n;
  }

  /** Makes sure the sequence is past every id in use (after adopting files with their own ids). */
  bumpSequencePastMax(): void {
    const { m } = this.maxIdStmt.get() as { m: number };
    this.bumpStmt.run(m + 1);
  }

  /** Inserts a job and one queued generation per seed, in one transaction. */
  createJob(params: GenerationSnapshot, seeds: readonly string[], now: number): CreatedJob {
    validateSnapshot(params);
    if (seeds.length < 1 || seeds.length > 10_000) {
      throw new StudioError('invalid_input', `A job needs between 1 and 10,000 seeds (got ${seeds.length}).`);
    }
    for (const s of seeds) {
      if (!isSeed(s)) {
        throw new StudioError(
          'invalid_input',
          `Seed ${JSON.stringify(s)} is not a whole number from 0 to 2^64−1 written in decimal digits.`,
        );
      }
    }
    const run = this.db.transaction((): CreatedJob => {
      const first = this.reserveIds(seeds.length);
      const jobId = Number(
        this.insertJobStmt.run('generate', JSON.stringify(params), JSON.stringify(seeds), seeds.length, 'queued', now, null)
          .lastInsertRowid,
      );
      const generationIds: number[] = [];
      seeds.forEach((seed, idx) => {
        const id = first + idx;
        this.insertGen({
          id,
          jobId,
          idx,
          seed,
          prompt: params.prompt,
          negativePrompt: params.negativePrompt,
          steps: params.steps,
          guidance: params.guidance,
          width: params.width,
          height: params.height,
          model: params.model,
          meta: null,
          status: 'queued',
          ep: null,
          createdAt: now,
          startedAt: null,
          finishedAt: null,
        });
        generationIds.push(id);
      });
      return { jobId, generationIds };
    });
    return run.immediate();
  }

  /** A one-generation job for an image that enters the store without a queue job (imports, adoption). */
  insertImportJob(gen: Omit<NewGeneration, 'jobId' | 'idx'>, params: unknown): number {
    const jobId = Number(
      this.insertJobStmt.run(
        'import',
        JSON.stringify(params ?? {}),
        JSON.stringify(gen.seed === null ? [] : [gen.seed]),
        1,
        gen.status,
        gen.createdAt,
        gen.finishedAt,
      ).lastInsertRowid,
    );
    this.insertGen({ ...gen, jobId, idx: 0 });
    return jobId;
  }

  insertGen(gen: NewGeneration): void {
    this.insertGenStmt.run(gen);
  }

  get(id: number): GenerationRow | undefined {
    return this.getStmt.get(id) as GenerationRow | undefined;
  }

  require(id: number): GenerationRow {
    const row = this.get(id);
    if (!row) throw new StudioError('not_found', `Generation ${id} does not exist.`);
    return row;
  }

  markRunning(id: number, now: number, info: { ep?: string } = {}): void {
    this.transition(id, 'running', now, () =>
      this.db
        .prepare(`UPDATE generations SET status = 'running', started_at = ?, ep = coalesce(?, ep) WHERE id = ?`)
        .run(now, info.ep ?? null, id),
    );
  }

  markFailed(id: number, error: string, now: number): void {
    this.transition(id, 'failed', now, () =>
      this.db
        .prepare(`UPDATE generations SET status = 'failed', error = ?, finished_at = ? WHERE id = ?`)
        .run(error.slice(0, 10_000), now, id),
    );
  }

  markCancelled(id: number, now: number): void {
    this.transition(id, 'cancelled', now, () =>
      this.db.prepare(`UPDATE generations SET status = 'cancelled', finished_at = ? WHERE id = ?`).run(now, id),
    );
  }

  markInterrupted(id: number, now: number, reason: string): void {
    this.transition(id, 'interrupted', now, () =>
      this.db
        .prepare(`UPDATE generations SET status = 'interrupted', error = ?, finished_at = ? WHERE id = ?`)
        .run(reason, now, id),
    );
  }

  /** running|queued → done, inside the caller's transaction (saveImage). */
  markDoneInTx(id: number, now: number, info: { meta: string; ep: string | null; timings: Timings | null }): void {
    const row = this.require(id);
    if (!ALLOWED_FROM.done.includes(row.status)) {
      throw new StudioError('conflict', `Generation ${id} is ${row.status}; only a queued or running generation can get an image.`);
    }
    this.doneStmt.run(info.meta, info.ep, info.timings ? JSON.stringify(info.timings) : null, now, now, id);
    this.refreshJob(row.job_id, now);
  }

  /** Derives the job's status from its generations; deletes the job when none are left. */
  refreshJob(jobId: number, now: number): void {
    const c = this.countsStmt.get(jobId) as Record<'n' | GenerationStatus, number>;
    if (c.n === 0) {
      this.deleteJobStmt.run(jobId);
      return;
    }
    const status = rollUpJobStatus(c)!;
    const finished = isFinishedStatus(status) ? now : null;
    this.setJobStmt.run(status, finished, jobId);
  }

  private transition(
    id: number,
    to: keyof typeof ALLOWED_FROM,
    now: number,
    apply: () => void,
  ): void {
    const run = this.db.transaction(() => {
      const row = this.require(id);
      if (row.status === to) return;
      if (!ALLOWED_FROM[to].includes(row.status)) {
        throw new StudioError('conflict', `Generation ${id} is ${row.status}; it cannot become ${to}.`);
      }
      apply();
      this.refreshJob(row.job_id, now);
    });
    run.immediate();
  }
}

function validateSnapshot(p: GenerationSnapshot): void {
  const problems: string[] = [];
  if (typeof p.prompt !== 'string') problems.push('prompt must be text');
  if (typeof p.negativePrompt !== 'string') problems.push('negativePrompt must be text');
  if (!Number.isInteger(p.steps) || p.steps < 1) problems.push('steps must be a whole number ≥ 1');
  if (typeof p.guidance !== 'number' || !Number.isFinite(p.guidance)) problems.push('guidance must be a number');
  if (!Number.isInteger(p.width) || p.width < 1) problems.push('width must be a whole number ≥ 1');
  if (!Number.isInteger(p.height) || p.height < 1) problems.push('height must be a whole number ≥ 1');
  if (typeof p.model !== 'string' || p.model === '') problems.push('model must be named');
  if (problems.length) throw new StudioError('invalid_input', `Cannot create the job: ${problems.join('; ')}.`);
}
