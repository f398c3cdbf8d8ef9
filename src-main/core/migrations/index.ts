// Every migration of every room, in one list. Each room keeps its own file and range:
// 0100 spine/settings, 0200 history, 0300 models, 0400 jobs/compare.
import type { Migration } from '../db';
import { spineMigrations } from './spine';
import { historyMigrations } from './history';
import { modelsMigrations } from './models';
import { jobsMigrations } from './jobs';
import { compareMigrations } from './compare';

export const ALL_MIGRATIONS: readonly Migration[] = [
  ...spineMigrations,
  ...historyMigrations,
  ...modelsMigrations,
  ...jobsMigrations,
  ...compareMigrations,
];
