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
import { IMG2IMG_LIMITS, type FitMode, type InitImage } from '../../../src-shared/img2img';
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
}

/**
 * A job's source (and mask) read from the data folder and fitted to width × height: RGB bytes and the mask's
 * luminance (transparent mask pixels count as black = keep). A mask whose size differs from the source is refused.
 */
export async function fittedSource(dataRoot: string, init: InitImage, width: number, height: number): Promise<FittedSource> {
  const buf = await readInput(dataRoot, init.sha256);
  const info = checkInputImage(buf, 'The init image');
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
