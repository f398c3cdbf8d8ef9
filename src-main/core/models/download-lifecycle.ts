// Downloads' lifecycle for the models room: start (pin the commit, plan, check access, preflight the disk, one
// downloader per staging folder across processes), run (the graphs first and their op verdict, then the rest, then
// install), pause, resume, cancel, and resume after a restart. The bytes are download.ts's, the rows store.ts's.
import fs from 'node:fs';
import { isCatalogId } from '../../../src-shared/catalog';
import { StudioError } from '../../../src-shared/errors';
import type { DownloadResult, ModelEventView, PortabilityVerdict } from '../../../src-shared/schemas/models';
import { graphFiles } from '../../model-folder/layouts';
import type { FreeSpaceFn } from './disk';
import { bytesProgress, downloadFiles, preflightDiskSpace } from './download';
import { acquireDownloadLock } from './download-lock';
import type { DownloadEvent, DownloadTarget, VerifiedFile } from './download-types';
import { authRequired, type HubClient } from './hub';
import { installStaged, removeStaging } from './install';
import type { ModelFolders } from './model-folders';
import type { ModelLookup, Target } from './model-lookup';
import type { RetryPolicy } from './retry';
import { planDownload, type DownloadPlan } from './selection';
import { safeJoin } from './staging-paths';
import type { FileRow, ModelRow, ModelStore } from './store';
import type { HfToken } from './token';

export interface DownloadHandle {
  id: string;
  repo: string;
  commit: string;
  totalBytes: number;
  /** Settles when the download ends: the result, or a StudioError (interrupted when paused, cancelled, …). */
  done: Promise<DownloadResult>;
}

export type DownloadProgressEvent = Extract<ModelEventView, { type: 'download-progress' }>;

/** One component graph of a model, on disk (fetched and verified before the large files). */
export interface GraphFile {
  component: string;
  /** Repo-relative ('unet/model.onnx'). */
  file: string;
  /** Absolute path of the verified file. */
  path: string;
}

/**
 * Checks a model's graphs against this machine's execution providers (ops probed in ONNX Runtime,
 * rewrites planned) and gives the verdict shown before the large files download.
 */
export type OpsChecker = (graphs: GraphFile[]) => Promise<PortabilityVerdict>;

/** The downloader's knobs (tests and the bench set them; the app takes the defaults). */
export interface DownloadTuning {
  concurrency?: number;
  stallTimeoutMs?: number;
  retry?: RetryPolicy;
  saveEveryBytes?: number;
  saveEveryMs?: number;
  progressIntervalMs?: number;
  requestTimeoutMs?: number;
}

/** Narrows a commit's download plan to part of it (encoder-addition.ts). */
export type PlanNarrowing = (plan: DownloadPlan) => DownloadPlan;

export interface DownloadLifecycleDeps {
  store: ModelStore;
  lookup: ModelLookup;
  folders: ModelFolders;
  hub: HubClient;
  token: Pick<HfToken, 'current'>;
  env: NodeJS.ProcessEnv;
  freeSpace: FreeSpaceFn;
  emit(event: ModelEventView): void;
  /** A stored encoder addition resumes narrowed again (encoder-addition.ts resumeNarrowing). */
  resumeNarrowing(row: ModelRow): PlanNarrowing | undefined;
  checkOps?: OpsChecker;
  nativeBinding?: string;
  tuning?: DownloadTuning;
}

interface ActiveDownload {
  id: string;
  controller: AbortController;
  handle: DownloadHandle;
  lastProgress?: DownloadProgressEvent;
}

const PAUSED = 'paused';
const CANCELLED = 'cancelled';

export class DownloadLifecycle {
  private readonly active = new Map<string, ActiveDownload>();
  private readonly starting = new Map<string, Promise<DownloadHandle>>();
  private readonly verdicts = new Map<string, PortabilityVerdict>();

  constructor(private readonly deps: DownloadLifecycleDeps) {}

  /** The running download's last progress event (live bytes beat the saved ones in the list). */
  liveProgress(id: string): DownloadProgressEvent | undefined {
    return this.active.get(id)?.lastProgress;
  }

  /** The op verdict of a model's graphs, from its last download's check. */
  verdict(id: string): PortabilityVerdict | undefined {
    return this.verdicts.get(id);
  }

  /** Whether a download of the stored id runs in this process. */
  isActive(id: string): boolean {
    return this.active.has(id);
  }

  /**
   * Starts downloading a catalog id or `owner/name[@rev]`. Resolves once the commit is pinned, access
   * checked and the disk space preflight passed (errors before any byte reject here); the handle's
   * `done` settles when the download ends. A download already running for the model is returned.
   */
  async download(ref: string, options: { t5?: boolean } = {}): Promise<DownloadHandle> {
    const target = this.deps.lookup.parseRef(ref);
    // A paused, failed or interrupted download of the same revision continues at its pinned commit
    // (the branch may have moved since; its parts belong to that commit).
    const row = this.deps.store.get(target.id);
    const pinned = row?.downloadState && row.downloadCommit && row.revision === target.revision ? row.downloadCommit : undefined;
    return this.start(target, options.t5 ?? true, pinned);
  }

  /** Resumes a paused, failed or interrupted download at its pinned commit. */
  async resume(id: string): Promise<DownloadHandle> {
    const row = this.deps.lookup.requireRow(id);
    const running = this.active.get(row.id);
    if (running) return running.handle;
    if (!row.downloadState || !row.downloadCommit || !row.repo) {
      throw new StudioError('invalid_input', `${id} has no download to resume.`);
    }
    return this.start(
      { id: row.id, repo: row.repo, revision: row.revision ?? row.downloadCommit, ...(isCatalogId(row.id) ? { catalogId: row.id } : {}) },
      row.downloadT5 ?? true,
      row.downloadCommit,
      this.deps.resumeNarrowing(row),
    );
  }

  /** The running download of a model, if any (its `done` settles when it ends). */
  running(id: string): DownloadHandle | undefined {
    return this.active.get(this.deps.lookup.canonicalId(id))?.handle;
  }

  /** Pauses a running download (parts kept). */
  async pause(id: string): Promise<void> {
    const key = this.deps.lookup.canonicalId(id);
    const dl = this.active.get(key) ?? [...this.active.values()].find((j) => j.id.toLowerCase() === key.toLowerCase());
    if (dl) {
      dl.controller.abort(PAUSED);
      await dl.handle.done.catch(() => undefined);
      return;
    }
    const row = this.deps.lookup.requireRow(id);
    if (row.downloadState === 'downloading') {
      this.deps.store.setDownloadState(row.id, 'paused');
      this.deps.emit({ type: 'download-paused', id: row.id });
    }
  }

  /** Cancels a download: stops it and removes its parts. An installed version stays. */
  async cancel(id: string): Promise<void> {
    const key = this.deps.lookup.canonicalId(id);
    const dl = this.active.get(key) ?? [...this.active.values()].find((j) => j.id.toLowerCase() === key.toLowerCase());
    if (dl) {
      dl.controller.abort(CANCELLED);
      await dl.handle.done.catch(() => undefined);
      return;
    }
    const row = this.deps.lookup.requireRow(id);
    if (!row.downloadCommit || !row.repo) return;
    const staging = this.deps.folders.storedStagingDir(row.repo, row.downloadCommit);
    if (staging) await removeStaging(this.deps.folders.root, staging);
    this.deps.store.clearDownload(row.id);
    this.deps.emit({ type: 'download-cancelled', id: row.id });
    this.deps.emit({ type: 'models-changed' });
  }

  /** On start: resumes the downloads that were running when the app stopped. Failures become events. */
  async resumePending(): Promise<DownloadHandle[]> {
    const handles: DownloadHandle[] = [];
    for (const row of this.deps.store.interrupted()) {
      try {
        handles.push(await this.resume(row.id));
      } catch (err) {
        const e = StudioError.from(err);
        // Another process (a CLI call) is running it: leave it to that process.
        if (e.code === 'conflict') continue;
        this.deps.store.setDownloadState(row.id, 'failed', { code: e.code, message: e.message });
        this.deps.emit({ type: 'download-failed', id: row.id, error: e.toWire() });
      }
    }
    return handles;
  }

  /** Pauses every running download (parts kept; resumed by resumePending on the next start). */
  async close(): Promise<void> {
    const downloads = [...this.active.values()];
    for (const j of downloads) j.controller.abort(PAUSED);
    await Promise.all(downloads.map((j) => j.handle.done.catch(() => undefined)));
    // Marked as running again, so the next start resumes them.
    for (const j of downloads) if (this.deps.store.get(j.id)?.downloadState === 'paused') this.deps.store.setDownloadState(j.id, 'downloading');
  }

  /** Starts (or joins) the download of a target; `narrow` fetches part of the commit's plan (encoder-addition.ts). */
  async start(target: Target, wantT5: boolean, pinnedCommit: string | undefined, narrow?: PlanNarrowing): Promise<DownloadHandle> {
    const running = this.active.get(target.id);
    if (running) return running.handle;
    const pending = this.starting.get(target.id);
    if (pending) return pending;
    const p = this.prepare(target, wantT5, pinnedCommit, narrow).finally(() => this.starting.delete(target.id));
    this.starting.set(target.id, p);
    return p;
  }

  private async prepare(target: Target, wantT5: boolean, pinnedCommit: string | undefined, narrow?: PlanNarrowing): Promise<DownloadHandle> {
    const hub = this.deps.hub;
    const info = await hub.revision(target.repo, pinnedCommit ?? target.revision);
    const repo = info.repo;
    const page = hub.modelPageUrl(repo);
    const token = (await this.deps.token.current())?.token;
    if (info.gated && !token) throw authRequired(repo, page, hub.tokenSettingsUrl());
    const entries = await hub.tree(repo, info.commit);
    const full = planDownload(repo, entries, { t5: wantT5, pageUrl: page });
    // An incremental download (the VAE encoder of an installed model) fetches only part of the commit's plan.
    const plan = narrow ? narrow(full) : full;
    // A gated repo lists its files to anyone; access shows on the first file (401/403 GatedRepo).
    if (info.gated) await hub.head(repo, info.commit, plan.files[0]!.path);

    const id = target.id;
    const commit = info.commit;
    const existing = this.deps.store.get(id);
    const finalDir = this.deps.folders.installDir(repo, commit);
    const stagingDir = this.deps.folders.stagingDir(repo, commit);
    const known = new Map((existing ? this.deps.store.files(id, commit) : []).map((f) => [f.path, f]));
    const targets: DownloadTarget[] = [];
    for (const f of plan.files) {
      const row = known.get(f.path);
      const same = row && row.size === f.size && row.expectedSha256 === (f.expectedSha256 ?? null) && row.gitOid === (f.gitOid ?? null);
      if (same && row.state === 'installed' && existing?.installedCommit === commit && (await exists(safeJoin(finalDir, f.path)))) continue;
      targets.push({
        path: f.path,
        size: f.size,
        expectedSha256: f.expectedSha256 ?? null,
        gitOid: f.gitOid ?? null,
        bytesDone: same && row.state === 'pending' ? row.bytesDone : 0,
        etag: same && row.state === 'pending' ? row.etag : null,
        verified: !!same && row.state === 'verified',
        sha256: same ? row.sha256 : null,
      });
    }
    await this.deps.folders.root.check(finalDir, 'install into');
    await this.deps.folders.root.check(stagingDir, 'download into');
    await fs.promises.mkdir(this.deps.folders.modelsDir, { recursive: true });
    await preflightDiskSpace(this.deps.folders.modelsDir, targets, this.deps.freeSpace);
    // One downloader per staging folder, across processes (the app and a CLI call).
    await this.deps.folders.root.mkdir(stagingDir);
    const release = await acquireDownloadLock(this.deps.folders.root, stagingDir, id, this.deps.nativeBinding);
    // An unfinished download of another commit is superseded: its parts go.
    if (existing?.downloadCommit && existing.downloadCommit !== commit && existing.repo) {
      const old = this.deps.folders.storedStagingDir(existing.repo, existing.downloadCommit);
      if (old) await removeStaging(this.deps.folders.root, old);
    }

    this.deps.store.beginDownload(id, { repo, revision: target.revision, commit, t5: plan.t5 });
    const rows = this.deps.store.plan(id, commit, plan.files);
    const rowByPath = new Map(rows.map((r) => [r.path, r]));
    // Rows that were installed but whose file is gone are fetched again.
    for (const t of targets) {
      const r = rowByPath.get(t.path);
      if (r?.state === 'installed') this.deps.store.resetFile(id, commit, t.path);
    }
    const controller = new AbortController();
    const dl: ActiveDownload = { id, controller, handle: undefined as unknown as DownloadHandle };
    const done = this.run(dl, { repo, commit, plan, targets, stagingDir, finalDir, installedFiles: rows }).finally(release);
    done.catch(() => undefined);
    // What this download fetches (a resumed or incremental one: not the files already installed), as its progress counts it.
    const targetBytes = targets.reduce((s, t) => s + t.size, 0);
    dl.handle = { id, repo, commit, totalBytes: targetBytes, done };
    this.active.set(id, dl);
    this.deps.emit({ type: 'download-started', id, repo, commit, totalBytes: targetBytes, files: targets.map((f) => ({ path: f.path, size: f.size })) });
    this.deps.emit({ type: 'models-changed' });
    return dl.handle;
  }

  private async run(
    dl: ActiveDownload,
    o: {
      repo: string;
      commit: string;
      plan: ReturnType<typeof planDownload>;
      targets: DownloadTarget[];
      stagingDir: string;
      finalDir: string;
      installedFiles: FileRow[];
    },
  ): Promise<DownloadResult> {
    const { id } = dl;
    const d = this.deps.tuning ?? {};
    // Yield once so the handle is registered before the first event.
    await Promise.resolve();
    try {
      // The download runs in two calls (graphs first, then the rest): progress always spans the whole set,
      // so the bar never reaches 100% on the graphs and starts over.
      const allBytes = o.targets.reduce((sum, t) => sum + t.size, 0);
      const wholeSet = (before: number) => (e: DownloadEvent): DownloadEvent =>
        e.type === 'progress' ? { ...e, progress: bytesProgress(before + e.progress.done, allBytes, e.progress.rate ?? 0) } : e;
      const fetchFiles = (files: DownloadTarget[], before = 0) =>
        downloadFiles({
          hub: this.deps.hub,
          repo: o.repo,
          commit: o.commit,
          files,
          stagingDir: o.stagingDir,
          root: this.deps.folders.root,
          signal: dl.controller.signal,
          env: this.deps.env,
          state: {
            saveProgress: (p, bytes, etag) => this.deps.store.saveProgress(id, o.commit, p, bytes, etag),
            markVerified: (p, sha, size) => this.deps.store.markFileVerified(id, o.commit, p, sha, size),
            resetFile: (p) => this.deps.store.resetFile(id, o.commit, p),
          },
          onEvent: (e) => this.onDownloadEvent(dl, wholeSet(before)(e)),
          ...(d.concurrency ? { concurrency: d.concurrency } : {}),
          ...(d.stallTimeoutMs ? { stallTimeoutMs: d.stallTimeoutMs } : {}),
          ...(d.retry ? { retry: d.retry } : {}),
          ...(d.saveEveryBytes ? { saveEveryBytes: d.saveEveryBytes } : {}),
          ...(d.saveEveryMs ? { saveEveryMs: d.saveEveryMs } : {}),
          ...(d.progressIntervalMs ? { progressIntervalMs: d.progressIntervalMs } : {}),
        });
      // The graphs first (small): fetched, verified and checked against this machine's providers before
      // the large files start; a graph with an op no provider here has and no rewrite covers stops here.
      const verifiedGraphs: VerifiedFile[] = [];
      let rest = o.targets;
      if (this.deps.checkOps) {
        // Repo paths of the graphs: under the plan's model root (a subfolder in Stability's exports).
        const rooted = (f: string) => (o.plan.root ? `${o.plan.root}/${f}` : f);
        const isGraph = (p: string) => graphFiles(o.plan.layout, { t5: o.plan.t5 }).some((g) => rooted(g.file) === p);
        verifiedGraphs.push(...(await fetchFiles(o.targets.filter((t) => isGraph(t.path)))));
        rest = o.targets.filter((t) => !isGraph(t.path));
        const graphs: GraphFile[] = graphFiles(o.plan.layout, { t5: o.plan.t5 }).map((g) => {
          const repoPath = rooted(g.file);
          const staged = o.targets.some((t) => t.path === repoPath);
          return { component: g.component, file: repoPath, path: safeJoin(staged ? o.stagingDir : o.finalDir, repoPath) };
        });
        const verdict = await this.deps.checkOps(graphs);
        this.verdicts.set(id, verdict);
        this.deps.emit({ type: 'download-verdict', id, verdict });
        this.deps.emit({ type: 'models-changed' });
        if (verdict.verdict === 'blocked') {
          const first = verdict.blocked[0];
          throw new StudioError('unavailable', `${o.repo} ${verdict.text}. Nothing large was downloaded.`, {
            repo: o.repo,
            ...(first ? { op: first.op, file: first.file } : {}),
            provider: verdict.provider,
          });
        }
      }
      const graphBytes = verifiedGraphs.reduce((sum, f) => sum + f.size, 0);
      const verified = [...verifiedGraphs, ...(await fetchFiles(rest, graphBytes))];
      await installStaged(this.deps.folders.root, o.stagingDir, o.finalDir, o.targets);
      const before = this.deps.store.get(id);
      const sameCommitT5 = before?.installedCommit === o.commit && before.t5 === true;
      if (before?.installedCommit && before.installedCommit !== o.commit && before.path) {
        await this.deps.folders.removeInstalledFolder(this.deps.folders.installBase(before));
      }
      const shaByPath = new Map(this.deps.store.files(id, o.commit).map((f) => [f.path, f.sha256]));
      for (const v of verified) shaByPath.set(v.path, v.sha256);
      const files = o.plan.files.map((f) => ({ path: f.path, size: f.size, sha256: shaByPath.get(f.path) ?? '' }));
      this.deps.store.markInstalled(id, {
        commit: o.commit,
        // The model folder: the commit folder, or the subfolder the model lives in (plan.root).
        path: o.plan.root ? safeJoin(o.finalDir, o.plan.root) : o.finalDir,
        layout: o.plan.layout,
        t5: o.plan.t5 || sameCommitT5,
        sizeBytes: o.plan.totalBytes,
      });
      const result: DownloadResult = { model: id, repo: o.repo, commit: o.commit, path: o.finalDir, files };
      this.deps.emit({ type: 'download-completed', id, result });
      this.deps.emit({ type: 'models-changed' });
      return result;
    } catch (err) {
      const reason: unknown = dl.controller.signal.aborted ? dl.controller.signal.reason : undefined;
      if (reason === PAUSED) {
        this.deps.store.setDownloadState(id, 'paused');
        this.deps.emit({ type: 'download-paused', id });
        this.deps.emit({ type: 'models-changed' });
        throw new StudioError('interrupted', `The download of ${id} was paused; resume it to continue where it stopped.`);
      }
      if (reason === CANCELLED) {
        await removeStaging(this.deps.folders.root, o.stagingDir);
        this.deps.store.clearDownload(id);
        this.deps.emit({ type: 'download-cancelled', id });
        this.deps.emit({ type: 'models-changed' });
        throw new StudioError('cancelled', `The download of ${id} was cancelled and its partial files removed.`);
      }
      const e = StudioError.from(err);
      this.deps.store.setDownloadState(id, 'failed', { code: e.code, message: e.message });
      this.deps.emit({ type: 'download-failed', id, error: e.toWire() });
      this.deps.emit({ type: 'models-changed' });
      throw e;
    } finally {
      this.active.delete(id);
    }
  }

  private onDownloadEvent(dl: ActiveDownload, e: DownloadEvent): void {
    if (e.type === 'progress') {
      const event: DownloadProgressEvent = { type: 'download-progress', id: dl.id, progress: e.progress, files: e.files };
      dl.lastProgress = event;
      this.deps.emit(event);
    } else if (e.type === 'retry') {
      this.deps.emit({ type: 'download-retry', id: dl.id, path: e.path, attempt: e.attempt, delayMs: e.delayMs, reason: e.reason });
    } else {
      this.deps.emit({ type: 'file-verified', id: dl.id, path: e.path, size: e.size, sha256: e.sha256 });
    }
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.promises.access(p);
    return true;
  } catch {
    return false;
  }
}
