// The upscaler library: `<data>/upscalers/<name>.onnx` (docs/architecture.md §3, §5 "Upscale"), like the LoRA
// library. Import checks the graph is image → image (model-folder/upscaler-graph.ts, no session), asks the worker for
// its scale (a probe run on a 16×16 tile: `probe`), then copies the file in under a temporary O_EXCL name, verified
// by sha256, and renames it; `.index.json` keeps name, sha256, scale and size. Files are untrusted input: nothing is
// read outside the given path and the library folder; names are checked (upscalerNameSchema).
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
   * Imports a file: the graph checked, its scale probed by `probe(file)` (the worker), then copied in. A name already
   * in the library is refused (conflict).
   */
  async import(source: string, name: string | undefined, probe: (file: string) => Promise<number>): Promise<UpscalerEntry> {
    const n = checkUpscalerName(name ?? path.basename(source).replace(/\.onnx$/iu, ''));
    if (this.find(n)) throw new StudioError('conflict', `An upscaler named "${n}" is already in the library.`, { field: 'name' });
    let stat: fs.Stats;
    try {
      stat = fs.statSync(source);
    } catch {
      throw new StudioError('not_found', `${source} does not exist.`);
    }
    if (!stat.isFile()) throw new StudioError('invalid_input', `${source} is not a file.`);
    if (stat.size > MAX_UPSCALER_BYTES) throw new StudioError('invalid_input', `${source} is larger than 2 GB; not an upscaler this studio imports.`);
    await checkUpscalerGraph(source);
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const tmp = path.join(this.dir, `.import-${crypto.randomBytes(8).toString('hex')}.onnx`);
    const bytes = fs.readFileSync(source);
    fs.writeFileSync(tmp, bytes, { flag: 'wx', mode: 0o600 });
    try {
      const sha256 = crypto.createHash('sha256').update(fs.readFileSync(tmp)).digest('hex');
      if (sha256 !== crypto.createHash('sha256').update(bytes).digest('hex')) throw new StudioError('verification_failed', 'The copied upscaler does not match its source.');
      // The probe runs the copy (the bytes that were checked), not the caller's path, which could change meanwhile.
      await checkUpscalerGraph(tmp);
      const scale = await probe(tmp);
      const file = path.join(this.dir, `${n}.onnx`);
      fs.renameSync(tmp, file);
      const index = this.readIndex();
      index[n] = { name: n, sha256, scale, bytes: bytes.length };
      this.writeIndex(index);
      return { name: n, file, sha256, scale, bytes: bytes.length };
    } finally {
      fs.rmSync(tmp, { force: true });
    }
  }

  remove(name: string): void {
    const e = this.find(name);
    if (!e) throw new StudioError('not_found', `No upscaler "${name}" in the library (upscalers list shows it).`);
    fs.rmSync(e.file, { force: true });
    const index = this.readIndex();
    delete index[e.name];
    this.writeIndex(index);
  }
}
