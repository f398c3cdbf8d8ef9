// The downloader's shapes: what to fetch, what it reports, where it keeps its state (download.ts
// schedules, download-file.ts fetches one file; both speak these).
import type { Progress } from '../../../src-shared/progress';
import type { FileProgress, FileStage } from '../../../src-shared/schemas/models';
import type { HubClient } from './hub';
import type { ModelsRoot } from './models-root';
import type { RetryPolicy } from './retry';

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

export type { FileProgress, FileStage };

/** THE progress shape over the files of this call, and each file's (src-shared/schemas/models.ts). */
export interface ProgressEvent {
  type: 'progress';
  progress: Extract<Progress, { task: 'download' }>;
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
