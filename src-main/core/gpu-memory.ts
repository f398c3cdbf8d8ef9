// How much GPU memory this machine has, where the OS can tell: nvidia-smi when it is installed (Linux,
// Windows), the display adapters' registry entries on Windows (HardwareInformation.qwMemorySize: the
// 64-bit size; Win32_VideoController.AdapterRAM as the fallback, which stops at 4 GiB), and unified memory
// on Apple silicon (the GPU shares the RAM). "unknown" with the reason is an honest answer, never a guess.
// The commands run through a CommandRunner, so the parsing is tested with a fake one.
import { execFile } from 'node:child_process';
import type { GpuMemory } from '../../src-shared/api';

export interface CommandResult {
  /** Exit code; null when the command could not be started (not installed) or timed out. */
  code: number | null;
  stdout: string;
}

export type CommandRunner = (command: string, args: readonly string[]) => Promise<CommandResult>;

/** Runs a command with a timeout, no shell, and a bounded output. */
export function nodeCommandRunner(timeoutMs = 5000): CommandRunner {
  return (command, args) =>
    new Promise((resolve) => {
      execFile(command, [...args], { timeout: timeoutMs, windowsHide: true, maxBuffer: 1024 * 1024, encoding: 'utf8' }, (err, stdout) => {
        // A non-zero exit has a numeric code; a command that is not installed has 'ENOENT'.
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
        resolve({ code, stdout: String(stdout ?? '') });
      });
    });
}

const MIB = 1024 * 1024;

/** `nvidia-smi --query-gpu=name,memory.total,memory.used --format=csv,noheader,nounits`: one line per GPU, MiB. */
export function parseNvidiaSmi(stdout: string): GpuMemory | undefined {
  const gpus = stdout
    .split(/\r?\n/)
    .map((l) => l.split(',').map((f) => f.trim()))
    .filter((f) => f.length >= 3 && /^\d+$/.test(f[1]!) && /^\d+$/.test(f[2]!))
    .map(([name, total, used]) => ({ name: name!, total: Number(total) * MIB, used: Number(used) * MIB }));
  if (!gpus.length) return undefined;
  // The studio runs on one GPU (device 0 unless configured): the largest is the one to check against.
  const best = gpus.reduce((a, b) => (b.total > a.total ? b : a));
  return {
    kind: 'dedicated',
    totalBytes: best.total,
    freeBytes: Math.max(0, best.total - best.used),
    name: best.name,
    source: 'nvidia-smi',
  };
}

/** Lines "<bytes>\t<adapter name>" from the registry (qwMemorySize) or CIM (AdapterRAM). */
export function parseWindowsAdapters(stdout: string, source: 'windows-registry' | 'windows-cim'): GpuMemory | undefined {
  const adapters = stdout
    .split(/\r?\n/)
    .map((l) => l.split('\t'))
    .filter((f) => /^\d+$/.test((f[0] ?? '').trim()) && Number(f[0]) > 0)
    .map(([bytes, name]) => ({ bytes: Number(bytes!.trim()), name: (name ?? '').trim() }));
  if (!adapters.length) return undefined;
  const best = adapters.reduce((a, b) => (b.bytes > a.bytes ? b : a));
  return { kind: 'dedicated', totalBytes: best.bytes, ...(best.name ? { name: best.name } : {}), source };
}

const NVIDIA_SMI_ARGS = ['--query-gpu=name,memory.total,memory.used', '--format=csv,noheader,nounits'];
const DISPLAY_CLASS = 'HKLM:\\SYSTEM\\CurrentControlSet\\Control\\Class\\{4d36e968-e325-11ce-bfc1-08002be10318}\\0*';
const REGISTRY_SCRIPT =
  `Get-ItemProperty -Path '${DISPLAY_CLASS}' -ErrorAction SilentlyContinue | ` +
  `ForEach-Object { "$($_.'HardwareInformation.qwMemorySize')\`t$($_.DriverDesc)" }`;
const CIM_SCRIPT = 'Get-CimInstance Win32_VideoController | ForEach-Object { "$($_.AdapterRAM)`t$($_.Name)" }';

export interface GpuProbeEnv {
  platform: NodeJS.Platform;
  arch: string;
  ramBytes: number;
  run: CommandRunner;
}

export async function detectGpuMemory(env: GpuProbeEnv): Promise<GpuMemory> {
  if (env.platform === 'darwin') {
    return env.arch === 'arm64'
      ? { kind: 'unified', totalBytes: env.ramBytes, source: 'macos' }
      : { kind: 'unknown', reason: 'An Intel Mac does not report its GPU memory here.' };
  }
  if (env.platform === 'linux' || env.platform === 'win32') {
    const smi = await env.run('nvidia-smi', NVIDIA_SMI_ARGS);
    if (smi.code === 0) {
      const found = parseNvidiaSmi(smi.stdout);
      if (found) return found;
    }
  }
  if (env.platform === 'win32') {
    const ps = ['-NoProfile', '-NonInteractive', '-Command'];
    const reg = await env.run('powershell.exe', [...ps, REGISTRY_SCRIPT]);
    const fromRegistry = reg.code === 0 ? parseWindowsAdapters(reg.stdout, 'windows-registry') : undefined;
    if (fromRegistry) return fromRegistry;
    const cim = await env.run('powershell.exe', [...ps, CIM_SCRIPT]);
    const fromCim = cim.code === 0 ? parseWindowsAdapters(cim.stdout, 'windows-cim') : undefined;
    if (fromCim) return fromCim;
    return { kind: 'unknown', reason: 'Windows did not report a display adapter’s memory.' };
  }
  if (env.platform === 'linux') return { kind: 'unknown', reason: 'No NVIDIA GPU found (nvidia-smi is not installed or reports none).' };
  return { kind: 'unknown', reason: `GPU memory is not detected on ${env.platform}.` };
}
