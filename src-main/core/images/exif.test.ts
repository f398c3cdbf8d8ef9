import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { fixturesDir } from '../../../e2e/support/fixtures';
import { isStudioError } from '../../../src-shared/errors';
import { readExifUserComment, readJpegInfo, readWebpInfo } from './exif';
import { readPngInfo } from '../../formats/png';

// ---- TIFF/EXIF blocks built by hand: IFD0 → ExifIFD pointer → UserComment (type 7 UNDEFINED) ----

function u16(v: number, le: boolean): Buffer {
  const b = Buffer.alloc(2);
  if (le) b.writeUInt16LE(v);
  else b.writeUInt16BE(v);
  return b;
}
function u32(v: number, le: boolean): Buffer {
  const b = Buffer.alloc(4);
  if (le) b.writeUInt32LE(v);
  else b.writeUInt32BE(v);
  return b;
}

function tiffWithUserComment(value: Uint8Array, opts: { le: boolean; type?: number; inIfd0?: boolean }): Buffer {
  const { le } = opts;
  const type = opts.type ?? 7;
  const header = Buffer.concat([Buffer.from(le ? 'II' : 'MM', 'latin1'), u16(42, le), u32(8, le)]);
  const entry = (tag: number, t: number, count: number, valueOrOffset: number) => Buffer.concat([u16(tag, le), u16(t, le), u32(count, le), u32(valueOrOffset, le)]);
  if (opts.inIfd0) {
    const dataAt = 8 + 2 + 12 + 4;
    return Buffer.concat([header, u16(1, le), entry(0x9286, type, value.length, dataAt), u32(0, le), value]);
  }
  const exifIfdAt = 8 + 2 + 12 + 4;
  const dataAt = exifIfdAt + 2 + 12 + 4;
  return Buffer.concat([
    header,
    u16(1, le),
    entry(0x8769, 4, 1, exifIfdAt),
    u32(0, le),
    u16(1, le),
    entry(0x9286, type, value.length, dataAt),
    u32(0, le),
    value,
  ]);
}

function utf16(text: string, le: boolean): Buffer {
  const b = Buffer.from(text, 'utf16le');
  if (!le) b.swap16();
  return b;
}

const A1111 = 'a cat, テスト 😀\nNegative prompt: dog\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 512x512';

describe('readExifUserComment', () => {
  it.each([
    ['big-endian TIFF, UTF-16BE (piexif, A1111)', false, false],
    ['little-endian TIFF, UTF-16LE', true, true],
    ['big-endian TIFF holding UTF-16LE (byte order from the text itself)', false, true],
    ['little-endian TIFF holding UTF-16BE', true, false],
  ])('reads UNICODE comments: %s', (_name, tiffLe, textLe) => {
    const value = Buffer.concat([Buffer.from('UNICODE\0', 'latin1'), utf16(A1111, textLe)]);
    expect(readExifUserComment(tiffWithUserComment(value, { le: tiffLe }))).toBe(A1111);
  });

  it('honours a byte-order mark', () => {
    const value = Buffer.concat([Buffer.from('UNICODE\0', 'latin1'), Buffer.from([0xff, 0xfe]), utf16('テスト', true)]);
    expect(readExifUserComment(tiffWithUserComment(value, { le: false }))).toBe('テスト');
  });

  it('reads ASCII and undefined-charset comments, UTF-8 when valid, trailing NULs removed', () => {
    const ascii = Buffer.concat([Buffer.from('ASCII\0\0\0', 'latin1'), Buffer.from('héllo テ\0\0', 'utf8')]);
    expect(readExifUserComment(tiffWithUserComment(ascii, { le: true }))).toBe('héllo テ');
    const undef = Buffer.concat([Buffer.alloc(8), Buffer.from('caf\xe9', 'latin1')]);
    expect(readExifUserComment(tiffWithUserComment(undef, { le: false }))).toBe('café');
  });

  it('finds a UserComment written straight into IFD0, and an ASCII-typed one', () => {
    const value = Buffer.concat([Buffer.from('UNICODE\0', 'latin1'), utf16('in ifd0', false)]);
    expect(readExifUserComment(tiffWithUserComment(value, { le: false, inIfd0: true }))).toBe('in ifd0');
    expect(readExifUserComment(tiffWithUserComment(Buffer.from('plain\0'), { le: true, type: 2 }))).toBe('plain');
  });

  it('accepts the "Exif\\0\\0" header JPEG and WebP blocks carry', () => {
    const value = Buffer.concat([Buffer.from('UNICODE\0', 'latin1'), utf16('x', false)]);
    expect(readExifUserComment(Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiffWithUserComment(value, { le: false })]))).toBe('x');
  });

  it('returns undefined, never throws, for absent comments and lying offsets', () => {
    const value = Buffer.concat([Buffer.from('UNICODE\0', 'latin1'), utf16('x', false)]);
    const block = tiffWithUserComment(value, { le: false });
    expect(readExifUserComment(block.subarray(0, block.length - 4))).toBeUndefined(); // value past the end
    const badIfd = Buffer.from(block);
    badIfd.writeUInt32BE(0xfffffff0, 4);
    expect(readExifUserComment(badIfd)).toBeUndefined();
    expect(readExifUserComment(Buffer.from('not a tiff block'))).toBeUndefined();
    expect(readExifUserComment(new Uint8Array(0))).toBeUndefined();
    const jis = Buffer.concat([Buffer.from('JIS\0\0\0\0\0', 'latin1'), Buffer.from('x')]);
    expect(readExifUserComment(tiffWithUserComment(jis, { le: false }))).toBeUndefined();
  });
});

// ---- JPEG and WebP containers ----

function insertApp1(jpeg: Buffer, tiff: Buffer): Buffer {
  const payload = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff]);
  const seg = Buffer.concat([Buffer.from([0xff, 0xe1]), u16(payload.length + 2, false), payload]);
  return Buffer.concat([jpeg.subarray(0, 2), seg, jpeg.subarray(2)]);
}

function riffChunk(fourcc: string, data: Uint8Array): Buffer {
  const pad = data.length & 1 ? Buffer.from([0]) : Buffer.alloc(0);
  return Buffer.concat([Buffer.from(fourcc, 'latin1'), u32(data.length, true), data, pad]);
}

/** An extended WebP: VP8X (EXIF flag) + the image chunk of a simple WebP + EXIF. */
function webpWithExif(simple: Buffer, width: number, height: number, exif: Buffer): Buffer {
  const vp8x = Buffer.alloc(10);
  vp8x[0] = 0x08; // EXIF present
  vp8x.writeUIntLE(width - 1, 4, 3);
  vp8x.writeUIntLE(height - 1, 7, 3);
  const image = simple.subarray(12); // the VP8/VP8L chunk of the simple file
  const body = Buffer.concat([Buffer.from('WEBP', 'latin1'), riffChunk('VP8X', vp8x), image, riffChunk('EXIF', exif)]);
  return Buffer.concat([Buffer.from('RIFF', 'latin1'), u32(body.length, true), body]);
}

const rgb = { raw: { width: 40, height: 30, channels: 3 as const } };
const pixels = Buffer.alloc(40 * 30 * 3, 0x80);

describe('readJpegInfo', () => {
  it('reads the size and the EXIF block of a JPEG that sharp still decodes', async () => {
    const jpeg = await sharp(pixels, rgb).jpeg().toBuffer();
    const comment = Buffer.concat([Buffer.from('UNICODE\0', 'latin1'), utf16(A1111, false)]);
    const withExif = insertApp1(jpeg, tiffWithUserComment(comment, { le: false }));
    const info = readJpegInfo(withExif);
    expect([info.width, info.height]).toEqual([40, 30]);
    expect(readExifUserComment(info.exif ?? new Uint8Array(0))).toBe(A1111);
    expect((await sharp(withExif).metadata()).width).toBe(40);
  });

  it('rejects truncated and non-JPEG data with a reason', async () => {
    const jpeg = await sharp(pixels, rgb).jpeg().toBuffer();
    for (const [buf, reason] of [
      [jpeg.subarray(0, 100), 'truncated'],
      [jpeg.subarray(0, jpeg.length - 2), 'truncated'],
      [Buffer.from('hello'), 'not_jpeg'],
      [Buffer.from([0xff, 0xd8, 0xff, 0xd9]), 'corrupt'],
    ] as const) {
      let caught: unknown;
      try {
        readJpegInfo(buf);
      } catch (err) {
        caught = err;
      }
      expect(isStudioError(caught, 'invalid_input')).toBe(true);
      expect((caught as { details?: { reason?: string } }).details?.reason).toBe(reason);
    }
  });
});

describe('readWebpInfo', () => {
  it.each([false, true])('reads the size of a simple WebP (lossless %s)', async (lossless) => {
    const webp = await sharp(pixels, rgb).webp({ lossless }).toBuffer();
    expect(readWebpInfo(webp)).toEqual({ width: 40, height: 30 });
  });

  it('reads the canvas size and EXIF of an extended WebP that sharp still decodes', async () => {
    const simple = await sharp(pixels, rgb).webp().toBuffer();
    const comment = Buffer.concat([Buffer.from('UNICODE\0', 'latin1'), utf16(A1111, true)]);
    const webp = webpWithExif(simple, 40, 30, tiffWithUserComment(comment, { le: true }));
    const info = readWebpInfo(webp);
    expect([info.width, info.height]).toEqual([40, 30]);
    expect(readExifUserComment(info.exif ?? new Uint8Array(0))).toBe(A1111);
    expect((await sharp(webp).metadata()).width).toBe(40);
  });

  it('rejects a truncated WebP', async () => {
    const webp = await sharp(pixels, rgb).webp().toBuffer();
    expect(() => readWebpInfo(webp.subarray(0, webp.length - 10))).toThrow(/truncated/);
    expect(() => readWebpInfo(Buffer.from('RIFF\x04\0\0\0WEBP', 'latin1'))).toThrow(/no image data/);
  });
});

describe('real files', () => {
  const dir = path.join(fixturesDir(), 'foreign-png');
  const present = fs.existsSync(path.join(dir, 'expected.json'));
  if (!present) console.warn(`skipping EXIF fixture tests: ${dir} not found (set SD35_FIXTURES)`);

  it.skipIf(!present)('trainer-sample-01.png: eXIf chunk, big-endian TIFF, UNICODE UTF-16BE', () => {
    const info = readPngInfo(fs.readFileSync(path.join(dir, 'trainer-sample-01.png')));
    const text = readExifUserComment(info.exif ?? new Uint8Array(0));
    expect(text?.startsWith('Elysian, an ethereal vision')).toBe(true);
    expect(text?.endsWith('Model hash: 463D6A9FE8, Model: 132760.safetensors')).toBe(true);
  });

  it.skipIf(!present)('a1111-01.jpg: APP1 Exif, UNICODE UTF-16BE', () => {
    const info = readJpegInfo(fs.readFileSync(path.join(dir, 'a1111-01.jpg')));
    expect([info.width, info.height]).toEqual([1, 1]);
    expect(readExifUserComment(info.exif ?? new Uint8Array(0))).toBe(
      'photo of a duck\nNegative prompt: monochrome\nSteps: 15, Sampler: UniPC, CFG scale: 5, Seed: 235284042, Size: 512x400, Model hash: c0d1994c73, Model: realistic_realisticVisionV20_v20',
    );
  });
});
