// Outpaint / "Only masked" settings → the job's init (docs/architecture.md §5, §7).
import { describe, expect, it } from 'vitest';
import type { InitImage } from '../../src-shared/img2img';
import { defaultInpaintArea, outpaintSize, withArea } from './inpaint-area';

const sha = 'ab'.repeat(32);
const init: InitImage = { sha256: sha, strength: 0.8, fit: 'resize' };

describe('inpaint area settings', () => {
  it('outpaint adds the sides; the grown canvas suggests the size', () => {
    const s = { ...defaultInpaintArea(), outpaint: true, left: 64, right: 64, top: 0, bottom: 32 };
    expect(withArea(init, s)).toEqual({ ...init, outpaint: { left: 64, top: 0, right: 64, bottom: 32 } });
    expect(outpaintSize(512, 512, s)).toEqual({ width: 640, height: 544 });
  });
  it('"Only masked" with a mask adds area and padding; without a mask it stays whole', () => {
    const s = { ...defaultInpaintArea(), area: 'masked' as const, padding: 24 };
    expect(withArea({ ...init, mask: { sha256: sha, blur: 4 } }, s)).toMatchObject({ area: 'masked', padding: 24 });
    expect(withArea(init, s)).toEqual(init);
  });
  it('refuses outpaint with a mask and sides out of range', () => {
    const s = { ...defaultInpaintArea(), outpaint: true };
    expect(() => withArea({ ...init, mask: { sha256: sha, blur: 4 } }, s)).toThrow(/cannot be combined with a mask/);
    expect(() => withArea(init, { ...s, left: -1 })).toThrow(/pixels per side/);
    expect(() => withArea(init, { ...s, left: 0, right: 0, top: 0, bottom: 0 })).toThrow(/adds no pixels/);
  });
});
