// The WebGPU adapter probe: a real one-node model through ONNX Runtime, and the message for "no adapter".
import { ort } from './ort';
import { describe, expect, it } from 'vitest';
import { listExecutionProviders } from './available';
import { probeModel, probeWebGpu, webGpuFailure } from './webgpu';

describe('probeModel', () => {
  it('is a valid ONNX model that ONNX Runtime runs on the CPU (y = Relu(x))', async () => {
    const session = await ort.InferenceSession.create(probeModel(), { executionProviders: ['cpu'] });
    const out = await session.run({ x: new ort.Tensor('float32', Float32Array.from([-2]), [1]) });
    expect(Array.from(out.y!.data as Float32Array)).toEqual([0]);
    const pos = await session.run({ x: new ort.Tensor('float32', Float32Array.from([3]), [1]) });
    expect(Array.from(pos.y!.data as Float32Array)).toEqual([3]);
    await session.release();
  });
});

describe('webGpuFailure', () => {
  it("turns ORT's adapter assertion into a clear reason per platform, and leaves other errors alone", () => {
    const ortText =
      'webgpu_context.cc:136 ... adapter_result.status == wgpu::RequestAdapterStatus::Success was false. Failed to get a WebGPU adapter: No supported adapters';
    expect(webGpuFailure(ortText, 'linux')).toBe(
      'No WebGPU adapter was found on this computer (WebGPU needs a GPU with a Vulkan driver (libvulkan and the vendor ICD); ONNX Runtime said: No supported adapters)',
    );
    expect(webGpuFailure(ortText, 'win32')).toContain('DirectX 12');
    expect(webGpuFailure('Load model from x failed: protobuf parsing failed', 'linux')).toBeUndefined();
  });
});

describe('probeWebGpu and listExecutionProviders', () => {
  it('list WebGPU exactly when an adapter answers', async () => {
    const problem = await probeWebGpu(ort);
    const listed = (await listExecutionProviders()).map((e) => e.name);
    expect(listed).toContain('cpu');
    if (problem === undefined) expect(listed).toContain('webgpu');
    else {
      expect(problem).toMatch(/WebGPU/);
      expect(listed).not.toContain('webgpu');
    }
  });
});
