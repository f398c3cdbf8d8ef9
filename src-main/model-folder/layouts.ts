// What a complete SD3.5 ONNX model folder is — the one answer for import, verify and the pipeline
// (docs/architecture.md §4). The two layouts (optimum, TensorStack), the files each needs, the components, and the
// check of a local folder: every needed file present, every graph readable by the one reader
// (onnx-graph.ts), its external data inside its folder and complete.
import fs from 'node:fs';
import path from 'node:path';
import type { ModelLayout } from '../../src-shared/generation';
import { StudioError } from '../../src-shared/errors';
import { checkExternalData, readOnnxGraph, type OnnxGraph } from './onnx-graph';
import { WireError } from './protobuf';

export type Layout = ModelLayout;

export interface LayoutSpec {
  layout: ModelLayout;
  transformerFolder: 'transformer' | 'unet';
  externalDataFile: 'model.onnx_data' | 'model.onnx.data';
}

export const LAYOUTS: Readonly<Record<ModelLayout, LayoutSpec>> = {
  optimum: { layout: 'optimum', transformerFolder: 'transformer', externalDataFile: 'model.onnx_data' },
  tensorstack: { layout: 'tensorstack', transformerFolder: 'unet', externalDataFile: 'model.onnx.data' },
};

export type ComponentName = 'text_encoder' | 'text_encoder_2' | 'text_encoder_3' | 'transformer' | 'vae_decoder' | 'vae_encoder';
/** The components text-to-image needs (T5 optional). */
export const COMPONENTS: readonly ComponentName[] = ['text_encoder', 'text_encoder_2', 'text_encoder_3', 'transformer', 'vae_decoder'];
/** Every component a folder may hold: the VAE encoder (image to image) is optional, like T5. */
export const ALL_COMPONENTS: readonly ComponentName[] = [...COMPONENTS, 'vae_encoder'];

export function componentLabel(component: ComponentName): string {
  switch (component) {
    case 'text_encoder':
      return 'CLIP-L text encoder';
    case 'text_encoder_2':
      return 'CLIP-G text encoder';
    case 'text_encoder_3':
      return 'T5 text encoder';
    case 'transformer':
      return 'transformer';
    case 'vae_decoder':
      return 'VAE decoder';
    case 'vae_encoder':
      return 'VAE encoder';
  }
}

/** The folder of a component in a layout ('unet' for the TensorStack transformer). */
export function componentDir(layout: ModelLayout, component: ComponentName): string {
  return component === 'transformer' ? LAYOUTS[layout].transformerFolder : component;
}

/** The layout of a list of repo-relative paths: `transformer/model.onnx` → optimum, `unet/model.onnx` → TensorStack. */
export function detectLayout(paths: readonly string[]): ModelLayout | undefined {
  const set = new Set(paths);
  if (set.has('transformer/model.onnx')) return 'optimum';
  if (set.has('unet/model.onnx')) return 'tensorstack';
  return undefined;
}

/**
 * Where the model lives in a repo listing (or a folder's): '' when the root itself is an SD3 ONNX export in
 * either layout, else a first-level subfolder whose files are one (Stability's AMD exports keep theirs in
 * `stable-diffusion-3.5-medium_io16/` and `…_io32/`). Nothing else about the folder's name is assumed; when
 * several subfolders qualify, one whose name ends in `_io32` (fp32 inputs/outputs, fp16 inside: the one
 * Amuse loads) is taken, else the first in name order. Undefined when nothing qualifies.
 */
export function detectModelRoot(paths: readonly string[]): { root: string; layout: ModelLayout } | undefined {
  const top = detectLayout(paths);
  if (top) return { root: '', layout: top };
  const byFolder = new Map<string, string[]>();
  for (const p of paths) {
    const slash = p.indexOf('/');
    if (slash <= 0) continue;
    const folder = p.slice(0, slash);
    let list = byFolder.get(folder);
    if (!list) byFolder.set(folder, (list = []));
    list.push(p.slice(slash + 1));
  }
  const candidates = [...byFolder]
    .map(([root, inner]) => ({ root, layout: detectLayout(inner) }))
    .filter((c): c is { root: string; layout: ModelLayout } => c.layout !== undefined)
    .sort((a, b) => (a.root < b.root ? -1 : a.root > b.root ? 1 : 0));
  return candidates.find((c) => /_io32$/i.test(c.root)) ?? candidates[0];
}

/** `paths` under `root` with the root's prefix taken off (all of them when root is ''). */
export function underRoot(paths: readonly string[], root: string): string[] {
  if (root === '') return [...paths];
  const prefix = `${root}/`;
  return paths.filter((p) => p.startsWith(prefix)).map((p) => p.slice(prefix.length));
}

/** Whether a repo listing has the T5 encoder and its tokenizer (a download without them is "without T5"). */
export function hasT5(paths: readonly string[]): boolean {
  const set = new Set(paths);
  return set.has('text_encoder_3/model.onnx') && set.has('tokenizer_3/tokenizer.json');
}

/** The files a pipeline of this layout reads (external data is found through the graphs). */
export function requiredFiles(layout: ModelLayout, options: { t5: boolean }): string[] {
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
    `${LAYOUTS[layout].transformerFolder}/model.onnx`,
    'vae_decoder/model.onnx',
  ];
  if (options.t5) files.push('tokenizer_3/tokenizer.json', 'text_encoder_3/model.onnx');
  return files;
}

/** Whether a listing has the VAE encoder (image to image; optional, like T5). */
export function hasVaeEncoder(paths: readonly string[]): boolean {
  return paths.includes('vae_encoder/model.onnx');
}

/** Whether an installed model folder has the VAE encoder's graph (image to image), by one stat: the models list asks it per entry. */
export function folderHasVaeEncoder(folder: string): boolean {
  try {
    return fs.statSync(path.join(folder, 'vae_encoder', 'model.onnx')).isFile();
  } catch {
    return false;
  }
}

/** The graphs of a layout, component by component (the VAE encoder when `vaeEncoder`). */
export function graphFiles(layout: ModelLayout, options: { t5: boolean; vaeEncoder?: boolean }): { component: ComponentName; file: string }[] {
  return ALL_COMPONENTS.filter((c) => (c !== 'text_encoder_3' || options.t5) && (c !== 'vae_encoder' || options.vaeEncoder === true)).map((component) => ({
    component,
    file: `${componentDir(layout, component)}/model.onnx`,
  }));
}

export function missingFiles(paths: readonly string[], layout: ModelLayout, options: { t5: boolean }): string[] {
  const set = new Set(paths);
  return requiredFiles(layout, options).filter((f) => !set.has(f));
}

/** Repo-relative file paths under `folder`, two levels deep (the layouts need no more; `levels` 2 = three). */
export async function listFolder(folder: string, levels = 1): Promise<string[]> {
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
      if (isDir && depth < levels) await walk(r, depth + 1);
      else if (isFile) out.push(r);
    }
  };
  await walk('', 0);
  return out.sort();
}

// ---------------------------------------------------------------------------------------------
// The folder check

/**
 * A component folder's real path, or why it cannot be used: it is a symbolic link, or it resolves outside
 * the model folder (a hostile folder would otherwise make the studio read, or write, elsewhere). Import,
 * load (the same check) and the derived graphs (derived-graphs.ts) use it.
 */
export function resolveComponentDir(folder: string, dir: string): { real: string } | { problem: string } {
  const joined = path.join(folder, ...dir.split('/'));
  let st: fs.Stats;
  let realFolder: string;
  let real: string;
  try {
    st = fs.lstatSync(joined);
    realFolder = fs.realpathSync(folder);
    real = fs.realpathSync(joined);
  } catch {
    return { problem: `${dir}/ cannot be read` };
  }
  const rel = path.relative(realFolder, real);
  if (st.isSymbolicLink() || !st.isDirectory() || rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) {
    return { problem: `${dir}/ is a symbolic link or lies outside the model folder (component folders must be real folders inside it)` };
  }
  return { real };
}

export interface FolderProblem {
  /** not_found: a file or folder is absent; invalid_input: present but damaged or incomplete. */
  code: 'not_found' | 'invalid_input';
  /** Repo-relative file the problem is about, when there is one. */
  file?: string;
  message: string;
}

export interface ComponentFiles {
  component: ComponentName;
  /** Folder of the component inside the model folder ('unet' for the TensorStack transformer). */
  dir: string;
  /** Absolute path of model.onnx. */
  model: string;
  /** Path relative to the model folder, for messages ('unet/model.onnx'). */
  file: string;
}

export interface ModelFolderCheck {
  folder: string;
  ok: boolean;
  layout?: ModelLayout;
  t5: boolean;
  /** Whether the folder has the (optional) VAE encoder for image to image. */
  vaeEncoder?: boolean;
  /** Required files and the external data of the graphs, repo-relative. */
  files: string[];
  sizeBytes: number;
  problems: FolderProblem[];
  components: Partial<Record<ComponentName, ComponentFiles>>;
  /** The graphs as read (without nodes), for callers that need their inputs and outputs. */
  graphs: Partial<Record<ComponentName, OnnxGraph>>;
}

export interface CheckFolderOptions {
  /** Read every graph and check its external data (default true). */
  checkGraphs?: boolean;
}

/**
 * Checks a local folder in either layout: the needed files present, every graph structurally readable,
 * its external data inside the graph's folder and complete. T5 is expected when text_encoder_3/ exists
 * (then its graph and tokenizer_3/tokenizer.json are required); without that folder the model is a
 * "without T5" one.
 */
export async function checkModelFolder(folderIn: string, options: CheckFolderOptions = {}): Promise<ModelFolderCheck> {
  const folder = path.resolve(folderIn);
  const result: ModelFolderCheck = { folder, ok: false, t5: false, files: [], sizeBytes: 0, problems: [], components: {}, graphs: {} };
  let paths: string[];
  try {
    const st = await fs.promises.stat(folder);
    if (!st.isDirectory()) {
      result.problems.push({ code: 'not_found', message: `${folder} is not a folder` });
      return result;
    }
    paths = await listFolder(folder);
  } catch {
    result.problems.push({ code: 'not_found', message: `${folder} does not exist or cannot be read` });
    return result;
  }
  const layout = detectLayout(paths);
  if (!layout) {
    // A folder that keeps its model in a subfolder (a clone of Stability's AMD exports): the model root.
    const sub = detectModelRoot(await listFolder(folder, 2));
    if (sub && sub.root !== '') return checkModelFolder(path.join(folder, sub.root), options);
  }
  if (!layout) {
    const dir = Object.values(LAYOUTS).find((l) => paths.some((p) => p.startsWith(`${l.transformerFolder}/`)));
    result.problems.push(
      dir
        ? { code: 'not_found', file: `${dir.transformerFolder}/model.onnx`, message: `${dir.transformerFolder}/model.onnx is missing (the transformer graph)` }
        : {
            code: 'not_found',
            file: 'transformer/model.onnx',
            message: `${folder} is not an SD3 ONNX export: it has neither transformer/model.onnx (optimum layout) nor unet/model.onnx (TensorStack layout)`,
          },
    );
    return result;
  }
  result.layout = layout;
  const t5 = paths.some((p) => p.startsWith('text_encoder_3/'));
  result.t5 = t5;
  const present = new Set(paths);
  // A vae_encoder/ folder is checked like the others (its graph and external data); without it the model is
  // text-to-image only.
  const vaeEncoder = paths.some((p) => p.startsWith('vae_encoder/'));
  result.vaeEncoder = vaeEncoder;
  if (vaeEncoder && !present.has('vae_encoder/model.onnx')) {
    result.problems.push({ code: 'not_found', file: 'vae_encoder/model.onnx', message: 'vae_encoder/model.onnx is missing (the VAE encoder graph)' });
  }
  const graphs = new Map(graphFiles(layout, { t5 }).map((g) => [g.file, g.component]));
  for (const f of requiredFiles(layout, { t5 })) {
    if (present.has(f)) {
      result.files.push(f);
      continue;
    }
    const component = graphs.get(f);
    const why = component ? `the ${componentLabel(component)} graph` : f.startsWith('tokenizer') ? 'a tokenizer file' : 'the scheduler configuration';
    result.problems.push({ code: 'not_found', file: f, message: `${f} is missing (${why})` });
  }
  for (const { component, file } of graphFiles(layout, { t5, vaeEncoder })) {
    if (!present.has(file)) continue;
    if (component === 'vae_encoder') result.files.push(file);
    const dir = path.posix.dirname(file);
    const resolved = resolveComponentDir(folder, dir);
    if ('problem' in resolved) {
      result.problems.push({ code: 'invalid_input', file, message: resolved.problem });
      continue;
    }
    const model = path.join(folder, ...file.split('/'));
    result.components[component] = { component, dir, model, file };
    if (options.checkGraphs === false) continue;
    let graph: OnnxGraph;
    try {
      graph = readOnnxGraph(model, { label: file });
    } catch (err) {
      const text = (err as Error).message;
      const message = !(err instanceof WireError)
        ? `${file} could not be read: ${text}`
        : text.startsWith(file)
          ? text
          : `${file} is not a readable ONNX model: ${text}`;
      result.problems.push({ code: 'invalid_input', file, message });
      continue;
    }
    result.graphs[component] = graph;
    for (const p of graph.problems) result.problems.push({ code: 'invalid_input', file, message: `${dir}/: ${p}` });
    for (const p of checkExternalData(model, graph.externalData)) {
      const rel = `${dir}/${p.location.replace(/\\/g, '/')}`;
      if (p.kind === 'outside') result.problems.push({ code: 'invalid_input', file, message: `${file} points at external data outside its folder (${p.location})` });
      else if (p.kind === 'missing') result.problems.push({ code: 'not_found', file: rel, message: `${rel} is missing (${file} keeps its weights there)` });
      else result.problems.push({ code: 'invalid_input', file: rel, message: `${rel} is incomplete: ${p.message}` });
    }
    for (const location of graph.externalData.keys()) {
      const rel = `${dir}/${location.replace(/\\/g, '/')}`;
      if (!location.split(/[\\/]/).includes('..') && !path.isAbsolute(location) && !result.files.includes(rel)) result.files.push(rel);
    }
  }
  for (const f of result.files) {
    result.sizeBytes += await fs.promises
      .stat(path.join(folder, ...f.split('/')))
      .then((s) => s.size)
      .catch(() => 0);
  }
  result.ok = result.problems.length === 0;
  return result;
}

/** The import/verify view of the check: problems as sentences. */
export interface FolderCheck {
  ok: boolean;
  layout?: ModelLayout;
  t5: boolean;
  files: string[];
  sizeBytes: number;
  problems: string[];
}

export async function checkFolder(folder: string): Promise<FolderCheck> {
  const c = await checkModelFolder(folder);
  return { ok: c.ok, ...(c.layout ? { layout: c.layout } : {}), t5: c.t5, files: c.files, sizeBytes: c.sizeBytes, problems: c.problems.map((p) => p.message) };
}

export interface ModelFolder {
  folder: string;
  layout: Layout;
  hasT5: boolean;
  components: Partial<Record<ComponentName, ComponentFiles>>;
}

/** The same check as a StudioError for the pipeline: the first problem, naming the folder and the file. */
export function folderError(check: ModelFolderCheck): StudioError {
  const first = check.problems[0] ?? { code: 'invalid_input' as const, message: 'it cannot be used' };
  const hint =
    first.code === 'not_found' && !first.file
      ? 'Check the path, or download the model first.'
      : 'Re-download the model (or verify it), or import a complete folder.';
  const more = check.problems.length > 1 ? ` (and ${check.problems.length - 1} more problem${check.problems.length > 2 ? 's' : ''})` : '';
  return new StudioError(first.code, `The model in ${check.folder} is incomplete or damaged: ${first.message}${more}. ${hint}`, {
    folder: check.folder,
    ...(first.file ? { file: first.file } : {}),
    problems: check.problems.map((p) => p.message),
  });
}

/** Checks the folder (the same check as import) and throws its first problem as a StudioError. */
export async function openModelFolder(folder: string, options: CheckFolderOptions = {}): Promise<ModelFolder> {
  const check = await checkModelFolder(folder, options);
  if (!check.ok || !check.layout) throw folderError(check);
  return { folder: check.folder, layout: check.layout, hasT5: check.t5, components: check.components };
}
