// The execution-provider planner: which providers to try for a choice on a platform (pure: it is given the
// platform and the backends), and the backends this onnxruntime-node build offers (supportedBackends, the
// planner's input). Sessions (sessions.ts) and the pre-download verdict (verdict.ts) both plan through it.
import fs from 'node:fs';
import path from 'node:path';
import { ort } from './ort';
import { StudioError } from '../../src-shared/errors';
import type { EpChoice } from '../../src-shared/generation';

export interface SupportedBackend {
  name: string;
  bundled: boolean;
  /** For providers that are not bundled (CUDA, TensorRT): whether their library is on disk. */
  installed?: boolean;
}

export interface ExecutionPlan {
  /** Providers to try in order, each on its own; the first that starts is used. */
  providers: string[];
  /** Why the preferred GPU provider is not in the list (auto only). */
  fallbackReason?: string;
}

const EP_LABELS: Record<string, string> = {
  cpu: 'CPU',
  cuda: 'CUDA',
  dml: 'DirectML',
  coreml: 'CoreML',
  webgpu: 'WebGPU',
};

const EP_PLATFORMS: Record<Exclude<EpChoice, 'auto'>, readonly NodeJS.Platform[] | 'any'> = {
  cpu: 'any',
  cuda: ['linux', 'win32'],
  dml: ['win32'],
  coreml: ['darwin'],
  webgpu: ['linux', 'win32', 'darwin'],
};

const AUTO_GPU: Partial<Record<NodeJS.Platform, string>> = { linux: 'cuda', win32: 'dml', darwin: 'coreml' };

function platformLabel(platform: NodeJS.Platform): string {
  return platform === 'win32' ? 'Windows' : platform === 'darwin' ? 'macOS' : platform === 'linux' ? 'Linux' : platform;
}

export function epLabel(name: string): string {
  return EP_LABELS[name] ?? name;
}

/**
 * Which execution providers to try. auto = CUDA on Linux, DirectML on Windows, CoreML on macOS, each
 * followed by the CPU (fallback reason kept when the GPU provider is not even offered); WebGPU only when
 * chosen. An explicit choice is honoured alone or refused with StudioError unavailable.
 */
export function planExecutionProviders(
  choice: EpChoice,
  platform: NodeJS.Platform,
  supported: readonly SupportedBackend[],
): ExecutionPlan {
  const offered = (name: string): boolean => supported.some((b) => b.name === name && b.installed !== false);
  const notInstalled = (name: string): boolean => supported.some((b) => b.name === name && b.installed === false);
  const offeredList = supported.filter((b) => b.installed !== false).map((b) => b.name).join(', ') || 'none';
  const missingLibrary = (name: string): string =>
    `${epLabel(name)} support is not installed for onnxruntime-node (npm install downloads it unless ONNXRUNTIME_NODE_INSTALL=skip is set; it needs CUDA 12 and an NVIDIA driver)`;
  if (choice === 'cpu') return { providers: ['cpu'] };
  if (choice === 'auto') {
    const gpu = AUTO_GPU[platform];
    if (gpu === undefined) {
      return { providers: ['cpu'], fallbackReason: `No GPU execution provider is tried on ${platformLabel(platform)}; running on the CPU.` };
    }
    if (!offered(gpu)) {
      return {
        providers: ['cpu'],
        fallbackReason: notInstalled(gpu)
          ? `${missingLibrary(gpu)}; running on the CPU.`
          : `${epLabel(gpu)} is not available in this onnxruntime-node build (it offers: ${offeredList}); running on the CPU.`,
      };
    }
    return { providers: [gpu, 'cpu'] };
  }
  const platforms = EP_PLATFORMS[choice];
  if (platforms === undefined) {
    throw new StudioError('invalid_input', `Unknown execution provider "${String(choice)}". Use auto, cpu, cuda, dml, coreml or webgpu.`);
  }
  if (platforms !== 'any' && !platforms.includes(platform)) {
    throw new StudioError(
      'unavailable',
      `The ${epLabel(choice)} execution provider is not available on ${platformLabel(platform)}. Choose "auto" or "cpu".`,
      { ep: choice, platform },
    );
  }
  if (notInstalled(choice)) {
    throw new StudioError('unavailable', `${missingLibrary(choice)}. Choose "auto" or "cpu".`, { ep: choice, platform });
  }
  if (!offered(choice)) {
    throw new StudioError(
      'unavailable',
      `The ${epLabel(choice)} execution provider is not part of this onnxruntime-node build (it offers: ${offeredList}). Choose "auto" or "cpu".`,
      { ep: choice, platform },
    );
  }
  return { providers: [choice] };
}

/** The backends this onnxruntime-node build offers, as ORT reports them. */
export function supportedBackends(): SupportedBackend[] {
  return ort.listSupportedBackends().map((b) => (b.bundled ? { name: b.name, bundled: true } : { name: b.name, bundled: false, installed: providerLibraryPresent(b.name) }));
}

/**
 * onnxruntime-node downloads the CUDA/TensorRT provider libraries at install time (skipped with
 * ONNXRUNTIME_NODE_INSTALL=skip). Trying a provider whose library is absent only prints ORT errors.
 */
function providerLibraryPresent(name: string): boolean {
  try {
    const root = path.dirname(require.resolve('onnxruntime-node/package.json'));
    const dir = path.join(root, 'bin', 'napi-v6', process.platform, process.arch);
    const file = process.platform === 'win32' ? `onnxruntime_providers_${name}.dll` : `libonnxruntime_providers_${name}.so`;
    return fs.existsSync(path.join(dir, file));
  } catch {
    return true; // cannot tell: let ORT try and report
  }
}

