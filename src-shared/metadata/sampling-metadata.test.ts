// Sampling parameters in the metadata both ways: A1111/Forge names in `parameters`, the exact ids in our JSON.
import { describe, expect, it } from 'vitest';
import { formatParameters, parseA1111 } from './a1111';
import { parseStudioJson, studioJson, studioToParsed } from '../metadata';
import { samplerFromName, samplingFromNames, schedulerFromName } from '../generation';
import type { StudioImageMeta } from './types';

const meta: StudioImageMeta = {
  prompt: 'a fox',
  negativePrompt: '',
  seed: '7',
  steps: 40,
  guidance: 4,
  width: 1024,
  height: 1024,
  shift: 3,
  scheduler: 'sgm_uniform',
  sampler: 'dpmpp_2m',
  slg: { layers: [7, 8, 9], scale: 2.5, start: 0.01, end: 0.2 },
  model: { id: 'sd3.5-medium' },
  ep: 'cpu',
  precision: 'fp16',
  rng: 'torch-cpu-mt19937',
  t5: true,
  appVersion: '0.1.0',
};

describe('A1111 parameters', () => {
  it('names sampler and schedule as A1111/Forge do, with Shift and the SLG fields, and reads them back', () => {
    const text = formatParameters(meta);
    expect(text).toContain('Steps: 40, Sampler: DPM++ 2M, Schedule type: SGM Uniform, CFG scale: 4, Seed: 7, Size: 1024x1024, Shift: 3, ');
    expect(text).toContain('SLG layers: "7, 8, 9", SLG scale: 2.5, SLG start: 0.01, SLG end: 0.2');
    const p = parseA1111(text);
    expect(p).toMatchObject({ sampler: 'DPM++ 2M', scheduler: 'SGM Uniform', shift: 3, slg: meta.slg });
    expect(p.extra['SLG layers']).toBeUndefined();
    expect(samplingFromNames(p)).toEqual({ sampler: 'dpmpp_2m', scheduler: 'sgm_uniform' });
  });
  it('an image from before samplers existed (flow-match-euler) says Euler / Normal', () => {
    const { sampler: _s, slg: _g, ...old } = meta;
    expect(formatParameters({ ...old, scheduler: 'flow-match-euler' })).toContain('Sampler: Euler, Schedule type: Normal,');
  });
});

describe('the lossless JSON', () => {
  it('keeps the ids and the SLG parameters exactly', () => {
    const back = parseStudioJson(studioJson(meta))!;
    expect(back).toEqual(meta);
    expect(studioToParsed(back)).toMatchObject({ sampler: 'dpmpp_2m', scheduler: 'sgm_uniform', shift: 3, slg: meta.slg });
  });
});

describe('foreign names → ours', () => {
  it('ComfyUI ids and A1111 labels are exact; others map to the nearest, saying which', () => {
    for (const [name, id] of [
      ['euler', 'euler'],
      ['Euler a', 'euler_ancestral'],
      ['euler_ancestral', 'euler_ancestral'],
      ['Heun', 'heun'],
      ['DPM++ 2M', 'dpmpp_2m'],
      ['dpmpp_2m', 'dpmpp_2m'],
    ] as const) {
      expect(samplerFromName(name)).toEqual({ id, exact: true });
    }
    expect(samplerFromName('dpmpp_2m_sde_gpu')).toEqual({ id: 'euler_ancestral', exact: false, foreign: 'dpmpp_2m_sde_gpu' });
    expect(samplerFromName('uni_pc')).toMatchObject({ id: 'dpmpp_2m', exact: false });
    expect(samplerFromName('LCM')).toMatchObject({ id: 'euler', exact: false });
    for (const [name, id] of [
      ['normal', 'normal'],
      ['Normal', 'normal'],
      ['simple', 'simple'],
      ['sgm_uniform', 'sgm_uniform'],
      ['SGM Uniform', 'sgm_uniform'],
      ['beta', 'beta'],
    ] as const) {
      expect(schedulerFromName(name)).toEqual({ id, exact: true });
    }
    expect(schedulerFromName('karras')).toEqual({ id: 'beta', exact: false, foreign: 'karras' });
    expect(schedulerFromName(undefined)).toBeUndefined();
  });
});
