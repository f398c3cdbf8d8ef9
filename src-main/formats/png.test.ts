import zlib from 'node:zlib';
import fc from 'fast-check';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { isStudioError, type StudioError } from '../../src-shared/errors';
import { formatParameters, parseTextChunks, studioJson, type StudioImageMeta, type TextChunk } from '../../src-shared/metadata';
import { encodePng, PNG_SIGNATURE, readPngInfo, stripTextChunks, walkPngChunks, withTextChunks, type PngRejection } from './png';

// ---- helpers: PNGs built chunk by chunk, so each test controls exactly what lies ----

function chunk(type: string, data: Uint8Array, crcOverride?: number): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  out.set(data, 8);
  out.writeUInt32BE(crcOverride ?? zlib.crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

function ihdr(width: number, height: number, colorType = 2, bitDepth = 8): Buffer {
  const d = Buffer.alloc(13);
  d.writeUInt32BE(width, 0);
  d.writeUInt32BE(height, 4);
  d[8] = bitDepth;
  d[9] = colorType;
  return chunk('IHDR', d);
}

/** A valid 1×1 RGB image's IDAT. */
const idat1x1 = chunk('IDAT', zlib.deflateSync(Buffer.from([0, 10, 20, 30])));
const iend = chunk('IEND', new Uint8Array(0));

function png(...chunks: Uint8Array[]): Buffer {
  return Buffer.concat([PNG_SIGNATURE, ...chunks]);
}

function text(type: 'tEXt' | 'zTXt' | 'iTXt', keyword: string, body: Uint8Array, compressed = false): Buffer {
  const kw = Buffer.from(keyword, 'latin1');
  if (type === 'tEXt') return chunk(type, Buffer.concat([kw, Buffer.from([0]), body]));
  if (type === 'zTXt') return chunk(type, Buffer.concat([kw, Buffer.from([0, 0]), zlib.deflateSync(body)]));
  const payload = compressed ? zlib.deflateSync(body) : body;
  return chunk(type, Buffer.concat([kw, Buffer.from([0, compressed ? 1 : 0, 0]), Buffer.from('en\0', 'latin1'), Buffer.from('\0'), payload]));
}

function pixels(width: number, height: number, channels: 3 | 4, seed = 1): Uint8Array {
  const data = new Uint8Array(width * height * channels);
  let x = seed;
  for (let i = 0; i < data.length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    data[i] = (x >>> 16) & 0xff;
  }
  return data;
}

/** Run fn, assert it throws StudioError invalid_input with the given reason. */
function expectRejected(fn: () => unknown, reason: PngRejection, message?: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(isStudioError(caught, 'invalid_input'), `expected a StudioError, got ${String(caught)}`).toBe(true);
  expect((caught as StudioError).details?.reason).toBe(reason);
  if (message) expect((caught as StudioError).message).toMatch(message);
}

const meta: StudioImageMeta = {
  prompt: 'a lighthouse at dusk',
  negativePrompt: '',
  seed: '42',
  steps: 28,
  guidance: 4.5,
  width: 8,
  height: 8,
  shift: 3,
  scheduler: 'flow-match-euler',
  model: { id: 'sd3.5-medium', modelHash: '0123456789' },
  ep: 'cpu',
  precision: 'fp16',
  rng: 'torch-cpu-mt19937',
  t5: true,
  appVersion: '0.1.0',
};

function studioChunks(m: StudioImageMeta): TextChunk[] {
  return [
    { keyword: 'parameters', text: formatParameters(m) },
    { keyword: 'sd35studio', text: studioJson(m) },
  ];
}

function chunkTypes(buf: Uint8Array): string[] {
  return walkPngChunks(buf).map((c) => c.type);
}

// ---------------------------------------------------------------------------------------------

describe('encodePng', () => {
  it.each([3, 4] as const)('writes %i-channel pixels that sharp decodes back exactly', async (channels) => {
    const data = pixels(37, 23, channels);
    const buf = encodePng({ width: 37, height: 23, channels, data }, studioChunks(meta));
    const { data: decoded, info } = await sharp(buf).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height, info.channels]).toEqual([37, 23, channels]);
    expect(Buffer.compare(decoded, Buffer.from(data))).toBe(0);
    const read = readPngInfo(buf);
    expect(read).toMatchObject({ width: 37, height: 23, bitDepth: 8, colorType: channels === 4 ? 6 : 2 });
  });

  it('writes parameters as tEXt when Latin-1, as iTXt otherwise, and sd35studio always as iTXt', () => {
    const latin = encodePng({ width: 1, height: 1, channels: 3, data: pixels(1, 1, 3) }, studioChunks({ ...meta, prompt: 'café crème' }));
    expect(chunkTypes(latin)).toEqual(['IHDR', 'tEXt', 'iTXt', 'IDAT', 'IEND']);
    const utf = encodePng({ width: 1, height: 1, channels: 3, data: pixels(1, 1, 3) }, studioChunks({ ...meta, prompt: 'テスト 😀' }));
    expect(chunkTypes(utf)).toEqual(['IHDR', 'iTXt', 'iTXt', 'IDAT', 'IEND']);
    // Latin-1 text whose bytes happen to be valid UTF-8 ("Ã©") would read back as "é" from a tEXt: iTXt instead.
    const tricky = encodePng({ width: 1, height: 1, channels: 3, data: pixels(1, 1, 3) }, [{ keyword: 'parameters', text: 'Ã©' }]);
    expect(chunkTypes(tricky)).toEqual(['IHDR', 'iTXt', 'IDAT', 'IEND']);
    expect(readPngInfo(tricky).chunks).toEqual([{ keyword: 'parameters', text: 'Ã©' }]);
  });

  it('gives identical bytes for the same parameters, whatever the key order of the metadata object', () => {
    const image = { width: 16, height: 16, channels: 3 as const, data: pixels(16, 16, 3) };
    const a = encodePng(image, studioChunks(meta));
    const reordered = Object.fromEntries(Object.entries(meta).reverse()) as unknown as StudioImageMeta;
    const b = encodePng({ ...image, data: Uint8Array.from(image.data) }, studioChunks(reordered));
    expect(Buffer.compare(a, b)).toBe(0);
    const c = encodePng(image, studioChunks({ ...meta, seed: '43' }));
    expect(Buffer.compare(a, c)).not.toBe(0);
  });

  it('splits large image data into several IDAT chunks', () => {
    const buf = encodePng({ width: 512, height: 512, channels: 4, data: pixels(512, 512, 4) }, []);
    expect(chunkTypes(buf).filter((t) => t === 'IDAT').length).toBeGreaterThan(1);
  });

  it('refuses bad input with invalid_input', () => {
    expect(() => encodePng({ width: 2, height: 2, channels: 3, data: new Uint8Array(11) }, [])).toThrow(/needs 12/);
    expect(() => encodePng({ width: 1, height: 1, channels: 3, data: new Uint8Array(3) }, [{ keyword: '', text: 'x' }])).toThrow(/keyword/);
    expect(() => encodePng({ width: 1, height: 1, channels: 3, data: new Uint8Array(3) }, [{ keyword: 'ключ', text: 'x' }])).toThrow(/keyword/);
  });
});

describe('encodePng → readPngInfo → parseTextChunks (property)', () => {
  const anyText = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 200 }),
    fc.array(fc.constantFrom('Negative prompt: x', '\n', ' ', '"', ',', ':', 'é', 'Ã©', '😀', 'テスト', '\r\n', '\0'), { maxLength: 20 }).map((a) => a.join('')),
  );
  const metaArb = fc.record({
    prompt: anyText,
    negativePrompt: anyText,
    seed: fc.bigInt(0n, 2n ** 64n - 1n).map(String),
    steps: fc.integer({ min: 1, max: 150 }),
    guidance: fc.double({ min: 0, max: 30, noNaN: true, noDefaultInfinity: true }).map((x) => x + 0),
    width: fc.integer({ min: 1, max: 4096 }),
    height: fc.integer({ min: 1, max: 4096 }),
    modelId: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }),
  });

  it('returns the metadata exactly, and the parameters text byte for byte', () => {
    fc.assert(
      fc.property(metaArb, (r) => {
        const m: StudioImageMeta = { ...meta, ...r, model: { id: r.modelId } };
        delete (m as Partial<{ modelId: string }>).modelId;
        const chunks = studioChunks(m);
        const buf = encodePng({ width: 2, height: 2, channels: 3, data: pixels(2, 2, 3) }, chunks);
        const info = readPngInfo(buf);
        expect(info.chunks).toEqual(chunks);
        const parsed = parseTextChunks(info.chunks);
        expect(parsed?.source).toBe('sd35studio');
        expect(parsed?.studio).toEqual(m);
      }),
      { numRuns: 300 },
    );
  }, 60_000);

  it('reads back any text chunk it writes', () => {
    const keyword = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9 _-]{0,30}[A-Za-z0-9]$/).filter((k) => !k.includes('  '));
    fc.assert(
      fc.property(fc.array(fc.record({ keyword, text: anyText }), { maxLength: 5 }), (chunks) => {
        const buf = encodePng({ width: 1, height: 1, channels: 4, data: pixels(1, 1, 4) }, chunks);
        expect(readPngInfo(buf).chunks).toEqual(chunks);
      }),
      { numRuns: 200 },
    );
  }, 60_000);
});

describe('readPngInfo text decoding', () => {
  it('reads tEXt as Latin-1, but raw UTF-8 inside tEXt as UTF-8 (Stability Matrix quirk)', () => {
    const buf = png(
      ihdr(1, 1),
      text('tEXt', 'latin', Buffer.from('café', 'latin1')),
      text('tEXt', 'utf8', Buffer.from('#テスト', 'utf8')),
      idat1x1,
      iend,
    );
    expect(readPngInfo(buf).chunks).toEqual([
      { keyword: 'latin', text: 'café' },
      { keyword: 'utf8', text: '#テスト' },
    ]);
  });

  it('reads zTXt and compressed iTXt', () => {
    const big = 'a prompt, '.repeat(500);
    const buf = png(
      ihdr(1, 1),
      text('zTXt', 'parameters', Buffer.from(big, 'latin1')),
      text('iTXt', 'comp', Buffer.from('テスト ' + big, 'utf8'), true),
      idat1x1,
      iend,
    );
    expect(readPngInfo(buf).chunks).toEqual([
      { keyword: 'parameters', text: big },
      { keyword: 'comp', text: 'テスト ' + big },
    ]);
  });

  it('returns the eXIf chunk and skips text chunks without a keyword', () => {
    const exif = Buffer.from('MM\0*\0\0\0\x08\0\0', 'latin1');
    const buf = png(ihdr(1, 1), chunk('eXIf', exif), chunk('tEXt', Buffer.from('no separator')), idat1x1, iend);
    const info = readPngInfo(buf);
    expect(Buffer.from(info.exif ?? []).equals(exif)).toBe(true);
    expect(info.chunks).toEqual([]);
  });
});

describe('readPngInfo rejects lying files, each with its reason', () => {
  const good = png(ihdr(1, 1), text('tEXt', 'parameters', Buffer.from('hello')), idat1x1, iend);

  it('accepts the untouched file', () => {
    expect(readPngInfo(good).chunks).toEqual([{ keyword: 'parameters', text: 'hello' }]);
  });

  it('CRC error', () => {
    const bad = Buffer.from(good);
    const at = 8 + 25 + 8 + 12; // a byte inside the tEXt data
    bad.writeUInt8(bad.readUInt8(at) ^ 0x20, at);
    expectRejected(() => readPngInfo(bad), 'bad_crc', /tEXt.*CRC/);
  });

  it('chunk length past the end', () => {
    const bad = png(ihdr(1, 1), idat1x1, iend);
    bad.writeUInt32BE(5000, 8 + 25); // IDAT now claims 5000 bytes
    expectRejected(() => readPngInfo(bad), 'truncated', /IDAT.*5000 bytes/);
  });

  it('a real 100 MB text chunk is refused from its declared length, before its CRC is computed', () => {
    const hundredMb = 100_000_000;
    const head = Buffer.alloc(8);
    head.writeUInt32BE(hundredMb, 0);
    head.write('tEXt', 4, 'latin1');
    const bad = Buffer.concat([PNG_SIGNATURE, ihdr(1, 1), head, Buffer.alloc(hundredMb, 0x61), Buffer.alloc(4), idat1x1, iend]);
    expectRejected(() => readPngInfo(bad), 'text_too_large', /100 MB; the limit is 8\.00 MB/);
  });

  it('a 100 MB text chunk declared in a small file', () => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(100 * 1024 * 1024, 0);
    head.write('iTXt', 4, 'latin1');
    const bad = Buffer.concat([PNG_SIGNATURE, ihdr(1, 1), head, Buffer.from('parameters\0')]);
    expectRejected(() => readPngInfo(bad), 'text_too_large');
  });

  it('a compressed text chunk that inflates past the limit (zip bomb)', () => {
    const bomb = zlib.deflateSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 });
    expect(bomb.length).toBeLessThan(100_000);
    const bad = png(ihdr(1, 1), chunk('zTXt', Buffer.concat([Buffer.from('bomb\0\0', 'latin1'), bomb])), idat1x1, iend);
    expectRejected(() => readPngInfo(bad), 'text_too_large', /inflates to more than 8\.00 MB/);
  });

  it('a 100,000×100,000 header', () => {
    const bad = png(ihdr(100_000, 100_000), idat1x1, iend);
    expectRejected(() => readPngInfo(bad), 'too_many_pixels', /100000×100000 px; the limit is 16384 px per side/);
    const tooManyPixels = png(ihdr(16_000, 16_000), idat1x1, iend);
    expectRejected(() => readPngInfo(tooManyPixels), 'too_many_pixels', /256 MP\); the limit is 100 MP/);
  });

  it('a truncated file', () => {
    const encoded = encodePng({ width: 64, height: 64, channels: 3, data: pixels(64, 64, 3) }, studioChunks(meta));
    for (const cut of [10, 40, encoded.length - 30, encoded.length - 1]) {
      expectRejected(() => readPngInfo(encoded.subarray(0, cut)), 'truncated', /truncated/);
    }
  });

  it('not a PNG', () => {
    expectRejected(() => readPngInfo(Buffer.from('GIF89a not a png at all')), 'not_png', /not a PNG/);
    expectRejected(() => readPngInfo(Buffer.from([0xff, 0xd8, 0xff, 0xe0])), 'not_png');
  });

  it('an empty file', () => {
    expectRejected(() => readPngInfo(new Uint8Array(0)), 'empty', /empty/);
  });

  it('structural lies: IHDR not first, bad IHDR, no image data, bad chunk type', () => {
    expectRejected(() => readPngInfo(png(idat1x1, ihdr(1, 1), iend)), 'no_ihdr');
    expectRejected(() => readPngInfo(png(ihdr(0, 1), idat1x1, iend)), 'bad_ihdr', /0×1/);
    expectRejected(() => readPngInfo(png(ihdr(1, 1, 2, 4), idat1x1, iend)), 'bad_ihdr', /bit depth 4/);
    expectRejected(() => readPngInfo(png(ihdr(1, 1), ihdr(2, 2), idat1x1, iend)), 'bad_ihdr', /second IHDR/);
    expectRejected(() => readPngInfo(png(ihdr(1, 1), iend)), 'no_idat');
    expectRejected(() => readPngInfo(png(ihdr(1, 1, 3), idat1x1, iend)), 'no_plte');
    expectRejected(() => readPngInfo(png(ihdr(1, 1), chunk('I1AT', new Uint8Array(0)), iend)), 'bad_chunk_type');
  });

  it('a file made of millions of empty chunks', () => {
    const empty = chunk('zzZz', new Uint8Array(0));
    const many = Buffer.concat([PNG_SIGNATURE, ihdr(1, 1), Buffer.concat(Array.from({ length: 2000 }, () => empty))]);
    expectRejected(() => readPngInfo(many, { maxChunks: 1000 }), 'too_many_chunks');
  });
});

describe('withTextChunks and stripTextChunks', () => {
  it('adds our chunks to a PNG from sharp, replacing one with the same keyword, keeping the pixels', async () => {
    const raw = pixels(20, 10, 3);
    const fromSharp = await sharp(raw, { raw: { width: 20, height: 10, channels: 3 } })
      .png()
      .withMetadata()
      .toBuffer();
    const first = withTextChunks(fromSharp, [{ keyword: 'parameters', text: 'old' }, { keyword: 'keep', text: 'me' }]);
    const second = withTextChunks(first, studioChunks(meta));
    expect(readPngInfo(second).chunks).toEqual([...studioChunks(meta), { keyword: 'keep', text: 'me' }]);
    expect(chunkTypes(second).slice(0, 3)).toEqual(['IHDR', 'tEXt', 'iTXt']);
    const decoded = await sharp(second).raw().toBuffer();
    expect(Buffer.compare(decoded, Buffer.from(raw))).toBe(0);
  });

  it('strips text, EXIF and time chunks and nothing else', async () => {
    const withAll = png(
      ihdr(1, 1),
      chunk('gAMA', Buffer.from([0, 0, 0xb1, 0x8f])),
      text('tEXt', 'parameters', Buffer.from('secret prompt')),
      text('iTXt', 'sd35studio', Buffer.from('{}')),
      text('zTXt', 'Comment', Buffer.from('zzz')),
      chunk('eXIf', Buffer.from('MM\0*\0\0\0\x08\0\0', 'latin1')),
      chunk('tIME', Buffer.from([7, 0xe9, 1, 1, 0, 0, 0])),
      idat1x1,
      iend,
    );
    const stripped = stripTextChunks(withAll);
    expect(chunkTypes(stripped)).toEqual(['IHDR', 'gAMA', 'IDAT', 'IEND']);
    expect(stripped.includes(Buffer.from('secret'))).toBe(false);
    const info = readPngInfo(stripped);
    expect(info.chunks).toEqual([]);
    expect(info.exif).toBeUndefined();
    expect(Buffer.compare(await sharp(stripped).raw().toBuffer(), await sharp(withAll).raw().toBuffer())).toBe(0);
  });

  it('refuses to rewrite a corrupt PNG', () => {
    const bad = png(ihdr(1, 1), idat1x1, iend);
    bad.writeUInt8(bad.readUInt8(bad.length - 1) ^ 1, bad.length - 1);
    expect(() => withTextChunks(bad, [])).toThrow(/CRC/);
    expect(() => stripTextChunks(bad)).toThrow(/CRC/);
  });
});
