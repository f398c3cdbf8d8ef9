// HistoryService over a real data folder and SQLite file: saving (file first, then rows), metadata in
// the PNG, jobs and statuses, favorites, trash → restore → empty (files really gone), the 30-day
// sweep, export with and without metadata, thumbnails, imports of other tools' files, disk full.
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { fixtureFor } from '../../../e2e/support/fixtures';
import { isStudioError, StudioError } from '../../../src-shared/errors';
import { parseTextChunks } from '../../../src-shared/metadata';
import { removeTempDirs } from '../../testing/temp';
import type { Db } from '../db';
import { readPngInfo } from '../../formats/png';
import type { FileWriter } from './files';
import { HistoryService, type HistoryServiceOptions } from './service';
import { makeMeta, makePixels, openTestDb, tempDataDir } from '../../testing/history/fixtures';
import type { GalleryChange } from './types';

const open: Db[] = [];
afterEach(() => {
  while (open.length) open.pop()!.close();
});
afterAll(removeTempDirs);

function setup(options: Partial<HistoryServiceOptions> = {}): { service: HistoryService; dir: string; db: Db; changes: GalleryChange[] } {
  const dir = tempDataDir();
  const db = openTestDb(dir);
  open.push(db);
  const service = new HistoryService({ db, dataDir: dir, ...options });
  const changes: GalleryChange[] = [];
  service.onChanged((c) => changes.push(c));
  return { service, dir, db, changes };
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(d, e.name), `${rel}${e.name}/`);
      else out.push(`${rel}${e.name}`);
    }
  };
  if (fs.existsSync(dir)) walk(dir, '');
  return out.sort();
}

const DAY = 86_400_000;

describe('saveImage', () => {
  it('writes images/YYYY/MM/<id>.png (UTC month) and then the rows; no tmp file is left', async () => {
    const { service, dir, db, changes } = setup();
    // 23:30 on 31 Dec at UTC−2 is already January in UTC.
    const rec = await service.saveImage({ pixels: makePixels(64, 48), meta: makeMeta(), createdAt: new Date('2024-12-31T23:30:00-02:00') });
    expect(rec.path).toBe(`images/2025/01/${rec.id}.png`);
    expect(filesUnder(path.join(dir, 'images'))).toEqual([`2025/01/${rec.id}.png`]);
    expect(rec.bytes).toBe(fs.statSync(path.join(dir, rec.path)).size);
    expect(rec).toMatchObject({ prompt: 'a red fox in a misty forest, watercolor', seed: '42', width: 64, height: 48, model: 'sd3.5-medium', favorite: false, source: 'generated' });
    expect(db.prepare(`SELECT status FROM generations WHERE id = ?`).get(rec.id)).toEqual({ status: 'done' });
    expect(changes).toEqual([{ kind: 'added', ids: [rec.id] }]);
  });

  it('embeds the A1111 parameters and the lossless sd35studio chunks, which parse back to the same metadata', async () => {
    const { service, dir } = setup();
    const meta = makeMeta({ prompt: 'a "quoted", colon: prompt\nwith a newline and émoji 🦊', seed: '18446744073709551615' });
    const rec = await service.saveImage({ pixels: makePixels(32, 32), meta });
    const info = readPngInfo(fs.readFileSync(path.join(dir, rec.path)));
    expect(info.chunks.map((c) => c.keyword)).toEqual(['parameters', 'sd35studio']);
    expect(info.chunks[0]!.text).toMatch(/Steps: 28, Sampler: Euler, Schedule type: Normal, CFG scale: 4\.5, Seed: 18446744073709551615, Size: 64x48, Shift: 3/);
    const parsed = parseTextChunks(info.chunks);
    expect(parsed?.source).toBe('sd35studio');
    expect(parsed?.studio).toEqual(meta);
    expect(service.get(rec.id).seed).toBe('18446744073709551615');
  });

  it('gives the same bytes for the same pixels and parameters', async () => {
    const { service, dir } = setup();
    const a = await service.saveImage({ pixels: makePixels(40, 40, 3), meta: makeMeta() });
    const b = await service.saveImage({ pixels: makePixels(40, 40, 3), meta: makeMeta() });
    expect(fs.readFileSync(path.join(dir, a.path)).equals(fs.readFileSync(path.join(dir, b.path)))).toBe(true);
    expect(b.id).toBeGreaterThan(a.id);
  });

  it('rejects pixels that do not match their size, and invalid metadata, before writing anything', async () => {
    const { service, dir, db } = setup();
    await expect(service.saveImage({ pixels: { width: 4, height: 4, channels: 3, data: new Uint8Array(10) }, meta: makeMeta() })).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(service.saveImage({ pixels: makePixels(4, 4), meta: makeMeta({ seed: '-5' }) })).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(service.saveImage({ pixels: makePixels(4, 4), meta: makeMeta({ steps: 0 }) })).rejects.toMatchObject({ code: 'invalid_input' });
    expect(filesUnder(path.join(dir, 'images'))).toEqual([]);
    expect(db.prepare(`SELECT count(*) AS n FROM images`).get()).toEqual({ n: 0 });
  });
});

describe('gallery edits', () => {
  it('favorites: filter, totals and events', async () => {
    const { service, changes } = setup();
    const a = await service.saveImage({ pixels: makePixels(8, 8), meta: makeMeta({ prompt: 'alpha' }) });
    const b = await service.saveImage({ pixels: makePixels(8, 8), meta: makeMeta({ prompt: 'beta' }) });
    expect(service.setFavorite(b.id, true).favorite).toBe(true);
    expect(service.query({ favoritesOnly: true })).toMatchObject({ total: 1, items: [{ id: b.id }] });
    service.setFavorite(b.id, false);
    expect(service.query({ favoritesOnly: true }).total).toBe(0);
    expect(changes.filter((c) => c.kind === 'updated')).toEqual([{ kind: 'updated', ids: [b.id] }, { kind: 'updated', ids: [b.id] }]);
    expect(() => service.setFavorite(a.id + 1000, true)).toThrow(expect.objectContaining({ code: 'not_found' }));
  });

  it('delete → trash → restore (undo) → delete → empty trash: files really gone, rows and search entries too', async () => {
    const { service, dir, db, changes } = setup();
    const keep = await service.saveImage({ pixels: makePixels(16, 16), meta: makeMeta({ prompt: 'keeper' }) });
    const x = await service.saveImage({ pixels: makePixels(16, 16), meta: makeMeta({ prompt: 'zebra one' }) });
    const y = await service.saveImage({ pixels: makePixels(16, 16), meta: makeMeta({ prompt: 'zebra two' }) });
    await service.thumbPath(x.id, 256);
    expect(fs.existsSync(path.join(dir, 'thumbs', `${x.id}-256.webp`))).toBe(true);

    const del = await service.delete([x.id, y.id, 424242]);
    expect(del.ids.sort()).toEqual([x.id, y.id].sort());
    expect(filesUnder(path.join(dir, 'trash'))).toEqual([`${x.id}.png`, `${y.id}.png`].sort());
    expect(fs.existsSync(path.join(dir, x.path))).toBe(false);
    expect(service.query({ search: 'zebra' }).total).toBe(0);
    expect(service.query().total).toBe(1);
    expect(service.imagePath(x.id)).toBeUndefined();
    expect(service.get(x.id).deletedAt).not.toBeNull();

    const restored = await service.restore(del.undoToken);
    expect(restored.ids.sort()).toEqual([x.id, y.id].sort());
    expect(fs.existsSync(path.join(dir, x.path))).toBe(true);
    expect(filesUnder(path.join(dir, 'trash'))).toEqual([]);
    expect(service.query({ search: 'zebra' }).total).toBe(2);
    await expect(service.restore(del.undoToken)).rejects.toMatchObject({ code: 'not_found' });

    await service.delete([x.id]);
    const emptied = await service.emptyTrash();
    expect(emptied.ids).toEqual([x.id]);
    expect(emptied.bytes).toBe(x.bytes);
    expect(filesUnder(path.join(dir, 'trash'))).toEqual([]);
    expect(fs.existsSync(path.join(dir, x.path))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'thumbs', `${x.id}-256.webp`))).toBe(false);
    expect(db.prepare(`SELECT count(*) AS n FROM generations WHERE id = ?`).get(x.id)).toEqual({ n: 0 });
    expect(db.prepare(`SELECT count(*) AS n FROM jobs`).get()).toEqual({ n: 2 });
    expect(service.query({ search: 'zebra' }).items.map((i) => i.id)).toEqual([y.id]);
    expect(() => service.get(x.id)).toThrow(expect.objectContaining({ code: 'not_found' }));
    expect(service.query().total).toBe(2);
    expect(keep.id).toBeLessThan(x.id);
    db.prepare(`INSERT INTO prompt_fts (prompt_fts, rank) VALUES ('integrity-check', 1)`).run();
    expect(changes.map((c) => c.kind)).toEqual(['added', 'added', 'added', 'removed', 'restored', 'removed', 'purged']);
  });

  it('restores by ids, and purges a trashed image whose file vanished instead of restoring a broken row', async () => {
    const { service, dir } = setup();
    const a = await service.saveImage({ pixels: makePixels(8, 8), meta: makeMeta() });
    const b = await service.saveImage({ pixels: makePixels(8, 8), meta: makeMeta() });
    await service.delete([a.id, b.id]);
    fs.rmSync(path.join(dir, 'trash', `${b.id}.png`));
    const r = await service.restore([a.id, b.id]);
    expect(r).toEqual({ ids: [a.id], missing: [b.id] });
    expect(() => service.get(b.id)).toThrow(expect.objectContaining({ code: 'not_found' }));
    expect(service.imagePath(a.id)).toBe(fs.realpathSync(path.join(dir, a.path)));
  });

  it('the 30-day sweep removes only what has been in the trash for 30 days', async () => {
    let now = Date.UTC(2025, 4, 1);
    const { service, dir } = setup({ now: () => now });
    const old = await service.saveImage({ pixels: makePixels(8, 8), meta: makeMeta() });
    const recent = await service.saveImage({ pixels: makePixels(8, 8), meta: makeMeta() });
    await service.delete([old.id]);
    now += 10 * DAY;
    await service.delete([recent.id]);
    now += 19 * DAY; // old: 29 days in the trash
    expect((await service.sweepTrash()).ids).toEqual([]);
    now += DAY; // old: 30 days, recent: 20 days
    expect((await service.sweepTrash()).ids).toEqual([old.id]);
    expect(filesUnder(path.join(dir, 'trash'))).toEqual([`${recent.id}.png`]);
    expect((await service.emptyTrash({ olderThanDays: 21 })).ids).toEqual([]);
    expect((await service.emptyTrash({ olderThanDays: 20 })).ids).toEqual([recent.id]);
    await expect(service.emptyTrash({ olderThanDays: -1 })).rejects.toMatchObject({ code: 'invalid_input' });
  });
});

describe('files out', () => {
  it('exports with all metadata (the file as stored) or without any text chunk (same pixels)', async () => {
    const { service, dir } = setup();
    const rec = await service.saveImage({ pixels: makePixels(24, 16, 5), meta: makeMeta() });
    const withMeta = await service.exportFile(rec.id, { metadata: true });
    expect(withMeta.equals(fs.readFileSync(path.join(dir, rec.path)))).toBe(true);
    const bare = await service.exportFile(rec.id, { metadata: false });
    expect(readPngInfo(bare).chunks).toEqual([]);
    expect(bare.length).toBeLessThan(withMeta.length);
    const px = async (b: Buffer) => sharp(b).raw().toBuffer();
    expect((await px(bare)).equals(await px(withMeta))).toBe(true);
    await expect(service.exportFile(rec.id + 99, { metadata: true })).rejects.toMatchObject({ code: 'not_found' });
  });

  it('makes 256 and 512 px WebP thumbnails once, and again when the cache file is gone', async () => {
    const { service } = setup();
    const rec = await service.saveImage({ pixels: makePixels(1024, 640), meta: makeMeta({ width: 1024, height: 640 }) });
    const t256 = await service.thumbPath(rec.id, 256);
    const t512 = await service.thumbPath(rec.id, 512);
    expect(t256).toMatch(new RegExp(`thumbs/${rec.id}-256\\.webp$`));
    const m256 = await sharp(t256!).metadata();
    const m512 = await sharp(t512!).metadata();
    expect([m256.format, m256.width, m256.height]).toEqual(['webp', 256, 160]);
    expect([m512.width, m512.height]).toEqual([512, 320]);
    const mtime = fs.statSync(t256!).mtimeMs;
    await new Promise((r) => setTimeout(r, 20));
    expect(await service.thumbPath(rec.id, 256)).toBe(t256);
    expect(fs.statSync(t256!).mtimeMs).toBe(mtime);
    fs.rmSync(t256!);
    expect(await service.thumbPath(rec.id, 256)).toBe(t256);
    expect(fs.existsSync(t256!)).toBe(true);
    expect(await service.thumbPath(rec.id + 50, 256)).toBeUndefined();
  });

  it('serves paths only from rows, inside the data folder', async () => {
    const { service, dir, db } = setup();
    const rec = await service.saveImage({ pixels: makePixels(8, 8), meta: makeMeta() });
    expect(service.imagePath(rec.id)).toBe(fs.realpathSync(path.join(dir, rec.path)));
    db.prepare(`UPDATE images SET path = '../../etc/passwd' WHERE id = ?`).run(rec.id);
    expect(service.imagePath(rec.id)).toBeUndefined();
    expect(service.imagePath(-1)).toBeUndefined();
  });
});

describe('two processes on one data folder', () => {
  it('sees images another connection (a CLI call) saved, totals included', async () => {
    const { service, dir } = setup();
    await service.saveImage({ pixels: makePixels(8, 8), meta: makeMeta({ prompt: 'shared unicorn' }) });
    expect(service.query({ search: 'unicorn' }).total).toBe(1);
    const other = openTestDb(dir);
    open.push(other);
    const cli = new HistoryService({ db: other, dataDir: dir });
    await cli.saveImage({ pixels: makePixels(8, 8), meta: makeMeta({ prompt: 'another unicorn' }) });
    expect(service.query({ search: 'unicorn' }).total).toBe(2);
    expect(service.query({ search: 'unicorn', width: 8 }).total).toBe(2);
    expect(service.query().total).toBe(2);
  });
});

describe('reading back', () => {
  it('get: every parameter; reuse: the Generate form values', async () => {
    const { service } = setup();
    const meta = makeMeta({ prompt: 'p', negativePrompt: 'n', seed: '123', steps: 30, guidance: 5, width: 64, height: 48, shift: 3, t5: false });
    const rec = await service.saveImage({ pixels: makePixels(64, 48), meta });
    const d = service.get(rec.id);
    expect(d.meta).toEqual(meta);
    expect(d.imported).toBeNull();
    expect(service.reuse(rec.id)).toEqual({ prompt: 'p', negativePrompt: 'n', seed: '123', steps: 30, guidance: 5, width: 64, height: 48, model: 'sd3.5-medium', shift: 3, t5: false, sampler: 'euler', scheduler: 'normal' });
  });
});

describe('importFile', () => {
  const a1111 = fixtureFor('service.int.test', 'importFile on a real A1111 PNG', 'foreign-png', 'a1111-03.png');
  const comfy = fixtureFor('service.int.test', 'importFile on a real ComfyUI PNG', 'foreign-png', 'comfyui-01.png');

  it.skipIf(!a1111 || !comfy)('stores another tool\'s PNG byte for byte and indexes what its metadata says', async () => {
    const { service, dir } = setup();
    for (const file of [a1111!, comfy!]) {
      const original = fs.readFileSync(file);
      const rec = await service.importFile(original, path.basename(file));
      expect(rec.source).toBe('imported');
      expect(fs.readFileSync(path.join(dir, rec.path)).equals(original)).toBe(true);
      const d = service.get(rec.id);
      expect(d.imported?.originalName).toBe(path.basename(file));
      expect(d.imported?.parameters).toMatchObject({ source: expect.any(String) });
      expect(d.prompt.length).toBeGreaterThan(0);
      const firstWord = /[\p{L}\p{N}]{3,}/u.exec(d.prompt)![0];
      expect(service.query({ search: firstWord }).items.map((i) => i.id)).toContain(rec.id);
      expect(fs.existsSync(path.join(dir, 'thumbs', `${rec.id}-256.webp`))).toBe(true);
    }
  });

  it('imports our own PNG (from another data folder) with its lossless metadata', async () => {
    const first = setup();
    const rec = await first.service.saveImage({ pixels: makePixels(16, 16), meta: makeMeta({ seed: '77', prompt: 'exported fox' }) });
    const bytes = fs.readFileSync(path.join(first.dir, rec.path));
    const { service } = setup();
    const imported = await service.importFile(bytes, 'fox.png');
    expect(service.get(imported.id).meta).toMatchObject({ seed: '77', prompt: 'exported fox' });
    expect(service.reuse(imported.id)).toMatchObject({ seed: '77', prompt: 'exported fox', steps: 28 });
  });

  it('rejects bad files one by one with a reason while the others import', async () => {
    const { service, dir } = setup();
    const other = setup();
    const good = await other.service.saveImage({ pixels: makePixels(8, 8), meta: makeMeta() });
    const goodBytes = fs.readFileSync(path.join(other.dir, good.path));
    const crc = Buffer.from(goodBytes);
    crc[40] = crc[40]! ^ 0xff; // inside a chunk: its CRC no longer matches
    const huge = Buffer.from(goodBytes);
    huge.writeUInt32BE(100_000, 16);
    huge.writeUInt32BE(100_000, 20);
    const jpeg = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#c33' } }).jpeg().toBuffer();
    const files = [
      { name: 'text.png', data: Buffer.from('hello, not an image') },
      { name: 'crc.png', data: crc },
      { name: 'huge.png', data: huge },
      { name: 'empty.png', data: Buffer.alloc(0) },
      { name: 'ok.png', data: goodBytes },
      { name: 'photo.jpg', data: jpeg },
    ];
    const result = await service.importFiles(files);
    expect(result.imported.map((r) => r.id)).toHaveLength(1);
    expect(result.rejected.map((r) => r.name)).toEqual(['text.png', 'crc.png', 'huge.png', 'empty.png', 'photo.jpg']);
    for (const r of result.rejected) expect(r.reason.length).toBeGreaterThan(10);
    expect(result.rejected.at(-1)!.reason).toMatch(/PNG files only/);
    expect(filesUnder(path.join(dir, 'images'))).toHaveLength(1);
  });

  it('rejects a PNG whose pixel data cannot be decoded, and stores nothing', async () => {
    const { service, dir, db } = setup();
    const other = setup();
    const src = await other.service.saveImage({ pixels: makePixels(64, 64), meta: makeMeta() });
    const bytes = Buffer.from(fs.readFileSync(path.join(other.dir, src.path)));
    const info = readPngInfo(bytes);
    expect(info.width).toBe(64);
    // Overwrite the IDAT payload with garbage and fix the CRC so only the zlib stream is broken.
    const idat = bytes.indexOf('IDAT');
    const len = bytes.readUInt32BE(idat - 4);
    for (let i = 0; i < len; i++) bytes[idat + 4 + i] = (i * 7) & 0xff;
    const zlib = await import('node:zlib');
    bytes.writeUInt32BE(zlib.crc32(bytes.subarray(idat, idat + 4 + len)) >>> 0, idat + 4 + len);
    const err = await service.importFile(bytes, 'broken.png').catch((e: unknown) => e);
    expect(isStudioError(err, 'invalid_input')).toBe(true);
    expect((err as StudioError).message).toMatch(/cannot be decoded/);
    expect(filesUnder(path.join(dir, 'images'))).toEqual([]);
    expect(db.prepare(`SELECT count(*) AS n FROM images`).get()).toEqual({ n: 0 });
  });
});

describe('disk full', () => {
  const enospcAfterHalf: FileWriter = async (file, data) => {
    const fd = await fs.promises.open(file, 'wx');
    await fd.write(data, 0, Math.floor(data.byteLength / 2));
    await fd.close();
    throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  };

  it('a full disk gives disk_full, leaves no file and no row, and the next save works', async () => {
    let full = true;
    const writer: FileWriter = (file, data) => (full ? enospcAfterHalf(file, data) : import('./files').then((f) => f.defaultWriter(file, data)));
    const { service, dir, db } = setup({ writer });
    const { generationIds } = service.generations.createJob({ prompt: 'x', negativePrompt: '', steps: 1, guidance: 1, width: 8, height: 8, model: 'm' }, ['1'], service.now());
    const id = generationIds[0]!;
    service.generations.markRunning(id, service.now());
    const err = await service.saveImage({ generationId: id, pixels: makePixels(8, 8), meta: makeMeta() }).catch((e: unknown) => e);
    expect(isStudioError(err, 'disk_full')).toBe(true);
    expect((err as StudioError).message).toMatch(/Not enough disk space to save image \d+ .* Free some space/);
    const err2 = await service.saveImage({ pixels: makePixels(8, 8), meta: makeMeta() }).catch((e: unknown) => e);
    expect(isStudioError(err2, 'disk_full')).toBe(true);
    expect(fs.readdirSync(path.join(dir, 'images'), { recursive: true }).filter((f) => String(f).endsWith('.png') || String(f).endsWith('.tmp'))).toEqual([]);
    expect(db.prepare(`SELECT count(*) AS n FROM images`).get()).toEqual({ n: 0 });
    expect(db.prepare(`SELECT status FROM generations WHERE id = ?`).get(id)).toEqual({ status: 'running' });
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    full = false;
    const ok = await service.saveImage({ generationId: id, pixels: makePixels(8, 8), meta: makeMeta() });
    expect(ok.id).toBe(id);
    expect(service.query().total).toBe(1);
  });

  it('an import batch stops at a full disk with disk_full; what was imported stays and is announced', async () => {
    let writes = 0;
    const writer: FileWriter = async (file, data) => {
      writes++;
      if (writes >= 2) return enospcAfterHalf(file, data);
      const { defaultWriter } = await import('./files');
      return defaultWriter(file, data);
    };
    const src = setup();
    const bytes = fs.readFileSync(path.join(src.dir, (await src.service.saveImage({ pixels: makePixels(8, 8), meta: makeMeta() })).path));
    const { service, dir, changes } = setup({ writer });
    const err = await service.importFiles([{ name: 'a.png', data: bytes }, { name: 'b.png', data: bytes }, { name: 'c.png', data: bytes }]).catch((e: unknown) => e);
    expect(isStudioError(err, 'disk_full')).toBe(true);
    expect(service.query().total).toBe(1);
    expect(changes).toEqual([{ kind: 'added', ids: [service.query().items[0]!.id] }]);
    expect(fs.readdirSync(path.join(dir, 'images'), { recursive: true }).filter((f) => /\.(png|tmp)$/.test(String(f)))).toHaveLength(1);
  });

  it('when the row cannot be inserted after the rename, the file is removed again (no file without a reason)', async () => {
    const ref: { service?: HistoryService; genId: number } = { genId: 0 };
    const { service, dir } = setup({
      saveHook: async (stage) => {
        if (stage === 'renamed') ref.service!.generations.markCancelled(ref.genId, ref.service!.now()); // the user cancels while the file is being written
      },
    });
    ref.service = service;
    const genId = service.generations.createJob({ prompt: 'x', negativePrompt: '', steps: 1, guidance: 1, width: 8, height: 8, model: 'm' }, ['1'], service.now()).generationIds[0]!;
    ref.genId = genId;
    service.generations.markRunning(genId, service.now());
    await expect(service.saveImage({ generationId: genId, pixels: makePixels(8, 8), meta: makeMeta() })).rejects.toMatchObject({ code: 'conflict' });
    expect(fs.readdirSync(path.join(dir, 'images'), { recursive: true }).filter((f) => /\.(png|tmp)$/.test(String(f)))).toEqual([]);
  });
});
