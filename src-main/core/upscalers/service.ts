// The upscaler library behind the contract (upscalers.* in src-shared/api.ts) and the CLI's `upscalers import`: the
// library's rules stay in library.ts (names, the image → image check, the copy verified by hash); this adds THE probe
// run (probeUpscalerScale: the inference host's `upscale` with scale 0, the same worker that runs upscale jobs) and
// what the transports need, as the LoRA service does — a file named by path (desktop app, CLI; never in browser mode)
// or uploaded in chunks (browser mode: THE chunked upload, core/uploads.ts, in `<data>/upscalers/.uploads/`), the
// import's progress (THE progress shape) and an `upscalers.changed` event after every change. Imports run one at a
// time. A refusal is a StudioError naming the user's file (never a server path) and leaves nothing behind.
import fs from 'node:fs';
import path from 'node:path';
import { StudioError } from '../../../src-shared/errors';
import { progress } from '../../../src-shared/progress';
import { MAX_LORA_UPLOAD_BYTES } from '../../../src-shared/schemas/loras';
import type { UpscalerImportFile, UpscalerInfo, UpscalersEvent } from '../../../src-shared/upscale';
import type { InferenceHost } from '../../inference/host';
import { dataLayout } from '../paths';
import { ChunkedUploads } from '../uploads';
import { UpscalerLibrary, type UpscalerEntry } from './library';

/** Copy progress is sent at most this often (and at the start and the end). */
const PROGRESS_EVERY_MS = 100;

/** THE probe run: the worker runs the file on a 16×16 tile and answers the scale (upscaler-session.ts probeScale). */
export async function probeUpscalerScale(host: InferenceHost, file: string, signal?: AbortSignal): Promise<number> {
  const r = await host.upscale({ file, rgb: new Uint8Array(0), width: 0, height: 0, scale: 0 }, signal ? { signal } : {});
  return r.scale;
}

export interface UpscalerServiceOptions {
  dataRoot: string;
  /** Browser mode: files come as uploads only, never as a server path. */
  runtime: 'electron' | 'browser' | 'cli';
  emit: (event: UpscalersEvent) => void;
  /** The inference host the probe runs on (the queue's: core.jobs.inferenceHost()). */
  host: () => InferenceHost;
}

/** The contract's view of a library entry (no server path). */
export function upscalerView(e: UpscalerEntry): UpscalerInfo {
  return { name: e.name, scale: e.scale, bytes: e.bytes, sha256: e.sha256 };
}

export class UpscalerService {
  readonly library: UpscalerLibrary;
  private readonly uploads: ChunkedUploads;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: UpscalerServiceOptions) {
    const layout = dataLayout(o.dataRoot);
    this.library = new UpscalerLibrary(layout.upscalers);
    this.uploads = new ChunkedUploads(path.join(layout.upscalers, '.uploads'), MAX_LORA_UPLOAD_BYTES, `An upscaler uploaded through the browser is at most ${MAX_LORA_UPLOAD_BYTES / 1e9} GB.`);
  }

  list(): UpscalerInfo[] {
    return this.library.list().map(upscalerView);
  }

  /** Appends one chunk to an upload (a new one when `uploadId` is absent); chunks must come in order. */
  upload(p: { uploadId?: string | undefined; offset: number; dataBase64: string }): { uploadId: string; received: number } {
    return this.uploads.append(p);
  }

  private source(f: UpscalerImportFile): { file: string; label: string; name: string | undefined; temporary: boolean } {
    if ('uploadId' in f) {
      const file = this.uploads.take(f.uploadId);
      const label = path.basename(f.fileName.replace(/\\/gu, '/'));
      return { file, label, name: f.name ?? label.replace(/\.onnx$/iu, ''), temporary: true };
    }
    if (this.o.runtime === 'browser') throw new StudioError('invalid_input', 'In browser mode, an upscaler is uploaded (upscalers.upload), not named by a path.');
    if (!path.isAbsolute(f.path)) throw new StudioError('invalid_input', `Not an absolute path: ${f.path}`);
    return { file: f.path, label: f.path, name: f.name, temporary: false };
  }

  /** Imports one file (one import at a time): checked, copied, probed; its progress and the end on `upscalers.changed`. */
  import(f: UpscalerImportFile, signal?: AbortSignal): Promise<UpscalerInfo> {
    const run = this.chain.then(() => this.importNow(f, signal));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async importNow(f: UpscalerImportFile, signal?: AbortSignal): Promise<UpscalerInfo> {
    const shown = 'path' in f ? path.basename(f.path) : path.basename(f.fileName.replace(/\\/gu, '/'));
    const emit = (p: UpscalersEvent['progress']): void => this.o.emit({ kind: 'import', ...(p ? { progress: p } : {}) });
    let temporary: string | undefined;
    let src: ReturnType<UpscalerService['source']> | undefined;
    try {
      src = this.source(f);
      if (src.temporary) temporary = src.file;
      let last = 0;
      const entry = await this.library.import(src.file, src.name, (file) => probeUpscalerScale(this.o.host(), file, signal), {
        onCopy: (done, total) => {
          const now = Date.now();
          if (done !== 0 && done !== total && now - last < PROGRESS_EVERY_MS) return;
          last = now;
          emit(progress('verify', { status: 'running', done, total, label: `Copying ${shown}` }));
        },
        onProbe: () => emit(progress('import', { status: 'running', done: 0, total: 1, label: `Finding the scale of ${shown} (a probe run on the worker)` })),
      });
      emit(progress('import', { status: 'done', done: 1, total: 1, label: entry.name }));
      return upscalerView(entry);
    } catch (err) {
      emit(progress('import', { status: 'failed', done: 0, total: 1, label: shown }));
      throw this.userError(err, src);
    } finally {
      if (temporary) fs.rmSync(temporary, { force: true });
    }
  }

  /** The refusal in the user's words: the upload's or the library's temporary paths become the file's name. */
  private userError(err: unknown, src: { file: string; label: string } | undefined): StudioError {
    const e = StudioError.from(err);
    if (!src) return e;
    const tmp = new RegExp(`${escape(path.join(this.library.dir, '.import-'))}[0-9a-f]+\\.onnx`, 'gu');
    const message = e.message.split(src.file).join(src.label).replace(tmp, src.label);
    const { file: _file, ...details } = e.details ?? {};
    return new StudioError(e.code, message, Object.keys(details).length ? details : undefined);
  }

  remove(name: string): UpscalerInfo {
    const removed = upscalerView(this.library.remove(name));
    this.o.emit({ kind: 'remove' });
    return removed;
  }
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/gu, '\\$&');
}
