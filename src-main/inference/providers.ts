// Which execution providers actually start on this machine (not only which ones onnxruntime-node lists):
// a one-node model is run on each GPU provider the platform can use, and a failure is turned into the
// library that was missing and the next step for the user. Runs in a short-lived process (probe.ts), so
// the main process never loads GPU libraries. WebGPU stays the explicit choice for AMD/Intel on Linux.
import type { ProviderStatus } from '../../src-shared/api';

export interface OfferedBackend {
  name: string;
  bundled: boolean;
  installed?: boolean;
}

/** GPU providers worth checking per platform (auto tries the first; WebGPU is always an explicit choice). */
export const GPU_PROVIDERS: Partial<Record<NodeJS.Platform, readonly string[]>> = {
  linux: ['cuda', 'webgpu'],
  win32: ['dml', 'webgpu'],
  darwin: ['coreml', 'webgpu'],
};

/** x + x on a [1, 4] float tensor: the smallest graph every provider can run. */
const PROBE_MODEL_BASE64 =
  'CAgSEXNkMzUtc3R1ZGlvIHByb2JlGgExMgA6UgobCgF4CgF4EgVBZGRfMRoHbl9BZGRfMiIDQWRkEgVwcm9iZVoTCgF4Eg4KDAgBEggKAggBCgIIBGIXCgVBZGRfMRIOCgwIARIICgIIAQoCCARCBAoAEBE=';

export function probeModel(): Uint8Array {
  return Uint8Array.from(Buffer.from(PROBE_MODEL_BASE64, 'base64'));
}

/** The shared library an error message says could not be loaded, if it names one. */
export function missingLibraryIn(text: string): string | undefined {
  const patterns = [
    /([\w.+-]+\.so(?:\.\d+)*): cannot open shared object file/,
    /Failed to load library ([\w.+-]+\.(?:so(?:\.\d+)*|dll|dylib))/i,
    /LoadLibrary failed with error \d+ "[^"]*" when trying to load "(?:[^"]*[\\/])?([\w.+-]+\.dll)"/i,
    /Library not loaded: (?:\S*\/)?([\w.+-]+\.dylib)/,
    /(?:could not (?:find|load)|cannot load|unable to load)\s+(?:library\s+)?['"]?(?:\S*[\\/])?([\w.+-]+\.(?:so(?:\.\d+)*|dll|dylib))/i,
  ];
  for (const re of patterns) {
    const m = re.exec(text);
    if (m?.[1]) return m[1];
  }
  return undefined;
}

/** The provider library onnxruntime-node loads for a non-bundled provider. */
export function providerLibrary(name: string, platform: NodeJS.Platform): string {
  return platform === 'win32' ? `onnxruntime_providers_${name}.dll` : `libonnxruntime_providers_${name}.so`;
}

export function nextStepFor(name: string, platform: NodeJS.Platform, status: ProviderStatus['status'], missing?: string): string | undefined {
  if (status === 'loaded') return undefined;
  switch (name) {
    case 'cuda':
      if (platform !== 'linux') return 'Windows uses DirectML (bundled) for NVIDIA, AMD and Intel GPUs: choose "auto" or DirectML.';
      if (status === 'not-installed') {
        return 'Install the CUDA build of SD3.5 Studio (sd35-studio-cuda-…-linux-x64 AppImage or .deb), which carries ONNX Runtime\'s CUDA provider. On an AMD or Intel GPU choose WebGPU in Settings.';
      }
      return missing && !missing.includes('onnxruntime')
        ? `NVIDIA's CUDA 12 runtime or cuDNN 9 is missing (${missing}). Install the CUDA build's .deb with your software installer (it pulls in libcudart12, libcublaslt12 and cuDNN where your distribution has them) or NVIDIA's CUDA 12 + cuDNN 9 runtime, then restart SD3.5 Studio.`
        : 'Update the NVIDIA driver (CUDA 12 needs driver 525 or newer) and restart SD3.5 Studio; the CPU is used meanwhile.';
    case 'dml':
      return missing
        ? `Reinstall SD3.5 Studio: ${missing} is missing from the installation.`
        : 'DirectML needs Windows 10 1903 or newer and a DirectX 12 GPU driver: update the GPU driver (Windows Update) and restart.';
    case 'coreml':
      return 'CoreML needs macOS 12 or newer; the CPU is used meanwhile.';
    case 'webgpu':
      return 'WebGPU needs a Vulkan (Linux), Direct3D 12 (Windows) or Metal (macOS) driver for your GPU: update the GPU driver, or use the CPU.';
    default:
      return undefined;
  }
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 1000);
}

/**
 * Checks the CPU and the platform's GPU providers that this onnxruntime-node build lists.
 * `tryProvider` runs the probe model on one provider and throws what ORT threw.
 */
export async function probeProviders(
  platform: NodeJS.Platform,
  offered: readonly OfferedBackend[],
  tryProvider: (name: string) => Promise<void>,
): Promise<ProviderStatus[]> {
  const names = ['cpu', ...(GPU_PROVIDERS[platform] ?? [])].filter((n) => offered.some((b) => b.name === n));
  const out: ProviderStatus[] = [];
  for (const name of names) {
    const backend = offered.find((b) => b.name === name)!;
    if (!backend.bundled && backend.installed === false) {
      const missingLibrary = providerLibrary(name, platform);
      out.push({ name, status: 'not-installed', missingLibrary, nextStep: nextStepFor(name, platform, 'not-installed', missingLibrary)! });
      continue;
    }
    try {
      await tryProvider(name);
      out.push({ name, status: 'loaded' });
    } catch (err) {
      const error = firstLine(err);
      const missingLibrary = missingLibraryIn(err instanceof Error ? err.message : String(err));
      const nextStep = nextStepFor(name, platform, 'failed', missingLibrary);
      out.push({ name, status: 'failed', error, ...(missingLibrary ? { missingLibrary } : {}), ...(nextStep ? { nextStep } : {}) });
    }
  }
  return out;
}
