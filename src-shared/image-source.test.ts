// THE rule of what an image was made from (Compare's Source pane, the detail panel).
import { describe, expect, it } from 'vitest';
import { sharedSource, sourceOf, upscaleWords } from './image-source';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const up = (imageId?: number, sha256 = A) => ({ upscaledFrom: { sha256, ...(imageId !== undefined ? { imageId } : {}), upscaler: 'lanczos', scale: 2 as const } });

describe('sourceOf', () => {
  it("an upscale's source is the image it enlarged, even when that was made from an init image", () => {
    expect(sourceOf({ ...up(7), initSha256: B })).toEqual({ kind: 'upscale', sha256: A, imageId: 7, note: 'upscaled ×2 (Lanczos)' });
  });
  it('an img2img or inpaint result: its init image by sha256, and by gallery id when the record names one', () => {
    expect(sourceOf({ initSha256: B })).toEqual({ kind: 'init', sha256: B, note: 'image to image' });
    expect(sourceOf({ initSha256: B, maskSha256: A })).toEqual({ kind: 'init', sha256: B, note: 'inpainted' });
    expect(sourceOf({ initSha256: B, initImageId: 9, maskSha256: A })).toEqual({ kind: 'init', sha256: B, imageId: 9, note: 'inpainted' });
  });
  it('text to image: none', () => {
    expect(sourceOf({})).toBeUndefined();
  });
  it('the words name the factor and the upscaler (an imported model by its name)', () => {
    expect(upscaleWords({ sha256: A, upscaler: 'RealESRGAN_x4plus', scale: 4 })).toBe('Upscaled ×4 (RealESRGAN_x4plus)');
  });
});

describe('sharedSource', () => {
  it('one upscale: its source with the gallery id', () => {
    expect(sharedSource([up(7)])).toEqual({ kind: 'upscale', sha256: A, imageId: 7, note: 'upscaled ×2 (Lanczos)' });
  });
  it('results of one init image share it; different sources or a plain image among them: none', () => {
    expect(sharedSource([{ initSha256: B }, { initSha256: B }])?.sha256).toBe(B);
    expect(sharedSource([{ initSha256: B }, { initSha256: A }])).toBeUndefined();
    expect(sharedSource([{ initSha256: B }, {}])).toBeUndefined();
    expect(sharedSource([up(7), { initSha256: A }])).toBeUndefined();
    expect(sharedSource([])).toBeUndefined();
  });
  it('results of one gallery init image: its id; results of the same bytes from different ids or a file: sha256 only', () => {
    expect(sharedSource([{ initSha256: B, initImageId: 9 }, { initSha256: B, initImageId: 9, maskSha256: A }])).toMatchObject({ kind: 'init', sha256: B, imageId: 9 });
    expect(sharedSource([{ initSha256: B, initImageId: 9 }, { initSha256: B, initImageId: 4 }])?.imageId).toBeUndefined();
    expect(sharedSource([{ initSha256: B, initImageId: 9 }, { initSha256: B }])?.imageId).toBeUndefined();
  });
  it('two upscales of the same bytes: the gallery id only when both name the same one', () => {
    expect(sharedSource([up(7), up(7)])?.imageId).toBe(7);
    const mixed = sharedSource([up(7), up()]);
    expect(mixed).toMatchObject({ kind: 'upscale', sha256: A });
    expect(mixed?.imageId).toBeUndefined();
  });
});
