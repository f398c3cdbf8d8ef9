// Where a model's files live under the models folder: a repo commit's install and staging folders, the folder a
// download's repo paths are relative to, and removing an installed folder (never anything outside the models folder).
import path from 'node:path';
import { repoFolderName } from '../../../src-shared/catalog';
import { ModelsRoot, isStrictlyInside } from './models-root';
import type { ModelRow } from './store';

export class ModelFolders {
  /** Every mkdir, rename and rm under the models folder goes through it. */
  readonly root: ModelsRoot;

  /** `modelsDir`: absolute (the service resolves the setting). */
  constructor(readonly modelsDir: string) {
    this.root = new ModelsRoot(modelsDir);
  }

  installDir(repo: string, commit: string): string {
    return path.join(this.modelsDir, repoFolderName(repo), commit);
  }

  stagingDir(repo: string, commit: string): string {
    return path.join(this.modelsDir, '.staging', repoFolderName(repo), commit);
  }

  /** The staging folder of a stored row; undefined when the row's repo or commit is not valid (a row from before the checks). */
  storedStagingDir(repo: string, commit: string): string | undefined {
    if (!/^[0-9a-f]{40}$/.test(commit)) return undefined;
    try {
      return this.stagingDir(repo, commit);
    } catch {
      return undefined;
    }
  }

  /**
   * The folder a downloaded model's repo paths are relative to: its commit folder (the model folder itself may
   * be a subfolder of it, see DownloadPlan.root); an imported folder's own path.
   */
  installBase(row: Pick<ModelRow, 'source' | 'repo' | 'installedCommit' | 'path'>): string {
    if (row.source === 'hub' && row.repo && row.installedCommit && /^[0-9a-f]{40}$/.test(row.installedCommit)) {
      const base = this.installDir(row.repo, row.installedCommit);
      if (row.path && (path.resolve(row.path) === base || isStrictlyInside(base, path.resolve(row.path)))) return base;
    }
    return row.path!;
  }

  async removeInstalledFolder(folder: string): Promise<void> {
    // Only ever delete inside the models folder (a path outside it is left alone).
    if (!isStrictlyInside(this.modelsDir, path.resolve(folder))) return;
    await this.root.rm(folder);
    const parent = path.dirname(folder);
    if (path.dirname(parent) === this.modelsDir) await this.root.removeEmptyParents(parent, 1);
  }
}
