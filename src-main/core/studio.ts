// StudioCore: the composition root of the main-process services. It implements the contract
// (src-shared/api.ts) with no Electron import, so the Electron app, the CLI and `sd35-studio serve`
// run the very same code; runtime differences arrive as adapters.
import path from 'node:path';
import os from 'node:os';
import type { GpuMemory, PayloadOf, ProviderStatus, StudioApi, SystemInfo } from '../../src-shared/api';
import type { MachineMemory } from '../../src-shared/catalog';
import { formatBytes } from '../../src-shared/bytes';
import { StudioError } from '../../src-shared/errors';
import { describeGpuMemory } from '../../src-shared/machine';
import type { Adapters } from './adapters';
import { openDatabase, type Db } from './db';
import { EventBus } from './events';
import { detectGpuMemory, nodeCommandRunner } from './gpu-memory';
import { acquireLock, type LockInfo, type LockResult } from './lock';
import { createFileLogger, type Logger } from './log';
import { assumedProvider, machineMemory } from './machine';
import { providerLines } from './provider-summary';
import { noMedia, type MediaSource } from './media';
import { dataLayout, defaultModelsDir, ensureDataDir, type DataLayout } from './paths';
import { SettingsStore, defaultSettings } from './settings';
import { galleryHandlers } from './handlers/gallery';
import { modelsHandlers } from './handlers/models';
import { compareHandlers } from './handlers/compare';
import { ExportDownloads } from './images/export-downloads';
import { ComparisonStore } from './jobs/comparisons';
import { jobsHandlers } from './handlers/jobs';
import { lorasHandlers } from './handlers/loras';
import { upscalersHandlers } from './handlers/upscalers';
import { prepareUpscale } from './upscalers/upscale-job';
import { LoraService } from './loras/service';
import { UpscalerService } from './upscalers/service';
import { resolveReuseLoras } from './loras/reuse-loras';
import { checkInitReference, inputsHandlers } from './handlers/inputs';
import { requireEncoder } from './models/encoder-addition';
import { folderHasVaeEncoder } from '../model-folder/layouts';
import { ModelHost } from './jobs/model-host';
import { defaultWorkerEntry } from '../inference/host';
import type { ProbeRunner } from '../inference/ort-probe';
import { createOpProbeRunner, type OpProbeStats } from '../inference/op-probe-runner';
import { JobQueue } from './jobs/queue';
import { freeSpaceOrNull } from './models/disk';
import { ModelService, type GraphFile } from './models/service';
import type { PortabilityVerdict } from '../../src-shared/schemas/models';
import { reconcile } from './history/reconcile';
import { integrityCheck } from './history/integrity';
import { HistoryService, scheduleTrashSweep } from './history/service';

export type Runtime = SystemInfo['runtime'];

export interface StudioCoreOptions {
  dataDir: string;
  adapters: Adapters;
  runtime: Runtime;
  appVersion: string;
  /** Versions to report (node, electron, chrome, onnxruntime…). */
  versions?: Record<string, string>;
  /** better-sqlite3 .node built for this runtime (the Electron app passes its own build). */
  nativeBinding?: string;
  listExecutionProviders?: () => Promise<{ name: string; bundled: boolean; installed?: boolean }[]>;
  /** GPU memory as the OS reports it (default: detectGpuMemory with real commands, once per process). */
  gpuMemory?: () => Promise<GpuMemory>;
  /** Which providers actually start here (inference/probe-host.ts: a short-lived process; cached by the caller). */
  probeProviders?: () => Promise<ProviderStatus[]>;
  logEcho?: (line: string) => void;
  /** The built inference worker script (default: worker.js beside the bundle; tests name out/main/worker.js). */
  workerEntry?: string;
  /** Also receives the inference host's log lines (the CLI shows warnings, and everything with SD35_DEBUG=1). */
  hostLog?: (level: 'debug' | 'info' | 'warn' | 'error', message: string) => void;
  env?: NodeJS.ProcessEnv;
  /** The pre-download op check (inference/available.ts checkModelOps); answers cached under <data>/op-probes. */
  checkOps?: (graphs: GraphFile[], context: { cacheDir: string; runner: ProbeRunner }) => Promise<PortabilityVerdict>;
}

/** A start-up step of a room (reconcile history, resume downloads…), run by the lock holder only. */
export interface PrimaryTask {
  name: string;
  run(ctx: { uncleanShutdown: boolean }): Promise<void> | void;
}

export class StudioCore {
  readonly layout: DataLayout;
  readonly db: Db;
  readonly events = new EventBus();
  readonly settings: SettingsStore;
  readonly log: Logger;
  readonly api: StudioApi;
  /** Image files by id, for the image protocol and browser mode (the history room provides it). */
  media: MediaSource = noMedia;
  /** One-time downloads of exports, for browser mode's `GET /download/<token>` (issue 18 §3). */
  readonly downloads = new ExportDownloads();
  readonly history: HistoryService;
  readonly models: ModelService;
  /** The persisted job queue; its runner runs only in the lock holder (not in a standalone CLI run). */
  readonly jobs: JobQueue;
  /** The LoRA library (core/loras/service.ts). */
  readonly loras: LoraService;
  /** The upscaler library (core/upscalers/service.ts). */
  readonly upscalers: UpscalerService;
  /** Shown to the user once: a damaged database moved aside, strays recovered, … */
  readonly notices: string[] = [];
  /** Counts of the op-probe children of the pre-download check (issue 18 §2; tests read them). */
  readonly opProbeStats: OpProbeStats = { children: 0, timeouts: 0, crashes: 0 };
  /** The pre-download check's probes run in short-lived children (op-probe.js beside the worker). */
  private readonly opProbes: ProbeRunner;
  private readonly lock: LockResult;
  private readonly primaryTasks: PrimaryTask[] = [];
  private readonly disposers: (() => void)[] = [];
  private closed = false;

  private constructor(readonly options: StudioCoreOptions) {
    this.layout = ensureDataDir(options.dataDir);
    this.log = createFileLogger(this.layout.logs, { echo: options.logEcho });
    this.lock = acquireLock(this.layout.lock, options.nativeBinding ? { nativeBinding: options.nativeBinding } : {});
    try {
      if (this.lock.tookOverStale) {
        // The last owner did not exit cleanly: check the database before anything touches it.
        const check = integrityCheck(this.layout.db, { nativeBinding: options.nativeBinding });
        this.log.info('integrity check after an unclean shutdown', { ok: check.ok, durationMs: check.durationMs, movedTo: check.movedTo });
        if (check.message) this.notices.push(check.message);
      }
      this.db = openDatabase(this.layout.db, { nativeBinding: options.nativeBinding });
    } catch (err) {
      this.lock.release();
      throw err;
    }
    this.settings = new SettingsStore(this.db, defaultSettings(defaultModelsDir(options.dataDir, process.platform, options.env ?? process.env)));
    this.log.info('data folder opened', {
      runtime: options.runtime,
      primary: this.lock.primary,
      uncleanShutdown: this.lock.tookOverStale,
      ownerPid: this.lock.owner?.pid,
    });
    this.history = new HistoryService({ db: this.db, dataDir: this.layout.root });
    this.opProbes = createOpProbeRunner({
      spawner: options.adapters.spawner,
      env: options.env ?? process.env,
      entry: path.join(path.dirname(options.workerEntry ?? defaultWorkerEntry()), 'op-probe.js'),
      stats: this.opProbeStats,
    });
    this.media = {
      imagePath: (id) => this.history.imagePath(id),
      thumbPath: (id, size) => this.history.thumbPath(id, size),
    };
    this.disposers.push(this.history.onChanged((change) => this.events.emit('gallery.changed', change)));
    this.addPrimaryTask({
      name: 'history',
      run: async () => {
        const report = await reconcile(this.history);
        this.log.info('history reconciled', {
          interrupted: report.interrupted.length,
          adopted: report.adopted.length,
          missing: report.missing.length,
          unknownFiles: report.unknownFiles.length,
          durationMs: report.durationMs,
        });
        if (report.adopted.length) this.notices.push(`${report.adopted.length} image(s) saved just before a crash were recovered into the gallery.`);
        if (report.missing.length) this.notices.push(`${report.missing.length} image file(s) were missing from the data folder and were removed from the gallery.`);
        if (report.unknownFiles.length) this.notices.push(`${report.unknownFiles.length} file(s) in images/ are not from SD3.5 Studio and were left alone (see the log).`);
        this.disposers.push(scheduleTrashSweep(this.history, { onError: (err) => this.log.warn('trash sweep failed', { error: String(err) }) }));
      },
    });
    this.models = new ModelService({
      db: this.db,
      modelsDir: this.settings.get().modelsDir,
      secrets: options.adapters.secrets,
      env: options.env ?? process.env,
      graphsDir: dataLayout(options.dataDir).graphs,
      ...(options.nativeBinding ? { nativeBinding: options.nativeBinding } : {}),
      ...(options.checkOps ? { checkOps: (graphs: GraphFile[]) => options.checkOps!(graphs, { cacheDir: dataLayout(options.dataDir).opProbes, runner: this.opProbes }) } : {}),
    });
    this.disposers.push(
      this.models.on((event) => {
        try {
          this.events.emit('models.event', event);
        } catch (err) {
          this.log.warn('models event not forwarded', { type: event.type, error: String(err) });
        }
      }),
    );
    this.addPrimaryTask({
      name: 'models',
      run: async () => {
        const resumed = await this.models.resumePending();
        if (resumed.length) this.log.info('downloads resumed', { ids: resumed.map((h) => h.id) });
      },
    });
    this.jobs = new JobQueue({
      db: this.db,
      history: this.history,
      models: this.models,
      modelHost: new ModelHost({
        spawner: options.adapters.spawner,
        env: options.env ?? process.env,
        probeCacheDir: dataLayout(options.dataDir).opProbes,
        graphsDir: dataLayout(options.dataDir).graphs,
        ...(options.workerEntry ? { entry: options.workerEntry } : {}),
        log: (level, message) => {
          if (level === 'error') this.log.error(message);
          else if (level === 'warn') this.log.warn(message);
          else this.log.info(message);
          options.hostLog?.(level, message);
        },
      }),
      appVersion: options.appVersion,
      dataRoot: this.layout.root,
      settings: () => this.settings.get(),
      emit: (event, payload) => this.events.emit(event, payload as PayloadOf<typeof event>),
      power: options.adapters.power,
      notifier: options.adapters.notifier,
      log: (level, message, fields) => this.log[level](message, fields),
    });
    this.addPrimaryTask({ name: 'jobs', run: () => this.jobs.start({ runner: options.runtime !== 'cli' }) });
    this.loras = new LoraService({ dataRoot: this.layout.root, runtime: options.runtime, emit: (e) => this.events.emit('loras.changed', e) });
    this.upscalers = new UpscalerService({
      dataRoot: this.layout.root,
      runtime: options.runtime,
      emit: (e) => this.events.emit('upscalers.changed', e),
      host: () => this.jobs.inferenceHost(),
    });
    this.api = this.createApi();
  }

  static async open(options: StudioCoreOptions): Promise<StudioCore> {
    const core = new StudioCore(options);
    await core.runPrimaryTasks();
    return core;
  }

  get primary(): boolean {
    return this.lock.primary;
  }

  /** Who holds the data folder when this process does not (pid, host, start). */
  get lockOwner(): LockInfo | undefined {
    return this.lock.owner;
  }

  get uncleanShutdown(): boolean {
    return this.lock.tookOverStale;
  }

  /** Rooms register their start-up steps here; they run only in the lock holder. */
  addPrimaryTask(task: PrimaryTask): void {
    this.primaryTasks.push(task);
  }

  private async runPrimaryTasks(): Promise<void> {
    if (!this.lock.primary) {
      this.log.info('reconcile skipped: another process holds the data folder', { ownerPid: this.lock.owner?.pid });
      return;
    }
    this.log.info('reconcile: start', { tasks: this.primaryTasks.map((t) => t.name) });
    for (const task of this.primaryTasks) {
      try {
        await task.run({ uncleanShutdown: this.lock.tookOverStale });
      } catch (err) {
        this.log.error(`reconcile: ${task.name} failed`, { error: StudioError.from(err).message });
      }
    }
    this.log.info('reconcile: done');
  }

  private gpuMemoryOnce: Promise<GpuMemory> | undefined;

  /** GPU memory, asked once (nvidia-smi and PowerShell take a moment). */
  gpuMemory(): Promise<GpuMemory> {
    this.gpuMemoryOnce ??= (
      this.options.gpuMemory ?? (() => detectGpuMemory({ platform: process.platform, arch: process.arch, ramBytes: os.totalmem(), run: nodeCommandRunner() }))
    )().catch((err: unknown) => ({ kind: 'unknown' as const, reason: `GPU memory could not be read: ${String(err).slice(0, 200)}` }));
    return this.gpuMemoryOnce;
  }

  /** What the fit check assumes: RAM, GPU memory and the provider the chosen setting runs on. */
  async machine(): Promise<MachineMemory> {
    const [gpu, eps] = await Promise.all([this.gpuMemory(), this.options.listExecutionProviders?.() ?? Promise.resolve([])]);
    const provider = assumedProvider(this.settings.get().executionProvider, process.platform, eps, gpu);
    return machineMemory({ ramBytes: os.totalmem(), gpu, provider });
  }

  async systemInfo(): Promise<SystemInfo> {
    const freeDiskBytes = await freeSpaceOrNull(this.layout.root);
    const eps = (await this.options.listExecutionProviders?.()) ?? [];
    const [gpuMemory, providers] = await Promise.all([this.gpuMemory(), this.options.probeProviders?.()]);
    return {
      appVersion: this.options.appVersion,
      platform: process.platform,
      arch: process.arch,
      runtime: this.options.runtime,
      versions: { node: process.versions.node, ...(this.options.versions ?? {}) },
      executionProviders: eps,
      ...(providers ? { providers } : {}),
      dataDir: this.layout.root,
      modelsDir: this.settings.get().modelsDir,
      freeDiskBytes,
      ramBytes: os.totalmem(),
      gpuMemory,
      primary: this.lock.primary,
      notices: this.notices.slice(0, 20),
    };
  }

  /** Text for "Copy diagnostics": versions, EPs, paths. Never tokens or prompts. */
  async diagnostics(): Promise<string> {
    const info = await this.systemInfo();
    const settings = this.settings.get();
    const lines = [
      `SD3.5 Studio ${info.appVersion} (${info.runtime})`,
      `Platform: ${info.platform} ${info.arch}, ${os.release()}, ${os.cpus().length} CPUs, ${formatBytes(os.totalmem())} RAM`,
      `Versions: ${Object.entries(info.versions).map(([k, v]) => `${k} ${v}`).join(', ')}`,
      ...providerLines(info.executionProviders, info.providers),
      `GPU memory: ${info.gpuMemory ? describeGpuMemory(info.gpuMemory) : 'unknown'}`,
      `Chosen EP: ${settings.executionProvider}, memory mode: ${settings.memoryMode}`,
      `Data folder: ${info.dataDir} (${info.primary ? 'owner' : 'shared with another process'})`,
      `Models folder: ${info.modelsDir}`,
      `Free disk: ${info.freeDiskBytes === null ? 'unknown' : formatBytes(info.freeDiskBytes)}`,
      `Log file: ${this.log.file ?? 'none'}`,
    ];
    return lines.join('\n');
  }

  private createApi(): StudioApi {
    return {
      'system.info': () => this.systemInfo(),
      'system.diagnostics': async () => ({ text: await this.diagnostics() }),
      'settings.get': async () => this.settings.get(),
      'settings.set': async (patch) => {
        const next = this.settings.set(patch);
        this.events.emit('settings.changed', next);
        return next;
      },
      ...modelsHandlers(() => this.models, () => this.machine()),
      ...galleryHandlers(this.history, {
        runtime: this.options.runtime,
        reveal: (f) => this.options.adapters.files.reveal(f),
        resolveLoras: (list) => resolveReuseLoras(list, this.loras.library.list()),
      }),
      ...compareHandlers(new ComparisonStore(this.db), this.history, {
        appVersion: this.options.appVersion,
        downloads: this.downloads,
        saver: this.options.adapters.saver,
      }),
      ...inputsHandlers(this.layout.root, this.history),
      ...jobsHandlers(this.jobs, {
        ...(this.options.runtime === 'browser' ? { installedOnly: this.models } : {}),
        checkInit: (init) => checkInitReference(this.layout.root, this.history, init),
        prepareUpscale: (p) => prepareUpscale({ dataRoot: this.layout.root, history: this.history }, { imageId: p.imageId }, p.with, p.scale),
        checkEncoder: (model) => requireEncoder(this.models, model, folderHasVaeEncoder),
      }),
      ...lorasHandlers(this.loras),
      ...upscalersHandlers(this.upscalers),
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const dispose of this.disposers.splice(0)) dispose();
    this.jobs.close();
    void this.models.close().catch(() => undefined);
    try {
      this.db.close();
    } finally {
      this.lock.release();
      this.log.info('data folder closed');
    }
  }
}

export { dataLayout };
