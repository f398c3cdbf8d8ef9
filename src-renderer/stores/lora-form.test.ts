// The Generate form's LoRAs: kept across restarts field by field, sent as the job's `loras` (off = enabled: false),
// and the LoRA axes (strengths, on/off) built for the one sweep schema.
import { describe, expect, it } from 'vitest';
import { buildSubmission, defaultForm, imageCount, restoreForm, type GenerateForm } from './generate';
import { restoreFormLoras } from './lora-form';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const form = (patch: Partial<GenerateForm>): GenerateForm => ({ ...defaultForm(), prompt: 'a cat', model: 'sd3.5-medium', seed: '7', seedLocked: true, ...patch });
const loras = [
  { name: 'ink', sha256: A, strength: 0.8, enabled: true },
  { name: 'grain', sha256: B, strength: 1, enabled: false },
];

describe('form LoRAs', () => {
  it('are kept across a restart; a malformed entry is dropped, an out-of-range strength falls back to 1', () => {
    const kept = restoreForm(JSON.stringify({ ...form({ loras }), axisLora: 'ink' }));
    expect(kept.loras).toEqual(loras);
    expect(kept.axisLora).toBe('ink');
    expect(restoreFormLoras([{ name: 'x', sha256: 'nothex' }, { name: 'y', sha256: A, strength: 99 }, 'junk'])).toEqual([{ name: 'y', sha256: A, strength: 1, enabled: true }]);
  });

  it('go to jobs.submit as `loras` (off: enabled false); none: no `loras` key', () => {
    const r = buildSubmission(form({ loras }));
    expect(r.ok && r.value.params.loras).toEqual([
      { name: 'ink', sha256: A, strength: 0.8 },
      { name: 'grain', sha256: B, strength: 1, enabled: false },
    ]);
    const none = buildSubmission(form({}));
    expect(none.ok && 'loras' in none.value.params).toBe(false);
    const bad = buildSubmission(form({ loras: [{ name: 'ink', sha256: A, strength: 11, enabled: true }] }));
    expect(!bad.ok && bad.errors.loras).toMatch(/from -10 to 10/u);
  });

  it('a strength axis and an on/off axis name one of the LoRAs; without one the form says what to do', () => {
    const s = buildSubmission(form({ loras, axis: 'loraStrength', axisLora: 'ink', axisValues: '0, 0.5, 1' }));
    expect(s.ok && s.value.sweep.axis).toEqual({ kind: 'loraStrength', lora: 'ink', values: [0, 0.5, 1] });
    expect(imageCount(form({ loras, axis: 'loraStrength', axisValues: '0, 0.5, 1' }))).toBe(3);
    const on = buildSubmission(form({ loras, axis: 'loraOn', axisLora: 'grain' }));
    expect(on.ok && on.value.sweep.axis).toEqual({ kind: 'loraOn', lora: 'grain', values: ['on', 'off'] });
    expect(imageCount(form({ loras, axis: 'loraOn' }))).toBe(2);
    const missing = buildSubmission(form({ axis: 'loraOn', axisLora: 'ink' }));
    expect(!missing.ok && missing.errors.sweep).toMatch(/add one under LoRAs first/u);
  });
});
