import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { removeTempDirs, tempDir } from '../testing/temp';
import { assertInside, defaultDataDir, defaultModelsDir, ensureDataDir, resolveDataDir } from './paths';

afterAll(removeTempDirs);

describe('data folder', () => {
  it('defaults to the app userData path of each platform', () => {
    expect(defaultDataDir('linux', {}, '/home/ann')).toBe('/home/ann/.config/SD3.5 Studio');
    expect(defaultDataDir('linux', { XDG_CONFIG_HOME: '/x' }, '/home/ann')).toBe('/x/SD3.5 Studio');
    expect(defaultDataDir('darwin', {}, '/Users/ann')).toBe('/Users/ann/Library/Application Support/SD3.5 Studio');
    expect(defaultDataDir('win32', { APPDATA: 'C:\\Users\\ann\\AppData\\Roaming' }, 'C:\\Users\\ann')).toBe('C:\\Users\\ann\\AppData\\Roaming\\SD3.5 Studio');
  });

  it('takes --data-dir first, then SD35_STUDIO_HOME', () => {
    expect(resolveDataDir('/flag', { SD35_STUDIO_HOME: '/env' })).toBe('/flag');
    expect(resolveDataDir(undefined, { SD35_STUDIO_HOME: '/env' })).toBe('/env');
    expect(resolveDataDir('rel', {})).toBe(path.resolve('rel'));
  });

  it('puts models under the data folder, or under LOCALAPPDATA on Windows', () => {
    expect(defaultModelsDir('/d', 'linux', {})).toBe(path.join('/d', 'models'));
    expect(defaultModelsDir('C:\\d', 'win32', { LOCALAPPDATA: 'C:\\L' })).toBe('C:\\L\\SD3.5 Studio\\models');
  });
});

describe('ensureDataDir', () => {
  it.skipIf(process.platform === 'win32')('makes the data folder the user\'s alone (0700), also an old 0755 one', () => {
    const fresh = path.join(tempDir(), 'data');
    ensureDataDir(fresh);
    expect(fs.statSync(fresh).mode & 0o777).toBe(0o700);
    const old = tempDir();
    fs.chmodSync(old, 0o755);
    ensureDataDir(old);
    expect(fs.statSync(old).mode & 0o777).toBe(0o700);
    expect(fs.statSync(path.join(old, 'images')).mode & 0o077).toBe(0);
  });
});

describe('assertInside', () => {
  it('accepts files inside and refuses .., absolute paths elsewhere, symlinks out and the root itself', () => {
    const root = tempDir();
    const outside = tempDir();
    fs.mkdirSync(path.join(root, 'images'));
    fs.writeFileSync(path.join(root, 'images', 'a.png'), 'x');
    fs.writeFileSync(path.join(outside, 'b.png'), 'y');
    fs.symlinkSync(path.join(outside, 'b.png'), path.join(root, 'images', 'link.png'));
    fs.symlinkSync(outside, path.join(root, 'images', 'dirlink'));
    expect(assertInside(root, path.join(root, 'images', 'a.png'))).toBe(fs.realpathSync(path.join(root, 'images', 'a.png')));
    for (const bad of [path.join(root, 'images', '..', '..', path.basename(outside), 'b.png'), path.join(outside, 'b.png'), path.join(root, 'images', 'link.png'), path.join(root, 'images', 'dirlink', 'b.png'), root, path.join(root, 'missing.png')]) {
      expect(() => assertInside(root, bad), bad).toThrow();
    }
  });
});
