// Sources of image-to-image jobs (docs/architecture.md §3, §6): an image file (from the gallery, a drop, a paste or the
// CLI) and an optional mask are checked with the import's bounds (PNG/JPEG/WebP only, sizes, bombs), kept byte for
// byte content-addressed as `inputs/<sha256>` in the data folder (so Retry and Reuse find them again), and fitted to
// the generation size with sharp when the job runs: resize (stretch), crop (cover, centred) or fill (fit inside,
// the rest filled by stretching the edges), as A1111 offers them. Untrusted bytes: nothing here trusts a name or path.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import sharp, { type Sharp } from 'sharp';
import { StudioError } from '../../../src-shared/errors';
import { sizeForImage } from '../../../src-shared/generation';
import { checkInitCombination, IMG2IMG_LIMITS, MASK_PADDING_LIMITS, type FitMode, type InitImage } from '../../../src-shared/img2img';
import { overlayMask } from '../../inference/masking';
import { cropPixels, cropRegion, expandCropRegion, outpaintCanvas, pasteCrop, type CropRegion, type RgbImage } from './inpaint-area';
import { formatBytes } from '../../../src-shared/bytes';
import { parseImageFile } from './import-parse';

const MAX_DECODE_PIXELS = 16384 * 16384;

export interface StoredInput {
  sha256: string;
  width: number;
  height: number;
  format: 'png' | 'jpeg' | 'webp';
}

export function inputsDir(dataRoot: string): string {
  return path.join(dataRoot, 'inputs');
}

function inputFile(dataRoot: string, sha256: string): string {
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw new StudioError('invalid_input', 'An input image is named by its sha256 (64 hex digits).');
  return path.join(inputsDir(dataRoot), sha256);
}

/** Checks an image file as the import does (format, size, bombs) and decodes its header: never trusts the bytes. */
export function checkInputImage(buf: Uint8Array, what: string): { width: number; height: number; format: StoredInput['format'] } {
  if (buf.byteLength > IMG2IMG_LIMITS.maxInputBytes) {
    throw new StudioError('invalid_input', `${what} is ${formatBytes(buf.byteLength)}; at most ${formatBytes(IMG2IMG_LIMITS.maxInputBytes)} are accepted.`, {
      field: what.toLowerCase().includes('mask') ? 'mask' : 'init',
    });
  }
  try {
    const parsed = parseImageFile(buf);
    return { width: parsed.width, height: parsed.height, format: parsed.format };
  } catch (err) {
    const e = StudioError.from(err);
    throw new StudioError('invalid_input', `${what} cannot be used: ${e.message}`, { ...e.details, field: what.toLowerCase().includes('mask') ? 'mask' : 'init' });
  }
}

/** Keeps an input file (after checking it) as inputs/<sha256>; the same bytes are stored once. */
export async function storeInput(dataRoot: string, buf: Uint8Array, what = 'The init image'): Promise<StoredInput> {
  const info = checkInputImage(buf, what);
  // A header that lies about the size is caught by decoding it once here (sharp bounds the pixels it decodes).
  await sharp(buf, { limitInputPixels: MAX_DECODE_PIXELS })
    .stats()
    .catch((err: unknown) => {
      throw new StudioError('invalid_input', `${what} cannot be decoded: ${(err as Error).message}`, { field: 'init' });
    });
  const sha256 = createHash('sha256').update(buf).digest('hex');
  const file = inputFile(dataRoot, sha256);
  if (!fs.existsSync(file)) {
    await fs.promises.mkdir(inputsDir(dataRoot), { recursive: true, mode: 0o700 });
    const tmp = `${file}.${process.pid}.tmp`;
    await fs.promises.writeFile(tmp, buf, { mode: 0o600 });
    await fs.promises.rename(tmp, file);
  }
  return { sha256, ...info };
}

/** The bytes of a kept input, checked against its name (a damaged file is not used). */
export async function readInput(dataRoot: string, sha256: string, what = 'The init image'): Promise<Buffer> {
  const file = inputFile(dataRoot, sha256);
  let buf: Buffer;
  try {
    buf = await fs.promises.readFile(file);
  } catch {
    throw new StudioError('not_found', `${what} of this job (${sha256.slice(0, 12)}…) is no longer in the data folder.`, { field: 'init' });
  }
  if (createHash('sha256').update(buf).digest('hex') !== sha256) {
    throw new StudioError('invalid_input', `${what} of this job (${sha256.slice(0, 12)}…) is damaged in the data folder.`, { field: 'init' });
  }
  return buf;
}

/** The one size rule, shared with the Generate form (src-shared/generation.ts). */
export { sizeForImage };

/** Where the fitted image lies on the canvas (fill) or which part of the source is used (crop). */
function fitPipeline(img: Sharp, srcW: number, srcH: number, width: number, height: number, fit: FitMode, kernel: 'lanczos3' | 'nearest'): Sharp {
  if (fit === 'resize') return img.resize(width, height, { fit: 'fill', kernel });
  if (fit === 'crop') return img.resize(width, height, { fit: 'cover', position: 'centre', kernel });
  // fill: fit inside, then stretch the edges into the rest (A1111's "Resize and fill").
  const scale = Math.min(width / srcW, height / srcH);
  const w = Math.max(1, Math.min(width, Math.round(srcW * scale)));
  const h = Math.max(1, Math.min(height, Math.round(srcH * scale)));
  const left = Math.floor((width - w) / 2);
  const top = Math.floor((height - h) / 2);
  return img
    .resize(w, h, { fit: 'fill', kernel })
    .extend({ left, right: width - w - left, top, bottom: height - h - top, extendWith: 'copy' });
}

export interface FittedSource {
  rgb: Uint8Array;
  mask?: Uint8Array;
  maskBlur?: number;
  sourceWidth: number;
  sourceHeight: number;
  /** "Only masked": where the worked crop goes back into the full source (finishOnlyMasked). */
  paste?: { source: RgbImage; region: CropRegion; overlay: Uint8Array };
}

/** An input decoded to raw bytes at its own size: RGB (alpha flattened on black) or the luminance of a mask. */
async function decodeRaw(buf: Uint8Array, channels: 1 | 3): Promise<{ data: Uint8Array; width: number; height: number }> {
  let img = sharp(buf, { limitInputPixels: MAX_DECODE_PIXELS }).flatten({ background: '#000000' });
  img = channels === 3 ? img.removeAlpha().toColourspace('srgb') : img.greyscale().extractChannel(0);
  const out = await img.raw().toBuffer({ resolveWithObject: true });
  if (out.info.channels !== channels) throw new StudioError('internal', `Decoding an input gave ${out.info.channels} channels.`);
  return { data: new Uint8Array(out.data.buffer, out.data.byteOffset, out.data.length), width: out.info.width, height: out.info.height };
}

/** Raw pixels resized to width × height (stretched; the same size is returned as is, untouched). */
async function resizeRaw(data: Uint8Array, w: number, h: number, channels: 1 | 3, width: number, height: number, kernel: 'lanczos3' | 'nearest'): Promise<Uint8Array> {
  if (w === width && h === height) return data;
  let img = sharp(data, { raw: { width: w, height: h, channels } }).resize(width, height, { fit: 'fill', kernel });
  if (channels === 1) img = img.extractChannel(0);
  const out = await img.raw().toBuffer();
  if (out.length !== width * height * channels) throw new StudioError('internal', `Resizing gave ${out.length} bytes.`);
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

/**
 * Outpaint (docs/architecture.md §5): the canvas grown per side (inpaint-area.ts outpaintCanvas), then fitted to the
 * generation size like any source (a canvas already that size is used as is, so the source area stays exact); the
 * mask is the new area, pasted back without blur so the source's own pixels are kept byte for byte.
 */
async function outpaintSource(buf: Uint8Array, init: InitImage, width: number, height: number, seed: string): Promise<FittedSource> {
  const src = await decodeRaw(buf, 3);
  const canvas = outpaintCanvas({ rgb: src.data, width: src.width, height: src.height }, init.outpaint!, seed);
  if (canvas.width * canvas.height > MAX_DECODE_PIXELS) throw new StudioError('invalid_input', 'The outpainted canvas is too large.', { field: 'outpaint' });
  const same = canvas.width === width && canvas.height === height;
  const fit = async (data: Uint8Array, channels: 1 | 3, kernel: 'lanczos3' | 'nearest'): Promise<Uint8Array> => {
    if (same) return data;
    const raw = sharp(data, { raw: { width: canvas.width, height: canvas.height, channels } });
    let fitted = fitPipeline(raw, canvas.width, canvas.height, width, height, init.fit, kernel);
    if (channels === 1) fitted = fitted.extractChannel(0);
    const out = await fitted.raw().toBuffer();
    return new Uint8Array(out.buffer, out.byteOffset, out.length);
  };
  const rgb = await fit(canvas.rgb, 3, 'lanczos3');
  const mask = await fit(canvas.mask, 1, 'nearest');
  if (rgb.length !== width * height * 3 || mask.length !== width * height) throw new StudioError('internal', 'Fitting the outpaint canvas gave the wrong size.');
  return { rgb, mask, maskBlur: 0, sourceWidth: src.width, sourceHeight: src.height };
}

/**
 * "Only masked" (A1111's inpaint_full_res, modules/processing.py StableDiffusionProcessingImg2Img.init): the mask
 * blurred at full size (the overlay), the crop region from it plus `padding`, widened to the generation's aspect
 * ratio; source and mask cropped and stretched to the generation size. The worker pastes back through the binary
 * crop mask (blur 0); finishOnlyMasked stretches the result back and composites it into the full source.
 */
async function onlyMaskedSource(buf: Uint8Array, mbuf: Uint8Array, init: InitImage, width: number, height: number): Promise<FittedSource> {
  const src = await decodeRaw(buf, 3);
  const luma = await decodeRaw(mbuf, 1);
  const overlay = overlayMask(luma.data, src.width, src.height, init.mask?.blur ?? 0);
  const padding = init.padding ?? MASK_PADDING_LIMITS.default;
  const region = expandCropRegion(cropRegion(overlay, src.width, src.height, padding), width, height, src.width, src.height);
  const cw = region.x2 - region.x1;
  const ch = region.y2 - region.y1;
  const rgb = await resizeRaw(cropPixels(src.data, src.width, 3, region), cw, ch, 3, width, height, 'lanczos3');
  const mask = await resizeRaw(cropPixels(luma.data, src.width, 1, region), cw, ch, 1, width, height, 'nearest');
  return {
    rgb,
    mask,
    maskBlur: 0,
    sourceWidth: src.width,
    sourceHeight: src.height,
    paste: { source: { rgb: src.data, width: src.width, height: src.height }, region, overlay },
  };
}

/** "Only masked": the worked crop (width × height) stretched back to its region and composited into the full source. */
export async function finishOnlyMasked(result: Uint8Array, width: number, height: number, paste: NonNullable<FittedSource['paste']>): Promise<RgbImage> {
  const { region, source, overlay } = paste;
  const crop = await resizeRaw(result, width, height, 3, region.x2 - region.x1, region.y2 - region.y1, 'lanczos3');
  return { rgb: pasteCrop(source, crop, region, overlay), width: source.width, height: source.height };
}

/**
 * A job's source (and mask) read from the data folder and fitted to width × height: RGB bytes and the mask's
 * luminance (transparent mask pixels count as black = keep). A mask whose size differs from the source is refused.
 */
export async function fittedSource(dataRoot: string, init: InitImage, width: number, height: number, seed = '0'): Promise<FittedSource> {
  checkInitCombination(init);
  const buf = await readInput(dataRoot, init.sha256);
  const info = checkInputImage(buf, 'The init image');
  if (init.outpaint) return outpaintSource(buf, init, width, height, seed);
  if (init.area === 'masked' && init.mask) {
    const mbuf = await readInput(dataRoot, init.mask.sha256, 'The mask');
    const minfo = checkInputImage(mbuf, 'The mask');
    if (minfo.width !== info.width || minfo.height !== info.height) {
      throw new StudioError('invalid_input', `The mask is ${minfo.width}×${minfo.height} but the init image is ${info.width}×${info.height}; they must be the same size.`, { field: 'mask' });
    }
    return onlyMaskedSource(buf, mbuf, init, width, height);
  }
  const rgb = await fitPipeline(sharp(buf, { limitInputPixels: MAX_DECODE_PIXELS }).flatten({ background: '#000000' }), info.width, info.height, width, height, init.fit, 'lanczos3')
    .removeAlpha()
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (rgb.info.channels !== 3 || rgb.data.length !== width * height * 3) {
    throw new StudioError('internal', `Fitting the init image gave ${rgb.info.width}×${rgb.info.height}×${rgb.info.channels}.`);
  }
  const out: FittedSource = { rgb: new Uint8Array(rgb.data.buffer, rgb.data.byteOffset, rgb.data.length), sourceWidth: info.width, sourceHeight: info.height };
  if (init.mask) {
    const mbuf = await readInput(dataRoot, init.mask.sha256, 'The mask');
    const minfo = checkInputImage(mbuf, 'The mask');
    if (minfo.width !== info.width || minfo.height !== info.height) {
      throw new StudioError('invalid_input', `The mask is ${minfo.width}×${minfo.height} but the init image is ${info.width}×${info.height}; they must be the same size.`, { field: 'mask' });
    }
    const m = await fitPipeline(sharp(mbuf, { limitInputPixels: MAX_DECODE_PIXELS }).flatten({ background: '#000000' }), minfo.width, minfo.height, width, height, init.fit, 'nearest')
      .greyscale()
      .extractChannel(0)
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (m.data.length !== width * height) throw new StudioError('internal', `Fitting the mask gave ${m.data.length} values.`);
    out.mask = new Uint8Array(m.data.buffer, m.data.byteOffset, m.data.length);
    out.maskBlur = init.mask.blur;
  }
  return out;
}

/** Checks a mask against its source before a job is queued (sizes equal; both valid images). */
export function checkMaskFits(mask: StoredInput, source: StoredInput): void {
  if (mask.width !== source.width || mask.height !== source.height) {
    throw new StudioError('invalid_input', `The mask is ${mask.width}×${mask.height} but the init image is ${source.width}×${source.height}; they must be the same size.`, { field: 'mask' });
  }
}
