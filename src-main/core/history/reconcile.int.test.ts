// reconcile(): every way rows and files can disagree after a crash, fixed by the documented rule,
// and a second pass finds nothing left to do. Also integrityCheck(): a sound database passes, a
// damaged one is moved aside (never deleted) and replaced, with a clear message.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { removeTempDirs } from '../../testing/temp';
import { openDatabase, schemaVersion, latestVersion } from '../db';
import { encodePng } from '../../formats/png';
import { ALL_MIGRATIONS } from '../migrations';
import { imageRelPath } from './files';
import { studioChunks } from './images';
import { integrityCheck, isCorruption } from './integrity';
import { reconcile } from './reconcile';
import { HistoryService } from './service';
import { makeMeta, makePixels, openTestDb, seedRows, tempDataDir } from '../../testing/history/fixtures';

afterAll(removeTempDirs);

function write(dir: string, rel: string, data: Uint8Array | string): void {
  const abs = path.join(dir, ...rel.split('/'));
  fs.mkdirSync(path.dirname(abs), { recursive: true });
  fs.writeFileSync(abs, data);
}

describe('reconcile', () => {
  it('fixes every kind of disagreement by its rule, and a second pass is a no-op', async () => {
    const dir = tempDataDir();
    const db = openTestDb(dir);
    const service = new HistoryService({ db, dataDir: dir });
    const save = (prompt: string) => service.saveImage({ pixels: makePixels(16, 16), meta: makeMeta({ prompt }) });

    // Healthy images, some of which we then damage.
    const healthy = await save('healthy');
    const lost = await save('lost file');
    const trashedLost = await save('trashed, file lost');
    const halfDeleted = await save('delete interrupted');
    const halfRestored = await save('restore interrupted');
    await service.delete([trashedLost.id, halfDeleted.id, halfRestored.id]);
    await service.thumbPath(healthy.id, 256);

    fs.rmSync(path.join(dir, lost.path)); // (g) live row, file gone
    fs.rmSync(path.join(dir, 'trash', `${trashedLost.id}.png`)); // (h) trashed row, file gone
    fs.renameSync(path.join(dir, 'trash', `${halfDeleted.id}.png`), path.join(dir, halfDeleted.path)); // (i)
    db.prepare(`UPDATE images SET deleted_at = NULL, trash_path = NULL, trash_token = NULL WHERE id = ?`).run(halfRestored.id); // (j)

    // (a) a running generation without a file; (b) a running generation whose file exists without a row.
    const job = service.generations.createJob({ prompt: 'queued fox', negativePrompt: '', steps: 4, guidance: 0, width: 16, height: 16, model: 'sd3.5-medium' }, ['1', '2', '3'], service.now());
    const [runningNoFile, runningWithFile, stillQueued] = job.generationIds as [number, number, number];
    service.generations.markRunning(runningNoFile, service.now());
    service.generations.markRunning(runningWithFile, service.now());
    const now = Date.now();
    const meta = makeMeta({ prompt: 'queued fox', seed: '2' });
    write(dir, imageRelPath(runningWithFile, now), encodePng(makePixels(16, 16), studioChunks(meta)));
    // (c) our file for an id the database never handed out (the database was replaced).
    const futureId = runningWithFile + 100;
    write(dir, imageRelPath(futureId, now), encodePng(makePixels(16, 16), studioChunks(makeMeta({ prompt: 'from the future' }))));
    // (d) another tool's file named like ours; (e) a file we never write; (f) tmp leftovers.
    // (d) is a PNG carrying A1111's metadata, built here so the test never depends on the shared fixtures.
    const a1111 = 'a red fox\nNegative prompt: blurry\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 42, Size: 16x16, Model: sd_xl_base_1.0';
    const foreignRel = `images/2025/02/${futureId + 1}.png`;
    write(dir, foreignRel, encodePng(makePixels(16, 16), [{ keyword: 'parameters', text: a1111 }]));
    write(dir, 'images/notes.txt', 'hello');
    write(dir, `images/2025/02/.${futureId + 2}.png.tmp`, 'half');
    write(dir, `trash/.${futureId + 3}.png.tmp`, 'half');
    // (k) a trash file with no row; (l) a thumbnail of an image that no longer exists.
    write(dir, `trash/${futureId + 4}.png`, 'old');
    write(dir, `thumbs/${futureId + 5}-256.webp`, 'old');

    const report = await reconcile(service);

    expect(report.interrupted).toEqual([runningNoFile]);
    expect(report.adopted.sort((a, b) => a - b)).toEqual([runningWithFile, futureId]);
    expect(report.missing).toEqual([lost.id]);
    expect(report.purged).toEqual([trashedLost.id]);
    expect(report.moved.sort((a, b) => a - b)).toEqual([halfDeleted.id, halfRestored.id].sort((a, b) => a - b));
    expect(report.tmpRemoved.sort()).toEqual([`images/2025/02/.${futureId + 2}.png.tmp`, `trash/.${futureId + 3}.png.tmp`]);
    expect(report.unknownFiles.map((u) => u.path).sort()).toEqual([foreignRel, 'images/notes.txt']);
    expect(report.unknownFiles.find((u) => u.path === foreignRel)!.reason).toMatch(/^metadata from a1111, .*import it from the gallery/);
    expect(report.strayTrashRemoved).toEqual([`trash/${futureId + 4}.png`]);
    expect(report.staleThumbsRemoved).toBe(1);

    // Rows and files agree again.
    const gen = (id: number) => db.prepare(`SELECT status, error FROM generations WHERE id = ?`).get(id) as { status: string; error: string | null };
    expect(gen(runningNoFile)).toMatchObject({ status: 'interrupted' });
    expect(gen(runningWithFile)).toEqual({ status: 'done', error: null });
    expect(gen(stillQueued)).toEqual({ status: 'queued', error: null });
    expect(gen(lost.id).status).toBe('failed');
    expect(gen(lost.id).error).toMatch(/missing when SD3\.5 Studio started/);
    expect(() => service.get(trashedLost.id)).toThrow(expect.objectContaining({ code: 'not_found' }));
    expect(fs.existsSync(path.join(dir, 'trash', `${halfDeleted.id}.png`))).toBe(true);
    expect(fs.existsSync(path.join(dir, halfRestored.path))).toBe(true);
    expect(fs.existsSync(path.join(dir, foreignRel))).toBe(true); // reported, left in place
    expect(fs.existsSync(path.join(dir, 'thumbs', `${healthy.id}-256.webp`))).toBe(true);
    expect(service.get(futureId)).toMatchObject({ prompt: 'from the future', status: 'done', source: 'generated' });
    expect(service.query({ search: 'queued' }).items.map((i) => i.id)).toEqual([runningWithFile]);
    const live = service.query({ limit: 500 }).items.map((i) => i.id).sort((a, b) => a - b);
    expect(live).toEqual([healthy.id, halfRestored.id, runningWithFile, futureId].sort((a, b) => a - b));
    expect(service.query().total).toBe(4);
    db.prepare(`INSERT INTO prompt_fts (prompt_fts, rank) VALUES ('integrity-check', 1)`).run();
    const next = service.generations.createJob({ prompt: 'x', negativePrompt: '', steps: 1, guidance: 1, width: 8, height: 8, model: 'm' }, ['1'], service.now());
    expect(next.generationIds[0]).toBeGreaterThan(futureId);

    const again = await reconcile(service);
    expect({ ...again, durationMs: 0 }).toEqual({
      interrupted: [],
      adopted: [],
      unknownFiles: report.unknownFiles,
      missing: [],
      moved: [],
      purged: [],
      tmpRemoved: [],
      strayTrashRemoved: [],
      staleThumbsRemoved: 0,
      durationMs: 0,
    });
    db.close();
  });

  it('emits one reset event listing what changed', async () => {
    const dir = tempDataDir();
    const db = openTestDb(dir);
    const service = new HistoryService({ db, dataDir: dir });
    const a = await service.saveImage({ pixels: makePixels(8, 8), meta: makeMeta() });
    fs.rmSync(path.join(dir, a.path));
    const events: unknown[] = [];
    service.onChanged((c) => events.push(c));
    await reconcile(service);
    expect(events).toEqual([{ kind: 'reset', ids: [a.id] }]);
    db.close();
  });
});

describe('integrityCheck', () => {
  it('passes a sound database untouched', () => {
    const dir = tempDataDir();
    const db = openTestDb(dir);
    seedRows(db, 50);
    db.close();
    const r = integrityCheck(path.join(dir, 'studio.db'));
    expect(r).toMatchObject({ ok: true, problems: [], ftsRebuilt: false });
    expect(r.message).toBeUndefined();
    expect(fs.readdirSync(dir).filter((f) => f.includes('corrupt'))).toEqual([]);
  });

  it('rebuilds a search index that disagrees with the history, keeping the database', () => {
    const dir = tempDataDir();
    const file = path.join(dir, 'studio.db');
    const db = openTestDb(dir);
    seedRows(db, 20);
    // Simulate a stale index: drop one image's entry behind the triggers' back.
    const { sort_key: key, prompt, negative_prompt: neg } = db
      .prepare(`SELECT i.sort_key, g.prompt, g.negative_prompt FROM images i JOIN generations g ON g.id = i.id LIMIT 1`)
      .get() as { sort_key: number; prompt: string; negative_prompt: string };
    db.prepare(`INSERT INTO prompt_fts (prompt_fts, rowid, prompt, negative_prompt) VALUES ('delete', ?, ?, ?)`).run(key, prompt, neg);
    db.close();
    const r = integrityCheck(file);
    expect(r).toMatchObject({ ok: true, ftsRebuilt: true });
    expect(r.message).toMatch(/search index .* rebuilt/);
    const after = new Database(file);
    after.prepare(`INSERT INTO prompt_fts (prompt_fts, rank) VALUES ('integrity-check', 1)`).run();
    const word = /\p{L}{3,}/u.exec(prompt)![0];
    const found = (after.prepare(`SELECT rowid FROM prompt_fts WHERE prompt_fts MATCH ?`).all(`"${word}"`) as { rowid: number }[]).map((r) => r.rowid);
    expect(found).toContain(key);
    after.close();
  });

  it('moves a damaged database aside with its -wal, creates a fresh one and says so', () => {
    const dir = tempDataDir();
    const file = path.join(dir, 'studio.db');
    const db = openTestDb(dir);
    db.pragma('wal_autocheckpoint = 0');
    seedRows(db, 3000);
    db.pragma('wal_checkpoint(TRUNCATE)');
    seedRows(db, 10, { start: Date.UTC(2025, 0, 1) }); // leaves a -wal beside the file
    // Overwrite pages in the middle of the file with garbage, as a failing disk would.
    const fd = fs.openSync(file, 'r+');
    const size = fs.fstatSync(fd).size;
    const junk = Buffer.alloc(4096 * 8, 0xa5);
    fs.writeSync(fd, junk, 0, junk.length, Math.floor(size / 2 / 4096) * 4096);
    fs.closeSync(fd);
    const walBefore = fs.existsSync(`${file}-wal`);
    // Copy the damaged files as they are (the open handle keeps a -wal we must not checkpoint).
    const crashed = path.join(tempDataDir(), 'studio.db');
    fs.copyFileSync(file, crashed);
    if (walBefore) fs.copyFileSync(`${file}-wal`, `${crashed}-wal`);
    db.close();

    const now = new Date('2025-03-04T05:06:07.089Z');
    const r = integrityCheck(crashed, { now });
    expect(r.ok).toBe(false);
    expect(r.problems.length).toBeGreaterThan(0);
    expect(r.movedTo).toBe(`${crashed}.corrupt-2025-03-04T05-06-07-089Z`);
    expect(fs.existsSync(r.movedTo!)).toBe(true);
    if (walBefore) expect(fs.existsSync(`${r.movedTo}-wal`)).toBe(true);
    expect(r.message).toMatch(/was damaged/);
    expect(r.message).toMatch(/kept as studio\.db\.corrupt-2025-03-04T05-06-07-089Z/);
    expect(r.message).toMatch(/images made by SD3\.5 Studio return to the gallery/);
    const fresh = openDatabase(crashed);
    expect(schemaVersion(fresh)).toBe(latestVersion(ALL_MIGRATIONS));
    expect(fresh.prepare(`SELECT count(*) AS n FROM images`).get()).toEqual({ n: 0 });
    fresh.close();
  });

  it('moves a file aside only for corruption, never for other errors (read-only, busy, I/O)', () => {
    expect(isCorruption(Object.assign(new Error('x'), { code: 'SQLITE_CORRUPT' }))).toBe(true);
    expect(isCorruption(Object.assign(new Error('x'), { code: 'SQLITE_CORRUPT_VTAB' }))).toBe(true);
    expect(isCorruption(Object.assign(new Error('x'), { code: 'SQLITE_NOTADB' }))).toBe(true);
    for (const code of ['SQLITE_READONLY', 'SQLITE_BUSY', 'SQLITE_IOERR', 'SQLITE_CANTOPEN', 'ENOENT']) {
      expect(isCorruption(Object.assign(new Error('x'), { code }))).toBe(false);
    }
  });

  it('treats a file that is not a database at all as damaged', () => {
    const dir = tempDataDir();
    const file = path.join(dir, 'studio.db');
    fs.writeFileSync(file, Buffer.alloc(8192, 0x42));
    const r = integrityCheck(file, { now: new Date(0) });
    expect(r.ok).toBe(false);
    expect(r.problems[0]).toMatch(/SQLITE_NOTADB|not a database/);
    expect(fs.readFileSync(r.movedTo!).equals(Buffer.alloc(8192, 0x42))).toBe(true);
    expect(integrityCheck(file).ok).toBe(true);
  });

  it('after recovery, reconcile brings our images back from their metadata', async () => {
    const dir = tempDataDir();
    const file = path.join(dir, 'studio.db');
    let db = openTestDb(dir);
    let service = new HistoryService({ db, dataDir: dir });
    const saved = [];
    for (let i = 0; i < 3; i++) saved.push(await service.saveImage({ pixels: makePixels(8, 8, i), meta: makeMeta({ prompt: `recovered ${i}`, seed: String(i) }) }));
    db.close();
    fs.writeFileSync(file, Buffer.alloc(4096, 0x13)); // the database is lost
    fs.rmSync(`${file}-wal`, { force: true });
    fs.rmSync(`${file}-shm`, { force: true });
    expect(integrityCheck(file).ok).toBe(false);
    db = openTestDb(dir);
    service = new HistoryService({ db, dataDir: dir });
    const report = await reconcile(service);
    expect(report.adopted.sort()).toEqual(saved.map((s) => s.id).sort());
    expect(service.query({ search: 'recovered' }).total).toBe(3);
    expect(service.get(saved[2]!.id)).toMatchObject({ prompt: 'recovered 2', seed: '2' });
    db.close();
  });
});
