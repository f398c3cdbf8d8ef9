// Gallery reads: keyset pages over live images with filters and FTS search, and single rows.
//
// Order is images.sort_key (created_at·1000 + n, unique; see migrations/history.ts): newest = DESC,
// oldest = ASC. The cursor is the sort_key of the page's last item, so rows inserted or deleted
// meanwhile never shift later pages (no duplicates, no gaps). A date range is a sort_key range.
// Filters are written into the SQL literally where a partial index depends on them
// (`deleted_at IS NULL`, `favorite = 1`); a search drives the query from prompt_fts, whose rowid IS
// the sort_key, so matches come out of the index already in gallery order. The EXPLAIN QUERY PLAN
// tests in queries.test.ts pin the plan of every hot query.
import type { Statement } from 'better-sqlite3';
import { StudioError } from '../../../src-shared/errors';
import { initImageSchema } from '../../../src-shared/img2img';
import { studioSampling } from '../../../src-shared/metadata/studio-sampling';
import { upscaleSpecSchema } from '../../../src-shared/upscale';
import type { Db } from '../db';
import { buildFtsQuery, type FtsColumn } from './fts';
import type { GalleryPage, GalleryQuery, ImageRecord, SortOrder } from './types';

export const MAX_PAGE = 500;
export const DEFAULT_PAGE = 100;

/** Columns of a gallery item (images i JOIN generations g). */
export const ITEM_COLUMNS = `i.id, i.created_at, i.sort_key, g.width, g.height, i.width AS pixel_width, i.height AS pixel_height,
  i.bytes, i.model, i.favorite, i.path, i.source, g.prompt, g.negative_prompt, g.seed, g.steps, g.guidance,
  json_extract(g.meta, '$.sampler') AS sampler, json_extract(g.meta, '$.scheduler') AS scheduler,
  json_extract(g.meta, '$.shift') AS shift, json_extract(g.meta, '$.slg.scale') AS slg_scale,
  json_extract(g.meta, '$.loras') AS loras,
  json_extract(g.meta, '$.init.strength') AS strength, json_extract(g.meta, '$.init.sha256') AS init_sha256,
  json_extract(g.meta, '$.init.mask.sha256') AS mask_sha256, json_extract(g.meta, '$.upscale') AS upscale,
  json_extract(g.meta, '$.init.imageId') AS init_image_id`;

export interface ItemRow {
  id: number;
  created_at: number;
  sort_key: number;
  width: number;
  height: number;
  pixel_width: number;
  pixel_height: number;
  bytes: number;
  model: string;
  favorite: number;
  path: string;
  source: 'generated' | 'imported';
  prompt: string;
  negative_prompt: string;
  seed: string | null;
  steps: number | null;
  guidance: number | null;
  /** From our own images' lossless metadata (null for imported ones). */
  sampler?: string | null;
  scheduler?: string | null;
  shift?: number | null;
  slg_scale?: number | null;
  /** Image to image: the strength and the kept source (and mask) of our own images. */
  strength?: number | null;
  init_sha256?: string | null;
  mask_sha256?: string | null;
  /** The init image's gallery id as the record names it (`$.init.imageId`). */
  init_image_id?: unknown;
  /** An upscaled image: the JSON text of its metadata's `upscale` (source, upscaler, factor, sizes). */
  upscale?: string | null;
  /** Our images' LoRAs (JSON text of the metadata's `loras`), for Compare's labels. */
  loras?: string | null;
}

/** Name and strength of each LoRA of one of our images (absent when it used none). */
function lorasOfRow(r: ItemRow): Pick<ImageRecord, 'loras'> {
  if (typeof r.loras !== 'string') return {};
  try {
    const list = JSON.parse(r.loras) as unknown;
    if (!Array.isArray(list)) return {};
    const loras = list
      .filter((l): l is { name: string; strength: number } => typeof l === 'object' && l !== null && typeof (l as { name?: unknown }).name === 'string' && typeof (l as { strength?: unknown }).strength === 'number')
      .slice(0, 8)
      .map((l) => ({ name: l.name.slice(0, 256), strength: l.strength }));
    return loras.length > 0 ? { loras } : {};
  } catch {
    return {};
  }
}

/** Sampler, schedule, shift and SLG scale of one of our images (Compare labels and axes read them). */
function samplingOfRow(r: ItemRow): Pick<ImageRecord, 'sampler' | 'scheduler' | 'shift' | 'slgScale'> {
  if (typeof r.scheduler !== 'string') return {};
  const ids = studioSampling({ scheduler: r.scheduler, ...(typeof r.sampler === 'string' ? { sampler: r.sampler } : {}) });
  return {
    sampler: ids.sampler,
    scheduler: ids.scheduler,
    ...(typeof r.shift === 'number' ? { shift: r.shift } : {}),
    ...(typeof r.slg_scale === 'number' ? { slgScale: r.slg_scale } : {}),
  };
}

/**
 * The source (and mask) an image was made from, by sha256 (Compare shows the source beside the results), and the
 * source's gallery id (`$.init.imageId`, checked with the init schema's own rule) for an image made here only: an
 * imported file's id names an image of the gallery that wrote it (the same rule as upscaleOfRow).
 */
function initOfRow(r: ItemRow): Pick<ImageRecord, 'strength' | 'initSha256' | 'initImageId' | 'maskSha256'> {
  const sha = (v: unknown) => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v);
  if (!sha(r.init_sha256)) return {};
  const imageId = r.source === 'generated' ? initImageSchema.shape.imageId.safeParse(r.init_image_id ?? undefined).data : undefined;
  return {
    initSha256: r.init_sha256!,
    ...(imageId !== undefined ? { initImageId: imageId } : {}),
    ...(typeof r.strength === 'number' ? { strength: r.strength } : {}),
    ...(sha(r.mask_sha256) ? { maskSha256: r.mask_sha256! } : {}),
  };
}

/**
 * Where an upscaled image came from (THE reader of `$.upscale`: ours carry it in the lossless metadata, an upscale
 * of another tool's image beside `imported`). The gallery id only for an image made here: an imported file's id
 * names an image of the gallery that wrote it, so only its sha256 (the kept input, if this data folder has it).
 */
function upscaleOfRow(r: ItemRow): Pick<ImageRecord, 'upscaledFrom'> {
  if (typeof r.upscale !== 'string') return {};
  let raw: unknown;
  try {
    raw = JSON.parse(r.upscale);
  } catch {
    return {};
  }
  const spec = upscaleSpecSchema.safeParse(raw);
  if (!spec.success) return {};
  const { source, upscaler, scale } = spec.data;
  const imageId = r.source === 'generated' ? source.imageId : undefined;
  return { upscaledFrom: { sha256: source.sha256, ...(imageId !== undefined ? { imageId } : {}), upscaler, scale } };
}

export function toImageRecord(r: ItemRow): ImageRecord {
  return {
    ...upscaleOfRow(r),
    ...samplingOfRow(r),
    ...lorasOfRow(r),
    ...initOfRow(r),
    id: r.id,
    createdAt: new Date(r.created_at).toISOString(),
    prompt: r.prompt,
    negativePrompt: r.negative_prompt,
    seed: r.seed,
    steps: r.steps,
    guidance: r.guidance,
    width: r.width,
    height: r.height,
    pixelWidth: r.pixel_width,
    pixelHeight: r.pixel_height,
    model: r.model,
    favorite: r.favorite === 1,
    bytes: r.bytes,
    path: r.path,
    source: r.source,
  };
}

export function encodeCursor(sort: SortOrder, sortKey: number): string {
  return Buffer.from(`${sort === 'newest' ? 'n' : 'o'}.${sortKey}`, 'utf8').toString('base64url');
}

export function decodeCursor(s: string, sort: SortOrder): number {
  const bad = (): StudioError =>
    new StudioError('invalid_input', 'The gallery cursor is not valid; start again from the first page (no cursor).');
  if (s.length > 100 || !/^[A-Za-z0-9_-]+$/.test(s)) throw bad();
  const m = /^([no])\.(\d{1,16})$/.exec(Buffer.from(s, 'base64url').toString('utf8'));
  if (!m) throw bad();
  const cursorSort: SortOrder = m[1] === 'n' ? 'newest' : 'oldest';
  if (cursorSort !== sort) {
    throw new StudioError(
      'invalid_input',
      `This cursor belongs to the "${cursorSort}" order, not "${sort}"; start again from the first page.`,
    );
  }
  const key = Number(m[2]);
  if (!Number.isSafeInteger(key)) throw bad();
  return key;
}

/** Any accepted date form → ms since the epoch (UTC). */
export function toMillis(value: string | number | Date, name: string): number {
  const ms = value instanceof Date ? value.getTime() : typeof value === 'number' ? value : Date.parse(value);
  if (!Number.isFinite(ms)) {
    throw new StudioError('invalid_input', `"${name}" is not a date: use an ISO date such as 2025-01-31 or 2025-01-31T12:00:00Z.`);
  }
  return ms;
}

/** The sort_key bound for a time (clamped to the range sort keys can take). */
function keyAt(ms: number): number {
  const clamped = Math.min(Math.max(Math.floor(ms), 0), Math.floor(Number.MAX_SAFE_INTEGER / 1000));
  return clamped * 1000;
}

function searchColumns(q: GalleryQuery): FtsColumn[] {
  if (q.searchIn === 'negative') return ['negative_prompt'];
  if (q.searchIn === 'both') return ['prompt', 'negative_prompt'];
  return ['prompt'];
}

interface Filters {
  /** SQL terms over images i (and f, the FTS table, when `match` is set). */
  where: string[];
  params: Record<string, string | number>;
  match?: string;
  note?: string;
  /** The column that carries the order: f.rowid when searching, else i.sort_key (the same value). */
  key: 'f.rowid' | 'i.sort_key';
  /** Only filters gallery_counts can answer (none, favorites only, or model only). */
  countKey?: string;
}

/** The WHERE terms shared by a page and its total (everything but the cursor). */
export function buildFilters(q: GalleryQuery): Filters {
  const params: Record<string, string | number> = {};
  let note: string | undefined;
  let match: string | undefined;
  const text = q.search?.trim() ?? '';
  if (text !== '') {
    const fts = buildFtsQuery(text, searchColumns(q));
    if (fts) match = fts.match;
    else note = `The search "${text.slice(0, 80)}" has no letters or digits to look for, so it was ignored.`;
  }
  const key = match === undefined ? 'i.sort_key' : 'f.rowid';
  const where: string[] = [];
  if (match !== undefined) {
    where.push('prompt_fts MATCH @match');
    params.match = match;
  }
  where.push('i.deleted_at IS NULL');
  const countKeys: string[] = [];
  let countable = true; // only filters gallery_counts tracks
  if (q.favoritesOnly) {
    where.push('i.favorite = 1');
    countKeys.push('favorite');
  }
  if (q.model !== undefined && q.model !== '') {
    where.push('i.model = @model');
    params.model = q.model;
    countKeys.push(`model:${q.model}`);
  }
  if (q.from !== undefined) {
    where.push(`${key} >= @fromKey`);
    params.fromKey = keyAt(toMillis(q.from, 'from'));
    countable = false;
  }
  if (q.to !== undefined) {
    where.push(`${key} < @toKey`);
    params.toKey = keyAt(toMillis(q.to, 'to'));
    countable = false;
  }
  for (const dim of ['width', 'height'] as const) {
    const v = q[dim];
    if (v === undefined) continue;
    if (!Number.isInteger(v) || v < 1) throw new StudioError('invalid_input', `"${dim}" must be a whole number of pixels.`);
    where.push(`i.${dim} = @${dim}`);
    params[dim] = v;
    countable = false;
  }
  const out: Filters = { where, params, key };
  if (match !== undefined) out.match = match;
  if (note !== undefined) out.note = note;
  if (match === undefined && countable && countKeys.length <= 1) out.countKey = countKeys[0] ?? 'live';
  return out;
}

function fromClause(f: Filters, withGenerations: boolean): string {
  // CROSS JOIN pins the FTS table as the outer loop: left to itself the planner may walk another
  // index (say model = ?) and run the full-text query once per row — seconds instead of milliseconds.
  const images =
    f.match === undefined ? 'images i' : 'prompt_fts f CROSS JOIN images i ON i.sort_key = f.rowid';
  return withGenerations ? `${images} JOIN generations g ON g.id = i.id` : images;
}

export interface PageSql {
  sql: string;
  params: Record<string, string | number>;
  note?: string;
  sort: SortOrder;
  limit: number;
}

export class Queries {
  private readonly cache = new Map<string, Statement<unknown[]>>();
  private readonly itemStmt: Statement<[number]>;
  private readonly countStmt: Statement<[string]>;
  private readonly changesStmt: Statement<[]>;
  /** Totals that needed a count query, valid while the database is unchanged (see stamp()). */
  private readonly totals = new Map<string, number>();
  private totalsStamp = '';

  constructor(private readonly db: Db) {
    this.itemStmt = db.prepare(`SELECT ${ITEM_COLUMNS} FROM images i JOIN generations g ON g.id = i.id WHERE i.id = ?`);
    this.countStmt = db.prepare(`SELECT n FROM gallery_counts WHERE key = ?`);
    this.changesStmt = db.prepare(`SELECT total_changes() AS t`);
  }

  /** Forgets cached totals (benchmarks measure a search's first page without them). */
  clearCache(): void {
    this.totals.clear();
  }

  /**
   * Changes whenever anything was committed: data_version moves on commits by other connections
   * (a CLI process), total_changes() on this connection's own writes.
   */
  private stamp(): string {
    const other = this.db.pragma('data_version', { simple: true }) as number;
    return `${other}:${(this.changesStmt.get() as { t: number }).t}`;
  }

  /** The SQL of a page (exported for the EXPLAIN QUERY PLAN tests). */
  pageSql(q: GalleryQuery): PageSql {
    const sort: SortOrder = q.sort ?? 'newest';
    if (sort !== 'newest' && sort !== 'oldest') throw new StudioError('invalid_input', 'sort must be "newest" or "oldest".');
    const limit = q.limit ?? DEFAULT_PAGE;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) {
      throw new StudioError('invalid_input', `limit must be a whole number from 1 to ${MAX_PAGE} (got ${String(limit)}).`);
    }
    const f = buildFilters(q);
    const where = [...f.where];
    const params = { ...f.params };
    const dir = sort === 'newest' ? 'DESC' : 'ASC';
    if (q.cursor !== undefined && q.cursor !== '') {
      params.cursor = decodeCursor(q.cursor, sort);
      where.push(sort === 'newest' ? `${f.key} < @cursor` : `${f.key} > @cursor`);
    }
    params.limit = limit + 1;
    const sql =
      `SELECT ${ITEM_COLUMNS} FROM ${fromClause(f, true)} WHERE ${where.join(' AND ')} ` +
      `ORDER BY ${f.key} ${dir} LIMIT @limit`;
    return f.note === undefined ? { sql, params, sort, limit } : { sql, params, note: f.note, sort, limit };
  }

  /** The SQL that counts all matches of a query, or undefined when gallery_counts answers it. */
  countSql(q: GalleryQuery): { sql: string; params: Record<string, string | number> } | { countKey: string } {
    const f = buildFilters(q);
    if (f.countKey !== undefined) return { countKey: f.countKey };
    if (f.match !== undefined && f.where.length === 2) {
      // Search alone: prompt_fts indexes exactly the live images.
      return { sql: `SELECT count(*) AS n FROM prompt_fts WHERE prompt_fts MATCH @match`, params: f.params };
    }
    return { sql: `SELECT count(*) AS n FROM ${fromClause(f, false)} WHERE ${f.where.join(' AND ')}`, params: f.params };
  }

  page(q: GalleryQuery): GalleryPage {
    const { sql, params, note, sort, limit } = this.pageSql(q);
    const rows = this.stmt(sql).all(params) as ItemRow[];
    const more = rows.length > limit;
    const pageRows = more ? rows.slice(0, limit) : rows;
    const last = pageRows[pageRows.length - 1];
    const nextCursor = more && last ? encodeCursor(sort, last.sort_key) : null;
    const page: GalleryPage = { items: pageRows.map(toImageRecord), nextCursor, total: this.count(q) };
    if (note !== undefined) page.note = note;
    return page;
  }

  /** How many images match (all pages). A search's total is cached while nothing changes, so the
   * pages after the first cost only their rows. */
  count(q: GalleryQuery): number {
    const c = this.countSql(q);
    if ('countKey' in c) return (this.countStmt.get(c.countKey) as { n: number } | undefined)?.n ?? 0;
    const stamp = this.stamp();
    if (stamp !== this.totalsStamp) {
      this.totals.clear();
      this.totalsStamp = stamp;
    }
    const key = `${c.sql}\u0000${JSON.stringify(c.params)}`;
    const cached = this.totals.get(key);
    if (cached !== undefined) return cached;
    const n = (this.stmt(c.sql).get(c.params) as { n: number }).n;
    if (this.totals.size >= 100) this.totals.clear();
    this.totals.set(key, n);
    return n;
  }

  /** A live or trashed image as a gallery item. */
  item(id: number): ImageRecord | undefined {
    const row = this.itemStmt.get(id) as ItemRow | undefined;
    return row ? toImageRecord(row) : undefined;
  }

  private stmt(sql: string): Statement<unknown[]> {
    let s = this.cache.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      if (this.cache.size > 200) this.cache.clear();
      this.cache.set(sql, s);
    }
    return s;
  }
}
