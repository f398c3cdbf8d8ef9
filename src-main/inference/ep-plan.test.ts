import { describe, expect, it } from 'vitest';
import { StudioError } from '../../src-shared/errors';
import type { EpChoice } from '../../src-shared/generation';
import { planExecutionProviders, supportedBackends, type SupportedBackend } from './ep-plan';

// What onnxruntime-node 1.30 reports on each platform (Linux as measured here; the others from its bundles).
const SUPPORTED: Record<string, SupportedBackend[]> = {
  linux: [
    { name: 'cpu', bundled: true },
    { name: 'webgpu', bundled: true },
    { name: 'cuda', bundled: false },
    { name: 'tensorrt', bundled: false },
  ],
  win32: [
    { name: 'cpu', bundled: true },
    { name: 'dml', bundled: true },
    { name: 'webgpu', bundled: true },
    { name: 'cuda', bundled: false },
  ],
  darwin: [
    { name: 'cpu', bundled: true },
    { name: 'coreml', bundled: true },
    { name: 'webgpu', bundled: true },
  ],
  freebsd: [{ name: 'cpu', bundled: true }],
};

function refusal(fn: () => unknown): StudioError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(StudioError);
    return err as StudioError;
  }
  throw new Error('expected a refusal');
}

describe('planExecutionProviders', () => {
  // [platform, choice] → providers, or 'refused'
  const table: [NodeJS.Platform, EpChoice, string[] | 'refused'][] = [
    ['linux', 'auto', ['cuda', 'cpu']],
    ['linux', 'cpu', ['cpu']],
    ['linux', 'cuda', ['cuda']],
    ['linux', 'dml', 'refused'],
    ['linux', 'coreml', 'refused'],
    ['linux', 'webgpu', ['webgpu']],
    ['win32', 'auto', ['dml', 'cpu']],
    ['win32', 'cpu', ['cpu']],
    ['win32', 'cuda', ['cuda']],
    ['win32', 'dml', ['dml']],
    ['win32', 'coreml', 'refused'],
    ['win32', 'webgpu', ['webgpu']],
    ['darwin', 'auto', ['coreml', 'cpu']],
    ['darwin', 'cpu', ['cpu']],
    ['darwin', 'cuda', 'refused'],
    ['darwin', 'dml', 'refused'],
    ['darwin', 'coreml', ['coreml']],
    ['darwin', 'webgpu', ['webgpu']],
    ['freebsd', 'auto', ['cpu']],
    ['freebsd', 'cpu', ['cpu']],
    ['freebsd', 'cuda', 'refused'],
    ['freebsd', 'dml', 'refused'],
    ['freebsd', 'coreml', 'refused'],
    ['freebsd', 'webgpu', 'refused'],
  ];
  for (const [platform, choice, expected] of table) {
    it(`${platform} ${choice} → ${expected === 'refused' ? 'refused' : expected.join(', ')}`, () => {
      const supported = SUPPORTED[platform] as SupportedBackend[];
      if (expected === 'refused') {
        const err = refusal(() => planExecutionProviders(choice, platform, supported));
        expect(err.code).toBe('unavailable');
        expect(err.message).toMatch(/auto|cpu/);
      } else {
        const plan = planExecutionProviders(choice, platform, supported);
        expect(plan.providers).toEqual(expected);
        if (choice !== 'auto') expect(plan.fallbackReason).toBeUndefined();
      }
    });
  }

  it('never puts WebGPU in auto', () => {
    for (const platform of ['linux', 'win32', 'darwin', 'freebsd'] as const) {
      expect(planExecutionProviders('auto', platform, SUPPORTED[platform] as SupportedBackend[]).providers).not.toContain('webgpu');
    }
  });

  it('falls back to the CPU with a reason when the GPU provider is not in the build', () => {
    const cpuOnly = [{ name: 'cpu', bundled: true }];
    for (const [platform, label] of [
      ['linux', 'CUDA'],
      ['win32', 'DirectML'],
      ['darwin', 'CoreML'],
    ] as const) {
      const plan = planExecutionProviders('auto', platform, cpuOnly);
      expect(plan.providers).toEqual(['cpu']);
      expect(plan.fallbackReason).toContain(label);
      expect(plan.fallbackReason).toContain('CPU');
    }
    expect(planExecutionProviders('auto', 'freebsd', cpuOnly).fallbackReason).toMatch(/CPU/);
  });

  it('refuses an explicit provider the build lacks, naming it', () => {
    const err = refusal(() => planExecutionProviders('webgpu', 'linux', [{ name: 'cpu', bundled: true }]));
    expect(err.code).toBe('unavailable');
    expect(err.message).toContain('WebGPU');
    const err2 = refusal(() => planExecutionProviders('dml', 'linux', SUPPORTED.linux as SupportedBackend[]));
    expect(err2.message).toContain('DirectML');
    expect(err2.message).toContain('Linux');
  });
});

describe('providers whose library is not installed', () => {
  const withMissingCuda = [
    { name: 'cpu', bundled: true },
    { name: 'webgpu', bundled: true },
    { name: 'cuda', bundled: false, installed: false },
  ];
  it('auto on Linux falls back to the CPU without trying CUDA, and says why', () => {
    const plan = planExecutionProviders('auto', 'linux', withMissingCuda);
    expect(plan.providers).toEqual(['cpu']);
    expect(plan.fallbackReason).toMatch(/CUDA support is not installed/);
  });
  it('an explicit --ep cuda is refused with the reason', () => {
    expect(() => planExecutionProviders('cuda', 'linux', withMissingCuda)).toThrow(/not installed/);
  });
  it('this machine reports whether the CUDA library is present', () => {
    const cuda = supportedBackends().find((b) => b.name === 'cuda');
    if (cuda) expect(typeof cuda.installed).toBe('boolean');
  });
});
