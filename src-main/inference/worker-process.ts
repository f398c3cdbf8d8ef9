// The worker process as the inference room sees it: what a spawner gives the host (inference/host.ts), the
// op probes and the provider probe. The spawners implementing it live above (electron/spawner.ts,
// core/node-adapters.ts); core/adapters.ts carries one in its Adapters.

/**
 * Why a worker process ended, in Electron's `child-process-gone` vocabulary; both spawners map their
 * exit codes and signals to it (inference/worker-exit.ts), so the host reads one set of reasons.
 */
export type WorkerExitCause = 'clean-exit' | 'abnormal-exit' | 'killed' | 'crashed' | 'oom' | 'launch-failed' | 'integrity-failure';

/** A child process running one of our built entry points (the inference worker). */
export interface WorkerHandle {
  readonly pid: number | undefined;
  postMessage(message: unknown): void;
  onMessage(listener: (message: unknown) => void): void;
  /** code is the exit code, or null when killed by a signal; cause is the same for both spawners. */
  onExit(listener: (code: number | null, signal: string | null, cause: WorkerExitCause) => void): void;
  /** The signal is delivered as asked where the platform has signals (SIGKILL for a force stop). */
  kill(signal?: NodeJS.Signals): void;
}

export interface WorkerSpawner {
  /** `entry` is the absolute path of a built script (e.g. out/main/worker.js). */
  /** `cwd`: the process's working directory (default: ours; the op probes run in an empty temporary folder). */
  spawn(entry: string, options: { env: NodeJS.ProcessEnv; args?: string[]; name: string; cwd?: string }): WorkerHandle;
}
