// The history store's own shapes (jobs and generations); the gallery's come from the contract
// (src-shared/schemas/gallery.ts, z.infer'd there): one source for each shape.
import type {
  GalleryChange as ContractGalleryChange,
  GalleryDetail,
  GalleryItem,
  GalleryQuery as ContractGalleryQuery,
  GalleryPage as ContractGalleryPage,
  ReuseParameters as ContractReuseParameters,
} from '../../../src-shared/schemas/gallery';

export type GenerationStatus = GalleryDetail['status'];

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
export type ImageRecord = GalleryItem;

export type Timings = Record<string, number>;

/** Everything about one image (the detail panel). */
export type ImageDetail = GalleryDetail;

/** Parameters for the Generate form ("reuse parameters"). Absent values are left to the form's defaults. */
export type ReuseParameters = ContractReuseParameters;

export type SortOrder = NonNullable<ContractGalleryQuery['sort']>;

/** The contract's query; inside the process `from`/`to` may also be a Date. */
export type GalleryQuery = Omit<ContractGalleryQuery, 'from' | 'to'> & {
  /** Inclusive lower bound (ISO string, ms number or Date). */
  from?: string | number | Date;
  /** Exclusive upper bound (ISO string, ms number or Date). */
  to?: string | number | Date;
};

export type GalleryPage = ContractGalleryPage;

/**
 * Payload of the `gallery.changed` event. added/updated/removed (to the trash)/restored/purged (gone
 * for good) list their ids; `reset` (after reconcile) means "reload": its ids are a hint, possibly
 * empty when very many changed.
 */
export type GalleryChange = ContractGalleryChange;
export type GalleryListener = (change: GalleryChange) => void;
