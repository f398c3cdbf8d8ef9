// EXIF UserComment (tag 0x9286), where A1111 puts its `parameters` text in JPEG and WebP files (and
// some trainers in a PNG eXIf chunk), plus the JPEG and WebP container walks that find the EXIF block
// and the pixel size. Every offset is bounds-checked; nothing is allocated from a declared length.
import { isUtf8 } from 'node:buffer';
import { StudioError } from '../../../src-shared/errors';

const TAG_EXIF_IFD = 0x8769;
const TAG_USER_COMMENT = 0x9286;
const MAX_IFD_ENTRIES = 4096;
/** A UserComment longer than this is not generation parameters; it is ignored. */
const MAX_COMMENT_BYTES = 8 * 1024 * 1024;

function fail(reason: string, message: string): never {
  throw new StudioError('invalid_input', message, { reason });
}

interface Tiff {
  bytes: Uint8Array;
  dv: DataView;
  le: boolean;
}

function openTiff(bytes: Uint8Array): Tiff | undefined {
  if (bytes.length < 8) return undefined;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const order = String.fromCharCode(bytes[0] as number, bytes[1] as number);
  if (order !== 'II' && order !== 'MM') return undefined;
  const le = order === 'II';
  if (dv.getUint16(2, le) !== 42) return undefined;
  return { bytes, dv, le };
}

interface IfdEntry {
  tag: number;
  type: number;
  count: number;
  /** Offset of the value (inline in the entry when it fits in 4 bytes). */
  valueOffset: number;
}

const TYPE_SIZES: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8 };

function readIfd(t: Tiff, offset: number): IfdEntry[] {
  if (offset < 8 || offset + 2 > t.bytes.length) return [];
  const n = t.dv.getUint16(offset, t.le);
  if (n > MAX_IFD_ENTRIES || offset + 2 + n * 12 > t.bytes.length) return [];
  const out: IfdEntry[] = [];
  for (let i = 0; i < n; i++) {
    const at = offset + 2 + i * 12;
    const type = t.dv.getUint16(at + 2, t.le);
    const count = t.dv.getUint32(at + 4, t.le);
    const size = (TYPE_SIZES[type] ?? 1) * count;
    const valueOffset = size <= 4 ? at + 8 : t.dv.getUint32(at + 8, t.le);
    out.push({ tag: t.dv.getUint16(at, t.le), type, count, valueOffset });
  }
  return out;
}

/** The bytes of an entry's value, or undefined when they lie outside the block. */
function entryBytes(t: Tiff, e: IfdEntry): Uint8Array | undefined {
  const size = (TYPE_SIZES[e.type] ?? 1) * e.count;
  if (e.valueOffset + size > t.bytes.length) return undefined;
  return t.bytes.subarray(e.valueOffset, e.valueOffset + size);
}

function decodeUtf16(bytes: Uint8Array, le: boolean): string {
  const even = Buffer.from(bytes.subarray(0, bytes.length - (bytes.length % 2)));
  if (!le) even.swap16();
  return even.toString('utf16le');
}

/**
 * UTF-16 byte order of a UserComment: a BOM wins; else the zero bytes of mostly-ASCII text tell
 * (big-endian puts them first); else the TIFF block's own byte order.
 */
function utf16Order(bytes: Uint8Array, tiffLe: boolean): { le: boolean; skip: number } {
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return { le: false, skip: 2 };
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return { le: true, skip: 2 };
  let evenZeros = 0;
  let oddZeros = 0;
  const n = Math.min(bytes.length, 2048) & ~1;
  for (let i = 0; i < n; i += 2) {
    if (bytes[i] === 0) evenZeros++;
    if (bytes[i + 1] === 0) oddZeros++;
  }
  if (evenZeros > 2 * oddZeros + 2) return { le: false, skip: 0 };
  if (oddZeros > 2 * evenZeros + 2) return { le: true, skip: 0 };
  return { le: tiffLe, skip: 0 };
}

function stripNuls(s: string): string {
  return s.replace(/\0+$/, '');
}

function decodeUserComment(value: Uint8Array, tiffLe: boolean): string | undefined {
  if (value.length < 8) return undefined;
  const prefix = String.fromCharCode(...value.subarray(0, 8));
  const body = value.subarray(8);
  const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (prefix === 'UNICODE\0') {
    const { le, skip } = utf16Order(body, tiffLe);
    return stripNuls(decodeUtf16(body.subarray(skip), le));
  }
  if (prefix === 'ASCII\0\0\0' || prefix === '\0\0\0\0\0\0\0\0') {
    // Many writers put UTF-8 here despite the name.
    return stripNuls(isUtf8(body) ? buf.toString('utf8') : buf.toString('latin1'));
  }
  return undefined; // JIS and unknown character codes
}

/** The UserComment text of a TIFF/EXIF block ("MM\0*…" or "II*\0…"), or undefined when absent. */
export function readExifUserComment(exif: Uint8Array): string | undefined {
  const bytes = stripExifHeader(exif);
  const t = openTiff(bytes);
  if (!t) return undefined;
  const ifd0 = readIfd(t, t.dv.getUint32(4, t.le));
  const candidates = [...ifd0];
  const pointer = ifd0.find((e) => e.tag === TAG_EXIF_IFD);
  if (pointer) {
    const at = pointer.count === 1 && pointer.valueOffset + 4 <= bytes.length ? t.dv.getUint32(pointer.valueOffset, t.le) : 0;
    candidates.unshift(...readIfd(t, at));
  }
  const entry = candidates.find((e) => e.tag === TAG_USER_COMMENT);
  if (!entry || entry.count > MAX_COMMENT_BYTES) return undefined;
  const value = entryBytes(t, entry);
  if (!value) return undefined;
  if (entry.type === 2) {
    const b = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    return stripNuls(isUtf8(value) ? b.toString('utf8') : b.toString('latin1'));
  }
  return decodeUserComment(value, t.le);
}

/** EXIF blocks in JPEG APP1 and some WebP files start with "Exif\0\0" before the TIFF header. */
function stripExifHeader(b: Uint8Array): Uint8Array {
  const hasHeader = b.length >= 6 && b[0] === 0x45 && b[1] === 0x78 && b[2] === 0x69 && b[3] === 0x66 && b[4] === 0 && b[5] === 0;
  return hasHeader ? b.subarray(6) : b;
}

export interface ContainerInfo {
  width: number;
  height: number;
  /** The TIFF block of the EXIF data, when present. */
  exif?: Uint8Array;
  /** JPEG COM segment text, when present. */
  comment?: string;
}

/** Width, height, EXIF and comment of a JPEG, walking its marker segments up to the scan. */
export function readJpegInfo(buf: Uint8Array): ContainerInfo {
  if (buf.length < 4 || buf[0] !== 0xff || buf[1] !== 0xd8) fail('not_jpeg', 'This is not a JPEG file.');
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let pos = 2;
  let size: { width: number; height: number } | undefined;
  let exif: Uint8Array | undefined;
  let comment: string | undefined;
  for (;;) {
    if (pos + 2 > buf.length) fail('truncated', 'The JPEG is truncated: it ends before its image data.');
    if (buf[pos] !== 0xff) fail('corrupt', `The JPEG is corrupt: expected a marker at byte ${pos}.`);
    let marker = buf[pos + 1] as number;
    while (marker === 0xff && pos + 2 < buf.length) {
      pos++; // fill bytes
      marker = buf[pos + 1] as number;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      pos += 2;
      continue;
    }
    if (marker === 0xd9) fail('corrupt', 'The JPEG is corrupt: it ends before any image data.');
    if (pos + 4 > buf.length) fail('truncated', 'The JPEG is truncated.');
    const length = dv.getUint16(pos + 2);
    if (length < 2 || pos + 2 + length > buf.length) {
      fail('truncated', `The JPEG is truncated or corrupt: segment 0x${marker.toString(16)} at byte ${pos} runs past the end.`);
    }
    const data = buf.subarray(pos + 4, pos + 2 + length);
    const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isSof && data.length >= 5 && size === undefined) {
      size = { height: dv.getUint16(pos + 5), width: dv.getUint16(pos + 7) };
    } else if (marker === 0xe1 && exif === undefined && data.length > 6 && String.fromCharCode(...data.subarray(0, 6)) === 'Exif\0\0') {
      exif = data.subarray(6);
    } else if (marker === 0xfe && comment === undefined) {
      const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      comment = isUtf8(data) ? b.toString('utf8') : b.toString('latin1');
    }
    pos += 2 + length;
    if (marker === 0xda) break; // start of scan: entropy-coded data follows
  }
  if (!size || size.width === 0 || size.height === 0) fail('corrupt', 'The JPEG has no valid frame header (no image size).');
  // The scan must end with an EOI marker somewhere after it.
  const tail = Buffer.from(buf.buffer, buf.byteOffset + pos, buf.byteLength - pos);
  if (tail.lastIndexOf(Buffer.from([0xff, 0xd9])) < 0) fail('truncated', 'The JPEG is truncated: its image data has no end marker.');
  const info: ContainerInfo = { ...size };
  if (exif) info.exif = exif;
  if (comment !== undefined) info.comment = comment;
  return info;
}

/** Width, height and EXIF of a WebP (RIFF chunks VP8 / VP8L / VP8X / EXIF). */
export function readWebpInfo(buf: Uint8Array): ContainerInfo {
  const tag = (at: number) => String.fromCharCode(...buf.subarray(at, at + 4));
  if (buf.length < 12 || tag(0) !== 'RIFF' || tag(8) !== 'WEBP') fail('not_webp', 'This is not a WebP file.');
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const riffEnd = 8 + dv.getUint32(4, true);
  if (riffEnd > buf.length) fail('truncated', `The WebP is truncated: it declares ${riffEnd} bytes but has ${buf.length}.`);
  let pos = 12;
  let size: { width: number; height: number } | undefined;
  let canvas: { width: number; height: number } | undefined;
  let exif: Uint8Array | undefined;
  while (pos + 8 <= riffEnd) {
    const fourcc = tag(pos);
    const length = dv.getUint32(pos + 4, true);
    if (pos + 8 + length > riffEnd) fail('truncated', `The WebP is truncated or corrupt: chunk '${fourcc}' runs past the end.`);
    const d = buf.subarray(pos + 8, pos + 8 + length);
    const at = pos + 8;
    if (fourcc === 'VP8X' && length >= 10) {
      canvas = {
        width: 1 + ((d[4] as number) | ((d[5] as number) << 8) | ((d[6] as number) << 16)),
        height: 1 + ((d[7] as number) | ((d[8] as number) << 8) | ((d[9] as number) << 16)),
      };
    } else if (fourcc === 'VP8 ' && length >= 10 && size === undefined) {
      if (d[3] !== 0x9d || d[4] !== 0x01 || d[5] !== 0x2a) fail('corrupt', 'The WebP is corrupt: bad VP8 frame header.');
      size = { width: dv.getUint16(at + 6, true) & 0x3fff, height: dv.getUint16(at + 8, true) & 0x3fff };
    } else if (fourcc === 'VP8L' && length >= 5 && size === undefined) {
      if (d[0] !== 0x2f) fail('corrupt', 'The WebP is corrupt: bad VP8L header.');
      const bits = dv.getUint32(at + 1, true);
      size = { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
    } else if (fourcc === 'EXIF' && exif === undefined) {
      exif = stripExifHeader(d);
    }
    pos += 8 + length + (length & 1);
  }
  const dims = canvas ?? size;
  if (!dims || dims.width === 0 || dims.height === 0) fail('corrupt', 'The WebP has no image data (no VP8/VP8L/VP8X chunk).');
  const info: ContainerInfo = { ...dims };
  if (exif) info.exif = exif;
  return info;
}
