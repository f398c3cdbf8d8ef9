// The history migrations (0200–0299): each one on a fresh database and on a database at the previous
// version holding data, which must survive and be picked up by the new objects.
import { describe, expect, it } from 'vitest';
import { migrate, openDatabase, schemaVersion, type Db, type Migration } from '../db';
import { historyMigrations } from '../migrations/history';
import { spineMigrations } from '../migrations/spine';

const chain: Migration[] = [...spineMigrations, ...historyMigrations];

function upTo(version: number): Migration[] {
  return chain.filter((m) => m.version <= version);
}

function dbAt(version: number): Db {
  return openDatabase(':memory:', { migrations: upTo(version) });
}

function objects(db: Db): string[] {
  return (db.prepare(`SELECT type || ' ' || name AS o FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%' ORDER BY 1`).all() as { o: string }[]).map(
    (r) => r.o,
  );
}

/** A done generation with a live image, written with the columns that exist at schema 200. */
function insertAt200(db: Db, id: number, prompt: string, negative: string, createdAt: number, extra: { favorite?: number; model?: string; deleted?: boolean } = {}): void {
  const job = Number(
    db.prepare(`INSERT INTO jobs (kind, params, seeds, count, status, created_at) VALUES ('generate', '{}', '["1"]', 1, 'done', ?)`).run(createdAt)
      .lastInsertRowid,
  );
  db.prepare(
    `INSERT INTO generations (id, job_id, idx, seed, prompt, negative_prompt, steps, guidance, width, height, model, status, created_at)
     VALUES (?, ?, 0, '1', ?, ?, 28, 4.5, 64, 64, ?, 'done', ?)`,
  ).run(id, job, prompt, negative, extra.model ?? 'sd3.5-medium', createdAt);
  db.prepare(
    `INSERT INTO images (id, path, width, height, bytes, model, created_at, sort_key, favorite, deleted_at, trash_path, trash_token)
     VALUES (?, ?, 64, 64, 100, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    id,
    `images/2025/01/${id}.png`,
    extra.model ?? 'sd3.5-medium',
    createdAt,
    createdAt * 1000,
    extra.favorite ?? 0,
    extra.deleted ? createdAt : null,
    extra.deleted ? `trash/${id}.png` : null,
    extra.deleted ? 't0' : null,
  );
}

function ftsIds(db: Db, match: string): number[] {
  return (
    db.prepare(`SELECT i.id FROM prompt_fts f JOIN images i ON i.sort_key = f.rowid WHERE prompt_fts MATCH ? ORDER BY i.id`).all(match) as {
      id: number;
    }[]
  ).map((r) => r.id);
}

describe('history migrations', () => {
  it('are numbered inside 200–299, increasing, each with a name', () => {
    const versions = historyMigrations.map((m) => m.version);
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
    expect(new Set(versions).size).toBe(versions.length);
    for (const m of historyMigrations) {
      expect(m.version).toBeGreaterThanOrEqual(200);
      expect(m.version).toBeLessThan(300);
      expect(m.name).toMatch(/^[a-z0-9-]+$/);
    }
  });

  it('applied one by one give the same schema as applied at once', () => {
    const once = dbAt(203);
    const stepwise = dbAt(100);
    for (const m of historyMigrations) migrate(stepwise, upTo(m.version));
    const sql = (db: Db) => db.prepare(`SELECT type, name, sql FROM sqlite_schema ORDER BY type, name`).all();
    expect(sql(stepwise)).toEqual(sql(once));
    expect(schemaVersion(stepwise)).toBe(203);
  });

  describe('200 history-core', () => {
    it('fresh: creates STRICT jobs, generations, images and the id sequence', () => {
      const db = dbAt(200);
      expect(schemaVersion(db)).toBe(200);
      expect(objects(db)).toEqual(
        expect.arrayContaining(['table jobs', 'table generations', 'table images', 'table history_ids', 'index generations_active']),
      );
      for (const t of ['jobs', 'generations', 'images', 'history_ids']) {
        const { sql } = db.prepare(`SELECT sql FROM sqlite_schema WHERE name = ?`).get(t) as { sql: string };
        expect(sql, t).toMatch(/STRICT\s*$/);
      }
      expect(db.prepare(`SELECT next FROM history_ids WHERE name = 'generation'`).get()).toEqual({ next: 1 });
    });

    it('from 100: keeps the settings and adds the history tables', () => {
      const db = dbAt(100);
      db.prepare(`INSERT INTO settings (key, value, updated_at) VALUES ('theme', '"dark"', 1)`).run();
      migrate(db, upTo(200));
      expect(schemaVersion(db)).toBe(200);
      expect(db.prepare(`SELECT value FROM settings WHERE key = 'theme'`).get()).toEqual({ value: '"dark"' });
      insertAt200(db, 1, 'a fox', '', 1_700_000_000_000);
      expect(db.prepare(`SELECT count(*) AS n FROM images`).get()).toEqual({ n: 1 });
    });

    it('enforces the data rules: exact decimal seeds, statuses, one image per generation, trash columns together', () => {
      const db = dbAt(200);
      insertAt200(db, 1, 'a fox', '', 1_700_000_000_000);
      const gen = (seed: string | null, status = 'done') =>
        db
          .prepare(
            `INSERT INTO generations (id, job_id, idx, seed, prompt, width, height, status, created_at) VALUES (NULL, 1, 5, ?, 'x', 1, 1, ?, 0)`,
          )
          .run(seed, status);
      expect(() => gen('-1')).toThrow(/CHECK/);
      expect(() => gen('1e5')).toThrow(/CHECK/);
      expect(() => gen('')).toThrow(/CHECK/);
      expect(() => gen('1', 'lost')).toThrow(/CHECK/);
      expect(() => gen('18446744073709551615')).not.toThrow();
      expect(() =>
        db.prepare(`INSERT INTO images (id, path, width, height, bytes, created_at, sort_key) VALUES (1, 'x', 1, 1, 1, 0, 0)`).run(),
      ).toThrow(/UNIQUE|PRIMARY/);
      expect(() => db.prepare(`UPDATE images SET deleted_at = 5 WHERE id = 1`).run()).toThrow(/CHECK/);
      expect(() =>
        db.prepare(`INSERT INTO images (id, path, width, height, bytes, created_at, sort_key) VALUES (999, 'x', 1, 1, 1, 0, 0)`).run(),
      ).toThrow(/FOREIGN KEY/);
    });
  });

  describe('201 prompt-fts', () => {
    it('fresh: creates the FTS table, its view and triggers', () => {
      const db = dbAt(201);
      expect(objects(db)).toEqual(
        expect.arrayContaining([
          'table prompt_fts',
          'view gallery_text',
          'trigger images_fts_insert',
          'trigger images_fts_delete',
          'trigger images_fts_update',
          'trigger generations_fts_update',
          'trigger generations_delete_image',
        ]),
      );
      insertAt200(db, 1, 'a red fox in the snow', 'blurry', 1_700_000_000_000);
      expect(ftsIds(db, 'fox')).toEqual([1]);
    });

    it('from 200: indexes the live images already there (not the trashed ones)', () => {
      const db = dbAt(200);
      insertAt200(db, 1, 'a red fox in the snow', 'blurry', 1_700_000_000_000);
      insertAt200(db, 2, 'a blue whale', 'fox', 1_700_000_001_000);
      insertAt200(db, 3, 'another fox, trashed', '', 1_700_000_002_000, { deleted: true });
      migrate(db, upTo(201));
      expect(ftsIds(db, '{prompt} : fox')).toEqual([1]);
      expect(ftsIds(db, '{negative_prompt} : fox')).toEqual([2]);
      expect(ftsIds(db, 'fox')).toEqual([1, 2]);
      db.prepare(`INSERT INTO prompt_fts (prompt_fts, rank) VALUES ('integrity-check', 1)`).run();
    });

    it('keeps the index in step through trash, restore, prompt edits and deletes', () => {
      const db = dbAt(201);
      insertAt200(db, 1, 'a red fox', '', 1_700_000_000_000);
      insertAt200(db, 2, 'a grey wolf', '', 1_700_000_001_000);
      const check = () => db.prepare(`INSERT INTO prompt_fts (prompt_fts, rank) VALUES ('integrity-check', 1)`).run();
      db.prepare(`UPDATE images SET deleted_at = 1, trash_path = 'trash/1.png', trash_token = 't' WHERE id = 1`).run();
      expect(ftsIds(db, 'fox')).toEqual([]);
      check();
      db.prepare(`UPDATE images SET deleted_at = NULL, trash_path = NULL, trash_token = NULL WHERE id = 1`).run();
      expect(ftsIds(db, 'fox')).toEqual([1]);
      db.prepare(`UPDATE generations SET prompt = 'a red panda' WHERE id = 1`).run();
      expect(ftsIds(db, 'fox')).toEqual([]);
      expect(ftsIds(db, 'panda')).toEqual([1]);
      check();
      db.prepare(`DELETE FROM generations WHERE id = 2`).run();
      expect(db.prepare(`SELECT count(*) AS n FROM images`).get()).toEqual({ n: 1 });
      expect(ftsIds(db, 'wolf')).toEqual([]);
      check();
    });
  });

  describe('202 gallery-indexes', () => {
    const names = ['images_live_sort', 'images_live_favorite', 'images_live_model', 'images_live_size', 'images_trash_deleted', 'images_trash_token'];

    it('fresh: creates the partial indexes', () => {
      const db = dbAt(202);
      for (const n of names) expect(objects(db)).toContain(`index ${n}`);
    });

    it('from 201: indexes existing rows (the planner uses them at once)', () => {
      const db = dbAt(201);
      for (let i = 1; i <= 50; i++) insertAt200(db, i, `prompt ${i}`, '', 1_700_000_000_000 + i * 1000, { favorite: i % 5 === 0 ? 1 : 0 });
      migrate(db, upTo(202));
      const favs = db
        .prepare(`SELECT id FROM images INDEXED BY images_live_favorite WHERE deleted_at IS NULL AND favorite = 1 ORDER BY sort_key DESC`)
        .all() as { id: number }[];
      expect(favs.map((r) => r.id)).toEqual([50, 45, 40, 35, 30, 25, 20, 15, 10, 5]);
    });
  });

  describe('203 gallery-counts', () => {
    it('fresh: starts with no counts, and triggers keep them', () => {
      const db = dbAt(203);
      insertAt200(db, 1, 'x', '', 1_700_000_000_000, { favorite: 1, model: 'a' });
      insertAt200(db, 2, 'y', '', 1_700_000_001_000, { model: 'b' });
      const counts = () => Object.fromEntries((db.prepare(`SELECT key, n FROM gallery_counts WHERE n > 0`).all() as { key: string; n: number }[]).map((r) => [r.key, r.n]));
      expect(counts()).toEqual({ live: 2, favorite: 1, 'model:a': 1, 'model:b': 1 });
      db.prepare(`UPDATE images SET deleted_at = 1, trash_path = 't', trash_token = 't' WHERE id = 1`).run();
      expect(counts()).toEqual({ live: 1, 'model:b': 1 });
      db.prepare(`UPDATE images SET favorite = 1 WHERE id = 2`).run();
      db.prepare(`UPDATE images SET deleted_at = NULL, trash_path = NULL, trash_token = NULL WHERE id = 1`).run();
      expect(counts()).toEqual({ live: 2, favorite: 2, 'model:a': 1, 'model:b': 1 });
      db.prepare(`DELETE FROM generations WHERE id = 1`).run();
      expect(counts()).toEqual({ live: 1, favorite: 1, 'model:b': 1 });
    });

    it('from 202: counts the images already there', () => {
      const db = dbAt(202);
      insertAt200(db, 1, 'x', '', 1_700_000_000_000, { favorite: 1, model: 'a' });
      insertAt200(db, 2, 'y', '', 1_700_000_001_000, { model: 'a' });
      insertAt200(db, 3, 'z', '', 1_700_000_002_000, { model: 'b', deleted: true });
      migrate(db, upTo(203));
      const rows = db.prepare(`SELECT key, n FROM gallery_counts ORDER BY key`).all();
      expect(rows).toEqual([
        { key: 'favorite', n: 1 },
        { key: 'live', n: 2 },
        { key: 'model:a', n: 2 },
      ]);
    });
  });
});
