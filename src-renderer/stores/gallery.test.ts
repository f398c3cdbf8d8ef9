// The gallery store over a fake client that answers like the server (stores/gallery.ts): the favourites filter
// (the query it sends, the reload when it changes, an image leaving the filtered view when unfavourited), and the
// filters' other effects on what is asked.
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { GalleryItem, GalleryQuery } from '../../src-shared/schemas/gallery';
import { setStudio } from '../studio';
import { fakeClient, type FakeClient } from '../testing/fake-client';
import { galleryItem } from '../testing/gallery-item';
import { queryFor, useGalleryStore } from './gallery';

const item = (id: number, favorite = false): GalleryItem => galleryItem(id, { favorite });

describe('gallery store: favourites', () => {
  let client: FakeClient;
  let all: GalleryItem[];
  const queries = () => client.calls.filter((c) => c.method === 'gallery.query').map((c) => c.params as GalleryQuery);

  beforeEach(() => {
    setActivePinia(createPinia());
    all = [item(4), item(3, true), item(2), item(1, true)];
    client = fakeClient({
      // As the server does: newest first, favouritesOnly narrows, total counts what matches.
      'gallery.query': (q) => {
        const list = all.filter((it) => !q.favoritesOnly || it.favorite);
        return { items: list, nextCursor: null, total: list.length };
      },
      'gallery.setFavorite': ({ id, favorite }) => {
        all = all.map((it) => (it.id === id ? { ...it, favorite } : it));
        return all.find((it) => it.id === id)!;
      },
    });
    setStudio(client);
  });

  it('"Favorites only" asks the server for favourites only, and shows its answer; unchecking shows all again', async () => {
    const g = useGalleryStore();
    await g.ensureLoaded();
    expect(g.items.map((it) => it.id)).toEqual([4, 3, 2, 1]);
    expect(queries()[0]!.favoritesOnly).toBeUndefined();
    g.filters.favoritesOnly = true;
    await vi.waitFor(() => expect(g.items.map((it) => it.id)).toEqual([3, 1]));
    expect(queries().at(-1)).toMatchObject({ favoritesOnly: true });
    expect([g.total, g.filtersActive, g.narrowed]).toEqual([2, true, true]);
    g.filters.favoritesOnly = false;
    await vi.waitFor(() => expect(g.items.map((it) => it.id)).toEqual([4, 3, 2, 1]));
    expect(queries().at(-1)!.favoritesOnly).toBeUndefined();
    expect([g.total, g.filtersActive, g.narrowed]).toEqual([4, false, false]);
  });

  it('unfavouriting under "Favorites only" takes the image out of the view and the count; without the filter it stays', async () => {
    const g = useGalleryStore();
    g.filters.favoritesOnly = true;
    await g.ensureLoaded();
    await vi.waitFor(() => expect(g.items.map((it) => it.id)).toEqual([3, 1]));
    await g.setFavorite(3, false);
    expect(g.items.map((it) => it.id)).toEqual([1]);
    expect(g.total).toBe(1);
    g.filters.favoritesOnly = false;
    await vi.waitFor(() => expect(g.items.map((it) => it.id)).toEqual([4, 3, 2, 1]));
    await g.setFavorite(1, false);
    expect(g.items.map((it) => [it.id, it.favorite])).toEqual([
      [4, false],
      [3, false],
      [2, false],
      [1, false],
    ]);
    expect(g.total).toBe(4);
  });

  it('resetFilters clears "Favorites only" (and keeps the sort)', async () => {
    const g = useGalleryStore();
    await g.ensureLoaded();
    g.filters.favoritesOnly = true;
    g.filters.sort = 'oldest';
    g.resetFilters();
    expect([g.filters.favoritesOnly, g.filters.sort]).toEqual([false, 'oldest']);
    expect(queryFor(g.filters)).toEqual({ sort: 'oldest' });
    expect(queryFor({ ...g.filters, favoritesOnly: true })).toEqual({ sort: 'oldest', favoritesOnly: true });
  });
});
