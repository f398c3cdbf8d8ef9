// Compare: the images being compared (from a finished sweep, a Gallery multi-selection or a saved
// comparison), the saved comparisons, and the pick / trash actions of the view. A Pinia setup store.
//
// Callers: the queue panel's "Compare these seeds" → openFromJob(jobId); the Gallery's Compare →
// openImages(ids); the view's saved list → openSaved(id). Each then shows /compare; the view keeps
// the URL in step (?ids=… or ?saved=…) so a comparison can be bookmarked or reloaded.
import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import { compareLayout, compareOrder, type CompareLayout } from '../../src-shared/compare-layout';
import { StudioError } from '../../src-shared/errors';
import type { ComparisonSummary, CompareExport } from '../../src-shared/schemas/compare';
import { MAX_COMPARE } from '../../src-shared/schemas/compare';
import type { GalleryDetail, GalleryItem } from '../../src-shared/schemas/gallery';
import { studio } from '../studio';
import { itemOf } from './gallery-live';

export interface TrashedNotice {
  id: number;
  undoToken: string;
  label: string;
}

export const useCompareStore = defineStore('compare', () => {
  /** The ids asked for, in order (also what the URL carries). */
  const imageIds = ref<number[]>([]);
  const items = shallowRef<GalleryItem[]>([]);
  /** Asked-for images that are not (or no longer) in the gallery. */
  const missing = ref<number[]>([]);
  const jobId = ref<number>();
  /** The saved comparison being shown, if it is one. */
  const savedId = ref<number>();
  const name = ref('');
  const loading = ref(false);
  const error = ref('');
  const saved = ref<ComparisonSummary[]>([]);
  const savedLoaded = ref(false);
  /** Images marked as the pick (favorites) while comparing. */
  const picks = ref<Set<number>>(new Set());
  const trashed = ref<TrashedNotice>();
  let loadSeq = 0;

  const layout = computed<CompareLayout>(() => compareLayout(items.value));
  const active = computed(() => imageIds.value.length > 0);

  function fail(err: unknown): void {
    error.value = StudioError.from(err).message;
  }

  async function fetchItems(ids: readonly number[]): Promise<void> {
    const seq = ++loadSeq;
    loading.value = true;
    const found: GalleryDetail[] = [];
    const gone: number[] = [];
    try {
      const results = await Promise.allSettled(ids.map((id) => studio().call('gallery.get', { id })));
      results.forEach((r, k) => {
        if (r.status === 'fulfilled') {
          if (r.value.deletedAt === null) found.push(r.value);
          else gone.push(ids[k]!);
        } else if (r.reason instanceof StudioError && r.reason.code === 'not_found') gone.push(ids[k]!);
        else throw r.reason;
      });
      if (seq !== loadSeq) return;
      items.value = found.map(itemOf);
      missing.value = gone;
      picks.value = new Set(found.filter((i) => i.favorite).map((i) => i.id));
    } catch (err) {
      if (seq === loadSeq) fail(err);
    } finally {
      if (seq === loadSeq) loading.value = false;
    }
  }

  /** Valid ids, in THE compare order (compareOrder), at most MAX_COMPARE. */
  function wanted(ids: readonly number[]): number[] {
    return compareOrder(ids.filter((i) => Number.isSafeInteger(i) && i > 0)).slice(0, MAX_COMPARE);
  }

  /** True when these ids are what is open (in any order: the order is the store's rule). */
  function shows(ids: readonly number[]): boolean {
    return wanted(ids).join(',') === imageIds.value.join(',');
  }

  /** Compare these images (2–16, in the compare order, whatever order they come in); not saved until save() or export. */
  async function openImages(ids: readonly number[], options: { jobId?: number } = {}): Promise<void> {
    const list = wanted(ids);
    error.value = '';
    imageIds.value = list;
    jobId.value = options.jobId;
    savedId.value = undefined;
    name.value = '';
    trashed.value = undefined;
    await fetchItems(list);
  }

  /** "Compare these seeds": the finished images of a job (a sweep), in the compare order like any other set. */
  async function openFromJob(id: number): Promise<void> {
    error.value = '';
    try {
      const r = await studio().call('compare.jobImages', { jobId: id });
      if (r.imageIds.length === 0) {
        imageIds.value = [];
        items.value = [];
        error.value = `Job ${id} has no finished images to compare yet.`;
        return;
      }
      await openImages(r.imageIds, { jobId: id });
    } catch (err) {
      fail(err);
    }
  }

  async function openSaved(id: number): Promise<void> {
    error.value = '';
    trashed.value = undefined;
    const seq = ++loadSeq;
    loading.value = true;
    try {
      const c = await studio().call('compare.get', { id });
      if (seq !== loadSeq) return;
      savedId.value = c.id;
      name.value = c.name;
      jobId.value = c.jobId ?? undefined;
      imageIds.value = c.imageIds;
      items.value = c.items;
      missing.value = [];
      picks.value = new Set(c.items.filter((i) => i.favorite).map((i) => i.id));
    } catch (err) {
      if (seq === loadSeq) fail(err);
    } finally {
      if (seq === loadSeq) loading.value = false;
    }
  }

  function close(): void {
    loadSeq++;
    imageIds.value = [];
    items.value = [];
    missing.value = [];
    savedId.value = undefined;
    jobId.value = undefined;
    name.value = '';
    loading.value = false;
  }

  async function loadSaved(): Promise<void> {
    try {
      saved.value = (await studio().call('compare.list', { limit: 100 })).items;
      savedLoaded.value = true;
    } catch (err) {
      fail(err);
    }
  }

  /** Saves what is shown (or renames the saved comparison); returns its id. */
  async function save(newName?: string): Promise<number | undefined> {
    try {
      const wanted = newName?.trim();
      if (savedId.value !== undefined) {
        if (wanted && wanted !== name.value) name.value = (await studio().call('compare.rename', { id: savedId.value, name: wanted })).name;
      } else {
        const ids = items.value.map((i) => i.id);
        if (ids.length < 2) throw new StudioError('invalid_input', 'A comparison needs at least two images.');
        const c = await studio().call('compare.create', {
          imageIds: ids,
          ...(wanted ? { name: wanted } : {}),
          ...(jobId.value !== undefined ? { jobId: jobId.value } : {}),
        });
        savedId.value = c.id;
        name.value = c.name;
      }
      await loadSaved();
      return savedId.value;
    } catch (err) {
      fail(err);
      return undefined;
    }
  }

  async function rename(id: number, newName: string): Promise<void> {
    try {
      const r = await studio().call('compare.rename', { id, name: newName });
      if (id === savedId.value) name.value = r.name;
      await loadSaved();
    } catch (err) {
      fail(err);
    }
  }

  async function remove(id: number): Promise<void> {
    try {
      await studio().call('compare.delete', { id });
      if (id === savedId.value) savedId.value = undefined;
      await loadSaved();
    } catch (err) {
      fail(err);
    }
  }

  /** The grid as one PNG (saving the comparison first when it is not saved yet). */
  async function exportGrid(): Promise<CompareExport | undefined> {
    const id = savedId.value ?? (await save());
    if (id === undefined) return undefined;
    try {
      return await studio().call('compare.export', { id });
    } catch (err) {
      fail(err);
      return undefined;
    }
  }

  /** The fetchable URL of a one-time export download (browser mode adds the studio token). */
  function downloadHref(path: string): string {
    const client = studio();
    return client.downloadUrl ? client.downloadUrl(path) : path;
  }

  /** Space: mark (or unmark) an image as the pick — a gallery favorite. */
  async function togglePick(id: number): Promise<void> {
    const on = !picks.value.has(id);
    try {
      const item = await studio().call('gallery.setFavorite', { id, favorite: on });
      const next = new Set(picks.value);
      if (item.favorite) next.add(id);
      else next.delete(id);
      picks.value = next;
      items.value = items.value.map((i) => (i.id === id ? { ...i, favorite: item.favorite } : i));
    } catch (err) {
      fail(err);
    }
  }

  /** Delete: the image goes to the trash and out of the comparison; undo() brings it back. */
  async function trash(id: number, label: string): Promise<void> {
    try {
      const r = await studio().call('gallery.delete', { ids: [id] });
      items.value = items.value.filter((i) => i.id !== id);
      trashed.value = { id, undoToken: r.undoToken, label };
    } catch (err) {
      fail(err);
    }
  }

  async function undoTrash(): Promise<void> {
    const t = trashed.value;
    if (!t) return;
    trashed.value = undefined;
    try {
      await studio().call('gallery.restore', { undoToken: t.undoToken });
      await reload();
    } catch (err) {
      fail(err);
    }
  }

  /**
   * Follows the gallery while comparing: images trashed or purged elsewhere leave the view, restored
   * ones come back. Returns the unsubscribe function.
   */
  function listen(): () => void {
    return studio().on('gallery.changed', (change) => {
      if (!imageIds.value.length) return;
      const shown = new Set(imageIds.value);
      const touched = change.ids.filter((id) => shown.has(id));
      if (change.kind === 'reset') void reload();
      if (!touched.length) return;
      if (change.kind === 'removed' || change.kind === 'purged') {
        const gone = new Set(touched);
        items.value = items.value.filter((i) => !gone.has(i.id));
      } else if (change.kind === 'restored' || change.kind === 'updated') void reload();
    });
  }

  function reload(): Promise<void> {
    return savedId.value !== undefined ? openSaved(savedId.value) : fetchItems(imageIds.value);
  }

  return {
    listen,
    imageIds,
    items,
    missing,
    jobId,
    savedId,
    name,
    loading,
    error,
    saved,
    savedLoaded,
    picks,
    trashed,
    layout,
    active,
    shows,
    openImages,
    openFromJob,
    openSaved,
    close,
    loadSaved,
    save,
    rename,
    remove,
    exportGrid,
    downloadHref,
    togglePick,
    trash,
    undoTrash,
  };
});

