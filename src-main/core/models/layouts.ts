// The two SD3 ONNX folder layouts (docs/architecture.md): which one a folder or a repo listing is, the
// files each needs, and the check of a local folder (every needed file present, every ONNX graph
// structurally readable with its external data complete).
import fs from 'node:fs';
import path from 'node:path';
import type { ModelLayout } from '../../../src-shared/catalog';
import { checkOnnxFile } from './onnx-check';

export interface LayoutSpec {
  layout: ModelLayout;
  transformerFolder: 'transformer' | 'unet';
  externalDataFile: 'model.onnx_data' | 'model.onnx.data';
}

export const LAYOUTS: Readonly<Record<ModelLayout, LayoutSpec>> = {
  optimum: { layout: 'optimum', transformerFolder: 'transformer', externalDataFile: 'model.onnx_data' },
  tensorstack: { layout: 'tensorstack', transformerFolder: 'unet', externalDataFile: 'model.onnx.data' },
};

/** The layout of a list of repo-relative paths: `transformer/model.onnx` → optimum, `unet/model.onnx` → TensorStack. */
export function detectLayout(paths: readonly string[]): ModelLayout | undefined {
  const set = new Set(paths);
  if (set.has('transformer/model.onnx')) return 'optimum';
  if (set.has('unet/model.onnx')) return 'tensorstack';
  return undefined;
}

/** Whether the T5 encoder and its tokenizer are both there. */
export function hasT5(paths: readonly string[]): boolean {
  const set = new Set(paths);
  return set.has('text_encoder_3/model.onnx') && set.has('tokenizer_3/tokenizer.json');
}

/** The files a pipeline of this layout reads (external data is checked through the graphs). */
export function requiredFiles(layout: ModelLayout, options: { t5: boolean }): string[] {
  const spec = LAYOUTS[layout];
  const files = [
    'scheduler/scheduler_config.json',
    'tokenizer/vocab.json',
    'tokenizer/merges.txt',
    'tokenizer/special_tokens_map.json',
    'tokenizer_2/vocab.json',
    'tokenizer_2/merges.txt',
    'tokenizer_2/special_tokens_map.json',
    'text_encoder/model.onnx',
    'text_encoder_2/model.onnx',
    `${spec.transformerFolder}/model.onnx`,
    'vae_decoder/model.onnx',
  ];
  if (options.t5) files.push('tokenizer_3/tokenizer.json', 'text_encoder_3/model.onnx');
  return files;
}

export function missingFiles(paths: readonly string[], layout: ModelLayout, options: { t5: boolean }): string[] {
  const set = new Set(paths);
  return requiredFiles(layout, options).filter((f) => !set.has(f));
}

/** Repo-relative file paths under `folder`, two levels deep (the layouts need no more). */
export async function listFolder(folder: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string, depth: number) => {
    const entries = await fs.promises.readdir(path.join(folder, rel), { withFileTypes: true });
    for (const e of entries) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      let isDir = e.isDirectory();
      let isFile = e.isFile();
      if (e.isSymbolicLink()) {
        const st = await fs.promises.stat(path.join(folder, r)).catch(() => undefined);
        isDir = !!st?.isDirectory();
        isFile = !!st?.isFile();
      }
      if (isDir && depth < 1) await walk(r, depth + 1);
      else if (isFile) out.push(r);
    }
  };
  await walk('', 0);
  return out.sort();
}

export interface FolderCheck {
  ok: boolean;
  layout?: ModelLayout;
  t5: boolean;
  /** Required files and the external data of the graphs, repo-relative. */
  files: string[];
  sizeBytes: number;
  problems: string[];
}

/**
 * Checks a local folder in either layout: every needed file present and every ONNX graph
 * structurally readable with complete external data. Without T5 files the folder is accepted as
 * a "without T5" model.
 */
export async function checkFolder(folder: string): Promise<FolderCheck> {
  let paths: string[];
  try {
    const st = await fs.promises.stat(folder);
    if (!st.isDirectory()) return { ok: false, t5: false, files: [], sizeBytes: 0, problems: [`${folder} is not a folder`] };
    paths = await listFolder(folder);
  } catch {
    return { ok: false, t5: false, files: [], sizeBytes: 0, problems: [`${folder} does not exist or cannot be read`] };
  }
  const layout = detectLayout(paths);
  if (!layout) {
    return {
      ok: false,
      t5: false,
      files: [],
      sizeBytes: 0,
      problems: [`${folder} is not an SD3 ONNX export: it has neither transformer/model.onnx (optimum layout) nor unet/model.onnx (TensorStack layout)`],
    };
  }
  const t5 = hasT5(paths);
  const problems = missingFiles(paths, layout, { t5 }).map((f) => `${f} is missing`);
  const files = requiredFiles(layout, { t5 }).filter((f) => paths.includes(f));
  for (const f of files.filter((p) => p.endsWith('.onnx'))) {
    const check = await checkOnnxFile(path.join(folder, ...f.split('/')));
    problems.push(...check.problems.map((p) => `${f.split('/')[0]}/: ${p}`));
    for (const ext of check.externalData) {
      const rel = `${path.posix.dirname(f)}/${ext.location.replace(/\\/g, '/')}`;
      if (!files.includes(rel)) files.push(rel);
    }
  }
  let sizeBytes = 0;
  for (const f of files) {
    sizeBytes += await fs.promises
      .stat(path.join(folder, ...f.split('/')))
      .then((s) => s.size)
      .catch(() => 0);
  }
  return { ok: problems.length === 0, layout, t5, files, sizeBytes, problems };
}
