// WebGPU ships in onnxruntime-node wherever Dawn builds, but it only works where Dawn finds an adapter
// (Vulkan on Linux, D3D12 on Windows, Metal on macOS). probeWebGpu() asks for one by starting the WebGPU
// provider on a one-node model; webGpuFailure() turns ORT's "Failed to get a WebGPU adapter" into a
// message a user can act on.
import type * as Ort from 'onnxruntime-node';

type Ort = typeof Ort;

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 127) {
    out.push((n & 127) | 128);
    n >>>= 7;
  }
  out.push(n);
  return out;
}
const bytesField = (field: number, bytes: number[]): number[] => [...varint((field << 3) | 2), ...varint(bytes.length), ...bytes];
const intField = (field: number, n: number): number[] => [...varint(field << 3), ...varint(n)];
const text = (s: string): number[] => [...Buffer.from(s, 'utf8')];

/** ModelProto of `y = Relu(x)`, x and y float32[1], opset 13 (protobuf written by hand: no builder in the app). */
export function probeModel(): Uint8Array {
  // ValueInfoProto { name, type: TypeProto { tensor_type { elem_type FLOAT, shape { dim { dim_value 1 } } } } }
  const value = (name: string): number[] => [
    ...bytesField(1, text(name)),
    ...bytesField(2, bytesField(1, [...intField(1, 1), ...bytesField(2, bytesField(1, intField(1, 1)))])),
  ];
  const node = [...bytesField(1, text('x')), ...bytesField(2, text('y')), ...bytesField(4, text('Relu'))];
  const graph = [...bytesField(1, node), ...bytesField(2, text('webgpu-probe')), ...bytesField(11, value('x')), ...bytesField(12, value('y'))];
  return Uint8Array.from([...intField(1, 8), ...bytesField(8, [...bytesField(1, []), ...intField(2, 13)]), ...bytesField(7, graph)]);
}

const ADAPTER_FAILURE = /Failed to get a WebGPU adapter|RequestAdapterStatus|No supported adapters/i;

function adapterHint(platform: NodeJS.Platform): string {
  if (platform === 'linux') return 'WebGPU needs a GPU with a Vulkan driver (libvulkan and the vendor ICD)';
  if (platform === 'win32') return 'WebGPU needs a DirectX 12 GPU driver';
  if (platform === 'darwin') return 'WebGPU needs Metal';
  return 'WebGPU needs a GPU driver Dawn supports';
}

/** A clear reason when `errorText` (from ORT) says no WebGPU adapter was found; undefined for other errors. */
export function webGpuFailure(errorText: string, platform: NodeJS.Platform = process.platform): string | undefined {
  if (!ADAPTER_FAILURE.test(errorText)) return undefined;
  const detail = /No supported adapters|Couldn't load Vulkan[^.]*/i.exec(errorText)?.[0];
  return `No WebGPU adapter was found on this computer (${adapterHint(platform)}${detail ? `; ONNX Runtime said: ${detail}` : ''})`;
}

/** Undefined when a WebGPU adapter answers; otherwise why WebGPU cannot be used here. */
export async function probeWebGpu(ort: Ort, platform: NodeJS.Platform = process.platform): Promise<string | undefined> {
  try {
    const session = await ort.InferenceSession.create(probeModel(), { executionProviders: ['webgpu'], logSeverityLevel: 4 });
    await session.release();
    return undefined;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return webGpuFailure(message, platform) ?? `WebGPU could not be started: ${message.replace(/\s+/g, ' ').slice(0, 300)}`;
  }
}
