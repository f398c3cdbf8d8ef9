// Images and thumbnails, by id only: shared by the Electron protocol (studio://image/<id>) and the
// browser-mode server (/media/image/<id>). A path from the client is never opened: the id is
// parsed as a positive integer, the path comes from the store, and the file must lie inside its own
// folder after following symlinks: images inside images/ or trash/, thumbnails inside thumbs/ (so a
// symlink in images/ to ../studio.db is never served).
import fs from 'node:fs';
import { StudioError } from '../../src-shared/errors';
import type { MediaSource } from '../core/media';
import { assertInside, dataLayout } from '../core/paths';

export interface MediaFile {
  path: string;
  contentType: string;
  size: number;
}

const CONTENT_TYPES: Record<string, string> = { png: 'image/png', webp: 'image/webp', jpg: 'image/jpeg', jpeg: 'image/jpeg' };

/** Parses "<id>" strictly: decimal digits only, no sign, no dots, no encoded characters. */
export function parseMediaId(raw: string): number | undefined {
  if (!/^[1-9][0-9]{0,15}$/.test(raw)) return undefined;
  const id = Number(raw);
  return Number.isSafeInteger(id) ? id : undefined;
}

export async function resolveMedia(
  dataRoot: string,
  source: MediaSource,
  kind: string,
  rawId: string,
  rawSize: string | null,
): Promise<MediaFile> {
  if (kind !== 'image' && kind !== 'thumb') throw new StudioError('not_found', 'Unknown media kind');
  const id = parseMediaId(rawId);
  if (id === undefined) throw new StudioError('not_found', 'Image not found');
  const size = rawSize === '512' ? 512 : 256;
  const candidate = kind === 'image' ? source.imagePath(id) : await source.thumbPath(id, size);
  if (!candidate) throw new StudioError('not_found', 'Image not found');
  const layout = dataLayout(dataRoot);
  const real = insideAny(kind === 'image' ? [layout.images, layout.trash] : [layout.thumbs], candidate);
  const stat = await fs.promises.stat(real);
  if (!stat.isFile()) throw new StudioError('not_found', 'Image not found');
  const ext = real.slice(real.lastIndexOf('.') + 1).toLowerCase();
  return { path: real, contentType: CONTENT_TYPES[ext] ?? 'application/octet-stream', size: stat.size };
}

/** The real path of `candidate` when it lies inside one of `roots` (after symlinks); not_found otherwise. */
function insideAny(roots: readonly string[], candidate: string): string {
  for (const root of roots) {
    try {
      return assertInside(root, candidate);
    } catch {
      /* the next folder */
    }
  }
  throw new StudioError('not_found', 'Image not found');
}
