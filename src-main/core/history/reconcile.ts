// The start-up reconcile pass (run only by the process holding studio.lock, before the job runner).
// It makes the files and the rows agree again after a crash or a kill, following these rules:
//
//  1. `.…tmp` files under images/, trash/ and thumbs/ are leftovers of interrupted writes: removed.
//  2. A row is the truth about where its file belongs. A live image whose file sits in trash/ is moved
//     back; a trashed image whose file is still under images/ is moved to trash/ (an interrupted
//     delete or restore is finished).
//  3. Rows without files: a live image whose file is gone has its image row REMOVED and its generation
//     marked `failed` ("file missing at start-up"), so the gallery never shows a broken cell and the
//     prompt stays in the job's history; a trashed image whose file is gone is purged.
//  4. Files without rows under images/YYYY/MM/<id>.png: ADOPTED when they carry our `sd35studio`
//     metadata (the crash happened between rename and insert) — attached to their generation if it
//     still exists, else as a new one-image job; anything else (other tools' files, no metadata,
//     unreadable) is left where it is and REPORTED.
//  5. Files in trash/ without a trashed row (an emptied trash interrupted mid-way) are removed, and so
//     are thumbnails of images that no longer exist.
//  6. Generations left `running` become `interrupted`. Queued ones stay queued (the job queue owns them).
import fs from 'node:fs';
import path from 'node:path';
import { StudioError } from '../../../src-shared/errors';
import { parseImageFile } from '../images/import-parse';
import { TMP_FILE_RE, IMAGE_FILE_RE, moveFile, removeQuietly, toAbs, trashRelPath } from './files';
import { generationFieldsFromParsed, standaloneGeneration } from './images';
import type { HistoryService } from './service';

export interface ReconcileReport {
  /** Generations that were running: now `interrupted`. */
  interrupted: number[];
  /** Files without rows that carried our metadata: now in the gallery (same id). */
  adopted: number[];
  /** Files without rows that could not be adopted: left in place (relative paths). */
  unknownFiles: { path: string; reason: string }[];
  /** Live images whose file was gone: image row removed, generation marked failed. */
  missing: number[];
  /** Images whose file was moved to where its row says (interrupted delete/restore). */
  moved: number[];
  /** Trashed rows whose file was gone: purged. */
  purged: number[];
  /** Leftover .tmp files removed (relative paths). */
  tmpRemoved: string[];
  /** Files in trash/ with no trashed row, removed (relative paths). */
  strayTrashRemoved: string[];
  /** Thumbnails of images that no longer exist, removed. */
  staleThumbsRemoved: number;
  durationMs: number;
}

export interface ReconcileOptions {
  /** Leave .tmp files younger than this alone (another process may be mid-save). Default 0. */
  tmpGraceMs?: number;
}

interface RowInfo {
  id: number;
  path: string;
  deleted_at: number | null;
  trash_path: string | null;
}

async function walk(dir: string, rel: string, out: string[]): Promise<void> {
  let entries: fs.Dirent[];
  try {
    entries = await fs.promises.readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  for (const e of entries) {
    const childRel = `${rel}/${e.name}`;
    if (e.isDirectory()) await walk(path.join(dir, e.name), childRel, out);
    else if (e.isFile()) out.push(childRel);
  }
}

export async function reconcile(service: HistoryService, options: ReconcileOptions = {}): Promise<ReconcileReport> {
  const started = Date.now();
  const { db, dataDir } = service;
  const now = service.now();
  const report: ReconcileReport = {
    interrupted: [],
    adopted: [],
    unknownFiles: [],
    missing: [],
    moved: [],
    purged: [],
    tmpRemoved: [],
    strayTrashRemoved: [],
    staleThumbsRemoved: 0,
    durationMs: 0,
  };
  const grace = options.tmpGraceMs ?? 0;

  // 1. What is on disk.
  const onDisk: string[] = [];
  await walk(path.join(dataDir, 'images'), 'images', onDisk);
  await walk(path.join(dataDir, 'trash'), 'trash', onDisk);
  const files = new Set<string>();
  for (const rel of onDisk) {
    if (TMP_FILE_RE.test(path.posix.basename(rel))) {
      const abs = toAbs(dataDir, rel);
      const age = Date.now() - (await fs.promises.stat(abs).catch(() => ({ mtimeMs: 0 }))).mtimeMs;
      if (age >= grace) {
        await removeQuietly(abs);
        report.tmpRemoved.push(rel);
      }
      continue;
    }
    files.add(rel);
  }

  // 2–3. Rows against files.
  const rows = db.prepare(`SELECT id, path, deleted_at, trash_path FROM images`).all() as RowInfo[];
  const byId = new Map<number, RowInfo>();
  const missingLive: RowInfo[] = [];
  const goneTrashed: RowInfo[] = [];
  for (const r of rows) {
    byId.set(r.id, r);
    const trashRel = r.trash_path ?? trashRelPath(r.id);
    const atPath = files.has(r.path);
    const inTrash = files.has(trashRel);
    if (r.deleted_at === null) {
      if (atPath) continue;
      if (inTrash) {
        await moveFile(toAbs(dataDir, trashRel), toAbs(dataDir, r.path));
        files.delete(trashRel);
        files.add(r.path);
        report.moved.push(r.id);
      } else missingLive.push(r);
    } else {
      if (inTrash) continue;
      if (atPath) {
        await moveFile(toAbs(dataDir, r.path), toAbs(dataDir, trashRel));
        files.delete(r.path);
        files.add(trashRel);
        report.moved.push(r.id);
      } else goneTrashed.push(r);
    }
  }
  db.transaction(() => {
    const dropImage = db.prepare(`DELETE FROM images WHERE id = ?`);
    const fail = db.prepare(
      `UPDATE generations SET status = 'failed', error = ?, finished_at = coalesce(finished_at, ?) WHERE id = ? RETURNING job_id`,
    );
    const purge = db.prepare(`DELETE FROM generations WHERE id = ? RETURNING job_id`);
    const jobs = new Set<number>();
    for (const r of missingLive) {
      dropImage.run(r.id);
      const j = fail.get(
        `The image file ${r.path} was missing when SD3.5 Studio started (deleted or moved outside the app?).`,
        now,
        r.id,
      ) as { job_id: number } | undefined;
      if (j) jobs.add(j.job_id);
      byId.delete(r.id);
      report.missing.push(r.id);
    }
    for (const r of goneTrashed) {
      const j = purge.get(r.id) as { job_id: number } | undefined;
      if (j) jobs.add(j.job_id);
      byId.delete(r.id);
      report.purged.push(r.id);
    }
    for (const j of jobs) service.generations.refreshJob(j, now);
  }).immediate();

  // 4. Files without rows under images/.
  for (const rel of files) {
    if (!rel.startsWith('images/')) continue;
    const id = idOf(rel);
    if (id === undefined || !/^images\/\d{4}\/\d{2}\/[^/]+$/.test(rel)) {
      report.unknownFiles.push({ path: rel, reason: 'not a file SD3.5 Studio writes (expected images/YYYY/MM/<id>.png)' });
      continue;
    }
    const row = byId.get(id);
    if (row) {
      if (row.path !== rel) report.unknownFiles.push({ path: rel, reason: `image ${id} already has its file at ${row.path}` });
      continue;
    }
    const adopted = await adopt(service, rel, id, now).catch((err: unknown) => StudioError.from(err).message);
    if (adopted === true) report.adopted.push(id);
    else report.unknownFiles.push({ path: rel, reason: adopted });
  }
  if (report.adopted.length) service.generations.bumpSequencePastMax();

  // 5. Trash files without trashed rows; thumbnails of gone images.
  for (const rel of files) {
    if (!rel.startsWith('trash/')) continue;
    const id = idOf(rel);
    const row = id === undefined ? undefined : byId.get(id);
    if (row && row.deleted_at !== null && (row.trash_path ?? trashRelPath(row.id)) === rel) continue;
    await removeQuietly(toAbs(dataDir, rel));
    report.strayTrashRemoved.push(rel);
  }
  report.staleThumbsRemoved = await removeStaleThumbs(service, grace);

  // 6. Running generations → interrupted.
  const running = db.prepare(`SELECT id FROM generations WHERE status = 'running'`).all() as { id: number }[];
  for (const { id } of running) {
    service.generations.markInterrupted(id, now, 'SD3.5 Studio stopped while this image was being generated.');
    report.interrupted.push(id);
  }

  report.durationMs = Date.now() - started;
  const touched = [...report.adopted, ...report.missing, ...report.moved, ...report.purged];
  // A reset asks the gallery to reload; the ids are a hint, left empty when there are very many.
  if (touched.length) service.emit({ kind: 'reset', ids: touched.length <= 10_000 ? touched : [] });
  return report;
}

function idOf(rel: string): number | undefined {
  const m = IMAGE_FILE_RE.exec(path.posix.basename(rel));
  return m ? Number(m[1]) : undefined;
}

/** Adopts one file carrying our metadata; returns true, or the reason it was not adopted. */
async function adopt(service: HistoryService, rel: string, id: number, now: number): Promise<true | string> {
  const abs = toAbs(service.dataDir, rel);
  const buf = await fs.promises.readFile(abs);
  const parsed = parseImageFile(buf);
  const params = parsed.parameters;
  if (parsed.format !== 'png' || params?.source !== 'sd35studio' || !params.studio) {
    const what = params ? `metadata from ${params.source}` : 'no readable generation metadata';
    return `${what}, not SD3.5 Studio's own: left in place — import it from the gallery to add it`;
  }
  const stat = await fs.promises.stat(abs);
  const createdAt = Math.round(stat.mtimeMs);
  const fields = generationFieldsFromParsed(params, parsed.width, parsed.height);
  const { db, generations, imageRows } = service;
  db.transaction(() => {
    const gen = generations.get(id);
    if (gen) {
      db.prepare(
        `UPDATE generations SET status = 'done', meta = ?, ep = coalesce(?, ep), error = NULL,
           finished_at = coalesce(finished_at, ?) WHERE id = ?`,
      ).run(fields.meta, fields.ep, now, id);
      generations.refreshJob(gen.job_id, now);
    } else {
      generations.insertImportJob(standaloneGeneration(id, createdAt, fields), params.studio);
    }
    imageRows.insert({
      id,
      path: rel,
      width: parsed.width,
      height: parsed.height,
      bytes: buf.byteLength,
      model: fields.model,
      createdAt: gen ? Math.max(gen.created_at, createdAt) : createdAt,
      source: 'generated',
      originalName: null,
    });
  }).immediate();
  return true;
}

async function removeStaleThumbs(service: HistoryService, grace: number): Promise<number> {
  const dir = service.thumbs.thumbsDir;
  let names: string[];
  try {
    names = await fs.promises.readdir(dir);
  } catch {
    return 0;
  }
  const exists = service.db.prepare(`SELECT 1 FROM images WHERE id = ?`);
  let removed = 0;
  for (const name of names) {
    const abs = path.join(dir, name);
    if (TMP_FILE_RE.test(name)) {
      const st = await fs.promises.stat(abs).catch(() => undefined);
      if (st && Date.now() - st.mtimeMs >= grace) {
        await removeQuietly(abs);
        removed++;
      }
      continue;
    }
    const m = /^(\d+)-(256|512)\.webp$/.exec(name);
    if (m && !exists.get(Number(m[1]))) {
      await removeQuietly(abs);
      removed++;
    }
  }
  return removed;
}
