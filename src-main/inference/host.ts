// InferenceHost (main process): spawns the inference worker through the WorkerSpawner adapter (utilityProcess in
// the app, child_process.fork under Node) and supervises it (docs/architecture.md). Requests run one at a time (a queue
// of one); the worker keeps its loaded model between requests; cancel stops between steps; forceStop kills the
// worker when a step is too long to wait for, and a cancel while the worker loads a model (the worker says `loading`;
// session creation cannot be cancelled) does so too. When the worker exits unexpectedly (crash, out of memory, SIGKILL)
// the running request fails with StudioError worker_crashed and the reason, and the next request runs on a new worker,
// started after a backoff (0.5 s, 1 s, 2 s… capped, reset after a success). Every message both ways is
// validated (protocol.ts); a malformed one is logged and ignored.
import fs from 'node:fs';
import path from 'node:path';
import { StudioError } from '../../src-shared/errors';
import type { WorkerExitCause, WorkerHandle, WorkerSpawner } from './worker-process';
import { describeWorkerExit } from './worker-exit';
import type { GenerateRequest } from './pipeline';
import { runProbes, type OpProbeStats } from './op-probe-runner';
import { withAllocatorEnv } from './allocator-env';
import {
  WORKER_ENV_FLAG,
  describeMessage,
  generateRequestSchema,
  hostToWorkerSchema,
  modelSpecSchema,
  parseWorkerMessage,
  type HostToWorker,
  type LoadedMessage,
  type ModelSpec,
  type ProbeMessage,
  type ResultMessage,
  type WorkerToHost,
} from './protocol';
import type { EpChoice, MemoryMode } from '../../src-shared/generation';
import type { GenerationStep } from '../../src-shared/progress';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface InferenceHostOptions {
  spawner: WorkerSpawner;
  /** The built worker script; default: worker.js beside this bundle (out/main/worker.js). */
  entry?: string;
  /**
   * Environment of the worker processes (default: process.env). SD35_TEST_MODE / SD35_TEST_HOLD and
   * SD35_ORT_THREADS pass through. Read when a worker is spawned: `host.env` may be changed between workers.
   */
  env?: NodeJS.ProcessEnv;
  /** ORT intraOpNumThreads for every request (default: SD35_ORT_THREADS of the worker's env, else ORT's default). */
  threads?: number;
  /** The folder of the op-probe answers, sent with every request (absent: the worker keeps them in memory only). */
  probeCacheDir?: string;
  /** The studio's folder of derived graphs (<data>/graphs), sent with every request (absent: a temporary one). */
  graphsDir?: string;
  /** Restart delays after crashes: initialMs, doubled per crash in a row, capped at maxMs (default 500, 10 000). */
  backoff?: { initialMs: number; maxMs: number };
  /** How long each op probe of the worker may take in its child process (op-probe-runner.ts; default 30 s). */
  opProbeTimeoutMs?: number;
  /** How long a new worker may take to say it is ready (default 60 s). */
  startTimeoutMs?: number;
  /** dispose(): how long the worker gets to shut down before SIGKILL (default 3 s). */
  shutdownTimeoutMs?: number;
  /** Worker logs and host diagnostics (default: warnings and errors on stderr). */
  log?: (level: LogLevel, message: string) => void;
  /** Process name (utilityProcess serviceName; default "SD3.5 inference"). */
  name?: string;
}

/** One generation: the model to use and the parameters. */
export interface HostGenerateRequest {
  /** Absolute path of the installed model folder. */
  folder: string;
  ep: EpChoice;
  memory: MemoryMode;
  request: GenerateRequest;
  /** Small PNG previews at the latent size with the steps (at most ~10 per second). */
  previews?: boolean;
  /** The history generation this request produces (for the worker's logs). */
  generationId?: number;
}

/** A live preview from the worker: a small PNG at the latent size (image size / 8). */
export interface PreviewPng {
  width: number;
  height: number;
  png: Uint8Array;
}

/** Each step in THE step shape (src-shared/progress.ts), as validated off the worker's message, with its preview. */
export type StepListener = (step: GenerationStep, preview?: PreviewPng) => void;

/** The model the worker has ready for a request. */
export type HostModelInfo = Omit<LoadedMessage, 'type' | 'requestId'>;

export interface HostGenerateOptions {
  onStep?: StepListener;
  /** The model is ready (freshly loaded or kept from an earlier request): its EP, precision… */
  onLoaded?(info: HostModelInfo): void;
  /** The request left the queue and was handed to the worker. */
  onStart?(): void;
  /** Aborting cancels the request: removed from the queue, or stopped between steps → StudioError cancelled. */
  signal?: AbortSignal;
  /** Test hold point for this request (SD35_TEST_HOLD), honoured only when the worker runs with SD35_TEST_MODE=1; null clears it. */
  testHold?: string | null;
}

export type HostGenerateResult = Omit<ResultMessage, 'type' | 'requestId'>;

/** An upscale on the worker: the SR model file (in `<data>/upscalers/`), the image, the model's scale (0 = probe). */
export interface HostUpscaleRequest {
  file: string;
  rgb: Uint8Array;
  width: number;
  height: number;
  scale: number;
}
export type HostUpscaleResult = { rgb: Uint8Array; width: number; height: number; scale: number };

export interface HostStats {
  /** Worker processes started. */
  spawns: number;
  /** Model loads (a warm request reusing the kept model does not count). */
  loads: number;
  /** Unexpected worker exits. */
  crashes: number;
  forceStops: number;
  /** Of forceStops: cancels that arrived while the worker was loading a model (session creation cannot be cancelled). */
  cancelsWhileLoading: number;
  /** Restarts that waited for the crash backoff (a restart after a force stop or a success does not). */
  backoffWaits: number;
  /** The backoff armed after the last crash, in ms (0 before any crash). */
  lastBackoffMs: number;
  /** dispose() had to SIGKILL a worker that did not shut down within shutdownTimeoutMs. */
  shutdownKills: number;
}

const DEFAULT_BACKOFF = { initialMs: 500, maxMs: 10_000 };

/** Where the built worker lives: worker.js beside the main bundle (out/main). */
export function defaultWorkerEntry(dir: string = __dirname): string {
  const beside = path.join(dir, 'worker.js');
  if (!fs.existsSync(beside) && path.basename(dir) === 'chunks') return path.join(dir, '..', 'worker.js');
  return beside;
}

/** The reason of a worker exit, for the user (the same for both spawners: worker-exit.ts). */
export function exitReason(code: number | null, signal: string | null, cause?: WorkerExitCause): string {
  return describeWorkerExit(code, signal, cause);
}

interface Slot {
  handle: WorkerHandle;
  state: 'starting' | 'ready' | 'exited';
  /** Why the host itself ends this worker (then its exit is not a crash). */
  ending?: 'shutdown' | 'force-stop';
  ready: Promise<void>;
  exited: Promise<void>;
  resolveReady(): void;
  rejectReady(err: StudioError): void;
  resolveExited(): void;
  startTimer?: NodeJS.Timeout;
  lastError?: string;
  /** How the worker talks to us, from its ready message: 'parentPort' is an Electron utility process. */
  transport?: 'parentPort' | 'process';
}

interface WorkerRequest {
  id: number;
  kind: 'generate' | 'load' | 'upscale';
  model: ModelSpec;
  request?: GenerateRequest;
  upscale?: HostUpscaleRequest;
  previews: boolean;
  generationId?: number;
  options: HostGenerateOptions;
  state: 'queued' | 'starting' | 'running' | 'done';
  /** The worker said it is loading a model for this request and has not said `loaded` yet. */
  loading?: boolean;
  slot?: Slot;
  resolve(value: unknown): void;
  reject(err: StudioError): void;
  detach(): void;
}

function cancelledError(): StudioError {
  return new StudioError('cancelled', 'The generation was cancelled.');
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** Resolves true when `p` settles first, false after `ms`. */
function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    timer.unref();
    void p.then(
      () => {
        clearTimeout(timer);
        resolve(true);
      },
      () => {
        clearTimeout(timer);
        resolve(true);
      },
    );
  });
}

function defaultLog(level: LogLevel, message: string): void {
  if (level === 'warn' || level === 'error') process.stderr.write(`[inference] ${message}\n`);
}

export class InferenceHost {
  /** Environment of the next worker spawned. */
  env: NodeJS.ProcessEnv;
  readonly entry: string;
  private readonly spawner: WorkerSpawner;
  private readonly threads: number | undefined;
  private readonly probeCacheDir: string | undefined;
  private readonly graphsDir: string | undefined;
  private readonly backoff: { initialMs: number; maxMs: number };
  private readonly startTimeoutMs: number;
  private readonly opProbeTimeoutMs: number | undefined;
  private readonly shutdownTimeoutMs: number;
  private readonly log: (level: LogLevel, message: string) => void;
  private readonly name: string;

  private slot: Slot | undefined;
  /** A worker the host is ending (force stop): the next one starts once it is gone. */
  private dying: Promise<void> | undefined;
  private readonly queue: WorkerRequest[] = [];
  private active: WorkerRequest | undefined;
  private nextRequestId = 1;
  private crashStreak = 0;
  private nextSpawnAt = 0;
  private disposed = false;
  private disposing: Promise<void> | undefined;
  private readonly counters: HostStats = { spawns: 0, loads: 0, crashes: 0, forceStops: 0, cancelsWhileLoading: 0, backoffWaits: 0, lastBackoffMs: 0, shutdownKills: 0 };

  constructor(options: InferenceHostOptions) {
    this.spawner = options.spawner;
    this.entry = options.entry ?? defaultWorkerEntry();
    this.env = options.env ?? process.env;
    this.threads = options.threads;
    this.probeCacheDir = options.probeCacheDir;
    this.graphsDir = options.graphsDir;
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.startTimeoutMs = options.startTimeoutMs ?? 60_000;
    this.opProbeTimeoutMs = options.opProbeTimeoutMs;
    this.shutdownTimeoutMs = options.shutdownTimeoutMs ?? 3_000;
    this.log = options.log ?? defaultLog;
    this.name = options.name ?? 'SD3.5 inference';
  }

  /** The worker's process id, when one runs. */
  get pid(): number | undefined {
    return this.slot?.state === 'exited' ? undefined : this.slot?.handle.pid;
  }

  /** How the running worker talks to the host: 'parentPort' (Electron utilityProcess) or 'process' (child_process.fork). */
  get transport(): 'parentPort' | 'process' | undefined {
    return this.slot?.state === 'ready' ? this.slot.transport : undefined;
  }

  /** A request is running (or waiting for its worker). */
  get busy(): boolean {
    return this.active !== undefined;
  }

  /** The running request's model is being loaded (a cancel now force-stops the worker). */
  get loading(): boolean {
    return this.active?.loading === true;
  }

  /** Requests waiting behind the running one. */
  get queued(): number {
    return this.queue.length;
  }

  get stats(): HostStats {
    return { ...this.counters };
  }

  /** The op-probe children this host started for its workers (issue 18 §2). */
  readonly probeStats: OpProbeStats = { children: 0, timeouts: 0, crashes: 0 };

  /** Runs one generation on the worker (after the requests before it). */
  generate(req: HostGenerateRequest, options: HostGenerateOptions = {}): Promise<HostGenerateResult> {
    const request = generateRequestSchema.safeParse(req.request);
    if (!request.success) {
      return Promise.reject(new StudioError('invalid_input', `Invalid generation request: ${request.error.issues[0]?.message ?? 'malformed'}`));
    }
    return this.enqueue<HostGenerateResult>('generate', req, options, request.data as GenerateRequest);
  }

  /**
   * Upscales an image with a super-resolution model file on the worker (tiled; onStep per tile), after the requests
   * before it; the worker keeps its SD model. `scale` 0 probes the model: the answer has its scale and no image.
   */
  upscale(req: HostUpscaleRequest, options: Pick<HostGenerateOptions, 'signal' | 'onStep'> = {}): Promise<HostUpscaleResult> {
    if (req.rgb.length !== req.width * req.height * 3) return Promise.reject(new StudioError('invalid_input', 'The image to upscale has the wrong number of bytes.'));
    return this.enqueue<HostUpscaleResult>('upscale', { folder: path.dirname(req.file), ep: 'cpu', memory: 'balanced' }, options, undefined, req);
  }

  /** Loads a model into the worker ahead of the first generation (kept for the next requests). */
  preload(model: { folder: string; ep: EpChoice; memory: MemoryMode }, options: Pick<HostGenerateOptions, 'signal' | 'onLoaded'> = {}): Promise<HostModelInfo> {
    return this.enqueue<HostModelInfo>('load', model, options, undefined);
  }

  private enqueue<T>(
    kind: WorkerRequest['kind'],
    spec: { folder: string; ep: EpChoice; memory: MemoryMode; previews?: boolean; generationId?: number },
    options: HostGenerateOptions,
    request: GenerateRequest | undefined,
    upscale?: HostUpscaleRequest,
  ): Promise<T> {
    if (this.disposed) return Promise.reject(new StudioError('interrupted', 'The inference host has been shut down.'));
    const model = modelSpecSchema.safeParse({
      folder: spec.folder,
      ep: spec.ep,
      memory: spec.memory,
      ...(this.threads !== undefined ? { threads: this.threads } : {}),
      ...(this.probeCacheDir !== undefined ? { probeCacheDir: this.probeCacheDir } : {}),
      ...(this.graphsDir !== undefined ? { graphsDir: this.graphsDir } : {}),
    });
    if (!model.success) {
      const issue = model.error.issues[0];
      return Promise.reject(new StudioError('invalid_input', `Invalid model choice: ${issue?.path.join('.') ?? ''} ${issue?.message ?? 'malformed'}`.trim()));
    }
    const signal = options.signal;
    if (signal?.aborted) return Promise.reject(cancelledError());
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => this.cancelRequest(req);
      const req: WorkerRequest = {
        id: this.nextRequestId++,
        kind,
        model: model.data,
        ...(request ? { request } : {}),
        ...(upscale ? { upscale } : {}),
        previews: spec.previews === true,
        ...(spec.generationId !== undefined ? { generationId: spec.generationId } : {}),
        options,
        state: 'queued',
        resolve: resolve as (value: unknown) => void,
        reject,
        detach: () => signal?.removeEventListener('abort', onAbort),
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(req);
      this.pump();
    });
  }

  /** Cancels the running request (it stops between steps → StudioError cancelled). Queued requests stay. */
  cancel(): boolean {
    const req = this.active;
    if (!req) return false;
    this.cancelRequest(req);
    return true;
  }

  /** Kills the worker now (a step too long to wait for): the running request ends cancelled; the next request gets a new worker. */
  forceStop(): boolean {
    return this.kill(new StudioError('cancelled', 'The generation was force-stopped: the inference worker was stopped and will be restarted.'));
  }

  /** Ends the running request with `outcome` and SIGKILLs the worker; the next request starts a new one. */
  private kill(outcome: StudioError): boolean {
    const slot = this.slot;
    const req = this.active;
    if (req) this.settle(req, outcome);
    if (!slot || slot.state === 'exited') return req !== undefined;
    slot.ending = 'force-stop';
    this.slot = undefined;
    this.dying = slot.exited;
    this.counters.forceStops++;
    this.log('info', `Force stop: killing the inference worker (pid ${String(slot.handle.pid)}).`);
    slot.handle.kill('SIGKILL');
    return true;
  }

  /** On quit: fails the queued and running requests (interrupted), asks the worker to shut down, SIGKILL after the timeout. */
  dispose(): Promise<void> {
    if (!this.disposing) this.disposing = this.doDispose();
    return this.disposing;
  }

  private async doDispose(): Promise<void> {
    this.disposed = true;
    const interrupted = (): StudioError => new StudioError('interrupted', 'The studio is closing: the generation was interrupted.');
    for (const req of this.queue.splice(0)) this.settle(req, interrupted());
    if (this.active) this.settle(this.active, interrupted());
    const slot = this.slot;
    if (slot && slot.state !== 'exited') {
      slot.ending = 'shutdown';
      if (slot.state === 'ready') this.post(slot, { type: 'shutdown' });
      else slot.handle.kill('SIGTERM');
      if (!(await within(slot.exited, this.shutdownTimeoutMs))) {
        this.log('warn', `The inference worker did not shut down within ${this.shutdownTimeoutMs} ms; killing it.`);
        this.counters.shutdownKills++;
        slot.handle.kill('SIGKILL');
        await within(slot.exited, 5_000);
      }
    }
    if (this.dying) await within(this.dying, 5_000);
  }

  // ---- the queue ----

  private cancelRequest(req: WorkerRequest): void {
    if (req.state === 'queued') {
      const i = this.queue.indexOf(req);
      if (i !== -1) this.queue.splice(i, 1);
      this.settle(req, cancelledError());
    } else if (req.state === 'starting') {
      this.settle(req, cancelledError());
    } else if (req.state === 'running' && req.loading && this.active === req) {
      // Session creation cannot be cancelled and may take minutes (a hostile graph: issue 18 §3): stop the worker.
      this.counters.cancelsWhileLoading++;
      this.log('info', `Cancel while the model loads: stopping the inference worker (request ${req.id}).`);
      this.kill(cancelledError());
    } else if (req.state === 'running' && req.slot && req.slot.state === 'ready') {
      this.post(req.slot, { type: 'cancel', requestId: req.id });
    }
  }

  private settle(req: WorkerRequest, outcome: StudioError | { value: unknown }): void {
    if (req.state === 'done') return;
    req.state = 'done';
    req.detach();
    if (this.active === req) this.active = undefined;
    if (outcome instanceof StudioError) req.reject(outcome);
    else req.resolve(outcome.value);
    this.pump();
  }

  private pump(): void {
    if (this.active || this.disposed) return;
    const req = this.queue.shift();
    if (!req) return;
    this.active = req;
    req.state = 'starting';
    void this.start(req);
  }

  private async start(req: WorkerRequest): Promise<void> {
    let slot: Slot;
    try {
      slot = await this.ensureWorker();
    } catch (err) {
      this.settle(req, StudioError.from(err));
      return;
    }
    if (req.state !== 'starting') return; // cancelled while the worker started
    req.state = 'running';
    req.slot = slot;
    const up = req.upscale;
    const message: HostToWorker =
      req.kind === 'load'
        ? { type: 'load', requestId: req.id, model: req.model }
        : req.kind === 'upscale' && up
          ? {
              type: 'upscale',
              requestId: req.id,
              file: up.file,
              rgb: up.rgb,
              width: up.width,
              height: up.height,
              scale: up.scale,
              ...(req.model.threads !== undefined ? { threads: req.model.threads } : {}),
            }
          : {
            type: 'generate',
            requestId: req.id,
            ...(req.generationId !== undefined ? { generationId: req.generationId } : {}),
            model: req.model,
            request: req.request as GenerateRequest,
            previews: req.previews,
            ...(req.options.testHold !== undefined ? { testHold: req.options.testHold } : {}),
          };
    try {
      this.post(slot, message);
    } catch (err) {
      this.settle(req, StudioError.from(err));
      return;
    }
    this.callback(() => req.options.onStart?.());
  }

  /** The worker's op probes, in a short-lived child process (op-probe-runner.ts); the answers go back as `probed`. */
  private async runProbes(slot: Slot, message: ProbeMessage): Promise<void> {
    const results = await runProbes(message.graphs, message.provider, {
      spawner: this.spawner,
      entry: path.join(path.dirname(this.entry), 'op-probe.js'),
      env: workerEnv(this.env),
      stats: this.probeStats,
      ...(this.opProbeTimeoutMs !== undefined ? { timeoutMs: this.opProbeTimeoutMs } : {}),
    });
    if (slot.state !== 'ready' || this.slot !== slot) return; // the worker is gone (force stop, crash)
    try {
      this.post(slot, { type: 'probed', probeId: message.probeId, results });
    } catch (err) {
      this.log('warn', `Op-probe answers not sent to the worker: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private post(slot: Slot, message: HostToWorker): void {
    const checked = hostToWorkerSchema.safeParse(message);
    if (!checked.success) {
      throw new StudioError('internal', `Refused to send a malformed ${message.type} message to the worker: ${checked.error.issues[0]?.message ?? ''}`);
    }
    slot.handle.postMessage(checked.data);
  }

  private callback(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log('error', `A request callback threw: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    }
  }

  // ---- the worker process ----

  private async ensureWorker(): Promise<Slot> {
    for (;;) {
      if (this.disposed) throw new StudioError('interrupted', 'The inference host has been shut down.');
      const live = this.slot;
      if (live && live.state !== 'exited') {
        await live.ready;
        if (live.state === 'ready') return live;
        continue;
      }
      if (this.dying) {
        await within(this.dying, 5_000);
        this.dying = undefined;
        continue;
      }
      const wait = this.nextSpawnAt - Date.now();
      if (wait > 0) {
        this.counters.backoffWaits++;
        this.log('info', `Restarting the inference worker in ${wait} ms.`);
        await delay(wait);
        continue;
      }
      const slot = this.spawn();
      await slot.ready;
      return slot;
    }
  }

  private spawn(): Slot {
    if (!fs.existsSync(this.entry)) {
      throw new StudioError('unavailable', `The inference worker is missing (${this.entry}). Build the app first: npx electron-vite build.`, {
        entry: this.entry,
      });
    }
    let handle: WorkerHandle;
    try {
      handle = this.spawner.spawn(this.entry, { env: { ...workerEnv(this.env), [WORKER_ENV_FLAG]: '1' }, name: this.name });
    } catch (err) {
      throw new StudioError('worker_crashed', `The inference worker could not be started: ${err instanceof Error ? err.message : String(err)}`);
    }
    this.counters.spawns++;
    let resolveReady!: () => void;
    let rejectReady!: (err: StudioError) => void;
    let resolveExited!: () => void;
    const ready = new Promise<void>((res, rej) => {
      resolveReady = res;
      rejectReady = rej;
    });
    ready.catch(() => undefined);
    const exited = new Promise<void>((res) => (resolveExited = res));
    const slot: Slot = { handle, state: 'starting', ready, exited, resolveReady, rejectReady, resolveExited };
    slot.startTimer = setTimeout(() => {
      if (slot.state !== 'starting') return;
      slot.lastError = `it did not report ready within ${this.startTimeoutMs} ms`;
      handle.kill('SIGKILL');
    }, this.startTimeoutMs);
    slot.startTimer.unref();
    handle.onMessage((raw) => this.onMessage(slot, raw));
    handle.onExit((code, signal, cause) => this.onExit(slot, code, signal, cause));
    this.slot = slot;
    this.log('debug', `Started the inference worker (pid ${String(handle.pid)}).`);
    return slot;
  }

  private onMessage(slot: Slot, raw: unknown): void {
    const parsed = parseWorkerMessage(raw);
    if (!parsed.ok) {
      this.log('warn', `Ignored a malformed ${describeMessage(raw)} from the inference worker: ${parsed.problem}`);
      return;
    }
    const message: WorkerToHost = parsed.message;
    switch (message.type) {
      case 'ready':
        if (slot.state === 'starting') {
          slot.state = 'ready';
          slot.transport = message.transport;
          this.log('debug', `The inference worker is ready (pid ${message.pid}, ${message.transport === 'parentPort' ? 'Electron utility process' : 'child process'}).`);
          if (slot.startTimer) clearTimeout(slot.startTimer);
          slot.resolveReady();
        }
        return;
      case 'log':
        if (message.level === 'error') slot.lastError = message.message.split('\n')[0];
        this.log(message.level, `worker: ${message.message}`);
        return;
      case 'probe':
        void this.runProbes(slot, message);
        return;
      default:
        break;
    }
    const req = this.active;
    if (!req || req.slot !== slot || req.id !== message.requestId || req.state !== 'running') {
      if (message.type === 'error' && message.requestId === undefined) this.log('warn', `worker: ${message.error.message}`);
      return; // about a request that already ended (cancelled, force-stopped)
    }
    switch (message.type) {
      case 'loading':
        req.loading = true;
        return;
      case 'loaded': {
        req.loading = false;
        const { type: _t, requestId: _j, ...info } = message;
        if (!message.reused) this.counters.loads++;
        this.callback(() => req.options.onLoaded?.(info));
        if (req.kind === 'load') this.settle(req, { value: info });
        return;
      }
      case 'step': {
        const { type: _t, requestId: _j, preview, ...step } = message;
        this.callback(() => req.options.onStep?.(step, preview));
        return;
      }
      case 'result': {
        const { type: _t, requestId: _j, ...result } = message;
        this.crashStreak = 0;
        this.settle(req, { value: result });
        return;
      }
      case 'upscaled': {
        const { type: _t, requestId: _j, ...result } = message;
        this.crashStreak = 0;
        this.settle(req, { value: result });
        return;
      }
      case 'error':
        this.settle(req, StudioError.fromWire(message.error));
        return;
    }
  }

  private onExit(slot: Slot, code: number | null, signal: string | null, cause?: WorkerExitCause): void {
    if (slot.state === 'exited') return;
    const wasStarting = slot.state === 'starting';
    slot.state = 'exited';
    if (slot.startTimer) clearTimeout(slot.startTimer);
    slot.resolveExited();
    if (this.slot === slot) this.slot = undefined;
    const reason = exitReason(code, signal, cause);
    const details = { exitCode: code, signal, reason, ...(cause ? { cause } : {}), ...(slot.lastError ? { lastError: slot.lastError } : {}) };
    if (slot.ending) {
      if (wasStarting) slot.rejectReady(new StudioError('cancelled', 'The inference worker was stopped while starting.'));
      this.log('debug', `The inference worker ended (${reason}).`);
      return;
    }
    this.counters.crashes++;
    this.crashStreak++;
    const wait = Math.min(this.backoff.initialMs * 2 ** (this.crashStreak - 1), this.backoff.maxMs);
    this.nextSpawnAt = Date.now() + wait;
    this.counters.lastBackoffMs = wait;
    const last = slot.lastError ? ` Last error: ${slot.lastError}` : '';
    this.log('warn', `The inference worker stopped unexpectedly: ${reason}.${last} It will be restarted for the next request (in ${wait} ms or later).`);
    if (wasStarting) {
      slot.rejectReady(new StudioError('worker_crashed', `The inference worker stopped while starting: ${reason}.${last}`, details));
    }
    const req = this.active;
    if (req && req.slot === slot && req.state === 'running') {
      this.settle(
        req,
        new StudioError('worker_crashed', `The inference worker crashed during the generation: ${reason}.${last} It is being restarted for the next request.`, details),
      );
    }
  }
}

/**
 * The worker's environment: the host's without HF_* (HF_TOKEN above all) — the worker parses
 * untrusted ONNX files with native code and needs no Hugging Face setting — and with the allocator
 * settings that let released sessions go back to the system (allocator-env.ts).
 */
export function workerEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return withAllocatorEnv(Object.fromEntries(Object.entries(env).filter(([k]) => !/^HF_/i.test(k) && !/^HUGGING_?FACE/i.test(k))));
}
