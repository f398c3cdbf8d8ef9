// What an image was made from, as the gallery record says it (queries.ts initOfRow and upscaleOfRow) over real
// SQLite rows: an upscale record (ours, and one of another tool's image), an img2img record, a plain one, an
// imported upscaled file (its gallery id names another gallery's image: sha256 only) and a damaged record.
import { beforeAll, describe, expect, it } from 'vitest';
import type { UpscaleSpec } from '../../../src-shared/upscale';
import { openDatabase, type Db } from '../db';
import { imageRelPath } from './files';
import { Generations } from './generations';
import { ImageRows } from './images';
import { Queries } from './queries';
import { makeMeta } from '../../testing/history/fixtures';

const SRC = 'a'.repeat(64);
const INIT = 'b'.repeat(64);
const MASK = 'c'.repeat(64);
const SPEC: UpscaleSpec = { source: { sha256: SRC, imageId: 7 }, upscaler: 'lanczos', scale: 2, sourceWidth: 64, sourceHeight: 48, width: 128, height: 96 };

let db: Db;
let q: Queries;
let next = 0;

/** One done generation with an image row whose `meta` column is exactly `meta`. */
function row(meta: unknown, source: 'generated' | 'imported' = 'generated'): number {
  const gens = new Generations(db);
  const images = new ImageRows(db);
  const id = gens.reserveIds(1);
  const createdAt = Date.UTC(2025, 0, 1) + ++next * 1000;
  gens.insertImportJob(
    { id, seed: '1', prompt: 'p', negativePrompt: '', steps: 4, guidance: 1, width: 64, height: 48, model: 'm', meta: meta === null ? null : JSON.stringify(meta), status: 'done', ep: null, createdAt, startedAt: createdAt, finishedAt: createdAt },
    { prompt: 'p' },
  );
  images.insert({ id, path: imageRelPath(id, createdAt), width: 128, height: 96, bytes: 1, model: 'm', createdAt, source, originalName: null });
  return id;
}

beforeAll(() => {
  db = openDatabase(':memory:');
  q = new Queries(db);
});

describe('the gallery record says what an image was made from', () => {
  it('an upscale of one of our images: source sha256 and gallery id, upscaler and factor (no init)', () => {
    const id = row({ ...makeMeta(), upscale: SPEC });
    const r = q.item(id)!;
    expect(r.upscaledFrom).toEqual({ sha256: SRC, imageId: 7, upscaler: 'lanczos', scale: 2 });
    expect(r.initSha256).toBeUndefined();
  });

  it("an upscale of another tool's image (`upscale` beside `imported`) reads the same", () => {
    const id = row({ imported: { source: 'a1111', extra: {} }, upscale: { ...SPEC, upscaler: 'tiny-x2', scale: 4, width: 256, height: 192 } });
    expect(q.item(id)!.upscaledFrom).toEqual({ sha256: SRC, imageId: 7, upscaler: 'tiny-x2', scale: 4 });
  });

  it('an upscale made from a file (the CLI): sha256 only', () => {
    const { imageId: _id, ...source } = SPEC.source;
    const id = row({ ...makeMeta(), upscale: { ...SPEC, source } });
    expect(q.item(id)!.upscaledFrom).toEqual({ sha256: SRC, upscaler: 'lanczos', scale: 2 });
  });

  it("an upscale of an img2img result: both records, each its own (the upscale's source is the image it enlarged)", () => {
    const id = row({ ...makeMeta(), init: { sha256: INIT, strength: 0.6, fit: 'resize' }, upscale: SPEC });
    const r = q.item(id)!;
    expect(r.upscaledFrom?.sha256).toBe(SRC);
    expect(r.initSha256).toBe(INIT);
  });

  it('an imported upscaled file: its gallery id names an image of another gallery, so only the sha256', () => {
    const id = row({ ...makeMeta(), upscale: SPEC }, 'imported');
    expect(q.item(id)!.upscaledFrom).toEqual({ sha256: SRC, upscaler: 'lanczos', scale: 2 });
  });

  it('an img2img result: the init and mask by sha256 and the strength, no upscale', () => {
    const id = row({ ...makeMeta(), init: { sha256: INIT, imageId: 3, strength: 0.5, fit: 'crop', mask: { sha256: MASK, blur: 4 } } });
    const r = q.item(id)!;
    expect(r).toMatchObject({ initSha256: INIT, initImageId: 3, maskSha256: MASK, strength: 0.5 });
    expect(r.upscaledFrom).toBeUndefined();
  });

  it("an img2img result from a file (no gallery id), or imported (its id names another gallery's image): sha256 only", () => {
    const init = { sha256: INIT, strength: 0.5, fit: 'crop' };
    for (const [meta, source] of [
      [{ ...makeMeta(), init }, 'generated'],
      [{ ...makeMeta(), init: { ...init, imageId: 3 } }, 'imported'],
    ] as const) {
      const r = q.item(row(meta, source))!;
      expect(r.initSha256).toBe(INIT);
      expect(r.initImageId, source).toBeUndefined();
    }
  });

  it('a damaged init gallery id is left out (not an error); the init by sha256 stays', () => {
    for (const imageId of ['3', 0, -2, 1.5, 2 ** 53, null, { id: 3 }]) {
      const r = q.item(row({ ...makeMeta(), init: { sha256: INIT, imageId, strength: 0.5, fit: 'crop' } }))!;
      expect(r.initSha256).toBe(INIT);
      expect(r.initImageId, JSON.stringify(imageId)).toBeUndefined();
    }
  });

  it('a plain image (text to image, or imported without a record): no source at all', () => {
    for (const meta of [makeMeta(), null, { imported: { source: 'a1111', extra: {} } }]) {
      const r = q.item(row(meta))!;
      expect(r.upscaledFrom).toBeUndefined();
      expect(r.initSha256).toBeUndefined();
    }
  });

  it('a damaged upscale record is no source (not an error): bad sha256, unknown factor, not an object', () => {
    for (const upscale of [{ ...SPEC, source: { sha256: 'nope' } }, { ...SPEC, scale: 3 }, 'lanczos', [1, 2]]) {
      expect(q.item(row({ ...makeMeta(), upscale }))!.upscaledFrom, JSON.stringify(upscale)).toBeUndefined();
    }
  });

  it('pages carry it too (the grid and Compare read the same record)', () => {
    const id = row({ ...makeMeta(), upscale: SPEC });
    expect(q.page({ limit: 500 }).items.find((i) => i.id === id)?.upscaledFrom).toEqual({ sha256: SRC, imageId: 7, upscaler: 'lanczos', scale: 2 });
    const img2img = row({ ...makeMeta(), init: { sha256: INIT, imageId: 3, strength: 0.5, fit: 'crop' } });
    expect(q.page({ limit: 500 }).items.find((i) => i.id === img2img)).toMatchObject({ initSha256: INIT, initImageId: 3 });
  });
});
