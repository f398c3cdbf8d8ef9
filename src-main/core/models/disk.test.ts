// THE free-disk helper (models/disk.ts): the nearest existing folder is asked, and what people see is null when it
// cannot be read. system.info and models.list use it (grep finds no other statfs).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { folderSize, freeSpace, freeSpaceOrNull } from './disk';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-disk-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('free disk space', () => {
  it('a folder that does not exist yet is measured at its nearest existing parent', async () => {
    const here = await freeSpace(tmp);
    expect(here).toBeGreaterThan(0);
    const s = await fs.promises.statfs(tmp);
    // The same file system: the free figure is the statfs one (bavail × bsize), read independently here.
    const missing = await freeSpace(path.join(tmp, 'models', 'not', 'yet'));
    expect(Math.abs(missing - s.bavail * s.bsize)).toBeLessThanOrEqual(64 * 1024 * 1024); // other writers between the reads
  });

  it('freeSpaceOrNull gives null where the space cannot be read, and the figure where it can', async () => {
    expect(await freeSpaceOrNull('/anything', () => Promise.reject(new Error('EACCES')))).toBeNull();
    expect(await freeSpaceOrNull('/anything', () => Promise.resolve(123))).toBe(123);
  });
});

describe('folderSize', () => {
  it('a file a download renames away between readdir and lstat counts 0 (models.list reads sizes while parts move); other errors throw', async () => {
    const dir = path.join(tmp, 'sizes');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'kept'), Buffer.alloc(100));
    fs.writeFileSync(path.join(dir, 'model.onnx.part'), Buffer.alloc(50));
    const real = fs.promises.lstat;
    const gone = (code: string) =>
      vi.spyOn(fs.promises, 'lstat').mockImplementation(((p: fs.PathLike) =>
        String(p).endsWith('.part') ? Promise.reject(Object.assign(new Error(code), { code })) : real(p)) as typeof fs.promises.lstat);
    const spy = gone('ENOENT');
    try {
      expect(await folderSize(dir)).toBe(100);
    } finally {
      spy.mockRestore();
    }
    const denied = gone('EACCES');
    try {
      await expect(folderSize(dir)).rejects.toThrow('EACCES');
    } finally {
      denied.mockRestore();
    }
    expect(await folderSize(dir)).toBe(150);
  });
});
