// Settings persisted in the `settings` table (migration 0100), one JSON value per key.
import { settingsSchema, type Settings, type SettingsPatch } from '../../src-shared/api';
import type { Db } from './db';

export function defaultSettings(modelsDir: string): Settings {
  return { theme: 'system', executionProvider: 'auto', memoryMode: 'balanced', modelsDir, livePreviews: true, idleUnloadMinutes: 10 };
}

export class SettingsStore {
  constructor(
    private readonly db: Db,
    private readonly defaults: Settings,
  ) {}

  get(): Settings {
    const rows = this.db.prepare('SELECT key, value FROM settings').all() as { key: string; value: string }[];
    const merged: Record<string, unknown> = { ...this.defaults };
    for (const row of rows) {
      if (!(row.key in this.defaults)) continue;
      try {
        merged[row.key] = JSON.parse(row.value);
      } catch {
        // a damaged value falls back to its default
      }
    }
    const parsed = settingsSchema.safeParse(merged);
    if (parsed.success) return parsed.data;
    // Keep every value that is still valid on its own; reset the others.
    const repaired: Record<string, unknown> = { ...this.defaults };
    for (const key of Object.keys(this.defaults) as (keyof Settings)[]) {
      const one = settingsSchema.shape[key].safeParse(merged[key]);
      if (one.success) repaired[key] = one.data;
    }
    return settingsSchema.parse(repaired);
  }

  set(patch: SettingsPatch): Settings {
    const next = settingsSchema.parse({ ...this.get(), ...patch });
    const upsert = this.db.prepare(
      'INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at',
    );
    const now = Date.now();
    this.db.transaction(() => {
      for (const [key, value] of Object.entries(patch)) {
        if (value !== undefined) upsert.run(key, JSON.stringify(value), now);
      }
    })();
    return next;
  }
}
