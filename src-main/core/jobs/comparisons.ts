// Saved comparisons: a name, 2–16 ordered image ids and the job (sweep) they came from, in the
// comparisons / comparison_items tables (migrations/compare.ts). Reads leave out images that are in
// the trash (they come back with Undo) and purged images are gone from comparison_items by cascade,
// so deleting an image never breaks a comparison: it just shows one image fewer.
import { StudioError } from '../../../src-shared/errors';
import { MAX_COMPARE, MIN_COMPARE, type Comparison, type ComparisonSummary } from '../../../src-shared/schemas/compare';
import type { Db } from '../db';
import { ITEM_COLUMNS, toImageRecord, type ItemRow } from '../history/queries';

interface ComparisonRow {
  id: number;
  name: string;
  job_id: number | null;
  created_at: number;
  updated_at: number;
}

export interface CreateComparison {
  name?: string;
  imageIds: readonly number[];
  jobId?: number;
}

const iso = (ms: number): string => new Date(ms).toISOString();

export class ComparisonStore {
  private readonly clock: () => number;

  constructor(
    private readonly db: Db,
    options: { now?: () => number } = {},
  ) {
    this.clock = options.now ?? Date.now;
  }

  create(input: CreateComparison): Comparison {
    const ids = [...input.imageIds];
    if (ids.length < MIN_COMPARE || ids.length > MAX_COMPARE) {
      throw new StudioError('invalid_input', `A comparison holds ${MIN_COMPARE}–${MAX_COMPARE} images (got ${ids.length}).`);
    }
    if (new Set(ids).size !== ids.length) throw new StudioError('invalid_input', 'An image can be in a comparison only once.');
    const id = this.db
      .transaction(() => {
        const live = this.liveIds(ids);
        const missing = ids.filter((i) => !live.has(i));
        if (missing.length) throw new StudioError('not_found', `Not in the gallery: image ${missing.join(', ')}.`);
        const now = this.clock();
        const first = this.db.prepare(`SELECT prompt FROM generations WHERE id = ?`).get(ids[0]) as { prompt: string } | undefined;
        const name = input.name?.trim() || defaultName(first?.prompt ?? '', input.jobId);
        const row = this.db
          .prepare(`INSERT INTO comparisons (name, job_id, created_at, updated_at) VALUES (?, ?, ?, ?) RETURNING id`)
          .get(name, input.jobId ?? null, now, now) as { id: number };
        const insert = this.db.prepare(`INSERT INTO comparison_items (comparison_id, position, image_id) VALUES (?, ?, ?)`);
        ids.forEach((imageId, position) => insert.run(row.id, position, imageId));
        return row.id;
      })
      .immediate();
    return this.get(id);
  }

  get(id: number): Comparison {
    const row = this.row(id);
    const items = (
      this.db
        .prepare(
          `SELECT ${ITEM_COLUMNS} FROM comparison_items ci JOIN images i ON i.id = ci.image_id JOIN generations g ON g.id = i.id
           WHERE ci.comparison_id = ? AND i.deleted_at IS NULL ORDER BY ci.position`,
        )
        .all(id) as ItemRow[]
    ).map(toImageRecord);
    const { n } = this.db
      .prepare(
        `SELECT count(*) AS n FROM comparison_items ci JOIN images i ON i.id = ci.image_id
         WHERE ci.comparison_id = ? AND i.deleted_at IS NOT NULL`,
      )
      .get(id) as { n: number };
    return { ...summary(row, items.map((i) => i.id)), items, trashed: n };
  }

  /** Newest (most recently changed) first. */
  list(limit = 100): ComparisonSummary[] {
    const rows = this.db
      .prepare(`SELECT id, name, job_id, created_at, updated_at FROM comparisons ORDER BY updated_at DESC, id DESC LIMIT ?`)
      .all(Math.max(1, Math.min(200, limit))) as ComparisonRow[];
    if (rows.length === 0) return [];
    const ids = new Map<number, number[]>(rows.map((r) => [r.id, []]));
    const placeholders = rows.map(() => '?').join(',');
    const items = this.db
      .prepare(
        `SELECT ci.comparison_id AS c, ci.image_id AS i FROM comparison_items ci JOIN images im ON im.id = ci.image_id
         WHERE ci.comparison_id IN (${placeholders}) AND im.deleted_at IS NULL ORDER BY ci.comparison_id, ci.position`,
      )
      .all(...rows.map((r) => r.id)) as { c: number; i: number }[];
    for (const { c, i } of items) ids.get(c)?.push(i);
    return rows.map((r) => summary(r, ids.get(r.id) ?? []));
  }

  rename(id: number, name: string): ComparisonSummary {
    const trimmed = name.trim();
    if (!trimmed) throw new StudioError('invalid_input', 'A comparison needs a name.');
    const changed = this.db.prepare(`UPDATE comparisons SET name = ?, updated_at = ? WHERE id = ?`).run(trimmed, this.clock(), id).changes;
    if (changed === 0) throw notFound(id);
    const c = this.get(id);
    return summary(this.row(id), c.imageIds);
  }

  /** True when it existed. Its images stay in the gallery. */
  delete(id: number): boolean {
    return this.db.prepare(`DELETE FROM comparisons WHERE id = ?`).run(id).changes > 0;
  }

  /** The live images of a job, in generation order (for "Compare these seeds"). */
  jobImages(jobId: number): number[] {
    const job = this.db.prepare(`SELECT id FROM jobs WHERE id = ?`).get(jobId);
    if (!job) throw new StudioError('not_found', `Job ${jobId} does not exist.`);
    return (
      this.db
        .prepare(
          `SELECT i.id FROM generations g JOIN images i ON i.id = g.id
           WHERE g.job_id = ? AND i.deleted_at IS NULL ORDER BY g.idx LIMIT 64`,
        )
        .all(jobId) as { id: number }[]
    ).map((r) => r.id);
  }

  private row(id: number): ComparisonRow {
    const row = this.db.prepare(`SELECT id, name, job_id, created_at, updated_at FROM comparisons WHERE id = ?`).get(id) as ComparisonRow | undefined;
    if (!row) throw notFound(id);
    return row;
  }

  private liveIds(ids: readonly number[]): Set<number> {
    const rows = this.db
      .prepare(`SELECT id FROM images WHERE deleted_at IS NULL AND id IN (${ids.map(() => '?').join(',')})`)
      .all(...ids) as { id: number }[];
    return new Set(rows.map((r) => r.id));
  }
}

function summary(row: ComparisonRow, imageIds: number[]): ComparisonSummary {
  return { id: row.id, name: row.name, jobId: row.job_id, createdAt: iso(row.created_at), updatedAt: iso(row.updated_at), imageIds };
}

/** "Job 7 · a lighthouse on a cliff at…" — the job (when there is one) and the first prompt's opening words. */
export function defaultName(prompt: string, jobId: number | undefined): string {
  const words = prompt.replace(/\s+/g, ' ').trim().split(' ').filter(Boolean);
  let head = words.slice(0, 6).join(' ');
  if (words.length > 6) head += '…';
  if (head.length > 60) head = `${head.slice(0, 59)}…`;
  const base = head || 'Comparison';
  return jobId === undefined ? base : `Job ${jobId} · ${base}`;
}

function notFound(id: number): StudioError {
  return new StudioError('not_found', `Comparison ${id} does not exist.`);
}
