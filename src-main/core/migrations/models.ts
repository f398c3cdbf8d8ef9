import type { Migration } from '../db';

// The models room's migrations: versions 0300–399 (written as numbers, e.g. 300, 301).
export const modelsMigrations: Migration[] = [];
