// The desktop app under real Electron: the CLI entry inside Electron generates on a tiny model
// with the worker as a utility process and the database opened through the Electron-ABI better-sqlite3;
// the packed app (`npm run dist`) has its fuses set and runs `<app> cli` headless with RunAsNode off.
// Skipped with the reason printed where the Electron binary (or a packed app) is absent.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as electronFuses from '@electron/fuses';
import { expect, test } from '@playwright/test';
import { fuseMismatches } from '../../scripts/packaging/fuses.mjs';
import { REPO, electronBinary, electronSkipReason, packedApp, tellElectronSkip } from '../support/electron-binary';
import { writeTinyModel } from '../support/tiny-model';

const skipReason = electronSkipReason();
tellElectronSkip(skipReason);

function cleanEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env.ELECTRON_RUN_AS_NODE;
  return env;
}

function jsonLines(stdout: string): unknown[] {
  return stdout
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as unknown); // throws if anything but JSON reached stdout
}

test.describe('Electron: the CLI inside the app', () => {
  test.skip(!!skipReason, skipReason);

  test('a tiny-model generation completes with the worker as a utility process and the Electron-ABI SQLite', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-electron-cli-'));
    try {
      const model = path.join(dir, 'tiny');
      await writeTinyModel(model, { layout: 'optimum', io: 'fp32', size: 'micro' });
      const data = path.join(dir, 'data');
      const gen = spawnSync(
        electronBinary()!,
        [REPO, 'cli', 'generate', '--model', model, '--prompt', 'a lighthouse', '--steps', '2', '--width', '64', '--height', '64', '--ep', 'cpu', '--seed', '7', '--json', '--data-dir', data],
        { env: cleanEnv({ SD35_DEBUG: '1' }), encoding: 'utf8', timeout: 120_000 },
      );
      expect(gen.status, gen.stderr).toBe(0);
      const [image] = jsonLines(gen.stdout) as { id: number; path: string; width: number }[];
      expect(image).toMatchObject({ width: 64, height: 64, ep: 'cpu', seed: 7 });
      expect(fs.existsSync(image!.path)).toBe(true);
      expect(gen.stderr).toMatch(/inference worker is ready \(pid \d+, Electron utility process\)/);
      // The history (SQLite through the Electron-ABI binding: the Node build would not even load) has it.
      const list = spawnSync(electronBinary()!, [REPO, 'cli', 'history', 'list', '--json', '--data-dir', data], { env: cleanEnv({}), encoding: 'utf8', timeout: 60_000 });
      expect(list.status, list.stderr).toBe(0);
      expect(jsonLines(list.stdout)).toEqual([expect.objectContaining({ id: image!.id })]);
      // Exit codes are the CLI's: an unknown model folder is "not found" (7).
      const missing = spawnSync(electronBinary()!, [REPO, 'cli', 'generate', '--model', path.join(dir, 'nope'), '--prompt', 'x', '--json', '--data-dir', data], { env: cleanEnv({}), encoding: 'utf8', timeout: 60_000 });
      expect(missing.status).toBe(7);
      expect(jsonLines(missing.stdout)).toEqual([{ error: expect.objectContaining({ code: 'not_found' }) }]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

test.describe('Electron: the packed app', () => {
  const packed = packedApp();
  const reason = skipReason ?? (packed ? undefined : 'no packed app in dist/: run `npm run dist` first');
  if (reason && !skipReason) console.log(`[electron e2e] packed-app specs skipped: ${reason}`);
  test.skip(!!reason, reason);

  test('the fuses read back as set', async () => {
    const wire = (await electronFuses.getCurrentFuseWire(packed!.fuseTarget)) as unknown as Record<number, unknown>;
    expect(fuseMismatches(electronFuses, wire)).toEqual([]);
  });

  test('`<app> cli` runs headless with the same exit codes and clean --json stdout; RunAsNode is off', () => {
    const data = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-packed-'));
    try {
      const version = spawnSync(packed!.executable, ['cli', '--version', '--json'], { env: cleanEnv({}), encoding: 'utf8', timeout: 60_000 });
      expect(version.status, version.stderr).toBe(0);
      expect(jsonLines(version.stdout)).toEqual([{ version: expect.stringMatching(/^\d+\.\d+\.\d+/) }]);
      const info = spawnSync(packed!.executable, ['cli', 'info', '--json', '--data-dir', data], { env: cleanEnv({}), encoding: 'utf8', timeout: 60_000 });
      expect(info.status, info.stderr).toBe(0);
      const [sys] = jsonLines(info.stdout) as { executionProviders: { name: string }[]; providers?: { name: string; status: string }[] }[];
      // onnxruntime-node's packed (unpacked-from-asar) binding loaded: it lists its providers.
      expect(sys!.executionProviders.map((e) => e.name)).toContain('cpu');
      const usage = spawnSync(packed!.executable, ['cli', 'no-such-command', '--json'], { env: cleanEnv({}), encoding: 'utf8', timeout: 60_000 });
      expect(usage.status).toBe(2);
      // With RunAsNode off, ELECTRON_RUN_AS_NODE does not turn the app into Node: `-e` is not evaluated.
      const asNode = spawnSync(packed!.executable, ['cli', '--version', '--json'], { env: { ...cleanEnv({}), ELECTRON_RUN_AS_NODE: '1' }, encoding: 'utf8', timeout: 60_000 });
      expect(asNode.status).toBe(0);
      expect(jsonLines(asNode.stdout)).toEqual([{ version: expect.any(String) }]);
    } finally {
      fs.rmSync(data, { recursive: true, force: true });
    }
  });
});
