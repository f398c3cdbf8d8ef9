// Moves a verified download from its staging folder into the install folder, or removes it (cancel).
import fs from 'node:fs';
import path from 'node:path';
import { StudioError } from '../../../src-shared/errors';
import type { ModelsRoot } from './models-root';
import { safeJoin, stagedPath } from './staging-paths';

/**
 * Moves every verified staged file into the install folder (same file system: renames), then
 * removes the staging folder. Files already installed at `finalDir` are kept.
 */
export async function installStaged(root: ModelsRoot, stagingDir: string, finalDir: string, files: readonly { path: string }[]): Promise<void> {
  await root.check(stagingDir, 'install from');
  await root.mkdir(finalDir);
  for (const f of files) {
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
