import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import { StudioError } from '../../src-shared/errors';
import type { Comparison } from '../../src-shared/schemas/compare';
import type { GalleryDetail } from '../../src-shared/schemas/gallery';
import { setStudio } from '../studio';
import { fakeClient, type FakeClient } from '../testing/fake-client';
import { useCompareStore } from './compare';

function detail(id: number, over: Partial<GalleryDetail> = {}): GalleryDetail {
  return {
    id,
    createdAt: '2026-01-01T00:00:00.000Z',
    prompt: 'a fox',
    negativePrompt: '',
    seed: String(1000 + id),
    steps: 28,
    guidance: 4.5,
    width: 64,
    height: 64,
    pixelWidth: 64,
    pixelHeight: 64,
    model: 'sd3.5-medium',
    favorite: false,
    bytes: 10,
    path: `${id}.png`,
    source: 'generated',
    jobId: 7,
    status: 'done',
    ep: 'cpu',
    timings: null,
    startedAt: null,
    finishedAt: null,
    meta: null,
    imported: null,
    deletedAt: null,
    ...over,
  };
}

let client: FakeClient;
let gallery: Map<number, GalleryDetail>;
beforeEach(() => {
  setActivePinia(createPinia());
  gallery = new Map([1, 2, 3, 4].map((id) => [id, detail(id)]));
  client = fakeClient({
    'gallery.get': ({ id }) => {
      const d = gallery.get(id);
      if (!d) throw new StudioError('not_found', `no image ${id}`);
      return d;
    },
    'compare.jobImages': ({ jobId }) => ({ jobId, imageIds: jobId === 7 ? [3, 1, 2] : [] }),
    'gallery.setFavorite': ({ id, favorite }) => {
      const d = { ...gallery.get(id)!, favorite };
      gallery.set(id, d);
      return d;
    },
    'gallery.delete': ({ ids }) => {
      for (const id of ids) gallery.set(id, { ...gallery.get(id)!, deletedAt: '2026-01-02T00:00:00.000Z' });
      return { undoToken: 'u1', deleted: ids.length };
    },
    'gallery.restore': () => {
      for (const [id, d] of gallery) gallery.set(id, { ...d, deletedAt: null });
      return { restored: 1 };
    },
    'compare.list': () => ({ items: [] }),
  });
  setStudio(client);
});

describe('compare store', () => {
  it('openFromJob shows the images of the job in the compare order and remembers the job', async () => {
    const store = useCompareStore();
    await store.openFromJob(7);
    expect(store.items.map((i) => i.id)).toEqual([1, 2, 3]);
    expect(store.imageIds).toEqual([1, 2, 3]);
    expect(store.jobId).toBe(7);
    expect(store.layout.differing).toEqual(['seed']);
    await store.openFromJob(8);
    expect(store.error).toMatch(/no finished images/);
  });

  it('one order whoever opens the set: the Gallery (newest first) and the queue (its job) show the same seeds in the same cells', async () => {
    const store = useCompareStore();
    await store.openImages([3, 2, 1]); // the Gallery's selection, in its newest-first order
    const fromGallery = store.items.map((i) => i.seed);
    expect(store.imageIds).toEqual([1, 2, 3]);
    expect(store.shows([2, 3, 1])).toBe(true);
    await store.openFromJob(7); // compare.jobImages answers [3, 1, 2] here
    expect(store.items.map((i) => i.seed)).toEqual(fromGallery);
    expect(fromGallery).toEqual(['1001', '1002', '1003']);
  });

  it('openImages leaves out (and names) images that are gone or in the trash', async () => {
    gallery.set(2, detail(2, { deletedAt: '2026-01-02T00:00:00.000Z' }));
    const store = useCompareStore();
    await store.openImages([1, 2, 99, 4, 1]);
    expect(store.imageIds).toEqual([1, 2, 4, 99]);
    expect(store.items.map((i) => i.id)).toEqual([1, 4]);
    expect(store.missing).toEqual([2, 99]);
  });

  it('export saves the comparison first (with its job), then exports that id', async () => {
    const created: Comparison = { id: 5, name: 'Job 7 · 3 images', jobId: 7, createdAt: '', updatedAt: '', imageIds: [1, 2, 3], items: [], trashed: 0 };
    client.handlers['compare.create'] = (p) => {
      expect(p).toEqual({ imageIds: [1, 2, 3], jobId: 7 });
      return created;
    };
    client.handlers['compare.export'] = ({ id }) => ({ delivery: 'saved', fileName: `comparison-${id}.png`, width: 10, height: 10 });
    const store = useCompareStore();
    await store.openFromJob(7);
    const file = await store.exportGrid();
    expect(file).toEqual({ delivery: 'saved', fileName: 'comparison-5.png', width: 10, height: 10 });
    expect(store.savedId).toBe(5);
    expect(store.name).toBe('Job 7 · 3 images');
    await store.exportGrid();
    expect(client.calls.filter((c) => c.method === 'compare.create')).toHaveLength(1);
  });

  it('downloadHref: browser mode adds the studio token to a one-time download path; a client without it keeps the path', () => {
    const store = useCompareStore();
    expect(store.downloadHref('/download/abc')).toBe('/download/abc');
    setStudio({ ...client, downloadUrl: (p: string) => `${p}?token=t0k` });
    expect(useCompareStore().downloadHref('/download/abc')).toBe('/download/abc?token=t0k');
  });

  it('togglePick marks and unmarks a favorite; trash removes the image and Undo restores it', async () => {
    const store = useCompareStore();
    await store.openImages([1, 2, 3]);
    await store.togglePick(2);
    expect(gallery.get(2)!.favorite).toBe(true);
    expect([...store.picks]).toEqual([2]);
    await store.togglePick(2);
    expect(store.picks.size).toBe(0);
    await store.trash(3, 'Seed 1003');
    expect(store.items.map((i) => i.id)).toEqual([1, 2]);
    expect(store.trashed).toMatchObject({ id: 3, undoToken: 'u1' });
    await store.undoTrash();
    expect(client.calls.find((c) => c.method === 'gallery.restore')?.params).toEqual({ undoToken: 'u1' });
    expect(store.items.map((i) => i.id)).toEqual([1, 2, 3]);
    expect(store.trashed).toBeUndefined();
  });

  it('follows gallery.changed: an image trashed elsewhere leaves, a restored one comes back', async () => {
    const store = useCompareStore();
    const stop = store.listen();
    await store.openImages([1, 2, 3]);
    client.emit('gallery.changed', { kind: 'removed', ids: [2, 9] });
    expect(store.items.map((i) => i.id)).toEqual([1, 3]);
    client.emit('gallery.changed', { kind: 'purged', ids: [9] });
    expect(store.items.map((i) => i.id)).toEqual([1, 3]);
    client.emit('gallery.changed', { kind: 'restored', ids: [2] });
    await expect.poll(() => store.items.map((i) => i.id)).toEqual([1, 2, 3]);
    stop();
    expect(client.listenerCount('gallery.changed')).toBe(0);
  });
});
