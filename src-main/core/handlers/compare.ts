// The compare.* methods of the contract: saved comparisons (jobs/comparisons.ts) and the grid export
// (images/grid.ts), delivered through the desktop app's save dialog or as a one-time download (never base64).
import type { ResultOf, StudioApi } from '../../../src-shared/api';
import { StudioError } from '../../../src-shared/errors';
import { compareExportSchema } from '../../../src-shared/schemas/compare';
import type { FileSaver } from '../adapters';
import type { HistoryService } from '../history/service';
import type { ExportDownloads } from '../images/export-downloads';
import { renderGrid, type GridImage } from '../images/grid';
import type { ComparisonStore } from '../jobs/comparisons';

type CompareApi = Pick<StudioApi, Extract<keyof StudioApi, `compare.${string}`>>;

export function compareHandlers(
  store: ComparisonStore,
  history: HistoryService,
  ctx: { appVersion: string; downloads: ExportDownloads; saver?: FileSaver | undefined },
): CompareApi {
  // One export at a time per process: each can take seconds and a gigabyte (16 cells of 4096²).
  let exporting = false;
  return {
    'compare.create': async ({ name, imageIds, jobId }) =>
      store.create({ imageIds, ...(name === undefined ? {} : { name }), ...(jobId === undefined ? {} : { jobId }) }),
    'compare.get': async ({ id }) => store.get(id),
    'compare.list': async ({ limit }) => ({ items: store.list(limit) }),
    'compare.rename': async ({ id, name }) => store.rename(id, name),
    'compare.delete': async ({ id }) => ({ deleted: store.delete(id) }),
    'compare.jobImages': async ({ jobId }) => ({ jobId, imageIds: store.jobImages(jobId) }),
    'compare.export': async ({ id }) => {
      if (exporting) throw new StudioError('conflict', 'Another comparison is being exported. Wait for it to finish, then export again.');
      exporting = true;
      try {
        return await exportGrid(id);
      } finally {
        exporting = false;
      }
    },
  };

  async function exportGrid(id: number): Promise<ResultOf<'compare.export'>> {
    const comparison = store.get(id);
    const images: GridImage[] = comparison.items.map((item) => {
      const file = history.imagePath(item.id);
      if (!file) throw new StudioError('not_found', `Image ${item.id} is not in the gallery.`);
      return { ...item, file };
    });
    const grid = await renderGrid(images, { appVersion: ctx.appVersion });
    const fileName = `comparison-${id}.png`;
    if (ctx.saver) {
      const saved = await ctx.saver.save(fileName, grid.png);
      return saved ? { delivery: 'saved', fileName: saved.fileName, width: grid.width, height: grid.height } : { delivery: 'cancelled' };
    }
    const { url, expiresInMs } = ctx.downloads.register({ fileName, mimeType: 'image/png', data: grid.png });
    return compareExportSchema.parse({ delivery: 'download', url, fileName, mimeType: 'image/png', width: grid.width, height: grid.height, expiresInMs });
  }
}
