// "Add image-to-image support" (docs/architecture.md §4): an installed model downloaded before the VAE encoder was
// part of the selection gets only `vae_encoder/` of its installed commit, through the same verified download
// (hashes from the tree's LFS info, resume, retry, cancel, the licence gate and token, the same events and rows).
// This module decides what that download is: which model may have it, the files and their size (from the repo
// tree, never a constant), the plan narrowed to them, and whether a stored download is one (so resume narrows it
// again). ModelService runs it (service.ts addEncoder / resume).
import fs from 'node:fs';
import { StudioError } from '../../../src-shared/errors';
import type { EncoderAdditionResult } from '../../../src-shared/schemas/models';
import type { HubClient } from './hub';
import type { DownloadPlan } from './selection';
import { planDownload } from './selection';
import { safeJoin } from './staging-paths';
import type { FileRow, ModelRow } from './store';

/** The VAE encoder's folder in both layouts (at the model root). */
export const ENCODER_FOLDER = 'vae_encoder';

/** A repo path of the encoder: `vae_encoder/<file>` under the model root ('' or one subfolder). */
export function isEncoderPath(repoPath: string, root?: string): boolean {
  if (root !== undefined) return repoPath.startsWith(root === '' ? `${ENCODER_FOLDER}/` : `${root}/${ENCODER_FOLDER}/`);
  return /^(?:[^/]+\/)?vae_encoder\/[^/]+$/.test(repoPath);
}

/** An installed, downloaded model that may get the encoder: its repo, installed commit and T5 choice. */
export interface EncoderTarget {
  id: string;
  repo: string;
  revision: string;
  commit: string;
  t5: boolean;
  /** The model folder (the pipeline's), where `vae_encoder/` goes. */
  folder: string;
}

/**
 * Which model may get the encoder, or why not in words: not installed, imported from a folder (no repository to
 * fetch from), or busy with a download of another version.
 */
export function encoderTarget(id: string, row: ModelRow | undefined): EncoderTarget {
  if (!row || !row.path || (row.source === 'hub' && !row.installedCommit)) {
    throw new StudioError(
      'not_found',
      `${id} is not installed. Download it in the Models view or with \`sd35-studio models download ${id}\`: the VAE encoder (image to image) is part of the download.`,
      { model: id },
    );
  }
  if (row.source === 'import' || !row.repo || !row.installedCommit) {
    throw new StudioError(
      'invalid_input',
      `${row.id} was imported from the folder ${row.path}, so there is no Hugging Face repository to fetch its VAE encoder from. ` +
        `Copy the vae_encoder/ folder of the same export into that folder, or download the model from the Models view (the download includes it).`,
      { model: row.id, folder: row.path },
    );
  }
  if (row.downloadState && row.downloadCommit && row.downloadCommit !== row.installedCommit) {
    throw new StudioError(
      'conflict',
      `${row.id} has a download of another version (${row.downloadState}); resume or cancel it first, then add image-to-image support.`,
      { model: row.id, state: row.downloadState },
    );
  }
  return { id: row.id, repo: row.repo, revision: row.revision ?? row.installedCommit, commit: row.installedCommit, t5: row.t5 ?? false, folder: row.path };
}

/**
 * The installed commit's plan narrowed to what an encoder addition touches: the files already installed (kept, not
 * fetched) and the encoder's (fetched). A selected file the model never had is left out, so the download fetches
 * the encoder and nothing else. Refuses a repo whose commit has no VAE encoder.
 */
export function narrowToEncoder(plan: DownloadPlan, installed: readonly FileRow[], repo: string, commit: string): DownloadPlan {
  const encoder = plan.files.filter((f) => isEncoderPath(f.path, plan.root));
  const graph = plan.root === '' ? `${ENCODER_FOLDER}/model.onnx` : `${plan.root}/${ENCODER_FOLDER}/model.onnx`;
  if (!encoder.some((f) => f.path === graph)) {
    throw new StudioError(
      'not_found',
      `${repo} has no VAE encoder (${graph}) at commit ${commit.slice(0, 10)}, so image to image cannot be added to this model from it.`,
      { repo, commit, file: graph },
    );
  }
  const kept = new Set(installed.filter((f) => f.state === 'installed').map((f) => f.path));
  const files = plan.files.filter((f) => kept.has(f.path) || isEncoderPath(f.path, plan.root));
  return { ...plan, files, totalBytes: files.reduce((s, f) => s + f.size, 0) };
}

/**
 * Whether a stored download is an encoder addition: pinned at the model's installed commit, and everything it
 * still has to fetch is the encoder's. Resume narrows such a download again (a restart forgets nothing).
 */
export function isEncoderAddition(row: ModelRow, files: readonly FileRow[]): boolean {
  if (!row.installedCommit || row.downloadCommit !== row.installedCommit || row.downloadT5 !== row.t5) return false;
  const pending = files.filter((f) => f.state !== 'installed');
  return pending.length > 0 && pending.every((f) => isEncoderPath(f.path));
}

/** What EncoderAddition needs from the model service. */
export interface EncoderAdditionDeps {
  hub: Pick<HubClient, 'revision' | 'tree' | 'modelPageUrl'>;
  /** The download rows of a model's commit. */
  files(id: string, commit: string): FileRow[];
  /** The folder the model's repo paths are relative to (its commit folder). */
  installBase(row: ModelRow): string;
  /** Whether the model folder has the encoder's graph (model-folder/layouts.ts folderHasVaeEncoder). */
  hasEncoder(folder: string): boolean;
  /** Starts the service's verified download of the target, pinned at its commit, with the plan narrowed. */
  start(target: EncoderTarget, narrow: (plan: DownloadPlan) => DownloadPlan): Promise<{ id: string; repo: string; commit: string; totalBytes: number }>;
}

/** The files an encoder addition fetches (and the button's size), per repo and commit: a commit's tree never changes. */
type PlanCache = Map<string, { files: { path: string; size: number }[]; totalBytes: number }>;

export class EncoderAddition {
  private readonly plans: PlanCache = new Map();

  constructor(private readonly deps: EncoderAdditionDeps) {}

  /**
   * `dryRun`: the files and their size from the tree, nothing fetched; else starts the download (the handle's end
   * arrives as the usual models events). A model that has the encoder answers `present`.
   */
  async run(id: string, row: ModelRow | undefined, options: { dryRun?: boolean } = {}): Promise<EncoderAdditionResult> {
    // A model whose folder has the encoder (downloaded or imported) can already do image to image.
    if (row?.path && (row.source === 'import' || row.installedCommit) && this.deps.hasEncoder(row.path)) {
      return { id: row.id, repo: row.repo ?? '', commit: row.installedCommit ?? '', state: 'present', files: [], totalBytes: 0 };
    }
    const target = encoderTarget(id, row);
    const base = { id: target.id, repo: target.repo, commit: target.commit };
    const installed = this.deps.files(target.id, target.commit).filter((f) => f.state === 'installed');
    const commitFolder = this.deps.installBase(row!);
    // What the download will fetch: the narrowed plan's files not installed on disk (service.ts prepare's rule).
    const toFetch = (plan: DownloadPlan) =>
      plan.files
        .filter((f) => !(installed.some((r) => r.path === f.path) && fs.existsSync(safeJoin(commitFolder, f.path))))
        .map((f) => ({ path: f.path, size: f.size }));
    const key = `${target.repo.toLowerCase()}@${target.commit}|${target.t5}`;
    if (options.dryRun) {
      const known = this.plans.get(key);
      if (known) return { ...base, state: 'planned', ...known };
      const info = await this.deps.hub.revision(target.repo, target.commit);
      const entries = await this.deps.hub.tree(info.repo, info.commit);
      const plan = narrowToEncoder(planDownload(info.repo, entries, { t5: target.t5, pageUrl: this.deps.hub.modelPageUrl(info.repo) }), installed, info.repo, info.commit);
      const files = toFetch(plan);
      const summary = { files, totalBytes: files.reduce((s, f) => s + f.size, 0) };
      this.plans.set(key, summary);
      return { ...base, state: 'planned', ...summary };
    }
    let fetched: { path: string; size: number }[] = [];
    const handle = await this.deps.start(target, (plan) => {
      const narrowed = narrowToEncoder(plan, installed, target.repo, target.commit);
      fetched = toFetch(narrowed);
      return narrowed;
    });
    return { id: handle.id, repo: handle.repo, commit: handle.commit, state: 'started', files: fetched, totalBytes: handle.totalBytes };
  }

  /** The narrowing for resuming a stored encoder addition (undefined when the stored download is not one). */
  resumeNarrowing(row: ModelRow): ((plan: DownloadPlan) => DownloadPlan) | undefined {
    if (!row.downloadCommit || !row.repo) return undefined;
    const files = this.deps.files(row.id, row.downloadCommit);
    if (!isEncoderAddition(row, files)) return undefined;
    const repo = row.repo;
    const commit = row.downloadCommit;
    return (plan) => narrowToEncoder(plan, files, repo, commit);
  }
}

/**
 * Before an image-to-image job is queued: the model (an installed id, or a folder the CLI names) must have the VAE
 * encoder, else the refusal says where to add it. A model that is not installed is left to the other checks.
 */
export async function requireEncoder(
  models: { resolveInstalled(id: string): Promise<{ id: string; path: string; repo?: string }> },
  ref: string,
  hasEncoder: (folder: string) => boolean,
): Promise<void> {
  let model: { id: string; path: string; repo?: string };
  try {
    model = await models.resolveInstalled(ref);
  } catch {
    return;
  }
  if (hasEncoder(model.path)) return;
  const where = model.repo
    ? `Add it with "Add image-to-image support" on the model's card in the Models view (or \`sd35-studio models add-encoder ${model.id}\`): only the encoder is downloaded.`
    : `This model was imported from a folder: copy the vae_encoder/ folder of its export into ${model.path}.`;
  throw new StudioError('invalid_input', `${model.id} has no VAE encoder, which image to image and inpainting need. ${where}`, { field: 'init', model: model.id });
}
