// Verify, remove and import for the models room: re-hash an installed download (verify.ts) or check an imported
// folder's structure; remove a model (its downloaded files and staging, never an imported folder's files); register
// a local folder without copying it.
import fs from 'node:fs';
import path from 'node:path';
import { StudioError } from '../../../src-shared/errors';
import type { ModelEntryView, ModelEventView, VerifyResult } from '../../../src-shared/schemas/models';
import { removeDerivedGraphs } from '../../model-folder/derived-graphs';
import { checkFolder } from '../../model-folder/layouts';
import type { DownloadLifecycle } from './download-lifecycle';
import { removeStaging } from './install';
import type { ModelListing } from './listing';
import type { ModelFolders } from './model-folders';
import type { ModelLookup } from './model-lookup';
import type { ModelStore } from './store';
import { verifyDownloaded, verifyImported } from './verify';

export interface MaintenanceDeps {
  store: ModelStore;
  lookup: ModelLookup;
  folders: ModelFolders;
  listing: Pick<ModelListing, 'entry'>;
  downloads: Pick<DownloadLifecycle, 'isActive' | 'cancel'>;
  emit(event: ModelEventView): void;
  /** The studio's folder of derived graphs (<data>/graphs): a removed model's are removed with it. */
  graphsDir?: string;
}

export class ModelMaintenance {
  constructor(private readonly deps: MaintenanceDeps) {}

  /** Re-hashes every installed file against Hugging Face's hashes (imported folders: structure check). */
  async verify(id: string): Promise<VerifyResult> {
    const row = this.deps.lookup.requireRow(id);
    if (!row.path || (row.source === 'hub' && !row.installedCommit)) throw new StudioError('invalid_input', `${id} is not installed, so there is nothing to verify.`);
    // A download's files are repo paths, relative to its commit folder (the model may sit in a subfolder of it).
    const installed = { ...row, path: row.source === 'import' ? row.path : this.deps.folders.installBase(row) };
    const result =
      row.source === 'import'
        ? await verifyImported(installed)
        : await verifyDownloaded(
            installed,
            this.deps.store.files(row.id, row.installedCommit!).filter((f) => f.state === 'installed'),
            (e) => this.deps.emit(e),
          );
    this.deps.store.setVerified(row.id, result.ok ? Date.now() : null);
    if (row.source !== 'import') this.deps.emit({ type: 'models-changed' });
    return result;
  }

  /** Removes a model: deletes downloaded files (never an imported folder's files) and forgets it. */
  async remove(id: string): Promise<void> {
    const row = this.deps.lookup.requireRow(id);
    if (this.deps.downloads.isActive(row.id)) await this.deps.downloads.cancel(row.id);
    const current = this.deps.store.get(row.id);
    if (!current) return;
    if (current.path && this.deps.graphsDir) removeDerivedGraphs(this.deps.graphsDir, current.path);
    if (current.source === 'hub') {
      if (current.path) await this.deps.folders.removeInstalledFolder(this.deps.folders.installBase(current));
      const staging = current.downloadCommit && current.repo ? this.deps.folders.storedStagingDir(current.repo, current.downloadCommit) : undefined;
      if (staging) await removeStaging(this.deps.folders.root, staging);
    }
    this.deps.store.delete(current.id);
    this.deps.emit({ type: 'models-changed' });
  }

  /** Registers a local folder in either layout without copying it. */
  async import(folder: string): Promise<ModelEntryView> {
    const abs = await fs.promises.realpath(path.resolve(folder)).catch(() => path.resolve(folder));
    const check = await checkFolder(abs);
    if (!check.ok || !check.layout) {
      throw new StudioError('invalid_input', `${abs} cannot be used as a model: ${check.problems.join('; ')}.`, { problems: check.problems });
    }
    const same = this.deps.store.all().find((r) => r.source === 'import' && r.path === abs);
    if (same) return this.deps.listing.entry(same.id, same);
    const base = `folder:${path.basename(abs) || 'model'}`;
    let id = base;
    for (let n = 2; this.deps.store.find(id); n++) id = `${base}-${n}`;
    this.deps.store.insertImport({ id, path: abs, layout: check.layout, t5: check.t5, sizeBytes: check.sizeBytes });
    this.deps.emit({ type: 'models-changed' });
    return this.deps.listing.entry(id, this.deps.store.get(id));
  }
}
