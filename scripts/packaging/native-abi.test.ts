import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { nativeAbiOf } from './native-abi.mjs';

describe('telling an Electron-ABI binary from a Node one', () => {
  it('the Node build of better-sqlite3 is Node\'s ABI (so it must never be stamped as the Electron build)', () => {
    const dir = path.dirname(createRequire(__filename).resolve('better-sqlite3/package.json'));
    expect(nativeAbiOf(path.join(dir, 'build', 'Release', 'better_sqlite3.node'))).toEqual({ abi: 'node' });
  });

  it('a file that is no binary at all is unknown, with the loader\'s reason', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-abi-')), 'fake.node');
    fs.writeFileSync(file, 'not an ELF');
    const r = nativeAbiOf(file);
    expect(r.abi).toBe('unknown');
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  });
});
