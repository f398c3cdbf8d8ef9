// Resumable, verified downloads of a pinned commit's files (docs/architecture.md §4).
//
// Each file goes to `<staging>/<path>.part`, resumed with Range + If-Range (the validator of the
// bytes already held) after a dropped connection, a crash or a restart; a 200 answer to a Range
// request restarts the part. sha256 is computed while streaming (a resumed part is re-hashed once)
// and compared with the LFS oid; small git files are checked against their git blob sha1 and size.
// A verified part is renamed to `<staging>/<path>`; `installStaged` moves the set into place once
// every file verified. Progress is saved to the database after an fdatasync, so the saved byte
// count never runs ahead of the disk.
//
// This file schedules the files (2–4 in parallel, largest first) and reports progress; the rooms
// beside it: download-types.ts (the shapes), download-file.ts (one file), hasher.ts, part-writer.ts,
// speed-meter.ts, staging-paths.ts, install.ts (staged → installed).
import path from 'node:path';
import { progress, type Progress, type ProgressStatus } from '../../../src-shared/progress';
import { checkDiskSpace, freeSpace as defaultFreeSpace, type FreeSpaceFn } from './disk';
import { downloadOne, type FileContext, type Tracker } from './download-file';
import type { DownloadOptions, DownloadTarget, FileProgress, FileStage, VerifiedFile } from './download-types';
import { HashWorker } from './hash-worker';
import { WORKER_HASH_MIN_BYTES } from './hasher';
import { ModelsRoot } from './models-root';
import { DEFAULT_RETRY, abortReason } from './retry';
import { SpeedMeter } from './speed-meter';
import { testHoldCount } from '../../../src-shared/test-hold';

/** Bytes still to fetch for the targets (verified files and durable part bytes excluded). */
export function remainingBytes(files: readonly DownloadTarget[]): number {
  return files.reduce((sum, f) => sum + (f.verified ? 0 : Math.max(0, f.size - (f.bytesDone ?? 0))), 0);
}

/** Refuses the download before any byte when the remaining set does not fit on the disk. */
export async function preflightDiskSpace(dir: string, files: readonly DownloadTarget[], free: FreeSpaceFn = defaultFreeSpace): Promise<void> {
  await checkDiskSpace(dir, remainingBytes(files), free);
}

const FILE_STATUS: Readonly<Record<FileStage, ProgressStatus>> = {
  queued: 'queued',
  hashing: 'running',
  downloading: 'running',
  retrying: 'retrying',
  verified: 'done',
};

/**
 * A download's progress in THE progress shape: `done` of `total` bytes at `bytesPerSecond` (as measured;
 * 0 = not yet), the time left from that rate (0 once done, null while no rate is known).
 */
export function bytesProgress(done: number, total: number, bytesPerSecond: number, status: ProgressStatus = 'running', label?: string): Extract<Progress, { task: 'download' }> {
  const rate = Math.round(bytesPerSecond);
  const etaMs = done >= total ? 0 : rate > 0 ? Math.ceil(((total - done) / rate) * 1000) : null;
  return progress('download', { status, done, total, rate, etaMs, ...(label !== undefined ? { label } : {}) });
}

/** Parses SD35_TEST_HOLD=download-after-bytes:N (only when SD35_TEST_MODE=1). */
export function holdAfterBytes(env: NodeJS.ProcessEnv | undefined): number | undefined {
  return testHoldCount(env, 'download-after-bytes');
}

/**
 * Downloads and verifies every target into the staging folder. Resolves with the verified files
 * (in the order given); rejects with a StudioError (network, verification_failed, auth…), or with
 * the signal's reason when paused or cancelled (parts are kept either way; the caller removes them
 * on cancel).
 */
export async function downloadFiles(o: DownloadOptions): Promise<VerifiedFile[]> {
  const concurrency = Math.min(4, Math.max(1, o.concurrency ?? 3));
  const retry = o.retry ?? DEFAULT_RETRY;
  const stallTimeoutMs = o.stallTimeoutMs ?? 30_000;
  const saveEveryBytes = o.saveEveryBytes ?? 64 * 1024 * 1024;
  const saveEveryMs = o.saveEveryMs ?? 2000;
  const hold = holdAfterBytes(o.env);
  const holdState = { bytes: 0, announced: false, held: false };
  const emit = o.onEvent ?? (() => undefined);

  const trackers = new Map<string, Tracker>(
    o.files.map((f) => [
      f.path,
      { target: f, done: f.verified ? f.size : Math.min(f.bytesDone ?? 0, f.size), stage: f.verified ? 'verified' : 'queued', meter: new SpeedMeter() },
    ]),
  );
  const totalMeter = new SpeedMeter();
  const totalBytes = o.files.reduce((s, f) => s + f.size, 0);

  let lastSnapshot = '';
  const emitProgress = (force = false) => {
    const now = Date.now();
    const files: FileProgress[] = [];
    let done = 0;
    for (const t of trackers.values()) {
      done += t.done;
      files.push({ path: t.target.path, stage: t.stage, progress: bytesProgress(t.done, t.target.size, t.meter.rate(now), FILE_STATUS[t.stage], t.target.path) });
    }
    const snapshot = `${done}|${files.map((f) => f.stage).join(',')}`;
    if (!force && snapshot === lastSnapshot) return;
    lastSnapshot = snapshot;
    emit({ type: 'progress', progress: bytesProgress(done, totalBytes, totalMeter.rate(now)), files });
  };
  const ticker = setInterval(() => emitProgress(), Math.max(100, o.progressIntervalMs ?? 100));

  // One failure stops the other files (their parts stay for a later resume).
  const inner = new AbortController();
  const onOuterAbort = () => inner.abort(abortReason(o.signal));
  if (o.signal.aborted) onOuterAbort();
  else o.signal.addEventListener('abort', onOuterAbort, { once: true });

  const results = new Map<string, VerifiedFile>();
  const queue = [...o.files].filter((f) => {
    if (f.verified && f.sha256) {
      results.set(f.path, { path: f.path, size: f.size, sha256: f.sha256 });
      return false;
    }
    return true;
  });
  queue.sort((a, b) => b.size - a.size);
  let firstError: unknown;

  let hashWorker: HashWorker | undefined;
  const ctx: FileContext = {
    o,
    workerFor: (t) => {
      if (o.hashInWorker === false || !t.expectedSha256 || t.size < WORKER_HASH_MIN_BYTES) return undefined;
      hashWorker ??= new HashWorker();
      return hashWorker;
    },
    retry,
    stallTimeoutMs,
    saveEveryBytes,
    saveEveryMs,
    hold,
    holdState,
    signal: inner.signal,
    emit,
    root: o.root ?? new ModelsRoot(path.dirname(o.stagingDir)),
    totalMeter,
  };

  const worker = async () => {
    for (;;) {
      const target = queue.shift();
      if (!target || inner.signal.aborted) return;
      const tracker = trackers.get(target.path)!;
      try {
        const result = await downloadOne(ctx, tracker);
        results.set(target.path, result);
      } catch (err) {
        if (firstError === undefined) firstError = err;
        if (!inner.signal.aborted) inner.abort(err);
        return;
      }
    }
  };

  try {
    await ctx.root.mkdir(o.stagingDir);
    await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(1, queue.length)) }, () => worker()));
  } finally {
    clearInterval(ticker);
    o.signal.removeEventListener('abort', onOuterAbort);
    await hashWorker?.terminate();
  }
  if (o.signal.aborted) throw abortReason(o.signal);
  if (firstError !== undefined) throw firstError;
  emitProgress(true);
  return o.files.map((f) => results.get(f.path)!);
}
