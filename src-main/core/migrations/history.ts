import type { Db, Migration } from './migration';

// The history room's migrations: versions 0200–299 (written as numbers, e.g. 200, 201).
//
// 200 history-core     jobs, generations, images and the id sequence (an image's id is its generation's id)
// 201 prompt-fts       prompt_fts: FTS5 over the prompt and negative prompt of every LIVE gallery image,
//                      external content (the view gallery_text), kept in step by triggers, rebuilt from
//                      what a 200 database already holds
// 202 gallery-indexes  partial indexes for every hot gallery query (pinned by EXPLAIN QUERY PLAN tests)
// 203 gallery-counts   live / favorite / per-model image counts kept by triggers (O(1) page totals)
//
// Times are INTEGER milliseconds since the Unix epoch (UTC). Seeds are TEXT holding an exact
// unsigned decimal (seeds above 2^53 must survive). Status values are checked by the schema.
//
// Gallery order: images.sort_key = created_at·1000 + n (n = 0…999 tells apart images of the same
// millisecond), unique, and below 2^53 until the year 2255. It is the keyset cursor, the date-range
// key (a day is a sort_key range) and the FTS rowid — so a search returns matches already in gallery
// order and a page of a common word reads 200 index entries instead of sorting thousands of rows.
export const historyMigrations: Migration[] = [
  {
    version: 200,
    name: 'history-core',
    up(db) {
      db.exec(`
        -- Generation ids are handed out here, never by rowid reuse: an id names a file on disk
        -- (images/YYYY/MM/<id>.png), so it is reserved before the file is written and never reused.
        CREATE TABLE history_ids (
          name TEXT PRIMARY KEY NOT NULL,
          next INTEGER NOT NULL CHECK (next >= 1)
        ) STRICT;
        INSERT INTO history_ids (name, next) VALUES ('generation', 1);

        CREATE TABLE jobs (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          kind TEXT NOT NULL CHECK (kind IN ('generate', 'import')),
          params TEXT NOT NULL CHECK (json_valid(params)),
          seeds TEXT NOT NULL CHECK (json_valid(seeds) AND json_type(seeds) = 'array'),
          count INTEGER NOT NULL CHECK (count >= 1),
          status TEXT NOT NULL
            CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled', 'interrupted')),
          created_at INTEGER NOT NULL,
          finished_at INTEGER
        ) STRICT;

        CREATE TABLE generations (
          id INTEGER PRIMARY KEY,
          job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
          idx INTEGER NOT NULL CHECK (idx >= 0),
          seed TEXT CHECK (seed IS NULL OR (seed <> '' AND seed NOT GLOB '*[^0-9]*')),
          prompt TEXT NOT NULL,
          negative_prompt TEXT NOT NULL DEFAULT '',
          steps INTEGER,
          guidance REAL,
          width INTEGER NOT NULL CHECK (width > 0),
          height INTEGER NOT NULL CHECK (height > 0),
          model TEXT NOT NULL DEFAULT '',
          meta TEXT CHECK (meta IS NULL OR json_valid(meta)),
          status TEXT NOT NULL
            CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled', 'interrupted')),
          ep TEXT,
          error TEXT,
          timings TEXT CHECK (timings IS NULL OR json_valid(timings)),
          created_at INTEGER NOT NULL,
          started_at INTEGER,
          finished_at INTEGER,
          UNIQUE (job_id, idx)
        ) STRICT;
        CREATE INDEX generations_active ON generations (status) WHERE status IN ('queued', 'running');

        CREATE TABLE images (
          id INTEGER PRIMARY KEY REFERENCES generations (id) ON DELETE CASCADE,
          path TEXT NOT NULL,
          width INTEGER NOT NULL CHECK (width > 0),
          height INTEGER NOT NULL CHECK (height > 0),
          bytes INTEGER NOT NULL CHECK (bytes >= 0),
          model TEXT NOT NULL DEFAULT '',
          created_at INTEGER NOT NULL CHECK (created_at >= 0),
          sort_key INTEGER NOT NULL UNIQUE CHECK (sort_key >= created_at * 1000),
          favorite INTEGER NOT NULL DEFAULT 0 CHECK (favorite IN (0, 1)),
          source TEXT NOT NULL DEFAULT 'generated' CHECK (source IN ('generated', 'imported')),
          original_name TEXT,
          deleted_at INTEGER,
          trash_path TEXT,
          trash_token TEXT,
          CHECK ((deleted_at IS NULL) = (trash_path IS NULL)),
          CHECK ((deleted_at IS NULL) = (trash_token IS NULL))
        ) STRICT;
      `);
    },
  },
  {
    version: 201,
    name: 'prompt-fts',
    up(db) {
      db.exec(`
        -- What the search index holds: one document per live image, keyed by its sort_key.
        CREATE VIEW gallery_text AS
          SELECT i.sort_key AS sort_key, g.prompt AS prompt, g.negative_prompt AS negative_prompt
          FROM images i JOIN generations g ON g.id = i.id
          WHERE i.deleted_at IS NULL;

        CREATE VIRTUAL TABLE prompt_fts USING fts5 (
          prompt,
          negative_prompt,
          content = 'gallery_text',
          content_rowid = 'sort_key',
          tokenize = 'unicode61 remove_diacritics 2',
          prefix = '2 3'
        );

        -- An image enters the index when it is inserted live or restored from the trash, and leaves it
        -- when it goes to the trash or is deleted. 'delete' must be given the indexed values exactly:
        -- they are read from the generation, which is why a generation's image row is deleted BEFORE
        -- the generation itself (generations_delete_image) and a prompt edit re-indexes the image.
        CREATE TRIGGER images_fts_insert AFTER INSERT ON images WHEN new.deleted_at IS NULL BEGIN
          INSERT INTO prompt_fts (rowid, prompt, negative_prompt)
            SELECT new.sort_key, g.prompt, g.negative_prompt FROM generations g WHERE g.id = new.id;
        END;
        CREATE TRIGGER images_fts_delete AFTER DELETE ON images WHEN old.deleted_at IS NULL BEGIN
          INSERT INTO prompt_fts (prompt_fts, rowid, prompt, negative_prompt)
            SELECT 'delete', old.sort_key, g.prompt, g.negative_prompt FROM generations g WHERE g.id = old.id;
        END;
        CREATE TRIGGER images_fts_update AFTER UPDATE OF deleted_at, sort_key ON images BEGIN
          INSERT INTO prompt_fts (prompt_fts, rowid, prompt, negative_prompt)
            SELECT 'delete', old.sort_key, g.prompt, g.negative_prompt FROM generations g
            WHERE g.id = old.id AND old.deleted_at IS NULL;
          INSERT INTO prompt_fts (rowid, prompt, negative_prompt)
            SELECT new.sort_key, g.prompt, g.negative_prompt FROM generations g
            WHERE g.id = new.id AND new.deleted_at IS NULL;
        END;
        CREATE TRIGGER generations_fts_update AFTER UPDATE OF prompt, negative_prompt ON generations BEGIN
          INSERT INTO prompt_fts (prompt_fts, rowid, prompt, negative_prompt)
            SELECT 'delete', i.sort_key, old.prompt, old.negative_prompt FROM images i
            WHERE i.id = old.id AND i.deleted_at IS NULL;
          INSERT INTO prompt_fts (rowid, prompt, negative_prompt)
            SELECT i.sort_key, new.prompt, new.negative_prompt FROM images i
            WHERE i.id = new.id AND i.deleted_at IS NULL;
        END;
        CREATE TRIGGER generations_delete_image BEFORE DELETE ON generations BEGIN
          DELETE FROM images WHERE id = old.id;
        END;

        INSERT INTO prompt_fts (prompt_fts) VALUES ('rebuild');
      `);
    },
  },
  {
    version: 202,
    name: 'gallery-indexes',
    up(db) {
      db.exec(`
        -- Live gallery pages, newest or oldest first, and date ranges (a date range is a sort_key range).
        CREATE INDEX images_live_sort ON images (sort_key) WHERE deleted_at IS NULL;
        -- "Favorites only". (favorite is constant in this partial index; as its first column it gives the
        -- planner an equality to prefer it over images_live_sort when a cursor adds a sort_key range.)
        CREATE INDEX images_live_favorite ON images (favorite, sort_key) WHERE deleted_at IS NULL AND favorite = 1;
        -- Model filter.
        CREATE INDEX images_live_model ON images (model, sort_key) WHERE deleted_at IS NULL;
        -- Size filter (width and height together).
        CREATE INDEX images_live_size ON images (width, height, sort_key) WHERE deleted_at IS NULL;
        -- Trash: the 30-day sweep and restore by undo token.
        CREATE INDEX images_trash_deleted ON images (deleted_at) WHERE deleted_at IS NOT NULL;
        CREATE INDEX images_trash_token ON images (trash_token) WHERE trash_token IS NOT NULL;
      `);
    },
  },
  {
    version: 203,
    name: 'gallery-counts',
    up(db) {
      db.exec(`
        -- Live image counts: key 'live', 'favorite' or 'model:<model>'. Kept by triggers in the same
        -- transaction as the change, so a page's total is one row read, not a count of 100,000 rows.
        CREATE TABLE gallery_counts (
          key TEXT PRIMARY KEY NOT NULL,
          n INTEGER NOT NULL CHECK (n >= 0)
        ) STRICT;

        CREATE TRIGGER images_count_insert AFTER INSERT ON images WHEN new.deleted_at IS NULL BEGIN
          INSERT INTO gallery_counts (key, n) VALUES ('live', 1), ('favorite', new.favorite), ('model:' || new.model, 1)
            ON CONFLICT (key) DO UPDATE SET n = n + excluded.n;
        END;
        CREATE TRIGGER images_count_delete AFTER DELETE ON images WHEN old.deleted_at IS NULL BEGIN
          UPDATE gallery_counts SET n = n - 1 WHERE key IN ('live', 'model:' || old.model);
          UPDATE gallery_counts SET n = n - old.favorite WHERE key = 'favorite';
        END;
        CREATE TRIGGER images_count_update AFTER UPDATE OF deleted_at, favorite, model ON images BEGIN
          UPDATE gallery_counts SET n = n - 1 WHERE old.deleted_at IS NULL AND key IN ('live', 'model:' || old.model);
          UPDATE gallery_counts SET n = n - old.favorite WHERE old.deleted_at IS NULL AND key = 'favorite';
          INSERT INTO gallery_counts (key, n)
            SELECT 'live', 1 WHERE new.deleted_at IS NULL
            UNION ALL SELECT 'favorite', new.favorite WHERE new.deleted_at IS NULL
            UNION ALL SELECT 'model:' || new.model, 1 WHERE new.deleted_at IS NULL
            ON CONFLICT (key) DO UPDATE SET n = n + excluded.n;
        END;
      `);
      recountGallery(db);
    },
  },
];

/** Recomputes gallery_counts from the images table (migration 203, and reconcile as a repair). */
export function recountGallery(db: Db): void {
  db.exec(`
    DELETE FROM gallery_counts;
    INSERT INTO gallery_counts (key, n)
      SELECT 'live', count(*) FROM images WHERE deleted_at IS NULL
      UNION ALL SELECT 'favorite', count(*) FROM images WHERE deleted_at IS NULL AND favorite = 1
      UNION ALL SELECT 'model:' || model, count(*) FROM images WHERE deleted_at IS NULL GROUP BY model;
  `);
}
