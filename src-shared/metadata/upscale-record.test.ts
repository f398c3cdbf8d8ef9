// The upscale record in our metadata: inside `sd35studio` for our images, alone in `sd35studio-upscale` for an
// upscale of another tool's image — written and read back (the gallery's importer reads it through parseTextChunks).
import { describe, expect, it } from 'vitest';
import type { UpscaleSpec } from '../upscale';
import { parseTextChunks, parseUpscaleJson, PARAMETERS_KEYWORD, STUDIO_KEYWORD, studioJson, UPSCALE_KEYWORD, upscaleJson, type StudioImageMeta } from '../metadata';

const SPEC: UpscaleSpec = { source: { sha256: 'e'.repeat(64), imageId: 12 }, upscaler: 'tiny-x2', scale: 4, sourceWidth: 96, sourceHeight: 64, width: 384, height: 256 };
const META: StudioImageMeta = {
  prompt: 'a lighthouse',
  negativePrompt: '',
  seed: '5',
  steps: 4,
  guidance: 1,
  width: 96,
  height: 64,
  shift: 3,
  scheduler: 'flow-match-euler',
  model: { id: 'tiny' },
  ep: 'cpu',
  precision: 'fp32',
  rng: 'torch-cpu-mt19937',
  t5: true,
  appVersion: '0.1.0',
};
const A1111 = 'a cat on a mat\nNegative prompt: dogs\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 99, Size: 96x64, Model: sdxl, Postprocess upscale by: 4, Postprocess upscaler: tiny-x2';

describe('the upscale record of another tool\'s image (sd35studio-upscale)', () => {
  it('round-trips with the source sha256 and gallery id beside the tool\'s own parameters', () => {
    const parsed = parseTextChunks([
      { keyword: PARAMETERS_KEYWORD, text: A1111 },
      { keyword: UPSCALE_KEYWORD, text: upscaleJson(SPEC) },
    ])!;
    expect(parsed.upscale).toEqual(SPEC);
    expect(parsed).toMatchObject({ source: 'a1111', prompt: 'a cat on a mat', seed: '99' });
  });

  it('is written with a fixed key order (the same spec gives the same bytes, however it was built)', () => {
    const shuffled = { height: 256, width: 384, sourceHeight: 64, sourceWidth: 96, scale: 4, upscaler: 'tiny-x2', source: { imageId: 12, sha256: 'e'.repeat(64) } } as UpscaleSpec;
    expect(upscaleJson(shuffled)).toBe(upscaleJson(SPEC));
    expect(upscaleJson(SPEC)).toBe(`{"upscale":{"source":{"sha256":"${'e'.repeat(64)}","imageId":12},"upscaler":"tiny-x2","scale":4,"sourceWidth":96,"sourceHeight":64,"width":384,"height":256}}`);
  });

  it('without any other parameters the file still names its source', () => {
    const { imageId: _id, ...source } = SPEC.source;
    const parsed = parseTextChunks([{ keyword: UPSCALE_KEYWORD, text: upscaleJson({ ...SPEC, source }) }]);
    expect(parsed).toEqual({ source: 'other', extra: {}, upscale: { ...SPEC, source } });
  });

  it('a damaged record is ignored, the tool\'s parameters still read', () => {
    for (const text of ['{', '{"upscale":{"source":{"sha256":"x"}}}', '[1]', JSON.stringify({ upscale: { ...SPEC, scale: 3 } })]) {
      expect(parseUpscaleJson(text), text).toBeUndefined();
      const parsed = parseTextChunks([{ keyword: PARAMETERS_KEYWORD, text: A1111 }, { keyword: UPSCALE_KEYWORD, text }])!;
      expect(parsed.upscale).toBeUndefined();
      expect(parsed.prompt).toBe('a cat on a mat');
    }
    expect(parseTextChunks([{ keyword: UPSCALE_KEYWORD, text: '{' }])).toBeUndefined();
  });
});

describe('the upscale record of our own image (inside sd35studio)', () => {
  it('round-trips through the lossless chunk, and a stray sd35studio-upscale chunk does not override ours', () => {
    const other: UpscaleSpec = { ...SPEC, source: { sha256: 'f'.repeat(64) } };
    const parsed = parseTextChunks([
      { keyword: STUDIO_KEYWORD, text: studioJson({ ...META, upscale: SPEC }) },
      { keyword: UPSCALE_KEYWORD, text: upscaleJson(other) },
    ])!;
    expect(parsed.source).toBe('sd35studio');
    expect(parsed.studio?.upscale).toEqual(SPEC);
    expect(parsed.upscale).toBeUndefined();
  });
});
