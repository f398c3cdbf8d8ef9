// From a repo's file listing to a download plan: the catalog's selection rule, the layout check
// (refuse a repo that is not an SD3 ONNX export before any byte), and the expected hashes.
import { selectFiles } from '../../../src-shared/catalog';
import type { ModelLayout } from '../../../src-shared/generation';
import { StudioError } from '../../../src-shared/errors';
import type { TreeEntry } from './hub';
import { detectLayout, detectModelRoot, hasT5, missingFiles, underRoot } from '../../model-folder/layouts';
import type { PlannedFile } from './store';

export interface DownloadPlan {
  files: PlannedFile[];
  layout: ModelLayout;
  /**
   * The repo folder the model lives in: '' for a repo whose root is the export, else the subfolder the layout
   * check recognised (Stability's `stable-diffusion-3.5-medium_io32`). Planned paths keep it (they are repo
   * paths); the installed model folder is `<commit folder>/<root>`.
   */
  root: string;
  /** False when T5 was not asked for, or the repo has no T5. */
  t5: boolean;
  totalBytes: number;
}

/** scheduler/scheduler_config.json is what the pipeline reads; the rest of scheduler/ is capped. */
const SCHEDULER_CONFIG = 'scheduler/scheduler_config.json';
export const MAX_EXTRA_SCHEDULER_FILES = 8;
export const MAX_EXTRA_SCHEDULER_BYTES = 1024 * 1024;

export function planDownload(repo: string, entries: readonly TreeEntry[], options: { t5: boolean; pageUrl: string }): DownloadPlan {
  const byPath = new Map(entries.map((e) => [e.path, e]));
  const root = detectModelRoot(entries.map((e) => e.path))?.root ?? '';
  const inRoot = (p: string) => (root === '' ? p : `${root}/${p}`);
  const allPaths = underRoot(entries.map((e) => e.path), root);
  const t5 = options.t5 && hasT5(selectFiles(allPaths, { t5: true }));
  const selected = selectFiles(allPaths, { t5 });
  const layout = detectLayout(selected);
  if (!layout) {
    throw new StudioError(
      'invalid_input',
      `${repo} is not an SD3 ONNX export: it has neither transformer/model.onnx (optimum layout) nor unet/model.onnx (TensorStack layout), ` +
        `at its root or in a subfolder. ` +
        `See ${options.pageUrl}.`,
      { repo },
    );
  }
  const missing = missingFiles(selected, layout, { t5 });
  if (missing.length > 0) {
    throw new StudioError('invalid_input', `${repo} lacks files an SD3 pipeline needs: ${missing.join(', ')} (${options.pageUrl}).`, { repo, missing });
  }
  const files: PlannedFile[] = selected.map((inner) => {
    const p = inRoot(inner);
    const e = byPath.get(p)!;
    return e.lfsSha256 ? { path: p, size: e.size, expectedSha256: e.lfsSha256 } : { path: p, size: e.size, ...(e.oid ? { gitOid: e.oid } : {}) };
  });
  const extras = files.filter((f) => f.path.startsWith(inRoot('scheduler/')) && f.path !== inRoot(SCHEDULER_CONFIG));
  const extraBytes = extras.reduce((s, f) => s + f.size, 0);
  if (extras.length > MAX_EXTRA_SCHEDULER_FILES || extraBytes > MAX_EXTRA_SCHEDULER_BYTES) {
    throw new StudioError(
      'invalid_input',
      `${repo} has ${extras.length} files (${extraBytes} bytes) in scheduler/ besides scheduler_config.json; at most ` +
        `${MAX_EXTRA_SCHEDULER_FILES} files and ${MAX_EXTRA_SCHEDULER_BYTES} bytes are downloaded there. Refusing the repo (${options.pageUrl}).`,
      { repo, extraSchedulerFiles: extras.length, extraSchedulerBytes: extraBytes },
    );
  }
  return { files, layout, root, t5, totalBytes: files.reduce((s, f) => s + f.size, 0) };
}
