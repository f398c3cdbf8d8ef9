// The models room: the catalog and installed models (models.list), live downloads from
// `models.event` (updated in place — progress arrives up to 10 times a second and never re-fetches
// the list), pause/resume/cancel, verify, remove, import, and the Hugging Face token. A Pinia setup store.
import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import type { PayloadOf, ResultOf } from '../../src-shared/api';
import { StudioError, type StudioErrorCode } from '../../src-shared/errors';
import { progress, type Progress } from '../../src-shared/progress';
import type { FileProgress } from '../../src-shared/schemas/models';
import { studio } from '../studio';
import { attempt } from './attempt';

export type ModelsList = ResultOf<'models.list'>;
export type ModelEntry = ModelsList['models'][number];
export type ModelEvent = PayloadOf<'models.event'>;
export type TokenStatus = ResultOf<'models.tokenStatus'>;
export type VerifyResult = ResultOf<'models.verify'>;
export type { FileProgress };

/** What the view shows of a running download, from the events: THE progress shape over every file, and each file's. */
export interface LiveDownload {
  progress: Extract<Progress, { task: 'download' }>;
  files: FileProgress[];
  /** The last retry, shown until the next progress of that file. */
  retry?: { path: string; attempt: number; delayMs: number; reason: string };
}

/** An error shown in place, with what the view needs to say what to do next. */
export interface ModelError {
  code: StudioErrorCode;
  message: string;
  /** The model page (licence, access) when the backend named it. */
  url?: string;
  /** The token settings page, when the backend named it. */
  tokensUrl?: string;
  repo?: string;
  shortfallBytes?: number;
}

/** A running verification: THE progress shape (task verify; label: the file being hashed). */
export type VerifyProgress = Extract<Progress, { task: 'verify' }>;

export type BusyAction = 'download' | 'add-encoder' | 'pause' | 'resume' | 'cancel' | 'verify' | 'remove';
export type EncoderAddition = ResultOf<'models.addEncoder'>;

/** "Add image-to-image support" on a card: its files and size from the repo tree (a dry run), or why it cannot be added. */
export type EncoderOffer = { loading: true } | { plan: EncoderAddition } | { error: ModelError };

export function toModelError(err: unknown): ModelError {
  const e = StudioError.from(err);
  const d = e.details ?? {};
  const out: ModelError = { code: e.code, message: e.message };
  if (typeof d.url === 'string' && /^https?:\/\//.test(d.url)) out.url = d.url;
  if (typeof d.tokensUrl === 'string' && /^https?:\/\//.test(d.tokensUrl)) out.tokensUrl = d.tokensUrl;
  if (typeof d.repo === 'string' && d.repo) out.repo = d.repo;
  if (typeof d.shortfallBytes === 'number') out.shortfallBytes = d.shortfallBytes;
  return out;
}

function omit<T>(record: Record<string, T>, key: string): Record<string, T> {
  if (!(key in record)) return record;
  const { [key]: _gone, ...rest } = record;
  return rest;
}

export const useModelsStore = defineStore('models', () => {
  const list = shallowRef<ModelsList>();
  const loadError = ref<string>();
  const loading = ref(false);
  /** Live downloads by model id (replaced per event, never deep-mutated). */
  const live = shallowRef<Record<string, LiveDownload>>({});
  const verifying = shallowRef<Record<string, VerifyProgress>>({});
  const verifyResults = shallowRef<Record<string, VerifyResult>>({});
  const errors = shallowRef<Record<string, ModelError>>({});
  const busy = shallowRef<Record<string, BusyAction>>({});
  /** Per installed model without the VAE encoder, keyed `id@commit` (a commit's tree never changes). */
  const encoderOffers = shallowRef<Record<string, EncoderOffer>>({});
  const token = ref<TokenStatus>();
  const tokenBusy = ref(false);
  const tokenError = ref<string>();

  const models = computed(() => list.value?.models ?? []);
  const catalogModels = computed(() => models.value.filter((m) => m.source === 'catalog'));
  const otherModels = computed(() => models.value.filter((m) => m.source !== 'catalog'));
  const usedBytes = computed(() => models.value.reduce((s, m) => s + m.sizeOnDisk, 0));

  function entry(id: string): ModelEntry | undefined {
    return models.value.find((m) => m.id === id) ?? models.value.find((m) => m.id.toLowerCase() === id.toLowerCase());
  }

  /** Replaces one entry of the list in place (a new array, so shallow watchers see it). */
  function patchEntry(id: string, patch: (m: ModelEntry) => ModelEntry): void {
    const l = list.value;
    if (!l) return;
    const i = l.models.findIndex((m) => m.id === id);
    if (i < 0) return;
    const models = l.models.slice();
    models[i] = patch(models[i]!);
    list.value = { ...l, models };
  }

  function setBusy(id: string, action: BusyAction | undefined): void {
    busy.value = action ? { ...busy.value, [id]: action } : omit(busy.value, id);
  }
  function setError(id: string, err: ModelError | undefined): void {
    errors.value = err ? { ...errors.value, [id]: err } : omit(errors.value, id);
  }
  function clearError(id: string): void {
    setError(id, undefined);
  }

  // ---- the list ------------------------------------------------------------------------------

  let inflight: Promise<void> | undefined;
  let again = false;

  async function fetchList(): Promise<void> {
    try {
      const next = await studio().call('models.list', {});
      list.value = next;
      loadError.value = undefined;
      // Live progress of downloads that are no longer running is dropped.
      let changed = false;
      const kept: Record<string, LiveDownload> = {};
      for (const [id, l] of Object.entries(live.value)) {
        const m = next.models.find((x) => x.id === id);
        if (!m || m.state === 'downloading') kept[id] = l;
        else changed = true;
      }
      if (changed) live.value = kept;
    } catch (err) {
      loadError.value = StudioError.from(err).message;
    }
  }

  /** Fetches the list; calls while one is in flight coalesce into one more fetch after it. */
  function refresh(): Promise<void> {
    if (inflight) {
      again = true;
      return inflight;
    }
    loading.value = true;
    inflight = (async () => {
      do {
        again = false;
        await fetchList();
      } while (again);
    })().finally(() => {
      inflight = undefined;
      loading.value = false;
    });
    return inflight;
  }

  async function loadToken(): Promise<void> {
    try {
      token.value = await studio().call('models.tokenStatus', {});
      tokenError.value = undefined;
    } catch (err) {
      tokenError.value = StudioError.from(err).message;
    }
  }

  // ---- events --------------------------------------------------------------------------------

  /** A download stopped (paused or failed): its last live totals stay on the entry until the list says more. */
  function settle(id: string, state: 'paused' | 'failed'): void {
    const l = live.value[id];
    patchEntry(id, (m) => ({
      ...m,
      state,
      ...(l ? { download: { ...(m.download ?? { commit: '', t5: true }), progress: { ...l.progress, status: state, rate: null, etaMs: null } } } : {}),
    }));
    live.value = omit(live.value, id);
  }

  function onEvent(e: ModelEvent): void {
    switch (e.type) {
      case 'download-started':
        live.value = {
          ...live.value,
          [e.id]: {
            progress: progress('download', { status: 'running', done: live.value[e.id]?.progress.done ?? 0, total: e.totalBytes }),
            files: e.files.map((f) => ({ path: f.path, stage: 'queued' as const, progress: progress('download', { status: 'queued', done: 0, total: f.size, label: f.path }) })),
          },
        };
        clearError(e.id);
        patchEntry(e.id, (m) => ({ ...m, state: 'downloading' }));
        break;
      case 'download-progress': {
        const prev = live.value[e.id];
        const retry = prev?.retry && e.files.some((f) => f.path === prev.retry!.path && f.stage === 'retrying') ? prev.retry : undefined;
        live.value = {
          ...live.value,
          [e.id]: { progress: e.progress, files: e.files, ...(retry ? { retry } : {}) },
        };
        break;
      }
      case 'download-retry': {
        const prev = live.value[e.id];
        if (prev) live.value = { ...live.value, [e.id]: { ...prev, retry: { path: e.path, attempt: e.attempt, delayMs: e.delayMs, reason: e.reason } } };
        break;
      }
      case 'file-verified': {
        const prev = live.value[e.id];
        if (prev) {
          const files = prev.files.map((f) =>
            f.path === e.path ? { ...f, stage: 'verified' as const, progress: { ...f.progress, status: 'done' as const, done: f.progress.total, rate: 0, etaMs: 0 } } : f,
          );
          live.value = { ...live.value, [e.id]: { ...prev, files } };
        }
        break;
      }
      case 'download-paused':
        settle(e.id, 'paused');
        void refresh();
        break;
      case 'download-cancelled':
        live.value = omit(live.value, e.id);
        void refresh();
        break;
      case 'download-failed':
        setError(e.id, toModelError(StudioError.fromWire(e.error)));
        settle(e.id, 'failed');
        void refresh();
        break;
      case 'download-completed':
        live.value = omit(live.value, e.id);
        clearError(e.id);
        void refresh();
        break;
      case 'verify-progress':
        if (e.progress.status === 'done') verifying.value = omit(verifying.value, e.id);
        else verifying.value = { ...verifying.value, [e.id]: e.progress };
        break;
      case 'models-changed':
        void refresh();
        break;
      case 'download-verdict':
        // Before the large files: whether the graphs run on this machine.
        patchEntry(e.id, (m) => ({ ...m, portability: e.verdict }));
        break;
      default: {
        // Exhaustive: a new models.event type does not compile until the store handles it (issue #15 §6).
        const unhandled: never = e;
        void unhandled;
      }
    }
  }

  let unsubscribe: (() => void) | undefined;

  /** Listens to `models.event` (once, for the app's life) and loads the list: the one live list (Generate uses it). */
  async function watchList(): Promise<void> {
    unsubscribe ??= studio().on('models.event', onEvent);
    await refresh();
  }

  /** The Models view: the list and the token status. */
  async function start(): Promise<void> {
    await Promise.all([watchList(), loadToken()]);
  }

  function stop(): void {
    unsubscribe?.();
    unsubscribe = undefined;
  }

  // ---- actions -------------------------------------------------------------------------------

  function run<T>(id: string, action: BusyAction, fn: () => Promise<T>): Promise<T | undefined> {
    return attempt({ busy: (on) => setBusy(id, on ? action : undefined), clear: () => clearError(id), failed: (e) => setError(id, toModelError(e)) }, fn);
  }

  /** Starts a download of a catalog entry; errors are kept under its id. Returns true when it started. */
  async function download(id: string, t5: boolean): Promise<boolean> {
    const handle = await run(id, 'download', () => studio().call('models.download', { ref: id, t5 }));
    if (handle) await refresh();
    return !!handle;
  }

  /** Downloads any repo `owner/name[@rev]`; throws the ModelError so the form shows it. */
  async function downloadRef(ref: string, t5: boolean): Promise<ResultOf<'models.download'>> {
    try {
      const handle = await studio().call('models.download', { ref, t5 });
      await refresh();
      return handle;
    } catch (err) {
      throw toModelError(err);
    }
  }

  /** Asks the core once per model and commit what adding the VAE encoder downloads (dry run: the size for the button). */
  async function planEncoder(id: string, commit: string): Promise<void> {
    const key = `${id}@${commit}`;
    if (encoderOffers.value[key]) return;
    encoderOffers.value = { ...encoderOffers.value, [key]: { loading: true } };
    let offer: EncoderOffer;
    try {
      offer = { plan: await studio().call('models.addEncoder', { id, dryRun: true }) };
    } catch (err) {
      offer = { error: toModelError(err) };
    }
    encoderOffers.value = { ...encoderOffers.value, [key]: offer };
  }

  /** Starts the VAE encoder's download for an installed model; its progress arrives as the usual models events. */
  async function addEncoder(id: string): Promise<boolean> {
    const started = await run(id, 'add-encoder', () => studio().call('models.addEncoder', { id }));
    if (started?.state === 'started') patchEntry(id, (m) => ({ ...m, state: 'downloading' }));
    if (started) await refresh();
    return !!started;
  }

  async function pause(id: string): Promise<void> {
    await run(id, 'pause', () => studio().call('models.pause', { id }));
  }

  async function resume(id: string): Promise<void> {
    const handle = await run(id, 'resume', () => studio().call('models.resume', { id }));
    if (handle) patchEntry(id, (m) => ({ ...m, state: 'downloading' }));
    await refresh();
  }

  async function cancel(id: string): Promise<void> {
    await run(id, 'cancel', () => studio().call('models.cancel', { id }));
    live.value = omit(live.value, id);
    await refresh();
  }

  async function verify(id: string): Promise<VerifyResult | undefined> {
    verifyResults.value = omit(verifyResults.value, id);
    const result = await run(id, 'verify', () => studio().call('models.verify', { id }));
    verifying.value = omit(verifying.value, id);
    if (result) verifyResults.value = { ...verifyResults.value, [id]: result };
    return result;
  }

  async function remove(id: string): Promise<boolean> {
    const ok = await run(id, 'remove', async () => {
      await studio().call('models.remove', { id });
      return true;
    });
    if (ok) {
      verifyResults.value = omit(verifyResults.value, id);
      live.value = omit(live.value, id);
    }
    await refresh();
    return !!ok;
  }

  /** Registers a local folder; throws the ModelError so the form shows it. */
  async function importFolder(folder: string): Promise<ModelEntry> {
    try {
      const m = await studio().call('models.import', { folder });
      await refresh();
      return m;
    } catch (err) {
      throw toModelError(err);
    }
  }

  async function setToken(value: string): Promise<boolean> {
    tokenBusy.value = true;
    tokenError.value = undefined;
    try {
      token.value = await studio().call('models.setToken', { token: value });
      return true;
    } catch (err) {
      tokenError.value = StudioError.from(err).message;
      return false;
    } finally {
      tokenBusy.value = false;
    }
  }

  /** `sharedFile`: also remove huggingface-cli's shared token file (an explicit choice of the user). */
  async function clearToken(sharedFile = false): Promise<void> {
    tokenBusy.value = true;
    tokenError.value = undefined;
    try {
      token.value = await studio().call('models.clearToken', sharedFile ? { sharedFile: true } : {});
    } catch (err) {
      tokenError.value = StudioError.from(err).message;
    } finally {
      tokenBusy.value = false;
    }
  }

  return {
    list,
    loadError,
    loading,
    live,
    verifying,
    verifyResults,
    errors,
    busy,
    encoderOffers,
    token,
    tokenBusy,
    tokenError,
    models,
    catalogModels,
    otherModels,
    usedBytes,
    entry,
    clearError,
    refresh,
    loadToken,
    onEvent,
    watchList,
    start,
    stop,
    download,
    downloadRef,
    planEncoder,
    addEncoder,
    pause,
    resume,
    cancel,
    verify,
    remove,
    importFolder,
    setToken,
    clearToken,
  };
});
