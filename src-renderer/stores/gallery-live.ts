// The gallery's live-update reconciler: applies `gallery.changed` events (added, updated, restored,
// removed, purged, reset) to the loaded range of a keyset-paged grid without reloading it, asking the
// server (gallery.query narrowed to an item's exact time) whether an item still matches the filters.
// A plain module: the store hands it its state through `LiveContext`; tests hand it a fake.
import type { PayloadOf } from '../../src-shared/api';
import type { GalleryDetail, GalleryItem, GalleryQuery } from '../../src-shared/schemas/gallery';

export type SortOrder = 'newest' | 'oldest';

export interface GalleryPageLike {
  items: GalleryItem[];
  nextCursor: string | null;
  total: number;
}

export interface LiveContext {
  query(q: GalleryQuery): Promise<GalleryPageLike>;
  get(id: number): Promise<GalleryDetail>;
  /** The current filters as a query (no cursor, no limit). */
  baseQuery(): GalleryQuery;
  sort(): SortOrder;
  favoritesOnly(): boolean;
  loaded(): boolean;
  /** Bumped by the store whenever the filters change: answers to older questions are dropped. */
  seq(): number;
  items(): readonly GalleryItem[];
  setItems(items: GalleryItem[]): void;
  nextCursor(): string | null;
  setNextCursor(c: string | null): void;
  setTotal(n: number): void;
  reload(): Promise<void>;
  /** Items our own deletes removed (Undo puts them back without a fetch). */
  recentlyRemoved(id: number): GalleryItem | undefined;
  /** New models and sizes for the filter menus. */
  noteSeen(items: readonly GalleryItem[]): void;
  detailChanged(ids: readonly number[]): void;
  detailRemoved(ids: readonly number[]): void;
  error(err: unknown): void;
}

function timeOf(item: GalleryItem): number {
  return Date.parse(item.createdAt);
}

/** Negative when a comes before b in the given order ((createdAt, id), as the keyset pages). */
export function compareItems(a: GalleryItem, b: GalleryItem, sort: SortOrder): number {
  const d = timeOf(a) - timeOf(b) || a.id - b.id;
  return sort === 'newest' ? -d : d;
}

export function itemOf(d: GalleryDetail): GalleryItem {
  // Every item field, the optional ones too (sampling, LoRAs, image to image: Compare's labels read them).
  const { jobId: _j, status: _s, ep: _e, timings: _t, startedAt: _a, finishedAt: _f, meta: _m, imported: _i, deletedAt: _d, ...item } = d;
  return item;
}

/**
 * `items` with `incoming` put in their place (binary search in `sort` order), or undefined when nothing
 * was added. Items that would land after the last loaded one are left out while more pages remain
 * (they arrive with their page).
 */
export function insertSorted(items: readonly GalleryItem[], incoming: readonly GalleryItem[], sort: SortOrder, moreToLoad: boolean): GalleryItem[] | undefined {
  if (!incoming.length) return undefined;
  const have = new Set(items.map((it) => it.id));
  const next = items.slice();
  let added = false;
  for (const it of incoming) {
    if (have.has(it.id)) continue;
    let lo = 0;
    let hi = next.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compareItems(next[mid]!, it, sort) < 0) lo = mid + 1;
      else hi = mid;
    }
    if (lo >= next.length && moreToLoad) continue;
    next.splice(lo, 0, it);
    have.add(it.id);
    added = true;
  }
  return added ? next : undefined;
}

export interface GalleryReconciler {
  /** Queues one change; changes are applied one at a time, in arrival order. */
  onChanged(change: PayloadOf<'gallery.changed'>): void;
  /** Resolves when every queued change has been applied. */
  idle(): Promise<void>;
  insert(items: readonly GalleryItem[]): void;
  drop(ids: readonly number[]): number;
  restored(ids: readonly number[]): Promise<void>;
  countNow(): Promise<number>;
}

export function createGalleryReconciler(ctx: LiveContext): GalleryReconciler {
  const indexOf = (id: number): number => ctx.items().findIndex((it) => it.id === id);

  function insert(list: readonly GalleryItem[]): void {
    const next = insertSorted(ctx.items(), list, ctx.sort(), ctx.nextCursor() !== null);
    if (next) {
      ctx.noteSeen(list);
      ctx.setItems(next);
    }
  }

  function replace(it: GalleryItem): void {
    const i = indexOf(it.id);
    if (i < 0) return;
    const next = ctx.items().slice();
    next[i] = it;
    ctx.setItems(next);
  }

  function drop(ids: readonly number[]): number {
    const gone = new Set(ids);
    const before = ctx.items();
    const next = before.filter((it) => !gone.has(it.id));
    if (next.length === before.length) return 0;
    ctx.setItems(next);
    return before.length - next.length;
  }

  async function countNow(): Promise<number> {
    return (await ctx.query({ ...ctx.baseQuery(), limit: 1 })).total;
  }

  /** Which of these items match the current filters (search included): the server decides. */
  async function stillMatching(list: readonly GalleryItem[]): Promise<{ matching: GalleryItem[]; total?: number }> {
    const base = ctx.baseQuery();
    const matching: GalleryItem[] = [];
    for (const it of list) {
      const t = timeOf(it);
      const from = Math.max(typeof base.from === 'number' ? base.from : -Infinity, t);
      const to = Math.min(typeof base.to === 'number' ? base.to : Infinity, t + 1);
      if (from >= to) continue;
      const page = await ctx.query({ ...base, from, to, limit: 50 });
      const found = page.items.find((x) => x.id === it.id);
      if (found) matching.push(found);
    }
    return list.length ? { matching, total: await countNow() } : { matching };
  }

  async function added(ids: readonly number[]): Promise<void> {
    const seq = ctx.seq();
    if (!ctx.loaded()) return;
    if (ids.length > 450) return ctx.reload();
    const base = ctx.baseQuery();
    if (ctx.sort() === 'newest') {
      const page = await ctx.query({ ...base, limit: Math.min(500, ids.length + 20) });
      if (seq !== ctx.seq()) return;
      const first = ctx.items()[0];
      const newer = page.items.filter((it) => !first || compareItems(it, first, 'newest') < 0);
      if (newer.length === page.items.length && page.nextCursor !== null && ctx.items().length) {
        // More new images than one page: a gap would open between them and what is loaded.
        return ctx.reload();
      }
      const wasEmpty = ctx.items().length === 0;
      if (wasEmpty) ctx.setNextCursor(page.nextCursor);
      insert(newer);
      ctx.setTotal(page.total);
    } else {
      const last = ctx.items()[ctx.items().length - 1];
      if (ctx.nextCursor() === null) {
        const page = await ctx.query({ ...base, ...(last ? { from: timeOf(last) } : {}), limit: 500 });
        if (seq !== ctx.seq()) return;
        insert(page.items.filter((it) => !last || compareItems(last, it, 'oldest') < 0));
        if (page.nextCursor !== null) ctx.setNextCursor(page.nextCursor);
      }
      ctx.setTotal(await countNow());
    }
  }

  async function updated(ids: readonly number[]): Promise<void> {
    const seq = ctx.seq();
    if (!ctx.loaded()) return;
    const current = ids
      .map((id) => ctx.items()[indexOf(id)])
      .filter((it): it is GalleryItem => it !== undefined)
      .slice(0, 100);
    if (current.length) {
      const { matching, total } = await stillMatching(current);
      if (seq !== ctx.seq()) return;
      const ok = new Set(matching.map((it) => it.id));
      for (const it of matching) replace(it);
      drop(current.filter((it) => !ok.has(it.id)).map((it) => it.id));
      if (total !== undefined) ctx.setTotal(total);
    } else if (ctx.favoritesOnly()) {
      // A favorite made elsewhere may now belong here.
      await restored(ids.slice(0, 50));
    }
    ctx.detailChanged(ids);
  }

  async function restored(ids: readonly number[]): Promise<void> {
    const seq = ctx.seq();
    if (!ctx.loaded()) return;
    const want = ids.filter((id) => indexOf(id) < 0);
    if (want.length > 100) return ctx.reload();
    const known: GalleryItem[] = [];
    for (const id of want) {
      const cached = ctx.recentlyRemoved(id);
      if (cached) known.push(cached);
      else {
        try {
          known.push(itemOf(await ctx.get(id)));
        } catch {
          // gone again
        }
      }
    }
    const { matching, total } = await stillMatching(known);
    if (seq !== ctx.seq()) return;
    insert(matching);
    if (total !== undefined) ctx.setTotal(total);
  }

  async function removed(ids: readonly number[], kind: 'removed' | 'purged'): Promise<void> {
    const seq = ctx.seq();
    const dropped = drop(ids);
    ctx.detailRemoved(ids);
    // Purged images were already out of the grid (in the trash), unless another window missed it.
    if (!ctx.loaded() || (kind === 'purged' && dropped === 0)) return;
    const t = await countNow();
    if (seq === ctx.seq()) ctx.setTotal(t);
  }

  let chain: Promise<void> = Promise.resolve();
  function onChanged(change: PayloadOf<'gallery.changed'>): void {
    chain = chain
      .then(async () => {
        switch (change.kind) {
          case 'added':
            return added(change.ids);
          case 'updated':
            return updated(change.ids);
          case 'restored':
            return restored(change.ids);
          case 'removed':
          case 'purged':
            return removed(change.ids, change.kind);
          case 'reset':
            return ctx.reload();
        }
      })
      .catch((err: unknown) => ctx.error(err));
  }

  return { onChanged, idle: () => chain, insert, drop, restored, countNow };
}
