import type { Migration } from './migration';

// The compare room's migrations: versions 0450–499 (written as numbers, e.g. 450, 451).
//
// 450 comparisons   saved comparisons (name, the job they came from) and their ordered images.
//                   An item goes with its image when the image is purged (ON DELETE CASCADE); a
//                   trashed image stays listed but is left out of reads until it is restored. The
//                   job is a plain number, not a foreign key: a comparison outlives its job's rows.
export const compareMigrations: Migration[] = [
  {
    version: 450,
    name: 'comparisons',
    up(db) {
      db.exec(`
        CREATE TABLE comparisons (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
          job_id INTEGER CHECK (job_id IS NULL OR job_id > 0),
          created_at INTEGER NOT NULL,
          updated_at INTEGER NOT NULL
        ) STRICT;
        CREATE INDEX comparisons_recent ON comparisons (updated_at DESC, id DESC);

        CREATE TABLE comparison_items (
          comparison_id INTEGER NOT NULL REFERENCES comparisons (id) ON DELETE CASCADE,
          position INTEGER NOT NULL CHECK (position >= 0),
          image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
          PRIMARY KEY (comparison_id, position),
          UNIQUE (comparison_id, image_id)
        ) STRICT;
        CREATE INDEX comparison_items_image ON comparison_items (image_id);
      `);
    },
  },
];
