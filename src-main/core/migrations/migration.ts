// What a migration is, below both the migration files and db.ts (which runs them): the rooms' files import
// this, never db.ts, so db.ts → migrations/ is the only direction.
import type Database from 'better-sqlite3';

export type Db = Database.Database;

export interface Migration {
  /** Unique, increasing number inside the room's range, e.g. 100, 101, 200. */
  version: number;
  name: string;
  up(db: Db): void;
}
