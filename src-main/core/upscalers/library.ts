// The upscaler library: `<data>/upscalers/<name>.onnx` (docs/architecture.md §3, §5 "Upscale"), like the LoRA
// library. Import checks the graph is image → image (model-folder/upscaler-graph.ts, no session), copies the file in
// under a temporary O_EXCL name (hashed while copied, the copy hashed again and compared), asks the worker for the
// copy's scale (a probe run on a 16×16 tile: `probe`, core/upscalers/service.ts) and renames it into place;
// `.index.json` keeps name, sha256, scale and size. A refusal leaves nothing behind. Files are untrusted input:
// nothing is read outside the given path and the library folder; names are checked (upscalerNameSchema).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { StudioError } from '../../../src-shared/errors';
import { BUILTIN_UPSCALER, upscalerNameSchema } from '../../../src-shared/generation';
import { checkUpscalerGraph } from '../../model-folder/upscaler-graph';

export interface UpscalerEntry {
  name: string;
  file: string;
  sha256: string;
  scale: number;
  bytes: number;
}

/** An upscaler file larger than this is refused (Real-ESRGAN ×4 is 67 MB; SwinIR-L about 0.5 GB). */
export const MAX_UPSCALER_BYTES = 2 * 1024 * 1024 * 1024;

export function checkUpscalerName(name: string): string {
  const parsed = upscalerNameSchema.safeParse(name);
  if (!parsed.success || name.toLowerCase() === BUILTIN_UPSCALER) {
    throw new StudioError('invalid_input', `"${name}" is not a usable upscaler name (1–64 letters, digits, ".", "_" or "-"; not "${BUILTIN_UPSCALER}").`, { field: 'name' });
  }
  return parsed.data;
}

type Index = Record<string, Omit<UpscalerEntry, 'file'>>;

export class UpscalerLibrary {
  constructor(readonly dir: string) {}

  private indexFile(): string {
    return path.join(this.dir, '.index.json');
  }

  private readIndex(): Index {
    try {
      const raw = JSON.parse(fs.readFileSync(this.indexFile(), 'utf8')) as unknown;
      return raw && typeof raw === 'object' ? (raw as Index) : {};
    } catch {
      return {};
    }
  }

  private writeIndex(index: Index): void {
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const tmp = `${this.indexFile()}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(index, null, 1), { mode: 0o600 });
    fs.renameSync(tmp, this.indexFile());
  }

  list(): UpscalerEntry[] {
    const index = this.readIndex();
    return Object.values(index)
      .filter((e) => upscalerNameSchema.safeParse(e.name).success && fs.existsSync(path.join(this.dir, `${e.name}.onnx`)))
      .map((e) => ({ ...e, file: path.join(this.dir, `${e.name}.onnx`) }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  find(name: string): UpscalerEntry | undefined {
    return this.list().find((e) => e.name.toLowerCase() === name.toLowerCase());
  }

  /**
   * Imports a file: the graph checked, copied in under a temporary O_EXCL name (hashed as it is read, the copy hashed
   * again and compared), the copy checked again and its scale probed by `probe(file)` (the worker runs the copy, never
   * the caller's path, which could change meanwhile), then renamed into place and indexed. A name already in the
   * library is refused (conflict). Any refusal leaves nothing behind (the temporary copy is removed).
   * `onCopy(done, total)` follows the copy in bytes; `onProbe()` says the probe run begins.
   */
  async import(
    source: string,
    name: string | undefined,
    probe: (file: string) => Promise<number>,
    hooks: { onCopy?: (done: number, total: number) => void; onProbe?: () => void } = {},
  ): Promise<UpscalerEntry> {
    const n = checkUpscalerName(name ?? path.basename(source).replace(/\.onnx$/iu, ''));
    if (this.find(n)) throw new StudioError('conflict', `An upscaler named "${n}" is already in the library.`, { field: 'name' });
    let stat: fs.Stats;
    try {
      stat = fs.statSync(source);
    } catch (err) {
      throw unreadable(source, err);
    }
    if (!stat.isFile()) throw new StudioError('invalid_input', `${source} is not a file.`);
    if (stat.size > MAX_UPSCALER_BYTES) throw new StudioError('invalid_input', `${source} is larger than 2 GB; not an upscaler this studio imports.`);
    await checkUpscalerGraph(source);
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const tmp = path.join(this.dir, `.import-${crypto.randomBytes(8).toString('hex')}.onnx`);
    try {
      const sha256 = copyHashed(source, tmp, hooks.onCopy);
      if (hashFile(tmp) !== sha256) throw new StudioError('verification_failed', 'The copied upscaler does not match its source (sha256).');
      const bytes = fs.statSync(tmp).size;
      await checkUpscalerGraph(tmp);
      hooks.onProbe?.();
      const scale = await probe(tmp);
      // Checked again now: another import (the CLI beside the app) may have taken the name meanwhile.
      if (this.find(n)) throw new StudioError('conflict', `An upscaler named "${n}" is already in the library.`, { field: 'name' });
      const file = path.join(this.dir, `${n}.onnx`);
      fs.renameSync(tmp, file);
      try {
        const index = this.readIndex();
        index[n] = { name: n, sha256, scale, bytes };
        this.writeIndex(index);
      } catch (err) {
        fs.rmSync(file, { force: true });
        throw err;
      }
      return { name: n, file, sha256, scale, bytes };
    } finally {
      fs.rmSync(tmp, { force: true });
    }
  }

  /** Removes an upscaler (its file and its index entry); what it was. */
  remove(name: string): UpscalerEntry {
    const e = this.find(name);
    if (!e) throw new StudioError('not_found', `No upscaler "${name}" in the library (upscalers list shows it).`);
    fs.rmSync(e.file, { force: true });
    const index = this.readIndex();
    delete index[e.name];
    this.writeIndex(index);
    return e;
  }
}

const CHUNK = 4 << 20;

/** A file that cannot be opened or read, as the user's words: missing → not_found, anything else (EACCES, EISDIR…) → invalid_input. */
function unreadable(file: string, err: unknown): StudioError {
  if (err instanceof StudioError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new StudioError('not_found', `${file} does not exist.`);
  return new StudioError('invalid_input', `${file} cannot be read${code ? ` (${code})` : ''}.`);
}

/** Copies `source` to a new file `dest` (O_EXCL, 0600) in chunks, hashing what it reads; the sha256 of the bytes read. */
function copyHashed(source: string, dest: string, onCopy?: (done: number, total: number) => void): string {
  const hash = crypto.createHash('sha256');
  let fd: number;
  try {
    fd = fs.openSync(source, 'r');
  } catch (err) {
    throw unreadable(source, err);
  }
  const out = fs.openSync(dest, 'wx', 0o600);
  try {
    const total = fs.fstatSync(fd).size;
    const buf = Buffer.allocUnsafe(CHUNK);
    let done = 0;
    onCopy?.(0, total);
    for (;;) {
      let n: number;
      try {
        n = fs.readSync(fd, buf, 0, CHUNK, null);
      } catch (err) {
        throw unreadable(source, err);
      }
      if (n === 0) break;
      hash.update(buf.subarray(0, n));
      fs.writeSync(out, buf, 0, n);
      done += n;
      if (done > MAX_UPSCALER_BYTES) throw new StudioError('invalid_input', `${source} is larger than 2 GB; not an upscaler this studio imports.`);
      onCopy?.(done, Math.max(total, done));
    }
    fs.fsyncSync(out);
  } finally {
    fs.closeSync(out);
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}

function hashFile(file: string): string {
  const hash = crypto.createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    for (let n = fs.readSync(fd, buf); n > 0; n = fs.readSync(fd, buf)) hash.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}
