// The database core over real SQLite files: pragmas, migrations on a fresh and on a
// previous-version database, a newer database refused, and the migration 0100 (settings).
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { isStudioError } from '../../src-shared/errors';
import { removeTempDirs, tempDir } from '../testing/temp';
import { latestVersion, migrate, openDatabase, schemaVersion, type Migration } from './db';
import { ALL_MIGRATIONS, MIGRATION_ROOMS } from './migrations';
import { spineMigrations } from './migrations/spine';

afterAll(removeTempDirs);

const dbFile = () => path.join(tempDir(), 'studio.db');

describe('openDatabase', () => {
  it('sets WAL, foreign keys and a busy timeout, and migrates to the latest version', () => {
    const db = openDatabase(dbFile());
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('busy_timeout', { simple: true })).toBe(5000);
    expect(schemaVersion(db)).toBe(latestVersion(ALL_MIGRATIONS));
    db.close();
  });

  it.skipIf(process.platform === 'win32')('keeps studio.db and its WAL private (0600), tightening an old 0644 file', () => {
    const fresh = dbFile();
    const db = openDatabase(fresh);
    db.prepare('SELECT 1').get();
    expect(fs.statSync(fresh).mode & 0o777).toBe(0o600);
    expect(fs.statSync(`${fresh}-wal`).mode & 0o777).toBe(0o600);
    db.close();
    const old = dbFile();
    fs.writeFileSync(old, '');
    fs.chmodSync(old, 0o644);
    openDatabase(old).close();
    expect(fs.statSync(old).mode & 0o777).toBe(0o600);
  });

  it('creates every table STRICT', () => {
    const db = openDatabase(dbFile());
    const tables = db.prepare("SELECT name, sql FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND sql NOT LIKE 'CREATE VIRTUAL%'").all() as { name: string; sql: string }[];
    const ftsShadow = /_(data|idx|content|docsize|config)$/;
    for (const t of tables.filter((t) => !ftsShadow.test(t.name))) expect(t.sql, t.name).toMatch(/\)\s*STRICT\s*;?\s*$/i);
    db.close();
  });

  it('refuses a database from a newer version, clearly, and changes nothing', () => {
    const file = dbFile();
    const raw = new Database(file);
    raw.pragma('user_version = 99999');
    raw.close();
    let caught: unknown;
    try {
      openDatabase(file);
    } catch (err) {
      caught = err;
    }
    expect(isStudioError(caught, 'newer_database')).toBe(true);
    expect((caught as Error).message).toMatch(/newer SD3\.5 Studio/);
    const check = new Database(file);
    expect(check.pragma('user_version', { simple: true })).toBe(99999);
    check.close();
  });
});

describe('migration runner', () => {
  const extra: Migration[] = [
    { version: 150, name: 'a', up: (db) => db.exec('CREATE TABLE a (id INTEGER PRIMARY KEY) STRICT') },
    { version: 151, name: 'b', up: (db) => db.exec('CREATE TABLE b (id INTEGER PRIMARY KEY) STRICT') },
  ];

  it('applies only the pending migrations on a previous-version database', () => {
    const file = dbFile();
    const db = openDatabase(file, { migrations: [...spineMigrations] });
    expect(schemaVersion(db)).toBe(100);
    db.prepare("INSERT INTO settings (key, value, updated_at) VALUES ('theme', '\"dark\"', 1)").run();
    expect(migrate(db, [...spineMigrations, ...extra])).toEqual([150, 151]);
    expect(schemaVersion(db)).toBe(151);
    expect(migrate(db, [...spineMigrations, ...extra])).toEqual([]);
    expect(db.prepare('SELECT value FROM settings WHERE key = ?').get('theme')).toEqual({ value: '"dark"' });
    db.close();
  });

  it('runs all pending migrations in one transaction: a failing one leaves the database as it was', () => {
    const file = dbFile();
    const db = openDatabase(file, { migrations: [...spineMigrations] });
    const broken: Migration[] = [extra[0]!, { version: 152, name: 'boom', up: () => { throw new Error('boom'); } }];
    expect(() => migrate(db, [...spineMigrations, ...broken])).toThrow('boom');
    expect(schemaVersion(db)).toBe(100);
    expect(db.prepare("SELECT count(*) AS n FROM sqlite_schema WHERE name = 'a'").get()).toEqual({ n: 0 });
    db.close();
  });

  it('refuses two migrations with one version', () => {
    const db = openDatabase(dbFile(), { migrations: [...spineMigrations] });
    expect(() => migrate(db, [...spineMigrations, extra[0]!, { ...extra[1]!, version: 150 }])).toThrow(/share version 150/);
    db.close();
  });

  it('every room keeps to its range and versions are unique', () => {
    const versions = ALL_MIGRATIONS.map((m) => m.version);
    expect(new Set(versions).size).toBe(versions.length);
    // Ranges do not overlap, and every migration is inside its own room's range (a history migration numbered
    // 305 fails here even though it is ≥ 100 and unique).
    const rooms = [...MIGRATION_ROOMS].sort((a, b) => a.first - b.first);
    for (const [i, r] of rooms.entries()) if (i > 0) expect(r.first, r.room).toBeGreaterThan(rooms[i - 1]!.last);
    expect(rooms[0]!.first).toBe(100);
    for (const r of MIGRATION_ROOMS) {
      expect(r.migrations.length, r.room).toBeGreaterThan(0);
      for (const m of r.migrations) {
        expect(m.version, `${r.room} migration ${m.version}`).toBeGreaterThanOrEqual(r.first);
        expect(m.version, `${r.room} migration ${m.version}`).toBeLessThanOrEqual(r.last);
      }
    }
    expect(ALL_MIGRATIONS.length).toBe(MIGRATION_ROOMS.reduce((n, r) => n + r.migrations.length, 0));
    // The ranges are the numbers docs/architecture.md §1 promises, pinned here (not read back from the table that
    // could be widened to let a stray migration in).
    expect(MIGRATION_ROOMS.map((r) => [r.room, r.first, r.last])).toEqual([
      ['spine', 100, 199],
      ['history', 200, 299],
      ['models', 300, 399],
      ['jobs', 400, 449],
      ['compare', 450, 499],
    ]);
  });

  it('400 upgrades a database that has rows: generate jobs made before the queue become the CLI\'s, in id order; imports stay unowned', () => {
    const file = dbFile();
    const before = ALL_MIGRATIONS.filter((m) => m.version < 400);
    const db = openDatabase(file, { migrations: before });
    expect(schemaVersion(db)).toBe(latestVersion(before));
    const job = db.prepare("INSERT INTO jobs (kind, params, seeds, count, status, created_at, finished_at) VALUES (?, '{}', '[]', 1, ?, 1, 2)");
    const gen = db.prepare("INSERT INTO generations (job_id, idx, seed, prompt, width, height, status, created_at) VALUES (?, 0, '7', 'a fox', 64, 64, 'done', 1)");
    const ids: { kind: string; id: number }[] = [];
    for (const [kind, status] of [['generate', 'done'], ['import', 'done'], ['generate', 'failed'], ['generate', 'done']] as const) {
      const id = Number(job.run(kind, status).lastInsertRowid);
      gen.run(id);
      ids.push({ kind, id });
    }
    db.prepare('DELETE FROM jobs WHERE id = ?').run(ids[0]!.id); // a gap: positions follow ids, not row counts
    expect(migrate(db, ALL_MIGRATIONS)).toContain(400);
    const rows = db.prepare('SELECT id, kind, owner, position, cancel_requested, cleared_at FROM jobs ORDER BY id').all();
    expect(rows).toEqual([
      { id: ids[1]!.id, kind: 'import', owner: null, position: null, cancel_requested: 0, cleared_at: null },
      { id: ids[2]!.id, kind: 'generate', owner: 'cli', position: ids[2]!.id, cancel_requested: 0, cleared_at: null },
      { id: ids[3]!.id, kind: 'generate', owner: 'cli', position: ids[3]!.id, cancel_requested: 0, cleared_at: null },
    ]);
    // The generations keep their rows; the new columns are empty on them.
    expect(db.prepare('SELECT count(*) AS n, count(axis_value) AS axis, count(step) AS step, count(total) AS total FROM generations').get()).toEqual({ n: 3, axis: 0, step: 0, total: 0 });
    db.close();
  });

  it('0100 creates the settings table', () => {
    const db = openDatabase(dbFile(), { migrations: spineMigrations });
    const cols = db.prepare('PRAGMA table_info(settings)').all() as { name: string }[];
    expect(cols.map((c) => c.name)).toEqual(['key', 'value', 'updated_at']);
    db.close();
  });
});
