import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isStudioError } from '../../../src-shared/errors';
import { checkDiskSpace, DISK_RESERVE_BYTES } from './disk';
import { holdAfterBytes, preflightDiskSpace, remainingBytes } from './download';
import { partPath, safeJoin } from './staging-paths';

describe('download helpers', () => {
  it('reads the test hold point only in test mode', () => {
    expect(holdAfterBytes({ SD35_TEST_MODE: '1', SD35_TEST_HOLD: 'download-after-bytes:1234' })).toBe(1234);
    expect(holdAfterBytes({ SD35_TEST_HOLD: 'download-after-bytes:1234' })).toBeUndefined();
    expect(holdAfterBytes({ SD35_TEST_MODE: '1', SD35_TEST_HOLD: 'after-step:3' })).toBeUndefined();
    expect(holdAfterBytes(undefined)).toBeUndefined();
  });

  it('keeps repo paths inside the staging folder', () => {
    expect(partPath('/m/.staging/o--r/c', 'unet/model.onnx.data')).toBe(path.join('/m/.staging/o--r/c', 'unet', 'model.onnx.data.part'));
    for (const bad of ['../x', 'a/../../x', '/etc/passwd', 'a//b', 'a/./b', 'a\\..\\b', '']) {
      expect(() => safeJoin('/m', bad), bad).toThrow(/Refusing/);
    }
  });

  it('counts the bytes still to fetch', () => {
    expect(
      remainingBytes([
        { path: 'a', size: 100, bytesDone: 40 },
        { path: 'b', size: 50, verified: true },
        { path: 'c', size: 10 },
      ]),
    ).toBe(70);
  });

  it('refuses a download the disk cannot hold, naming the shortfall', async () => {
    const MB = 1e6;
    await expect(checkDiskSpace('/m', 100 * MB, async () => 100 * MB + DISK_RESERVE_BYTES)).resolves.toEqual({ freeBytes: 100 * MB + DISK_RESERVE_BYTES });
    const err = await preflightDiskSpace('/models', [{ path: 'a', size: 500 * MB, bytesDone: 100 * MB }], async () => 200 * MB).catch((e: unknown) => e);
    expect(isStudioError(err, 'disk_full')).toBe(true);
    const e = err as { message: string; details: { shortfallBytes: number; neededBytes: number } };
    expect(e.details.neededBytes).toBe(400 * MB);
    expect(e.details.shortfallBytes).toBe(200 * MB + DISK_RESERVE_BYTES);
    expect(e.message).toContain('needs 400 MB more');
    expect(e.message).toContain('only 200 MB is free');
    expect(e.message).toContain('/models');
    // Nothing left to fetch: no check at all.
    await expect(preflightDiskSpace('/m', [{ path: 'a', size: 10, verified: true }], async () => 0)).resolves.toBeUndefined();
  });
});
