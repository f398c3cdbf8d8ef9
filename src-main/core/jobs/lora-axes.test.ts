// The LoRA sweep axes (strength, on/off) and `<lora:…>` tags of a submitted prompt (core/loras/prompt-loras.ts).
import { describe, expect, it } from 'vitest';
import type { JobParams } from '../../../src-shared/generation';
import type { LoraEntry } from '../loras/library';
import { withPromptLoras } from '../loras/prompt-loras';
import { expandSweep } from './sweep';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const PARAMS: JobParams = {
  prompt: 'a cat',
  negativePrompt: '',
  model: 'sd3.5-medium',
  steps: 4,
  guidance: 4.5,
  width: 64,
  height: 64,
  t5: true,
  loras: [
    { name: 'Ink Wash', sha256: A, strength: 0.7 },
    { name: 'other', sha256: B, strength: 1 },
  ],
};

describe('LoRA sweep axes', () => {
  it('strength: the named LoRA (case-insensitive) takes each value; the others keep theirs', () => {
    const g = expandSweep(PARAMS, { seeds: { mode: 'list', seeds: ['1'] }, axis: { kind: 'loraStrength', lora: 'ink wash', values: [0, 0.5, 1] } });
    expect(g.map((x) => x.params.loras)).toEqual([0, 0.5, 1].map((s) => [{ name: 'Ink Wash', sha256: A, strength: s }, PARAMS.loras![1]]));
    expect(g.map((x) => x.axisValue)).toEqual([0, 0.5, 1]);
  });

  it('on/off: off keeps the LoRA (same graphs) with enabled: false; on has no flag', () => {
    const g = expandSweep(PARAMS, { seeds: { mode: 'list', seeds: ['1'] }, axis: { kind: 'loraOn', lora: 'other', values: ['on', 'off'] } });
    expect(g.map((x) => x.params.loras?.[1])).toEqual([
      { name: 'other', sha256: B, strength: 1 },
      { name: 'other', sha256: B, strength: 1, enabled: false },
    ]);
    const back = expandSweep({ ...PARAMS, loras: [{ name: 'other', sha256: B, strength: 1, enabled: false }] }, { seeds: { mode: 'list', seeds: ['1'] }, axis: { kind: 'loraOn', lora: 'other', values: ['on'] } });
    expect(back[0]!.params.loras).toEqual([{ name: 'other', sha256: B, strength: 1 }]);
  });

  it('refuses an axis on a LoRA the job does not have', () => {
    expect(() => expandSweep(PARAMS, { seeds: { mode: 'list', seeds: ['1'] }, axis: { kind: 'loraStrength', lora: 'nope', values: [1] } })).toThrow(/"nope" is not one of this job's LoRAs/u);
  });
});

function entry(name: string, sha256: string): LoraEntry {
  return { name, sha256, file: `/x/${name}.safetensors`, bytes: 1, autoV2: sha256.slice(0, 10), a1111: sha256.slice(0, 12), base: 'sd3.5-medium', baseLabel: 'SD3.5 Medium', rank: 4, triggerWords: [] };
}
const LIB = [entry('Ink Wash', A), entry('other', B)];
const find = (ref: string) => LIB.find((e) => e.name.toLowerCase() === ref.toLowerCase());

describe('<lora:…> tags of a submitted prompt', () => {
  it('become the job’s LoRAs (library name and sha256) and leave the prompt', () => {
    const p = withPromptLoras({ ...PARAMS, loras: [], prompt: 'a cat <lora:ink wash:0.25>, sitting' }, find);
    expect(p.prompt).toBe('a cat , sitting');
    expect(p.loras).toEqual([{ name: 'Ink Wash', sha256: A, strength: 0.25 }]);
  });

  it('a tag for a LoRA already in the list sets its strength; a prompt without tags is unchanged', () => {
    const p = withPromptLoras({ ...PARAMS, prompt: '<lora:other:-0.5> a cat' }, find);
    expect(p.loras).toEqual([PARAMS.loras![0], { name: 'other', sha256: B, strength: -0.5 }]);
    expect(withPromptLoras(PARAMS, find)).toBe(PARAMS);
  });

  it('refuses an unknown name and a strength that is not a number in range, naming the tag', () => {
    expect(() => withPromptLoras({ ...PARAMS, prompt: 'x <lora:missing:1>' }, find)).toThrow('<lora:missing:1>: there is no LoRA "missing" in the library.');
    expect(() => withPromptLoras({ ...PARAMS, prompt: 'x <lora:other:lots>' }, find)).toThrow(/<lora:other:lots>: the strength must be a number from -10 to 10/u);
    expect(() => withPromptLoras({ ...PARAMS, prompt: 'x <lora:other:11>' }, find)).toThrow(/from -10 to 10/u);
  });
});
