// The Generate form's Hires fix group → jobs.submit parameters (docs/architecture.md §5 "Hires fix", §7).
import { describe, expect, it } from 'vitest';
import { buildSubmission, defaultForm, restoreForm, type GenerateForm } from './generate';

const form = (patch: Partial<GenerateForm>): GenerateForm => ({ ...defaultForm(), prompt: 'a cat', model: 'sd3.5-medium', seedLocked: true, seed: '1', ...patch });

describe('Hires fix in the form', () => {
  it('off by default: no hires in the parameters', () => {
    const r = buildSubmission(form({}));
    expect(r.ok && 'hires' in r.value.params).toBe(false);
  });

  it('on: scale, steps, strength and upscaler go to the job', () => {
    const r = buildSubmission(form({ hires: true, hiresScale: 1.5, hiresSteps: 12, hiresStrength: 0.4, hiresUpscaler: 'realesrgan-x4', width: 832, height: 1216 }));
    expect(r.ok && r.value.params.hires).toEqual({ scale: 1.5, upscaler: 'realesrgan-x4', steps: 12, strength: 0.4 });
  });

  it('refuses a hires size over the limits and a bad strength, with the reason', () => {
    const big = buildSubmission(form({ hires: true, hiresScale: 2.5, width: 1024, height: 1024 }));
    expect(big.ok).toBe(false);
    expect(!big.ok && big.errors.hires).toMatch(/would be 2560×2560; at most 2048/);
    const bad = buildSubmission(form({ hires: true, hiresStrength: 0 }));
    expect(!bad.ok && bad.errors.hires).toMatch(/Hires fix: strength/);
  });

  it('the fields survive a restart (restoreForm), an empty upscaler means lanczos', () => {
    const kept = restoreForm(JSON.stringify(form({ hires: true, hiresScale: 2, hiresUpscaler: '' })));
    expect(kept.hires).toBe(true);
    const r = buildSubmission(kept);
    expect(r.ok && r.value.params.hires?.upscaler).toBe('lanczos');
  });
});
