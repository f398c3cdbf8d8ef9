import { describe, expect, it } from 'vitest';
import { StudioError } from '../../src-shared/errors';
import { missingLibraryIn, nextStepFor, probeProviders, providerLibrary } from './providers';
import { planExecutionProviders } from './ep-plan';

describe('execution providers as they start on this machine', () => {
  it('reads the missing library out of ONNX Runtime / loader errors', () => {
    expect(
      missingLibraryIn(
        'Failed to load library libonnxruntime_providers_cuda.so with error: libcublasLt.so.12: cannot open shared object file: No such file or directory',
      ),
    ).toBe('libcublasLt.so.12');
    expect(missingLibraryIn('libcudnn.so.9: cannot open shared object file')).toBe('libcudnn.so.9');
    expect(missingLibraryIn('LoadLibrary failed with error 126 "" when trying to load "C:\\app\\resources\\app.asar.unpacked\\node_modules\\onnxruntime-node\\bin\\napi-v6\\win32\\x64\\DirectML.dll"')).toBe('DirectML.dll');
    expect(missingLibraryIn('dlopen(x.node): Library not loaded: @rpath/libonnxruntime.1.30.0.dylib')).toBe('libonnxruntime.1.30.0.dylib');
    expect(missingLibraryIn('Some other failure')).toBeUndefined();
  });

  it('reports loaded, failed (with the missing library and the next step) and not installed', async () => {
    const offered = [
      { name: 'cpu', bundled: true },
      { name: 'webgpu', bundled: true },
      { name: 'cuda', bundled: false, installed: true },
    ];
    const result = await probeProviders('linux', offered, async (name) => {
      if (name === 'cuda') throw new Error('Failed to load library libonnxruntime_providers_cuda.so with error: libcudnn.so.9: cannot open shared object file: No such file or directory\nmore');
    });
    expect(result.map((r) => `${r.name} ${r.status}`)).toEqual(['cpu loaded', 'cuda failed', 'webgpu loaded']);
    expect(result[1]).toMatchObject({ missingLibrary: 'libcudnn.so.9', error: expect.stringContaining('libcudnn.so.9') });
    expect(result[1]!.error).not.toContain('more');
    expect(result[1]!.nextStep).toMatch(/CUDA 12 runtime or cuDNN 9 is missing \(libcudnn\.so\.9\)/);
    const absent = await probeProviders('linux', [{ name: 'cpu', bundled: true }, { name: 'cuda', bundled: false, installed: false }], async () => undefined);
    expect(absent[1]).toMatchObject({ name: 'cuda', status: 'not-installed', missingLibrary: 'libonnxruntime_providers_cuda.so' });
    expect(absent[1]!.nextStep).toMatch(/CUDA build of SD3\.5 Studio .*WebGPU/);
  });

  it('checks the platform\'s own GPU providers only: DirectML on Windows, CoreML on macOS', async () => {
    const tried: string[] = [];
    const offered = ['cpu', 'dml', 'coreml', 'webgpu', 'cuda'].map((name) => ({ name, bundled: true }));
    await probeProviders('win32', offered, async (n) => void tried.push(n));
    expect(tried).toEqual(['cpu', 'dml', 'webgpu']);
    tried.length = 0;
    await probeProviders('darwin', offered, async (n) => void tried.push(n));
    expect(tried).toEqual(['cpu', 'coreml', 'webgpu']);
    const dml = await probeProviders('win32', [{ name: 'cpu', bundled: true }, { name: 'dml', bundled: true }], async (n) => {
      if (n === 'dml') throw new StudioError('unavailable', 'DmlExecutionProvider: no DirectX 12 device');
    });
    expect(dml[1]!.nextStep).toMatch(/DirectX 12 GPU driver/);
    expect(providerLibrary('cuda', 'win32')).toBe('onnxruntime_providers_cuda.dll');
    expect(nextStepFor('webgpu', 'linux', 'failed')).toMatch(/Vulkan/);
    expect(nextStepFor('cpu', 'linux', 'loaded')).toBeUndefined();
  });

  it('auto picks DirectML on Windows, CoreML on macOS, CUDA on Linux; WebGPU only when chosen', () => {
    const all = ['cpu', 'dml', 'coreml', 'cuda', 'webgpu'].map((name) => ({ name, bundled: true }));
    expect(planExecutionProviders('auto', 'win32', all).providers).toEqual(['dml', 'cpu']);
    expect(planExecutionProviders('auto', 'darwin', all).providers).toEqual(['coreml', 'cpu']);
    expect(planExecutionProviders('auto', 'linux', all).providers).toEqual(['cuda', 'cpu']);
    expect(planExecutionProviders('auto', 'linux', all).providers).not.toContain('webgpu');
    expect(planExecutionProviders('webgpu', 'linux', all).providers).toEqual(['webgpu']);
  });
});
