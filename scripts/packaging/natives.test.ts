import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { builderPlatformFlag, nativeRequirements } from './natives.mjs';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-natives-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe('what npm run dist needs before packaging', () => {
  it('names each missing native piece and how to get it', () => {
    const missing = nativeRequirements(root, 'win32', 'x64');
    expect(missing.map((m) => m.ok)).toEqual([false, false, false]);
    expect(missing[2]!.fix).toMatch(/npm run prepare:electron/);
    expect(missing[1]!.fix).toMatch(/@img\/sharp-win32-x64/);
    fs.mkdirSync(path.join(root, 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6', 'win32', 'x64'), { recursive: true });
    fs.writeFileSync(path.join(root, 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6', 'win32', 'x64', 'onnxruntime_binding.node'), '');
    fs.mkdirSync(path.join(root, 'node_modules', '@img', 'sharp-win32-x64'), { recursive: true });
    fs.mkdirSync(path.join(root, 'native', 'electron'), { recursive: true });
    fs.writeFileSync(path.join(root, 'native', 'electron', 'better_sqlite3.node'), '');
    expect(nativeRequirements(root, 'win32', 'x64').every((m) => m.ok)).toBe(true);
    expect(nativeRequirements(root, 'darwin', 'x64')[0]!.ok).toBe(false);
  });

  it('builds for this OS only', () => {
    expect([builderPlatformFlag('linux'), builderPlatformFlag('win32'), builderPlatformFlag('darwin'), builderPlatformFlag('aix')]).toEqual(['--linux', '--win', '--mac', undefined]);
  });
});
