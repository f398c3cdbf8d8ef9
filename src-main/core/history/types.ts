// The history store's public shapes. The contract (src-shared/api.ts) mirrors these as zod schemas.

export const GENERATION_STATUSES = ['queued', 'running', 'done', 'failed', 'cancelled', 'interrupted'] as const;
export type GenerationStatus = (typeof GENERATION_STATUSES)[number];

/**
 * The parameter snapshot of a job (what the Generate form submitted). Only these fields are read
 * by the store; everything else is kept verbatim in jobs.params.
 */
export interface GenerationSnapshot {
  prompt: string;
  negativePrompt: string;
  steps: number;
  guidance: number;
  width: number;
  height: number;
  /** Catalog id or model folder name. */
  model: string;
  [key: string]: unknown;
}

export interface CreatedJob {
  jobId: number;
  /** One per seed, in the order of `seeds`. */
  generationIds: number[];
}

/** One gallery item (a live image): what a grid cell, the CLI's `history list` and search need. */
export interface ImageRecord {
  id: number;
  /** ISO 8601, UTC. */
  createdAt: string;
  prompt: string;
  negativePrompt: string;
  /** Exact decimal; null for an imported image without a seed. */
  seed: string | null;
  steps: number | null;
  guidance: number | null;
  /** The generation's size as recorded (the file's size when another tool recorded none). */
  width: number;
  height: number;
  /** The file's pixel size (differs for upscaled, hires-fixed, cropped or stand-in imports). */
  pixelWidth: number;
  pixelHeight: number;
  /** Catalog id or folder name; '' when unknown (imports). */
  model: string;
  favorite: boolean;
  bytes: number;
  /** Relative to the data folder, forward slashes: images/2025/01/42.png. */
  path: string;
  source: 'generated' | 'imported';
}

export interface Timings {
  [stage: string]: number;
}

/** Everything about one image (the detail panel). */
export interface ImageDetail extends ImageRecord {
  jobId: number;
  status: GenerationStatus;
  ep: string | null;
  timings: Timings | null;
  startedAt: string | null;
  finishedAt: string | null;
  /** Lossless parameters (our sd35studio chunk) for generated images and imports of our own files. */
  meta: Record<string, unknown> | null;
  /** For images imported from other tools: the original file name and what the parser understood. */
  imported: { originalName: string | null; parameters: Record<string, unknown> | null } | null;
  /** ISO time when moved to the trash, or null. */
  deletedAt: string | null;
}

/** Parameters for the Generate form ("reuse parameters"). Absent values are left to the form's defaults. */
export interface ReuseParameters {
  prompt: string;
  negativePrompt: string;
  seed?: string;
  steps?: number;
  guidance?: number;
  width?: number;
  height?: number;
  model?: string;
  shift?: number;
  t5?: boolean;
}

export type SortOrder = 'newest' | 'oldest';

export interface GalleryQuery {
  /** Free text; tokenized and escaped (FTS operators are plain words), last word prefix-matched. */
  search?: string;
  /** Which prompt the search looks in; default 'prompt'. */
  searchIn?: 'prompt' | 'negative' | 'both';
  model?: string;
  favoritesOnly?: boolean;
  /** Inclusive lower bound (ISO string, ms number or Date). */
  from?: string | number | Date;
  /** Exclusive upper bound (ISO string, ms number or Date). */
  to?: string | number | Date;
  width?: number;
  height?: number;
  sort?: SortOrder;
  /** Opaque, from a previous page's nextCursor (same sort). */
  cursor?: string;
  /** 1–500, default 100. */
  limit?: number;
}

export interface GalleryPage {
  items: ImageRecord[];
  /** Null on the last page. */
  nextCursor: string | null;
  /** How many images match the filters (all pages). */
  total: number;
  /** Set when the search text had nothing searchable (e.g. only `*` or quotes) and was ignored. */
  note?: string;
}

/**
 * Payload of the `gallery.changed` event. added/updated/removed (to the trash)/restored/purged (gone
 * for good) list their ids; `reset` (after reconcile) means "reload": its ids are a hint, possibly
 * empty when very many changed.
 */
export interface GalleryChange {
  kind: 'added' | 'updated' | 'removed' | 'restored' | 'purged' | 'reset';
  ids: number[];
}
export type GalleryListener = (change: GalleryChange) => void;
