// The inference worker process (docs/architecture.md): a message loop that runs one request at a time on
// onnxruntime-node, keeps the loaded model between requests (a warm second generation), cancels between steps
// and reports everything as validated protocol messages. Started by host.ts through the WorkerSpawner:
// Electron's utilityProcess inside the app (process.parentPort), child_process.fork under Node (process.send).
import type { Precision } from '../../src-shared/generation';
import { StudioError } from '../../src-shared/errors';
import { encodePng } from '../formats/png';
import { folderHasVaeEncoder } from '../model-folder/layouts';
import { generate, type GenerateRequest } from './pipeline';
import {
  PROTOCOL_VERSION,
  WORKER_ENV_FLAG,
  describeMessage,
  parseHostMessage,
  parseWorkerMessage,
  type GenerateMessage,
  type HostToWorker,
  type LoadedMessage,
  type LogMessage,
  type ModelSpec,
  type StepMessage,
  type UpscaleMessage,
  type WorkerToHost,
} from './protocol';
import { LoadedModel } from './sessions';
import { sessionsCreated } from './ort-session';
import { UpscalerSession } from './upscaler-session';
import { upscaleTiled } from './upscale-tiles';
import type { ProbeResult, ProbeRunner } from './ort-probe';
import { testHold, testHoldCount } from '../../src-shared/test-hold';

/** At most ~10 previews a second: a preview is attached to a step when this long has passed since the last. */
export const PREVIEW_INTERVAL_MS = 100;

interface Port {
  transport: 'parentPort' | 'process';
  send(message: WorkerToHost): void;
  onMessage(listener: (raw: unknown) => void): void;
}

interface ParentPortLike {
  postMessage(message: unknown): void;
  on(event: 'message', listener: (event: { data: unknown }) => void): void;
}

function detectPort(): Port | undefined {
  const parentPort = (process as unknown as { parentPort?: ParentPortLike }).parentPort;
  if (parentPort) {
    return {
      transport: 'parentPort',
      send: (message) => parentPort.postMessage(message),
      onMessage: (listener) => parentPort.on('message', (event) => listener(event.data)),
    };
  }
  if (typeof process.send === 'function') {
    return {
      transport: 'process',
      send: (message) => {
        // After the parent went away there is nobody to tell: drop the message instead of throwing.
        if (process.connected) process.send?.(message, undefined, {}, () => undefined);
      },
      onMessage: (listener) => void process.on('message', listener),
    };
  }
  return undefined;
}

interface Loaded {
  key: string;
  model: LoadedModel;
  precision: Precision;
  info: Omit<LoadedMessage, 'type' | 'requestId' | 'reused' | 'loadMs'>;
  loadMs: number;
}

function modelKey(spec: ModelSpec, threads: number | undefined): string {
  // A VAE encoder added to the folder since it was loaded ("Add image-to-image support") makes it another model.
  return JSON.stringify([spec.folder, spec.ep, spec.memory, threads ?? null, folderHasVaeEncoder(spec.folder)]);
}

function errorText(err: unknown): string {
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}

function wireOf(err: unknown): StudioError {
  const e = StudioError.from(err);
  return e.message.length > 19_000 ? new StudioError(e.code, `${e.message.slice(0, 19_000)}…`, e.details) : e;
}

/** Element type of the transformer's latent input: fp16 exports run slowly on the CPU. */
/** The distinct ops the portability pass rewrote for this model's sessions, for the image metadata. */
function rewrittenOpsOf(model: LoadedModel): { rewrittenOps?: string[] } {
  const ops = [...new Set(model.rewrittenOps.map((r) => r.op))].sort();
  return ops.length > 0 ? { rewrittenOps: ops } : {};
}

export class InferenceWorker {
  private loaded: Loaded | undefined;
  private current: { requestId: number; controller: AbortController } | undefined;
  private chain: Promise<void> = Promise.resolve();
  private stopping = false;
  private nextProbeId = 1;
  private readonly probes = new Map<number, (results: ProbeResult[]) => void>();

  constructor(
    private readonly port: Pick<Port, 'send'>,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  /** Sends a message after checking it as the host will: a malformed one never leaves a request waiting forever. */
  send(message: WorkerToHost): void {
    const checked = parseWorkerMessage(message);
    if (checked.ok) {
      this.port.send(message);
      return;
    }
    const problem = `The inference worker produced a malformed ${message.type} message: ${checked.problem}`;
    if ((message.type === 'result' || message.type === 'loaded') && message.requestId !== undefined) {
      this.port.send({ type: 'error', requestId: message.requestId, error: new StudioError('internal', problem).toWire() });
    } else if (message.type !== 'log') {
      this.port.send({ type: 'log', level: 'error', message: problem.slice(0, 20_000) });
    }
  }

  log(level: LogMessage['level'], message: string): void {
    this.send({ type: 'log', level, message: message.slice(0, 20_000) });
  }

  /** Every message from the host: validated, then queued (requests run one at a time) or acted on at once. */
  receive(raw: unknown): void {
    const parsed = parseHostMessage(raw);
    if (!parsed.ok) {
      this.log('warn', `Ignored a malformed ${describeMessage(raw)} from the host: ${parsed.problem}`);
      return;
    }
    const message = parsed.message;
    switch (message.type) {
      case 'probed': {
        const waiting = this.probes.get(message.probeId);
        this.probes.delete(message.probeId);
        waiting?.(message.results);
        return;
      }
      case 'cancel':
        if (this.current && (message.requestId === undefined || message.requestId === this.current.requestId)) this.current.controller.abort();
        return;
      case 'shutdown':
        void this.shutdown();
        return;
      default:
        if (this.stopping) {
          this.send({ type: 'error', requestId: message.requestId, error: new StudioError('interrupted', 'The inference worker is shutting down.').toWire() });
          return;
        }
        this.enqueue(message);
    }
  }

  /**
   * The op probes of a model load, run by the host in a short-lived child process (issue 18 §2): never in this
   * process, where a probe that hangs or crashes ORT would take the worker with it.
   */
  readonly probeRunner: ProbeRunner = (graphs, provider) =>
    new Promise((resolve) => {
      const probeId = this.nextProbeId++;
      this.probes.set(probeId, resolve);
      this.send({ type: 'probe', probeId, provider, graphs: [...graphs] });
    });

  private enqueue(message: Exclude<HostToWorker, { type: 'cancel' | 'shutdown' | 'probed' }>): void {
    this.chain = this.chain.then(async () => {
      const controller = new AbortController();
      this.current = { requestId: message.requestId, controller };
      try {
        if (message.type === 'load') await this.ensureModel(message.requestId, message.model);
        else if (message.type === 'upscale') await this.runUpscale(message, controller.signal);
        else await this.runGeneration(message, controller.signal);
      } catch (err) {
        const e = wireOf(err);
        if (e.code === 'internal') this.log('error', `Request ${message.requestId} failed: ${errorText(err)}`);
        this.send({ type: 'error', requestId: message.requestId, error: e.toWire() });
      } finally {
        this.current = undefined;
      }
    });
  }

  private threads(spec: ModelSpec): number | undefined {
    if (spec.threads !== undefined) return spec.threads;
    const fromEnv = Number(this.env.SD35_ORT_THREADS);
    return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : undefined;
  }

  /**
   * Upscale (docs/architecture.md §5): the SR model's session for this request only (the SD model stays loaded),
   * tiled (upscale-tiles.ts), a `step` per tile; cancel between tiles. Scale 0 probes the model's scale.
   */
  private async runUpscale(message: UpscaleMessage, signal: AbortSignal): Promise<void> {
    const fromEnv = Number(this.env.SD35_ORT_THREADS);
    const threads = message.threads ?? (Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : undefined);
    const session = await UpscalerSession.load(message.file, threads !== undefined ? { threads } : {});
    try {
      const scale = await session.probeScale();
      if (message.scale === 0) {
        this.send({ type: 'upscaled', requestId: message.requestId, rgb: new Uint8Array(0), width: 0, height: 0, scale });
        return;
      }
      if (scale !== message.scale) throw new StudioError('invalid_input', `This upscaler is ×${scale}, not ×${message.scale}.`, { field: 'upscaler' });
      const started = performance.now();
      const out = await upscaleTiled(message.rgb, message.width, message.height, (px, w, h) => session.run(px, w, h), {
        scale,
        onTile: async (done, total) => {
          if (signal.aborted) throw new StudioError('cancelled', 'The upscale was cancelled.');
          this.send({ type: 'step', requestId: message.requestId, step: done, total, elapsedMs: performance.now() - started });
          await this.upscaleHoldPoint(done, signal);
        },
      });
      this.send({ type: 'upscaled', requestId: message.requestId, rgb: out.rgb, width: out.width, height: out.height, scale });
    } finally {
      await session.release().catch(() => undefined);
    }
  }

  /**
   * Test hold point (docs/architecture.md §9): with SD35_TEST_MODE=1 and SD35_TEST_HOLD=upscale-tile:N, after tile N
   * (its `step` sent) write "SD35_HOLD upscale-tile:N" to stderr and wait until the request is cancelled.
   */
  private async upscaleHoldPoint(done: number, signal: AbortSignal): Promise<void> {
    if (testHoldCount(this.env, 'upscale-tile') !== done) return;
    process.stderr.write(`SD35_HOLD upscale-tile:${done}\n`);
    await new Promise<void>((resolve) => {
      const keepAlive = setInterval(() => undefined, 1 << 30);
      const release = (): void => {
        clearInterval(keepAlive);
        resolve();
      };
      if (signal.aborted) release();
      else signal.addEventListener('abort', release, { once: true });
    });
    throw new StudioError('cancelled', 'The upscale was cancelled.');
  }

  /** The model for a spec: the one kept from earlier requests when the spec is the same, else a fresh load. */
  private async ensureModel(requestId: number, spec: ModelSpec): Promise<Loaded> {
    const threads = this.threads(spec);
    const key = modelKey(spec, threads);
    const kept = this.loaded;
    if (kept && kept.key === key) {
      this.send({ type: 'loaded', requestId, reused: true, loadMs: 0, ...kept.info });
      return kept;
    }
    // From here until `loaded` a cancel cannot reach the load (ORT session creation): the host force-stops instead.
    this.send({ type: 'loading', requestId });
    await this.loadHoldPoint();
    if (kept) {
      // Free the old model first: two SD3.5 models rarely fit side by side.
      this.loaded = undefined;
      await kept.model.release().catch((err: unknown) => this.log('warn', `Releasing ${kept.model.folder}: ${errorText(err)}`));
    }
    const started = performance.now();
    const model = await LoadedModel.load(spec.folder, {
      ep: spec.ep,
      memory: spec.memory,
      ...(threads !== undefined ? { threads } : {}),
      ...(spec.probeCacheDir !== undefined ? { probeCacheDir: spec.probeCacheDir } : {}),
      ...(spec.graphsDir !== undefined ? { graphsDir: spec.graphsDir } : {}),
      probeRunner: this.probeRunner,
    });
    // Read once at load with the roles (LoadedModel.load): the transformer graph is not read again for it.
    const precision = model.precision;
    const loadMs = performance.now() - started;
    const fallback = model.epFallbackReason;
    const loaded: Loaded = {
      key,
      model,
      precision,
      loadMs,
      info: {
        folder: model.folder,
        layout: model.layout,
        hasT5: model.hasT5,
        ep: model.ep,
        ...(fallback !== undefined ? { epFallbackReason: fallback.slice(0, 2000) } : {}),
        precision,
        clipHidden: model.clipHidden,
      },
    };
    this.loaded = loaded;
    this.send({ type: 'loaded', requestId, reused: false, loadMs, ...loaded.info });
    return loaded;
  }

  private async runGeneration(message: GenerateMessage, signal: AbortSignal): Promise<void> {
    const { requestId } = message;
    if (signal.aborted) throw new StudioError('cancelled', 'The generation was cancelled.');
    const loadStarted = performance.now();
    const sessionsBefore = sessionsCreated();
    const before = this.loaded;
    const restoreLoadHold = this.applyTestHold(message.testHold);
    let loaded: Loaded;
    try {
      loaded = await this.ensureModel(requestId, message.model);
    } finally {
      restoreLoadHold();
    }
    const reused = before === loaded;
    const loadMs = reused ? 0 : performance.now() - loadStarted;
    if (signal.aborted) throw new StudioError('cancelled', 'The generation was cancelled.');

    // LoRAs: the same files keep the sessions (strengths are inputs); others swap in derived graphs first.
    const loras = message.request.loras ?? [];
    const loraReports = await loaded.model.useLoras(
      loras.map((l) => ({ path: l.path, sha256: l.sha256, strength: l.strength })),
      loras.map((l) => l.name),
    );
    if (signal.aborted) throw new StudioError('cancelled', 'The generation was cancelled.');

    const restoreHold = this.applyTestHold(message.testHold);
    let lastPreviewAt = -Infinity;
    try {
      const result = await generate(loaded.model, message.request as GenerateRequest, {
        signal,
        previews: message.previews,
        onStep: (s, previewRgb) => {
          const step: StepMessage = { type: 'step', requestId, ...s };
          const now = performance.now();
          if (previewRgb && (now - lastPreviewAt >= PREVIEW_INTERVAL_MS || s.step === s.total)) {
            const { width, height, data } = previewRgb;
            step.preview = { width, height, png: encodePng({ width, height, channels: 3, data }, []) };
            lastPreviewAt = now;
          }
          this.send(step);
        },
      });
      // How many ORT sessions this request created (0 when only LoRA strengths changed): the LoRA sweep test reads it.
      this.log('debug', `request ${requestId}: ${sessionsCreated() - sessionsBefore} ORT sessions created`);
      this.send({
        type: 'result',
        requestId,
        rgb: result.rgb,
        width: result.width,
        height: result.height,
        ep: result.ep,
        precision: loaded.precision,
        clipHidden: result.clipHidden,
        t5: result.t5,
        timings: {
          loadMs,
          encodeMs: result.timings.encodeMs,
          denoiseMs: result.timings.denoiseMs,
          decodeMs: result.timings.decodeMs,
          totalMs: result.timings.totalMs,
        },
        dropped: result.dropped,
        shift: result.shift,
        modelReused: reused,
        ...rewrittenOpsOf(loaded.model),
        ...(loras.length > 0 ? { loras: loraReports.map((r) => ({ sha256: r.sha256, applied: r.applied, unmatched: r.unmatched.slice(0, 2000) })) } : {}),
      });
    } finally {
      restoreHold();
    }
  }

  /**
   * Test hold point (docs/architecture.md §9): with SD35_TEST_MODE=1 and SD35_TEST_HOLD=model-load, a model load
   * writes "SD35_HOLD model-load" to stderr and never returns, deaf to cancel as a long session creation is: only a
   * force stop ends it.
   */
  private async loadHoldPoint(): Promise<void> {
    const hold = testHold(this.env);
    if (hold?.name !== 'model-load' || hold.arg !== undefined) return;
    process.stderr.write('SD35_HOLD model-load\n');
    this.log('info', 'SD35_HOLD model-load');
    await new Promise<void>(() => void setInterval(() => undefined, 1 << 30)); // held until killed
  }

  /** A per-request SD35_TEST_HOLD (only in test mode); returns the function that puts the worker's own back. */
  private applyTestHold(hold: string | null | undefined): () => void {
    if (hold === undefined || this.env.SD35_TEST_MODE !== '1') return () => undefined;
    const saved = this.env.SD35_TEST_HOLD;
    if (hold === null) delete this.env.SD35_TEST_HOLD;
    else this.env.SD35_TEST_HOLD = hold;
    return () => {
      if (saved === undefined) delete this.env.SD35_TEST_HOLD;
      else this.env.SD35_TEST_HOLD = saved;
    };
  }

  /** Stops the running request, releases the sessions and exits. */
  async shutdown(exit: (code: number) => void = (code) => process.exit(code)): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.current?.controller.abort();
    await this.chain.catch(() => undefined);
    const kept = this.loaded;
    this.loaded = undefined;
    if (kept) await kept.model.release().catch(() => undefined);
    exit(0);
  }
}

function main(): void {
  const port = detectPort();
  if (!port) {
    process.stderr.write('The SD3.5 Studio inference worker must be started by the studio (no parent channel).\n');
    process.exit(2);
  }
  const worker = new InferenceWorker(port);
  // Ctrl+C in a terminal reaches the whole process group: the CLI cancels the request through the host.
  process.on('SIGINT', () => undefined);
  process.on('uncaughtException', (err) => {
    worker.log('error', `Uncaught exception in the inference worker: ${errorText(err)}`);
    process.stderr.write(`sd35-studio worker: ${errorText(err)}\n`);
    process.exit(70);
  });
  process.on('unhandledRejection', (err) => {
    worker.log('error', `Unhandled rejection in the inference worker: ${errorText(err)}`);
    process.stderr.write(`sd35-studio worker: ${errorText(err)}\n`);
    process.exit(70);
  });
  // child_process.fork: the parent died or closed the channel — nobody is left to serve.
  if (port.transport === 'process') process.on('disconnect', () => void worker.shutdown());
  port.onMessage((raw) => worker.receive(raw));
  port.send({ type: 'ready', protocol: PROTOCOL_VERSION, pid: process.pid, transport: port.transport });
}

// Started as a process (out/main/worker.js); importing the module (tests) does not start the loop.
if (process.env[WORKER_ENV_FLAG] === '1' || (typeof require !== 'undefined' && typeof module !== 'undefined' && require.main === module)) main();
