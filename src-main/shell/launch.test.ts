import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliProfileDir, decideLaunch, devServerOf, viewMenuRoles } from './launch';

const packaged = { isPackaged: true, env: {} };
const dev = { isPackaged: false, env: {} };

describe('the Electron entry: cli or window', () => {
  it('`<app> cli <args>` runs the CLI with the rest of the line, untouched', () => {
    expect(decideLaunch(['/opt/SD3.5 Studio/sd35-studio', 'cli', 'info', '--json'], packaged)).toEqual({ mode: 'cli', args: ['info', '--json'] });
    expect(decideLaunch(['C:\\Apps\\sd35-studio.exe', 'cli', 'generate', '--model', 'sd3.5-medium', '--prompt', 'cli', '--data-dir', 'D:\\s'], packaged)).toEqual({
      mode: 'cli',
      args: ['generate', '--model', 'sd3.5-medium', '--prompt', 'cli', '--data-dir', 'D:\\s'],
    });
    expect(decideLaunch(['/x/sd35-studio', 'cli'], packaged)).toEqual({ mode: 'cli', args: [] });
    // Unpackaged (`electron . cli …`, Playwright's _electron adds switches first).
    expect(decideLaunch(['/x/electron', '.', 'cli', 'models', 'list'], dev)).toEqual({ mode: 'cli', args: ['models', 'list'] });
    expect(decideLaunch(['/x/electron', '--inspect=0', '--remote-debugging-port=0', '/repo', 'cli', '--version'], dev)).toEqual({ mode: 'cli', args: ['--version'] });
    // Switches Chromium or macOS put before it do not hide it; --data-dir before cli is kept for the CLI to read itself.
    expect(decideLaunch(['/x/SD3.5 Studio', '-psn_0_12345', 'cli', 'info'], packaged)).toEqual({ mode: 'cli', args: ['info'] });
  });

  it('anything else opens the window: no window only for cli', () => {
    expect(decideLaunch(['/x/sd35-studio'], packaged)).toEqual({ mode: 'window', files: [] });
    expect(decideLaunch(['/x/electron', '.'], dev)).toEqual({ mode: 'window', files: [] });
    // The app folder itself is not a file to open, and `cli` is only a command in first position.
    expect(decideLaunch(['/x/electron', '/repo', '--data-dir', '/d', '/p/a.png', 'cli'], dev)).toEqual({ mode: 'window', dataDir: '/d', files: ['/p/a.png', 'cli'] });
    expect(decideLaunch(['/x/sd35-studio', '--data-dir=/d2', '/p/cli.png'], packaged)).toEqual({ mode: 'window', dataDir: '/d2', files: ['/p/cli.png'] });
    // A file called "cli" opened packaged with a path is a path, not the command.
    expect(decideLaunch(['/x/sd35-studio', './cli'], packaged).mode).toBe('window');
  });

  it('the dev-server origin the window loads is the one IPC trusts; never when packaged', () => {
    const env = { ELECTRON_RENDERER_URL: 'http://localhost:5173/' };
    expect(devServerOf({ isPackaged: false, env })).toEqual({ url: 'http://localhost:5173/', origin: 'http://localhost:5173' });
    expect(decideLaunch(['/x/electron', '.'], { isPackaged: false, env })).toMatchObject({ devServer: { origin: 'http://localhost:5173' } });
    expect(devServerOf({ isPackaged: true, env })).toBeUndefined();
    expect(devServerOf({ isPackaged: false, env: { ELECTRON_RENDERER_URL: 'https://evil.example/' } })).toBeUndefined();
    expect(devServerOf({ isPackaged: false, env: { ELECTRON_RENDERER_URL: 'not a url' } })).toBeUndefined();
  });

  it('the packaged View menu has no developer tools', () => {
    expect(viewMenuRoles(true)).not.toContain('toggleDevTools');
    expect(viewMenuRoles(true)).not.toContain('reload');
    expect(viewMenuRoles(false)).toContain('toggleDevTools');
  });
});

describe('"Open with SD3.5 Studio"', () => {
  it('keeps the PNG files of the line, absolute against the launching folder', async () => {
    const { openedPngs } = await import('./launch');
    const path = await import('node:path');
    expect(openedPngs(['a.PNG', '/x/b.png', 'notes.txt'], '/home/u', path.posix.resolve)).toEqual(['/home/u/a.PNG', '/x/b.png']);
    if (process.platform !== 'win32') expect(openedPngs(['file:///home/u/My%20Pictures/c.png', 'file:///x/d.txt'], '/', path.posix.resolve)).toEqual(['/home/u/My Pictures/c.png']);
  });
});

describe('the Chromium profile of `<app> cli`', () => {
  it('is a fresh 0700 folder with a random name, not a fixed one another local user can create first', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-launch-'));
    try {
      // Another local user got there first with the old fixed name.
      const squatted = path.join(tmp, 'sd35-studio-cli-profile');
      fs.mkdirSync(squatted, { mode: 0o777 });
      const a = cliProfileDir(tmp);
      const b = cliProfileDir(tmp);
      expect(a.dir).not.toBe(b.dir);
      for (const p of [a, b]) {
        expect(path.dirname(p.dir)).toBe(tmp);
        expect(p.dir).not.toBe(squatted);
        if (process.platform !== 'win32') expect(fs.statSync(p.dir).mode & 0o777).toBe(0o700);
      }
      a.remove();
      expect(fs.existsSync(a.dir)).toBe(false);
      expect(fs.existsSync(b.dir)).toBe(true);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
