// How GPU memory is put into words (Settings, `sd35-studio info`, diagnostics).
import type { GpuMemory } from './api';
import { formatBytes } from './bytes';

/** "24.0 GB (NVIDIA RTX 4090, nvidia-smi; 23.5 GB free)", "unified with the 32 GB RAM", "unknown (…)". */
export function describeGpuMemory(gpu: GpuMemory): string {
  if (gpu.kind === 'unknown') return `unknown (${gpu.reason})`;
  if (gpu.kind === 'unified') return `unified with the RAM (${formatBytes(gpu.totalBytes)})`;
  const free = gpu.freeBytes !== undefined ? `; ${formatBytes(gpu.freeBytes)} free` : '';
  const atLeast = gpu.source === 'windows-cim' ? 'at least ' : '';
  return `${atLeast}${formatBytes(gpu.totalBytes)} (${gpu.name ? `${gpu.name}, ` : ''}${gpu.source}${free})`;
}
