// Derived graphs: every graph a pass makes from a model's graph (the portability rewrite, LoRA branches, the
// Skip-Layer-Guidance switch, the VAE mean encoder, …) lives in ONE studio-owned folder,
//   <data>/graphs/<model id>/<component>/<pass>-<hash>.onnx      (folders 0700, files 0600)
// and never inside the model folder, which is untrusted (imported, named with --model, or from a hostile
// mirror). The model folder is only ever read.
//
// - <model id>: a hash of the model folder's real path (the same folder → the same id, in every process).
// - <hash>: SHA-256 of the format version, the pass name, the pass's key (what else decides its output) and the
//   original graph's bytes — the same inputs give the same file, so a derived graph is made once and reused.
// - Written to a temporary file created with O_CREAT|O_EXCL ('wx', 0600) under a random name, fsynced, then
//   renamed into place: nothing that already exists (a planted symlink, another process's file) is ever
//   opened for writing.
// - External data: ONNX Runtime 1.30 refuses an absolute `location`, a `..` and a symlink that resolves outside the
//   graph's folder (verified with real sessions). So the derived graph keeps the original's relative locations,
//   and the session is created from the derived graph's bytes with ORT's
//   `session.model_external_initializers_file_folder_path` set to the original component folder — its real
//   path, checked to be a real folder inside the model folder (`externalDataDir`); ORT then applies its own
//   containment check against that folder. Tensors a pass adds go inline (raw_data) in the derived graph.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { StudioError } from '../../src-shared/errors';
import { resolveComponentDir, type ComponentFiles } from './layouts';

/** Bumped when the layout or the hashing changes: old files are then never matched. */
export const DERIVED_GRAPHS_FORMAT = 1;
/** Files kept per pass and component (older ones are removed when a new one is made). */
export const KEEP_PER_PASS = 4;

const PASS_NAME = /^[a-z][a-z0-9-]{0,31}$/;

export interface DerivedGraphSpec {
  /** The studio's folder for derived graphs (`<data>/graphs`). */
  root: string;
  /** The model folder the original graph belongs to (untrusted; only read). */
  modelFolder: string;
  /** The original graph (layouts.ts's component files). */
  component: ComponentFiles;
  /** The pass that derives the graph: 'portable', 'lora', 'slg', 'vae-mean' ([a-z][a-z0-9-]{0,31}). */
  pass: string;
  /**
   * Everything besides the original graph's bytes that decides the output (ops rewritten, LoRA files'
   * hashes and scales, …); JSON-serialisable, hashed into the file name.
   */
  key: unknown;
  /**
   * Produces the derived graph from the original's bytes. Initializers keep the original's external-data
   * locations (resolved against the original component folder); tensors the pass adds go inline.
   */
  produce(source: Buffer): Buffer | Promise<Buffer>;
}

export interface DerivedGraph {
  /** Absolute path of the derived graph in the studio's folder. */
  file: string;
  /** Real path of the original component folder: where ORT resolves the external data (`externalDataDir`). */
  externalDataDir: string;
  /** False when the graph was already in the store. */
  created: boolean;
}

/** The id of a model folder in the store: a hash of its real path. */
export function derivedGraphsModelId(modelFolder: string): string {
  let real: string;
  try {
    real = fs.realpathSync(modelFolder);
  } catch {
    real = path.resolve(modelFolder);
  }
  return crypto.createHash('sha256').update(real).digest('hex').slice(0, 24);
}

/** `<root>/<model id>`: every derived graph of one model folder. */
export function modelGraphsDir(root: string, modelFolder: string): string {
  return path.join(root, derivedGraphsModelId(modelFolder));
}

let processRoot: string | undefined;

/**
 * For a caller without a data folder (tests, a bare LoadedModel): a private temporary store of this
 * process (mkdtemp, 0700), removed when the process exits.
 */
export function processGraphsRoot(): string {
  if (processRoot === undefined) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-graphs-'));
    processRoot = dir;
    process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  }
  return processRoot;
}

/** Removes every derived graph of a model folder (the model was removed). */
export function removeDerivedGraphs(root: string, modelFolder: string): void {
  fs.rmSync(modelGraphsDir(root, modelFolder), { recursive: true, force: true });
}

/**
 * The real path of a component folder (layouts.ts resolveComponentDir), as a StudioError invalid_input when
 * it is a symbolic link or resolves outside the model folder.
 */
export function checkedComponentDir(modelFolder: string, dir: string): string {
  const resolved = resolveComponentDir(modelFolder, dir);
  if ('problem' in resolved) {
    throw new StudioError('invalid_input', `The model in ${modelFolder} cannot be used: ${resolved.problem}.`, { folder: modelFolder, file: dir });
  }
  return resolved.real;
}

/** A folder of the store: created 0700 when absent; anything there that is not a real folder is refused. */
function ensureStoreDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = fs.lstatSync(dir);
  if (st.isSymbolicLink() || !st.isDirectory()) {
    throw new StudioError('internal', `${dir} in the studio's data folder is not a folder.`);
  }
  if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) fs.chmodSync(dir, 0o700);
}

/** Writes `bytes` to `file`: O_CREAT|O_EXCL temporary file under a random name, fsync, rename. */
export function writeExclusive(file: string, bytes: Buffer): void {
  const tmp = path.join(path.dirname(file), `.${crypto.randomBytes(12).toString('hex')}.tmp`);
  const fd = fs.openSync(tmp, 'wx', 0o600);
  try {
    try {
      let off = 0;
      while (off < bytes.length) off += fs.writeSync(fd, bytes, off, bytes.length - off);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

function keyHash(spec: DerivedGraphSpec, source: Buffer): string {
  return crypto
    .createHash('sha256')
    .update(JSON.stringify([DERIVED_GRAPHS_FORMAT, spec.pass, spec.key ?? null]))
    .update('\0')
    .update(source)
    .digest('hex')
    .slice(0, 32);
}

function pruneOld(dir: string, pass: string, keep: string): void {
  const mine = fs
    .readdirSync(dir)
    .filter((n) => n.startsWith(`${pass}-`) && n.endsWith('.onnx') && n !== keep)
    .map((n) => ({ n, t: fs.lstatSync(path.join(dir, n)).mtimeMs }))
    .sort((a, b) => b.t - a.t);
  for (const old of mine.slice(KEEP_PER_PASS - 1)) fs.rmSync(path.join(dir, old.n), { force: true });
}

/**
 * The derived graph of a pass for a component: found in the store, or produced now and written there.
 * The component folder is checked (a real folder inside the model folder) first.
 */
export async function derivedGraph(spec: DerivedGraphSpec): Promise<DerivedGraph> {
  if (!PASS_NAME.test(spec.pass)) throw new StudioError('internal', `"${spec.pass}" is not a pass name.`);
  const externalDataDir = checkedComponentDir(spec.modelFolder, spec.component.dir);
  const source = fs.readFileSync(path.join(externalDataDir, path.basename(spec.component.model)));
  const dir = path.join(modelGraphsDir(spec.root, spec.modelFolder), spec.component.component);
  const name = `${spec.pass}-${keyHash(spec, source)}.onnx`;
  const file = path.join(dir, name);
  ensureStoreDir(spec.root);
  ensureStoreDir(path.dirname(dir));
  ensureStoreDir(dir);
  const existing = fs.lstatSync(file, { throwIfNoEntry: false });
  if (existing?.isFile()) return { file, externalDataDir, created: false };
  if (existing) fs.rmSync(file, { recursive: true, force: true });
  const bytes = await spec.produce(source);
  writeExclusive(file, bytes);
  pruneOld(dir, spec.pass, name);
  return { file, externalDataDir, created: true };
}
