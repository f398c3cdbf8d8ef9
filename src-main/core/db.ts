// The database core: open studio.db with the pragmas every room relies on, and run the numbered
// migrations (PRAGMA user_version) in one transaction. Rooms own migration ranges:
// 0100 spine/settings, 0200 history, 0300 models, 0400 jobs/compare.
import fs from 'node:fs';
import Database from 'better-sqlite3';
import { StudioError } from '../../src-shared/errors';
import { ALL_MIGRATIONS } from './migrations';
import type { Db, Migration } from './migrations/migration';

export type { Db, Migration };

export interface OpenOptions {
  /** Path to the better-sqlite3 .node file built for this runtime (Electron uses its own build). */
  nativeBinding?: string;
  readonly?: boolean;
  migrations?: readonly Migration[];
}

export function openDatabase(file: string, options: OpenOptions = {}): Db {
  const dbOptions: Database.Options = {};
  if (options.nativeBinding) dbOptions.nativeBinding = options.nativeBinding;
  if (options.readonly) dbOptions.readonly = true;
  if (!options.readonly) makePrivate(file);
  const db = new Database(file, dbOptions);
  try {
    db.pragma('busy_timeout = 5000');
    if (!options.readonly) {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
    }
    db.pragma('foreign_keys = ON');
    if (!options.readonly) migrate(db, options.migrations ?? ALL_MIGRATIONS);
    else assertNotNewer(db, options.migrations ?? ALL_MIGRATIONS);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/**
 * On POSIX, studio.db is the user's alone (0600): created so, and tightened when an older version
 * left it 0644. SQLite gives its -wal and -shm files the database file's permissions.
 */
function makePrivate(file: string, platform: NodeJS.Platform = process.platform): void {
  if (platform === 'win32' || file === ':memory:' || file === '') return;
  fs.closeSync(fs.openSync(file, 'a', 0o600));
  fs.chmodSync(file, 0o600);
  for (const side of [`${file}-wal`, `${file}-shm`]) {
    try {
      fs.chmodSync(side, 0o600);
    } catch {
      /* not there yet */
    }
  }
}

export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}

export function latestVersion(migrations: readonly Migration[]): number {
  return migrations.reduce((max, m) => Math.max(max, m.version), 0);
}

function assertNotNewer(db: Db, migrations: readonly Migration[]): void {
  const current = schemaVersion(db);
  const latest = latestVersion(migrations);
  if (current > latest) {
    throw new StudioError(
      'newer_database',
      `This data folder's database is at schema version ${current}, but this version of SD3.5 Studio only knows ` +
        `up to ${latest}. It was opened by a newer SD3.5 Studio: update the app (nothing was changed).`,
      { current, latest },
    );
  }
}

/** Applies every pending migration in one transaction; returns the versions applied. */
export function migrate(db: Db, migrations: readonly Migration[]): number[] {
  const sorted = [...migrations].sort((a, b) => a.version - b.version);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.version === sorted[i - 1]!.version) {
      throw new Error(`Two migrations share version ${sorted[i]!.version}`);
    }
  }
  assertNotNewer(db, sorted);
  if (sorted.every((m) => m.version <= schemaVersion(db))) return [];
  // BEGIN IMMEDIATE, and the version read again inside: two processes opening a fresh folder at
  // once must not both migrate (the second waits on busy_timeout, then finds nothing pending).
  const run = db.transaction((): number[] => {
    assertNotNewer(db, sorted);
    const current = schemaVersion(db);
    const pending = sorted.filter((m) => m.version > current);
    for (const m of pending) {
      m.up(db);
      db.pragma(`user_version = ${m.version}`);
    }
    return pending.map((m) => m.version);
  });
  return run.immediate();
}
