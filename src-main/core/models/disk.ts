// Disk space: free bytes where the models go (injectable for tests), sizes of folders on disk,
// and the preflight that refuses a download the disk cannot hold.
import fs from 'node:fs';
import path from 'node:path';
import { formatBytes } from '../../../src-shared/bytes';
import { StudioError } from '../../../src-shared/errors';

/** Free bytes available to this user on the file system holding `dir`. */
export type FreeSpaceFn = (dir: string) => Promise<number>;

/** Room kept free beyond the download itself (the OS, the database, logs). */
export const DISK_RESERVE_BYTES = 64 * 1024 * 1024;

/** statfs of the nearest existing ancestor of `dir`. */
export const freeSpace: FreeSpaceFn = async (dir) => {
  let current = path.resolve(dir);
  for (let i = 0; i < 256; i++) {
    try {
      const s = await fs.promises.statfs(current);
      return s.bavail * s.bsize;
    } catch (err) {
      const parent = path.dirname(current);
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || parent === current) throw err;
      current = parent;
    }
  }
  throw new Error(`No existing folder above ${dir}`);
};

/** THE free-disk figure shown to people (system.info, models.list): freeSpace, or null when it cannot be read. */
export async function freeSpaceOrNull(dir: string, free: FreeSpaceFn = freeSpace): Promise<number | null> {
  try {
    return await free(dir);
  } catch {
    return null;
  }
}

/**
 * Throws disk_full, naming the shortfall, unless `neededBytes` (plus a small reserve) fit in the
 * free space of `dir`.
 */
export async function checkDiskSpace(dir: string, neededBytes: number, free: FreeSpaceFn = freeSpace): Promise<{ freeBytes: number }> {
  const freeBytes = await free(dir);
  const required = neededBytes + DISK_RESERVE_BYTES;
  if (neededBytes > 0 && freeBytes < required) {
    const shortfall = required - freeBytes;
    throw new StudioError(
      'disk_full',
      `Not enough disk space in ${dir}: the download needs ${formatBytes(neededBytes)} more (plus ${formatBytes(DISK_RESERVE_BYTES)} ` +
        `to spare) but only ${formatBytes(freeBytes)} is free. Free ${formatBytes(shortfall)} or choose another models folder in Settings. ` +
        `Nothing was downloaded.`,
      { neededBytes, freeBytes, shortfallBytes: shortfall, dir },
    );
  }
  return { freeBytes };
}

/** Bytes of the regular files under `dir` (symlinks are not followed); 0 when it does not exist. */
export async function folderSize(dir: string): Promise<number> {
  let total = 0;
  const stack = [dir];
  while (stack.length > 0) {
    const current = stack.pop()!;
    let entries: fs.Dirent[];
    try {
      entries = await fs.promises.readdir(current, { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') continue;
      throw err;
    }
    for (const e of entries) {
      const p = path.join(current, e.name);
      if (e.isDirectory()) stack.push(p);
      // A download renames its parts while the list is read: a file gone since readdir counts 0.
      else if (e.isFile()) total += (await fs.promises.lstat(p).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? { size: 0 } : Promise.reject(err)))).size;
    }
  }
  return total;
}

/** Size of a file, or 0 when it is missing. */
export async function fileSize(file: string): Promise<number> {
  try {
    return (await fs.promises.stat(file)).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
}
