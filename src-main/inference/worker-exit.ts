// How a worker process ended, the same for both spawners: child_process.fork's (code, signal) and
// Electron utilityProcess's exit code + `child-process-gone` reason map to one WorkerExitCause, and
// describeWorkerExit() turns it into the sentence the user reads ("it ran out of memory", …).
import os from 'node:os';
import type { WorkerExitCause } from './worker-process';

/** Signals Chromium counts as a crash (base::GetTerminationStatus); the others are a kill. */
const CRASH_SIGNALS = new Set(['SIGABRT', 'SIGBUS', 'SIGFPE', 'SIGILL', 'SIGSEGV', 'SIGSYS', 'SIGTRAP']);

/** Windows NTSTATUS exit codes of a process that ran out of memory. */
const WINDOWS_OOM_CODES = new Set([0xe0000008 /* Chromium's OOM exception */, 0xc0000017 /* STATUS_NO_MEMORY */, 0xc000012d /* STATUS_COMMITMENT_LIMIT */]);

/** An exit code that is an NTSTATUS error (0xC…): access violation, stack overflow, fail-fast… */
function isWindowsException(code: number): boolean {
  return code >>> 0 >= 0xc0000000;
}

/** child_process.fork's exit, mapped to the reasons Electron reports for a utility process. */
export function causeOfNodeExit(code: number | null, signal: string | null, platform: NodeJS.Platform = process.platform): WorkerExitCause {
  if (signal) return CRASH_SIGNALS.has(signal) ? 'crashed' : 'killed';
  if (code === 0) return 'clean-exit';
  if (code === null) return 'abnormal-exit';
  if (platform === 'win32') {
    const unsigned = code >>> 0;
    if (WINDOWS_OOM_CODES.has(unsigned)) return 'oom';
    if (isWindowsException(unsigned)) return 'crashed';
  }
  if (code === 134) return 'crashed'; // abort() through a shell: V8's "heap out of memory" among others
  return 'abnormal-exit';
}

/** The name of POSIX signal number `n` (SIGKILL for 9), if it is one. */
export function signalName(n: number): NodeJS.Signals | undefined {
  for (const [name, value] of Object.entries(os.constants.signals)) if (value === n) return name as NodeJS.Signals;
  return undefined;
}

function hex(code: number): string {
  return `0x${(code >>> 0).toString(16).toUpperCase()}`;
}

/** The reason of a worker exit, for the user (StudioError worker_crashed messages and logs). */
export function describeWorkerExit(code: number | null, signal: string | null, cause?: WorkerExitCause): string {
  if (cause === 'oom') return 'it ran out of memory' + (code !== null && code !== 0 ? ` (exit code ${code >>> 0 > 0xffff ? hex(code) : code})` : '');
  if (cause === 'launch-failed') return `it could not be started (${code === null ? 'no exit code' : `code ${code}`})`;
  if (cause === 'integrity-failure') return "the app's code integrity check failed — reinstall SD3.5 Studio";
  if (signal) {
    if (signal === 'SIGKILL') return 'it was killed (SIGKILL) — the system may have run out of memory';
    return CRASH_SIGNALS.has(signal) ? `it crashed (${signal})` : `it was killed by ${signal}`;
  }
  if (code === 134) return 'it aborted (exit code 134) — it may have run out of memory';
  if (cause === 'crashed') return `it crashed (exit code ${code === null ? 'unknown' : code >>> 0 > 0xffff ? hex(code) : code})`;
  if (cause === 'killed') return 'it was killed';
  return `it exited with code ${String(code)}`;
}
