import { describe, expect, it } from 'vitest';
import type { GalleryDetail, GalleryItem, GalleryQuery } from '../../src-shared/schemas/gallery';
import { galleryItem } from '../testing/gallery-item';
import { compareItems, createGalleryReconciler, insertSorted, itemOf, type LiveContext } from './gallery-live';

const item = (id: number, t: number, extra: Partial<GalleryItem> = {}): GalleryItem => galleryItem(id, { createdAt: new Date(t).toISOString(), ...extra });

/** A tiny server: `all` is the store of images; queries filter by favoritesOnly, from/to and sort. */
function world(all: GalleryItem[], loadedCount: number, opts: { sort?: 'newest' | 'oldest'; favoritesOnly?: boolean } = {}) {
  const sort = opts.sort ?? 'newest';
  const state = {
    all,
    items: [] as GalleryItem[],
    next: null as string | null,
    total: 0,
    seq: 0,
    reloads: 0,
    errors: [] as unknown[],
    detailChanged: [] as number[],
    detailRemoved: [] as number[],
    queries: [] as GalleryQuery[],
  };
  const matches = (q: GalleryQuery) =>
    state.all
      .filter((it) => !opts.favoritesOnly || it.favorite)
      .filter((it) => typeof q.from !== 'number' || Date.parse(it.createdAt) >= q.from)
      .filter((it) => typeof q.to !== 'number' || Date.parse(it.createdAt) < q.to)
      .sort((a, b) => compareItems(a, b, sort));
  const ctx: LiveContext = {
    query: async (q) => {
      state.queries.push(q);
      const list = matches(q);
      const page = list.slice(0, q.limit ?? 50);
      return { items: page, nextCursor: list.length > page.length ? 'more' : null, total: list.length };
    },
    get: async (id) => {
      const it = state.all.find((x) => x.id === id);
      if (!it) throw new Error('gone');
      return { ...it } as unknown as GalleryDetail;
    },
    baseQuery: () => ({ sort, ...(opts.favoritesOnly ? { favoritesOnly: true } : {}) }),
    sort: () => sort,
    favoritesOnly: () => !!opts.favoritesOnly,
    loaded: () => true,
    seq: () => state.seq,
    items: () => state.items,
    setItems: (l) => {
      state.items = l;
    },
    nextCursor: () => state.next,
    setNextCursor: (c) => {
      state.next = c;
    },
    setTotal: (n) => {
      state.total = n;
    },
    reload: async () => {
      state.reloads++;
    },
    recentlyRemoved: () => undefined,
    noteSeen: () => undefined,
    detailChanged: (ids) => state.detailChanged.push(...ids),
    detailRemoved: (ids) => state.detailRemoved.push(...ids),
    error: (e) => state.errors.push(e),
  };
  const first = matches({}).slice(0, loadedCount);
  state.items = first;
  state.next = loadedCount < matches({}).length ? 'more' : null;
  state.total = matches({}).length;
  return { state, ctx };
}

describe('insertSorted', () => {
  it('puts items in (createdAt, id) order, newest first, and skips ones already there', () => {
    const list = [item(5, 500), item(3, 300), item(1, 100)];
    const next = insertSorted(list, [item(4, 400), item(3, 300), item(6, 600)], 'newest', false)!;
    expect(next.map((x) => x.id)).toEqual([6, 5, 4, 3, 1]);
    expect(list.map((x) => x.id)).toEqual([5, 3, 1]); // not mutated
  });
  it('leaves out items past the loaded end while more pages remain, and answers undefined when nothing changes', () => {
    const list = [item(5, 500), item(3, 300)];
    expect(insertSorted(list, [item(1, 100)], 'newest', true)).toBeUndefined();
    expect(insertSorted(list, [item(1, 100)], 'newest', false)!.map((x) => x.id)).toEqual([5, 3, 1]);
    expect(insertSorted(list, [], 'newest', false)).toBeUndefined();
  });
  it('orders ties on createdAt by id, and oldest first when asked', () => {
    const next = insertSorted([item(1, 100), item(3, 100)], [item(2, 100)], 'oldest', false)!;
    expect(next.map((x) => x.id)).toEqual([1, 2, 3]);
  });
});

describe('createGalleryReconciler', () => {
  it('added: new images appear at the top with the server total', async () => {
    const all = [item(1, 100), item(2, 200), item(3, 300)];
    const { state, ctx } = world(all, 3);
    const r = createGalleryReconciler(ctx);
    state.all = [...all, item(4, 400), item(5, 500)];
    r.onChanged({ kind: 'added', ids: [4, 5] });
    await r.idle();
    expect(state.items.map((x) => x.id)).toEqual([5, 4, 3, 2, 1]);
    expect(state.total).toBe(5);
  });

  it('added: more new images than one page reloads instead of leaving a gap', async () => {
    const { state, ctx } = world([item(1, 100)], 1);
    const r = createGalleryReconciler(ctx);
    state.all = [item(1, 100), ...Array.from({ length: 40 }, (_, i) => item(10 + i, 1000 + i))];
    r.onChanged({ kind: 'added', ids: [10, 11] });
    await r.idle();
    expect(state.reloads).toBe(1);
  });

  it('added: an answer that comes after the filters changed is dropped', async () => {
    const { state, ctx } = world([item(1, 100)], 1);
    const slow = ctx.query;
    ctx.query = async (q) => {
      state.seq++; // the filters change while the question is out
      return slow(q);
    };
    const r = createGalleryReconciler(ctx);
    state.all = [item(1, 100), item(2, 200)];
    r.onChanged({ kind: 'added', ids: [2] });
    await r.idle();
    expect(state.items.map((x) => x.id)).toEqual([1]);
  });

  it('updated: an unfavorited image leaves a favorites-only grid; the detail is told', async () => {
    const all = [item(1, 100, { favorite: true }), item(2, 200, { favorite: true })];
    const { state, ctx } = world(all, 2, { favoritesOnly: true });
    const r = createGalleryReconciler(ctx);
    state.all = [item(1, 100, { favorite: true }), item(2, 200, { favorite: false })];
    r.onChanged({ kind: 'updated', ids: [2] });
    await r.idle();
    expect(state.items.map((x) => x.id)).toEqual([1]);
    expect(state.total).toBe(1);
    expect(state.detailChanged).toEqual([2]);
  });

  it('updated: a favorite made elsewhere joins a favorites-only grid', async () => {
    const { state, ctx } = world([item(1, 100, { favorite: true }), item(2, 200)], 1, { favoritesOnly: true });
    const r = createGalleryReconciler(ctx);
    state.all = [item(1, 100, { favorite: true }), item(2, 200, { favorite: true })];
    r.onChanged({ kind: 'updated', ids: [2] });
    await r.idle();
    expect(state.items.map((x) => x.id)).toEqual([2, 1]);
  });

  it('removed and restored: out of the grid and back in place, applied in arrival order', async () => {
    const all = [item(1, 100), item(2, 200), item(3, 300)];
    const { state, ctx } = world(all, 3);
    const r = createGalleryReconciler(ctx);
    state.all = [item(1, 100), item(3, 300)];
    r.onChanged({ kind: 'removed', ids: [2] });
    state.all = all; // restored before the first change was even applied
    r.onChanged({ kind: 'restored', ids: [2] });
    await r.idle();
    expect(state.items.map((x) => x.id)).toEqual([3, 2, 1]);
    expect(state.detailRemoved).toEqual([2]);
  });

  it('purged images that were not shown cost no count query; reset reloads; errors are reported', async () => {
    const { state, ctx } = world([item(1, 100)], 1);
    const r = createGalleryReconciler(ctx);
    r.onChanged({ kind: 'purged', ids: [99] });
    await r.idle();
    expect(state.queries).toHaveLength(0);
    r.onChanged({ kind: 'reset', ids: [] });
    await r.idle();
    expect(state.reloads).toBe(1);
    ctx.query = () => Promise.reject(new Error('server gone'));
    r.onChanged({ kind: 'added', ids: [7] });
    await r.idle();
    expect(String(state.errors[0])).toContain('server gone');
  });
});

describe('itemOf', () => {
  it('keeps every item field of a detail, the optional ones too (Compare labels sampling and LoRA axes from them)', () => {
    const base = item(7, 1000, { sampler: 'euler', scheduler: 'normal', shift: 3, slgScale: 2.5, loras: [{ name: 'ink', strength: 0.5 }] });
    const detail: GalleryDetail = { ...base, jobId: 1, status: 'done', ep: 'cpu', timings: null, startedAt: null, finishedAt: null, meta: { a: 1 }, imported: null, deletedAt: null };
    expect(itemOf(detail)).toEqual(base);
  });
});
