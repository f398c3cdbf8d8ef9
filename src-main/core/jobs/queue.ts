// The persisted job queue (docs/architecture.md §1). Jobs and generations live in SQLite, so queued work
// survives a restart; one generation runs at a time on the inference host, in submit order (moveToFront
// aside); statuses queued → running → done | failed | cancelled, and interrupted for work that was running
// when the process ended. The runner runs only in the process holding studio.lock (start()); any process
// may submit (a `sd35-studio generate` next to `serve` does), and the runner notices other processes'
// commits through SQLite's data_version. A standalone CLI run owns its job ('cli') and runs it itself
// (runOwnJob); if that process dies, the next lock holder marks what it left interrupted.
import { StudioError } from '../../../src-shared/errors';
import type { JobParams, Sweep } from '../../../src-shared/generation';
import type { JobChangedEvent, JobTarget, JobView } from '../../../src-shared/schemas/jobs';
import type { EventName, PayloadOf } from '../../../src-shared/api';
import { stepProgress, type GenerationStep, type Progress } from '../../../src-shared/progress';
import type { Notifier, PowerSaveBlocker } from '../adapters';
import type { Db } from '../db';
import type { HistoryService } from '../history/service';
import type { ModelService } from '../models/service';
import type { HostModelInfo, InferenceHost, PreviewPng } from '../../inference/host';
import { etaMs } from './eta';
import type { ModelHost } from './model-host';
import { failsTheWholeJob, runGeneration, type ResolvedModel, type RunOutcome } from './runner';
import { JobStore, type JobOwner, type JobRunSettings, type RunnableGeneration } from './store';
import { expandSweep } from './sweep';
import { hasLoraTags } from '../../../src-shared/lora-prompt';
import { LoraLibrary } from '../loras/library';
import { withPromptLoras } from '../loras/prompt-loras';
import { dataLayout } from '../paths';
import type { ImageRecord } from '../history/types';
import { runUpscale, type PreparedUpscale } from '../upscalers/upscale-job';

type JobEventName = Extract<EventName, `job.${string}`>;

export interface JobQueueOptions {
  db: Db;
  history: HistoryService;
  models?: Pick<ModelService, 'resolveInstalled' | 'modelHash'>;
  modelHost: ModelHost;
  appVersion: string;
  dataRoot: string;
  /** Settings read when they matter (EP and memory mode at submit, previews and idle time while running). */
  settings(): { executionProvider: string; memoryMode: string; livePreviews: boolean; idleUnloadMinutes: number };
  emit<E extends JobEventName>(event: E, payload: PayloadOf<E>): void;
  power?: PowerSaveBlocker;
  notifier?: Notifier;
  log?(level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>): void;
  /** How often the runner looks for work other processes committed (ms; default 500). */
  pollMs?: number;
  now?: () => number;
}

export interface SubmitOptions {
  owner?: JobOwner;
  /** EP and memory mode for this job instead of the settings' (CLI --ep / --memory). */
  run?: Partial<JobRunSettings>;
}

export interface OwnRunHooks {
  signal?: AbortSignal;
  onStep?(generationId: number, step: GenerationStep): void;
  onLoaded?(info: HostModelInfo, model: ResolvedModel): void;
  onImage?(generationId: number, outcome: RunOutcome): void;
  onError?(generationId: number, error: StudioError): void;
  /** An upscale job's image was saved. */
  onUpscaled?(generationId: number, record: ImageRecord): void;
}

/** A step of the running work: stored, checked for a cancel and sent; `progress` is made only when it is sent. */
type StepReport = (step: GenerationStep, progress: () => Progress, preview?: PreviewPng) => void;

/** What differs between a generation and an upscale inside the one settle path (JobQueue.settle). */
interface SettledRun<T> {
  work(signal: AbortSignal, report: StepReport): Promise<T>;
  /** After the work succeeded, before `job.generationDone`: the saved image's id. */
  imageId(result: T): number;
  /** After `job.generationDone`. */
  saved?(result: T): void;
}

interface Running {
  gen: RunnableGeneration;
  controller: AbortController;
}

export class JobQueue {
  readonly store: JobStore;
  private paused = false;
  private looping = false;
  private started = false;
  private closed = false;
  private current: Running | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private dataVersion = -1;
  private releasePower: (() => void) | undefined;
  private unloadWhenIdle = false;
  private readonly log: NonNullable<JobQueueOptions['log']>;

  /** The inference host the queue uses (kept between requests): `upscale` and `upscalers import` run on it too. */
  inferenceHost(): InferenceHost {
    return this.o.modelHost.get();
  }

  constructor(private readonly o: JobQueueOptions) {
    this.store = new JobStore(o.db, o.now);
    this.log = o.log ?? (() => undefined);
  }

  get queuePaused(): boolean {
    return this.paused;
  }

  get running(): RunnableGeneration | undefined {
    return this.current?.gen;
  }

  // ---- submit and the queue's state (any process) ----

  submit(params: JobParams, sweep: Sweep, options: SubmitOptions = {}): { jobId: number; generationIds: number[] } {
    // `<lora:name:S>` typed in the prompt: library LoRAs of the job, out of its prompt (core/loras/prompt-loras.ts).
    if (hasLoraTags(params.prompt)) {
      const library = new LoraLibrary(dataLayout(this.o.dataRoot).loras);
      params = withPromptLoras(params, (ref) => library.find(ref));
    }
    const planned = expandSweep(params, sweep);
    const s = this.o.settings();
    const run: JobRunSettings = { ep: options.run?.ep ?? s.executionProvider, memory: options.run?.memory ?? s.memoryMode };
    const created = this.store.insert(params, sweep, planned, { owner: options.owner ?? 'queue', run });
    this.changed(created.jobId);
    if (options.owner !== 'cli') this.kick();
    return created;
  }

  /** Queues an upscale (core/upscalers/upscale-job.ts prepareUpscale checked it): one job, one generation. */
  submitUpscale(prepared: PreparedUpscale, options: SubmitOptions = {}): { jobId: number; generationIds: number[] } {
    const s = this.o.settings();
    const run: JobRunSettings = { ep: options.run?.ep ?? s.executionProvider, memory: options.run?.memory ?? s.memoryMode };
    const created = this.store.insertUpscale(prepared.spec, prepared.display, prepared.row, { owner: options.owner ?? 'queue', run });
    this.changed(created.jobId);
    if (options.owner !== 'cli') this.kick();
    return created;
  }

  list(cursor: string | undefined, limit = 50) {
    const page = this.store.list(cursor, limit);
    return {
      ...page,
      counts: this.store.counts(),
      queue: { paused: this.paused, loadedModel: this.o.modelHost.alive ? this.o.modelHost.loadedModel : null },
    };
  }

  cancel(target: JobTarget): number {
    if ('jobId' in target) {
      const job = this.store.require(target.jobId);
      let n = this.store.cancelJob(job.id);
      if (this.current?.gen.jobId === job.id) {
        this.current.controller.abort();
        n++;
      }
      this.changed(job.id);
      return n;
    }
    const g = this.store.generation(target.generationId);
    if (!g) throw new StudioError('not_found', `Generation ${target.generationId} does not exist.`);
    if (this.current?.gen.id === g.id) {
      this.current.controller.abort();
      return 1;
    }
    if (g.status === 'running') {
      // Running in another process's runner: it stops at the next step.
      this.store.cancelJob(g.jobId);
      this.changed(g.jobId);
      return 1;
    }
    const n = this.store.cancelQueuedGeneration(g.id) ? 1 : 0;
    if (n) this.changed(g.jobId);
    return n;
  }

  retry(target: JobTarget): { jobId: number; generationIds: number[] } {
    const jobId = 'jobId' in target ? target.jobId : this.store.generation(target.generationId)?.jobId;
    if (jobId === undefined) throw new StudioError('not_found', `Generation ${'generationId' in target ? target.generationId : ''} does not exist.`);
    const job = this.store.require(jobId);
    const retryable = job.generations.filter((g) => g.status === 'failed' || g.status === 'cancelled' || g.status === 'interrupted');
    const ids = 'generationId' in target ? retryable.filter((g) => g.id === target.generationId).map((g) => g.id) : retryable.map((g) => g.id);
    if ('generationId' in target && ids.length === 0) {
      const g = job.generations.find((x) => x.id === target.generationId);
      throw new StudioError('conflict', `Generation ${target.generationId} is ${g?.status ?? 'unknown'}; only failed, cancelled or interrupted ones can be retried.`);
    }
    const requeued = this.store.requeue(jobId, ids);
    if (requeued.length) {
      this.changed(jobId);
      this.kick();
    }
    return { jobId, generationIds: requeued };
  }

  clearFinished(): number {
    const n = this.store.clearFinished();
    this.queueChanged();
    return n;
  }

  pause(): boolean {
    this.paused = true;
    this.queueChanged();
    return this.paused;
  }

  resume(): boolean {
    this.paused = false;
    this.queueChanged();
    this.kick();
    return this.paused;
  }

  moveToFront(jobId: number): boolean {
    this.store.require(jobId);
    const moved = this.store.moveToFront(jobId);
    if (moved) this.changed(jobId);
    return moved;
  }

  /** Releases the worker's model now; while a generation runs, as soon as the queue is idle (false now). */
  async unloadModel(): Promise<boolean> {
    if (this.current || this.looping) {
      this.unloadWhenIdle = true;
      return false;
    }
    const unloaded = await this.o.modelHost.unload();
    this.queueChanged();
    return unloaded;
  }

  // ---- the runner (lock holder only) ----

  /**
   * Start-up in the lock holder: orphaned CLI work becomes interrupted; then (runner: true — the app and
   * `serve`, not a standalone CLI run) the queue runs on its own, queued work first.
   */
  start(options: { runner: boolean } = { runner: true }): void {
    if (this.started || this.closed) return;
    const orphans = this.store.interruptOrphans();
    if (orphans.length) this.log('info', 'generations of stopped command-line runs marked interrupted', { ids: orphans });
    if (!options.runner) return;
    this.started = true;
    this.dataVersion = this.readDataVersion();
    this.pollTimer = setInterval(() => this.poll(), this.o.pollMs ?? 500);
    this.pollTimer.unref();
    this.kick();
  }

  /** Runs a job this process owns (a standalone CLI run), generation by generation; resolves when it ends. */
  async runOwnJob(jobId: number, hooks: OwnRunHooks = {}): Promise<JobView> {
    const onAbort = () => this.current?.gen.jobId === jobId && this.current.controller.abort();
    hooks.signal?.addEventListener('abort', onAbort);
    try {
      for (;;) {
        if (hooks.signal?.aborted) {
          this.store.cancelJob(jobId);
          break;
        }
        const gen = this.store.next('cli', jobId);
        if (!gen) break;
        const outcome = await this.runOne(gen, hooks);
        if (outcome && hooks.onImage) hooks.onImage(gen.id, outcome);
      }
    } finally {
      hooks.signal?.removeEventListener('abort', onAbort);
    }
    return this.store.require(jobId);
  }

  /** Ends the runner: a running generation becomes interrupted (retryable); queued work stays for next time. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.pollTimer) clearInterval(this.pollTimer);
    const cur = this.current;
    if (cur) {
      try {
        this.store.markInterrupted(cur.gen.id, 'The studio was closed while this image was being made.', this.now());
      } catch (err) {
        this.log('warn', 'could not mark the running generation interrupted', { error: String(err) });
      }
      cur.controller.abort();
    }
    this.releasePower?.();
    this.releasePower = undefined;
    void this.o.modelHost.unload().catch(() => undefined);
  }

  private now(): number {
    return (this.o.now ?? Date.now)();
  }

  private readDataVersion(): number {
    return Number(this.o.db.pragma('data_version', { simple: true }));
  }

  private poll(): void {
    if (this.closed || this.looping) return;
    const v = this.readDataVersion();
    if (v !== this.dataVersion) {
      this.dataVersion = v;
      this.kick();
    }
  }

  private kick(): void {
    if (!this.started || this.closed || this.paused || this.looping) return;
    void this.loop();
  }

  private async loop(): Promise<void> {
    this.looping = true;
    try {
      while (!this.closed && !this.paused) {
        const gen = this.store.next('queue');
        if (!gen) break;
        if (!this.releasePower && this.o.power) this.releasePower = this.o.power.block('Generating images');
        await this.runOne(gen, {});
      }
    } catch (err) {
      this.log('error', 'the job runner stopped', { error: StudioError.from(err).message });
    } finally {
      this.looping = false;
      if (!this.closed) {
        this.releasePower?.();
        this.releasePower = undefined;
        this.o.modelHost.scheduleIdle(this.unloadWhenIdle ? 0 : this.o.settings().idleUnloadMinutes);
        this.unloadWhenIdle = false;
        this.dataVersion = this.readDataVersion();
      }
    }
  }

  /** One generation: running → done | failed | cancelled | interrupted, with its events. */
  private async runOne(gen: RunnableGeneration, hooks: OwnRunHooks): Promise<RunOutcome | undefined> {
    if (gen.upscale) {
      await this.runUpscaleOne({ ...gen, upscale: gen.upscale }, hooks);
      return undefined;
    }
    const p = gen.params;
    // Read before markRunning: the queued steps still count this generation's own.
    const stored = this.store.stepTime(p.model, p.width, p.height);
    const queuedSteps = this.store.remainingQueuedSteps(gen.jobId) - p.steps;
    const previews = this.o.settings().livePreviews;
    return this.settle(gen, hooks, {
      work: (signal, report) =>
        runGeneration(
          {
            history: this.o.history,
            ...(this.o.models ? { models: this.o.models } : {}),
            host: () => this.o.modelHost.get(),
            appVersion: this.o.appVersion,
            dataRoot: this.o.dataRoot,
          },
          gen,
          {
            signal,
            previews,
            onLoaded: (info, model) => {
              this.o.modelHost.loadedModel = model.id;
              hooks.onLoaded?.(info, model);
            },
            onStep: (s, preview) =>
              report(s, () => stepProgress(s, etaMs({ storedMsPerStep: stored, step: s.step, total: s.total, elapsedMs: s.elapsedMs, queuedSteps: Math.max(0, queuedSteps) })), preview),
          },
        ),
      imageId: (outcome) => {
        this.store.recordStepTime(p.model, p.width, p.height, outcome.result.timings.denoiseMs / p.steps);
        return outcome.record.id;
      },
    });
  }

  /** An upscale job's generation: the same states, events and cancel as a generation; progress counts tiles. */
  private async runUpscaleOne(gen: RunnableGeneration & { upscale: NonNullable<RunnableGeneration['upscale']> }, hooks: OwnRunHooks): Promise<void> {
    await this.settle(gen, hooks, {
      work: (signal, report) =>
        runUpscale({ dataRoot: this.o.dataRoot, history: this.o.history, host: () => this.o.modelHost.get() }, gen, {
          signal,
          onStep: (s) =>
            report(s, () => stepProgress(s, s.step > 0 && s.total > s.step ? Math.round((s.elapsedMs / s.step) * (s.total - s.step)) : null, 'upscale')),
        }),
      imageId: (record) => record.id,
      saved: (record) => hooks.onUpscaled?.(gen.id, record),
    });
  }

  /**
   * THE settle path of a generation and an upscale alike: markRunning, the work under an abort controller, each step
   * stored and sent as `job.progress` (a requested cancel aborts), `job.generationDone` with the image, or the failure
   * settled (cancelled | interrupted | failed, settleFailure); then `job.changed` and the finished notification.
   * Returns the work's result (undefined when it failed or the queue closed under it).
   */
  private async settle<T>(gen: RunnableGeneration, hooks: OwnRunHooks, run: SettledRun<T>): Promise<T | undefined> {
    const controller = new AbortController();
    this.current = { gen, controller };
    let result: T | undefined;
    try {
      this.store.markRunning(gen, this.now());
      this.changed(gen.jobId);
      const report: StepReport = (s, progress, preview) => {
        if (this.closed) return;
        this.store.setProgress(gen.id, s.step, Math.max(1, s.total));
        if (this.store.cancelRequested(gen.jobId)) controller.abort();
        hooks.onStep?.(gen.id, s);
        this.o.emit('job.progress', {
          jobId: gen.jobId,
          generationId: gen.id,
          progress: progress(),
          ...(preview ? { preview: { width: preview.width, height: preview.height, pngBase64: Buffer.from(preview.png).toString('base64') } } : {}),
          jobStatus: this.store.jobStatus(gen.jobId) ?? 'running',
        });
      };
      const done = await run.work(controller.signal, report);
      result = done;
      const imageId = run.imageId(done);
      this.o.emit('job.generationDone', { jobId: gen.jobId, generationId: gen.id, imageId, seed: gen.params.seed, jobStatus: this.store.jobStatus(gen.jobId) ?? 'done' });
      run.saved?.(done);
    } catch (err) {
      if (this.closed) return undefined; // close() marked it interrupted
      const e = StudioError.from(err);
      this.settleFailure(gen, e);
      hooks.onError?.(gen.id, e);
    } finally {
      this.current = undefined;
    }
    if (!this.closed) {
      this.changed(gen.jobId);
      this.notifyIfFinished(gen.jobId);
    }
    return result;
  }

  private settleFailure(gen: RunnableGeneration, e: StudioError): void {
    const now = this.now();
    const status = this.store.generation(gen.id)?.status;
    if (status !== 'running' && status !== 'queued') return;
    if (e.code === 'cancelled') {
      this.store.markCancelled(gen.id, now);
      return;
    }
    if (e.code === 'interrupted') {
      this.store.markInterrupted(gen.id, e.message, now);
      return;
    }
    this.store.markFailed(gen.id, e.message, now);
    this.o.emit('job.failed', { jobId: gen.jobId, generationId: gen.id, reason: e.message.slice(0, 4000), jobStatus: this.store.jobStatus(gen.jobId) ?? 'failed' });
    if (failsTheWholeJob(e)) {
      const job = this.store.get(gen.jobId);
      for (const g of job?.generations ?? []) {
        if (g.status !== 'queued') continue;
        const reason = `Not generated: ${e.message}`;
        this.store.markFailed(g.id, reason, now);
        this.o.emit('job.failed', { jobId: gen.jobId, generationId: g.id, reason: reason.slice(0, 4000), jobStatus: this.store.jobStatus(gen.jobId) ?? 'failed' });
      }
    }
  }

  private notifyIfFinished(jobId: number): void {
    const job = this.store.get(jobId);
    if (!job || !this.store.isFinished(job.status) || !this.o.notifier) return;
    const done = job.generations.filter((g) => g.status === 'done').length;
    const n = job.generations.length;
    const title = job.status === 'done' ? (n === 1 ? 'Image ready' : `${n} images ready`) : `Job ${job.status}`;
    const body = `${done} of ${n} done — ${job.params.prompt.slice(0, 80)}`;
    try {
      this.o.notifier.notify(title, body, { jobId });
    } catch (err) {
      this.log('warn', 'notification failed', { error: String(err) });
    }
  }

  private changed(jobId: number): void {
    const job = this.store.get(jobId);
    const payload: JobChangedEvent = {
      jobId,
      status: job?.status ?? null,
      generations: (job?.generations ?? []).map((g) => ({ id: g.id, status: g.status })),
      queuePaused: this.paused,
    };
    this.o.emit('job.changed', payload);
  }

  private queueChanged(): void {
    this.o.emit('job.changed', { jobId: null, status: null, generations: [], queuePaused: this.paused });
  }
}
