// The gallery.* methods of the contract, on top of the history room's HistoryService.
import fs from 'node:fs';
import path from 'node:path';
import type { StudioApi, SystemInfo } from '../../../src-shared/api';
import { formatBytes } from '../../../src-shared/bytes';
import { StudioError } from '../../../src-shared/errors';
import { MAX_IMPORT_BYTES } from '../../../src-shared/schemas/gallery';
import type { HistoryService } from '../history/service';

type GalleryApi = Pick<StudioApi, Extract<keyof StudioApi, `gallery.${string}`>>;

async function readImportFile(file: { path: string } | { name: string; dataBase64: string }, runtime: SystemInfo['runtime']): Promise<{ name: string; data: Uint8Array }> {
  if ('dataBase64' in file) {
    return { name: path.basename(file.name), data: Buffer.from(file.dataBase64, 'base64') };
  }
  if (runtime === 'browser') {
    throw new StudioError('invalid_input', 'In browser mode, import sends the file contents, not a path.');
  }
  if (!path.isAbsolute(file.path)) throw new StudioError('invalid_input', `Not an absolute path: ${file.path}`);
  let stat: fs.Stats;
  try {
    stat = await fs.promises.stat(file.path);
  } catch {
    throw new StudioError('not_found', 'File not found');
  }
  if (!stat.isFile()) throw new StudioError('invalid_input', 'Not a file');
  if (stat.size > MAX_IMPORT_BYTES) throw new StudioError('invalid_input', `File too large (${formatBytes(stat.size)}; the limit is ${formatBytes(MAX_IMPORT_BYTES)})`);
  return { name: path.basename(file.path), data: await fs.promises.readFile(file.path) };
}

export function galleryHandlers(
  history: HistoryService,
  ctx: { runtime: SystemInfo['runtime']; reveal: (file: string) => boolean; resolveLoras?: Parameters<HistoryService['reuse']>[1] },
): GalleryApi {
  return {
    'gallery.query': async (q) => history.query(q),
    'gallery.get': async ({ id }) => history.get(id),
    'gallery.setFavorite': async ({ id, favorite }) => history.setFavorite(id, favorite),
    'gallery.delete': async ({ ids }) => {
      const r = await history.delete(ids);
      return { undoToken: r.undoToken, deleted: r.ids.length };
    },
    'gallery.restore': async (target) => {
      const r = await history.restore('undoToken' in target ? target.undoToken : target.ids);
      return { restored: r.ids.length };
    },
    'gallery.emptyTrash': async ({ olderThanDays }) => {
      const r = await history.emptyTrash(olderThanDays === undefined ? {} : { olderThanDays });
      return { removed: r.ids.length };
    },
    'gallery.import': async ({ files }) => {
      const readable: { name: string; data: Uint8Array }[] = [];
      const rejected: { name: string; reason: string }[] = [];
      for (const f of files) {
        try {
          readable.push(await readImportFile(f, ctx.runtime));
        } catch (err) {
          rejected.push({ name: 'path' in f ? f.path : f.name, reason: StudioError.from(err).message });
        }
      }
      const r = readable.length ? await history.importFiles(readable) : { imported: [], rejected: [] };
      return { imported: r.imported, rejected: [...rejected, ...r.rejected] };
    },
    'gallery.reuse': async ({ id }) => history.reuse(id, ctx.resolveLoras),
    'gallery.export': async ({ id, metadata }) => {
      const data = await history.exportFile(id, { metadata });
      return { fileName: `sd35-studio-${id}${metadata ? '' : '-clean'}.png`, mimeType: 'image/png', dataBase64: Buffer.from(data).toString('base64') };
    },
    'gallery.reveal': async ({ id }) => {
      const file = history.imagePath(id);
      if (!file) throw new StudioError('not_found', `Image ${id} is not in the gallery.`);
      return { revealed: ctx.reveal(file) };
    },
  };
}
