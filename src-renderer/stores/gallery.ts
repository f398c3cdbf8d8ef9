// The gallery: keyset pages of images with search and filters, the selection, the detail panel, undoable
// deletes, imports, and live updates from `gallery.changed`. A Pinia setup store.
//
// Items are kept in a shallowRef array that is replaced, never mutated, so 10,000+ items cost no deep
// reactivity; the selection is a Set replaced the same way.
import { defineStore } from 'pinia';
import { computed, reactive, ref, shallowRef, watch } from 'vue';
import type { PayloadOf, ResultOf } from '../../src-shared/api';
import { formatBytes } from '../../src-shared/bytes';
import { StudioError } from '../../src-shared/errors';
import { MAX_BROWSER_IMPORT_BYTES, type GalleryDetail, type GalleryItem, type GalleryQuery, type ReuseParameters } from '../../src-shared/schemas/gallery';
import { pruneSelection, type SelectionState } from '../selection';
import { studio } from '../studio';

export type SortOrder = 'newest' | 'oldest';
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

export interface Toast {
  id: number;
  kind: 'undo' | 'import' | 'info' | 'error';
  message: string;
  /** Lines under the message (rejected imports with their reasons). */
  details?: string[];
  undoToken?: string;
  /** Auto-dismiss after this many ms; 0 = stays until dismissed. */
  timeoutMs: number;
}

export interface FileToImport {
  name: string;
  /** Set when the platform gives a real path (Electron); then the bytes are not read here. */
  path?: string;
  size: number;
  read: () => Promise<string>;
}

export const FIRST_PAGE = 120;
export const NEXT_PAGE = 300;
export const UNDO_MS = 8000;
/** WebSocket messages are capped at 16 MB: keep one import call's base64 well under that. */
const IMPORT_BATCH_CHARS = 12_000_000;
export const MAX_IMPORT_FILE_BYTES = MAX_BROWSER_IMPORT_BYTES;

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

function timeOf(item: GalleryItem): number {
  return Date.parse(item.createdAt);
}

/** Negative when a comes before b in the given order ((createdAt, id), as the keyset pages). */
export function compareItems(a: GalleryItem, b: GalleryItem, sort: SortOrder): number {
  const d = timeOf(a) - timeOf(b) || a.id - b.id;
  return sort === 'newest' ? -d : d;
}

function itemOf(d: GalleryDetail): GalleryItem {
  return {
    id: d.id,
    createdAt: d.createdAt,
    prompt: d.prompt,
    negativePrompt: d.negativePrompt,
    seed: d.seed,
    steps: d.steps,
    guidance: d.guidance,
    width: d.width,
    height: d.height,
    pixelWidth: d.pixelWidth,
    pixelHeight: d.pixelHeight,
    model: d.model,
    favorite: d.favorite,
    bytes: d.bytes,
    path: d.path,
    source: d.source,
  };
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

  /** Parameters picked with "Reuse parameters", for the Generate view to take. */
  const pendingReuse = ref<ReuseParameters>();
  /** The images sent to Compare (also in the URL: /compare?ids=…). */
  const compareIds = ref<number[]>([]);

  const toasts = ref<Toast[]>([]);
  /** Where the grid was scrolled, kept across visits to the view. */
  const scrollTop = ref(0);
  /** Bumped when the filters change: the grid goes back to the top. */
  const filterVersion = ref(0);
  /** Models and sizes seen in loaded pages, for the filter menus. */
  const seenModels = shallowRef<Set<string>>(new Set());
  const seenSizes = shallowRef<Set<string>>(new Set());

  let querySeq = 0;
  let listening: (() => void) | undefined;
  let toastSeq = 0;
  const toastTimers = new Map<number, ReturnType<typeof setTimeout>>();
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

  // ---- live updates ----

  /** Puts items in their place in the loaded range (later ones arrive with their page). */
  function insertSorted(list: readonly GalleryItem[]): void {
    if (!list.length) return;
    const have = indexById.value;
    const next = items.value.slice();
    let added = false;
    for (const it of list) {
      if (have.has(it.id) || next.some((x) => x.id === it.id)) continue;
      let lo = 0;
      let hi = next.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (compareItems(next[mid]!, it, filters.sort) < 0) lo = mid + 1;
        else hi = mid;
      }
      if (lo >= next.length && nextCursor.value !== null) continue;
      next.splice(lo, 0, it);
      added = true;
    }
    if (added) {
      noteSeen(list);
      items.value = next;
    }
  }

  function replaceItem(it: GalleryItem): void {
    const i = indexOf(it.id);
    if (i === undefined) return;
    const next = items.value.slice();
    next[i] = it;
    items.value = next;
  }

  function dropItems(ids: readonly number[]): number {
    const gone = new Set(ids);
    const before = items.value.length;
    const next = items.value.filter((it) => !gone.has(it.id));
    if (next.length === before) return 0;
    setItems(next);
    return before - next.length;
  }

  /**
   * Which of these items match the current filters (search included): the same query narrowed to each
   * item's exact time, so the server decides.
   */
  async function stillMatching(list: readonly GalleryItem[]): Promise<{ matching: GalleryItem[]; total?: number }> {
    const base = queryFor(filters);
    const matching: GalleryItem[] = [];
    let lastTotal: number | undefined;
    for (const it of list) {
      const t = timeOf(it);
      const from = Math.max(typeof base.from === 'number' ? base.from : -Infinity, t);
      const to = Math.min(typeof base.to === 'number' ? base.to : Infinity, t + 1);
      if (from >= to) continue;
      const page = await studio().call('gallery.query', { ...base, from, to, limit: 50 });
      const found = page.items.find((x) => x.id === it.id);
      if (found) matching.push(found);
    }
    if (list.length) lastTotal = await countNow();
    return lastTotal === undefined ? { matching } : { matching, total: lastTotal };
  }

  async function countNow(): Promise<number> {
    return (await studio().call('gallery.query', { ...queryFor(filters), limit: 1 })).total;
  }

  async function onAdded(ids: readonly number[]): Promise<void> {
    const seq = querySeq;
    if (!loaded.value) return;
    if (ids.length > 450) return reload();
    if (filters.sort === 'newest') {
      const page = await studio().call('gallery.query', { ...queryFor(filters), limit: Math.min(500, ids.length + 20) });
      if (seq !== querySeq) return;
      const first = items.value[0];
      const newer = page.items.filter((it) => !first || compareItems(it, first, 'newest') < 0);
      if (newer.length === page.items.length && page.nextCursor !== null && items.value.length) {
        // More new images than one page: a gap would open between them and what is loaded.
        return reload();
      }
      const wasEmpty = items.value.length === 0;
      insertSorted(newer);
      total.value = page.total;
      if (wasEmpty) nextCursor.value = page.nextCursor;
    } else {
      const last = items.value[items.value.length - 1];
      if (nextCursor.value === null) {
        const page = await studio().call('gallery.query', {
          ...queryFor(filters),
          ...(last ? { from: timeOf(last) } : {}),
          limit: 500,
        });
        if (seq !== querySeq) return;
        insertSorted(page.items.filter((it) => !last || compareItems(last, it, 'oldest') < 0));
        if (page.nextCursor !== null) nextCursor.value = page.nextCursor;
      }
      total.value = await countNow();
    }
  }

  async function onUpdated(ids: readonly number[]): Promise<void> {
    const seq = querySeq;
    if (!loaded.value) return;
    const mine = ids.filter((id) => indexOf(id) !== undefined).slice(0, 100);
    const current = mine.map((id) => items.value[indexOf(id)!]!).filter(Boolean);
    if (current.length) {
      const { matching, total: t } = await stillMatching(current);
      if (seq !== querySeq) return;
      const ok = new Set(matching.map((it) => it.id));
      for (const it of matching) replaceItem(it);
      dropItems(current.filter((it) => !ok.has(it.id)).map((it) => it.id));
      if (t !== undefined) total.value = t;
    } else if (filters.favoritesOnly) {
      // A favorite made elsewhere may now belong here.
      const added = ids.slice(0, 50);
      await onRestored(added);
    }
    if (detailId.value !== undefined && ids.includes(detailId.value)) void refreshDetail();
  }

  async function onRestored(ids: readonly number[]): Promise<void> {
    const seq = querySeq;
    if (!loaded.value) return;
    const want = ids.filter((id) => indexOf(id) === undefined);
    if (want.length > 100) return reload();
    const known: GalleryItem[] = [];
    for (const id of want) {
      const cached = recentlyRemoved.get(id);
      if (cached) known.push(cached);
      else {
        try {
          known.push(itemOf(await studio().call('gallery.get', { id })));
        } catch {
          // gone again
        }
      }
    }
    const { matching, total: t } = await stillMatching(known);
    if (seq !== querySeq) return;
    insertSorted(matching);
    if (t !== undefined) total.value = t;
  }

  async function onRemoved(ids: readonly number[], kind: 'removed' | 'purged'): Promise<void> {
    const seq = querySeq;
    const dropped = dropItems(ids);
    if (detailId.value !== undefined && ids.includes(detailId.value)) closeDetail();
    // Purged images were already out of the grid (in the trash), unless another window missed it.
    if (!loaded.value || (kind === 'purged' && dropped === 0)) return;
    const t = await countNow();
    if (seq === querySeq) total.value = t;
  }

  let changeChain: Promise<void> = Promise.resolve();
  function onChanged(change: PayloadOf<'gallery.changed'>): void {
    // One change at a time, in arrival order.
    changeChain = changeChain
      .then(async () => {
        switch (change.kind) {
          case 'added':
            return onAdded(change.ids);
          case 'updated':
            return onUpdated(change.ids);
          case 'restored':
            return onRestored(change.ids);
          case 'removed':
          case 'purged':
            return onRemoved(change.ids, change.kind);
          case 'reset':
            return reload();
        }
      })
      .catch((err: unknown) => {
        error.value = message(err);
      });
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

  // ---- toasts ----

  function dismissToast(id: number): void {
    const t = toastTimers.get(id);
    if (t) clearTimeout(t);
    toastTimers.delete(id);
    toasts.value = toasts.value.filter((x) => x.id !== id);
  }
  function armToast(id: number, ms: number): void {
    const old = toastTimers.get(id);
    if (old) clearTimeout(old);
    if (ms > 0) toastTimers.set(id, setTimeout(() => dismissToast(id), ms));
  }
  /** Hovering or focusing a toast holds it; leaving gives it a few more seconds. */
  function holdToast(id: number, hold: boolean): void {
    const t = toasts.value.find((x) => x.id === id);
    if (!t || t.timeoutMs === 0) return;
    if (hold) {
      const old = toastTimers.get(id);
      if (old) clearTimeout(old);
      toastTimers.delete(id);
    } else armToast(id, Math.max(3000, t.timeoutMs / 2));
  }
  function notify(kind: Toast['kind'], text: string, options: { details?: string[]; undoToken?: string; timeoutMs?: number } = {}): number {
    const id = ++toastSeq;
    const timeoutMs = options.timeoutMs ?? (kind === 'error' ? 8000 : 4000);
    const toast: Toast = { id, kind, message: text, timeoutMs };
    if (options.details) toast.details = options.details;
    if (options.undoToken) toast.undoToken = options.undoToken;
    // One undo toast at a time: a newer delete replaces the older offer.
    const keep = kind === 'undo' ? toasts.value.filter((x) => x.kind !== 'undo') : toasts.value;
    for (const x of toasts.value) if (!keep.includes(x)) dismissToast(x.id);
    toasts.value = [...keep, toast].slice(-4);
    armToast(id, timeoutMs);
    return id;
  }

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

  const undoToast = computed(() => toasts.value.find((t) => t.kind === 'undo'));

  async function undo(toastId?: number): Promise<void> {
    const t = toastId === undefined ? undoToast.value : toasts.value.find((x) => x.id === toastId);
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

  async function reuse(id: number): Promise<ReuseParameters | undefined> {
    try {
      pendingReuse.value = await studio().call('gallery.reuse', { id });
      return pendingReuse.value;
    } catch (err) {
      notify('error', `Could not reuse the parameters: ${message(err)}`);
      return undefined;
    }
  }

  function takeReuse(): ReuseParameters | undefined {
    const r = pendingReuse.value;
    pendingReuse.value = undefined;
    return r;
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
    const rejected: { name: string; reason: string }[] = [];
    let imported = 0;
    let batch: ({ path: string } | { name: string; dataBase64: string })[] = [];
    let batchNames: string[] = [];
    let chars = 0;
    const flush = async (): Promise<void> => {
      if (!batch.length) return;
      const files = batch;
      const names = batchNames;
      batch = [];
      batchNames = [];
      chars = 0;
      try {
        const r = await studio().call('gallery.import', { files });
        imported += r.imported.length;
        rejected.push(...r.rejected);
        if (!filtersActive.value) insertSorted(r.imported);
      } catch (err) {
        for (const name of names) rejected.push({ name, reason: message(err) });
      }
    };
    for (const f of files) {
      if (f.path) {
        batch.push({ path: f.path });
        batchNames.push(f.name);
      } else if (f.size > MAX_IMPORT_FILE_BYTES) {
        rejected.push({ name: f.name, reason: `larger than ${formatBytes(MAX_IMPORT_FILE_BYTES)}, the limit for importing through the browser (use the desktop app or \`sd35-studio history import\`)` });
        continue;
      } else {
        let data: string;
        try {
          data = await f.read();
        } catch (err) {
          rejected.push({ name: f.name, reason: `could not be read: ${message(err)}` });
          continue;
        }
        if (chars + data.length > IMPORT_BATCH_CHARS || batch.length >= 200) await flush();
        batch.push({ name: f.name, dataBase64: data });
        batchNames.push(f.name);
        chars += data.length;
      }
      if (batch.length >= 200) await flush();
    }
    await flush();
    dismissToast(progress);
    if (imported) total.value = await countNow().catch(() => total.value);
    const head =
      imported === 0
        ? rejected.length === 1
          ? 'The file was not imported.'
          : 'No files were imported.'
        : `Imported ${imported === 1 ? '1 image' : `${imported.toLocaleString()} images`}${rejected.length ? `; ${rejected.length} rejected` : ''}.`;
    notify(rejected.length ? 'import' : 'info', head, {
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
    pendingReuse,
    compareIds,
    toasts,
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
    holdToast,
    setFavorite,
    deleteImages,
    undo,
    reuse,
    takeReuse,
    exportImage,
    reveal,
    importFiles,
    onChanged,
  };
});
