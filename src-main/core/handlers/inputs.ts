// The inputs.* methods of the contract (docs/architecture.md §2, §3): sources and masks of image-to-image jobs,
// from the renderer's bytes or a gallery image's id (never a path), checked with the import's bounds and kept
// content-addressed in <data>/inputs/ (core/images/inputs.ts). jobs.submit checks what its `init` names with
// checkInitReference before a job (or a gallery row) can exist.
import fs from 'node:fs';
import type { StudioApi } from '../../../src-shared/api';
import { StudioError } from '../../../src-shared/errors';
import type { InitImage } from '../../../src-shared/img2img';
import type { InputKind } from '../../../src-shared/schemas/inputs';
import type { HistoryService } from '../history/service';
import { checkInputImage, checkMaskFits, readInput, storeInput, type StoredInput } from '../images/inputs';

type InputsApi = Pick<StudioApi, Extract<keyof StudioApi, `inputs.${string}`>>;

const WHAT: Readonly<Record<InputKind, string>> = { image: 'The init image', mask: 'The mask' };
const MIME = { png: 'image/png', jpeg: 'image/jpeg', webp: 'image/webp' } as const;

export function inputsHandlers(dataRoot: string, history: Pick<HistoryService, 'imagePath'>): InputsApi {
  return {
    'inputs.put': async (p) => {
      if ('imageId' in p) {
        const file = history.imagePath(p.imageId);
        if (!file) throw new StudioError('not_found', `Image ${p.imageId} is not in the gallery.`, { field: 'init' });
        const stored = await storeInput(dataRoot, await fs.promises.readFile(file), 'The gallery image');
        return { ...stored, imageId: p.imageId };
      }
      return storeInput(dataRoot, Buffer.from(p.dataBase64, 'base64'), WHAT[p.kind]);
    },
    'inputs.get': async ({ sha256 }) => {
      const buf = await readInput(dataRoot, sha256, 'The input image');
      const info = checkInputImage(buf, 'The input image');
      return { sha256, ...info, mimeType: MIME[info.format], dataBase64: buf.toString('base64') };
    },
  };
}

/**
 * What a submitted job's `init` names must be there and fit: the source (and the mask) kept in the data folder,
 * valid images, the mask the source's size, the gallery image (when named) in the gallery. Throws the StudioError
 * the form shows; nothing is queued, so no gallery row can come of it.
 */
export async function checkInitReference(dataRoot: string, history: Pick<HistoryService, 'imagePath'>, init: InitImage): Promise<void> {
  const source = await keptInput(dataRoot, init.sha256, 'image');
  if (init.mask) checkMaskFits(await keptInput(dataRoot, init.mask.sha256, 'mask'), source);
  if (init.imageId !== undefined && !history.imagePath(init.imageId)) {
    throw new StudioError('invalid_input', `The init image names gallery image ${init.imageId}, which is not in the gallery.`, { field: 'init' });
  }
}

async function keptInput(dataRoot: string, sha256: string, kind: InputKind): Promise<StoredInput> {
  const buf = await readInput(dataRoot, sha256, WHAT[kind]).catch((err: unknown) => {
    const e = StudioError.from(err);
    // Named by the renderer but never stored: the form must put it first (inputs.put).
    if (e.code === 'not_found') throw new StudioError('invalid_input', `${WHAT[kind]} (${sha256.slice(0, 12)}…) is not in the data folder: add it again.`, { field: kind === 'mask' ? 'mask' : 'init' });
    throw e;
  });
  return { sha256, ...checkInputImage(buf, WHAT[kind]) };
}
