// What the fit check assumes about this machine: its RAM, its GPU memory (core/gpu-memory.ts) and the
// execution provider the worker would use for the chosen setting, so "fits this machine" names the
// provider and counts the weights as that provider holds them (src-shared/catalog.ts fitCheck).
import type { GpuMemory } from '../../src-shared/api';
import type { EpChoice } from '../../src-shared/generation';
import type { MachineMemory } from '../../src-shared/catalog';

export interface OfferedEp {
  name: string;
  bundled: boolean;
  installed?: boolean;
}

const AUTO_GPU: Partial<Record<NodeJS.Platform, string>> = { linux: 'cuda', win32: 'dml', darwin: 'coreml' };

/**
 * The provider generation would run on: an explicit choice as chosen; `auto` = the platform's GPU provider
 * when this build offers it and (for CUDA) an NVIDIA GPU answered, else the CPU.
 */
export function assumedProvider(choice: EpChoice, platform: NodeJS.Platform, offered: readonly OfferedEp[], gpu: GpuMemory): string {
  if (choice !== 'auto') return choice;
  const preferred = AUTO_GPU[platform];
  if (!preferred) return 'cpu';
  const usable = offered.some((e) => e.name === preferred && e.installed !== false);
  if (!usable) return 'cpu';
  if (preferred === 'cuda' && !(gpu.kind === 'dedicated' && gpu.source === 'nvidia-smi')) return 'cpu';
  return preferred;
}

export function machineMemory(o: { ramBytes: number; gpu: GpuMemory; provider: string }): MachineMemory {
  const m: MachineMemory = { ramBytes: o.ramBytes, provider: o.provider };
  if (o.provider === 'cpu') return m;
  if (o.gpu.kind === 'unified') m.unified = true;
  else if (o.gpu.kind === 'dedicated') m.vramBytes = o.gpu.totalBytes;
  return m;
}
