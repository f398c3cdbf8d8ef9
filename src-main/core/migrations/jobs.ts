import type { Migration } from '../db';

// The jobs room's migrations: versions 0400–499 (written as numbers, e.g. 400, 401).
export const jobsMigrations: Migration[] = [];
