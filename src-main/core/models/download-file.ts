// One file of a download: fetched into `<staging>/<path>.part` with Range + If-Range (resumed after
// a dropped connection, a crash or a restart; a 200 answer to a Range request restarts the part),
// hashed while streaming, verified against the LFS oid or git blob sha1, renamed to `<staging>/<path>`.
import fs from 'node:fs';
import path from 'node:path';
import { StudioError } from '../../../src-shared/errors';
import { fileSize } from './disk';
import type { DownloadEvent, DownloadOptions, DownloadTarget, FileStage, VerifiedFile } from './download-types';
import type { HashWorker } from './hash-worker';
import { Hasher, hashFile } from './hasher';
import { ExpiredUrlError } from './hub';
import type { ModelsRoot } from './models-root';
import { PartWriter } from './part-writer';
import { TransientError, abortReason, backoffDelay, describeFailure, isTransient, networkError, sleep, type RetryPolicy } from './retry';
import type { SpeedMeter } from './speed-meter';
import { partPath, stagedPath } from './staging-paths';
import type { FileResponse } from './transport';

const MAX_EXPIRED_IN_A_ROW = 4;
const MAX_RESTARTS = 4;

/** One file's live state, shared with the scheduler's progress events. */
export interface Tracker {
  target: DownloadTarget;
  done: number;
  stage: FileStage;
  meter: SpeedMeter;
}

export interface FileContext {
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

export async function downloadOne(ctx: FileContext, tracker: Tracker): Promise<VerifiedFile> {
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
    await hashFile(staged, hasher, { bytes: t.size, signal: ctx.signal });
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
      await hashFile(part, hasher, { bytes: offset, signal: ctx.signal });
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
