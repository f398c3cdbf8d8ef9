// inputs.* and jobs.submit's init check through StudioCore's API (params parsed by the contract's own schemas, as
// both transports do). Bad input — a corrupt file, a non-image, a decompression bomb, a mask of another size, a
// source never kept — is a StudioError, and nothing is queued or added to the gallery.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import sharp from 'sharp';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { methods, type MethodName, type ParamsOf, type ResultOf } from '../../../src-shared/api';
import { isStudioError, type StudioError } from '../../../src-shared/errors';
import type { JobParams } from '../../../src-shared/generation';
import { removeTempDirs, tempDir } from '../../testing/temp';
import { makeMeta, makePixels } from '../../testing/history/fixtures';
import { encodePng } from '../../formats/png';
import { nodeAdapters } from '../node-adapters';
import { StudioCore } from '../studio';

let core: StudioCore;
let dataDir: string;
beforeEach(async () => {
  const env = { HF_HOME: tempDir(), HF_ENDPOINT: 'http://127.0.0.1:9' };
  dataDir = tempDir('sd35-inputs-api-');
  core = await StudioCore.open({ dataDir, adapters: nodeAdapters(env), env, runtime: 'cli', appVersion: '4.5.6' });
});
afterEach(() => core.close());
afterAll(removeTempDirs);

async function call<M extends MethodName>(m: M, params: ParamsOf<M>): Promise<ResultOf<M>> {
  const parsed = methods[m].params.parse(params);
  const result = await (core.api[m] as (p: unknown) => Promise<unknown>)(parsed);
  return methods[m].result.parse(result) as ResultOf<M>;
}

async function errorOf(p: Promise<unknown>): Promise<StudioError> {
  try {
    await p;
  } catch (err) {
    if (isStudioError(err)) return err;
    throw err;
  }
  throw new Error('expected a StudioError');
}

function rgbPng(width: number, height: number, seed = 1): Buffer {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * seed * 13) & 255;
  return encodePng({ width, height, channels: 3, data }, []);
}

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  out.set(data, 8);
  out.writeUInt32BE(zlib.crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/** A PNG whose header claims `width × height` with one tiny IDAT: a pixel bomb when the size is huge. */
function claimedPng(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  const sig = Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]);
  return Buffer.concat([sig, chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(Buffer.alloc(64))), chunk('IEND', new Uint8Array())]);
}

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function params(init: JobParams['init']): JobParams {
  return { prompt: 'a lighthouse', negativePrompt: '', model: 'sd3.5-medium', steps: 4, guidance: 0, width: 64, height: 64, t5: false, ...(init ? { init } : {}) };
}
const oneSeed = { seeds: { mode: 'list' as const, seeds: ['1'] } };

function nothingAdded(): void {
  expect(core.history.query({}).total).toBe(0);
  expect(core.jobs.list(undefined, 50).items).toHaveLength(0);
}

describe('inputs.put / inputs.get', () => {
  it('keeps PNG, JPEG and WebP bytes as inputs/<sha256> and gives them back byte for byte', async () => {
    const png = rgbPng(40, 24);
    const jpeg = await sharp(png).jpeg().toBuffer();
    const webp = await sharp(png).webp().toBuffer();
    for (const [bytes, format] of [[png, 'png'], [jpeg, 'jpeg'], [webp, 'webp']] as const) {
      const kept = await call('inputs.put', { kind: 'image', dataBase64: b64(bytes) });
      expect(kept).toEqual({ sha256: sha(bytes), width: 40, height: 24, format });
      expect(fs.readFileSync(path.join(dataDir, 'inputs', kept.sha256))).toEqual(bytes);
      const back = await call('inputs.get', { sha256: kept.sha256 });
      expect(Buffer.from(back.dataBase64, 'base64')).toEqual(bytes);
      expect(back.mimeType).toBe(`image/${format}`);
    }
  });

  it('takes a gallery image by id (the server reads its own file), never a path', async () => {
    const { id } = await core.history.saveImage({ pixels: makePixels(64, 48, 3), meta: makeMeta({ width: 64, height: 48 }) });
    const kept = await call('inputs.put', { kind: 'image', imageId: id });
    expect(kept).toMatchObject({ width: 64, height: 48, format: 'png', imageId: id });
    expect(sha(fs.readFileSync(core.history.imagePath(id)!))).toBe(kept.sha256);
    expect((await errorOf(call('inputs.put', { kind: 'image', imageId: 999_999 }))).code).toBe('not_found');
    for (const bad of [{ kind: 'image', path: '/etc/passwd' }, { kind: 'mask', imageId: id }, { kind: 'image', dataBase64: 'not base64!' }]) {
      expect(methods['inputs.put'].params.safeParse(bad).success).toBe(false);
    }
    expect(methods['inputs.get'].params.safeParse({ sha256: '../../studio.db' }).success).toBe(false);
  });

  it('refuses a corrupt file, a GIF, a pixel bomb and a truncated PNG with a clear reason; nothing is kept', async () => {
    const gif = Buffer.from('GIF89a\x01\x00\x01\x00\x00\x00\x00;', 'latin1');
    const cases: [Buffer, RegExp][] = [
      [Buffer.from('definitely not an image'), /not a PNG, JPEG or WebP/],
      [gif, /not a PNG, JPEG or WebP/],
      [claimedPng(20_000, 20_000), /cannot be used/],
      [claimedPng(12_000, 12_000), /cannot be used/],
      [rgbPng(32, 32).subarray(0, 60), /cannot be (used|decoded)/],
    ];
    for (const [bytes, message] of cases) {
      const err = await errorOf(call('inputs.put', { kind: 'image', dataBase64: b64(bytes) }));
      expect(err.code).toBe('invalid_input');
      expect(err.message).toMatch(message);
    }
    expect(fs.existsSync(path.join(dataDir, 'inputs')) ? fs.readdirSync(path.join(dataDir, 'inputs')) : []).toEqual([]);
    nothingAdded();
  });
});

describe('jobs.submit with an init image', () => {
  it('queues a job whose init names kept inputs (source and a mask of the same size)', async () => {
    const source = await call('inputs.put', { kind: 'image', dataBase64: b64(rgbPng(80, 48)) });
    const mask = await call('inputs.put', { kind: 'mask', dataBase64: b64(rgbPng(80, 48, 0)) });
    const r = await call('jobs.submit', { params: params({ sha256: source.sha256, strength: 0.6, fit: 'crop', mask: { sha256: mask.sha256, blur: 4 } }), sweep: oneSeed });
    const job = core.jobs.list(undefined, 50).items.find((j) => j.id === r.jobId)!;
    expect(job.params.init).toEqual({ sha256: source.sha256, strength: 0.6, fit: 'crop', mask: { sha256: mask.sha256, blur: 4 } });
  });

  it('refuses a mask whose size differs, a source never kept, a gallery id that is not there, strength outside (0, 1]', async () => {
    const source = await call('inputs.put', { kind: 'image', dataBase64: b64(rgbPng(80, 48)) });
    const small = await call('inputs.put', { kind: 'mask', dataBase64: b64(rgbPng(40, 24, 0)) });
    const mismatch = await errorOf(call('jobs.submit', { params: params({ sha256: source.sha256, strength: 0.5, fit: 'resize', mask: { sha256: small.sha256, blur: 0 } }), sweep: oneSeed }));
    expect(mismatch.code).toBe('invalid_input');
    expect(mismatch.message).toMatch(/mask is 40×24 but the init image is 80×48/);
    const missing = await errorOf(call('jobs.submit', { params: params({ sha256: 'a'.repeat(64), strength: 0.5, fit: 'resize' }), sweep: oneSeed }));
    expect(missing.code).toBe('invalid_input');
    expect(missing.message).toMatch(/not in the data folder/);
    const gone = await errorOf(call('jobs.submit', { params: params({ sha256: source.sha256, imageId: 4242, strength: 0.5, fit: 'resize' }), sweep: oneSeed }));
    expect(gone.message).toMatch(/gallery image 4242/);
    for (const strength of [0, -0.1, 1.01, Number.NaN]) {
      expect(methods['jobs.submit'].params.safeParse({ params: params({ sha256: source.sha256, strength, fit: 'resize' }), sweep: oneSeed }).success).toBe(false);
    }
    const noInit = await errorOf(call('jobs.submit', { params: params(undefined), sweep: { ...oneSeed, axis: { kind: 'strength', values: [0.3, 0.6] } } }));
    expect(noInit.message).toMatch(/strength sweep needs an init image/);
    nothingAdded();
  });

  it('a strength sweep gives each generation its own strength (queued snapshot read back)', async () => {
    const source = await call('inputs.put', { kind: 'image', dataBase64: b64(rgbPng(64, 64)) });
    const r = await call('jobs.submit', { params: params({ sha256: source.sha256, strength: 0.75, fit: 'resize' }), sweep: { ...oneSeed, axis: { kind: 'strength', values: [0.25, 0.5, 1] } } });
    expect(r.generationIds).toHaveLength(3);
    const strengths = r.generationIds.map((g) => core.jobs.store.runnable(g).params.init?.strength);
    expect(strengths).toEqual([0.25, 0.5, 1]);
  });
});

describe('gallery items of image-to-image results', () => {
  it('carry the strength and the source (and mask) sha256 that Compare shows beside them', async () => {
    const init = { sha256: 'b'.repeat(64), strength: 0.4, fit: 'resize' as const, mask: { sha256: 'c'.repeat(64), blur: 4 } };
    const { id } = await core.history.saveImage({ pixels: makePixels(64, 64, 1), meta: makeMeta({ width: 64, height: 64, init }) });
    const plain = await core.history.saveImage({ pixels: makePixels(64, 64, 2), meta: makeMeta({ width: 64, height: 64 }) });
    const items = (await call('gallery.query', {})).items;
    expect(items.find((i) => i.id === id)).toMatchObject({ strength: 0.4, initSha256: init.sha256, maskSha256: init.mask.sha256 });
    const other = items.find((i) => i.id === plain.id)!;
    expect([other.strength, other.initSha256, other.maskSha256]).toEqual([undefined, undefined, undefined]);
    // Reuse brings the source back into the form (Retry needs nothing: the job's snapshot keeps init).
    expect((await call('gallery.reuse', { id })).init).toEqual(init);
    expect((await call('gallery.reuse', { id: plain.id })).init).toBeUndefined();
  });
});
