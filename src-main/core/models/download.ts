// Resumable, verified downloads of a pinned commit's files (docs/architecture.md §4).
//
// Each file goes to `<staging>/<path>.part`, resumed with Range + If-Range (the validator of the
// bytes already held) after a dropped connection, a crash or a restart; a 200 answer to a Range
// request restarts the part. sha256 is computed while streaming (a resumed part is re-hashed once)
// and compared with the LFS oid; small git files are checked against their git blob sha1 and size.
// A verified part is renamed to `<staging>/<path>`; `installStaged` moves the set into place once
// every file verified. Progress is saved to the database after an fdatasync, so the saved byte
// count never runs ahead of the disk.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { StudioError } from '../../../src-shared/errors';
import { checkDiskSpace, fileSize, freeSpace as defaultFreeSpace, type FreeSpaceFn } from './disk';
import { HashWorker, type WorkerHash } from './hash-worker';
import { ExpiredUrlError, type HubClient } from './hub';
import { ModelsRoot } from './models-root';
import type { FileResponse } from './transport';
import {
  DEFAULT_RETRY,
  TransientError,
  abortReason,
  backoffDelay,
  describeFailure,
  isTransient,
  networkError,
  sleep,
  type RetryPolicy,
} from './retry';

export interface DownloadTarget {
  path: string;
  size: number;
  /** LFS oid: the sha256 the content must have. */
  expectedSha256?: string | null;
  /** git blob sha1, for small (non-LFS) files. */
  gitOid?: string | null;
  /** Saved state: durable bytes of the .part, and the validator they came with. */
  bytesDone?: number;
  etag?: string | null;
  /** Already verified in an earlier run (the staged file is in place). */
  verified?: boolean;
  sha256?: string | null;
}

export interface VerifiedFile {
  path: string;
  size: number;
  sha256: string;
}

export type FileStage = 'queued' | 'hashing' | 'downloading' | 'retrying' | 'verified';

export interface FileProgress {
  path: string;
  size: number;
  doneBytes: number;
  bytesPerSecond: number;
  etaSeconds: number | null;
  stage: FileStage;
}

export interface ProgressEvent {
  type: 'progress';
  totalBytes: number;
  doneBytes: number;
  bytesPerSecond: number;
  etaSeconds: number | null;
  files: FileProgress[];
}

export type DownloadEvent =
  | ProgressEvent
  | { type: 'file-verified'; path: string; size: number; sha256: string }
  | { type: 'retry'; path: string; attempt: number; delayMs: number; reason: string };

/** Where the downloader keeps its per-file state (the `downloads` table). */
export interface DownloadStateSink {
  saveProgress(path: string, bytesDone: number, etag: string | null): void;
  markVerified(path: string, sha256: string, size: number): void;
  resetFile(path: string): void;
}

export interface DownloadOptions {
  hub: HubClient;
  repo: string;
  commit: string;
  files: readonly DownloadTarget[];
  /** `<models>/.staging/<owner>--<name>/<commit>` */
  stagingDir: string;
  state: DownloadStateSink;
  signal: AbortSignal;
  onEvent?: (event: DownloadEvent) => void;
  /** Files in parallel: 2–4 (default 3). */
  concurrency?: number;
  retry?: RetryPolicy;
  /** No byte for this long → the connection is dropped and retried (default 30 s). */
  stallTimeoutMs?: number;
  /** Save progress (after fdatasync) every this many bytes or ms, whichever first. */
  saveEveryBytes?: number;
  saveEveryMs?: number;
  /** Progress events at most this often (default 100 ms: ≤ 10 per second). */
  progressIntervalMs?: number;
  /** For the test hold point (SD35_TEST_MODE / SD35_TEST_HOLD). */
  env?: NodeJS.ProcessEnv;
  /** Where the hold point announces itself (default process.stderr). */
  holdOutput?: { write(text: string): unknown };
  /** Hash large files on a worker thread (default true). */
  hashInWorker?: boolean;
  /** The gate for every change on disk (default: the staging folder's parent). */
  root?: ModelsRoot;
}

const WRITE_CHUNK = 4 * 1024 * 1024;
const MAX_EXPIRED_IN_A_ROW = 4;
const MAX_RESTARTS = 4;

export function partPath(stagingDir: string, file: string): string {
  return safeJoin(stagingDir, file) + '.part';
}

export function stagedPath(stagingDir: string, file: string): string {
  return safeJoin(stagingDir, file);
}

/** Joins a repo path under a folder, refusing absolute paths and `..` (a hostile tree listing). */
export function safeJoin(dir: string, file: string): string {
  const parts = file.split('/');
  if (file === '' || path.isAbsolute(file) || parts.some((p) => p === '' || p === '.' || p === '..' || p.includes('\\'))) {
    throw new StudioError('invalid_input', `Refusing the file path "${file}" from the repository listing.`);
  }
  return path.join(dir, ...parts);
}

/** Bytes still to fetch for the targets (verified files and durable part bytes excluded). */
export function remainingBytes(files: readonly DownloadTarget[]): number {
  return files.reduce((sum, f) => sum + (f.verified ? 0 : Math.max(0, f.size - (f.bytesDone ?? 0))), 0);
}

/** Refuses the download before any byte when the remaining set does not fit on the disk. */
export async function preflightDiskSpace(dir: string, files: readonly DownloadTarget[], free: FreeSpaceFn = defaultFreeSpace): Promise<void> {
  await checkDiskSpace(dir, remainingBytes(files), free);
}

/** Parses SD35_TEST_HOLD=download-after-bytes:N (only when SD35_TEST_MODE=1). */
export function holdAfterBytes(env: NodeJS.ProcessEnv | undefined): number | undefined {
  if (!env || env.SD35_TEST_MODE !== '1') return undefined;
  const m = /^download-after-bytes:(\d+)$/.exec(env.SD35_TEST_HOLD ?? '');
  return m ? Number(m[1]) : undefined;
}

// ---------------------------------------------------------------------------------------------

/**
 * The hashes of one file. Large LFS files are hashed on the worker thread from the batches the
 * writer has written (`batched`); everything else chunk by chunk on this thread.
 */
class Hasher {
  private sha256: crypto.Hash | undefined;
  private sha1: crypto.Hash | undefined;
  private remote: WorkerHash | undefined;

  constructor(
    private readonly target: DownloadTarget,
    private readonly worker?: HashWorker,
  ) {
    this.reset();
  }

  get batched(): boolean {
    return this.remote !== undefined;
  }

  reset(): void {
    this.remote?.drop();
    this.remote = this.worker?.open();
    this.sha256 = this.remote ? undefined : crypto.createHash('sha256');
    this.sha1 = this.target.gitOid ? crypto.createHash('sha1').update(`blob ${this.target.size}\0`) : undefined;
  }

  /** Chunks as they arrive (ignored for sha256 when batched). */
  update(chunk: Uint8Array): void {
    this.sha256?.update(chunk);
    this.sha1?.update(chunk);
  }

  /** Written batches, in file order (batched mode). */
  feed(batch: Uint8Array): Promise<void> {
    return this.remote ? this.remote.feed(batch) : Promise.resolve();
  }

  async digest(): Promise<{ sha256: string; gitOid?: string }> {
    const sha256 = this.remote ? await this.remote.digest() : this.sha256!.digest('hex');
    this.remote = undefined;
    return { sha256, ...(this.sha1 ? { gitOid: this.sha1.digest('hex') } : {}) };
  }
}

/** Files at least this big (with an LFS sha256) are hashed on the worker thread. */
const WORKER_HASH_MIN_BYTES = 4 * 1024 * 1024;

/** Throughput over a sliding window of about 5 s (for speed and ETA), one sample per 100 ms. */
class SpeedMeter {
  private samples: { t: number; bytes: number }[] = [];
  private total = 0;

  add(bytes: number, now: number): void {
    this.total += bytes;
    const last = this.samples[this.samples.length - 1];
    if (last && now - last.t < 100) {
      last.bytes = this.total;
      return;
    }
    this.samples.push({ t: now, bytes: this.total });
    const cutoff = now - 5000;
    while (this.samples.length > 2 && this.samples[0]!.t < cutoff) this.samples.shift();
  }

  rate(now: number): number {
    if (this.samples.length === 0) return 0;
    const first = this.samples[0]!;
    const last = this.samples[this.samples.length - 1]!;
    // Idle for a while: speed decays to zero.
    if (now - last.t > 3000) return 0;
    const span = Math.max(now - first.t, 250);
    return ((last.bytes - first.bytes) / span) * 1000;
  }
}

interface Tracker {
  target: DownloadTarget;
  done: number;
  stage: FileStage;
  meter: SpeedMeter;
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
      const bps = t.meter.rate(now);
      files.push({
        path: t.target.path,
        size: t.target.size,
        doneBytes: t.done,
        bytesPerSecond: Math.round(bps),
        etaSeconds: t.stage === 'verified' ? 0 : bps > 0 ? Math.ceil((t.target.size - t.done) / bps) : null,
        stage: t.stage,
      });
    }
    const bps = totalMeter.rate(now);
    const snapshot = `${done}|${files.map((f) => f.stage).join(',')}`;
    if (!force && snapshot === lastSnapshot) return;
    lastSnapshot = snapshot;
    emit({
      type: 'progress',
      totalBytes,
      doneBytes: done,
      bytesPerSecond: Math.round(bps),
      etaSeconds: done >= totalBytes ? 0 : bps > 0 ? Math.ceil((totalBytes - done) / bps) : null,
      files,
    });
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

interface FileContext {
  o: DownloadOptions;
  workerFor: (t: DownloadTarget) => HashWorker | undefined;
  retry: RetryPolicy;
  stallTimeoutMs: number;
  saveEveryBytes: number;
  saveEveryMs: number;
  hold: number | undefined;
  holdState: { bytes: number; announced: boolean; held: boolean };
  signal: AbortSignal;
  emit: (e: DownloadEvent) => void;
  totalMeter: SpeedMeter;
  root: ModelsRoot;
}

async function downloadOne(ctx: FileContext, tracker: Tracker): Promise<VerifiedFile> {
  const { o } = ctx;
  const t = tracker.target;
  const part = partPath(o.stagingDir, t.path);
  const staged = stagedPath(o.stagingDir, t.path);
  await ctx.root.mkdir(path.dirname(part));
  // A part or staged file planted as a symlink out of the models folder is never written through.
  await ctx.root.check(part, 'write');
  await ctx.root.check(staged, 'write');

  // A staged file verified in an earlier run whose row lost its hash: check it again.
  if (t.verified && (await fileSize(staged)) === t.size) {
    const hasher = new Hasher(t, ctx.workerFor(t));
    tracker.stage = 'hashing';
    await hashExisting(staged, t.size, hasher, ctx.signal);
    return finishVerified(ctx, tracker, hasher, staged, staged);
  }

  // The durable prefix: what the database says is on disk, never more than the part holds.
  const onDisk = await fileSize(part);
  let offset = Math.min(onDisk, t.bytesDone ?? 0);
  if (offset > t.size) offset = 0;
  let etag = offset > 0 ? (t.etag ?? null) : null;
  const fh = await fs.promises.open(part, onDisk > 0 ? 'r+' : 'w');
  try {
    if (onDisk !== offset) await fh.truncate(offset);
    const hasher = new Hasher(t, ctx.workerFor(t));
    if (offset > 0) {
      tracker.stage = 'hashing';
      await hashExisting(part, offset, hasher, ctx.signal);
    }
    tracker.done = offset;
    const writer = new PartWriter(fh, offset, t.path, hasher.batched ? (batch) => hasher.feed(batch) : undefined);
    let cdnUrl: string | undefined;
    let attempt = 0;
    let expiredInARow = 0;
    let restarts = 0;

    const restart = async () => {
      if (++restarts > MAX_RESTARTS) {
        throw new StudioError('network', `The server kept sending ${t.path} from the start instead of resuming; try again later.`);
      }
      await writer.truncate(0);
      offset = 0;
      etag = null;
      hasher.reset();
      tracker.done = 0;
      o.state.resetFile(t.path);
    };

    while (offset < t.size) {
      if (ctx.signal.aborted) throw abortReason(ctx.signal);
      const before = offset;
      const stall = new AbortController();
      const signal = AbortSignal.any([ctx.signal, stall.signal]);
      // The stall watch: one timer per attempt checks when the last byte came (no timer per chunk).
      let lastData = Date.now();
      let stallTimer: NodeJS.Timeout | undefined;
      const armStall = () => {
        lastData = Date.now();
        if (stallTimer) return;
        const check = () => {
          const idle = Date.now() - lastData;
          if (idle >= ctx.stallTimeoutMs) stall.abort(new TransientError(`no data for ${Math.round(ctx.stallTimeoutMs / 1000)} s`));
          else stallTimer = setTimeout(check, Math.max(10, ctx.stallTimeoutMs - idle));
        };
        stallTimer = setTimeout(check, ctx.stallTimeoutMs);
      };
      try {
        armStall();
        const ifRange = offset > 0 && etag && !etag.startsWith('W/') ? etag : undefined;
        let response: FileResponse;
        if (cdnUrl) {
          response = await o.hub.openUrl(cdnUrl, { offset, ifRange, signal });
        } else {
          const opened = await o.hub.openFile(o.repo, o.commit, t.path, { offset, ifRange, signal });
          response = opened.response;
          if (opened.cdn) cdnUrl = opened.url;
        }
        expiredInARow = 0;
        const status = response.status;
        if (status === 416) {
          response.cancel();
          clearTimeout(stallTimer);
          await restart();
          continue;
        }
        if (status === 200 && offset > 0) {
          // The server ignored the range (or If-Range no longer matched): start the part again.
          await restart();
        }
        if (status === 206) {
          const range = parseContentRange(response.headers.get('content-range'));
          if (!range || range.start !== offset) {
            response.cancel();
            clearTimeout(stallTimer);
            await restart();
            continue;
          }
          if (range.total !== undefined && range.total !== t.size) throw sizeMismatch(o.repo, t, range.total);
        } else {
          const length = response.headers.get('content-length');
          if (length !== null && /^\d+$/.test(length) && Number(length) !== t.size) {
            response.cancel();
            throw sizeMismatch(o.repo, t, Number(length));
          }
        }
        const responseEtag = response.headers.get('etag');
        if (offset === 0) etag = responseEtag;
        tracker.stage = 'downloading';

        let sinceSave = 0;
        let lastSave = Date.now();
        try {
          for await (const value of response.body) {
            lastData = Date.now();
            if (offset + value.length > t.size) throw sizeMismatch(o.repo, t, offset + value.length);
            hasher.update(value);
            await writer.push(value);
            offset += value.length;
            tracker.done = offset;
            const now = lastData;
            tracker.meter.add(value.length, now);
            ctx.totalMeter.add(value.length, now);
            sinceSave += value.length;
            ctx.holdState.bytes += value.length;
            if (sinceSave >= ctx.saveEveryBytes || now - lastSave >= ctx.saveEveryMs) {
              // Durable in the background: the saved count never runs ahead of the disk.
              const validator = etag;
              const generation = restarts;
              writer.checkpoint((bytes) => {
                if (generation === restarts) o.state.saveProgress(t.path, bytes, validator);
              });
              sinceSave = 0;
              lastSave = now;
            }
            if (ctx.hold !== undefined && ctx.holdState.bytes >= ctx.hold) {
              clearTimeout(stallTimer);
              await holdForever(ctx, async () => {
                await writer.sync();
                o.state.saveProgress(t.path, offset, etag);
              });
            }
          }
        } finally {
          response.cancel();
        }
        clearTimeout(stallTimer);
        await writer.sync();
        o.state.saveProgress(t.path, offset, etag);
        if (offset < t.size) throw new TransientError('the connection closed before the end of the file');
      } catch (err) {
        clearTimeout(stallTimer);
        // Keep every byte received so far: it is hashed already and is part of the file.
        await writer.sync().catch(() => undefined);
        if (offset > before) o.state.saveProgress(t.path, offset, etag);
        if (ctx.signal.aborted) throw abortReason(ctx.signal);
        const error = stall.signal.aborted ? stall.signal.reason : err;
        if (error instanceof ExpiredUrlError) {
          cdnUrl = undefined;
          if (++expiredInARow > MAX_EXPIRED_IN_A_ROW) throw networkError(`download ${t.path} (the download link kept expiring)`, expiredInARow, error);
          continue;
        }
        if (!isTransient(error)) throw error;
        if (offset > before) attempt = 0; // progress was made: the budget starts again
        attempt++;
        if (attempt > ctx.retry.retries) throw networkError(`download ${t.path}`, attempt, error);
        const delayMs = backoffDelay(attempt, ctx.retry, error instanceof TransientError ? error.retryAfterMs : undefined);
        tracker.stage = 'retrying';
        ctx.emit({ type: 'retry', path: t.path, attempt, delayMs, reason: describeFailure(error) });
        await sleep(delayMs, ctx.signal);
      }
    }
    await writer.sync();
    await fh.close().catch(() => undefined);
    return await finishVerified(ctx, tracker, hasher, part, staged);
  } finally {
    await fh.close().catch(() => undefined);
  }
}

async function finishVerified(ctx: FileContext, tracker: Tracker, hasher: Hasher, from: string, to: string): Promise<VerifiedFile> {
  const { o } = ctx;
  const t = tracker.target;
  const digest = await hasher.digest();
  const expected = t.expectedSha256 ?? undefined;
  const badSha = expected !== undefined && digest.sha256 !== expected;
  const badOid = expected === undefined && t.gitOid && digest.gitOid !== t.gitOid;
  if (badSha || badOid) {
    await ctx.root.rm(from);
    o.state.resetFile(t.path);
    tracker.done = 0;
    throw new StudioError(
      'verification_failed',
      badSha
        ? `${t.path} failed verification: its sha256 is ${digest.sha256}, but Hugging Face lists ${expected} for ${o.repo}. ` +
            'The damaged file was deleted and nothing was installed; run the download again to fetch it anew.'
        : `${t.path} failed verification: its git hash is ${digest.gitOid}, but Hugging Face lists ${t.gitOid} for ${o.repo}. ` +
            'The damaged file was deleted and nothing was installed; run the download again to fetch it anew.',
      { path: t.path, expected: expected ?? t.gitOid, actual: badSha ? digest.sha256 : digest.gitOid },
    );
  }
  if (from !== to) await ctx.root.rename(from, to);
  o.state.markVerified(t.path, digest.sha256, t.size);
  tracker.done = t.size;
  tracker.stage = 'verified';
  ctx.emit({ type: 'file-verified', path: t.path, size: t.size, sha256: digest.sha256 });
  return { path: t.path, size: t.size, sha256: digest.sha256 };
}

/** The test hold point: make the state durable, announce once, then never read again. */
async function holdForever(ctx: FileContext, persist: () => Promise<void>): Promise<never> {
  await persist();
  if (!ctx.holdState.announced) {
    ctx.holdState.announced = true;
    (ctx.o.holdOutput ?? process.stderr).write(`SD35_HOLD download-after-bytes:${ctx.hold}\n`);
  }
  ctx.holdState.held = true;
  setInterval(() => undefined, 1 << 30);
  return new Promise<never>(() => undefined);
}

async function hashExisting(file: string, bytes: number, hasher: Hasher, signal: AbortSignal): Promise<void> {
  if (bytes <= 0) return;
  const fh = await fs.promises.open(file, 'r');
  try {
    for (let pos = 0; pos < bytes; ) {
      if (signal.aborted) throw abortReason(signal);
      const n = Math.min(WRITE_CHUNK, bytes - pos);
      // A buffer of its own, so it can be transferred to the hashing thread.
      const buf = new Uint8Array(new ArrayBuffer(n));
      for (let got = 0; got < n; ) {
        const { bytesRead } = await fh.read(buf, got, n - got, pos + got);
        if (bytesRead === 0) throw new Error(`${file} is shorter than expected`);
        got += bytesRead;
      }
      hasher.update(buf);
      if (hasher.batched) await hasher.feed(buf);
      pos += n;
    }
  } finally {
    await fh.close();
  }
}

function parseContentRange(value: string | null): { start: number; end: number; total?: number } | undefined {
  const m = /^bytes\s+(\d+)-(\d+)\/(\d+|\*)$/i.exec(value?.trim() ?? '');
  if (!m) return undefined;
  return { start: Number(m[1]), end: Number(m[2]), ...(m[3] !== '*' ? { total: Number(m[3]) } : {}) };
}

function sizeMismatch(repo: string, t: DownloadTarget, got: number): StudioError {
  return new StudioError(
    'verification_failed',
    `${t.path} does not have the size Hugging Face lists for ${repo} (${t.size} bytes; the server sent ${got}). Nothing was installed; try again later.`,
    { path: t.path, expectedSize: t.size, size: got },
  );
}

/**
 * Buffers received chunks and writes them at the right position in large writes, one write in
 * flight while the next buffer fills. `checkpoint` makes the bytes written so far durable in the
 * background (fdatasync) and reports how many are; `sync` does it in the foreground.
 */
class PartWriter {
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  /** Bytes handed to writes (in flight or done). */
  private queued: number;
  /** Bytes whose write completed. */
  private completed: number;
  private inflight: Promise<void> | undefined;
  private checkpointing: Promise<void> | undefined;
  private failure: unknown;

  constructor(
    private readonly fh: fs.promises.FileHandle,
    position: number,
    private readonly file: string,
    /** Batched mode: each batch, once written, goes here (it is one buffer of its own). */
    private readonly onWritten?: (batch: Uint8Array) => Promise<void>,
  ) {
    this.queued = position;
    this.completed = position;
  }

  async push(chunk: Uint8Array): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes >= WRITE_CHUNK) {
      await this.inflight;
      if (this.failure !== undefined) throw this.failure;
      this.startWrite();
    }
  }

  private startWrite(): void {
    if (this.pendingBytes === 0) return;
    const buffers = this.pending;
    const bytes = this.pendingBytes;
    const at = this.queued;
    this.pending = [];
    this.pendingBytes = 0;
    this.queued += bytes;
    const onWritten = this.onWritten;
    this.inflight = (async () => {
      let views: Uint8Array[] = buffers;
      let batch: Uint8Array | undefined;
      if (onWritten) {
        batch = new Uint8Array(new ArrayBuffer(bytes));
        let o = 0;
        for (const b of buffers) {
          batch.set(b, o);
          o += b.length;
        }
        views = [batch];
      }
      let written = 0;
      // writev may write less than asked: loop until every byte is down.
      while (written < bytes) {
        const { bytesWritten } = await this.fh.writev(views, at + written);
        written += bytesWritten;
        if (written < bytes) views = sliceViews(batch ? [batch] : buffers, written);
      }
      this.completed = at + bytes;
      if (batch && onWritten) await onWritten(batch);
    })().catch((err: unknown) => {
      this.failure = writeFailure(err, this.file);
    });
  }

  async flush(): Promise<void> {
    await this.inflight;
    this.startWrite();
    await this.inflight;
    if (this.failure !== undefined) throw this.failure;
  }

  /** Makes the completed writes durable in the background; `onDurable` gets their byte count. */
  checkpoint(onDurable: (bytes: number) => void): void {
    if (this.checkpointing || this.failure !== undefined) return;
    this.checkpointing = (async () => {
      await this.inflight;
      const upto = this.completed;
      await this.fh.datasync();
      onDurable(upto);
    })()
      .catch((err: unknown) => {
        this.failure = writeFailure(err, this.file);
      })
      .finally(() => {
        this.checkpointing = undefined;
      });
  }

  /** Flush and fdatasync: after this every byte pushed survives a crash. */
  async sync(): Promise<void> {
    await this.checkpointing;
    await this.flush();
    await this.fh.datasync();
  }

  async truncate(length: number): Promise<void> {
    await this.checkpointing;
    await this.inflight;
    this.pending = [];
    this.pendingBytes = 0;
    await this.fh.truncate(length);
    this.queued = length;
    this.completed = length;
    this.failure = undefined;
  }
}

function writeFailure(err: unknown, file: string): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new StudioError(
      'disk_full',
      `The disk filled up while writing ${file}. Free some space (or choose another models folder in Settings) and resume the download; ` +
        'what was downloaded so far is kept.',
      { path: file },
    );
  }
  return err;
}

function sliceViews(buffers: Uint8Array[], skip: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let left = skip;
  for (const b of buffers) {
    if (left >= b.length) {
      left -= b.length;
      continue;
    }
    out.push(left > 0 ? b.subarray(left) : b);
    left = 0;
  }
  return out;
}

/**
 * Moves every verified staged file into the install folder (same file system: renames), then
 * removes the staging folder. Files already installed at `finalDir` are kept.
 */
export async function installStaged(root: ModelsRoot, stagingDir: string, finalDir: string, files: readonly { path: string }[]): Promise<void> {
  await root.check(stagingDir, 'install from');
  await root.mkdir(finalDir);
  for (const f of files) {
    const from = stagedPath(stagingDir, f.path);
    const to = safeJoin(finalDir, f.path);
    try {
      await fs.promises.access(from);
    } catch {
      if (await fileExists(to)) continue;
      throw new StudioError('internal', `The verified file ${f.path} disappeared from ${stagingDir} before it could be installed; download again.`);
    }
    await root.mkdir(path.dirname(to));
    await root.rename(from, to);
  }
  await root.rm(stagingDir);
  await root.removeEmptyParents(path.dirname(stagingDir), 2);
}

/** Removes the parts and staged files of a download (cancel). */
export async function removeStaging(root: ModelsRoot, stagingDir: string): Promise<void> {
  await root.rm(stagingDir);
  await root.removeEmptyParents(path.dirname(stagingDir), 2);
}

async function fileExists(p: string): Promise<boolean> {
  try {
    await fs.promises.access(p);
    return true;
  } catch {
    return false;
  }
}
