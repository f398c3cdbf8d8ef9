import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { removeTempDirs, tempDir } from '../testing/temp';
import { DEFAULT_WINDOW_STATE, loadWindowState, saveWindowState } from './window-state';

afterAll(removeTempDirs);
const screen = [{ x: 0, y: 0, width: 1920, height: 1080 }];

describe('window state', () => {
  it('remembers size and position', () => {
    const file = path.join(tempDir(), 'window-state.json');
    expect(loadWindowState(file, screen)).toEqual(DEFAULT_WINDOW_STATE);
    saveWindowState(file, { x: 100, y: 80, width: 1200, height: 800, maximized: true });
    expect(loadWindowState(file, screen)).toEqual({ x: 100, y: 80, width: 1200, height: 800, maximized: true });
  });

  it('drops a position that is on no display any more, and ignores a damaged file', () => {
    const file = path.join(tempDir(), 'window-state.json');
    saveWindowState(file, { x: 5000, y: 3000, width: 1200, height: 800, maximized: false });
    expect(loadWindowState(file, screen)).toEqual({ width: 1200, height: 800, maximized: false });
    fs.writeFileSync(file, '{"width": "huge"');
    expect(loadWindowState(file, screen)).toEqual(DEFAULT_WINDOW_STATE);
  });
});
