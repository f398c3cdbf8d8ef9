// A stand-in for Electron's utilityProcess and app 'child-process-gone' under plain Node, with the same
// events and exit semantics, over a real child process (child_process.fork + parent-port-shim.cjs):
//  - pid is undefined until 'spawn' and after 'exit'; postMessage/'message' carry structured clones;
//  - 'exit' gets one number: process.exit's code, or the signal's number for a signal death (waitpid),
//    or 0 after kill() (Electron turns its own SIGTERM into a clean 0);
//  - kill() sends SIGTERM and returns whether there was a process;
//  - an abnormal end also emits app 'child-process-gone' { type: 'Utility', reason, exitCode, name },
//    before or after 'exit' (goneOrder), with Chromium's reasons (SIGKILL/SIGTERM → killed, SIGSEGV/SIGABRT… →
//    crashed, non-zero exit → abnormal-exit) unless a test forces one (forceGoneReason, e.g. 'oom').
import { fork, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcessGoneDetails, UtilityForkOptions, UtilityProcessLike, UtilitySpawnerDeps } from '../electron/utility-worker';

const SHIM = path.join(__dirname, 'parent-port-shim.cjs');
const CRASH_SIGNALS = new Set(['SIGABRT', 'SIGBUS', 'SIGFPE', 'SIGILL', 'SIGSEGV', 'SIGSYS', 'SIGTRAP']);

export class FakeUtilityProcess extends EventEmitter implements UtilityProcessLike {
  private spawned = false;
  private ended = false;
  private killedByUs = false;
  /** What the OS reported for the child (for tests to check which signal actually arrived). */
  osExit: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  constructor(
    readonly child: ChildProcess,
    private readonly fakeApp: FakeElectronApp,
    private readonly serviceName: string,
  ) {
    super();
    child.on('spawn', () => {
      this.spawned = true;
      this.emit('spawn');
    });
    child.on('message', (message) => this.emit('message', message));
    child.on('exit', (code, signal) => this.onOsExit(code, signal));
  }

  get pid(): number | undefined {
    return this.spawned && !this.ended ? this.child.pid : undefined;
  }

  postMessage(message: unknown): void {
    if (this.child.connected) this.child.send(message as object);
  }

  kill(): boolean {
    if (!this.spawned || this.ended) return false;
    this.killedByUs = true;
    return this.child.kill('SIGTERM');
  }

  private onOsExit(code: number | null, signal: NodeJS.Signals | null): void {
    this.osExit = { code, signal };
    const signo = signal ? (os.constants.signals[signal] ?? 0) : 0;
    let exitCode = signal ? signo : (code ?? 0);
    if (this.killedByUs && (signal === 'SIGTERM' || signal === 'SIGKILL')) exitCode = 0;
    const reason = this.fakeApp.forceGoneReason ?? (signal ? (CRASH_SIGNALS.has(signal) ? 'crashed' : 'killed') : code !== 0 ? 'abnormal-exit' : undefined);
    const gone: ChildProcessGoneDetails | undefined = reason
      ? { type: 'Utility', reason, exitCode: signal ? signo : (code ?? 0) << 8, serviceName: 'node.mojom.NodeService', name: this.serviceName }
      : undefined;
    const exit = (): void => {
      this.ended = true;
      this.emit('exit', exitCode);
    };
    if (gone && this.fakeApp.goneOrder === 'before-exit') {
      this.fakeApp.emit('child-process-gone', {}, gone);
      exit();
    } else {
      exit();
      if (gone) setImmediate(() => this.fakeApp.emit('child-process-gone', {}, gone));
    }
  }
}

/** Electron's `app` as far as the spawner is concerned, plus the knobs tests turn. */
export class FakeElectronApp extends EventEmitter {
  goneOrder: 'before-exit' | 'after-exit' = 'after-exit';
  forceGoneReason: string | undefined;
  readonly processes: FakeUtilityProcess[] = [];
  readonly signalled: { pid: number; signal: NodeJS.Signals }[] = [];

  /** The UtilitySpawnerDeps the real spawner.ts gets from Electron, here over real Node children. */
  deps(): UtilitySpawnerDeps {
    return {
      fork: (entry: string, args: string[], options: UtilityForkOptions) => {
        const child = fork(entry, args, {
          env: options.env,
          execArgv: ['--require', SHIM],
          stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
          serialization: 'advanced',
        });
        const p = new FakeUtilityProcess(child, this, options.serviceName);
        this.processes.push(p);
        return p;
      },
      app: this,
      signal: (pid, signal) => {
        this.signalled.push({ pid, signal });
        process.kill(pid, signal);
      },
    };
  }
}
