// The compare.* methods of the contract: saved comparisons (jobs/comparisons.ts) and the grid export
// (images/grid.ts).
import type { ResultOf, StudioApi } from '../../../src-shared/api';
import { StudioError } from '../../../src-shared/errors';
import type { HistoryService } from '../history/service';
import { renderGrid, type GridImage } from '../images/grid';
import type { ComparisonStore } from '../jobs/comparisons';

type CompareApi = Pick<StudioApi, Extract<keyof StudioApi, `compare.${string}`>>;

export function compareHandlers(store: ComparisonStore, history: HistoryService, ctx: { appVersion: string }): CompareApi {
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
    return {
      fileName: `comparison-${id}.png`,
      mimeType: 'image/png' as const,
      width: grid.width,
      height: grid.height,
      dataBase64: grid.png.toString('base64'),
    };
  }
}
