// One entry point for files users import: recognise PNG / JPEG / WebP by their bytes, validate them
// against the limits, and read whatever generation parameters they carry. Corrupt, non-image and
// oversized files throw StudioError invalid_input with a human reason; files without metadata come
// back with `reason` set instead.
import { StudioError } from '../../../src-shared/errors';
import { parseA1111, parseTextChunks, type ParsedParameters, type TextChunk } from '../../../src-shared/metadata';
import { readExifUserComment, readJpegInfo, readWebpInfo, type ContainerInfo } from './exif';
import { formatBytes } from '../../../src-shared/bytes';
import { checkDimensions, DEFAULT_IMAGE_LIMITS, PNG_SIGNATURE, readPngInfo, type ImageLimits } from '../../formats/png';

export type ImageFormat = 'png' | 'jpeg' | 'webp';

export interface ParsedImageFile {
  format: ImageFormat;
  /** Pixel size of the file (the metadata's own width/height may differ: hires fix, crops). */
  width: number;
  height: number;
  parameters?: ParsedParameters;
  /** Why there are no parameters ("no metadata", or which chunks were present but not understood). */
  reason?: string;
}

function startsWith(buf: Uint8Array, bytes: ArrayLike<number>, at = 0): boolean {
  if (buf.length < at + bytes.length) return false;
  for (let i = 0; i < bytes.length; i++) if (buf[at + i] !== bytes[i]) return false;
  return true;
}

export function sniffImageFormat(buf: Uint8Array): ImageFormat | undefined {
  if (startsWith(buf, PNG_SIGNATURE)) return 'png';
  if (startsWith(buf, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (startsWith(buf, [0x52, 0x49, 0x46, 0x46]) && startsWith(buf, [0x57, 0x45, 0x42, 0x50], 8)) return 'webp';
  return undefined;
}

/** A1111's EXIF UserComment as parameters; undefined when it is empty. */
function fromUserComment(exif: Uint8Array | undefined): ParsedParameters | undefined {
  if (!exif) return undefined;
  const text = readExifUserComment(exif);
  return text !== undefined && text.trim() !== '' ? parseA1111(text) : undefined;
}

function notUnderstood(keywords: string[]): string {
  const shown = [...new Set(keywords)].slice(0, 8).map((k) => `"${k}"`);
  return `The file has metadata (${shown.join(', ')}) but no generation parameters in a format SD3.5 Studio reads.`;
}

const NO_METADATA = 'The file carries no generation metadata (no text chunks and no EXIF UserComment).';

function fromContainer(format: ImageFormat, c: ContainerInfo, limits: ImageLimits): ParsedImageFile {
  checkDimensions(c.width, c.height, limits);
  const out: ParsedImageFile = { format, width: c.width, height: c.height };
  const parameters =
    fromUserComment(c.exif) ?? (c.comment !== undefined && /\bSteps: \d/.test(c.comment) ? parseA1111(c.comment) : undefined);
  if (parameters) out.parameters = parameters;
  else out.reason = c.exif || c.comment !== undefined ? 'The file has EXIF data but no generation parameters in its UserComment.' : NO_METADATA;
  return out;
}

/**
 * Identify, validate and read the metadata of an image file users import. Limits: ≤ 16384 px per side,
 * ≤ 100 MP, text chunks ≤ 8 MB, file ≤ 200 MB. Throws StudioError invalid_input (details.reason says
 * which check failed) for empty, non-image, corrupt, truncated or oversized files.
 */
export function parseImageFile(buf: Uint8Array, limits: Partial<ImageLimits> = {}): ParsedImageFile {
  const lim: ImageLimits = { ...DEFAULT_IMAGE_LIMITS, ...limits };
  if (buf.length === 0) throw new StudioError('invalid_input', 'The file is empty.', { reason: 'empty' });
  if (buf.length > lim.maxFileBytes) {
    throw new StudioError('invalid_input', `The file is ${formatBytes(buf.length)}; the limit is ${formatBytes(lim.maxFileBytes)}.`, {
      reason: 'too_large',
    });
  }
  const format = sniffImageFormat(buf);
  if (format === 'jpeg') return fromContainer('jpeg', readJpegInfo(buf), lim);
  if (format === 'webp') return fromContainer('webp', readWebpInfo(buf), lim);
  if (format !== 'png') {
    throw new StudioError('invalid_input', 'This is not a PNG, JPEG or WebP image.', { reason: 'not_image' });
  }
  const info = readPngInfo(buf, lim);
  const out: ParsedImageFile = { format, width: info.width, height: info.height };
  const parameters = parseTextChunks(info.chunks) ?? fromUserComment(info.exif);
  if (parameters) {
    out.parameters = parameters;
    return out;
  }
  const keys = info.chunks.map((c: TextChunk) => c.keyword);
  if (info.exif) keys.push('eXIf');
  out.reason = keys.length === 0 ? NO_METADATA : notUnderstood(keys);
  return out;
}
