// ModelService: what StudioCore holds for the models room, a thin facade over one-job modules in this folder:
// listing.ts (the list, one model, the installed folder, the model hash), download-lifecycle.ts (download,
// resume, pause, cancel, resume after a restart), encoder-addition.ts ("Add image-to-image support"),
// maintenance.ts (verify, remove, import), token.ts (the Hugging Face token); model-lookup.ts names models,
// model-folders.ts places their files. Events (progress and state changes) go to listeners as one typed union.
import path from 'node:path';
import { version as APP_VERSION } from '../../../package.json';
import { isCatalogId } from '../../../src-shared/catalog';
import type { ModelLayout } from '../../../src-shared/generation';
import type { DownloadResult, EncoderAdditionResult, ModelEntryView, ModelEventView, TokenStatus, VerifyResult } from '../../../src-shared/schemas/models';
import type { SecretStore } from '../adapters';
import type { Db } from '../db';
import { freeSpace as defaultFreeSpace, type FreeSpaceFn } from './disk';
import { DownloadLifecycle, type DownloadHandle, type DownloadTuning, type OpsChecker } from './download-lifecycle';
import { EncoderAddition } from './encoder-addition';
import { HubClient } from './hub';
import { ModelListing } from './listing';
import { ModelMaintenance } from './maintenance';
import { ModelFolders } from './model-folders';
import { ModelLookup } from './model-lookup';
import { ModelStore } from './store';
import { HfToken } from './token';
import { folderHasVaeEncoder } from '../../model-folder/layouts';

export type { DownloadHandle, DownloadProgressEvent, GraphFile, OpsChecker } from './download-lifecycle';

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
  download?: DownloadTuning;
}

// The entry, result, token and event shapes are the contract's (src-shared/schemas/models.ts): one source.
export type ModelEntry = ModelEntryView;
export type { DownloadResult, TokenStatus, VerifyResult };

export type ModelEvent = ModelEventView;

export type ModelListener = (event: ModelEvent) => void;

export class ModelService {
  readonly modelsDir: string;
  private readonly folders: ModelFolders;
  private readonly store: ModelStore;
  private readonly lookup: ModelLookup;
  private readonly listeners = new Set<ModelListener>();
  private readonly hub: HubClient;
  private readonly token: HfToken;
  private readonly listing: ModelListing;
  private readonly downloads: DownloadLifecycle;
  /** "Add image-to-image support": the VAE encoder's files of the installed commit (encoder-addition.ts). */
  private readonly encoders: EncoderAddition;
  private readonly maintenance: ModelMaintenance;

  constructor(opts: ModelServiceOptions) {
    this.modelsDir = path.resolve(opts.modelsDir);
    this.folders = new ModelFolders(this.modelsDir);
    this.store = new ModelStore(opts.db);
    this.lookup = new ModelLookup(this.store);
    const env = opts.env ?? process.env;
    this.token = new HfToken(opts.secrets, env, () => this.hub);
    this.hub = new HubClient({
      endpoint: env.HF_ENDPOINT || undefined,
      token: () => this.token.current().then((t) => t?.token),
      userAgent: opts.userAgent ?? DEFAULT_USER_AGENT,
      ...(opts.fetch ? { fetch: opts.fetch } : {}),
      ...(opts.download?.retry ? { retry: opts.download.retry } : {}),
      ...(opts.download?.requestTimeoutMs ? { requestTimeoutMs: opts.download.requestTimeoutMs } : {}),
    });
    const emit = (event: ModelEvent): void => this.emit(event);
    this.downloads = new DownloadLifecycle({
      store: this.store,
      lookup: this.lookup,
      folders: this.folders,
      hub: this.hub,
      token: this.token,
      env,
      freeSpace: opts.freeSpace ?? defaultFreeSpace,
      emit,
      resumeNarrowing: (row) => this.encoders.resumeNarrowing(row),
      ...(opts.checkOps ? { checkOps: opts.checkOps } : {}),
      ...(opts.nativeBinding ? { nativeBinding: opts.nativeBinding } : {}),
      ...(opts.download ? { tuning: opts.download } : {}),
    });
    this.listing = new ModelListing({
      db: opts.db,
      store: this.store,
      lookup: this.lookup,
      folders: this.folders,
      liveProgress: (id) => this.downloads.liveProgress(id),
      verdict: (id) => this.downloads.verdict(id),
    });
    this.encoders = new EncoderAddition({
      hub: this.hub,
      files: (id, commit) => this.store.files(id, commit),
      installBase: (row) => this.folders.installBase(row),
      hasEncoder: folderHasVaeEncoder,
      start: (t, narrow) =>
        this.downloads.start({ id: t.id, repo: t.repo, revision: t.revision, ...(isCatalogId(t.id) ? { catalogId: t.id } : {}) }, t.t5, t.commit, narrow),
    });
    this.maintenance = new ModelMaintenance({
      store: this.store,
      lookup: this.lookup,
      folders: this.folders,
      listing: this.listing,
      downloads: this.downloads,
      emit,
      ...(opts.graphsDir ? { graphsDir: opts.graphsDir } : {}),
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

  // ---- listing (listing.ts) -----------------------------------------------------------------

  list(): Promise<ModelEntry[]> {
    return this.listing.list();
  }

  /** One model by id (catalog id, owner/name, folder:…); not_found when unknown. */
  get(id: string): Promise<ModelEntry> {
    return this.listing.get(id);
  }

  /** The installed folder of a model, for the inference side. */
  resolveInstalled(id: string): Promise<{ id: string; path: string; layout: ModelLayout | null; t5: boolean; commit?: string; repo?: string }> {
    return this.listing.resolveInstalled(id);
  }

  /**
   * "Model hash" of image metadata: the first 10 hex of the transformer's external-data sha256, as
   * Hugging Face published and the download verified it (undefined for imported folders).
   */
  modelHash(id: string, commit: string | undefined): string | undefined {
    return this.listing.modelHash(id, commit);
  }

  // ---- downloads (download-lifecycle.ts, encoder-addition.ts) -------------------------------

  /**
   * Starts downloading a catalog id or `owner/name[@rev]`. Resolves once the commit is pinned, access
   * checked and the disk space preflight passed (errors before any byte reject here); the handle's
   * `done` settles when the download ends. A download already running for the model is returned.
   */
  download(ref: string, options: { t5?: boolean } = {}): Promise<DownloadHandle> {
    return this.downloads.download(ref, options);
  }

  /** Resumes a paused, failed or interrupted download at its pinned commit. */
  resume(id: string): Promise<DownloadHandle> {
    return this.downloads.resume(id);
  }

  /**
   * "Add image-to-image support" to an installed model: only its VAE encoder, from the installed commit, through
   * the same verified download (dryRun: the files and size from the tree). encoder-addition.ts has the rules.
   */
  addEncoder(id: string, options: { dryRun?: boolean } = {}): Promise<EncoderAdditionResult> {
    return this.encoders.run(id, this.store.find(this.lookup.canonicalId(id)), options);
  }

  /** The running download of a model, if any (its `done` settles when it ends). */
  running(id: string): DownloadHandle | undefined {
    return this.downloads.running(id);
  }

  /** Pauses a running download (parts kept). */
  pause(id: string): Promise<void> {
    return this.downloads.pause(id);
  }

  /** Cancels a download: stops it and removes its parts. An installed version stays. */
  cancel(id: string): Promise<void> {
    return this.downloads.cancel(id);
  }

  /** On start: resumes the downloads that were running when the app stopped. Failures become events. */
  resumePending(): Promise<DownloadHandle[]> {
    return this.downloads.resumePending();
  }

  /** Pauses every running download (parts kept; resumed by resumePending on the next start). */
  close(): Promise<void> {
    return this.downloads.close();
  }

  // ---- verify, remove, import (maintenance.ts) ----------------------------------------------

  /** Re-hashes every installed file against Hugging Face's hashes (imported folders: structure check). */
  verify(id: string): Promise<VerifyResult> {
    return this.maintenance.verify(id);
  }

  /** Removes a model: deletes downloaded files (never an imported folder's files) and forgets it. */
  remove(id: string): Promise<void> {
    return this.maintenance.remove(id);
  }

  /** Registers a local folder in either layout without copying it. */
  import(folder: string): Promise<ModelEntry> {
    return this.maintenance.import(folder);
  }

  // ---- token (token.ts) ---------------------------------------------------------------------

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

  // ---- folders (model-folders.ts) -----------------------------------------------------------

  installDir(repo: string, commit: string): string {
    return this.folders.installDir(repo, commit);
  }

  stagingDir(repo: string, commit: string): string {
    return this.folders.stagingDir(repo, commit);
  }
}
