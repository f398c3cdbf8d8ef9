import type { Migration } from '../db';

// The history room's migrations: versions 0200–299 (written as numbers, e.g. 200, 201).
export const historyMigrations: Migration[] = [];
