import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { removeTempDirs, tempDir } from '../testing/temp';
import { openDatabase } from './db';
import { SettingsStore, defaultSettings } from './settings';

afterAll(removeTempDirs);

describe('SettingsStore', () => {
  it('returns defaults, persists changes across reopening, and repairs damaged values', () => {
    const file = path.join(tempDir(), 'studio.db');
    const defaults = defaultSettings('/models');
    let db = openDatabase(file);
    const store = new SettingsStore(db, defaults);
    expect(store.get()).toEqual(defaults);
    expect(store.set({ memoryMode: 'low', theme: 'dark' })).toMatchObject({ memoryMode: 'low', theme: 'dark', modelsDir: '/models' });
    db.close();
    db = openDatabase(file);
    expect(new SettingsStore(db, defaults).get()).toMatchObject({ memoryMode: 'low', theme: 'dark' });
    db.prepare("UPDATE settings SET value = '\"warp\"' WHERE key = 'memoryMode'").run();
    db.prepare("UPDATE settings SET value = '{not json' WHERE key = 'theme'").run();
    expect(new SettingsStore(db, defaults).get()).toMatchObject({ memoryMode: 'balanced', theme: 'system' });
    db.close();
  });
});
