// The diagnostics' one provider line: ORT's offer and the provider check merged (they disagreed on two lines:
// "Providers: … webgpu failed" beside "Execution providers: cpu, cuda (not installed), tensorrt (not installed)"),
// and a failure with its reason.
import { describe, expect, it } from 'vitest';
import { providerLines, readableProviderError } from './provider-summary';

// What `sd35-studio info --json` reported on a Linux box without a GPU (ORT 1.23, Dawn without Vulkan).
const WEBGPU_ERROR =
  '/onnxruntime_src/onnxruntime/core/providers/webgpu/webgpu_context.cc:136 onnxruntime::webgpu::WebGpuContext::Initialize(const onnxruntime::webgpu::WebGpuContextConfig&)::<lambda()> adapter_result.status == wgpu::RequestAdapterStatus::Success was false. Failed to get a WebGPU adapter: No supported adapters';
const OFFERED = [
  { name: 'cpu', bundled: true },
  { name: 'cuda', bundled: false, installed: false },
  { name: 'tensorrt', bundled: false, installed: false },
];
const CHECKED = [
  { name: 'cpu', status: 'loaded' as const },
  { name: 'cuda', status: 'not-installed' as const, missingLibrary: 'libonnxruntime_providers_cuda.so', nextStep: 'Install the CUDA build.' },
  { name: 'webgpu', status: 'failed' as const, error: WEBGPU_ERROR, nextStep: 'WebGPU needs a Vulkan driver.' },
];

describe('providerLines', () => {
  it('names every provider once, with one status, in one line; a failure says why; next steps under it', () => {
    expect(providerLines(OFFERED, CHECKED)).toEqual([
      'Execution providers: cpu (works), cuda (not installed: missing libonnxruntime_providers_cuda.so), tensorrt (not installed), webgpu (failed: Failed to get a WebGPU adapter: No supported adapters)',
      '  cuda: Install the CUDA build.',
      '  webgpu: WebGPU needs a Vulkan driver.',
    ]);
  });

  it('without the provider check (a process that did not run it) says what ORT offers and that it was not checked', () => {
    expect(providerLines([{ name: 'cpu', bundled: true }, { name: 'cuda', bundled: false, installed: true }], undefined)).toEqual([
      'Execution providers: cpu (offered, not checked), cuda (installed, not checked)',
    ]);
    expect(providerLines([], undefined)).toEqual(['Execution providers: none reported']);
  });

  it('a failure without a reason says so rather than a bare "failed"', () => {
    expect(providerLines([{ name: 'cpu', bundled: true }], [{ name: 'cpu', status: 'failed' }])).toEqual(['Execution providers: cpu (failed (no reason given))']);
  });
});

describe('readableProviderError', () => {
  it("drops ORT's source location and keeps the sentence a person reads", () => {
    expect(readableProviderError(WEBGPU_ERROR)).toBe('Failed to get a WebGPU adapter: No supported adapters');
    expect(readableProviderError('libcudnn.so.9: cannot open shared object file')).toBe('libcudnn.so.9: cannot open shared object file');
  });
});
