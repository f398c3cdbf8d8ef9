// The inference host as the queue uses it: created on first use, kept between generations (the worker keeps
// its model warm and switches when the next generation uses another one), released after an idle time
// (settings.idleUnloadMinutes) or on demand (jobs.unloadModel), so an idle studio holds no model memory.
import type { WorkerSpawner } from '../../inference/worker-process';
import { InferenceHost, type LogLevel } from '../../inference/host';

export interface ModelHostOptions {
  spawner: WorkerSpawner;
  env: NodeJS.ProcessEnv;
  log(level: LogLevel, message: string): void;
  /** The worker script (default: worker.js beside the bundle). */
  entry?: string;
  /** Where the worker caches its op-probe answers (<data>/op-probes). */
  probeCacheDir?: string;
  /** The studio's folder of derived graphs (<data>/graphs). */
  graphsDir?: string;
}

export class ModelHost {
  private host: InferenceHost | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  /** The model folder the worker last loaded, while it lives. */
  loadedModel: string | null = null;

  constructor(private readonly options: ModelHostOptions) {}

  get(): InferenceHost {
    this.cancelIdle();
    if (!this.host) {
      this.host = new InferenceHost({
        spawner: this.options.spawner,
        env: this.options.env,
        log: this.options.log,
        ...(this.options.entry ? { entry: this.options.entry } : {}),
        ...(this.options.probeCacheDir ? { probeCacheDir: this.options.probeCacheDir } : {}),
        ...(this.options.graphsDir ? { graphsDir: this.options.graphsDir } : {}),
      });
    }
    return this.host;
  }

  get alive(): boolean {
    return this.host !== undefined;
  }

  /** Releases the worker after `minutes` without work (0: now). */
  scheduleIdle(minutes: number): void {
    this.cancelIdle();
    if (!this.host) return;
    if (minutes <= 0) {
      void this.unload();
      return;
    }
    this.idleTimer = setTimeout(() => void this.unload(), minutes * 60_000);
    this.idleTimer.unref();
  }

  cancelIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }

  /** Ends the worker (and the model it holds). True when there was one. */
  async unload(): Promise<boolean> {
    this.cancelIdle();
    const host = this.host;
    this.host = undefined;
    this.loadedModel = null;
    if (!host) return false;
    await host.dispose();
    return true;
  }
}
