// The models list: a stored row (or a catalog id with none) → the entry the contract shows, and the
// "which ids are installed" hint every not-found message carries.
import path from 'node:path';
import { CATALOG, catalogSourceForRepo, isCatalogId } from '../../../src-shared/catalog';
import type { StudioErrorCode } from '../../../src-shared/errors';
import { boundText } from '../../../src-shared/bounded-text';
import { progress, type ProgressStatus } from '../../../src-shared/progress';
import { portabilityVerdictSchema, type ModelEntryView, type ModelEventView, type PortabilityVerdict, type SkipLayerSupport } from '../../../src-shared/schemas/models';
import { folderHasVaeEncoder } from '../../model-folder/layouts';
import { folderSize } from './disk';
import { isEncoderAddition } from './encoder-addition';
import type { ModelRow, ModelStore } from './store';

export interface EntrySources {
  store: ModelStore;
  /** The running download's last progress event (live bytes beat the saved ones). */
  liveProgress(id: string): Extract<ModelEventView, { type: 'download-progress' }> | undefined;
  /** The staging folder of a stored row's download (undefined when the row's repo or commit is not valid). */
  stagingDir(repo: string, commit: string): string | undefined;
  verdict(id: string): PortabilityVerdict | undefined;
  /** Whether Skip-Layer Guidance can run on an installed folder (cached by the caller). */
  skipLayers?(folder: string, layout: NonNullable<ModelRow['layout']>): SkipLayerSupport | undefined;
}

/** One model's entry: catalog, hub or imported; installed, downloading, paused or failed; its size on disk. */
export async function modelEntry(src: EntrySources, id: string, row: ModelRow | undefined): Promise<ModelEntryView> {
  const catalogId = isCatalogId(id) ? id : undefined;
  const variant = catalogId ? CATALOG[catalogId] : undefined;
  const source: ModelEntryView['source'] = catalogId ? 'catalog' : row?.source === 'import' ? 'import' : 'hub';
  // A catalog variant's other source (Stability AI's export) is its own model, named after the variant.
  const other = !catalogId && row?.source === 'hub' && row.repo ? catalogSourceForRepo(row.repo) : undefined;
  const displayName =
    variant?.displayName ??
    (other ? `${other.variant.displayName} (${other.source.label})` : row?.source === 'import' ? path.basename(row.path ?? id) : (row?.repo ?? id));
  const entry: ModelEntryView = { id, source, displayName, state: 'not-installed', sizeOnDisk: 0 };
  if (catalogId) entry.catalogId = catalogId;
  else if (other) entry.catalogId = other.variant.id;
  const repo = row?.repo ?? variant?.repo;
  if (repo) entry.repo = repo;
  if (!row) return entry;
  const installed = row.path !== null && (row.source === 'import' || row.installedCommit !== null);
  if (installed) {
    entry.state = 'installed';
    entry.installed = {
      path: row.path!,
      layout: row.layout,
      t5: row.t5 ?? false,
      ...(row.installedCommit ? { commit: row.installedCommit } : {}),
      ...(row.verifiedAt !== null ? { verifiedAt: row.verifiedAt } : {}),
      vaeEncoder: folderHasVaeEncoder(row.path!),
    };
    const skipLayers = row.layout ? src.skipLayers?.(row.path!, row.layout) : undefined;
    if (skipLayers) entry.installed.skipLayers = skipLayers;
    entry.sizeOnDisk += row.source === 'import' ? (row.sizeBytes ?? 0) : await folderSize(row.path!);
  }
  if (row.downloadState && row.downloadCommit && row.repo) {
    entry.state = row.downloadState;
    const all = src.store.files(row.id, row.downloadCommit);
    // A download into the installed commit (the VAE encoder, T5) counts what it fetches, not the installed files.
    const files = row.installedCommit === row.downloadCommit ? all.filter((f) => f.state !== 'installed') : all;
    const live = src.liveProgress(row.id)?.progress;
    // The row's state says whether it runs; a running download's live progress (rate, ETA) beats the saved bytes.
    const status: ProgressStatus = row.downloadState === 'downloading' ? (live?.status ?? 'running') : row.downloadState;
    entry.download = {
      commit: row.downloadCommit,
      t5: row.downloadT5 ?? true,
      progress:
        live && row.downloadState === 'downloading'
          ? { ...live, status }
          : progress('download', {
              status,
              done: live?.done ?? files.reduce((s, f) => s + (f.state === 'pending' ? f.bytesDone : f.size), 0),
              total: live?.total ?? files.reduce((s, f) => s + f.size, 0),
            }),
      ...(row.errorCode ? { error: { code: row.errorCode as StudioErrorCode, message: boundText(row.errorMessage ?? '', 4000) } } : {}),
      ...(isEncoderAddition(row, all) ? { adds: 'vae-encoder' as const } : {}),
    };
    const staging = src.stagingDir(row.repo, row.downloadCommit);
    if (staging) entry.sizeOnDisk += await folderSize(staging);
  }
  // A verdict stored by an older version may not fit the contract (an unbounded list of ops): left out, so
  // the entry can still be shown and removed.
  const verdict = src.verdict(id);
  if (verdict && portabilityVerdictSchema.safeParse(verdict).success) entry.portability = verdict;
  return entry;
}

/** Ids of the models that are installed (downloaded or imported), as `models list` shows them. */
export function installedIds(rows: readonly ModelRow[]): string[] {
  return rows.filter((r) => r.path && (r.installedCommit || r.source !== 'hub')).map((r) => r.id);
}

/** " Did you mean folder:tiny? Installed: …" for a name that is not an id (imported folders are `folder:<name>`). */
export function installedHint(id: string, installed: readonly string[]): string {
  const name = id.trim().toLowerCase();
  const guess = installed.find((i) => i.toLowerCase() === `folder:${name}`) ?? installed.find((i) => i.toLowerCase().startsWith(`folder:${name}`));
  return `${guess ? ` Did you mean ${guess}?` : ''} Installed: ${installed.length ? installed.join(', ') : 'none'}.`;
}
