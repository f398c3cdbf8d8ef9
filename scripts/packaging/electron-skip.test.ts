// Why the Electron specs skip, said once and in one wording: `npm run test:e2e` printed it once per spec file
// and `npm test`'s Electron step a third time in other words.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { tellElectronSkip } from '../../e2e/support/electron-binary';
import { electronBinaryAt, electronMissing, skipLine } from './electron-skip.mjs';

const ROOT = path.resolve(__dirname, '..', '..');
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe('electronMissing', () => {
  it('names the binary first, then better-sqlite3 for Electron, then nothing', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-electron-skip-'));
    dirs.push(root);
    expect(electronMissing(root)).toMatch(/^the Electron binary is not installed here/);
    const dist = path.join(root, 'node_modules', 'electron', 'dist');
    fs.mkdirSync(dist, { recursive: true });
    fs.writeFileSync(path.join(root, 'node_modules', 'electron', 'path.txt'), 'electron');
    fs.writeFileSync(path.join(dist, 'electron'), '');
    expect(electronBinaryAt(root)).toBe(path.join(dist, 'electron'));
    expect(electronMissing(root)).toMatch(/^better-sqlite3 for Electron is not prepared/);
    fs.mkdirSync(path.join(root, 'native', 'electron'), { recursive: true });
    fs.writeFileSync(path.join(root, 'native', 'electron', 'better_sqlite3.node'), '');
    expect(electronMissing(root)).toBeUndefined();
  });
});

describe('printed once', () => {
  it('every Electron spec file tells its reason, the line appears once', () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      tellElectronSkip('the Electron binary is not installed here');
      tellElectronSkip('the Electron binary is not installed here');
      tellElectronSkip(undefined);
      expect(log.mock.calls).toEqual([[skipLine('the Electron binary is not installed here')]]);
    } finally {
      log.mockRestore();
    }
  });

  it.skipIf(!!electronBinaryAt(ROOT))("`npm test`'s Electron step does not repeat what the e2e run printed", () => {
    const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'packaging', 'test-electron.mjs'), '--after-e2e'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout + r.stderr).toBe('');
  });
});
