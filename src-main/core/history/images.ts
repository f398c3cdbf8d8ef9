// How an image enters the store. Every path (inference, import, reconcile's adoption) ends in
// `commitImageFile`: the id is reserved first, the bytes are written to `.<id>.png.tmp`, fsynced,
// renamed to images/YYYY/MM/<id>.png and the directory fsynced — and only THEN are the rows inserted,
// in one transaction. A crash at any point leaves at worst a file without a row (which the reconcile
// pass adopts or reports) or a tmp file (which it removes); never a row without a file.
import { MAX_SEED_TEXT, isSeedText } from '../../../src-shared/generation';
import fs from 'node:fs';
import path from 'node:path';
import type { Statement } from 'better-sqlite3';
import { formatBytes } from '../../../src-shared/bytes';
import { StudioError } from '../../../src-shared/errors';
import { formatParameters, studioJson, type ParsedParameters, type StudioImageMeta } from '../../../src-shared/metadata';
import { MAX_IMPORT_BYTES } from '../../../src-shared/schemas/gallery';
import type { Db } from '../db';
import { encodePng } from '../../formats/png';
import { parseImageFile } from '../images/import-parse';
import {
  diskFullError,
  fsyncDir,
  imageRelPath,
  isDiskFull,
  removeQuietly,
  tmpPathFor,
  toAbs,
  type FileWriter,
} from './files';
import type { GenerationRowParams, Generations, NewGeneration } from './generations';
import type { SaveHook } from './test-hold';
import type { Timings } from './types';

export interface Pixels {
  width: number;
  height: number;
  channels: 3 | 4;
  data: Uint8Array;
}

export interface SaveImageInput {
  pixels: Pixels;
  meta: StudioImageMeta;
  /** The queued/running generation this image completes; omitted for images without a queue job. */
  generationId?: number;
  /** Defaults to now. Decides the images/YYYY/MM folder (UTC) and the gallery order. */
  createdAt?: Date;
  /** Per-stage durations in ms (encode, denoise, decode…), stored on the generation. */
  timings?: Timings;
}

export interface ImageRow {
  id: number;
  path: string;
  width: number;
  height: number;
  bytes: number;
  model: string;
  created_at: number;
  sort_key: number;
  favorite: number;
  source: 'generated' | 'imported';
  original_name: string | null;
  deleted_at: number | null;
  trash_path: string | null;
  trash_token: string | null;
}

export interface StoreContext {
  db: Db;
  dataDir: string;
  generations: Generations;
  images: ImageRows;
  writer: FileWriter;
  /** Runs at each stage of a save (test hold points). */
  saveHook?: SaveHook;
  /** Decodes an import's pixels (and makes its thumbnail) before it is stored; throws when damaged. */
  checkImport?: (id: number, data: Buffer) => Promise<void>;
}


export interface NewImageRow {
  id: number;
  path: string;
  width: number;
  height: number;
  bytes: number;
  model: string;
  createdAt: number;
  source: 'generated' | 'imported';
  originalName: string | null;
}

/** Prepared statements over the images table. */
export class ImageRows {
  private readonly insertStmt: Statement<unknown[]>;
  private readonly getStmt: Statement<[number]>;
  private readonly maxKeyStmt: Statement<[number, number]>;

  constructor(db: Db) {
    this.insertStmt = db.prepare(
      `INSERT INTO images (id, path, width, height, bytes, model, created_at, sort_key, source, original_name)
       VALUES (@id, @path, @width, @height, @bytes, @model, @createdAt, @sortKey, @source, @originalName)`,
    );
    this.getStmt = db.prepare(`SELECT * FROM images WHERE id = ?`);
    this.maxKeyStmt = db.prepare(`SELECT max(sort_key) AS m FROM images WHERE sort_key >= ? AND sort_key < ?`);
  }

  /** Inserts an image row (inside the caller's transaction); returns its sort key. */
  insert(row: NewImageRow): number {
    if (!Number.isSafeInteger(row.createdAt) || row.createdAt < 0 || row.createdAt >= MAX_CREATED_AT) {
      throw new StudioError('invalid_input', `The image date ${row.createdAt} is out of range.`);
    }
    const sortKey = this.allocSortKey(row.createdAt);
    this.insertStmt.run({ ...row, sortKey });
    return sortKey;
  }

  /**
   * created_at·1000 + the first free n in 0…999 of that millisecond (after the largest used, so keys
   * grow with insertion order within a millisecond); spills into the next millisecond when full.
   */
  allocSortKey(createdAt: number): number {
    for (let ms = createdAt; ; ms++) {
      const base = ms * 1000;
      const { m } = this.maxKeyStmt.get(base, base + 1000) as { m: number | null };
      if (m === null) return base;
      if (m + 1 < base + 1000) return m + 1;
    }
  }

  get(id: number): ImageRow | undefined {
    return this.getStmt.get(id) as ImageRow | undefined;
  }
}

/** sort_key = created_at·1000 + n stays below 2^53 until this date (the year 2255). */
export const MAX_CREATED_AT = Math.floor(Number.MAX_SAFE_INTEGER / 1000) - 1;

/** The two chunks every image we generate carries (docs/architecture.md). */
export function studioChunks(meta: StudioImageMeta): { keyword: string; text: string }[] {
  return [
    { keyword: 'parameters', text: formatParameters(meta) },
    { keyword: 'sd35studio', text: studioJson(meta) },
  ];
}

/**
 * Writes `bytes` as the file of image `id` (tmp → fsync → rename → fsync dir), then runs `insertRows`
 * in one immediate transaction. On a failure after the rename the file is removed again, so no
 * partial state survives. ENOSPC/EDQUOT/SQLITE_FULL become StudioError('disk_full').
 */
export async function commitImageFile(
  ctx: StoreContext,
  id: number,
  createdAt: number,
  bytes: Uint8Array,
  insertRows: (relPath: string) => void,
): Promise<string> {
  const rel = imageRelPath(id, createdAt);
  const abs = toAbs(ctx.dataDir, rel);
  const dir = path.dirname(abs);
  const tmp = tmpPathFor(abs);
  try {
    await fs.promises.mkdir(dir, { recursive: true, mode: 0o700 });
    await ctx.writer(tmp, bytes);
  } catch (err) {
    await removeQuietly(tmp);
    if (isDiskFull(err)) throw diskFullError(`save image ${id}`, dir, bytes.byteLength);
    throw StudioError.from(err);
  }
  if (ctx.saveHook) await ctx.saveHook('tmp-written', id, tmp);
  try {
    if (fs.existsSync(abs)) {
      throw new StudioError('conflict', `A file for image ${id} already exists (${rel}); it was left untouched.`);
    }
    await fs.promises.rename(tmp, abs);
    await fsyncDir(dir);
  } catch (err) {
    await removeQuietly(tmp);
    if (isDiskFull(err)) throw diskFullError(`save image ${id}`, dir, bytes.byteLength);
    throw StudioError.from(err);
  }
  if (ctx.saveHook) await ctx.saveHook('renamed', id, abs);
  try {
    ctx.db.transaction(() => insertRows(rel)).immediate();
  } catch (err) {
    // Another process's start-up reconcile may have adopted the file in the meantime: then it is stored.
    if (ctx.images.get(id)?.path === rel) return rel;
    await removeQuietly(abs);
    if (isDiskFull(err)) throw diskFullError(`record image ${id} in the database`, ctx.dataDir);
    throw err instanceof StudioError ? err : StudioError.from(err);
  }
  return rel;
}

/** The generation row of an image that enters without a queue job (import, adoption). */
export function standaloneGeneration(
  id: number,
  createdAt: number,
  fields: GenerationRowParams & Pick<NewGeneration, 'meta' | 'ep'>,
): Omit<NewGeneration, 'jobId' | 'idx'> {
  return { id, status: 'done', createdAt, startedAt: null, finishedAt: createdAt, ...fields };
}

/** saveImage: the pixels of one of our generations, encoded with our two metadata chunks. */
export async function saveGeneratedImage(ctx: StoreContext, input: SaveImageInput, now: number): Promise<number> {
  const { pixels, meta } = input;
  validatePixels(pixels);
  if (!isSeedText(meta.seed)) throw new StudioError('invalid_input', `Seed ${JSON.stringify(meta.seed)} is not a whole number from 0 to ${MAX_SEED_TEXT}.`);
  const createdAt = input.createdAt ? input.createdAt.getTime() : now;
  if (!Number.isFinite(createdAt)) throw new StudioError('invalid_input', 'createdAt is not a valid date.');
  let id: number;
  if (input.generationId !== undefined) {
    const gen = ctx.generations.require(input.generationId);
    if (gen.status !== 'queued' && gen.status !== 'running') {
      throw new StudioError('conflict', `Generation ${gen.id} is ${gen.status}; its image cannot be saved.`);
    }
    id = gen.id;
  } else {
    id = ctx.generations.reserveIds(1);
  }
  const png = encodePng(pixels, studioChunks(meta));
  const metaJson = JSON.stringify(meta);
  await commitImageFile(ctx, id, createdAt, png, (rel) => {
    if (input.generationId !== undefined) {
      ctx.generations.markDoneInTx(id, now, { meta: metaJson, ep: meta.ep, timings: input.timings ?? null });
    } else {
      ctx.generations.insertImportJob(
        standaloneGeneration(id, createdAt, {
          seed: meta.seed,
          prompt: meta.prompt,
          negativePrompt: meta.negativePrompt,
          steps: meta.steps,
          guidance: meta.guidance,
          width: meta.width,
          height: meta.height,
          model: meta.model.id,
          meta: metaJson,
          ep: meta.ep,
        }),
        meta,
      );
    }
    ctx.images.insert({
      id,
      path: rel,
      width: pixels.width,
      height: pixels.height,
      bytes: png.byteLength,
      model: meta.model.id,
      createdAt,
      source: 'generated',
      originalName: null,
    });
  });
  return id;
}

/**
 * saveProcessedImage: the pixels of a queued generation that reworked an image WITHOUT our reproducible parameters
 * (an upscale of an imported file): the PNG carries the given text chunks (the source's own, with what was done
 * appended, and our `sd35studio-upscale` record), never an `sd35studio` chunk; `metaJson` is what the gallery keeps. Same crash order as saveImage.
 */
export async function saveProcessedImage(
  ctx: StoreContext,
  input: { pixels: Pixels; generationId: number; chunks: { keyword: string; text: string }[]; metaJson: string; model: string; timings?: Timings },
  now: number,
): Promise<number> {
  const { pixels } = input;
  validatePixels(pixels);
  const gen = ctx.generations.require(input.generationId);
  if (gen.status !== 'queued' && gen.status !== 'running') {
    throw new StudioError('conflict', `Generation ${gen.id} is ${gen.status}; its image cannot be saved.`);
  }
  const id = gen.id;
  const png = encodePng(pixels, input.chunks.filter((c) => c.keyword !== 'sd35studio'));
  await commitImageFile(ctx, id, now, png, (rel) => {
    ctx.generations.markDoneInTx(id, now, { meta: input.metaJson, ep: null, timings: input.timings ?? null });
    ctx.images.insert({ id, path: rel, width: pixels.width, height: pixels.height, bytes: png.byteLength, model: input.model, createdAt: now, source: 'generated', originalName: null });
  });
  return id;
}

/**
 * importFile: a PNG from another tool (or another SD3.5 Studio), stored BYTE FOR BYTE — its own chunks
 * (A1111 `parameters`, ComfyUI `prompt`/`workflow`, InvokeAI metadata, our `sd35studio`) stay readable
 * by that tool and by us, and its pixels are untouched. We add no chunk of our own: that would change
 * the bytes, and our chunk promises reproducible parameters a foreign file does not have. What the
 * parser understood goes into the generation row (prompt, seed… for search and reuse).
 */
export async function importImageFile(
  ctx: StoreContext,
  buf: Uint8Array,
  originalName: string | null,
  now: number,
  createdAtOverride?: number,
): Promise<number> {
  if (buf.byteLength > MAX_IMPORT_BYTES) {
    throw new StudioError('invalid_input', `${describe(originalName)} is larger than ${formatBytes(MAX_IMPORT_BYTES)}; it was not imported.`);
  }
  const parsed = parseImageFile(Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength));
  if (parsed.format !== 'png') {
    throw new StudioError(
      'invalid_input',
      `${describe(originalName)} is a ${String(parsed.format).toUpperCase()} file; the gallery imports PNG files only.`,
    );
  }
  const createdAt = createdAtOverride ?? now;
  const id = ctx.generations.reserveIds(1);
  if (ctx.checkImport) await ctx.checkImport(id, Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength));
  const params = parsed.parameters;
  const fields = generationFieldsFromParsed(params, parsed.width, parsed.height);
  await commitImageFile(ctx, id, createdAt, buf, (rel) => {
    ctx.generations.insertImportJob(standaloneGeneration(id, createdAt, fields), params ?? {});
    ctx.images.insert({
      id,
      path: rel,
      width: parsed.width,
      height: parsed.height,
      bytes: buf.byteLength,
      model: fields.model,
      createdAt,
      source: 'imported',
      originalName: originalName === null ? null : originalName.slice(0, 1024),
    });
  });
  return id;
}

const MAX_RECORDED_SIDE = 100_000;

/** Width and height as metadata recorded them, when both are sane whole pixel counts. */
function recordedSize(p: { width?: number; height?: number } | undefined): { width: number; height: number } | undefined {
  const ok = (v: number | undefined): v is number => v !== undefined && Number.isInteger(v) && v >= 1 && v <= MAX_RECORDED_SIDE;
  return p && ok(p.width) && ok(p.height) ? { width: p.width, height: p.height } : undefined;
}

/** Generation columns from what a parser read (ours: the lossless meta; others: what they recorded). */
export function generationFieldsFromParsed(
  params: ParsedParameters | undefined,
  width: number,
  height: number,
): Parameters<typeof standaloneGeneration>[2] {
  const studio = params?.source === 'sd35studio' ? params.studio : undefined;
  // The generation's size is the one the tool recorded (hires fix, upscaling and crops change the file's);
  // the file's own size only when it recorded none.
  const recorded = recordedSize(studio ?? params);
  if (recorded) ({ width, height } = recorded);
  if (studio) {
    return {
      seed: isSeedText(studio.seed) ? studio.seed : null,
      prompt: studio.prompt,
      negativePrompt: studio.negativePrompt,
      steps: studio.steps,
      guidance: studio.guidance,
      width,
      height,
      model: studio.model.id,
      meta: JSON.stringify(studio),
      ep: studio.ep,
    };
  }
  const steps = params?.steps;
  const guidance = params?.guidance;
  return {
    seed: params?.seed !== undefined && isSeedText(params.seed) ? params.seed : null,
    prompt: params?.prompt ?? '',
    negativePrompt: params?.negativePrompt ?? '',
    steps: steps !== undefined && Number.isInteger(steps) && steps > 0 ? steps : null,
    guidance: guidance !== undefined && Number.isFinite(guidance) ? guidance : null,
    width,
    height,
    model: params?.model ?? '',
    // An upscale we made of another tool's image keeps our record of it beside `imported` (as runUpscale saves it).
    meta: params ? JSON.stringify({ imported: withoutUpscale(params), ...(params.upscale ? { upscale: params.upscale } : {}) }) : null,
    ep: null,
  };
}

/** Another tool's parameters without our upscale record (which the gallery keeps beside them, as `upscale`). */
export function withoutUpscale(params: ParsedParameters): ParsedParameters {
  const { upscale: _upscale, ...rest } = params;
  return rest;
}

function validatePixels(p: Pixels): void {
  const ok =
    Number.isInteger(p.width) &&
    Number.isInteger(p.height) &&
    p.width > 0 &&
    p.height > 0 &&
    (p.channels === 3 || p.channels === 4) &&
    p.data.byteLength === p.width * p.height * p.channels;
  if (!ok) {
    throw new StudioError(
      'invalid_input',
      `The image buffer does not match its size: ${p.width}×${p.height}×${p.channels} needs ${p.width * p.height * p.channels} bytes, got ${p.data.byteLength}.`,
    );
  }
}

function describe(name: string | null): string {
  return name ? `"${path.basename(name)}"` : 'The file';
}
