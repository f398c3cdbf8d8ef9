// Where Compare's Source pane takes its picture from: the live gallery image by id, else the kept input by sha256,
// else "gone" with the reason — never a path, never a broken image. One chain for an upscale's source and an
// img2img/inpaint result's init image.
import { afterEach, describe, expect, it } from 'vitest';
import { StudioError } from '../../../src-shared/errors';
import { sourceOf } from '../../../src-shared/image-source';
import type { GalleryDetail } from '../../../src-shared/schemas/gallery';
import { setStudio } from '../../studio';
import { fakeClient, type FakeClient } from '../../testing/fake-client';
import { galleryState, sourcePicture } from './source-image';

const SHA = 'd'.repeat(64);
const PNG_B64 = btoa('\x89PNG');
const made: string[] = [];

function client(opts: { deletedAt?: string | null; purged?: boolean; kept?: boolean }): FakeClient {
  const c = fakeClient({
    'gallery.get': ({ id }) => {
      if (opts.purged) throw new StudioError('not_found', `Image ${id} is not in the gallery.`);
      return { id, deletedAt: opts.deletedAt ?? null } as GalleryDetail;
    },
    'inputs.get': ({ sha256 }) => {
      if (!opts.kept) throw new StudioError('not_found', `The init image of this job (${sha256.slice(0, 12)}…) is no longer in the data folder.`);
      return { sha256, dataBase64: PNG_B64, mimeType: 'image/png', width: 1, height: 1, format: 'png' } as never;
    },
  });
  setStudio(c);
  return c;
}

afterEach(() => {
  for (const u of made.splice(0)) URL.revokeObjectURL(u);
});

describe('sourcePicture', () => {
  it('a live gallery image: its media URL by id (no bytes fetched)', async () => {
    const c = client({ kept: true });
    expect(await sourcePicture({ sha256: SHA, imageId: 5 })).toEqual({ kind: 'picture', url: '/media/image/5', from: 'gallery', objectUrl: false });
    expect(c.calls.map((x) => x.method)).toEqual(['gallery.get']);
  });

  it('a trashed or purged source: the kept input by sha256', async () => {
    for (const opts of [{ deletedAt: '2026-01-01T00:00:00.000Z', kept: true }, { purged: true, kept: true }]) {
      const c = client(opts);
      const p = await sourcePicture({ sha256: SHA, imageId: 5 });
      expect(p).toMatchObject({ kind: 'picture', from: 'kept', objectUrl: true });
      if (p.kind === 'picture') made.push(p.url);
      expect(c.calls.map((x) => x.method)).toEqual(['gallery.get', 'inputs.get']);
    }
  });

  it("the gallery file failed to load: straight to the kept copy; no gallery id (the CLI's file): the kept copy", async () => {
    client({ kept: true });
    const a = await sourcePicture({ sha256: SHA, imageId: 5 }, true);
    const b = await sourcePicture({ sha256: SHA });
    expect([a.kind === 'picture' && a.from, b.kind === 'picture' && b.from]).toEqual(['kept', 'kept']);
    for (const p of [a, b]) if (p.kind === 'picture') made.push(p.url);
  });

  it("an img2img or inpaint result's init image takes the same chain: the live gallery image by id, else the kept input", async () => {
    const source = sourceOf({ initSha256: SHA, initImageId: 6, maskSha256: 'e'.repeat(64) })!;
    let c = client({ kept: true });
    expect(await sourcePicture(source)).toEqual({ kind: 'picture', url: '/media/image/6', from: 'gallery', objectUrl: false });
    expect(c.calls.map((x) => [x.method, x.params])).toEqual([['gallery.get', { id: 6 }]]);
    c = client({ deletedAt: '2026-01-01T00:00:00.000Z', kept: true });
    const p = await sourcePicture(source);
    expect(p).toMatchObject({ kind: 'picture', from: 'kept' });
    if (p.kind === 'picture') made.push(p.url);
    expect(c.calls.map((x) => [x.method, x.params])).toEqual([['gallery.get', { id: 6 }], ['inputs.get', { sha256: SHA }]]);
  });

  it('nothing left: "gone", saying why', async () => {
    client({ deletedAt: '2026-01-01T00:00:00.000Z' });
    expect(await sourcePicture({ sha256: SHA, imageId: 5 })).toEqual({ kind: 'gone', message: 'The source is gone: image #5 is in the trash and its kept copy is no longer in the data folder.' });
    client({ purged: true });
    expect(await sourcePicture({ sha256: SHA, imageId: 5 })).toEqual({ kind: 'gone', message: 'The source is gone: image #5 was deleted and its kept copy is no longer in the data folder.' });
    expect(await sourcePicture({ sha256: SHA })).toEqual({ kind: 'gone', message: 'The source is gone: its kept copy is no longer in the data folder.' });
  });

  it('another failure is not "gone": it is thrown for the pane to show', async () => {
    const c = client({});
    c.handlers['gallery.get'] = () => {
      throw new StudioError('internal', 'the database is locked');
    };
    await expect(sourcePicture({ sha256: SHA, imageId: 5 })).rejects.toThrow('the database is locked');
    await expect(galleryState(5)).rejects.toThrow('the database is locked');
  });
});
