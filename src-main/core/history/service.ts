// HistoryService: the history room's one entry point for StudioCore, the job runner, the CLI and the
// image protocol. It owns no connection: StudioCore opens studio.db (with the 02xx migrations) and
// passes it in. Every mutation emits a GalleryChange to the onChanged listeners (`gallery.changed`).
import fs from 'node:fs';
import { StudioError } from '../../../src-shared/errors';
import { samplingFromNames, shiftSchema, slgSchema } from '../../../src-shared/generation';
import { initImageSchema } from '../../../src-shared/img2img';
import type { ParsedLora, ParsedParameters, StudioImageMeta } from '../../../src-shared/metadata';
import { stripLoraTags } from '../../../src-shared/lora-prompt';
import { studioSampling } from '../../../src-shared/metadata/studio-sampling';
import type { Db } from '../db';
import { stripTextChunks } from '../../formats/png';
import { Thumbnailer, isThumbSize, type ThumbSize } from '../images/thumbs';
import { assertInside, dataLayout } from '../paths';
import { defaultWriter, toAbs, type FileWriter } from './files';
import { Generations } from './generations';
import {
  ImageRows,
  importImageFile,
  saveGeneratedImage,
  saveProcessedImage,
  type ImageRow,
  type SaveImageInput,
  type StoreContext,
} from './images';
import { Queries } from './queries';
import { saveHoldFromEnv, type SaveHook } from './test-hold';
import { TRASH_RETENTION_DAYS, Trash, validateIds, type DeleteResult, type EmptyTrashResult, type RestoreResult } from './trash';
import type {
  GalleryChange,
  GalleryListener,
  GalleryPage,
  GalleryQuery,
  ImageDetail,
  ImageRecord,
  ReuseParameters,
  Timings,
} from './types';

export interface HistoryServiceOptions {
  db: Db;
  /** The data folder (images/, thumbs/, trash/ live inside it). */
  dataDir: string;
  /** Writes + fsyncs a new file; injected by tests (ENOSPC). */
  writer?: FileWriter;
  /** Clock (ms since the epoch); injected by tests (30-day sweep). */
  now?: () => number;
  /** Runs at each stage of a save; defaults to the SD35_TEST_HOLD hold points (test mode only). */
  saveHook?: SaveHook;
  thumbnailer?: Thumbnailer;
}

export interface ImportResult {
  imported: ImageRecord[];
  rejected: { name: string; reason: string }[];
}

export class HistoryService {
  readonly db: Db;
  readonly dataDir: string;
  readonly generations: Generations;
  readonly imageRows: ImageRows;
  readonly queries: Queries;
  readonly thumbs: Thumbnailer;
  private readonly trash: Trash;
  private readonly ctx: StoreContext;
  private readonly clock: () => number;
  private readonly listeners = new Set<GalleryListener>();

  constructor(options: HistoryServiceOptions) {
    this.db = options.db;
    this.dataDir = options.dataDir;
    this.clock = options.now ?? Date.now;
    this.generations = new Generations(this.db);
    this.imageRows = new ImageRows(this.db);
    this.queries = new Queries(this.db);
    this.thumbs = options.thumbnailer ?? new Thumbnailer({ thumbsDir: dataLayout(this.dataDir).thumbs });
    this.trash = new Trash(this.db, this.dataDir, this.generations, (id) => this.thumbs.remove(id));
    const hold = options.saveHook ?? saveHoldFromEnv();
    this.ctx = {
      db: this.db,
      dataDir: this.dataDir,
      generations: this.generations,
      images: this.imageRows,
      writer: options.writer ?? defaultWriter,
      ...(hold ? { saveHook: hold } : {}),
      checkImport: async (id, data) => {
        await this.thumbs.fromBuffer(id, 256, data);
      },
    };
  }

  now(): number {
    return this.clock();
  }

  // ---- images in ----

  /** THE way a generated image enters the store: PNG with both metadata chunks, file first, then rows. */
  async saveImage(input: SaveImageInput): Promise<ImageRecord> {
    const id = await saveGeneratedImage(this.ctx, input, this.now());
    this.emit({ kind: 'added', ids: [id] });
    return this.requireItem(id);
  }

  /** A queued generation's image with another tool's text chunks (images.ts saveProcessedImage: an upscaled import). */
  async saveProcessedImage(input: Parameters<typeof saveProcessedImage>[1]): Promise<ImageRecord> {
    const id = await saveProcessedImage(this.ctx, input, this.now());
    this.emit({ kind: 'added', ids: [id] });
    return this.requireItem(id);
  }

  /** A PNG from another tool, stored byte for byte (see images.ts importImageFile). */
  async importFile(buf: Uint8Array, originalName: string | null = null): Promise<ImageRecord> {
    const id = await importImageFile(this.ctx, buf, originalName, this.now());
    this.emit({ kind: 'added', ids: [id] });
    return this.requireItem(id);
  }

  /** Imports several files; each bad one is rejected with its reason while the others import. */
  async importFiles(files: readonly { name: string; data: Uint8Array }[]): Promise<ImportResult> {
    const result: ImportResult = { imported: [], rejected: [] };
    try {
      for (const f of files) {
        try {
          const id = await importImageFile(this.ctx, f.data, f.name, this.now());
          result.imported.push(this.requireItem(id));
        } catch (err) {
          const e = StudioError.from(err);
          if (e.code === 'disk_full') throw e; // the rest would fail the same way
          result.rejected.push({ name: f.name, reason: e.message });
        }
      }
    } finally {
      if (result.imported.length) this.emit({ kind: 'added', ids: result.imported.map((r) => r.id) });
    }
    return result;
  }

  // ---- reads ----

  query(q: GalleryQuery = {}): GalleryPage {
    return this.queries.page(q);
  }

  get(id: number): ImageDetail {
    checkId(id);
    const item = this.queries.item(id);
    const gen = this.generations.get(id);
    const img = this.imageRows.get(id);
    if (!item || !gen || !img) throw notFound(id);
    const parsedMeta = gen.meta === null ? null : (JSON.parse(gen.meta) as Record<string, unknown>);
    const importedParams =
      parsedMeta && typeof parsedMeta.imported === 'object' ? (parsedMeta.imported as Record<string, unknown>) : null;
    const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
    return {
      ...item,
      jobId: gen.job_id,
      status: gen.status,
      ep: gen.ep,
      timings: gen.timings === null ? null : (JSON.parse(gen.timings) as Timings),
      startedAt: iso(gen.started_at),
      finishedAt: iso(gen.finished_at),
      // Another tool's parameters show as `imported`; what we did to such an image (an upscale) stays in meta.
      meta: importedParams ? withoutImported(parsedMeta) : parsedMeta,
      imported: img.source === 'imported' ? { originalName: img.original_name, parameters: importedParams } : null,
      deletedAt: iso(img.deleted_at),
    };
  }

  /** Parameters for the Generate form. */
  reuse(id: number, resolveLoras?: (list: readonly ParsedLora[]) => NonNullable<ReuseParameters['loras']>): ReuseParameters {
    const d = this.get(id);
    const out: ReuseParameters = { prompt: d.prompt, negativePrompt: d.negativePrompt };
    // LoRAs (ours: the JSON's list; other tools': the parsed tags/hashes or ComfyUI loaders), resolved in the
    // library by the caller; the form gets them as a list, so the prompt loses its `<lora:…>` tags.
    const usedLoras = ((d.meta as Partial<StudioImageMeta> | null)?.loras ?? (d.imported?.parameters as Partial<ParsedParameters> | null | undefined)?.loras ?? []) as ParsedLora[];
    if (resolveLoras && Array.isArray(usedLoras) && usedLoras.length > 0) {
      out.loras = resolveLoras(usedLoras);
      out.prompt = stripLoraTags(out.prompt);
    }
    if (d.seed !== null) out.seed = d.seed;
    if (d.steps !== null) out.steps = d.steps;
    if (d.guidance !== null) out.guidance = d.guidance;
    const studio = d.meta as Partial<StudioImageMeta> | null;
    const imported = d.imported?.parameters as Partial<ParsedParameters> | null | undefined;
    out.width = studio?.width ?? imported?.width ?? d.width;
    out.height = studio?.height ?? imported?.height ?? d.height;
    if (d.model !== '') out.model = d.model;
    if (typeof studio?.shift === 'number') out.shift = studio.shift;
    else if (typeof imported?.shift === 'number' && shiftSchema.safeParse(imported.shift).success) out.shift = imported.shift;
    if (typeof studio?.t5 === 'boolean') out.t5 = studio.t5;
    const names = studio && typeof studio.scheduler === 'string' ? studioSampling({ scheduler: studio.scheduler, sampler: studio.sampler }) : imported;
    Object.assign(out, samplingFromNames({ sampler: names?.sampler, scheduler: names?.scheduler }));
    const slg = slgSchema.safeParse(studio?.slg ?? imported?.slg);
    if (slg.success) out.slg = slg.data;
    const init = initImageSchema.safeParse(studio?.init);
    if (init.success) out.init = init.data;
    return out;
  }

  // ---- edits ----

  setFavorite(id: number, on: boolean): ImageRecord {
    checkId(id);
    const changed = this.db
      .prepare(`UPDATE images SET favorite = ? WHERE id = ? AND deleted_at IS NULL`)
      .run(on ? 1 : 0, id).changes;
    if (changed === 0) throw notFound(id);
    this.emit({ kind: 'updated', ids: [id] });
    return this.requireItem(id);
  }

  /** Moves images to the trash; returns the token that undoes it. */
  async delete(ids: readonly number[]): Promise<DeleteResult> {
    const result = await this.trash.delete(ids, this.now());
    if (result.ids.length) this.emit({ kind: 'removed', ids: result.ids });
    return result;
  }

  /** Undo: an undo token from delete(), or trashed image ids. */
  async restore(target: string | readonly number[]): Promise<RestoreResult> {
    const result = await this.trash.restore(target, this.now());
    if (result.ids.length) this.emit({ kind: 'restored', ids: result.ids });
    if (result.missing.length) this.emit({ kind: 'purged', ids: result.missing });
    return result;
  }

  /** Removes trashed images for good (all, or those trashed at least olderThanDays ago). */
  async emptyTrash(options: { olderThanDays?: number } = {}): Promise<EmptyTrashResult> {
    const result = await this.trash.empty(this.now(), options.olderThanDays);
    if (result.ids.length) this.emit({ kind: 'purged', ids: result.ids });
    return result;
  }

  /** The automatic sweep: what has been in the trash for TRASH_RETENTION_DAYS (30) days. */
  sweepTrash(): Promise<EmptyTrashResult> {
    return this.emptyTrash({ olderThanDays: TRASH_RETENTION_DAYS });
  }

  // ---- files out ----

  /** The image's file (for copy image / save as), with all metadata or with the text chunks removed. */
  async exportFile(id: number, options: { metadata: boolean }): Promise<Buffer> {
    const file = this.imagePath(id);
    if (!file) throw notFound(id);
    const buf = await fs.promises.readFile(file);
    return options.metadata ? buf : stripTextChunks(buf);
  }

  /** Absolute path of a live image's file (checked to be inside the data folder), or undefined. */
  imagePath(id: number): string | undefined {
    if (!Number.isSafeInteger(id) || id < 1) return undefined;
    const row = this.imageRows.get(id);
    if (!row || row.deleted_at !== null) return undefined;
    return this.checkedPath(row);
  }

  /** Path of the thumbnail of a live image, made first when missing; undefined when there is no such image. */
  async thumbPath(id: number, size: ThumbSize): Promise<string | undefined> {
    if (!isThumbSize(size)) throw new StudioError('invalid_input', 'Thumbnail size must be 256 or 512.');
    const source = this.imagePath(id);
    if (!source) return undefined;
    const thumb = await this.thumbs.ensureThumb(id, size, source);
    try {
      return assertInside(this.dataDir, thumb);
    } catch {
      return undefined;
    }
  }

  // ---- events ----

  onChanged(listener: GalleryListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(change: GalleryChange): void {
    for (const l of [...this.listeners]) {
      try {
        l(change);
      } catch {
        // a broken listener must not break a save
      }
    }
  }

  private checkedPath(row: ImageRow): string | undefined {
    try {
      return assertInside(this.dataDir, toAbs(this.dataDir, row.path));
    } catch {
      return undefined;
    }
  }

  private requireItem(id: number): ImageRecord {
    const item = this.queries.item(id);
    if (!item) throw notFound(id);
    return item;
  }
}

function checkId(id: number): void {
  validateIds([id]);
}

function notFound(id: number): StudioError {
  return new StudioError('not_found', `Image ${id} is not in the gallery (it may have been deleted).`);
}

/**
 * Runs the 30-day trash sweep now and then every `intervalMs` (default 6 h) in the lock holder.
 * Returns a stop function. The timer does not keep the process alive.
 */
export function scheduleTrashSweep(
  service: HistoryService,
  options: { intervalMs?: number; onResult?: (r: EmptyTrashResult) => void; onError?: (err: unknown) => void } = {},
): () => void {
  const tick = (): void => {
    service.sweepTrash().then(
      (r) => options.onResult?.(r),
      (err: unknown) => options.onError?.(err),
    );
  };
  tick();
  const timer = setInterval(tick, options.intervalMs ?? 6 * 60 * 60 * 1000);
  timer.unref();
  return () => clearInterval(timer);
}

/** The gallery's own record of an image beside another tool's parameters (e.g. `upscale`), or null when none. */
function withoutImported(meta: Record<string, unknown> | null): Record<string, unknown> | null {
  if (!meta) return null;
  const { imported: _imported, ...rest } = meta;
  return Object.keys(rest).length > 0 ? rest : null;
}
