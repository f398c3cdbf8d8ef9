// The utilityProcess adapter over an in-memory UtilityProcess (events only); host.spawners.int.test.ts
// runs the same adapter over real processes.
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { WorkerExitCause } from '../inference/worker-process';
import { createUtilitySpawner, utilityExit, type ChildProcessGoneDetails, type UtilityForkOptions, type UtilityProcessLike } from './utility-worker';

class MemoryUtility extends EventEmitter implements UtilityProcessLike {
  pid: number | undefined;
  posted: unknown[] = [];
  kills = 0;
  postMessage(message: unknown): void {
    this.posted.push(message);
  }
  kill(): boolean {
    this.kills++;
    return true;
  }
  start(pid: number): void {
    this.pid = pid;
    this.emit('spawn');
  }
  end(code: number): void {
    this.pid = undefined;
    this.emit('exit', code);
  }
}

function setup(platform: NodeJS.Platform = 'linux') {
  const app = new EventEmitter();
  const children: { child: MemoryUtility; options: UtilityForkOptions }[] = [];
  const signals: [number, string][] = [];
  const spawner = createUtilitySpawner({
    fork: (_entry, _args, options) => {
      const child = new MemoryUtility();
      children.push({ child, options });
      return child;
    },
    app,
    signal: (pid, signal) => void signals.push([pid, signal]),
    platform,
    goneGraceMs: 1_000,
  });
  const handle = spawner.spawn('/app/out/main/worker.js', { env: { A: '1' }, name: 'SD3.5 inference' });
  const exits: { code: number | null; signal: string | null; cause: WorkerExitCause }[] = [];
  handle.onExit((code, signal, cause) => exits.push({ code, signal, cause }));
  const gone = (reason: string, exitCode = 0, name = 'SD3.5 inference'): void =>
    void app.emit('child-process-gone', {}, { type: 'Utility', reason, exitCode, serviceName: 'node.mojom.NodeService', name } satisfies ChildProcessGoneDetails);
  return { app, handle, child: children[0]!.child, options: children[0]!.options, signals, exits, gone };
}

describe('the utilityProcess worker adapter', () => {
  it('forks with the service name and env, and passes messages both ways', () => {
    const { handle, child, options } = setup();
    expect(options).toEqual({ env: { A: '1' }, serviceName: 'SD3.5 inference', stdio: 'inherit' });
    expect(handle.pid).toBeUndefined();
    child.start(4242);
    expect(handle.pid).toBe(4242);
    const got: unknown[] = [];
    handle.onMessage((m) => got.push(m));
    child.emit('message', { type: 'ready' });
    handle.postMessage({ type: 'shutdown' });
    expect(got).toEqual([{ type: 'ready' }]);
    expect(child.posted).toEqual([{ type: 'shutdown' }]);
  });

  it('forwards child-process-gone: an out-of-memory end reads as such, whichever event comes first', async () => {
    const before = setup();
    before.child.start(1);
    before.gone('oom', 9);
    before.child.end(9);
    expect(before.exits).toEqual([{ code: null, signal: 'SIGKILL', cause: 'oom' }]);

    const after = setup();
    after.child.start(1);
    after.child.end(9);
    expect(after.exits).toEqual([]); // waits for the reason
    after.gone('oom', 9);
    expect(after.exits).toEqual([{ code: null, signal: 'SIGKILL', cause: 'oom' }]);

    // Another utility process's end is not ours.
    const other = setup();
    other.child.start(1);
    other.gone('crashed', 11, 'Audio Service');
    other.child.end(0);
    expect(other.exits).toEqual([{ code: 0, signal: null, cause: 'clean-exit' }]);
  });

  it('maps exit codes to the same reasons as child_process.fork', () => {
    const crashed = setup();
    crashed.child.start(1);
    crashed.gone('crashed', 11);
    crashed.child.end(11);
    expect(crashed.exits).toEqual([{ code: null, signal: 'SIGSEGV', cause: 'crashed' }]);

    const exited = setup();
    exited.child.start(1);
    exited.gone('abnormal-exit', 3 << 8);
    exited.child.end(3);
    expect(exited.exits).toEqual([{ code: 3, signal: null, cause: 'abnormal-exit' }]);

    // A raw wait status decodes to its exit code.
    expect(utilityExit(3 << 8, undefined, undefined, 'linux')).toEqual({ code: 3, signal: null, cause: 'abnormal-exit' });
    // Windows: NTSTATUS codes, no signals.
    expect(utilityExit(0xc0000005, { type: 'Utility', reason: 'crashed', exitCode: 0xc0000005 }, undefined, 'win32')).toEqual({ code: 0xc0000005, signal: null, cause: 'crashed' });
    expect(utilityExit(0xe0000008, undefined, undefined, 'win32').cause).toBe('oom');
    // V8's fatal "heap out of memory" ('error' event) is an out-of-memory end.
    expect(utilityExit(6, undefined, undefined, 'linux', { location: 'Reached heap limit Allocation failed' }).cause).toBe('oom');
  });

  it('an unexplained non-zero exit is reported after the grace period', async () => {
    const app = new EventEmitter();
    const child = new MemoryUtility();
    const handle = createUtilitySpawner({ fork: () => child, app, signal: () => undefined, platform: 'linux', goneGraceMs: 20 }).spawn('w.js', { env: {}, name: 'n' });
    const exits: unknown[] = [];
    handle.onExit((...e) => exits.push(e));
    child.start(1);
    child.end(3);
    expect(exits).toEqual([]);
    await new Promise((r) => setTimeout(r, 60));
    expect(exits).toEqual([[3, null, 'abnormal-exit']]);
    expect(app.listenerCount('child-process-gone')).toBe(0);
  });

  it('delivers the kill signal as asked: SIGKILL to the pid, SIGTERM through utilityProcess.kill()', () => {
    const force = setup();
    force.child.start(77);
    force.handle.kill('SIGKILL');
    expect(force.signals).toEqual([[77, 'SIGKILL']]);
    expect(force.child.kills).toBe(0);
    force.gone('killed', 9);
    force.child.end(9);
    expect(force.exits).toEqual([{ code: null, signal: 'SIGKILL', cause: 'killed' }]);

    const term = setup();
    term.child.start(78);
    term.handle.kill('SIGTERM');
    expect(term.child.kills).toBe(1);
    term.child.end(0); // Electron reports its own kill as 0
    expect(term.exits).toEqual([{ code: null, signal: 'SIGTERM', cause: 'killed' }]);
    expect(term.handle.pid).toBeUndefined();

    const win = setup('win32');
    win.child.start(79);
    win.handle.kill('SIGKILL');
    expect(win.signals).toEqual([]);
    expect(win.child.kills).toBe(1);
  });
});
