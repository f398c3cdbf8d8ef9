// Every migration of every room, in one list. Each room keeps its own file and range:
// 0100 spine/settings, 0200 history, 0300 models, 0400 jobs/compare.
import type { Migration } from './migration';
import { spineMigrations } from './spine';
import { historyMigrations } from './history';
import { modelsMigrations } from './models';
import { jobsMigrations } from './jobs';
import { compareMigrations } from './compare';

/** Each room's file and the version range it owns (a migration numbered outside it is a mistake). */
export const MIGRATION_ROOMS: readonly { room: string; first: number; last: number; migrations: readonly Migration[] }[] = [
  { room: 'spine', first: 100, last: 199, migrations: spineMigrations },
  { room: 'history', first: 200, last: 299, migrations: historyMigrations },
  { room: 'models', first: 300, last: 399, migrations: modelsMigrations },
  { room: 'jobs', first: 400, last: 449, migrations: jobsMigrations },
  { room: 'compare', first: 450, last: 499, migrations: compareMigrations },
];

export const ALL_MIGRATIONS: readonly Migration[] = MIGRATION_ROOMS.flatMap((r) => r.migrations);
