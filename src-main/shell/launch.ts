// How the Electron entry was started, decided from argv alone (no Electron import, tested under Node):
// `<app> cli <args>` runs the CLI headless — no window, the same data folder and exit codes — because the
// packaged app has the RunAsNode fuse off (ELECTRON_RUN_AS_NODE cannot turn it into a plain Node).
// Anything else opens the window; files named on the line (desktop "Open with") are handed to it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export type Launch =
  | { mode: 'cli'; args: string[] }
  | {
      mode: 'window';
      /** --data-dir D (or --data-dir=D). */
      dataDir?: string;
      /** Files named on the command line ("Open with SD3.5 Studio"). */
      files: string[];
      /** Only in development: the electron-vite dev server the window loads (and IPC trusts). */
      devServer?: { url: string; origin: string };
    };

export interface LaunchContext {
  /** app.isPackaged: argv[0] is the app itself; unpackaged, argv[1] is the app folder (`electron .`). */
  isPackaged: boolean;
  env: NodeJS.ProcessEnv;
}

/** Options of ours that take a value as the next word. */
const VALUE_OPTIONS = new Set(['--data-dir']);

/** The dev-server URL and its origin (`ELECTRON_RENDERER_URL`, set by electron-vite dev), never when packaged. */
export function devServerOf(ctx: LaunchContext): { url: string; origin: string } | undefined {
  const url = ctx.isPackaged ? undefined : ctx.env.ELECTRON_RENDERER_URL;
  if (!url) return undefined;
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' || !['localhost', '127.0.0.1', '[::1]'].includes(parsed.hostname)) return undefined;
    return { url, origin: parsed.origin };
  } catch {
    return undefined;
  }
}

export function decideLaunch(argv: readonly string[], ctx: LaunchContext): Launch {
  const words = argv.slice(1); // argv[0] is the executable
  const positional: string[] = [];
  let dataDir: string | undefined;
  let skippedAppPath = ctx.isPackaged;
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w.startsWith('-')) {
      // Chromium/Node switches (--inspect=0, --no-sandbox, -psn_… on macOS) and our --data-dir.
      if (VALUE_OPTIONS.has(w)) dataDir = words[++i];
      else if (w.startsWith('--data-dir=')) dataDir = w.slice('--data-dir='.length);
      continue;
    }
    if (!skippedAppPath) {
      skippedAppPath = true; // `electron <app folder> …`
      continue;
    }
    if (positional.length === 0 && w === 'cli') return { mode: 'cli', args: words.slice(i + 1) };
    positional.push(w);
  }
  const devServer = devServerOf(ctx);
  return { mode: 'window', ...(dataDir ? { dataDir } : {}), files: positional, ...(devServer ? { devServer } : {}) };
}

/**
 * The View menu's items: the packaged app drops Toggle Developer Tools (and reload, which would lose
 * the running state); development keeps Electron's full View menu.
 */
export function viewMenuRoles(isPackaged: boolean): string[] {
  const zoom = ['resetZoom', 'zoomIn', 'zoomOut', 'separator', 'togglefullscreen'];
  return isPackaged ? zoom : ['reload', 'forceReload', 'toggleDevTools', 'separator', ...zoom];
}

/**
 * The PNG files of an "Open with" line, absolute (a second instance passes its own working directory).
 * Desktop entries pass %U: local files may come as file:// URLs.
 */
export function openedPngs(files: readonly string[], cwd: string, resolve: (cwd: string, file: string) => string): string[] {
  const local = files.map((f) => {
    if (!f.startsWith('file://')) return f;
    try {
      return fileURLToPath(f);
    } catch {
      return '';
    }
  });
  return local.filter((f) => /\.png$/i.test(f)).map((f) => resolve(cwd, f)).slice(0, 200);
}

/**
 * The Chromium profile of `<app> cli`: a fresh private folder (mkdtemp: 0700, random name) in the temp directory,
 * never a fixed name another local user could create first. The caller removes it when the CLI ends.
 */
export function cliProfileDir(tmp: string = os.tmpdir()): { dir: string; remove(): void } {
  const dir = fs.mkdtempSync(path.join(tmp, 'sd35-studio-cli-'));
  return {
    dir,
    remove() {
      try {
        fs.rmSync(dir, { recursive: true, force: true });
      } catch {
        // still held (Windows): the temp directory's own cleanup takes it
      }
    },
  };
}
