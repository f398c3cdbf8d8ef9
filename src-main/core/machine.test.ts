// The provider and memory the fit check assumes, from the EP setting, the build's providers and the GPU.
import { describe, expect, it } from 'vitest';
import type { GpuMemory } from '../../src-shared/api';
import { fitCheck, CATALOG } from '../../src-shared/catalog';
import { describeGpuMemory } from '../../src-shared/machine';
import { assumedProvider, machineMemory } from './machine';

const GB = 1e9;
const linuxEps = [{ name: 'cpu', bundled: true }, { name: 'cuda', bundled: false, installed: true }, { name: 'webgpu', bundled: true }];
const nvidia: GpuMemory = { kind: 'dedicated', totalBytes: 24 * GB, freeBytes: 23 * GB, name: 'RTX 4090', source: 'nvidia-smi' };
const unknown: GpuMemory = { kind: 'unknown', reason: 'No NVIDIA GPU found.' };

describe('assumedProvider', () => {
  it('auto on Linux is CUDA only with its library and an NVIDIA GPU that answered; else the CPU', () => {
    expect(assumedProvider('auto', 'linux', linuxEps, nvidia)).toBe('cuda');
    expect(assumedProvider('auto', 'linux', linuxEps, unknown)).toBe('cpu');
    expect(assumedProvider('auto', 'linux', [{ name: 'cpu', bundled: true }, { name: 'cuda', bundled: false, installed: false }], nvidia)).toBe('cpu');
  });

  it('auto on Windows/macOS is DirectML/Core ML when offered; an explicit choice is kept', () => {
    const dml = [{ name: 'cpu', bundled: true }, { name: 'dml', bundled: true }];
    expect(assumedProvider('auto', 'win32', dml, unknown)).toBe('dml');
    expect(assumedProvider('auto', 'darwin', [{ name: 'coreml', bundled: true }], { kind: 'unified', totalBytes: 16 * GB, source: 'macos' })).toBe('coreml');
    expect(assumedProvider('cpu', 'linux', linuxEps, nvidia)).toBe('cpu');
    expect(assumedProvider('webgpu', 'linux', linuxEps, unknown)).toBe('webgpu');
    expect(assumedProvider('auto', 'freebsd', linuxEps, nvidia)).toBe('cpu');
  });
});

describe('machineMemory → fitCheck', () => {
  it('32 GB RAM, no usable GPU: the CPU with fp16 counted twice — Medium is the low mode, not fast', () => {
    const m = machineMemory({ ramBytes: 32 * GB, gpu: unknown, provider: 'cpu' });
    expect(m).toEqual({ ramBytes: 32 * GB, provider: 'cpu' });
    const fit = fitCheck(CATALOG['sd3.5-medium'], m);
    expect(fit).toMatchObject({ fits: true, memoryMode: 'low', provider: 'cpu', weightFactor: 2 });
    expect(fit.message).toContain('on the CPU');
  });

  it('a GPU provider uses the GPU memory (dedicated) or the RAM (unified)', () => {
    expect(machineMemory({ ramBytes: 24 * GB, gpu: nvidia, provider: 'cuda' })).toEqual({ ramBytes: 24 * GB, provider: 'cuda', vramBytes: 24 * GB });
    expect(machineMemory({ ramBytes: 24 * GB, gpu: nvidia, provider: 'cpu' })).toEqual({ ramBytes: 24 * GB, provider: 'cpu' });
    expect(machineMemory({ ramBytes: 32 * GB, gpu: { kind: 'unified', totalBytes: 32 * GB, source: 'macos' }, provider: 'coreml' })).toEqual({ ramBytes: 32 * GB, provider: 'coreml', unified: true });
    expect(fitCheck(CATALOG['sd3.5-medium'], machineMemory({ ramBytes: 24 * GB, gpu: nvidia, provider: 'cuda' })).memoryMode).toBe('fast');
  });
});

describe('describeGpuMemory', () => {
  it('says what is known, and "unknown" with the reason', () => {
    expect(describeGpuMemory(nvidia)).toBe('24.0 GB (RTX 4090, nvidia-smi; 23.0 GB free)');
    expect(describeGpuMemory({ kind: 'dedicated', totalBytes: 4e9, source: 'windows-cim' })).toBe('at least 4.00 GB (windows-cim)');
    expect(describeGpuMemory(unknown)).toBe('unknown (No NVIDIA GPU found.)');
  });
});
