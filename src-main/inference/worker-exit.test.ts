import { describe, expect, it } from 'vitest';
import { causeOfNodeExit, describeWorkerExit, signalName } from './worker-exit';

describe('worker exits, the same reasons for both spawners', () => {
  it('maps child_process exit codes and signals to child-process-gone reasons', () => {
    expect(causeOfNodeExit(0, null, 'linux')).toBe('clean-exit');
    expect(causeOfNodeExit(3, null, 'linux')).toBe('abnormal-exit');
    expect(causeOfNodeExit(null, 'SIGKILL', 'linux')).toBe('killed');
    expect(causeOfNodeExit(null, 'SIGTERM', 'linux')).toBe('killed');
    expect(causeOfNodeExit(null, 'SIGSEGV', 'linux')).toBe('crashed');
    expect(causeOfNodeExit(null, 'SIGABRT', 'darwin')).toBe('crashed');
    expect(causeOfNodeExit(134, null, 'linux')).toBe('crashed');
    // Windows reports NTSTATUS codes (as negative int32 from Node).
    expect(causeOfNodeExit(0xc0000005 | 0, null, 'win32')).toBe('crashed');
    expect(causeOfNodeExit(0xc0000017 | 0, null, 'win32')).toBe('oom');
    expect(causeOfNodeExit(0xe0000008, null, 'win32')).toBe('oom');
    expect(causeOfNodeExit(0xc0000005, null, 'linux')).toBe('abnormal-exit');
  });

  it('says what happened in words, an out-of-memory end reading as such', () => {
    expect(describeWorkerExit(null, 'SIGKILL', 'killed')).toMatch(/killed \(SIGKILL\).*out of memory/);
    expect(describeWorkerExit(null, 'SIGKILL', 'oom')).toBe('it ran out of memory');
    expect(describeWorkerExit(0xc0000017 | 0, null, 'oom')).toBe('it ran out of memory (exit code 0xC0000017)');
    expect(describeWorkerExit(null, 'SIGSEGV', 'crashed')).toBe('it crashed (SIGSEGV)');
    expect(describeWorkerExit(null, 'SIGHUP', 'killed')).toBe('it was killed by SIGHUP');
    expect(describeWorkerExit(3, null, 'abnormal-exit')).toBe('it exited with code 3');
    expect(describeWorkerExit(3, null)).toBe('it exited with code 3');
    expect(describeWorkerExit(134, null, 'crashed')).toMatch(/aborted.*134/);
    expect(describeWorkerExit(0xc0000005 | 0, null, 'crashed')).toBe('it crashed (exit code 0xC0000005)');
    expect(describeWorkerExit(1, null, 'launch-failed')).toMatch(/could not be started/);
    expect(describeWorkerExit(0, null, 'integrity-failure')).toMatch(/integrity/);
  });

  it('names POSIX signals by number', () => {
    expect(signalName(9)).toBe('SIGKILL');
    expect(signalName(15)).toBe('SIGTERM');
    expect(signalName(0)).toBeUndefined();
  });
});
