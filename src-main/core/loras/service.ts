// The LoRA library behind the contract (loras.* in src-shared/api.ts): the library's own rules stay in
// library.ts (names, checks, copy verified by hash, removal with its graphs); this adds what the transports need —
// files named by path (desktop) or uploaded in chunks (browser mode: THE chunked upload, core/uploads.ts, in
// `<data>/loras/.uploads/`, at most MAX_LORA_UPLOAD_BYTES, removed once imported or after a day), progress in files
// (THE progress shape) and a `loras.changed` event after every change.
import fs from 'node:fs';
import path from 'node:path';
import { StudioError } from '../../../src-shared/errors';
import { progress } from '../../../src-shared/progress';
import {
  MAX_LORA_UPLOAD_BYTES,
  type LoraEntryView,
  type LoraImportFile,
  type LorasEvent,
} from '../../../src-shared/schemas/loras';
import { dataLayout } from '../paths';
import { ChunkedUploads } from '../uploads';
import { LoraLibrary, type LoraEntry } from './library';

export interface LoraServiceOptions {
  dataRoot: string;
  /** Browser mode: files come as uploads only, never as a server path. */
  runtime: 'electron' | 'browser' | 'cli';
  emit: (event: LorasEvent) => void;
}

/** The contract's view of a library entry (no server path). */
export function loraView(e: LoraEntry): LoraEntryView {
  return {
    name: e.name,
    base: e.base,
    baseLabel: e.baseLabel,
    rank: e.rank,
    bytes: e.bytes,
    sha256: e.sha256,
    a1111Hash: e.a1111,
    autoV2: e.autoV2,
    ...(e.title !== undefined ? { title: e.title } : {}),
    triggerWords: e.triggerWords,
    ...(e.linked ? { linked: true } : {}),
  };
}

export class LoraService {
  readonly library: LoraLibrary;
  private readonly uploads: ChunkedUploads;

  constructor(private readonly o: LoraServiceOptions) {
    const layout = dataLayout(o.dataRoot);
    this.library = new LoraLibrary(layout.loras, layout.graphs);
    this.uploads = new ChunkedUploads(path.join(layout.loras, '.uploads'), MAX_LORA_UPLOAD_BYTES, `A LoRA uploaded through the browser is at most ${MAX_LORA_UPLOAD_BYTES / 1e9} GB.`);
  }

  list(): LoraEntryView[] {
    return this.library.list().map(loraView);
  }

  /** Appends one chunk to an upload (a new one when `uploadId` is absent); chunks must come in order. */
  upload(p: { uploadId?: string | undefined; offset: number; dataBase64: string }): { uploadId: string; received: number } {
    return this.uploads.append(p);
  }

  private source(f: LoraImportFile): { file: string; label: string; name: string | undefined; temporary: boolean; link?: boolean } {
    if ('uploadId' in f) {
      const file = this.uploads.take(f.uploadId);
      const base = path.basename(f.fileName.replace(/\\/gu, '/')).replace(/\.safetensors$/iu, '');
      return { file, label: f.fileName, name: f.name ?? base, temporary: true };
    }
    if (this.o.runtime === 'browser') throw new StudioError('invalid_input', 'In browser mode, a LoRA is uploaded (loras.upload), not named by a path.');
    if (!path.isAbsolute(f.path)) throw new StudioError('invalid_input', `Not an absolute path: ${f.path}`);
    let st: fs.Stats;
    try {
      st = fs.statSync(f.path);
    } catch {
      throw new StudioError('not_found', 'File not found');
    }
    if (!st.isFile()) throw new StudioError('invalid_input', 'Not a file');
    return { file: f.path, label: f.path, name: f.name, temporary: false, ...(f.link ? { link: true } : {}) };
  }

  /** Imports each file (refused ones say why), with progress in files. */
  import(files: readonly LoraImportFile[]): { imported: LoraEntryView[]; rejected: { name: string; reason: string }[] } {
    const imported: LoraEntryView[] = [];
    const rejected: { name: string; reason: string }[] = [];
    const total = files.length;
    files.forEach((f, i) => {
      const label = 'path' in f ? path.basename(f.path) : f.fileName;
      this.o.emit({ kind: 'import', progress: progress('import', { status: 'running', done: i, total, label }) });
      let temporary: string | undefined;
      try {
        const src = this.source(f);
        if (src.temporary) temporary = src.file;
        imported.push(loraView(this.library.import(src.file, src.name, { link: src.link === true })));
      } catch (err) {
        rejected.push({ name: 'path' in f ? f.path : f.fileName, reason: StudioError.from(err).message });
      } finally {
        if (temporary) fs.rmSync(temporary, { force: true });
      }
    });
    this.o.emit({ kind: 'import', progress: progress('import', { status: imported.length > 0 || total === 0 ? 'done' : 'failed', done: total, total }) });
    return { imported, rejected };
  }

  rename(name: string, to: string): LoraEntryView {
    const entry = loraView(this.library.rename(name, to));
    this.o.emit({ kind: 'rename' });
    return entry;
  }

  remove(name: string): LoraEntryView {
    const entry = loraView(this.library.remove(name));
    this.o.emit({ kind: 'remove' });
    return entry;
  }
}
