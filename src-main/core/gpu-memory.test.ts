// GPU memory detection with a fake command runner: what each OS's answer means, and "unknown" when none.
import { describe, expect, it } from 'vitest';
import { detectGpuMemory, nodeCommandRunner, parseNvidiaSmi, parseWindowsAdapters, type CommandResult, type CommandRunner } from './gpu-memory';

const GB = 1e9;
const MIB = 1024 * 1024;

/** Answers by command name; records what was asked. */
function fakeRunner(answers: Record<string, CommandResult | CommandResult[]>): CommandRunner & { calls: string[][] } {
  const calls: string[][] = [];
  const run = async (command: string, args: readonly string[]) => {
    calls.push([command, ...args]);
    const a = answers[command];
    if (Array.isArray(a)) return a.shift() ?? { code: null, stdout: '' };
    return a ?? { code: null, stdout: '' }; // not installed
  };
  return Object.assign(run, { calls });
}

describe('parseNvidiaSmi', () => {
  it('reads name, total and used MiB per GPU and keeps the largest', () => {
    const out = 'NVIDIA GeForce RTX 3060, 12288, 512\nNVIDIA RTX A6000, 49140, 1000\n';
    expect(parseNvidiaSmi(out)).toEqual({ kind: 'dedicated', totalBytes: 49140 * MIB, freeBytes: 48140 * MIB, name: 'NVIDIA RTX A6000', source: 'nvidia-smi' });
    expect(parseNvidiaSmi('')).toBeUndefined();
    expect(parseNvidiaSmi('No devices were found')).toBeUndefined();
    expect(parseNvidiaSmi('GPU, [N/A], [N/A]')).toBeUndefined();
  });
});

describe('parseWindowsAdapters', () => {
  it('reads "<bytes>\\t<name>" lines and keeps the largest adapter', () => {
    const out = '\tMicrosoft Basic Display Adapter\r\n8589934592\tAMD Radeon RX 6600\r\n134217728\tIntel(R) UHD Graphics\r\n';
    expect(parseWindowsAdapters(out, 'windows-registry')).toEqual({ kind: 'dedicated', totalBytes: 8589934592, name: 'AMD Radeon RX 6600', source: 'windows-registry' });
    expect(parseWindowsAdapters('\t\r\n', 'windows-cim')).toBeUndefined();
  });
});

describe('detectGpuMemory', () => {
  it('Linux with nvidia-smi: its answer', async () => {
    const run = fakeRunner({ 'nvidia-smi': { code: 0, stdout: 'NVIDIA GeForce RTX 4090, 24564, 1200\n' } });
    const gpu = await detectGpuMemory({ platform: 'linux', arch: 'x64', ramBytes: 64 * GB, run });
    expect(gpu).toMatchObject({ kind: 'dedicated', totalBytes: 24564 * MIB, source: 'nvidia-smi', name: 'NVIDIA GeForce RTX 4090' });
    expect(run.calls[0]).toEqual(['nvidia-smi', '--query-gpu=name,memory.total,memory.used', '--format=csv,noheader,nounits']);
  });

  it('Linux without nvidia-smi (or with no GPU): unknown, with the reason', async () => {
    for (const answer of [undefined, { code: 9, stdout: 'NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver.' }]) {
      const run = fakeRunner(answer ? { 'nvidia-smi': answer } : {});
      const gpu = await detectGpuMemory({ platform: 'linux', arch: 'x64', ramBytes: 24 * GB, run });
      expect(gpu).toEqual({ kind: 'unknown', reason: expect.stringContaining('nvidia-smi') });
    }
  });

  it('Windows: nvidia-smi, else the registry (64-bit sizes), else CIM AdapterRAM, else unknown', async () => {
    const registry = { code: 0, stdout: '17163091968\tNVIDIA GeForce RTX 4080\r\n' };
    let run = fakeRunner({ 'powershell.exe': [registry] });
    expect(await detectGpuMemory({ platform: 'win32', arch: 'x64', ramBytes: 32 * GB, run })).toMatchObject({ totalBytes: 17163091968, source: 'windows-registry' });
    expect(run.calls.map((c) => c[0])).toEqual(['nvidia-smi', 'powershell.exe']);
    expect(run.calls[1]!.join(' ')).toContain('HardwareInformation.qwMemorySize');

    run = fakeRunner({ 'powershell.exe': [{ code: 0, stdout: '' }, { code: 0, stdout: '4293918720\tAMD Radeon RX 6800\r\n' }] });
    expect(await detectGpuMemory({ platform: 'win32', arch: 'x64', ramBytes: 32 * GB, run })).toMatchObject({ totalBytes: 4293918720, source: 'windows-cim' });
    expect(run.calls[2]!.join(' ')).toContain('Win32_VideoController');

    run = fakeRunner({});
    expect(await detectGpuMemory({ platform: 'win32', arch: 'x64', ramBytes: 32 * GB, run })).toMatchObject({ kind: 'unknown' });
  });

  it('macOS on Apple silicon: unified memory = the RAM, without running anything', async () => {
    const run = fakeRunner({});
    expect(await detectGpuMemory({ platform: 'darwin', arch: 'arm64', ramBytes: 32 * GB, run })).toEqual({ kind: 'unified', totalBytes: 32 * GB, source: 'macos' });
    expect(await detectGpuMemory({ platform: 'darwin', arch: 'x64', ramBytes: 32 * GB, run })).toMatchObject({ kind: 'unknown' });
    expect(run.calls).toEqual([]);
  });
});

describe('nodeCommandRunner', () => {
  it('reports a command that is not installed as code null, and a real one with its output', async () => {
    const run = nodeCommandRunner();
    expect(await run('sd35-no-such-command-here', [])).toEqual({ code: null, stdout: '' });
    expect(await run(process.execPath, ['-e', 'process.stdout.write("7")'])).toEqual({ code: 0, stdout: '7' });
    expect((await run(process.execPath, ['-e', 'process.exit(3)'])).code).toBe(3);
  });
});
