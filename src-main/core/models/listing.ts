// The models list: every catalog variant and stored model as the contract's entry (entries.ts builds one), one
// model by id, the installed folder the inference side loads, and the "Model hash" of image metadata.
import fs from 'node:fs';
import path from 'node:path';
import { CATALOG_IDS, isCatalogId } from '../../../src-shared/catalog';
import type { ModelLayout } from '../../../src-shared/generation';
import { StudioError } from '../../../src-shared/errors';
import type { ModelEntryView, ModelEventView, PortabilityVerdict, SkipLayerSupport } from '../../../src-shared/schemas/models';
import { componentDir } from '../../model-folder/layouts';
import { skipLayerSupport } from '../../model-folder/slg-switch';
import type { Db } from '../db';
import { modelEntry } from './entries';
import type { ModelFolders } from './model-folders';
import type { ModelLookup } from './model-lookup';
import type { ModelRow, ModelStore } from './store';

export interface ListingDeps {
  db: Db;
  store: ModelStore;
  lookup: ModelLookup;
  folders: ModelFolders;
  /** The running download's last progress event (download-lifecycle.ts). */
  liveProgress(id: string): Extract<ModelEventView, { type: 'download-progress' }> | undefined;
  /** The op verdict of the model's graphs, when a download checked them (download-lifecycle.ts). */
  verdict(id: string): PortabilityVerdict | undefined;
}

export class ModelListing {
  /** Skip-Layer Guidance support per installed folder, kept while its transformer graph file stays the same. */
  private readonly skipLayerCache = new Map<string, { stamp: string; value: SkipLayerSupport }>();

  constructor(private readonly deps: ListingDeps) {}

  async list(): Promise<ModelEntryView[]> {
    const rows = this.deps.store.all();
    const byId = new Map(rows.map((r) => [r.id, r]));
    const out: ModelEntryView[] = [];
    for (const id of CATALOG_IDS) out.push(await this.entry(id, byId.get(id)));
    for (const r of rows) if (!isCatalogId(r.id)) out.push(await this.entry(r.id, r));
    return out;
  }

  /** One model by id (catalog id, owner/name, folder:…); not_found when unknown. */
  async get(id: string): Promise<ModelEntryView> {
    const key = this.deps.lookup.canonicalId(id);
    const row = this.deps.store.find(key);
    if (!row && !isCatalogId(key)) throw this.deps.lookup.unknownModel(id);
    return this.entry(row?.id ?? key, row);
  }

  /** The installed folder of a model, for the inference side. */
  async resolveInstalled(id: string): Promise<{ id: string; path: string; layout: ModelLayout | null; t5: boolean; commit?: string; repo?: string }> {
    const key = this.deps.lookup.canonicalId(id);
    const row = this.deps.store.find(key);
    if (!row?.path || (!row.installedCommit && row.source === 'hub')) {
      throw new StudioError(
        'not_found',
        isCatalogId(key) || row
          ? `${id} is not installed yet: download it in the Models view or with \`sd35-studio models download ${id}\`.`
          : `No model "${id}": use a catalog id (${CATALOG_IDS.join(', ')}), an owner/name you downloaded, or import a folder.${this.deps.lookup.installedHint(id)}`,
        { model: id, installed: this.deps.lookup.installedIds() },
      );
    }
    return {
      id: row.id,
      path: row.path,
      layout: row.layout,
      t5: row.t5 ?? false,
      ...(row.installedCommit ? { commit: row.installedCommit } : {}),
      ...(row.repo ? { repo: row.repo } : {}),
    };
  }

  /** A stored row (or a catalog id with none) → its entry. */
  entry(id: string, row: ModelRow | undefined): Promise<ModelEntryView> {
    return modelEntry(
      {
        store: this.deps.store,
        liveProgress: (key) => this.deps.liveProgress(key),
        stagingDir: (repo, commit) => this.deps.folders.storedStagingDir(repo, commit),
        verdict: (key) => this.deps.verdict(key),
        skipLayers: (folder, layout) => this.skipLayers(folder, layout),
      },
      id,
      row,
    );
  }

  /**
   * "Model hash" of image metadata: the first 10 hex of the transformer's external-data sha256, as
   * Hugging Face published and the download verified it (undefined for imported folders).
   */
  modelHash(id: string, commit: string | undefined): string | undefined {
    if (!commit) return undefined;
    const row = this.deps.db
      .prepare(
        `SELECT coalesce(sha256, expected_sha256) AS sha FROM downloads
          WHERE model_id = ? AND commit_sha = ?
            AND (path IN ('unet/model.onnx.data', 'transformer/model.onnx_data')
                 OR path LIKE '%/unet/model.onnx.data' OR path LIKE '%/transformer/model.onnx_data')
          ORDER BY length(path), path LIMIT 1`,
      )
      .get(this.deps.lookup.canonicalId(id), commit) as { sha: string | null } | undefined;
    return row?.sha && /^[0-9a-f]{64}$/i.test(row.sha) ? row.sha.slice(0, 10).toLowerCase() : undefined;
  }

  /** Whether SLG can run on an installed folder (slg-switch.ts reads its transformer graph once per file version). */
  private skipLayers(folder: string, layout: ModelLayout): SkipLayerSupport {
    let stamp = 'unreadable';
    try {
      const st = fs.statSync(path.join(folder, componentDir(layout, 'transformer'), 'model.onnx'));
      stamp = `${layout}|${st.size}|${st.mtimeMs}`;
    } catch {
      // Unreadable: skipLayerSupport says why.
    }
    const known = this.skipLayerCache.get(folder);
    if (known?.stamp === stamp) return known.value;
    const value = skipLayerSupport(folder, layout);
    this.skipLayerCache.set(folder, { stamp, value });
    return value;
  }
}
