// The gallery: keyset pages of images with search and filters, the selection, the detail panel, undoable
// deletes, imports, and live updates from `gallery.changed`. A Pinia setup store.
//
// Items are kept in a shallowRef array that is replaced, never mutated, so 10,000+ items cost no deep
// reactivity; the selection is a Set replaced the same way.
import { defineStore } from 'pinia';
import { computed, reactive, ref, shallowRef, watch } from 'vue';
import type { ResultOf } from '../../src-shared/api';
import { StudioError } from '../../src-shared/errors';
import { type GalleryDetail, type GalleryItem, type GalleryQuery, type ReuseParameters } from '../../src-shared/schemas/gallery';
import { pruneSelection, type SelectionState } from '../selection';
import { studio } from '../studio';
import { useGenerateStore } from './generate';
import { importHeadline, importInBatches, type FileToImport } from './gallery-import';
import { createGalleryReconciler, itemOf, type SortOrder } from './gallery-live';
import { useToastsStore, type NotifyOptions, type Toast } from './toasts';

export type { SortOrder } from './gallery-live';
export { compareItems } from './gallery-live';
export type { FileToImport } from './gallery-import';
export { MAX_IMPORT_FILE_BYTES } from './gallery-import';
export type { Toast } from './toasts';

export type SearchIn = 'prompt' | 'negative' | 'both';

export interface GalleryFilters {
  search: string;
  searchIn: SearchIn;
  /** '' = all models. */
  model: string;
  favoritesOnly: boolean;
  /** yyyy-mm-dd (local day, inclusive) or ''. */
  from: string;
  /** yyyy-mm-dd (local day, inclusive) or ''. */
  to: string;
  /** 'WxH' or ''. */
  size: string;
  sort: SortOrder;
}

export const FIRST_PAGE = 120;
export const NEXT_PAGE = 300;
export const UNDO_MS = 8000;

const DEFAULT_FILTERS: GalleryFilters = {
  search: '',
  searchIn: 'prompt',
  model: '',
  favoritesOnly: false,
  from: '',
  to: '',
  size: '',
  sort: 'newest',
};

function localDayStart(day: string, plusDays = 0): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!m) return undefined;
  return new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + plusDays).getTime();
}

/** The query (without cursor/limit) for a set of filters. */
export function queryFor(f: GalleryFilters): GalleryQuery {
  const q: GalleryQuery = { sort: f.sort };
  const text = f.search.trim();
  if (text) {
    q.search = text;
    if (f.searchIn !== 'prompt') q.searchIn = f.searchIn;
  }
  if (f.model) q.model = f.model;
  if (f.favoritesOnly) q.favoritesOnly = true;
  const from = localDayStart(f.from);
  const to = localDayStart(f.to, 1);
  if (from !== undefined) q.from = from;
  if (to !== undefined) q.to = to;
  const size = /^(\d+)x(\d+)$/.exec(f.size);
  if (size) {
    q.width = Number(size[1]);
    q.height = Number(size[2]);
  }
  return q;
}

function message(err: unknown): string {
  return StudioError.from(err).message;
}

export const useGalleryStore = defineStore('gallery', () => {
  const filters = reactive<GalleryFilters>({ ...DEFAULT_FILTERS });
  const items = shallowRef<GalleryItem[]>([]);
  const nextCursor = ref<string | null>(null);
  const total = ref(0);
  const note = ref<string>();
  const loaded = ref(false);
  const loading = ref(false);
  const loadingMore = ref(false);
  const error = ref<string>();

  const selection = shallowRef<SelectionState>({ selected: new Set(), anchor: undefined });
  const focusId = ref<number>();
  const detailId = ref<number>();
  const detail = shallowRef<GalleryDetail>();
  const detailError = ref<string>();


  const toastsStore = useToastsStore();
  /** Where the grid was scrolled, kept across visits to the view. */
  const scrollTop = ref(0);
  /** Bumped when the filters change: the grid goes back to the top. */
  const filterVersion = ref(0);
  /** Models and sizes seen in loaded pages, for the filter menus. */
  const seenModels = shallowRef<Set<string>>(new Set());
  const seenSizes = shallowRef<Set<string>>(new Set());

  let querySeq = 0;
  let listening: (() => void) | undefined;
  /** Items removed by our own deletes, so Undo can put them back in place at once. */
  const recentlyRemoved = new Map<number, GalleryItem>();
  /** Per undo token: the items it brings back and the filters they were shown under. */
  const undoable = new Map<string, { items: GalleryItem[]; filterKey: string }>();

  const indexById = computed(() => {
    const m = new Map<number, number>();
    items.value.forEach((it, i) => m.set(it.id, i));
    return m;
  });
  const order = computed(() => items.value.map((it) => it.id));
  const selectedIds = computed(() => order.value.filter((id) => selection.value.selected.has(id)));
  const selectedCount = computed(() => selection.value.selected.size);
  const filtersActive = computed(
    () =>
      filters.search.trim() !== '' ||
      filters.model !== '' ||
      filters.favoritesOnly ||
      filters.from !== '' ||
      filters.to !== '' ||
      filters.size !== '',
  );
  /** Whether the shown images are a subset (an ignored search, see `note`, does not narrow). */
  const narrowed = computed(
    () =>
      (filters.search.trim() !== '' && note.value === undefined) ||
      filters.model !== '' ||
      filters.favoritesOnly ||
      filters.from !== '' ||
      filters.to !== '' ||
      filters.size !== '',
  );
  const hasMore = computed(() => nextCursor.value !== null);

  function indexOf(id: number): number | undefined {
    return indexById.value.get(id);
  }

  function noteSeen(list: readonly GalleryItem[]): void {
    let models: Set<string> | undefined;
    let sizes: Set<string> | undefined;
    for (const it of list) {
      if (it.model && !seenModels.value.has(it.model) && !models?.has(it.model)) (models ??= new Set(seenModels.value)).add(it.model);
      // The size filter matches the files' pixel size (images_live_size), so it offers those.
      const s = `${it.pixelWidth}x${it.pixelHeight}`;
      if (!seenSizes.value.has(s) && !sizes?.has(s)) (sizes ??= new Set(seenSizes.value)).add(s);
    }
    if (models) seenModels.value = models;
    if (sizes) seenSizes.value = sizes;
  }

  function setItems(list: GalleryItem[]): void {
    items.value = list;
    const present = new Set(list.map((it) => it.id));
    selection.value = pruneSelection(selection.value, (id) => present.has(id));
    if (focusId.value !== undefined && !present.has(focusId.value)) focusId.value = undefined;
  }

  // ---- loading ----

  async function reload(): Promise<void> {
    const seq = ++querySeq;
    loading.value = true;
    try {
      const page = await studio().call('gallery.query', { ...queryFor(filters), limit: FIRST_PAGE });
      if (seq !== querySeq) return;
      noteSeen(page.items);
      setItems(page.items);
      nextCursor.value = page.nextCursor;
      total.value = page.total;
      note.value = page.note;
      error.value = undefined;
      loaded.value = true;
    } catch (err) {
      if (seq === querySeq) error.value = message(err);
    } finally {
      if (seq === querySeq) loading.value = false;
    }
  }

  async function loadMore(): Promise<void> {
    if (!nextCursor.value || loadingMore.value || loading.value) return;
    const seq = querySeq;
    const cursor = nextCursor.value;
    loadingMore.value = true;
    try {
      const page = await studio().call('gallery.query', { ...queryFor(filters), cursor, limit: NEXT_PAGE });
      if (seq !== querySeq || cursor !== nextCursor.value) return;
      const have = indexById.value;
      const fresh = page.items.filter((it) => !have.has(it.id));
      noteSeen(fresh);
      items.value = [...items.value, ...fresh];
      nextCursor.value = page.nextCursor;
      total.value = page.total;
      error.value = undefined;
    } catch (err) {
      if (seq === querySeq) error.value = message(err);
    } finally {
      loadingMore.value = false;
    }
  }

  /** First visit: load and start listening; later visits keep what is there. */
  async function ensureLoaded(): Promise<void> {
    listen();
    if (!loaded.value && !loading.value) await reload();
  }

  function resetFilters(): void {
    Object.assign(filters, DEFAULT_FILTERS, { sort: filters.sort });
  }

  // Any filter change starts again from the first page (the view debounces the search text).
  let reloadTimer: ReturnType<typeof setTimeout> | undefined;
  function scheduleReload(delayMs: number): void {
    if (reloadTimer) clearTimeout(reloadTimer);
    querySeq++; // answers to older queries are now stale
    reloadTimer = setTimeout(() => {
      reloadTimer = undefined;
      scrollTop.value = 0;
      filterVersion.value++;
      selection.value = { selected: new Set(), anchor: undefined };
      void reload();
    }, delayMs);
  }
  watch(
    () => filters.search,
    () => scheduleReload(200),
  );
  watch(
    () => [filters.searchIn, filters.model, filters.favoritesOnly, filters.from, filters.to, filters.size, filters.sort],
    () => scheduleReload(0),
  );
  /** Runs a pending debounced search now (Enter in the search box). */
  function searchNow(): void {
    if (reloadTimer) scheduleReload(0);
  }

    // ---- live updates (stores/gallery-live.ts) ----

  const live = createGalleryReconciler({
    query: (q) => studio().call('gallery.query', q),
    get: (id) => studio().call('gallery.get', { id }),
    baseQuery: () => queryFor(filters),
    sort: () => filters.sort,
    favoritesOnly: () => filters.favoritesOnly,
    loaded: () => loaded.value,
    seq: () => querySeq,
    items: () => items.value,
    setItems,
    nextCursor: () => nextCursor.value,
    setNextCursor: (c) => {
      nextCursor.value = c;
    },
    setTotal: (n) => {
      total.value = n;
    },
    reload,
    recentlyRemoved: (id) => recentlyRemoved.get(id),
    noteSeen,
    detailChanged: (ids) => {
      if (detailId.value !== undefined && ids.includes(detailId.value)) void refreshDetail();
    },
    detailRemoved: (ids) => {
      if (detailId.value !== undefined && ids.includes(detailId.value)) closeDetail();
    },
    error: (err) => {
      error.value = message(err);
    },
  });
  const insertSorted = live.insert;
  const dropItems = live.drop;
  const countNow = live.countNow;
  const onRestored = live.restored;
  const onChanged = live.onChanged;

  function replaceItem(it: GalleryItem): void {
    const i = indexOf(it.id);
    if (i === undefined) return;
    const next = items.value.slice();
    next[i] = it;
    items.value = next;
  }

  function listen(): void {
    if (listening) return;
    listening = studio().on('gallery.changed', onChanged);
  }

  // ---- selection ----

  function setSelection(s: SelectionState): void {
    selection.value = s;
  }
  function clearSelection(): void {
    selection.value = { selected: new Set(), anchor: selection.value.anchor };
  }
  function selectAll(): void {
    selection.value = { selected: new Set(order.value), anchor: selection.value.anchor ?? order.value[0] };
  }
  function isSelected(id: number): boolean {
    return selection.value.selected.has(id);
  }

  // ---- detail ----

  let detailSeq = 0;
  async function openDetail(id: number): Promise<void> {
    detailId.value = id;
    focusId.value = id;
    if (detail.value?.id !== id) detail.value = undefined;
    await refreshDetail();
  }
  async function refreshDetail(): Promise<void> {
    const id = detailId.value;
    if (id === undefined) return;
    const seq = ++detailSeq;
    try {
      const d = await studio().call('gallery.get', { id });
      if (seq !== detailSeq) return;
      detail.value = d;
      detailError.value = undefined;
      if (indexOf(id) !== undefined) replaceItem(itemOf(d));
    } catch (err) {
      if (seq === detailSeq) detailError.value = message(err);
    }
  }
  function closeDetail(): void {
    detailSeq++;
    detailId.value = undefined;
    detail.value = undefined;
    detailError.value = undefined;
  }

  // ---- toasts (stores/toasts.ts) ----

  // The gallery's toasts (imports, Undo, its errors) are the Gallery's: they do not follow the person to Generate.
  const notify = (kind: Toast['kind'], text: string, options: NotifyOptions = {}): number => toastsStore.notify(kind, text, { view: 'gallery', ...options });
  const dismissToast = toastsStore.dismiss;

  // ---- edits ----

  async function setFavorite(id: number, favorite: boolean): Promise<void> {
    try {
      const item = await studio().call('gallery.setFavorite', { id, favorite });
      replaceItem(item);
      if (detail.value?.id === id) detail.value = { ...detail.value, favorite: item.favorite };
      if (filters.favoritesOnly && !item.favorite) {
        dropItems([id]);
        total.value = Math.max(0, total.value - 1);
      }
    } catch (err) {
      notify('error', `Could not change the favorite: ${message(err)}`);
    }
  }

  /** Moves images to the trash and offers Undo for 8 s. Focus and detail move on to the next image. */
  async function deleteImages(ids: readonly number[]): Promise<void> {
    const list = [...new Set(ids)];
    if (!list.length) return;
    // Decided before the call: the `removed` event may arrive before the answer and drop the items.
    const gone = new Set(list);
    const snapshot = items.value;
    const removedItems = snapshot.filter((it) => gone.has(it.id));
    const lastIndex = Math.max(-1, ...list.map((id) => indexOf(id) ?? -1));
    // The next image after the deleted ones (or the one before) takes the focus and the detail.
    let successor: number | undefined;
    for (let i = lastIndex + 1; i < snapshot.length && successor === undefined; i++) if (!gone.has(snapshot[i]!.id)) successor = snapshot[i]!.id;
    for (let i = lastIndex - 1; i >= 0 && successor === undefined; i--) if (!gone.has(snapshot[i]!.id)) successor = snapshot[i]!.id;
    const detailGone = detailId.value !== undefined && gone.has(detailId.value);
    const focusGone = focusId.value === undefined || gone.has(focusId.value);
    try {
      const { undoToken, deleted } = await studio().call('gallery.delete', { ids: list });
      for (const it of removedItems) recentlyRemoved.set(it.id, it);
      while (recentlyRemoved.size > 20_000) recentlyRemoved.delete(recentlyRemoved.keys().next().value!);
      undoable.set(undoToken, { items: removedItems, filterKey: JSON.stringify(queryFor(filters)) });
      while (undoable.size > 20) undoable.delete(undoable.keys().next().value!);
      const n = dropItems(list);
      total.value = Math.max(0, total.value - n);
      selection.value = { selected: new Set(), anchor: successor };
      if (focusGone) focusId.value = successor;
      if (detailGone) {
        if (successor !== undefined) void openDetail(successor);
        else closeDetail();
      }
      const what = deleted === 1 ? '1 image' : `${deleted.toLocaleString()} images`;
      notify('undo', `Moved ${what} to the trash.`, { undoToken, timeoutMs: UNDO_MS });
    } catch (err) {
      notify('error', `Could not delete: ${message(err)}`);
    }
  }

  const undoToast = computed(() => toastsStore.undoToast);

  async function undo(toastId?: number): Promise<void> {
    const t = toastId === undefined ? undoToast.value : toastsStore.toasts.find((x) => x.id === toastId);
    if (!t?.undoToken) return;
    dismissToast(t.id);
    try {
      const { restored } = await studio().call('gallery.restore', { undoToken: t.undoToken });
      const back = undoable.get(t.undoToken);
      undoable.delete(t.undoToken);
      if (back) {
        const missing = back.items.filter((it) => indexOf(it.id) === undefined);
        if (back.filterKey === JSON.stringify(queryFor(filters))) {
          // Shown under these very filters a moment ago: back in place at once, the count from the server.
          insertSorted(missing);
          total.value = await countNow();
        } else await onRestored(missing.map((it) => it.id));
      }
      notify('info', restored === 1 ? 'Restored 1 image.' : `Restored ${restored.toLocaleString()} images.`, { timeoutMs: 2500 });
    } catch (err) {
      notify('error', `Could not undo: ${message(err)}`);
    }
  }

  /** Fetches an image's parameters and hands them to the Generate form (stores/generate.ts). */
  async function reuse(id: number): Promise<ReuseParameters | undefined> {
    try {
      const r = await studio().call('gallery.reuse', { id });
      useGenerateStore().offerReuse(r);
      return r;
    } catch (err) {
      notify('error', `Could not reuse the parameters: ${message(err)}`);
      return undefined;
    }
  }

  function exportImage(id: number, metadata: boolean): Promise<ResultOf<'gallery.export'>> {
    return studio().call('gallery.export', { id, metadata });
  }

  async function reveal(id: number): Promise<void> {
    try {
      const { revealed } = await studio().call('gallery.reveal', { id });
      if (!revealed) notify('info', 'The file can only be shown from the desktop app.');
    } catch (err) {
      notify('error', `Could not show the file: ${message(err)}`);
    }
  }

  /** Imports PNG files (drag and drop). Large batches go in several calls under the message limit. */
  async function importFiles(files: readonly FileToImport[]): Promise<void> {
    if (!files.length) return;
    const progress = notify('info', `Importing ${files.length === 1 ? '1 file' : `${files.length} files`}…`, { timeoutMs: 0 });
    const { imported, rejected } = await importInBatches(
      files,
      (batch) => studio().call('gallery.import', { files: batch }),
      (list) => {
        if (!filtersActive.value) insertSorted(list);
      },
    );
    dismissToast(progress);
    if (imported.length) total.value = await countNow().catch(() => total.value);
    notify(rejected.length ? 'import' : 'info', importHeadline(imported.length, rejected.length), {
      details: rejected.map((r) => `${r.name}: ${r.reason}`),
      timeoutMs: rejected.length ? 0 : 5000,
    });
  }

  return {
    filters,
    items,
    nextCursor,
    total,
    note,
    loaded,
    loading,
    loadingMore,
    error,
    selection,
    focusId,
    detailId,
    detail,
    detailError,
    scrollTop,
    filterVersion,
    seenModels,
    seenSizes,
    indexById,
    order,
    selectedIds,
    selectedCount,
    filtersActive,
    narrowed,
    hasMore,
    undoToast,
    indexOf,
    reload,
    loadMore,
    ensureLoaded,
    resetFilters,
    searchNow,
    setSelection,
    clearSelection,
    selectAll,
    isSelected,
    openDetail,
    refreshDetail,
    closeDetail,
    notify,
    dismissToast,
    setFavorite,
    deleteImages,
    undo,
    reuse,
    exportImage,
    reveal,
    importFiles,
    onChanged,
  };
});
