// StudioCore: the composition root of the main-process services. It implements the contract
// (src-shared/api.ts) with no Electron import, so the Electron app, the CLI and `sd35-studio serve`
// run the very same code; runtime differences arrive as adapters.
import fs from 'node:fs';
import os from 'node:os';
import type { StudioApi, SystemInfo } from '../../src-shared/api';
import { StudioError } from '../../src-shared/errors';
import type { Adapters } from './adapters';
import { openDatabase, type Db } from './db';
import { EventBus } from './events';
import { acquireLock, type LockResult } from './lock';
import { createFileLogger, type Logger } from './log';
import { noMedia, type MediaSource } from './media';
import { dataLayout, defaultModelsDir, ensureDataDir, type DataLayout } from './paths';
import { SettingsStore, defaultSettings } from './settings';

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
  listExecutionProviders?: () => Promise<{ name: string; bundled: boolean }[]>;
  logEcho?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
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
  private readonly lock: LockResult;
  private readonly primaryTasks: PrimaryTask[] = [];
  private closed = false;

  private constructor(readonly options: StudioCoreOptions) {
    this.layout = ensureDataDir(options.dataDir);
    this.log = createFileLogger(this.layout.logs, { echo: options.logEcho });
    this.lock = acquireLock(this.layout.lock);
    try {
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

  async systemInfo(): Promise<SystemInfo> {
    let freeDiskBytes: number | null = null;
    try {
      const s = await fs.promises.statfs(this.layout.root);
      freeDiskBytes = Number(s.bavail) * Number(s.bsize);
    } catch {
      freeDiskBytes = null;
    }
    const eps = (await this.options.listExecutionProviders?.()) ?? [];
    return {
      appVersion: this.options.appVersion,
      platform: process.platform,
      arch: process.arch,
      runtime: this.options.runtime,
      versions: { node: process.versions.node, ...(this.options.versions ?? {}) },
      executionProviders: eps,
      dataDir: this.layout.root,
      modelsDir: this.settings.get().modelsDir,
      freeDiskBytes,
      primary: this.lock.primary,
    };
  }

  /** Text for "Copy diagnostics": versions, EPs, paths. Never tokens or prompts. */
  async diagnostics(): Promise<string> {
    const info = await this.systemInfo();
    const settings = this.settings.get();
    const lines = [
      `SD3.5 Studio ${info.appVersion} (${info.runtime})`,
      `Platform: ${info.platform} ${info.arch}, ${os.release()}, ${os.cpus().length} CPUs, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM`,
      `Versions: ${Object.entries(info.versions).map(([k, v]) => `${k} ${v}`).join(', ')}`,
      `Execution providers: ${info.executionProviders.map((e) => `${e.name}${e.bundled ? '' : ' (not bundled)'}`).join(', ') || 'none reported'}`,
      `Chosen EP: ${settings.executionProvider}, memory mode: ${settings.memoryMode}`,
      `Data folder: ${info.dataDir} (${info.primary ? 'owner' : 'shared with another process'})`,
      `Models folder: ${info.modelsDir}`,
      `Free disk: ${info.freeDiskBytes === null ? 'unknown' : `${(info.freeDiskBytes / 2 ** 30).toFixed(1)} GiB`}`,
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
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.db.close();
    } finally {
      this.lock.release();
      this.log.info('data folder closed');
    }
  }
}

export { dataLayout };
