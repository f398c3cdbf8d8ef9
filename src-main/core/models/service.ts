// ModelService: what StudioCore holds for the models room. Lists the catalog and installed or
// imported models, downloads (resumable, verified, paused/resumed/cancelled, resumed after a
// restart), verifies, removes, imports local folders, and keeps the Hugging Face token.
// Events (progress and state changes) go to listeners as one typed union.
import fs from 'node:fs';
import path from 'node:path';
import { version as APP_VERSION } from '../../../package.json';
import {
  CATALOG,
  CATALOG_IDS,
  catalogVariantForRepo,
  isCatalogId,
  parseRepoRef,
  repoFolderName,
  type CatalogId,
} from '../../../src-shared/catalog';
import type { ModelLayout } from '../../../src-shared/generation';
import { StudioError } from '../../../src-shared/errors';
import type {
  DownloadResult,
  EncoderAdditionResult,
  ModelEntryView,
  PortabilityVerdict,
  ModelEventView,
  TokenStatus,
  VerifyResult,
} from '../../../src-shared/schemas/models';
import type { SecretStore } from '../adapters';
import type { Db } from '../db';
import { freeSpace as defaultFreeSpace, type FreeSpaceFn } from './disk';
import { bytesProgress, downloadFiles, preflightDiskSpace } from './download';
import { acquireDownloadLock } from './download-lock';
import type { DownloadEvent, DownloadTarget, VerifiedFile } from './download-types';
import { installedHint, installedIds, modelEntry } from './entries';
import { installStaged, removeStaging } from './install';
import { safeJoin } from './staging-paths';
import { HfToken } from './token';
import { verifyDownloaded, verifyImported } from './verify';
import { HubClient, authRequired } from './hub';
import { checkFolder, componentDir, folderHasVaeEncoder, graphFiles } from '../../model-folder/layouts';
import { EncoderAddition } from './encoder-addition';
import type { RetryPolicy } from './retry';
import { planDownload, type DownloadPlan } from './selection';
import { ModelsRoot, isStrictlyInside } from './models-root';
import { ModelStore, type FileRow, type ModelRow } from './store';
import { removeDerivedGraphs } from '../../model-folder/derived-graphs';
import { skipLayerSupport } from '../../model-folder/slg-switch';
import type { SkipLayerSupport } from '../../../src-shared/schemas/models';

/** The app's version from package.json (the build inlines it), never a copy. */
export const DEFAULT_USER_AGENT = `SD3.5-Studio/${APP_VERSION} (${process.platform}; node/${process.versions.node})`;

export interface ModelServiceOptions {
  db: Db;
  /** The models folder (a setting; default `<data>/models`). */
  modelsDir: string;
  secrets: SecretStore;
  env?: NodeJS.ProcessEnv;
  fetch?: typeof fetch;
  freeSpace?: FreeSpaceFn;
  userAgent?: string;
  /** The studio's folder of derived graphs (<data>/graphs): a removed model's are removed with it. */
  graphsDir?: string;
  /** The pre-download op check; without it the graphs are not checked before the download. */
  checkOps?: OpsChecker;
  /** better-sqlite3 .node for this runtime (the download lock is core/lock.ts's SQLite-held OS lock). */
  nativeBinding?: string;
  download?: {
    concurrency?: number;
    stallTimeoutMs?: number;
    retry?: RetryPolicy;
    saveEveryBytes?: number;
    saveEveryMs?: number;
    progressIntervalMs?: number;
    requestTimeoutMs?: number;
  };
}

// The entry, result, token and event shapes are the contract's (src-shared/schemas/models.ts): one source.
export type ModelEntry = ModelEntryView;
export type { DownloadResult, TokenStatus, VerifyResult };

export interface DownloadHandle {
  id: string;
  repo: string;
  commit: string;
  totalBytes: number;
  /** Settles when the download ends: the result, or a StudioError (interrupted when paused, cancelled, …). */
  done: Promise<DownloadResult>;
}

export type ModelEvent = ModelEventView;
export type DownloadProgressEvent = Extract<ModelEvent, { type: 'download-progress' }>;

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

export type ModelListener = (event: ModelEvent) => void;

interface ActiveDownload {
  id: string;
  controller: AbortController;
  handle: DownloadHandle;
  lastProgress?: DownloadProgressEvent;
}

interface Target {
  id: string;
  repo: string;
  revision: string;
  catalogId?: CatalogId;
}

/** Narrows a commit's download plan to part of it (encoder-addition.ts). */
type PlanNarrowing = (plan: DownloadPlan) => DownloadPlan;

const PAUSED = 'paused';
const CANCELLED = 'cancelled';

export class ModelService {
  readonly modelsDir: string;
  /** Every mkdir, rename and rm under the models folder goes through it. */
  private readonly root: ModelsRoot;
  private readonly store: ModelStore;
  private readonly env: NodeJS.ProcessEnv;
  private readonly listeners = new Set<ModelListener>();
  private readonly active = new Map<string, ActiveDownload>();
  private readonly verdicts = new Map<string, PortabilityVerdict>();
  /** Skip-Layer Guidance support per installed folder, kept while its transformer graph file stays the same. */
  private readonly skipLayerCache = new Map<string, { stamp: string; value: SkipLayerSupport }>();
  private readonly starting = new Map<string, Promise<DownloadHandle>>();
  private readonly freeSpace: FreeSpaceFn;
  private readonly hub: HubClient;
  private readonly token: HfToken;
  /** "Add image-to-image support": the VAE encoder's files of the installed commit (encoder-addition.ts). */
  private readonly encoders: EncoderAddition;

  constructor(private readonly opts: ModelServiceOptions) {
    this.modelsDir = path.resolve(opts.modelsDir);
    this.root = new ModelsRoot(this.modelsDir);
    this.store = new ModelStore(opts.db);
    this.env = opts.env ?? process.env;
    this.freeSpace = opts.freeSpace ?? defaultFreeSpace;
    this.token = new HfToken(opts.secrets, this.env, () => this.hub);
    this.hub = new HubClient({
      endpoint: this.env.HF_ENDPOINT || undefined,
      token: () => this.token.current().then((t) => t?.token),
      userAgent: opts.userAgent ?? DEFAULT_USER_AGENT,
      ...(opts.fetch ? { fetch: opts.fetch } : {}),
      ...(opts.download?.retry ? { retry: opts.download.retry } : {}),
      ...(opts.download?.requestTimeoutMs ? { requestTimeoutMs: opts.download.requestTimeoutMs } : {}),
    });
    this.encoders = new EncoderAddition({
      hub: this.hub,
      files: (id, commit) => this.store.files(id, commit),
      installBase: (row) => this.installBase(row),
      hasEncoder: folderHasVaeEncoder,
      start: (t, narrow) => this.start({ id: t.id, repo: t.repo, revision: t.revision, ...(isCatalogId(t.id) ? { catalogId: t.id } : {}) }, t.t5, t.commit, narrow),
    });
  }

  /** Subscribes to every model event; returns the unsubscribe function. */
  on(listener: ModelListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(event: ModelEvent): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch {
        /* a listener's failure is not the download's */
      }
    }
  }

  // ---- listing ------------------------------------------------------------------------------

  async list(): Promise<ModelEntry[]> {
    const rows = this.store.all();
    const byId = new Map(rows.map((r) => [r.id, r]));
    const out: ModelEntry[] = [];
    for (const id of CATALOG_IDS) out.push(await this.entry(id, byId.get(id)));
    for (const r of rows) if (!isCatalogId(r.id)) out.push(await this.entry(r.id, r));
    return out;
  }

  /** One model by id (catalog id, owner/name, folder:…); not_found when unknown. */
  async get(id: string): Promise<ModelEntry> {
    const key = this.canonicalId(id);
    const row = this.store.find(key);
    if (!row && !isCatalogId(key)) throw this.unknownModel(id);
    return this.entry(row?.id ?? key, row);
  }

  /** The installed folder of a model, for the inference side. */
  async resolveInstalled(id: string): Promise<{ id: string; path: string; layout: ModelLayout | null; t5: boolean; commit?: string; repo?: string }> {
    const key = this.canonicalId(id);
    const row = this.store.find(key);
    if (!row?.path || (!row.installedCommit && row.source === 'hub')) {
      throw new StudioError(
        'not_found',
        isCatalogId(key) || row
          ? `${id} is not installed yet: download it in the Models view or with \`sd35-studio models download ${id}\`.`
          : `No model "${id}": use a catalog id (${CATALOG_IDS.join(', ')}), an owner/name you downloaded, or import a folder.${this.installedHint(id)}`,
        { model: id, installed: this.installedIds() },
      );
    }
    return {
      id: row.id,
      path: row.path,
      layout: row.layout,
      t5: row.t5 ?? false,
      ...(row.installedCommit ? { commit: row.installedCommit } : {}),
      ...(row.repo ? { repo: row.repo } : {}),
    };
  }

  private entry(id: string, row: ModelRow | undefined): Promise<ModelEntry> {
    return modelEntry(
      {
        store: this.store,
        liveProgress: (key) => this.active.get(key)?.lastProgress,
        stagingDir: (repo, commit) => this.storedStagingDir(repo, commit),
        verdict: (key) => this.verdicts.get(key),
        skipLayers: (folder, layout) => this.skipLayers(folder, layout),
      },
      id,
      row,
    );
  }

  /** Whether SLG can run on an installed folder (slg-switch.ts reads its transformer graph once per file version). */
  private skipLayers(folder: string, layout: ModelLayout): SkipLayerSupport {
    let stamp = 'unreadable';
    try {
      const st = fs.statSync(path.join(folder, componentDir(layout, 'transformer'), 'model.onnx'));
      stamp = `${layout}|${st.size}|${st.mtimeMs}`;
    } catch {
      // Unreadable: skipLayerSupport says why.
    }
    const known = this.skipLayerCache.get(folder);
    if (known?.stamp === stamp) return known.value;
    const value = skipLayerSupport(folder, layout);
    this.skipLayerCache.set(folder, { stamp, value });
    return value;
  }

  // ---- downloads ----------------------------------------------------------------------------

  /**
   * Starts downloading a catalog id or `owner/name[@rev]`. Resolves once the commit is pinned, access
   * checked and the disk space preflight passed (errors before any byte reject here); the handle's
   * `done` settles when the download ends. A download already running for the model is returned.
   */
  async download(ref: string, options: { t5?: boolean } = {}): Promise<DownloadHandle> {
    const target = this.parseRef(ref);
    // A paused, failed or interrupted download of the same revision continues at its pinned commit
    // (the branch may have moved since; its parts belong to that commit).
    const row = this.store.get(target.id);
    const pinned = row?.downloadState && row.downloadCommit && row.revision === target.revision ? row.downloadCommit : undefined;
    return this.start(target, options.t5 ?? true, pinned);
  }

  /** Resumes a paused, failed or interrupted download at its pinned commit. */
  async resume(id: string): Promise<DownloadHandle> {
    const row = this.requireRow(id);
    const running = this.active.get(row.id);
    if (running) return running.handle;
    if (!row.downloadState || !row.downloadCommit || !row.repo) {
      throw new StudioError('invalid_input', `${id} has no download to resume.`);
    }
    return this.start(
      { id: row.id, repo: row.repo, revision: row.revision ?? row.downloadCommit, ...(isCatalogId(row.id) ? { catalogId: row.id } : {}) },
      row.downloadT5 ?? true,
      row.downloadCommit,
      this.encoders.resumeNarrowing(row),
    );
  }

  /**
   * "Add image-to-image support" to an installed model: only its VAE encoder, from the installed commit, through
   * the same verified download (dryRun: the files and size from the tree). encoder-addition.ts has the rules.
   */
  addEncoder(id: string, options: { dryRun?: boolean } = {}): Promise<EncoderAdditionResult> {
    return this.encoders.run(id, this.store.find(this.canonicalId(id)), options);
  }

  /** The running download of a model, if any (its `done` settles when it ends). */
  running(id: string): DownloadHandle | undefined {
    return this.active.get(this.canonicalId(id))?.handle;
  }

  /** Pauses a running download (parts kept). */
  async pause(id: string): Promise<void> {
    const key = this.canonicalId(id);
    const dl = this.active.get(key) ?? [...this.active.values()].find((j) => j.id.toLowerCase() === key.toLowerCase());
    if (dl) {
      dl.controller.abort(PAUSED);
      await dl.handle.done.catch(() => undefined);
      return;
    }
    const row = this.requireRow(id);
    if (row.downloadState === 'downloading') {
      this.store.setDownloadState(row.id, 'paused');
      this.emit({ type: 'download-paused', id: row.id });
    }
  }

  /** Cancels a download: stops it and removes its parts. An installed version stays. */
  async cancel(id: string): Promise<void> {
    const key = this.canonicalId(id);
    const dl = this.active.get(key) ?? [...this.active.values()].find((j) => j.id.toLowerCase() === key.toLowerCase());
    if (dl) {
      dl.controller.abort(CANCELLED);
      await dl.handle.done.catch(() => undefined);
      return;
    }
    const row = this.requireRow(id);
    if (!row.downloadCommit || !row.repo) return;
    const staging = this.storedStagingDir(row.repo, row.downloadCommit);
    if (staging) await removeStaging(this.root, staging);
    this.store.clearDownload(row.id);
    this.emit({ type: 'download-cancelled', id: row.id });
    this.emit({ type: 'models-changed' });
  }

  /** On start: resumes the downloads that were running when the app stopped. Failures become events. */
  async resumePending(): Promise<DownloadHandle[]> {
    const handles: DownloadHandle[] = [];
    for (const row of this.store.interrupted()) {
      try {
        handles.push(await this.resume(row.id));
      } catch (err) {
        const e = StudioError.from(err);
        // Another process (a CLI call) is running it: leave it to that process.
        if (e.code === 'conflict') continue;
        this.store.setDownloadState(row.id, 'failed', { code: e.code, message: e.message });
        this.emit({ type: 'download-failed', id: row.id, error: e.toWire() });
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
    for (const j of downloads) if (this.store.get(j.id)?.downloadState === 'paused') this.store.setDownloadState(j.id, 'downloading');
  }

  private async start(target: Target, wantT5: boolean, pinnedCommit: string | undefined, narrow?: PlanNarrowing): Promise<DownloadHandle> {
    const running = this.active.get(target.id);
    if (running) return running.handle;
    const pending = this.starting.get(target.id);
    if (pending) return pending;
    const p = this.prepare(target, wantT5, pinnedCommit, narrow).finally(() => this.starting.delete(target.id));
    this.starting.set(target.id, p);
    return p;
  }

  private async prepare(target: Target, wantT5: boolean, pinnedCommit: string | undefined, narrow?: PlanNarrowing): Promise<DownloadHandle> {
    const hub = this.hub;
    const info = await hub.revision(target.repo, pinnedCommit ?? target.revision);
    const repo = info.repo;
    const page = hub.modelPageUrl(repo);
    const token = (await this.token.current())?.token;
    if (info.gated && !token) throw authRequired(repo, page, hub.tokenSettingsUrl());
    const entries = await hub.tree(repo, info.commit);
    const full = planDownload(repo, entries, { t5: wantT5, pageUrl: page });
    // An incremental download (the VAE encoder of an installed model) fetches only part of the commit's plan.
    const plan = narrow ? narrow(full) : full;
    // A gated repo lists its files to anyone; access shows on the first file (401/403 GatedRepo).
    if (info.gated) await hub.head(repo, info.commit, plan.files[0]!.path);

    const id = target.id;
    const commit = info.commit;
    const existing = this.store.get(id);
    const finalDir = this.installDir(repo, commit);
    const stagingDir = this.stagingDir(repo, commit);
    const known = new Map((existing ? this.store.files(id, commit) : []).map((f) => [f.path, f]));
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
    await this.root.check(finalDir, 'install into');
    await this.root.check(stagingDir, 'download into');
    await fs.promises.mkdir(this.modelsDir, { recursive: true });
    await preflightDiskSpace(this.modelsDir, targets, this.freeSpace);
    // One downloader per staging folder, across processes (the app and a CLI call).
    await this.root.mkdir(stagingDir);
    const release = await acquireDownloadLock(this.root, stagingDir, id, this.opts.nativeBinding);
    // An unfinished download of another commit is superseded: its parts go.
    if (existing?.downloadCommit && existing.downloadCommit !== commit && existing.repo) {
      const old = this.storedStagingDir(existing.repo, existing.downloadCommit);
      if (old) await removeStaging(this.root, old);
    }

    this.store.beginDownload(id, { repo, revision: target.revision, commit, t5: plan.t5 });
    const rows = this.store.plan(id, commit, plan.files);
    const rowByPath = new Map(rows.map((r) => [r.path, r]));
    // Rows that were installed but whose file is gone are fetched again.
    for (const t of targets) {
      const r = rowByPath.get(t.path);
      if (r?.state === 'installed') this.store.resetFile(id, commit, t.path);
    }
    const controller = new AbortController();
    const dl: ActiveDownload = { id, controller, handle: undefined as unknown as DownloadHandle };
    const done = this.run(dl, { repo, commit, plan, targets, stagingDir, finalDir, installedFiles: rows }).finally(release);
    done.catch(() => undefined);
    // What this download fetches (a resumed or incremental one: not the files already installed), as its progress counts it.
    const targetBytes = targets.reduce((s, t) => s + t.size, 0);
    dl.handle = { id, repo, commit, totalBytes: targetBytes, done };
    this.active.set(id, dl);
    this.emit({ type: 'download-started', id, repo, commit, totalBytes: targetBytes, files: targets.map((f) => ({ path: f.path, size: f.size })) });
    this.emit({ type: 'models-changed' });
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
    const d = this.opts.download ?? {};
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
          hub: this.hub,
          repo: o.repo,
          commit: o.commit,
          files,
          stagingDir: o.stagingDir,
          root: this.root,
          signal: dl.controller.signal,
          env: this.env,
          state: {
            saveProgress: (p, bytes, etag) => this.store.saveProgress(id, o.commit, p, bytes, etag),
            markVerified: (p, sha, size) => this.store.markFileVerified(id, o.commit, p, sha, size),
            resetFile: (p) => this.store.resetFile(id, o.commit, p),
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
      if (this.opts.checkOps) {
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
        const verdict = await this.opts.checkOps(graphs);
        this.verdicts.set(id, verdict);
        this.emit({ type: 'download-verdict', id, verdict });
        this.emit({ type: 'models-changed' });
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
      await installStaged(this.root, o.stagingDir, o.finalDir, o.targets);
      const before = this.store.get(id);
      const sameCommitT5 = before?.installedCommit === o.commit && before.t5 === true;
      if (before?.installedCommit && before.installedCommit !== o.commit && before.path) {
        await this.removeInstalledFolder(this.installBase(before));
      }
      const shaByPath = new Map(this.store.files(id, o.commit).map((f) => [f.path, f.sha256]));
      for (const v of verified) shaByPath.set(v.path, v.sha256);
      const files = o.plan.files.map((f) => ({ path: f.path, size: f.size, sha256: shaByPath.get(f.path) ?? '' }));
      this.store.markInstalled(id, {
        commit: o.commit,
        // The model folder: the commit folder, or the subfolder the model lives in (plan.root).
        path: o.plan.root ? safeJoin(o.finalDir, o.plan.root) : o.finalDir,
        layout: o.plan.layout,
        t5: o.plan.t5 || sameCommitT5,
        sizeBytes: o.plan.totalBytes,
      });
      const result: DownloadResult = { model: id, repo: o.repo, commit: o.commit, path: o.finalDir, files };
      this.emit({ type: 'download-completed', id, result });
      this.emit({ type: 'models-changed' });
      return result;
    } catch (err) {
      const reason: unknown = dl.controller.signal.aborted ? dl.controller.signal.reason : undefined;
      if (reason === PAUSED) {
        this.store.setDownloadState(id, 'paused');
        this.emit({ type: 'download-paused', id });
        this.emit({ type: 'models-changed' });
        throw new StudioError('interrupted', `The download of ${id} was paused; resume it to continue where it stopped.`);
      }
      if (reason === CANCELLED) {
        await removeStaging(this.root, o.stagingDir);
        this.store.clearDownload(id);
        this.emit({ type: 'download-cancelled', id });
        this.emit({ type: 'models-changed' });
        throw new StudioError('cancelled', `The download of ${id} was cancelled and its partial files removed.`);
      }
      const e = StudioError.from(err);
      this.store.setDownloadState(id, 'failed', { code: e.code, message: e.message });
      this.emit({ type: 'download-failed', id, error: e.toWire() });
      this.emit({ type: 'models-changed' });
      throw e;
    } finally {
      this.active.delete(id);
    }
  }

  private onDownloadEvent(dl: ActiveDownload, e: DownloadEvent): void {
    if (e.type === 'progress') {
      const event: DownloadProgressEvent = { type: 'download-progress', id: dl.id, progress: e.progress, files: e.files };
      dl.lastProgress = event;
      this.emit(event);
    } else if (e.type === 'retry') {
      this.emit({ type: 'download-retry', id: dl.id, path: e.path, attempt: e.attempt, delayMs: e.delayMs, reason: e.reason });
    } else {
      this.emit({ type: 'file-verified', id: dl.id, path: e.path, size: e.size, sha256: e.sha256 });
    }
  }

  // ---- verify, remove, import ---------------------------------------------------------------

  /** Re-hashes every installed file against Hugging Face's hashes (imported folders: structure check). */
  async verify(id: string): Promise<VerifyResult> {
    const row = this.requireRow(id);
    if (!row.path || (row.source === 'hub' && !row.installedCommit)) throw new StudioError('invalid_input', `${id} is not installed, so there is nothing to verify.`);
    // A download's files are repo paths, relative to its commit folder (the model may sit in a subfolder of it).
    const installed = { ...row, path: row.source === 'import' ? row.path : this.installBase(row) };
    const result =
      row.source === 'import'
        ? await verifyImported(installed)
        : await verifyDownloaded(
            installed,
            this.store.files(row.id, row.installedCommit!).filter((f) => f.state === 'installed'),
            (e) => this.emit(e),
          );
    this.store.setVerified(row.id, result.ok ? Date.now() : null);
    if (row.source !== 'import') this.emit({ type: 'models-changed' });
    return result;
  }

  /** Removes a model: deletes downloaded files (never an imported folder's files) and forgets it. */
  async remove(id: string): Promise<void> {
    const row = this.requireRow(id);
    if (this.active.has(row.id)) await this.cancel(row.id);
    const current = this.store.get(row.id);
    if (!current) return;
    if (current.path && this.opts.graphsDir) removeDerivedGraphs(this.opts.graphsDir, current.path);
    if (current.source === 'hub') {
      if (current.path) await this.removeInstalledFolder(this.installBase(current));
      const staging = current.downloadCommit && current.repo ? this.storedStagingDir(current.repo, current.downloadCommit) : undefined;
      if (staging) await removeStaging(this.root, staging);
    }
    this.store.delete(current.id);
    this.emit({ type: 'models-changed' });
  }

  /** Registers a local folder in either layout without copying it. */
  async import(folder: string): Promise<ModelEntry> {
    const abs = await fs.promises.realpath(path.resolve(folder)).catch(() => path.resolve(folder));
    const check = await checkFolder(abs);
    if (!check.ok || !check.layout) {
      throw new StudioError('invalid_input', `${abs} cannot be used as a model: ${check.problems.join('; ')}.`, { problems: check.problems });
    }
    const same = this.store.all().find((r) => r.source === 'import' && r.path === abs);
    if (same) return this.entry(same.id, same);
    const base = `folder:${path.basename(abs) || 'model'}`;
    let id = base;
    for (let n = 2; this.store.find(id); n++) id = `${base}-${n}`;
    this.store.insertImport({ id, path: abs, layout: check.layout, t5: check.t5, sizeBytes: check.sizeBytes });
    this.emit({ type: 'models-changed' });
    return this.entry(id, this.store.get(id));
  }

  // ---- token --------------------------------------------------------------------------------

  /** Stores the token in the secret store, then checks it. The token is never echoed. */
  setToken(token: string): Promise<TokenStatus> {
    return this.token.set(token);
  }

  /** Forgets the studio's own stored token (a shared token file only when `sharedFile` asks for it). */
  clearToken(options: { sharedFile?: boolean } = {}): Promise<TokenStatus> {
    return this.token.clear(options);
  }

  /** Which token is in use and whether Hugging Face accepts it. */
  tokenStatus(): Promise<TokenStatus> {
    return this.token.status();
  }

  // ---- helpers ------------------------------------------------------------------------------

  private parseRef(ref: string): Target {
    const text = ref.trim();
    if (isCatalogId(text)) return { id: text, repo: CATALOG[text].repo, revision: 'main', catalogId: text };
    const parsed = parseRepoRef(text);
    const variant = catalogVariantForRepo(parsed.repo);
    if (variant) return { id: variant.id, repo: variant.repo, revision: parsed.revision, catalogId: variant.id };
    const row = this.store.find(parsed.repo);
    return { id: row?.id ?? parsed.repo, repo: parsed.repo, revision: parsed.revision };
  }

  /** A user's id → the stored id: catalog ids, catalog repos, owner/name, folder:…. */
  private canonicalId(id: string): string {
    const text = id.trim();
    if (isCatalogId(text)) return text;
    const variant = catalogVariantForRepo(text.split('@')[0]!);
    if (variant) return variant.id;
    return this.store.find(text)?.id ?? text;
  }

  private requireRow(id: string): ModelRow {
    const row = this.store.find(this.canonicalId(id));
    if (!row) throw this.unknownModel(id);
    return row;
  }

  private unknownModel(id: string): StudioError {
    return new StudioError(
      'not_found',
      isCatalogId(id.trim())
        ? `${id} is not installed or downloading.`
        : `No model "${id}" here: use a catalog id (${CATALOG_IDS.join(', ')}), an owner/name you downloaded, or a folder:… id from the list.${this.installedHint(id)}`,
      { model: id, installed: this.installedIds() },
    );
  }

  private installedIds(): string[] {
    return installedIds(this.store.all());
  }

  private installedHint(id: string): string {
    return installedHint(id, this.installedIds());
  }

  /**
   * "Model hash" of image metadata: the first 10 hex of the transformer's external-data sha256, as
   * Hugging Face published and the download verified it (undefined for imported folders).
   */
  modelHash(id: string, commit: string | undefined): string | undefined {
    if (!commit) return undefined;
    const row = this.opts.db
      .prepare(
        `SELECT coalesce(sha256, expected_sha256) AS sha FROM downloads
          WHERE model_id = ? AND commit_sha = ?
            AND (path IN ('unet/model.onnx.data', 'transformer/model.onnx_data')
                 OR path LIKE '%/unet/model.onnx.data' OR path LIKE '%/transformer/model.onnx_data')
          ORDER BY length(path), path LIMIT 1`,
      )
      .get(this.canonicalId(id), commit) as { sha: string | null } | undefined;
    return row?.sha && /^[0-9a-f]{64}$/i.test(row.sha) ? row.sha.slice(0, 10).toLowerCase() : undefined;
  }

  /**
   * The folder a downloaded model's repo paths are relative to: its commit folder (the model folder itself may
   * be a subfolder of it, see DownloadPlan.root); an imported folder's own path.
   */
  private installBase(row: Pick<ModelRow, 'source' | 'repo' | 'installedCommit' | 'path'>): string {
    if (row.source === 'hub' && row.repo && row.installedCommit && /^[0-9a-f]{40}$/.test(row.installedCommit)) {
      const base = this.installDir(row.repo, row.installedCommit);
      if (row.path && (path.resolve(row.path) === base || isStrictlyInside(base, path.resolve(row.path)))) return base;
    }
    return row.path!;
  }

  installDir(repo: string, commit: string): string {
    return path.join(this.modelsDir, repoFolderName(repo), commit);
  }

  stagingDir(repo: string, commit: string): string {
    return path.join(this.modelsDir, '.staging', repoFolderName(repo), commit);
  }

  /** The staging folder of a stored row; undefined when the row's repo or commit is not valid (a row from before the checks). */
  private storedStagingDir(repo: string, commit: string): string | undefined {
    if (!/^[0-9a-f]{40}$/.test(commit)) return undefined;
    try {
      return this.stagingDir(repo, commit);
    } catch {
      return undefined;
    }
  }

  private async removeInstalledFolder(folder: string): Promise<void> {
    // Only ever delete inside the models folder (a path outside it is left alone).
    if (!isStrictlyInside(this.modelsDir, path.resolve(folder))) return;
    await this.root.rm(folder);
    const parent = path.dirname(folder);
    if (path.dirname(parent) === this.modelsDir) await this.root.removeEmptyParents(parent, 1);
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
