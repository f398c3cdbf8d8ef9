// The data folder: where it is (shared by app, CLI and `serve`), what lives inside it, and the
// guard that keeps every file we open inside it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { StudioError } from '../../src-shared/errors';

export const APP_DIR_NAME = 'SD3.5 Studio';

/**
 * The default data folder, the same as Electron's app.getPath('userData') for productName
 * "SD3.5 Studio", computed without Electron so the CLI shares the app's history.
 */
export function defaultDataDir(
  platform: NodeJS.Platform = process.platform,
  env: NodeJS.ProcessEnv = process.env,
  home: string = os.homedir(),
): string {
  if (platform === 'win32') {
    return path.win32.join(env.APPDATA ?? path.win32.join(home, 'AppData', 'Roaming'), APP_DIR_NAME);
  }
  if (platform === 'darwin') return path.posix.join(home, 'Library', 'Application Support', APP_DIR_NAME);
  return path.posix.join(env.XDG_CONFIG_HOME || path.posix.join(home, '.config'), APP_DIR_NAME);
}

/** First that is set: --data-dir, SD35_STUDIO_HOME, else the platform default. */
export function resolveDataDir(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const chosen = flag || env.SD35_STUDIO_HOME || defaultDataDir(process.platform, env);
  return path.resolve(chosen);
}

/** Default models folder: <data>/models, on Windows under %LOCALAPPDATA% (models are 6–30 GB). */
export function defaultModelsDir(dataDir: string, platform: NodeJS.Platform = process.platform, env = process.env): string {
  if (platform === 'win32' && env.LOCALAPPDATA) return path.win32.join(env.LOCALAPPDATA, APP_DIR_NAME, 'models');
  return path.join(dataDir, 'models');
}

export interface DataLayout {
  root: string;
  db: string;
  lock: string;
  images: string;
  thumbs: string;
  trash: string;
  logs: string;
  /** Cached answers of the op capability probes (the pre-download check and the worker share them). */
  opProbes: string;
  /** The port the last `serve` listened on (reused when free, so the browser keeps its origin). */
  servePort: string;
  /** Derived graphs (portable, LoRA, …), model-folder/derived-graphs.ts: never inside a model folder. */
  graphs: string;
  /** The LoRA library (core/loras/library.ts). */
  loras: string;
  /** Imported super-resolution models (core/upscalers/library.ts). */
  upscalers: string;
}

export function dataLayout(root: string): DataLayout {
  return {
    root,
    db: path.join(root, 'studio.db'),
    lock: path.join(root, 'studio.lock'),
    images: path.join(root, 'images'),
    thumbs: path.join(root, 'thumbs'),
    trash: path.join(root, 'trash'),
    logs: path.join(root, 'logs'),
    opProbes: path.join(root, 'op-probes'),
    servePort: path.join(root, 'serve-port'),
    graphs: path.join(root, 'graphs'),
    loras: path.join(root, 'loras'),
    upscalers: path.join(root, 'upscalers'),
  };
}

/** Creates the data folder and its subfolders; on POSIX the folder is the user's alone (0700). */
export function ensureDataDir(root: string, platform: NodeJS.Platform = process.platform): DataLayout {
  const layout = dataLayout(root);
  for (const dir of [layout.root, layout.images, layout.thumbs, layout.trash, layout.logs]) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  }
  // An existing folder made 0755 by an older version: prompts and images are private.
  if (platform !== 'win32') fs.chmodSync(layout.root, 0o700);
  return layout;
}

/**
 * Resolves `candidate` (following symlinks) and throws unless it lies inside `root` (also resolved).
 * Returns the real path. The file must exist.
 */
export function assertInside(root: string, candidate: string): string {
  let realRoot: string;
  let real: string;
  try {
    realRoot = fs.realpathSync(root);
    real = fs.realpathSync(candidate);
  } catch {
    throw new StudioError('not_found', 'File not found');
  }
  const rel = path.relative(realRoot, real);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) {
    throw new StudioError('not_found', 'File not found');
  }
  return real;
}
