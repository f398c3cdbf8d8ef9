// Delete to trash, restore (undo), empty the trash (and the automatic 30-day sweep).
//
// The row is the truth and changes first; files follow. delete: rows get deleted_at/trash_path/
// trash_token in one transaction, then each file moves images/… → trash/<id>.png. restore: rows
// become live, then files move back. empty: rows (generation + image + FTS entry) are deleted in one
// transaction, then the files and thumbnails are unlinked. A crash between the two steps leaves a
// file on the "wrong" side of a row, which reconcile moves to where the row says (or unlinks, for a
// purged row).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { StudioError } from '../../../src-shared/errors';
import type { Db } from '../db';
import { fsyncDir, moveFile, removeQuietly, toAbs, trashRelPath } from './files';
import type { Generations } from './generations';

export const TRASH_RETENTION_DAYS = 30;
const DAY_MS = 24 * 60 * 60 * 1000;
const MAX_IDS = 10_000;
const TOKEN_RE = /^t[0-9a-f]{32}$/;

/** Trashed images old enough for the sweep (uses images_trash_deleted). */
export const TRASH_SWEEP_SQL = `SELECT i.id, i.path, i.trash_path, i.bytes, g.job_id
  FROM images i JOIN generations g ON g.id = i.id
  WHERE i.deleted_at IS NOT NULL AND i.deleted_at <= ?`;

/** The images one delete() moved to the trash (uses images_trash_token). */
export const TRASH_TOKEN_SQL = `SELECT i.id, i.path, i.trash_path, i.bytes, g.job_id
  FROM images i JOIN generations g ON g.id = i.id
  WHERE i.trash_token = ?`;

export interface DeleteResult {
  /** Pass to restore() to undo this delete. */
  undoToken: string;
  /** The images that went to the trash (ids that were not live are ignored). */
  ids: number[];
}

export interface RestoreResult {
  ids: number[];
  /** Trashed images whose file was gone: removed for good. */
  missing: number[];
}

export interface EmptyTrashResult {
  ids: number[];
  bytes: number;
}

interface TrashRow {
  id: number;
  path: string;
  trash_path: string | null;
  bytes: number;
  job_id: number;
}

export function validateIds(ids: readonly number[]): number[] {
  if (!Array.isArray(ids) || ids.length > MAX_IDS || ids.some((id) => !Number.isSafeInteger(id) || id < 1)) {
    throw new StudioError('invalid_input', `Image ids must be a list of at most ${MAX_IDS} positive whole numbers.`);
  }
  return [...new Set(ids)];
}

function chunks<T>(list: readonly T[], size = 500): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

function placeholders(n: number): string {
  return new Array<string>(n).fill('?').join(',');
}

export class Trash {
  constructor(
    private readonly db: Db,
    private readonly dataDir: string,
    private readonly generations: Generations,
    private readonly removeThumbs: (id: number) => Promise<void>,
  ) {}

  async delete(idsIn: readonly number[], now: number): Promise<DeleteResult> {
    const ids = validateIds(idsIn);
    const undoToken = `t${crypto.randomBytes(16).toString('hex')}`;
    const moved = this.db
      .transaction((): TrashRow[] => {
        const rows: TrashRow[] = [];
        for (const part of chunks(ids)) {
          rows.push(
            ...(this.db
              .prepare(
                `SELECT i.id, i.path, i.trash_path, i.bytes, g.job_id FROM images i JOIN generations g ON g.id = i.id
                 WHERE i.deleted_at IS NULL AND i.id IN (${placeholders(part.length)})`,
              )
              .all(...part) as TrashRow[]),
          );
        }
        const upd = this.db.prepare(`UPDATE images SET deleted_at = ?, trash_path = ?, trash_token = ? WHERE id = ?`);
        for (const r of rows) {
          r.trash_path = trashRelPath(r.id);
          upd.run(now, r.trash_path, undoToken, r.id);
        }
        return rows;
      })
      .immediate();
    await this.moveAll(moved, 'toTrash');
    return { undoToken, ids: moved.map((r) => r.id) };
  }

  async restore(target: string | readonly number[], now: number): Promise<RestoreResult> {
    let rows: TrashRow[];
    if (typeof target === 'string') {
      if (!TOKEN_RE.test(target)) throw new StudioError('invalid_input', 'That undo token is not valid.');
      rows = this.db.prepare(TRASH_TOKEN_SQL).all(target) as TrashRow[];
      if (rows.length === 0) {
        throw new StudioError('not_found', 'Nothing to undo: those images were already restored or the trash was emptied.');
      }
    } else {
      const ids = validateIds(target);
      rows = [];
      for (const part of chunks(ids)) {
        rows.push(
          ...(this.db
            .prepare(
              `SELECT i.id, i.path, i.trash_path, i.bytes, g.job_id FROM images i JOIN generations g ON g.id = i.id
               WHERE i.deleted_at IS NOT NULL AND i.id IN (${placeholders(part.length)})`,
            )
            .all(...part) as TrashRow[]),
        );
      }
    }
    const present: TrashRow[] = [];
    const missing: TrashRow[] = [];
    for (const r of rows) {
      const inTrash = r.trash_path !== null && fs.existsSync(toAbs(this.dataDir, r.trash_path));
      (inTrash || fs.existsSync(toAbs(this.dataDir, r.path)) ? present : missing).push(r);
    }
    this.db
      .transaction(() => {
        const upd = this.db.prepare(`UPDATE images SET deleted_at = NULL, trash_path = NULL, trash_token = NULL WHERE id = ?`);
        for (const r of present) upd.run(r.id);
        this.purgeRowsInTx(missing, now);
      })
      .immediate();
    await this.moveAll(present, 'fromTrash');
    for (const r of missing) await this.removeThumbs(r.id);
    return { ids: present.map((r) => r.id), missing: missing.map((r) => r.id) };
  }

  /** Removes trashed images for good (files too); only those trashed at least `olderThanDays` ago when given. */
  async empty(now: number, olderThanDays?: number): Promise<EmptyTrashResult> {
    if (olderThanDays !== undefined && (!Number.isFinite(olderThanDays) || olderThanDays < 0)) {
      throw new StudioError('invalid_input', 'olderThanDays must be a number of days ≥ 0.');
    }
    const cutoff = olderThanDays === undefined ? Number.MAX_SAFE_INTEGER : now - olderThanDays * DAY_MS;
    const rows = this.db.prepare(TRASH_SWEEP_SQL).all(cutoff) as TrashRow[];
    if (rows.length === 0) return { ids: [], bytes: 0 };
    this.db.transaction(() => this.purgeRowsInTx(rows, now)).immediate();
    let bytes = 0;
    for (const r of rows) {
      if (r.trash_path) await removeQuietly(toAbs(this.dataDir, r.trash_path));
      await removeQuietly(toAbs(this.dataDir, r.path));
      await this.removeThumbs(r.id);
      bytes += r.bytes;
    }
    return { ids: rows.map((r) => r.id), bytes };
  }

  /** Deletes generations (their image rows cascade, the FTS entries follow by trigger) and empty jobs. */
  purgeRowsInTx(rows: readonly { id: number; job_id: number }[], now: number): void {
    if (rows.length === 0) return;
    const del = this.db.prepare(`DELETE FROM generations WHERE id = ?`);
    const jobs = new Set<number>();
    for (const r of rows) {
      del.run(r.id);
      jobs.add(r.job_id);
    }
    for (const j of jobs) this.generations.refreshJob(j, now);
  }

  private async moveAll(rows: readonly TrashRow[], direction: 'toTrash' | 'fromTrash'): Promise<void> {
    const dirs = new Set<string>();
    for (const r of rows) {
      if (!r.trash_path && direction === 'fromTrash') continue;
      const live = toAbs(this.dataDir, r.path);
      const trashed = toAbs(this.dataDir, r.trash_path ?? trashRelPath(r.id));
      const [from, to] = direction === 'toTrash' ? [live, trashed] : [trashed, live];
      if (!fs.existsSync(from)) continue; // already there (or gone: reconcile reports it)
      try {
        await moveFile(from, to);
        dirs.add(path.dirname(to));
      } catch (err) {
        // The row already says where the file belongs; reconcile finishes the move on next start.
        throw new StudioError(
          'internal',
          `Could not move ${path.basename(from)} ${direction === 'toTrash' ? 'to the trash' : 'out of the trash'}: ${(err as Error).message}. It will be retried on the next start.`,
        );
      }
    }
    for (const d of dirs) await fsyncDir(d);
  }
}
