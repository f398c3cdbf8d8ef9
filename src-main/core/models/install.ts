// Moves a verified download from its staging folder into the install folder, or removes it (cancel).
import fs from 'node:fs';
import path from 'node:path';
import { StudioError } from '../../../src-shared/errors';
import type { ModelsRoot } from './models-root';
import { safeJoin, stagedPath } from './staging-paths';

/**
 * Moves every verified staged file into the install folder (same file system: renames), then
 * removes the staging folder. Files already installed at `finalDir` are kept. A folder new to the
 * install (a component added to an installed model: the VAE encoder, T5) goes in with one rename of
 * the whole folder, so a reader of the model folder never sees half of a component.
 */
export async function installStaged(root: ModelsRoot, stagingDir: string, finalDir: string, files: readonly { path: string }[]): Promise<void> {
  await root.check(stagingDir, 'install from');
  await root.mkdir(finalDir);
  const whole = await wholeFolders(stagingDir, finalDir, files);
  for (const dir of whole) {
    const to = safeJoin(finalDir, dir);
    await root.mkdir(path.dirname(to));
    await root.rename(stagedPath(stagingDir, dir), to);
  }
  for (const f of files) {
    if (whole.has(path.posix.dirname(f.path))) continue;
    const from = stagedPath(stagingDir, f.path);
    const to = safeJoin(finalDir, f.path);
    try {
      await fs.promises.access(from);
    } catch {
      if (await fileExists(to)) continue;
      throw new StudioError('internal', `The verified file ${f.path} disappeared from ${stagingDir} before it could be installed; download again.`);
    }
    await root.mkdir(path.dirname(to));
    await root.rename(from, to);
  }
  await root.rm(stagingDir);
  await root.removeEmptyParents(path.dirname(stagingDir), 2);
}

/**
 * The repo folders that can move in whole: absent from the install, and staged as a real folder holding exactly
 * their verified files (no part, nothing else). Root-level files and anything else move file by file.
 */
async function wholeFolders(stagingDir: string, finalDir: string, files: readonly { path: string }[]): Promise<Set<string>> {
  const byDir = new Map<string, Set<string>>();
  for (const f of files) {
    const dir = path.posix.dirname(f.path);
    if (dir === '.') continue;
    const names = byDir.get(dir) ?? new Set<string>();
    names.add(path.posix.basename(f.path));
    byDir.set(dir, names);
  }
  const out = new Set<string>();
  for (const [dir, names] of byDir) {
    if (await pathExists(safeJoin(finalDir, dir))) continue;
    const staged = stagedPath(stagingDir, dir);
    const st = await fs.promises.lstat(staged).catch(() => undefined);
    if (!st?.isDirectory()) continue;
    const entries = await fs.promises.readdir(staged, { withFileTypes: true });
    if (entries.length === names.size && entries.every((e) => e.isFile() && names.has(e.name))) out.add(dir);
  }
  return out;
}

async function pathExists(p: string): Promise<boolean> {
  return (await fs.promises.lstat(p).catch(() => undefined)) !== undefined;
}

/** Removes the parts and staged files of a download (cancel). */
export async function removeStaging(root: ModelsRoot, stagingDir: string): Promise<void> {
  await root.rm(stagingDir);
  await root.removeEmptyParents(path.dirname(stagingDir), 2);
}

async function fileExists(p: string): Promise<boolean> {
  try {
    await fs.promises.access(p);
    return true;
  } catch {
    return false;
  }
}
