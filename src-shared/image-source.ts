// What an image was made from (docs/architecture.md §7 Compare): THE rule the Compare view's Source pane and the
// Gallery's detail panel read. An upscaled image's source is the image it enlarged (its immediate source, even when
// that one was itself made from an init image); an image-to-image or inpaint result's is its init image. The record
// fields come from the one reader in core/history/queries.ts (upscaledFrom, initSha256, initImageId, maskSha256).
import type { GalleryItem } from './schemas/gallery';
import { upscalerLabel } from './upscale';

export interface ImageSource {
  kind: 'upscale' | 'init';
  /** The kept input (inputs.get). */
  sha256: string;
  /** The source's gallery id, when it was an image of this gallery (an upscale's source or an init image). */
  imageId?: number;
  /** A short word for the pane's caption: "upscaled ×2 (Lanczos)", "inpainted", "image to image". */
  note: string;
}

type Subject = Pick<GalleryItem, 'initSha256' | 'initImageId' | 'maskSha256' | 'upscaledFrom'>;

/** "Upscaled ×4 (tiny-x2)": what was done, in the detail panel's and the pane's words. */
export function upscaleWords(u: NonNullable<GalleryItem['upscaledFrom']>): string {
  return `Upscaled ×${u.scale} (${upscalerLabel(u.upscaler)})`;
}

/** The source of one image, or undefined when it was made from text (or imported without a record). */
export function sourceOf(item: Subject): ImageSource | undefined {
  const u = item.upscaledFrom;
  if (u) return { kind: 'upscale', sha256: u.sha256, ...(u.imageId !== undefined ? { imageId: u.imageId } : {}), note: upscaleWords(u).replace(/^U/u, 'u') };
  if (item.initSha256) {
    const id = item.initImageId;
    return { kind: 'init', sha256: item.initSha256, ...(id !== undefined ? { imageId: id } : {}), note: item.maskSha256 ? 'inpainted' : 'image to image' };
  }
  return undefined;
}

/**
 * The one source every compared image shares (same kind and bytes), or undefined when they have none or differ.
 * Its gallery id only when they all name the same one (else the kept input by sha256).
 */
export function sharedSource(items: readonly Subject[]): ImageSource | undefined {
  if (items.length === 0) return undefined;
  const sources = items.map(sourceOf);
  const first = sources[0];
  if (!first || sources.some((s) => !s || s.kind !== first.kind || s.sha256 !== first.sha256)) return undefined;
  const ids = new Set(sources.map((s) => s!.imageId));
  const notes = new Set(sources.map((s) => s!.note));
  const { imageId: _id, ...rest } = first;
  return { ...rest, ...(ids.size === 1 && first.imageId !== undefined ? { imageId: first.imageId } : {}), note: notes.size === 1 ? first.note : first.kind === 'upscale' ? 'upscaled' : first.note };
}
