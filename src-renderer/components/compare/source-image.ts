// How Compare's Source pane gets its picture (docs/architecture.md §7 Compare): the source's gallery image by id
// through the image protocol (studio://image/<id> or /media/image/<id>: never a path) while it is a live gallery
// image; else the kept input by sha256 (inputs.get: the bytes the job read); else it is gone, and the pane says so.
// The detail panel reads galleryState to say whether the image an upscale came from is still in the gallery.
import { StudioError } from '../../../src-shared/errors';
import { studio } from '../../studio';

export type GalleryState = 'live' | 'trashed' | 'gone';

/** Whether a gallery image is live, in the trash or no longer there (purged). */
export async function galleryState(id: number): Promise<GalleryState> {
  try {
    const d = await studio().call('gallery.get', { id });
    return d.deletedAt === null ? 'live' : 'trashed';
  } catch (err) {
    if (err instanceof StudioError && err.code === 'not_found') return 'gone';
    throw err;
  }
}

export type SourcePicture =
  /** `objectUrl`: a blob URL the caller revokes when it is replaced. */
  | { kind: 'picture'; url: string; from: 'gallery' | 'kept'; objectUrl: boolean }
  | { kind: 'gone'; message: string };

/** The kept input's bytes as a blob URL; undefined when the data folder no longer has them. */
async function keptPicture(sha256: string): Promise<SourcePicture | undefined> {
  try {
    const r = await studio().call('inputs.get', { sha256 });
    const bin = atob(r.dataBase64);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return { kind: 'picture', url: URL.createObjectURL(new Blob([bytes], { type: r.mimeType })), from: 'kept', objectUrl: true };
  } catch (err) {
    if (err instanceof StudioError && err.code === 'not_found') return undefined;
    throw err;
  }
}

/**
 * The source's picture: the live gallery image `imageId` (unless `skipGallery`: its file failed to load), else the
 * kept input `sha256`, else `gone` with the reason.
 */
export async function sourcePicture(source: { sha256: string; imageId?: number | undefined }, skipGallery = false): Promise<SourcePicture> {
  const id = source.imageId;
  const state = id === undefined || skipGallery ? undefined : await galleryState(id);
  if (id !== undefined && state === 'live') return { kind: 'picture', url: studio().mediaUrl('image', id), from: 'gallery', objectUrl: false };
  const kept = await keptPicture(source.sha256);
  if (kept) return kept;
  const why = id === undefined ? 'its kept copy is' : `image #${id} ${state === 'trashed' ? 'is in the trash' : 'was deleted'} and its kept copy is`;
  return { kind: 'gone', message: `The source is gone: ${why} no longer in the data folder.` };
}
