// Upscaling an image to an exact size (docs/architecture.md §5 "Upscale"): the built-in Lanczos (sharp's lanczos3,
// stretched to the size) or an imported super-resolution model (run tiled in the worker at its own ×2/×4, then brought
// to the exact size with Lanczos). Used by the hires fix and by `upscale`.
import sharp from 'sharp';
import { StudioError } from '../../../src-shared/errors';
import { BUILTIN_UPSCALER } from '../../../src-shared/generation';
import type { InferenceHost } from '../../inference/host';
import { dataLayout } from '../paths';
import { UpscalerLibrary, type UpscalerEntry } from '../upscalers/library';
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

/** The library entry of an imported upscaler, or StudioError not_found naming what exists. */
export function findUpscaler(dataRoot: string, name: string): UpscalerEntry {
  const library = new UpscalerLibrary(dataLayout(dataRoot).upscalers);
  const entry = library.find(name);
  if (!entry) {
    const names = [BUILTIN_UPSCALER, ...library.list().map((e) => e.name)];
    throw new StudioError('not_found', `Upscaler "${name}" is not in the library; use one of: ${names.join(', ')} (Import upscaler… in the Models view, or the CLI's upscalers import, adds one).`, { field: 'upscaler' });
  }
  return entry;
}

/** Refuses an upscaler name that is neither the built-in nor in the library (before a job is queued). */
export function checkUpscaler(dataRoot: string, name: string): void {
  if (name !== BUILTIN_UPSCALER) findUpscaler(dataRoot, name);
}

/** The image upscaled by an imported model at its own scale, tiled on the worker (progress per tile). */
export async function upscaleWithModel(image: RgbImage, entry: UpscalerEntry, deps: UpscaleDeps, onTile?: (done: number, total: number) => void): Promise<RgbImage> {
  const out = await deps
    .host()
    .upscale(
      { file: entry.file, rgb: image.rgb, width: image.width, height: image.height, scale: entry.scale },
      { ...(deps.signal ? { signal: deps.signal } : {}), ...(onTile ? { onStep: (s) => onTile(s.step, s.total) } : {}) },
    );
  return { rgb: out.rgb, width: out.width, height: out.height };
}

/** The image brought to exactly width × height by the named upscaler (a model's ×s result then Lanczos to the size). */
export async function upscaleTo(image: RgbImage, width: number, height: number, upscaler: string, deps: UpscaleDeps): Promise<Uint8Array> {
  if (upscaler === BUILTIN_UPSCALER) return lanczos(image, width, height);
  const up = await upscaleWithModel(image, findUpscaler(deps.dataRoot, upscaler), deps);
  return lanczos(up, width, height);
}
