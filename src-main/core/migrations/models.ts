import type { Migration } from './migration';

// The models room's migrations: versions 0300–399 (written as numbers, e.g. 300, 301).
// No token, signed URL or other secret is ever stored in these tables.
export const modelsMigrations: Migration[] = [
  {
    version: 300,
    name: 'models',
    up(db) {
      db.exec(`
        CREATE TABLE models (
          id TEXT PRIMARY KEY NOT NULL,            -- catalog id, owner/name, or folder:<name>
          source TEXT NOT NULL CHECK (source IN ('hub', 'import')),
          repo TEXT,                               -- owner/name (hub models)
          revision TEXT,                           -- what was asked for: branch, tag or commit
          -- the installed files (all NULL while nothing is installed)
          installed_commit TEXT,
          path TEXT,                               -- absolute folder
          layout TEXT CHECK (layout IS NULL OR layout IN ('optimum', 'tensorstack')),
          t5 INTEGER CHECK (t5 IS NULL OR t5 IN (0, 1)),
          size_bytes INTEGER,
          verified_at INTEGER,
          -- the download in progress, paused or failed (NULL when none)
          download_commit TEXT,
          download_t5 INTEGER CHECK (download_t5 IS NULL OR download_t5 IN (0, 1)),
          download_state TEXT CHECK (download_state IS NULL OR download_state IN ('downloading', 'paused', 'failed')),
          error_code TEXT,
          error_message TEXT,
          created_at INTEGER NOT NULL,
          updated_at INTEGER NOT NULL
        ) STRICT;
      `);
    },
  },
  {
    version: 301,
    name: 'downloads',
    up(db) {
      db.exec(`
        CREATE TABLE downloads (
          model_id TEXT NOT NULL REFERENCES models(id) ON DELETE CASCADE,
          commit_sha TEXT NOT NULL,
          path TEXT NOT NULL,                      -- file path inside the repo
          size INTEGER NOT NULL CHECK (size >= 0),
          expected_sha256 TEXT,                    -- the LFS oid (NULL for small git files)
          git_oid TEXT,                            -- git blob sha1 (small files are checked against it)
          etag TEXT,                               -- validator of the bytes in the .part (sent as If-Range)
          bytes_done INTEGER NOT NULL DEFAULT 0 CHECK (bytes_done >= 0),
          sha256 TEXT,                             -- computed, once verified
          state TEXT NOT NULL CHECK (state IN ('pending', 'verified', 'installed')),
          updated_at INTEGER NOT NULL,
          PRIMARY KEY (model_id, commit_sha, path)
        ) STRICT;
      `);
    },
  },
];
