// The Electron-free half of the utilityProcess spawner: turns a UtilityProcess (and the app's
// `child-process-gone` events) into the WorkerHandle the inference host supervises, with the same exit
// semantics as child_process.fork: the kill signal is delivered as asked (SIGKILL for a force stop),
// the exit code is decoded, and `child-process-gone`'s reason (killed, crashed, oom…) is forwarded so an
// out-of-memory kill reads as such. spawner.ts binds it to Electron; tests bind it to a fake.
import type { WorkerExitCause, WorkerHandle, WorkerSpawner } from '../inference/worker-process';
import { causeOfNodeExit, signalName } from '../inference/worker-exit';

/** What we use of Electron's UtilityProcess. */
export interface UtilityProcessLike {
  /** undefined until 'spawn' and after 'exit' (as in Electron). */
  readonly pid: number | undefined;
  postMessage(message: unknown): void;
  on(event: 'spawn', listener: () => void): unknown;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  on(event: 'exit', listener: (code: number) => void): unknown;
  on(event: 'error', listener: (type: string, location: string, report: string) => void): unknown;
  /** SIGTERM on POSIX, TerminateProcess on Windows; Electron then reports exit code 0. */
  kill(): boolean;
}

/** Electron's Details of app 'child-process-gone'. */
export interface ChildProcessGoneDetails {
  type: string;
  reason: string;
  exitCode: number;
  serviceName?: string;
  name?: string;
}

export interface ChildProcessGoneSource {
  on(event: 'child-process-gone', listener: (event: unknown, details: ChildProcessGoneDetails) => void): unknown;
  removeListener(event: 'child-process-gone', listener: (event: unknown, details: ChildProcessGoneDetails) => void): unknown;
}

export interface UtilityForkOptions {
  env: NodeJS.ProcessEnv;
  serviceName: string;
  stdio: 'inherit';
  cwd?: string;
}

export interface UtilitySpawnerDeps {
  fork(entry: string, args: string[], options: UtilityForkOptions): UtilityProcessLike;
  /** Electron's app: emits 'child-process-gone' (not always before the process's own 'exit'). */
  app: ChildProcessGoneSource;
  /** process.kill: delivers a signal other than SIGTERM where the platform has signals. */
  signal(pid: number, signal: NodeJS.Signals): void;
  platform?: NodeJS.Platform;
  /** How long an unexplained non-zero exit waits for its 'child-process-gone' (default 250 ms). */
  goneGraceMs?: number;
}

export interface UtilityExit {
  code: number | null;
  signal: string | null;
  cause: WorkerExitCause;
}

const GONE_REASONS: Record<string, WorkerExitCause> = {
  'clean-exit': 'clean-exit',
  'abnormal-exit': 'abnormal-exit',
  killed: 'killed',
  crashed: 'crashed',
  oom: 'oom',
  'memory-eviction': 'oom',
  'launch-failed': 'launch-failed',
  'integrity-failure': 'integrity-failure',
};

/**
 * A utility process's end, as child_process.fork would report it. On POSIX Electron's exit code is
 * waitpid's: the code given to process.exit, or the raw status of a signal death (9 for SIGKILL).
 */
export function utilityExit(
  rawCode: number,
  gone: ChildProcessGoneDetails | undefined,
  sent: NodeJS.Signals | undefined,
  platform: NodeJS.Platform,
  fatal?: { location: string },
): UtilityExit {
  const posix = platform !== 'win32';
  // A raw "exited" wait status (code << 8) decodes to its exit code.
  const code = posix && rawCode > 0xff && (rawCode & 0xff) === 0 ? rawCode >> 8 : rawCode;
  const signalOf = (c: number): NodeJS.Signals | undefined => (posix && c > 0 && c < 0x100 ? signalName(c & 0x7f) : undefined);
  if (fatal && /heap|memory|allocation/i.test(fatal.location)) return { code: null, signal: signalOf(code) ?? null, cause: 'oom' };
  if (sent && (code === 0 || signalOf(code) === sent || gone?.reason === 'killed')) return { code: null, signal: sent, cause: 'killed' };
  if (gone) {
    const cause = GONE_REASONS[gone.reason] ?? 'abnormal-exit';
    const signal = cause === 'killed' || cause === 'crashed' || cause === 'oom' ? signalOf(code) : undefined;
    return signal ? { code: null, signal, cause } : { code, signal: null, cause };
  }
  return { code, signal: null, cause: causeOfNodeExit(code, null, platform) };
}

export function createUtilitySpawner(deps: UtilitySpawnerDeps): WorkerSpawner {
  const platform = deps.platform ?? process.platform;
  const graceMs = deps.goneGraceMs ?? 250;
  return {
    spawn(entry, { env, args = [], name, cwd }): WorkerHandle {
      const child = deps.fork(entry, args, { env, serviceName: name, stdio: 'inherit', ...(cwd !== undefined ? { cwd } : {}) });
      let lastPid: number | undefined;
      let sent: NodeJS.Signals | undefined;
      let gone: ChildProcessGoneDetails | undefined;
      let fatal: { location: string } | undefined;
      let exited = false;
      let waitingForGone: (() => void) | undefined;
      const exitListeners: ((code: number | null, signal: string | null, cause: WorkerExitCause) => void)[] = [];
      const onGone = (_event: unknown, details: ChildProcessGoneDetails): void => {
        if (details.type !== 'Utility' || details.name !== name || gone) return;
        gone = details;
        waitingForGone?.();
      };
      deps.app.on('child-process-gone', onGone);
      child.on('spawn', () => (lastPid = child.pid));
      child.on('error', (_type, location) => (fatal = { location }));
      child.on('exit', (rawCode) => {
        const report = (): void => {
          if (exited) return;
          exited = true;
          waitingForGone = undefined;
          deps.app.removeListener('child-process-gone', onGone);
          const exit = utilityExit(rawCode, gone, sent, platform, fatal);
          for (const listener of exitListeners) listener(exit.code, exit.signal, exit.cause);
        };
        // 'child-process-gone' may come just after 'exit': an unexplained failure waits a moment for its reason.
        if (rawCode === 0 || gone || sent || fatal) return report();
        waitingForGone = report;
        setTimeout(report, graceMs).unref();
      });
      return {
        get pid() {
          return exited ? undefined : (child.pid ?? lastPid);
        },
        postMessage: (message) => child.postMessage(message),
        onMessage: (listener) => void child.on('message', listener),
        onExit: (listener) => void exitListeners.push(listener),
        kill(signal: NodeJS.Signals = 'SIGTERM') {
          if (exited) return;
          sent = signal;
          const pid = child.pid;
          if (platform !== 'win32' && signal !== 'SIGTERM' && pid !== undefined) {
            try {
              deps.signal(pid, signal);
              return;
            } catch {
              // already gone, or not ours to signal: let Electron end it
            }
          }
          child.kill();
        },
      };
    },
  };
}
