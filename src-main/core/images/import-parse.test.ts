import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { fixturesDir } from '../../../e2e/support/fixtures';
import { isStudioError, type StudioError } from '../../../src-shared/errors';
import { formatParameters, studioJson, type MetadataSource, type ParsedParameters, type StudioImageMeta } from '../../../src-shared/metadata';
import { parseImageFile, sniffImageFormat } from './import-parse';
import { encodePng, PNG_SIGNATURE } from '../../formats/png';

// ---------------------------------------------------------------------------------------------
// The real files of ../shared/fixtures/foreign-png, one test each, driven by expected.json.

interface Expected {
  prompt: string | string[] | null;
  negativePrompt: string | null;
  seed: number | string | null;
  steps: number | null;
  cfgScale: number | null;
  sampler?: string | null;
  width: number | null;
  height: number | null;
  model: string | null;
  modelHash?: string;
}
interface FixtureEntry {
  tool: string;
  ihdrSize: [number, number];
  expected: Expected;
  notes: string;
}

const dir = path.join(fixturesDir(), 'foreign-png');
const expectedPath = path.join(dir, 'expected.json');
const files: Record<string, FixtureEntry> = fs.existsSync(expectedPath)
  ? (JSON.parse(fs.readFileSync(expectedPath, 'utf8')) as { files: Record<string, FixtureEntry> }).files
  : {};
if (Object.keys(files).length === 0) console.warn(`skipping foreign-png tests: ${expectedPath} not found (set SD35_FIXTURES)`);

/** Tools whose files must import with every requested field exactly. */
const MUST_MATCH = /^(a1111|forge|comfyui|invokeai)-/;

const SOURCE: Record<string, MetadataSource> = {
  a1111: 'a1111',
  forge: 'a1111',
  comfyui: 'comfyui',
  invokeai: 'invokeai',
  fooocus: 'fooocus',
  novelai: 'novelai',
  swarmui: 'swarmui',
  'stability-matrix': 'stabilitymatrix',
  'trainer-sample': 'a1111',
};

/**
 * Where expected.json records another project's test assertion rather than the file's bytes, and its
 * notes say so. Each entry states the difference; the test checks our raw value AND the adjusted one.
 */
const DOCUMENTED: Record<string, { why: string; adjust: (p: ParsedParameters) => ParsedParameters }> = {
  'comfyui-01.png': {
    why: 'notes: "Raw CLIPTextEncode texts end in \\n (sd-parsers strips)" — we keep the text as encoded',
    adjust: (p) => {
      expect(p.prompt?.endsWith('\n')).toBe(true);
      expect(p.negativePrompt?.endsWith('\n')).toBe(true);
      return { ...p, prompt: p.prompt?.trimEnd(), negativePrompt: p.negativePrompt?.trimEnd() };
    },
  },
  'comfyui-02.png': {
    why: 'sd-parsers strips the trailing \\n of ComfyUI texts and lists the 5 area prompts in its own order',
    adjust: (p) => {
      expect(p.prompts?.some((t) => t.endsWith('\n'))).toBe(true);
      return { ...p, prompts: p.prompts?.map((t) => t.trimEnd()).sort() };
    },
  },
  'novelai-02.png': {
    why: 'expected model is null because sd-metadata does not report it; we read the Source chunk "NovelAI Diffusion V4.5 4BDE2A90"',
    adjust: (p) => {
      expect(p.model).toBe('NovelAI Diffusion V4.5');
      expect(p.modelHash).toBe('4BDE2A90');
      return { ...p, model: undefined };
    },
  },
};

function actualFields(p: ParsedParameters, file: string): Record<string, unknown> {
  const expectsList = Array.isArray(files[file]?.expected.prompt);
  return {
    prompt: expectsList ? (p.prompts ?? null) : (p.prompt ?? null),
    negativePrompt: p.negativePrompt ?? null,
    seed: p.seed ?? null,
    steps: p.steps ?? null,
    cfgScale: p.guidance ?? null,
    width: p.width ?? null,
    height: p.height ?? null,
    model: p.model ?? null,
  };
}

function expectedFields(e: Expected): Record<string, unknown> {
  return {
    prompt: Array.isArray(e.prompt) ? [...e.prompt].sort() : e.prompt,
    negativePrompt: e.negativePrompt,
    seed: e.seed === null ? null : String(e.seed),
    steps: e.steps,
    cfgScale: e.cfgScale,
    width: e.width,
    height: e.height,
    model: e.model,
  };
}

describe.skipIf(Object.keys(files).length === 0)('foreign-png fixtures (expected.json)', () => {
  for (const [file, entry] of Object.entries(files)) {
    const tool = file.replace(/-\d+(-\w+)?\.(png|jpg)$/, '');
    it(`${file} (${entry.tool})`, () => {
      const result = parseImageFile(fs.readFileSync(path.join(dir, file)));
      expect([result.width, result.height]).toEqual(entry.ihdrSize);
      expect(result.format).toBe(file.endsWith('.jpg') ? 'jpeg' : 'png');

      if (file === 'a1111-02-stealth.png') {
        // Parameters hidden in alpha-channel LSBs: a chunk reader reports "no metadata" cleanly.
        expect(result.parameters).toBeUndefined();
        expect(result.reason).toMatch(/no generation metadata/);
        return;
      }
      const parsed = result.parameters;
      expect(parsed, result.reason).toBeDefined();
      if (!parsed) return;
      expect(parsed.source).toBe(SOURCE[tool]);
      const adjusted = DOCUMENTED[file]?.adjust(parsed) ?? parsed;
      expect(actualFields(adjusted, file)).toEqual(expectedFields(entry.expected));
      if (MUST_MATCH.test(file) && entry.expected.sampler) expect(parsed.sampler).toBe(entry.expected.sampler);
      if (entry.expected.modelHash !== undefined) expect(parsed.modelHash).toBe(entry.expected.modelHash);
      // Seeds are strings of digits, never rounded numbers.
      if (parsed.seed !== undefined) expect(parsed.seed).toMatch(/^\d+$/);
    });
  }

  it('covers every file in the folder', () => {
    const onDisk = fs.readdirSync(dir).filter((f) => /\.(png|jpg)$/.test(f));
    expect(onDisk.sort()).toEqual(Object.keys(files).sort());
  });

  it('documents every deviation it allows', () => {
    for (const [file, d] of Object.entries(DOCUMENTED)) {
      expect(files[file], file).toBeDefined();
      expect(d.why.length).toBeGreaterThan(20);
    }
  });
});

// ---------------------------------------------------------------------------------------------

const meta: StudioImageMeta = {
  prompt: 'a fox',
  negativePrompt: 'blurry',
  seed: '12345678901234567890',
  steps: 28,
  guidance: 4.5,
  width: 32,
  height: 16,
  shift: 3,
  scheduler: 'flow-match-euler',
  model: { id: 'sd3.5-medium' },
  ep: 'cpu',
  precision: 'fp16',
  rng: 'torch-cpu-mt19937',
  t5: true,
  appVersion: '0.1.0',
};

/** A big-endian TIFF block: IFD0 → Exif IFD → UserComment "UNICODE\0" + UTF-16BE, as piexif writes for A1111. */
function userCommentExif(text: string): Buffer {
  const value = Buffer.concat([Buffer.from('UNICODE\0', 'latin1'), Buffer.from(text, 'utf16le').swap16()]);
  const b = Buffer.alloc(8 + 18 + 18);
  b.write('MM', 0, 'latin1');
  b.writeUInt16BE(42, 2);
  b.writeUInt32BE(8, 4);
  b.writeUInt16BE(1, 8); // IFD0: one entry, the Exif IFD pointer
  b.writeUInt16BE(0x8769, 10);
  b.writeUInt16BE(4, 12);
  b.writeUInt32BE(1, 14);
  b.writeUInt32BE(26, 18);
  b.writeUInt16BE(1, 26); // Exif IFD: one entry, UserComment
  b.writeUInt16BE(0x9286, 28);
  b.writeUInt16BE(7, 30);
  b.writeUInt32BE(value.length, 32);
  b.writeUInt32BE(44, 36);
  return Buffer.concat([b, value]);
}

function rejection(fn: () => unknown): { error: StudioError } {
  try {
    fn();
  } catch (err) {
    if (isStudioError(err, 'invalid_input')) return { error: err };
    throw err;
  }
  throw new Error('expected a rejection');
}

describe('parseImageFile', () => {
  it('reads our own PNGs losslessly', () => {
    const buf = encodePng({ width: 32, height: 16, channels: 3, data: new Uint8Array(32 * 16 * 3) }, [
      { keyword: 'parameters', text: formatParameters(meta) },
      { keyword: 'sd35studio', text: studioJson(meta) },
    ]);
    const r = parseImageFile(buf);
    expect(r).toMatchObject({ format: 'png', width: 32, height: 16 });
    expect(r.parameters?.studio).toEqual(meta);
    expect(r.reason).toBeUndefined();
  });

  it('reports "no metadata" for a plain PNG, and names chunks it does not understand', async () => {
    const plain = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#123456' } }).png().toBuffer();
    const r = parseImageFile(plain);
    expect(r.parameters).toBeUndefined();
    expect(r.reason).toMatch(/no generation metadata/);
    const other = encodePng({ width: 1, height: 1, channels: 3, data: new Uint8Array(3) }, [{ keyword: 'Software', text: 'GIMP' }]);
    expect(parseImageFile(other).reason).toMatch(/"Software"/);
  });

  it('reads A1111 parameters from the EXIF UserComment of a JPEG and a WebP', async () => {
    const text = formatParameters(meta);
    const exif = userCommentExif(text);
    const jpeg = await sharp({ create: { width: 8, height: 6, channels: 3, background: '#808080' } }).jpeg().toBuffer();
    const app1 = Buffer.concat([Buffer.from([0xff, 0xe1, 0, 0]), Buffer.from('Exif\0\0', 'latin1'), exif]);
    app1.writeUInt16BE(app1.length - 2, 2);
    const jpegWithExif = Buffer.concat([jpeg.subarray(0, 2), app1, jpeg.subarray(2)]);
    const fromJpeg = parseImageFile(jpegWithExif);
    expect(fromJpeg).toMatchObject({ format: 'jpeg', width: 8, height: 6 });
    expect(fromJpeg.parameters).toMatchObject({ source: 'a1111', prompt: 'a fox', negativePrompt: 'blurry', seed: meta.seed, width: 32, height: 16 });

    const webp = await sharp({ create: { width: 8, height: 6, channels: 3, background: '#808080' } }).webp().toBuffer();
    const vp8x = Buffer.alloc(10);
    vp8x[0] = 0x08;
    vp8x.writeUIntLE(7, 4, 3);
    vp8x.writeUIntLE(5, 7, 3);
    const riff = (fourcc: string, d: Buffer) => {
      const head = Buffer.alloc(8);
      head.write(fourcc, 0, 'latin1');
      head.writeUInt32LE(d.length, 4);
      return Buffer.concat([head, d, Buffer.alloc(d.length & 1)]);
    };
    const body = Buffer.concat([Buffer.from('WEBP', 'latin1'), riff('VP8X', vp8x), webp.subarray(12), riff('EXIF', exif)]);
    const size = Buffer.alloc(4);
    size.writeUInt32LE(body.length);
    const fromWebp = parseImageFile(Buffer.concat([Buffer.from('RIFF', 'latin1'), size, body]));
    expect(fromWebp).toMatchObject({ format: 'webp', width: 8, height: 6 });
    expect(fromWebp.parameters).toMatchObject({ prompt: 'a fox', seed: meta.seed, steps: 28, guidance: 4.5 });
  });

  it('reports JPEGs without parameters, and reads A1111 text from a COM segment as a fallback', async () => {
    const jpeg = await sharp({ create: { width: 8, height: 6, channels: 3, background: '#808080' } })
      .jpeg()
      .withExif({ IFD0: { ImageDescription: 'x' } })
      .toBuffer();
    expect(parseImageFile(jpeg).parameters).toBeUndefined();
    expect(parseImageFile(jpeg).reason).toMatch(/no generation parameters in its UserComment/);
    const com = Buffer.concat([Buffer.from([0xff, 0xfe, 0, 0]), Buffer.from(formatParameters(meta), 'utf8')]);
    com.writeUInt16BE(com.length - 2, 2);
    const withCom = Buffer.concat([jpeg.subarray(0, 2), com, jpeg.subarray(2)]);
    expect(parseImageFile(withCom).parameters).toMatchObject({ prompt: 'a fox', seed: meta.seed, width: 32, height: 16 });
  });

  it('rejects empty, non-image, corrupt, truncated and oversized files, each with its reason', () => {
    const good = encodePng({ width: 8, height: 8, channels: 3, data: new Uint8Array(8 * 8 * 3) }, []);
    const crc = Buffer.from(good);
    crc.writeUInt8(crc.readUInt8(20) ^ 1, 20); // inside IHDR
    const huge = Buffer.from(good);
    huge.writeUInt32BE(100_000, 16);
    huge.writeUInt32BE(100_000, 20);
    huge.writeUInt32BE(zlib.crc32(huge.subarray(12, 29)), 29);
    const cases: [string, Uint8Array, string, RegExp][] = [
      ['empty', new Uint8Array(0), 'empty', /empty/],
      ['text file', Buffer.from('hello, this is text'), 'not_image', /not a PNG, JPEG or WebP/],
      ['PNG signature only', Buffer.from(PNG_SIGNATURE), 'truncated', /truncated/],
      ['CRC error', crc, 'bad_crc', /CRC/],
      ['truncated', good.subarray(0, good.length - 5), 'truncated', /truncated/],
      ['100,000×100,000', huge, 'too_many_pixels', /100000×100000/],
    ];
    for (const [name, buf, reason, message] of cases) {
      const { error } = rejection(() => parseImageFile(buf));
      expect(error.details?.reason, name).toBe(reason);
      expect(error.message, name).toMatch(message);
    }
    const { error } = rejection(() => parseImageFile(good, { maxFileBytes: 20 }));
    expect(error.message).toMatch(/limit is 20 bytes/);
  });

  it('rejects a JPEG larger than the pixel limits', async () => {
    const jpeg = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#000' } }).jpeg().toBuffer();
    const { error } = rejection(() => parseImageFile(jpeg, { maxSide: 32 }));
    expect(error.message).toMatch(/64×64 px; the limit is 32 px per side/);
  });

  it('sniffs formats by their bytes, not their names', () => {
    expect(sniffImageFormat(Buffer.from(PNG_SIGNATURE))).toBe('png');
    expect(sniffImageFormat(Buffer.from([0xff, 0xd8, 0xff, 0xdb]))).toBe('jpeg');
    expect(sniffImageFormat(Buffer.from('RIFF\0\0\0\0WEBPVP8 ', 'latin1'))).toBe('webp');
    expect(sniffImageFormat(Buffer.from('RIFF\0\0\0\0WAVEfmt ', 'latin1'))).toBeUndefined();
  });
});
