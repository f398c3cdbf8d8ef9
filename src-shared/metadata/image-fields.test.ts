// Outpaint, "Only masked" and hires fix in the metadata (docs/architecture.md §6): our JSON keeps them losslessly, the
// A1111 text writes the fields A1111 writes (processing.py: "Inpaint area", "Masked area padding", "Hires upscale",
// "Hires steps", "Hires upscaler", "Denoising strength"), and the A1111 reader returns them as typed fields.
import { describe, expect, it } from 'vitest';
import { formatParameters, parseA1111, parseStudioJson, studioJson, type StudioImageMeta } from '../metadata';

const base: StudioImageMeta = {
  prompt: 'a harbour',
  negativePrompt: '',
  seed: '42',
  steps: 20,
  guidance: 4,
  width: 832,
  height: 1216,
  shift: 3,
  scheduler: 'normal',
  sampler: 'euler',
  model: { id: 'sd3.5-medium' },
  ep: 'cpu',
  precision: 'fp16',
  rng: 'torch-cpu-mt19937',
  t5: true,
  appVersion: '0.1.0',
};
const sha = 'ab'.repeat(32);

describe('image-to-image fields in the metadata', () => {
  it('hires fix: A1111 fields with the base Size, read back typed; our JSON round-trips', () => {
    const meta: StudioImageMeta = { ...base, hires: { scale: 1.5, upscaler: 'lanczos', steps: 12, strength: 0.45, width: 1248, height: 1824 } };
    const text = formatParameters(meta);
    expect(text).toContain('Size: 832x1216');
    expect(text).toContain('Denoising strength: 0.45, Hires upscale: 1.5, Hires steps: 12, Hires upscaler: Lanczos');
    const p = parseA1111(text);
    expect(p).toMatchObject({ width: 832, height: 1216, denoisingStrength: 0.45, hiresUpscale: 1.5, hiresSteps: 12, hiresUpscaler: 'Lanczos' });
    expect(parseStudioJson(studioJson(meta))).toEqual(meta);
  });

  it('reads A1111/Forge hires fields as those tools write them', () => {
    const p = parseA1111('a cat\nSteps: 28, Sampler: Euler, CFG scale: 7, Seed: 1, Size: 512x768, Denoising strength: 0.4, Hires upscale: 2, Hires steps: 0, Hires upscaler: R-ESRGAN 4x+');
    expect(p).toMatchObject({ denoisingStrength: 0.4, hiresUpscale: 2, hiresSteps: 0, hiresUpscaler: 'R-ESRGAN 4x+' });
    expect(p.extra['Hires upscaler']).toBe('R-ESRGAN 4x+');
  });

  it('"Only masked": Inpaint area and Masked area padding, read back', () => {
    const meta: StudioImageMeta = { ...base, init: { sha256: sha, strength: 0.7, fit: 'resize', mask: { sha256: sha, blur: 4 }, area: 'masked', padding: 24 } };
    const text = formatParameters(meta);
    expect(text).toContain('Denoising strength: 0.7, Mask blur: 4, Inpaint area: Only masked, Masked area padding: 24');
    expect(parseA1111(text)).toMatchObject({ denoisingStrength: 0.7, maskBlur: 4, inpaintArea: 'Only masked', maskPadding: 24 });
    expect(parseStudioJson(studioJson(meta))).toEqual(meta);
    // The whole picture stays as before.
    const { area: _area, padding: _padding, ...wholeInit } = meta.init!;
    const whole = formatParameters({ ...meta, init: wholeInit });
    expect(whole).toContain('Inpaint area: Whole picture');
    expect(whole).not.toContain('Masked area padding');
  });

  it('outpaint: the sides in our JSON and the A1111 text', () => {
    const meta: StudioImageMeta = { ...base, init: { sha256: sha, strength: 1, fit: 'resize', outpaint: { left: 64, top: 0, right: 64, bottom: 128 } } };
    const text = formatParameters(meta);
    expect(text).toContain('Inpaint area: Whole picture, Outpaint: "64,0,64,128"');
    expect(parseA1111(text).extra.Outpaint).toBe('64,0,64,128');
    expect(parseStudioJson(studioJson(meta))).toEqual(meta);
  });
});
