// The models room's migrations (0300 range) on a fresh database and on one left by the previous
// schema version, in real SQLite files.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { latestVersion, openDatabase, schemaVersion } from '../db';
import { ALL_MIGRATIONS } from '../migrations';
import { modelsMigrations } from '../migrations/models';
import { ModelStore } from './store';
import { tempDir } from '../../testing/models/repo-fixture';

const dirs: string[] = [];
afterEach(() => {
  while (dirs.length) fs.rmSync(dirs.pop()!, { recursive: true, force: true });
});
function dbFile(): string {
  const d = tempDir('migrations');
  dirs.push(d);
  return path.join(d, 'studio.db');
}

describe('models migrations', () => {
  it('stay inside the 0300 range, in order', () => {
    const versions = modelsMigrations.map((m) => m.version);
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
    for (const v of versions) expect(v >= 300 && v < 400).toBe(true);
  });

  it('create STRICT tables with checks and a cascading foreign key on a fresh database', () => {
    const db = openDatabase(dbFile());
    try {
      expect(schemaVersion(db)).toBe(latestVersion(ALL_MIGRATIONS));
      const tables = db.prepare("SELECT name, strict FROM pragma_table_list WHERE name IN ('models', 'downloads') ORDER BY name").all();
      expect(tables).toEqual([
        { name: 'downloads', strict: 1 },
        { name: 'models', strict: 1 },
      ]);
      const store = new ModelStore(db, () => 1000);
      store.beginDownload('sd3.5-medium', { repo: 'TensorStack/x', revision: 'main', commit: 'a'.repeat(40), t5: true });
      store.plan('sd3.5-medium', 'a'.repeat(40), [{ path: 'unet/model.onnx', size: 10, gitOid: 'b'.repeat(40) }]);
      expect(() => db.prepare("UPDATE models SET download_state = 'bogus'").run()).toThrow(/CHECK/);
      expect(() => db.prepare("UPDATE downloads SET bytes_done = 'lots'").run()).toThrow();
      db.prepare('DELETE FROM models').run();
      expect((db.prepare('SELECT COUNT(*) AS n FROM downloads').get() as { n: number }).n).toBe(0);
    } finally {
      db.close();
    }
  });

  it('upgrade a database of the previous version, keeping its rows', () => {
    const file = dbFile();
    const previous = ALL_MIGRATIONS.filter((m) => m.version <= 300);
    const old = openDatabase(file, { migrations: previous });
    expect(schemaVersion(old)).toBe(300);
    old
      .prepare(
        `INSERT INTO models (id, source, repo, revision, installed_commit, path, layout, t5, size_bytes, created_at, updated_at)
         VALUES ('sd3.5-medium', 'hub', 'TensorStack/stable-diffusion-3.5-medium-onnx', 'main', ?, '/m/x', 'tensorstack', 1, 42, 1, 1)`,
      )
      .run('c'.repeat(40));
    expect(old.prepare("SELECT name FROM sqlite_master WHERE name = 'downloads'").get()).toBeUndefined();
    old.close();

    const db = openDatabase(file);
    try {
      expect(schemaVersion(db)).toBe(latestVersion(ALL_MIGRATIONS));
      const store = new ModelStore(db);
      expect(store.get('sd3.5-medium')).toMatchObject({ installedCommit: 'c'.repeat(40), layout: 'tensorstack', t5: true, sizeBytes: 42 });
      expect(store.files('sd3.5-medium', 'c'.repeat(40))).toEqual([]);
    } finally {
      db.close();
    }
  });

  it('open a database from before the models room (spine only)', () => {
    const file = dbFile();
    openDatabase(file, { migrations: ALL_MIGRATIONS.filter((m) => m.version < 200) }).close();
    const db = openDatabase(file);
    try {
      expect(new ModelStore(db).all()).toEqual([]);
    } finally {
      db.close();
    }
  });
});
